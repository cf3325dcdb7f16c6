#!/usr/bin/env bats
# postern-sendmail: the command line local programs use, the message it
# makes, the real programs that call it, and an ordinary user's
# submission through a set-user-ID enqueue.

load helper
load deliver_helper

SENDMAIL=$TOP/postern-sendmail

# sm ARG...: postern-sendmail on this test's queue, under run, reading
# the message from $TESTDIR/in (written by input)
sm() {
	run env POSTERN_CONF="$CONF" POSTERN_QUEUE="$QUEUE" "$SENDMAIL" "$@" <"$TESTDIR/in"
}
input() {	# input FORMAT [ARG...]: printf into $TESTDIR/in
	# shellcheck disable=SC2059
	printf "$@" >"$TESTDIR/in"
}

# the one queued message's envelope (F and T records, one per line)
# and message, in $TESTDIR/env and $TESTDIR/msg
queued() {
	local f
	f=$(find "$QUEUE/todo" -type f)
	[ "$(echo "$f" | wc -l)" -eq 1 ] && [ -n "$f" ] || { echo "queued: $f" >&2; return 1; }
	entry envelope "$f" | tr '\0' '\n' | sed '/^$/d' >"$TESTDIR/env"
	entry message "$f" >"$TESTDIR/msg"
}

@test "-t: recipients from To, Cc and Bcc (names, quoted commas, groups, comments); Bcc removed" {
	input '%s\n' 'To: Alice <alice@example.org>, "Doe, John" <john@example.org>' \
	    'Cc: team: bob@example.org (Bob), carol@example.org;, undisclosed-recipients:;' \
	    ' , dave@[IPv6:2001:db8::1]' 'Bcc: secret@example.org' 'Subject: t' '' 'body'
	sm -t
	[ "$status" -eq 0 ]
	queued
	cat "$TESTDIR/env"
	[ "$(sed -n 1p "$TESTDIR/env")" = "F$(id -un)@mx.test" ]
	[ "$(sed 1d "$TESTDIR/env" | sort | tr '\n' ' ')" = "Talice@example.org Tbob@example.org Tcarol@example.org Tdave@[IPv6:2001:db8::1] Tjohn@example.org Tsecret@example.org " ]
	! grep -qi '^bcc:' "$TESTDIR/msg" || false
	grep -q '^To: Alice <alice@example.org>, "Doe, John" <john@example.org>$' "$TESTDIR/msg"
}

@test "-t on a resent message: the Resent- fields' recipients only" {
	input '%s\n' 'To: alice@example.org' 'Resent-To: bob@example.org' 'Resent-Bcc: carol@example.org' 'Subject: fwd' '' 'b'
	sm -t
	[ "$status" -eq 0 ]
	queued
	[ "$(sed 1d "$TESTDIR/env" | sort | tr '\n' ' ')" = "Tbob@example.org Tcarol@example.org " ]
	! grep -qi '^resent-bcc:' "$TESTDIR/msg" || false
	grep -q '^To: alice@example.org$' "$TESTDIR/msg"
}

