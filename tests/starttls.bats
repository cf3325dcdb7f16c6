#!/usr/bin/env bats
# STARTTLS through the UCSPI-TLS protocol, with a test-side wrapper
# (tests/ucspitls.py, playing s6-tlsd or sslserver -n) and real clients.

load helper

setup() {
	setup_postern
	command -v openssl >/dev/null || skip "openssl is not installed"
	conf authdelay 0
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret-alice)" >"$CONF/passwd"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	WRAP_PID=
}
teardown() {
	[ -n "$WRAP_PID" ] && { kill "$WRAP_PID" 2>/dev/null; wait "$WRAP_PID" 2>/dev/null; }
	teardown_postern
}

start_wrapper() {	# start_wrapper [UCSPITLS value; unset without one]
	PORT=$(free_port)
	python3 "$TOP/tests/ucspitls.py" "$PORT" "$TESTDIR/cert.pem" "$TESTDIR/key.pem" "${1:-unset}" \
	    "$SMTPD" -C "$CONF" -Q "$QUEUE" 2>"$LOG" &
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
}

@test "EHLO offers STARTTLS, and AUTH only after it; swaks --tls logs in, ESMTPSA" {
	command -v swaks >/dev/null || skip "swaks is not installed"
	start_wrapper
	run swaks --server 127.0.0.1 --port "$PORT" --tls --auth PLAIN --auth-user alice@example.org --auth-password s3cret-alice --from alice@example.org --to x@remote.test
	echo "$output" | tail -30
	[ "$status" -eq 0 ]
	[[ "$output" == *"<-  250-STARTTLS"* ]]
	[[ "$output" == *"<-  220 2.0.0 Ready to start TLS"* ]]
	[[ "$output" == *"<~  250-AUTH PLAIN LOGIN"* ]]
	[[ "$output" == *"<~  235 2.7.0 Authentication successful"* ]]
	# before TLS, no AUTH on offer
	[[ "$(echo "$output" | sed -n '/<-  250-STARTTLS/,/220 2.0.0/p')" != *"AUTH"* ]]
	queued_messages | grep -q ' with ESMTPSA$'
	grep -q 'tls: SSL_PROTOCOL=TLSv1' "$LOG"
}

@test "Python smtplib: starttls(), login(), sendmail()" {
	start_wrapper
	run python3 - "$PORT" <<'PY'
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.starttls(context=ctx)
    s.login("alice@example.org", "s3cret-alice")
    print(s.sendmail("alice@example.org", ["y@remote.test"], "Subject: tls\r\n\r\nsecret body\r\n"))
PY
	[ "$output" = "{}" ]
	queued_messages | grep -q '^secret body$'
}

@test "openssl s_client -starttls smtp" {
	start_wrapper
	run bash -c "printf 'EHLO c\r\nQUIT\r\n' | timeout 10 openssl s_client -starttls smtp -connect 127.0.0.1:$PORT -quiet 2>/dev/null | tr -d '\r'"
	[[ "$output" == *"250-AUTH PLAIN LOGIN"* ]]
	[[ "$output" == *"221 2.0.0 mx.test closing connection"* ]]
}

@test "commands pipelined after STARTTLS in the clear are discarded (CVE-2011-0411)" {
	start_wrapper
	run python3 - "$PORT" <<'PY'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
def reply(stream):
    lines = []
    while True:
        l = stream.readline().decode().rstrip("\r\n")
        lines.append(l)
        if l[3:4] != "-":
            return lines
reply(f)
s.sendall(b"EHLO c\r\n")
reply(f)
s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\n")
print(reply(f)[-1])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
tf = t.makefile("rb")
t.sendall(b"RCPT TO:<u@example.org>\r\n")
print(reply(tf)[-1])
t.sendall(b"EHLO c\r\n")
reply(tf)
t.sendall(b"RCPT TO:<u@example.org>\r\n")
print(reply(tf)[-1])
PY
	echo "$output"
	[ "${lines[0]}" = "220 2.0.0 Ready to start TLS" ]
	[ "${lines[1]}" = "503 5.5.1 Error: send HELO/EHLO first" ]
	[ "${lines[2]}" = "503 5.5.1 Error: need MAIL command" ]
}

@test "UCSPITLS=! makes TLS mandatory: 530 5.7.0 before STARTTLS" {
	start_wrapper '!'
	run smtp_raw 1 '' 1 'EHLO c\r\n' 1 'MAIL FROM:<a@b.test>\r\n' 1 'QUIT\r\n'
	[ "${lines[10]}" = "530 5.7.0 Error: must issue a STARTTLS command first" ]
}

