#!/usr/bin/env python3
"""A tiny authoritative DNS server for the deliver tests (UDP and TCP).

usage: fakedns.py ADDRESS RECORD...
RECORD: MX:name:pref:host   (host "." is a null MX)
        A:name:address
        MANYMX:name:count:pref   count MX records at pref, to the hosts
                                 filler-N.<60 x's>.name, which have no
                                 address: an answer of many kilobytes
Names not mentioned get NXDOMAIN; a known name without records of the
asked type gets an empty answer (NODATA).  A UDP answer over 512 octets
is sent truncated (TC set, no records), so the resolver asks again over
TCP, as RFC 1035 has it.
"""
import socket
import struct
import sys
import threading

records = {}
for r in sys.argv[2:]:
    kind, name, *rest = r.split(":")
    name = name.lower().rstrip(".")
    if kind == "MANYMX":
        count, pref = int(rest[0]), rest[1]
        for i in range(count):
            host = "filler-%d.%s.%s" % (i, "x" * 60, name)
            records.setdefault(name, []).append(("MX", [pref, host]))
        continue
    records.setdefault(name, []).append((kind, rest))


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


def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            reply = answer(data)
            if len(reply) > 512:
                qlen = len(data) - 12
                reply = reply[:2] + struct.pack(">HHHHH", 0x8780, 1, 0, 0, 0) + data[12:12 + qlen]
            sock.sendto(reply, peer)
        except Exception:
            pass


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError
        data += chunk
    return data


def serve_tcp_client(conn):
    try:
        with conn:
            while True:
                (n,) = struct.unpack(">H", recv_exactly(conn, 2))
                reply = answer(recv_exactly(conn, n))[:65535]
                conn.sendall(struct.pack(">H", len(reply)) + reply)
    except Exception:
        pass


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_client, args=(conn,), daemon=True).start()


udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((sys.argv[1], 53))
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((sys.argv[1], 53))
tcp.listen(16)
threading.Thread(target=serve_tcp, args=(tcp,), daemon=True).start()
serve_udp(udp)
