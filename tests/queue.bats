#!/usr/bin/env bats
# The queue directory: setup, failures to commit, and QMAILQUEUE.

load helper

setup() { setup_postern; }
teardown() { teardown_postern; }

MSG='HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: q\n\nbody\n.\nQUIT\n'

@test "an empty directory is a valid queue: subdirectories 0700, FIFO 0600" {
	smtp_pipe "$MSG" >/dev/null
	[ "$(stat -c %a "$QUEUE/tmp")" = 700 ]
	[ "$(stat -c %a "$QUEUE/mess")" = 700 ]
	[ "$(stat -c %a "$QUEUE/todo")" = 700 ]
	[ -p "$QUEUE/trigger" ]
	[ "$(stat -c %a "$QUEUE/trigger")" = 600 ]
	[ "$(stat -c %a "$QUEUE"/todo/*)" = 600 ]
}

@test "a commit writes one byte to the trigger FIFO for a listening deliver" {
	local one='MAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\n'
	mkfifo -m 600 "$QUEUE/trigger"
	exec 7<>"$QUEUE/trigger"	# a reader that stays open, like deliver -d
	smtp_pipe "HELO c\n$one$one" >/dev/null
	run bash -c 'timeout 2 head -c 2 <&7 | od -An -tx1'
	exec 7<&-
	[ "$output" = " 00 00" ]
}

@test "no reader on the FIFO is fine" {
	run smtp_pipe "$MSG"
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
}

@test "a missing queue directory: 421 4.3.0 greeting, a line on stderr, exit non-zero" {
	run "$SMTPD" -C "$CONF" -Q "$TESTDIR/nonexistent" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"421 4.3.0 Service temporarily unavailable"* ]]
	[[ "$output" == *"smtpd: queue directory $TESTDIR/nonexistent: No such file or directory"* ]]
}

@test "a missing configuration directory: 421 4.3.0 and a clear error" {
	run "$SMTPD" -C "$TESTDIR/noconf" -Q "$QUEUE" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"421 4.3.0 "* ]]
	[[ "$output" == *"configuration directory $TESTDIR/noconf: No such file or directory"* ]]
}

@test "an unreadable configuration file is a 421, not a silent default" {
	rm "$CONF/domains" && mkdir "$CONF/domains"
	run "$SMTPD" -C "$CONF" -Q "$QUEUE" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"421 4.3.0 "* ]]
	[[ "$output" == *"cannot read $CONF/domains"* ]]
}

@test "POSTERN_CONF and POSTERN_QUEUE stand in for -C and -Q" {
	run bash -c "printf 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nhi\n.\nQUIT\n' | POSTERN_CONF='$CONF' POSTERN_QUEUE='$QUEUE' '$SMTPD' 2>/dev/null"
	# mx.test: the hostname of $CONF, not of /etc/postern
	[[ "${lines[0]}" == "220 mx.test ESMTP"* ]]
	[[ "${lines[5]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(queued_count)" -eq 1 ]
}

@test "-h prints usage" {
	run "$SMTPD" -h
	[ "$status" -eq 2 ]
	[[ "$output" == "usage: smtpd"* ]]
}

@test "a bad smtpd.conf line is reported with file and line, and ignored" {
	printf 'hostname mx.test\nlog stderr\nmaxsize lots\nnosuchkey 1\n' >"$CONF/smtpd.conf"
	run smtp_pipe 'EHLO c\n'
	[ "${lines[3]}" = "250-SIZE 26214400" ]
	grep -q 'config: file=smtpd.conf line=3: bad value; line ignored' "$LOG"
	grep -q 'config: file=smtpd.conf line=4: unknown key; line ignored' "$LOG"
}

@test "an unwritable queue answers 451 4.3.0 and leaves nothing in todo/" {
	mkdir -m 755 "$QUEUE/tmp" "$QUEUE/mess" "$QUEUE/todo"
	mkfifo -m 600 "$QUEUE/trigger"
	if [ "$(id -u)" -eq 0 ]; then
		run bash -c "printf '$MSG' | setpriv --reuid=nobody --regid=nogroup --clear-groups '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>/dev/null | tr -d '\r'"
	else
		chmod 555 "$QUEUE/tmp" "$QUEUE/mess" "$QUEUE/todo"
		run smtp_pipe "$MSG"
	fi
	[ "${lines[4]}" = "451 4.3.0 Error: queue file open failed" ]
	[ "${lines[5]}" = "503 5.5.1 Error: need RCPT command" ] || [ "${lines[5]}" = "500 5.5.1 Error: command not recognized" ]
	queue_empty
}

@test "a commit that cannot link into todo/ answers 451 and leaves nothing" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run smtpd as another user"
	mkdir -m 777 "$QUEUE/tmp" "$QUEUE/mess"
	mkdir -m 755 "$QUEUE/todo"
	mkfifo -m 600 "$QUEUE/trigger"
	run bash -c "printf '$MSG' | setpriv --reuid=nobody --regid=nogroup --clear-groups '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>/dev/null | tr -d '\r'"
	[ "${lines[5]}" = "451 4.3.0 Error: queue commit failed" ]
	queue_empty
}

