#!/usr/bin/env bats
# enqueue: the qmail-queue protocol and its exit codes.

load helper

setup() { setup_postern; }
teardown() { teardown_postern; }

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

@test "a large message is streamed through unchanged" {
	head -c 3000000 /dev/urandom | base64 >"$TESTDIR/big"
	printf 'Fa@b.test\0Tu@example.org\0\0' >"$TESTDIR/env"
	"$ENQUEUE" -C "$CONF" -Q "$QUEUE" <"$TESTDIR/big" 1<"$TESTDIR/env"
	queued_messages | tail -n +2 | cmp - "$TESTDIR/big"
}
