#!/usr/bin/env bats
# contrib/: each deployment file, run as shipped (paths and ports
# substituted) under the real super-server.

load helper

setup() {
	setup_postern
	SS_PID=
}

teardown() {
	[ -n "$SS_PID" ] && { kill "$SS_PID" 2>/dev/null; wait "$SS_PID" 2>/dev/null; }
	teardown_postern
}

# The shipped paths, pointed at this build and this test's directories.
localize() {
	sed -e "s|/usr/local/libexec/postern/|$TOP/|g" -e "s|/usr/local/sbin/|$TOP/|g" \
	    -e "s|/etc/postern|$CONF|g" \
	    -e "s|/var/spool/postern|$QUEUE|g" "$@"
}

unit_value() {	# unit_value FILE KEY
	sed -n "s/^$2=//p" "$1" | tail -1
}

session_ok() {	# a message through $PORT, and the client address it saw
	run smtp_raw 1 '' 1 'HELO c\r\n' 1 'MAIL FROM:<a@b.test>\r\n' 1 'RCPT TO:<u@example.org>\r\n' 1 'DATA\r\n' 1 'Subject: deploy\r\n\r\nhi\r\n.\r\n' 1 'QUIT\r\n'
	echo "$output"
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
	queued_messages | grep -q '^Received: from c (\[127.0.0.1\]) by mx.test'
}

@test "systemd: the socket unit and its service, as systemd-socket-activate runs them" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	local sock=$TOP/contrib/postern-smtpd.socket svc=$TOP/contrib/postern-smtpd@.service
	[ "$(unit_value "$sock" Accept)" = yes ]
	[ "$(unit_value "$sock" ListenStream)" = 25 ]
	[ "$(unit_value "$svc" StandardInput)" = socket ]
	[ "$(unit_value "$svc" StandardOutput)" = socket ]
	PORT=$(free_port)
	# shellcheck disable=SC2046
	socket_activate --accept --inetd -l "127.0.0.1:$PORT" \
	    $(unit_value "$svc" ExecStart | localize) 2>"$LOG" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	session_ok
}

@test "systemd: the units are hardened and score OK in systemd-analyze security" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	local unit score
	for unit in postern-smtpd@.service postern-deliver.service postern-pop3@.service; do
		run systemd-analyze security --offline=true "$TOP/contrib/$unit"
		score=$(echo "$output" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
		echo "$unit: $score"
		[[ "$score" == *" OK" ]]
	done
	for key in NoNewPrivileges ProtectSystem PrivateTmp RestrictAddressFamilies SystemCallFilter ReadWritePaths User; do
		grep -q "^$key=" "$TOP/contrib/postern-smtpd@.service"
	done
}

@test "xinetd: the shipped entry, in the foreground; no log line reaches the client" {
	command -v xinetd >/dev/null || skip "xinetd is not installed"
	[ "$(id -u)" -eq 0 ] || skip "xinetd switches users: needs root"
	conf log syslog
	PORT=$(free_port)
	pop3_setup
	echo 'authplaintext yes' >>"$CONF/smtpd.conf"
	POP_PORT=$(free_port)
	localize -e "s/= 25\$/= $PORT/" -e "s/= 110\$/= $POP_PORT/" -e "s/= postern\$/= root/" \
	    -e "s/flags\t\t= IPv6/bind\t\t= 127.0.0.1/" \
	    "$TOP/contrib/xinetd.postern" >"$TESTDIR/xinetd.conf"
	grep -q 'per_source' "$TESTDIR/xinetd.conf"
	xinetd -dontfork -f "$TESTDIR/xinetd.conf" -pidfile "$TESTDIR/xinetd.pid" 2>"$TESTDIR/xinetd.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	session_ok
	[[ "$output" != *"postern/"* ]]
	pop3_session_ok "$POP_PORT"
}

