#!/usr/bin/env python3
"""Crash consistency of the commit: kills smtpd and enqueue with SIGKILL
at random moments while they take messages, then checks the queue.

usage: crash.py SMTPD ENQUEUE CONF QUEUE ROUNDS

Invariants checked (the exit status is 1 if any fails):
  - every message that got a 250 (smtpd) or exit 0 (enqueue) is in todo/,
    one file with its exact bytes and its exact envelope;
  - every file in todo/ is a whole entry (queue(5): message, envelope,
    trailer): nothing half-written is ever visible outside tmp/.
Prints how many were acknowledged and how many committed without an
acknowledgement (killed between the commit and the reply: SMTP's window).

The kill moments are drawn relative to how long a whole session of the
largest message takes on this machine, measured first on a scratch
queue, and the span is then steered every 20 rounds towards half of the
kills landing after the acknowledgement: a sanitizer build, a slow or a
loaded machine gets later kills, so the kills fall on both sides of the
commit whatever the machine's speed.
"""
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qentry  # noqa: E402  (the tests' reader of queue(5) entries)

smtpd, enqueue, conf, queue, rounds = sys.argv[1:5] + [int(sys.argv[5])]
random.seed(int(os.environ.get("CRASH_SEED", "1")))
bodies, acked = {}, {}
ENV = b"Fa@b.test\0Tu@example.org\0\0"


def message(tag):
    lines = random.randint(1, 3000)
    text = "Subject: %s\n\n" % tag + "".join("%s line %d\n" % (tag, k) for k in range(lines))
    return text.encode()


def run_smtpd(tag, body, delay, q=None):
    p = subprocess.Popen([smtpd, "-C", conf, "-Q", q or queue], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    session = (b"HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\n"
               + body + b".\nQUIT\n")

    def writer():
        try:
            p.stdin.write(session)
            p.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
    out = []
    w = threading.Thread(target=writer)
    r = threading.Thread(target=lambda: out.append(p.stdout.read()))
    w.start()
    r.start()
    if delay is None:       # calibration: the whole session
        p.wait()
    else:
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
    w.join()
    r.join()
    m = re.search(rb"250 2\.0\.0 Ok: queued as (\S+)", out[0])
    if m and q is None:
        acked[m.group(1).decode()] = tag


def run_enqueue(tag, body, delay, tmp, q=None):
    path = os.path.join(tmp, "env")
    with open(path, "wb") as f:
        f.write(ENV)
    with open(path, "rb") as env:
        p = subprocess.Popen([enqueue, "-C", conf, "-Q", q or queue], stdin=subprocess.PIPE,
                             stdout=env, stderr=subprocess.DEVNULL)

        def writer():
            try:
                p.stdin.write(body)
                p.stdin.close()
            except (BrokenPipeError, ValueError):
                pass
        w = threading.Thread(target=writer)
        w.start()
        if delay is None:
            done = p.wait()
        else:
            time.sleep(delay)
            done = p.poll()
            p.send_signal(signal.SIGKILL)
            p.wait()
        w.join()
    if done == 0 and q is None:
        acked["enqueue:" + tag] = tag


def content_tag(data):
    m = re.search(rb"^Subject: (\S+)$", data, re.M)
    return m.group(1).decode() if m else None


def whole_session_time(tmp):
    """The longest of three whole sessions of the largest message, by
    either program, on a scratch queue."""
    scratch = os.path.join(tmp, "calibration-queue")
    os.makedirs(scratch, exist_ok=True)
    body = ("Subject: calibration\n\n" + "calibration line\n" * 3000).encode()
    longest = 0.0
    for k in range(3):
        for run in (run_smtpd, run_enqueue):
            start = time.monotonic()
            if run is run_smtpd:
                run_smtpd("calibration", body, None, scratch)
            else:
                run_enqueue("calibration", body, None, tmp, scratch)
            longest = max(longest, time.monotonic() - start)
    return longest


def steer(span, first_span, acked_share):
    """Later kills when too few rounds were acknowledged, earlier when
    too many; never beyond a hundred times the measured span."""
    if acked_share < 0.35:
        span *= 1.4
    elif acked_share > 0.65:
        span *= 0.7
    return min(span, 100 * first_span)


def main():
    tmp = os.path.dirname(queue.rstrip("/"))
    span = first_span = whole_session_time(tmp)
    print("kill moments first drawn from 0 to %.1f ms" % (span * 1000))
    for i in range(rounds):
        if i > 0 and i % 20 == 0:
            span = steer(span, first_span, len(acked) / i)
        tag = "m%d" % i
        bodies[tag] = message(tag)
        delay = random.uniform(0, span)
        if i % 3 == 2:
            run_enqueue(tag, bodies[tag], delay, tmp)
        else:
            run_smtpd(tag, bodies[tag], delay)
    failures = []
    mess = os.listdir(os.path.join(queue, "mess"))
    todo = os.listdir(os.path.join(queue, "todo"))
    if mess:
        failures.append("mess/ holds %d files; only deliver puts any there" % len(mess))
    complete = {}
    for name in todo:
        data = open(os.path.join(queue, "todo", name), "rb").read()
        parts = qentry.parse(data)
        if parts is None:
            failures.append("todo/%s is not a whole queue entry" % name)
            continue
        msg, env = parts
        tag = content_tag(msg)
        if tag is None or not msg.endswith(bodies[tag]):
            failures.append("todo/%s does not hold a complete message" % name)
        if env != ENV:
            failures.append("todo/%s is not the exact envelope: %r" % (name, env))
        complete[name] = tag
    committed_tags = {complete[n] for n in todo if n in complete}
    for key, tag in acked.items():
        if key.startswith("enqueue:"):
            if tag not in committed_tags:
                failures.append("enqueue acknowledged %s but it is not queued" % tag)
        elif key not in todo or complete.get(key) != tag:
            failures.append("smtpd said 250 for %s (%s) but it is not queued" % (key, tag))
    unacked = len(committed_tags - set(acked.values()))
    print("rounds=%d acknowledged=%d committed_without_ack=%d failures=%d"
          % (rounds, len(acked), unacked, len(failures)))
    for f in failures[:10]:
        print("FAIL: " + f)
    sys.exit(1 if failures else 0)


main()
