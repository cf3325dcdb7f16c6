#!/usr/bin/env bats
# pop3d with real clients: poplib over STLS, curl, fetchmail pulling
# mail that came in through smtpd and deliver; and memory with a
# 10,000-message, 1 GB mailbox.

load helper

POP3D=$TOP/pop3d

setup() {
	setup_postern
	conf authplaintext yes
	conf authdelay 0
	conf "mailroot $TESTDIR/mail"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret)" >"$CONF/passwd"
	MAILDIR=$TESTDIR/mail/example.org/alice
	mkdir -p "$MAILDIR/new" "$MAILDIR/cur" "$MAILDIR/tmp"
	WRAP_PID=
}
teardown() {
	[ -n "$WRAP_PID" ] && { kill "$WRAP_PID" 2>/dev/null; wait "$WRAP_PID" 2>/dev/null; }
	teardown_postern
}

start_pop_server() {
	PORT=$(free_port)
	socket_activate --accept --inetd -l "127.0.0.1:$PORT" \
	    "$POP3D" -C "$CONF" 2>"$LOG" &
	SERVER_PID=$!
	wait_port 127.0.0.1 "$PORT"
}

# start_stls_wrapper UCSPITLS: pop3d behind the test's UCSPI-TLS wrapper
# on $PORT, with a fresh certificate; UCSPITLS "unset" sets none.
start_stls_wrapper() {
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	PORT=$(free_port)
	python3 "$TOP/tests/ucspitls.py" "$PORT" "$TESTDIR/cert.pem" "$TESTDIR/key.pem" "$1" \
	    "$POP3D" -C "$CONF" 2>"$LOG" &
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
}

# Mail for alice through smtpd's queue and deliver, as in production.
receive_and_deliver() {	# receive_and_deliver SUBJECT
	smtp_pipe "EHLO c\nMAIL FROM:<bob@remote.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: $1\n\nHello from $1.\n..leading dot\n.\nQUIT\n" >/dev/null
	"$TOP/deliver" -C "$CONF" -Q "$QUEUE" 2>>"$LOG"
}

@test "STLS through a UCSPI-TLS wrapper: poplib starts TLS, then logs in" {
	sed -i '/authplaintext/d' "$CONF/smtpd.conf"
	printf 'Subject: tls\n\nsecret text\n' >"$MAILDIR/new/1700000000.M1P1Q1.h"
	start_stls_wrapper unset
	run python3 - "$PORT" <<'PY'
import poplib, ssl, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
before = p.capa()
print("before:", "STLS" in before, "USER" in before)
try:
    p.user("alice@example.org")
except poplib.error_proto as e:
    print(e.args[0].decode())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
print(p.stls(ctx).decode())
after = p.capa()
print("after:", "STLS" in after, "USER" in after)
p.user("alice@example.org"); p.pass_("s3cret")
print(b"\n".join(p.retr(1)[1]).decode())
p.quit()
PY
	echo "$output"
	[ "${lines[0]}" = "before: True False" ]
	[ "${lines[1]}" = "-ERR [AUTH] Plaintext authentication needs TLS: use STLS" ]
	[ "${lines[2]}" = "+OK Begin TLS negotiation" ]
	[ "${lines[3]}" = "after: False True" ]
	[ "${lines[5]}" = "secret text" ]
	grep -q 'tls: SSL_PROTOCOL=TLS' "$LOG"
}

@test "UCSPITLS=- behind the wrapper: no STLS offered, STLS refused, no plaintext login" {
	sed -i '/authplaintext/d' "$CONF/smtpd.conf"
	start_stls_wrapper -
	run python3 - "$PORT" <<'PY'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
print("STLS" in p.capa())
for cmd in ("STLS", "USER alice@example.org"):
    try:
        p._shortcmd(cmd)
    except poplib.error_proto as e:
        print(e.args[0].decode())
p.quit()
PY
	echo "$output"
	[ "${lines[0]}" = False ]
	[ "${lines[1]}" = "-ERR STLS not available" ]
	[ "${lines[2]}" = "-ERR [AUTH] Plaintext authentication needs TLS" ]
}

@test "STLS: commands sent with it, before the handshake, are thrown away" {
	start_stls_wrapper unset
	run python3 - "$PORT" <<'PY'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
f = s.makefile("rb")
f.readline()
s.sendall(b"STLS\r\nUSER alice@example.org\r\nPASS s3cret\r\n")
print(f.readline().decode().strip())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s, server_hostname="mx.test")
t.sendall(b"STAT\r\n")
print(t.recv(1000).decode().strip())
PY
	echo "$output"
	[ "${lines[0]}" = "+OK Begin TLS negotiation" ]
	[ "${lines[1]}" = "-ERR Command not valid in this state" ]
}

