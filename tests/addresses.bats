#!/usr/bin/env bats
# Addresses as administrators expect them: subaddressing
# (recipientdelimiter), catch-all and domain aliases in aliases; each
# through smtpd (what RCPT says) and deliver (where the mail goes).

load helper
load deliver_helper

# rcpt ADDRESS...: smtpd's replies to RCPT for each, in $output.
rcpt() {
	local cmds='HELO c\nMAIL FROM:<a@b.test>\n' r
	for r in "$@"; do cmds="${cmds}RCPT TO:<$r>\n"; done
	run smtp_pipe "${cmds}QUIT\n"
	echo "$output"
}

@test "recipientdelimiter +: user+tag is accepted when user is, delivered to user, Delivered-To the full address" {
	conf 'recipientdelimiter +'
	rcpt alice+news@example.org bob+x@example.org nobody+x@example.org +alice@example.org
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "${lines[5]}" = "550 5.1.1 Error: user unknown" ]
	# a delimiter first is no subaddress
	[ "${lines[6]}" = "550 5.1.1 Error: user unknown" ]
	send a@b.test alice+news@example.org
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	f=$(maildir_files alice)
	[ "$(sed -n 2p "$f")" = "Delivered-To: alice+news@example.org" ]
	grep -q 'to=<alice+news@example.org> relay=local .*status=sent' "$TESTDIR/deliver.log"
}

@test "recipientdelimiter: into the Maildir++ folder .tag when it exists; several delimiters" {
	conf 'recipientdelimiter +-'
	mkdir -p "$MAIL/example.org/alice/.lists/cur" "$MAIL/example.org/alice/.lists/new" \
	    "$MAIL/example.org/alice/.lists/tmp"
	send a@b.test alice+lists@example.org
	send a@b.test alice-lists@example.org
	send a@b.test alice+other@example.org
	send a@b.test alice+.lists@example.org
	run_deliver
	[ "$(find "$MAIL/example.org/alice/.lists/new" -type f | wc -l)" -eq 2 ]
	# no folder .other, and a tag that is no plain name: the Maildir
	[ "$(find "$MAIL/example.org/alice/new" -type f | wc -l)" -eq 2 ]
}

@test "without recipientdelimiter, user+tag is an address of its own" {
	rcpt alice+news@example.org
	[ "${lines[3]}" = "550 5.1.1 Error: user unknown" ]
}

@test "without users or aliases, user+tag goes to user's default Maildir" {
	rm -f "$CONF/users"
	conf 'recipientdelimiter +'
	send a@b.test carol+x@example.org
	run_deliver
	[ "$(find "$MAIL/example.org/carol/new" -type f | wc -l)" -eq 1 ]
	[ ! -e "$MAIL/example.org/carol+x" ]
}

@test "catch-all: @domain in aliases takes every local part, after the exact entries" {
	printf '@example.org: alice@example.org\nteam@example.org: bob@example.org\n' >"$CONF/aliases"
	rcpt anything@example.org bob@example.org team@example.org
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	send a@b.test anything@example.org bob@example.org team@example.org
	run_deliver
	# anything: the catch-all; bob: his own; team: the list (bob)
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	queue_is_empty
}

@test "domain alias: @old: @new maps every local part; unknown ones bounce at delivery" {
	echo old.example >>"$CONF/domains"
	printf '@old.example: @example.org\n' >"$CONF/aliases"
	rcpt alice@old.example ghost@old.example
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	send bob@example.org alice@old.example ghost@old.example
	run_deliver
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	grep -q 'to=<ghost@example.org> .*status=bounced (5.1.1 user unknown)' "$TESTDIR/deliver.log"
	grep -q '^Final-Recipient: rfc822; ghost@example.org$' "$(maildir_files bob)"
}

@test "bad catch-all lines are reported and ignored" {
	printf 'x@example.org: @example.net\n@not a domain: x@example.org\n@example.org: @bad..domain\n' >"$CONF/aliases"
	run "$TOP/postern-makedb" -C "$CONF" -c
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"file=aliases line=1: a target @domain is for an @domain alias only; line ignored"* ]]
	[[ "$output" == *"file=aliases line=2: not a domain; line ignored"* ]]
	[[ "$output" == *"file=aliases line=3: a target @domain is not a domain; line ignored"* ]]
}
