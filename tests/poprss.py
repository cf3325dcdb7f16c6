#!/usr/bin/env python3
"""Runs pop3d on pipes through a whole-mailbox session (login, LIST,
UIDL, RETR of the first and the last message) and prints its peak
resident set size in KiB (VmHWM, read while the session is still open),
the number of LIST lines, and the octets received.

usage: poprss.py USER PASSWORD PROGRAM [ARGS...]
"""
import subprocess
import sys

user, password, program = sys.argv[1], sys.argv[2], sys.argv[3:]
proc = subprocess.Popen(program, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL)
out = proc.stdout


def send(text):
    proc.stdin.write(text.encode() + b"\r\n")
    proc.stdin.flush()


def reply():
    line = out.readline()
    if not line.startswith(b"+OK"):
        sys.exit("unexpected reply: %r" % line)
    return line


def body():
    n, octets = 0, 0
    while True:
        line = out.readline()
        if line in (b".\r\n", b""):
            return n, octets
        n += 1
        octets += len(line)


reply()
send("USER " + user); reply()
send("PASS " + password); reply()
send("LIST"); reply(); count, _ = body()
send("UIDL"); reply(); body()
received = 0
for number in (1, count):
    send("RETR %d" % number); reply(); received += body()[1]
with open("/proc/%d/status" % proc.pid) as status:
    peak = next(l.split()[1] for l in status if l.startswith("VmHWM:"))
send("QUIT"); reply()
proc.wait()
print(peak, count, received)
