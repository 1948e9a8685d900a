#!/bin/sh
# t7410-ttd-store-api -- GET /api/store (the Store view's data): the totals
# tt-stat prints, the segments, ttd's retention settings and what tt-gc
# --dry-run would delete under them or under ?max_age / ?max_size.
. ./lib.sh
. ./ttd-lib.sh

test_expect_success 'setup: two sealed segments and an open one' '
	tt-gen 8000 --seed 3 --start "2 days ago" | tt-ingest -q -D "$STORE" --segment-size 64K - &&
	tt-gen 100 --seed 4 | tt-ingest -q -D "$STORE" - &&
	tt-stat -D "$STORE" -o json >stat.json && jq -e ".segments >= 3" stat.json
'
ttd_start --socket off --retention 30d --max-size 1G ||
	{ echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'totals equal tt-stat -o json' '
	[ "$(req GET /api/store)" = 200 ] && cp "$TEST_DIR/body" store.json &&
	for k in format_version segments sealed records blocks data_bytes raw_bytes id_entries ratio bytes_per_record; do
		a=$(jq ".$k" stat.json) b=$(jq ".$k" store.json) &&
		[ "$a" = "$b" ] || { echo "$k: tt-stat $a, /api/store $b"; return 1; }
	done &&
	jq -e ".ids == null and .format_version == 2 and .store == \"$STORE\"" store.json &&
	[ "$(req GET "/api/store?ids=1")" = 200 ] && expect_json ".ids == $(jq .ids stat.json)"
'
test_expect_success 'segments as tt-stat -s lists them, oldest first; their records add up' '
	f="[.segment_list[] | [.state, .records, .blocks, .bytes, .raw_bytes, .min_ts, .max_ts]]" &&
	tt-stat -D "$STORE" -s -o json | jq -c "$f" >want &&
	jq -c "$f" store.json >got && test_cmp want got &&
	jq -e "(.segment_list | length) == .segments and
		(.segment_list | map(.records) | add) == .records and
		(.segment_list | map(.id)) == (.segment_list | map(.id) | sort) and
		(.segment_list | map(select(.state == \"sealed\")) | length) == .sealed" store.json
'
test_expect_success 'retention: the settings ttd runs with; nothing due under them' '
	jq -e ".retention.max_age_ns == 2592000000000000 and .retention.max_size == 1073741824 and
		.retention.gc_interval_ns == 60000000000 and .gc.preview == false and .gc.count == 0" store.json
'
test_expect_success '?max_age=1d previews what tt-gc --max-age 1d --dry-run deletes' '
	[ "$(req GET "/api/store?max_age=1d")" = 200 ] && cp "$TEST_DIR/body" gc.json &&
	tt-gc -D "$STORE" --max-age 1d --dry-run -o json >want.json &&
	jq -e ".gc.preview and .gc.count == $(jq .removed want.json) and
		.gc.bytes == $(jq .freed_bytes want.json) and .gc.records == $(jq .records want.json) and
		.gc.count > 0" gc.json &&
	jq -c "[.segments[] | [.min_ts, .max_ts, .records, .bytes]]" want.json >want &&
	jq -c "[.gc.segments[] | [.min_ts, .max_ts, .records, .bytes]]" gc.json >got &&
	test_cmp want got &&
	[ "$(req GET /api/store)" = 200 ] && expect_json ".records == $(jq .records stat.json)"
'
test_expect_success '?max_size=SIZE previews deletion by size' '
	[ "$(req GET "/api/store?max_size=100K")" = 200 ] && cp "$TEST_DIR/body" gs.json &&
	tt-gc -D "$STORE" --max-size 100K --dry-run -o json >want.json &&
	jq -e ".gc.count == $(jq .removed want.json) and .gc.bytes == $(jq .freed_bytes want.json)" gs.json
'
test_expect_success 'bad parameters: 400 naming them' '
	[ "$(req GET "/api/store?max_age=5")" = 400 ] && expect_json ".error | test(\"max_age.*unit\")" &&
	[ "$(req GET "/api/store?max_size=lots")" = 400 ] && expect_json ".error | test(\"max_size\")" &&
	[ "$(req GET "/api/store?ids=2")" = 400 ] &&
	[ "$(req POST /api/store -H "Content-Type: application/json" -d "{}")" = 405 ]
'
ttd_stop

# --recompress 1: ttd rewrites the sealed segments in a thread of its own
# (FORMAT.md 8.8) while it goes on taking records
test_expect_success 'ttd --recompress 1: sealed segments rewritten in the background, records the same' '
	tt-query -D "$STORE" -n all >before.all &&
	ttd_start --socket off --recompress 1 --gc-interval 1s --segment-size 64K &&
	i=0; while [ $i -lt 100 ]; do
		[ "$(req GET /api/store)" = 200 ] &&
		jq -e "[.segment_list[] | select(.state == \"sealed\" and (.rewritten | not))] | length == 0" \
		    "$TEST_DIR/body" >/dev/null && break
		sleep 0.1; i=$((i + 1))
	done &&
	jq -e "[.segment_list[] | select(.rewritten)] | length >= 2" "$TEST_DIR/body" &&
	[ "$(req GET /metrics)" = 200 ] &&
	grep -E "^ttd_segments_recompressed_total [1-9]" "$TEST_DIR/body" &&
	grep -E "^ttd_recompress_saved_bytes_total [1-9]" "$TEST_DIR/body" &&
	tt-query -D "$STORE" -n all >after.all && test_cmp before.all after.all &&
	ttd_stop && grep -q "recompressed segment" "$TEST_DIR/ttd.log" &&
	tt-check -q -D "$STORE" &&
	tt-stat -D "$STORE" -o json | jq -e ".states.recompressed.segments >= 2 and .states.sealed.raw_bytes == 0"
'
test_expect_success 'ttd --recompress 2, or 1 with --format-version 1, is refused, naming why' '
	"$TTD" -D "$STORE" --recompress 2 --http off --socket off 2>bad.err; test $? -ne 0 &&
	grep -q "recompress: 2 is not 0 or 1" bad.err &&
	"$TTD" -D "$STORE" --recompress 1 --format-version 1 --http off --socket off 2>bad.err
	test $? -ne 0 && grep -q "not with format-version 1" bad.err
'
test_done