@test "curl pop3:// lists, retrieves and deletes" {
	command -v curl >/dev/null || skip "curl is not installed"
	printf 'Subject: one\n\nfirst\n' >"$MAILDIR/new/1700000001.M1P1Q1.h"
	printf 'Subject: two\n\n.dotted\nsecond\n' >"$MAILDIR/new/1700000002.M1P1Q2.h"
	start_pop_server
	run curl -sS -u alice@example.org:s3cret "pop3://127.0.0.1:$PORT/"
	[ "$(echo "$output" | tr -d '\r')" = "$(printf '1 23\n2 34')" ]
	run curl -sS -u alice@example.org:s3cret "pop3://127.0.0.1:$PORT/2"
	[ "$(echo "$output" | tr -d '\r')" = "$(printf 'Subject: two\n\n.dotted\nsecond')" ]
	run curl -sS -u alice@example.org:s3cret -X 'DELE 1' -I "pop3://127.0.0.1:$PORT/"
	[ "$status" -eq 0 ]
	[ "$(ls "$MAILDIR/cur")" = "1700000002.M1P1Q2.h,P=34:2," ]
	run curl -sS -u alice@example.org:wrong "pop3://127.0.0.1:$PORT/"
	[ "$status" -ne 0 ]
	grep -q 'method=plain login' "$LOG"
}

@test "fetchmail pulls mail that came in through smtpd and deliver, end to end" {
	command -v fetchmail >/dev/null || skip "fetchmail is not installed"
	conf "hostname mx.test"
	receive_and_deliver first
	receive_and_deliver second
	[ "$(ls "$MAILDIR/new" | wc -l)" -eq 2 ]
	start_pop_server
	cat >"$TESTDIR/fetchmailrc" <<RC
set no syslog
poll 127.0.0.1 with proto POP3 port $PORT
    user "alice@example.org" there with password "s3cret" is "$(id -un)" here
    mda "cat >> $TESTDIR/fetched"
RC
	chmod 600 "$TESTDIR/fetchmailrc"
	run env HOME="$TESTDIR" fetchmail -f "$TESTDIR/fetchmailrc" --pidfile "$TESTDIR/fm.pid" --nosslcertck
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^Subject: ' "$TESTDIR/fetched")" -eq 2 ]
	grep -qx 'Hello from first.' "$TESTDIR/fetched"
	grep -qx '.leading dot' "$TESTDIR/fetched"
	grep -q '^Received: from c (local) by mx.test (postern)' "$TESTDIR/fetched"
	# fetchmail deletes what it fetched, at QUIT
	[ -z "$(find "$MAILDIR/cur" "$MAILDIR/new" -type f)" ]
	# (fetchmail reads with TOP, which the log does not count as retrieved)
	grep -q 'logout retrieved=.* deleted=2 kept=0' "$LOG"
}

@test "a 10,000-message, 1 GB mailbox is served with small memory" {
	# One 100 KiB message, linked 10,000 times: 1 GB to list and read,
	# 100 KiB of disk.
	python3 -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("x" * 76 + "\n") * 1347)' >"$TESTDIR/one"
	python3 - "$TESTDIR/one" "$MAILDIR/new" <<'PY'
import os, sys
for i in range(10000):
    os.link(sys.argv[1], "%s/17%08d.M%dP1Q1.host" % (sys.argv[2], i, i))
PY
	run python3 "$TOP/tests/poprss.py" alice@example.org s3cret "$POP3D" -C "$CONF"
	echo "$output"
	set -- $output
	local peak=$1
	[ "$2" -eq 10000 ]
	[ "$3" -eq $((2 * (103733 + 1349))) ]
	# a second session reads sizes from the names only
	run python3 "$TOP/tests/poprss.py" alice@example.org s3cret "$POP3D" -C "$CONF"
	set -- $output
	[ "$2" -eq 10000 ]
	if ! ldd "$POP3D" | grep -q libasan; then
		cc -O2 -o "$TESTDIR/reader" "$TOP/tests/stdin-reader.c"
		run python3 "$TOP/tests/peakrss.py" none 0 "$TESTDIR/reader"
		local empty=${lines[0]%% *}
		echo "pop3d: ${peak} KiB; a C program that only reads stdin: ${empty} KiB"
		[ $((peak - empty)) -lt 2048 ]
	fi
}

# pop3d -t: STLS with Debian's tlswrapper run afresh (tlsexec.c).
start_tlsexec_pop() {
	command -v tlswrapper >/dev/null || skip "tlswrapper is not installed"
	command -v tcpserver >/dev/null || skip "tcpserver is not installed"
	[ "$(id -u)" -eq 0 ] || skip "tlswrapper jails itself: needs root"
	sed -i '/authplaintext/d' "$CONF/smtpd.conf"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	cat "$TESTDIR/key.pem" "$TESTDIR/cert.pem" >"$TESTDIR/all.pem"
	PORT=$(free_port)
	tcpserver -HRl0 127.0.0.1 "$PORT" "$POP3D" -t "$TESTDIR/all.pem" -C "$CONF" \
	    2>"$LOG" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
}

