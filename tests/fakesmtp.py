#!/usr/bin/env python3
"""A scripted SMTP server for the deliver tests.

usage: fakesmtp.py [HOST:]PORT|unix:PATH DIR [RULE ...]

Each accepted message is written to DIR/N.eml with its envelope in
X-Fake-From: and X-Fake-To: lines first.  Every command and reply is
appended to DIR/transcript.  RULEs change replies:
  rcpt:ADDRESS=REPLY    the reply to RCPT TO:<ADDRESS>
  data=REPLY            the reply after the end of data
  ehlo=REPLY            the reply to EHLO (HELO is still answered 250)
  greeting=REPLY        the greeting
  nopipelining          do not advertise PIPELINING
  lmtp                  speak LMTP (RFC 2033): LHLO, not EHLO or HELO, and
                        after the data one reply per accepted recipient
  lmtpdata:ADDRESS=REPLY  in LMTP, that recipient's reply after the data
  drip                  a hostile greeting: "220-" lines, one every 0.2 s,
                        never a last line
  flood                 "220-" lines as fast as the client takes them
  silent                accept, then never say a word
  longline              a greeting line that never ends
  starttls              offer STARTTLS; its reply is starttlsreply=REPLY
                        (220 by default), after which the session goes on
                        in TLS with tlscert=PEM (certificate and key in
                        one file) or, without one, in clear text (a broken
                        server: the client's handshake fails)
  implicit              TLS from the first byte (SMTPS), with tlscert=PEM
  ready=FILE            create FILE once listening (a client that waits for
                        it makes no connection of its own to find out)
  authmechs=MECHS       the mechanisms auth= offers (default "PLAIN LOGIN")
  auth=USER:PASSWORD    offer AUTH PLAIN LOGIN (in TLS only, with
                        starttls), and take only these credentials
Each connection is logged in the transcript as "CONNECT".
The server runs until killed.
"""
import base64
import os
import socketserver
import ssl
import sys
import threading
import time

UNIX = sys.argv[1][5:] if sys.argv[1].startswith("unix:") else None
HOST, _, PORT = sys.argv[1].rpartition(":")
HOST, PORT, DIR = HOST or "127.0.0.1", 0 if UNIX else int(PORT), sys.argv[2]
RULES = sys.argv[3:]
rcpt_rules, lmtp_rules, opts = {}, {}, {}
for r in RULES:
    if r.startswith("rcpt:"):
        addr, reply = r[5:].split("=", 1)
        rcpt_rules[addr.lower()] = reply
    elif r.startswith("lmtpdata:"):
        addr, reply = r[9:].split("=", 1)
        lmtp_rules[addr.lower()] = reply
    elif "=" in r:
        k, v = r.split("=", 1)
        opts[k] = v
    else:
        opts[r] = True
lock = threading.Lock()
counter = [0]


def log(line):
    with lock, open(os.path.join(DIR, "transcript"), "a") as f:
        f.write(line + "\n")


