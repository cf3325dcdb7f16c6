#!/usr/bin/env bats
# deliver: local Maildirs, remote hosts (postern's own smtpd, a scripted
# server, smtp-sink), retries, bounces, expiry, loops and crashes.

load helper

load deliver_helper

@test "local delivery: exact content, Return-Path and Delivered-To first" {
	send a@b.test alice@example.org
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	f=$(maildir_files alice)
	run cat "$f"
	[ "${lines[0]}" = "Return-Path: <a@b.test>" ]
	[ "${lines[1]}" = "Delivered-To: alice@example.org" ]
	[[ "${lines[2]}" == "Received: from c (local) by mx.test (postern) with SMTP" ]]
	[ "${lines[4]}" = "Subject: test 1" ]
	[ "${lines[5]}" = "hello" ]
	[ -d "$MAIL/example.org/alice/cur" ]
	[ -d "$MAIL/example.org/alice/tmp" ]
	queue_is_empty
	grep -Eq 'id=[A-Z0-9.]+ to=<alice@example.org> relay=local delay=[0-9]+ status=sent \(delivered to maildir\)' "$TESTDIR/deliver.log"
}

@test "local delivery: a users entry with its own Maildir" {
	echo "carol@example.org $TESTDIR/carol/Maildir/" >>"$CONF/users"
	send a@b.test carol@example.org
	run_deliver
	[ "$(find "$TESTDIR/carol/Maildir/new" -type f | wc -l)" -eq 1 ]
}

@test "aliases and lists: local and remote targets, one copy per address" {
	start_fake
	printf 'team@example.org: alice@example.org, bob@example.org, x@remote.test\nall@example.org: team@example.org, alice@example.org\n' >"$CONF/aliases"
	send a@b.test all@example.org
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	[ "$(ls "$TESTDIR/fake"/*.eml | wc -l)" -eq 1 ]
	grep -q '^X-Fake-To: x@remote.test' "$TESTDIR"/fake/1.eml
	queue_is_empty
}

@test "one Maildir gets one copy, however the address was spelt" {
	echo b@example.org >>"$CONF/users"
	printf 'list@example.org: bob@example.org, "bob"@Example.ORG\n' >"$CONF/aliases"
	send a@b.test b@example.org B@example.org b@EXAMPLE.org '"b"@example.org'
	send a@b.test bob@example.org BOB@example.org list@example.org
	run_deliver
	[ "$(maildir_files b | wc -l)" -eq 1 ]
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	# under casesensitive (default Maildirs), B and b are two mailboxes
	rm "$CONF/users" "$CONF/aliases"
	conf casesensitive yes
	send a@b.test b@example.org B@example.org
	run_deliver
	[ "$(maildir_files b | wc -l)" -eq 2 ]
	[ "$(maildir_files B | wc -l)" -eq 1 ]
}

@test "an alias loop is bounced with 5.4.6, not delivered forever" {
	printf 'loop1@example.org: loop2@example.org\nloop2@example.org: loop1@example.org\n' >"$CONF/aliases"
	send alice@example.org loop1@example.org
	run_deliver
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	grep -q '^Status: 5.4.6' "$(maildir_files alice)"
	queue_is_empty
}

