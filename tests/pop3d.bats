#!/usr/bin/env bats
# pop3d: RFC 1939 states and commands, UPDATE semantics, the mailbox
# lock, sizes equal to the octets sent, credentials, and real clients.

load helper

POP3D=$TOP/pop3d
LOGIN='USER alice@example.org\r\nPASS s3cret\r\n'

setup() {
	setup_postern
	conf authplaintext yes
	conf authdelay 0
	conf "mailroot $TESTDIR/mail"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret)" >"$CONF/passwd"
	MAILDIR=$TESTDIR/mail/example.org/alice
	mkdir -p "$MAILDIR/new" "$MAILDIR/cur" "$MAILDIR/tmp"
}
teardown() { teardown_postern; }

# pop_pipe 'commands': one session over a pipe, replies without CR.
pop_pipe() {
	printf "$1" | "$POP3D" -C "$CONF" 2>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[1]}"
}

add_mail() {	# add_mail NAME PRINTF-TEXT
	printf "$2" >"$MAILDIR/new/$1"
}

three_messages() {
	add_mail 1700000001.M1P1Q1.h 'Subject: one\n\nfirst body\n'
	add_mail 1700000002.M1P1Q2.h 'Subject: two\n\nsecond\nbody\nlines\n'
	add_mail 1700000003.M1P1Q3.h 'Subject: three\n\nthird\n'
}

start_pop_server() {
	PORT=$(free_port)
	socket_activate --accept --inetd -l "127.0.0.1:$PORT" \
	    "$POP3D" -C "$CONF" 2>"$LOG" &
	SERVER_PID=$!
	wait_port 127.0.0.1 "$PORT"
}

@test "greeting and CAPA: USER and SASL PLAIN offered, no STLS without a wrapper" {
	run pop_pipe 'CAPA\r\nQUIT\r\n'
	[ "${lines[0]}" = "+OK mx.test POP3 ready" ]
	[ "${lines[1]}" = "+OK Capability list follows" ]
	for cap in TOP UIDL RESP-CODES AUTH-RESP-CODE PIPELINING USER "SASL PLAIN"; do
		printf '%s\n' "${lines[@]}" | grep -qx "$cap"
	done
	! printf '%s\n' "${lines[@]}" | grep -qx STLS || false
	[ "${lines[-1]}" = "+OK Bye" ]
}

@test "TRANSACTION: STAT, LIST, UIDL, RETR, TOP, NOOP, in delivery order" {
	three_messages
	run pop_pipe "${LOGIN}"'STAT\r\nLIST\r\nLIST 2\r\nUIDL 3\r\nRETR 2\r\nTOP 2 1\r\nTOP 3 0\r\nNOOP\r\nQUIT\r\n'
	echo "$output"
	[ "${lines[2]}" = "+OK Logged in, 3 messages (90 octets)" ]
	[ "${lines[3]}" = "+OK 3 90" ]
	[ "${lines[5]}" = "1 28" ]
	[ "${lines[6]}" = "2 37" ]
	[ "${lines[7]}" = "3 25" ]
	# bats drops empty lines from $lines: the whole text, then
	[ "$(echo "$output" | sed -n '10,$p')" = "$(cat <<'END'
+OK 2 37
+OK 3 1700000003.M1P1Q3.h,P=25
+OK 37 octets
Subject: two

second
body
lines
.
+OK Top of message follows
Subject: two

second
.
+OK Top of message follows
Subject: three

.
+OK
+OK Bye
END
)" ]
	grep -q 'login messages=3 octets=90' "$LOG"
	grep -q 'logout retrieved=1 octets=37 deleted=0 kept=3' "$LOG"
}

