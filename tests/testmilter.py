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
Without a rule the answer is continue.  The rule flags=ADDHDRS registers
the filter for adding header fields (smfi_register's flags).
"""
import sys

import Milter

LOG = sys.argv[2]
RULES = {}
for rule in sys.argv[3:]:
    key, _, action = rule.partition("=")
    RULES[key] = action

MACROS = ("j", "{daemon_name}", "{client_addr}", "{client_name}",
          "{mail_addr}", "{rcpt_addr}", "{auth_authen}")


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


class TestMilter(Milter.Base):
    def answer(self, stage, value):
        for name in MACROS:
            v = self.getsymval(name)
            if v is not None:
                log("macro %s=%s" % (name, v))
        action = RULES.get("%s:%s" % (stage, value), "continue")
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

    def abort(self):
        log("abort")
        return Milter.CONTINUE

    def close(self):
        log("close")
        return Milter.CONTINUE


Milter.factory = TestMilter
Milter.set_flags(Milter.ADDHDRS if RULES.pop("flags", "") == "ADDHDRS" else 0)
log("ready")
Milter.runmilter("testmilter", sys.argv[1], 60)
