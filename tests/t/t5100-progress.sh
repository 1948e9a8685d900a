#!/bin/sh
# The progress meter of tt-check and tt-gc (shared with tt-ingest: cli/common.c):
# --progress draws it on stderr even when stderr is no terminal, --no-progress
# and -q draw nothing, and stdout is the same either way.
. ./lib.sh
export TERATRACE_STORE="$STORE"

# meter FILE: the meter's lines in FILE, one per redraw (it redraws with \r)
meter() { tr '\r' '\n' <"$1" | sed 's/^\x1b\[K//' | grep "$2"; }

test_expect_success 'setup: a store of many small segments' '
	tt-gen 20000 | tt-ingest -q --segment-size 64K &&
	test "$(ls "$STORE/seg" | wc -l)" -ge 10
'

test_expect_success 'tt-check --progress: bytes checked, MB/s, percent and ETA on stderr' '
	tt-check --no-progress >expect 2>err0 && test_cmp /dev/null err0 &&
	tt-check --progress >out 2>err &&
	test_cmp expect out &&
	meter err "^tt-check: check [0-9.]* [KM]iB of [0-9.]* [KM]iB, [0-9.]* MB/s, 100%, ETA 0s\$" &&
	! meter err "^tt-check: rebuild" &&
	printf "\r\033[K" >tail && tail -c 4 err >end && test_cmp tail end
'

test_expect_success 'tt-check --rebuild-index --progress: segments rebuilt' '
	tt-check --rebuild-index --progress >out 2>err &&
	grep "^ok: .*, index rebuilt\$" out &&
	n=$(ls "$STORE/seg" | wc -l) &&
	meter err "^tt-check: rebuild $n segments, [0-9]* segments/s, 100%, ETA 0s\$"
'

test_expect_success 'tt-check: no meter by default off a terminal, nor with -q or --no-progress' '
	tt-check >out 2>err && test_cmp /dev/null err &&
	tt-check -q >out 2>err && test_cmp /dev/null err && test_cmp /dev/null out &&
	tt-check --rebuild-index --no-progress >out 2>err && test_cmp /dev/null err
'

test_expect_success 'tt-gc --progress: segments looked at; stdout as without it' '
	tt-gc --dry-run --max-segments 3 --no-progress >expect 2>err0 &&
	test_cmp /dev/null err0 &&
	tt-gc --dry-run --max-segments 3 --progress >out 2>err &&
	test_cmp expect out &&
	n=$(ls "$STORE/seg" | wc -l) &&
	meter err "^tt-gc: gc $n segments, [0-9]* segments/s, 100%, ETA 0s\$"
'

test_expect_success 'tt-gc -o json --progress: stdout is still the JSON alone' '
	tt-gc --dry-run --max-segments 3 -o json >expect 2>/dev/null &&
	tt-gc --dry-run --max-segments 3 -o json --progress >out 2>err &&
	test_cmp expect out && jq -e ".removed > 0" out && test -s err
'

test_expect_success 'tt-gc: no meter with -q, --no-progress, nor off a terminal' '
	tt-gc --dry-run --max-segments 3 -q >out 2>err && test_cmp /dev/null err &&
	tt-gc --dry-run --max-segments 3 >out 2>err && test_cmp /dev/null err &&
	tt-gc --max-segments 3 --no-progress >out 2>err && test_cmp /dev/null err &&
	grep "^freed .* in [0-9]* segments" out &&
	test "$(ls "$STORE/seg" | wc -l)" -le 4
'

test_done