class Handler(socketserver.StreamRequestHandler):
    def send(self, line):
        log("S: " + line)
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        try:
            self.converse()
        except (ConnectionError, BrokenPipeError):
            pass

    def hostile(self):
        if "silent" in opts:
            self.rfile.read()
        elif "drip" in opts:
            while True:
                self.wfile.write(b"220-still here\r\n")
                time.sleep(0.2)
        elif "flood" in opts:
            line = b"220-" + b"x" * 60 + b"\r\n"
            while True:
                self.wfile.write(line * 100)
        elif "longline" in opts:
            while True:
                self.wfile.write(b"220 " + b"y" * 4096)

    def start_tls(self):
        self.tls = True
        if "tlscert" not in opts:
            return
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(opts["tlscert"])
        try:
            self.request = ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log("TLS failed: %s" % e)
            raise ConnectionError()
        log("TLS " + self.request.version())
        self.rfile = self.request.makefile("rb")
        self.wfile = self.request.makefile("wb", buffering=0)

    def authenticate(self, line):
        words = line.split()
        if len(words) == 3 and words[1].upper() == "PLAIN":
            given = base64.b64decode(words[2]).split(b"\0")[1:]
        elif len(words) == 2 and words[1].upper() == "LOGIN":
            given = []
            for prompt in ("VXNlcm5hbWU6", "UGFzc3dvcmQ6"):
                self.send("334 " + prompt)
                answer = self.rfile.readline().decode().strip()
                log("C: " + answer)
                given.append(base64.b64decode(answer))
        else:
            return "504 5.5.4 mechanism not offered"
        want = opts["auth"].encode().split(b":", 1)
        if given == want:
            return "235 2.7.0 Authentication successful"
        return "535 5.7.8 Error: authentication failed"

    def converse(self):
        self.tls = False
        log("CONNECT")
        if {"silent", "drip", "flood", "longline"} & set(opts):
            return self.hostile()
        if "implicit" in opts:
            self.start_tls()
        self.send(opts.get("greeting", "220 fake.test ESMTP"))
        sender, rcpts = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            log("C: " + line)
            verb = line[:4].upper()
            if "lmtp" in opts and verb in ("EHLO", "HELO"):
                self.send("500 5.5.1 this is LMTP: LHLO")
            elif "lmtp" in opts and verb == "LHLO":
                self.send("250-fake.test")
                self.send("250 PIPELINING")
            elif verb == "LHLO":
                self.send("502 5.5.1 not LMTP")
            elif verb == "EHLO" and "ehlo" in opts:
                self.send(opts["ehlo"])
            elif verb == "EHLO":
                ext = ["fake.test", "SIZE 100000000", "8BITMIME", "SMTPUTF8"]
                if "starttls" in opts and not self.tls:
                    ext.append("STARTTLS")
                if "auth" in opts and self.tls:
                    ext.append("AUTH " + opts.get("authmechs", "PLAIN LOGIN"))
                if "nopipelining" not in opts:
                    ext.append("PIPELINING")
                for e in ext[:-1]:
                    self.send("250-" + e)
                self.send("250 " + ext[-1])
            elif verb == "HELO":
                self.send("250 fake.test")
            elif line.upper() == "STARTTLS" and "starttls" in opts and not self.tls:
                reply = opts.get("starttlsreply", "220 2.0.0 go ahead")
                self.send(reply)
                if reply.startswith("220"):
                    self.start_tls()
            elif verb == "AUTH" and "auth" in opts and self.tls:
                self.send(self.authenticate(line))
            elif verb == "MAIL":
                sender, rcpts = line[10:].split(">")[0].lstrip("<"), []
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                addr = line[8:].split(">")[0].lstrip("<")
                reply = rcpt_rules.get(addr.lower(), "250 2.1.5 Ok")
                if reply.startswith("2"):
                    rcpts.append(addr)
                self.send(reply)
            elif verb == "DATA":
                if not rcpts:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 go ahead")
                body = []
                while True:
                    raw = self.rfile.readline()
                    if not raw or raw == b".\r\n":
                        break
                    body.append(raw[1:] if raw.startswith(b".") else raw)
                reply = opts.get("data", "250 2.0.0 Ok: queued")
                if reply.startswith("2"):
                    with lock:
                        counter[0] += 1
                        n = counter[0]
                    with open(os.path.join(DIR, "%d.eml" % n), "wb") as f:
                        f.write(("X-Fake-From: %s\r\n" % sender).encode())
                        for r in rcpts:
                            f.write(("X-Fake-To: %s\r\n" % r).encode())
                        f.write(b"".join(body))
                if "lmtp" in opts:
                    for r in rcpts:
                        self.send(lmtp_rules.get(r.lower(), reply))
                else:
                    self.send(reply)
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return
            elif verb == "RSET":
                sender, rcpts = None, []
                self.send("250 2.0.0 Ok")
            else:
                self.send("502 5.5.1 unknown")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class UnixServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


server = UnixServer(UNIX, Handler) if UNIX else Server((HOST, PORT), Handler)
if "ready" in opts:
    open(opts["ready"], "w").close()
server.serve_forever()
