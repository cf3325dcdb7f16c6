#!/usr/bin/env python3
"""A crash-state checker for the queue commit, in the manner of ALICE
(Pillai et al., "All File Systems Are Not Created Equal", OSDI 2014).

usage: crashcheck.py [options] QUEUE CONF -- COMMAND [ARG...]

  --model conservative|ordered   persistence model (conservative)
  --sample N                     check at most N distinct crash states,
                                 drawn with a fixed seed (0: all of them)
  --deliver PATH                 the deliver program (../deliver)
  --keep DIR                     keep each violating state under DIR

1. Record.  COMMAND (smtpd or enqueue committing messages into QUEUE)
   runs under strace; its file-system operations on QUEUE become a
   list: mkdir, create, write (with the bytes), link, rename, unlink,
   fsync, and each reply written to standard output or a socket.
2. Generate.  A crash may come after any operation.  The model says
   which earlier operations must have reached the disk and which may be
   lost, and the checker takes every combination of the others:
   - conservative: a file's data is durable after an fsync of that
     file; a directory entry (mkdir, create, link, rename, unlink)
     after an fsync of its directory.  Anything else may be lost, and
     independently of each other (so in any order).
   - ordered (ext4 with data=ordered, xfs): directory operations reach
     the disk in program order, as a prefix (one journal); an fsync of
     any file or directory makes every directory operation before it
     durable (it commits the journal), and that file's data.
   In both, a write not yet synced may be lost, torn (only its first
   half written) or leave zeros (the size grew, the data did not).
3. Replay.  Each distinct state is built from a copy of the queue as it
   was before COMMAND ran, and deliver runs once on it (its recovery:
   admission of todo/ entries, delivery to Maildirs).
4. Check.  Every message whose "250 ... queued as ID" was written
   before the crash must have reached every one of its recipients'
   Maildirs, whole; and every message in any Maildir must be a whole
   message of the trace (nothing cut short is ever delivered).

Prints one line of counts, then one line per violation; exits 0 when
there is none, 1 when there are, 2 on a usage or recording error.
"""
import hashlib
import itertools
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qentry  # noqa: E402  (the tests' reader of queue(5) entries)

WRITE_FATES = ("none", "full", "torn", "zeros")


def usage(msg):
    sys.stderr.write("crashcheck: %s\n" % msg)
    sys.exit(2)


def parse_args(argv):
    opts = {"model": "conservative", "sample": 0, "keep": None,
            "deliver": os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "deliver")}
    while argv and argv[0].startswith("--") and argv[0] != "--":
        name = argv.pop(0)[2:]
        if name not in opts or not argv:
            usage("bad option --" + name)
        opts[name] = argv.pop(0)
    if len(argv) < 4 or argv[2] != "--":
        usage("usage: crashcheck.py [options] QUEUE CONF -- COMMAND...")
    if opts["model"] not in ("conservative", "ordered"):
        usage("unknown model " + opts["model"])
    opts["sample"] = int(opts["sample"])
    return opts, os.path.abspath(argv[0]), os.path.abspath(argv[1]), argv[3:]


# ---- 1. recording ---------------------------------------------------------

HEX = re.compile(r"\\x([0-9a-f]{2})")


def unhex(s):
    return bytes(int(h, 16) for h in HEX.findall(s))


def snapshot(root):
    """The queue before COMMAND: directories, and files with contents."""
    dirs, files, fifos = {root}, {}, set()
    for top, subdirs, names in os.walk(root):
        for d in subdirs:
            dirs.add(os.path.join(top, d))
        for n in names:
            path = os.path.join(top, n)
            mode = os.lstat(path).st_mode
            if stat.S_ISFIFO(mode):
                fifos.add(path)
            elif stat.S_ISREG(mode):
                with open(path, "rb") as f:
                    files[path] = f.read()
    return dirs, files, fifos


