#!/usr/bin/env bats
# The Postfix policy delegation protocol (policy lines in smtpd.conf):
# the request smtpd sends, every action as Postfix understands it, and
# a server that is down, silent or talks nonsense; against a scripted
# server (tests/fakepolicy.py) and, in policy_live.bats, real ones.

load helper

setup() {
	setup_postern
	POLICY_PID=
	mkdir -p "$TESTDIR/policy"
}

teardown() {
	if [ -n "$POLICY_PID" ]; then
		kill "$POLICY_PID" 2>/dev/null || true
		wait "$POLICY_PID" 2>/dev/null || true
	fi
	teardown_postern
}

# start_policy ACTION...: the scripted server on a free port, named in
# smtpd.conf.
start_policy() {
	local port
	port=$(free_port)
	python3 "$TOP/tests/fakepolicy.py" "$port" "$TESTDIR/policy" "$@" &
	POLICY_PID=$!
	wait_port 127.0.0.1 "$port"
	conf "policy inet:127.0.0.1:$port"
}

requests() {
	cat "$TESTDIR/policy/requests"
}

# session: one session from 192.0.2.1 (as a super-server would say),
# two recipients and a message.
session() {
	run bash -c "printf '${1:-EHLO client.example\nMAIL FROM:<a@b.example> SIZE=100\nRCPT TO:<u@example.org>\nRCPT TO:<v@example.org>\nDATA\nSubject: p\n\nbody\n.\nQUIT\n}' | TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=40000 '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>>'$LOG' | tr -d '\r' | grep -v '^250-'"
	echo "$output"
}

@test "the request: Postfix's attributes, one per line, an empty line; one connection for the session" {
	start_policy DUNNO
	session
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[[ "${lines[6]}" == "250 2.0.0 Ok: queued as "* ]]
	requests
	# two requests (one per RCPT) over one connection
	[ "$(grep -c '^--$' "$TESTDIR/policy/requests")" -eq 2 ]
	[ "$(wc -l <"$TESTDIR/policy/connections")" -eq 1 ]
	local first
	first=$(sed -n '1,/^--$/p' "$TESTDIR/policy/requests")
	for kv in request=smtpd_access_policy protocol_state=RCPT protocol_name=ESMTP \
	    helo_name=client.example queue_id= sender=a@b.example recipient=u@example.org \
	    recipient_count=0 client_address=192.0.2.1 client_name=unknown \
	    reverse_client_name=unknown client_port=40000 sasl_username= size=100; do
		echo "$first" | grep -qx "$kv" || { echo "missing: $kv"; false; }
	done
	echo "$first" | grep -q '^instance=[0-9a-f]*\.1$'
	sed -n '/^--$/,$p' "$TESTDIR/policy/requests" | grep -qx 'recipient=v@example.org'
}

@test "OK and DUNNO accept; REJECT and DEFER refuse with their text or Postfix's" {
	start_policy OK DUNNO 'REJECT go away' REJECT 'DEFER not now' DEFER_IF_PERMIT
	session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nRCPT TO:<c@example.org>\nRCPT TO:<d@example.org>\nRCPT TO:<e@example.org>\nRCPT TO:<f@example.org>\nQUIT\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "${lines[5]}" = "554 5.7.1 go away" ]
	[ "${lines[6]}" = "554 5.7.1 Access denied" ]
	[ "${lines[7]}" = "450 4.7.1 not now" ]
	[ "${lines[8]}" = "450 4.7.1 Service unavailable" ]
	grep -q 'reject: cmd=RCPT client=192.0.2.1 .*to=<c@example.org> reason="554 5.7.1 go away"' "$LOG"
}

@test "numeric actions: the code kept, an enhanced code added where none is" {
	start_policy '450 try later' '550 5.7.9 policy says no' '421 4.7.0 closing' 'REJECT x'
	session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nRCPT TO:<c@example.org>\nQUIT\n'
	[ "${lines[3]}" = "450 4.7.1 try later" ]
	[ "${lines[4]}" = "550 5.7.9 policy says no" ]
	[ "${lines[5]}" = "421 4.7.0 closing" ]
}

@test "PREPEND adds its header below the Received line; WARN is logged; an unknown action is DUNNO" {
	start_policy 'PREPEND X-Policy: checked by test' 'WARN look at this' 'FILTER smtp:elsewhere'
	session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nRCPT TO:<c@example.org>\nDATA\nSubject: p\n\nbody\n.\nQUIT\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
	[[ "${lines[7]}" == "250 2.0.0 Ok: queued as "* ]]
	run only_message
	[[ "${lines[0]}" == "Received: from c "* ]]
	[ "${lines[2]}" = "X-Policy: checked by test" ]
	[ "${lines[3]}" = "Subject: p" ]
	grep -q 'policy: server=inet:127.0.0.1:[0-9]* warn: look at this' "$LOG"
	grep -q 'policy: server=inet:127.0.0.1:[0-9]* action="FILTER smtp:elsewhere" not supported; taken as DUNNO' "$LOG"
}

