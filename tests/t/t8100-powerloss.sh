#!/bin/sh
# t8100-powerloss.sh -- power loss: every write not yet fsynced is lost or
# torn, directory entries not yet fsynced vanish (tests/RELIABILITY.md 2).
#
# Each scenario runs real writers under tests/powerloss/plshim.so, which logs
# every file operation under the recorded root in execution order, with the
# oracle's "ack N" markers in the same stream; plreplay.py then builds crash
# states from the log and checks each with tt-tail, tt-ingest (recovery),
# tt-check and tt-query. Short: 300 states per scenario; TT_LONG=1: 2500.
. ./lib.sh

PL="$TT_BUILD/tests/powerloss"
PLPY="$(cd "$(dirname "$0")/../powerloss" && pwd)/plreplay.py"
case "$TT_BUILD" in
*-san)
	test_skip "power loss" "an LD_PRELOAD shim cannot run beside ASan (runs in the normal build)"
	test_done
	exit
	;;
esac
if [ ! -f "$PL/plshim.so" ] || [ ! -x "$PL/pl-driver" ]; then
	test_expect_success "power-loss shim and driver are built" "false"
	test_done
	exit
fi
N=300
[ "${TT_LONG:-0}" = 1 ] && N=2500
# crash states are many small stores: on tmpfs when there is one
WORK="$TEST_DIR/work"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	WORK=$(mktemp -d /dev/shm/tt-pl.XXXXXX)
	trap 'rm -rf "$WORK"; test_cleanup' EXIT
fi
TOTAL="$TEST_DIR/total"
: >"$TOTAL"

# run NAME CMD...: CMD under the shim, recording TEST_DIR/NAME/root into NAME/log
run() {
	name=$1
	shift
	mkdir -p "$TEST_DIR/$name/root" &&
	LD_PRELOAD="$PL/plshim.so" TT_PL_DIR="$TEST_DIR/$name/root" \
	    TT_PL_LOG="$TEST_DIR/$name/log" "$@"
}

# replay NAME [ARGS]: N crash states of NAME's log; prints the counts
replay() {
	name=$1
	shift
	python3 "$PLPY" check "$TEST_DIR/$name/log" --bin "$TT_BUILD/bin" \
	    --driver "$PL/pl-driver" --work "$WORK/$name" --name "$name" \
	    --states "$N" --keep-failures "$@" >"$TEST_DIR/$name/out" 2>&1
	rc=$?
	cat "$TEST_DIR/$name/out"
	grep -E "^# $name: " "$TEST_DIR/$name/out" >>"$TOTAL"
	return $rc
}

test_expect_success "the shim logs a store's whole life: mkdir, creates, writes, fsyncs, acks" '
	run life "$PL/pl-driver" ingest "$TEST_DIR/life/root/store" 1 300 --block-size 1024 &&
	python3 "$PLPY" dump life/log >life/ops &&
	grep -q " mkdir    store\$" life/ops &&
	grep -q " create   store/index.new.[0-9]*/data.mdb\$" life/ops &&
	grep -q " rename   store/index.new.[0-9]* -> store/index\$" life/ops &&
	grep -q " create   store/seg/0000000000000001.tts\$" life/ops &&
	grep -q " fsync    store/seg/ (dir)\$" life/ops &&
	grep -q " fsync    store/ (dir)\$" life/ops &&
	grep -q " write    store/index/data.mdb @[0-9]* +120 dsync\$" life/ops &&
	grep -q " fsync    store/seg/0000000000000001.tts\$" life/ops &&
	grep -q " mark     ack 300\$" life/ops
'

# The replayer must be able to fail: --no-sync acknowledges records it never
# synced, so some crash states lose acknowledged records.
test_expect_success "a writer that does not fsync is caught (tt-ingest --no-sync)" '
	n=0 &&
	for i in 1 2 3 4 5 6 7 8; do
		"$PL/pl-driver" gen $((n + 1)) 20 >in.mp &&
		run nosync tt-ingest -q --no-sync -F msgpack -D "$TEST_DIR/nosync/root/store" in.mp &&
		n=$((n + 20)) &&
		run nosync "$PL/pl-driver" mark "ack $n" || exit 1
	done
	python3 "$PLPY" check nosync/log --bin "$TT_BUILD/bin" --driver "$PL/pl-driver" \
	    --work "$WORK/nosync" --name nosync --states 100 >nosync/out 2>&1
	rc=$?
	cat nosync/out
	grep "^# nosync: .* violations" nosync/out >>"$TOTAL.nosync"
	test $rc -eq 1 && grep -q "violations that lost acknowledged records: [1-9]" nosync/out
'

test_expect_success "a new store: crash at every step of its creation (tt-ingest, nested dirs)" '
	"$PL/pl-driver" gen 1 5 >five.mp &&
	run create tt-ingest -q -F msgpack -D "$TEST_DIR/create/root/a/b/store" five.mp &&
	run create "$PL/pl-driver" mark "ack 5" &&
	replay create --store a/b/store
'

test_expect_success "steady ingest: group commits of random batches" '
	run steady "$PL/pl-driver" ingest "$TEST_DIR/steady/root/store" 1 600 \
	    --block-size 1024 --max-batch 20 --seed 7 &&
	replay steady --seed 2
'

