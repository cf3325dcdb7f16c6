# Shared set-up for the bats tests: a fresh configuration and queue per
# test, and helpers that talk to smtpd through a pipe or a real socket.
#
# A negated assertion is written "! command || false": bash's errexit
# ignores the status of a "!" pipeline, so "! command" alone in the
# middle of a test can never fail it.

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
SMTPD=$TOP/smtpd
ENQUEUE=$TOP/enqueue

setup_postern() {
	TESTDIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/postern.XXXXXX")
	chmod 755 "$TESTDIR"
	CONF=$TESTDIR/conf
	QUEUE=$TESTDIR/queue
	LOG=$TESTDIR/log
	mkdir -p "$CONF" "$QUEUE"
	printf 'hostname mx.test\nlog stderr\n' >"$CONF/smtpd.conf"
	echo example.org >"$CONF/domains"
	SERVER_PID=
}

teardown_postern() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TESTDIR"
	no_sanitizer_reports
}

# Under .ci/run's sanitizer pass, ASan and UBSan write their reports to
# files in $POSTERN_SANITIZER_REPORTS: a report from any process this
# test started (socket-activated, a daemon, a child) fails the test.
# Reports already seen are moved to seen/, where .ci/run still finds them.
no_sanitizer_reports() {
	local dir=${POSTERN_SANITIZER_REPORTS:-} f found=0
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		# empty: a process SIGKILLed (crash.bats kills hundreds) as its
		# runtime opened the file; there is no finding in it
		if [ ! -s "$f" ]; then
			rm -f "$f"
			continue
		fi
		echo "sanitizer report $f:" >&2
		cat "$f" >&2
		mkdir -p "$dir/seen"
		mv "$f" "$dir/seen/"
		found=1
	done
	[ "$found" -eq 0 ]
}

conf() {
	echo "$*" >>"$CONF/smtpd.conf"
}

# smtp_pipe 'EHLO x\nQUIT\n': one session over a pipe, printf escapes
# expanded, replies on stdout without CR, log lines in $LOG.
smtp_pipe() {
	printf "$1" | "$SMTPD" -C "$CONF" -Q "$QUEUE" 2>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[1]}"
}

queued_count() {
	find "$QUEUE/todo" -type f 2>/dev/null | wc -l
}

# True when tmp/, mess/ and todo/ hold no file at all.
queue_empty() {
	[ -z "$(find "$QUEUE/tmp" "$QUEUE/mess" "$QUEUE/todo" -type f)" ]
}

# entry message|envelope FILE...: that part of one-file queue entries.
entry() {
	python3 "$TOP/tests/qentry.py" "$@"
}

# The message of every entry in todo/, one after the other.
queued_messages() {
	entry message "$QUEUE"/todo/*
}

only_message() {
	entry message "$QUEUE"/todo/*
}

only_envelope() {
	entry envelope "$QUEUE"/todo/* | od -An -c | tr -s ' ' | tr -d '\n'
}

# free_port [ADDRESS]: a port free on ADDRESS (127.0.0.1, or ::1 for
# an IPv6 server): a port free for IPv4 may be taken on ::1.
free_port() {
	python3 - "${1:-127.0.0.1}" <<'PY'
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(family)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
PY
}

# socket_activate ARGS...: systemd-socket-activate, which hands its
# children no environment but what -E names: the sanitizer settings are
# passed on, so that a socket-activated program reports to the files the
# teardown checks, as everything else does.
socket_activate() {
	local pass=() v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && pass+=(-E "$v")
	done
	# always run with &: exec, so that $! is systemd-socket-activate
	# itself, which the teardown kills (a subshell in between was
	# killed instead, and the server outlived the test)
	exec systemd-socket-activate "${pass[@]}" "$@"
}

# Starts smtpd per connection under systemd-socket-activate on a loopback
# port ($PORT); extra arguments are passed as -E environment settings.
start_socket_server() {
	local addr=${LISTEN_ADDR:-127.0.0.1} host envs=() e
	host=${addr#[}
	host=${host%]}
	PORT=$(free_port "$host")
	for e in "$@"; do envs+=(-E "$e"); done
	socket_activate --accept --inetd "${envs[@]}" \
	    -l "$addr:$PORT" "$SMTPD" -C "$CONF" -Q "$QUEUE" \
	    2>"$LOG" &
	SERVER_PID=$!
	wait_port "$host" "$PORT"
	# still running: it is ours that answered, not another program that
	# took the port between free_port and the bind
	kill -0 "$SERVER_PID" || { echo "the socket server did not start" >&2; cat "$LOG" >&2; return 1; }
}

# wait_port HOST PORT [SECONDS]: until a connection is accepted (5 s,
# or SECONDS: make run may have a build to do first).
wait_port() {
	python3 - "$1" "$2" "${3:-5}" <<'PY'
import socket, sys, time
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# smtp_raw N1 CHUNK1 N2 CHUNK2 ...: sends each chunk (Python escapes) in
# one write, then waits for N final reply lines before the next.
smtp_raw() {
	python3 "$TOP/tests/smtpraw.py" "${LISTEN_ADDR:-127.0.0.1}" "$PORT" "$@"
}
