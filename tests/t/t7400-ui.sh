#!/bin/sh
# t7400-ui -- the web UI in a real browser (Debian's chromium, driven by
# playwright-core from web/node_modules) against a real ttd: tt-gen traffic,
# the known traces of tests/web/fixtures.py, OTLP spans, an alert rule that
# fires. The checks are tests/web/checks/*.mjs (run by tests/web/run.mjs).
# TT_UI_SHOTS=DIR also writes each view's screenshots there (make
# ui-screenshots: web/screenshots/); TT_UI_ONLY=TEXT runs the matching checks;
# TT_UI_DIR=DIR serves the UI from DIR (node web/build.mjs --out DIR);
# TT_UI_BIG=N sets the size of the big trace (default 10000).
. ./lib.sh
. ./ttd-lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}
CHROMIUM=${TT_CHROMIUM:-/usr/bin/chromium}
if ! command -v node >/dev/null || [ ! -x "$CHROMIUM" ] ||
   [ ! -d "$TOP/web/node_modules/playwright-core" ]; then
	test_skip "web UI in a browser" "needs node, $CHROMIUM and web/node_modules (make deps)"
	test_done; exit
fi

now=$(date +%s%N)
test_expect_success 'setup: traffic, known traces, OTLP spans, alert rules' '
	tt-gen 3000 --seed 7 | tt-ingest -q -D "$STORE" - &&
	python3 "$TOP/tests/web/fixtures.py" $now ${TT_UI_BIG:-10000} | tt-ingest -q -D "$STORE" - &&
	cat >"$TEST_DIR/alerts.conf" <<-EOR
	[rule ui-errors]
	kind = errors
	by = service
	window = 1h
	threshold = 1
	format = json
	exec = cat >/dev/null
	EOR
'
ttd_start --socket off ${TT_UI_DIR:+--ui-dir "$TT_UI_DIR"} --alerts "$TEST_DIR/alerts.conf" --alert-interval 1s ||
	{ echo "Bail out! ttd did not start"; exit 1; }
test_expect_success 'OTLP spans over HTTP' '
	test "$(post /v1/traces @"$TOP/tests/data/otlp/features.json")" = 200
'
cat >"$TEST_DIR/data.json" <<EOF2
{"store": "$STORE", "now_ns": $now, "big": ${TT_UI_BIG:-10000}}
EOF2

# the browser checks print their own TAP lines
TT_BUILD=$TT_BUILD TERATRACE_STORE=$STORE \
	node "$TOP/tests/web/run.mjs" "$URL" "$TEST_DIR/data.json" ${TT_UI_SHOTS:+"$TT_UI_SHOTS"} |
	tee "$TEST_DIR/browser.tap" | grep -v '^1\.\.'
test_count=$((test_count + $(grep -c '^ok \|^not ok ' "$TEST_DIR/browser.tap")))
test_failed=$((test_failed + $(grep -c '^not ok ' "$TEST_DIR/browser.tap")))

ttd_stop; rc=$?
test_expect_success 'ttd stops cleanly' "test $rc -eq 0"
test_done
