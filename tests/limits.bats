#!/usr/bin/env bats
# Resource limits and privilege: slow clients, floods, many connections,
# a full disk, too few descriptors, and -u USER.

load helper

setup() { setup_postern; MOUNTED=; }
teardown() {
	[ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
	teardown_postern
}

MSG='HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: x\n\nbody\n.\nQUIT\n'

@test "slowloris: a byte every second is cut off at maxsessiontime" {
	conf timeout 2
	conf maxsessiontime 3
	start_socket_server
	run python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.5)
t = time.time()
got = b""
while time.time() - t < 15:
    try:
        s.send(b"N")
    except OSError:
        break
    try:
        d = s.recv(1000)
        if not d:
            break
        got += d
    except socket.timeout:
        pass
    time.sleep(0.5)
print(got.decode().replace("\r", "").strip().splitlines()[-1])
print("ended after %d s" % int(time.time() - t))
PY
	[ "${lines[0]}" = "421 4.4.2 mx.test Error: session time limit exceeded" ]
	# cut at 3 s; the client notices within its next half-second poll
	[[ "${lines[1]}" =~ ^ended\ after\ [345]\ s$ ]]
	grep -q 'timeout: client=127.0.0.1 what=session' "$LOG"
}

@test "a flood of 10,000 pipelined commands in one write gets 10,000 replies in order" {
	start_socket_server
	run python3 - "$PORT" <<'PY'
import socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
n = 10000
cmds = b"".join(b"NOOP %d\r\n" % i if i % 2 else b"RSET\r\n" for i in range(n))
data = []
def reader():
    buf = b""
    # the greeting, eight EHLO lines, then one reply per command
    while buf.count(b"\r\n") < n + 9:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    data.append(buf)
t = threading.Thread(target=reader)
t.start()
s.sendall(b"EHLO c\r\n" + cmds)
t.join(60)
lines = data[0].decode().split("\r\n")
replies = [l for l in lines[9:] if l]
print(len(replies), all(r == "250 2.0.0 Ok" for r in replies[:n]))
PY
	[ "$output" = "10000 True" ]
}

@test "500 concurrent connections under the super-server all commit" {
	start_socket_server
	run python3 - "$PORT" <<'PY'
import smtplib, sys, threading
port, ok, bad = int(sys.argv[1]), [], []
barrier = threading.Barrier(500, timeout=120)
def client(i):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=120)
        barrier.wait()		# all 500 open before any message
        s.sendmail("a@b.test", ["u@example.org"], "Subject: c%d\r\n\r\nx\r\n" % i)
        s.quit()
        ok.append(i)
    except Exception as e:
        bad.append(repr(e))
ts = [threading.Thread(target=client, args=(i,)) for i in range(500)]
[t.start() for t in ts]
[t.join() for t in ts]
print(len(ok), len(bad), bad[:2])
PY
	[ "${lines[0]}" = "500 0 []" ]
	[ "$(queued_count)" -eq 500 ]
}

@test "a full file system: 451 4.3.0 and nothing half-written" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
	mount -t tmpfs -o size=256k tmpfs "$QUEUE" 2>/dev/null || skip "cannot mount tmpfs here"
	MOUNTED=$QUEUE
	local big
	big=$(python3 -c "print(('y' * 76 + '\\\\n') * 6000, end='')")
	run smtp_pipe "HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\n${big}.\n$MSG"
	[ "${lines[5]}" = "451 4.3.0 Error: queue file write error" ]
	# the next message, small enough to fit, is taken
	[[ "${lines[10]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(queued_count)" -eq 1 ]
	[ -z "$(ls "$QUEUE/tmp")" ]
}

@test "too few descriptors: 451 at DATA, or 421 at the greeting; never a crash" {
	# descriptors the test harness holds open are closed first, and the
	# session comes from a file: a pipe would need descriptors too
	local closefds='for fd in 3 4 5 6 7 8 9; do eval "exec $fd>&-"; done'
	printf "$MSG" >"$TESTDIR/in"
	run bash -c "$closefds; ulimit -n 7; '$SMTPD' -C '$CONF' -Q '$QUEUE' <'$TESTDIR/in' 2>/dev/null"
	[ "$status" -eq 0 ]
	[[ "$output" == *"451 4.3.0 Error: queue file open failed"* ]]
	run bash -c "$closefds; ulimit -n 4; '$SMTPD' -C '$CONF' -Q '$QUEUE' <'$TESTDIR/in' 2>/dev/null"
	[ "$status" -eq 1 ]
	[[ "$output" == "421 4.3.0 "* ]]
	queue_empty
}

@test "-u USER: smtpd drops to that user before reading input" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	printf '#!/bin/sh\nid -u >"%s/uid"; id -g >>"%s/uid"; id -G >>"%s/uid"\ncat >/dev/null; cat <&1 >/dev/null\n' "$TESTDIR" "$TESTDIR" "$TESTDIR" >"$TESTDIR/qq"
	chmod 755 "$TESTDIR/qq"
	chmod 777 "$TESTDIR"
	run bash -c "printf '$MSG' | QMAILQUEUE='$TESTDIR/qq' '$SMTPD' -u nobody -C '$CONF' -Q '$QUEUE' 2>/dev/null | tr -d '\r'"
	[ "${lines[5]}" = "250 2.0.0 Ok: queued" ]
	run cat "$TESTDIR/uid"
	[ "${lines[0]}" = "$(id -u nobody)" ]
	[ "${lines[1]}" = "$(id -g nobody)" ]
	[ "${lines[2]}" = "$(id -g nobody)" ]
}

@test "-u USER: an unknown user, or no root to drop, is a 421 and an error" {
	run bash -c "printf 'QUIT\n' | '$SMTPD' -u no-such-user-here -C '$CONF' -Q '$QUEUE'"
	[ "$status" -eq 1 ]
	[[ "$output" == *"421 4.3.0 "* ]]
	[[ "$output" == *"no such user: no-such-user-here"* ]]
	if [ "$(id -u)" -eq 0 ]; then
		run setpriv --reuid=nobody --regid=nogroup --clear-groups "$SMTPD" -u root -C "$CONF" -Q "$QUEUE" </dev/null
		[ "$status" -eq 1 ]
		[[ "$output" == *"-u root needs to start as root"* ]]
	fi
}

@test "-u USER: deliver drops too" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	conf "mailroot $TESTDIR/mail"
	smtp_pipe "$MSG" >/dev/null
	chown -R nobody "$QUEUE"
	mkdir -p "$TESTDIR/mail" && chown nobody "$TESTDIR/mail"
	"$TOP/deliver" -u nobody -C "$CONF" -Q "$QUEUE" 2>/dev/null
	f=$(find "$TESTDIR/mail/example.org/u/new" -type f)
	[ "$(stat -c %U "$f")" = nobody ]
	[ "$(stat -c %a "$f")" = 600 ]
}
