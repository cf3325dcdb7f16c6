#!/usr/bin/env bats
# SMTP commands and the policy table of SPEC, through a pipe session.

load helper

setup() { setup_postern; }
teardown() { teardown_postern; }

@test "greeting, EHLO keywords and QUIT; exit status 0" {
	run smtp_pipe 'EHLO client.test\nQUIT\n'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "220 mx.test ESMTP" ]
	[ "${lines[1]}" = "250-mx.test" ]
	[ "${lines[2]}" = "250-PIPELINING" ]
	[ "${lines[3]}" = "250-SIZE 26214400" ]
	[ "${lines[4]}" = "250-8BITMIME" ]
	[ "${lines[5]}" = "250-ENHANCEDSTATUSCODES" ]
	[ "${lines[6]}" = "250-SMTPUTF8" ]
	[ "${lines[7]}" = "250-DSN" ]
	[ "${lines[8]}" = "250 CHUNKING" ]
	[ "${lines[9]}" = "221 2.0.0 mx.test closing connection" ]
}

@test "banner and maxsize come from smtpd.conf" {
	conf banner Postern mail service
	conf maxsize 1000
	run smtp_pipe 'EHLO c\nQUIT\n'
	[ "${lines[0]}" = "220 mx.test Postern mail service" ]
	[ "${lines[3]}" = "250-SIZE 1000" ]
}

@test "HELO answers without an enhanced code" {
	run smtp_pipe 'HELO client.test\n'
	[ "${lines[1]}" = "250 mx.test" ]
}

@test "HELO and EHLO need an argument" {
	run smtp_pipe 'HELO\nEHLO \n'
	[ "${lines[1]}" = "501 5.5.2 Syntax: HELO hostname" ]
	[ "${lines[2]}" = "501 5.5.2 Syntax: EHLO hostname" ]
}

@test "MAIL, RCPT and DATA before HELO get 503 5.5.1" {
	run smtp_pipe 'MAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\n'
	[ "${lines[1]}" = "503 5.5.1 Error: send HELO/EHLO first" ]
	[ "${lines[2]}" = "503 5.5.1 Error: send HELO/EHLO first" ]
	[ "${lines[3]}" = "503 5.5.1 Error: send HELO/EHLO first" ]
}

@test "unknown command 500 5.5.1; SEND SOML SAML TURN 502 5.5.1" {
	run smtp_pipe 'FOO\nSEND\nSOML\nSAML\nturn\n'
	[ "${lines[1]}" = "500 5.5.1 Error: command not recognized" ]
	for i in 2 3 4 5; do
		[ "${lines[$i]}" = "502 5.5.1 Error: command not implemented" ]
	done
}

@test "NOOP, RSET, HELP, VRFY and EXPN" {
	run smtp_pipe 'NOOP\nRSET\nHELP\nVRFY user\nEXPN list\n'
	[ "${lines[1]}" = "250 2.0.0 Ok" ]
	[ "${lines[2]}" = "250 2.0.0 Ok" ]
	[[ "${lines[3]}" == "214-2.0.0 "* ]]
	[ "${lines[5]}" = "214 2.0.0 End of HELP information" ]
	[ "${lines[6]}" = "252 2.5.2 Cannot VRFY user, but will accept message" ]
	[ "${lines[7]}" = "502 5.5.1 Error: EXPN not available" ]
}

@test "HELP lists AUTH and STARTTLS only where this session offers them" {
	run smtp_pipe 'HELP
'
	[ "${lines[2]}" = "214-2.0.0 NOOP QUIT VRFY EXPN HELP" ]
	printf 'u@example.org:%s\n' "$(openssl passwd -6 -salt pstrn pw)" >"$CONF/passwd"
	conf authplaintext yes
	run smtp_pipe 'HELP
'
	[ "${lines[2]}" = "214-2.0.0 NOOP QUIT VRFY EXPN HELP AUTH" ]
	run env SSLCTLFD=6 SSLREADFD=7 SSLWRITEFD=7 sh -c "printf 'HELP\n' | '$SMTPD' -C '$CONF' -Q '$QUEUE' 6</dev/null 7>/dev/null 2>/dev/null | tr -d '\r'"
	[ "${lines[2]}" = "214-2.0.0 NOOP QUIT VRFY EXPN HELP AUTH STARTTLS" ]
}

