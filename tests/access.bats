#!/usr/bin/env bats
# access.c and route.c: clients, senders, recipients, users, aliases,
# VRFY and EXPN, and the open-relay battery.

load helper

setup() { setup_postern; }
teardown() { teardown_postern; }

MAKEDB=$TOP/postern-makedb

# as_client IP 'session': a pipe session whose client address is IP.
as_client() {
	TCPREMOTEIP=$1 smtp_pipe "$2"
}

rcpt_reply() {	# rcpt_reply [IP] ADDRESS: the reply to one RCPT
	local ip=${2:+$1} addr=${2:-$1}
	TCPREMOTEIP=$ip smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:$addr\n" | sed -n 4p
}

@test "clients: deny gets a 554 5.7.1 greeting, 503 5.5.1 for all but QUIT" {
	echo '192.0.2.0/24 deny' >"$CONF/clients"
	run as_client 192.0.2.9 'EHLO c\nMAIL FROM:<a@b.test>\nFOO\nQUIT\n'
	[ "${lines[0]}" = "554 5.7.1 mx.test Access denied" ]
	[ "${lines[1]}" = "503 5.5.1 Error: access denied" ]
	[ "${lines[2]}" = "503 5.5.1 Error: access denied" ]
	[ "${lines[3]}" = "503 5.5.1 Error: access denied" ]
	[ "${lines[4]}" = "221 2.0.0 mx.test closing connection" ]
	grep -q 'reject: cmd=CONNECT client=192.0.2.9' "$LOG"
	run as_client 192.0.3.9 'QUIT\n'
	[ "${lines[0]}" = "220 mx.test ESMTP" ]
}

@test "clients: the longest prefix wins (10.0.0.0/8 relay, 10.1.0.0/16 deny)" {
	printf '10.0.0.0/8 relay\n10.1.0.0/16 deny\n10.1.2.3 allow\n' >"$CONF/clients"
	[ "$(rcpt_reply 10.9.9.9 '<x@remote.test>')" = "250 2.1.5 Ok" ]
	run as_client 10.1.9.9 'QUIT\n'
	[[ "${lines[0]}" == "554 5.7.1 "* ]]
	[ "$(rcpt_reply 10.1.2.3 '<x@remote.test>')" = "554 5.7.1 Error: relay access denied" ]
	[ "$(rcpt_reply 10.1.2.3 '<u@example.org>')" = "250 2.1.5 Ok" ]
	[ "$(rcpt_reply 11.0.0.1 '<x@remote.test>')" = "554 5.7.1 Error: relay access denied" ]
}

@test "clients: IPv6 rules, and IPv4-mapped clients match IPv4 rules" {
	printf '2001:db8::/32 relay\n2001:db8:bad::/48 deny\n192.0.2.0/24 relay\n::ffff:198.51.100.0/120 deny\n' >"$CONF/clients"
	[ "$(rcpt_reply 2001:db8:1::5 '<x@remote.test>')" = "250 2.1.5 Ok" ]
	run as_client 2001:db8:bad::1 'QUIT\n'
	[[ "${lines[0]}" == "554 5.7.1 "* ]]
	[ "$(rcpt_reply ::ffff:192.0.2.5 '<x@remote.test>')" = "250 2.1.5 Ok" ]
	run as_client 198.51.100.7 'QUIT\n'
	[[ "${lines[0]}" == "554 5.7.1 "* ]]
	[ "$(rcpt_reply 2001:db9::1 '<x@remote.test>')" = "554 5.7.1 Error: relay access denied" ]
}

@test "clients: a default rule 0.0.0.0/0, and no address matches no rule" {
	printf '0.0.0.0/0 deny\n127.0.0.1 allow\n' >"$CONF/clients"
	run as_client 203.0.113.1 'QUIT\n'
	[[ "${lines[0]}" == "554 5.7.1 "* ]]
	run as_client 127.0.0.1 'QUIT\n'
	[ "${lines[0]}" = "220 mx.test ESMTP" ]
	run smtp_pipe 'QUIT\n'
	[ "${lines[0]}" = "220 mx.test ESMTP" ]
}

