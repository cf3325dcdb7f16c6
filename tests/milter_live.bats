#!/usr/bin/env bats
# smtpd's milters with the filters administrators run, each Debian's
# own, started by the test on loopback: OpenDKIM signing on submission
# (the signature then verified by dkimpy's dkimverify against the key a
# private NSD serves) and verifying on port 25 (Authentication-Results:
# added), and rspamd's verdicts (the GTUBE test string refused).

load helper
load nsd

setup() {
	setup_postern
	conf 'authdelay 0'
	conf 'authplaintext yes'
	printf 'alice@example.org\n' >"$CONF/users"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret-alice)" >"$CONF/passwd"
	FILTER_PID= DNS_PID= PRIVATE=
}

teardown() {
	for p in $FILTER_PID $DNS_PID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ -n "$PRIVATE" ] && rm -rf "$PRIVATE"
	teardown_postern
}

MSG_HEADER='From: Alice <alice@example.org>\nTo: x@remote.test\nSubject: signed\nDate: Sat, 05 Dec 2026 07:00:00 +0000\nMessage-ID: <1@example.org>\n'

queued_message() {
	python3 "$TOP/tests/qentry.py" message "$(find "$QUEUE/todo" -type f | head -1)"
}

# private_dir: OpenDKIM refuses files below a directory others may write
# (/tmp), so its own live in a fresh directory of root's under /run.
private_dir() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (OpenDKIM's safe-path rules, port 53)"
	PRIVATE=$(mktemp -d /run/postern-test.XXXXXX)
	chmod 700 "$PRIVATE"
}

# start_opendkim MODE: a private OpenDKIM (s sign, v verify) for
# example.org, selector test, asking the private NSD for keys.
start_opendkim() {
	command -v opendkim >/dev/null || skip "opendkim is not installed"
	local port
	port=$(free_port)
	[ -e "$PRIVATE/test.private" ] ||
	    opendkim-genkey -b 1024 -d example.org -s test -D "$PRIVATE"
	chmod 600 "$PRIVATE/test.private"
	cat >"$PRIVATE/opendkim.conf" <<EOC
Syslog no
Background no
Socket inet:$port@127.0.0.1
Mode $1
Domain example.org
Selector test
KeyFile $PRIVATE/test.private
Canonicalization relaxed/simple
PidFile $PRIVATE/opendkim.pid
Nameservers 127.0.0.2
EOC
	opendkim -x "$PRIVATE/opendkim.conf" -f 2>"$TESTDIR/opendkim.log" &
	FILTER_PID=$!
	wait_port 127.0.0.1 "$port" 30
	conf "milter inet:127.0.0.1:$port"
}

# start_key_zone: NSD serving example.org with the test key's TXT record.
start_key_zone() {
	dns_namespace
	local zone=$TESTDIR/example.zone
	{
		printf '$ORIGIN example.org.\n$TTL 300\n'
		printf '@ SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300\n'
		printf '@ NS ns.example.org.\nns A 127.0.0.2\n'
		cat "$PRIVATE/test.txt"
	} >"$zone"
	start_nsd "example.org=$zone"
}

submit() {	# submit BODY: as alice, logged in (AUTH PLAIN), from 192.0.2.7
	local auth
	auth=$(printf '\0alice@example.org\0s3cret-alice' | base64 -w0)
	TCPREMOTEIP=192.0.2.7 smtp_pipe "EHLO c\nAUTH PLAIN $auth\nMAIL FROM:<alice@example.org>\nRCPT TO:<x@remote.test>\nDATA\n$MSG_HEADER\n$1\n.\nQUIT\n"
}

