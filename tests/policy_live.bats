#!/usr/bin/env bats
# smtpd with the policy servers administrators run for Postfix, each a
# private instance on loopback: postgrey (greylisting) and
# postfix-policyd-spf-python (SPF, against a private NSD serving the
# SPF records) and postfwd (rules and rate limits), as Debian packages
# them.

load helper
load nsd

setup() {
	setup_postern
	PG_PID=
	SPF_PID=
	DNS_PID=
}

teardown() {
	for p in $PG_PID $SPF_PID $DNS_PID; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	# postfwd runs as a daemon of its own: its pid file says which
	[ ! -s "$TESTDIR/postfwd.pid" ] || kill "$(cat "$TESTDIR/postfwd.pid")" 2>/dev/null || true
	teardown_postern
}

# rcpt_session CLIENT SENDER HELO: one message to u@example.org; the RCPT
# reply in $RCPT_REPLY, all replies in $output.
rcpt_session() {
	run bash -c "printf 'HELO $3\nMAIL FROM:<$2>\nRCPT TO:<u@example.org>\nDATA\nSubject: live\n\nhello\n.\nQUIT\n' | TCPREMOTEIP='$1' ${WRAP:-} '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>>'$LOG' | tr -d '\r'"
	echo "$output"
	RCPT_REPLY=${lines[3]}
}

@test "postgrey: the first attempt is greylisted (450), a retry after the delay accepted, X-Greylist prepended" {
	command -v postgrey >/dev/null || skip "postgrey is not installed"
	[ "$(id -u)" -eq 0 ] || skip "postgrey switches to its user: needs root"
	local port i
	port=$(free_port)
	mkdir -p "$TESTDIR/pg"
	chown nobody "$TESTDIR/pg"
	: >"$TESTDIR/none"
	postgrey --inet=127.0.0.1:"$port" --dbdir="$TESTDIR/pg" --delay=2 \
	    --user=nobody --group=nogroup --pidfile="$TESTDIR/pg/pid" \
	    --whitelist-clients="$TESTDIR/none" --whitelist-recipients="$TESTDIR/none" \
	    --auto-whitelist-clients=0 2>"$TESTDIR/postgrey.log" &
	PG_PID=$!
	wait_port 127.0.0.1 "$port" || { cat "$TESTDIR/postgrey.log"; false; }
	conf "policy inet:127.0.0.1:$port"
	rcpt_session 192.0.2.1 bob@sender.example client.example
	[[ "$RCPT_REPLY" == "450 4.7.1 Greylisted, see "* ]]
	queue_empty
	# retried as a sending MTA would, until accepted (a minute at most)
	for i in $(seq 120); do
		rcpt_session 192.0.2.1 bob@sender.example client.example
		[ "$RCPT_REPLY" = "250 2.1.5 Ok" ] && break
		[[ "$RCPT_REPLY" == "450 4.7.1 Greylisted"* ]]
		sleep 0.5
	done
	[ "$RCPT_REPLY" = "250 2.1.5 Ok" ]
	run only_message
	[[ "${lines[2]}" == "X-Greylist: delayed "*" seconds by postgrey-"* ]]
	[ "${lines[3]}" = "Subject: live" ]
	# another sender from the same client is greylisted afresh
	rcpt_session 192.0.2.1 carol@sender.example client.example
	[[ "$RCPT_REPLY" == "450 4.7.1 Greylisted, see "* ]]
}

@test "policyd-spf: pass prepends Received-SPF: Pass, fail is refused, softfail accepted with its header" {
	command -v policyd-spf >/dev/null || skip "policyd-spf (postfix-policyd-spf-python) is not installed"
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	dns_namespace
	{
		printf '$ORIGIN spf.test.\n$TTL 300\n'
		printf '@ SOA ns.spf.test. hostmaster.spf.test. 1 3600 600 86400 300\n'
		printf '@ NS ns.spf.test.\nns A 127.0.0.2\n'
		printf 'hard TXT "v=spf1 ip4:192.0.2.1 -all"\n'
		printf 'soft TXT "v=spf1 ip4:192.0.2.1 ~all"\n'
		printf 'helo A 192.0.2.1\n'
	} >"$TESTDIR/spf.zone"
	start_nsd spf.test="$TESTDIR/spf.zone"
	printf 'debugLevel = 1\nTestOnly = 1\nHELO_reject = Fail\nMail_From_reject = Fail\nPermError_reject = False\nTempError_Defer = False\nskip_addresses = 127.0.0.0/8\n' >"$TESTDIR/spf.conf"
	local port
	port=$(free_port)
	# Postfix runs it under spawn(8), one per connection on stdin and
	# stdout: here a super-server does, in the namespace whose
	# resolv.conf names NSD
	with_resolv_conf systemd-socket-activate --accept --inetd -l "127.0.0.1:$port" \
	    policyd-spf "$TESTDIR/spf.conf" 2>"$TESTDIR/spf.log" &
	SPF_PID=$!
	wait_port 127.0.0.1 "$port"
	conf "policy inet:127.0.0.1:$port"
	rcpt_session 192.0.2.1 a@hard.spf.test helo.spf.test
	[ "$RCPT_REPLY" = "250 2.1.5 Ok" ]
	run only_message
	[[ "${lines[2]}" == "Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=192.0.2.1; helo=helo.spf.test; envelope-from=a@hard.spf.test; receiver="* ]]
	rm -f "$QUEUE"/todo/*
	rcpt_session 192.0.2.2 a@hard.spf.test helo.spf.test
	[[ "$RCPT_REPLY" == "550 5.7.23 "*"SPF fail"* ]]
	rcpt_session 192.0.2.2 a@soft.spf.test helo.spf.test
	[ "$RCPT_REPLY" = "250 2.1.5 Ok" ]
	run only_message
	[[ "${lines[2]}" == "Received-SPF: Softfail (mailfrom) identity=mailfrom; client-ip=192.0.2.2;"* ]]
}

@test "postfwd: a rule that rejects one recipient, and a rate limit that defers the third from a client" {
	command -v postfwd1 >/dev/null || skip "postfwd is not installed"
	[ "$(id -u)" -eq 0 ] || skip "postfwd switches to its user: needs root"
	local port
	port=$(free_port)
	cat >"$TESTDIR/postfwd.rules" <<'EOF2'
id=BLOCK01; recipient==blocked@example.org; action=REJECT blocked by postfwd
id=RATE01; client_address==192.0.2.1; action=rate(client_address/2/3600/450 4.7.1 too many from $$client_address)
EOF2
	postfwd1 -d -f "$TESTDIR/postfwd.rules" -i 127.0.0.1 -p "$port" -u nobody \
	    -g nogroup --pidfile="$TESTDIR/postfwd.pid" -l postfwd-test
	wait_port 127.0.0.1 "$port"
	conf "policy inet:127.0.0.1:$port"
	run bash -c "printf 'HELO c.example\nMAIL FROM:<x@y.example>\nRCPT TO:<a@example.org>\nRCPT TO:<blocked@example.org>\nRCPT TO:<b@example.org>\nRCPT TO:<c@example.org>\nQUIT\n' | TCPREMOTEIP=192.0.2.1 '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>>'$LOG' | tr -d '\r'"
	echo "$output"
	[ "${lines[3]}" = "250 2.1.5 Ok" ]
	[ "${lines[4]}" = "554 5.7.1 blocked by postfwd" ]
	[ "${lines[5]}" = "250 2.1.5 Ok" ]
	[ "${lines[6]}" = "450 4.7.1 too many from 192.0.2.1" ]
}
