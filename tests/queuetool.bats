#!/usr/bin/env bats
# postern-queue: listing, showing and changing queued mail, alone and
# while deliver -d delivers.

load helper
load deliver_helper

PQ=$TOP/postern-queue

# pq ARG...: postern-queue on this test's queue, under run: standard
# output in $output, standard error (messages, log lines) in $ERR
pq() {
	run pq_stdout "$@"
	ERR=$(cat "$TESTDIR/pq.err")
	echo "$output"
	echo "$ERR" >&2
}
pq_stdout() {
	"$PQ" -C "$CONF" -Q "$QUEUE" "$@" 2>"$TESTDIR/pq.err"
}

queued_id() {	# queued_id N: the ID of the Nth queued message (sorted)
	"$PQ" -C "$CONF" -Q "$QUEUE" -j list | sed -n "${1}p" |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}

# a deferred message: remote.test refuses connections
deferred_message() {
	echo "remote.test 127.0.0.1:$(free_port)" >"$CONF/routes"
	send "$1" x@remote.test alice@example.org
	run_deliver
}

@test "list: each message with its state and recipients, and a count; -j is JSON" {
	deferred_message late@b.test
	send a@b.test alice@example.org
	pq list
	[ "$status" -eq 0 ]
	[[ "$output" == *"<a@b.test>"* ]]
	echo "$output" | grep -qE '^[0-9A-F]+\.[0-9A-F]+ +[0-9]+  [0-9-]+ [0-9:]+  new +<a@b\.test>$'
	echo "$output" | grep -qE '^    new +alice@example\.org$'
	echo "$output" | grep -qE ' deferred <late@b\.test>$'
	echo "$output" | grep -qE '^    attempts 1, next try '
	echo "$output" | grep -qE '^    pending +x@remote\.test \(4\.4\.1 connect to 127\.0\.0\.1'
	echo "$output" | grep -qE '^    delivered alice@example\.org \(delivered to maildir\)$'
	[[ "${lines[-1]}" =~ ^--\ 2\ messages,\ [0-9]+\ bytes:\ 1\ new,\ 1\ deferred,\ 0\ held$ ]]
	pq -j list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	python3 - "$output" <<'PY'
import json, sys
items = [json.loads(l) for l in sys.argv[1].splitlines()]
deferred, new = items
assert new["state"] == "new" and new["sender"] == "a@b.test", new
assert new["recipients"] == [{"address": "alice@example.org", "status": "new", "reason": ""}], new
assert new["size"] > 0 and new["attempts"] == 0 and new["next"] == 0
assert deferred["state"] == "deferred" and deferred["attempts"] == 1, deferred
assert deferred["next"] > deferred["arrival"]
st = {r["address"]: r["status"] for r in deferred["recipients"]}
assert st == {"x@remote.test": "pending", "alice@example.org": "delivered"}, st
PY
}

@test "filters select by sender, recipient, age and state" {
	send spam1@bad.test alice@example.org
	send spam2@bad.test bob@example.org
	send friend@good.test alice@example.org
	pq -s @BAD.test -j list
	[ "${#lines[@]}" -eq 2 ]
	pq -r bob@ -j list
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'"sender":"spam2@bad.test"'* ]]
	pq -s bad.test -r alice -j list
	[ "${#lines[@]}" -eq 1 ]
	pq -o 1h -j list
	[ -z "$output" ]
	pq -y 1h -j list
	[ "${#lines[@]}" -eq 3 ]
	pq -S held -j list
	[ -z "$output" ]
	pq -S new -j list
	[ "${#lines[@]}" -eq 3 ]
	pq -o 3x list
	[ "$status" -eq 2 ]
}

@test "summary: counts by state, the oldest message, pending recipients by domain" {
	deferred_message late@b.test
	send a@b.test alice@example.org
	send c@b.test bob@example.org
	pq hold "$(queued_id 3)"
	pq summary
	[ "$status" -eq 0 ]
	echo "$output" | grep -qE '^messages 3, bytes [0-9]+: 1 new, 1 deferred, 1 held$'
	echo "$output" | grep -qE "^oldest $(queued_id 1), arrived "
	echo "$output" | grep -qE '^ +2 example\.org$'
	echo "$output" | grep -qE '^ +1 remote\.test$'
	pq -j summary
	python3 -c 'import json, sys; s = json.loads(sys.argv[1]); assert s["messages"] == 3 and s["held"] == 1 and s["domains"] == {"example.org": 2, "remote.test": 1}, s' "$output"
}