@test "UCSPITLS=- turns TLS off behind the wrapper: no STARTTLS, and no AUTH in clear" {
	start_wrapper -
	run smtp_raw 1 '' 1 'EHLO c\r\n' 1 'STARTTLS\r\n' 1 'QUIT\r\n'
	echo "$output"
	[ "${lines[0]}" = "220 mx.test ESMTP" ]
	! echo "$output" | grep -q 'STARTTLS' || false
	! echo "$output" | grep -q 'AUTH' || false
	echo "$output" | grep -q '^503 5.5.1 Error: TLS not available$'
}

@test "without the wrapper's variables, STARTTLS is neither offered nor accepted" {
	run smtp_pipe 'EHLO c\nSTARTTLS\n'
	[[ "$(echo "$output" | grep -c '^250-STARTTLS')" -eq 0 ]]
	[ "${lines[9]}" = "503 5.5.1 Error: TLS not available" ]
}

# Debian 12's tlswrapper (0~20230101): why postern-smtpd(8) does not use
# its delayed encryption.  Both tests pass while the wrapper is as
# described; should one fail, Debian ships a wrapper that keeps clear
# text out, and the choice is to be revisited (upstream 20260428 added
# an acknowledgement pipe and drops clear text after STARTTLS).
needs_tlswrapper() {
	command -v tlswrapper-smtp >/dev/null || skip "tlswrapper is not installed"
	command -v tcpserver >/dev/null || skip "tcpserver is not installed"
	[ "$(id -u)" -eq 0 ] || skip "tlswrapper jails itself: needs root"
	cat "$TESTDIR/key.pem" "$TESTDIR/cert.pem" >"$TESTDIR/all.pem"
	PORT=$(free_port)
}

@test "Debian 12's tlswrapper-smtp executes a MAIL pipelined in clear text after STARTTLS (CVE-2011-0411): not for smtpd" {
	needs_tlswrapper
	# tlswrapper-smtp limits its child's memory, which leaves no room for
	# AddressSanitizer's shadow mappings
	! ldd "$SMTPD" | grep -q libasan || skip "tlswrapper's limits stop a sanitizer build"
	tcpserver -HRl0 127.0.0.1 "$PORT" tlswrapper -n -f "$TESTDIR/all.pem" \
	    tlswrapper-smtp -u root "$SMTPD" -C "$CONF" -Q "$QUEUE" 2>"$LOG" \
	    3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &	# tlswrapper wants fd 5 free
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run python3 "$TOP/tests/starttls_inject.py" client "$PORT"
	echo "$output"
	# the client never sent MAIL over TLS, yet its RCPT, DATA and
	# message were taken, with the sender it put in clear text
	[[ "$output" == *"tls ['250 2.0.0 Ok: queued as "* ]]
	grep -q 'queued id=.* from=<injected@evil.test>' "$LOG"
}

@test "Debian 12's tlswrapper -n: clear text that arrives between the child's last read and the switch reaches it as if encrypted" {
	needs_tlswrapper
	tcpserver -HRl0 127.0.0.1 "$PORT" tlswrapper -n -f "$TESTDIR/all.pem" \
	    python3 "$TOP/tests/starttls_inject.py" child "$TESTDIR/sync" "$TESTDIR/after" \
	    2>"$LOG" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run python3 "$TOP/tests/starttls_inject.py" client "$PORT" "$TESTDIR/sync"
	echo "$output"
	for _ in $(seq 100); do [ -e "$TESTDIR/after" ] && break; sleep 0.1; done
	cat "$TESTDIR/after"
	# the child had thrown away all it had been sent, and signalled the
	# switch; the wrapper still passed it the client's clear text, which
	# it reads after the switch, before any TLS record was decrypted
	[ "$(cat "$TESTDIR/after")" = "MAIL FROM:<injected@evil.test>"$'\r' ]
}

@test "implicit TLS with Debian's tlswrapper (no -n) in front of smtpd -S: swaks --tls-on-connect logs in, ESMTPSA, the client's address" {
	needs_tlswrapper
	command -v swaks >/dev/null || skip "swaks is not installed"
	tcpserver -HRl0 127.0.0.1 "$PORT" tlswrapper -f "$TESTDIR/all.pem" \
	    "$SMTPD" -S -C "$CONF" -Q "$QUEUE" 2>"$LOG" \
	    3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run timeout 120 swaks --server 127.0.0.1 --port "$PORT" --tls-on-connect --auth PLAIN \
	    --auth-user alice@example.org --auth-password s3cret-alice \
	    --from alice@example.org --to x@remote.test
	echo "$output" | tail -25
	[ "$status" -eq 0 ]
	[[ "$output" == *"<~  250-AUTH PLAIN LOGIN"* ]]
	[[ "$output" == *"<~  235 2.7.0 Authentication successful"* ]]
	queued_messages | grep -q ' with ESMTPSA$'
	# tlswrapper passes tcpserver's TCPREMOTEIP on
	queued_messages | grep -q '^Received: from .*\[127.0.0.1\]'
	grep -q 'client=127.0.0.1' "$LOG"
}

