#!/bin/sh
# Corruption, systematically (tests/inject/corrupt.py): bit flips in sealed and
# unsealed segments (segment header, block headers, payloads, seal trailer),
# truncation at many offsets, a deleted segment still in the index, garbage
# appended to sealed and unsealed segments, well-formed segment headers of
# another format version / store, and a damaged LMDB file (meta pages, other
# pages, truncated), also with the sealed segments rewritten (tt-check
# --recompress) first. Each case on a fresh copy of one pristine store: readers
# return exactly the intact records and name the bad blocks, tt-check exits 3,
# --rebuild-index restores a working index, nothing crashes or hangs.
. ./lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}

if [ "${TT_LONG:-0}" = 1 ]; then N=2000; else N=200; fi
[ -n "${TT_CORRUPT_N:-}" ] && N=$TT_CORRUPT_N
SEED=${TT_SEED:-$(date +%s)}

test_expect_success "$N random corruption cases (seed $SEED)" '
	python3 "$TOP/tests/inject/corrupt.py" "$TT_BUILD/bin" "$TEST_DIR/w" $N $SEED >log 2>&1;
	rc=$?; cat log; grep "^# .* corruption cases, 0 failures\$" log && test $rc -eq 0
'
grep '^# [0-9a-z]' "$TEST_DIR/log" 2>/dev/null | grep -v '^# FAIL'

# the same on rewritten segments (FORMAT.md 8.8): the sealed ones recompressed
# first, so flips land in LZ4-HC blocks and in headers that name an origin
test_expect_success "$((N / 2)) random corruption cases on recompressed segments (seed $SEED)" '
	TT_CORRUPT_RECOMPRESS=1 python3 "$TOP/tests/inject/corrupt.py" "$TT_BUILD/bin" "$TEST_DIR/wr" \
	    $((N / 2)) $SEED >logr 2>&1;
	rc=$?; cat logr; grep -q "^# segments rewritten first" logr &&
	grep "^# .* corruption cases, 0 failures\$" logr && test $rc -eq 0
'
grep '^# [0-9a-z]' "$TEST_DIR/logr" 2>/dev/null | grep -v '^# FAIL'

# Regression: a 64 KiB block of records of ~30 bytes holds more distinct ids
# than the id table of blkinfo_scan was sized for (raw_len / 64): the writer
# failed with "corrupt data", and check/rebuild/recovery called such valid
# blocks bad.
test_expect_success 'blocks of many tiny records with distinct ids are stored and verify' '
	awk "BEGIN { for (i = 0; i < 30000; i++) printf \"{\\\"ts\\\":%d,\\\"corr\\\":\\\"r%d\\\"}\\n\", i, i % 9000 }" >tiny.jsonl &&
	tt-ingest -q -D tiny tiny.jsonl &&
	tt-check -D tiny && test $(tt-query -D tiny --count) -eq 30000 &&
	tt-check -D tiny --rebuild-index && test $(tt-query -D tiny r8999 --count) -eq 3
'

# Regression: LMDB takes the newer meta page whole, its page size (dbs[0]
# md_pad, byte 40 of the page) included; a damaged one made every tool map
# pages past the end of data.mdb and die of SIGBUS (seed 777). Each meta page's
# page size damaged in turn: a damaged index (3; readers 4), and
# --rebuild-index brings every record back.
test_expect_success 'a damaged page size in either LMDB meta page: refused, never a signal' '
	for k in 1 2 3; do
		awk -v k=$k "BEGIN { for (j = 0; j < 200; j++) printf \"{\\\"ts\\\":%d,\\\"corr\\\":\\\"m%d\\\"}\\n\", k * 1000 + j, j % 17 }" |
		tt-ingest -q -D meta || return 1
	done &&
	for off in 42 4138; do
		for bit in 128 1; do
			rm -rf m && cp -r meta m &&
			python3 -c "import sys; f = open(\"m/index/data.mdb\", \"r+b\"); f.seek($off); b = f.read(1); f.seek($off); f.write(bytes([b[0] ^ $bit]))" &&
			{ tt-check -D m -q 2>/dev/null; rc=$?; } && [ $rc -eq 3 ] &&
			{ tt-query -D m -n all --count >/dev/null 2>&1; rc=$?; } && [ $rc -eq 4 ] &&
			{ tt-check -D m -q --rebuild-index 2>/dev/null; rc=$?; } && [ $rc -eq 3 ] &&
			test "$(tt-query -D m -n all --count)" = 600 || { echo "offset $off bit $bit: rc $rc"; return 1; }
		done
	done
'

# Regression: a lowered last page number in the newer meta page (mm_last_pg,
# byte 136; a bit flip, seed 1796522986) hides the newest pages; LMDB then
# fails the read txn that loads a database's root and returns MDB_BAD_TXN
# from the next call, which tt-check took for a failure to check (exit 4).
# Every lower value in turn: the index reads whole (0: the pages hidden were
# free) or damage is found (3) and --rebuild-index brings every record back.
test_expect_success 'a lowered last page number in the newer LMDB meta page: damage, rebuilt' '
	for k in 1 2 3; do
		awk -v k=$k "BEGIN { for (j = 0; j < 200; j++) printf \"{\\\"ts\\\":%d,\\\"corr\\\":\\\"m%d\\\"}\\n\", k * 1000 + j, j % 17 }" |
		tt-ingest -q -D last && { [ $k = 3 ] || tt-gc -q -D last --rotate; } || return 1
	done &&
	lastpg="import struct, sys
f = open(\"m/index/data.mdb\" if len(sys.argv) > 1 else \"last/index/data.mdb\", \"r+b\")
b = f.read(8192)
m = max((0, 4096), key=lambda o: struct.unpack_from(\"<Q\", b, o + 144)[0])
if len(sys.argv) > 1:
	f.seek(m + 136); f.write(struct.pack(\"<Q\", int(sys.argv[1])))
else:
	print(struct.unpack_from(\"<Q\", b, m + 136)[0])" &&
	last=$(python3 -c "$lastpg") && test "$last" -gt 8 && found=0 && v=2 &&
	while [ $v -lt $last ]; do
		rm -rf m && cp -r last m && python3 -c "$lastpg" $v &&
		{ tt-check -D m >out 2>&1; rc=$?; } &&
		if [ $rc -eq 3 ]; then
			found=$((found + 1)) &&
			{ tt-check -D m -q --rebuild-index 2>/dev/null; rc=$?; } && [ $rc -eq 3 ] &&
			tt-check -D m -q
		else
			[ $rc -eq 0 ]
		fi &&
		test "$(tt-query -D m -n all --count)" = 600 || { echo "last page $v: rc $rc"; cat out; return 1; }
		v=$((v + 1))
	done &&
	test $found -gt 0
'

test_done
