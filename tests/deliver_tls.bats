#!/usr/bin/env bats
# deliver's outbound TLS through gnutls-cli: the levels none, may,
# encrypt and verify; SMTPS; AUTH to a smarthost, only inside TLS; the
# log line saying how each delivery went.  The servers are
# tests/fakesmtp.py speaking real TLS (Python's ssl) with certificates
# made here: one from the test's CA for localhost, one for another
# name, one self-signed.

load helper
load deliver_helper

setup_file() {
	command -v openssl >/dev/null || return 0
	CERTS=$BATS_FILE_TMPDIR/certs
	mkdir -p "$CERTS"
	cd "$CERTS" || return 1
	mk() {	# mk NAME SAN [self]
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
		printf 'subjectAltName=%s\n' "$2" >"$1.ext"
		if [ "${3:-}" = self ]; then
			openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 2 \
			    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
		else
			openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
			    -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
		fi
		cat "$1.crt" "$1.key" >"$1.pem"
	}
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj /CN=postern-test-CA -days 2 -keyout ca.key -out ca.pem 2>/dev/null
	mk localhost DNS:localhost,IP:127.0.0.1
	mk wrong.test DNS:wrong.test
	mk selfsigned DNS:localhost,IP:127.0.0.1 self
}

tls_setup() {
	command -v gnutls-cli >/dev/null || skip "gnutls-cli (gnutls-bin) is not installed"
	CERTS=$BATS_FILE_TMPDIR/certs
	conf "tlscafile $CERTS/ca.pem"
}

# start_tls_fake ROUTE-OPTIONS RULE...: fakesmtp.py, the smarthost "*"
# as localhost:PORT with ROUTE-OPTIONS ("" for none)
start_tls_fake() {
	local options=$1
	shift
	FAKE_PORT=$(free_port)
	mkdir -p "$TESTDIR/fake"
	rm -f "$TESTDIR/ready"
	python3 "$TOP/tests/fakesmtp.py" "127.0.0.1:$FAKE_PORT" "$TESTDIR/fake" \
	    "ready=$TESTDIR/ready" "$@" 2>>"$TESTDIR/fake.log" &
	FAKE_PID=$!
	local i
	for i in $(seq 600); do [ -e "$TESTDIR/ready" ] && break; sleep 0.1; done
	echo "* ${ROUTE_PREFIX:-}localhost:$FAKE_PORT $options" >"$CONF/routes"
}

# stop_tls_fake: the fake server gone, with its transcript and mail
stop_tls_fake() {
	kill "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
	FAKE_PID=
	rm -rf "$TESTDIR/fake"
}

transcript() { cat "$TESTDIR/fake/transcript" 2>/dev/null; }

# The commands the fake server read before TLS began.
clear_commands() {
	transcript | sed -n '/^CONNECT/,/^TLS /p' | grep '^C: ' || true
}

smtpauth() {	# smtpauth LINE [MODE]
	echo "$1" >"$CONF/smtpauth"
	chmod "${2:-600}" "$CONF/smtpauth"
}

deliver_log() { cat "$TESTDIR/deliver.log"; }

@test "verify (a smarthost's default): the CA's certificate for the name; AUTH PLAIN inside TLS; logged TLS1.3/verified" {
	tls_setup
	start_tls_fake "" starttls "tlscert=$CERTS/localhost.pem" auth=alice:s3cret
	smtpauth 'localhost alice s3cret'
	send a@b.test x@remote.test
	run_deliver
	deliver_log
	grep -Eq "to=<x@remote.test> relay=localhost\[127.0.0.1\]:$FAKE_PORT tls=TLS1.[23]/verified delay=[0-9]+ status=sent" "$TESTDIR/deliver.log"
	transcript
	grep -q '^TLS TLSv1.[23]$' "$TESTDIR/fake/transcript"
	# before TLS: EHLO and STARTTLS only; then EHLO again (RFC 3207) and AUTH
	[ "$(clear_commands | cut -d' ' -f2 | tr '\n' ' ')" = "EHLO STARTTLS " ]
	transcript | sed -n '/^TLS /,$p' | grep -q '^C: EHLO mx.test'
	transcript | sed -n '/^TLS /,$p' | grep -q '^C: AUTH PLAIN '
	grep -q '^S: 235 ' "$TESTDIR/fake/transcript"
	grep -q '^X-Fake-To: x@remote.test' "$TESTDIR/fake/1.eml"
	# the password is never logged
	! grep -q s3cret "$TESTDIR/deliver.log"
	queue_is_empty
}

