#!/usr/bin/env python3
"""The durability-relevant system calls of a command, in order.

usage: syscalls.py OUTFILE COMMAND [ARG...]

Runs COMMAND under strace -f -y (file descriptors shown with their
paths), with its standard input and output passed through, and writes to
OUTFILE one line per event, in the order the kernel saw them:

  fsync PATH            fsync or fdatasync of a file or directory
  link SRC DST          link, linkat (SRC /proc/self/fd/N: the file's path)
  rename SRC DST        rename, renameat, renameat2
  unlink PATH           unlink, unlinkat
  reply TEXT            a write to standard output (fd 1) or a socket

SIGKILL keeps the page cache, so a crash test cannot see a missing
fsync; this order can.  Exits with COMMAND's status.
"""
import os
import re
import subprocess
import sys
import tempfile

out_path, command = sys.argv[1], sys.argv[2:]
trace = tempfile.NamedTemporaryFile(prefix="strace.", delete=False).name
calls = "fsync,fdatasync,link,linkat,rename,renameat,renameat2,unlink,unlinkat,write"
status = subprocess.call(["strace", "-f", "-y", "-qq", "-s", "4096", "-o", trace,
                          "-e", "trace=" + calls] + command)

FD = r'(?:\d+|AT_FDCWD)(?:<([^>]*)>)?'
STR = r'"((?:[^"\\]|\\.)*)"'


def joined(dirpath, name):
    if name.startswith("/") or not dirpath:
        return name
    return dirpath.rstrip("/") + "/" + name


events = []
for line in open(trace, encoding="utf-8", errors="replace"):
    line = re.sub(r"^\d+\s+", "", line.strip())
    if "<unfinished" in line or "resumed>" in line or line.endswith("= -1"):
        pass
    m = re.match(r"(\w+)\((.*)\)\s+=\s+(-?\d+)", line)
    if not m or int(m.group(3)) < 0:
        continue
    name, args = m.group(1), m.group(2)
    if name in ("fsync", "fdatasync"):
        p = re.match(r"\d+<([^>]*)>", args)
        events.append("fsync " + (p.group(1) if p else "?"))
    elif name in ("unlink",):
        p = re.match(STR, args)
        events.append("unlink " + p.group(1))
    elif name == "unlinkat":
        p = re.match(FD + r", " + STR, args)
        events.append("unlink " + joined(p.group(1), p.group(2)))
    elif name in ("link", "rename"):
        p = re.match(STR + r", " + STR, args)
        events.append("%s %s %s" % (name, p.group(1), p.group(2)))
    elif name in ("linkat", "renameat", "renameat2"):
        p = re.match(FD + r", " + STR + r", " + FD + r", " + STR, args)
        src = joined(p.group(1), p.group(2))
        kind = "link" if name == "linkat" else "rename"
        events.append("%s %s %s" % (kind, src, joined(p.group(3), p.group(4))))
    elif name == "write":
        p = re.match(r"(\d+)(?:<([^>]*)>)?, " + STR, args)
        if p and (p.group(1) == "1" or (p.group(2) or "").startswith(("socket:", "TCP", "UNIX"))):
            events.append("reply " + p.group(3).replace("\\r\\n", " ").replace("\\n", " "))
os.unlink(trace)
with open(out_path, "w") as f:
    f.write("\n".join(events) + "\n")
sys.exit(status)
