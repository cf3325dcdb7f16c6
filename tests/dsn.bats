#!/usr/bin/env bats
# DSN (RFC 3461): smtpd offers DSN and keeps RET, ENVID, NOTIFY and
# ORCPT in the envelope; deliver honours them (which notices go, how
# much of the message returns, success reports: delivered, relayed,
# expanded) and passes them on to a next hop that offers DSN.  The
# client is Python's smtplib (Debian 12's swaks has no DSN options); the
# next hop is Postfix's smtp-sink, whose dump files show the parameters
# it was given.

load helper
load deliver_helper

# dsn_send FROM MAIL_OPTIONS RCPT=RCPT_OPTIONS...: one message with
# smtplib, to smtpd on a socket, options space-separated.
dsn_send() {
	[ -n "$PORT" ] || start_socket_server
	python3 - "$PORT" "$@" <<'PY'
import smtplib, sys
port, sender, mail_opts = int(sys.argv[1]), sys.argv[2], sys.argv[3].split()
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo("client.test")
assert s.has_extn("dsn"), s.esmtp_features
s.mail(sender, mail_opts)
for spec in sys.argv[4:]:
    rcpt, _, opts = spec.partition("=")
    code, text = s.rcpt(rcpt, opts.split())
    assert code == 250, (rcpt, code, text)
code, text = s.data(b"Subject: dsn test\r\nMessage-ID: <dsn@client.test>\r\n\r\nthe body line\r\n")
assert code == 250, (code, text)
s.quit()
PY
}

# start_sink OPTION...: smtp-sink as the smarthost of every remote domain.
start_sink() {
	command -v smtp-sink >/dev/null || skip "smtp-sink (package postfix) is not installed"
	SINK=$TESTDIR/sink
	mkdir -p "$SINK"
	chmod 777 "$SINK"
	SPORT=$(free_port)
	smtp-sink -u "$(id -un)" -d "$SINK/%M." "$@" "127.0.0.1:$SPORT" 10 \
	    2>>"$TESTDIR/sink.log" &
	REMOTE_PID=$!
	wait_port 127.0.0.1 "$SPORT"
	echo "* [127.0.0.1]:$SPORT tls=none" >"$CONF/routes"
}

report_of() {	# report_of USER: the one notice in USER@example.org's Maildir
	[ "$(maildir_files "$1" | wc -l)" -eq 1 ]
	cat "$(maildir_files "$1")"
}

