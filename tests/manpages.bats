#!/usr/bin/env bats
# Every man page is mdoc and mandoc -Tlint clean.

load helper

@test "man pages are mandoc -Tlint clean" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	cd "$TOP"
	run mandoc -Tlint -Wwarning smtpd.8 enqueue.8 makedb.8 deliver.8 pop3d.8 queue.5 postern.conf.5
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "smtpd.8 lists every reply code the engine can send" {
	cd "$TOP"
	local code
	for code in $(grep -ho '"[45][0-9][0-9] [45]\.[0-9]\.[0-9]' session.c message.c | tr -d '"' | tr ' ' '_' | sort -u); do
		grep -q "${code/_/ }" smtpd.8 || { echo "smtpd.8 lacks $code"; false; }
	done
}

@test "pop3d.8 lists every response code pop3d can send" {
	cd "$TOP"
	local code n=0
	for code in $(grep -ho -- '-ERR \[[A-Z/-]*\]' pop3.c pop3d.c | sort -u | tr ' ' '_'); do
		grep -qF -- "${code/_/ }" pop3d.8 || { echo "pop3d.8 lacks $code"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 4 ]
}
