#!/usr/bin/env bats
# DNS block and allow lists (dnsbl, dnswl, rhsbl in smtpd.conf), asked
# of a private NSD serving the list zones from zone files, as Spamhaus
# or dnswl.org would answer (RFC 5782): 127.0.0.x for a listed address,
# a TXT record with the reason.  smtpd runs in a mount namespace whose
# /etc/resolv.conf names that server; the client's address is the
# TCPREMOTEIP a super-server sets.

load helper
load nsd

setup() {
	setup_postern
	dns_namespace
	DNS_PID=
	SILENT_PID=
	local z=$TESTDIR/zones
	mkdir -p "$z"
	# bl.test: 192.0.2.1, 192.0.2.3 and 2001:db8::1 listed (2), with a
	# reason; 192.0.2.9 answers 127.0.0.4 (another kind of listing)
	zone_file bl.test \
	    '1.2.0.192 A 127.0.0.2' '1.2.0.192 TXT "Listed for testing, see http://bl.test/192.0.2.1"' \
	    '3.2.0.192 A 127.0.0.2' \
	    '9.2.0.192 A 127.0.0.4' \
	    "$(nibbles 2001:db8::1) A 127.0.0.2" "$(nibbles 2001:db8::1) TXT \"IPv6 listed\""
	# bl2.test lists 192.0.2.3 only; wl.test allows 192.0.2.5
	zone_file bl2.test '3.2.0.192 A 127.0.0.2'
	zone_file wl.test '5.2.0.192 A 127.0.10.2'
	# rhs.test: the domain spam.example
	zone_file rhs.test 'spam.example A 127.0.0.2' 'spam.example TXT "Domain listed"'
	start_nsd bl.test="$z/bl.test" bl2.test="$z/bl2.test" wl.test="$z/wl.test" \
	    rhs.test="$z/rhs.test"
}

teardown() {
	for p in $DNS_PID $SILENT_PID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	teardown_postern
}

# zone_file ZONE RECORD...: the zone, its SOA and NS, and the records.
zone_file() {
	local zone=$1 r
	shift
	{
		printf '$ORIGIN %s.\n$TTL 300\n' "$zone"
		printf '@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300\n' "$zone" "$zone"
		printf '@ NS ns.%s.\nns A 127.0.0.2\n' "$zone"
		for r in "$@"; do printf '%s\n' "$r"; done
	} >"$TESTDIR/zones/$zone"
}

# nibbles ADDRESS: the IPv6 address's RFC 5782 name, without the zone.
nibbles() {
	python3 -c 'import ipaddress, sys
print(".".join(reversed(ipaddress.ip_address(sys.argv[1]).exploded.replace(":", ""))))' "$1"
}

ONE='HELO c\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n'

@test "dnsbl: a listed IPv4 client is refused at RCPT with the zone and its TXT; others pass" {
	conf 'dnsbl bl.test'
	session 192.0.2.1 "$ONE"
	[ "${lines[3]}" = "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.test; Listed for testing, see http://bl.test/192.0.2.1" ]
	grep -q 'dnsbl: client=192.0.2.1 zone=bl.test value=127.0.0.2 weight=1' "$LOG"
	grep -q 'reject: cmd=RCPT client=192.0.2.1 .*blocked using bl.test' "$LOG"
	session 192.0.2.2 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
}

@test "dnsbl: an IPv6 client is asked by its nibbles (RFC 5782), and refused" {
	conf 'dnsbl bl.test'
	session 2001:db8::1 "$ONE"
	[ "${lines[3]}" = "554 5.7.1 Service unavailable; Client host [2001:db8::1] blocked using bl.test; IPv6 listed" ]
	session 2001:db8::2 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
}

@test "dnsbl: a filter counts only the answers it names; weights add up to dnsblthreshold" {
	# 192.0.2.9 answers 127.0.0.4, outside the filter
	conf 'dnsbl bl.test=127.0.0.[2..3]'
	session 192.0.2.9 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	# threshold 2: one list (weight 1) is not enough, two are
	printf 'hostname mx.test\nlog stderr\ndnsbl bl.test*1\ndnsbl bl2.test*1\ndnsblthreshold 2\n' >"$CONF/smtpd.conf"
	session 192.0.2.1 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	session 192.0.2.3 "$ONE"
	[[ "${lines[3]}" == "554 5.7.1 Service unavailable; Client host [192.0.2.3] blocked using bl"*".test" ]]
	# a weight of 2 alone reaches it
	printf 'hostname mx.test\nlog stderr\ndnsbl bl.test*2\ndnsblthreshold 2\n' >"$CONF/smtpd.conf"
	session 192.0.2.1 "$ONE"
	[[ "${lines[3]}" == "554 5.7.1 "* ]]
}

