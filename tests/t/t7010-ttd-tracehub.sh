#!/bin/sh
# ttd as TraceHub (issue 9): its query endpoints answer in TraceHub's field
# names, TeraTrace's shape stays under /api/ and ?format=tt; /correlations
# ?source= lists exactly what tt-query --list --service lists; ingest refuses
# what TraceHub would; refusals are JSON, counted and logged; the socket
# speaks JSON lines.
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

# A TraceHub client written against TraceHub's API: stdlib only, it reads
# TraceHub's names and nothing else.
cat >"$TEST_DIR/thc.py" <<'PY'
import json, sys, urllib.request, urllib.error
base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)
FIELDS = ("correlation_id", "source_id", "timestamp", "suffix", "direction",
          "operation", "endpoint", "data", "hostname")
def check_trace(t):
    for f in FIELDS:
        assert f in t, "missing %s in %r" % (f, t)
    assert isinstance(t["timestamp"], float), t
cmd = sys.argv[2]
if cmd == "trace":
    d = get("/traces/th-1")
    assert d["correlation_id"] == "th-1" and d["count"] == 2 and d["complete"] is True, d
    for t in d["traces"]:
        check_trace(t)
    a, b = d["traces"]
    assert (a["source_id"], a["direction"], a["operation"], a["endpoint"], a["hostname"],
            a["suffix"], a["data"]) == ("web", "->", "POST", "/api/pay", "h1", "req",
                                        {"amount": 5}), a
    assert a["timestamp"] == 1700000000100.25 and b["direction"] == "<-", d
    print("ok")
elif cmd == "recent":
    d = get("/recent?limit=1")
    assert d["count"] == 1, d
    check_trace(d["traces"][0])
    print(d["traces"][0]["correlation_id"])
elif cmd == "correlations":
    for c in get("/correlations?limit=5"):
        for f in ("correlation_id", "trace_count", "first_ts", "last_ts", "duration_ms",
                  "sources", "complete"):
            assert f in c, (f, c)
        assert isinstance(c["sources"], list), c
    print("ok")
elif cmd == "stream":
    req = urllib.request.urlopen(base + "/traces/th-1/stream?timeout=1", timeout=10)
    n = 0
    for line in req:
        line = line.decode()
        if line.startswith("data: "):
            ev = json.loads(line[6:])
            if ev.get("type") == "timeout":
                break
            check_trace(ev)
            n += 1
    assert n == 2, n
    print("ok")
PY

