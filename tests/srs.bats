#!/usr/bin/env bats
# SRS (srsdomain, srskey): mail an alias forwards to another domain
# leaves with an SRS0 sender; a bounce to that address is accepted and
# goes back to the original sender; forged or expired ones are refused.
# The HMAC-SHA-256 under it is checked against RFC 4231's vectors.

load helper
load deliver_helper

SRSKEY=0123456789abcdef-test-key

srstool() {
	[ -x "$TESTDIR/srstool" ] ||
	    cc -std=c11 -O1 -o "$TESTDIR/srstool" "$TOP/tests/srstool.c" \
	        "$TOP/srs.c" "$TOP/sha256.c"
	"$TESTDIR/srstool" "$@"
}

srs_on() {
	conf 'srsdomain mx.test'
	echo "$SRSKEY" >"$CONF/srskey"
}

@test "HMAC-SHA-256: the test vectors of RFC 4231" {
	# test cases 1, 2, 3, 4, 6 and 7 (5 is truncated output)
	[ "$(srstool hmac 0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b 'Hi There')" = \
	    b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7 ]
	[ "$(srstool hmac 4a656665 'what do ya want for nothing?')" = \
	    5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 ]
	[ "$(srstool hmac "$(printf 'aa%.0s' $(seq 20))" "$(printf '\xdd%.0s' $(seq 50))")" = \
	    773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe ]
	[ "$(srstool hmac 0102030405060708090a0b0c0d0e0f10111213141516171819 "$(printf '\xcd%.0s' $(seq 50))")" = \
	    82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b ]
	[ "$(srstool hmac "$(printf 'aa%.0s' $(seq 131))" 'Test Using Larger Than Block-Size Key - Hash Key First')" = \
	    60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54 ]
	[ "$(srstool hmac "$(printf 'aa%.0s' $(seq 131))" 'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.')" = \
	    9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2 ]
}

@test "forwarded to another domain, a message leaves with an SRS0 sender of ours" {
	srs_on
	start_fake
	echo 'fwd@example.org: x@remote.test' >"$CONF/aliases"
	send bob@sender.example fwd@example.org
	run_deliver
	grep -q 'status=sent' "$TESTDIR/deliver.log"
	run grep '^C: MAIL FROM:' "$TESTDIR/fake/transcript"
	echo "$output"
	[[ "$output" =~ ^C:\ MAIL\ FROM:\<SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=sender.example=bob@mx.test\> ]]
	# and it reverses to the sender, with our key
	local srs=${output#*<}
	srs=${srs%%@*}
	[ "$(srstool reverse "$SRSKEY" "$srs")" = bob@sender.example ]
	# a sender of ours is left as it is
	send alice@example.org fwd@example.org
	run_deliver
	grep -q '^C: MAIL FROM:<alice@example.org>' "$TESTDIR/fake/transcript"
}

@test "a bounce to our SRS0 address is accepted and goes back to the original sender" {
	srs_on
	local srs
	srs=$(srstool forward "$SRSKEY" mx.test bob@sender.example)
	run smtp_pipe "HELO far.example\nMAIL FROM:<>\nRCPT TO:<$srs>\nDATA\nSubject: bounce\n\nno\n.\n"
	echo "$output"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
	only_envelope | grep -q 'T b o b @ s e n d e r . e x a m p l e'
}

@test "forged, damaged and expired SRS addresses are refused; without srsdomain they are ordinary addresses" {
	srs_on
	local good forged old
	good=$(srstool forward "$SRSKEY" mx.test bob@sender.example)
	forged=$(srstool forward wrong-key-wrong-key mx.test bob@sender.example)
	old=$(srstool forward "$SRSKEY" mx.test bob@sender.example 30)
	run smtp_pipe "HELO far.example\nMAIL FROM:<>\nRCPT TO:<$forged>\nRCPT TO:<$old>\nRCPT TO:<SRS0=xx@mx.test>\nRCPT TO:<$good>\n"
	echo "$output"
	[ "${lines[3]}" = "550 5.7.1 Error: invalid or expired SRS address" ]
	[ "${lines[4]}" = "550 5.7.1 Error: invalid or expired SRS address" ]
	[ "${lines[5]}" = "550 5.7.1 Error: invalid or expired SRS address" ]
	[ "${lines[6]}" = "250 2.1.5 Ok" ]
	grep -q 'srs: client=local to=<SRS0=.*> refused: bad hash' "$LOG"
	grep -q 'srs: client=local to=<SRS0=.*> refused: expired' "$LOG"
	# a key too short: SRS off, and said so
	echo short >"$CONF/srskey"
	run smtp_pipe "HELO far.example\nMAIL FROM:<>\nRCPT TO:<$good>\n"
	[ "${lines[3]}" = "550 5.1.1 Error: user unknown" ]
	grep -q 'file=srskey line=1: missing, or shorter than 16 octets: SRS is off' "$LOG"
}