@test "xinetd: the TLS entries, STARTTLS on 25 and 587 and STLS on 110 through tlswrapper" {
	command -v xinetd >/dev/null || skip "xinetd is not installed"
	command -v tlswrapper >/dev/null || skip "tlswrapper is not installed"
	[ "$(id -u)" -eq 0 ] || skip "xinetd switches users: needs root"
	conf log syslog
	pop3_setup
	PORT=$(free_port)
	SUB_PORT=$(free_port)
	POP_PORT=$(free_port)
	mkdir -p "$CONF/tls" "$CONF-submission"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	cat "$TESTDIR/key.pem" "$TESTDIR/cert.pem" >"$CONF/tls/smtpd.pem"
	printf 'hostname mx.test\nsubmission yes\nauthdelay 0\n' >"$CONF-submission/smtpd.conf"
	cp "$CONF/domains" "$CONF/passwd" "$CONF-submission/"
	localize -e "s/= 25\$/= $PORT/" -e "s/= 587\$/= $SUB_PORT/" -e "s/= 110\$/= $POP_PORT/" \
	    -e "s/ -u postern//" -e "s/flags\t\t= IPv6/bind\t\t= 127.0.0.1/" \
	    "$TOP/contrib/xinetd.postern-tls" >"$TESTDIR/xinetd.conf"
	xinetd -dontfork -f "$TESTDIR/xinetd.conf" -pidfile "$TESTDIR/xinetd.pid" 2>"$TESTDIR/xinetd.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	wait_port 127.0.0.1 "$POP_PORT"
	run timeout 120 python3 - "$PORT" "$SUB_PORT" "$POP_PORT" <<'PY'
import poplib, smtplib, ssl, sys
ctx = ssl._create_unverified_context()
smtp, sub, pop = (int(a) for a in sys.argv[1:])
s = smtplib.SMTP("127.0.0.1", smtp, timeout=30)
s.starttls(context=ctx)
print(s.sendmail("a@b.test", ["u@example.org"], "Subject: on 25\r\n\r\nx\r\n"))
s.quit()
s = smtplib.SMTP("127.0.0.1", sub, timeout=30)
s.ehlo("c")
print("AUTH before TLS:", s.has_extn("auth"))
s.starttls(context=ctx)
s.login("alice@example.org", "pw")
print(s.sendmail("alice@example.org", ["u@example.org"], "Subject: on 587\r\n\r\nx\r\n"))
s.quit()
p = poplib.POP3("127.0.0.1", pop, timeout=30)
print("USER before STLS:", "USER" in p.capa())
p.stls(ctx)
p.user("alice@example.org"); p.pass_("pw")
print(p.retr(1)[1][0].decode()); p.quit()
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "{}" ]
	[ "${lines[1]}" = "AUTH before TLS: False" ]
	[ "${lines[2]}" = "{}" ]
	[ "${lines[3]}" = "USER before STLS: False" ]
	[ "${lines[4]}" = "Subject: deploy" ]
	[ "$(queued_messages | grep -c ' with ESMTPS$')" -eq 1 ]
	[ "$(queued_messages | grep -c ' with ESMTPSA$')" -eq 1 ]
}

@test "inetd: the shipped inetd.conf line under openbsd-inetd in debug mode" {
	local inetd=${INETD:-}
	[ -n "$inetd" ] || inetd=$(command -v inetd || true)
	[ -n "$inetd" ] || [ ! -x /opt/openbsd-inetd/usr/sbin/inetd ] || inetd=/opt/openbsd-inetd/usr/sbin/inetd
	[ -n "$inetd" ] || skip "openbsd-inetd is not available"
	[ "$(id -u)" -eq 0 ] || skip "inetd switches users: needs root"
	conf log syslog
	PORT=$(free_port)
	pop3_setup
	echo 'authplaintext yes' >>"$CONF/smtpd.conf"
	POP_PORT=$(free_port)
	localize -e "s/^smtp\t/127.0.0.1:$PORT\t/" -e "s/^pop3\t/127.0.0.1:$POP_PORT\t/" \
	    -e 's/\tpostern\t/\troot\t/' \
	    "$TOP/contrib/inetd.conf" | grep -v '^#' >"$TESTDIR/inetd.conf"
	"$inetd" -d "$TESTDIR/inetd.conf" 2>"$TESTDIR/inetd.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	session_ok
	[[ "$output" != *"postern/"* ]]
	pop3_session_ok "$POP_PORT"
}

@test "tcpserver: the run script, with TCPREMOTEIP, and a rules file that denies" {
	command -v tcpserver >/dev/null || skip "tcpserver (ucspi-tcp) is not installed"
	PORT=$(free_port)
	HOST=127.0.0.1 PORT=$PORT CONF=$CONF QUEUE=$QUEUE SMTPD=$SMTPD RULES=$TESTDIR/none \
	    USER_ID= "$TOP/contrib/tcpserver-run" >"$TESTDIR/tcpserver.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	session_ok
	grep -q 'tcpserver: status: 1/200' "$TESTDIR/tcpserver.log"
	kill "$SS_PID"; wait "$SS_PID" 2>/dev/null || true
	echo '127.0.0.1:deny' | tcprules "$TESTDIR/tcp.cdb" "$TESTDIR/tcp.tmp"
	HOST=127.0.0.1 PORT=$PORT CONF=$CONF QUEUE=$QUEUE SMTPD=$SMTPD RULES=$TESTDIR/tcp.cdb \
	    USER_ID= "$TOP/contrib/tcpserver-run" >"$TESTDIR/tcpserver.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run smtp_raw 1 ''
	[ -z "$output" ]
}

