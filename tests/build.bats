#!/usr/bin/env bats
# The two commands of README: make run serves mail, make install places
# working programs; and HELO names are cleaned for the Received line.

load helper

setup() { setup_postern; }
teardown() {
	[ -n "${RUN_PID:-}" ] && kill -- -"$RUN_PID" 2>/dev/null
	teardown_postern
}

@test "make run: the whole tour on loopback, mail sent, delivered under RUNDIR and read over POP3" {
	command -v systemd-socket-activate >/dev/null || command -v tcpserver >/dev/null ||
	    skip "neither systemd-socket-activate nor tcpserver is installed"
	PORT=$(free_port)
	local pop3port
	pop3port=$(free_port)
	set -m
	PORT=$PORT POP3PORT=$pop3port RUNDIR=$TESTDIR/run make -s -C "$TOP" run >"$TESTDIR/run.out" 2>&1 &
	RUN_PID=$!
	set +m
	# make run builds first what an earlier make (other flags) left
	wait_port 127.0.0.1 "$PORT" 300 || { cat "$TESTDIR/run.out"; false; }
	wait_port 127.0.0.1 "$pop3port"
	run smtp_raw 1 '' 1 'HELO c\r\n' 1 'MAIL FROM:<a@b.test>\r\n' 1 'RCPT TO:<you@example.org>\r\n' 1 'DATA\r\n' 1 'Subject: run\r\n\r\nhi from make run\r\n.\r\n' 1 'QUIT\r\n'
	[[ "${lines[0]}" == "220 localhost ESMTP" ]]
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
	# deliver -d, woken by the commit, fills the Maildir under RUNDIR
	for i in $(seq 600); do
		[ -n "$(ls "$TESTDIR/run/mail/example.org/you/new" 2>/dev/null)" ] && break
		sleep 0.1
	done
	[ "$(ls "$TESTDIR/run/mail/example.org/you/new" | wc -l)" -eq 1 ]
	# and the banner's POP3 command reads it
	run curl -s "pop3://127.0.0.1:$pop3port/1" --user you@example.org:postern
	[[ "$output" == *"hi from make run"* ]]
	grep -q "swaks --server 127.0.0.1 --port $PORT" "$TESTDIR/run.out"
	grep -q "curl -s pop3://127.0.0.1:$pop3port/1 --user you@example.org:postern" "$TESTDIR/run.out"
	grep -q 'postern/deliver.*to=<you@example.org> relay=local .* status=sent' "$TESTDIR/run.out"
}

