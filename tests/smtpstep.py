#!/usr/bin/env python3
"""One SMTP session over a pipe, a command at a time.

usage: smtpstep.py SCRIPT COMMAND [ARG...]

Starts COMMAND (smtpd reading its session on standard input) and sends
it SCRIPT's lines one at a time, CRLF-terminated, each after the reply
to the one before: so every reply, the 250 of each DATA included, is
written before the next command arrives.  Between a 354 and the "."
line the lines go without waiting.  The replies are printed; exits with
COMMAND's status.
"""
import subprocess
import sys


def reply(out):
    lines = []
    while True:
        line = out.readline()
        if not line:
            return lines
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def main():
    script, command = sys.argv[1], sys.argv[2:]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    print("\n".join(reply(proc.stdout)))
    in_body = False
    for line in open(script, encoding="utf-8").read().splitlines():
        proc.stdin.write(line.encode() + b"\r\n")
        proc.stdin.flush()
        if in_body and line != ".":
            continue
        got = reply(proc.stdout)
        print("\n".join(got))
        in_body = bool(got) and got[-1].startswith("354")
    proc.stdin.close()
    rest = proc.stdout.read().decode("utf-8", "replace")
    sys.stdout.write(rest)
    sys.exit(proc.wait())


if __name__ == "__main__":
    main()
