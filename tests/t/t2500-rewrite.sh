#!/bin/sh
# Rewriting sealed segments (FORMAT.md 8.8): tt-check --upgrade turns format-1
# segments into format 2, --recompress rewrites format-2 ones with LZ4-HC.
# The records, their order, cursors taken before, id lookups, stats and a
# rebuilt index are the same after; a follower running across a rewrite sees
# every record once; the files a crash can leave beside each other (old and
# new) are read once and removed by gc; gc goes oldest first by append order.
. ./lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}

S1="$TEST_DIR/v1"

# same STORE: every record, backwards too, a cursor's continuation, lookups, stats
snapshot() {
	tt-query -D "$1" -n all >"$2.all" &&
	tt-query -D "$1" -n all -r >"$2.rev" &&
	tt-tail -D "$1" --after-cursor "$(cat cursor)" -n all >"$2.after" &&
	while read id; do tt-query -D "$1" "$id" || exit 1; done <ids >"$2.ids" &&
	tt-query -D "$1" --list -n all | sort >"$2.list" &&
	tt-query -D "$1" --stats --by service --scan -o json >"$2.stats" &&
	tt-query -D "$1" --stats --by service,name -o json >"$2.rollups"
}
same() {
	for k in all rev after ids list stats rollups; do
		test_cmp "$1.$k" "$2.$k" || return 1
	done
}

test_expect_success 'setup: 30000 records in format 1, segments sealed at 256 KiB' '
	tt-gen 30000 --seed 11 --start "2024-11-21T00:00:00Z" >recs.jsonl &&
	tt-ingest -q -D "$S1" --format-version 1 --segment-size 256K recs.jsonl &&
	tt-stat -D "$S1" -o json >st0 &&
	test $(jq .sealed st0) -ge 4 &&
	jq -r .corr recs.jsonl | sort -u | awk "NR % 9 == 0" >ids &&
	tt-tail -D "$S1" -n all --show-cursor -o jsonl | sed -n 12346p | jq -r .cursor >cursor &&
	test -s cursor &&
	snapshot "$S1" before && test $(wc -l <before.all) -eq 30000 &&
	test $(wc -l <before.after) -eq $((30000 - 12346)) &&
	cp -a "$S1" pre
'

