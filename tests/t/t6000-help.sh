#!/bin/sh
# Every tool: --help matches its man page SYNOPSIS, --version, usage errors,
# the store location rules and exit 4 for a missing store.
. ./lib.sh
MAN=$(cd ../../man && pwd)
DATA=$(cd ../data/cli && pwd)
TOOLS="tt-ingest tt-query tt-tail tt-gc tt-stat tt-check"

# usage lines of --help, without "usage: " and indentation
help_synopsis() {
	"$1" --help | sed -n '/^usage:/,/^$/p' | sed '/^$/d; s/^usage: //; s/^ *//; s/  */ /g'
}
# SYNOPSIS of the man page, roff removed
man_synopsis() {
	sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$MAN/$1.1" |
		sed '/^\.SH/d; /^\.nf/d; /^\.fi/d; s/\\-/-/g; s/\\f[BIRP]//g; s/^ *//; s/  */ /g'
}

for t in $TOOLS; do
	test_expect_success "$t --help matches the SYNOPSIS of $t.1" "
		help_synopsis $t >help.out && test -s help.out &&
		man_synopsis $t >man.out && test_cmp man.out help.out
	"
	test_expect_success "$t --help: exit 0, stdout, options and exit status listed" "
		$t --help >out 2>err && test ! -s err &&
		grep -q -- --store out && grep -q '^Exit status' out
	"
	test_expect_success "$t --version" "
		$t --version >out && grep -q '^$t (TeraTrace) [0-9]' out
	"
	test_expect_code 2 "$t --no-such-option: usage on stderr, exit 2" "
		$t --no-such-option </dev/null >out 2>err; rc=\$?;
		grep -q '^usage: $t' err && test ! -s out; exit \$rc
	"
	if command -v man >/dev/null 2>&1; then
		test_expect_success "$t.1 renders without warnings" "
			man -l $MAN/$t.1 >/dev/null 2>err || true; test ! -s err
		"
	else
		test_skip "$t.1 renders without warnings" "no man(1) here"
	fi
done

if command -v man >/dev/null 2>&1; then
	test_expect_success 'teratrace.7 renders without warnings' '
		man -l "$MAN/teratrace.7" >/dev/null 2>err || true; test ! -s err
	'
else
	test_skip 'teratrace.7 renders without warnings' 'no man(1) here'
fi

test_expect_success 'store: -D beats TERATRACE_STORE beats XDG_DATA_HOME beats HOME' '
	tt-ingest -q -D opt "$DATA/trace.jsonl" &&
	TERATRACE_STORE=$TEST_DIR/env tt-ingest -q "$DATA/trace.jsonl" &&
	( unset TERATRACE_STORE; XDG_DATA_HOME=$TEST_DIR/xdg tt-ingest -q "$DATA/trace.jsonl" ) &&
	( unset TERATRACE_STORE XDG_DATA_HOME; HOME=$TEST_DIR/home tt-ingest -q "$DATA/trace.jsonl" ) &&
	test -d opt/index && test -d env/index && test -d xdg/teratrace/index &&
	test -d home/.local/share/teratrace/index &&
	TERATRACE_STORE=$TEST_DIR/env tt-query -D opt --count >/dev/null
'

for t in tt-query tt-tail tt-stat tt-check; do
	test_expect_code 4 "$t: a missing store is exit 4 and names the path" "
		$t -D \"\$TEST_DIR/missing-store\" >/dev/null 2>err; rc=\$?;
		grep -q 'missing-store' err; exit \$rc
	"
done

test_done