@test "remote: postern's own smtpd as the remote host, through routes" {
	local rq=$TESTDIR/remote-queue rc=$TESTDIR/remote-conf
	mkdir -p "$rq" "$rc"
	printf 'hostname far.test\nlog stderr\n' >"$rc/smtpd.conf"
	echo far.test >"$rc/domains"
	RPORT=$(free_port)
	socket_activate --accept --inetd -l "127.0.0.1:$RPORT" "$SMTPD" -C "$rc" -Q "$rq" 2>"$TESTDIR/remote.log" &
	REMOTE_PID=$!
	wait_port 127.0.0.1 "$RPORT"
	echo "far.test 127.0.0.1:$RPORT" >"$CONF/routes"
	echo far.test >>"$CONF/relaydomains"
	# stuffed by this client, stored unstuffed, stuffed again on the wire
	BODY='..leading dot\n...two dots\nlast line' send a@b.test u1@far.test u2@far.test
	run_deliver
	[ "$(ls "$rq/todo" | wc -l)" -eq 1 ]
	printf 'Fa@b.test\0Tu1@far.test\0Tu2@far.test\0\0' | cmp - <(entry envelope "$rq"/todo/*)
	entry message "$rq"/todo/* | grep -q '^Received: from mx.test (\[127.0.0.1\]) by far.test (postern) with ESMTP'
	printf 'Received: from c (local) by mx.test (postern) with SMTP\n' >"$TESTDIR/want1"
	entry message "$rq"/todo/* | sed -n 3p | cmp - "$TESTDIR/want1"
	entry message "$rq"/todo/* | tail -n 4 >"$TESTDIR/got"
	printf '\n.leading dot\n..two dots\nlast line\n' >"$TESTDIR/want"
	cmp "$TESTDIR/want" "$TESTDIR/got"
	queue_is_empty
	grep -q 'to=<u1@far.test> relay=127.0.0.1\[127.0.0.1\]:'"$RPORT"' tls=none delay=[0-9]* status=sent' "$TESTDIR/deliver.log"
}

@test "remote: smtp-sink from Postfix takes the message" {
	command -v smtp-sink >/dev/null || skip "smtp-sink (package postfix) is not installed"
	SPORT=$(free_port)
	smtp-sink -u "$(id -un)" 127.0.0.1:"$SPORT" 10 &
	REMOTE_PID=$!
	wait_port 127.0.0.1 "$SPORT"
	# smtp-sink has no STARTTLS: a smarthost's default, verify, would defer
	echo "* 127.0.0.1:$SPORT tls=may" >"$CONF/routes"
	echo '127.0.0.1 relay' >"$CONF/clients"
	TCPREMOTEIP=127.0.0.1 send a@b.test someone@elsewhere.example
	run_deliver
	grep -q 'to=<someone@elsewhere.example> relay=127.0.0.1\[127.0.0.1\]:'"$SPORT"' tls=none .* status=sent' "$TESTDIR/deliver.log"
	queue_is_empty
}

@test "remote 451: deferred, kept, then delivered on a later run" {
	start_fake 'rcpt:x@remote.test=451 4.7.1 try again later'
	send a@b.test x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> .* status=deferred (127.0.0.1\[127.0.0.1\]:[0-9]* said: 451 4.7.1 try again later (in reply to RCPT TO))' "$TESTDIR/deliver.log"
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
	grep -q '^next ' "$QUEUE"/state/*
	# not due yet: a plain run leaves it alone
	run_deliver
	[ "$(grep -c 'status=deferred' "$TESTDIR/deliver.log")" -eq 1 ]
	kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
	sed -i '/remote.test/d' "$CONF/routes"
	start_fake
	run_deliver -f
	grep -q 'to=<x@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	[ "$(ls "$TESTDIR/fake"/*.eml | wc -l)" -eq 1 ]
	queue_is_empty
}

@test "delaywarning: one delayed notice once a message has waited that long, never twice" {
	start_fake 'rcpt:x@remote.test=451 4.7.1 try again later'
	conf 'delaywarning 1'
	send alice@example.org x@remote.test
	run_deliver
	local arrival
	arrival=$(sed -n 's/^arrival //p' "$QUEUE"/state/*)
	# the first attempt came before a second had passed: no notice yet
	[ -z "$(maildir_files alice)" ] || [ "$(date +%s)" -gt "$arrival" ]
	until [ "$(date +%s)" -gt "$arrival" ]; do sleep 0.1; done
	run_deliver -f
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	f=$(maildir_files alice)
	grep -q '^Subject: Delayed Mail (still being retried)$' "$f"
	grep -q '^Return-Path: <>$' "$f"
	grep -q '^Final-Recipient: rfc822; x@remote.test$' "$f"
	grep -q '^Action: delayed$' "$f"
	grep -q '^Status: 4.7.1$' "$f"
	grep -q '^Will-Retry-Until: ' "$f"
	grep -q '^Diagnostic-Code: smtp; 451 4.7.1 try again later$' "$f"
	grep -q '^warned [0-9]' "$QUEUE"/state/*
	# still deferred, still retried, not warned again
	run_deliver -f
	run_deliver -f
	[ "$(grep -c 'delay notice id=' "$TESTDIR/deliver.log")" -eq 1 ]
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
}

@test "remote 550: a bounce with the right DSN fields reaches the sender's Maildir" {
	start_fake 'rcpt:x@remote.test=550 5.1.1 <x@remote.test>: no such user'
	send alice@example.org x@remote.test y@remote.test
	run_deliver
	run_deliver
	grep -q 'to=<x@remote.test> .* status=bounced' "$TESTDIR/deliver.log"
	grep -q 'to=<y@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	f=$(maildir_files alice)
	grep -q '^Return-Path: <>$' "$f"
	grep -q '^From: Mail Delivery System <MAILER-DAEMON@mx.test>$' "$f"
	grep -q '^Content-Type: multipart/report; report-type=delivery-status;$' "$f"
	grep -q '^Content-Type: message/delivery-status$' "$f"
	grep -q '^Reporting-MTA: dns; mx.test$' "$f"
	grep -q '^Final-Recipient: rfc822; x@remote.test$' "$f"
	grep -q '^Action: failed$' "$f"
	grep -q '^Status: 5.1.1$' "$f"
	grep -q '^Diagnostic-Code: smtp; 550 5.1.1 <x@remote.test>: no such user$' "$f"
	grep -q '^Content-Type: text/rfc822-headers$' "$f"
	grep -q '^Subject: test 1$' "$f"
	! grep -q 'y@remote.test' "$f" || false
	queue_is_empty
}

@test "a server that refuses EHLO gets HELO, and the message" {
	start_fake 'ehlo=502 5.5.2 EHLO not implemented'
	send a@b.test x@remote.test
	run_deliver
	grep -q '^C: EHLO ' "$TESTDIR/fake/transcript"
	grep -q '^C: HELO ' "$TESTDIR/fake/transcript"
	grep -q 'to=<x@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	[ "$(ls "$TESTDIR/fake"/*.eml | wc -l)" -eq 1 ]
	queue_is_empty
}

@test "retries back off: 5 minutes after the first attempt, 10 after the second, 20 after the third" {
	echo "remote.test 127.0.0.1:$(free_port)" >"$CONF/routes"
	send a@b.test x@remote.test
	local wait expected=300
	for wait in 1 2 3; do
		local before after next
		before=$(date +%s)
		run_deliver -f
		after=$(date +%s)
		next=$(sed -n 's/^next //p' "$QUEUE"/state/*)
		grep -qx "attempts $wait" "$QUEUE"/state/*
		# the attempt was made between before and after
		[ "$next" -ge "$((before + expected))" ]
		[ "$next" -le "$((after + expected))" ]
		expected=$((expected * 2))
	done
}

@test "a message that already carries Delivered-To: for the recipient is a loop: bounced 5.4.6, not delivered" {
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nDATA\nDelivered-To: alice@example.org\nSubject: looped\n\nbody\n.\nQUIT\n' >/dev/null
	run_deliver
	[ -z "$(maildir_files alice)" ]
	grep -q 'to=<alice@example.org> .* status=bounced (5.4.6 mail loop: already delivered to alice@example.org)' "$TESTDIR/deliver.log"
}

@test "a host that is down: deferred, nothing lost" {
	echo "remote.test 127.0.0.1:$(free_port)" >"$CONF/routes"
	send a@b.test x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> relay=none .* status=deferred (4.4.1 connect to 127.0.0.1\[127.0.0.1\]:[0-9]*: Connection refused)' "$TESTDIR/deliver.log"
	[ "$(ls "$QUEUE/mess" | wc -l)" -eq 1 ]	# admitted: moved from todo/
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
}

@test "queuelifetime: past it, a deferred recipient is bounced (4.4.7)" {
	conf queuelifetime 3600
	echo "remote.test 127.0.0.1:$(free_port)" >"$CONF/routes"
	send alice@example.org x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> .* status=deferred' "$TESTDIR/deliver.log"
	# made two hours old: past its lifetime at the next attempt
	sed -i "s/^arrival .*/arrival $(( $(date +%s) - 7200 ))/" "$QUEUE"/state/*
	run_deliver -f
	run_deliver
	grep -q 'to=<x@remote.test> .* status=bounced (4.4.7 message expired' "$TESTDIR/deliver.log"
	f=$(maildir_files alice)
	grep -q '^Status: 4.4.7$' "$f"
	grep -q '^Action: failed$' "$f"
	queue_is_empty
}

@test "a failed message from the null sender goes to postmaster once, never back to <>" {
	start_fake 'rcpt:x@remote.test=550 5.1.1 no such user'
	send '' x@remote.test
	run_deliver
	run_deliver
	run_deliver
	[ "$(maildir_files postmaster mx.test | wc -l)" -eq 1 ]
	f=$(maildir_files postmaster mx.test)
	grep -q '^Return-Path: <>$' "$f"
	grep -q '^Final-Recipient: rfc822; x@remote.test$' "$f"
	# the scripted server saw the first attempt, and never a RCPT TO:<>
	grep -q '^C: RCPT TO:<x@remote.test>' "$TESTDIR/fake/transcript"
	! grep -q '^C: RCPT TO:<>' "$TESTDIR/fake/transcript" || false
	queue_is_empty
	# and when postmaster cannot take it either, it is only logged
	sed -i '/postmaster/d' "$CONF/users"
	send '' x@remote.test
	run_deliver; run_deliver; run_deliver
	grep -q 'double bounce failed too; discarded' "$TESTDIR/deliver.log"
	[ "$(maildir_files postmaster mx.test | wc -l)" -eq 1 ]
	queue_is_empty
}

@test "deliver -f while deliver -d runs: the daemon is asked to retry everything now" {
	start_fake 'rcpt:x@remote.test=451 4.7.1 later'
	send a@b.test x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> .* status=deferred' "$TESTDIR/deliver.log"
	kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
	sed -i '/remote.test/d' "$CONF/routes"
	start_fake
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	wait_listening "$DAEMON_PID"
	# not due for five minutes: only the request makes it go now
	run "$DELIVER" -f -C "$CONF" -Q "$QUEUE"
	[ "$status" -eq 0 ]
	[ "$output" = "deliver: the running deliver -d was asked to retry every message now" ]
	for i in $(seq 600); do
		[ -e "$TESTDIR/fake/1.eml" ] && break
		sleep 0.1
	done
	[ -e "$TESTDIR/fake/1.eml" ]
	grep -q 'asked to retry every message now' "$TESTDIR/deliver.log"
	kill "$DAEMON_PID"; wait "$DAEMON_PID"	# SIGTERM ends it in order: status 0
	DAEMON_PID=
}

@test "one deliver at a time: a second one on the same queue refuses" {
	exec 8>"$QUEUE/lock"
	flock -n 8
	run "$DELIVER" -C "$CONF" -Q "$QUEUE"
	exec 8>&-
	[ "$status" -ne 0 ]
	[[ "$output" == *"another deliver is running"* ]]
}

@test "deliver -d wakes on the trigger FIFO" {
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	wait_listening "$DAEMON_PID"
	send a@b.test alice@example.org
	for i in $(seq 50); do
		[ "$(maildir_files alice | wc -l)" -eq 1 ] && break
		sleep 0.1
	done
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	kill "$DAEMON_PID"
	wait "$DAEMON_PID"	# SIGTERM ends it in order: status 0
	DAEMON_PID=
}

@test "kill -9 of deliver mid-run, then a rerun: no recipient lost" {
	local i n=600
	python3 -c "
import sys
sys.stdout.write('HELO c\n' + ''.join('MAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nRCPT TO:<bob@example.org>\nDATA\nSubject: test %d\n\n' % i + 'x' * 4000 + '\n.\n' for i in range(1, $n + 1)) + 'QUIT\n')" |
	    "$SMTPD" -C "$CONF" -Q "$QUEUE" 2>/dev/null | grep -c '^250 2.0.0 Ok: queued' | grep -qx "$n"
	"$DELIVER" -C "$CONF" -Q "$QUEUE" 2>/dev/null &
	local pid=$!
	# kill once deliveries are under way (the first Maildir file), not
	# after a fixed time that a slow machine spends starting up
	for i in $(seq 600); do
		[ -n "$(maildir_files alice)" ] && break
		sleep 0.05
	done
	pkill -9 -f "^$DELIVER -C $CONF" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# the kill landed mid-run: some messages were still queued
	[ -n "$(find "$QUEUE/todo" "$QUEUE/state" -type f)" ]
	[ "$(maildir_files alice | wc -l)" -lt "$n" ]
	run_deliver -f
	run_deliver -f
	for u in alice bob; do
		maildir_files $u | xargs grep -h '^Subject: test ' | sort -u >"$TESTDIR/$u.subjects"
		[ "$(wc -l <"$TESTDIR/$u.subjects")" -eq "$n" ] || { echo "$u lost mail"; false; }
	done
	queue_is_empty
}

@test "orphans: a mess/ file without envelope or state is removed after a day" {
	echo x >"$QUEUE/mess/orphan" 2>/dev/null || { mkdir -p "$QUEUE/mess"; echo x >"$QUEUE/mess/orphan"; }
	echo y >"$QUEUE/mess/young"
	touch -d '2 days ago' "$QUEUE/mess/orphan"
	run_deliver
	[ ! -e "$QUEUE/mess/orphan" ]
	[ -e "$QUEUE/mess/young" ]
}

@test "deliver -d removes day-old orphans while it runs, not only when it stops" {
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	wait_listening "$DAEMON_PID"
	mkdir -p "$QUEUE/mess"
	echo x >"$QUEUE/mess/orphan"
	touch -d '2 days ago' "$QUEUE/mess/orphan"
	send a@b.test alice@example.org		# its trigger wakes the daemon
	for i in $(seq 600); do
		[ ! -e "$QUEUE/mess/orphan" ] && break
		sleep 0.1
	done
	[ ! -e "$QUEUE/mess/orphan" ]
	kill -0 "$DAEMON_PID"
	kill "$DAEMON_PID"; wait "$DAEMON_PID"	# SIGTERM ends it in order: status 0
	DAEMON_PID=
}

@test "MX: preference order with fallback, the domain itself without MX, NXDOMAIN and null MX" {
	needs_dns_namespace
	start_fake_dns \
	    MX:mx.example:10:mx1.mx.example MX:mx.example:20:mx2.mx.example \
	    A:mx1.mx.example:127.0.0.4 A:mx2.mx.example:127.0.0.3 \
	    A:nomx.example:127.0.0.3 MX:nullmx.example:0:.
	start_fake_at 127.0.0.3 "$TESTDIR/fake"
	printf 'Falice@example.org\0Tx@mx.example\0Ty@nomx.example\0Tz@gone.example\0Tw@nullmx.example\0\0' >"$TESTDIR/env"
	printf 'Subject: mx\n\nhi\n' | "$ENQUEUE" -C "$CONF" -Q "$QUEUE" 1<"$TESTDIR/env"
	deliver_dns
	run_deliver
	grep -q 'to=<x@mx.example> relay=mx2.mx.example\[127.0.0.3\]:25 .* status=sent' "$TESTDIR/deliver.log"
	grep -q 'to=<y@nomx.example> relay=nomx.example\[127.0.0.3\]:25 .* status=sent' "$TESTDIR/deliver.log"
	grep -q 'to=<z@gone.example> .* status=bounced (5.1.2 domain not found)' "$TESTDIR/deliver.log"
	grep -q 'to=<w@nullmx.example> .* status=bounced (5.1.10 domain accepts no mail (null MX))' "$TESTDIR/deliver.log"
	grep -q '^Status: 5.1.2$' "$(maildir_files alice)"
	grep -q '^Status: 5.1.10$' "$(maildir_files alice)"
	[ "$(ls "$TESTDIR"/fake/*.eml | wc -l)" -eq 2 ]
}

@test "MX: an answer of tens of kilobytes (over TCP) is read whole, the best host kept" {
	needs_dns_namespace
	# 400 MX records at preference 20 first, the one real host (10) last
	start_fake_dns MANYMX:big.example:400:20 MX:big.example:10:mx.big.example \
	    A:mx.big.example:127.0.0.3
	start_fake_at 127.0.0.3 "$TESTDIR/fake"
	printf 'Fa@b.test\0Tx@big.example\0\0' >"$TESTDIR/env"
	printf 'Subject: big\n\nhi\n' | "$ENQUEUE" -C "$CONF" -Q "$QUEUE" 1<"$TESTDIR/env"
	run deliver_dns
	[ "$status" -eq 0 ]
	grep -q 'to=<x@big.example> relay=mx.big.example\[127.0.0.3\]:25 .* status=sent' "$TESTDIR/deliver.log"
	queue_is_empty
}

@test "MX: hosts of equal preference are tried in a random order (RFC 5321 5.1)" {
	needs_dns_namespace
	start_fake_dns MX:eq.example:10:a.eq.example MX:eq.example:10:b.eq.example \
	    A:a.eq.example:127.0.0.3 A:b.eq.example:127.0.0.5
	start_fake_at 127.0.0.3 "$TESTDIR/fake-a"
	start_fake_at 127.0.0.5 "$TESTDIR/fake-b"
	printf 'Fa@b.test\0Tx@eq.example\0\0' >"$TESTDIR/env"
	for i in $(seq 16); do
		printf 'Subject: eq %s\n\nhi\n' "$i" | "$ENQUEUE" -C "$CONF" -Q "$QUEUE" 1<"$TESTDIR/env"
	done
	deliver_dns
	# all 16 sent, and each host took some: the chance that a fair
	# random order sends all 16 to one host is 1 in 32768
	[ "$(grep -c 'status=sent' "$TESTDIR/deliver.log")" -eq 16 ]
	[ "$(ls "$TESTDIR"/fake-a/*.eml | wc -l)" -ge 1 ]
	[ "$(ls "$TESTDIR"/fake-b/*.eml | wc -l)" -ge 1 ]
}

@test "deliver -d retries a deferred message when it falls due, without a trigger" {
	start_fake 'rcpt:x@remote.test=451 4.7.1 later'
	send a@b.test x@remote.test
	run_deliver
	# make it due in two seconds, as if five minutes had passed
	sed -i "s/^next .*/next $(( $(date +%s) + 2 ))/" "$QUEUE"/state/*
	kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
	sed -i '/remote.test/d' "$CONF/routes"
	start_fake
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	for i in $(seq 60); do
		[ -e "$TESTDIR/fake/1.eml" ] && break
		sleep 0.1
	done
	[ -e "$TESTDIR/fake/1.eml" ]
	kill "$DAEMON_PID"; wait "$DAEMON_PID"	# SIGTERM ends it in order: status 0
	DAEMON_PID=
}

# one_file_entry ID MESSAGE ENVELOPE [CUT]: a one-file queue entry in
# todo/ as queue(5) gives it (message, envelope, trailer), made by hand;
# CUT octets removed from its end, as a file cut short would be.
one_file_entry() {
	mkdir -p "$QUEUE/todo"
	python3 "$TOP/tests/qentry.py" build "$QUEUE/todo/$1" "$2" "$3" "${4:-0}"
}

@test "a one-file queue entry (message, envelope, trailer) is delivered; one cut short or torn never is" {
	one_file_entry 1.A $'Subject: one file\n\nbody of one\n' 'Fa@b.test|Talice@example.org|Tbob@example.org||'
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	f=$(maildir_files alice)
	# exactly the message: nothing of the envelope or the trailer
	[ "$(tail -n 2 "$f")" = $'\nbody of one' ] || { cat -A "$f"; false; }
	! grep -q 'PQE1' "$f" || false
	queue_is_empty
	# a trailer that does not account for every octet: garbage, removed
	one_file_entry 2.A $'Subject: cut\n\nbody\n' 'Fa@b.test|Talice@example.org||' 5
	one_file_entry 3.A $'Subject: cut\n\nbody\n' 'Fa@b.test|Talice@example.org||' 45
	# torn: every length right, but a block of it never reached the
	# disk (zeros where "cut" was): the CRC-32 tells
	one_file_entry 6.A $'Subject: cut\n\nbody\n' 'Fa@b.test|Talice@example.org||'
	printf '\0\0\0' | dd of="$QUEUE/todo/6.A" bs=1 seek=9 conv=notrunc status=none
	# octets the trailer does not account for, its CRC-32 right for the
	# shorter part it names: never delivered as that shorter message
	python3 - "$QUEUE/todo/7.A" <<'PY'
import sys, zlib
msg, env = b"Subject: cut\n\nbody\n", b"Fa@b.test\0Talice@example.org\0\0"
open(sys.argv[1], "wb").write(msg + env + b"extra" + b"PQE1 %016x %016x %08x\n" % (len(msg), len(env), zlib.crc32(msg + env)))
PY
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	grep -q 'id=2.A incomplete queue entry; removed' "$TESTDIR/deliver.log"
	grep -q 'id=3.A incomplete queue entry; removed' "$TESTDIR/deliver.log"
	grep -q 'id=6.A incomplete queue entry; removed' "$TESTDIR/deliver.log"
	grep -q 'id=7.A incomplete queue entry; removed' "$TESTDIR/deliver.log"
	queue_is_empty
}

@test "a PQE2 entry (a message in pieces, as a content filter leaves it) is delivered put together; a map that points outside is never delivered" {
	mkdir -p "$QUEUE/todo"
	# DATA holds the body first, then a header written after it: the
	# map puts the header in front
	python3 "$TOP/tests/qentry.py" build2 "$QUEUE/todo/8.A" \
	    $'body line\nSubject: pieces\nX-Added: yes\n\n' \
	    'Fa@b.test|Talice@example.org||' 10:30 0:10
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	f=$(maildir_files alice)
	[ "$(sed 1,2d "$f")" = $'Subject: pieces\nX-Added: yes\n\nbody line' ] || { cat -A "$f"; false; }
	! grep -q 'PQE2\|0000000000' "$f" || false
	queue_is_empty
	# a piece that reaches into the map: garbage, removed
	python3 "$TOP/tests/qentry.py" build2 "$QUEUE/todo/9.A" \
	    $'Subject: bad\n\nx\n' 'Fa@b.test|Talice@example.org||' 0:30
	# a map whose length is not a whole number of records
	python3 - "$QUEUE/todo/10.A" "$TOP/tests" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
import qentry
open(sys.argv[1], "wb").write(qentry.build2(b"Subject: x\n\ny\n", [(0, 15)],
    b"Fa@b.test\0Talice@example.org\0\0", extra=b"junk"))
PY
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	grep -q 'id=9.A incomplete queue entry; removed' "$TESTDIR/deliver.log"
	grep -q 'id=10.A incomplete queue entry; removed' "$TESTDIR/deliver.log"
	queue_is_empty
}

@test "a one-file entry admitted before a crash (state written, not yet moved) is moved, not lost" {
	one_file_entry 4.A $'Subject: crash\n\nx\n' 'Fa@b.test|Talice@example.org||'
	# admit it, then put the entry back in todo/ as if the rename was lost
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	one_file_entry 5.A $'Subject: crash two\n\ny\n' 'Fa@b.test|Talice@example.org||'
	printf 'postern-state 1\narrival %s\nnext 0\nattempts 0\nsender a@b.test\nP alice@example.org\t\n' "$(date +%s)" >"$QUEUE/state/5.A"
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 2 ]
	grep -l '^Subject: crash two' $(maildir_files alice)
	queue_is_empty
}

@test "upgrade: entries of the two-file format (mess/ID + todo/ID), new or already admitted, are delivered whole" {
	mkdir -p "$QUEUE/mess" "$QUEUE/todo" "$QUEUE/state"
	# queued by an older smtpd, not yet admitted
	printf 'Subject: old new\n\nfrom before the upgrade\n' >"$QUEUE/mess/10.A"
	printf 'Fa@b.test\0Talice@example.org\0\0' >"$QUEUE/todo/10.A"
	# admitted and deferred by an older deliver
	printf 'Subject: old deferred\n\nalso from before\n' >"$QUEUE/mess/11.A"
	printf 'postern-state 1\narrival %s\nnext 0\nattempts 1\nsender a@b.test\nP bob@example.org\t4.4.1 earlier\n' "$(date +%s)" >"$QUEUE/state/11.A"
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	[ "$(tail -n 1 "$(maildir_files alice)")" = "from before the upgrade" ]
	[ "$(tail -n 1 "$(maildir_files bob)")" = "also from before" ]
	queue_is_empty
}