@test "dnswl: a client on an allow list passes, whatever the block lists say" {
	zone_file bl.test '5.2.0.192 A 127.0.0.2'
	kill "$DNS_PID"; wait "$DNS_PID" 2>/dev/null || true
	start_nsd bl.test="$TESTDIR/zones/bl.test" wl.test="$TESTDIR/zones/wl.test"
	conf 'dnsbl bl.test'
	session 192.0.2.5 "$ONE"
	[[ "${lines[3]}" == "554 5.7.1 "* ]]
	conf 'dnswl wl.test=127.0.[0..255].[1..3]'
	session 192.0.2.5 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	grep -q 'dnswl: client=192.0.2.5 zone=wl.test value=127.0.10.2' "$LOG"
}

@test "dnsblreply defer: 450 4.7.1; dnsblcheck connect: the greeting refuses, every command after it 503" {
	conf 'dnsbl bl.test'
	conf 'dnsblreply defer'
	session 192.0.2.1 "$ONE"
	[[ "${lines[3]}" == "450 4.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.test;"* ]]
	conf 'dnsblcheck connect'
	session 192.0.2.1 "$ONE"
	[[ "${lines[0]}" == "450 4.7.1 Service unavailable; Client host [192.0.2.1] blocked using bl.test;"* ]]
	[ "${lines[1]}" = "503 5.5.1 Error: access denied" ]
	[ "${lines[3]}" = "503 5.5.1 Error: access denied" ]
	grep -q 'reject: cmd=CONNECT client=192.0.2.1 reason="450 4.7.1' "$LOG"
	session 192.0.2.2 "$ONE"
	[ "${lines[0]}" = "220 mx.test ESMTP" ]
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
}

@test "relay clients and authenticated clients are never judged" {
	conf 'dnsbl bl.test'
	echo '192.0.2.1 relay' >"$CONF/clients"
	session 192.0.2.1 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	! grep -q 'dnsbl:' "$LOG" || false
	rm "$CONF/clients"
	conf authplaintext yes
	conf authdelay 0
	printf 'a@b.example:%s\n' "$(openssl passwd -6 -salt pstrn pw)" >"$CONF/passwd"
	session 192.0.2.1 "EHLO c\nAUTH PLAIN $(printf '\0a@b.example\0pw' | base64)\nMAIL FROM:<a@b.example>\nRCPT TO:<u@example.org>\nQUIT\n"
	[[ "$output" == *"235 2.7.0 Authentication successful"* ]]
	[[ "$output" == *"250 2.1.5 Ok"* ]]
	[[ "$output" != *"blocked using"* ]]
}

@test "rhsbl: a sender whose domain is listed is refused at RCPT; the next MAIL is judged afresh" {
	conf 'rhsbl rhs.test'
	session 192.0.2.2 'HELO c\nMAIL FROM:<x@spam.example>\nRCPT TO:<u@example.org>\nRSET\nMAIL FROM:<x@good.example>\nRCPT TO:<u@example.org>\nRSET\nMAIL FROM:<>\nRCPT TO:<u@example.org>\nQUIT\n'
	[ "${lines[3]}" = "554 5.7.1 Service unavailable; Sender address [x@spam.example] blocked using rhs.test; Domain listed" ]
	[ "${lines[6]}" = "250 2.1.5 Ok" ]
	[ "${lines[9]}" = "250 2.1.5 Ok" ]
	grep -q 'rhsbl: client=192.0.2.2 from=<x@spam.example> zone=rhs.test value=127.0.0.2' "$LOG"
}

@test "a list that does not answer is skipped and logged, within one dnstimeout for all of them" {
	# a nameserver that takes every query and never answers
	python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.3", 53))
open("'"$TESTDIR"'/silent", "w").close()
while True:
    s.recv(512)' &
	SILENT_PID=$!
	for _ in $(seq 100); do [ -e "$TESTDIR/silent" ] && break; sleep 0.1; done
	echo 'nameserver 127.0.0.3' >"$TESTDIR/resolv.conf"
	conf 'dnstimeout 2'
	local z
	for z in a b c d e f; do conf "dnsbl $z.bl.test"; done
	conf 'rhsbl rhs.test'
	local start=$SECONDS
	session 192.0.2.1 'HELO c\nMAIL FROM:<x@spam.example>\nRCPT TO:<u@example.org>\nRCPT TO:<v@example.org>\nQUIT\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "$(grep -c 'lookup failed or timed out; skipped' "$LOG")" -eq 7 ]
	# seven lookups, in parallel: about 2 s, never 7 x 2
	[ $((SECONDS - start)) -lt 10 ]
}

@test "a nameserver that refuses the zone: the list is skipped, the client accepted" {
	conf 'dnsbl elsewhere.example'
	session 192.0.2.1 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	grep -q 'dnsbl: zone=elsewhere.example name=1.2.0.192.elsewhere.example lookup failed or timed out; skipped' "$LOG"
}

@test "bad dnsbl lines are reported and ignored" {
	printf 'hostname mx.test\nlog stderr\ndnsbl bl.test=127.0.0.[2..1]\ndnsbl bl.test=127.0.0\ndnswl wl.test*3\ndnsbl -bad-.test\ndnsblthreshold 0\ndnsbl bl.test*x\n' >"$CONF/smtpd.conf"
	session 192.0.2.1 "$ONE"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "$(grep -c 'bad value; line ignored' "$LOG")" -eq 6 ]
}
