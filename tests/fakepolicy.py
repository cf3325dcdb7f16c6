#!/usr/bin/env python3
"""A scripted policy server (Postfix's policy delegation protocol).

usage: fakepolicy.py PORT|unix:PATH DIR ACTION...

Each request (name=value lines up to an empty line) is appended to
DIR/requests, followed by a line "--"; each connection that brings a
request adds a line to DIR/connections (a probe that only connects
does not).  The Nth request of the run is answered "action=ACTION"
with the Nth ACTION (the last one again once they run out), except:
  silent    never answer (the connection stays open)
  garbage   answer "hello" and an empty line: no action=
  huge      100 KB of attributes and never an empty line
  close     close the connection without a word
DIR/ready appears once the server listens.  Runs until killed.
"""
import os
import socket
import socketserver
import sys
import threading

where, DIR, ACTIONS = sys.argv[1], sys.argv[2], sys.argv[3:] or ["DUNNO"]
lock = threading.Lock()
count = [0]


def record(name, text):
    with lock, open(os.path.join(DIR, name), "a") as f:
        f.write(text)


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        first = True
        while True:
            lines = []
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                if line == b"\n":
                    break
                lines.append(line.decode("utf-8", "replace"))
            if first:
                record("connections", "connect\n")
                first = False
            record("requests", "".join(lines) + "--\n")
            with lock:
                action = ACTIONS[min(count[0], len(ACTIONS) - 1)]
                count[0] += 1
            if action == "silent":
                threading.Event().wait()
            if action == "close":
                return
            if action == "garbage":
                self.wfile.write(b"hello\n\n")
            elif action == "huge":
                self.wfile.write(b"x=" + b"y" * 100000 + b"\n")
            else:
                self.wfile.write(("action=%s\n\n" % action).encode())
            self.wfile.flush()


class TCP(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Unix(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


if where.startswith("unix:"):
    server = Unix(where[5:], Handler)
else:
    server = TCP(("127.0.0.1", int(where)), Handler)
open(os.path.join(DIR, "ready"), "w").close()
server.serve_forever()
