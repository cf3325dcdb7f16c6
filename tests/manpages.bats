#!/usr/bin/env bats
# Every man page is mdoc and mandoc -Tlint clean.

load helper

@test "man pages are mandoc -Tlint clean" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	cd "$TOP"
	run mandoc -Tlint -Wwarning *.8 *.5 *.7
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "postern-smtpd.8 lists every reply code the engine can send" {
	cd "$TOP"
	local code
	for code in $(grep -ho '"[45][0-9][0-9] [45]\.[0-9]\.[0-9]' session.c message.c | tr -d '"' | tr ' ' '_' | sort -u); do
		grep -q "${code/_/ }" postern-smtpd.8 || { echo "postern-smtpd.8 lacks $code"; false; }
	done
}

@test "postern-pop3d.8 lists every response code pop3d can send" {
	cd "$TOP"
	local code n=0
	for code in $(grep -ho -- '-ERR \[[A-Z/-]*\]' pop3.c pop3d.c | sort -u | tr ' ' '_'); do
		grep -qF -- "${code/_/ }" postern-pop3d.8 || { echo "postern-pop3d.8 lacks $code"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 4 ]
}

# The page of each program: postern-NAME.8, or NAME.8 for those whose
# name says postern already.
man_page() {
	case $1 in
	postern-*) echo "$1.8" ;;
	*) echo "postern-$1.8" ;;
	esac
}

@test "every program's -h: one usage line with every flag of its SYNOPSIS, status 2" {
	cd "$TOP"
	local prog flags f
	for prog in smtpd enqueue postern-makedb deliver pop3d postern-queue; do
		run "./$prog" -h
		[ "$status" -eq 2 ]
		[ "${#lines[@]}" -eq 1 ]
		[[ "${lines[0]}" == "usage: $prog "* ]]
		# the flag letters of SYNOPSIS: .Op Fl hNS, .Op Fl C Ar ..., .Fl d | f
		flags=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$(man_page "$prog")" |
		    grep -o 'Fl [A-Za-z]*\( | [a-z]\)\?' | sed 's/Fl //; s/ | //' | tr -d '\n')
		[ -n "$flags" ]
		for f in $(echo "$flags" | fold -w1); do
			[[ "${lines[0]}" =~ -[A-Za-z]*$f ]] || { echo "$prog: -$f of SYNOPSIS not in: ${lines[0]}"; false; }
		done
	done
}

@test "-V and --version: the program, postern and the Makefile's VERSION, status 0" {
	cd "$TOP"
	local prog version
	version=$(sed -n 's/^VERSION = //p' Makefile)
	[ -n "$version" ]
	grep -q "^## $version " NEWS
	for prog in smtpd enqueue postern-makedb deliver pop3d postern-queue; do
		run "./$prog" -V
		[ "$status" -eq 0 ]
		[ "$output" = "$prog (postern) $version" ]
		run "./$prog" -C /nonexistent --version
		[ "$status" -eq 0 ]
		[ "$output" = "$prog (postern) $version" ]
	done
}
