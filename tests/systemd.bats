#!/usr/bin/env bats
# postern.7, followed as written under a real systemd: a Debian 12 root
# made by debootstrap boots in systemd-nspawn (systemd as PID 1, a
# network namespace of its own with loopback only), every block of
# postern.7 marked '.\" deploy: run' runs in it as root, in order, and
# then a message sent to port 25 must land in the Maildir, be read back
# over POP3 with TLS on port 995, and the services must have run inside
# their sandboxes.  Needs root, debootstrap, systemd-nspawn and Debian's
# mirror (the root is made once, then kept in POSTERN_NSPAWN_CACHE).

load helper

CACHE=${POSTERN_NSPAWN_CACHE:-/var/tmp/postern-nspawn}
# What the container has before the page's first step: a minimal
# Debian with systemd (what a server has), python3 for this test's
# clients, and what step 1 installs, since the container has no network
# (apt-get install then finds them installed).
PACKAGES=systemd,systemd-sysv,dbus,ca-certificates,python3,make,gcc,libc6-dev,openssl,stunnel4,tlswrapper,gnutls-bin

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn)"
	command -v systemd-nspawn >/dev/null || skip "systemd-nspawn (systemd-container) is not installed"
	command -v debootstrap >/dev/null || skip "debootstrap is not installed"
	setup_postern
	NSPAWN_PID=
	ROOT=
}

teardown() {
	if [ -n "$NSPAWN_PID" ]; then
		# nspawn --boot turns SIGTERM into an orderly shutdown
		kill -TERM "$NSPAWN_PID" 2>/dev/null || true
		for _ in $(seq 600); do
			kill -0 "$NSPAWN_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$NSPAWN_PID" 2>/dev/null || true
		wait "$NSPAWN_PID" 2>/dev/null || true
	fi
	[ -z "$ROOT" ] || rm -rf "$ROOT"
	teardown_postern
}

# The cached root for this package list, made on first use.
base_root() {
	local base=$CACHE/bookworm-$(echo "$PACKAGES" | md5sum | cut -c1-12)
	if [ ! -x "$base/usr/lib/systemd/systemd" ]; then
		mkdir -p "$CACHE"
		rm -rf "$base.new"
		debootstrap --variant=minbase --include="$PACKAGES" bookworm "$base.new" \
		    http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 ||
		    { tail -20 "$CACHE/debootstrap.log" >&2; return 1; }
		mv "$base.new" "$base"
	fi
	echo "$base"
}

# The container's init: the process under systemd-nspawn whose PID in
# its own namespace is 1, once it is systemd (before, it is nspawn's
# child still setting the container up).
container_init() {
	local p children=$NSPAWN_PID next
	for _ in 1 2 3; do
		next=
		for p in $children; do
			if [ "$p" != "$NSPAWN_PID" ] &&
			    grep -q '^NSpid:.*[[:space:]]1$' "/proc/$p/status" 2>/dev/null &&
			    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
				echo "$p"
				return 0
			fi
			next="$next $(pgrep -P "$p" | tr '\n' ' ')"
		done
		children=$next
	done
	return 1
}

