#!/usr/bin/env bats
# deliver against a real peer: Postfix's smtp-sink, in the modes its
# options give (no ESMTP, no PIPELINING, no 8BITMIME, refusals,
# dropped connections, stalls).  Each accepted message is dumped to a
# file (smtp-sink -d) with the envelope and the ESMTP parameters deliver
# sent, so the tests check what arrived, not only what deliver logged.

load helper
load deliver_helper

# start_sink OPTION...: smtp-sink on a free port of $SINK_ADDRESS
# (127.0.0.1 unless set), dumping to $SINK/, routed as the smarthost
# for every remote domain.
start_sink() {
	local addr=${SINK_ADDRESS:-127.0.0.1}
	command -v smtp-sink >/dev/null || skip "smtp-sink (package postfix) is not installed"
	SINK=$TESTDIR/sink
	mkdir -p "$SINK"
	chmod 777 "$SINK"
	SPORT=$(free_port "$addr")
	smtp-sink -u "$(id -un)" -d "$SINK/%M." "$@" "[$addr]:$SPORT" 10 \
	    2>>"$TESTDIR/sink.log" &
	REMOTE_PID=$!
	wait_port "$addr" "$SPORT"
	echo "* [$addr]:$SPORT tls=none" >"$CONF/routes"
}

stop_sink() {
	kill "$REMOTE_PID" 2>/dev/null || true
	wait "$REMOTE_PID" 2>/dev/null || true
	REMOTE_PID=
}

