#!/bin/sh
# Concurrency soak (tests/RELIABILITY.md section 12): 4 writers (ttd fed by an
# HTTP and a socket client, 3 tt-ingest loops) and 8 readers (3 tt-tail -f
# followers, one of them started late, a --cursor-file follower restarted by
# SIGTERM, 3 tt-query loops, a tt-check + tt-stat loop) with tt-gc --rotate
# --max-size every few seconds, on 64 KiB segments. Every acked record that gc
# did not delete is readable, every follower saw exactly the committed
# sequence, no tool wrote to stderr, memory and files stay bounded.
# The harness is tests/crash/ttcrash.py (mode_soak); TT_LONG=1 runs 5 minutes.
. ./lib.sh
TT_TOP=${TT_TOP:-$(cd ../.. && pwd)}
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

if [ "${TT_LONG:-0}" != 0 ]; then SECS=300; else SECS=15; fi
MAXSIZE=1M
SEED=${TT_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

test_expect_success "$SECS s soak: 4 writers, 8 readers, tt-gc every ~3 s" '
	python3 "$TT_TOP/tests/crash/ttcrash.py" soak --bin "$TT_BUILD/bin" --work "$TEST_DIR/soak" \
		--seed $SEED --seconds $SECS --max-size $MAXSIZE >soak.out 2>&1; rc=$?
	cat soak.out; exit $rc
'
grep "^# " "$TEST_DIR/soak.out" 2>/dev/null | grep -v "^# FAIL"
test_done