class Recorder:
    """Turns an strace -f -y -xx log into operations on the queue.

    Files are known by inode objects (small integers) so that an
    anonymous file, a link and a rename keep their identity."""

    def __init__(self, root, initial_files):
        self.root = root
        self.ops = []
        self.inodes = {}          # inode -> final bytes (for the checks)
        self.names = {}           # path -> inode, as the program sees it
        self.fds = {}             # (pid, fd) -> [inode or dir path, offset]
        for path, data in initial_files.items():
            ino = self.new_inode(data)
            self.names[path] = ino
        self.initial_names = dict(self.names)
        self.queue_pids = set()

    def new_inode(self, data=b""):
        ino = len(self.inodes)
        self.inodes[ino] = bytearray(data)
        return ino

    def inside(self, path):
        return path == self.root or path.startswith(self.root + "/")

    @staticmethod
    def fd_path(arg):
        """'7<\\x2f...>' -> (7, '/...') ; 'AT_FDCWD<...>' -> (None, path)."""
        m = re.match(r"(\d+|AT_FDCWD)(?:<([^>]*)>)?", arg)
        fd = None if m.group(1) == "AT_FDCWD" else int(m.group(1))
        return fd, unhex(m.group(2) or "").decode("utf-8", "replace")

    def at(self, dirarg, name):
        _, d = self.fd_path(dirarg)
        return name if name.startswith("/") else os.path.normpath(d + "/" + name)

    def feed(self, pid, call, args, ret):
        if call == "openat":
            self.openat(pid, args, ret)
        elif call in ("write", "pwrite64"):
            self.write(pid, call, args, ret)
        elif call in ("fsync", "fdatasync"):
            fd, path = self.fd_path(args[0])
            target = self.fds.get((pid, fd), [path])[0]
            if isinstance(target, int) or self.inside(target):
                self.ops.append(("fsync", target))
        elif call == "close":
            fd, _ = self.fd_path(args[0])
            self.fds.pop((pid, fd), None)
        elif call == "mkdirat":
            path = self.at(args[0], unhex(args[1]).decode())
            if self.inside(path):
                self.ops.append(("mkdir", path))
        elif call == "linkat":
            self.linkat(pid, args)
        elif call in ("renameat", "renameat2"):
            old = self.at(args[0], unhex(args[1]).decode())
            new = self.at(args[2], unhex(args[3]).decode())
            if self.inside(new) and old in self.names:
                self.names[new] = self.names.pop(old)
                self.ops.append(("rename", old, new))
        elif call == "unlinkat":
            path = self.at(args[0], unhex(args[1]).decode())
            if self.inside(path):
                self.names.pop(path, None)
                self.ops.append(("unlink", path))

    def openat(self, pid, args, ret):
        m = re.match(r"(\d+)<([^>]*)>", ret)
        if not m:
            return
        fd, path = int(m.group(1)), unhex(m.group(2)).decode("utf-8", "replace")
        if not self.inside(path):
            return
        self.queue_pids.add(pid)
        flags = args[2]
        if "O_TMPFILE" in flags:
            self.fds[(pid, fd)] = [self.new_inode(), 0]
        elif "O_DIRECTORY" in flags:
            self.fds[(pid, fd)] = [path, 0]
        elif path in self.names:
            self.fds[(pid, fd)] = [self.names[path], 0]
        elif "O_CREAT" in flags:
            ino = self.new_inode()
            self.names[path] = ino
            self.fds[(pid, fd)] = [ino, 0]
            self.ops.append(("create", path, ino))

    def write(self, pid, call, args, ret):
        fd, path = self.fd_path(args[0])
        data = unhex(args[1])[:max(int(ret), 0)]
        entry = self.fds.get((pid, fd))
        if entry is None or not isinstance(entry[0], int):
            if fd == 1 or path.startswith(("socket:", "TCP", "UNIX", "pipe:")):
                self.ops.append(("reply", data.decode("utf-8", "replace"), pid))
            return
        ino = entry[0]
        off = int(args[3]) if call == "pwrite64" else entry[1]
        buf = self.inodes[ino]
        if len(buf) < off + len(data):
            buf.extend(b"\0" * (off + len(data) - len(buf)))
        buf[off:off + len(data)] = data
        if call != "pwrite64":
            entry[1] = off + len(data)
        self.ops.append(("write", ino, off, bytes(data)))

    def linkat(self, pid, args):
        src, new = unhex(args[1]).decode(), self.at(args[2], unhex(args[3]).decode())
        if not self.inside(new):
            return
        m = re.match(r"/proc/self/fd/(\d+)$", src)
        if m:
            ino = self.fds.get((pid, int(m.group(1))), [None])[0]
        else:
            ino = self.names.get(self.at(args[0], src))
        if isinstance(ino, int):
            self.names[new] = ino
            self.ops.append(("link", ino, new))


