#!/usr/bin/env bats
# deliver hands a domain's mail to Dovecot's LMTP server (Debian's
# dovecot-lmtpd), a private instance started by the test with its own
# base directory, UNIX socket and IMAP port; the mail is read back over
# IMAP (Python imaplib), and a recipient over quota gets Dovecot's
# own verdict.

load helper
load deliver_helper

setup_dovecot() {
	[ -x /usr/lib/dovecot/lmtp ] || skip "dovecot-lmtpd is not installed"
	[ -x /usr/lib/dovecot/imap ] || skip "dovecot-imapd is not installed"
	[ "$(id -u)" -eq 0 ] || skip "Dovecot's master needs root"
	local d=$TESTDIR/dovecot
	mkdir -p "$d/run/state" "$d/mail"
	chown nobody:nogroup "$d/mail"
	IMAP_PORT=$(free_port)
	cat >"$d/dovecot.conf" <<EOC
protocols = imap lmtp
base_dir = $d/run
state_dir = $d/run/state
log_path = $d/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
listen = 127.0.0.1
mail_location = maildir:$d/mail/%n
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
default_internal_user = nobody
default_login_user = nobody
passdb {
  driver = passwd-file
  args = username_format=%n $d/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $d/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
}
service lmtp {
  unix_listener $d/lmtp.sock {
    mode = 0666
  }
}
protocol lmtp {
  mail_plugins = quota
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=100M
}
EOC
	# bob's quota is 1 KB, less than the big message below
	printf 'alice:{PLAIN}s3cret:65534:65534::%s/mail/alice::\nbob:{PLAIN}s3cret:65534:65534::%s/mail/bob::userdb_quota_rule=*:storage=1k\n' \
	    "$d" "$d" >"$d/users"
	dovecot -F -c "$d/dovecot.conf" 2>"$d/master.log" &
	DAEMON_PID=$!
	for _ in $(seq 300); do [ -S "$d/lmtp.sock" ] && break; sleep 0.1; done
	wait_port 127.0.0.1 "$IMAP_PORT"
	echo "example.org lmtp:unix:$d/lmtp.sock" >"$CONF/routes"
}

imap_read() {	# imap_read USER: the subjects and bodies of the INBOX
	python3 - "$IMAP_PORT" "$1" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login(sys.argv[2], "s3cret")
typ, data = m.select("INBOX")
print("count", data[0].decode())
for n in range(1, int(data[0]) + 1):
    typ, d = m.fetch(str(n), "(BODY[HEADER.FIELDS (SUBJECT)] BODY[TEXT])")
    print(d[0][1].decode().strip())
    print(d[1][1].decode().strip())
m.logout()
PY
}

@test "Dovecot's LMTP: mail through smtpd and deliver, read back over Dovecot's IMAP" {
	setup_dovecot
	smtp_pipe 'HELO c\nMAIL FROM:<postmaster@mx.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: via dovecot\n\nhello over lmtp\n.\n' |
	    grep -q '^250 2.0.0 Ok: queued'
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q "to=<alice@example.org> relay=unix:.*lmtp.sock .* status=sent (.* said: 250 2.0.0 <alice@example.org> .* Saved)" "$TESTDIR/deliver.log"
	run imap_read alice
	echo "$output"
	[ "${lines[0]}" = "count 1" ]
	[ "${lines[1]}" = "Subject: via dovecot" ]
	[ "${lines[2]}" = "hello over lmtp" ]
	# nothing in postern's own Maildirs
	[ -z "$(find "$MAIL/example.org" -type f 2>/dev/null)" ]
}

@test "Dovecot's LMTP: a recipient over quota gets Dovecot's refusal, the other the mail" {
	setup_dovecot
	local big
	big=$(head -c 3000 /dev/zero | tr '\0' x | fold -w 70)
	printf 'HELO c\nMAIL FROM:<postmaster@mx.test>\nRCPT TO:<alice@example.org>\nRCPT TO:<bob@example.org>\nDATA\nSubject: big\n\n%s\n.\n' "$big" >"$TESTDIR/session"
	"$SMTPD" -C "$CONF" -Q "$QUEUE" <"$TESTDIR/session" 2>/dev/null | grep -q '^250 2.0.0 Ok: queued'
	run_deliver
	run_deliver
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<alice@example.org> .* status=sent' "$TESTDIR/deliver.log"
	# Dovecot's verdict for bob, 552 by default (quota_full_tempfail=no)
	grep -q 'to=<bob@example.org> .* status=bounced (unix:.* said: 552 5.2.2 .*(in reply to end of data))' "$TESTDIR/deliver.log"
	grep -q '^Final-Recipient: rfc822; bob@example.org$' "$(maildir_files postmaster mx.test)"
	run imap_read alice
	[ "${lines[0]}" = "count 1" ]
	run imap_read bob
	[ "${lines[0]}" = "count 0" ]
}