@test "LIST sizes are the octets RETR sends: CRLF, byte-stuffing, no final newline" {
	add_mail 1700000001.M1P1Q1.h 'Subject: dots\n\n.\n..\n.leading\nend.\n'
	add_mail 1700000002.M1P1Q2.h 'Subject: crlf\r\n\r\nstored\r\nwith CRLF\r\n'
	add_mail 1700000003.M1P1Q3.h 'Subject: open\n\nno final newline'
	add_mail 1700000004.M1P1Q4.h 'Subject: bytes\n\n\xe9t\xe9 \x01\x7f bare\rCR\n'
	add_mail 1700000005.M1P1Q5.h ''
	start_pop_server
	run python3 "$TOP/tests/popwire.py" "$PORT" alice@example.org s3cret "$MAILDIR"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 5 ]
	for l in "${lines[@]}"; do
		set -- $l
		[ "$2" = "$3" ]
		[ "$4" = same ]
	done
	# the dots message: 15 + 2 + 4 + 5 + 11 + 6 octets
	[ "${lines[0]}" = "1 43 43 same" ]
	[ "${lines[4]}" = "5 0 0 same" ]
}

@test "DELE marks only: a dropped connection deletes nothing, QUIT removes" {
	three_messages
	run pop_pipe "${LOGIN}"'DELE 1\r\nDELE 3\r\n'
	[ "${lines[3]}" = "+OK Message 1 deleted" ]
	[ "$(ls "$MAILDIR/cur" | wc -l)" -eq 3 ]
	grep -q 'lost connection before QUIT: nothing deleted' "$LOG"
	run pop_pipe "${LOGIN}"'DELE 1\r\nDELE 3\r\nSTAT\r\nLIST 1\r\nRETR 3\r\nDELE 1\r\nQUIT\r\n'
	echo "$output"
	[ "${lines[5]}" = "+OK 1 37" ]
	[ "${lines[6]}" = "-ERR Message 1 already deleted" ]
	[ "${lines[7]}" = "-ERR Message 3 already deleted" ]
	[ "${lines[9]}" = "+OK Bye" ]
	[ "$(ls "$MAILDIR/cur")" = "1700000002.M1P1Q2.h,P=37:2," ]
	grep -q 'deleted=2 kept=1' "$LOG"
}

