# A private Postfix instance on loopback for tests and benchmarks: its
# own configuration, queue and log under one directory, never the
# host's.  Mail it takes is held (header_checks HOLD), so that the test
# can read what arrived with postcat.
#
# start_postfix DIR [ADDRESS:]PORT CERT.pem [MAIN.CF LINE...]; stop_postfix DIR
# (the address 127.0.0.1 unless given)
# CERT.pem holds the certificate and its key.  Needs root (master
# starts as root) and the postfix package.

start_postfix() {
	local dir=$1 addr=127.0.0.1 port=$2 cert=$3 line
	shift 3
	case $port in *:*) addr=${port%:*} port=${port##*:} ;; esac
	mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
	chown postfix "$dir/data"
	install -m 600 "$cert" "$dir/etc/cert.pem"
	echo '/^Subject:/ HOLD' >"$dir/etc/hold"
	cat >"$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
myhostname = pf.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
header_checks = regexp:$dir/etc/hold
smtpd_tls_cert_file = $dir/etc/cert.pem
smtpd_tls_key_file = $dir/etc/cert.pem
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
# it takes mail faster than it passes it on (all held or discarded):
# no pause for that
in_flow_delay = 0
CF
	for line in "$@"; do echo "$line" >>"$dir/etc/main.cf"; done
	cat >"$dir/etc/master.cf" <<CF
$addr:$port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix  - - n 1000? 1 tlsmgr
showq     unix  n - n - - showq
CF
	postfix -c "$dir/etc" start >/dev/null 2>&1 || { cat "$dir/maillog" >&2; return 1; }
	wait_port "$addr" "$port" 30
}

stop_postfix() {
	[ -f "$1/etc/main.cf" ] && postfix -c "$1/etc" stop >/dev/null 2>&1 || true
}

# held_messages DIR: what arrived, as postcat shows it
held_messages() {
	local f
	for f in $(find "$1/spool/hold" -type f 2>/dev/null); do
		postcat -c "$1/etc" "$f"
	done
}
