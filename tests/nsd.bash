# A private NSD for the tests that need a real DNS server: on
# 127.0.0.2:53, authoritative for the zones given, each from a zone
# file.  The programs are pointed at it by a resolv.conf bound over the
# real one in a mount namespace of their own ($TESTDIR/resolv.conf;
# needs_dns_namespace in deliver_helper.bash, or dns_namespace below).

# dns_namespace: skips unless a mount namespace and port 53 can be had.
dns_namespace() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for port 53 and a mount namespace"
	command -v unshare >/dev/null || skip "needs unshare (util-linux)"
	unshare -m true 2>/dev/null || skip "mount namespaces are not allowed here"
	printf 'nameserver 127.0.0.2\noptions attempts:2 timeout:1\n' >"$TESTDIR/resolv.conf"
}

# with_resolv_conf CMD...: CMD with $TESTDIR/resolv.conf as /etc/resolv.conf.
with_resolv_conf() {
	unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' \
	    sh "$TESTDIR/resolv.conf" "$@"
}

# start_nsd ZONE=FILE...: NSD serving each zone from its file; sets DNS_PID.
start_nsd() {
	local z
	command -v nsd >/dev/null || skip "nsd is not installed"
	mkdir -p "$TESTDIR/nsd"
	cat >"$TESTDIR/nsd/nsd.conf" <<EOC
server:
	ip-address: 127.0.0.2
	port: 53
	username: ""
	chroot: ""
	zonesdir: "$TESTDIR/nsd"
	database: ""
	zonelistfile: "$TESTDIR/nsd/zone.list"
	xfrdfile: "$TESTDIR/nsd/xfrd.state"
	pidfile: "$TESTDIR/nsd/nsd.pid"
	logfile: "$TESTDIR/nsd/nsd.log"
	server-count: 1
	verbosity: 1
remote-control:
	control-enable: no
EOC
	for z in "$@"; do
		printf 'zone:\n\tname: %s\n\tzonefile: "%s"\n' "${z%%=*}" "${z#*=}" \
		    >>"$TESTDIR/nsd/nsd.conf"
	done
	nsd-checkconf "$TESTDIR/nsd/nsd.conf"
	# the last test's NSD (or this test's, restarted) may still be
	# leaving: until port 53 is free (10 s at most)
	python3 - <<'PY'
import socket, time
for _ in range(100):
    try:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.2", 53))
            s.close()
        break
    except OSError:
        time.sleep(0.1)
PY
	nsd -d -c "$TESTDIR/nsd/nsd.conf" 2>>"$TESTDIR/nsd/nsd.log" &
	DNS_PID=$!
	# until it answers for every zone, over UDP
	python3 - "$@" <<'PY' || { cat "$TESTDIR/nsd/nsd.log"; return 1; }
import socket, struct, sys, time
for zone in sys.argv[1:]:
    zone = zone.split("=")[0]
    name = b"".join(bytes([len(l)]) + l.encode() for l in zone.split(".")) + b"\0"
    query = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + name + struct.pack(">HH", 6, 1)
    for _ in range(300):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(query, ("127.0.0.2", 53))
            r = s.recv(512)
            # answered, with the SOA (rcode 0, one answer)
            if r[:2] == query[:2] and r[3] & 15 == 0 and r[7] == 1:
                break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit(1)
PY
	# and it is ours that answered, not one still leaving
	kill -0 "$DNS_PID" || { cat "$TESTDIR/nsd/nsd.log"; return 1; }
}

# session CLIENT COMMANDS: one smtpd session from that client address (as
# a super-server's TCPREMOTEIP says), in a mount namespace whose
# resolv.conf names NSD; replies, without CR, in $output.
session() {
	run bash -c "printf '$2' | TCPREMOTEIP='$1' unshare -m sh -c 'mount --bind \"\$0\" /etc/resolv.conf && exec \"\$1\" -C \"\$2\" -Q \"\$3\"' '$TESTDIR/resolv.conf' '$SMTPD' '$CONF' '$QUEUE' 2>>'$LOG' | tr -d '\r'"
	echo "$output"
}
