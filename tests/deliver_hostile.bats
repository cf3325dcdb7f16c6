#!/usr/bin/env bats
# deliver against hostile remote servers: replies that never end, floods,
# silence, children that crash or hang; none of it may stall delivery,
# local mail included, for longer than the documented limits.

load helper
load deliver_helper

# A deliver run that could hang on today's bugs ends here, as a failure.
bounded_deliver() {
	timeout -k 5 120 "$DELIVER" -C "$CONF" -Q "$QUEUE" "$@" 2>>"$TESTDIR/deliver.log"
}

# wait_for COMMAND...: until it succeeds, at most 60 s (a bound for a
# slow machine, never a timing claim).
wait_for() {
	local i
	for i in $(seq 600); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

fake_connected() {
	grep -q '^CONNECT' "$TESTDIR/fake/transcript" 2>/dev/null
}

alice_has_mail() {
	[ -n "$(maildir_files alice)" ]
}

# signal_remote_child SIGNAL: one deliver run; once its child is talking
# to the scripted server, the child gets SIGNAL; waits for the run's end.
signal_remote_child() {
	local parent child
	"$DELIVER" -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	parent=$!
	wait_for fake_connected
	wait_for pgrep -P "$parent" >/dev/null
	child=$(pgrep -P "$parent")
	kill -"$1" "$child"
	wait "$parent"
}

deferred_with() {	# deferred_with TEXT: x@remote.test was deferred for TEXT
	grep 'to=<x@remote.test>' "$TESTDIR/deliver.log" | grep 'status=deferred' | grep -qF "$1"
}

@test "a server that drips 220- lines forever: the greeting's deadline is not re-armed by each line" {
	conf timeout 2
	start_fake drip
	send a@b.test x@remote.test
	bounded_deliver
	deferred_with 'greeting: timed out'
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
}

@test "a flood of continuation lines, and a line that never ends: refused by the reply limits" {
	start_fake flood
	send a@b.test x@remote.test
	bounded_deliver
	deferred_with 'greeting: reply of too many lines'
	kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
	sed -i '/remote.test/d' "$CONF/routes"
	start_fake longline
	bounded_deliver -f
	deferred_with 'greeting: reply too long'
}

@test "a server that says nothing: deferred after timeout" {
	conf timeout 1
	start_fake silent
	send a@b.test x@remote.test
	bounded_deliver
	deferred_with 'greeting: timed out'
}

@test "deliver -d: local mail is delivered while a remote server stalls a child" {
	conf concurrency 1
	conf timeout 600
	start_fake silent
	send a@b.test x@remote.test
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	wait_for fake_connected
	send a@b.test alice@example.org
	wait_for alice_has_mail
	# the remote attempt is still waiting for its greeting
	! grep -q 'to=<x@remote.test>' "$TESTDIR/deliver.log" || false
	kill "$DAEMON_PID"
	wait "$DAEMON_PID"	# SIGTERM ends it in order: status 0
	DAEMON_PID=
}

@test "a child killed by a signal is logged, and its message backs off like a deferral" {
	conf timeout 600
	start_fake silent
	send a@b.test x@remote.test
	# SIGABRT is how a crash inside libc (a failed check, a corrupt heap)
	# ends a process, and a sanitizer build does not intercept it as it
	# does SIGSEGV; no core file is wanted
	ulimit -c 0
	signal_remote_child ABRT
	local now
	grep -q "delivery process killed by signal 6 (Aborted)" "$TESTDIR/deliver.log"
	deferred_with '4.3.0 delivery process killed by signal 6'
	grep -qx 'attempts 1' "$QUEUE"/state/*
	now=$(date +%s)
	[ "$(sed -n 's/^next //p' "$QUEUE"/state/*)" -ge $((now + 200)) ]
	# not due: a plain run leaves it alone
	bounded_deliver
	[ "$(grep -c 'to=<x@remote.test>' "$TESTDIR/deliver.log")" -eq 1 ]
}

@test "a child that overruns messagetimeout is killed, logged and deferred" {
	conf timeout 600
	conf messagetimeout 2
	start_fake silent
	send a@b.test x@remote.test
	# a child stopped is a child that never finishes on its own
	signal_remote_child STOP
	grep -Eq 'delivery attempt killed after [0-9]+ seconds \(messagetimeout 2\)' "$TESTDIR/deliver.log"
	deferred_with '4.3.0 delivery attempt killed after'
	grep -qx 'attempts 1' "$QUEUE"/state/*
}

@test "messagetimeout ends a slow attempt from inside: the child defers on its own" {
	conf timeout 600
	conf messagetimeout 2
	start_fake drip
	send a@b.test x@remote.test
	bounded_deliver
	deferred_with 'greeting: timed out'
	! grep -q 'delivery attempt killed' "$TESTDIR/deliver.log" || false
}

@test "maxmxaddresses: at most that many addresses are tried per attempt" {
	needs_dns_namespace
	local records=() i
	for i in 0 1 2 3 4 5 6 7; do
		records+=("MX:many.example:$((10 + i)):mx$i.many.example" "A:mx$i.many.example:127.0.0.$((20 + i))")
	done
	start_fake_dns "${records[@]}"
	conf maxmxaddresses 3
	printf 'Fa@b.test\0Tx@many.example\0\0' >"$TESTDIR/env"
	printf 'Subject: many\n\nhi\n' | "$ENQUEUE" -C "$CONF" -Q "$QUEUE" 1<"$TESTDIR/env"
	deliver_dns
	grep -q 'to=<x@many.example> .* status=deferred (4.4.1 connect to mx2.many.example\[127.0.0.22\]:25: Connection refused; 3 addresses tried)' "$TESTDIR/deliver.log"
}
