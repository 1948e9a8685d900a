#!/bin/sh
# t8110-fsync-order.sh -- the fsync discipline, read from strace
# (tests/RELIABILITY.md 3, FORMAT.md 8.7).
#
# tests/powerloss/fsyncorder.py checks each trace against rules R1-R5 (a
# segment is fdatasync'ed before the index commit that points into it; every
# directory entry is fsynced before the next index commit and before exit; a
# new index/ is renamed into place only once synced; gc commits the index
# drop before each unlink; nothing is left unsynced at exit), and prints the
# trace reduced to those operations, which must equal the sequences written
# in FORMAT.md 8.7.
. ./lib.sh

PY="$(cd "$(dirname "$0")/../powerloss" && pwd)/fsyncorder.py"
FORMAT_MD="$(cd "$(dirname "$0")/../.." && pwd)/format/FORMAT.md"
if ! command -v strace >/dev/null 2>&1 || ! strace -qq -o /dev/null true 2>/dev/null; then
	test_skip "fsync order" "strace is missing or may not trace here (contrib/install-deps installs it)"
	test_done
	exit
fi
TRACE="openat,close,write,pwrite64,writev,pwritev,fsync,fdatasync,rename,renameat2,unlink,unlinkat,mkdir,rmdir,ftruncate,exit_group"
SUM="$TEST_DIR/summary"
: >"$SUM"

# gen FIRST COUNT: JSON lines of COUNT records (ids spread over 37 values)
gen() {
	awk -v f="$1" -v n="$2" 'BEGIN { for (i = f; i < f + n; i++)
		printf "{\"ts\":1732181%012d,\"corr\":\"c%d\",\"n\":%d,\"msg\":\"record %d %08x%08x\"}\n",
		    i * 1000, i % 37, i, i, i * 2654435761 % 4294967296, i * 40503 }'
}

# traced NAME CMD...: run CMD under strace into NAME.trace (NAME.before lists the store)
traced() {
	name=$1
	shift
	find "$STORE" >"$name.before" 2>/dev/null
	# LeakSanitizer cannot run under ptrace (the sanitizer build)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    strace -f -qq -y -o "$name.trace" -e trace="$TRACE" "$@"
}

# rules NAME [ARGS]: check NAME.trace; the counts go to the summary
rules() {
	name=$1
	shift
	python3 "$PY" "$name.trace" --store "$STORE" --before "$name.before" --name "$name" \
	    --sequence "$@" >"$name.seq"
	rc=$?
	grep "^# " "$name.seq" | tee -a "$SUM"
	return $rc
}