test_expect_success 'tt-check --upgrade rewrites each sealed format-1 segment as format 2' '
	tt-check -D "$S1" --upgrade --no-progress >up.out &&
	cat up.out &&
	sealed=$(jq .sealed st0) &&
	test $(grep -c "^segment .* rewritten as " up.out) -eq $sealed &&
	grep -q "^ok: " up.out &&
	tt-stat -D "$S1" -o json >st1 &&
	jq -e ".states.recompressed.segments == $sealed and .states.sealed.segments == 0" st1 &&
	jq -e ".records == 30000" st1 &&
	test $(jq .states.recompressed.data_bytes st1) -lt $(($(jq .states.sealed.data_bytes st0) * 65 / 100)) &&
	for f in "$S1"/seg/*.tts; do
		v=$(od -An -tu4 -j8 -N4 "$f" | tr -d " ") &&
		if jq -e ".segment_list[] | select(.segment == \"$(basename $f .tts)\") | .rewritten" \
		    >/dev/null <<-EOF
		$(tt-stat -D "$S1" --segments -o json)
		EOF
		then test "$v" = 2 || exit 1; else test "$v" = 1 || exit 1; fi
	done &&
	test $(ls "$S1/seg" | wc -l) -eq $(jq .segments st1)
'

test_expect_success 'the same records, order, cursor, lookups, summaries and stats after' '
	snapshot "$S1" after && same before after &&
	tt-check -q -D "$S1"
'

test_expect_success 'gc goes oldest first by append order: the rewritten segments, not the newer one of lower id' '
	tt-gc -q --rotate --rollup-max-age off -D "$S1" &&
	tt-stat -D "$S1" --segments -o json >segs.json &&
	last=$(jq -r "[.segment_list[] | select(.rewritten | not)] | .[0].segment" segs.json) &&
	test "$(jq -r "[.segment_list[].segment] | min" segs.json)" = "$last" &&
	tt-gc -D "$S1" --max-segments 1 -n -o json >plan.json &&
	test $(jq ".segments | length" plan.json) -eq $(($(jq ".segment_list | length" segs.json) - 1)) &&
	! jq -r ".segments[].segment" plan.json | grep -qx "$last" &&
	jq -e "[.segments[].min_ts] == ([.segments[].min_ts] | sort)" plan.json
'

test_expect_success 'the segment sealed since is upgraded next; then nothing is left to rewrite' '
	tt-check -D "$S1" --upgrade -o json >rc.json &&
	jq -e ".ok and (.rewritten | length) == 1" rc.json &&
	tt-check -D "$S1" --upgrade --no-progress >again.out &&
	cat again.out && grep -q "^no segment to rewrite" again.out &&
	tt-check -D "$S1" --recompress --no-progress >again.out &&
	cat again.out && grep -q "^no segment to rewrite" again.out &&
	snapshot "$S1" after2 || { echo snapshot failed; exit 1; }; same before after2
'

test_expect_success 'a rebuilt index gives the same records in the same order' '
	tt-check -q -D "$S1" --rebuild-index &&
	tt-query -D "$S1" -n all >rb.all && test_cmp before.all rb.all &&
	tt-query -D "$S1" -n all -r >rb.rev && test_cmp before.rev rb.rev
'

# The two crash states of a rewrite, made from a copy before and after it:
# the new file beside an index that does not name it yet (killed before the
# commit), and the old file beside an index that names only the new one
# (killed between the commit and the unlink).
test_expect_success 'both files after a crash: read once, rebuilt once, the spare removed by gc' '
	cp -a pre post && tt-check -q -D post --upgrade &&
	cp -a pre k1 && for f in post/seg/*.tts; do
		[ -e "k1/seg/$(basename $f)" ] || cp "$f" k1/seg/; done &&
	cp -a post k2 && for f in pre/seg/*.tts; do
		[ -e "k2/seg/$(basename $f)" ] || cp "$f" k2/seg/; done &&
	n=$(ls pre/seg | wc -l) &&
	for k in k1 k2; do
		test $(ls $k/seg | wc -l) -gt $n &&
		tt-query -D $k -n all >$k.all && test_cmp before.all $k.all &&
		tt-check -q -D $k &&
		cp -a $k $k.rb && tt-check -q -D $k.rb --rebuild-index &&
		tt-query -D $k.rb -n all >$k.rb.all && test_cmp before.all $k.rb.all &&
		tt-gc -q -D $k --max-age 100000d &&
		test $(ls $k/seg | wc -l) -eq $n &&
		tt-query -D $k -n all >$k.all2 && test_cmp before.all $k.all2 || exit 1
	done
'

test_expect_success 'a follower across a rewrite sees every record once' '
	S=$TEST_DIR/live
	tt-gen 12000 --seed 12 --start "2024-11-22T00:00:00Z" >live.jsonl &&
	head -8000 live.jsonl | tt-ingest -q -D "$S" --segment-size 128K || exit 1
	tt-tail -D "$S" -f -n all -o jsonl >follow.out &
	pid=$!
	tail -n +8001 live.jsonl | head -2000 | tt-ingest -q -D "$S" --segment-size 128K || exit 1
	tt-check -q -D "$S" --recompress &
	rw=$!
	tail -n +10001 live.jsonl | tt-ingest -q -D "$S" --segment-size 128K &&
	wait $rw &&
	tt-check -q -D "$S" --recompress || exit 1
	i=0; while [ $(wc -l <follow.out) -lt 12000 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.3; kill $pid; wait $pid
	test $(wc -l <follow.out) -eq 12000 &&
	tt-query -D "$S" -n all -o jsonl >all.out &&
	sort follow.out >a && sort all.out >b && test_cmp b a &&
	tt-stat -D "$S" -o json | jq -e ".states.recompressed.segments >= 3"
'

test_expect_success 'a segment with a damaged block is not rewritten, and nothing is lost' '
	S=$TEST_DIR/bad &&
	head -6000 recs.jsonl | tt-ingest -q -D "$S" --segment-size 64K &&
	tt-gc -q --rotate -D "$S" &&
	f=$(ls "$S"/seg/*.tts | head -1) &&
	printf "\377\377\377\377" | dd of="$f" bs=1 seek=300 conv=notrunc 2>/dev/null &&
	tt-query -D "$S" -n all >bad.before 2>/dev/null; test $? -eq 3 &&
	tt-check -D "$S" --recompress >bad.out 2>&1; rc=$?; cat bad.out; test $rc -eq 3 &&
	grep -q "segment not rewritten" bad.out &&
	test -e "$f" &&
	tt-stat -D "$S" -o json | jq -e ".states.recompressed.segments >= 1" &&
	tt-query -D "$S" -n all >bad.after 2>/dev/null; test $? -eq 3 &&
	test_cmp bad.before bad.after
'

test_expect_success '--rebuild-index and a rewrite are separate runs' '
	tt-check -D x --upgrade --rebuild-index 2>usage.err; test $? -eq 2 &&
	grep -q "separate runs" usage.err
'

test_expect_success 'golden format-1 store: upgraded, every record as recorded' '
	mkdir g && tar -C g -xzf "$TOP/tests/data/golden/v1.tar.gz" &&
	tt-gc -q --rotate -D g/store &&
	tt-check -q -D g/store --upgrade &&
	gunzip -c "$TOP/tests/data/golden/v1/query-all.expected.gz" >g.want &&
	tt-query -D g/store -n all >g.have && test_cmp g.want g.have &&
	tt-stat -D g/store -o json | jq -e ".states.recompressed.segments >= 1"
'

test_done