@test "QMAILQUEUE: smtpd feeds enqueue through the qmail-queue protocol" {
	export POSTERN_CONF=$CONF POSTERN_QUEUE=$QUEUE QMAILQUEUE=$ENQUEUE
	run smtp_pipe "$MSG"
	[ "${lines[5]}" = "250 2.0.0 Ok: queued" ]
	printf 'Fa@b.test\0Tu@example.org\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
	run only_message
	[[ "${lines[0]}" == "Received: (postern invoked by uid "* ]]
	[ "${lines[1]}" = "Received: from c (local) by mx.test (postern) with SMTP" ]
	[[ "${lines[2]}" == $'\t'"for <u@example.org>; "* ]]
}

@test "QMAILQUEUE: exit 31 is 554 5.3.0, 75 and a crash are 451 4.3.0" {
	printf '#!/bin/sh\ncat >/dev/null\nexit 31\n' >"$TESTDIR/perm"
	printf '#!/bin/sh\ncat >/dev/null\nexit 75\n' >"$TESTDIR/temp"
	printf '#!/bin/sh\nkill -SEGV $$\n' >"$TESTDIR/crash"
	chmod +x "$TESTDIR/perm" "$TESTDIR/temp" "$TESTDIR/crash"
	QMAILQUEUE=$TESTDIR/perm run smtp_pipe "$MSG"
	[ "${lines[5]}" = "554 5.3.0 Error: message refused by the queue program" ]
	QMAILQUEUE=$TESTDIR/temp run smtp_pipe "$MSG"
	[ "${lines[5]}" = "451 4.3.0 Error: queue commit failed" ]
	# A program that dies before reading may fail the write or the
	# commit, depending on timing: either way a 451 4.3.0.
	QMAILQUEUE=$TESTDIR/crash run smtp_pipe "$MSG"
	[[ "${lines[5]}" == "451 4.3.0 Error: queue "* ]]
	QMAILQUEUE=$TESTDIR/missing run smtp_pipe "$MSG"
	[[ "${lines[5]}" == "451 4.3.0 Error: queue "* ]]
}

@test "QMAILQUEUE: the program gets the envelope only when the message is accepted" {
	printf '#!/bin/sh\ncat >"%s/msg"\ncat <&1 >"%s/env" || true\nexit 0\n' "$TESTDIR" "$TESTDIR" >"$TESTDIR/record"
	chmod +x "$TESTDIR/record"
	conf maxsize 10
	QMAILQUEUE=$TESTDIR/record run smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\n0123456789abcdef\n.\n'
	[ "${lines[5]}" = "552 5.3.4 Error: message too big" ]
	[ ! -s "$TESTDIR/env" ]
}

@test "the entry is made anonymous in tmp/ and linked into todo/: one link, no rename" {
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot work under ptrace: off for a sanitizer build.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	run bash -c "printf '$MSG' | strace -f -e trace=linkat,renameat,renameat2 '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>&1 >/dev/null"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | grep -c '^linkat(AT_FDCWD, "/proc/self/fd/.*= 0$')" -eq 1 ]
	! echo "$output" | grep -q '^rename' || false
	[ "$(ls "$QUEUE/todo" | wc -l)" -eq 1 ]
	[ -z "$(ls "$QUEUE/mess")" ]
	[ -z "$(ls "$QUEUE/tmp")" ]
}

