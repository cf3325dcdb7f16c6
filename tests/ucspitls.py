#!/usr/bin/env python3
"""A UCSPI-TLS server wrapper for the tests (what s6-tlsd or sslserver -n
do): accepts on loopback and runs PROGRAM per connection with the socket
as descriptors 0 and 1 and SSLCTLFD, SSLREADFD, SSLWRITEFD set.  When the
program writes "Y" (or "y") on the control descriptor, the wrapper does
the TLS handshake on the socket, answers "Y" with its variables
(NAME=value NUL ... NUL), and from then on relays between the TLS
connection and the program's two pipes.

usage: ucspitls.py PORT CERT KEY UCSPITLS-VALUE|unset PROGRAM [ARGS...]
"""
import os
import socket
import ssl
import subprocess
import sys
import threading

port, cert, key, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
program = sys.argv[5:]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)


def pump_in(tls, fd):
    try:
        while True:
            data = tls.recv(65536)
            if not data:
                break
            os.write(fd, data)
    except (OSError, ssl.SSLError):
        pass
    os.close(fd)


def pump_out(fd, tls):
    try:
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            tls.sendall(data)
    except (OSError, ssl.SSLError):
        pass
    try:
        tls.close()
    except OSError:
        pass


def serve(conn):
    ctl, ctl_child = socket.socketpair()
    in_read, in_write = os.pipe()      # wrapper -> program (SSLREADFD)
    out_read, out_write = os.pipe()    # program -> wrapper (SSLWRITEFD)
    env = dict(os.environ, SSLCTLFD=str(ctl_child.fileno()),
               SSLREADFD=str(in_read), SSLWRITEFD=str(out_write))
    if mode != "unset":
        env["UCSPITLS"] = mode
    proc = subprocess.Popen(program, stdin=conn.fileno(), stdout=conn.fileno(),
                            env=env, pass_fds=(ctl_child.fileno(), in_read, out_write))
    ctl_child.close()
    os.close(in_read)
    os.close(out_write)
    command = ctl.recv(1)
    if command not in (b"Y", b"y"):
        proc.wait()
        conn.close()
        return
    try:
        tls = context.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError):
        ctl.close()
        proc.kill()
        proc.wait()
        return
    if command == b"Y":
        ctl.sendall(("SSL_PROTOCOL=%s\0SSL_CIPHER=%s\0\0"
                     % (tls.version(), tls.cipher()[0])).encode())
    threading.Thread(target=pump_in, args=(tls, in_write), daemon=True).start()
    pump_out(out_read, tls)
    proc.wait()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
while True:
    c, _ = listener.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
