#!/usr/bin/env python3
"""Scripted raw SMTP client for the tests.

usage: smtpraw.py HOST PORT N1 CHUNK1 [N2 CHUNK2 ...]

Each CHUNK (Python string escapes: \\r \\n \\x00) is sent in a single
write, then the client waits for N final reply lines (a line whose fourth
character is a space) before sending the next chunk.  Everything the
server sends, up to its close, is printed with CR removed.
"""
import codecs
import socket
import sys


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    steps = sys.argv[3:]
    sock = socket.create_connection((host, port), 10)
    sock.settimeout(10)
    pending = b""
    for i in range(0, len(steps), 2):
        want = int(steps[i])
        data = codecs.decode(steps[i + 1], "unicode_escape").encode("latin-1")
        if data:
            try:
                sock.sendall(data)
            except OSError:
                break
        got = 0
        while got < want:
            while b"\n" not in pending:
                try:
                    more = sock.recv(65536)
                except OSError:
                    more = b""
                if not more:
                    sys.stdout.write(pending.decode("latin-1").replace("\r", ""))
                    return
                pending += more
            line, pending = pending.split(b"\n", 1)
            sys.stdout.write(line.decode("latin-1").replace("\r", "") + "\n")
            if len(line) >= 4 and line[3:4] == b" ":
                got += 1
    sock.shutdown(socket.SHUT_WR)
    rest = pending
    while True:
        try:
            more = sock.recv(65536)
        except OSError:
            break
        if not more:
            break
        rest += more
    sys.stdout.write(rest.decode("latin-1").replace("\r", ""))


main()
