#!/usr/bin/env bats
# Authentication must not tell who exists: over-long passwords, the cost
# of refusing an unknown user, malformed PLAIN responses, APOP where TLS
# is mandatory, and case under casesensitive; in smtpd and pop3d alike.

load helper

POP3D=$TOP/pop3d

setup() {
	setup_postern
	conf authplaintext yes
	conf authdelay 0
	conf "mailroot $TESTDIR/mail"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret)" >"$CONF/passwd"
	mkdir -p "$TESTDIR/mail/example.org/alice/new" "$TESTDIR/mail/example.org/ALICE/new"
}
teardown() { teardown_postern; }

b64() { printf "$1" | base64 -w0; }

pop_pipe() {
	printf "$1" | "$POP3D" -C "$CONF" "${@:2}" 2>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[1]}"
}

long_password() {
	printf 'p%.0s' $(seq 600)
}

@test "a password of 600 octets is a wrong password: delayed, counted, the same reply for known and unknown users" {
	conf authdelay 1
	conf authmaxfail 2
	local long known unknown
	long=$(long_password)
	known=$(b64 "\\0alice@example.org\\0$long")
	unknown=$(b64 nobody@example.org)
	# the command line has room for 512 octets: the response lines more
	SECONDS=0
	run smtp_pipe "EHLO c\nAUTH PLAIN\n$known\nAUTH LOGIN\n$unknown\n$(b64 "$long")\nNOOP\n"
	echo "$output"
	[ "${lines[10]}" = "334 " ]
	[ "${lines[11]}" = "535 5.7.8 Error: authentication failed" ]
	[ "${lines[14]}" = "535 5.7.8 Error: authentication failed" ]
	[ "${lines[15]}" = "421 4.7.0 mx.test Error: too many authentication failures" ]
	[ "$SECONDS" -ge 2 ]
	SECONDS=0
	run pop_pipe "USER alice@example.org\r\nPASS $long\r\nUSER nobody@example.org\r\nPASS $long\r\n"
	echo "$output"
	[ "${lines[2]}" = "-ERR [AUTH] Authentication failed" ]
	[ "${lines[4]}" = "-ERR [AUTH] Authentication failed; too many failures, closing" ]
	[ "$SECONDS" -ge 2 ]
}

# instructions USER: what one refused AUTH PLAIN for USER costs smtpd,
# counted by callgrind (the same count on any machine, however loaded).
instructions() {
	printf "EHLO c\nAUTH PLAIN $(b64 "\\0$1\\0wrong-password")\nQUIT\n" |
	    valgrind --tool=callgrind --callgrind-out-file="$TESTDIR/cg.%p" \
	    "$SMTPD" -C "$CONF" -Q "$QUEUE" >/dev/null 2>"$TESTDIR/cg.log"
	grep -h '^summary:' "$TESTDIR"/cg.* | awk '{print $2}'
	rm -f "$TESTDIR"/cg.*
}

@test "refusing an unknown user costs what refusing a known one costs (yescrypt passwd)" {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	command -v mkpasswd >/dev/null || skip "mkpasswd (package whois) is not installed"
	printf 'alice@example.org:%s\n' "$(mkpasswd -m yescrypt s3cret)" >"$CONF/passwd"
	local known unknown
	known=$(instructions alice@example.org)
	unknown=$(instructions nobody@example.org)
	echo "known=$known unknown=$unknown"
	# within 5% of each other (a sha512-crypt dummy costs a fifth)
	[ $((unknown * 100)) -ge $((known * 95)) ]
	[ $((unknown * 100)) -le $((known * 105)) ]
}

@test "AUTH PLAIN with a third NUL is malformed: 501 in smtpd, -ERR in pop3d" {
	local bad
	bad=$(b64 '\0alice@example.org\0s3cret\0junk')
	run smtp_pipe "EHLO c\nAUTH PLAIN $bad\nMAIL FROM:<a@b.test>\nRCPT TO:<x@remote.test>\n"
	[ "${lines[10]}" = "501 5.5.2 Error: malformed PLAIN response" ]
	[ "${lines[12]}" = "554 5.7.1 Error: relay access denied" ]
	run pop_pipe "AUTH PLAIN $bad\r\nSTAT\r\n"
	[ "${lines[1]}" = "-ERR Malformed AUTH PLAIN response" ]
	[[ "${lines[2]}" == "-ERR "* ]]
}

@test "UCSPITLS=!: no APOP timestamp in the greeting, APOP refused before STLS" {
	echo 'alice@example.org:tanstaaf' >"$CONF/pop3secrets"
	local stamp digest
	# the same setup without mandatory TLS offers APOP
	run pop_pipe 'QUIT\r\n'
	[[ "${lines[0]}" == "+OK mx.test POP3 ready <"*">" ]]
	stamp=${lines[0]##* }
	digest=$(printf '%s%s' "$stamp" tanstaaf | md5sum | cut -d' ' -f1)
	run env UCSPITLS='!' SSLCTLFD=6 SSLREADFD=7 SSLWRITEFD=7 sh -c "printf 'APOP alice@example.org $digest\r\nSTAT\r\n' | '$POP3D' -C '$CONF' 2>/dev/null 6</dev/null 7>/dev/null | tr -d '\r'"
	echo "$output"
	[ "${lines[0]}" = "+OK mx.test POP3 ready" ]
	[ "${lines[1]}" = "-ERR APOP is not offered here" ]
	[[ "${lines[2]}" != "+OK"* ]]
}

@test "casesensitive yes: a login must match the local part exactly" {
	conf casesensitive yes
	echo 'alice@example.org:tanstaaf' >"$CONF/pop3secrets"
	run pop_pipe 'USER ALICE@example.org\r\nPASS s3cret\r\nUSER alice@example.org\r\nPASS s3cret\r\nQUIT\r\n'
	echo "$output"
	[ "${lines[2]}" = "-ERR [AUTH] Authentication failed" ]
	[ "${lines[4]}" = "+OK Logged in, 0 messages (0 octets)" ]
	run smtp_pipe "EHLO c\nAUTH PLAIN $(b64 '\0ALICE@example.org\0s3cret')\nAUTH PLAIN $(b64 '\0alice@EXAMPLE.ORG\0s3cret')\n"
	[ "${lines[10]}" = "535 5.7.8 Error: authentication failed" ]
	[ "${lines[11]}" = "235 2.7.0 Authentication successful" ]
	# compiled, the same
	"$TOP/postern-makedb" -C "$CONF" passwd pop3secrets >/dev/null
	run pop_pipe 'USER ALICE@example.org\r\nPASS s3cret\r\nQUIT\r\n'
	[ "${lines[2]}" = "-ERR [AUTH] Authentication failed" ]
	# and without casesensitive, case does not matter
	sed -i '/casesensitive/d' "$CONF/smtpd.conf"
	run pop_pipe 'USER ALICE@example.org\r\nPASS s3cret\r\nQUIT\r\n'
	[ "${lines[2]}" = "+OK Logged in, 0 messages (0 octets)" ]
}
