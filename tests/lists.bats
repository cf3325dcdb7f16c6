#!/usr/bin/env bats
# Mailing lists: an alias NAME with an "owner-NAME" entry beside it.
# The message is queued anew from the owner to the members, so that
# their bounces go to the owner, not to the poster (sendmail's and
# Postfix's owner- convention; RFC 3461 5.2.7.1).

load helper
load deliver_helper

setup_list() {
	printf 'alice@example.org\nbob@example.org\ncarol@example.org\npostmaster@mx.test\n' >"$CONF/users"
	printf 'list@example.org: bob@example.org, x@remote.test\nowner-list@example.org: carol@example.org\n' >"$CONF/aliases"
}

@test "a list with an owner: the members get a copy from owner-list, a member's bounce goes to the owner, not the poster" {
	setup_list
	start_fake 'rcpt:x@remote.test=550 5.1.1 no such user'
	send alice@example.org list@example.org
	run_deliver
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<list@example.org> relay=list .* status=sent (2.0.0 delivered to list list@example.org: queued as .* from <owner-list@example.org> to 2 members)' "$TESTDIR/deliver.log"
	grep -q 'to=<x@remote.test> .* status=bounced' "$TESTDIR/deliver.log"
	# bob's copy: from the owner, marked as the list's
	f=$(maildir_files bob)
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	sed -n 1,3p "$f"
	[ "$(sed -n 1p "$f")" = 'Return-Path: <owner-list@example.org>' ]
	grep -q '^Delivered-To: list@example.org$' "$f"
	grep -q '^Subject: test 1$' "$f"
	# the bounce reached the owner (carol), and nothing reached alice
	[ -z "$(maildir_files alice)" ]
	c=$(maildir_files carol)
	[ "$(echo "$c" | wc -l)" -eq 1 ]
	grep -q '^Final-Recipient: rfc822; x@remote.test$' "$c"
	grep -q '^To: <owner-list@example.org>$' "$c"
	queue_is_empty
}

@test "without an owner entry an alias of several stays an alias: the bounce goes to the poster" {
	setup_list
	sed -i '/^owner-list/d' "$CONF/aliases"
	start_fake 'rcpt:x@remote.test=550 5.1.1 no such user'
	send alice@example.org list@example.org
	run_deliver
	run_deliver
	! grep -q 'relay=list' "$TESTDIR/deliver.log" || false
	[ "$(sed -n 1p "$(maildir_files bob)")" = 'Return-Path: <alice@example.org>' ]
	grep -q '^Final-Recipient: rfc822; x@remote.test$' "$(maildir_files alice)"
	[ -z "$(maildir_files carol)" ]
}

@test "a list is where delivery ends for the poster: NOTIFY=SUCCESS gets 'delivered' for the list, nothing of the members" {
	setup_list
	start_fake
	start_socket_server
	python3 - "$PORT" <<'PY'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]))
s.sendmail("alice@example.org", ["list@example.org"], b"Subject: to the list\r\n\r\nhi\r\n",
           rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
s.quit()
PY
	run_deliver
	run_deliver
	f=$(maildir_files alice)
	[ "$(echo "$f" | wc -l)" -eq 1 ]
	cat "$f"
	grep -q '^Action: delivered$' "$f"
	grep -q '^Final-Recipient: rfc822; list@example.org$' "$f"
	[ "$(grep -c '^Action: ' "$f")" -eq 1 ]
	# the members' copy asked for nothing: no report of theirs anywhere
	[ -z "$(maildir_files carol)" ]
	grep -q '^X-Fake-To: x@remote.test' "$TESTDIR"/fake/1.eml
	! grep -q 'NOTIFY' "$TESTDIR/fake/transcript" || false
}

@test "a list that names itself: the copy comes back, fails as a loop (5.4.6), reported to the owner once" {
	setup_list
	printf 'list@example.org: bob@example.org, list@example.org\nowner-list@example.org: carol@example.org\n' >"$CONF/aliases"
	send alice@example.org list@example.org
	# (bounded: were the loop not caught, deliver would never run dry)
	for _ in 1 2 3; do timeout 60 "$DELIVER" -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log"; done
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<list@example.org> relay=list .* status=bounced (5.4.6 mailing list loop' "$TESTDIR/deliver.log"
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	c=$(maildir_files carol)
	[ "$(echo "$c" | wc -l)" -eq 1 ]
	grep -q '^Status: 5.4.6$' "$c"
	[ -z "$(maildir_files alice)" ]
	queue_is_empty
}
