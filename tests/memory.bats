#!/usr/bin/env bats
# Memory stays bounded whatever the input: messages stream to disk and
# long lines are discarded, never buffered whole.

load helper

setup() { setup_postern; }
teardown() { teardown_postern; }

peak() {
	python3 "$TOP/tests/peakrss.py" "$@"
}

sanitized() {
	ldd "$SMTPD" | grep -q libasan
}

@test "a 30 MB message is refused by maxsize and memory stays small" {
	run peak data 100000 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local small=${lines[0]%% *}
	[[ "${lines[0]}" == *"250 2.0.0 Ok: queued as "* ]]
	run peak data 31457280 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local big=${lines[0]%% *}
	[[ "${lines[0]}" == *"552 5.3.4 Error: message too big" ]]
	echo "peak RSS: small message ${small} KiB, 30 MB message ${big} KiB"
	[ $((big - small)) -lt 1024 ]
	if ! sanitized; then
		cc -O2 -o "$TESTDIR/reader" "$TOP/tests/stdin-reader.c"
		run peak none 0 "$TESTDIR/reader"
		local empty=${lines[0]%% *}
		echo "C program that only reads stdin: ${empty} KiB"
		[ $((big - empty)) -lt 2048 ]
	fi
}

@test "a 20 MB message under maxsize is stored whole, memory still small" {
	run peak data 100000 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local small=${lines[0]%% *}
	run peak data 20000000 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local big=${lines[0]%% *}
	[[ "${lines[0]}" == *"250 2.0.0 Ok: queued as "* ]]
	[ $((big - small)) -lt 1024 ]
	[ "$(stat -c %s "$(ls -S "$QUEUE"/todo/* | head -1)")" -gt 19700000 ]
}

@test "a 1 MB command line is refused with 500 5.5.2 and not buffered" {
	run peak line 1000 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local small=${lines[0]%% *}
	run peak line 1048576 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local big=${lines[0]%% *}
	[[ "${lines[0]}" == *"500 5.5.2 Error: line too long" ]]
	[ $((big - small)) -lt 512 ]
}

@test "a 1 GB message and 100 KB lines: refused by maxsize, peak memory unchanged" {
	run peak data 100000 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local small=${lines[0]%% *}
	run peak data 1073741824 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local huge=${lines[0]%% *}
	[[ "${lines[0]}" == *"552 5.3.4 Error: message too big" ]]
	run peak longlines 20000000 "$SMTPD" -C "$CONF" -Q "$QUEUE"
	local long=${lines[0]%% *}
	[[ "${lines[0]}" == *"250 2.0.0 Ok: queued as "* ]]
	echo "peak RSS: small ${small} KiB, 1 GB ${huge} KiB, 100 KB lines ${long} KiB"
	[ $((huge - small)) -lt 1024 ]
	[ $((long - small)) -lt 1024 ]
	[ "$(queued_count)" -eq 2 ]	# the small one and the long-line one
}