@test "pop3d -t: STLS through Debian's tlswrapper; curl --ssl-reqd and poplib log in over it, never before" {
	command -v curl >/dev/null || skip "curl is not installed"
	printf 'Subject: tls\n\nsecret text\n' >"$MAILDIR/new/1700000000.M1P1Q1.h"
	start_tlsexec_pop
	run curl -sS --ssl-reqd -k -u alice@example.org:s3cret "pop3://127.0.0.1:$PORT/1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"secret text"* ]]
	grep -q 'pop3: client=127.0.0.1 handed to the TLS wrapper' "$LOG"
	grep -q 'pop3: client=127.0.0.1 resumed encrypted' "$LOG"
	run python3 - "$PORT" <<'PY'
import poplib, ssl, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
print("before:", "STLS" in p.capa(), "USER" in p.capa())
print(p.stls(ssl._create_unverified_context()).decode())
print("after:", "STLS" in p.capa(), "USER" in p.capa())
p.user("alice@example.org"); p.pass_("s3cret")
print(p.stat())
p.quit()
PY
	echo "$output"
	[ "${lines[0]}" = "before: True False" ]
	[ "${lines[1]}" = "+OK Begin TLS negotiation" ]
	[ "${lines[2]}" = "after: False True" ]
	[ "${lines[3]}" = "(1, 29)" ]	# the message, CR LF line ends
}

@test "pop3d -t: a login sent in clear with STLS never reaches the encrypted session" {
	start_tlsexec_pop
	run python3 - "$PORT" <<'PY'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
f = s.makefile("rb")
f.readline()
s.sendall(b"STLS\r\nUSER alice@example.org\r\nPASS s3cret\r\n")
print(f.readline().decode().strip())
t = ssl._create_unverified_context().wrap_socket(s, server_hostname="mx.test")
t.sendall(b"STAT\r\n")
print(t.recv(1000).decode().strip())
PY
	echo "$output"
	[ "${lines[0]}" = "+OK Begin TLS negotiation" ]
	[ "${lines[1]}" = "-ERR Command not valid in this state" ]
}

@test "pop3d -t: fetchmail starts TLS with STLS (sslproto) and pulls the mail" {
	command -v fetchmail >/dev/null || skip "fetchmail is not installed"
	printf 'Subject: one\n\nfirst over tls\n' >"$MAILDIR/new/1700000000.M1P1Q1.h"
	printf 'Subject: two\n\nsecond over tls\n' >"$MAILDIR/new/1700000001.M1P1Q1.h"
	start_tlsexec_pop
	cat >"$TESTDIR/fetchmailrc" <<RC
set no syslog
poll 127.0.0.1 with proto POP3 port $PORT
    user "alice@example.org" there with password "s3cret" is "$(id -un)" here
    sslproto 'TLS1.2+' no sslcertck
    mda "cat >> $TESTDIR/fetched"
RC
	chmod 600 "$TESTDIR/fetchmailrc"
	run timeout 120 env HOME="$TESTDIR" fetchmail -v -f "$TESTDIR/fetchmailrc" --pidfile "$TESTDIR/fm.pid"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"STLS"* ]]
	[ "$(grep -c '^Subject: ' "$TESTDIR/fetched")" -eq 2 ]
	grep -qx 'second over tls' "$TESTDIR/fetched"
	grep -q 'pop3: client=127.0.0.1 handed to the TLS wrapper' "$LOG"
	# without authplaintext, a login only after STLS: fetchmail's went over TLS
	grep -q 'pop3: client=127.0.0.1 resumed encrypted' "$LOG"
}

@test "POP3S (995 style): tcpserver and Debian's tlswrapper in front of pop3d -S; curl pop3s:// reads" {
	command -v curl >/dev/null || skip "curl is not installed"
	command -v tlswrapper >/dev/null || skip "tlswrapper is not installed"
	command -v tcpserver >/dev/null || skip "tcpserver is not installed"
	[ "$(id -u)" -eq 0 ] || skip "tlswrapper jails itself: needs root"
	sed -i '/authplaintext/d' "$CONF/smtpd.conf"
	printf 'Subject: s\n\nimplicit tls\n' >"$MAILDIR/new/1700000000.M1P1Q1.h"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	cat "$TESTDIR/key.pem" "$TESTDIR/cert.pem" >"$TESTDIR/all.pem"
	PORT=$(free_port)
	tcpserver -HRl0 127.0.0.1 "$PORT" tlswrapper -f "$TESTDIR/all.pem" "$POP3D" -S -C "$CONF" \
	    2>"$LOG" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	WRAP_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run timeout 120 curl -sS -k -u alice@example.org:s3cret "pop3s://127.0.0.1:$PORT/1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"implicit tls"* ]]
	grep -q 'client=127.0.0.1' "$LOG"
}
