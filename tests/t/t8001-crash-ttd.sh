#!/bin/sh
# ttd under SIGKILL (tests/RELIABILITY.md section 1): HTTP (keep-alive) and
# unix-socket clients send batches while ttd is killed at random instants and
# restarted on the same store, with no manual step; tt-check passes on every
# crashed store as the kill left it; at the end every acknowledged record
# (HTTP 200 / socket ack) is there exactly once, nothing is duplicated or
# garbled, what was in flight is there or not (a prefix of it), a tt-tail -f
# follower that lived through every crash saw exactly the committed sequence,
# and a --cursor-file follower killed over and over resumed without gaps.
# The harness is tests/crash/ttcrash.py; TT_LONG=1 runs the long form,
# TT_SEED=N replays the same random choices.
. ./lib.sh
TT_TOP=${TT_TOP:-$(cd ../.. && pwd)}
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

if [ "${TT_LONG:-0}" != 0 ]; then KILLS=500; else KILLS=60; fi
SEED=${TT_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

test_expect_success "$KILLS SIGKILLs of ttd under HTTP and socket load: acked records exactly once, followers exact" '
	python3 "$TT_TOP/tests/crash/ttcrash.py" ttd --bin "$TT_BUILD/bin" --work "$TEST_DIR/crash" \
		--seed $SEED --kills $KILLS >crash.out 2>&1; rc=$?
	cat crash.out; exit $rc
'
grep "^# " "$TEST_DIR/crash.out" 2>/dev/null | grep -v "^# FAIL"

test_expect_success "the same with 3 HTTP + 5 socket clients, the default segment size and --sync none" '
	python3 "$TT_TOP/tests/crash/ttcrash.py" ttd --bin "$TT_BUILD/bin" --work "$TEST_DIR/crash2" \
		--seed $SEED --kills $((KILLS / 3)) --http 3 --sock 5 --segment-size "" --ttd-arg=--sync=none >crash2.out 2>&1; rc=$?
	cat crash2.out; exit $rc
'
grep "^# " "$TEST_DIR/crash2.out" 2>/dev/null | grep -v "^# FAIL"
test_done
