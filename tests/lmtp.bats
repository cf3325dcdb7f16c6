#!/usr/bin/env bats
# LMTP (RFC 2033): a routes entry "DOMAIN lmtp:unix:/PATH" or
# "lmtp:HOST:PORT" sends that domain's mail to an LMTP server (Dovecot's,
# Cyrus's) instead of Maildirs: LHLO, and after the data a reply for each
# recipient, each one's own outcome.

load helper
load deliver_helper

# start_lmtp WHERE RULE...: the scripted server speaking LMTP.
start_lmtp() {
	local where=$1
	shift
	mkdir -p "$TESTDIR/lmtp"
	python3 "$TOP/tests/fakesmtp.py" "$where" "$TESTDIR/lmtp" lmtp "$@" &
	FAKE_PID=$!
	case $where in
	unix:*) for _ in $(seq 100); do [ -S "${where#unix:}" ] && break; sleep 0.1; done ;;
	*) wait_port 127.0.0.1 "$where" ;;
	esac
}

@test "LMTP over a unix socket: LHLO, then each recipient's own reply: sent, deferred, bounced" {
	printf 'alice@example.org\nbob@example.org\ncarol@example.org\npostmaster@mx.test\n' >"$CONF/users"
	echo "example.org lmtp:unix:$TESTDIR/lmtp.sock" >"$CONF/routes"
	start_lmtp "unix:$TESTDIR/lmtp.sock" 'lmtpdata:bob@example.org=452 4.2.2 Mailbox is full' \
	    'lmtpdata:carol@example.org=552 5.2.2 Quota exceeded for good'
	send postmaster@mx.test alice@example.org bob@example.org carol@example.org
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q '^C: LHLO mx.test$' "$TESTDIR/lmtp/transcript"
	! grep -q '^C: EHLO' "$TESTDIR/lmtp/transcript" || false
	grep -q "to=<alice@example.org> relay=unix:$TESTDIR/lmtp.sock .* status=sent" "$TESTDIR/deliver.log"
	grep -q 'to=<bob@example.org> .* status=deferred (unix:.* said: 452 4.2.2 Mailbox is full (in reply to end of data))' "$TESTDIR/deliver.log"
	grep -q 'to=<carol@example.org> .* status=bounced (unix:.* said: 552 5.2.2 Quota exceeded for good (in reply to end of data))' "$TESTDIR/deliver.log"
	# nothing went to a Maildir of example.org; bob waits, carol's bounce
	# reached the sender
	[ -z "$(find "$MAIL/example.org" -type f 2>/dev/null)" ]
	grep -q '^P bob@example.org' "$QUEUE"/state/*
	run_deliver
	grep -q '^Final-Recipient: rfc822; carol@example.org$' "$(maildir_files postmaster mx.test)"
}

@test "LMTP over TCP; aliases still expand first; a host without LMTP defers" {
	printf 'alice@example.org\n' >"$CONF/users"
	echo 'team@example.org: alice@example.org' >"$CONF/aliases"
	local port
	port=$(free_port)
	echo "example.org lmtp:[127.0.0.1]:$port" >"$CONF/routes"
	start_lmtp "$port"
	send a@b.test team@example.org
	run_deliver
	grep -q "to=<alice@example.org> relay=127.0.0.1\\[127.0.0.1\\]:$port .* status=sent" "$TESTDIR/deliver.log"
	grep -q '^X-Fake-To: alice@example.org' "$TESTDIR"/lmtp/1.eml
	# an SMTP server where LMTP is expected: LHLO refused, deferred
	kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
	python3 "$TOP/tests/fakesmtp.py" "$port" "$TESTDIR/smtp" &
	FAKE_PID=$!
	mkdir -p "$TESTDIR/smtp"
	wait_port 127.0.0.1 "$port"
	send a@b.test alice@example.org
	run_deliver
	grep -q 'to=<alice@example.org> .* status=deferred (4.4.2 .* refused LHLO: ' "$TESTDIR/deliver.log"
}

@test "Postfix's smtp-sink in LMTP mode (-L) on a unix socket takes the message" {
	command -v smtp-sink >/dev/null || skip "smtp-sink (package postfix) is not installed"
	printf 'alice@example.org\nbob@example.org\n' >"$CONF/users"
	mkdir -p "$TESTDIR/sink"
	chmod 777 "$TESTDIR/sink" "$TESTDIR"
	smtp-sink -L -u "$(id -un)" -d "$TESTDIR/sink/%M." "unix:$TESTDIR/sink.sock" 10 2>"$TESTDIR/sink.log" &
	REMOTE_PID=$!
	for _ in $(seq 100); do [ -S "$TESTDIR/sink.sock" ] && break; sleep 0.1; done
	echo "example.org lmtp:unix:$TESTDIR/sink.sock" >"$CONF/routes"
	send a@b.test alice@example.org bob@example.org
	run_deliver
	cat "$TESTDIR/deliver.log"
	[ "$(grep -c 'relay=unix:.* status=sent' "$TESTDIR/deliver.log")" -eq 2 ]
	grep -q '^X-Client-Proto: LMTP' "$TESTDIR"/sink/*
	queue_is_empty
}

@test "routes: lmtp: lines are checked like the others" {
	printf 'example.org lmtp:unix:relative/path\nexample.net lmtp:[bad\n' >"$CONF/routes"
	run "$TOP/postern-makedb" -C "$CONF" -c
	echo "$output"
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | grep -c 'file=routes line=.*bad HOST\[:PORT\]')" -eq 2 ]
}