@test "show: the envelope, the state and the text as queued" {
	BODY='the body line' send a@b.test alice@example.org
	local id
	id=$(queued_id 1)
	pq show "$id"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "$id "*" new "*"<a@b.test>" ]]
	echo "$output" | grep -q "^Received: from c (local) by mx.test"
	echo "$output" | grep -q "^	id $id for <alice@example.org>"
	[ "${lines[-1]}" = "the body line" ]
	# admitted and deferred: the message part of mess/ID, no envelope
	# (the first message is delivered on the way)
	deferred_message d@b.test
	id=$(queued_id 1)
	pq show "$id"
	[ "$status" -eq 0 ]
	echo "$output" | grep -q '^    attempts 1'
	! echo "$output" | grep -q 'PQE1' || false
	pq show NOSUCH.1
	[ "$status" -eq 1 ]
	[[ "$ERR" == *"NOSUCH.1: no such message"* ]]
}

@test "hold: a held message is never tried and never expires; release sends it" {
	conf queuelifetime 3600
	send a@b.test alice@example.org
	local id
	id=$(queued_id 1)
	pq hold "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "$id held" ]
	[ -f "$QUEUE/hold/$id" ]
	run_deliver
	# admitted, not tried; made a day old: past queuelifetime, still
	# held and not bounced
	[ -f "$QUEUE/state/$id" ]
	sed -i "s/^arrival .*/arrival $(( $(date +%s) - 86400 ))/" "$QUEUE/state/$id"
	run_deliver
	[ -z "$(maildir_files alice)" ]
	[ -z "$(find "$MAIL" -type f 2>/dev/null)" ]
	pq -j list
	[[ "$output" == *'"state":"held"'* ]]
	! grep -q "id=$id .*status=" "$TESTDIR/deliver.log" || false
	pq release "$id"
	[ "$output" = "$id released" ]
	[ ! -e "$QUEUE/hold/$id" ]
	run_deliver
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
	queue_is_empty
	# released past its lifetime to a remote host that is down: one
	# attempt, then the bounce
	echo "remote.test 127.0.0.1:$(free_port)" >"$CONF/routes"
	send b@example.org x@remote.test
	id=$(queued_id 1)
	pq hold "$id"
	run_deliver
	sed -i "s/^arrival .*/arrival $(( $(date +%s) - 86400 ))/" "$QUEUE/state/$id"
	run_deliver
	! grep -q "id=$id .*status=" "$TESTDIR/deliver.log" || false
	pq release "$id"
	run_deliver
	grep -q "id=$id to=<x@remote.test> .*status=bounced (4.4.7 message expired" "$TESTDIR/deliver.log"
}

@test "delete: by ID and by filter, never without a selection; deletion is synced before it is reported" {
	send spam1@bad.test alice@example.org
	send spam2@bad.test alice@example.org
	send friend@good.test alice@example.org
	local keep
	keep=$(queued_id 3)
	pq delete
	[ "$status" -eq 2 ]
	[[ "$ERR" == *"delete needs message IDs, a filter, or -a"* ]]
	pq -s @bad.test delete
	[ "$status" -eq 0 ]
	[ "$(grep -c ' deleted$' <<<"$output")" -eq 2 ]
	pq -j list
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"\"id\":\"$keep\""* ]]
	pq delete "$keep" NOSUCH.2
	[ "$status" -eq 1 ]
	[ "$output" = "$keep deleted" ]
	[[ "$ERR" == *"NOSUCH.2: no such message"* ]]
	run_deliver
	[ -z "$(maildir_files alice)" ]
	queue_is_empty
	# the order on disk: state/ synced, then the reply
	deferred_message late@b.test
	local id
	id=$(queued_id 1)
	# (LeakSanitizer cannot work under ptrace)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    python3 "$TOP/tests/syscalls.py" "$TESTDIR/events" "$PQ" -C "$CONF" -Q "$QUEUE" delete "$id" >/dev/null 2>&1
	grep -n . "$TESTDIR/events" | grep -E "unlink .*/state/$id|fsync .*/state$|unlink .*/mess/$id|fsync .*/mess$|reply $id deleted" >"$TESTDIR/order"
	cat "$TESTDIR/order"
	[ "$(cut -d' ' -f1 "$TESTDIR/order" | sed 's/^[0-9]*://' | tr '\n' ' ')" = "unlink fsync unlink fsync reply " ]
}