@test "clients: malformed lines are reported with file and line, and ignored" {
	printf '10.0.0.0/8 relay\n10.0.0.0/33 deny\nnot-an-ip deny\n10.2.0.0/16 maybe\n10.3.0.0/16\n' >"$CONF/clients"
	[ "$(rcpt_reply 10.2.0.1 '<x@remote.test>')" = "250 2.1.5 Ok" ]
	as_client 10.2.0.1 'QUIT\n' >/dev/null
	grep -q 'config: file=clients line=2: bad prefix length; line ignored' "$LOG"
	grep -q 'config: file=clients line=3: not an IPv4 or IPv6 address; line ignored' "$LOG"
	grep -q 'config: file=clients line=4: ACTION must be allow, deny or relay; line ignored' "$LOG"
	grep -q 'config: file=clients line=5: expected ADDRESS\[/PREFIX\] ACTION; line ignored' "$LOG"
}

@test "relay clients are exempt from strictsync" {
	command -v systemd-socket-activate >/dev/null || skip "needs systemd-socket-activate"
	echo '127.0.0.0/8 relay' >"$CONF/clients"
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 4 'MAIL FROM:<a@b.test>\r\nRCPT TO:<x@remote.test>\r\nDATA\r\nx\r\n.\r\n'
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[[ "${lines[12]}" == "250 2.0.0 Ok: queued as "* ]]
}

@test "senders: exact address, @domain, .subdomain; 550 5.7.1 at MAIL" {
	printf 'Spammer@Bad.test\n@junk.test\n.spam.test\n' >"$CONF/senders"
	run smtp_pipe 'HELO c\nMAIL FROM:<spammer@BAD.test>\nMAIL FROM:<x@junk.test>\nMAIL FROM:<x@a.b.spam.test>\nMAIL FROM:<x@sub.junk.test>\nRSET\nMAIL FROM:<x@spam.test>\nRSET\nMAIL FROM:<other@bad.test>\nRSET\nMAIL FROM:<>\n'
	[ "${lines[2]}" = "550 5.7.1 Error: sender address rejected" ]
	[ "${lines[3]}" = "550 5.7.1 Error: sender address rejected" ]
	[ "${lines[4]}" = "550 5.7.1 Error: sender address rejected" ]
	[ "${lines[5]}" = "250 2.1.0 Ok" ]
	[ "${lines[7]}" = "250 2.1.0 Ok" ]
	[ "${lines[9]}" = "250 2.1.0 Ok" ]
	[ "${lines[11]}" = "250 2.1.0 Ok" ]
	grep -q 'reject: cmd=MAIL client=local helo=c from=<> to=<spammer@BAD.test> reason="550 5.7.1' "$LOG"
}

@test "senders: casesensitive yes compares local parts exactly" {
	echo 'Spammer@bad.test' >"$CONF/senders"
	conf casesensitive yes
	run smtp_pipe 'HELO c\nMAIL FROM:<spammer@bad.test>\nRSET\nMAIL FROM:<Spammer@BAD.TEST>\n'
	[ "${lines[2]}" = "250 2.1.0 Ok" ]
	[ "${lines[4]}" = "550 5.7.1 Error: sender address rejected" ]
}

