#!/bin/sh
# A duration without a unit is a usage error everywhere durations are read
# (tt-gc --max-age, ttd --retention and its config key, --min-dur, --every):
# "tt-gc --max-age 7" meant as 7 days must not delete everything older than
# 7 seconds. The message names the units; nothing is deleted.
. ./lib.sh

test_expect_success 'setup: a store with two sealed segments of old records' '
	for i in 1 2; do
		echo "{\"ts\":1700000000000000000,\"corr\":\"old-$i\",\"msg\":\"x\"}" |
			tt-ingest -q -D "$STORE" || exit 1
		tt-gc -q -D "$STORE" --rotate --max-segments 100 || exit 1
	done &&
	tt-query -D "$STORE" --count >n && echo 2 >want && test_cmp want n
'
export TERATRACE_STORE="$STORE"

test_expect_success 'tt-gc --max-age 7: exit 2, units named, nothing deleted' '
	tt-gc --max-age 7 2>err; rc=$?
	cat err
	[ $rc -eq 2 ] &&
	grep -q "invalid duration .7. for --max-age: expected a number with a unit: ns, us, ms, s, m, h, d, w" err &&
	tt-query --count >n && test_cmp want n
'

test_expect_success 'tt-gc --max-age 1.5 and " 7 " too' '
	for v in 1.5 " 7 " 7e3; do
		tt-gc --max-age "$v" 2>/dev/null; [ $? -eq 2 ] || { echo "accepted $v"; exit 1; }
	done
'

test_expect_success 'tt-gc --max-age 7d keeps recent data; 1s deletes the old' '
	tt-gc --max-age 7d --dry-run >out &&
	tt-gc --max-age 1s -q && tt-query --count >n; echo 0 >zero && test_cmp zero n
'

test_expect_success 'tt-query --min-dur 5 and --every 60: exit 2 with the units' '
	tt-query --min-dur 5 2>err; [ $? -eq 2 ] && grep -q "invalid duration .5. for --min-dur" err &&
	tt-query --stats --every 60 2>err; [ $? -eq 2 ] && grep -q "for --every: expected a number with a unit" err &&
	tt-query --min-dur 5ms >/dev/null; [ $? -le 1 ]
'

test_expect_success 'ttd --retention 7: exit 2 naming the units' '
	ttd -D "$STORE" --http 127.0.0.1:0 --socket off --retention 7 2>err; rc=$?
	cat err; [ $rc -eq 2 ] && grep -q "retention .7.: expected a number with a unit" err
'

test_expect_success 'ttd config file: retention = 7 is refused with FILE:LINE' '
	printf "# retention\nretention = 7\n" >ttd.conf &&
	ttd -D "$STORE" --http 127.0.0.1:0 --socket off --config ttd.conf 2>err; rc=$?
	cat err; [ $rc -eq 2 ] && grep -q "ttd.conf:2: invalid retention .7.: expected a number with a unit" err
'

test_expect_success 'ttd --retention 0 and off still mean no retention' '
	ttd -D "$STORE" --http 127.0.0.1:0 --socket off --retention 0 --help >/dev/null &&
	printf "retention = off\n" >ok.conf &&
	ttd -D "$STORE" --config ok.conf --help >/dev/null
'

test_done
