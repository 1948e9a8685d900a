#!/bin/sh
# ttd: every HTTP endpoint answers with the documented shape, field by field.
. ./lib.sh
. ./ttd-lib.sh

ttd_start || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'GET /health: status, version, store, counters' '
	c=$(req GET /health) && expect_code 200 "$c" &&
	expect_json ".status == \"ok\" and (.version|type) == \"string\" and
		.store == \"$STORE\" and (.records|type) == \"number\" and
		(.uptime_s|type) == \"number\" and .backpressure == false"
'

test_expect_success 'POST /ingest (TraceHub batch): accepted, inserted, duplicates' '
	c=$(post /ingest "{\"traces\":[
		{\"source_id\":\"gw\",\"correlation_id\":\"req-1\",\"timestamp\":1700000000100.5,\"direction\":\"->\",\"operation\":\"GET /a\"},
		{\"source_id\":\"api\",\"correlation_id\":\"req-1\",\"timestamp\":1700000000150,\"direction\":\"->\"},
		{\"source_id\":\"api\",\"correlation_id\":\"req-1\",\"timestamp\":1700000000180,\"direction\":\"<-\"},
		{\"source_id\":\"gw\",\"correlation_id\":\"req-1\",\"timestamp\":1700000000200,\"direction\":\"<-\"}]}") &&
	expect_code 200 "$c" &&
	expect_json ".accepted == 4 and .inserted == 4 and .duplicates == 0 and
		.rejected == 0 and .errors == []"
'

test_expect_success 'POST /ingest/single: {inserted: 1}' '
	c=$(post /ingest/single "{\"source_id\":\"db\",\"correlation_id\":\"req-2\",\"timestamp\":1700000001000,\"direction\":\"->\"}") &&
	expect_code 200 "$c" && expect_json ". == {\"inserted\":1}"
'

test_expect_success 'POST /ingest/single with two traces is 400' '
	c=$(post /ingest/single "[{\"correlation_id\":\"x\"},{\"correlation_id\":\"y\"}]") &&
	expect_code 400 "$c" && expect_json ".code == 400 and (.error|test(\"exactly one\"))"
'

test_expect_success 'GET /traces/{id}: ascending ts, count, complete' '
	c=$(req GET /api/traces/req-1) && expect_code 200 "$c" &&
	expect_json ".correlation_id == \"req-1\" and .count == 4 and .complete == true and
		(.traces|length) == 4 and ([.traces[].ts] == ([.traces[].ts]|sort)) and
		.traces[0].service == \"gw\" and .traces[0].dir == \"->\" and
		.traces[0].name == \"GET /a\" and .traces[0].ts == 1700000000100500000 and
		(.traces[0].time|test(\"^2023-11-14T22:13:20.1005\"))"
'

test_expect_success 'GET /traces/{id} of an unknown id is 404 with count 0' '
	c=$(req GET /api/traces/nope) && expect_code 404 "$c" &&
	expect_json ".count == 0 and .traces == [] and .complete == false"
'

test_expect_success 'GET /traces/{id}: an id with only a request is not complete' '
	c=$(req GET /api/traces/req-2) && expect_code 200 "$c" &&
	expect_json ".count == 1 and .complete == false"
'

test_expect_success 'GET /correlations: TraceHub summary fields' '
	c=$(req GET "/correlations?limit=10") && expect_code 200 "$c" &&
	expect_json "length == 2 and .[0].correlation_id == \"req-2\" and
		(.[1] | .correlation_id == \"req-1\" and .trace_count == 4 and
		 .first_ts == 1700000000100.5 and .last_ts == 1700000000200 and
		 .duration_ms == 99.5 and .sources == [\"api\",\"gw\"] and .complete == true)"
'

test_expect_success 'GET /correlations?limit=1 and ?source=' '
	c=$(req GET "/correlations?limit=1") && expect_json "length == 1" &&
	c=$(req GET "/correlations?source=db") && expect_json "length == 1 and .[0].correlation_id == \"req-2\""
'

test_expect_success 'GET /correlations?limit=abc is 400' '
	c=$(req GET "/correlations?limit=abc") && expect_code 400 "$c"
'

test_expect_success 'GET /recent: newest first, limit, source filter' '
	c=$(req GET "/api/recent?limit=2") && expect_code 200 "$c" &&
	expect_json ".count == 2 and .traces[0].corr == \"req-2\" and .traces[1].service == \"gw\"" &&
	c=$(req GET "/api/recent?source=api") &&
	expect_json ".count == 2 and ([.traces[].service]|unique) == [\"api\"]"
'

test_expect_success 'POST /logs (Tracer): 202 {accepted, rejected, errors}' '
	c=$(post /logs "{\"logs\":[{\"timestamp\":\"2026-11-21T09:00:00Z\",\"level\":\"error\",\"message\":\"boom\",\"service\":\"pay\",\"metadata\":{\"k\":1}},
		{\"timestamp\":1700000000000,\"level\":\"info\",\"message\":\"ok\",\"service\":\"pay\"}]}") &&
	expect_code 202 "$c" &&
	expect_json ".accepted == 2 and .rejected == 0 and .errors == []"
'

test_expect_success 'POST /logs with a single log object' '
	c=$(post /logs "{\"timestamp\":1700000000000,\"level\":\"warn\",\"message\":\"one\",\"service\":\"pay\"}") &&
	expect_code 202 "$c" && expect_json ".accepted == 1"
'

test_expect_success 'invalid elements are reported by index; the valid ones are stored' '
	c=$(post /ingest "{\"traces\":[{\"correlation_id\":\"req-3\",\"timestamp\":1700000002000,\"source_id\":\"a\"},
		{\"correlation_id\":\"req-3\",\"timestamp\":\"not a time\",\"source_id\":\"a\"},
		{\"correlation_id\":\"req-3\",\"timestamp\":1700000002001,\"source_id\":\"a\"}]}") &&
	expect_code 200 "$c" &&
	expect_json ".accepted == 2 and .inserted == 2 and .rejected == 1 and
		.errors[0].index == 1 and (.errors[0].reason|length) > 0 and (.errors[0]|has(\"field\"))" &&
	c=$(req GET /api/traces/req-3) && expect_json ".count == 2"
'

test_expect_success 'a body that is not JSON is 400 with a byte offset' '
	c=$(post /ingest "{\"traces\": [ nope") && expect_code 400 "$c" &&
	expect_json ".code == 400 and (.error|test(\"byte [0-9]+\"))"
'

test_expect_success 'POST /v1/traces (OTLP JSON): {} and spans stored by trace id' '
	c=$(post /v1/traces "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"checkout\"}}]},
		\"scopeSpans\":[{\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\",\"name\":\"GET /cart\",
		\"kind\":2,\"startTimeUnixNano\":\"1700000003000000000\",\"endTimeUnixNano\":\"1700000003250000000\",
		\"status\":{\"code\":2,\"message\":\"bad\"},\"attributes\":[{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"500\"}}]}]}]}]}") &&
	expect_code 200 "$c" && expect_json ". == {}" &&
	c=$(req GET /api/traces/5b8efff798038103d269b633813fc60c) && expect_code 200 "$c" &&
	expect_json ".count == 1 and .traces[0].service == \"checkout\" and .traces[0].name == \"GET /cart\" and
		.traces[0].span == \"eee19b7ec3c1b174\" and .traces[0].dur == 250000000"
'

test_expect_success 'POST /v1/logs (OTLP JSON)' '
	c=$(post /v1/logs "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"worker\"}}]},
		\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1700000004000000000\",\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"disk full\"},
		\"traceId\":\"0af7651916cd43dd8448eb211c80319c\"}]}]}]}") &&
	expect_code 200 "$c" && expect_json ". == {}" &&
	c=$(req GET /api/traces/0af7651916cd43dd8448eb211c80319c) &&
	expect_json ".count == 1 and .traces[0].msg == \"disk full\" and .traces[0].service == \"worker\""
'

test_expect_success 'POST /v1/traces (OTLP protobuf): 200 application/x-protobuf, span stored' '
	python3 -c "
import struct, sys
def v(n):
    out = b\"\"
    while True:
        b = n & 0x7f; n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
def f(num, data): return v(num << 3 | 2) + v(len(data)) + data
def fx(num, x): return v(num << 3 | 1) + struct.pack(\"<Q\", x)
attr = f(1, b\"service.name\") + f(2, f(1, b\"pb-svc\"))
span = f(1, bytes.fromhex(\"0102030405060708090a0b0c0d0e0f10\")) + f(2, bytes.fromhex(\"1112131415161718\")) + \
       f(5, b\"pb-op\") + fx(7, 1700000007000000000) + fx(8, 1700000007500000000)
sys.stdout.buffer.write(f(1, f(1, f(1, attr)) + f(2, f(2, span))))
" >req.pb &&
	c=$(req POST /v1/traces -H "Content-Type: application/x-protobuf" --data-binary @req.pb -D hdr) &&
	expect_code 200 "$c" && grep -qi "^content-type: application/x-protobuf" hdr &&
	c=$(req GET /api/traces/0102030405060708090a0b0c0d0e0f10) &&
	expect_json ".count == 1 and .traces[0].service == \"pb-svc\" and .traces[0].name == \"pb-op\" and
		.traces[0].span == \"1112131415161718\" and .traces[0].dur == 500000000"
'

test_expect_success 'OTLP protobuf that is not protobuf is 400 with a protobuf Status' '
	c=$(req POST /v1/traces -H "Content-Type: application/x-protobuf" --data-binary "not protobuf at all" -D hdr) &&
	expect_code 400 "$c" && grep -qi "^content-type: application/x-protobuf" hdr
'

test_expect_success 'OTLP wrong content type is 415' '
	c=$(req POST /v1/traces -H "Content-Type: application/xml" --data-binary "<x/>") &&
	expect_code 415 "$c"
'

test_expect_success 'OTLP body that is not OTLP JSON is 400 with a Status body' '
	c=$(post /v1/traces "[1,2") && expect_code 400 "$c" &&
	expect_json ".code == 3 and (.message|length) > 0"
'

test_expect_success 'OTLP partial success: rejectedSpans and the first error' '
	c=$(post /v1/traces "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[
		{\"traceId\":\"00000000000000000000000000000abc\",\"spanId\":\"0000000000000001\",\"name\":\"ok\",\"startTimeUnixNano\":\"1700000005000000000\"},
		{\"traceId\":\"00000000000000000000000000000abc\",\"spanId\":\"0000000000000002\",\"name\":\"bad\",\"startTimeUnixNano\":\"abc\"}]}]}]}") &&
	expect_code 200 "$c" &&
	expect_json ".partialSuccess.rejectedSpans == 1 and (.partialSuccess.errorMessage|test(\"spans\\\\[1\\\\]\"))" &&
	c=$(req GET /api/traces/00000000000000000000000000000abc) && expect_json ".count == 1 and .traces[0].name == \"ok\""
'

test_expect_success 'OTLP: every span invalid is 400 with a Status; logs say rejectedLogRecords' '
	c=$(post /v1/traces "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"ab\",\"startTimeUnixNano\":{}}]}]}]}") &&
	expect_code 400 "$c" && expect_json ".code == 3 and (.message|test(\"rejected\"))" &&
	c=$(post /v1/logs "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1700000006000000000\",\"body\":{\"stringValue\":\"a\"}},
		{\"timeUnixNano\":\"x\",\"body\":{\"stringValue\":\"b\"}}]}]}]}") &&
	expect_code 200 "$c" && expect_json ".partialSuccess.rejectedLogRecords == 1"
'

test_expect_success 'GET /metrics: Prometheus text with records, commits, latency, clients' '
	c=$(req GET /metrics) && expect_code 200 "$c" &&
	grep -q "^# TYPE ttd_records_ingested_total counter" body &&
	grep -Eq "^ttd_records_ingested_total\{path=\"http\"\} [1-9][0-9]*$" body &&
	grep -Eq "^ttd_commits_total [1-9]" body &&
	grep -q "^ttd_ack_latency_seconds_bucket{le=\"+Inf\"}" body &&
	grep -Eq "^ttd_ack_latency_seconds_count [1-9]" body &&
	grep -q "^ttd_clients{kind=\"http\"}" body &&
	grep -q "^ttd_store_records " body &&
	curl -s -D - -o /dev/null "$URL/metrics" | grep -qi "^content-type: text/plain; version=0.0.4"
'

test_expect_success 'unknown path 404, wrong method 405 with Allow' '
	c=$(req GET /nope) && expect_code 404 "$c" &&
	c=$(req GET /ingest) && expect_code 405 "$c" &&
	curl -s -D - -o /dev/null "$URL/ingest" | grep -qi "^allow: POST"
'

test_expect_success 'no CORS headers, even when asked' '
	curl -s -D hdr -o /dev/null -H "Origin: http://127.0.0.1:3000" "$URL/health" &&
	! grep -qi "^access-control" hdr &&
	c=$(req OPTIONS /ingest -H "Origin: http://evil.example" -H "Access-Control-Request-Method: POST" -D hdr) &&
	expect_code 405 "$c" && ! grep -qi "^access-control" hdr
'

test_expect_success 'DELETE /cleanup without retention configured is 400' '
	c=$(req DELETE /cleanup) && expect_code 400 "$c"
'

test_expect_success 'DELETE /cleanup?max_age=1h runs retention' '
	c=$(req DELETE "/cleanup?max_age=1h") && expect_code 200 "$c" &&
	expect_json "(.deleted_segments|type) == \"number\" and (.freed_bytes|type) == \"number\""
'

ttd_stop; rc=$?
test_expect_success 'SIGTERM: ttd exits 0' "[ $rc -eq 0 ]"
test_done
