#!/bin/sh
# tt-ingest under SIGKILL (tests/RELIABILITY.md section 1): concurrent
# tt-ingest processes, each appending its own stream, are killed at random
# instants; every record of a run that exited 0 is there exactly once, nothing
# is duplicated or garbled, what a killed run had in flight is there or not
# (a prefix of it), tt-tail followers and a repeatedly killed --cursor-file
# follower see the committed sequence without gaps. Also tt-gc killed while
# it seals and deletes segments, tt-check --recompress killed while it
# rewrites them (FORMAT.md 8.8), and two crash states tt-check used to call
# corruption. The harness is
# tests/crash/ttcrash.py; TT_LONG=1 runs the long form, TT_SEED=N replays.
. ./lib.sh
TT_TOP=${TT_TOP:-$(cd ../.. && pwd)}
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

if [ "${TT_LONG:-0}" != 0 ]; then KILLS=1000 MINSEC=0 MAXBATCH=400 GCKILLS=500 RWKILLS=300
else KILLS=40 MINSEC=6 MAXBATCH=1500 GCKILLS=40 RWKILLS=25; fi
SEED=${TT_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

seg=0000000000000001.tts
test_expect_success 'tt-check: a valid block after the indexed end (a writer killed before its commit) is not a problem; the next writer indexes it' '
	echo "{\"ts\":1,\"corr\":\"a\"}" | tt-ingest -q -D s1 &&
	cp -a s1 s2 &&
	echo "{\"ts\":2,\"corr\":\"b\"}" | tt-ingest -q -D s2 &&
	size=$(wc -c <s1/seg/$seg) &&
	tail -c +$((size + 1)) s2/seg/$seg >>s1/seg/$seg &&
	tt-check -D s1 >out && cat out && grep -q "^ok: 1 segments, 1 blocks, 1 records" out &&
	tt-ingest -q -D s1 </dev/null &&
	tt-query -D s1 b -o jsonl >b.out && grep -q "\"corr\":\"b\"" b.out &&
	tt-check -D s1 >out && grep -q "^ok: 1 segments, 2 blocks, 2 records" out
'

test_expect_success 'tt-check: a segment file without its header yet (writer killed right after creating it) is not a problem; the next writer repairs it' '
	echo "{\"ts\":1,\"corr\":\"a\"}" | tt-ingest -q -D s5 && tt-gc -q -D s5 --rotate &&
	mkfifo fifo && { tt-ingest -q -D s5 <fifo & pid=$!; } && exec 3>fifo &&
	i=0; while [ ! -s s5/seg/0000000000000002.tts ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done &&
	: >s5/seg/0000000000000002.tts &&
	tt-check -D s5 >out1; rc1=$?
	kill -9 $pid; wait $pid; exec 3>&-
	tt-check -D s5 >out2; rc2=$?; cat out1 out2
	[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] &&
	echo "{\"ts\":2,\"corr\":\"b\"}" | tt-ingest -q -D s5 &&
	tt-check -D s5 >out && grep -q "^ok: 2 segments, 2 blocks, 2 records" out &&
	tt-tail -D s5 -n all | grep -c corr >n && [ $(cat n) -eq 2 ]
'

test_expect_success "at least $KILLS SIGKILLs of 4 concurrent tt-ingest: acked records exactly once, no garbage, followers exact" '
	python3 "$TT_TOP/tests/crash/ttcrash.py" ingest --bin "$TT_BUILD/bin" --work "$TEST_DIR/crash" \
		--seed $SEED --kills $KILLS --min-seconds $MINSEC --max-batch $MAXBATCH >crash.out 2>&1; rc=$?
	cat crash.out; exit $rc
'
grep "^# " "$TEST_DIR/crash.out" 2>/dev/null | grep -v "^# FAIL"

test_expect_success "$GCKILLS SIGKILLs of tt-gc --rotate --max-size beside a writer: tt-check after each, the acked suffix kept, no orphan file" '
	python3 "$TT_TOP/tests/crash/ttcrash.py" gc --bin "$TT_BUILD/bin" --work "$TEST_DIR/gc" \
		--seed $SEED --kills $GCKILLS >gc.out 2>&1; rc=$?
	cat gc.out; exit $rc
'
grep "^# " "$TEST_DIR/gc.out" 2>/dev/null | grep -v "^# FAIL"

test_expect_success "up to $RWKILLS SIGKILLs (600 s at most) of tt-check --recompress beside a writer: acked records once, in order, rebuilt crash copies too" '
	python3 "$TT_TOP/tests/crash/ttcrash.py" rewrite --bin "$TT_BUILD/bin" --work "$TEST_DIR/rw" \
		--seed $SEED --kills $RWKILLS --budget 600 >rw.out 2>&1; rc=$?
	cat rw.out; exit $rc
'
grep "^# " "$TEST_DIR/rw.out" 2>/dev/null | grep -v "^# FAIL"

# the checks are not tautologies: a harness that breaks a promise on purpose fails them
for what in lose dup garble; do
	test_expect_code 1 "the checker catches a broken promise ($what)" '
		python3 "$TT_TOP/tests/crash/ttcrash.py" ingest --bin "$TT_BUILD/bin" --work "$TEST_DIR/self-$what" \
			--kills 3 --selftest '$what' >self.out 2>&1; rc=$?; cat self.out; exit $rc'
done
test_done
