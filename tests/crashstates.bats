#!/usr/bin/env bats
# The crash-state checker (tests/crashcheck.py) on real commits: every
# state a power cut may leave, replayed and recovered by deliver.  A
# bounded sample of states here (CRASHCHECK_SAMPLE, 0 for all of them:
# the longer run of queue(5)); the broken commits show it catches a
# missing sync.

load helper

setup() {
	setup_postern
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot work under ptrace; an LD_PRELOAD shim must be
	# allowed before the sanitizer runtime
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0:verify_asan_link_order=0
	SAMPLE=${CRASHCHECK_SAMPLE:-150}
	# two messages, the first to two recipients; each command waits
	# for the reply to the one before, so each 250 is written before
	# the next commit begins
	printf '%s\n' 'HELO c' 'MAIL FROM:<a@b.test>' 'RCPT TO:<u@example.org>' \
	    'RCPT TO:<v@example.org>' DATA 'Subject: one' '' 'first' . \
	    'MAIL FROM:<b@b.test>' 'RCPT TO:<w@example.org>' DATA 'Subject: two' \
	    '' 'second' . QUIT >"$TESTDIR/session"
}
teardown() {
	[ -z "${MOUNTED:-}" ] || umount "$MOUNTED"
	teardown_postern
}

# check MODEL QUEUE [ENV...]: crashcheck on one session into QUEUE,
# smtpd run under env ENV...; its output in $output, status in $status
check() {
	local model=$1 queue=$2
	shift 2
	run python3 "$TOP/tests/crashcheck.py" --model "$model" --sample "$SAMPLE" \
	    "$queue" "$CONF" -- env "$@" python3 "$TOP/tests/smtpstep.py" \
	    "$TESTDIR/session" "$SMTPD" -C "$CONF" -Q "$queue"
	echo "$output" | head -5
}