# The one message smtp-sink took.
sunk() {
	[ "$(ls "$SINK" | wc -l)" -eq 1 ]
	cat "$SINK"/*
}

@test "smtp-sink -e (no ESMTP): HELO after the refused EHLO, no ESMTP parameters, the message whole" {
	start_sink -e
	send a@b.test x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	run sunk
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nX-Client-Proto: SMTP\n'* ]]
	[[ "$output" == *$'\nX-Helo-Args: mx.test\n'* ]]
	[[ "$output" == *$'\nX-Mail-Args: <a@b.test>\n'* ]]
	[[ "$output" == *$'\nX-Rcpt-Args: <x@remote.test>\n'* ]]
	[[ "$output" == *$'\nSubject: test 1\n\nhello' ]]
	queue_is_empty
}

@test "routes: a smarthost at an IPv6 address and port, [::1]:PORT" {
	python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
	    skip "no IPv6 loopback here"
	SINK_ADDRESS=::1 start_sink
	send a@b.test x@remote.test
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<x@remote.test> relay=::1\[::1\]:'"$SPORT"' .* status=sent' "$TESTDIR/deliver.log"
	run sunk
	[ "${lines[0]}" = "X-Client-Addr: ipv6:::1" ]
	queue_is_empty
}

@test "smtp-sink: BODY=8BITMIME for 8-bit text; with -8 no BODY=, the text sent as it is" {
	start_sink
	BODY='h\xc3\xa9llo' send a@b.test x@remote.test
	run_deliver
	run sunk
	echo "$output"
	[[ "$output" == *$'\nX-Client-Proto: ESMTP\n'* ]]
	# (smtp-sink offers no SIZE, so none is sent)
	[[ "$output" == *$'\nX-Mail-Args: <a@b.test> BODY=8BITMIME\n'* ]]
	[[ "$output" == *$'\nh\xc3\xa9llo' ]]
	stop_sink
	start_sink -8
	BODY='h\xc3\xa9llo' send a@b.test x@remote.test
	run_deliver
	run sunk
	[[ "$output" == *$'\nX-Mail-Args: <a@b.test>\n'* ]]
	[[ "$output" == *$'\nh\xc3\xa9llo' ]]
	queue_is_empty
}

# What deliver sent to the server, one line per send call, in hex.
traced_sends() {
	grep -o 'sendto([0-9]*, "[^"]*"' "$TESTDIR/strace" | sed 's/.*"\(.*\)"/\1/; s/\\x//g'
}

@test "smtp-sink -p (no PIPELINING): MAIL, RCPT and DATA each wait for a reply; with PIPELINING, one write" {
	command -v strace >/dev/null || skip "strace is not installed"
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	local mail rcpt
	# "MAIL FROM:<a@b.test>" and "RCPT TO:<x@remote.test>" in hex
	mail=$(printf 'MAIL FROM:<a@b.test>' | od -An -tx1 | tr -d ' \n')
	rcpt=$(printf 'RCPT TO:<x@remote.test>' | od -An -tx1 | tr -d ' \n')
	start_sink -p
	send a@b.test x@remote.test
	strace -f -xx -s 4096 -o "$TESTDIR/strace" -e trace=write,sendto,sendmsg \
	    "$DELIVER" -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log"
	grep -q 'to=<x@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	[ "$(traced_sends | grep -c "$mail")" -eq 1 ]
	[ "$(traced_sends | grep -c "$rcpt")" -eq 1 ]
	[ "$(traced_sends | grep "$mail" | grep -c "$rcpt")" -eq 0 ]
	stop_sink
	start_sink
	send a@b.test x@remote.test
	strace -f -xx -s 4096 -o "$TESTDIR/strace" -e trace=write,sendto,sendmsg \
	    "$DELIVER" -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log"
	# MAIL, RCPT and DATA in one send
	[ "$(traced_sends | grep "$mail" | grep "$rcpt" | grep -c '0d0a444154410d0a$')" -eq 1 ]
	queue_is_empty
}

@test "smtp-sink -r RCPT (450): deferred and kept; -f RCPT (500): bounced to the sender" {
	start_sink -r RCPT
	send alice@example.org x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> .* status=deferred (.*said: 450 4.3.0 Error: command failed (in reply to RCPT TO))' "$TESTDIR/deliver.log"
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
	[ -z "$(maildir_files alice)" ]
	[ -z "$(ls "$SINK")" ]
	stop_sink
	start_sink -f RCPT
	run_deliver -f
	grep -q 'to=<x@remote.test> .* status=bounced (.*said: 500 5.3.0 Error: command failed (in reply to RCPT TO))' "$TESTDIR/deliver.log"
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	grep -q '^Diagnostic-Code: smtp; 500 5.3.0 Error: command failed$' "$(maildir_files alice)"
	queue_is_empty
}

@test "smtp-sink -q . (dropped after the data, no reply) and -Q MAIL (421): deferred, then sent by the next run" {
	start_sink -q .
	send a@b.test x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> .* status=deferred' "$TESTDIR/deliver.log"
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
	stop_sink
	start_sink -Q MAIL
	run_deliver -f
	grep -q 'to=<x@remote.test> .* status=deferred (.*said: 421 ' "$TESTDIR/deliver.log"
	[ "$(grep -c 'status=deferred' "$TESTDIR/deliver.log")" -eq 2 ]
	stop_sink
	start_sink
	run_deliver -f
	grep -q 'to=<x@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	[[ "$(sunk)" == *$'\nSubject: test 1\n'* ]]
	queue_is_empty
}

@test "timeout: a server that stalls its reply to RCPT is left after timeout seconds, deferred" {
	conf 'timeout 2'
	# smtp-sink waits 60 s before it answers RCPT; deliver waits 2.
	# (-p: with PIPELINING, smtp-sink answers the DATA behind the stalled
	# RCPT first, out of order, "503 need RCPT", which a client can
	# only take as RCPT's reply)
	start_sink -p -W rcpt:60
	send a@b.test x@remote.test
	local start=$SECONDS
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<x@remote.test> .* status=deferred (.*timed out' "$TESTDIR/deliver.log"
	# well before smtp-sink would have answered
	[ $((SECONDS - start)) -lt 50 ]
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
}

@test "connecttimeout: a host whose connect never completes is left after connecttimeout seconds, deferred" {
	conf 'connecttimeout 1'
	conf 'timeout 60'
	local port
	port=$(free_port)
	start_unconnectable "$port"
	echo "* [127.0.0.1]:$port tls=none" >"$CONF/routes"
	send a@b.test x@remote.test
	local start=$SECONDS
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<x@remote.test> .* status=deferred (4.4.1 connect to 127.0.0.1\[127.0.0.1\]:'"$port"': Connection timed out)' "$TESTDIR/deliver.log"
	# the default, 30 s, would be far longer
	[ $((SECONDS - start)) -lt 20 ]
}
