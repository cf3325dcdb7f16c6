#!/usr/bin/env bats
# smtpd's milter client against a real libmilter filter (Debian's
# python3-milter: tests/testmilter.py) and against hostile ones: the
# connection and envelope events in order with their macros, every
# verdict a filter can give there, and what happens when a filter is
# down, silent or speaks nonsense.

load helper
load milter_helper

@test "the connection and the envelope reach the filter in order, with the macros filters read" {
	start_milter
	run session 'EHLO client.example\nMAIL FROM:<a@b.test> BODY=8BITMIME\nRCPT TO:<alice@example.org>\nRSET\nQUIT\n'
	echo "$output"
	[[ "$output" == *"250 2.1.5 Ok"* ]]
	events
	[ "$(events | sed -n 1p)" = "connect unknown 2 192.0.2.7" ]
	[ "$(events | sed -n 2p)" = "helo client.example" ]
	[ "$(events | sed -n 3p)" = "mail <a@b.test> BODY=8BITMIME" ]
	[ "$(events | sed -n 4p)" = "rcpt <alice@example.org>" ]
	events | sed -n 5p | grep -Eq '^(abort|close)$'
	grep -qx 'macro j=mx.test' "$TESTDIR/milter.log"
	grep -qx 'macro {daemon_name}=postern' "$TESTDIR/milter.log"
	grep -qx 'macro {client_addr}=192.0.2.7' "$TESTDIR/milter.log"
	grep -qx 'macro {mail_addr}=a@b.test' "$TESTDIR/milter.log"
	grep -qx 'macro {rcpt_addr}=alice@example.org' "$TESTDIR/milter.log"
}

@test "verdicts: HELO rejected, MAIL refused with the filter's own reply, RCPT tempfailed; the next command goes on" {
	start_milter 'helo:evil.example=reject' \
	    'mail:spam@b.test=reply:550 5.7.1 No spam here' \
	    'rcpt:bob@example.org=tempfail'
	run session 'HELO evil.example\nHELO good.example\nMAIL FROM:<spam@b.test>\nMAIL FROM:<a@b.test>\nRCPT TO:<bob@example.org>\nRCPT TO:<alice@example.org>\nDATA\nSubject: x\n\nhi\n.\nQUIT\n'
	echo "$output"
	[ "${lines[1]}" = "550 5.7.1 Command rejected" ]
	[ "${lines[2]}" = "250 mx.test" ]
	[ "${lines[3]}" = "550 5.7.1 No spam here" ]
	[ "${lines[4]}" = "250 2.1.0 Ok" ]
	[ "${lines[5]}" = "451 4.7.1 Service unavailable - try again later" ]
	[ "${lines[6]}" = "250 2.1.5 Ok" ]
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	[ "$(queued_count)" -eq 1 ]
	grep -q 'reject: cmd=MAIL client=192.0.2.7 .*reason="550 5.7.1 No spam here"' "$LOG"
	grep -q 'milter: inet:127.0.0.1:[0-9]*: 451 4.7.1' "$LOG"
}

@test "verdicts at connect: reject refuses the session (554); accept leaves the filter out for the rest of it" {
	start_milter 'connect:192.0.2.7=reject' 'connect:192.0.2.8=accept' \
	    'mail:a@b.test=reject'
	run session 'EHLO c\nQUIT\n'
	echo "$output"
	[ "${lines[0]}" = "554 5.7.1 Command rejected" ]
	[ "${lines[1]}" = "503 5.5.1 Error: access denied" ]
	grep -q 'reject: cmd=CONNECT client=192.0.2.7 reason="554 5.7.1 Command rejected"' "$LOG"
	# accepted at connect: the MAIL rule is never asked
	run bash -c "printf 'EHLO c\nMAIL FROM:<a@b.test>\nQUIT\n' | TCPREMOTEIP=192.0.2.8 '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>/dev/null | tr -d '\r'"
	echo "$output"
	[[ "$output" == *"250 2.1.0 Ok"* ]]
	! grep -q '^mail <a@b.test>' "$TESTDIR/milter.log"
}

@test "a filter registered for some actions only (adding header fields) negotiates; its verdicts count" {
	start_milter flags=ADDHDRS 'mail:a@b.test=reject'
	run session 'EHLO c\nMAIL FROM:<a@b.test>\nQUIT\n'
	echo "$output"
	[[ "$output" == *"550 5.7.1 Command rejected"* ]]
	grep -q '^mail <a@b.test>' "$TESTDIR/milter.log"
}

