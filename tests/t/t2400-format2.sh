#!/bin/sh
# Format 2 (columnar blocks, FORMAT.md 6.4) against format 1 on the same
# records: every reading tool gives the same output, in about half the bytes;
# a format-1 store goes on working and becomes format 2 with its first new
# segment; --rebuild-index and tt-check on columnar blocks; the option's
# bad values.
. ./lib.sh

S1="$TEST_DIR/v1" S2="$TEST_DIR/v2" S3="$TEST_DIR/mixed"

test_expect_success 'setup: 20000 tt-gen records into a format-1 and a format-2 store' '
	tt-gen 20000 --seed 5 --start "2024-11-21T00:00:00Z" >recs.jsonl &&
	tt-ingest -q -D "$S1" --format-version 1 recs.jsonl &&
	tt-ingest -q -D "$S2" recs.jsonl &&
	tt-stat -D "$S1" -o json >st1 && tt-stat -D "$S2" -o json >st2 &&
	jq -e ".format_version == 1 and .records == 20000" st1 &&
	jq -e ".format_version == 2 and .records == 20000" st2 &&
	grep "^store .* (format 2)\$" <<-EOF
	$(tt-stat -D "$S2")
	EOF
'

test_expect_success 'format 2 takes at most 60 % of the data bytes of format 1' '
	d1=$(jq .data_bytes st1) d2=$(jq .data_bytes st2) &&
	echo "# format 1: $d1 B, format 2: $d2 B" &&
	test $((d2 * 100)) -le $((d1 * 60))
'

test_expect_success 'the same records: all of them, forwards and backwards' '
	tt-query -D "$S1" -n all >a && tt-query -D "$S2" -n all >b &&
	test $(wc -l <a) -eq 20000 && test_cmp a b &&
	tt-query -D "$S1" -n all -r >a && tt-query -D "$S2" -n all -r >b && test_cmp a b &&
	tt-tail -D "$S1" -n 500 >a && tt-tail -D "$S2" -n 500 >b && test_cmp a b
'

test_expect_success 'the same records of every fourth id, by lookup' '
	jq -r .corr recs.jsonl | sort -u | awk "NR % 4 == 0" >ids &&
	test $(wc -l <ids) -gt 300 &&
	while read id; do
		tt-query -D "$S1" "$id" || exit 1
	done <ids >a &&
	while read id; do
		tt-query -D "$S2" "$id" || exit 1
	done <ids >b &&
	test $(wc -l <b) -gt 4000 && test_cmp a b
'

test_expect_success 'the same id summaries, filters and stats' '
	# (ids last seen in one block are listed in no set order: compare sorted)
	tt-query -D "$S1" --list -n all | sort >a && tt-query -D "$S2" --list -n all | sort >b &&
	test_cmp a b &&
	tt-query -D "$S1" -n all service=billing level=error >a &&
	tt-query -D "$S2" -n all service=billing level=error >b &&
	test -s a && test_cmp a b &&
	tt-query -D "$S1" --stats --by service --scan -o json >a &&
	tt-query -D "$S2" --stats --by service --scan -o json >b && test_cmp a b &&
	# more groups than the scan keeps dense histograms for (256), and the
	# rollups: the same rows both ways, in both formats
	tt-query -D "$S2" --stats --by service,name -o json >c &&
	test $(wc -l <c) -gt 256 &&
	tt-query -D "$S1" --stats --by service,name --scan -o json >a &&
	tt-query -D "$S2" --stats --by service,name --scan -o json >b &&
	test_cmp c a && test_cmp c b
'

test_expect_success 'tt-check passes on columnar blocks; a rebuilt index reads the same' '
	tt-check -D "$S2" >out && grep "^ok: " out &&
	tt-check -D "$S2" --rebuild-index >out && grep "^ok: " out &&
	tt-query -D "$S2" -n all >b && tt-query -D "$S1" -n all >a && test_cmp a b &&
	tt-check -D "$S2" >out && grep "^ok: " out
'

test_expect_success 'a format-1 store: written on in format 1 until its segment is sealed' '
	head -n 10000 recs.jsonl >first && tail -n 10000 recs.jsonl >second &&
	tt-ingest -q -D "$S3" --format-version 1 first &&
	tt-ingest -q -D "$S3" second &&
	tt-stat -D "$S3" -o json | jq -e ".format_version == 1 and .segments == 1"
'

test_expect_success 'its next segment is format 2, and so is the store; all reads the same' '
	tt-gc -D "$S3" --rotate >/dev/null &&
	tt-gen 3000 --seed 6 --start "2024-11-22T00:00:00Z" >third &&
	tt-ingest -q -D "$S3" third &&
	tt-stat -D "$S3" -o json | jq -e ".format_version == 2 and .segments == 2 and .records == 23000" &&
	tt-ingest -q -D "$S1" third &&
	tt-query -D "$S1" -n all >a && tt-query -D "$S3" -n all >b && test_cmp a b &&
	tt-check -D "$S3" >out && grep "^ok: 2 segments" out
'

test_expect_code 2 'tt-ingest --format-version 3 is a usage error' '
	tt-ingest -D "$S3" --format-version 3 </dev/null 2>err
'

test_expect_success '... naming the option and the value' '
	grep "format-version.*3" err
'

test_expect_code 2 'ttd --format-version 0 is refused' '
	ttd -D "$TEST_DIR/ttd-store" --format-version 0 --http 127.0.0.1:0 2>err
'

test_expect_success '... naming the option' '
	grep "format-version" err
'

test_done
