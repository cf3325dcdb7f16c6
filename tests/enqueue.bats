#!/usr/bin/env bats
# enqueue: the qmail-queue protocol and its exit codes.

load helper

setup() { setup_postern; }
teardown() {
	# the full file system test's tmpfs, if it failed half-way
	! mountpoint -q "$TESTDIR/full" 2>/dev/null || umount "$TESTDIR/full"
	teardown_postern
}

# enqueue_with ENVELOPE-PRINTF-FORMAT [MESSAGE]: message on fd 0,
# envelope on fd 1, as qmail-queue is called.
enqueue_with() {
	printf "$1" >"$TESTDIR/env"
	printf '%s' "${2:-Subject: e

body
}" >"$TESTDIR/msg"
	"$ENQUEUE" -C "$CONF" -Q "$QUEUE" <"$TESTDIR/msg" 1<"$TESTDIR/env" 2>"$LOG"
}

@test "a message and envelope are queued, with enqueue's Received line" {
	run enqueue_with 'Fa@b.test\0Tu@example.org\0Tv@remote.test\0\0'
	[ "$status" -eq 0 ]
	printf 'Fa@b.test\0Tu@example.org\0Tv@remote.test\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
	run only_message
	[[ "${lines[0]}" =~ ^Received:\ \(postern\ invoked\ by\ uid\ $(id -u)\)\;\ [A-Z][a-z]{2},\  ]]
	[ "${lines[1]}" = "Subject: e" ]
	[ "${lines[2]}" = "body" ]	# bats drops the empty line
	grep -q "queued id=$(ls "$QUEUE/todo") from=<a@b.test> size=17 nrcpt=2 uid=$(id -u)" "$LOG"
}

@test "the null sender is accepted" {
	run enqueue_with 'F\0Tu@example.org\0\0'
	[ "$status" -eq 0 ]
	[ "$(queued_count)" -eq 1 ]
}

@test "an envelope cut short by end of file: 54, nothing queued" {
	for env in '' 'Fa@b.test' 'Fa@b.test\0' 'Fa@b.test\0Tu@example.org\0' 'Fa@b.test\0Tu@exa'; do
		run enqueue_with "$env"
		[ "$status" -eq 54 ] || { echo "env '$env' gave $status"; false; }
	done
	queue_empty
}

@test "a malformed envelope: 91, nothing queued" {
	for env in 'Xa@b.test\0Tu@example.org\0\0' 'Fa@b.test\0Xu@example.org\0\0' 'Fa@b.test\0Tu@example.org\0\0junk' 'Fa@b.test\0\0'; do
		run enqueue_with "$env"
		[ "$status" -eq 91 ] || { echo "env '$env' gave $status"; false; }
	done
	queue_empty
}

@test "DSN parameters (a P item after the sender or a recipient) are taken when well formed; 91 otherwise" {
	run enqueue_with 'Fa@b.test\0PRET=HDRS ENVID=x1\0Tu@example.org\0PNOTIFY=SUCCESS ORCPT=rfc822;u+40example.org\0Tv@example.org\0\0'
	[ "$status" -eq 0 ]
	printf 'Fa@b.test\0PRET=HDRS ENVID=x1\0Tu@example.org\0PNOTIFY=SUCCESS ORCPT=rfc822;u+40example.org\0Tv@example.org\0\0' >"$TESTDIR/want"
	cmp "$TESTDIR/want" <(entry envelope "$QUEUE"/todo/*)
	rm -f "$QUEUE"/todo/*
	for env in 'PRET=HDRS\0Fa@b.test\0Tu@example.org\0\0' 'Fa@b.test\0PRET=ALL\0Tu@example.org\0\0' \
	    'Fa@b.test\0Tu@example.org\0PNOTIFY=NEVER,SUCCESS\0\0' 'Fa@b.test\0Tu@example.org\0P\0\0' \
	    'Fa@b.test\0Tu@example.org\0PNOTIFY=SUCCESS\0PNOTIFY=DELAY\0\0' 'Fa@b.test\0PNOTIFY=SUCCESS\0Tu@example.org\0\0'; do
		run enqueue_with "$env"
		[ "$status" -eq 91 ] || { echo "env '$env' gave $status"; false; }
	done
	queue_empty
}

@test "an address too long: 11" {
	local long
	long=$(printf 'a%.0s' $(seq 1100))
	run enqueue_with "Fa@b.test\0T$long@example.org\0\0"
	[ "$status" -eq 11 ]
	queue_empty
}

@test "a missing queue directory: 61; a missing configuration: 55" {
	run bash -c "printf 'x' | '$ENQUEUE' -C '$CONF' -Q '$TESTDIR/none' 1</dev/null"
	[ "$status" -eq 61 ]
	run bash -c "printf 'x' | '$ENQUEUE' -C '$TESTDIR/none' -Q '$QUEUE' 1</dev/null"
	[ "$status" -eq 55 ]
}

@test "a full file system: 53, and nothing left behind (smtpd: limits.bats)" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a file system needs root"
	QUEUE=$TESTDIR/full
	mkdir "$QUEUE"
	mount -t tmpfs -o size=256k none "$QUEUE" || skip "cannot mount a tmpfs here"
	# a first message makes the queue's directories; the next is larger
	# than the space left
	run enqueue_with 'Fa@b.test\0Tu@example.org\0\0'
	[ "$status" -eq 0 ]
	{ head -c 400000 /dev/zero | tr '\0' x | fold -w 76; echo; } >"$TESTDIR/big"
	run bash -c "'$ENQUEUE' -C '$CONF' -Q '$QUEUE' <'$TESTDIR/big' 1<'$TESTDIR/env'"
	echo "$output"
	[ "$status" -eq 53 ]
	# only the first message; no partial file anywhere
	[ "$(ls "$QUEUE/todo" | wc -l)" -eq 1 ]
	[ -z "$(find "$QUEUE/tmp" "$QUEUE/mess" -type f)" ]
	umount "$QUEUE"
}

@test "out of memory: 51" {
	! ldd "$ENQUEUE" | grep -q libasan || skip "AddressSanitizer needs far more address space than the limit"
	# an envelope of 40 MiB of recipients (under its 64 MiB limit) in
	# an address space of 32 MiB
	python3 -c '
import sys
out = sys.stdout.buffer
out.write(b"Fa@b.test\0")
r = b"T" + b"r" * 60 + b"@example.org\0"
for _ in range(40 * 1024 * 1024 // len(r)):
    out.write(r)
out.write(b"\0")' >"$TESTDIR/env"
	printf 'Subject: e\n\nbody\n' >"$TESTDIR/msg"
	run bash -c "ulimit -v 32768; '$ENQUEUE' -C '$CONF' -Q '$QUEUE' <'$TESTDIR/msg' 1<'$TESTDIR/env'"
	echo "$output"
	[ "$status" -eq 51 ]
	queue_empty
}

@test "a large message is streamed through unchanged" {
	head -c 3000000 /dev/urandom | base64 >"$TESTDIR/big"
	printf 'Fa@b.test\0Tu@example.org\0\0' >"$TESTDIR/env"
	"$ENQUEUE" -C "$CONF" -Q "$QUEUE" <"$TESTDIR/big" 1<"$TESTDIR/env"
	queued_messages | tail -n +2 | cmp - "$TESTDIR/big"
}