@test "verify: a certificate for another name, and one from an unknown CA: deferred, nothing sent in clear text" {
	tls_setup
	for cert in wrong.test selfsigned; do
		start_tls_fake "" starttls "tlscert=$CERTS/$cert.pem"
		send a@b.test x@remote.test
		run_deliver
		kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null || true
		deliver_log
		transcript
		[ "$(clear_commands | cut -d' ' -f2 | tr '\n' ' ')" = "EHLO STARTTLS " ]
		! grep -Eq '^C: (MAIL|RCPT|AUTH)' "$TESTDIR/fake/transcript"
		[ ! -e "$TESTDIR/fake/1.eml" ]
		rm -rf "$TESTDIR/fake"
	done
	grep -q "status=deferred (4.7.5 TLS handshake with localhost\[127.0.0.1\]:[0-9]* failed: The certificate is NOT trusted. The name in the certificate does not match the expected." "$TESTDIR/deliver.log"
	grep -q "status=deferred (4.7.5 TLS handshake with localhost\[127.0.0.1\]:[0-9]* failed: The certificate is NOT trusted. The certificate issuer is unknown." "$TESTDIR/deliver.log"
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 2 ]
}

@test "may (tlslevel's default, for domain routes and MX hosts): STARTTLS when offered, clear text when not; each logged" {
	tls_setup
	start_tls_fake "" starttls "tlscert=$CERTS/selfsigned.pem"
	echo "remote.test localhost:$FAKE_PORT" >"$CONF/routes"
	send a@b.test x@remote.test
	run_deliver
	# may takes any certificate, and says it was not verified
	grep -Eq "to=<x@remote.test> relay=localhost\[127.0.0.1\]:$FAKE_PORT tls=TLS1.[23]/unverified .* status=sent" "$TESTDIR/deliver.log"
	stop_tls_fake
	: >"$CONF/routes"
	start_fake
	send a@b.test y@remote.test
	run_deliver
	deliver_log
	grep -q "to=<y@remote.test> relay=127.0.0.1\[127.0.0.1\]:$FAKE_PORT tls=none .* status=sent" "$TESTDIR/deliver.log"
	queue_is_empty
}

@test "encrypt: a host without STARTTLS, or one that refuses it, is a refused downgrade: deferred, no MAIL sent" {
	tls_setup
	start_tls_fake tls=encrypt
	send a@b.test x@remote.test
	run_deliver
	deliver_log
	grep -q "to=<x@remote.test> relay=none .* status=deferred (4.7.4 TLS is required, but was not offered by localhost\[127.0.0.1\]:$FAKE_PORT)" "$TESTDIR/deliver.log"
	! grep -q '^C: MAIL' "$TESTDIR/fake/transcript"
	stop_tls_fake
	start_tls_fake tls=encrypt starttls 'starttlsreply=454 4.7.0 TLS not available now'
	run_deliver -f
	deliver_log
	grep -q "status=deferred (4.7.5 localhost\[127.0.0.1\]:$FAKE_PORT refused STARTTLS: 454 4.7.0 TLS not available now)" "$TESTDIR/deliver.log"
	! grep -q '^C: MAIL' "$TESTDIR/fake/transcript"
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
}