@test "DISCARD at MAIL: the message is taken (250) and thrown away, logged" {
	start_milter 'mail:junk@b.test=discard'
	run session 'EHLO c\nMAIL FROM:<junk@b.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: x\n\nhi\n.\nQUIT\n'
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok"* ]]
	[ "$(queued_count)" -eq 0 ]
	grep -q 'discard: client=192.0.2.7 from=<junk@b.test>' "$LOG"
}

@test "a filter that is down: milterdefault tempfail (the default) refuses the session (421); accept lets mail through; both logged" {
	local port
	port=$(free_port)
	conf "milter inet:127.0.0.1:$port"
	run session 'EHLO c\nMAIL FROM:<a@b.test>\nQUIT\n'
	echo "$output"
	[ "${lines[0]}" = "421 4.7.1 Service unavailable - try again later" ]
	[ "${lines[1]}" = "503 5.5.1 Error: access denied" ]
	grep -q "milter: inet:127.0.0.1:$port: cannot connect; default action tempfail" "$LOG"
	[ "$(queued_count)" -eq 0 ]
	conf 'milterdefault accept'
	run session 'EHLO c\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: x\n\nhi\n.\nQUIT\n'
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	grep -q "milter: inet:127.0.0.1:$port: cannot connect; default action accept" "$LOG"
}

@test "hostile filters: silent, a reply of 1 MiB, an unknown reply: each gets the default action within miltertimeout, no hang" {
	for mode in silent huge garbage; do
		start_hostile "$mode"
		local start=$SECONDS
		run timeout 60 bash -c "printf 'EHLO c\nQUIT\n' | TCPREMOTEIP=192.0.2.7 '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>'$LOG' | tr -d '\r'"
		echo "$mode: $output"
		[ "$status" -eq 0 ]
		# the connect event failed: every command after is 451
		[ "${lines[0]}" = "421 4.7.1 Service unavailable - try again later" ]
		grep -q "milter: inet:127.0.0.1:$MPORT: .*; default action tempfail" "$LOG"
		[ $((SECONDS - start)) -lt 50 ]
		stop_milter
		sed -i '/^miltertimeout /d' "$CONF/smtpd.conf"
	done
}

@test "filters per listener: each configuration directory (a submission listener's, say) has its own milter lines, or none" {
	start_milter
	cp -r "$CONF" "$TESTDIR/conf2"
	sed -i '/^milter /d' "$TESTDIR/conf2/smtpd.conf"
	run bash -c "printf 'EHLO c\nQUIT\n' | TCPREMOTEIP=192.0.2.9 '$SMTPD' -C '$TESTDIR/conf2' -Q '$QUEUE' 2>/dev/null | tr -d '\r'"
	echo "$output"
	[[ "$output" == *"221 2.0.0"* ]]
	run session 'EHLO c\nQUIT\n'
	[[ "$output" == *"221 2.0.0"* ]]
	grep -qx 'connect unknown 2 192.0.2.7' "$TESTDIR/milter.log"
	! grep -q '192.0.2.9' "$TESTDIR/milter.log" || false
}

@test "macros of a logged-in client behind a TLS wrapper: {tls_version} at HELO, {auth_type} and {auth_authen} at MAIL" {
	start_milter
	conf 'authdelay 0'
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret-alice)" >"$CONF/passwd"
	auth=$(printf '\0alice@example.org\0s3cret-alice' | base64 -w0)
	run bash -c "printf 'EHLO c\nAUTH PLAIN $auth\nMAIL FROM:<alice@example.org>\nQUIT\n' | SSL_PROTOCOL=TLSv1.3 TCPREMOTEIP=192.0.2.7 '$SMTPD' -S -C '$CONF' -Q '$QUEUE' 2>/dev/null | tr -d '\r'"
	echo "$output"
	[[ "$output" == *"235 2.7.0"* ]]
	[[ "$output" == *"250 2.1.0 Ok"* ]]
	grep -A20 '^helo c' "$TESTDIR/milter.log" | grep -qx 'macro {tls_version}=TLSv1.3'
	grep -A20 '^mail <alice@example.org>' "$TESTDIR/milter.log" | grep -qx 'macro {auth_type}=PLAIN'
	grep -A20 '^mail <alice@example.org>' "$TESTDIR/milter.log" | grep -qx 'macro {auth_authen}=alice@example.org'
}
