#!/bin/sh
# Corruption, systematically (tests/inject/corrupt.py): bit flips in sealed and
# unsealed segments (segment header, block headers, payloads, seal trailer),
# truncation at many offsets, a deleted segment still in the index, garbage
# appended to sealed and unsealed segments, well-formed segment headers of
# another format version / store, and a damaged LMDB file (meta pages, other
# pages, truncated). Each case on a fresh copy of one pristine store: readers
# return exactly the intact records and name the bad blocks, tt-check exits 3,
# --rebuild-index restores a working index, nothing crashes or hangs.
. ./lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}

if [ "${TT_LONG:-0}" = 1 ]; then N=2000; else N=300; fi
SEED=${TT_SEED:-$(date +%s)}

test_expect_success "$N random corruption cases (seed $SEED)" '
	python3 "$TOP/tests/inject/corrupt.py" "$TT_BUILD/bin" "$TEST_DIR/w" $N $SEED >log 2>&1;
	rc=$?; cat log; grep "^# .* corruption cases, 0 failures\$" log && test $rc -eq 0
'
grep '^# [0-9a-z]' "$TEST_DIR/log" 2>/dev/null | grep -v '^# FAIL'

test_done
