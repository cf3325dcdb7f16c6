#!/usr/bin/env python3
"""Sends the same POP3 commands (LIST, then RETR, TOP n 1 and TOP n 0
of every message, QUIT) through postern's pop3d and through Dovecot's
pop3, preauthenticated, over two copies of one Maildir, and prints one
line per message:

    N POSTERN-SIZE DOVECOT-SIZE STUFFED UNENDED RETR TOP1 TOP0

STUFFED: lines of the stored message that begin with "."; UNENDED: 1
when its last line has no LF; RETR, TOP1, TOP0: "same" when both
servers sent the same octets, else "differ".

usage: popcompare.py POP3D CONFDIR USER PASSWORD DOVECOT-CONF MAILDIR COUNT
"""
import os
import subprocess
import sys

pop3d, confdir, user, password, dovecot_conf, maildir, count = sys.argv[1:8]
count = int(count)
commands = b"LIST\r\n" + b"".join(
    b"RETR %d\r\nTOP %d 1\r\nTOP %d 0\r\n" % (i, i, i)
    for i in range(1, count + 1)) + b"QUIT\r\n"


class Replies:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def line(self):
        end = self.data.index(b"\r\n", self.pos)
        text, self.pos = self.data[self.pos:end], end + 2
        return text

    def multiline(self):
        status = self.line()
        if not status.startswith(b"+OK"):
            sys.exit("not +OK: %r" % status)
        start = self.pos
        while self.line() != b".":
            pass
        return self.data[start:self.pos - 3]


def run(argv, login, skip):
    out = subprocess.run(argv, input=login + commands, capture_output=True,
                         timeout=60).stdout
    replies = Replies(out)
    for _ in range(skip):
        replies.line()
    sizes = [int(l.split()[1]) for l in replies.multiline().splitlines()]
    bodies = [(replies.multiline(), replies.multiline(), replies.multiline())
              for _ in range(count)]
    return sizes, bodies


postern = run([pop3d, "-C", confdir],
              b"USER %s\r\nPASS %s\r\n" % (user.encode(), password.encode()), 3)
dovecot = run(["runuser", "-u", "nobody", "--", "env", "USER=nobody",
               "HOME=/nonexistent", "/usr/lib/dovecot/pop3", "-c", dovecot_conf],
              b"", 0)
names = sorted(os.listdir(os.path.join(maildir, "cur")))
for i in range(count):
    with open(os.path.join(maildir, "cur", names[i]), "rb") as f:
        stored = f.read()
    stuffed = sum(1 for l in stored.split(b"\n") if l.startswith(b"."))
    unended = int(stored != b"" and not stored.endswith(b"\n"))
    same = ["same" if a == b else "differ"
            for a, b in zip(postern[1][i], dovecot[1][i])]
    print(i + 1, postern[0][i], dovecot[0][i], stuffed, unended, *same)
