#!/bin/sh
# ttd: body caps (raw, gzip, chunked), Host/cross-site/auth guards, batch
# caps, connection cap, slow clients, back-pressure (503 + Retry-After).
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

one='{"traces":[{"source_id":"a","correlation_id":"lim-1","timestamp":1700000000000,"direction":"->"}]}'
ttd_start --max-batch 5 --max-record 2K || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'body over 20 MiB is 413' '
	head -c 21000000 /dev/zero | tr "\0" " " >big &&
	c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @big) &&
	[ "$c" = 413 ]
'

test_expect_success 'gzip body is decoded' '
	printf "%s" "$one" | gzip >one.gz &&
	c=$(req POST /ingest -H "Content-Type: application/json" -H "Content-Encoding: gzip" --data-binary @one.gz) &&
	expect_code 200 "$c" && expect_json ".inserted == 1"
'

test_expect_success 'gzip body over 20 MiB after decompression is 413 (gzip bomb)' '
	head -c 30000000 /dev/zero | gzip >bomb.gz && [ $(wc -c <bomb.gz) -lt 100000 ] &&
	c=$(req POST /ingest -H "Content-Type: application/json" -H "Content-Encoding: gzip" --data-binary @bomb.gz) &&
	expect_code 413 "$c" && expect_json "(.error|test(\"decompression\"))"
'

test_expect_success 'corrupt gzip body is 400' '
	printf "not gzip at all" >bad.gz &&
	c=$(req POST /ingest -H "Content-Type: application/json" -H "Content-Encoding: gzip" --data-binary @bad.gz) &&
	expect_code 400 "$c"
'

test_expect_success 'unknown content encoding is 415' '
	c=$(req POST /ingest -H "Content-Type: application/json" -H "Content-Encoding: br" --data-binary "$one") &&
	expect_code 415 "$c"
'