@test "requeue: a deferred message is due at once, its back-off forgotten, and deliver -d is woken" {
	deferred_message late@b.test
	local id
	id=$(queued_id 1)
	# the remote host is up now; its retry is 5 minutes away
	start_fake
	sed -i '1d' "$CONF/routes"
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	wait_listening "$DAEMON_PID"
	[ -z "$(ls "$TESTDIR/fake"/*.eml 2>/dev/null)" ]
	pq requeue "$id"
	[ "$status" -eq 0 ]
	[ "$output" = "$id requeued" ]
	local i
	for i in $(seq 1200); do
		[ -n "$(ls "$TESTDIR/fake"/*.eml 2>/dev/null)" ] && break
		sleep 0.1
	done
	ls "$TESTDIR"/fake/*.eml
	grep -q "^X-Fake-To: x@remote.test" "$TESTDIR"/fake/*.eml
}

@test "a message being delivered is waited for, never deleted half-way; -w bounds the wait" {
	start_fake silent
	conf timeout 60
	send a@b.test x@remote.test
	local id
	id=$(queued_id 1)
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	# the attempt is under way (and holds the lock) once it connects
	local i
	for i in $(seq 1200); do
		grep -q CONNECT "$TESTDIR/fake/transcript" 2>/dev/null && break
		sleep 0.1
	done
	grep -q CONNECT "$TESTDIR/fake/transcript"
	pq -w 1 delete "$id"
	[ "$status" -eq 4 ]
	[[ "$ERR" == *"$id: being delivered now; try again"* ]]
	[ -f "$QUEUE/state/$id" ]
	# deliver stops its child; the lock is free, the deletion goes
	kill -TERM "$DAEMON_PID"
	wait "$DAEMON_PID"
	DAEMON_PID=
	pq -w 1 delete "$id"
	[ "$status" -eq 0 ]
	queue_is_empty
}

@test "a thousand messages while deliver -d runs: list, hold, delete by filter and requeue; nothing reported deleted is delivered" {
	# one session of a thousand messages: 500 spam, 500 not
	python3 - "$TESTDIR/session" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("HELO c\n")
    for i in range(1000):
        sender = "spam%d@bad.test" % i if i % 2 else "user%d@good.test" % i
        f.write("MAIL FROM:<%s>\nRCPT TO:<alice@example.org>\nDATA\nSubject: m%d\n\nbody %d\n.\n" % (sender, i, i))
    f.write("QUIT\n")
PY
	"$SMTPD" -C "$CONF" -Q "$QUEUE" <"$TESTDIR/session" 2>/dev/null | grep -c '^250 2.0.0 Ok: queued' >"$TESTDIR/queued"
	[ "$(cat "$TESTDIR/queued")" -eq 1000 ]
	pq summary
	echo "$output" | grep -q '^messages 1000, '
	local held
	held=$(queued_id 1)	# user0@good.test
	pq hold "$held"
	"$DELIVER" -d -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log" &
	DAEMON_PID=$!
	# while it delivers: list, delete the spam, requeue the rest
	pq -j list
	[ "$status" -eq 0 ]
	pq -w 30 -s @bad.test delete
	[ "$status" -eq 0 ]
	grep ' deleted$' <<<"$output" | cut -d' ' -f1 | sort >"$TESTDIR/deleted"
	# some were delivered before their turn: fewer than 500 deleted
	[ "$(wc -l <"$TESTDIR/deleted")" -le 500 ]
	pq -w 30 -s @good.test requeue
	[ "$status" -eq 0 ]
	# until everything but the held message has gone
	local i
	for i in $(seq 3000); do
		[ "$("$PQ" -C "$CONF" -Q "$QUEUE" -j list | wc -l)" -eq 1 ] && break
		sleep 0.1
	done
	pq -j list
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"\"id\":\"$held\""* ]]
	[[ "$output" == *'"state":"held"'* ]]
	# every message reported deleted: never delivered
	grep -ho '^	id [^ ]*' "$MAIL/example.org/alice/new"/* | cut -c5- | sort >"$TESTDIR/delivered"
	[ -z "$(comm -12 "$TESTDIR/deleted" "$TESTDIR/delivered")" ]
	# every message not deleted (and not held) delivered, once
	[ "$(sort -u "$TESTDIR/delivered" | wc -l)" -eq "$(wc -l <"$TESTDIR/delivered")" ]
	[ $(( $(wc -l <"$TESTDIR/deleted") + $(wc -l <"$TESTDIR/delivered") + 1 )) -eq 1000 ]
	# and every spam message went one way or the other, none left
	[ "$(cat $(maildir_files alice) | grep -c '^Subject: m[0-9]*[13579]$')" -eq $((500 - $(wc -l <"$TESTDIR/deleted"))) ]
}
