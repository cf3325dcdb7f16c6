#!/usr/bin/env bats
# What the client says about itself: its name (checkclientname), its
# HELO (checkhelo), its sender's domain (checksenderdomain), against a
# private NSD serving the reverse and forward zones.

load helper
load nsd

setup() {
	setup_postern
	dns_namespace
	DNS_PID=
	mkdir -p "$TESTDIR/zones"
	# 192.0.2.1: PTR good.example, whose A is 192.0.2.1 (confirmed)
	# 192.0.2.2: PTR liar.example, whose A is elsewhere
	# 192.0.2.3: no PTR; 2001:db8::1: PTR v6.example, AAAA confirmed
	zone 2.0.192.in-addr.arpa '1 PTR good.example.' '2 PTR liar.example.'
	zone 8.b.d.0.1.0.0.2.ip6.arpa \
	    '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR v6.example.'
	zone example 'good A 192.0.2.1' 'liar A 198.51.100.7' 'v6 AAAA 2001:db8::1' \
	    'withmx MX 10 good.example.' 'onlya A 192.0.2.9'
	start_nsd 2.0.192.in-addr.arpa="$TESTDIR/zones/2.0.192.in-addr.arpa" \
	    8.b.d.0.1.0.0.2.ip6.arpa="$TESTDIR/zones/8.b.d.0.1.0.0.2.ip6.arpa" \
	    example="$TESTDIR/zones/example"
}

teardown() {
	[ -z "$DNS_PID" ] || { kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null || true; }
	teardown_postern
}

zone() {	# zone NAME RECORD...
	local z=$1 r
	shift
	{
		printf '$ORIGIN %s.\n$TTL 300\n' "$z"
		printf '@ SOA ns.%s. h.%s. 1 3600 600 86400 300\n@ NS ns.%s.\nns A 127.0.0.2\n' "$z" "$z" "$z"
		for r in "$@"; do printf '%s\n' "$r"; done
	} >"$TESTDIR/zones/$z"
}

MSG='HELO client.example.net\nMAIL FROM:<a@withmx.example>\nRCPT TO:<u@example.org>\nDATA\nSubject: c\n\nhi\n.\nQUIT\n'

@test "checkclientname yes: a name that forward-confirms is used in Received:; none, or a liar, gets 450 4.7.25" {
	conf 'checkclientname yes'
	session 192.0.2.1 "$MSG"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	run only_message
	[[ "${lines[0]}" == "Received: from client.example.net (good.example [192.0.2.1]) by mx.test"* ]]
	session 192.0.2.2 "$MSG"
	[ "${lines[3]}" = "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.2]" ]
	session 192.0.2.3 "$MSG"
	[ "${lines[3]}" = "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.3]" ]
	# IPv6: the nibbles under ip6.arpa, then the AAAA
	rm -f "$QUEUE"/todo/*
	session 2001:db8::1 "$MSG"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	run only_message
	[[ "${lines[0]}" == "Received: from client.example.net (v6.example [IPv6:2001:db8::1])"* ]]
}

@test "checkclientname reverse: any PTR name will do; lookup: names used, nobody refused" {
	conf 'checkclientname reverse'
	session 192.0.2.2 "$MSG"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	# a PTR that does not confirm is not the client's name
	run only_message
	[[ "${lines[0]}" == "Received: from client.example.net ([192.0.2.2]) by mx.test"* ]]
	session 192.0.2.3 "$MSG"
	[ "${lines[3]}" = "450 4.7.25 Client host rejected: cannot find your reverse hostname, [192.0.2.3]" ]
	sed -i 's/^checkclientname .*/checkclientname lookup/' "$CONF/smtpd.conf"
	session 192.0.2.3 "$MSG"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
}

@test "checkhelo: an invalid name 501, a bare one 504, ours 550; literals and good names pass" {
	conf 'checkhelo yes'
	local h
	session 192.0.2.9 'HELO bad_name!\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n'
	[ "${lines[3]}" = "501 5.5.2 <bad_name!>: Helo command rejected: Invalid name" ]
	session 192.0.2.9 'HELO localhost\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n'
	[ "${lines[3]}" = "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname" ]
	for h in mx.test example.org MX.TEST; do
		session 192.0.2.9 "HELO $h\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n"
		[ "${lines[3]}" = "550 5.7.1 <$h>: Helo command rejected: You are not me" ]
	done
	for h in client.example.net '[192.0.2.9]' '[IPv6:2001:db8::9]'; do
		session 192.0.2.9 "HELO $h\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n"
		[ "${lines[3]}" = "250 2.1.5 Ok" ]
	done
	# a relay client is not judged
	echo '192.0.2.9 relay' >"$CONF/clients"
	session 192.0.2.9 'HELO localhost\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
}

@test "checksenderdomain: a domain with an MX or an address passes; one that does not exist 450 4.1.8" {
	conf 'checksenderdomain yes'
	local d
	for d in withmx.example onlya.example; do
		session 192.0.2.9 "HELO c.example\nMAIL FROM:<a@$d>\nRCPT TO:<u@example.org>\nQUIT\n"
		[ "${lines[3]}" = "250 2.1.5 Ok" ]
	done
	session 192.0.2.9 'HELO c.example\nMAIL FROM:<a@nowhere.example>\nRCPT TO:<u@example.org>\nQUIT\n'
	[ "${lines[3]}" = "450 4.1.8 <a@nowhere.example>: Sender address rejected: Domain not found" ]
	# the null sender has no domain to check; a domain the server will
	# not answer for is not refused
	session 192.0.2.9 'HELO c.example\nMAIL FROM:<>\nRCPT TO:<u@example.org>\nRSET\nMAIL FROM:<a@elsewhere.invalid>\nRCPT TO:<u@example.org>\nQUIT\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[6]}" = "250 2.1.5 Ok" ]
	grep -q 'clientcheck: name=elsewhere.invalid type=15 lookup failed or timed out; nothing refused for it' "$LOG"
}

@test "the client's names reach the policy server" {
	conf 'checkclientname lookup'
	local port
	port=$(free_port)
	mkdir -p "$TESTDIR/policy"
	python3 "$TOP/tests/fakepolicy.py" "$port" "$TESTDIR/policy" DUNNO &
	local pid=$!
	wait_port 127.0.0.1 "$port"
	conf "policy inet:127.0.0.1:$port"
	session 192.0.2.2 'HELO c.example\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n'
	session 192.0.2.1 'HELO c.example\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n'
	kill "$pid"; wait "$pid" 2>/dev/null || true
	cat "$TESTDIR/policy/requests"
	sed -n '1,/^--$/p' "$TESTDIR/policy/requests" | grep -qx 'client_name=unknown'
	sed -n '1,/^--$/p' "$TESTDIR/policy/requests" | grep -qx 'reverse_client_name=liar.example'
	sed -n '/^--$/,$p' "$TESTDIR/policy/requests" | grep -qx 'client_name=good.example'
}