field() {	# field NAME: NAME=value of the counts line
	echo "${lines[0]}" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

skipsync() {	# the LD_PRELOAD shim that drops one kind of fsync
	cc -O2 -shared -fPIC -o "$TESTDIR/skipsync.so" "$TOP/tests/skipsync.c"
}

# a journaled ext4 (data=ordered) of its own, on a loop device: the file
# system queuesync ordered is for
journaled_ext4() {	# journaled_ext4 DIR [MKFS-OPTION...]
	[ "$(id -u)" -eq 0 ] || skip "mounting a loop file system needs root"
	local dir=$1 img=$TESTDIR/fs.img
	shift
	truncate -s 32M "$img"
	mkfs.ext4 -q -F "$@" "$img"
	mkdir -p "$dir"
	mount -o loop "$img" "$dir" || skip "no loop devices here"
	MOUNTED=$dir
	chmod 755 "$dir"
}

@test "the portable commit: no crash state loses an acknowledged message or delivers a torn one" {
	smtp_pipe 'QUIT\n' >/dev/null	# the queue's subdirectories exist
	check conservative "$QUEUE"
	[ "$status" -eq 0 ]
	[ "$(field acknowledged)" -eq 2 ]
	[ "$(field fsyncs)" -eq 4 ]
	[ "$(field violations)" -eq 0 ]
	[ "$(field checked)" -ge 3 ]
}

@test "a fresh queue: the subdirectories smtpd makes are synced into the queue directory" {
	# before the fix, todo/ made by the first session could vanish in
	# a crash with the messages acknowledged in it
	check conservative "$QUEUE"
	[ "$status" -eq 0 ]
	[ "$(field acknowledged)" -eq 2 ]
	[ "$(field violations)" -eq 0 ]
}

@test "the checker catches a commit without the file's fsync" {
	skipsync
	smtp_pipe 'QUIT\n' >/dev/null
	check conservative "$QUEUE" LD_PRELOAD="$TESTDIR/skipsync.so" SKIPSYNC=file
	[ "$status" -eq 1 ]
	[ "$(field fsyncs)" -eq 2 ]
	[ "$(field violations)" -gt 0 ]
	echo "$output" | grep -q 'acknowledged .* lost for u@example.org'
}

@test "the checker catches a commit without todo/'s fsync" {
	skipsync
	smtp_pipe 'QUIT\n' >/dev/null
	check conservative "$QUEUE" LD_PRELOAD="$TESTDIR/skipsync.so" SKIPSYNC=dir
	[ "$status" -eq 1 ]
	[ "$(field violations)" -gt 0 ]
	echo "$output" | grep -q 'acknowledged .* lost for w@example.org'
}

@test "queuesync ordered on a journaled ext4: one fsync, safe in the ordered model, not in the conservative one" {
	journaled_ext4 "$TESTDIR/fs"
	conf queuesync ordered
	local q=$TESTDIR/fs/queue
	mkdir "$q"
	echo QUIT | "$SMTPD" -C "$CONF" -Q "$q" >/dev/null 2>&1
	check ordered "$q"
	[ "$status" -eq 0 ]
	[ "$(field acknowledged)" -eq 2 ]
	# the two commits: one fsync each
	[ "$(field fsyncs)" -eq 2 ]
	[ "$(field violations)" -eq 0 ]
	# torn entries are among the states: the CRC-32 keeps them out
	[ "$(field checked)" -ge 20 ]
	rm -rf "$q"/todo/*
	check conservative "$q"
	[ "$status" -eq 1 ]
	echo "$output" | grep -q 'acknowledged .* lost'
}

@test "queuesync ordered without its one fsync: the ordered model catches it" {
	journaled_ext4 "$TESTDIR/fs"
	skipsync
	conf queuesync ordered
	local q=$TESTDIR/fs/queue
	mkdir "$q"
	check ordered "$q" LD_PRELOAD="$TESTDIR/skipsync.so" SKIPSYNC=file
	[ "$status" -eq 1 ]
	echo "$output" | grep -q 'acknowledged .* lost'
}

# fsyncs_of_commit QUEUE: the fsyncs of one commit into QUEUE (its
# subdirectories made first), on stdout; smtpd's log in $LOG
fsyncs_of_commit() {
	echo QUIT | "$SMTPD" -C "$CONF" -Q "$1" >/dev/null 2>&1
	printf 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nx\n.\nQUIT\n' |
	    python3 "$TOP/tests/syscalls.py" "$TESTDIR/events" "$SMTPD" -C "$CONF" -Q "$1" \
	    2>"$LOG" | grep -q '^250 2.0.0 Ok: queued' || return 1
	grep -c '^fsync ' "$TESTDIR/events"
}

@test "queuesync ordered is not used on an ext4 without a journal: a warning, and two fsyncs" {
	journaled_ext4 "$TESTDIR/fs" -O ^has_journal
	conf queuesync ordered
	[ "$(fsyncs_of_commit "$TESTDIR/fs")" -eq 2 ]
	grep -q 'queuesync ordered not used: loop[0-9]* has no journal in data=ordered or data=journal mode; committing with two fsyncs' "$LOG"
}

@test "queuesync ordered is not used on ext4 mounted data=writeback" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a loop file system needs root"
	truncate -s 32M "$TESTDIR/fs.img"
	mkfs.ext4 -q -F "$TESTDIR/fs.img"
	mkdir "$TESTDIR/fs"
	mount -o loop,data=writeback "$TESTDIR/fs.img" "$TESTDIR/fs" || skip "no loop devices here"
	MOUNTED=$TESTDIR/fs
	conf queuesync ordered
	[ "$(fsyncs_of_commit "$TESTDIR/fs")" -eq 2 ]
	grep -q 'queuesync ordered not used: .*no journal in data=ordered' "$LOG"
}

@test "queuesync ordered is not used on tmpfs; used on a journaled ext4; never by default" {
	[ "$(id -u)" -eq 0 ] || skip "mounting needs root"
	mkdir "$TESTDIR/tmpfs"
	mount -t tmpfs none "$TESTDIR/tmpfs"
	MOUNTED=$TESTDIR/tmpfs
	conf queuesync ordered
	# a session that commits nothing does not look
	echo QUIT | "$SMTPD" -C "$CONF" -Q "$TESTDIR/tmpfs" >/dev/null 2>"$LOG"
	! grep -q 'queuesync' "$LOG" || false
	[ "$(fsyncs_of_commit "$TESTDIR/tmpfs")" -eq 2 ]
	grep -q 'queuesync ordered not used: file system type 0x1021994 is neither ext4 nor xfs' "$LOG"
	umount "$MOUNTED"
	journaled_ext4 "$TESTDIR/fs"
	[ "$(fsyncs_of_commit "$TESTDIR/fs")" -eq 1 ]
	! grep -q 'not used' "$LOG" || false
	# the one fsync is the file's (strace still shows its anonymous
	# name), after its link into todo/
	grep -A1 '^link /proc/self/fd/[0-9]* .*/fs/todo/' "$TESTDIR/events" | grep -q '^fsync .*/fs/tmp/#'
	sed -i '/^queuesync/d' "$CONF/smtpd.conf"
	[ "$(fsyncs_of_commit "$TESTDIR/fs")" -eq 2 ]
}
