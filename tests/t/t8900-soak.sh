#!/bin/sh
# Concurrency soak (tests/RELIABILITY.md section 12): 4 writers (ttd fed by an
# HTTP and a socket client, 3 tt-ingest loops) and 9 readers (4 tt-tail -f
# followers, one started late, one read slowly through a pipe, a
# --cursor-file follower restarted by SIGTERM, 3 tt-query loops, a tt-check +
# tt-stat loop) with tt-gc --rotate
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

# found by the soak's slow follower: SIGTERM while tt-tail -f was blocked
# writing to a full pipe ended it with "Interrupted system call", exit 4,
# and no cursor saved
test_expect_success 'tt-tail -f blocked on a full pipe: SIGTERM finishes the record, saves its cursor, exits 0' '
	seq 1 20000 | sed "s/.*/{\"ts\":&,\"corr\":\"c\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx&\"}/" |
		tt-ingest -q -D pipe-store &&
	mkfifo fifo && { tt-tail -D pipe-store -n all -f --cursor-file cur >fifo 2>err & pid=$!; } &&
	exec 3<fifo && sleep 0.5 && kill -TERM $pid && sleep 0.2 &&
	{ cat <&3 >got & c=$!; } && wait $pid; rc=$?; exec 3<&-; wait $c
	cat err; echo "exit $rc"; [ $rc -eq 0 ] && [ ! -s err ] &&
	n=$(wc -l <got) && [ $n -gt 0 ] && [ $n -lt 20000 ] && [ "$(tail -c 1 got | od -An -c | tr -d " ")" = "\n" ] &&
	[ "$(cat cur)" = "tt1-1-1-$n" ] || { echo "cursor $(cat cur), $n lines printed"; false; }
'

test_expect_success "$SECS s soak: 4 writers, 9 readers, tt-gc every ~3 s" '
	python3 "$TT_TOP/tests/crash/ttcrash.py" soak --bin "$TT_BUILD/bin" --work "$TEST_DIR/soak" \
		--seed $SEED --seconds $SECS --max-size $MAXSIZE >soak.out 2>&1; rc=$?
	cat soak.out; exit $rc
'
grep "^# " "$TEST_DIR/soak.out" 2>/dev/null | grep -v "^# FAIL"
test_done