@test "HOLD: the message is queued held, and deliver leaves it alone until released" {
	start_policy 'HOLD wait for the admin' DUNNO
	session
	[[ "${lines[6]}" == "250 2.0.0 Ok: queued as "* ]]
	local id=${lines[6]##* }
	[ -e "$QUEUE/hold/$id" ]
	grep -q "hold: id=$id client=192.0.2.1" "$LOG"
	conf "mailroot $TESTDIR/mail"
	"$TOP/deliver" -C "$CONF" -Q "$QUEUE" 2>>"$LOG"
	[ -z "$(find "$TESTDIR/mail" -type f 2>/dev/null)" ]
	"$TOP/postern-queue" -C "$CONF" -Q "$QUEUE" list | grep -q "^$id .*held"
	"$TOP/postern-queue" -C "$CONF" -Q "$QUEUE" release "$id"
	"$TOP/deliver" -C "$CONF" -Q "$QUEUE" 2>>"$LOG"
	[ "$(find "$TESTDIR/mail" -path '*/new/*' -type f | wc -l)" -eq 2 ]
}

@test "DISCARD: 250 to the client, nothing queued, a log line" {
	start_policy DISCARD
	session
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[6]}" = "250 2.0.0 Ok" ]
	queue_empty
	grep -q 'discard: client=192.0.2.1 from=<a@b.example>' "$LOG"
}

@test "policyeod: asked again at the end of the data, with the queue ID, the count and the size" {
	start_policy DUNNO DUNNO 'REJECT content refused'
	conf 'policyeod yes'
	session
	[ "${lines[6]}" = "554 5.7.1 content refused" ]
	queue_empty
	local last
	last=$(awk 'BEGIN { RS = "--\n" } { r = $0 } END { print r }' "$TESTDIR/policy/requests")
	echo "$last" | grep -qx 'protocol_state=END-OF-MESSAGE'
	echo "$last" | grep -qx 'recipient_count=2'
	echo "$last" | grep -q '^queue_id=[0-9A-F]'
	echo "$last" | grep -qx 'size=[0-9][0-9]*'
	grep -q 'reject: cmd=END-OF-DATA client=192.0.2.1 from=<a@b.example> .*reason="554 5.7.1 content refused"' "$LOG"
}

@test "a server that is down, silent, or answers nonsense: policydefault after policytimeout, logged" {
	conf 'policytimeout 1'
	conf "policy inet:127.0.0.1:$(free_port)"
	session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nQUIT\n'
	[ "${lines[3]}" = "451 4.3.5 Server configuration problem" ]
	grep -q 'policy: server=inet:127.0.0.1:[0-9]* no answer, or no action, within 1s; default action "451 4.3.5 Server configuration problem"' "$LOG"
	local kind start
	for kind in silent garbage huge close; do
		: >"$CONF/smtpd.conf.new"
		grep -v '^policy ' "$CONF/smtpd.conf" >"$CONF/smtpd.conf.new"
		mv "$CONF/smtpd.conf.new" "$CONF/smtpd.conf"
		[ -z "$POLICY_PID" ] || { kill "$POLICY_PID"; wait "$POLICY_PID" 2>/dev/null || true; }
		start_policy "$kind"
		start=$SECONDS
		session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nQUIT\n'
		[ "${lines[3]}" = "451 4.3.5 Server configuration problem" ] || { echo "$kind"; false; }
		# policytimeout 1, whatever the server does
		[ $((SECONDS - start)) -lt 10 ]
	done
	# policydefault DUNNO: fail open
	conf 'policydefault DUNNO'
	session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nQUIT\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
}

@test "a unix socket; several servers asked in turn until one decides" {
	python3 "$TOP/tests/fakepolicy.py" "unix:$TESTDIR/policy.sock" "$TESTDIR/policy" 'REJECT from the second' &
	POLICY_PID=$!
	for _ in $(seq 100); do [ -e "$TESTDIR/policy/ready" ] && break; sleep 0.1; done
	mkdir "$TESTDIR/first"
	local port
	port=$(free_port)
	python3 "$TOP/tests/fakepolicy.py" "$port" "$TESTDIR/first" DUNNO OK &
	FIRST_PID=$!
	wait_port 127.0.0.1 "$port"
	conf "policy inet:127.0.0.1:$port"
	conf "policy unix:$TESTDIR/policy.sock"
	session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nQUIT\n'
	kill "$FIRST_PID"; wait "$FIRST_PID" 2>/dev/null || true
	# the first says DUNNO, so the second decides; then the first says OK
	[ "${lines[3]}" = "554 5.7.1 from the second" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "$(grep -c '^--$' "$TESTDIR/policy/requests")" -eq 1 ]
}

@test "bad policy lines are reported and ignored" {
	printf 'hostname mx.test\nlog stderr\npolicy 127.0.0.1:10023\npolicy unix:relative/path\npolicytimeout 0\npolicyeod maybe\n' >"$CONF/smtpd.conf"
	session 'HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<a@example.org>\nQUIT\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "$(grep -c 'bad value; line ignored' "$LOG")" -eq 4 ]
}
