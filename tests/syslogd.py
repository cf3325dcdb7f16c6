#!/usr/bin/env python3
"""A syslog daemon for the tests: binds a datagram socket at PATH, writes
each message received to OUT, one per line, and exits after a second of
silence (or ten seconds without any).  Creates PATH.ready once bound.

usage: syslogd.py PATH OUT
"""
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(path + ".ready", "w").close()
s.settimeout(10)
with open(out, "wb") as f:
    try:
        while True:
            f.write(s.recv(8192) + b"\n")
            f.flush()
            s.settimeout(1)
    except socket.timeout:
        pass
