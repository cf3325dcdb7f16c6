#!/usr/bin/env bats
# smtpd over real TCP sockets, started per connection by
# systemd-socket-activate, as a systemd socket unit with Accept=yes would.

load helper

setup() {
	setup_postern
	command -v systemd-socket-activate >/dev/null ||
	    skip "systemd-socket-activate is not installed"
}
teardown() { teardown_postern; }

MSG='MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\n'

@test "a socket session: the client address from the socket" {
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 2 "$MSG" 1 'DATA\r\n' 1 'Subject: s\r\n\r\nhi\r\n.\r\n' 1 'QUIT\r\n'
	[[ "${lines[12]}" == "250 2.0.0 Ok: queued as "* ]]
	run only_message
	[ "${lines[0]}" = "Received: from c ([127.0.0.1]) by mx.test (postern) with ESMTP" ]
}

@test "IPv6: a [::1] client gets an IPv6 literal" {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null ||
	    skip "no IPv6 loopback here"
	LISTEN_ADDR='[::1]' start_socket_server
	LISTEN_ADDR=::1 run smtp_raw 1 '' 1 'HELO c\r\n' 2 "$MSG" 1 'DATA\r\n' 1 'x\r\n.\r\n'
	run only_message
	[ "${lines[0]}" = "Received: from c ([IPv6:::1]) by mx.test (postern) with SMTP" ]
}

