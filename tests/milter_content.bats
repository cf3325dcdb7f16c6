#!/usr/bin/env bats
# The message to the filters and their changes to it: DATA, each header
# field, the header's end, the body and the end of the message, with
# the verdicts filters give there; every change a filter can make
# (header fields added, inserted, changed, deleted; a new body;
# recipients added and deleted; the sender changed; quarantine), each
# through a real libmilter filter (tests/testmilter.py), applied before
# the 250, written once (a PQE2 entry), and delivered as the filter
# left it; and hostile filters at the end of a message.

load helper
load milter_helper

DELIVER=$TOP/deliver
MSG='EHLO c\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: hello\nX-Drop: me\nFrom: a@b.test\nX-Long: one\n\ttwo\n\nbody line 1\nline 2\n.\nQUIT\n'

queued_file() { find "$QUEUE/todo" -type f | head -1; }
queued_message() { python3 "$TOP/tests/qentry.py" message "$(queued_file)"; }
queued_envelope() { python3 "$TOP/tests/qentry.py" envelope "$(queued_file)" | tr '\0' '|'; }
deliver_all() {
	conf "mailroot $TESTDIR/mail"
	"$DELIVER" -C "$CONF" -Q "$QUEUE" 2>>"$TESTDIR/deliver.log"
}
delivered() { cat "$TESTDIR/mail/example.org/$1/new/"*; }

@test "the message reaches the filter: DATA, each field as received, the header's end, the body in CR LF, the end; macro i is the queue ID" {
	start_milter
	run session "$MSG"
	echo "$output"
	id=$(echo "$output" | sed -n 's/^250 2.0.0 Ok: queued as //p')
	[ -n "$id" ]
	events
	events | grep -A20 '^data$' >"$TESTDIR/content"
	[ "$(sed -n 1p "$TESTDIR/content")" = data ]
	# postern's own Received: field first, as Postfix sends its own
	sed -n 2p "$TESTDIR/content" | grep -q '^header Received: from c (\[192.0.2.7\]) by mx.test (postern)'
	grep -qx 'header Subject: hello' "$TESTDIR/content"
	grep -qx 'header X-Drop: me' "$TESTDIR/content"
	grep -qx 'header From: a@b.test' "$TESTDIR/content"
	# a folded field is one, its line break kept
	grep -A1 -x 'header X-Long: one' "$TESTDIR/content" | grep -qx $'\ttwo'
	grep -qx 'eoh' "$TESTDIR/content"
	grep -qxF "body b'body line 1\\r\\nline 2\\r\\n'" "$TESTDIR/content"
	grep -qx 'eom' "$TESTDIR/content"
	grep -qx "macro i=$id" "$TESTDIR/milter.log"
	# unchanged: written as ever, one piece
	[ "$(python3 "$TOP/tests/qentry.py" pieces "$(queued_file)")" -eq 1 ]
}

