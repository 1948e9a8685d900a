#!/bin/sh
# gc and forwarding: a segment holding records a destination (a cursor file
# DIR/forward/NAME.cursor) has not shipped is kept by tt-gc's age and count
# limits; --max-size deletes it anyway and counts the records as dropped
# (tt-gc prints it, DIR/forward/NAME.dropped adds it up, ttd's /metrics and
# log say it); --ignore-forward; --forward-max-hold lets a stuck destination
# go.
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }
export TERATRACE_STORE="$STORE"

now=$(date +%s)
# cursor NAME POS: a destination that has shipped up to POS
cursor() { mkdir -p "$STORE/forward" && echo "$2" >"$STORE/forward/$1.cursor"; }

test_expect_success 'setup: segments of 4, 3 and 2 days ago (blocks 1, 2, 3)' '
	day 4 && day 3 && day 2 &&
	tt-stat --no-services -o json | jq -e ".segments == 3 and .sealed == 3"
'

test_expect_success 'a destination at the start holds every segment against --max-age' '
	cursor slow tt1-0-0-0 &&
	tt-gc --max-age 1d >out && echo "nothing to remove" >expect && test_cmp expect out
'

test_expect_success '--ignore-forward deletes them all the same (dry run)' '
	tt-gc --max-age 1d --ignore-forward --dry-run >out &&
	grep "^would free .* in 3 segments (9 records)" out
'

test_expect_success 'a destination past the first segment lets it go, and only it' '
	cursor slow tt1-0-1-3 &&
	tt-gc --max-age 1d >out &&
	grep "^freed .* in 1 segment (3 records)" out &&
	tt-query --count >n && echo 6 >expect && test_cmp expect n &&
	! grep -q dropped out && [ ! -e "$STORE/forward/slow.dropped" ]
'

test_expect_success 'a destination inside a block holds its segment' '
	cursor slow tt1-0-2-1 &&
	tt-gc --max-age 1d >out && echo "nothing to remove" >expect && test_cmp expect out
'

test_expect_success '--forward-max-hold: a cursor not written for longer holds nothing' '
	touch -d "3 days ago" "$STORE/forward/slow.cursor" &&
	tt-gc --max-age 1d --forward-max-hold 4d >out &&
	echo "nothing to remove" >expect && test_cmp expect out &&
	tt-gc --max-age 1d --forward-max-hold 2d --dry-run >out &&
	grep "^would free .* in 2 segments (6 records)" out &&
	touch -d "8 days ago" "$STORE/forward/slow.cursor" &&
	tt-gc --max-age 1d --dry-run >out &&
	grep "^would free .* in 2 segments (6 records)" out
'

test_expect_success '--max-size deletes held segments: the unshipped records are dropped, counted' '
	cursor slow tt1-0-2-1 && cursor done tt1-0-3-3 &&
	tt-gc --max-size 1 >out &&
	grep "^removed segment .*  (2 not yet forwarded: dropped)" out &&
	grep "^removed segment .*  (3 not yet forwarded: dropped)" out &&
	grep "^dropped 5 records forwarding had not shipped yet (--max-size)" out &&
	echo 5 >expect && test_cmp expect "$STORE/forward/slow.dropped" &&
	[ ! -e "$STORE/forward/done.dropped" ]
'

test_expect_success '-o json says how many were dropped' '
	day 5 && cursor slow tt1-0-0-0 &&
	tt-gc --max-size 1 -o json >out &&
	jq -e ".unshipped == 3 and .segments[0].unshipped == 3" out &&
	echo 8 >expect && test_cmp expect "$STORE/forward/slow.dropped"
'

# ttd: a destination that cannot ship (the receiver answers 500) holds the
# data its own retention (--retention) would delete; tt-gc --max-size takes
# it: /metrics counts the drop, the log says so, the cursor goes on (the
# batch that was in flight, copies in memory, still goes once the receiver
# recovers: 6 + 1 shipped)
rm -rf "$STORE"
python3 "$(pwd)/hookd.py" "$TEST_DIR/h.jsonl" 60 >"$TEST_DIR/h.port" &
i=0; while [ ! -s "$TEST_DIR/h.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
echo 500 >"$TEST_DIR/h.jsonl.status"
day 4 && day 3
ttd_start --forward-otlp "http://127.0.0.1:$(cat "$TEST_DIR/h.port")" --forward-start start \
	--retention 1d --gc-interval 1s || { echo "Bail out! ttd did not start"; exit 1; }
metric() { curl -s --max-time 5 "$URL/metrics" | sed -n "s/^$1{dest=\"otlp\"} //p"; }

test_expect_success "ttd's retention keeps what its destination has not shipped" '
	sleep 2.5 && tt-query --count >n && echo 6 >expect && test_cmp expect n &&
	[ "$(metric ttd_forward_dropped_records_total)" -eq 0 ]
'

test_expect_success 'tt-gc --max-size takes it: ttd counts the drop and says so' '
	tt-gc --max-size 1 >out && grep "^dropped 6 records" out &&
	i=0; while [ "$(metric ttd_forward_dropped_records_total)" -lt 6 ] && [ $i -lt 50 ]; do
		sleep 0.2; i=$((i + 1)); done &&
	[ "$(metric ttd_forward_dropped_records_total)" -eq 6 ] &&
	grep "forward otlp: gc deleted 6 records before they were shipped" "$TEST_DIR/ttd.log" &&
	echo 200 >"$TEST_DIR/h.jsonl.status" &&
	echo "{\"corr\":\"late\",\"msg\":\"y\"}" | tt-ingest -q &&
	i=0; while [ "$(metric ttd_forward_shipped_records_total)" -lt 7 ] && [ $i -lt 100 ]; do
		sleep 0.2; i=$((i + 1)); done &&
	[ "$(metric ttd_forward_shipped_records_total)" -eq 7 ] &&
	sleep 1.2 && [ "$(req GET /health)" = 200 ] && expect_json ".forward[0].lag_records == 0"
'
test_done