@test "may: STARTTLS refused goes on in clear text; a failed handshake is tried again in clear text on the same address" {
	tls_setup
	start_tls_fake tls=may starttls 'starttlsreply=454 4.7.0 TLS not available now'
	send a@b.test x@remote.test
	run_deliver
	grep -q "to=<x@remote.test> relay=localhost\[127.0.0.1\]:$FAKE_PORT tls=none .* status=sent" "$TESTDIR/deliver.log"
	[ "$(grep -c '^CONNECT' "$TESTDIR/fake/transcript")" -eq 1 ]
	stop_tls_fake
	# 220 to STARTTLS, then clear text: the handshake fails
	start_tls_fake tls=may starttls
	send a@b.test y@remote.test
	run_deliver
	deliver_log
	transcript
	grep -q "TLS handshake with localhost\[127.0.0.1\]:$FAKE_PORT failed: .*; trying again in clear text (tlslevel may)" "$TESTDIR/deliver.log"
	[ "$(grep -c '^CONNECT' "$TESTDIR/fake/transcript")" -eq 2 ]
	# the second connection sent no STARTTLS
	[ "$(grep -c '^C: STARTTLS' "$TESTDIR/fake/transcript")" -eq 1 ]
	grep -q "to=<y@remote.test> relay=localhost\[127.0.0.1\]:$FAKE_PORT tls=none .* status=sent" "$TESTDIR/deliver.log"
	queue_is_empty
}

@test "AUTH: a wrong password is deferred with the server's reply; credentials never go without TLS; a smtpauth others can read is not used" {
	tls_setup
	start_tls_fake "" starttls "tlscert=$CERTS/localhost.pem" auth=alice:s3cret
	smtpauth 'localhost alice wrong-password'
	send a@b.test x@remote.test
	run_deliver
	deliver_log
	grep -q "status=deferred (4.7.0 localhost\[127.0.0.1\]:$FAKE_PORT refused AUTH: 535 5.7.8 Error: authentication failed)" "$TESTDIR/deliver.log"
	! grep -q '^C: MAIL' "$TESTDIR/fake/transcript"
	! grep -q 'wrong-password' "$TESTDIR/deliver.log"
	smtpauth 'localhost alice s3cret' 644
	run_deliver -f
	grep -q "status=deferred (4.3.5 $CONF/smtpauth is not a file of mode 0600 owned by deliver's user: not used)" "$TESTDIR/deliver.log"
	stop_tls_fake
	smtpauth 'localhost alice s3cret'
	start_tls_fake tls=may
	run_deliver -f
	deliver_log
	grep -q "status=deferred (4.7.0 credentials for localhost\[127.0.0.1\]:$FAKE_PORT go only over TLS, and the session is not encrypted)" "$TESTDIR/deliver.log"
	! grep -Eq '^C: (AUTH|MAIL)' "$TESTDIR/fake/transcript"
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
}

@test "AUTH LOGIN when the host offers only LOGIN: user name and password each after a 334, inside TLS" {
	tls_setup
	start_tls_fake "" starttls "tlscert=$CERTS/localhost.pem" auth=alice:s3cret authmechs=LOGIN
	smtpauth 'localhost alice s3cret'
	send a@b.test x@remote.test
	run_deliver
	deliver_log
	transcript
	grep -Eq "to=<x@remote.test> relay=localhost\[127.0.0.1\]:$FAKE_PORT tls=TLS1.[23]/verified .* status=sent" "$TESTDIR/deliver.log"
	transcript | sed -n '/^TLS /,$p' | grep -q '^C: AUTH LOGIN$'
	[ "$(grep -c '^S: 334 ' "$TESTDIR/fake/transcript")" -eq 2 ]
	grep -q '^S: 235 ' "$TESTDIR/fake/transcript"
	queue_is_empty
}

