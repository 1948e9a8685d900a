#!/bin/sh
# ttd --forward-otlp: ttd A follows its store and ships every record to a
# second ttd (B, on another store) over OTLP/HTTP, gzipped; records written by
# tt-ingest straight into A's store arrive too. B killed (-9) mid-stream and
# restarted: everything arrives. A killed (-9) mid-batch and restarted: every
# thing arrives, at most one batch twice. A receiver (hookd.py) answering 500
# for a while, one that hangs past --forward-timeout, one that answers 400
# (dropped, counted in /metrics, never retried); /health's forward list.
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

SB="$TEST_DIR/sb"
B_PID=
b_start() { # b_start [PORT]: the receiving ttd on $SB
	rm -f "$TEST_DIR/pb"
	ttd -D "$SB" --http "127.0.0.1:${1:-0}" --port-file "$TEST_DIR/pb" --socket off \
		2>>"$TEST_DIR/b.log" &
	B_PID=$!
	i=0; while [ ! -s "$TEST_DIR/pb" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	PB=$(cat "$TEST_DIR/pb")
}
b_records() { curl -s --max-time 5 "http://127.0.0.1:$PB/health" | jq .records; }
# wait_b N [TRIES]: until B holds at least N records (0.2 s a try)
wait_b() {
	i=0
	while [ "$(b_records)" -lt "$1" ] 2>/dev/null; do
		i=$((i + 1)); [ $i -gt "${2:-300}" ] && { echo "B has $(b_records) records, want $1"; return 1; }
		sleep 0.2
	done
}
metric() { curl -s --max-time 5 "$URL/metrics" | sed -n "s/^$1{dest=\"otlp\"} //p"; }
# the records of a store, sorted, with what the OTLP mapping cannot keep
# normalised: B's OTLP decoder keeps TeraTrace's own fields as teratrace.*
# attributes (put back here); a span's level info is OTLP's default (not
# sent); a log record has no parent span or status in OTLP.
NA='del(.time) | if .kind == "log" then del(.parent, .status) elif .level == "info" then del(.level) else . end'
NB='del(.time) | reduce ((.attrs // {}) | to_entries[] | select(.key | startswith("teratrace."))) as $e
	(.; .[$e.key[10:]] = $e.value | .attrs |= del(.[$e.key])) | if .attrs == {} then del(.attrs) else . end'
norm_a() { tt-query -D "$STORE" -o jsonl | jq -S -c "$NA" | sort; }
norm_b() { tt-query -D "$SB" -o jsonl | jq -S -c "$NB" | sort; }
trap 'ttd_stop >/dev/null 2>&1; [ -n "$B_PID" ] && kill -9 $B_PID 2>/dev/null; test_cleanup' EXIT

b_start || { echo "Bail out! B did not start"; exit 1; }
ttd_start --forward-otlp "http://127.0.0.1:$PB" --forward-start start ||
	{ echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'a new destination saves its cursor at once (DIR/forward/otlp.cursor)' '
	grep -E "^tt1-[0-9]+-[0-9]+-[0-9]+$" "$STORE/forward/otlp.cursor"
'

test_expect_success '20 000 records tt-ingest wrote into A arrive in B' '
	tt-gen 20000 | tt-ingest -q -D "$STORE" &&
	wait_b 20000 && sleep 0.5 && [ "$(b_records)" -eq 20000 ] &&
	[ "$(metric ttd_forward_shipped_records_total)" -eq 20000 ]
'

test_expect_success 'same ids, same per-id counts, same records (field by field)' '
	tt-query -D "$STORE" --list --count >na && tt-query -D "$SB" --list --count >nb &&
	test_cmp na nb &&
	tt-query -D "$STORE" --list -n all -o jsonl | jq -c "[.corr, .count]" | sort >ia &&
	tt-query -D "$SB" --list -n all -o jsonl | jq -c "[.corr, .count]" | sort >ib &&
	test_cmp ia ib &&
	norm_a >a && norm_b >b && [ $(wc -l <a) -eq 20000 ] && test_cmp a b
'

test_expect_success 'one trace, field by field' '
	id=$(head -n 1 ia | jq -r ".[0]") &&
	tt-query -D "$STORE" "$id" -o jsonl | jq -S -c "$NA" | sort >ta &&
	tt-query -D "$SB" "$id" -o jsonl | jq -S -c "$NB" | sort >tb &&
	[ -s ta ] && test_cmp ta tb
'

test_expect_success '/health lists the destination, idle, no lag' '
	[ "$(req GET /health)" = 200 ] &&
	expect_json ".forward[0] | .name == \"otlp\" and .state == \"idle\" and .lag_records == 0 and
		.shipped == 20000 and .dropped == 0 and (.cursor | startswith(\"tt1-\"))"
'

# B killed (-9) while A ships the next 20 000, restarted on the same port
tt-gen 20000 --seed 2 | tt-ingest -q -D "$STORE"
i=0; while [ "$(b_records)" -lt 21000 ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
B_AT=$(b_records)
kill -9 $B_PID; wait $B_PID 2>/dev/null
sleep 1.5
b_start $PB

test_expect_success 'B killed (-9) mid-stream and restarted: everything arrives' '
	echo "B killed holding $B_AT records" &&
	[ "$B_AT" -gt 20000 ] && [ "$B_AT" -lt 40000 ] &&
	wait_b 40000 && sleep 1 &&
	n=$(b_records) && echo "B holds $n records for 40000" && [ $n -le 41000 ] &&
	[ "$(metric ttd_forward_retries_total)" -ge 1 ]
'

# A killed (-9) while it ships the next 20 000, restarted
BEFORE=$(b_records)
tt-gen 20000 --seed 3 | tt-ingest -q -D "$STORE"
i=0; while [ "$(b_records)" -lt $((BEFORE + 3000)) ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
A_AT=$(b_records)
kill -9 $TTD_PID; wait $TTD_PID 2>/dev/null; TTD_PID=
ttd_start --forward-otlp "http://127.0.0.1:$PB" --forward-start start

test_expect_success 'A killed (-9) mid-batch and restarted: everything arrives, at most one batch twice' '
	echo "A killed with B at $A_AT" &&
	[ "$A_AT" -gt "$BEFORE" ] && [ "$A_AT" -lt $((BEFORE + 20000)) ] &&
	wait_b $((BEFORE + 20000)) && sleep 1.5 &&
	n=$(b_records) && echo "B holds $n records, $((n - BEFORE - 20000)) sent twice" &&
	[ $((n - BEFORE - 20000)) -le 1000 ]
'

test_expect_success 'after both crashes B holds every record of A (duplicates aside)' '
	norm_a >a && norm_b | uniq >b && [ $(wc -l <a) -eq 60000 ] && test_cmp a b
'
ttd_stop
kill $B_PID 2>/dev/null; wait $B_PID 2>/dev/null; B_PID=

# bodies FILE: for each request hookd.py recorded, what its gunzipped body
# is: "protobuf" (an export request whose first field is 1, resource_spans or
# resource_logs, length-delimited) or "json" (an object with resourceSpans or
# resourceLogs)
bodies() {
	python3 -c '
import base64, gzip, json, sys
for line in open(sys.argv[1]):
    b = gzip.decompress(base64.b64decode(json.loads(line)["raw"]))
    try:
        d = json.loads(b)
        print("json" if "resourceSpans" in d or "resourceLogs" in d else "other")
    except ValueError:
        print("protobuf" if b[:1] == b"\x0a" else "other")
' "$1"
}

# ---- receivers that misbehave: hookd.py, steered by its .status and .hang files
python3 "$(pwd)/hookd.py" "$TEST_DIR/h.jsonl" 120 >"$TEST_DIR/h.port" &
i=0; while [ ! -s "$TEST_DIR/h.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
HP=$(cat "$TEST_DIR/h.port")
STORE="$TEST_DIR/sc"
echo 500 >"$TEST_DIR/h.jsonl.status"
ttd_start --forward-otlp "http://127.0.0.1:$HP/otel/" --forward-timeout 1 \
	--forward-header "Authorization: Bearer abc" || { echo "Bail out! ttd C did not start"; exit 1; }

# wait_metric NAME VALUE: until the metric is at least VALUE (20 s)
wait_metric() {
	i=0
	while [ "$(metric "$1")" -lt "$2" ] 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "$1 is $(metric "$1"), want $2"; return 1; }
		sleep 0.2
	done
}

test_expect_success 'a receiver answering 500 is retried with backoff; when it recovers all arrive' '
	tt-gen 300 --seed 4 | tt-ingest -q -D "$STORE" &&
	wait_metric ttd_forward_retries_total 2 &&
	[ "$(metric ttd_forward_shipped_records_total)" -eq 0 ] &&
	[ "$(req GET /health)" = 200 ] && expect_json ".forward[0].state == \"retrying\" and
		.forward[0].lag_records == 300 and .forward[0].last_error == \"HTTP 500\"" &&
	echo 200 >"$TEST_DIR/h.jsonl.status" &&
	wait_metric ttd_forward_shipped_records_total 300 &&
	[ "$(metric ttd_forward_dropped_records_total)" -eq 0 ]
'

test_expect_success 'requests: base path kept, gzip, headers added, protobuf by default' '
	jq -s -e "map(select(.status == 200)) | length >= 1 and
		all(.path == \"/otel/v1/traces\" or .path == \"/otel/v1/logs\") and
		all(.headers[\"content-encoding\"] == \"gzip\" and .headers.authorization == \"Bearer abc\" and
		    .headers[\"content-type\"] == \"application/x-protobuf\")" h.jsonl &&
	bodies h.jsonl >kinds && sort -u kinds >kinds.u && echo protobuf >want && test_cmp want kinds.u
'

test_expect_success 'a receiver that hangs: each attempt times out (--forward-timeout) and is retried' '
	r0=$(metric ttd_forward_retries_total) &&
	echo 2 >"$TEST_DIR/h.jsonl.hang" &&
	tt-gen 100 --seed 5 | tt-ingest -q -D "$STORE" &&
	wait_metric ttd_forward_retries_total $((r0 + 2)) &&
	[ "$(req GET /health)" = 200 ] &&
	expect_json ".forward[0].last_error | test(\"no answer\")" &&
	rm "$TEST_DIR/h.jsonl.hang" &&
	wait_metric ttd_forward_shipped_records_total 400
'

test_expect_success 'a receiver answering 400: the batch is dropped, counted, not retried' '
	sleep 2 && echo 400 >"$TEST_DIR/h.jsonl.status" &&
	tt-gen 50 --seed 6 | tt-ingest -q -D "$STORE" &&
	wait_metric ttd_forward_dropped_records_total 50 && sleep 2 &&
	[ "$(metric ttd_forward_dropped_records_total)" -eq 50 ] &&
	[ "$(metric ttd_forward_shipped_records_total)" -eq 400 ] &&
	n=$(jq -s "map(select(.status == 400)) | length" h.jsonl) && echo "$n requests answered 400" &&
	[ "$n" -ge 1 ] && [ "$n" -le 2 ] &&
	grep -q "HTTP 400 for .* records: dropped" "$TEST_DIR/ttd.log" &&
	echo 200 >"$TEST_DIR/h.jsonl.status" &&
	tt-gen 10 --seed 7 | tt-ingest -q -D "$STORE" &&
	wait_metric ttd_forward_shipped_records_total 410
'

test_expect_success '/metrics: the forward series pass promtool' '
	command -v promtool >/dev/null || exit 0
	curl -s "$URL/metrics" | promtool check metrics
'

ttd_stop
STORE="$TEST_DIR/sj"
: >"$TEST_DIR/j.jsonl"
rm -f "$TEST_DIR/h.jsonl.status"
python3 "$(pwd)/hookd.py" "$TEST_DIR/j.jsonl" 60 >"$TEST_DIR/j.port" &
i=0; while [ ! -s "$TEST_DIR/j.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
ttd_start --forward-otlp "http://127.0.0.1:$(cat "$TEST_DIR/j.port")" --forward-start start \
	--forward-otlp-protocol http/json || { echo "Bail out! ttd D did not start"; exit 1; }

test_expect_success '--forward-otlp-protocol http/json: OTLP/JSON, gzipped' '
	tt-gen 200 --seed 8 | tt-ingest -q -D "$STORE" &&
	wait_metric ttd_forward_shipped_records_total 200 &&
	jq -s -e "length >= 1 and all(.headers[\"content-type\"] == \"application/json\" and
		.headers[\"content-encoding\"] == \"gzip\")" j.jsonl &&
	bodies j.jsonl >kinds && sort -u kinds >kinds.u && echo json >want && test_cmp want kinds.u
'

test_expect_success 'bad forwarding options are refused at start' '
	for a in "--forward-otlp https://x" "--forward-otlp nothing" "--forward-level loud" \
	    "--forward-start middle" "--forward-header NoColon" "--forward-otlp-protocol grpc"; do
		ttd -D "$TEST_DIR/bad" --http 127.0.0.1:0 --socket off --forward-otlp http://127.0.0.1:1 $a \
			2>err; rc=$?; [ $rc -eq 2 ] || { echo "$a: exit $rc"; cat err; exit 1; }
	done
'
test_done