test_expect_success 'chunked request body works' '
	printf "%s" "$one" >one.json &&
	c=$(req POST /ingest -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" --data-binary @one.json) &&
	expect_code 200 "$c" && expect_json ".inserted == 1"
'

test_expect_success 'chunked gzip body works' '
	c=$(req POST /ingest -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" \
		-H "Content-Encoding: gzip" --data-binary @one.gz) &&
	expect_code 200 "$c" && expect_json ".inserted == 1"
'

test_expect_success 'Host must be a loopback name or address (421 otherwise)' '
	c=$(req GET /health -H "Host: evil.example") && expect_code 421 "$c" &&
	c=$(req GET /health -H "Host: evil.example:$PORT") && expect_code 421 "$c" &&
	c=$(req GET /health -H "Host: 10.0.0.1") && expect_code 421 "$c" &&
	c=$(req GET /health -H "Host: localhost:$PORT") && expect_code 200 "$c" &&
	c=$(req GET /health -H "Host: 127.0.0.2") && expect_code 200 "$c" &&
	c=$(req GET /health -H "Host: [::1]:$PORT") && expect_code 200 "$c" &&
	c=$(req GET /health -H "Host: app.localhost") && expect_code 200 "$c"
'

test_expect_success 'text/plain and form POSTs are 415 (cross-site simple requests)' '
	c=$(req POST /ingest -H "Content-Type: text/plain" --data-binary "$one") && expect_code 415 "$c" &&
	c=$(req POST /ingest --data "$one") && expect_code 415 "$c" &&
	c=$(req POST /logs -F "x=1") && expect_code 415 "$c" &&
	c=$(req POST /v1/traces -H "Content-Type: text/plain;charset=UTF-8" --data-binary "{}") && expect_code 415 "$c"
'

test_expect_success 'a POST from a foreign Origin is 403' '
	c=$(post /ingest "$one" -H "Origin: http://evil.example") && expect_code 403 "$c" &&
	c=$(post /ingest "$one" -H "Sec-Fetch-Site: cross-site") && expect_code 403 "$c" &&
	c=$(post /ingest "$one" -H "Origin: http://localhost:3000") && expect_code 200 "$c"
'

test_expect_success 'batch over --max-batch is 413 and stores nothing' '
	c=$(post /ingest "[{\"corr\":\"cap\",\"ts\":1},{\"corr\":\"cap\",\"ts\":2},{\"corr\":\"cap\",\"ts\":3},
		{\"corr\":\"cap\",\"ts\":4},{\"corr\":\"cap\",\"ts\":5},{\"corr\":\"cap\",\"ts\":6}]") &&
	expect_code 413 "$c" && expect_json "(.error|test(\"cap\"))" &&
	c=$(req GET /traces/cap) && expect_code 404 "$c"
'

test_expect_success 'a record over --max-record is rejected by index, the others kept' '
	long=$(head -c 3000 /dev/zero | tr "\0" x) &&
	c=$(post /ingest "[{\"corr\":\"big\",\"ts\":1,\"msg\":\"$long\"},{\"corr\":\"big\",\"ts\":2,\"msg\":\"small\"}]") &&
	expect_code 200 "$c" && expect_json ".inserted == 1 and .rejected == 1 and .errors[0].index == 0"
'
ttd_stop

# --- Tracer's cap of 1000 logs per request
ttd_start || exit 1
test_expect_success 'POST /logs with 1001 logs is 413; 1000 is fine' '
	python3 -c "import json;print(json.dumps({\"logs\":[{\"timestamp\":1700000000000+i,\"level\":\"info\",\"message\":\"m%d\"%i,\"service\":\"s\"} for i in range(1001)]}))" >l1001 &&
	python3 -c "import json;print(json.dumps({\"logs\":[{\"timestamp\":1700000000000+i,\"level\":\"info\",\"message\":\"m%d\"%i,\"service\":\"s\"} for i in range(1000)]}))" >l1000 &&
	c=$(req POST /logs -H "Content-Type: application/json" --data-binary @l1001) && expect_code 413 "$c" &&
	c=$(req POST /logs -H "Content-Type: application/json" --data-binary @l1000) && expect_code 202 "$c" &&
	expect_json ".accepted == 1000"
'
ttd_stop

# --- auth
printf "s3cret-token\n" >"$TEST_DIR/token"
ttd_start --token-file "$TEST_DIR/token" || exit 1
test_expect_success 'auth: writes need the secret (401), reads do not' '
	c=$(post /ingest "$one") && expect_code 401 "$c" &&
	c=$(post /ingest "$one" -H "X-TraceHub-Secret: wrong") && expect_code 401 "$c" &&
	c=$(post /ingest "$one" -H "X-TraceHub-Secret: s3cret-tokenX") && expect_code 401 "$c" &&
	c=$(post /ingest "$one" -H "X-TraceHub-Secret: s3cret-toke") && expect_code 401 "$c" &&
	c=$(post /ingest "$one" -H "X-TraceHub-Secret: s3cret-token") && expect_code 200 "$c" &&
	c=$(post /logs "{\"message\":\"x\",\"level\":\"info\"}") && expect_code 401 "$c" &&
	c=$(post /logs "{\"message\":\"x\",\"level\":\"info\"}" -H "Authorization: Bearer s3cret-token") && expect_code 202 "$c" &&
	c=$(post /v1/traces "{}" -H "Authorization: Bearer nope") && expect_code 401 "$c" &&
	c=$(req DELETE "/cleanup?max_age=1h") && expect_code 401 "$c" &&
	c=$(req GET /health) && expect_code 200 "$c"
'
test_expect_success 'auth: SIGHUP re-reads the token file' '
	printf "new-token\n" >"$TEST_DIR/token" && kill -HUP '"$TTD_PID"' && sleep 0.3 &&
	c=$(post /ingest "$one" -H "X-TraceHub-Secret: s3cret-token") && expect_code 401 "$c" &&
	c=$(post /ingest "$one" -H "X-TraceHub-Secret: new-token") && expect_code 200 "$c"
'
ttd_stop

# --- connection cap, slow and idle clients
cat >"$TEST_DIR/hold.py" <<'PY'
import socket, sys, time
# hold.py PORT N SECONDS READY: open N connections busy with a stream (idle
# ones would be replaced at the cap), touch READY, keep them SECONDS
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(int(sys.argv[2]))]
for c in s:
    c.sendall(b"GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert c.recv(100).startswith(b"HTTP/1.1 200")
open(sys.argv[4], "w").close()
time.sleep(float(sys.argv[3]))
PY
cat >"$TEST_DIR/trickle.py" <<'PY'
import socket, sys, time
# trickle.py PORT: a request whose body arrives one byte every 0.2 s; prints
# how long until the server closed the connection
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"POST /ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
t = time.time()
c.settimeout(0.2)
try:
    for i in range(100):
        c.sendall(b" ")
        try:
            if c.recv(1024) == b"": break
        except socket.timeout: pass
except (BrokenPipeError, ConnectionResetError): pass
print("%.1f" % (time.time() - t))
PY
ttd_start --max-connections 2 --request-timeout 1 --header-timeout 5 || exit 1
test_expect_success 'connection cap: with every connection busy the third waits until one closes' '
	python3 hold.py '"$PORT"' 2 1.5 ready & hp=$!
	i=0; while [ ! -e ready ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done; sleep 0.2 &&
	c=$(curl -s -o /dev/null -w "%{http_code}" --max-time 0.6 "$URL/health"); [ "$c" = 000 ] &&
	wait $hp &&
	sleep 0.3 &&
	c=$(req GET /health) && expect_code 200 "$c"
'
test_expect_success 'a client trickling its body is closed after --request-timeout' '
	t=$(python3 trickle.py '"$PORT"') && echo "closed after $t s" &&
	python3 -c "import sys; sys.exit(0 if 0.8 <= $t <= 3 else 1)"
'
ttd_stop

ttd_start --header-timeout 1 || exit 1
test_expect_success 'an idle connection is closed after --header-timeout' '
	python3 -c "
import socket, time
c = socket.create_connection((\"127.0.0.1\", '"$PORT"')); t = time.time(); c.settimeout(5)
assert c.recv(10) == b\"\"; d = time.time() - t; print(d); assert 0.5 < d < 3
"
'
ttd_stop

# --- back-pressure: a long commit interval and a tiny backlog cap
ttd_start --commit-interval 1500 --max-pending 1 || exit 1
test_expect_success 'writer behind: 503 with Retry-After; the first request still succeeds' '
	(curl -s -o /dev/null -w "%{http_code} %{time_total}" -H "Content-Type: application/json" \
		--data-binary "$one" "$URL/ingest" >first.code) & fp=$!
	wait_pending &&
	curl -s -D hdr -o body -w "%{http_code}" -H "Content-Type: application/json" --data-binary "$one" "$URL/ingest" >second.code &&
	[ "$(cat second.code)" = 503 ] && grep -qi "^retry-after: [0-9]" hdr &&
	curl -s -D hdr2 -o /dev/null -w "%{http_code}" -H "Content-Type: application/json" --data-binary "{}" "$URL/v1/traces" >third.code &&
	[ "$(cat third.code)" = 503 ] && grep -qi "^retry-after:" hdr2 &&
	wait $fp && cat first.code && [ "$(cut -d" " -f1 first.code)" = 200 ]
'
test_expect_success 'the 2xx came only after the group commit (durable ack)' '
	python3 -c "import sys; sys.exit(0 if float(\"$(cut -d" " -f2 first.code)\") >= 0.5 else 1)"
'
test_expect_success '/metrics counts the refusals' '
	c=$(req GET /metrics) && grep -Eq "^ttd_backpressure_total [1-9]" body
'
ttd_stop
test_done