test_expect_success "segment rotation: 4 KiB segments, explicit rotations" '
	run rotate "$PL/pl-driver" ingest "$TEST_DIR/rotate/root/store" 1 800 \
	    --block-size 512 --segment-size 4096 --rotate-every 7 --seed 3 &&
	replay rotate --seed 3
'

test_expect_success "tt-ingest runs one after another (adoption, recovery) and tt-gc --rotate" '
	n=0 &&
	for i in $(seq 1 40); do
		k=$((i % 13 * 3 + 1)) &&
		"$PL/pl-driver" gen $((n + 1)) $k >in.mp &&
		run tools tt-ingest -q -F msgpack --segment-size 64K -D "$TEST_DIR/tools/root/store" in.mp &&
		n=$((n + k)) &&
		run tools "$PL/pl-driver" mark "ack $n" || exit 1
		if [ $((i % 10)) -eq 0 ]; then
			run tools tt-gc -q --rotate -D "$TEST_DIR/tools/root/store" || exit 1
		fi
	done
	replay tools --seed 4
'

# A writer killed (kill -9: page cache kept) leaves unsynced blocks that the
# next writer's recovery indexes; a power cut after that must not find index
# entries over lost bytes. TT_PL_CRASH_AFTER=N kills the writer right after
# its Nth file operation.
test_expect_success "process crashes, recovery by the next writer, then power loss" '
	n=0 &&
	for c in 57 233 121 402 88 310 150 270 35 190; do
		TT_PL_CRASH_AFTER=$c run kill "$PL/pl-driver" ingest "$TEST_DIR/kill/root/store" \
		    $((n + 1)) 100000 --block-size 512 --max-batch 30 --seed $c
		test $? -eq 137 &&
		run kill tt-ingest -q -F msgpack -D "$TEST_DIR/kill/root/store" </dev/null &&
		n=$(tt-tail -D kill/root/store -n 1 -o jsonl | sed -n "s/.*\"n\":\([0-9]*\).*/\1/p") &&
		test -n "$n" || exit 1
	done
	echo "# kill: 10 writers killed, $n records stored" &&
	replay kill --seed 6 --extra 4000
'

test_expect_success "tt-check --rebuild-index between two writers (index swapped by rename)" '
	run rebuild "$PL/pl-driver" ingest "$TEST_DIR/rebuild/root/store" 1 500 \
	    --block-size 512 --segment-size 4096 --seed 9 &&
	run rebuild tt-check -q -D "$TEST_DIR/rebuild/root/store" --rebuild-index &&
	run rebuild "$PL/pl-driver" ingest "$TEST_DIR/rebuild/root/store" 501 200 \
	    --block-size 512 --segment-size 4096 --seed 10 &&
	python3 "$PLPY" dump rebuild/log >rebuild/ops &&
	grep -q " rename   store/index.rebuild.[0-9]* -> store/index" rebuild/ops &&
	replay rebuild --seed 7
'

# a rewrite killed halfway (after its 17th file operation: the header and
# some blocks of the first copy written) leaves a file beside the segment it
# was copying;
# the next one rewrites that segment again, under a higher id
test_expect_success "tt-check --recompress killed, run again, between two writers (FORMAT.md 8.8)" '
	run recompress "$PL/pl-driver" ingest "$TEST_DIR/recompress/root/store" 1 500 \
	    --block-size 512 --segment-size 4096 --seed 11 &&
	{ TT_PL_CRASH_AFTER=17 run recompress tt-check -q -D "$TEST_DIR/recompress/root/store" \
	    --recompress; test $? -eq 137; } &&
	run recompress tt-check -q -D "$TEST_DIR/recompress/root/store" --recompress &&
	run recompress "$PL/pl-driver" ingest "$TEST_DIR/recompress/root/store" 501 200 \
	    --block-size 512 --segment-size 4096 --seed 12 &&
	python3 "$PLPY" dump recompress/log >recompress/ops &&
	test $(grep -c " unlink   store/seg/" recompress/ops) -ge 3 &&
	replay recompress --seed 8 --rebuild
'

test_expect_success "gc deleting segments while a writer rotates them" '
	mkdir -p gc/root &&
	(
		export LD_PRELOAD="$PL/plshim.so" TT_PL_DIR="$TEST_DIR/gc/root" TT_PL_LOG="$TEST_DIR/gc/log"
		"$PL/pl-driver" ingest "$TEST_DIR/gc/root/store" 1 1500 --block-size 512 \
		    --segment-size 4096 --max-batch 10 --rotate-every 9 --seed 5 &
		dp=$!
		g=0
		while kill -0 $dp 2>/dev/null; do
			tt-gc -q -D "$TEST_DIR/gc/root/store" --max-segments 4 2>/dev/null
			g=$((g + 1))
		done
		wait $dp || exit 1
		echo "# gc: tt-gc ran $g times beside the writer"
	) &&
	python3 "$PLPY" dump gc/log >gc/ops &&
	grep -q " unlink   store/seg/" gc/ops &&
	replay gc --gc --seed 5
'

states=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "crash") s += $i } END { print s + 0 }' "$TOTAL")
viol=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) == "violations") v += $i } END { print v + 0 }' "$TOTAL")
cat "$TOTAL"
[ -f "$TOTAL.nosync" ] && sed 's/violations$/violations (expected: the control that must fail)/' "$TOTAL.nosync"
echo "# power loss: $states crash states, $viol violations"
test_done
