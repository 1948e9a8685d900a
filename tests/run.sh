#!/bin/sh
# Runs every test suite (cmocka unit tests in TAP mode, shell tests in tests/t)
# and ends with one summary line over all of them: "N passed, N failed, N skipped".
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TT_BUILD="$TOP/$BUILD" TT_TOP="$TOP"
export PATH="$TT_BUILD/bin:$PATH"
LOG=$(mktemp -d "${TMPDIR:-/tmp}/tt-tests.XXXXXX")
pass=0 fail=0 skip=0 failed_suites=""

count() { # count <suite-name> <logfile> <exit-code>
	p=$(grep -cE '^ok [0-9]+' "$2" | head -n1)
	s=$(grep -cE '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$2" | head -n1)
	f=$(grep -cE '^not ok [0-9]+' "$2" | head -n1)
	p=$((p - s))
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed before reporting
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -ne 0 ]; then
		failed_suites="$failed_suites $1"
		echo "FAIL $1 ($p passed, $f failed) -- log: $2"
		grep -E '^not ok|^#' "$2" | head -n 40 | sed 's/^/    /'
	else
		echo "ok   $1 ($p passed${s:+, $s skipped})"
	fi
}

for t in "$TT_BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$LOG/$name.log" 2>&1
	count "$name" "$LOG/$name.log" $?
done
for t in "$TOP"/tests/t/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	(cd "$TOP/tests/t" && sh "$t") >"$LOG/$name.log" 2>&1
	count "$name" "$LOG/$name.log" $?
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