@test "install-deps: without root, the one apt-get line to run, and a clear stop" {
	command -v runuser >/dev/null || skip "runuser (util-linux) is not installed"
	printf 'run no-such-package-postern-test\nrun bash\n' >"$TESTDIR/packages"
	chmod 644 "$TESTDIR/packages"
	if [ "$(id -u)" -eq 0 ]; then
		# a copy nobody can run: the tree may be under /root (0700)
		mkdir -p "$TESTDIR/tree/tests"
		cp "$TOP/tests/install-deps" "$TESTDIR/tree/tests/"
		chmod -R a+rX "$TESTDIR/tree"
		run runuser -u nobody -- env POSTERN_PACKAGES="$TESTDIR/packages" "$TESTDIR/tree/tests/install-deps" run
	else
		run env POSTERN_PACKAGES="$TESTDIR/packages" "$TOP/tests/install-deps" run
	fi
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "postern needs these Debian packages: no-such-package-postern-test" ]
	[ "${lines[2]}" = "  sudo apt-get update && sudo apt-get install -y --no-install-recommends no-such-package-postern-test" ]
	# everything installed: silent success
	printf 'run bash\n' >"$TESTDIR/packages"
	run env POSTERN_PACKAGES="$TESTDIR/packages" "$TOP/tests/install-deps" run
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "make install honours PREFIX and DESTDIR; the installed smtpd works" {
	local dest=$TESTDIR/dest/opt/postern p
	make -s -C "$TOP" install DESTDIR="$TESTDIR/dest" PREFIX=/opt/postern >/dev/null
	# commands in sbin/, named postern-*; the rest out of PATH
	for p in postern-makedb postern-queue postern-sendmail; do
		[ -x "$dest/sbin/$p" ]
	done
	for p in smtpd enqueue deliver pop3d; do
		[ -x "$dest/libexec/postern/$p" ]
		[ ! -e "$dest/sbin/$p" ]
	done
	[ "$(ls "$dest/sbin" | wc -l)" -eq 3 ]
	# every man page is named postern*, none is OpenSMTPD's smtpd.8
	[ -f "$dest/share/man/man8/postern-smtpd.8" ]
	[ -f "$dest/share/man/man8/postern-pop3d.8" ]
	[ -f "$dest/share/man/man5/postern-queue.5" ]
	[ -z "$(ls "$dest/share/man/man8" "$dest/share/man/man5" | grep -v '^postern' | grep -v ':$' | grep .)" ]
	# contrib files, pointing at the installed programs
	local contrib=$dest/share/postern/contrib
	[ "$(ls "$contrib" | wc -l)" -eq "$(ls "$TOP/contrib" | grep -vc '^run-local$')" ]
	grep -q '^ExecStart=/opt/postern/libexec/postern/pop3d ' "$contrib/postern-pop3@.service"
	grep -q '^ExecStart=/opt/postern/libexec/postern/deliver -d ' "$contrib/postern-deliver.service"
	! grep -rq /usr/local "$contrib" || false
	[ -x "$contrib/tcpserver-run" ]
	run bash -c "printf 'HELO c\nQUIT\n' | '$dest/libexec/postern/smtpd' -C '$CONF' -Q '$QUEUE' 2>/dev/null"
	[[ "${lines[1]}" == "250 mx.test"* ]]
	# postern-sendmail finds the installed enqueue in libexec/postern/,
	# not a stale copy an older version left in sbin/
	printf '#!/bin/sh\necho stale enqueue >&2; exit 71\n' >"$dest/sbin/enqueue"
	chmod +x "$dest/sbin/enqueue"
	run bash -c "printf 'Subject: installed\n\nhi\n' | POSTERN_CONF='$CONF' POSTERN_QUEUE='$QUEUE' '$dest/sbin/postern-sendmail' -f a@b.test u@example.org"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(queued_count)" -eq 1 ]
	rm "$dest/sbin/enqueue"
	[ -f "$TESTDIR/dest/opt/postern/lib/sysusers.d/postern.conf" ]
	[ -f "$TESTDIR/dest/opt/postern/lib/tmpfiles.d/postern.conf" ]
	make -s -C "$TOP" uninstall DESTDIR="$TESTDIR/dest" PREFIX=/opt/postern
	[ -z "$(find "$TESTDIR/dest" -type f)" ]
}

@test "make install-sendmail: enqueue set-user-ID to the queue's owner, and the sendmail links" {
	[ "$(id -u)" -eq 0 ] || skip "chown needs root"
	local dest=$TESTDIR/dest
	make -s -C "$TOP" install DESTDIR="$dest" PREFIX=/opt/postern >/dev/null
	make -s -C "$TOP" install-sendmail DESTDIR="$dest" PREFIX=/opt/postern QUEUE_OWNER=daemon
	[ "$(stat -c '%a %U' "$dest/opt/postern/libexec/postern/enqueue")" = "4711 daemon" ]
	for p in sbin/sendmail bin/mailq bin/newaliases; do
		[ "$(readlink "$dest/usr/$p")" = /opt/postern/sbin/postern-sendmail ]
	done
}

@test "sysusers.d and tmpfiles.d: the postern user, and directories deliver can write" {
	command -v systemd-sysusers >/dev/null || skip "systemd-sysusers is not installed"
	command -v systemd-tmpfiles >/dev/null || skip "systemd-tmpfiles is not installed"
	local root=$TESTDIR/root uid
	mkdir -p "$root/etc" "$root/var/spool" "$root/var/mail"
	: >"$root/etc/passwd"; : >"$root/etc/group"
	systemd-sysusers --root="$root" "$TOP/contrib/postern.sysusers"
	uid=$(awk -F: '$1 == "postern" { print $3 }' "$root/etc/passwd")
	[ -n "$uid" ]
	grep -q '^postern:' "$root/etc/group"
	# tmpfiles resolves names through the host's NSS, so the host's
	# postern user is the one that counts; a fresh root has none
	sed "s/ postern postern / $uid $uid /" "$TOP/contrib/postern.tmpfiles" >"$TESTDIR/tmpfiles.conf"
	systemd-tmpfiles --create --root="$root" "$TESTDIR/tmpfiles.conf"
	[ "$(stat -c '%a %u' "$root/var/spool/postern")" = "700 $uid" ]
	[ "$(stat -c '%a %u' "$root/var/mail/postern")" = "700 $uid" ]
	[ "$(stat -c '%a %u' "$root/etc/postern")" = "755 0" ]
}