@test "smtps: TLS from the first byte (port 465 style), verified; a plain server there is deferred" {
	tls_setup
	ROUTE_PREFIX=smtps: start_tls_fake "" implicit "tlscert=$CERTS/localhost.pem" auth=alice:s3cret
	smtpauth 'localhost alice s3cret'
	send a@b.test x@remote.test
	run_deliver
	deliver_log
	transcript
	# TLS before the greeting
	sed -n 2p "$TESTDIR/fake/transcript" | grep -q '^TLS TLSv1.[23]$'
	sed -n 3p "$TESTDIR/fake/transcript" | grep -q '^S: 220 '
	grep -q '^C: AUTH PLAIN ' "$TESTDIR/fake/transcript"
	grep -Eq "to=<x@remote.test> relay=localhost\[127.0.0.1\]:$FAKE_PORT tls=TLS1.[23]/verified .* status=sent" "$TESTDIR/deliver.log"
	stop_tls_fake
	ROUTE_PREFIX=smtps: start_tls_fake ""
	send a@b.test y@remote.test
	timeout 120 "$DELIVER" -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log"
	deliver_log
	grep -q "to=<y@remote.test> relay=none .* status=deferred (4.7.5 TLS connect to localhost\[127.0.0.1\]:$FAKE_PORT: " "$TESTDIR/deliver.log"
	! grep -q '^C: MAIL' "$TESTDIR/fake/transcript"
}

@test "through the TLS program, deliver's connect limits and reasons hold: refused, and connecttimeout for a connect that never completes" {
	tls_setup
	conf 'connecttimeout 1'
	conf 'timeout 60'
	local port
	port=$(free_port)
	echo "remote.test [127.0.0.1]:$port tls=may" >"$CONF/routes"
	send a@b.test x@remote.test
	run_deliver
	deliver_log
	grep -q "status=deferred (4.4.1 connect to 127.0.0.1\[127.0.0.1\]:$port: Connection refused)" "$TESTDIR/deliver.log"
	start_unconnectable "$port"
	local start=$SECONDS
	run_deliver -f
	deliver_log
	grep -q "status=deferred (4.4.1 connect to 127.0.0.1\[127.0.0.1\]:$port: Connection timed out)" "$TESTDIR/deliver.log"
	[ $((SECONDS - start)) -lt 20 ]
	# no TLS program is left behind
	! pgrep -f "gnutls-cli.*-p $port" >/dev/null
}

@test "tlsclient that cannot run: may sends in clear text (logged once); verify defers" {
	tls_setup
	conf 'tlsclient /nonexistent/gnutls-cli'
	start_fake
	send a@b.test x@remote.test
	run_deliver
	deliver_log
	grep -q 'tlsclient /nonexistent/gnutls-cli cannot be run (No such file or directory): tlslevel may sends in clear text' "$TESTDIR/deliver.log"
	grep -q "to=<x@remote.test> relay=127.0.0.1\[127.0.0.1\]:$FAKE_PORT tls=none .* status=sent" "$TESTDIR/deliver.log"
	echo "remote.test 127.0.0.1:$FAKE_PORT tls=verify" >"$CONF/routes"
	send a@b.test y@remote.test
	run_deliver
	deliver_log
	grep -q "to=<y@remote.test> relay=none .* status=deferred (4.4.1 connect to 127.0.0.1\[127.0.0.1\]:$FAKE_PORT: cannot run /nonexistent/gnutls-cli: No such file or directory)" "$TESTDIR/deliver.log"
	# only the first message reached the server
	[ "$(grep -c '^C: EHLO' "$TESTDIR/fake/transcript")" -eq 1 ]
}

@test "routes: tls= and smtps: are checked when the file is read" {
	printf 'a.test host tls=sometimes\nb.test smtps:host tls=may\nc.test lmtp:host tls=verify\nd.test host tls=none tls=may\ne.test host bogus\nf.test smtps:host\n' >"$CONF/routes"
	send a@b.test x@f.test 2>/dev/null || true
	run_deliver
	deliver_log
	grep -q 'file=routes line=1: tls= must be none, may, encrypt or verify' "$TESTDIR/deliver.log"
	grep -q 'file=routes line=2: smtps: needs tls=encrypt or tls=verify' "$TESTDIR/deliver.log"
	grep -q 'file=routes line=3: LMTP takes no tls=' "$TESTDIR/deliver.log"
	grep -q 'file=routes line=4: tls= must be none, may, encrypt or verify' "$TESTDIR/deliver.log"
	grep -q 'file=routes line=5: unknown option' "$TESTDIR/deliver.log"
	! grep -q 'file=routes line=6' "$TESTDIR/deliver.log"
}