@test "the header gets From, Date and Message-ID when it lacks them, and keeps its own" {
	conf origin example.net
	input 'Subject: s\n\nbody\n'; sm -F 'Jane Q. User' alice@example.org
	[ "$status" -eq 0 ]
	queued
	cat "$TESTDIR/msg"
	grep -q "^From: \"Jane Q. User\" <$(id -un)@example.net>$" "$TESTDIR/msg"
	grep -qE '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}$' "$TESTDIR/msg"
	grep -qE '^Message-ID: <[0-9a-f]+\.[0-9a-f]+@example\.net>$' "$TESTDIR/msg"
	# enqueue's trace line first, the body after one empty line
	head -1 "$TESTDIR/msg" | grep -q "^Received: (postern invoked by uid $(id -u));"
	[ "$(tail -2 "$TESTDIR/msg")" = $'\nbody' ]
	rm -f "$QUEUE"/todo/*
	input 'From: me@example.org\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nb\n'; sm alice@example.org
	queued
	[ "$(grep -c '^From: ' "$TESTDIR/msg")" -eq 1 ]
	[ "$(grep -c '^Date: ' "$TESTDIR/msg")" -eq 1 ]
	grep -q '^Message-ID: <x@y>$' "$TESTDIR/msg"
}

@test "-f sets the sender, '<>' and '' the null sender; bare names are qualified" {
	input 'Subject: s\n\nb\n'; sm -f bounce@example.org alice
	[ "$status" -eq 0 ]
	queued
	[ "$(tr '\n' ' ' <"$TESTDIR/env")" = "Fbounce@example.org Talice@mx.test " ]
	rm -f "$QUEUE"/todo/*
	input 'Subject: s\n\nb\n'; sm -f '<>' alice@example.org
	queued
	[ "$(head -1 "$TESTDIR/env")" = "F" ]
	rm -f "$QUEUE"/todo/*
	input 'Subject: s\n\nb\n'; sm -f '' -r ignored@x.test alice@example.org
	queued
	[ "$(head -1 "$TESTDIR/env")" = "Fignored@x.test" ]
}

@test "a '.' line ends the message, unless -i or -oi; CRLF becomes LF" {
	input 'Subject: s\r\n\r\nline one\r\n.\r\nafter the dot\r\n'; sm alice@example.org
	[ "$status" -eq 0 ]
	queued
	! grep -q 'after the dot' "$TESTDIR/msg" || false
	! grep -q $'\r' "$TESTDIR/msg" || false
	local opt
	for opt in -i -oi; do
		rm -f "$QUEUE"/todo/*
		input 'Subject: s\n\n.\nafter the dot\n'; sm "$opt" alice@example.org
		queued
		[ "$(tail -2 "$TESTDIR/msg")" = $'.\nafter the dot' ]
	done
}

@test "options programs pass are accepted; errors have sendmail's exit codes" {
	input 'Subject: s\n\nb\n'; sm -oem -oee -odb -v -N never -R hdrs -V envid -OPipeliningLimit=1 -X /dev/null alice@example.org
	[ "$status" -eq 0 ]
	input 'Subject: s\n\nb\n'; sm
	[ "$status" -eq 64 ]
	[[ "$output" == *"no recipients given"* ]]
	input 'To: nobody\n\nb\n'; sm -t 'bad address@@x'
	[ "$status" -eq 65 ]
	[[ "$output" == *"bad recipient address: bad address@@x"* ]]
	input 'Subject: s\n\nb\n'; sm -bd alice@example.org
	[ "$status" -eq 64 ]
	input ''
	sm -Y
	[ "$status" -eq 64 ]
	[[ "$output" == "usage: sendmail "* ]]
	# larger than maxsize: refused for good, also when enqueue stops
	# reading long before the end (a message larger than a pipe holds)
	conf maxsize 1000
	head -c 5000 /dev/zero | tr '\0' x >"$TESTDIR/in"
	sm alice@example.org
	[ "$status" -eq 65 ]
	{ printf 'Subject: big\n\n'; head -c 2000000 /dev/zero | tr '\0' x | fold -w 70; } >"$TESTDIR/in"
	sm alice@example.org
	[ "$status" -eq 65 ]
	[ "$(find "$QUEUE/todo" -type f | wc -l)" -eq 1 ]	# the first one only
}

@test "mailq, newaliases, -bp and -q under the names programs expect" {
	ln -s "$SENDMAIL" "$TESTDIR/mailq"
	ln -s "$SENDMAIL" "$TESTDIR/newaliases"
	input 'Subject: s\n\nb\n'; sm alice@example.org
	run env POSTERN_CONF="$CONF" POSTERN_QUEUE="$QUEUE" "$TESTDIR/mailq"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "-- 1 message, "* ]]
	sm -bp
	[[ "${lines[-1]}" == "-- 1 message, "* ]]
	run "$TESTDIR/newaliases"
	[ "$status" -eq 0 ]
	[[ "$output" == *"nothing to do"* ]]
	sm -q
	[ "$status" -eq 0 ]
	[ "$(maildir_files alice | wc -l)" -eq 1 ]
}

# The real callers, each through a wrapper that gives it this test's
# configuration and queue, then one deliver pass and the Maildir.
wrapper() {
	cat >"$TESTDIR/sendmail" <<EOF
#!/bin/sh
POSTERN_CONF=$CONF POSTERN_QUEUE=$QUEUE exec $SENDMAIL "\$@"
EOF
	chmod 755 "$TESTDIR/sendmail"
}

delivered_to() {	# delivered_to USER PATTERN: one message in USER's Maildir matches
	run_deliver
	[ "$(maildir_files "$1" | wc -l)" -eq 1 ]
	grep -q "$2" $(maildir_files "$1")
}

@test "Python's subprocess: sendmail -t -oi" {
	wrapper
	python3 - "$TESTDIR/sendmail" <<'PY'
import subprocess, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "script@example.org"
m["To"] = "alice@example.org"
m["Bcc"] = "bob@example.org"
m["Subject"] = "from python"
m.set_content("hello from python\n.\nstill here\n")
subprocess.run([sys.argv[1], "-t", "-oi"], input=m.as_bytes(), check=True)
PY
	delivered_to alice '^Subject: from python$'
	grep -q '^still here$' $(maildir_files alice)
	[ "$(maildir_files bob | wc -l)" -eq 1 ]
	! grep -qi '^bcc:' $(maildir_files alice) $(maildir_files bob) || false
}

@test "PHP's mail() with sendmail_path" {
	command -v php >/dev/null || skip "php-cli is not installed"
	wrapper
	php -d sendmail_path="$TESTDIR/sendmail -t -i" -r \
	    'exit(mail("alice@example.org", "from php", "hello from php\n", "From: web@example.org") ? 0 : 1);'
	delivered_to alice '^Subject: from php$'
	grep -q '^From: web@example.org' $(maildir_files alice)
	grep -q '^hello from php$' $(maildir_files alice)
}

@test "mail(1) (bsd-mailx) with -s and a recipient" {
	command -v bsd-mailx >/dev/null || skip "bsd-mailx is not installed"
	wrapper
	echo "set sendmail=$TESTDIR/sendmail" >"$TESTDIR/mailrc"
	echo 'hello from mailx' | MAILRC=$TESTDIR/mailrc HOME=$TESTDIR bsd-mailx -s 'from mailx' alice@example.org
	delivered_to alice '^Subject: from mailx$'
	grep -q '^hello from mailx$' $(maildir_files alice)
	grep -q "^From: .*$(id -un)@mx.test" $(maildir_files alice)
}

@test "git send-email with --sendmail-cmd" {
	git send-email --help >/dev/null 2>&1 || skip "git-email is not installed"
	wrapper
	local repo=$TESTDIR/repo
	git init -q "$repo"
	echo change >"$repo/file"
	git -C "$repo" add file
	git -C "$repo" -c user.name=Dev -c user.email=dev@example.org commit -q -m 'the patch subject'
	git -C "$repo" format-patch -q -1 -o "$TESTDIR/patches"
	git -C "$repo" -c user.name=Dev -c user.email=dev@example.org send-email \
	    --sendmail-cmd="$TESTDIR/sendmail" --to=alice@example.org --confirm=never \
	    --no-validate "$TESTDIR"/patches/*.patch >/dev/null
	delivered_to alice '^Subject: \[PATCH\] the patch subject$'
	grep -q '^From: Dev <dev@example.org>$' $(maildir_files alice)
}

# An ordinary user, a queue they cannot read, an enqueue set-user-ID to
# the queue's owner: built with this test's directories as its only ones.
@test "an ordinary user submits through the set-user-ID enqueue, and can neither read nor redirect the queue" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to make a set-user-ID program and switch users"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	local tree=$TESTDIR/tree bin=$TESTDIR/bin
	mkdir "$tree" "$bin"
	git -C "$TOP" ls-files -z | (cd "$TOP" && xargs -0 cp --parents -t "$tree")
	# not a sanitizer build, even in CI's sanitizer pass: ASan's report
	# files are not the queue owner's to write
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SANITIZE -u CFLAGS make -s -C "$tree" \
	    CONFIG_DIR="$CONF" QUEUE_DIR="$QUEUE" enqueue postern-sendmail >/dev/null
	cp "$tree/enqueue" "$tree/postern-sendmail" "$bin/"
	# the queue and the set-user-ID enqueue are daemon's; nobody submits
	echo QUIT | "$SMTPD" -C "$CONF" -Q "$QUEUE" >/dev/null 2>&1
	chown -R daemon "$QUEUE"
	chmod 700 "$QUEUE"
	chown daemon "$bin/enqueue"
	chmod 4755 "$bin/enqueue"
	chmod 755 "$bin" "$TESTDIR"
	chmod -R a+rX "$CONF"
	findmnt -no OPTIONS -T "$bin" | grep -qw nosuid && skip "the test directory is mounted nosuid"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	printf 'Subject: from nobody\n\nhi\n' | as_nobody "$bin/postern-sendmail" alice@example.org
	# queued, by daemon, with nobody's uid in the trace line
	local f
	f=$(find "$QUEUE/todo" -type f)
	[ -n "$f" ]
	[ "$(stat -c %U "$f")" = daemon ]
	entry message "$f" | head -1 | grep -q "^Received: (postern invoked by uid $(id -u nobody));"
	entry envelope "$f" | tr '\0' '\n' | grep -qx 'Fnobody@mx.test'
	# nobody cannot read the queue, nor point enqueue elsewhere
	! as_nobody ls "$QUEUE/todo" 2>/dev/null || false
	mkdir -m 777 "$TESTDIR/elsewhere"
	run as_nobody "$bin/enqueue" -Q "$TESTDIR/elsewhere" </dev/null
	[ "$status" -eq 61 ]
	[[ "$output" == *"-C and -Q are for root and the queue's owner"* ]]
	printf 'Subject: env\n\nhi\n' | as_nobody env POSTERN_QUEUE="$TESTDIR/elsewhere" "$bin/postern-sendmail" alice@example.org
	[ -z "$(ls "$TESTDIR/elsewhere")" ]
	[ "$(find "$QUEUE/todo" -type f | wc -l)" -eq 2 ]
	# maxsize holds for users too
	conf maxsize 1000
	run as_nobody sh -c "head -c 5000 /dev/zero | tr '\\0' x | $bin/postern-sendmail alice@example.org"
	[ "$status" -eq 65 ]
	[ "$(find "$QUEUE/todo" -type f | wc -l)" -eq 2 ]
	# and deliver, as the queue's owner, delivers what nobody sent
	chown -R daemon "$TESTDIR"
	"$DELIVER" -C "$CONF" -Q "$QUEUE" 2>/dev/null
	[ "$(find "$MAIL/example.org/alice/new" -type f | wc -l)" -eq 2 ]
}

@test "cron mails a job's output through /usr/sbin/sendmail" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for a mount namespace"
	command -v cron >/dev/null || skip "cron is not installed"
	unshare -m true 2>/dev/null || skip "mount namespaces are not allowed here"
	[ -f /usr/sbin/sendmail ] || skip "no /usr/sbin/sendmail to stand in for"
	wrapper
	mkdir -p "$TESTDIR/cron.d" "$TESTDIR/crontabs"
	printf 'SHELL=/bin/sh\nMAILTO=alice@example.org\n* * * * * root echo hello-from-cron\n' >"$TESTDIR/crontab"
	chmod 644 "$TESTDIR/crontab"
	# a cron of its own: in a mount namespace where /usr/sbin/sendmail
	# is this test's, and the crontabs and /run are empty but for ours
	unshare -m sh -c 'mount --bind "$1/sendmail" /usr/sbin/sendmail &&
	    mount --bind "$1/crontab" /etc/crontab &&
	    mount --bind "$1/cron.d" /etc/cron.d &&
	    mount --bind "$1/crontabs" /var/spool/cron/crontabs &&
	    mount -t tmpfs none /run && exec cron -f' sh "$TESTDIR" 2>"$TESTDIR/cron.log" &
	DAEMON_PID=$!
	# the job runs when the next minute starts; its mail follows
	local i
	for i in $(seq 1500); do
		[ -n "$(find "$QUEUE/todo" -type f 2>/dev/null)" ] && break
		sleep 0.1
	done
	kill "$DAEMON_PID"
	wait "$DAEMON_PID" || true	# cron's status after SIGTERM is its own
	DAEMON_PID=
	delivered_to alice '^hello-from-cron$'
	grep -q '^Subject: Cron <root@[^>]*> echo hello-from-cron$' $(maildir_files alice)
}

@test "-bs: an SMTP session on standard input, the local user sending anywhere; smtpd -L refuses a network client" {
	input 'EHLO c\r\nMAIL FROM:<me@example.org>\r\nRCPT TO:<x@remote.test>\r\nRCPT TO:<y@far.test>\r\nDATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n'
	sm -bs
	[ "$status" -eq 0 ]
	echo "$output" | tr -d '\r' | grep -q '^250 2.0.0 Ok: queued'
	! echo "$output" | grep -q 'AUTH' || false
	queued
	[ "$(tr '\n' ' ' <"$TESTDIR/env")" = "Fme@example.org Tx@remote.test Ty@far.test " ]
	# the same session straight into smtpd, without -L: no relaying
	run "$SMTPD" -C "$CONF" -Q "$QUEUE" <"$TESTDIR/in"
	echo "$output" | tr -d '\r' | grep -q '^554 5.7.1'
	# -L on a socket: refused, nothing served
	python3 - "$SMTPD" "$CONF" "$QUEUE" <<'PY'
import socket, subprocess, sys
ours, theirs = socket.socketpair()
p = subprocess.run([sys.argv[1], "-L", "-C", sys.argv[2], "-Q", sys.argv[3]],
                   stdin=theirs, stdout=theirs, stderr=subprocess.PIPE, timeout=30)
theirs.close()
said = ours.recv(4096).decode()
assert p.returncode != 0, p.returncode
assert said.startswith("421 "), said
assert b"-L is for a local pipe" in p.stderr, p.stderr
PY
}

@test "-N, -R, -V: DSN requests in the envelope for every recipient, as smtpd keeps NOTIFY, RET and ENVID; bad ones refused (64)" {
	input 'Subject: s\n\nb\n'
	sm -N success,delay -R full -V 'job 7+x=y' a@remote.test b@remote.test
	[ "$status" -eq 0 ]
	f=$(find "$QUEUE/todo" -type f)
	entry envelope "$f" | tr '\0' '|' >"$TESTDIR/env"
	cat "$TESTDIR/env"
	[ "$(cat "$TESTDIR/env")" = "F$(id -un)@mx.test|PRET=FULL ENVID=job+207+2Bx+3Dy|Ta@remote.test|PNOTIFY=SUCCESS,DELAY|Tb@remote.test|PNOTIFY=SUCCESS,DELAY||" ]
	rm -f "$QUEUE"/todo/*
	for bad in '-N never,success' '-N sometimes' '-R all'; do
		# shellcheck disable=SC2086
		sm $bad a@remote.test
		[ "$status" -eq 64 ] || { echo "$bad gave $status"; false; }
	done
	sm -V "$(printf 'x%.0s' $(seq 101))" a@remote.test
	[ "$status" -eq 64 ]
	[ -z "$(find "$QUEUE/todo" -type f)" ]
}
