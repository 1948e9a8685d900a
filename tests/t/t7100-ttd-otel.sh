#!/bin/sh
# ttd with a real OpenTelemetry client: the official JS SDK
# (@opentelemetry/sdk-trace-base + exporter-trace-otlp-http / -otlp-proto,
# installed from npm into a cache dir) exports a parent and a child span; the
# store must hold them with the right trace/span/parent ids, service name,
# status and attributes. No npm registry: the tests SKIP, they do not fail.
. ./lib.sh
. ./ttd-lib.sh

TOP=$(cd ../.. && pwd)
CACHE=${TT_OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/teratrace/otel-test}
skip_all() {
	for d in "OTLP/HTTP JSON (gzip) spans arrive with ids, service, status, attributes" \
		"OTLP/HTTP protobuf spans arrive the same way" "the exporter authenticates with a Bearer token"; do
		test_skip "$d" "$1"
	done
	test_done; exit 0
}
command -v node >/dev/null && command -v npm >/dev/null || skip_all "node and npm are needed"

mkdir -p "$CACHE" && cp "$TOP/tests/otel/package.json" "$TOP/tests/otel/export.js" "$CACHE/" ||
	skip_all "cannot write $CACHE"
if [ ! -d "$CACHE/node_modules/@opentelemetry/exporter-trace-otlp-proto" ]; then
	(cd "$CACHE" && timeout 300 npm install --no-audit --no-fund --loglevel=error) \
		>"$TEST_DIR/npm.log" 2>&1 ||
		skip_all "npm install failed (registry unreachable?): $(tail -n 1 "$TEST_DIR/npm.log")"
fi

export_spans() { # MODE [TOKEN] -> sent.json
	(cd "$CACHE" && timeout 60 node export.js "$1" "$URL" ${2:-}) >"$TEST_DIR/sent.json"
}

check_spans() { # SERVICE: the two spans in sent.json are in the store, field by field
	T=$(jq -r .traceId sent.json) && P=$(jq -r .parentSpanId sent.json) && C=$(jq -r .childSpanId sent.json) &&
	c=$(req GET "/api/traces/$T") && expect_code 200 "$c" &&
	expect_json ".correlation_id == \"$T\" and .count == 2" &&
	expect_json "(.traces | map(select(.span == \"$C\")) | .[0]) as \$c |
		\$c.parent == \"$P\" and \$c.service == \"$1\" and \$c.name == \"db.query\" and
		\$c.kind == \"span\" and \$c.status == \"error\" and \$c.msg == \"deadlock detected\" and
		\$c.attrs[\"db.system\"] == \"lmdb\" and \$c.attrs[\"db.rows\"] == 42 and
		\$c.attrs[\"cache.hit\"] == true and \$c.dur > 0" &&
	expect_json "(.traces | map(select(.span == \"$P\")) | .[0]) as \$p |
		(\$p | has(\"parent\") | not) and \$p.service == \"$1\" and \$p.name == \"GET /checkout\" and
		\$p.status == \"ok\" and \$p.attrs[\"http.status_code\"] == 200 and \$p.attrs[\"http.method\"] == \"GET\""
}

ttd_start || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'OTLP/HTTP JSON (gzip) spans arrive with ids, service, status, attributes' '
	export_spans json && cat sent.json && check_spans otel-json
'

test_expect_success 'OTLP/HTTP protobuf spans arrive the same way' '
	export_spans proto && cat sent.json && check_spans otel-proto
'
ttd_stop

printf "otel-secret\n" >"$TEST_DIR/token"
ttd_start --token-file "$TEST_DIR/token" || exit 1
test_expect_success 'the exporter authenticates with a Bearer token' '
	! export_spans json wrong-secret 2>err && grep -q "Unauthorized\|401" err &&
	export_spans json otel-secret && check_spans otel-json
'
ttd_stop
test_done