# Real peers: a private Postfix as the next hop, and postern's own smtpd
# behind Debian's tlswrapper as a smarthost that wants AUTH.

needs_root_peer() {
	[ "$(id -u)" -eq 0 ] || skip "$1 needs root"
}

@test "Postfix (smtpd_tls_security_level = may) as a domain's next hop: tlslevel may encrypts, verified against tlscafile, logged" {
	tls_setup
	needs_root_peer Postfix
	command -v postfix >/dev/null || skip "postfix is not installed"
	load postfix
	PF=$TESTDIR/postfix
	local port
	port=$(free_port)
	start_postfix "$PF" "$port" "$CERTS/localhost.pem"
	REMOTE_PID=
	echo "remote.test localhost:$port" >"$CONF/routes"
	send a@b.test x@remote.test
	run_deliver
	held=$(held_messages "$PF")
	stop_postfix "$PF"
	deliver_log
	echo "$held" | head -20
	grep -Eq "to=<x@remote.test> relay=localhost\[127.0.0.1\]:$port tls=TLS1.[23]/verified .* status=sent" "$TESTDIR/deliver.log"
	echo "$held" | grep -q '(using TLSv1.[23] with cipher'
	echo "$held" | grep -q 'by pf.test (Postfix) with ESMTPS'
	grep -q 'Anonymous TLS connection established from localhost\[127.0.0.1\]' "$PF/maillog"
	queue_is_empty
}

@test "postern's smtpd -t behind tlswrapper as the smarthost: STARTTLS verified, AUTH, ESMTPSA; a wrong password is deferred with its reply" {
	tls_setup
	needs_root_peer "tlswrapper (it jails itself)"
	command -v tlswrapper >/dev/null || skip "tlswrapper is not installed"
	command -v tcpserver >/dev/null || skip "tcpserver is not installed"
	! ldd "$TOP/smtpd" | grep -q libasan || skip "tlswrapper's memory limits stop a sanitizer build"
	local rq=$TESTDIR/remote-queue rc=$TESTDIR/remote-conf port
	mkdir -p "$rq" "$rc"
	printf 'hostname smarthost.test\nlog stderr\nauthdelay 0\nsubmission yes\n' >"$rc/smtpd.conf"
	echo smarthost.test >"$rc/domains"
	printf 'alice@example.org:%s\n' "$(openssl passwd -6 -salt pstrn s3cret-alice)" >"$rc/passwd"
	cat "$CERTS/localhost.key" "$CERTS/localhost.crt" >"$TESTDIR/smarthost.pem"
	port=$(free_port)
	tcpserver -HRl0 127.0.0.1 "$port" "$SMTPD" -t "$TESTDIR/smarthost.pem" \
	    -C "$rc" -Q "$rq" 2>"$TESTDIR/remote.log" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	REMOTE_PID=$!
	wait_port 127.0.0.1 "$port"
	echo "* localhost:$port" >"$CONF/routes"
	smtpauth 'localhost alice@example.org wrong'
	send alice@example.org x@remote.test
	run_deliver
	deliver_log
	grep -q "status=deferred (4.7.0 localhost\[127.0.0.1\]:$port refused AUTH: 535 5.7.8 " "$TESTDIR/deliver.log"
	smtpauth 'localhost alice@example.org s3cret-alice'
	run_deliver -f
	deliver_log
	cat "$TESTDIR/remote.log"
	grep -Eq "to=<x@remote.test> relay=localhost\[127.0.0.1\]:$port tls=TLS1.[23]/verified .* status=sent" "$TESTDIR/deliver.log"
	queue_is_empty
	[ "$(ls "$rq/todo" | wc -l)" -eq 1 ]
	entry message "$rq"/todo/* | tee /dev/stderr | grep -q " with ESMTPSA$"
	grep -q 'starttls: client=127.0.0.1 handed to the TLS wrapper' "$TESTDIR/remote.log"
}