@test "PIPELINING: MAIL, RCPT, RCPT, DATA in one write, replies in order" {
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 4 'MAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nRCPT TO:<x@remote.test>\r\nDATA\r\n' 1 'x\r\n.\r\nQUIT\r\n'
	[ "${lines[9]}" = "250 2.1.0 Ok" ]
	[ "${lines[10]}" = "250 2.1.5 Ok" ]
	[ "${lines[11]}" = "554 5.7.1 Error: relay access denied" ]
	[ "${lines[12]}" = "354 End data with <CR><LF>.<CR><LF>" ]
	[[ "${lines[13]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "${lines[14]}" = "221 2.0.0 mx.test closing connection" ]
}

@test "PIPELINING: replies to a burst come back in one write" {
	command -v strace >/dev/null || skip "strace is not installed"
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	# smtpd on one end of a socket pair, its write(2) calls recorded
	run python3 - "$SMTPD" "$CONF" "$QUEUE" "$TESTDIR/trace" <<'PY'
import socket, subprocess, sys
smtpd, conf, queue, trace = sys.argv[1:]
ours, theirs = socket.socketpair()
p = subprocess.Popen(["strace", "-qq", "-s", "4096", "-e", "trace=write,sendto", "-o", trace,
                      smtpd, "-C", conf, "-Q", queue], stdin=theirs, stdout=theirs,
                     stderr=subprocess.DEVNULL)
theirs.close()
f = ours.makefile("rb")
f.readline()
ours.sendall(b"EHLO c\r\nNOOP\r\nNOOP\r\nNOOP\r\nRSET\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\n")
lines = [f.readline() for _ in range(14)]
ours.sendall(b"QUIT\r\n")
f.readline()
ours.close()
p.wait()
print(len(lines), lines[-1].decode().strip())
PY
	echo "$output"
	[ "$output" = "14 250 2.1.5 Ok" ]
	# the EHLO reply and the RCPT reply went out in the same write
	# (over a socket smtpd writes with send(2), which strace shows as sendto)
	grep -E '^(write|sendto)\(1, "250-mx.test' "$TESTDIR/trace" | grep -q '250 2.1.5 Ok'
	[ "$(grep -cE '^(write|sendto)\(1, ' "$TESTDIR/trace")" -eq 3 ]	# greeting, burst, 221
}

@test "strictsync: data sent with DATA before the 354 gets 554 5.5.0 and a close" {
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 3 "${MSG}DATA\r\nSubject: early\r\n\r\nx\r\n.\r\n"
	[ "${lines[11]}" = "554 5.5.0 Error: SMTP protocol synchronization" ]
	[ "${#lines[@]}" -eq 12 ]
	queue_empty
}

@test "strictsync no lets a pipelining-violating client through" {
	conf strictsync no
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 4 "${MSG}DATA\r\nx\r\n.\r\n"
	[[ "${lines[12]}" == "250 2.0.0 Ok: queued as "* ]]
}

@test "SMTP smuggling: no bare-LF or bare-CR dot sequence ends DATA over a socket" {
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 2 "$MSG" 1 'DATA\r\n' 1 'a\r\n.\nMAIL FROM:<evil1@b.test>\r\nb\r.\r\nRCPT TO:<x@y>\r\nc\r\n.\rDATA\r\nd\n.\r\nQUIT\r\ne\r\n.\r\n' 1 'QUIT\r\n'
	[[ "${lines[12]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "${lines[13]}" = "221 2.0.0 mx.test closing connection" ]
	[ "$(queued_count)" -eq 1 ]
	queued_messages | grep -q '^MAIL FROM:<evil1@b.test>$'
	queued_messages | grep -q '^QUIT$'
}

@test "SMTP smuggling: each sequence alone stays message text" {
	local seq
	start_socket_server
	for seq in '\n.\n' '\r.\n' '\n.\r\n' '\r\n.\r'; do
		run smtp_raw 1 '' 1 'EHLO c\r\n' 2 "$MSG" 1 'DATA\r\n' 1 "x${seq}MAIL FROM:<smuggled@b.test>\r\n.\r\n" 1 'QUIT\r\n'
		[[ "${lines[12]}" == "250 2.0.0 Ok: queued as "* ]]
	done
	[ "$(queued_count)" -eq 4 ]
	[ "$(grep -l 'MAIL FROM:<smuggled@b.test>' "$QUEUE"/todo/* | wc -l)" -eq 4 ]
}

@test "barelf normalize: a bare LF is a line end over a socket" {
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 2 "$MSG" 1 'DATA\r\n' 1 'a\nb\r\n.\r\n'
	queued_messages | tail -n +3 >"$TESTDIR/got"
	printf 'a\nb\n' >"$TESTDIR/want"
	cmp "$TESTDIR/want" "$TESTDIR/got"
}

@test "barelf reject: a bare LF over a socket is 550 5.6.0, nothing queued" {
	conf barelf reject
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 2 "$MSG" 1 'DATA\r\n' 1 'a\nb\r\n.\r\n' 1 'NOOP\r\n'
	[ "${lines[12]}" = "550 5.6.0 Error: bare LF in message text" ]
	[ "${lines[13]}" = "250 2.0.0 Ok" ]
	queue_empty
}

@test "a client that disconnects mid-DATA leaves nothing behind" {
	start_socket_server
	run smtp_raw 1 '' 1 'EHLO c\r\n' 2 "$MSG" 1 'DATA\r\n' 0 'Subject: cut\r\n\r\nhalf a mess'
	# the session has ended once it has logged the lost connection
	for i in $(seq 300); do
		grep -q 'lost connection in DATA: client=127.0.0.1' "$LOG" && break
		sleep 0.1
	done
	grep -q 'lost connection in DATA: client=127.0.0.1' "$LOG"
	queue_empty
}

@test "timeout: a silent client gets 421 4.4.2 and the session ends" {
	conf timeout 1
	start_socket_server
	run python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
data = b""
while True:
    d = s.recv(1000)
    if not d:
        break
    data += d
print(data.decode().replace("\r", ""), end="")
print("closed after %d" % round(time.time() - t))
PY
	[ "${lines[1]}" = "421 4.4.2 mx.test Error: timeout exceeded" ]
	[ "${lines[2]}" = "closed after 1" ]
}

@test "greetdelay: a client that talks first gets 554 5.5.0" {
	conf greetdelay 2
	start_socket_server
	run smtp_raw 1 'EHLO early\r\n'
	[ "${lines[0]}" = "554 5.5.0 Error: talked before greeting" ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "greetdelay: a patient client is greeted, not before the delay" {
	conf greetdelay 2
	start_socket_server
	SECONDS=0
	run smtp_raw 1 '' 1 'QUIT\r\n'
	[ "${lines[0]}" = "220 mx.test ESMTP" ]
	[ "$SECONDS" -ge 1 ]	# a lower bound: never a machine-speed claim
}

@test "Python smtplib sends a message, with and without BDAT" {
	start_socket_server
	run python3 - "$PORT" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "a@b.test"; m["To"] = "u@example.org"; m["Subject"] = "smtplib"
m.set_content("hello from smtplib\n.leading dot\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    print(s.send_message(m))
    s.ehlo()
    s.mail("a@b.test")
    s.rcpt("u@example.org")
    s.putcmd("BDAT 12 LAST")
    s.send(b"chunked body")
    print(s.getreply())
PY
	[ "${lines[0]}" = "{}" ]
	[[ "${lines[1]}" == "(250, b'2.0.0 Ok: queued as "* ]]
	[ "$(queued_count)" -eq 2 ]
	queued_messages | grep -q '^\.leading dot$'
}

@test "swaks delivers a message over the socket" {
	command -v swaks >/dev/null || skip "swaks is not installed"
	start_socket_server
	run swaks --server 127.0.0.1 --port "$PORT" --from a@b.test --to u@example.org --header 'Subject: swaks' --body 'from swaks'
	[ "$status" -eq 0 ]
	[[ "$output" == *"<-  250 2.0.0 Ok: queued as "* ]]
	queued_messages | grep -q '^Subject: swaks$'
}

@test "50 concurrent sessions x 5 messages: all committed, distinct IDs" {
	start_socket_server
	run python3 - "$PORT" <<'PY'
import smtplib, sys, threading
port = int(sys.argv[1])
ids, errors = [], []
def client(n):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo()
            for k in range(5):
                s.mail("a@b.test")
                s.rcpt("u@example.org")
                code, text = s.data(("Subject: %d-%d\r\n\r\nbody\r\n" % (n, k)).encode())
                if code != 250:
                    errors.append(text)
                ids.append(text.decode().rsplit(" ", 1)[1])
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(ids), len(set(ids)), len(errors))
PY
	[ "$output" = "250 250 0" ]
	[ "$(queued_count)" -eq 250 ]
	[ "$(ls "$QUEUE/todo" | wc -l)" -eq 250 ]
	for i in $(seq 0 49); do
		queued_messages | grep -q "^Subject: $i-4\$" || { echo "missing $i"; false; }
	done
}
