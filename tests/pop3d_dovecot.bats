#!/usr/bin/env bats
# pop3d beside Dovecot's pop3 (Debian's dovecot-pop3d) on copies of one
# Maildir: the same octets for every RETR and TOP, and sizes that differ
# only where the two count differently (postern-pop3d.8, CAVEATS).

load helper

setup() {
	setup_postern
	[ -x /usr/lib/dovecot/pop3 ] || skip "dovecot-pop3d is not installed"
	[ "$(id -u)" -eq 0 ] || skip "Dovecot refuses to serve mail as root: runs as nobody, which needs root"
	conf authplaintext yes
	conf authdelay 0
	printf 'alice@example.org %s/postern/\n' "$TESTDIR" >"$CONF/users"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret)" >"$CONF/passwd"
	mkdir -p "$TESTDIR/m/new" "$TESTDIR/m/cur" "$TESTDIR/m/tmp" "$TESTDIR/run"
	cat >"$TESTDIR/dovecot.conf" <<EOF
protocols = pop3
base_dir = $TESTDIR/run
log_path = /dev/null
ssl = no
mail_location = maildir:$TESTDIR/dovecot
EOF
}
teardown() { teardown_postern; }

add() {	# add N PRINTF-TEXT
	printf "$2" >"$TESTDIR/m/new/170000000$1.M1P1Q$1.h"
}

@test "RETR and TOP send the same octets as Dovecot; sizes differ by stuffed dots and unended lines" {
	add 1 'Subject: dots\n\n.\n..\n.leading\nend.\n'
	add 2 'Subject: crlf\r\n\r\nstored\r\nwith CRLF\r\n'
	add 3 'Subject: open\n\nno final newline'
	add 4 'Subject: bytes\n\n\xe9t\xe9 \x01\x7f bare\rCR\n'
	add 5 'Subject: header only\n'
	add 6 'Subject: top\n\n.one\ntwo\nthree\n'
	add 7 ''
	cp -a "$TESTDIR/m" "$TESTDIR/postern"
	cp -a "$TESTDIR/m" "$TESTDIR/dovecot"
	chown -R nobody:nogroup "$TESTDIR/dovecot" "$TESTDIR/run"
	run python3 "$TOP/tests/popcompare.py" "$TOP/pop3d" "$CONF" alice@example.org s3cret \
	    "$TESTDIR/dovecot.conf" "$TESTDIR/postern" 7
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 7 ]
	for l in "${lines[@]:0:6}"; do
		set -- $l
		[ "$2" -eq $(($3 + $4 + 2 * $5)) ]
		[ "$6 $7 $8" = "same same same" ]
	done
	# An empty file: pop3d sends nothing, as its size of 0 says;
	# Dovecot sends one empty line for it.
	[ "${lines[6]}" = "7 0 0 0 0 differ differ differ" ]
}