@test "smtpd: DSN in EHLO; RET, ENVID, NOTIFY and ORCPT checked, bad ones refused with 501, kept in the envelope" {
	run smtp_pipe 'EHLO c\nMAIL FROM:<a@b.test> RET=FULL RET=HDRS\nMAIL FROM:<a@b.test> RET=ALL\nMAIL FROM:<a@b.test> ENVID=a=b\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org> NOTIFY=NEVER,SUCCESS\nRCPT TO:<alice@example.org> NOTIFY=SUCCESS,SUCCESS\nRCPT TO:<alice@example.org> NOTIFY=\nRCPT TO:<alice@example.org> FOO=BAR\nQUIT\n'
	echo "$output"
	[[ "$output" == *$'\n250-DSN\n'* ]]
	[ "$(grep -c '^501 5.5.4 Error: bad or repeated DSN parameter$' <<<"$output")" -eq 6 ]
	grep -q '^555 5.5.4 Error: unsupported parameter$' <<<"$output"
	run smtp_pipe 'EHLO c\nMAIL FROM:<a@b.test> RET=hdrs ENVID=QQ+2B314\nRCPT TO:<alice@example.org> ORCPT=alice@example.org\nRCPT TO:<alice@example.org> ORCPT=rfc822;a+4\nRCPT TO:<alice@example.org> NOTIFY=SUCCESS NOTIFY=FAILURE\nRCPT TO:<alice@example.org> notify=success,delay orcpt=rfc822;Alice+40example.org\nRCPT TO:<bob@example.org>\nDATA\nSubject: x\n\nbody\n.\nQUIT\n'
	echo "$output"
	[ "$(grep -c '^501 5.5.4 Error: bad or repeated DSN parameter$' <<<"$output")" -eq 3 ]
	grep -q '^250 2.0.0 Ok: queued' <<<"$output"
	# the envelope: qmail-queue's, with a P item after the sender and
	# after the recipient that asked; none after the one that did not
	entry envelope "$QUEUE"/todo/* | tr '\0' '|' >"$TESTDIR/env.txt"
	cat "$TESTDIR/env.txt"
	[ "$(cat "$TESTDIR/env.txt")" = 'Fa@b.test|PRET=HDRS ENVID=QQ+2B314|Talice@example.org|PNOTIFY=SUCCESS,DELAY ORCPT=rfc822;Alice+40example.org|Tbob@example.org||' ]
	# postern-queue reads such an envelope: the sender, both recipients
	run "$TOP/postern-queue" -C "$CONF" -Q "$QUEUE" -j list
	echo "$output"
	[[ "$output" == *'"sender":"a@b.test","recipients":[{"address":"alice@example.org","status":"new","reason":""},{"address":"bob@example.org","status":"new"'* ]]
}

@test "smtpd: DSN parameters need EHLO; after HELO they are refused" {
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test> RET=HDRS\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org> NOTIFY=NEVER\nQUIT\n'
	echo "$output"
	[ "$(grep -c '^555 5.5.4 Error: parameters need EHLO$' <<<"$output")" -eq 2 ]
}

@test "NOTIFY=SUCCESS to a Maildir: a 'delivered' report with ENVID and ORCPT decoded, the header only; none for the others" {
	dsn_send alice@example.org 'RET=FULL ENVID=QQ+2B314' \
	    'bob@example.org=NOTIFY=SUCCESS ORCPT=rfc822;Bob+40Example.org' \
	    'postmaster@mx.test='
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'success notice id=.* to=<alice@example.org> nrcpt=1' "$TESTDIR/deliver.log"
	run_deliver
	run report_of alice
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^Subject: Successful Mail Delivery Report$' <<<"$output"
	grep -q '^Return-Path: <>$' <<<"$output"
	grep -q '^Original-Envelope-Id: QQ+314$' <<<"$output"
	grep -q '^Original-Recipient: rfc822;Bob@Example.org$' <<<"$output"
	grep -q '^Final-Recipient: rfc822; bob@example.org$' <<<"$output"
	grep -q '^Action: delivered$' <<<"$output"
	grep -q '^Status: 2.0.0$' <<<"$output"
	grep -q '^Content-Type: text/rfc822-headers$' <<<"$output"
	grep -q '^Subject: dsn test$' <<<"$output"
	# a success report returns the header only, even with RET=FULL
	! grep -q 'the body line' <<<"$output" || false
	! grep -q 'postmaster@mx.test' <<<"$output" || false
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	queue_is_empty
}

@test "NOTIFY=NEVER: a failed recipient is not reported; FAILURE with RET=FULL returns the whole message, RET=HDRS the header" {
	start_fake 'rcpt:x@remote.test=550 5.1.1 no such user' 'rcpt:y@remote.test=550 5.1.1 no such user'
	dsn_send alice@example.org 'RET=FULL' 'x@remote.test=NOTIFY=NEVER' 'y@remote.test=NOTIFY=FAILURE'
	run_deliver
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<x@remote.test> no failure notice: NOTIFY without FAILURE' "$TESTDIR/deliver.log"
	run report_of alice
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^Final-Recipient: rfc822; y@remote.test$' <<<"$output"
	# (x is named only in the returned message's Received line)
	! grep -q '^Final-Recipient: rfc822; x@remote.test\|^<x@remote.test>' <<<"$output" || false
	grep -q '^Content-Type: message/rfc822$' <<<"$output"
	grep -q '^the body line$' <<<"$output"
	queue_is_empty
	# RET=HDRS: the header only
	rm -f "$(maildir_files alice)"
	dsn_send alice@example.org 'RET=HDRS' 'y@remote.test=NOTIFY=FAILURE'
	run_deliver
	run_deliver
	run report_of alice
	[ "$status" -eq 0 ]
	grep -q '^Content-Type: text/rfc822-headers$' <<<"$output"
	grep -q '^Subject: dsn test$' <<<"$output"
	! grep -q 'the body line' <<<"$output" || false
	# NOTIFY=NEVER for every recipient: nothing at all
	rm -f "$(maildir_files alice)"
	dsn_send alice@example.org '' 'x@remote.test=NOTIFY=NEVER'
	run_deliver
	run_deliver
	[ -z "$(maildir_files alice)" ]
	queue_is_empty
}

@test "delaywarning honours NOTIFY: DELAY gets the delayed notice, FAILURE alone does not" {
	start_fake 'rcpt:x@remote.test=451 4.7.1 try again later' 'rcpt:y@remote.test=451 4.7.1 try again later'
	conf 'delaywarning 1'
	dsn_send alice@example.org '' 'x@remote.test=NOTIFY=DELAY' 'y@remote.test=NOTIFY=FAILURE'
	run_deliver
	local arrival
	arrival=$(sed -n 's/^arrival //p' "$QUEUE"/state/*)
	until [ "$(date +%s)" -gt "$arrival" ]; do sleep 0.1; done
	run_deliver -f
	run_deliver
	run report_of alice
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^Action: delayed$' <<<"$output"
	grep -q '^Final-Recipient: rfc822; x@remote.test$' <<<"$output"
	! grep -q 'y@remote.test' <<<"$output" || false
}

@test "passed on to a next hop with DSN (Postfix's smtp-sink): RET, ENVID, NOTIFY, ORCPT as given, and no report of ours" {
	start_sink
	dsn_send alice@example.org 'RET=HDRS ENVID=QQ+2B314' \
	    'x@remote.test=NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;X+40remote.test' 'y@remote.test='
	run_deliver
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<x@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	cat "$SINK"/*
	grep -q '^X-Mail-Args: <alice@example.org> .*RET=HDRS ENVID=QQ+2B314$' "$SINK"/*
	grep -q '^X-Rcpt-Args: <x@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;X+40remote.test$' "$SINK"/*
	grep -q '^X-Rcpt-Args: <y@remote.test>$' "$SINK"/*
	[ -z "$(maildir_files alice)" ]
	queue_is_empty
}

@test "a next hop without DSN (smtp-sink -N): nothing passed on, and a 'relayed' report for NOTIFY=SUCCESS" {
	start_sink -N
	dsn_send alice@example.org 'RET=HDRS ENVID=E1' 'x@remote.test=NOTIFY=SUCCESS' 'y@remote.test=NOTIFY=FAILURE'
	run_deliver
	run_deliver
	cat "$SINK"/*
	grep -q '^X-Mail-Args: <alice@example.org>' "$SINK"/*
	! grep -q 'RET=\|ENVID=\|NOTIFY=' "$SINK"/* || false
	run report_of alice
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^Action: relayed$' <<<"$output"
	grep -q '^Final-Recipient: rfc822; x@remote.test$' <<<"$output"
	grep -q '^Remote-MTA: dns; 127.0.0.1' <<<"$output"
	grep -q '^Original-Envelope-Id: E1$' <<<"$output"
	! grep -q 'y@remote.test' <<<"$output" || false
}

@test "aliases: one address passes NOTIFY on ('delivered'); several give one 'expanded' report and no SUCCESS to each" {
	printf 'alice@example.org\nbob@example.org\ncarol@example.org\npostmaster@mx.test\n' >"$CONF/users"
	printf 'one@example.org: bob@example.org\nteam@example.org: bob@example.org, carol@example.org\n' >"$CONF/aliases"
	dsn_send alice@example.org '' 'one@example.org=NOTIFY=SUCCESS ORCPT=rfc822;one+40example.org'
	run_deliver
	run report_of alice
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^Action: delivered$' <<<"$output"
	grep -q '^Original-Recipient: rfc822;one@example.org$' <<<"$output"
	grep -q '^Final-Recipient: rfc822; bob@example.org$' <<<"$output"
	rm -f "$(maildir_files alice)"
	dsn_send alice@example.org '' 'team@example.org=NOTIFY=SUCCESS,FAILURE'
	run_deliver
	run report_of alice
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^Action: ' <<<"$output")" -eq 1 ]
	grep -q '^Action: expanded$' <<<"$output"
	grep -q '^Final-Recipient: rfc822; team@example.org$' <<<"$output"
	[ "$(maildir_files carol | wc -l)" -eq 1 ]
	[ "$(maildir_files bob | wc -l)" -eq 2 ]
	queue_is_empty
}