@test "tcpserver: the run script with TLSCERT offers STARTTLS through tlswrapper; swaks --tls sends" {
	command -v tcpserver >/dev/null || skip "tcpserver (ucspi-tcp) is not installed"
	command -v tlswrapper >/dev/null || skip "tlswrapper is not installed"
	command -v swaks >/dev/null || skip "swaks is not installed"
	[ "$(id -u)" -eq 0 ] || skip "tlswrapper jails itself: needs root"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	cat "$TESTDIR/key.pem" "$TESTDIR/cert.pem" >"$TESTDIR/smtpd.pem"
	PORT=$(free_port)
	HOST=127.0.0.1 PORT=$PORT CONF=$CONF QUEUE=$QUEUE SMTPD=$SMTPD RULES=$TESTDIR/none \
	    USER_ID= TLSCERT=$TESTDIR/smtpd.pem "$TOP/contrib/tcpserver-run" >"$TESTDIR/tcpserver.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run timeout 120 swaks --server 127.0.0.1 --port "$PORT" --tls --from a@b.test --to u@example.org
	echo "$output" | tail -15
	[ "$status" -eq 0 ]
	[[ "$output" == *"<~  250 2.0.0 Ok: queued as "* ]]
	queued_messages | grep -q ' with ESMTPS$'
}

@test "postern-deliver.service runs deliver -d; the timer's service runs one pass" {
	local svc=$TOP/contrib/postern-deliver.service once=$TOP/contrib/postern-deliver-once.service
	[[ "$(unit_value "$svc" ExecStart)" == *"deliver -d "* ]]
	[ "$(unit_value "$once" Type)" = oneshot ]
	[[ "$(unit_value "$once" ExecStart)" != *" -d "* ]]
	[ "$(unit_value "$TOP/contrib/postern-deliver.timer" Unit)" = postern-deliver-once.service ]
	conf "mailroot $TESTDIR/mail"
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n' >/dev/null
	# shellcheck disable=SC2046
	$(unit_value "$once" ExecStart | localize) 2>/dev/null
	[ "$(find "$TESTDIR/mail/example.org/u/new" -type f | wc -l)" -eq 1 ]
}

@test "submission (587): the socket and service units; AUTH required before MAIL" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	local svc=$TOP/contrib/postern-submission@.service sub=$TESTDIR/sub
	[ "$(unit_value "$TOP/contrib/postern-submission.socket" ListenStream)" = 587 ]
	mkdir -p "$sub"
	printf 'hostname mx.test\nsubmission yes\nauthplaintext yes\nauthdelay 0\n' >"$sub/smtpd.conf"
	echo example.org >"$sub/domains"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt x pw)" >"$sub/passwd"
	PORT=$(free_port)
	# shellcheck disable=SC2046
	socket_activate --accept --inetd -l "127.0.0.1:$PORT" \
	    $(unit_value "$svc" ExecStart | sed "s|/etc/postern-submission|$sub|" | localize) 2>"$LOG" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run smtp_raw 1 '' 1 'EHLO c\r\n' 1 'MAIL FROM:<alice@example.org>\r\n' 1 "AUTH PLAIN $(printf '\0alice@example.org\0pw' | base64 -w0)\r\n" 1 'MAIL FROM:<alice@example.org>\r\n' 1 'QUIT\r\n'
	[ "${lines[10]}" = "530 5.7.0 Error: authentication required" ]
	[ "${lines[11]}" = "235 2.7.0 Authentication successful" ]
	[ "${lines[12]}" = "250 2.1.0 Ok" ]
}

@test "submissions (465): the shipped stunnel configuration in front of smtpd -S" {
	command -v stunnel4 >/dev/null || skip "stunnel4 is not installed"
	local sub=$TESTDIR/sub
	mkdir -p "$sub"
	printf 'hostname mx.test\nsubmission yes\nauthdelay 0\n' >"$sub/smtpd.conf"
	echo example.org >"$sub/domains"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt x pw)" >"$sub/passwd"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	PORT=$(free_port)
	{ sed "s|/etc/postern-submission|$sub|" "$TOP/contrib/postern-submissions.conf" |
	    localize | grep -v '^setuid\|^setgid' |
	    sed -e "s/^accept = 465/accept = 127.0.0.1:$PORT/" \
	        -e "s|^cert = .*|cert = $TESTDIR/cert.pem|" -e "s|^key = .*|key = $TESTDIR/key.pem|"
	} >"$TESTDIR/stunnel.conf"
	stunnel4 "$TESTDIR/stunnel.conf" 2>"$TESTDIR/stunnel.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run swaks --server 127.0.0.1 --port "$PORT" --tls-on-connect --auth PLAIN --auth-user alice@example.org --auth-password pw --from alice@example.org --to x@remote.test
	echo "$output" | tail -20
	[ "$status" -eq 0 ]
	queued_messages | grep -q ' with ESMTPSA$'
}