@test "MAIL without FROM: is 501 5.5.2, an unparsable path 501 5.1.7" {
	run smtp_pipe 'EHLO c\nMAIL <a@b.test>\nMAIL FROM:<a@@b>\nMAIL FROM:<a@b.test\nMAIL FROM:<user@remote.test@example.org>\n'
	[ "${lines[9]}" = "501 5.5.2 Syntax: MAIL FROM:<address>" ]
	[ "${lines[10]}" = "501 5.1.7 Error: bad sender address syntax" ]
	[ "${lines[11]}" = "501 5.1.7 Error: bad sender address syntax" ]
	[ "${lines[12]}" = "501 5.1.7 Error: bad sender address syntax" ]
	grep -q 'reject: cmd=MAIL' "$LOG"
}

@test "RCPT before MAIL 503; bad recipient syntax 501 5.1.3; nested MAIL 503" {
	run smtp_pipe 'HELO c\nRCPT TO:<u@example.org>\nMAIL FROM:<>\nMAIL FROM:<>\nRCPT TO:<u@exa mple.org>\nRCPT TO:<>\n'
	[ "${lines[2]}" = "503 5.5.1 Error: need MAIL command" ]
	[ "${lines[3]}" = "250 2.1.0 Ok" ]
	[ "${lines[4]}" = "503 5.5.1 Error: nested MAIL command" ]
	[ "${lines[5]}" = "501 5.1.3 Error: bad recipient address syntax" ]
	[ "${lines[6]}" = "501 5.1.3 Error: bad recipient address syntax" ]
}

@test "relay denied: 554 5.7.1 for a domain that is not ours, logged" {
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<x@remote.test>\nRCPT TO:<x@[127.0.0.1]>\n'
	[ "${lines[3]}" = "554 5.7.1 Error: relay access denied" ]
	[ "${lines[4]}" = "554 5.7.1 Error: relay access denied" ]
	grep -q 'reject: cmd=RCPT client=local helo=c from=<a@b.test> to=<x@remote.test> reason="554 5.7.1' "$LOG"
}

@test "relaydomains are accepted from anyone" {
	echo backup.test >"$CONF/relaydomains"
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<x@BACKUP.test>\nRCPT TO:<x@sub.backup.test>\nRCPT TO:<x@notbackup.test>\n'
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	# the domain itself, not its subdomains, nor names that end alike
	[ "${lines[4]}" = "554 5.7.1 Error: relay access denied" ]
	[ "${lines[5]}" = "554 5.7.1 Error: relay access denied" ]
}

@test "SIZE over maxsize at MAIL: 552 5.3.4; bad SIZE 501 5.5.4" {
	conf maxsize 1000
	run smtp_pipe 'EHLO c\nMAIL FROM:<a@b.test> SIZE=1001\nMAIL FROM:<a@b.test> SIZE=x\nMAIL FROM:<a@b.test> SIZE=1000\n'
	[ "${lines[9]}" = "552 5.3.4 Error: message size exceeds fixed limit" ]
	[ "${lines[10]}" = "501 5.5.4 Error: bad SIZE parameter" ]
	[ "${lines[11]}" = "250 2.1.0 Ok" ]
}

@test "MAIL parameters: BODY, SMTPUTF8, unknown ones, and none after HELO" {
	run smtp_pipe 'EHLO c\nMAIL FROM:<a@b.test> BODY=8BITMIME SMTPUTF8\nRSET\nMAIL FROM:<a@b.test> BODY=BINARYMIME\nMAIL FROM:<a@b.test> XFOO=BAR\nHELO c\nMAIL FROM:<a@b.test> SIZE=10\n'
	[ "${lines[9]}" = "250 2.1.0 Ok" ]
	[ "${lines[11]}" = "501 5.5.4 Error: unsupported BODY type" ]
	[ "${lines[12]}" = "555 5.5.4 Error: unsupported parameter" ]
	[ "${lines[14]}" = "555 5.5.4 Error: parameters need EHLO" ]
}

