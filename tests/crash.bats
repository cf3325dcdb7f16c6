#!/usr/bin/env bats
# Crash consistency: SIGKILL at random points of many commits, and of
# many deliver runs, loses nothing that was acknowledged.

load helper

setup() {
	setup_postern
	# Processes are SIGKILLed here at random moments, some while
	# LeakSanitizer checks them at exit ("Unable to get registers from
	# thread"): a leak check means nothing in a killed process.  Leaks
	# are the other suites' business.
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
}
teardown() { teardown_postern; }

@test "smtpd and enqueue killed at 300 random moments: every 250 is queued whole" {
	run python3 "$TOP/tests/crash.py" "$SMTPD" "$ENQUEUE" "$CONF" "$QUEUE" 300
	echo "$output"
	[ "$status" -eq 0 ]
	# the kills really landed on both sides of the commit
	[[ "$output" =~ rounds=300\ acknowledged=([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -gt 20 ]
	[ "${BASH_REMATCH[1]}" -lt 290 ]
}

@test "deliver killed 25 times mid-run: every recipient still delivered" {
	conf "mailroot $TESTDIR/mail"
	printf 'alice@example.org\nbob@example.org\n' >"$CONF/users"
	local n=400 k
	python3 -c "
import sys
sys.stdout.write('HELO c\n' + ''.join('MAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nRCPT TO:<bob@example.org>\nDATA\nSubject: test %d\n\n' % i + 'x' * 4000 + '\n.\n' for i in range(1, $n + 1)) + 'QUIT\n')" |
	    "$SMTPD" -C "$CONF" -Q "$QUEUE" 2>/dev/null | grep -c '^250 2.0.0 Ok: queued' | grep -qx "$n"
	for k in $(seq 25); do
		"$TOP/deliver" -f -C "$CONF" -Q "$QUEUE" 2>/dev/null &
		sleep "0.0$((RANDOM % 9 + 1))"
		pkill -9 -f "^$TOP/deliver -f -C $CONF" 2>/dev/null || true
		wait 2>/dev/null || true
	done
	# the last killed run's children die with it; the lock follows them
	for k in 1 2; do
		for try in $(seq 50); do
			"$TOP/deliver" -f -C "$CONF" -Q "$QUEUE" 2>/dev/null && break
			sleep 0.1
		done
	done
	for u in alice bob; do
		find "$TESTDIR/mail/example.org/$u/new" -type f | xargs grep -h '^Subject: test ' | sort -u >"$TESTDIR/$u.subjects"
		[ "$(wc -l <"$TESTDIR/$u.subjects")" -eq "$n" ] || { echo "$u lost mail"; false; }
	done
	# nothing left to deliver, and no message that nothing refers to
	[ -z "$(ls "$QUEUE/todo" "$QUEUE/state" | grep -v ':$' | grep .)" ]
	for f in "$QUEUE"/mess/*; do
		[ -e "$f" ] || continue
		[ ! -e "$QUEUE/state/${f##*/}" ]
		[ ! -e "$QUEUE/todo/${f##*/}" ]
	done
}