@test "a HELO name with odd characters is cleaned in the Received line" {
	smtp_pipe 'HELO bad(name)\xc3\xa9  \nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n' >/dev/null
	run only_message
	[ "${lines[0]}" = "Received: from bad(name)?? (local) by mx.test (postern) with SMTP" ]
}

@test "a sanitizer report from a socket-activated process fails the test that started it" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	local reports=$TESTDIR/reports port
	mkdir -p "$reports"
	printf '#include <stdio.h>\n#include <stdlib.h>\nstatic void *volatile kept;\nint main(void) { kept = malloc(64); kept = 0; puts("hi"); fflush(stdout); return 0; }\n' >"$TESTDIR/leak.c"
	cc -fsanitize=address -g -o "$TESTDIR/leak" "$TESTDIR/leak.c" || skip "no AddressSanitizer runtime"
	port=$(free_port)
	POSTERN_SANITIZER_REPORTS=$reports ASAN_OPTIONS=detect_leaks=1:log_path=$reports/asan \
	    socket_activate --accept --inetd -l "127.0.0.1:$port" "$TESTDIR/leak" 2>/dev/null &
	SERVER_PID=$!
	wait_port 127.0.0.1 "$port"
	python3 -c 'import socket, sys; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); print(s.makefile().readline().strip())' "$port" | grep -qx hi
	for i in $(seq 300); do
		[ -n "$(ls "$reports")" ] && break
		sleep 0.1
	done
	grep -q 'LeakSanitizer: detected memory leaks' "$reports"/asan.*
	# the check every teardown runs fails on it, once
	run env POSTERN_SANITIZER_REPORTS="$reports" bash -c ". '$TOP/tests/helper.bash'; no_sanitizer_reports"
	[ "$status" -eq 1 ]
	[[ "$output" == *"detected memory leaks"* ]]
	run env POSTERN_SANITIZER_REPORTS="$reports" bash -c ". '$TOP/tests/helper.bash'; no_sanitizer_reports"
	[ "$status" -eq 0 ]
	[ -n "$(ls "$reports/seen")" ]
}

@test "README's 'Trying it by hand' works as written" {
	# the block, with /tmp/p* moved into this test's directory
	sed -n '/^## Trying it by hand/,/^## /p' "$TOP/README.md" | sed -n 's/^    //p' |
	    sed "s|/tmp/p|$TESTDIR/p|g" >"$TESTDIR/readme.sh"
	[ "$(wc -l <"$TESTDIR/readme.sh")" -ge 8 ]
	run bash -c "cd '$TOP' && set -e && . '$TESTDIR/readme.sh'"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[[ "$output" == *"to=<b@example.org> relay=local"*"status=sent"* ]]
	[[ "$output" == *"+OK Logged in, 1 messages"* ]]
	[[ "$output" == *"Subject: hi"* ]]
	[ -n "$(ls "$TESTDIR/pm/example.org/b/cur")" ]
}

@test "make after make SANITIZE=1 builds the programs again, without sanitizers" {
	local tree=$TESTDIR/tree
	mkdir "$tree"
	git -C "$TOP" ls-files -z | (cd "$TOP" && xargs -0 cp --parents -t "$tree")
	# (make SANITIZE=1 test passes SANITIZE=1 down in MAKEFLAGS)
	local clean="env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SANITIZE -u CFLAGS"
	$clean make -s -C "$tree" SANITIZE=1 smtpd >/dev/null
	nm "$tree/smtpd" | grep -q __asan_init
	$clean make -s -C "$tree" smtpd >/dev/null
	! nm "$tree/smtpd" | grep -q __asan || false
	# and a second plain make has nothing to do
	[ -z "$($clean make -C "$tree" smtpd 2>&1 | grep '^cc')" ]
}
