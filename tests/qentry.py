#!/usr/bin/env python3
"""One-file queue entries (queue(5)), for the tests.

usage: qentry.py message|envelope|pieces FILE...
       qentry.py build FILE MESSAGE ENVELOPE [CUT]
       qentry.py build2 FILE DATA ENVELOPE OFFSET:LENGTH...

message, envelope: print that part of each FILE, one after the other
(a PQE2 entry's message put together from its map); exits 1 if a FILE
is not a whole one-file entry (trailer, lengths and CRC-32 all right).
pieces: print how many pieces each FILE's message is made of (1 for
PQE1).  build: write FILE as an entry of MESSAGE and
ENVELOPE (strings; "|" stands for NUL in ENVELOPE), CUT octets removed
from its end, as a file cut short would be.  build2: write FILE as a
PQE2 entry whose message is the listed pieces of DATA, in that order.

As a module: parse(data) -> (message, envelope) or None; build(message,
envelope) -> bytes.
"""
import re
import sys
import zlib

TRAILER = 48


def parse(data):
    m = re.fullmatch(rb"PQE([12]) ([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{8})\n",
                     data[-TRAILER:])
    if not m:
        return None
    version = m.group(1)
    first, elen, crc = (int(m.group(i), 16) for i in (2, 3, 4))
    envoff = len(data) - TRAILER - elen
    if envoff < first or zlib.crc32(data[:envoff + elen]) != crc:
        return None
    envelope = data[envoff:envoff + elen]
    if version == b"1":
        return (data[:first], envelope) if first == envoff else None
    # PQE2: a map of "<offset> <length>\n" pieces, each before the map
    pieces = re.fullmatch(rb"(?:[0-9a-f]{16} [0-9a-f]{16}\n)+",
                          data[first:envoff])
    if not pieces:
        return None
    message = b""
    for rec in data[first:envoff].splitlines():
        off, length = (int(x, 16) for x in rec.split())
        if off + length > first:
            return None
        message += data[off:off + length]
    return message, envelope


def build(message, envelope):
    return (message + envelope + b"PQE1 %016x %016x %08x\n" %
            (len(message), len(envelope), zlib.crc32(message + envelope)))


def build2(data, pieces, envelope, extra=b""):
    """A PQE2 entry: DATA, then the map of PIECES ((offset, length)
    pairs), then EXTRA (octets a damaged map would hold), the envelope
    and the trailer."""
    first = len(data)
    body = (data + b"".join(b"%016x %016x\n" % p for p in pieces) + extra +
            envelope)
    return body + b"PQE2 %016x %016x %08x\n" % (first, len(envelope),
                                                zlib.crc32(body))


def main():
    if sys.argv[1] == "build2":
        # build2 FILE DATA ENVELOPE OFF:LEN... : a PQE2 entry by hand
        path, data = sys.argv[2], sys.argv[3].encode()
        env = sys.argv[4].encode().replace(b"|", b"\0")
        pieces = [tuple(int(x) for x in p.split(":")) for p in sys.argv[5:]]
        with open(path, "wb") as f:
            f.write(build2(data, pieces, env))
        return
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
            data = f.read()
        parts = parse(data)
        if parts is None:
            sys.exit("%s: not a whole one-file queue entry" % path)
        if part == "pieces":
            first = int(data[-TRAILER + 5:-TRAILER + 21], 16)
            envoff = len(data) - TRAILER - len(parts[1])
            out.write(b"%d\n" % (1 if data[-TRAILER:-TRAILER + 4] == b"PQE1"
                                 else (envoff - first) // 34))
            continue
        out.write(parts[0] if part == "message" else parts[1])


if __name__ == "__main__":
    main()
