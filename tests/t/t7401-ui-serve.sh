#!/bin/sh
# t7401-ui-serve -- the web UI without a browser: ttd serves the embedded
# bundle (gzip or inflated, ETag/304, immutable hashed assets, CSP, deep
# links, / redirected for browsers only), --ui-dir, the OTLP export the
# Trace view downloads, and the committed bundle is what web/src builds to.
. ./lib.sh
. ./ttd-lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}

test_expect_success 'setup' '
	python3 "$TOP/tests/web/fixtures.py" $(date +%s%N) 0 | tt-ingest -q -D "$STORE" -
'
ttd_start --socket off || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'GET / : JSON for API clients, a redirect for browsers' '
	test "$(req GET /)" = 200 && expect_json ".name == \"ttd\"" &&
	curl -s -o /dev/null -w "%{http_code} %{redirect_url}" -H "Accept: text/html,*/*" "$URL/" >out &&
	test "$(cat out)" = "302 $URL/ui/"
'
test_expect_success 'the page: no-cache, ETag, CSP; 304 on a match' '
	curl -s -D h -o page "$URL/ui/" && grep -q "^Cache-Control: no-cache" h &&
	grep -q "^Content-Security-Policy: default-src .self.; script-src .self.;" h &&
	grep -q "frame-ancestors .none." h && grep -q "<div id=\"app\">" page &&
	etag=$(sed -n "s/^ETag: \(.*\)\r$/\1/p" h) && test -n "$etag" &&
	test "$(curl -s -o /dev/null -w %{http_code} -H "If-None-Match: $etag" "$URL/ui/")" = 304
'
test_expect_success 'deep links get the page' '
	for p in /ui/live /ui/trace/ui-wf "/ui/services?since=1h" /ui/store "/ui/trace/a%2Fb"; do
		curl -s "$URL$p" | cmp - page || { echo "$p"; return 1; }
	done &&
	test "$(curl -s -o /dev/null -w "%{http_code} %{redirect_url}" "$URL/ui")" = "302 $URL/ui/"
'
test_expect_success 'assets: immutable, gzip when accepted, the same bytes inflated' '
	js=$(sed -n "s/.*src=\"\/ui\/\(assets\/[^\"]*\.js\)\".*/\1/p" page) && test -n "$js" &&
	curl -s -D h -H "Accept-Encoding: gzip" -o js.gz "$URL/ui/$js" &&
	grep -q "^Cache-Control: public, max-age=31536000, immutable" h &&
	grep -q "^Content-Encoding: gzip" h &&
	curl -s -D h2 -o js "$URL/ui/$js" && ! grep -q "^Content-Encoding" h2 &&
	gunzip -c js.gz | cmp - js && cmp js "$TOP/web/dist/$js"
'
test_expect_success 'unknown assets are 404; a path out of /ui/ reads no file' '
	test "$(req GET /ui/assets/nope.js)" = 404 &&
	curl -s --path-as-is "$URL/ui/../../../../etc/passwd" >body && ! grep -q "root:" body
'
test_expect_success 'GET /api/traces/ID?format=otlp is tt-query -o otlp ID' '
	test "$(req GET "/api/traces/ui-wf?format=otlp")" = 200 &&
	tt-query -D "$STORE" -o otlp ui-wf >want && test_cmp want "$TEST_DIR/body" &&
	test "$(req GET "/traces/ui-wf?format=otlp")" = 200 && test_cmp want "$TEST_DIR/body" &&
	test "$(req GET "/api/traces/nope?format=otlp")" = 404 &&
	test "$(req GET "/api/traces/ui-wf/stream?format=otlp")" = 400 &&
	test "$(req GET "/api/recent?format=otlp")" = 400 &&
	expect_json ".error | test(\"format must be\")"
'
ttd_stop
test_expect_success '--ui-dir serves a folder instead' '
	mkdir -p ui/assets && echo "<p>dev</p>" >ui/index.html && echo "x" >ui/assets/a.js
'
ttd_start --socket off --ui-dir "$TEST_DIR/ui" || { echo "Bail out! ttd did not start"; exit 1; }
test_expect_success '--ui-dir: files from disk, deep links get its index.html' '
	test "$(curl -s "$URL/ui/")" = "<p>dev</p>" &&
	curl -s --path-as-is "$URL/ui/../../../../etc/passwd" >body && ! grep -q "root:" body &&
	test "$(req GET /ui/assets/b.js)" = 404 &&
	test "$(curl -s "$URL/ui/trace/x")" = "<p>dev</p>" &&
	test "$(curl -s "$URL/ui/assets/a.js")" = x
'
ttd_stop

if command -v node >/dev/null && [ -d "$TOP/web/node_modules/esbuild" ]; then
	test_expect_success 'web/dist is what web/src builds to (make ui-bundle)' '
		(cd "$TOP/web" && node build.mjs --out "$TEST_DIR/dist") &&
		diff -r "$TOP/web/dist" "$TEST_DIR/dist"
	'
else
	test_skip 'web/dist is what web/src builds to' 'needs node and web/node_modules (make deps)'
fi
test_done
