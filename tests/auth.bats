#!/usr/bin/env bats
# SMTP AUTH (PLAIN, LOGIN): the passwd file, checkpassword, failures,
# relaying after login, the submission profile, and implicit TLS.

load helper

setup() {
	setup_postern
	conf authdelay 0
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret-alice)" >"$CONF/passwd"
	if command -v mkpasswd >/dev/null; then
		printf 'bob@example.org:%s\n' "$(mkpasswd -m yescrypt 'b0b-pass')" >>"$CONF/passwd"
	fi
	STUNNEL_PID=
}
teardown() {
	[ -n "$STUNNEL_PID" ] && kill "$STUNNEL_PID" 2>/dev/null
	teardown_postern
}

b64() { printf "$1" | base64 -w0; }

@test "AUTH is not offered on a plaintext channel by default" {
	run smtp_pipe 'EHLO c\nAUTH PLAIN\n'
	[[ "$output" != *"AUTH PLAIN LOGIN"* ]]
	[ "${lines[9]}" = "503 5.5.1 Error: authentication not enabled" ]
}

@test "AUTH PLAIN with an initial response: 235, then relaying and ESMTPA" {
	conf authplaintext yes
	run smtp_pipe "EHLO c\nAUTH PLAIN $(b64 '\0alice@example.org\0s3cret-alice')\nMAIL FROM:<alice@example.org>\nRCPT TO:<x@remote.test>\nDATA\nx\n.\n"
	[ "${lines[8]}" = "250-AUTH PLAIN LOGIN" ]
	[ "${lines[10]}" = "235 2.7.0 Authentication successful" ]
	[ "${lines[12]}" = "250 2.1.5 Ok" ]
	queued_messages | grep -q 'with ESMTPA$'
	grep -q 'auth: client=local user=alice@example.org mechanism=PLAIN status=ok' "$LOG"
	! grep -q 's3cret' "$LOG" "$QUEUE"/todo/* || false
}

@test "AUTH PLAIN in two steps, and a yescrypt hash" {
	command -v mkpasswd >/dev/null || skip "mkpasswd (package whois) is not installed"
	conf authplaintext yes
	run smtp_pipe "EHLO c\nAUTH PLAIN\n$(b64 '\0bob@example.org\0b0b-pass')\n"
	[ "${lines[10]}" = "334 " ]
	[ "${lines[11]}" = "235 2.7.0 Authentication successful" ]
}

@test "AUTH LOGIN, with and without an initial response" {
	conf authplaintext yes
	run smtp_pipe "EHLO c\nAUTH LOGIN\n$(b64 alice@example.org)\n$(b64 s3cret-alice)\n"
	[ "${lines[10]}" = "334 VXNlcm5hbWU6" ]
	[ "${lines[11]}" = "334 UGFzc3dvcmQ6" ]
	[ "${lines[12]}" = "235 2.7.0 Authentication successful" ]
	run smtp_pipe "EHLO c\nAUTH LOGIN $(b64 alice@example.org)\n$(b64 s3cret-alice)\n"
	[ "${lines[10]}" = "334 UGFzc3dvcmQ6" ]
	[ "${lines[11]}" = "235 2.7.0 Authentication successful" ]
}

@test "wrong password: 535 5.7.8 after authdelay; the limit ends with 421" {
	conf authplaintext yes
	conf authmaxfail 2
	sed -i 's/^authdelay 0$/authdelay 1/' "$CONF/smtpd.conf"
	local bad
	bad=$(b64 '\0alice@example.org\0wrong-guess')
	SECONDS=0
	run smtp_pipe "EHLO c\nAUTH PLAIN $bad\nAUTH PLAIN $bad\nNOOP\n"
	[ "${lines[10]}" = "535 5.7.8 Error: authentication failed" ]
	[ "${lines[11]}" = "535 5.7.8 Error: authentication failed" ]
	[ "${lines[12]}" = "421 4.7.0 mx.test Error: too many authentication failures" ]
	[ "${#lines[@]}" -eq 13 ]
	[ "$SECONDS" -ge 2 ]
	[ "$(grep -c 'status=failed' "$LOG")" -eq 2 ]
	! grep -q 'wrong-guess' "$LOG" || false
}

@test "unknown users, acting for another user, and relaying refused without AUTH" {
	conf authplaintext yes
	run smtp_pipe "EHLO c\nAUTH PLAIN $(b64 '\0mallory@example.org\0s3cret-alice')\nAUTH PLAIN $(b64 'bob@example.org\0alice@example.org\0s3cret-alice')\nMAIL FROM:<a@b.test>\nRCPT TO:<x@remote.test>\n"
	[ "${lines[10]}" = "535 5.7.8 Error: authentication failed" ]
	[ "${lines[11]}" = "535 5.7.8 Error: authentication failed" ]
	[ "${lines[13]}" = "554 5.7.1 Error: relay access denied" ]
}

@test "malformed exchanges: 501; cancel with *; AUTH after MAIL 503; unknown mechanism 504" {
	conf authplaintext yes
	run smtp_pipe "EHLO c\nAUTH PLAIN not*base64\nAUTH LOGIN\n*\nAUTH CRAM-MD5\nAUTH PLAIN $(b64 'no-nuls-here')\nMAIL FROM:<a@b.test>\nAUTH PLAIN $(b64 '\0alice@example.org\0s3cret-alice')\nHELO c\nAUTH PLAIN\n"
	[ "${lines[10]}" = "501 5.5.2 Error: malformed authentication response" ]
	[ "${lines[11]}" = "334 VXNlcm5hbWU6" ]
	[ "${lines[12]}" = "501 5.0.0 Error: authentication canceled" ]
	[ "${lines[13]}" = "504 5.5.4 Error: unsupported authentication mechanism" ]
	[ "${lines[14]}" = "501 5.5.2 Error: malformed PLAIN response" ]
	[ "${lines[16]}" = "503 5.5.1 Error: AUTH not allowed in a mail transaction" ]
	[ "${lines[18]}" = "503 5.5.1 Error: authentication not enabled" ]
}

@test "checkpassword: djb's interface on descriptor 3" {
	rm "$CONF/passwd"
	cat >"$TESTDIR/checkpw" <<'SH'
#!/bin/sh
# user NUL password NUL timestamp NUL on fd 3; run "$@" when right
IFS= read -r -d '' user <&3; IFS= read -r -d '' pass <&3
[ "$user" = carol@example.org ] && [ "$pass" = "c4rol pw" ] && exec "$@"
exit 1
SH
	sed -i '1s|.*|#!/bin/bash|' "$TESTDIR/checkpw"
	chmod +x "$TESTDIR/checkpw"
	conf authplaintext yes
	conf "checkpassword $TESTDIR/checkpw"
	run smtp_pipe "EHLO c\nAUTH PLAIN $(b64 '\0carol@example.org\0c4rol pw')\n"
	[ "${lines[10]}" = "235 2.7.0 Authentication successful" ]
	run smtp_pipe "EHLO c\nAUTH PLAIN $(b64 '\0carol@example.org\0nope')\n"
	[ "${lines[10]}" = "535 5.7.8 Error: authentication failed" ]
	printf '#!/bin/sh\nexit 111\n' >"$TESTDIR/checkpw"
	run smtp_pipe "EHLO c\nAUTH PLAIN $(b64 '\0carol@example.org\0c4rol pw')\n"
	[ "${lines[10]}" = "454 4.7.0 Temporary authentication failure" ]
}

@test "submission: MAIL needs AUTH (530 5.7.0); a user sends only as itself" {
	conf authplaintext yes
	conf submission yes
	run smtp_pipe "EHLO c\nMAIL FROM:<alice@example.org>\nAUTH PLAIN $(b64 '\0alice@example.org\0s3cret-alice')\nMAIL FROM:<bob@example.org>\nMAIL FROM:<Alice@Example.org>\nRCPT TO:<x@remote.test>\n"
	[ "${lines[10]}" = "530 5.7.0 Error: authentication required" ]
	[ "${lines[11]}" = "235 2.7.0 Authentication successful" ]
	[ "${lines[12]}" = "553 5.7.1 Error: sender address not owned by the user" ]
	[ "${lines[13]}" = "250 2.1.0 Ok" ]
	[ "${lines[14]}" = "250 2.1.5 Ok" ]
}

@test "real clients over a socket: swaks and smtplib log in" {
	conf authplaintext yes
	start_socket_server
	run swaks --server 127.0.0.1 --port "$PORT" --auth PLAIN --auth-user alice@example.org --auth-password s3cret-alice --from alice@example.org --to x@remote.test
	[ "$status" -eq 0 ]
	[[ "$output" == *"<-  235 2.7.0 Authentication successful"* ]]
	run swaks --server 127.0.0.1 --port "$PORT" --auth LOGIN --auth-user alice@example.org --auth-password s3cret-alice --from alice@example.org --to x@remote.test
	[ "$status" -eq 0 ]
	run python3 - "$PORT" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.login("alice@example.org", "s3cret-alice")
    print(s.sendmail("alice@example.org", ["y@remote.test"], "Subject: py\r\n\r\nx\r\n"))
PY
	[ "$output" = "{}" ]
	[ "$(queued_count)" -eq 3 ]
	! grep -q 's3cret' "$LOG" || false
}

@test "implicit TLS: stunnel in front of smtpd -S; AUTH offered, ESMTPSA" {
	command -v stunnel4 >/dev/null || skip "stunnel4 is not installed"
	command -v openssl >/dev/null || skip "openssl is not installed"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	PORT=$(free_port)
	printf '%s\n' 'foreground = yes' 'pid =' '[smtps]' \
	    "accept = 127.0.0.1:$PORT" "cert = $TESTDIR/cert.pem" \
	    "key = $TESTDIR/key.pem" "exec = $SMTPD" \
	    "execArgs = smtpd -S -C $CONF -Q $QUEUE" >"$TESTDIR/stunnel.conf"
	stunnel4 "$TESTDIR/stunnel.conf" 2>"$TESTDIR/stunnel.log" &
	STUNNEL_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run swaks --server 127.0.0.1 --port "$PORT" --tls-on-connect --auth PLAIN --auth-user alice@example.org --auth-password s3cret-alice --from alice@example.org --to x@remote.test
	echo "$output" | tail -20
	[ "$status" -eq 0 ]
	[[ "$output" == *"250-AUTH PLAIN LOGIN"* ]]
	queued_messages | grep -q ' with ESMTPSA$'
}