# documented NAME: the reduced trace equals FORMAT.md's block <!-- fsync-seq: NAME -->
documented() {
	awk -v tag="<!-- fsync-seq: $1 -->" '
		$0 == tag { on = 1; next }
		on == 1 && /^```/ { on = 2; next }
		on == 2 && /^```/ { exit }
		on == 2 { sub(/ *#.*$/, ""); print }' "$FORMAT_MD" >"$1.doc" &&
	test -s "$1.doc" &&
	grep -v "^# " "$1.seq" >"$1.got" &&
	test_cmp "$1.doc" "$1.got"
}

# STORE: the documented sequences, one small step at a time; BIG: rotation and
# gc of many segments.
BIG="$TEST_DIR/big"

test_expect_success "new store, first records: creation and append order (8.0-8.2)" '
	gen 1 5 >five.jsonl &&
	traced create tt-ingest -q -D "$STORE" five.jsonl &&
	rules create --expect commit=2 --expect segcreate=1 --expect rename=1 --expect dirsync=4 &&
	documented create
'
# (--rollup-max-age off: the traces below are of segment gc alone; rollup
# retention is one more index commit, with no file operation to order)

test_expect_success "tt-gc --rotate seals the segment no writer holds (8.3)" '
	traced seal tt-gc -q --rotate --rollup-max-age off -D "$STORE" &&
	rules seal --expect seal=1 &&
	documented seal
'

test_expect_success "tt-gc deleting a segment: index drop, unlink, directory (8.5)" '
	gen 6 5 | tt-ingest -q -D "$STORE" &&
	test $(ls "$STORE/seg" | wc -l) -eq 2 &&
	traced gc1 tt-gc -q --max-segments 1 --rollup-max-age off -D "$STORE" &&
	rules gc1 --expect unlink=1 &&
	documented gc1 &&
	test $(ls "$STORE/seg" | wc -l) -eq 1
'

# A killed writer leaves blocks past the indexed end that were never synced.
# Blocks carry no offset or segment id, so a valid block from another store
# appended to the active segment makes that state exactly.
test_expect_success "recovery syncs the blocks it indexes before its commit (8.4 step 0)" '
	gen 21 30 | tt-ingest -q -D other &&
	seg=$(ls "$STORE"/seg/*.tts) &&
	tail -c +65 other/seg/0000000000000001.tts >>"$seg" &&
	traced recover tt-ingest -q -D "$STORE" </dev/null &&
	rules recover --recovery-sync --expect commit=1 &&
	documented recover &&
	test "$(tt-query -D "$STORE" --count)" = 35
'

test_expect_success "recovery cuts a torn tail and syncs the cut (8.4 step 6)" '
	seg=$(ls "$STORE"/seg/*.tts) &&
	size=$(wc -c <"$seg") &&
	printf "TTBK\001\000\000\000garbage after the last block" >>"$seg" &&
	traced torn tt-ingest -q -D "$STORE" </dev/null &&
	rules torn --expect trunc=1 &&
	documented torn &&
	test $(wc -c <"$seg") -eq $size &&
	tt-check -q -D "$STORE"
'

test_expect_success "steady ingest with rotation (64 KiB segments): every commit after its fdatasync" '
	STORE=$BIG &&
	gen 100 15000 >big.jsonl &&
	traced rotate tt-ingest -q --segment-size 64K -D "$STORE" big.jsonl &&
	rules rotate --expect commit=6 --expect segcreate=2 --expect seal=2 &&
	grep -A7 -m1 "^write segment: seal trailer" rotate.seq >rotate.cut &&
	printf "%s\n" "write segment: seal trailer" "fdatasync segment" "index commit" \
	    "index commit" "create segment" "write segment" "fdatasync segment" "fsync STORE/seg/" >rotate.want &&
	test_cmp rotate.want rotate.cut
'

test_expect_success "tt-gc of several segments beside adoption and rotation" '
	STORE=$BIG &&
	gen 16000 6000 | tt-ingest -q --segment-size 64K -D "$STORE" &&
	tt-gc -q --rotate -D "$STORE" &&
	n=$(ls "$STORE/seg" | wc -l) &&
	test $n -ge 4 &&
	traced gcmany tt-gc -q --max-segments 1 --rollup-max-age off -D "$STORE" &&
	rules gcmany --expect unlink=$((n - 1)) --expect dirsync=$((n - 1)) &&
	test $(ls "$STORE/seg" | wc -l) -eq 1
'

test_expect_success "tt-check --recompress: the new file synced before the commit that swaps it in, the old one unlinked after (8.8)" '
	STORE=$TEST_DIR/rw &&
	gen 1 5 | tt-ingest -q -D "$STORE" && tt-gc -q --rotate --rollup-max-age off -D "$STORE" &&
	tt-query -D "$STORE" -n all >rw.before.out &&
	traced rewrite tt-check -q --recompress -D "$STORE" &&
	rules rewrite --expect commit=2 --expect segcreate=1 --expect unlink=1 --expect dirsync=2 &&
	documented rewrite &&
	tt-query -D "$STORE" -n all >rw.after.out && test_cmp rw.before.out rw.after.out
'

# The checker must be able to fail: the same trace without the segment
# fdatasyncs (or without the directory fsyncs) breaks R1 (R2).
test_expect_success "the checker catches a missing segment fdatasync and a missing dir fsync" '
	grep -v "fdatasync([0-9]*<[^>]*\.tts>" rotate.trace >nosync.trace &&
	! python3 "$PY" nosync.trace --store "$BIG" --before rotate.before --name nosync >nosync.out &&
	grep -q "index commit while .*\.tts has writes since line" nosync.out &&
	grep -v "fsync([0-9]*</[^>]*/seg>" rotate.trace >nodir.trace &&
	! python3 "$PY" nodir.trace --store "$BIG" --before rotate.before --name nodir >nodir.out &&
	grep -q "is not fsynced in STORE/seg/" nodir.out &&
	cat nosync.out nodir.out | grep "violations$" | sed "s/violations$/violations (expected)/" >>"$SUM"
'

cat "$SUM"
test_done
