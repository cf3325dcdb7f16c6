#!/usr/bin/env bats
# masquerade (Postfix's masquerade_domains): a host's addresses shown
# as its domain's.  postern-sendmail rewrites the envelope sender and
# the sender fields of the header; deliver the envelope sender of all
# mail it sends to other hosts.

load helper
load deliver_helper

SENDMAIL=$TOP/postern-sendmail

sm() {
	run env POSTERN_CONF="$CONF" POSTERN_QUEUE="$QUEUE" "$SENDMAIL" "$@" <"$TESTDIR/in"
}

queued() {
	local f
	f=$(find "$QUEUE/todo" -type f)
	[ "$(echo "$f" | wc -l)" -eq 1 ] && [ -n "$f" ] || return 1
	entry envelope "$f" | tr '\0' '\n' | sed '/^$/d' >"$TESTDIR/env"
	entry message "$f" >"$TESTDIR/msg"
}

@test "postern-sendmail: the envelope sender, From, Sender and Reply-To of a host of a masqueraded domain show the domain" {
	conf 'origin web1.example.org'
	conf 'masquerade example.net example.org'
	printf '%s\n' 'From: "Web One" <www@web1.example.org>' 'Sender: cron@db.internal.example.org (cron)' \
	    'Reply-To: ops@example.org, other@elsewhere.test, x@notexample.org' 'To: a@remote.test' \
	    'Subject: report from www@web1.example.org' '' 'body names root@web1.example.org' >"$TESTDIR/in"
	sm a@remote.test
	[ "$status" -eq 0 ]
	queued
	cat "$TESTDIR/env" "$TESTDIR/msg"
	[ "$(sed -n 1p "$TESTDIR/env")" = "F$(id -un)@example.org" ]
	grep -q '^From: "Web One" <www@example.org>$' "$TESTDIR/msg"
	grep -q '^Sender: cron@example.org (cron)$' "$TESTDIR/msg"
	# the domain itself, other domains, and one that only ends alike stay
	grep -q '^Reply-To: ops@example.org, other@elsewhere.test, x@notexample.org$' "$TESTDIR/msg"
	# only sender fields change: not the subject, not the body
	grep -q '^Subject: report from www@web1.example.org$' "$TESTDIR/msg"
	grep -q '^body names root@web1.example.org$' "$TESTDIR/msg"
}

@test "postern-sendmail: a From it makes is masqueraded; masqueradeexceptions keeps a local part's host" {
	conf 'origin host.example.org'
	conf 'masquerade example.org'
	conf 'masqueradeexceptions root cron'
	printf 'Subject: s\n\nb\n' >"$TESTDIR/in"
	sm -f cron@host.example.org a@remote.test
	[ "$status" -eq 0 ]
	queued
	[ "$(sed -n 1p "$TESTDIR/env")" = "Fcron@host.example.org" ]
	grep -q '^From: .*cron@host.example.org' "$TESTDIR/msg"
	rm -f "$QUEUE"/todo/*
	sed -i '/^masqueradeexceptions/d' "$CONF/smtpd.conf"
	sm -f cron@host.example.org a@remote.test
	[ "$status" -eq 0 ]
	queued
	[ "$(sed -n 1p "$TESTDIR/env")" = "Fcron@example.org" ]
	grep -q '^From: .*cron@example.org' "$TESTDIR/msg"
}

@test "deliver: the envelope sender another host sees is masqueraded; the header is left as it came" {
	start_fake
	conf 'masquerade example.org'
	send alice@mail.example.org x@remote.test
	run_deliver
	grep -q 'to=<x@remote.test> .* status=sent' "$TESTDIR/deliver.log"
	grep -q '^C: MAIL FROM:<alice@example.org>' "$TESTDIR/fake/transcript"
	grep -q '^X-Fake-From: alice@example.org' "$TESTDIR/fake/1.eml"
	# a sender of another domain is sent as it came
	send bob@elsewhere.test x@remote.test
	run_deliver
	grep -q '^C: MAIL FROM:<bob@elsewhere.test>' "$TESTDIR/fake/transcript"
}

@test "masquerade takes domain names only" {
	conf 'masquerade example.org bad..name'
	run smtp_pipe 'QUIT\n'
	cat "$LOG"
	grep -q 'config: file=smtpd.conf line=[0-9]*: bad value; line ignored' "$LOG"
}