@test "OpenDKIM signs on submission (the client logged in: macro {auth_type}); dkimpy's dkimverify verifies it against the key NSD serves, queued and as deliver hands it to the next hop" {
	command -v dkimverify >/dev/null || skip "python3-dkim is not installed"
	private_dir
	start_opendkim s
	start_key_zone
	run submit 'Hello, signed world.'
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	queued_message >"$TESTDIR/signed"
	cat "$TESTDIR/signed"
	head -1 "$TESTDIR/signed" | grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.org; s=test;'
	# what deliver will send, checked by another implementation, which
	# finds the key in DNS
	run with_resolv_conf dkimverify <"$TESTDIR/signed"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"signature ok"* ]]
	# a changed body no longer verifies: the check can fail
	sed 's/signed world/forged world/' "$TESTDIR/signed" >"$TESTDIR/forged"
	run with_resolv_conf dkimverify <"$TESTDIR/forged"
	[ "$status" -ne 0 ]
	# and as it leaves: deliver sends it to the next hop (a scripted
	# server), where what arrived still verifies
	local port
	port=$(free_port)
	mkdir -p "$TESTDIR/fake"
	python3 "$TOP/tests/fakesmtp.py" "127.0.0.1:$port" "$TESTDIR/fake" "ready=$TESTDIR/fake/ready" &
	FILTER_PID="$FILTER_PID $!"
	for _ in $(seq 600); do [ -e "$TESTDIR/fake/ready" ] && break; sleep 0.1; done
	echo "remote.test 127.0.0.1:$port tls=none" >"$CONF/routes"
	"$TOP/deliver" -C "$CONF" -Q "$QUEUE" 2>"$TESTDIR/deliver.log"
	grep -q 'status=sent' "$TESTDIR/deliver.log"
	grep -v '^X-Fake-' "$TESTDIR/fake/1.eml" >"$TESTDIR/arrived"
	run with_resolv_conf dkimverify <"$TESTDIR/arrived"
	echo "$output"
	[ "$status" -eq 0 ]
	# not logged in: not signed (port 25's mail is not ours to sign)
	rm -f "$QUEUE"/todo/*
	run env TCPREMOTEIP=192.0.2.7 bash -c "printf 'EHLO c\nMAIL FROM:<x@remote.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: in\n\nx\n.\n' | '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>/dev/null"
	! queued_message | grep -q '^DKIM-Signature:' || false
}

@test "OpenDKIM verifies on port 25: Authentication-Results: dkim=pass for a signed message, dkim=fail for one changed on the way" {
	command -v dkimsign >/dev/null || skip "python3-dkim is not installed"
	private_dir
	opendkim-genkey -b 1024 -d example.org -s test -D "$PRIVATE"
	start_key_zone
	start_opendkim v
	printf "$MSG_HEADER\nHello, signed world.\n" | dkimsign test example.org "$PRIVATE/test.private" >"$TESTDIR/signed"
	grep -q '^DKIM-Signature:' "$TESTDIR/signed"
	data=$(sed 's/^\.$/../' "$TESTDIR/signed")
	run env TCPREMOTEIP=192.0.2.7 bash -c "printf 'EHLO c\nMAIL FROM:<alice@example.org>\nRCPT TO:<alice@example.org>\nDATA\n%s\n.\nQUIT\n' \"\$1\" | '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>'$LOG' | tr -d '\r'" _ "$data"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	queued_message >"$TESTDIR/got"
	cat "$TESTDIR/got"
	grep -A1 '^Authentication-Results: mx.test' "$TESTDIR/got" | grep -q 'dkim=pass'
	rm -f "$QUEUE"/todo/*
	data=$(sed 's/signed world/forged world/' "$TESTDIR/signed")
	run env TCPREMOTEIP=192.0.2.7 bash -c "printf 'EHLO c\nMAIL FROM:<alice@example.org>\nRCPT TO:<alice@example.org>\nDATA\n%s\n.\nQUIT\n' \"\$1\" | '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>'$LOG' | tr -d '\r'" _ "$data"
	queued_message >"$TESTDIR/got"
	cat "$TESTDIR/got"
	grep -A1 '^Authentication-Results: mx.test' "$TESTDIR/got" | grep -q 'dkim=fail'
}

# start_rspamd: a private rspamd (Debian's configuration, its own
# directories, ports and action thresholds: every message is marked
# with X-Spam, none is refused on its score), its proxy in milter mode.
start_rspamd() {
	command -v rspamd >/dev/null || skip "rspamd is not installed"
	private_dir
	local proxy normal
	proxy=$(free_port)
	normal=$(free_port)
	mkdir -p "$PRIVATE/override.d" "$PRIVATE/db" "$PRIVATE/run" "$PRIVATE/log"
	cat >"$PRIVATE/override.d/worker-proxy.inc" <<EOC
bind_socket = "127.0.0.1:$proxy";
milter = yes;
timeout = 60s;
count = 1;
upstream "local" {
  default = yes;
  hosts = "127.0.0.1:$normal";
}
EOC
	printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$normal" \
	    >"$PRIVATE/override.d/worker-normal.inc"
	printf 'count = -1;\n' >"$PRIVATE/override.d/worker-controller.inc"
	# no DNS to ask here: every lookup fails at once
	printf 'dns {\n  nameserver = ["127.0.0.1:%s"];\n  timeout = 1s;\n  retransmits = 1;\n}\n' \
	    "$(free_port)" >"$PRIVATE/override.d/options.inc"
	printf 'reject = 1000;\nadd_header = -1000;\ngreylist = null;\nrewrite_subject = null;\n' \
	    >"$PRIVATE/override.d/actions.conf"
	rspamd -f -u root -g root -i -c /etc/rspamd/rspamd.conf \
	    --var=LOCAL_CONFDIR="$PRIVATE" --var=DBDIR="$PRIVATE/db" \
	    --var=RUNDIR="$PRIVATE/run" --var=LOGDIR="$PRIVATE/log" \
	    >"$TESTDIR/rspamd.out" 2>&1 &
	FILTER_PID=$!
	wait_port 127.0.0.1 "$normal" 120
	wait_port 127.0.0.1 "$proxy" 120
	conf "milter inet:127.0.0.1:$proxy"
	conf 'miltertimeout 60'
}

@test "rspamd: the GTUBE test string is refused with rspamd's reply; a plain message is queued, marked by rspamd's header change" {
	start_rspamd
	run env TCPREMOTEIP=192.0.2.7 bash -c "printf 'EHLO c\nMAIL FROM:<x@remote.test>\nRCPT TO:<alice@example.org>\nDATA\nFrom: x@remote.test\nTo: alice@example.org\nSubject: test\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n.\nMAIL FROM:<x@remote.test>\nRCPT TO:<alice@example.org>\nDATA\nFrom: x@remote.test\nTo: alice@example.org\nSubject: lunch\nDate: Sat, 05 Dec 2026 07:00:00 +0000\nMessage-ID: <2@remote.test>\n\nLunch tomorrow at noon?\n.\nQUIT\n' | '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>'$LOG' | tr -d '\r'"
	echo "$output"
	[[ "$output" == *"554 5.7.1 Gtube pattern"* ]]
	grep -q 'reject: cmd=END-OF-DATA client=192.0.2.7 .*reason="554 5.7.1 Gtube pattern"' "$LOG"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	[ "$(find "$QUEUE/todo" -type f | wc -l)" -eq 1 ]
	queued_message >"$TESTDIR/got"
	cat "$TESTDIR/got"
	grep -qx 'X-Spam: Yes' "$TESTDIR/got"
	grep -qx 'Subject: lunch' "$TESTDIR/got"
	! grep -q GTUBE "$TESTDIR/got" || false
}
