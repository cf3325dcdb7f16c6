#!/usr/bin/env bats
# Durability as the order of system calls: SIGKILL keeps the page cache,
# so a crash test cannot see a missing fsync, but strace sees every one.
# Each claim of queue(5), deliver(8) and pop3d(8) about what is synced
# before what is answered or recorded is checked here on a real run.

load helper

setup() {
	setup_postern
	command -v strace >/dev/null || skip "strace is not installed"
	# LeakSanitizer cannot work under ptrace: off for a sanitizer build.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	conf "mailroot $TESTDIR/mail"
	EV=$TESTDIR/events
}
teardown() { teardown_postern; }

traced() {	# traced COMMAND...: its events in $EV
	python3 "$TOP/tests/syscalls.py" "$EV" "$@"
}

# at PATTERN: the line number of the first event matching PATTERN (ERE).
at() {
	local n
	n=$(grep -n -m1 -E "$1" "$EV" | cut -d: -f1)
	[ -n "$n" ] || { echo "no event matches: $1" >&2; cat "$EV" >&2; return 1; }
	echo "$n"
}

before() {	# before A B: the first A comes before the first B
	local a b
	a=$(at "$1") && b=$(at "$2") || return 1
	[ "$a" -lt "$b" ] || { echo "not before: $1 ($a) and $2 ($b)" >&2; cat "$EV" >&2; return 1; }
}

@test "queue commit: the one entry file synced, linked into todo/, todo/ synced, then 250" {
	# the subdirectories made beforehand: making them costs a sync of
	# the queue directory each, once (crashstates.bats)
	smtp_pipe 'QUIT\n' >/dev/null
	printf 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nhi\n.\nQUIT\n' |
	    traced "$SMTPD" -C "$CONF" -Q "$QUEUE" >/dev/null 2>&1
	local id
	id=$(ls "$QUEUE/todo")
	[ -n "$id" ]
	# two fsyncs in all: the file and the directory
	[ "$(grep -c '^fsync ' "$EV")" -eq 2 ]
	before '^fsync .*/queue/tmp/' "^(link|rename) .* .*/queue/todo/$id\$"
	before "^(link|rename) .* .*/queue/todo/$id\$" '^fsync .*/queue/todo$'
	before '^fsync .*/queue/todo$' '^reply .*250 2\.0\.0 Ok: queued'
	! grep -q '/queue/mess' "$EV" || false
}

@test "Maildir delivery: file synced, linked into new/, new/ synced, then the outcome saved" {
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<u@example.org>\nDATA\nhi\n.\nQUIT\n' | grep -q '^250 2.0.0'
	traced "$TOP/deliver" -C "$CONF" -Q "$QUEUE" 2>/dev/null
	[ -n "$(ls "$TESTDIR/mail/example.org/u/new")" ]
	before '^fsync .*/mail/example.org/u/tmp/' '^link .*/u/+tmp/.* .*/u/+new/'
	# the new Maildir's directories were synced into their parents
	# first: new/ cannot vanish with the message in it
	before '^fsync .*/mail/example.org/u$' '^link .*/u/+tmp/.* .*/u/+new/'
	before '^fsync .*/mail/example.org$' '^link .*/u/+tmp/.* .*/u/+new/'
	before '^link .*/u/+tmp/.* .*/u/+new/' '^fsync .*/mail/example.org/u/new$'
	# the state file saved after the delivery is the second one written
	local synced saved
	synced=$(at '^fsync .*/mail/example.org/u/new$')
	saved=$(grep -n '^rename .*\.state .*/queue/state/' "$EV" | tail -1 | cut -d: -f1)
	[ "$synced" -lt "$saved" ]
	# and the message goes only after that
	[ "$saved" -lt "$(at '^unlink .*/queue/mess/')" ]
}

@test "POP3 UPDATE: deleted files unlinked, cur/ synced, then the +OK of QUIT" {
	printf 'u@example.org:%s\n' "$(openssl passwd -6 -salt pstrn pw)" >"$CONF/passwd"
	conf authplaintext yes
	conf authdelay 0
	local md=$TESTDIR/mail/example.org/u
	mkdir -p "$md/new" "$md/cur" "$md/tmp"
	printf 'Subject: one\n\nx\n' >"$md/new/1700000001.M1P1Q1.h"
	printf 'Subject: two\n\ny\n' >"$md/new/1700000002.M1P1Q2.h"
	printf 'USER u@example.org\r\nPASS pw\r\nDELE 1\r\nQUIT\r\n' |
	    traced "$TOP/pop3d" -C "$CONF" >/dev/null 2>&1
	[ "$(ls "$md/cur" | wc -l)" -eq 1 ]
	before '^unlink .*/u/cur/1700000001' '^fsync .*/u/cur$'
	before '^fsync .*/u/cur$' '^reply .*\+OK Bye'
}