@test "recipients, users and aliases: case-insensitive by default, exact under casesensitive yes" {
	echo 'Blocked@relay.test' >"$CONF/recipients"
	echo relay.test >"$CONF/relaydomains"
	echo 'Alice@example.org' >"$CONF/users"
	echo 'Sales@example.org: Alice@example.org' >"$CONF/aliases"
	local rcpts='RCPT TO:<blocked@relay.test>\nRCPT TO:<alice@example.org>\nRCPT TO:<sales@EXAMPLE.org>\nRCPT TO:<Alice@EXAMPLE.ORG>\nRCPT TO:<Sales@example.org>\n'
	run smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\n$rcpts"
	echo "$output"
	[ "${lines[3]}" = "550 5.7.1 Error: recipient address rejected" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
	[ "${lines[6]}" = "250 2.1.5 Ok" ]
	[ "${lines[7]}" = "250 2.1.5 Ok" ]
	conf casesensitive yes
	run smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\n$rcpts"
	echo "$output"
	# a local part spelt otherwise is another address; domains never are
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[5]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[6]}" = "250 2.1.5 Ok" ]
	[ "${lines[7]}" = "250 2.1.5 Ok" ]
}

@test "a quoted local part that is a Dot-string is that address: lists, users, the envelope" {
	echo 'spammer@good.test' >"$CONF/senders"
	echo 'blocked@relay.test' >"$CONF/recipients"
	echo relay.test >"$CONF/relaydomains"
	printf 'alice@example.org\n' >"$CONF/users"
	run smtp_pipe 'HELO c\nMAIL FROM:<"spammer"@good.test>\nMAIL FROM:<"sp\\am\\mer"@good.test>\nMAIL FROM:<a@b.test>\nRCPT TO:<"blo\\cked"@relay.test>\nRCPT TO:<"alice"@example.org>\nRCPT TO:<"al\\ice"@example.org>\nRCPT TO:<"a b"@example.org>\nDATA\nx\n.\n'
	echo "$output"
	[ "${lines[2]}" = "550 5.7.1 Error: sender address rejected" ]
	[ "${lines[3]}" = "550 5.7.1 Error: sender address rejected" ]
	[ "${lines[4]}" = "250 2.1.0 Ok" ]
	[ "${lines[5]}" = "550 5.7.1 Error: recipient address rejected" ]
	[ "${lines[6]}" = "250 2.1.5 Ok" ]
	[ "${lines[7]}" = "250 2.1.5 Ok" ]
	[ "${lines[8]}" = "550 5.1.1 Error: user unknown" ]
	# stored in the one canonical spelling
	printf 'Fa@b.test\0Talice@example.org\0Talice@example.org\0\0' | cmp - <(entry envelope "$QUEUE"/todo/*)
}

@test "a local part with consecutive, leading or trailing dots is refused: 501" {
	run smtp_pipe 'HELO c\nMAIL FROM:<a..b@b.test>\nMAIL FROM:<a@b.test>\nRCPT TO:<b..ob@example.org>\nRCPT TO:<.bob@example.org>\nRCPT TO:<bob.@example.org>\nRCPT TO:<"b..ob"@example.org>\n'
	echo "$output"
	[ "${lines[2]}" = "501 5.1.7 Error: bad sender address syntax" ]
	[ "${lines[4]}" = "501 5.1.3 Error: bad recipient address syntax" ]
	[ "${lines[5]}" = "501 5.1.3 Error: bad recipient address syntax" ]
	[ "${lines[6]}" = "501 5.1.3 Error: bad recipient address syntax" ]
	# quoted, the same text is a valid (if unusual) local part
	[ "${lines[7]}" = "250 2.1.5 Ok" ]
}

@test "recipients: refused with 550 5.7.1, and they do not count to maxrcpt" {
	printf 'nobody@example.org\n@lists.example.org\n' >"$CONF/recipients"
	echo lists.example.org >>"$CONF/domains"
	conf maxrcpt 1
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<NOBODY@example.org>\nRCPT TO:<x@lists.example.org>\nRCPT TO:<u@example.org>\nRCPT TO:<v@example.org>\n'
	[ "${lines[3]}" = "550 5.7.1 Error: recipient address rejected" ]
	[ "${lines[4]}" = "550 5.7.1 Error: recipient address rejected" ]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
	[ "${lines[6]}" = "452 4.5.3 Error: too many recipients" ]
}

@test "users and aliases: unknown local users get 550 5.1.1" {
	printf 'alice@example.org\nbob@example.org /var/mail/bob/\n' >"$CONF/users"
	printf 'team@example.org: alice@example.org, carol@remote.test\n' >"$CONF/aliases"
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<Alice@Example.org>\nRCPT TO:<bob@example.org>\nRCPT TO:<team@example.org>\nRCPT TO:<mallory@example.org>\nRCPT TO:<postmaster>\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
	[ "${lines[6]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[7]}" = "250 2.1.5 Ok" ]
}

@test "an aliases file alone is enough to refuse unknown users" {
	printf 'team@example.org: x@remote.test\n' >"$CONF/aliases"
	[ "$(rcpt_reply '<team@example.org>')" = "250 2.1.5 Ok" ]
	[ "$(rcpt_reply '<other@example.org>')" = "550 5.1.1 Error: user unknown" ]
}

@test "users and aliases: malformed lines reported and ignored" {
	printf 'alice@example.org\nno-domain\nbob@example.org relative/path\n' >"$CONF/users"
	printf 'team@example.org alice@example.org\nlist@example.org:\nok@example.org: alice@example.org\n' >"$CONF/aliases"
	[ "$(rcpt_reply '<bob@example.org>')" = "550 5.1.1 Error: user unknown" ]
	[ "$(rcpt_reply '<ok@example.org>')" = "250 2.1.5 Ok" ]
	grep -q 'file=users line=2: not an address' "$LOG" || smtp_pipe 'QUIT\n' >/dev/null
	grep -q 'file=users line=2: not an address' "$LOG"
	grep -q 'file=users line=3: MAILDIR must be an absolute path' "$LOG"
	grep -q 'file=aliases line=1: expected ADDRESS: TARGET, TARGET' "$LOG"
	grep -q 'file=aliases line=2: no targets' "$LOG"
}

@test "VRFY: 252 by default; with vrfy yes 250 for users, 550 5.1.1 otherwise" {
	printf 'alice@example.org\n' >"$CONF/users"
	run smtp_pipe 'VRFY alice@example.org\n'
	[ "${lines[1]}" = "252 2.5.2 Cannot VRFY user, but will accept message" ]
	conf vrfy yes
	run smtp_pipe 'VRFY alice@example.org\nVRFY <ALICE@example.org>\nVRFY bob@example.org\nVRFY x@remote.test\nVRFY\n'
	[ "${lines[1]}" = "250 2.1.5 <alice@example.org>" ]
	[ "${lines[2]}" = "250 2.1.5 <ALICE@example.org>" ]
	[ "${lines[3]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[4]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[5]}" = "501 5.5.2 Syntax: VRFY address" ]
}

@test "EXPN: 502 by default; with expn yes aliases are expanded" {
	printf 'alice@example.org\n' >"$CONF/users"
	printf 'team@example.org: alice@example.org, carol@remote.test\n' >"$CONF/aliases"
	run smtp_pipe 'EXPN team@example.org\n'
	[ "${lines[1]}" = "502 5.5.1 Error: EXPN not available" ]
	conf expn yes
	run smtp_pipe 'EXPN team@example.org\nEXPN alice@example.org\nEXPN nobody@example.org\n'
	[ "${lines[1]}" = "250-2.1.5 <alice@example.org>" ]
	[ "${lines[2]}" = "250 2.1.5 <carol@remote.test>" ]
	[ "${lines[3]}" = "250 2.1.5 <alice@example.org>" ]
	[ "${lines[4]}" = "550 5.1.1 Error: user unknown" ]
}

@test "open relay battery: no trick puts a remote recipient in todo/" {
	local rcpt reply
	while IFS= read -r rcpt; do
		reply=$(rcpt_reply "$rcpt")
		case $reply in
		250*) # accepted only as a local address of example.org
		      ;;
		5*) ;;
		*) echo "unexpected reply for $rcpt: $reply"; false ;;
		esac
		smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:$rcpt\nDATA\nx\n.\n" >/dev/null
	done <<'LIST'
<user%elsewhere.test@example.org>
<"user@elsewhere.test"@example.org>
<user@elsewhere.test@example.org>
<@example.org:user@elsewhere.test>
<elsewhere.test!user@example.org>
<user@elsewhere.test.>
<user@[127.0.0.1]>
<user@[IPv6:::1]>
<USER@ELSEWHERE.TEST>
<user@Elsewhere.Test.>
 <user@elsewhere.test>
<user@elsewhere.test >
< user@elsewhere.test>
<user@elsewhere.test>x
user@elsewhere.test
<user@example.org@elsewhere.test>
<user@elsewhere.test%example.org>
<"user"@elsewhere.test>
<user@example.org.elsewhere.test>
<user@elsewhere.test\@example.org>
<user@[example.org]>
LIST
	for f in "$QUEUE"/todo/*; do
		[ -e "$f" ] || continue
		tr '\0' '\n' <"$f" | grep '^T' | while IFS= read -r t; do
			# every accepted recipient's domain (after the last @) is example.org
			[ "${t##*@}" = "example.org" ] || { echo "REMOTE RECIPIENT QUEUED: $t"; exit 1; }
		done
	done
	[ "$(rcpt_reply '<user@elsewhere.test>')" = "554 5.7.1 Error: relay access denied" ]
}

@test "open relay battery with users: tricks at example.org are unknown users" {
	echo 'user@example.org' >"$CONF/users"
	for rcpt in '<user%elsewhere.test@example.org>' '<"user@elsewhere.test"@example.org>' '<elsewhere.test!user@example.org>'; do
		[ "$(rcpt_reply "$rcpt")" = "550 5.1.1 Error: user unknown" ]
	done
	[ "$(queued_count)" -eq 0 ]
}

@test "a relay client may send anywhere" {
	echo '192.0.2.1 relay' >"$CONF/clients"
	as_client 192.0.2.1 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<user@elsewhere.test>\nRCPT TO:<u@[192.0.2.99]>\nDATA\nx\n.\n' >/dev/null
	printf 'Fa@b.test\0Tuser@elsewhere.test\0Tu@[192.0.2.99]\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
}

@test "configuration edited between two connections takes effect on the second" {
	[ "$(rcpt_reply 192.0.2.1 '<x@remote.test>')" = "554 5.7.1 Error: relay access denied" ]
	echo '192.0.2.1 relay' >"$CONF/clients"
	[ "$(rcpt_reply 192.0.2.1 '<x@remote.test>')" = "250 2.1.5 Ok" ]
	echo 'remote.test' >>"$CONF/domains"
	echo '192.0.2.1 allow' >"$CONF/clients"
	[ "$(rcpt_reply 192.0.2.1 '<x@remote.test>')" = "250 2.1.5 Ok" ]
}

@test "postern-makedb: compiled tables answer the same; a stale .db is not used" {
	printf '10.0.0.0/8 relay\n' >"$CONF/clients"
	printf 'alice@example.org\n' >"$CONF/users"
	run "$MAKEDB" -C "$CONF"
	[ "$status" -eq 0 ]
	[[ "$output" == *"$CONF/clients.db"* ]]
	[ -f "$CONF/users.db" ]
	[ -f "$CONF/domains.db" ]
	[ ! -f "$CONF/senders.db" ]
	[ "$(rcpt_reply 10.1.1.1 '<x@remote.test>')" = "250 2.1.5 Ok" ]
	[ "$(rcpt_reply '<alice@example.org>')" = "250 2.1.5 Ok" ]
	[ "$(rcpt_reply '<bob@example.org>')" = "550 5.1.1 Error: user unknown" ]
	! grep -q 'not current' "$LOG" || false
	# an edit after makedb: the text wins until makedb runs again
	printf 'bob@example.org\n' >"$CONF/users"
	[ "$(rcpt_reply '<bob@example.org>')" = "250 2.1.5 Ok" ]
	grep -q 'config: file=users: the .db file is not current' "$LOG"
	"$MAKEDB" -C "$CONF" users >/dev/null
	[ "$(rcpt_reply '<alice@example.org>')" = "550 5.1.1 Error: user unknown" ]
	# a removed text file removes the table, whatever the .db says
	rm "$CONF/clients"
	[ "$(rcpt_reply 10.1.1.1 '<x@remote.test>')" = "554 5.7.1 Error: relay access denied" ]
}

@test "postern-makedb: a scrambled .db answers without crashing; a truncated one is not used" {
	printf 'alice@example.org\n' >"$CONF/users"
	"$MAKEDB" -C "$CONF" users >/dev/null
	local size
	size=$(stat -c %s "$CONF/users.db")
	# keep the header (and so the source stamp) but scramble the rest
	head -c 36 "$CONF/users.db" >"$TESTDIR/bad"
	head -c $((size - 36)) /dev/urandom >>"$TESTDIR/bad"
	touch -r "$CONF/users.db" "$TESTDIR/bad"
	cp "$TESTDIR/bad" "$CONF/users.db"
	run rcpt_reply '<alice@example.org>'
	[[ "$output" == "250 2.1.5 Ok" || "$output" == "550 5.1.1 Error: user unknown" ]]
	# a truncated file
	head -c 20 "$TESTDIR/bad" >"$CONF/users.db"
	[ "$(rcpt_reply '<alice@example.org>')" = "250 2.1.5 Ok" ]
}

@test "postern-makedb -c: every line the programs would ignore, and a stale image; 0 only when there is none" {
	printf 'hostname mx.test\nbogus key\nlog stderr\n' >"$CONF/smtpd.conf"
	printf '10.0.0.0/8 relay\nnot-an-address deny\n' >"$CONF/clients"
	printf 'alice@example.org\n' >"$CONF/users"
	"$MAKEDB" -C "$CONF" users >/dev/null
	printf 'bob@example.org\n' >>"$CONF/users"	# the image is now stale
	run "$MAKEDB" -C "$CONF" -c
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"file=smtpd.conf line=2: unknown key; line ignored"* ]]
	[[ "$output" == *"file=clients line=2: not an IPv4 or IPv6 address; line ignored"* ]]
	[[ "$output" == *"file=users: the .db file is not current"* ]]
	[[ "$output" == *"$CONF: 3 warnings"* ]]
	# nothing compiled by a check
	[ ! -e "$CONF/clients.db" ]
	sed -i '/bogus/d' "$CONF/smtpd.conf"
	sed -i '/not-an-address/d' "$CONF/clients"
	"$MAKEDB" -C "$CONF" users >/dev/null
	run "$MAKEDB" -C "$CONF" -c
	[ "$status" -eq 0 ]
	[ "$output" = "$CONF: no warnings" ]
	run "$MAKEDB" -C "$TESTDIR/nonexistent" -c
	[ "$status" -eq 1 ]
}

@test "postern-makedb: errors and usage" {
	run "$MAKEDB" -C "$CONF" nosuchfile
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuchfile: not a list file"* ]]
	run "$MAKEDB" -C "$CONF" users
	[ "$status" -ne 0 ]
	[[ "$output" == *"users: no such file"* ]]
	run "$MAKEDB" -h
	[ "$status" -eq 2 ]
}

@test "a long list read as text is answered, with advice to run makedb" {
	seq 1 1500 | sed 's/.*/user&@example.org/' >"$CONF/users"
	[ "$(rcpt_reply '<user1499@example.org>')" = "250 2.1.5 Ok" ]
	grep -q 'config: file=users: a long list read as text at each connection; compile it with postern-makedb' "$LOG"
	"$MAKEDB" -C "$CONF" users >/dev/null
	[ "$(rcpt_reply '<user1500@example.org>')" = "250 2.1.5 Ok" ]
	[ "$(rcpt_reply '<user1501@example.org>')" = "550 5.1.1 Error: user unknown" ]
	! grep -q 'a long list' "$LOG" || false
}
