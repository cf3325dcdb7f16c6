#!/usr/bin/env python3
"""Parts of one-file queue entries (queue(5)), for the tests.

usage: qentry.py message|envelope FILE...

Prints the message or the envelope part of each FILE, one after the
other; exits 1 if a FILE is not a whole one-file entry.
"""
import re
import sys

part, files = sys.argv[1], sys.argv[2:]
out = sys.stdout.buffer
for path in files:
    data = open(path, "rb").read()
    m = re.fullmatch(rb"PQE1 ([0-9a-f]{16}) ([0-9a-f]{16})\n", data[-39:])
    if not m:
        sys.exit("%s: not a one-file queue entry" % path)
    mlen, elen = int(m.group(1), 16), int(m.group(2), 16)
    if mlen + elen + 39 != len(data):
        sys.exit("%s: lengths do not add up" % path)
    out.write(data[:mlen] if part == "message" else data[mlen:mlen + elen])