@test "a deletion that fails in UPDATE: -ERR [SYS/TEMP], never +OK, and the message kept" {
	three_messages
	# after DELE 1, the file is swapped for a directory of its name,
	# which unlink(2) cannot remove
	python3 - "$POP3D" "$CONF" "$MAILDIR" <<'PY'
import os, subprocess, sys
pop3d, conf, md = sys.argv[1:4]
p = subprocess.Popen([pop3d, "-C", conf], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def say(line):
    p.stdin.write(line.encode() + b"\r\n")
    p.stdin.flush()
    return p.stdout.readline().decode().rstrip("\r\n")
assert p.stdout.readline().startswith(b"+OK")
assert say("USER alice@example.org").startswith("+OK")
assert say("PASS s3cret").startswith("+OK")
assert say("DELE 1") == "+OK Message 1 deleted"
name = [n for n in os.listdir(md + "/cur") if n.startswith("1700000001")][0]
os.unlink(md + "/cur/" + name)
os.mkdir(md + "/cur/" + name)
reply = say("QUIT")
assert reply == "-ERR [SYS/TEMP] 1 deleted messages could not be removed", reply
p.wait(timeout=30)
PY
	[ "$(ls "$MAILDIR/cur" | wc -l)" -eq 3 ]
}

@test "RSET undeletes; QUIT in AUTHORIZATION ends without UPDATE" {
	three_messages
	run pop_pipe "${LOGIN}"'DELE 2\r\nRSET\r\nSTAT\r\nQUIT\r\n'
	[ "${lines[4]}" = "+OK 3 messages (90 octets)" ]
	[ "${lines[5]}" = "+OK 3 90" ]
	[ "$(ls "$MAILDIR/cur" | wc -l)" -eq 3 ]
	run pop_pipe 'USER alice@example.org\r\nQUIT\r\nSTAT\r\n'
	[ "${lines[2]}" = "+OK Bye" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "messages must exist: numbers out of range, zero, junk" {
	three_messages
	run pop_pipe "${LOGIN}"'RETR 4\r\nRETR 0\r\nLIST x\r\nTOP 1\r\nDELE\r\nSTAT 1\r\nQUIT\r\n'
	[ "${lines[3]}" = "-ERR No such message" ]
	[ "${lines[4]}" = "-ERR No such message" ]
	[ "${lines[5]}" = "-ERR No such message" ]
	[ "${lines[6]}" = "-ERR Usage: TOP message lines" ]
	[ "${lines[7]}" = "-ERR Wrong arguments" ]
	[ "${lines[8]}" = "-ERR Wrong arguments" ]
}

@test "commands in the wrong state, unknown commands, long lines, NUL; maxerrors closes" {
	run pop_pipe 'STAT\r\nRETR 1\r\nFOO\r\nNOOP\r\n'"$(head -c 2000 /dev/zero | tr '\0' x)"'\r\nCAPA\r\n'
	echo "$output"
	[ "${lines[1]}" = "-ERR Command not valid in this state" ]
	[ "${lines[2]}" = "-ERR Command not valid in this state" ]
	[ "${lines[3]}" = "-ERR Unknown command" ]
	[ "${lines[4]}" = "-ERR Command not valid in this state" ]
	[ "${lines[5]}" = "-ERR Line too long" ]
	[ "${lines[6]}" = "+OK Capability list follows" ]
	run pop_pipe 'NO\0OP\r\nQUIT\r\n'
	[ "${lines[1]}" = "-ERR NUL in command line" ]
	conf maxerrors 3
	run pop_pipe 'A\r\nB\r\nC\r\nD\r\n'
	[ "${lines[3]}" = "-ERR Too many errors, closing" ]
	[ "${#lines[@]}" -eq 4 ]
}

@test "new/ moves into cur/ once; flags kept; UIDLs stable across sessions" {
	three_messages
	printf 'Subject: seen\n\nold\n' >"$MAILDIR/cur/1600000000.M1P1Q0.h:2,S"
	run pop_pipe "${LOGIN}"'UIDL\r\nQUIT\r\n'
	first=$output
	[ "${lines[4]}" = "1 1600000000.M1P1Q0.h" ]
	[ -z "$(ls "$MAILDIR/new")" ]
	[ -f "$MAILDIR/cur/1600000000.M1P1Q0.h:2,S" ]
	[ -f "$MAILDIR/cur/1700000001.M1P1Q1.h,P=28:2," ]
	# another program sets a flag: the UIDL does not change
	mv "$MAILDIR/cur/1700000001.M1P1Q1.h,P=28:2," "$MAILDIR/cur/1700000001.M1P1Q1.h,P=28:2,S"
	add_mail 1700000009.M1P1Q9.h 'Subject: later\n\nx\n'
	run pop_pipe "${LOGIN}"'UIDL\r\nQUIT\r\n'
	[ "$(echo "$output" | sed -n 4,8p)" = "$(echo "$first" | sed -n 4,8p)" ]
	[ "${lines[8]}" = "5 1700000009.M1P1Q9.h,P=21" ]
}

@test "a UIDL that would break RFC 1939's limits becomes an MD5" {
	long=1700000001.M1P1Q1.$(head -c 80 /dev/zero | tr '\0' h)
	add_mail "$long" 'Subject: x\n\ny\n'
	run pop_pipe "${LOGIN}"'UIDL 1\r\nQUIT\r\n'
	expect=$(printf '%s' "$long,P=17" | md5sum | cut -d' ' -f1)
	[ "${lines[3]}" = "+OK 1 $expect" ]
}

@test "a second session on the same mailbox gets -ERR [IN-USE] until the first ends" {
	three_messages
	start_pop_server
	run python3 - "$PORT" <<'PY'
import poplib, sys
port = int(sys.argv[1])
first = poplib.POP3("127.0.0.1", port, timeout=10)
first.user("alice@example.org"); first.pass_("s3cret")
second = poplib.POP3("127.0.0.1", port, timeout=10)
second.user("alice@example.org")
try:
    second.pass_("s3cret")
    print("second: logged in")
except poplib.error_proto as e:
    print("second:", e.args[0].decode())
first.dele(1); first.quit()
print("retry:", second.user("alice@example.org").decode(), second.pass_("s3cret").decode())
second.quit()
PY
	echo "$output"
	[ "${lines[0]}" = "second: -ERR [IN-USE] Mailbox in use by another session" ]
	[ "${lines[1]}" = "retry: +OK Send PASS +OK Logged in, 2 messages (62 octets)" ]
}

@test "wrong passwords: -ERR [AUTH] after authdelay, closed after authmaxfail" {
	conf authdelay 1
	start=$(date +%s)
	run pop_pipe 'USER alice@example.org\r\nPASS wrong\r\nUSER nobody@example.org\r\nPASS s3cret\r\nUSER alice@example.org\r\nPASS bad\r\nUSER alice@example.org\r\nPASS s3cret\r\n'
	end=$(date +%s)
	echo "$output"
	[ "${lines[2]}" = "-ERR [AUTH] Authentication failed" ]
	[ "${lines[4]}" = "-ERR [AUTH] Authentication failed" ]
	[ "${lines[6]}" = "-ERR [AUTH] Authentication failed; too many failures, closing" ]
	[ "${#lines[@]}" -eq 7 ]
	[ $((end - start)) -ge 3 ]
	grep -q 'user=nobody@example.org method=user status=failed' "$LOG"
	! grep -q s3cret "$LOG" || false
	run pop_pipe 'PASS s3cret\r\n'
	[ "${lines[1]}" = "-ERR Send USER first" ]
}

@test "a login without a mailbox here, or with a Maildir from users" {
	printf 'bob@example.net:%s\n' "$(openssl passwd -6 -salt pstrn b0b)" >>"$CONF/passwd"
	run pop_pipe 'USER bob@example.net\r\nPASS b0b\r\n'
	[ "${lines[2]}" = "-ERR [SYS/PERM] No mailbox here for this user" ]
	printf 'alice@example.org %s/elsewhere/\n' "$TESTDIR" >"$CONF/users"
	mkdir -p "$TESTDIR/elsewhere/new"
	printf 'Subject: there\n\nx\n' >"$TESTDIR/elsewhere/new/1700000000.M1P1Q1.h"
	run pop_pipe "${LOGIN}"'STAT\r\nQUIT\r\n'
	[ "${lines[3]}" = "+OK 1 21" ]
}

@test "APOP with pop3secrets; the timestamp is in the greeting only then" {
	run pop_pipe 'APOP alice@example.org 0123456789abcdef0123456789abcdef\r\n'
	[ "${lines[0]}" = "+OK mx.test POP3 ready" ]
	[ "${lines[1]}" = "-ERR APOP is not offered here" ]
	three_messages
	echo 'alice@example.org:tanstaaf' >"$CONF/pop3secrets"
	start_pop_server
	run python3 - "$PORT" <<'PY'
import poplib, sys
port = int(sys.argv[1])
p = poplib.POP3("127.0.0.1", port, timeout=10)
print(p.getwelcome().decode())
print(p.apop("alice@example.org", "tanstaaf").decode())
print(p.stat())
p.quit()
p = poplib.POP3("127.0.0.1", port, timeout=10)
try:
    p.apop("alice@example.org", "wrong")
except poplib.error_proto as e:
    print(e.args[0].decode())
PY
	echo "$output"
	[[ "${lines[0]}" =~ ^\+OK\ mx.test\ POP3\ ready\ \<[0-9]+\.[0-9]+\.[0-9]+@mx.test\>$ ]]
	[ "${lines[1]}" = "+OK Logged in, 3 messages (90 octets)" ]
	[ "${lines[2]}" = "(3, 90)" ]
	[ "${lines[3]}" = "-ERR [AUTH] Authentication failed" ]
	grep -q 'method=apop login' "$LOG"
}

@test "AUTH PLAIN: initial response, two steps, cancel, a foreign authzid" {
	plain=$(printf '\0alice@example.org\0s3cret' | base64)
	other=$(printf 'bob@example.org\0alice@example.org\0s3cret' | base64)
	run pop_pipe "AUTH PLAIN $plain\r\nQUIT\r\n"
	[ "${lines[1]}" = "+OK Logged in, 0 messages (0 octets)" ]
	run pop_pipe "AUTH\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN\r\n$plain\r\nQUIT\r\n"
	echo "$output"
	[ "$(printf '%s\n' "${lines[@]:1:3}")" = "$(printf '+OK Mechanisms follow\nPLAIN\n.')" ]
	[ "${lines[4]}" = "+ " ]
	[ "${lines[5]}" = "-ERR Authentication cancelled" ]
	[ "${lines[6]}" = "+ " ]
	[ "${lines[7]}" = "+OK Logged in, 0 messages (0 octets)" ]
	run pop_pipe "AUTH PLAIN $other\r\nAUTH CRAM-MD5\r\nAUTH PLAIN !!!!\r\n"
	[ "${lines[1]}" = "-ERR [AUTH] Authentication failed" ]
	[ "${lines[2]}" = "-ERR Unrecognized authentication type" ]
	[ "${lines[3]}" = "-ERR Malformed AUTH PLAIN response" ]
}

@test "checkpassword logs a POP3 user in" {
	rm "$CONF/passwd"
	cat >"$TESTDIR/checkpw" <<'SH'
#!/bin/sh
IFS= read -r -d '' user <&3; IFS= read -r -d '' pass <&3
[ "$user" = alice@example.org ] && [ "$pass" = from-script ] && exit 0
exit 1
SH
	sed -i '1s|.*|#!/bin/bash|' "$TESTDIR/checkpw"
	chmod 755 "$TESTDIR/checkpw"
	conf "checkpassword $TESTDIR/checkpw"
	run pop_pipe 'USER alice@example.org\r\nPASS nope\r\nUSER alice@example.org\r\nPASS from-script\r\nQUIT\r\n'
	echo "$output"
	[ "${lines[2]}" = "-ERR [AUTH] Authentication failed" ]
	[ "${lines[4]}" = "+OK Logged in, 0 messages (0 octets)" ]
}

@test "without TLS, plaintext logins are refused unless authplaintext says yes" {
	sed -i '/authplaintext/d' "$CONF/smtpd.conf"
	run pop_pipe 'CAPA\r\nUSER alice@example.org\r\nAUTH PLAIN AGFAYgBj\r\n'
	! printf '%s\n' "${lines[@]}" | grep -qx USER || false
	[ "${lines[-2]}" = "-ERR [AUTH] Plaintext authentication needs TLS" ]
	[ "${lines[-1]}" = "-ERR [AUTH] Plaintext authentication needs TLS" ]
	# -S: the channel is already encrypted (port 995 behind a TLS wrapper)
	run sh -c "printf '${LOGIN}QUIT\r\n' | '$POP3D' -S -C '$CONF' 2>/dev/null | tr -d '\r'"
	echo "$output"
	[ "${lines[2]}" = "+OK Logged in, 0 messages (0 octets)" ]
}

@test "an idle client is cut off after pop3timeout; nothing is deleted" {
	three_messages
	conf pop3timeout 1
	# the client says nothing after DELE and keeps the connection open
	# until pop3d closes it: no fixed wait
	run python3 - "$POP3D" "$CONF" "$LOG" <<'PY'
import subprocess, sys
pop3d, conf, log = sys.argv[1:4]
p = subprocess.Popen([pop3d, "-C", conf], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=open(log, "w"))
p.stdin.write(b"USER alice@example.org\r\nPASS s3cret\r\nDELE 1\r\n")
p.stdin.flush()
sys.stdout.write(p.stdout.read().decode().replace("\r", ""))	# until pop3d closes
p.wait(timeout=60)
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[4]}" = "-ERR Disconnected for inactivity" ]
	[ "$(ls "$MAILDIR/cur" | wc -l)" -eq 3 ]
	grep -q 'timeout: nothing deleted' "$LOG"
}

@test "a client denied by clients gets -ERR and nothing else" {
	echo '192.0.2.0/24 deny' >"$CONF/clients"
	run sh -c "printf '${LOGIN}' | TCPREMOTEIP=192.0.2.7 '$POP3D' -C '$CONF' 2>'$LOG' | tr -d '\r'"
	[ "$output" = "-ERR [SYS/PERM] Access denied" ]
}

@test "pipelined commands are all answered, in one write where they fit" {
	three_messages
	run pop_pipe "${LOGIN}"'STAT\r\nUIDL 1\r\nLIST 3\r\nQUIT\r\n'
	[ "${#lines[@]}" -eq 7 ]
	[ "${lines[6]}" = "+OK Bye" ]
}

@test "input pipelined after QUIT is never answered, however long" {
	run sh -c "{ printf 'QUIT\r\n'; for i in \$(seq 200); do printf 'NOOP\r\n'; done; } | '$POP3D' -C '$CONF' 2>/dev/null | tr -d '\r'"
	echo "$output"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = "+OK Bye" ]
}

@test "a client that stops reading in the middle of a RETR is cut off; nothing deleted" {
	conf pop3timeout 1
	python3 -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("y" * 76 + "\n") * 100000)' >"$MAILDIR/new/1700000000.M1P1Q1.h"
	start_pop_server
	python3 - "$PORT" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"USER alice@example.org\r\nPASS s3cret\r\nDELE 1\r\nRSET\r\nRETR 1\r\n")