# in_container CMD...: as root inside the container, with a clean
# environment (not this test's, nor a sanitizer build's).
in_container() {
	nsenter -t "$INIT" -a env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
	    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

boot_container() {
	local base
	base=$(base_root)
	ROOT=$CACHE/run.$$
	rm -rf "$ROOT"
	cp -a "$base" "$ROOT"
	# the source tree as a clone has it: tracked and new files, no build
	mkdir -p "$ROOT/root/postern"
	(cd "$TOP" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - --) |
	    tar -xf - -C "$ROOT/root/postern"
	systemd-nspawn -q -D "$ROOT" --boot --private-network --register=no \
	    --keep-unit --console=pipe </dev/null >"$TESTDIR/console.log" 2>&1 &
	NSPAWN_PID=$!
	for _ in $(seq 600); do
		INIT=$(container_init) && break
		kill -0 "$NSPAWN_PID" || { cat "$TESTDIR/console.log"; return 1; }
		sleep 0.1
	done
	[ -n "$INIT" ]
	# until systemd's bus is up (systemctl cannot connect before), then
	# until the boot is over
	for _ in $(seq 600); do
		run in_container timeout 120 systemctl is-system-running --wait
		[[ "$output" == *"Failed to connect to bus"* ]] || break
		sleep 0.1
	done
	echo "system: $output"
	[ "$output" = running ] || [ "$output" = degraded ]
}

# The blocks postern.7 marks to run, as files step.1, step.2... in
# $TESTDIR, with the mdoc escape \e (a backslash) undone; prints their
# count.
deploy_steps() {
	awk -v dir="$TESTDIR" '
		/^\.\\" deploy: run$/ { want = 1; next }
		want && /^\.Bd -literal/ { inside = 1; n++; next }
		inside && /^\.Ed$/ { inside = 0; want = 0; next }
		inside { print > (dir "/step." n) }
		END { print n + 0 }
	' "$TOP/postern.7"
	sed -i 's/\\e/\\/g' "$TESTDIR"/step.*
}

# run_steps FIRST LAST: those blocks, each a shell of its own from the
# source tree, stopping at the first failing command, as an
# administrator would.
run_steps() {
	local i
	for i in $(seq "$1" "$2"); do
		echo "== step $i:"
		cat "$TESTDIR/step.$i"
		run in_container sh -ec "cd /root/postern && $(cat "$TESTDIR/step.$i")"
		echo "$output" | tail -15
		[ "$status" -eq 0 ]
	done
}

# wait_for_journal UNIT REGEX: until the unit's journal has a matching
# line (60 s at most).
wait_for_journal() {
	for _ in $(seq 600); do
		in_container journalctl -q --no-pager -u "$1" | grep -q "$2" && return 0
		sleep 0.1
	done
	in_container journalctl -q --no-pager -u "$1"
	return 1
}

# wait_for_maildir N [SECONDS]: until alice has N messages in new/
# (2 minutes at most, or SECONDS).
wait_for_maildir() {
	local maildir=$ROOT/var/mail/postern/example.org/alice/new
	for _ in $(seq $((${2:-120} * 10))); do
		[ "$(ls "$maildir" 2>/dev/null | wc -l)" -ge "$1" ] && break
		sleep 0.1
	done
	[ "$(ls "$maildir" | wc -l)" -eq "$1" ]
}

@test "postern.7 as written, under systemd: mail to port 25 lands in the Maildir and is read over POP3 with TLS" {
	local steps
	steps=$(deploy_steps)
	[ "$steps" -ge 4 ]
	boot_container
	run_steps 1 "$steps"
	# port 25, as another host would: accepted, then alice's
	run in_container python3 -c '
import smtplib
s = smtplib.SMTP("127.0.0.1", 25, timeout=30)
print(s.ehlo("client.example.net")[0])
r = s.sendmail("bob@example.net", ["alice@example.org"],
    "From: bob@example.net\r\nSubject: deployed\r\n\r\nhello from nspawn\r\n")
print(r); s.quit()'
	echo "$output"
	[ "${lines[0]}" = 250 ]
	[ "${lines[1]}" = "{}" ]
	# deliver -d puts it into the Maildir, as postern
	wait_for_maildir 1
	[ "$(in_container sh -c 'stat -c %U /var/mail/postern/example.org/alice/new/*')" = postern ]
	# read over POP3 with TLS on 995 (stunnel@postern-pop3s), as alice
	run in_container python3 -c '
import poplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL("127.0.0.1", 995, context=ctx, timeout=30)
p.user("alice@example.org"); p.pass_("a long secret")
print(p.stat()[0])
for line in p.retr(1)[1]:
    print(line.decode())
p.quit()'
	echo "$output"
	[ "${lines[0]}" = 1 ]
	[[ "$output" == *"Subject: deployed"* ]]
	[[ "$output" == *"hello from nspawn"* ]]
	# the sandboxes were in force: deliver runs without privileges,
	# under a system-call filter, on a read-only system, as postern
	local pid
	pid=$(in_container systemctl show -p MainPID --value postern-deliver.service)
	[ "$pid" -gt 0 ]
	in_container grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status"
	in_container grep -q '^Seccomp:[[:space:]]*2$' "/proc/$pid/status"
	[ "$(in_container stat -c %U "/proc/$pid")" = postern ]
	in_container cat "/proc/$pid/mountinfo" >"$TESTDIR/mountinfo"
	cat "$TESTDIR/mountinfo"
	# ProtectSystem=strict: / read-only (the last mount on it counts),
	# the queue and the mail root writable
	awk '$5 == "/" { o = $6 } END { print o }' "$TESTDIR/mountinfo" | grep -q '^ro'
	awk '$5 == "/var/spool/postern" { o = $6 } END { print o }' "$TESTDIR/mountinfo" | grep -q '^rw'
	awk '$5 == "/var/mail/postern" { o = $6 } END { print o }' "$TESTDIR/mountinfo" | grep -q '^rw'
	# no unit failed
	run in_container systemctl --failed --no-legend
	echo "$output"
	[ -z "$output" ]
	# the logs are where postern.7 says: the journal, by unit
	wait_for_journal 'postern-*' 'postern/smtpd\[[0-9]*\]: queued id=.* from=<bob@example.net> '
	wait_for_journal 'postern-*' 'postern/deliver\[[0-9]*\]: id=.* to=<alice@example.org> .*status=sent'
	wait_for_journal stunnel@postern-pop3s 'postern/pop3d\[[0-9]*\]: .*user=alice@example.org'

}

@test "deliver under its unit's sandbox sends with STARTTLS through gnutls-cli (a pseudo-terminal, /proc/self/fd, fork and exec inside the filter)" {
	local steps
	steps=$(deploy_steps)
	boot_container
	run_steps 1 "$steps"
	# a next hop with STARTTLS: tests/fakesmtp.py with a certificate
	# (in /root: the container's /tmp is a tmpfs of its own)
	in_container sh -ec 'mkdir -p /root/tls && cd /root/tls
	    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	        -subj /CN=localhost -days 1 -keyout k.pem -out c.pem 2>/dev/null
	    cat c.pem k.pem >fake.pem; mkdir -p fake
	    setsid python3 /root/postern/tests/fakesmtp.py 127.0.0.1:2526 /root/tls/fake \
	        starttls tlscert=/root/tls/fake.pem ready=/root/tls/fake.ready \
	        </dev/null >/root/tls/fake.log 2>&1 &'
	for _ in $(seq 600); do [ -e "$ROOT/root/tls/fake.ready" ] && break; sleep 0.1; done
	in_container sh -ec 'echo "remote.test localhost:2526 tls=encrypt" >/etc/postern/routes
	    systemctl restart postern-deliver.service
	    printf "Subject: out\n\nover TLS\n" |
	        postern-sendmail -f alice@example.org x@remote.test'
	wait_for_journal postern-deliver.service \
	    'postern/deliver\[[0-9]*\]: id=.* to=<x@remote.test> relay=localhost\[127.0.0.1\]:2526 tls=TLS1.[23]/unverified .*status=sent'
	grep -q '^TLS TLSv1.[23]$' "$ROOT/root/tls/fake/transcript"
	grep -q '^over TLS' "$ROOT/root/tls/fake/1.eml"
}

@test "the other shipped units under systemd: submission on 587, POP3 on 110, deliver by its timer" {
	local steps
	steps=$(deploy_steps)
	boot_container
	# install, the user, the configuration: all of postern.7 but the
	# services, which are these instead
	run_steps 1 $((steps - 1))
	run in_container sh -ec '
		mkdir -p /etc/postern-submission
		cd /etc/postern-submission
		printf "hostname mx.example.org\nsubmission yes\nauthplaintext yes\n" >smtpd.conf
		ln -s ../postern/domains ../postern/users ../postern/passwd .
		echo "authplaintext yes" >>/etc/postern/smtpd.conf
		cd /usr/local/share/postern/contrib
		cp postern-submission.socket postern-submission@.service \
		    postern-pop3.socket postern-pop3@.service \
		    postern-deliver-once.service postern-deliver.timer /etc/systemd/system/
		systemctl daemon-reload
		systemctl enable --now postern-submission.socket postern-pop3.socket \
		    postern-deliver.timer'
	echo "$output"
	[ "$status" -eq 0 ]
	# 587: AUTH before MAIL, then accepted
	run in_container python3 -c '
import smtplib
s = smtplib.SMTP("127.0.0.1", 587, timeout=30)
s.ehlo("laptop.example.net")
try:
    s.sendmail("alice@example.org", ["alice@example.org"], "Subject: x\r\n\r\nx\r\n")
except smtplib.SMTPException as e:
    print("before AUTH:", e)
s.login("alice@example.org", "a long secret")
print(s.sendmail("alice@example.org", ["alice@example.org"],
    "From: alice@example.org\r\nSubject: submitted\r\n\r\nfrom 587\r\n"))
s.quit()'
	echo "$output"
	[[ "${lines[0]}" == "before AUTH: "*"530"* ]]
	[ "${lines[1]}" = "{}" ]
	# no deliver daemon: the timer's pass delivers it (a minute after
	# boot; 5 minutes allowed for a slow machine)
	[ "$(in_container systemctl is-active postern-deliver.timer)" = active ]
	[ "$(in_container systemctl is-active postern-deliver.service)" != active ]
	wait_for_maildir 1 300
	# the log line follows the Maildir file, and the journal it (a
	# minute at most)
	wait_for_journal postern-deliver-once.service \
	    'postern/deliver\[[0-9]*\]: id=.* to=<alice@example.org> .*status=sent'
	# 110: POP3 in clear text, as authplaintext allows
	run in_container python3 -c '
import poplib
p = poplib.POP3("127.0.0.1", 110, timeout=30)
p.user("alice@example.org"); p.pass_("a long secret")
print(p.stat()[0])
print(b"\n".join(p.retr(1)[1]).decode()); p.quit()'
	echo "$output"
	[ "${lines[0]}" = 1 ]
	[[ "$output" == *"Subject: submitted"* ]]
	run in_container systemctl --failed --no-legend
	[ -z "$output" ]
}

@test "TLS under systemd: drop-ins for STARTTLS on 25, 587 and STLS on 110 (smtpd/pop3d -t), units for 465 and 995 with tlswrapper; smtplib and poplib" {
	local steps
	steps=$(deploy_steps)
	boot_container
	run_steps 1 "$steps"
	run in_container sh -ec '
		(umask 077; cat /etc/postern/tls/key.pem /etc/postern/tls/cert.pem >/etc/postern/tls/smtpd.pem)
		mkdir -p /etc/postern-submission
		cd /etc/postern-submission
		printf "hostname mx.example.org\nsubmission yes\n" >smtpd.conf
		ln -s ../postern/domains ../postern/users ../postern/passwd .
		cd /usr/local/share/postern/contrib
		cp postern-submission.socket postern-submission@.service \
		    postern-pop3.socket postern-pop3@.service \
		    postern-submissions.socket postern-submissions@.service \
		    postern-pop3s.socket postern-pop3s@.service /etc/systemd/system/
		for unit in postern-smtpd:postern-smtpd-starttls postern-submission:postern-submission-starttls \
		    postern-pop3:postern-pop3-stls; do
			mkdir -p "/etc/systemd/system/${unit%%:*}@.service.d"
			cp "${unit#*:}.conf" "/etc/systemd/system/${unit%%:*}@.service.d/"
		done
		systemctl daemon-reload
		# 995 is served by tlswrapper here, not by the stunnel of the guide
		systemctl disable --now stunnel@postern-pop3s.service
		systemctl enable --now postern-submission.socket postern-pop3.socket \
		    postern-submissions.socket postern-pop3s.socket'
	echo "$output"
	[ "$status" -eq 0 ]
	# 25: STARTTLS offered; the message delivered, received with ESMTPS
	run in_container python3 -c '
import smtplib, ssl
s = smtplib.SMTP("127.0.0.1", 25, timeout=30)
s.ehlo("client.example.net")
print("STARTTLS offered:", s.has_extn("starttls"))
s.starttls(context=ssl._create_unverified_context())
s.ehlo("client.example.net")
print(s.sendmail("bob@example.net", ["alice@example.org"],
    "From: bob@example.net\r\nSubject: over tls\r\n\r\nencrypted\r\n"))
s.quit()'
	echo "$output"
	[ "${lines[0]}" = "STARTTLS offered: True" ]
	[ "${lines[1]}" = "{}" ]
	wait_for_maildir 1
	grep -q ' with ESMTPS$' "$ROOT"/var/mail/postern/example.org/alice/new/*
	wait_for_journal 'postern-smtpd@*' 'starttls: client=127.0.0.1 handed to the TLS wrapper'
	wait_for_journal 'postern-smtpd@*' 'tls: client=127.0.0.1 resumed encrypted'
	# 587: no AUTH before TLS; after it, login and send (ESMTPSA)
	run in_container python3 -c '
import smtplib, ssl
s = smtplib.SMTP("127.0.0.1", 587, timeout=30)
s.ehlo("laptop.example.net")
print("AUTH before TLS:", s.has_extn("auth"))
s.starttls(context=ssl._create_unverified_context())
s.ehlo("laptop.example.net")
s.login("alice@example.org", "a long secret")
print(s.sendmail("alice@example.org", ["alice@example.org"],
    "From: alice@example.org\r\nSubject: submitted over tls\r\n\r\nx\r\n"))
s.quit()'
	echo "$output"
	[ "${lines[0]}" = "AUTH before TLS: False" ]
	[ "${lines[1]}" = "{}" ]
	wait_for_maildir 2
	grep -q ' with ESMTPSA$' "$ROOT"/var/mail/postern/example.org/alice/new/*
	# 110: no USER before STLS; after it, alice reads her two messages
	run in_container python3 -c '
import poplib, ssl
p = poplib.POP3("127.0.0.1", 110, timeout=30)
print("USER before STLS:", "USER" in p.capa())
p.stls(ssl._create_unverified_context())
p.user("alice@example.org"); p.pass_("a long secret")
print(p.stat()[0]); p.quit()'
	echo "$output"
	[ "${lines[0]}" = "USER before STLS: False" ]
	[ "${lines[1]}" = 2 ]
	# 465 and 995: TLS from the first byte (tlswrapper in front of -S);
	# (the POP3 session above took alice's two out of new/)
	run in_container python3 -c '
import smtplib, ssl
s = smtplib.SMTP_SSL("127.0.0.1", 465, context=ssl._create_unverified_context(), timeout=30)
s.login("alice@example.org", "a long secret")
print(s.sendmail("alice@example.org", ["alice@example.org"],
    "From: alice@example.org\r\nSubject: on 465\r\n\r\nx\r\n"))
s.quit()'
	echo "$output"
	[ "${lines[0]}" = "{}" ]
	wait_for_maildir 1
	run in_container python3 -c '
import poplib, ssl
p = poplib.POP3_SSL("127.0.0.1", 995, context=ssl._create_unverified_context(), timeout=30)
p.user("alice@example.org"); p.pass_("a long secret")
print(p.stat()[0]); p.quit()'
	echo "$output"
	[ "${lines[0]}" = 3 ]
	run in_container systemctl --failed --no-legend
	echo "$output"
	[ -z "$output" ]
}
