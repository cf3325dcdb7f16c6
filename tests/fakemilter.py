#!/usr/bin/env python3
"""A hostile milter for the tests.

usage: fakemilter.py PORT MODE

It listens on 127.0.0.1:PORT, answers the option negotiation (with the
actions the mode needs), then behaves as MODE says:
  silent     says nothing more
  huge       answers the connect event with a reply of 1 MiB
  garbage    answers the connect event with an unknown command
and at the end of a message, after answering every event before it
with continue:
  unasked    adds a header field, an action it never asked for
  progress   sends "progress" forever
  bigbody    replaces the body with 64 KiB chunks, forever
"""
import socket
import struct
import sys
import time

PORT, MODE = int(sys.argv[1]), sys.argv[2]
ACTIONS = {"bigbody": 0x2}.get(MODE, 0)


def serve(c):
    def packet():
        head = c.recv(5, socket.MSG_WAITALL)
        n = struct.unpack("!I", head[:4])[0]
        return head[4:5], c.recv(n - 1, socket.MSG_WAITALL) if n > 1 else b""

    def send(cmd, data=b""):
        c.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    packet()                                            # OPTNEG
    send(b"O", struct.pack("!III", 6, ACTIONS, 0))
    if MODE == "silent":
        time.sleep(600)
    elif MODE == "huge":
        packet(), packet()                              # macros, connect
        # a reply of 1 MiB, sent whole: more than any reply may be
        c.sendall(struct.pack("!I", 1 << 20) + b"y" + b"5" * ((1 << 20) - 1))
        time.sleep(600)
    elif MODE == "garbage":
        packet(), packet()
        send(b"Z")
        time.sleep(600)
    while True:
        cmd, _ = packet()
        if cmd in (b"D", b"A"):                         # no reply expected
            continue
        if cmd == b"Q":
            return
        if cmd != b"E":
            send(b"c")
            continue
        if MODE == "unasked":
            send(b"h", b"X-Unasked\0yes\0")
            send(b"c")
        elif MODE == "progress":
            while True:
                send(b"p")
                time.sleep(0.2)
        elif MODE == "bigbody":
            while True:
                send(b"b", b"x" * 65000)


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", PORT))
s.listen(4)
while True:
    conn, _ = s.accept()
    try:
        serve(conn)
    except (struct.error, OSError):
        pass    # wait_port's probe, or smtpd gone
    conn.close()