# smtpd -t: STARTTLS by handing the connection to Debian's tlswrapper
# (without -n) run afresh, which starts TLS from the socket's next byte.
start_tlsexec() {	# start_tlsexec [SMTPD OPTION...]
	needs_tlswrapper
	tcpserver -HRl0 127.0.0.1 "$PORT" "$SMTPD" -t "$TESTDIR/all.pem" "$@" \
	    -C "$CONF" -Q "$QUEUE" 2>"$LOG" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
}

@test "smtpd -t: STARTTLS through Debian's tlswrapper; swaks --tls logs in (ESMTPSA), openssl s_client -starttls smtp and smtplib send" {
	command -v swaks >/dev/null || skip "swaks is not installed"
	start_tlsexec
	run timeout 120 swaks --server 127.0.0.1 --port "$PORT" --tls --auth PLAIN --auth-user alice@example.org \
	    --auth-password s3cret-alice --from alice@example.org --to x@remote.test
	echo "$output" | tail -30
	[ "$status" -eq 0 ]
	[[ "$output" == *"<-  250-STARTTLS"* ]]
	[[ "$output" == *"<-  220 2.0.0 Ready to start TLS"* ]]
	[[ "$output" == *"<~  250-AUTH PLAIN LOGIN"* ]]
	[[ "$output" == *"<~  235 2.7.0 Authentication successful"* ]]
	# no AUTH before TLS, and no second greeting after it (RFC 3207)
	[[ "$(echo "$output" | sed -n '/<-  250-STARTTLS/,/220 2.0.0/p')" != *"AUTH"* ]]
	[[ "$output" != *"<~  220 "* ]]
	queued_messages | grep -q ' with ESMTPSA$'
	grep -q 'starttls: client=127.0.0.1 handed to the TLS wrapper' "$LOG"
	grep -q 'tls: client=127.0.0.1 resumed encrypted' "$LOG"
	# openssl s_client speaks the STARTTLS dialogue itself (and sends
	# all it is given at once, so only EHLO and QUIT)
	run bash -c "printf 'EHLO c\r\nQUIT\r\n' |
	    timeout 20 openssl s_client -quiet -starttls smtp -connect 127.0.0.1:$PORT 2>/dev/null"
	echo "$output"
	[[ "$output" == *"250-AUTH PLAIN LOGIN"* ]]
	[[ "$output" == *"221 2.0.0 mx.test closing connection"* ]]
	run python3 - "$PORT" <<'PY'
import smtplib, ssl, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.starttls(context=ssl._create_unverified_context())
s.login("alice@example.org", "s3cret-alice")
s.sendmail("alice@example.org", ["x@remote.test"], b"Subject: smtplib\r\n\r\nx\r\n")
s.quit()
PY
	[ "$status" -eq 0 ]
	[ "$(queued_count)" -eq 2 ]
}

@test "smtpd -t: clear text sent with STARTTLS, after its 220, or racing it never reaches the encrypted session" {
	start_tlsexec
	# in the same write: thrown away with the rest of the read
	run python3 "$TOP/tests/starttls_inject.py" client "$PORT"
	echo "$output"
	[[ "$output" == *"tls ['503 5.5.1 Error: send HELO/EHLO first']"* ]]
	# after the 220: the wrapper takes it for the TLS handshake, which fails
	run python3 "$TOP/tests/starttls_inject.py" client "$PORT" after-reply
	echo "$output"
	[[ "$output" == *"handshake failed"* ]]
	# in a second write straight after STARTTLS: one or the other
	touch "$TESTDIR/now"
	run python3 "$TOP/tests/starttls_inject.py" client "$PORT" "$TESTDIR/now"
	echo "$output"
	[[ "$output" == *"handshake failed"* || "$output" == *"tls ['503 5.5.1 Error: send HELO/EHLO first']"* ]]
	cat "$LOG"
	! grep -q 'injected@evil.test' "$LOG" || false
	[ "$(queued_count)" -eq 0 ]
}

@test "smtpd -t without root: STARTTLS is not offered (the wrapper needs root to jail itself), and the log says why" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	chmod -R a+rX "$CONF"
	chown -R nobody:nogroup "$QUEUE"
	run bash -c "printf 'EHLO c\r\nSTARTTLS\r\nQUIT\r\n' | setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    '$SMTPD' -t /nonexistent.pem -C '$CONF' -Q '$QUEUE' 2>'$LOG' | tr -d '\r'"
	echo "$output"
	cat "$LOG"
	! grep -q '250-STARTTLS' <<<"$output" || false
	grep -q '^503 5.5.1 Error: TLS not available$' <<<"$output"
	grep -q 'STARTTLS through /usr/bin/tlswrapper needs root (the wrapper jails itself): not offered' "$LOG"
}
