#!/usr/bin/env bats
# Messages through a pipe session: what lands in the queue, byte for byte.

load helper

setup() { setup_postern; }
teardown() { teardown_postern; }

@test "a committed message: 250 with its ID, one file todo/ID, nothing in mess/" {
	run smtp_pipe 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\nSubject: t\r\n\r\nbody\r\n.\r\nQUIT\r\n'
	[ "$status" -eq 0 ]
	[[ "${lines[12]}" =~ ^250\ 2\.0\.0\ Ok:\ queued\ as\ ([A-Za-z0-9._-]+)$ ]]
	local id=${BASH_REMATCH[1]}
	[ -f "$QUEUE/todo/$id" ]
	[ -z "$(ls "$QUEUE/mess")" ]
	[ -z "$(ls "$QUEUE/tmp")" ]
	# message, envelope, trailer: every octet accounted for
	entry message "$QUEUE/todo/$id" | grep -q '^Subject: t$'
	[ "$(tail -c 48 "$QUEUE/todo/$id" | cut -c1-5)" = "PQE1 " ]
	grep -q "queued id=$id from=<a@b.test> size=20 nrcpt=1 client=local" "$LOG"
}

@test "the envelope is qmail-queue's, byte for byte" {
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nRCPT TO:<v@example.org>\nDATA\nx\n.\n' >/dev/null
	printf 'Fa@b.test\0Tu@example.org\0Tv@example.org\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
}

@test "the null sender is F followed by NUL" {
	smtp_pipe 'HELO c\nMAIL FROM:<>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n' >/dev/null
	printf 'F\0Tu@example.org\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
}

@test "source routes are dropped; a trailing dot on the domain is removed" {
	smtp_pipe 'HELO c\nMAIL FROM:<@relay.test,@other.test:a@b.test>\nRCPT TO:<u@example.org.>\nDATA\nx\n.\n' >/dev/null
	printf 'Fa@b.test\0Tu@example.org\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
}

@test "quoted local parts and % in local parts are kept as local" {
	smtp_pipe 'HELO c\nMAIL FROM:<"a b"@b.test>\nRCPT TO:<user%%other.test@example.org>\nDATA\nx\n.\n' >/dev/null
	printf 'F"a b"@b.test\0Tuser%%other.test@example.org\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
}

@test "the Received header comes first, as SPEC gives it" {
	smtp_pipe 'EHLO client.test\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: t\n\nbody\n.\n' >/dev/null
	local id
	id=$(ls "$QUEUE/todo")
	run only_message
	[ "${lines[0]}" = "Received: from client.test (local) by mx.test (postern) with ESMTP" ]
	[[ "${lines[1]}" =~ ^$'\t'id\ $id\ for\ \<u@example.org\>\;\ [A-Z][a-z]{2},\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9:]{8}\ [-+][0-9]{4}$ ]]
	[ "${lines[2]}" = "Subject: t" ]
	[ "${lines[3]}" = "body" ]
}

@test "Received: SMTP after HELO, the client literal from TCPREMOTEIP" {
	TCPREMOTEIP=192.0.2.7 smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n' >/dev/null
	run only_message
	[ "${lines[0]}" = "Received: from c ([192.0.2.7]) by mx.test (postern) with SMTP" ]
	grep -q 'connect client=192.0.2.7' "$LOG"
}

