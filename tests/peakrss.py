#!/usr/bin/env python3
"""Runs a program with a generated SMTP session on its stdin and prints
its peak resident set size in KiB (VmHWM, read from /proc while the
session is still open, so that it covers this program alone and not the
Python process it was forked from) and the last reply line it sent.

usage: peakrss.py KIND SIZE PROGRAM [ARGS...]
KIND: "data"  - one message of SIZE bytes in lines of 78 octets
      "line"  - one command line of SIZE bytes
      "longlines" - one message of SIZE bytes in lines of 100 KB
      "none"  - no input: a baseline for a program that reads stdin
"""
import subprocess
import sys
import time


def session(kind, size):
    yield b"EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\n"
    if kind == "line":
        yield b"NOOP " + b"x" * size + b"\r\n"
    elif kind in ("data", "longlines"):
        yield b"DATA\r\n"
        if kind == "data":
            block = (b"x" * 76 + b"\r\n") * 1000
        else:
            block = b"y" * 102400 + b"\r\n"
        sent = 0
        while sent < size:
            yield block
            sent += len(block)
        yield b".\r\n"


def vmhwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    kind, size, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    last = ""
    if kind == "none":
        time.sleep(0.3)
    else:
        for chunk in session(kind, size):
            proc.stdin.write(chunk)
        proc.stdin.flush()
        # Replies: greeting, 8 EHLO lines, MAIL, RCPT, then 354 and the
        # end-of-data reply, or the reply to the long line.
        want = 12 if kind == "line" else 13
        for _ in range(want):
            last = proc.stdout.readline().decode("latin-1").rstrip("\r\n")
    peak = vmhwm(proc.pid)
    proc.stdin.close()
    proc.wait()
    print(peak, last)


main()
