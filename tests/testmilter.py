#!/usr/bin/python3
"""A milter for the tests, on Debian's python3-milter (libmilter).

usage: testmilter.py SOCKET LOG [RULE ...]

SOCKET is libmilter's: inet:PORT@127.0.0.1 or unix:/path.  Every
callback is appended to LOG as a line ("connect NAME FAMILY ADDR",
"helo NAME", "mail <A> ARGS", "rcpt <A>", "abort", "close"), with the
macros it saw ("macro NAME=VALUE").  RULEs say what to answer:
  STAGE:VALUE=ACTION   at connect (VALUE a client address), helo, mail,
                       rcpt, when the event's value is VALUE
  ACTION: reject, tempfail, accept, discard, or "reply:CODE XCODE TEXT"
  header:NAME=ACTION   when a header field called NAME comes
  eoh=ACTION, body=ACTION, eom=ACTION, data=ACTION
Without a rule the answer is continue.  The rule flags=ADDHDRS registers
the filter for adding header fields only (smfi_register's flags);
flags=NONE for nothing.  Otherwise it registers for every change, and
these rules, in the order given, are the changes it makes at the end of
the message (before its eom answer):
  add=NAME:VALUE  ins=INDEX:NAME:VALUE  chg=NAME:INDEX:VALUE (empty:
  delete)  newbody=TEXT ("\\n" a line end, "\\r" a lone CR; one replacebody call per ";"
  separated part)  addrcpt=ADDR  addrcpt_par=ADDR:ARGS  delrcpt=ADDR
  chgfrom=ADDR  quarantine=REASON
The rule leadspc=yes asks for header values with their leading space
(SMFIP_HDR_LEADSPC): as received, and as given in add=.
Content events log "data", "header NAME: VALUE" (the value as received,
between the colon and the line end), "eoh", "body " and the whole body
as a Python repr, "eom".
"""
import sys

import Milter

LOG = sys.argv[2]
RULES = {}
CHANGES = []
CHANGE_KINDS = ("add", "ins", "chg", "newbody", "addrcpt", "addrcpt_par",
                "delrcpt", "chgfrom", "quarantine")
for rule in sys.argv[3:]:
    key, _, action = rule.partition("=")
    if key in CHANGE_KINDS:
        CHANGES.append((key, action))
    else:
        RULES[key] = action

MACROS = ("j", "{daemon_name}", "{client_addr}", "{client_name}",
          "{mail_addr}", "{rcpt_addr}", "{auth_authen}", "{auth_type}",
          "{tls_version}", "i")


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


class TestMilter(Milter.Base):
    def answer(self, stage, value):
        for name in MACROS:
            v = self.getsymval(name)
            if v is not None:
                log("macro %s=%s" % (name, v))
        action = RULES.get("%s:%s" % (stage, value),
                           RULES.get(stage, "continue"))
        if action.startswith("reply:"):
            code, xcode, text = action[6:].split(" ", 2)
            self.setreply(code, xcode, text)
            return Milter.REJECT if code.startswith("5") else Milter.TEMPFAIL
        return {"continue": Milter.CONTINUE, "reject": Milter.REJECT,
                "tempfail": Milter.TEMPFAIL, "accept": Milter.ACCEPT,
                "discard": Milter.DISCARD}[action]

    def connect(self, name, family, hostaddr):
        addr = hostaddr[0] if hostaddr else ""
        log("connect %s %s %s" % (name, family, addr))
        return self.answer("connect", addr)

    def hello(self, name):
        log("helo %s" % name)
        return self.answer("helo", name)

    def envfrom(self, sender, *args):
        log("mail %s %s" % (sender, " ".join(args)))
        return self.answer("mail", sender.strip("<>"))

    def envrcpt(self, rcpt, *args):
        log("rcpt %s" % rcpt)
        return self.answer("rcpt", rcpt.strip("<>"))

    def data(self):
        log("data")
        self.bodytext = b""
        return self.answer("data", "")

    def header(self, name, value):
        log("header %s: %s" % (name, value))
        action = RULES.get("header:%s" % name)
        return self.answer("header", name) if action else Milter.CONTINUE

    def eoh(self):
        log("eoh")
        return self.answer("eoh", "")

    def body(self, chunk):
        self.bodytext += chunk
        return self.answer("body", "")

    def eom(self):
        log("body %r" % self.bodytext)
        log("eom")
        self.make_changes()
        return self.answer("eom", "")

    def make_changes(self):
        for kind, arg in CHANGES:
            if kind == "add":
                name, value = arg.split(":", 1)
                self.addheader(name, value)
            elif kind == "ins":
                idx, name, value = arg.split(":", 2)
                self.addheader(name, value, int(idx))
            elif kind == "chg":
                name, idx, value = arg.split(":", 2)
                self.chgheader(name, int(idx), value)
            elif kind == "newbody":
                for part in arg.split(";"):
                    self.replacebody(part.replace("\\n", "\r\n")
                                     .replace("\\r", "\r").encode())
            elif kind == "addrcpt":
                self.addrcpt("<%s>" % arg)
            elif kind == "addrcpt_par":
                addr, params = arg.split(":", 1)
                self.addrcpt("<%s>" % addr, params)
            elif kind == "delrcpt":
                self.delrcpt("<%s>" % arg)
            elif kind == "chgfrom":
                self.chgfrom("<%s>" % arg)
            elif kind == "quarantine":
                self.quarantine(arg)

    def abort(self):
        log("abort")
        return Milter.CONTINUE

    def close(self):
        log("close")
        return Milter.CONTINUE


if RULES.pop("leadspc", "") == "yes":
    # header values with their leading white space, both ways
    Milter.enable_protocols(TestMilter, Milter.P_HDR_LEADSPC)
Milter.factory = TestMilter
FLAGS = RULES.pop("flags", "ALL")
Milter.set_flags({"ADDHDRS": Milter.ADDHDRS, "NONE": 0}.get(
    FLAGS, Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT |
    Milter.ADDRCPT_PAR | Milter.DELRCPT | Milter.QUARANTINE | Milter.CHGFROM))
log("ready")
Milter.runmilter("testmilter", sys.argv[1], 60)