# pop3_session_ok PORT: poplib logs in and reads the message of
# pop3_setup; nothing but protocol reaches the client (stderr is the
# socket under xinetd and inetd: logs must go to syslog).
pop3_session_ok() {
	run python3 -c 'import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
print(p.getwelcome().decode())
p.user("alice@example.org"); p.pass_("pw")
print(p.retr(1)[1][0].decode()); p.quit()' "$1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "Subject: deploy" ]
	[[ "$output" != *"pop3d"* ]]
	[ "${#lines[@]}" -eq 2 ]
}

pop3_setup() {	# a mailbox for alice with one message, under $TESTDIR/mail
	printf 'mailroot %s/mail\nauthdelay 0\n' "$TESTDIR" >>"$CONF/smtpd.conf"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt x pw)" >"$CONF/passwd"
	mkdir -p "$TESTDIR/mail/example.org/alice/new"
	printf 'Subject: deploy\n\nhi\n' >"$TESTDIR/mail/example.org/alice/new/1700000000.M1P1Q1.h"
}

@test "pop3 (110): the socket and service units serve poplib" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	pop3_setup
	echo 'authplaintext yes' >>"$CONF/smtpd.conf"
	[ "$(unit_value "$TOP/contrib/postern-pop3.socket" ListenStream)" = 110 ]
	[ "$(unit_value "$TOP/contrib/postern-pop3.socket" Accept)" = yes ]
	PORT=$(free_port)
	# shellcheck disable=SC2046
	socket_activate --accept --inetd -l "127.0.0.1:$PORT" \
	    $(unit_value "$TOP/contrib/postern-pop3@.service" ExecStart | localize) 2>"$LOG" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	run python3 -c 'import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=10)
p.user("alice@example.org"); p.pass_("pw")
print(p.retr(1)[1][0].decode()); p.quit()' "$PORT"
	echo "$output"
	[ "$output" = "Subject: deploy" ]
}

@test "pop3s (995): the shipped stunnel configuration in front of pop3d -S" {
	command -v stunnel4 >/dev/null || skip "stunnel4 is not installed"
	pop3_setup
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 1 \
	    -keyout "$TESTDIR/key.pem" -out "$TESTDIR/cert.pem" 2>/dev/null
	PORT=$(free_port)
	{ localize "$TOP/contrib/postern-pop3s.conf" | grep -v '^setuid\|^setgid' |
	    sed -e "s/^accept = 995/accept = 127.0.0.1:$PORT/" \
	        -e "s|^cert = .*|cert = $TESTDIR/cert.pem|" -e "s|^key = .*|key = $TESTDIR/key.pem|"
	} >"$TESTDIR/stunnel.conf"
	stunnel4 "$TESTDIR/stunnel.conf" 2>"$TESTDIR/stunnel.log" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	# No authplaintext: the login works because -S says TLS is in front.
	run python3 -c 'import poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=10)
p.user("alice@example.org"); p.pass_("pw")
print(p.stat()); p.quit()' "$PORT"
	echo "$output"
	[ "$output" = "(1, 23)" ]
	# stunnel's REMOTE_HOST names the client in the log
	grep -q 'pop3: client=127.0.0.1 user=alice@example.org method=user login' "$TESTDIR/stunnel.log"
}

@test "pop3d under tcpserver, as postern-pop3d.8 shows it: TCPREMOTEIP is the client" {
	command -v tcpserver >/dev/null || skip "tcpserver (ucspi-tcp) is not installed"
	pop3_setup
	echo 'authplaintext yes' >>"$CONF/smtpd.conf"
	PORT=$(free_port)
	tcpserver -c 100 -b 100 -H -R 127.0.0.1 "$PORT" "$TOP/pop3d" -C "$CONF" 2>"$LOG" &
	SS_PID=$!
	wait_port 127.0.0.1 "$PORT"
	pop3_session_ok "$PORT"
	grep -q 'pop3: client=127.0.0.1 user=alice@example.org method=user login' "$LOG"
}
