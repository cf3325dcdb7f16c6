#!/usr/bin/env bats
# deliver's MX lookups against a real DNS server: a private NSD on
# 127.0.0.2:53 serving a zone file, named by a resolv.conf bound over
# the real one in deliver's own mount namespace.  What the scripted
# server of deliver.bats cannot show: answers as a real server encodes
# them (name compression, additional records), truncation of a UDP
# answer over 512 octets and the resolver's retry over TCP, and REFUSED
# for a zone the server does not serve.

load helper
load deliver_helper
load nsd

# start_test_zone: NSD on 127.0.0.2:53 with the zone test. below.
start_test_zone() {
	needs_dns_namespace
	local zone=$TESTDIR/test.zone i
	{
		printf '$ORIGIN test.\n$TTL 300\n'
		printf '@ SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n'
		printf '@ NS ns.test.\nns A 127.0.0.2\n'
		# preference order, the best host down
		printf 'pref MX 10 mx1.pref.test.\npref MX 20 mx2.pref.test.\n'
		printf 'mx1.pref A 127.0.0.4\nmx2.pref A 127.0.0.3\n'
		# no MX: the domain's own address
		printf 'nomx A 127.0.0.3\n'
		# null MX (RFC 7505)
		printf 'nullmx MX 0 .\n'
		# 60 hosts of long names at 20, the real one at 10: the answer
		# is far over 512 octets, so UDP truncates it and the resolver
		# asks again over TCP
		for i in $(seq 60); do
			printf 'big MX 20 host-%03d-with-a-rather-long-name.elsewhere.invalid.\n' "$i"
		done
		printf 'big MX 10 mx.big.test.\nmx.big A 127.0.0.3\n'
		# a Postfix MX with STARTTLS
		printf 'tls MX 10 mx.tls.test.\nmx.tls A 127.0.0.5\n'
	} >"$zone"
	start_nsd "test=$zone"
}

queue_to() {	# queue_to RECIPIENT...: one message from alice
	local env='Falice@example.org\0' r
	for r in "$@"; do env="${env}T$r\0"; done
	printf "$env\0" >"$TESTDIR/env"
	printf 'Subject: dns\n\nhi\n' | "$ENQUEUE" -C "$CONF" -Q "$QUEUE" 1<"$TESTDIR/env"
}

@test "NSD: MX preference with fallback, the domain itself without MX, NXDOMAIN and null MX" {
	start_test_zone
	start_fake_at 127.0.0.3 "$TESTDIR/fake"
	queue_to x@pref.test y@nomx.test z@gone.test w@nullmx.test
	deliver_dns
	run_deliver
	cat "$TESTDIR/deliver.log"
	# mx1 (127.0.0.4) has no server: its connect is refused, mx2 takes it
	grep -q 'to=<x@pref.test> relay=mx2.pref.test\[127.0.0.3\]:25 .* status=sent' "$TESTDIR/deliver.log"
	grep -q 'to=<y@nomx.test> relay=nomx.test\[127.0.0.3\]:25 .* status=sent' "$TESTDIR/deliver.log"
	grep -q 'to=<z@gone.test> .* status=bounced (5.1.2 domain not found)' "$TESTDIR/deliver.log"
	grep -q 'to=<w@nullmx.test> .* status=bounced (5.1.10 domain accepts no mail (null MX))' "$TESTDIR/deliver.log"
	[ "$(ls "$TESTDIR"/fake/*.eml | wc -l)" -eq 2 ]
}

@test "NSD: an MX answer truncated over UDP is asked again over TCP, and the best host kept" {
	start_test_zone
	command -v strace >/dev/null || skip "strace is not installed"
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	start_fake_at 127.0.0.3 "$TESTDIR/fake"
	queue_to x@big.test
	# the resolver's sockets, seen from outside the namespace
	strace -f -o "$TESTDIR/strace" -e trace=socket,connect unshare -m sh -c \
	    'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
	    sh "$TESTDIR/resolv.conf" "$DELIVER" -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log"
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<x@big.test> relay=mx.big.test\[127.0.0.3\]:25 .* status=sent' "$TESTDIR/deliver.log"
	# a datagram socket, then a stream one, each to 127.0.0.2:53
	grep 'socket(AF_INET, SOCK_DGRAM' "$TESTDIR/strace" | grep -q .
	grep -q 'connect(.*sin_port=htons(53).*inet_addr("127.0.0.2")' "$TESTDIR/strace"
	# (the other stream socket is the SMTP connection)
	[ "$(grep -c 'socket(AF_INET, SOCK_STREAM' "$TESTDIR/strace")" -ge 2 ]
	queue_is_empty
}

@test "NSD: a zone the server refuses is a temporary failure: deferred (4.4.3), not bounced" {
	start_test_zone
	queue_to x@elsewhere.example
	deliver_dns
	cat "$TESTDIR/deliver.log"
	grep -q 'to=<x@elsewhere.example> .* status=deferred (4.4.3 DNS lookup of elsewhere.example failed)' "$TESTDIR/deliver.log"
	[ "$(ls "$QUEUE/state" | wc -l)" -eq 1 ]
	[ -z "$(maildir_files alice)" ]
}

@test "a private Postfix as the MX (smtpd_tls_security_level may): tlslevel may encrypts, the MX name verifies against tlscafile, logged" {
	command -v postfix >/dev/null || skip "postfix is not installed"
	command -v gnutls-cli >/dev/null || skip "gnutls-cli (gnutls-bin) is not installed"
	start_test_zone
	load postfix
	local certs=$TESTDIR/certs
	mkdir -p "$certs"
	(cd "$certs" &&
	    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=test-CA -days 1 -keyout ca.key -out ca.pem 2>/dev/null &&
	    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.tls.test -keyout mx.key -out mx.csr 2>/dev/null &&
	    printf 'subjectAltName=DNS:mx.tls.test\n' >mx.ext &&
	    openssl x509 -req -in mx.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 1 -extfile mx.ext -out mx.crt 2>/dev/null &&
	    cat mx.crt mx.key >mx.pem)
	PF=$TESTDIR/postfix
	start_postfix "$PF" 127.0.0.5:25 "$certs/mx.pem"
	conf "tlscafile $certs/ca.pem"
	queue_to x@tls.test
	deliver_dns
	held=$(held_messages "$PF")
	stop_postfix "$PF"
	cat "$TESTDIR/deliver.log"
	echo "$held" | head -12
	grep -Eq 'to=<x@tls.test> relay=mx.tls.test\[127.0.0.5\]:25 tls=TLS1.[23]/verified .* status=sent' "$TESTDIR/deliver.log"
	echo "$held" | grep -q '(using TLSv1.[23] with cipher'
	grep -q 'TLS connection established from ' "$PF/maillog"
}
