# Shared by the deliver suites: a configuration with local users, a
# scripted SMTP server routed as remote.test, a scripted DNS server.

DELIVER=$TOP/deliver

setup() {
	setup_postern
	MAIL=$TESTDIR/mail
	conf "mailroot $MAIL"
	printf 'alice@example.org\nbob@example.org\npostmaster@mx.test\n' >"$CONF/users"
	echo mx.test >>"$CONF/domains"
	echo remote.test >"$CONF/relaydomains"
	FAKE_PID=
	FAKE_PIDS=
	DNS_PID=
	REMOTE_PID=
	DAEMON_PID=
}

teardown() {
	for p in $FAKE_PID $FAKE_PIDS $DNS_PID $REMOTE_PID $DAEMON_PID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	teardown_postern
}

# send FROM TO... : one message through smtpd over a pipe.
send() {
	local from=$1 rcpts='' r
	shift
	for r in "$@"; do rcpts="${rcpts}RCPT TO:<$r>\n"; done
	smtp_pipe "HELO c\nMAIL FROM:<$from>\n${rcpts}DATA\nSubject: test ${BODY_TAG:-1}\n\n${BODY:-hello}\n.\nQUIT\n" |
	    grep -q '^250 2.0.0 Ok: queued'
}

run_deliver() {
	"$DELIVER" -C "$CONF" -Q "$QUEUE" "$@" 2>>"$TESTDIR/deliver.log"
}

maildir_files() {	# maildir_files USER [DOMAIN]
	find "$MAIL/${2:-example.org}/$1/new" -type f 2>/dev/null
}

queue_is_empty() {
	[ -z "$(find "$QUEUE/todo" "$QUEUE/mess" "$QUEUE/state" -type f 2>/dev/null)" ]
}

# start_unconnectable PORT: a listener on 127.0.0.1:PORT whose one-place
# accept queue is full, so the kernel drops the SYNs of any further
# connect, which then never completes (REMOTE_PID; ready on return).
start_unconnectable() {
	python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(0)
fill = []
for _ in range(4):
    c = socket.socket(); c.setblocking(False); c.connect_ex(("127.0.0.1", int(sys.argv[1]))); fill.append(c)
open(sys.argv[2], "w").close()
time.sleep(600)' "$1" "$TESTDIR/full" &
	REMOTE_PID=$!
	for _ in $(seq 100); do [ -e "$TESTDIR/full" ] && break; sleep 0.1; done
}

# start_fake RULE...: the scripted server; routes remote.test to it.
start_fake() {
	FAKE_PORT=$(free_port)
	mkdir -p "$TESTDIR/fake"
	python3 "$TOP/tests/fakesmtp.py" "$FAKE_PORT" "$TESTDIR/fake" "$@" &
	FAKE_PID=$!
	wait_port 127.0.0.1 "$FAKE_PORT"
	echo "remote.test 127.0.0.1:$FAKE_PORT" >>"$CONF/routes"
}

# needs_dns_namespace: the MX tests answer DNS themselves on
# 127.0.0.2:53 and bind a resolv.conf naming it over the real one, in a
# mount namespace of deliver's own.
needs_dns_namespace() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for ports 53 and 25 and a mount namespace"
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	unshare -m true 2>/dev/null || skip "mount namespaces are not allowed here"
	printf 'nameserver 127.0.0.2\noptions attempts:2 timeout:1\n' >"$TESTDIR/resolv.conf"
}

start_fake_dns() {	# start_fake_dns RECORD...
	python3 "$TOP/tests/fakedns.py" 127.0.0.2 "$@" &
	DNS_PID=$!
	python3 - <<'PY'
import socket, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.2", 53), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
PY
}

start_fake_at() {	# start_fake_at ADDRESS DIR [RULE...]: a scripted server on port 25
	local addr=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	python3 "$TOP/tests/fakesmtp.py" "$addr:25" "$dir" "$@" &
	FAKE_PIDS="$FAKE_PIDS $!"
	wait_port "$addr" 25
}

deliver_dns() {	# one deliver pass that resolves through the fake DNS server
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
	    sh "$TESTDIR/resolv.conf" "$DELIVER" -C "$CONF" -Q "$QUEUE" "$@" 2>>"$TESTDIR/deliver.log"
}

# wait_listening PID: until deliver -d has its trigger FIFO open (60 s at most).
wait_listening() {
	local i
	for i in $(seq 600); do
		ls -l "/proc/$1/fd" 2>/dev/null | grep -q trigger && return 0
		sleep 0.1
	done
	return 1
}
