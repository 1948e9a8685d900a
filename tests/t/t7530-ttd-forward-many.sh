#!/bin/sh
# Several forwarding destinations at once: --forward-otlp given twice (named
# otlp and otlp-2), each with its own cursor file, /health entry and /metrics
# series; one receiver failing holds back no other. [forward NAME] sections
# of the config file, each with its own protocol, headers and filters.
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

# hook NAME: a receiver (hookd.py) recording into $TEST_DIR/NAME.jsonl; prints its port
hook() {
	python3 "$(pwd)/hookd.py" "$TEST_DIR/$1.jsonl" 90 >"$TEST_DIR/$1.port" &
	i=0; while [ ! -s "$TEST_DIR/$1.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	cat "$TEST_DIR/$1.port"
}
metric() { curl -s --max-time 5 "$URL/metrics" | sed -n "s/^$1{dest=\"$2\"} //p"; }
# wait_metric NAME DEST VALUE: until the metric is at least VALUE (20 s)
wait_metric() {
	i=0
	while [ "$(metric "$1" "$2")" -lt "$3" ] 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "$1 of $2 is $(metric "$1" "$2"), want $3"; return 1; }
		sleep 0.2
	done
}
P1=$(hook h1) P2=$(hook h2) P3=$(hook h3) P4=$(hook h4)
ttd_start --forward-otlp "http://127.0.0.1:$P1" --forward-otlp "http://127.0.0.1:$P2" \
	--forward-start start || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'two --forward-otlp: two destinations, two cursor files' '
	grep -E "^tt1-[0-9]+-[0-9]+-[0-9]+$" "$STORE/forward/otlp.cursor" &&
	grep -E "^tt1-[0-9]+-[0-9]+-[0-9]+$" "$STORE/forward/otlp-2.cursor"
'

test_expect_success 'both receive every record' '
	tt-gen 300 | tt-ingest -q -D "$STORE" &&
	wait_metric ttd_forward_shipped_records_total otlp 300 &&
	wait_metric ttd_forward_shipped_records_total otlp-2 300 &&
	jq -s -e "length >= 1" h1.jsonl && jq -s -e "length >= 1" h2.jsonl
'

test_expect_success '/health lists each' '
	sleep 1.2 && [ "$(req GET /health)" = 200 ] &&
	expect_json "[.forward[] | .name] == [\"otlp\", \"otlp-2\"] and
		all(.forward[]; .shipped == 300 and .lag_records == 0)"
'

test_expect_success 'one receiver failing holds back no other' '
	echo 500 >"$TEST_DIR/h2.jsonl.status" &&
	tt-gen 100 --seed 2 | tt-ingest -q -D "$STORE" &&
	wait_metric ttd_forward_shipped_records_total otlp 400 &&
	wait_metric ttd_forward_retries_total otlp-2 1 &&
	[ "$(metric ttd_forward_shipped_records_total otlp-2)" -eq 300 ] &&
	rm "$TEST_DIR/h2.jsonl.status" &&
	wait_metric ttd_forward_shipped_records_total otlp-2 400
'
ttd_stop

STORE="$TEST_DIR/s2"
cat >"$TEST_DIR/ttd.conf" <<EOF
forward-start = start
forward-header = X-All: yes

[forward alpha]
type = otlp
url = http://127.0.0.1:$P3/a
protocol = http/json
header = X-Dest: alpha

[forward beta]
type = otlp
url = http://127.0.0.1:$P4/b/
service = pay
EOF
ttd_start --config "$TEST_DIR/ttd.conf" || { echo "Bail out! ttd (sections) did not start"; exit 1; }
{ for i in 1 2 3 4 5 6; do echo "{\"corr\":\"c$i\",\"service\":\"web\",\"msg\":\"m$i\"}"; done
  for i in 1 2 3; do echo "{\"corr\":\"p$i\",\"service\":\"pay\",\"msg\":\"p$i\"}"; done; } >"$TEST_DIR/recs.jsonl"

test_expect_success '[forward NAME] sections: a destination each, named by the section' '
	tt-ingest -q -D "$STORE" recs.jsonl &&
	wait_metric ttd_forward_shipped_records_total alpha 9 &&
	wait_metric ttd_forward_shipped_records_total beta 3 && sleep 1 &&
	[ "$(metric ttd_forward_shipped_records_total beta)" -eq 3 ] &&
	test -f "$STORE/forward/alpha.cursor" && test -f "$STORE/forward/beta.cursor" &&
	[ "$(req GET /health)" = 200 ] && expect_json "[.forward[] | .name] == [\"alpha\", \"beta\"]"
'

test_expect_success 'each section its own protocol, path and headers (else the options'"'"')' '
	jq -s -e "length >= 1 and all(.path == \"/a/v1/traces\" or .path == \"/a/v1/logs\") and
		all(.headers[\"content-type\"] == \"application/json\" and
		    .headers[\"x-dest\"] == \"alpha\" and .headers[\"x-all\"] == null)" h3.jsonl &&
	jq -s -e "length >= 1 and all(.path == \"/b/v1/traces\" or .path == \"/b/v1/logs\") and
		all(.headers[\"content-type\"] == \"application/x-protobuf\" and
		    .headers[\"x-all\"] == \"yes\" and .headers[\"x-dest\"] == null)" h4.jsonl
'

test_expect_success 'bad sections are refused at start (exit 2)' '
	for body in "[forward x]\ntype = otlp" "[forward x]\nurl = http://127.0.0.1:1" \
	    "[forward x]\ntype = kafka\nurl = http://127.0.0.1:1" \
	    "[forward x]\ntype = otlp\nurl = http://127.0.0.1:1\ncolour = red" \
	    "[forward x]\ntype = otlp\nurl = http://127.0.0.1:1\nprotocol = grpc" \
	    "[forward x]\ntype = otlp\nurl = https://127.0.0.1:1" \
	    "[forward x]\ntype = otlp\nurl = http://127.0.0.1:1\n[forward x]\ntype = otlp\nurl = http://127.0.0.1:2" \
	    "[forward otlp]\ntype = otlp\nurl = http://127.0.0.1:2" "[forward a/b]" "[backward x]"; do
		printf "$body\n" >bad.conf &&
		ttd -D "$TEST_DIR/bad" --http 127.0.0.1:0 --socket off --config bad.conf \
			--forward-otlp http://127.0.0.1:1 2>err; rc=$?
		[ $rc -eq 2 ] || { echo "$body: exit $rc"; cat err; exit 1; }
	done
'
test_done