@test "more than maxrcpt recipients: 452 4.5.3 for each extra one" {
	conf maxrcpt 2
	run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<x@remote.test>\nRCPT TO:<u1@example.org>\nRCPT TO:<u2@example.org>\nRCPT TO:<u3@example.org>\nRCPT TO:<u4@example.org>\n'
	[ "${lines[3]}" = "554 5.7.1 Error: relay access denied" ]
	[ "${lines[4]}" = "250 2.1.5 Ok" ]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
	[ "${lines[6]}" = "452 4.5.3 Error: too many recipients" ]
	[ "${lines[7]}" = "452 4.5.3 Error: too many recipients" ]
}

@test "DATA without recipients: 503, or 554 when every RCPT was refused" {
	run smtp_pipe 'HELO c\nDATA\nMAIL FROM:<a@b.test>\nDATA\nRCPT TO:<x@remote.test>\nDATA\n'
	[ "${lines[2]}" = "503 5.5.1 Error: need MAIL command" ]
	[ "${lines[4]}" = "503 5.5.1 Error: need RCPT command" ]
	[ "${lines[6]}" = "554 5.5.1 Error: no valid recipients" ]
	[ "$(queued_count)" -eq 0 ]
}

@test "command lines: 512 octets, or 4096 with ESMTP parameters" {
	local long510 long600 huge
	long510=$(printf 'NOOP %0505d' 0)		# 510 + CRLF = 512
	long600=$(printf 'NOOP %0506d' 0)		# 511 + CRLF = 513: one too many
	huge=$(printf 'MAIL FROM:<a@b.test> SIZE=1 %05000d' 0)
	run smtp_pipe "EHLO c\r\n$long510\r\n$long600\r\n$huge\r\nNOOP\r\n"
	[ "${lines[9]}" = "250 2.0.0 Ok" ]
	[ "${lines[10]}" = "500 5.5.2 Error: line too long" ]
	[ "${lines[11]}" = "500 5.5.2 Error: line too long" ]
	[ "${lines[12]}" = "250 2.0.0 Ok" ]
}

@test "a MAIL line over 512 octets is accepted only with parameters" {
	local pad
	pad=$(printf '%500s' '')
	run smtp_pipe "EHLO c\nMAIL FROM:<a@b.test> SIZE=1 $pad BODY=8BITMIME\nRSET\nMAIL FROM:<a@b.test> $pad\n"
	[ "${lines[9]}" = "250 2.1.0 Ok" ]
	[ "${lines[11]}" = "500 5.5.2 Error: line too long" ]
}

@test "maxerrors: the reply that reaches it is sent, then 421 4.7.0" {
	conf maxerrors 3
	run smtp_pipe 'FOO\nBAR\nBAZ\nNOOP\n'
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = "500 5.5.1 Error: command not recognized" ]
	[ "${lines[4]}" = "421 4.7.0 mx.test Error: too many errors" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "every 2xx, 4xx and 5xx reply carries an enhanced status code" {
	run smtp_pipe 'HELO c\nNOOP\nFOO\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nRCPT TO:<x@remote.test>\nDATA\nhi\n.\nVRFY x\nRSET\nQUIT\n'
	local line n=0
	for line in "${lines[@]:2}"; do
		case $line in
		354*) ;;
		*) [[ "$line" =~ ^[245][0-9][0-9][\ -][245]\.[0-9]{1,3}\.[0-9]{1,3}\  ]] || { echo "bad: $line"; false; }
		   n=$((n + 1)) ;;
		esac
	done
	[ "$n" -eq 9 ]
}

@test "control characters in a command: 500 5.5.2" {
	run smtp_pipe 'NOOP a\rb\nNO\000OP\n'
	[ "${lines[1]}" = "500 5.5.2 Error: invalid character in command" ]
	[ "${lines[2]}" = "500 5.5.2 Error: invalid character in command" ]
}