@test "without /proc (a chroot, say) the files are named in tmp/ and renamed, as qmail does" {
	command -v strace >/dev/null || skip "strace is not installed"
	[ "$(id -u)" -eq 0 ] || skip "hiding /proc needs a mount namespace: root"
	unshare -m true 2>/dev/null || skip "mount namespaces are not allowed here"
	! ldd "$SMTPD" | grep -q libasan ||
	    skip "AddressSanitizer reads its options from /proc: the plain build runs this"
	# strace attaches from outside; inside the namespace /proc is empty.
	run bash -c "printf '$MSG' | strace -f -e trace=linkat,renameat,renameat2 unshare -m sh -c 'mount -t tmpfs none /proc && exec \"\$0\" -C \"\$1\" -Q \"\$2\"' '$SMTPD' '$CONF' '$QUEUE' 2>&1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"250 2.0.0 Ok: queued as "* ]]
	[ "$(echo "$output" | grep -c '^renameat(')" -eq 1 ]
	! echo "$output" | grep -q '^linkat(' || false
	[ "$(ls "$QUEUE/todo" | wc -l)" -eq 1 ]
	[ -z "$(ls "$QUEUE/mess")" ]
	[ -z "$(ls "$QUEUE/tmp")" ]
	queued_messages | grep -q '^Subject: q$'
}

# link_fails_despite_proc TARGET: smtpd under a /proc whose self/fd
# entries all lead to TARGET: readable, so smtpd takes the anonymous
# path, but linking one fails; that message gets 451, the next 250.
link_fails_despite_proc() {
	local one='MAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nSubject: q\n\nbody\n.\n'
	rm -rf "$QUEUE" && mkdir "$QUEUE"
	run bash -c "printf 'HELO c\n$one${one}QUIT\n' | unshare -m sh -c '
	    mount -t tmpfs none /proc && mkdir -p /proc/self/fd &&
	    for n in \$(seq 0 30); do ln -s $1 /proc/self/fd/\$n; done &&
	    exec \"\$0\" -C \"\$1\" -Q \"\$2\"' '$SMTPD' '$CONF' '$QUEUE' 2>/dev/null | tr -d '\r'"
	echo "$output"
	[ "${lines[5]}" = "451 4.3.0 Error: queue commit failed" ]
	[[ "${lines[9]}" == "250 2.0.0 Ok: queued as "* ]]
	[ "$(ls "$QUEUE/todo" | wc -l)" -eq 1 ]
	[ -z "$(ls "$QUEUE/mess")" ]
	[ -z "$(ls "$QUEUE/tmp")" ]
}

@test "a link that fails despite /proc: that message gets 451, the next ones use named files" {
	[ "$(id -u)" -eq 0 ] || skip "faking /proc needs a mount namespace: root"
	unshare -m true 2>/dev/null || skip "mount namespaces are not allowed here"
	! ldd "$SMTPD" | grep -q libasan ||
	    skip "AddressSanitizer reads its options from /proc: the plain build runs this"
	# a directory: EPERM (EXDEV where the queue is on another file system)
	link_fails_despite_proc /
	# a file on another file system, whatever the queue's: EXDEV
	link_fails_despite_proc /dev/null
}

@test "root on a queue of another user works as that user: smtpd, enqueue and deliver leave nothing root-owned" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	command -v runuser >/dev/null || skip "runuser (util-linux) is not installed"
	echo "mailroot $TESTDIR/mail" >>"$CONF/smtpd.conf"
	mkdir -p "$TESTDIR/mail"
	chown nobody "$QUEUE" "$TESTDIR/mail"
	chmod 755 "$CONF" && chmod 644 "$CONF"/*
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nhi\n.\n' | grep -q '^250 2.0.0 Ok: queued'
	printf 'Fa@b.test\0Tv@example.org\0\0' >"$TESTDIR/env"
	printf 'Subject: e\n\nhi\n' | "$ENQUEUE" -C "$CONF" -Q "$QUEUE" 1<"$TESTDIR/env"
	# the trace line names root, who ran it
	queued_messages | grep -q '^Received: (postern invoked by uid 0); '
	[ -z "$(find "$QUEUE" -not -user nobody)" ]
	# deliver as the real user takes what root queued
	# (a copy: the tree may be under /root, where nobody cannot go)
	cp "$TOP/deliver" "$TESTDIR/deliver"
	run runuser -u nobody -- "$TESTDIR/deliver" -C "$CONF" -Q "$QUEUE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(find "$TESTDIR/mail" -path '*/new/*' -type f | wc -l)" -eq 2 ]
	# and deliver run by root leaves the Maildirs and state the user's
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<w@example.org>\nDATA\nhi\n.\n' | grep -q '^250 2.0.0 Ok: queued'
	"$TOP/deliver" -C "$CONF" -Q "$QUEUE" 2>/dev/null
	[ -z "$(find "$QUEUE" "$TESTDIR/mail" -not -user nobody)" ]
	[ "$(find "$TESTDIR/mail" -path '*/new/*' -type f | wc -l)" -eq 3 ]
}