ttd_start --log-file "$TEST_DIR/ttd.log" || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'setup: a TraceHub request and its response' '
	c=$(post /ingest "{\"traces\":[
		{\"correlation_id\":\"th-1\",\"source_id\":\"web\",\"timestamp\":1700000000100.25,\"suffix\":\"req\",\"direction\":\"->\",\"operation\":\"POST\",\"endpoint\":\"/api/pay\",\"data\":{\"amount\":5},\"hostname\":\"h1\"},
		{\"correlation_id\":\"th-1\",\"source_id\":\"web\",\"timestamp\":1700000000200,\"direction\":\"<-\"}]}") &&
	expect_code 200 "$c" && expect_json ".accepted == 2"
'

test_expect_success 'GET /traces/{id}: TraceHub field names, as a stdlib client reads them' '
	python3 thc.py "$URL" trace >out && echo ok >exp && test_cmp exp out
'

test_expect_success 'GET /recent and /correlations: TraceHub field names' '
	python3 thc.py "$URL" recent >out && echo th-1 >exp && test_cmp exp out &&
	python3 thc.py "$URL" correlations >out && echo ok >exp && test_cmp exp out
'

test_expect_success 'GET /traces/{id}/stream: TraceHub field names' '
	python3 thc.py "$URL" stream >out && echo ok >exp && test_cmp exp out
'

test_expect_success 'TeraTrace shape: ?format=tt and /api/ (ts in ns, corr, service, dir, name, attrs)' '
	for p in "/traces/th-1?format=tt" /api/traces/th-1; do
		c=$(req GET "$p") && expect_code 200 "$c" &&
		expect_json ".count == 2 and .traces[0].ts == 1700000000100250000 and
			.traces[0].corr == \"th-1\" and .traces[0].service == \"web\" and
			.traces[0].dir == \"->\" and .traces[0].name == \"POST\" and
			.traces[0].attrs.amount == 5 and (.traces[0]|has(\"timestamp\")|not)" || return 1
	done &&
	c=$(req GET "/api/recent?limit=1") && expect_json ".traces[0].corr == \"th-1\"" &&
	c=$(req GET /api/correlations) && expect_json ".[0].corr == \"th-1\" and .[0].services == [\"web\"]" &&
	c=$(req GET "/api/traces/th-1/stream?timeout=0.5") &&
	grep "^data: {\"ts\":1700000000100250000" body &&
	c=$(req GET "/traces/th-1?format=xml") && expect_code 400 "$c" &&
	c=$(req GET /api/health) && expect_code 404 "$c"
'

# 18 services, 3 ids each, interleaved so that every service is spread out
test_expect_success 'setup: 54 ids over 18 services' '
	for i in $(seq 1 54); do
		s=$((i % 18))
		printf "{\"ts\":%d,\"corr\":\"cs-%02d\",\"service\":\"svc-%02d\"}\n" "$((1700000000000000000 + i))" "$i" "$s"
	done >many.jsonl &&
	post /ingest "$(jq -cs "{traces: .}" many.jsonl)" >c && expect_code 200 "$(cat c)"
'

test_expect_success 'GET /correlations?source=S&limit=N: the newest N ids of S, as tt-query --list' '
	for s in svc-01 svc-07 svc-00; do
		for n in 1 2 3 10; do
			tt-query -D "$STORE" --list --service "$s" -n "$n" -o jsonl | jq -r .corr >exp &&
			c=$(req GET "/correlations?source=$s&limit=$n") && expect_code 200 "$c" &&
			jq -r ".[].correlation_id" body >got && test_cmp exp got &&
			test "$(wc -l <got)" -eq $((n > 3 ? 3 : n)) || return 1
		done
	done &&
	c=$(req GET "/api/correlations?source=svc-05&limit=2") && expect_json "length == 2 and .[0].services == [\"svc-05\"]" &&
	c=$(req GET "/correlations?source=nobody") && expect_json ". == []"
'

test_expect_success 'GET /correlations?limit=N: exactly N' '
	c=$(req GET "/correlations?limit=7") && expect_json "length == 7"
'

test_expect_success 'POST /ingest: a misspelt envelope is 400 and stores nothing' '
	c=$(post /ingest "{\"trace\":[{\"correlation_id\":\"typo-1\"}]}") && expect_code 400 "$c" &&
	expect_json "(.error|test(\"unknown batch key .trace.\"))" &&
	c=$(req GET /api/traces/typo-1) && expect_code 404 "$c"
'

test_expect_success 'POST /ingest: {} is 400 (no records)' '
	n0=$(curl -s "$URL/health" | jq .records) &&
	c=$(post /ingest "{}") && expect_code 400 "$c" && expect_json ".accepted == 0" &&
	n1=$(curl -s "$URL/health" | jq .records) && test "$n0" = "$n1"
'

test_expect_success 'POST /ingest: a trace without a correlation id is rejected by index' '
	c=$(post /ingest "{\"traces\":[{\"correlation_id\":\"ok-1\"},{\"source_id\":\"x\"},{\"correlation_id\":\"\"}]}") &&
	expect_code 200 "$c" &&
	expect_json ".accepted == 1 and .rejected == 2 and .errors[0].index == 1 and
		.errors[0].field == \"correlation_id\" and .errors[1].index == 2 and
		(.errors[1].reason|test(\"empty correlation id\"))" &&
	c=$(post /ingest/single "{\"source_id\":\"x\"}") && expect_code 400 "$c" &&
	expect_json "(.error|test(\"no correlation id\"))"
'

test_expect_success 'POST /logs: a Tracer log is found by the id in its metadata' '
	c=$(post /logs "{\"logs\":[{\"timestamp\":\"2024-11-21T09:00:00Z\",\"level\":\"info\",\"message\":\"paid\",\"service\":\"pay\",\"metadata\":{\"correlationId\":\"tr-9\"}}]}") &&
	expect_code 202 "$c" && sleep 0.1 &&
	tt-query -D "$STORE" -o jsonl tr-9 | jq -r .msg >got && echo paid >exp && test_cmp exp got
'

test_expect_success 'a truncated body: 400 naming the byte where it ended' '
	c=$(post /ingest "{\"traces\":[{\"correlation_id\":\"a\"") && expect_code 400 "$c" &&
	expect_json "(.error|test(\"at byte 32\")) and (.error|test(\"^[a-zJ]\"))"
'

ttd_stop
ttd_start --log-file "$TEST_DIR/ttd.log" --max-batch 1 || exit 1

# two spans (trace id 01..10, span id 01..08) in one ExportTraceServiceRequest
python3 -c '
import sys
span = bytes([0x0a, 16]) + bytes(range(1, 17)) + bytes([0x12, 8]) + bytes(range(1, 9))
scope = b"".join(bytes([0x12, len(span)]) + span for _ in range(2))
rs = bytes([0x12, len(scope)]) + scope
sys.stdout.buffer.write(bytes([0x0a, len(rs)]) + rs)' >"$TEST_DIR/two.pb"

test_expect_success '413 for OTLP/protobuf is counted in ttd_body_too_large_total' '

	c=$(req POST /v1/traces -H "Content-Type: application/x-protobuf" --data-binary @two.pb) &&
	expect_code 413 "$c" &&
	curl -s "$URL/metrics" | grep -x "ttd_body_too_large_total 1" &&
	c=$(post /ingest "[{\"corr\":\"a\"},{\"corr\":\"b\"}]") && expect_code 413 "$c" &&
	expect_json ".code == 413 and (.error|type) == \"string\"" &&
	curl -s "$URL/metrics" | grep -x "ttd_body_too_large_total 2"
'

test_expect_success 'a method ttd does not serve: JSON 405, not libevent'"'"'s HTML 501' '
	c=$(req PUT /ingest) && expect_code 405 "$c" &&
	expect_json ".code == 405 and (.error|test(\"method PUT\"))"
'

test_expect_success 'refused requests are logged: client address, method and path, reason' '
	c=$(post /ingest "{\"trace\":[]}") && expect_code 400 "$c" &&
	c=$(req POST /ingest -H "Content-Type: text/plain" --data-binary x) && expect_code 415 "$c" &&
	c=$(req GET /health -H "Host: evil.example") && expect_code 421 "$c" &&
	grep "info: 127.0.0.1:[0-9]* POST /ingest: 400 unknown batch key .trace." ttd.log &&
	grep "info: 127.0.0.1:[0-9]* POST /ingest: 415 content type .text/plain. is refused" ttd.log &&
	grep "info: 127.0.0.1:[0-9]* GET /health: 421 host .evil.example." ttd.log
'

test_expect_success 'refusal logging is rate-limited, with a count of what was left out' '
	n0=$(wc -l <ttd.log) &&
	for i in $(seq 1 40); do echo "url = \"$URL/ingest?n=$i\""; echo "output = /dev/null"; done >cfg &&
	curl -s -K cfg -H "Content-Type: application/json" --data-binary "{}" &&
	sleep 1.5 && tail -n +$((n0 + 1)) ttd.log >new &&
	n=$(grep -c "POST /ingest?n=" new) &&
	test "$n" -le 10 && test "$n" -ge 1 &&
	grep "[0-9]* more rejected requests not logged" new
'

# The socket: JSON lines, detected by the first byte, acked by JSON lines.
cat >"$TEST_DIR/jl.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
for line in data.decode().splitlines():
    print(json.dumps(json.loads(line), sort_keys=True))
PY

test_expect_success 'socket: JSON lines in, one JSON line per error and ack out' '
	python3 jl.py "$STORE/ttd.sock" "$(printf "%s\n" "{\"corr\":\"jl-1\",\"msg\":\"a\"}" "" "[{\"corr\":\"jl-2\"},{\"corr\":\"\"}]" "{\"corr\":\"jl-3\"}")" >got &&
	cat >exp <<-\EOF &&
	{"error": "empty correlation id (leave the field out for a record without one)", "field": "corr", "index": 1, "msg": 2}
	{"ack": 3, "records": 3, "rejected": 1}
	EOF
	test_cmp exp got &&
	tt-query -D "$STORE" -o jsonl jl-3 | jq -r .corr >got && echo jl-3 >exp && test_cmp exp got
'

test_expect_success 'socket: neither msgpack nor JSON gets one clear fatal' '
	python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b\"hello\\n\")
d = s.recv(4096); print(d[2:7].decode(errors=\"replace\")); print(b\"starts neither\" in d)
" "$STORE/ttd.sock" >got &&
	printf "%s\n" "fatal" True >exp && test_cmp exp got
'

ttd_stop; rc=$?
test_expect_success 'SIGTERM: ttd exits 0' "[ $rc -eq 0 ]"

test_done