time.sleep(8)
PY
	local client=$! i
	# this test's pop3d (no other), sending and blocked, then cut off
	for i in $(seq 300); do pgrep -f "^$POP3D -C $CONF" >/dev/null && break; sleep 0.1; done
	pgrep -f "^$POP3D -C $CONF" >/dev/null
	for i in $(seq 300); do pgrep -f "^$POP3D -C $CONF" >/dev/null || break; sleep 0.1; done
	# the client still holds the connection open, and pop3d is gone
	kill -0 "$client"
	! pgrep -f "^$POP3D -C $CONF" >/dev/null || false
	kill "$client"
	grep -q 'lost connection before QUIT: nothing deleted' "$LOG"
	[ "$(ls "$MAILDIR/cur" | wc -l)" -eq 1 ]
}

@test "-u USER: pop3d drops privileges before reading; an unknown user is a -ERR greeting" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch users"
	add_mail 1700000001.M1P1Q1.h 'Subject: one\n\nfirst body\n'
	chown -R nobody "$TESTDIR/mail"
	chmod 644 "$CONF"/*
	run sh -c "printf '${LOGIN}STAT\r\nQUIT\r\n' | '$POP3D' -u nobody -C '$CONF' 2>/dev/null | tr -d '\r'"
	[ "${lines[3]}" = "+OK 1 28" ]
	[ "$(stat -c %U "$MAILDIR/postern-pop3.lock")" = nobody ]
	[ "$(stat -c %U "$MAILDIR/cur/1700000001.M1P1Q1.h,P=28:2,")" = nobody ]
	run sh -c "printf 'QUIT\r\n' | '$POP3D' -u no-such-user-here -C '$CONF' 2>/dev/null | tr -d '\r'"
	[ "$output" = "-ERR [SYS/TEMP] Service temporarily unavailable" ]
}
