#!/bin/sh
# tt-query --stats: the rollup path and the scan path against a brute-force
# computation over the same records (stats_oracle.py): counts, errors and sums
# equal, quantiles within 1 %; group by fields and attrs paths, time buckets,
# unaligned ranges (rollups for whole minutes, scans for the ends), filters
# that force a scan; rollups in tt-check, --rebuild-index and retention.
. ./lib.sh
ORACLE="python3 $(pwd)/stats_oracle.py"
T0=1796400000000000000   # a whole minute
MIN=60000000000
MAXTS=9223372036854775807 MINTS=-9223372036854775808

test_expect_success 'setup: 6000 records over 5 minutes, in several ingests' '
	$ORACLE gen 6000 7 $T0 >data.jsonl &&
	split -l 1000 data.jsonl part. &&
	for f in part.*; do tt-ingest -q -D "$STORE" "$f" || exit 1; done
'
export TERATRACE_STORE="$STORE"

# check NAME BY EVERY SUMS SINCE UNTIL [extra tt-query args]
check() {
	by=$1 every=$2 sums=$3 since=$4 until=$5; shift 5
	args=""
	[ -n "$by" ] && args="$args --by $by"
	[ "$every" -gt 0 ] && args="$args --every $((every / 1000000000))s"
	[ -n "$sums" ] && args="$args --sum $sums"
	[ "$since" != "$MINTS" ] && args="$args --since @$((since / 1000000000)).$(printf %09d $((since % 1000000000)))"
	[ "$until" != "$MAXTS" ] && args="$args --until @$((until / 1000000000)).$(printf %09d $((until % 1000000000)))"
	for path in rollups scan; do
		extra=""; [ $path = scan ] && extra=--scan
		tt-query --stats $args $extra --explain -o jsonl "$@" >got.$path 2>explain.$path || return 1
		$ORACLE check data.jsonl got.$path "$by" "$every" "$sums" "$since" "$until" "$@" || {
			echo "path: $path"; return 1; }
	done
	grep -q "answered from the rollups" explain.rollups &&
	grep -q "answered from a scan" explain.scan &&
	test_cmp got.rollups got.scan
}

test_expect_success 'whole store, by service' '
	check service 0 "" $MINTS $MAXTS
'
test_expect_success 'by service and name, per minute, LLM sums' '
	check service,name $MIN input_tokens,output_tokens,cost $MINTS $MAXTS
'
test_expect_success 'by kind, per 2 minutes, a range cut inside minutes' '
	check kind $((2 * MIN)) cost $((T0 + MIN / 3)) $((T0 + 4 * MIN + 17000000000))
'
test_expect_success 'a range inside one minute (scan only)' '
	check service 0 "" $((T0 + 1000000000)) $((T0 + 9000000000))
'
test_expect_success 'a rollup key condition keeps the rollups' '
	check name $MIN "" $MINTS $MAXTS service=payments &&
	grep -q "answered from the rollups" explain.rollups
'

test_expect_success 'an attrs path, a level filter: the scan path answers' '
	tt-query --stats --by http.status --explain -o jsonl >got 2>explain &&
	grep -q "answered from a scan" explain &&
	$ORACLE check data.jsonl got http.status 0 "" $MINTS $MAXTS &&
	tt-query --stats --level error --explain -o jsonl >got 2>explain &&
	grep -q "answered from a scan" explain &&
	n=$(grep -c "\"level\": \"\\(error\\|fatal\\)\"" data.jsonl) &&
	jq -e ".count == $n" got
'

test_expect_success 'table, json and csv outputs' '
	tt-query --stats --by service -o table >t &&
	head -n 1 t | grep -q "^SERVICE *COUNT *ERRORS *ERR% *RATE/s *P50 *P90 *P95 *P99 *MAX" &&
	grep -q "édge-ünïcode" t &&
	tt-query --stats --by service -o json | jq -e "length == 5" &&
	tt-query --stats --by service -o csv >c &&
	head -n 1 c | grep -q "^time,service,count,errors" && [ $(wc -l <c) -eq 6 ]
'

exits() { want=$1; shift; "$@" >/dev/null 2>&1; rc=$?; [ $rc -eq $want ] || { echo "$*: exit $rc, expected $want"; return 1; }; }
test_expect_success 'usage errors' '
	exits 2 tt-query --stats req-1 &&
	exits 2 tt-query --by service &&
	exits 2 tt-query --stats -o tree &&
	exits 2 tt-query --stats --every 0s
'

test_expect_success 'tt-check verifies the rollups; a rebuild keeps them equal' '
	tt-check -q &&
	tt-query --stats --by service,name --every 1m -o jsonl >before &&
	tt-check --rebuild-index -q &&
	tt-check -q &&
	tt-query --stats --by service,name --every 1m -o jsonl >after &&
	test_cmp before after
'

test_expect_success 'records appended later fold into the same minutes' '
	$ORACLE gen 500 8 $T0 >more.jsonl &&
	tt-ingest -q more.jsonl && cat data.jsonl more.jsonl >all.jsonl &&
	tt-query --stats --by service -o jsonl >got &&
	$ORACLE check all.jsonl got service 0 "" $MINTS $MAXTS &&
	tt-check -q
'

test_expect_success 'rollup retention: tt-gc --rollup-max-age deletes old minutes only' '
	old=$(( ($(date +%s) - 40 * 86400) / 60 * 60 ))000000000 &&
	$ORACLE gen 200 9 $old | tt-ingest -q &&
	tt-query --stats -o jsonl >before && n0=$(jq -s "map(.count) | add" before) &&
	tt-gc --rollup-max-age 30d -o json >gc && jq -e ".rollup_rows_removed > 0" gc &&
	tt-query --stats -o jsonl >after && n1=$(jq -s "map(.count) | add" after) &&
	echo "rollups counted $n0, then $n1" && [ $((n0 - n1)) -eq 200 ] &&
	tt-query --stats --scan -o jsonl | jq -e ".count == $n0" &&
	tt-check -q &&
	tt-gc --rollup-max-age 5 2>err; [ $? -eq 2 ]
'

# A scan of 200 000 records and more is split in two by time, each half read
# by its own thread and the halves merged: the answer is the rollups' and the
# oracle's, to the quantile.
test_expect_success 'a large scan, in two threads, agrees with the rollups and the oracle' '
	$ORACLE gen 260000 11 $T0 >big.jsonl &&
	tt-ingest -q -D big big.jsonl &&
	tt-query -D big --stats --by service,kind --every 1m -o jsonl >rolled &&
	tt-query -D big --stats --by service,kind --every 1m --scan -o jsonl >scanned &&
	test_cmp rolled scanned &&
	tt-query -D big --stats --by service --scan -o jsonl >got &&
	$ORACLE check big.jsonl got service 0 "" $MINTS $MAXTS
'

test_done