@test "a filter that asks for header values with their leading space (SMFIP_HDR_LEADSPC) gets them so, and its new fields are written as it gives them" {
	start_milter leadspc=yes 'add=X-Spaced:  two spaces' 'add=X-Tight:none'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	events | grep -x 'header Subject:  hello'
	events | grep -x 'header X-Drop:  me'
	queued_message | grep -x 'X-Spaced:  two spaces'
	queued_message | grep -x 'X-Tight:none'
	# without it, the value without its space, and one written back
	stop_milter
	rm -f "$QUEUE"/todo/* "$TESTDIR/milter.log"
	start_milter 'add=X-Tight:none'
	run session "$MSG"
	events | grep -x 'header Subject: hello'
	queued_message | grep -x 'X-Tight: none'
}

@test "a large body (520 KB: nine chunks) reaches the filter whole, every line end CR LF" {
	start_milter
	python3 -c 'import sys; sys.stdout.write("".join("line %06d of a long body\n" % i for i in range(20000)))' >"$TESTDIR/body"
	{ printf 'EHLO c\nMAIL FROM:<a@b.test>\nRCPT TO:<alice@example.org>\nDATA\nSubject: big\n\n'; cat "$TESTDIR/body"; printf '.\nQUIT\n'; } >"$TESTDIR/session"
	run bash -c "TCPREMOTEIP=192.0.2.7 '$SMTPD' -C '$CONF' -Q '$QUEUE' <'$TESTDIR/session' 2>'$LOG' | tr -d '\r'"
	echo "$output" | tail -3
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	# the filter's whole body, as it logged it, is ours with CR LF
	python3 - "$TESTDIR/milter.log" "$TESTDIR/body" <<'PY'
import ast, sys
got = [l for l in open(sys.argv[1]) if l.startswith("body ")][-1]
want = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
body = ast.literal_eval(got[5:].strip())
assert body == want, (len(body), len(want))
PY
}

@test "verdicts on the content, given at the end of the data: a field rejected, the end tempfailed, the body discarded, DATA refused" {
	start_milter 'header:X-Drop=reply:550 5.7.1 No X-Drop here'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"550 5.7.1 No X-Drop here"* ]]
	[ "$(queued_count)" -eq 0 ]
	grep -q 'reject: cmd=DATA client=192.0.2.7 .*reason="550 5.7.1 No X-Drop here"' "$LOG"
	# once refused, the filter is told no more of this message
	! events | grep -q '^eom$' || false
	stop_milter
	start_milter 'eom=tempfail'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"451 4.7.1 Service unavailable - try again later"* ]]
	[ "$(queued_count)" -eq 0 ]
	stop_milter
	start_milter 'body=discard'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok"* ]]
	[ "$(queued_count)" -eq 0 ]
	grep -q 'discard: client=192.0.2.7 from=<a@b.test>' "$LOG"
	stop_milter
	start_milter 'data=reject'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"550 5.7.1 Command rejected"* ]]
	[ "$(queued_count)" -eq 0 ]
}

@test "header changes: added, inserted at the top, changed, deleted; written once after the message as received; delivered so" {
	start_milter 'add=X-Added:added one' 'ins=0:X-Top:at top' \
	    'chg=Subject:1:changed subject' 'chg=X-Drop:1:' 'ins=3:X-Third:third'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	queued_message >"$TESTDIR/msg"
	cat "$TESTDIR/msg"
	sed -n 1p "$TESTDIR/msg" | grep -qx 'X-Top: at top'
	sed -n 2p "$TESTDIR/msg" | grep -q '^Received: from c '
	[ "$(sed -n 4,10p "$TESTDIR/msg")" = "$(printf 'Subject: changed subject\nX-Third: third\nFrom: a@b.test\nX-Long: one\n\ttwo\nX-Added: added one\n')" ]
	! grep -q 'X-Drop' "$TESTDIR/msg" || false
	[ "$(tail -n 3 "$TESTDIR/msg")" = "$(printf '\nbody line 1\nline 2')" ]
	# written once: the file starts with the message as received, the
	# new fields follow it; the entry is a PQE2 map of pieces
	f=$(queued_file)
	head -c 9 "$f" | grep -qx 'Received:'
	grep -q '^Subject: hello$' "$f"
	tail -c 48 "$f" | grep -q '^PQE2 '
	[ "$(python3 "$TOP/tests/qentry.py" pieces "$f")" -gt 1 ]
	# and deliver writes what the filter left
	deliver_all
	delivered alice >"$TESTDIR/got"
	[ "$(sed 1,2d "$TESTDIR/got")" = "$(cat "$TESTDIR/msg")" ]
	# postern-queue shows it the same way
	"$TOP/postern-queue" -C "$CONF" -Q "$QUEUE" list >/dev/null
}

@test "a new body (CR LF made LF, in several chunks), recipients added and deleted, the sender changed: applied before the 250, delivered so" {
	start_milter 'newbody=new body\nsecond line;\nthird chunk\n' \
	    'addrcpt=bob@example.org' \
	    'addrcpt_par=carol@remote.test:NOTIFY=NEVER' \
	    'delrcpt=alice@example.org' 'chgfrom=bounces@b.test'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	queued_message >"$TESTDIR/msg"
	[ "$(sed -n '/^$/,$p' "$TESTDIR/msg")" = "$(printf '\nnew body\nsecond line\nthird chunk')" ] || { cat -A "$TESTDIR/msg"; false; }
	grep -qx 'Subject: hello' "$TESTDIR/msg"
	! grep -q 'body line 1' "$TESTDIR/msg" || false
	[ "$(queued_envelope)" = 'Fbounces@b.test|Tbob@example.org|Tcarol@remote.test|PNOTIFY=NEVER||' ]
	grep -q 'milter: id=.* recipient added: <bob@example.org>' "$LOG"
	grep -q 'milter: id=.* recipient deleted: <alice@example.org>' "$LOG"
	grep -q 'milter: id=.* sender changed: <bounces@b.test>' "$LOG"
	grep -q 'queued id=.* from=<bounces@b.test> .* nrcpt=2' "$LOG"
	echo remote.test >"$CONF/relaydomains"
	deliver_all
	delivered bob | grep -qx 'Return-Path: <bounces@b.test>'
	delivered bob | grep -qx 'third chunk'
	[ -z "$(ls "$TESTDIR/mail/example.org/alice/new" 2>/dev/null)" ]
}

@test "a new body that ends in a lone CR keeps it (held back for an LF that never came)" {
	start_milter 'newbody=one\ntwo\r'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	[ "$(queued_message | tail -c 8 | od -An -c | tr -s ' ')" = " o n e \n t w o \r" ]
}

@test "every recipient deleted: the message is discarded (250), as Postfix does; quarantine: queued on hold" {
	start_milter 'delrcpt=alice@example.org'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok"* ]]
	[ "$(queued_count)" -eq 0 ]
	grep -q 'milter: id=.* every recipient deleted; discarded' "$LOG"
	stop_milter
	start_milter 'quarantine=looks like spam'
	run session "$MSG"
	echo "$output"
	id=$(echo "$output" | sed -n 's/^250 2.0.0 Ok: queued as //p')
	[ -n "$id" ]
	[ -e "$QUEUE/hold/$id" ]
	grep -q "milter: inet:127.0.0.1:$MPORT: quarantine: looks like spam" "$LOG"
	grep -q "hold: id=$id" "$LOG"
	# deliver leaves it alone until it is released
	deliver_all
	[ -z "$(ls "$TESTDIR/mail/example.org/alice/new" 2>/dev/null)" ]
	"$TOP/postern-queue" -C "$CONF" -Q "$QUEUE" list | grep "$id" | grep -q held
}

@test "QMAILQUEUE: the message has gone to the queue program by its end, so only envelope changes are offered; they apply" {
	start_milter 'addrcpt=bob@example.org' 'add=X-Added:no'
	export POSTERN_CONF=$CONF POSTERN_QUEUE=$QUEUE QMAILQUEUE=$TOP/enqueue
	run session "$MSG"
	echo "$output"
	# not offered, so libmilter refuses the header change itself: the
	# filter's end-of-message callback fails, and pymilter answers with
	# a tempfail of its own; offered, the change would have been made
	[[ "$output" == *"451 4.3.0 pymilter: untrapped exception"* ]]
	[ "$(queued_count)" -eq 0 ]
	stop_milter
	start_milter 'addrcpt=bob@example.org'
	run session "$MSG"
	echo "$output"
	[[ "$output" == *"250 2.0.0 Ok"* ]]
	[ "$(queued_envelope)" = 'Fa@b.test|Talice@example.org|Tbob@example.org||' ]
}

@test "hostile filters at the end of a message: a change never asked for, endless progress, an endless new body: the default action, no hang" {
	conf 'miltermessagetimeout 4'
	for mode in unasked progress bigbody; do
		start_hostile "$mode"
		conf 'maxsize 1000000'
		local start=$SECONDS
		run timeout 60 bash -c "printf '$MSG' | TCPREMOTEIP=192.0.2.7 '$SMTPD' -C '$CONF' -Q '$QUEUE' 2>'$LOG' | tr -d '\r'"
		echo "$mode: $output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"451 4.7.1 Service unavailable - try again later"* ]]
		case $mode in
		unasked) why='a change it did not ask for, or a malformed one' ;;
		progress) why='no reply in time, or a bad one' ;;
		bigbody) why='a new body larger than maxsize' ;;
		esac
		grep -q "milter: inet:127.0.0.1:$MPORT: $why; default action tempfail" "$LOG"
		[ "$(queued_count)" -eq 0 ]
		[ $((SECONDS - start)) -lt 50 ]
		stop_milter
		sed -i '/^miltertimeout /d; /^maxsize /d' "$CONF/smtpd.conf"
	done
	# with milterdefault accept, the message goes through unchanged
	conf 'milterdefault accept'
	start_hostile unasked
	run session "$MSG"
	[[ "$output" == *"250 2.0.0 Ok: queued as"* ]]
	! queued_message | grep -q X-Unasked || false
}
