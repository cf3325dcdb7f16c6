#!/usr/bin/env python3
"""A tiny authoritative DNS server for the deliver tests (UDP only).

usage: fakedns.py ADDRESS RECORD...
RECORD: MX:name:pref:host   (host "." is a null MX)
        A:name:address
Names not mentioned get NXDOMAIN; a known name without records of the
asked type gets an empty answer (NODATA).
"""
import socket
import struct
import sys

records = {}
for r in sys.argv[2:]:
    kind, name, *rest = r.split(":")
    records.setdefault(name.lower().rstrip("."), []).append((kind, rest))


def encode(name):
    if name in (".", ""):
        return b"\0"
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"


def answer(query):
    qid, flags, qd = struct.unpack(">HHH", query[:6])
    pos, labels = 12, []
    while query[pos]:
        n = query[pos]
        labels.append(query[pos + 1:pos + 1 + n].decode())
        pos += n + 1
    qtype, qclass = struct.unpack(">HH", query[pos + 1:pos + 5])
    question = query[12:pos + 5]
    name = ".".join(labels).lower()
    if name not in records:
        return struct.pack(">HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
    rrs = []
    for kind, rest in records[name]:
        if kind == "MX" and qtype == 15:
            rdata = struct.pack(">H", int(rest[0])) + encode(rest[1])
            rrs.append(struct.pack(">HHHIH", 0xC00C, 15, 1, 60, len(rdata)) + rdata)
        elif kind == "A" and qtype == 1:
            rdata = socket.inet_aton(rest[0])
            rrs.append(struct.pack(">HHHIH", 0xC00C, 1, 1, 60, len(rdata)) + rdata)
    return struct.pack(">HHHHHH", qid, 0x8580, 1, len(rrs), 0, 0) + question + b"".join(rrs)


sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], 53))
while True:
    data, peer = sock.recvfrom(4096)
    try:
        sock.sendto(answer(data), peer)
    except Exception:
        pass
