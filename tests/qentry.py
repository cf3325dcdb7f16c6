#!/usr/bin/env python3
"""One-file queue entries (queue(5)), for the tests.

usage: qentry.py message|envelope FILE...
       qentry.py build FILE MESSAGE ENVELOPE [CUT]

message, envelope: print that part of each FILE, one after the other;
exits 1 if a FILE is not a whole one-file entry (trailer, lengths and
CRC-32 all right).  build: write FILE as an entry of MESSAGE and
ENVELOPE (strings; "|" stands for NUL in ENVELOPE), CUT octets removed
from its end, as a file cut short would be.

As a module: parse(data) -> (message, envelope) or None; build(message,
envelope) -> bytes.
"""
import re
import sys
import zlib

TRAILER = 48


def parse(data):
    m = re.fullmatch(rb"PQE1 ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{8})\n",
                     data[-TRAILER:])
    if not m:
        return None
    mlen, elen, crc = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16)
    if mlen + elen + TRAILER != len(data) or zlib.crc32(data[:mlen + elen]) != crc:
        return None
    return data[:mlen], data[mlen:mlen + elen]


def build(message, envelope):
    return (message + envelope + b"PQE1 %016x %016x %08x\n" %
            (len(message), len(envelope), zlib.crc32(message + envelope)))


def main():
    if sys.argv[1] == "build":
        path, msg, env = sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()
        cut = int(sys.argv[5]) if len(sys.argv) > 5 else 0
        data = build(msg, env.replace(b"|", b"\0"))
        with open(path, "wb") as f:
            f.write(data[:len(data) - cut])
        return
    part = sys.argv[1]
    out = sys.stdout.buffer
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            parts = parse(f.read())
        if parts is None:
            sys.exit("%s: not a whole one-file queue entry" % path)
        out.write(parts[0] if part == "message" else parts[1])


if __name__ == "__main__":
    main()
