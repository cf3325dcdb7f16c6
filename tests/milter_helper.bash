# Shared by the milter suites: tests/testmilter.py (a real libmilter
# filter, Debian's python3-milter) and a hostile fake.

MILTER_PY=/usr/bin/python3

setup() {
	setup_postern
	printf 'alice@example.org\nbob@example.org\n' >"$CONF/users"
	MILTER_PID=
}

teardown() {
	[ -n "$MILTER_PID" ] && { kill "$MILTER_PID" 2>/dev/null; wait "$MILTER_PID" 2>/dev/null; }
	teardown_postern
}

# start_milter RULE...: tests/testmilter.py on a free port, named in
# smtpd.conf; its events go to $TESTDIR/milter.log
start_milter() {
	"$MILTER_PY" -c 'import Milter' 2>/dev/null || skip "python3-milter is not installed"
	MPORT=$(free_port)
	"$MILTER_PY" "$TOP/tests/testmilter.py" "inet:$MPORT@127.0.0.1" \
	    "$TESTDIR/milter.log" "$@" 2>"$TESTDIR/milter.err" &
	MILTER_PID=$!
	wait_port 127.0.0.1 "$MPORT" 30
	conf "milter inet:127.0.0.1:$MPORT"
}

# stop_milter: the filter gone and out of smtpd.conf, for the next one
stop_milter() {
	kill "$MILTER_PID" 2>/dev/null || true
	wait "$MILTER_PID" 2>/dev/null || true
	MILTER_PID=
	sed -i '/^milter /d' "$CONF/smtpd.conf"
}

session() {	# session 'COMMANDS': from 192.0.2.7, port 4567
	TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4567 smtp_pipe "$1"
}

# The events the filter saw, without the macro lines.
events() { grep -v '^macro ' "$TESTDIR/milter.log" | grep -v '^ready$'; }

# A hostile filter (tests/fakemilter.py), as MODE says.
start_hostile() {	# start_hostile MODE
	MPORT=$(free_port)
	python3 "$TOP/tests/fakemilter.py" "$MPORT" "$1" &
	MILTER_PID=$!
	wait_port 127.0.0.1 "$MPORT" 30
	conf "milter inet:127.0.0.1:$MPORT"
	conf 'miltertimeout 2'
}