@test "Received: an IPv6 client is an IPv6 literal, a mapped one IPv4" {
	REMOTE_ADDR=2001:db8::7 smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n' >/dev/null
	run only_message
	[ "${lines[0]}" = "Received: from c ([IPv6:2001:db8::7]) by mx.test (postern) with SMTP" ]
	rm -f "$QUEUE"/mess/* "$QUEUE"/todo/*
	REMOTE_ADDR=::ffff:192.0.2.9 smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n' >/dev/null
	run only_message
	[ "${lines[0]}" = "Received: from c ([192.0.2.9]) by mx.test (postern) with SMTP" ]
}

@test "REMOTE_HOST (stunnel) counts when it is an address, not when it is a name" {
	REMOTE_HOST=192.0.2.11 smtp_pipe 'HELO c\nQUIT\n' >/dev/null
	grep -q 'connect client=192.0.2.11' "$LOG"
	REMOTE_HOST=mail.example.net smtp_pipe 'HELO c\nQUIT\n' >/dev/null
	grep -q 'connect client=local' "$LOG"
	# the UCSPI and systemd variables come first
	TCPREMOTEIP=192.0.2.1 REMOTE_HOST=192.0.2.11 smtp_pipe 'HELO c\nQUIT\n' >/dev/null
	grep -q 'connect client=192.0.2.1$' "$LOG"
}

@test "dot-unstuffing; LF line ends stored; LF-only pipe session ends at LF . LF" {
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: t\n\n..leading dot\n...two\nplain\n.\nQUIT\n' >/dev/null
	queued_messages | tail -n +3 >"$TESTDIR/got"
	printf 'Subject: t\n\n.leading dot\n..two\nplain\n' >"$TESTDIR/want"
	cmp "$TESTDIR/want" "$TESTDIR/got"
}

@test "CRLF input is stored with LF; the size counts CRLF" {
	smtp_pipe 'HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\nab\r\ncd\r\n.\r\n' >/dev/null
	queued_messages | tail -n +3 >"$TESTDIR/got"
	printf 'ab\ncd\n' >"$TESTDIR/want"
	cmp "$TESTDIR/want" "$TESTDIR/got"
	grep -q 'size=8 ' "$LOG"
}

@test "a bare CR is stored as a space; CR CR LF is a space and a line end" {
	smtp_pipe 'HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\na\rb\r\nc\r\r\n.\r\r\n.\r\n' >/dev/null
	queued_messages | tail -n +3 >"$TESTDIR/got"
	printf 'a b\nc \n \n' >"$TESTDIR/want"
	cmp "$TESTDIR/want" "$TESTDIR/got"
}

@test "barelf reject refuses a bare CR with 550 5.6.0, over a pipe too" {
	conf barelf reject
	run smtp_pipe 'HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\na\rb\r\n.\r\nQUIT\r\n'
	[ "${lines[5]}" = "550 5.6.0 Error: bare CR in message text" ]
	[ "$(queued_count)" -eq 0 ]
	queue_empty
}

@test "8-bit and UTF-8 message text is stored unchanged" {
	smtp_pipe 'EHLO c\nMAIL FROM:<a@b.test> BODY=8BITMIME\nRCPT TO:<u@example.org>\nDATA\nSubject: caf\xc3\xa9\n\n\xff\xfe\n.\n' >/dev/null
	queued_messages | tail -n +3 >"$TESTDIR/got"
	printf 'Subject: caf\xc3\xa9\n\n\xff\xfe\n' >"$TESTDIR/want"
	cmp "$TESTDIR/want" "$TESTDIR/got"
}

@test "SMTPUTF8: UTF-8 addresses with the parameter, 553 5.6.7 without" {
	run smtp_pipe 'EHLO c\nMAIL FROM:<j\xc3\xb6rg@b.test>\nMAIL FROM:<j\xc3\xb6rg@b.test> SMTPUTF8\nRCPT TO:<\xc3\xbc@example.org>\nDATA\nx\n.\n'
	[ "${lines[9]}" = "553 5.6.7 Error: non-ASCII address needs SMTPUTF8" ]
	[ "${lines[10]}" = "250 2.1.0 Ok" ]
	[ "${lines[11]}" = "250 2.1.5 Ok" ]
	printf 'Fj\xc3\xb6rg@b.test\0T\xc3\xbc@example.org\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
	run only_message
	[[ "${lines[0]}" == *" with UTF8SMTP" ]]
}

@test "invalid UTF-8 in an address is a syntax error" {
	run smtp_pipe 'EHLO c\nMAIL FROM:<a\xc3@b.test> SMTPUTF8\n'
	[ "${lines[9]}" = "501 5.1.7 Error: bad sender address syntax" ]
}

@test "over-long addresses are refused by the length limits, not as bad syntax" {
	local l64 l65 label d252 d256
	l64=$(printf 'a%.0s' $(seq 64))
	l65=$(printf 'a%.0s' $(seq 65))
	label=$(printf 'd%.0s' $(seq 63))
	# a path is at most 256 octets with its brackets: <a@ + 252 + >
	d252=$label.$label.$label.$(printf 'e%.0s' $(seq 60))
	d256=$label.$label.$label.$(printf 'e%.0s' $(seq 62))	# 256 octets, every label valid
	run smtp_pipe "HELO c\nMAIL FROM:<$l65@b.test>\nMAIL FROM:<a@$d256>\nMAIL FROM:<$l64@b.test>\nRCPT TO:<a@$d252>\nRCPT TO:<ab@$d252>\n"
	echo "$output"
	[ "${lines[2]}" = "501 5.1.7 Error: address too long" ]
	[ "${lines[3]}" = "501 5.1.7 Error: address too long" ]
	# the largest allowed are accepted
	[ "${lines[4]}" = "250 2.1.0 Ok" ]
	[ "${lines[5]}" = "554 5.7.1 Error: relay access denied" ]
	[ "${lines[6]}" = "501 5.1.3 Error: address too long" ]
}

@test "<postmaster> without a domain is accepted (RFC 5321 4.5.1)" {
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<Postmaster>\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
}

@test "a message over maxsize is read to its end, then 552 5.3.4; nothing queued" {
	conf maxsize 100
	local body
	body=$(printf 'line of text %d\\n' $(seq 20))
	run smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\n${body}.\nNOOP\n"
	[ "${lines[5]}" = "552 5.3.4 Error: message too big" ]
	[ "${lines[6]}" = "250 2.0.0 Ok" ]
	queue_empty
}

@test "maxsize counts the message as sent, not the Received header" {
	conf maxsize 8
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nab\ncd\n.\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nab\ncde\n.\n'
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "${lines[9]}" = "552 5.3.4 Error: message too big" ]
}

@test "more than 100 Received headers: 554 5.4.6 (a mail loop)" {
	local hops
	hops=$(printf 'Received: from hop%d\\n' $(seq 101))
	run smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\n${hops}\nbody\n.\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\n$(printf 'Received: x\\n%.0s' $(seq 100))\nbody\n.\n"
	[ "${lines[5]}" = "554 5.4.6 Error: too many hops (mail loop?)" ]
	[[ "${lines[9]}" == "250 2.0.0 Ok: queued as "* ]]
}

@test "Received lines in the body do not count as hops" {
	local body
	body=$(printf 'Received: x\\n%.0s' $(seq 150))
	run smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: s\n\n${body}.\n"
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
}

@test "BDAT: chunks joined, no dot-unstuffing, a last line end added" {
	run smtp_pipe 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nBDAT 10\r\nSubject:\r\nBDAT 10 LAST\r\n x\r\n\r\n..ab'
	[ "${lines[11]}" = "250 2.0.0 Ok: 10 octets received" ]
	[[ "${lines[12]}" == "250 2.0.0 Ok: queued as "* ]]
	queued_messages | tail -n +3 >"$TESTDIR/got"
	printf 'Subject:\n x\n\n..ab\n' >"$TESTDIR/want"
	cmp "$TESTDIR/want" "$TESTDIR/got"
}

@test "BDAT 0 LAST ends a message; BDAT with no recipients still reads its chunk" {
	run smtp_pipe 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nBDAT 6\r\nNOOP\r\nBDAT 6 LAST\r\nQUIT\r\nRCPT TO:<u@example.org>\r\nBDAT 3\r\nab\nBDAT 0 LAST\r\n'
	[ "${lines[10]}" = "503 5.5.1 Error: need RCPT command" ]
	[ "${lines[11]}" = "503 5.5.1 Error: need RCPT command" ]
	[ "${lines[12]}" = "250 2.1.5 Ok" ]
	[ "${lines[13]}" = "250 2.0.0 Ok: 3 octets received" ]
	[[ "${lines[14]}" == "250 2.0.0 Ok: queued as "* ]]
}

@test "BDAT: bad syntax 501 5.5.4; DATA after BDAT 503" {
	run smtp_pipe 'EHLO c\r\nBDAT x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nBDAT 2\r\nabDATA\r\n'
	[ "${lines[9]}" = "501 5.5.4 Syntax: BDAT size [LAST]" ]
	[ "${lines[13]}" = "503 5.5.1 Error: DATA after BDAT" ]
}

@test "BDAT over maxsize: 552 5.3.4 at the chunk, nothing queued" {
	conf maxsize 10
	run smtp_pipe 'EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nBDAT 20\r\n0123456789abcdefghijBDAT 1 LAST\r\nx'
	[ "${lines[11]}" = "552 5.3.4 Error: message too big" ]
	[ "${lines[12]}" = "503 5.5.1 Error: need MAIL command" ]
	queue_empty
}

@test "a session that ends mid-DATA leaves nothing behind" {
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: cut\n\npartial'
	[ "$status" -eq 0 ]
	queue_empty
	grep -q 'lost connection in DATA' "$LOG"
}

@test "several messages in one session get distinct IDs" {
	local m='MAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n'
	run smtp_pipe "HELO c\n$m$m$m"
	[ "$(queued_count)" -eq 3 ]
	[ "$(ls "$QUEUE/todo" | wc -l)" -eq 3 ]
}

@test "-N: a network client behind pipes gets socket rules; only CRLF.CRLF ends DATA" {
	conf strictsync no	# a pipe hands over the whole script at once
	run bash -c "printf 'HELO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\nx\n.\nMAIL FROM:<smuggled@b.test>\r\n.\r\nQUIT\r\n' | '$SMTPD' -N -C '$CONF' -Q '$QUEUE' 2>/dev/null | tr -d '\r'"
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "${lines[6]}" = "221 2.0.0 mx.test closing connection" ]
	[ "$(queued_count)" -eq 1 ]
	queued_messages | grep -q '^MAIL FROM:<smuggled@b.test>$'
}
