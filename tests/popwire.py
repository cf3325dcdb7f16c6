#!/usr/bin/env python3
"""Raw POP3 client for the tests: logs in over a TCP port, then for every
message compares the LIST size with the octets RETR really sends (from
the end of the "+OK" line to the terminating ".CRLF", byte-stuffing
included) and checks that poplib's un-stuffed lines equal the stored
file with CRLF line ends.

usage: popwire.py PORT USER PASSWORD MAILDIR
prints one line per message: "N LIST-SIZE WIRE-OCTETS same|DIFFERENT"
"""
import os
import socket
import sys

port, user, password, maildir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sock = socket.create_connection(("127.0.0.1", port), 10)
f = sock.makefile("rb")


def line():
    data = f.readline()
    if not data.endswith(b"\r\n"):
        sys.exit("no CRLF after %r" % data)
    return data[:-2]


def command(text):
    sock.sendall(text.encode() + b"\r\n")
    reply = line()
    if not reply.startswith(b"+OK"):
        sys.exit("%s: %r" % (text, reply))
    return reply


def multiline():
    """The raw octets up to the terminating ".CRLF", exclusive."""
    raw = b""
    while True:
        data = f.readline()
        if data == b".\r\n":
            return raw
        raw += data


line()
command("USER " + user)
command("PASS " + password)
command("LIST")
sizes = [tuple(map(int, l.split())) for l in multiline().decode().splitlines()]
command("UIDL")
uidls = dict(l.split() for l in multiline().decode().splitlines())
for number, size in sizes:
    command("RETR %d" % number)
    raw = multiline()
    unstuffed = b"".join(l[1:] if l.startswith(b".") else l
                         for l in raw.splitlines(keepends=True))
    stored = None
    for name in os.listdir(os.path.join(maildir, "cur")):
        if name.split(":")[0] == uidls[str(number)]:
            with open(os.path.join(maildir, "cur", name), "rb") as m:
                stored = m.read()
    expected = stored.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if expected and not expected.endswith(b"\r\n"):
        expected += b"\r\n"
    print(number, size, len(raw), "same" if unstuffed == expected else "DIFFERENT")
command("QUIT")