@test "commands are case-insensitive; EOF ends the session with status 0" {
	run smtp_pipe 'ehlo c\nmail from:<a@b.test>\nrcpt to:<U@EXAMPLE.ORG>\n'
	[ "$status" -eq 0 ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	grep -q 'disconnect client=local messages=0' "$LOG"
}

# syslog_session WITH-SOCKET: one session logging to syslog in a mount
# namespace whose /dev is empty but for, if asked, a syslog socket served
# by tests/syslogd.py; the syscalls go to $TESTDIR/strace.
syslog_session() {
	conf log syslog
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	printf 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\nQUIT\n' >"$TESTDIR/in"
	unshare -m bash -c '
	    mount -t tmpfs none /dev || exit 1
	    if [ "$1" = yes ]; then
	        python3 "$2" /dev/log "$3" & d=$!
	        while [ ! -e /dev/log.ready ]; do sleep 0.05; done
	    fi
	    strace -f -e trace=socket,connect -o "$4" "$5" -C "$6" -Q "$7" <"$8" >"$9"
	    [ -z "${d:-}" ] || wait "$d"' _ "$1" "$TOP/tests/syslogd.py" \
	    "$TESTDIR/syslog" "$TESTDIR/strace" "$SMTPD" "$CONF" "$QUEUE" \
	    "$TESTDIR/in" "$TESTDIR/out"
}

@test "log syslog: lines reach the syslog socket as mail.*, over one connection" {
	command -v strace >/dev/null || skip "strace is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private /dev needs a mount namespace: root"
	unshare -m true 2>/dev/null || skip "mount namespaces are not allowed here"
	syslog_session yes
	cat "$TESTDIR/syslog"
	grep -q '^<22>.* postern/smtpd\[[0-9]*\]: connect client=local$' "$TESTDIR/syslog"
	grep -q '^<22>.* postern/smtpd\[[0-9]*\]: queued id=' "$TESTDIR/syslog"
	[ "$(wc -l <"$TESTDIR/syslog")" -ge 3 ]
	[ "$(grep -c 'connect(.*/dev/log' "$TESTDIR/strace")" -eq 1 ]
	grep -q '^250 2.0.0 Ok: queued as ' "$TESTDIR/out"
}

@test "log syslog without a syslog socket: no connect per line, the session unharmed" {
	command -v strace >/dev/null || skip "strace is not installed"
	[ "$(id -u)" -eq 0 ] || skip "a private /dev needs a mount namespace: root"
	unshare -m true 2>/dev/null || skip "mount namespaces are not allowed here"
	syslog_session no
	cat "$TESTDIR/strace"
	! grep -q 'connect(' "$TESTDIR/strace" || false
	grep -q '^250 2.0.0 Ok: queued as ' "$TESTDIR/out"
}

@test "log lines are safe on a terminal: C1, bidi and invalid UTF-8 escaped, printable UTF-8 kept" {
	# HELO: a raw CSI octet; RCPT (SMTPUTF8): U+009B as UTF-8, U+202E
	# (right-to-left override), and a printable é
	printf 'EHLO a\x9b[31mb\r\nMAIL FROM:<a@b.test> SMTPUTF8\r\nRCPT TO:<x\xc2\x9by\xe2\x80\xaez\xc3\xa9@remote.test>\r\nQUIT\r\n' |
	    "$SMTPD" -C "$CONF" -Q "$QUEUE" 2>"$LOG" >/dev/null
	cat -v "$LOG"
	grep -qF 'helo=a\x9b[31mb' "$LOG"
	grep -qF 'to=<x\xc2\x9by\xe2\x80\xaezé@remote.test>' "$LOG"
	# not one octet of a C1 control or of U+202E left raw
	! LC_ALL=C grep -q "$(printf '[\x80-\x9f]')" <(sed 's/é//g' "$LOG") || false
	! grep -q "$(printf '\xe2\x80\xae')" "$LOG" || false
}
