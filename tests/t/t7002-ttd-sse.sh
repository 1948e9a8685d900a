#!/bin/sh
# ttd: server-sent-event streams -- replay + live, filters, ids and
# Last-Event-ID resume without gaps or duplicates, keepalives, timeouts,
# slow clients dropped with a final event.
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

# ingest N records for corr $2 from service $3 with level $4, seq from $5
gen() {
	python3 -c "
import json, sys
n, corr, svc, lvl, base = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
print(json.dumps([{'ts': 1700000000000000000 + base + i, 'corr': corr, 'service': svc,
  'level': lvl, 'msg': 'rec %d' % (base + i), 'seq': base + i} for i in range(n)]))" "$@"
}
ingest() { gen "$@" >"$TEST_DIR/batch.json" && c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @"$TEST_DIR/batch.json") && [ "$c" = 200 ]; }
data() { grep "^data: " "$1" | sed "s/^data: //"; }

ttd_start --sse-keepalive 1 --header-timeout 1 || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'GET /stream?n=3: the last 3 records, then live, then timeout' '
	ingest 5 s-1 api info 0 &&
	curl -sN --max-time 10 "$URL/stream?n=3&timeout=3" >out & sp=$!
	wait_sse 1 && ingest 2 s-1 api info 5 && wait $sp &&
	data out | jq -s -c "map(.seq)" >seqs && echo "[2,3,4,5,6,null]" >want &&
	test_cmp want seqs &&
	data out | tail -n 1 | jq -e ". == {\"type\":\"timeout\"}"
'

test_expect_success 'content type, cache control and an id: on every record event' '
	curl -sN -D hdr --max-time 5 "$URL/stream?n=2&timeout=0.3" >out &&
	grep -qi "^content-type: text/event-stream" hdr && grep -qi "^cache-control: no-cache" hdr &&
	[ $(grep -c "^id: tt1-" out) -eq 2 ] && [ $(grep -c "^data: {\"ts\"" out) -eq 2 ]
'

test_expect_success 'Last-Event-ID resumes exactly after that event' '
	curl -sN --max-time 5 "$URL/stream?n=4&timeout=0.3" >out &&
	id=$(grep "^id: " out | sed -n 2p | sed "s/^id: //") && echo "resume after $id" &&
	ingest 3 s-1 api info 7 &&
	curl -sN --max-time 5 -H "Last-Event-ID: $id" "$URL/stream?timeout=0.5" >out2 &&
	data out2 | jq -s -c "map(.seq)" >seqs && echo "[5,6,7,8,9,null]" >want &&
	test_cmp want seqs
'

test_expect_success '?after= is the same as Last-Event-ID; a bad cursor is 400' '
	curl -sN --max-time 5 "$URL/stream?n=1&timeout=0.3" >out &&
	id=$(grep "^id: " out | sed "s/^id: //") &&
	curl -sN --max-time 5 "$URL/stream?after=$id&timeout=0.3" >out2 &&
	[ $(grep -c "^id: " out2) -eq 0 ] &&
	c=$(req GET "/stream?after=garbage") && expect_code 400 "$c"
'

test_expect_success 'resume across many events: no gap, no duplicate' '
	curl -sN --max-time 10 "$URL/stream?timeout=2" >a & ap=$!
	wait_sse 1 && ingest 50 s-2 api info 100 && sleep 0.3 && ingest 50 s-2 api info 150 &&
	wait $ap &&
	mid=$(grep "^id: " a | sed -n 30p | sed "s/^id: //") &&
	curl -sN --max-time 5 -H "Last-Event-ID: $mid" "$URL/stream?timeout=0.5" >b &&
	{ data a | jq -c "select(.seq) | .seq" | head -n 30; data b | jq -c "select(.seq) | .seq"; } >got &&
	seq 100 199 >want && test_cmp want got
'

