#!/bin/sh
# ttd's aggregate endpoints on the engine of tt-query --stats: /api/stats
# equal to tt-query --stats -o jsonl row for row (rollup and scan paths),
# /api/services summaries and series, bad parameters get 400, and /metrics
# carries span metrics named as the OpenTelemetry spanmetrics connector names
# them, valid for the real promtool.
. ./lib.sh
. ./ttd-lib.sh

T0=$(( ($(date +%s) / 60 - 3) * 60 ))000000000   # three minutes ago, a whole minute
gen() {
	python3 -c "
import json, random, sys
t0 = int(sys.argv[1]); rnd = random.Random(5)
for i in range(3000):
    r = {'ts': t0 + rnd.randrange(0, 150 * 10**9), 'corr': 'c%d' % (i % 97),
         'service': rnd.choice(['api', 'db', 'pay']), 'name': rnd.choice(['GET /a', 'q']),
         'kind': rnd.choice(['span', 'span', 'log'])}
    if r['kind'] == 'span': r['dur'] = rnd.randrange(10**5, 10**9)
    if i % 9 == 0: r['level'] = 'error'
    print(json.dumps(r))" "$T0"
}

test_expect_success 'setup: 3000 records over the last minutes' '
	gen >data.jsonl && tt-ingest -q -D "$STORE" data.jsonl
'
ttd_start || { echo "Bail out! ttd did not start"; exit 1; }
export TERATRACE_STORE="$STORE"

# rows of /api/stats as tt-query --stats -o jsonl prints them
rows() { jq -c ".rows[] | del(.time)" body; }
cli() { tt-query --stats "$@" -o jsonl | jq -c "del(.time)"; }

test_expect_success '/api/stats?by=service&every=1m equals tt-query --stats (rollups)' '
	[ "$(req GET "/api/stats?by=service&every=1m")" = 200 ] &&
	expect_json ".path == \"rollups\"" && rows >got &&
	cli --by service --every 1m >want && test_cmp want got
'

test_expect_success 'service= and name= conditions on the rollup path, as the CLI' '
	[ "$(req GET "/api/stats?by=name&every=1m&service=api&service=pay")" = 200 ] &&
	expect_json ".path == \"rollups\" and (.rows | length) > 0" && rows >got &&
	cli --by name --every 1m --service api --service pay >want && test_cmp want got &&
	[ "$(req GET "/api/stats?by=service&match=kind=span")" = 200 ] &&
	expect_json ".path == \"rollups\" and (.rows | length) > 0" && rows >got &&
	cli --by service kind=span >want && test_cmp want got
'

test_expect_success 'a filter the rollups cannot answer: the scan path, same rows as the CLI' '
	[ "$(req GET "/api/stats?by=name&level=error")" = 200 ] &&
	expect_json ".path == \"scan\"" && rows >got &&
	cli --by name --level error >want && test_cmp want got
'

test_expect_success 'since/until and sums' '
	s=$((T0 / 1000000000 + 30)) &&
	[ "$(req GET "/api/stats?by=kind&since=@$s&sum=cost")" = 200 ] && rows >got &&
	cli --by kind --since @$s --sum cost >want && test_cmp want got
'

test_expect_success 'bad parameters: 400 with the reason' '
	[ "$(req GET "/api/stats?every=60")" = 400 ] && expect_json ".error | test(\"every\")" &&
	[ "$(req GET "/api/stats?by=a,b,c,d,e,f,g,h,i")" = 400 ] &&
	[ "$(req GET "/api/stats?since=tomorrow-ish")" = 400 ]
'

test_expect_success '/api/services: a summary and a per-minute series per service' '
	[ "$(req GET "/api/services?since=@$((T0 / 1000000000))")" = 200 ] &&
	expect_json "(.services | map(.service) | sort) == [\"api\", \"db\", \"pay\"]" &&
	expect_json "all(.services[]; (.series | length) >= 2 and .count == (.series | map(.count) | add))" &&
	total=$(jq "[.services[].count] | add" body) && [ "$total" -eq 3000 ]
'

test_expect_success '/metrics: span metrics with the connector'"'"'s names' '
	[ "$(req GET /metrics)" = 200 ] &&
	grep -q "^traces_span_metrics_calls_total{service_name=\"api\",span_name=\"GET /a\",span_kind=\"SPAN_KIND_UNSPECIFIED\",status_code=\"STATUS_CODE_UNSET\"} [0-9]" body &&
	grep -q "^traces_span_metrics_calls_total{.*status_code=\"STATUS_CODE_ERROR\"} [0-9]" body &&
	grep -q "^traces_span_metrics_duration_seconds_bucket{service_name=\"db\",.*le=\"+Inf\"} [0-9]" body &&
	spans=$(jq -s "map(select(.kind == \"span\")) | length" data.jsonl) &&
	got=$(grep "^traces_span_metrics_calls_total" body | awk "{ s += \$NF } END { print s }") &&
	echo "spans $spans, calls $got" && [ "$got" -eq "$spans" ]
'

if command -v promtool >/dev/null; then
	test_expect_success 'promtool check metrics accepts the exposition' '
		[ "$(req GET /metrics)" = 200 ] && promtool check metrics <body 2>&1 | tee pt &&
		! grep -qi "error" pt
	'
else
	test_skip 'promtool check metrics' 'promtool is not installed (make deps installs prometheus)'
fi

ttd_stop
test_done