def split_args(s):
    """Top-level comma-separated arguments of a strace call."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch in "[{(" and depth >= 0:
            depth += 1
        elif ch in "]})":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return [a.strip('"') if a.startswith('"') else a for a in out]


def joined_calls(lines):
    """strace -f splits a call that another process interrupts into
    "PID name(args <unfinished ...>" and "PID <... name resumed>rest":
    joined here, in the place where the call completed."""
    pending = {}
    for line in lines:
        line = line.rstrip("\n")
        m = re.match(r"^(\d+)\s+(.*) <unfinished \.\.\.>$", line)
        if m:
            pending[m.group(1)] = m.group(2)
            continue
        m = re.match(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$", line)
        if m:
            yield "%s %s%s" % (m.group(1), pending.pop(m.group(1), ""), m.group(2))
            continue
        yield line


def record(root, command, initial_files):
    trace = tempfile.NamedTemporaryFile(prefix="crashcheck.", delete=False).name
    calls = ("openat,write,pwrite64,fsync,fdatasync,close,mkdirat,linkat,"
             "renameat,renameat2,unlinkat")
    with tempfile.TemporaryFile() as out:
        status = subprocess.call(["strace", "-f", "-y", "-xx", "-qq", "-s", "16777216",
                                  "-o", trace, "-e", "trace=" + calls] + command,
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        if status != 0:
            out.seek(0)
            sys.stderr.write(out.read().decode("utf-8", "replace"))
    rec = Recorder(root, initial_files)
    line_re = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(\S+(?:<[^>]*>)?)")
    with open(trace, encoding="ascii", errors="replace") as f:
        for line in joined_calls(f):
            m = line_re.match(line)
            if not m or m.group(4).startswith("-"):
                continue
            rec.feed(int(m.group(1)), m.group(2), split_args(m.group(3)), m.group(4))
    os.unlink(trace)
    # replies count only from the processes that used the queue (not,
    # say, a client driving the session through a pipe)
    rec.ops = [o for o in rec.ops if o[0] != "reply" or o[2] in rec.queue_pids]
    return status, rec


# ---- 2. crash states ------------------------------------------------------

def dirs_of(op):
    if op[0] in ("mkdir", "create", "unlink"):
        return {os.path.dirname(op[1])}
    if op[0] == "link":
        return {os.path.dirname(op[2])}
    if op[0] == "rename":
        return {os.path.dirname(op[2])}
    return set()


def is_meta(op):
    return op[0] in ("mkdir", "create", "link", "rename", "unlink")


def durable_before(ops, k, model):
    """Indices below k that must have reached the disk at a crash after
    operation k-1, and the ones that may or may not have."""
    must = set()
    for j in range(k):
        op = ops[j]
        if op[0] != "fsync":
            continue
        target = op[1]
        for i in range(j):
            o = ops[i]
            if o[0] == "write" and o[1] == target:
                must.add(i)
            elif is_meta(o) and (model == "ordered" or target in dirs_of(o)):
                must.add(i)
    free = [i for i in range(k) if i not in must and ops[i][0] in
            ("write", "mkdir", "create", "link", "rename", "unlink")]
    return must, free


def choices(ops, free, model):
    """Every way the free operations may have turned out: a dict index ->
    fate ("full", "none", "torn", "zeros" for writes; "full"/"none" for
    directory operations, which the ordered model keeps as a prefix)."""
    writes = [i for i in free if ops[i][0] == "write"]
    metas = [i for i in free if is_meta(ops[i])]
    if model == "ordered":
        meta_sets = [{i: ("full" if n < cut else "none") for n, i in enumerate(metas)}
                     for cut in range(len(metas) + 1)]
    else:
        meta_sets = [dict(zip(metas, fates)) for fates in
                     itertools.product(("full", "none"), repeat=len(metas))]
    for wfates in itertools.product(WRITE_FATES, repeat=len(writes)):
        for mset in meta_sets:
            fate = dict(zip(writes, wfates))
            fate.update(mset)
            yield fate


def build(ops, k, must, fate):
    """The file system after a crash at k: (dirs, path -> bytes)."""
    dirs, files, _ = INITIAL
    dirs = set(dirs)
    content = {}
    names = {}
    ino_of_initial = RECORDED.initial_names
    for path, ino in ino_of_initial.items():
        names[path] = ino
        content[ino] = bytearray(files[path])
    for i in range(k):
        op = ops[i]
        f = "full" if i in must else fate.get(i, "skip")
        if f in ("none", "skip"):
            continue
        kind = op[0]
        if kind == "write":
            _, ino, off, data = op
            buf = content.setdefault(ino, bytearray())
            if f == "torn":
                data = data[:len(data) // 2]
            elif f == "zeros":
                data = b"\0" * len(data)
            if len(buf) < off + len(data):
                buf.extend(b"\0" * (off + len(data) - len(buf)))
            buf[off:off + len(data)] = data
        elif kind == "mkdir":
            if os.path.dirname(op[1]) in dirs:
                dirs.add(op[1])
        elif kind == "create":
            if os.path.dirname(op[1]) in dirs:
                names[op[1]] = op[2]
                content.setdefault(op[2], bytearray())
        elif kind == "link":
            if os.path.dirname(op[2]) in dirs:
                names[op[2]] = op[1]
                content.setdefault(op[1], bytearray())
        elif kind == "rename":
            if op[1] in names and os.path.dirname(op[2]) in dirs:
                names[op[2]] = names.pop(op[1])
        elif kind == "unlink":
            names.pop(op[1], None)
    visible = {p: bytes(content[ino]) for p, ino in names.items()
               if os.path.dirname(p) in dirs}
    return dirs, visible


def state_key(dirs, files):
    h = hashlib.sha256()
    for d in sorted(dirs):
        h.update(b"d" + d.encode() + b"\0")
    for p in sorted(files):
        h.update(b"f" + p.encode() + b"\0" + hashlib.sha256(files[p]).digest())
    return h.hexdigest()


def all_states(ops, model):
    """(crash point, must, fate) for every state, and the distinct ones."""
    seen = {}
    total = 0
    for k in range(len(ops) + 1):
        must, free = durable_before(ops, k, model)
        for fate in choices(ops, free, model):
            total += 1
            dirs, files = build(ops, k, must, fate)
            key = state_key(dirs, files)
            acknowledged = acked_ids(ops, k)
            # the same files with more messages acknowledged is a
            # stronger check: keep the latest crash point
            prev = seen.get(key)
            if prev is None or len(acknowledged) > len(prev[2]):
                seen[key] = (k, (dirs, files), acknowledged)
    return total, seen


def acked_ids(ops, k):
    ids = []
    for i in range(k):
        if ops[i][0] == "reply":
            ids += re.findall(r"250 [0-9.]* ?Ok: queued as (\S+)", ops[i][1])
    return ids


# ---- 3, 4. replay and check -------------------------------------------------

def entry_parts(data):
    """(message, recipients) of a whole one-file entry, else None."""
    parts = qentry.parse(data)
    if parts is None:
        return None
    rcpts = [r[1:].decode() for r in parts[1].split(b"\0") if r.startswith(b"T")]
    return parts[0], rcpts


def replay(root, conf, deliver, state, workdir):
    dirs, files = state
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    q = os.path.join(workdir, "queue")
    mail = os.path.join(workdir, "mail")

    def moved(p):
        return q + p[len(root):]
    for d in sorted(dirs):
        os.makedirs(moved(d), mode=0o700, exist_ok=True)
    for p in INITIAL[2]:
        if os.path.dirname(p) in dirs:
            os.mkfifo(moved(p), 0o600)
    for p, data in files.items():
        with open(moved(p), "wb") as f:
            f.write(data)
    c = os.path.join(workdir, "conf")
    shutil.copytree(conf, c)
    with open(os.path.join(c, "smtpd.conf"), "a") as f:
        f.write("\nmailroot %s\nlog stderr\n" % mail)
    run = subprocess.run([deliver, "-C", c, "-Q", q], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    return run.returncode, run.stderr.decode("utf-8", "replace"), mail


def maildir_messages(mail):
    found = {}
    for top, _, names in os.walk(mail):
        if os.path.basename(top) not in ("new", "cur"):
            continue
        user = os.path.relpath(os.path.dirname(top), mail)
        for n in names:
            with open(os.path.join(top, n), "rb") as f:
                found.setdefault(user, []).append(f.read())
    return found


def mailbox_of(rcpt):
    local, domain = rcpt.rsplit("@", 1)
    return domain + "/" + local


def check(entries, acked, code, log, mail):
    """The violations of one replayed state."""
    bad = []
    if code < 0 or code > 1:
        bad.append("deliver exited %d: %s" % (code, log.strip()[-300:]))
    got = maildir_messages(mail)
    whole = [m for m, _ in entries.values()]
    for user, msgs in got.items():
        for m in msgs:
            if not any(m.endswith(w) for w in whole):
                bad.append("delivered to %s but not a whole message: %r..." % (user, m[-60:]))
    for qid in acked:
        if qid not in entries:
            bad.append("acknowledged %s is not in the trace" % qid)
            continue
        message, rcpts = entries[qid]
        for r in rcpts:
            if not any(m.endswith(message) for m in got.get(mailbox_of(r), [])):
                bad.append("acknowledged %s lost for %s" % (qid, r))
    return bad


def describe(ops, k, must, fate):
    parts = []
    for i in range(k):
        op = ops[i]
        if op[0] in ("fsync", "reply"):
            parts.append("%s %s" % (op[0], op[1] if op[0] == "fsync" else op[1].strip()[:30]))
            continue
        f = "durable" if i in must else fate.get(i, "-")
        what = op[0] + " " + (str(op[2]) if op[0] in ("link", "rename") else str(op[1]))
        parts.append("%s(%s)" % (what, f))
    return "; ".join(parts)


def main():
    global INITIAL, RECORDED
    opts, root, conf, command = parse_args(sys.argv[1:])
    if shutil.which("strace") is None:
        usage("strace is not installed")
    INITIAL = snapshot(root)
    status, rec = record(root, command, INITIAL[1])
    if status != 0:
        usage("the recorded command exited %d" % status)
    RECORDED = rec
    entries = {}
    for path, ino in rec.names.items():
        parts = entry_parts(bytes(rec.inodes[ino]))
        if parts and "/todo/" in path:
            entries[os.path.basename(path)] = parts
    total, seen = all_states(rec.ops, opts["model"])
    keys = sorted(seen)
    if opts["sample"] and len(keys) > opts["sample"]:
        keys = sorted(random.Random(1).sample(keys, opts["sample"]))
    work = tempfile.mkdtemp(prefix="crashcheck.")
    violations = []
    for n, key in enumerate(keys):
        k, state, acked = seen[key]
        code, log, mail = replay(root, conf, opts["deliver"], state,
                                 os.path.join(work, "state"))
        for v in check(entries, acked, code, log, mail):
            violations.append("state %d (crash after op %d): %s" % (n, k, v))
            if opts["keep"]:
                shutil.copytree(os.path.join(work, "state"),
                                os.path.join(opts["keep"], "state%d" % n),
                                dirs_exist_ok=True)
    shutil.rmtree(work, ignore_errors=True)
    fsyncs = sum(1 for o in rec.ops if o[0] == "fsync")
    print("model=%s operations=%d fsyncs=%d acknowledged=%d crash_states=%d "
          "distinct=%d checked=%d violations=%d" %
          (opts["model"], len(rec.ops), fsyncs, len(acked_ids(rec.ops, len(rec.ops))),
           total, len(seen), len(keys), len(violations)))
    for v in violations[:50]:
        print(v)
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