test_expect_success 'filters: service, level (at least), FIELD=VALUE, grep' '
	curl -sN --max-time 10 "$URL/stream?service=web&level=warn&timeout=3" >f1 & p1=$!
	curl -sN --max-time 10 "$URL/stream?seq=302&timeout=3" >f2 & p2=$!
	curl -gsN --max-time 10 "$URL/stream?grep=rec%2030[45]&timeout=3" >f3 & p3=$!
	wait_sse 3 &&
	ingest 2 s-3 web info 300 && ingest 2 s-3 web error 302 && ingest 2 s-3 db error 304 &&
	wait $p1 $p2 $p3 &&
	data f1 | jq -s -c "map(select(.seq)|.seq)" >g1 && echo "[302,303]" >w1 && test_cmp w1 g1 &&
	data f2 | jq -s -c "map(select(.seq)|.seq)" >g2 && echo "[302]" >w2 && test_cmp w2 g2 &&
	data f3 | jq -s -c "map(select(.seq)|.seq)" >g3 && echo "[304,305]" >w3 && test_cmp w3 g3
'

test_expect_success 'a bad filter is 400' '
	c=$(req GET "/stream?level=loud") && expect_code 400 "$c" &&
	c=$(req GET "/stream?since=notatime") && expect_code 400 "$c"
'

test_expect_success 'idle stream gets ": keepalive" and outlives --header-timeout' '
	curl -sN --max-time 10 "$URL/stream?timeout=4" >k & kp=$!
	sleep 2 && ingest 1 s-4 api info 400 && wait $kp &&
	grep -q "^: keepalive" k && data k | jq -e -s "map(select(.seq))|.[0].seq == 400"
'

test_expect_success 'GET /traces/{id}/stream: replay in ts order, then only that id live' '
	ingest 3 t-1 api info 500 &&
	curl -sN --max-time 15 "$URL/traces/t-1/stream?timeout=4" >t & tp=$!
	wait_sse 1 && ingest 2 t-2 api info 600 && ingest 2 t-1 api info 700 && wait $tp &&
	data t | jq -s -c "map(.seq)" >g && echo "[500,501,502,700,701,null]" >w && test_cmp w g &&
	data t | tail -n 1 | jq -e ". == {\"type\":\"timeout\"}"
'
ttd_stop

# --- a client that stops reading is dropped with a final event
cat >"$TEST_DIR/slow.py" <<'PY'
import socket, sys, time
# slow.py PORT: subscribe, read nothing for 3 s, then read all; print the last data line
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
c.connect(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n")
time.sleep(3)
c.settimeout(5); buf = b""
while True:
    try:
        d = c.recv(65536)
    except socket.timeout:
        break
    if not d: break
    buf += d
lines = [l for l in buf.split(b"\n") if l.startswith(b"data: ")]
print(lines[-1].decode() if lines else "none")
PY
ttd_start --sse-max-buffer 64K || exit 1
test_expect_success 'a stream client that falls behind is dropped with a final event' '
	python3 slow.py '"$PORT"' >last & sp=$!
	sleep 0.5 &&
	for i in 1 2 3 4 5 6 7 8; do ingest 500 slow api info $((i * 1000)) || exit 1; done &&
	wait $sp && cat last &&
	sed "s/^data: //" last | jq -e ".type == \"dropped\"" &&
	c=$(req GET /metrics) && grep -Eq "^ttd_sse_dropped_total 1$" body
'
test_expect_success 'other streams and ingest are unaffected' '
	c=$(req GET /health) && expect_code 200 "$c" && expect_json ".status == \"ok\""
'
ttd_stop

ttd_start --sse-max-clients 1 || exit 1
test_expect_success 'streams over --sse-max-clients get 503' '
	curl -sN --max-time 5 "$URL/stream?timeout=1.5" >/dev/null & sp=$!
	wait_sse 1 && c=$(req GET "/stream?timeout=1") && expect_code 503 "$c" &&
	wait $sp && c=$(req GET "/stream?timeout=0.2") && expect_code 200 "$c"
'
ttd_stop
test_done
