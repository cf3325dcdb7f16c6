#!/usr/bin/env bats
# Damaged or hostile files: list images whose entries lack their parts,
# and a queue directory whose subdirectories someone replaced.

load helper

MAKEDB=$TOP/postern-makedb
POP3D=$TOP/pop3d
DELIVER=$TOP/deliver

setup() {
	setup_postern
	conf "mailroot $TESTDIR/mail"
	conf expn yes
	conf vrfy yes
	conf authplaintext yes
	conf authdelay 0
}
teardown() { teardown_postern; }

# cut_tab FILE ADDRESS: the TAB after ADDRESS in a compiled image becomes
# an X, as a damaged or hand-made .db file could have it; the source
# stamp is kept, so readers still take the image as current.
cut_tab() {
	python3 - "$1" "$2" <<'PY'
import os, sys
path, addr = sys.argv[1], sys.argv[2].encode()
st = os.stat(path)
data = open(path, "rb").read()
assert addr + b"\t" in data, "no such entry"
open(path, "wb").write(data.replace(addr + b"\t", addr + b"X"))
os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
PY
}

@test "a users or aliases .db entry without its TAB: refused as unknown, no crash" {
	printf 'alice@example.org\n' >"$CONF/users"
	printf 'team@example.org: alice@example.org\n' >"$CONF/aliases"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn pw)" >"$CONF/passwd"
	"$MAKEDB" -C "$CONF" users aliases >/dev/null
	# a message queued while the lists were whole
	smtp_pipe 'HELO c\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nDATA\nhi\n.\nQUIT\n' | grep -q '^250 2.0.0'
	cut_tab "$CONF/users.db" alice@example.org
	cut_tab "$CONF/aliases.db" team@example.org
	run smtp_pipe 'HELO c\nEXPN team@example.org\nVRFY alice@example.org\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nQUIT\n'
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[3]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[5]}" = "550 5.1.1 Error: user unknown" ]
	[ "${lines[6]}" = "221 2.0.0 mx.test closing connection" ]
	grep -q 'damaged users or aliases entry' "$LOG"
	run bash -c "printf 'USER alice@example.org\r\nPASS pw\r\nQUIT\r\n' | '$POP3D' -C '$CONF' 2>/dev/null | tr -d '\r'"
	[ "$status" -eq 0 ]
	[ "${lines[2]}" = "-ERR [SYS/PERM] No mailbox here for this user" ] || { echo "$output"; false; }
	# the deliver parent admits the message: the recipient is bounced,
	# nothing is left stuck and deliver exits in order
	run "$DELIVER" -C "$CONF" -Q "$QUEUE"
	[ "$status" -eq 0 ]
	[[ "$output" == *"to=<alice@example.org> relay=none"*"status=bounced (5.1.1 user unknown)"* ]]
}

@test "a queue subdirectory replaced by a symlink: deliver and smtpd refuse, nothing outside is touched" {
	local victim=$TESTDIR/victim
	mkdir -p "$victim/state"
	echo precious >"$victim/old"
	touch -d '2 days ago' "$victim/old"
	# a fresh queue whose tmp/ is a symlink planted before any program ran
	ln -s "$victim" "$QUEUE/tmp"
	run "$DELIVER" -C "$CONF" -Q "$QUEUE"
	[ "$status" -eq 1 ]
	[[ "$output" == *"a subdirectory is a symlink, not a directory"* ]]
	[ "$(cat "$victim/old")" = precious ]
	run smtp_pipe 'HELO c\nQUIT\n'
	[[ "${lines[0]}" == "421 4.3.0 "* ]]
	# state/ as a symlink: refused before anything is written through it
	rm "$QUEUE/tmp"
	ln -s "$victim/state" "$QUEUE/state"
	run "$DELIVER" -C "$CONF" -Q "$QUEUE"
	[ "$status" -eq 1 ]
	[[ "$output" == *"state: Not a directory"* ]]
	[ -z "$(ls "$victim/state")" ]
}

@test "a queue subdirectory that is not the queue owner's is refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a directory away"
	mkdir -p "$QUEUE/mess"
	chown nobody "$QUEUE/mess"
	run "$DELIVER" -C "$CONF" -Q "$QUEUE"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "a symlink in mess/ is never delivered as a message" {
	echo 'secret' >"$TESTDIR/secret"
	printf 'alice@example.org\n' >"$CONF/users"
	mkdir -p "$QUEUE/mess" "$QUEUE/todo"
	ln -s "$TESTDIR/secret" "$QUEUE/mess/1.A"
	printf 'Fa@b.test\0Talice@example.org\0\0' >"$QUEUE/todo/1.A"
	run "$DELIVER" -C "$CONF" -Q "$QUEUE"
	[ "$status" -eq 0 ]
	[ -z "$(find "$TESTDIR/mail" -type f 2>/dev/null)" ]
	[ ! -e "$QUEUE/todo/1.A" ]
}
