#!/bin/sh
# tt-stat and tt-check: the summary, per-service counts, a flipped byte found
# by tt-check and reported by readers (exit 3), --rebuild-index.
. ./lib.sh
export TERATRACE_STORE="$STORE"

test_expect_success 'setup: 3000 records of 3 services over 100 ids' '
	awk "BEGIN { for (i = 0; i < 3000; i++)
		printf \"{\\\"ts\\\":%d000000000,\\\"corr\\\":\\\"k%d\\\",\\\"service\\\":\\\"svc%d\\\",\\\"msg\\\":\\\"record %d, padded to fill blocks %d\\\"}\\n\",
			1732147200 + i, i % 100, i % 3, i, i * 7 }" >recs.jsonl &&
	echo "{\"ts\":1732150199000000001,\"corr\":\"lone\",\"msg\":\"no service\"}" >>recs.jsonl &&
	# in 7 runs: each ends its last block, so a damaged block holds few records
	split -l 500 recs.jsonl part. &&
	for f in part.*; do tt-ingest -q $f || return 1; done
'

test_expect_success 'tt-stat: counts, time range, sizes, services' '
	tt-stat >out &&
	grep "^records        3001 in [0-9]* blocks\$" out &&
	grep "^segments       1 (0 sealed)\$" out &&
	grep "^ids            [0-9]* ([0-9]* index entries" out &&
	grep "^time range     2024-11-21 00:00:00.000 .. 2024-11-21 00:49:59.000\$" out &&
	grep "^data .* (raw .*, ratio [0-9.]*x)\$" out &&
	grep "^  active       1 segment, .* (raw .*, ratio [0-9.]*x)\$" out &&
	! grep "^  sealed" out &&
	grep "^rollups        [1-9][0-9]* rows, " out &&
	grep "^per record     [0-9.]* B on disk: data [0-9.]* + index [0-9.]* + rollups [0-9.]*\$" out &&
	grep "^  svc0  *1000\$" out && grep "^  svc2  *1000\$" out &&
	grep "^  (none)  *1\$" out
'

test_expect_success 'tt-stat -o json' '
	tt-stat -o json >out &&
	jq -e ".records == 3001 and .ids >= 101 and .segments == 1" out &&
	jq -e ".services.svc1 == 1000 and .no_service == 1" out &&
	jq -e ".data_bytes > 0 and .raw_bytes > .data_bytes and .ratio > 1" out &&
	jq -e ".states.active.segments == 1 and .states.sealed.segments == 0" out &&
	jq -e ".states.active.data_bytes == .data_bytes and .states.active.ratio > 1" out &&
	jq -e ".rollup_rows > 0 and .per_record.rollups > 0 and .per_record.data > 0" out &&
	jq -e "(.per_record.data + .per_record.index + .per_record.rollups - .bytes_per_record) | fabs < 0.2" out &&
	jq -e ".min == \"2024-11-21T00:00:00.000000000Z\"" out
'

test_expect_success 'tt-stat --segments, --no-services' '
	tt-stat -s --no-services >out &&
	grep "^0000000000000001 idle  *2024-11-21 00:00:00.000 2024-11-21 00:49:59.000  *3001 " out &&
	! grep "^services" out &&
	tt-stat -s -o json | jq -e "(.segment_list | length) == 1"
'

test_expect_success 'tt-check on a sound store: exit 0' '
	tt-check >out &&
	grep "^ok: 1 segments, [0-9]* blocks, 3001 records\$" out &&
	tt-check -o json | jq -e ".ok == true and .problems == 0"
'

test_expect_success 'flip one byte inside the first block' '
	seg=$(ls "$STORE"/seg/*.tts | head -1) &&
	printf "\377\377\377\377" | dd of="$seg" bs=1 seek=200 conv=notrunc 2>/dev/null
'

test_expect_code 3 'tt-check finds it: exit 3' 'tt-check >out'

test_expect_success 'tt-check names segment and offset' '
	grep "^segment 0000000000000001 offset [0-9]*: " out &&
	grep "problem.* found in " out &&
	tt-check -o json >out; jq -e ".ok == false and .problems >= 1 and
		(.list[0].segment == \"0000000000000001\")" out
'

test_expect_code 3 'a reader reports the bad block on stderr, goes on, exits 3' '
	tt-query -n all >out 2>err
'

test_expect_success 'the report names segment and offset; the other blocks were read' '
	grep "^tt-query: segment 0000000000000001 offset [0-9]*: " err &&
	test $(wc -l <out) -gt 2000 && test $(wc -l <out) -lt 3001
'

test_expect_code 3 'tt-tail too' 'tt-tail -n all >/dev/null 2>err'

test_expect_code 3 '--rebuild-index rebuilds without the bad block, reporting it' '
	tt-check --rebuild-index >out
'

test_expect_success 'after the rebuild readers meet no bad block' '
	tt-query -n all >out 2>err &&
	test ! -s err &&
	n=$(tt-stat -o json | jq .records) &&
	test $(wc -l <out) -eq $n
'

test_expect_code 4 'a missing store: exit 4' 'tt-check -D "$TEST_DIR/none"'
test_expect_code 4 'tt-stat on a missing store: exit 4' 'tt-stat -D "$TEST_DIR/none"'
test_expect_code 2 'tt-check takes no operands' 'tt-check extra'

test_done
