#!/bin/sh
# ttd against hostile HTTP clients: huge and compressed bodies with ttd's
# peak memory measured, 500 slow-header connections while a normal request
# must still be answered in < 1 s, what it listens on by default, Host and
# framing tricks (absolute-form targets, duplicate Host / Content-Length),
# oversized request lines and headers, bad chunked encoding, pipelining, a
# body cut short. t7001 has the basic caps (20 MiB, 30 MB gzip bomb, Host
# 421, text/plain 415, the connection cap with busy connections, timeouts).
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

# peak RSS ttd may reach in these tests (VmHWM): bodies are capped at 20 MiB
# and decoded one at a time; under ASan the shadow memory and the allocator's
# quarantine add a few hundred MiB
case $TT_BUILD in *-san) RSS_MAX_MB=640 ;; *) RSS_MAX_MB=100 ;; esac

hwm_mb() { echo $(($(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$TTD_PID/status) / 1024)); }
rss_ok() { m=$(hwm_mb); echo "# ttd peak RSS (VmHWM) $m MiB, bound $RSS_MAX_MB MiB"; [ "$m" -lt $RSS_MAX_MB ]; }

# raw.py PORT [shut]: send stdin as is on one connection; print one line per
# response ("200", "413", ...), then "closed" if ttd closed the connection
# (or "open" after 5 s of silence). With "shut" the client half-closes first.
cat >"$TEST_DIR/raw.py" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.settimeout(5)
try:
    c.sendall(sys.stdin.buffer.read())
except (BrokenPipeError, ConnectionResetError):
    pass
if "shut" in sys.argv[2:]:
    c.shutdown(socket.SHUT_WR)
buf, state = b"", "open"
try:
    while True:
        d = c.recv(65536)
        if not d:
            state = "closed"; break
        buf += d
except socket.timeout:
    pass
except ConnectionResetError:
    state = "closed"
while buf.startswith(b"HTTP/"):
    head, _, rest = buf.partition(b"\r\n\r\n")
    print(head.split(b" ")[1].decode())
    n = 0
    for h in head.split(b"\r\n")[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    buf = rest[n:]
print(state)
PY
raw() { python3 "$TEST_DIR/raw.py" "$PORT" "$@"; }
# the "# ..." measurements a test printed, shown whether it passed or not
notes() { sed -n 's/^# /# /p' "$TEST_DIR/out.$test_count"; }

# ---- what ttd listens on by default
test_expect_success 'by default ttd listens on 127.0.0.1 only (no 0.0.0.0 or :: listener)' '
	"$TTD" -D "$STORE" --port-file def.port 2>def.log & dp=$!
	i=0; while [ ! -s def.port ] && kill -0 $dp 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	if [ ! -s def.port ]; then
		# port 8099 taken by someone else: the same default address on a free port
		kill $dp 2>/dev/null; wait $dp; grep "could not listen" def.log || return 1
		"$TTD" -D "$STORE" --http 0 --port-file def.port 2>def.log & dp=$!
		i=0; while [ ! -s def.port ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	fi
	echo "# default listener on port $(cat def.port)" &&
	inodes=$(ls -l /proc/$dp/fd | sed -n "s/.*socket:\[\([0-9]*\)\]/\1/p") &&
	for f in /proc/net/tcp /proc/net/tcp6; do
		for ino in $inodes; do awk -v i=$ino "\$4 == \"0A\" && \$10 == i { print FILENAME, \$2 }" $f; done
	done >listen &&
	kill -TERM $dp && wait $dp &&
	cat listen && [ $(wc -l <listen) -eq 1 ] &&
	grep -q "^/proc/net/tcp 0100007F:" listen
'
notes

ttd_start --header-timeout 2 --request-timeout 4 || { echo "Bail out! ttd did not start"; exit 1; }

# ---- bodies
test_expect_success 'a 21 MiB body is 413 (Content-Length and chunked alike)' '
	head -c 22020096 /dev/zero | tr "\0" " " >big &&
	c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @big) && expect_code 413 "$c" &&
	c=$(req POST /ingest -H "Content-Type: application/json" -H "Transfer-Encoding: chunked" --data-binary @big) &&
	expect_code 413 "$c" && rss_ok
'
notes

test_expect_success 'gzip bombs (1 GiB of zeros in 1 MiB, 4 at once) are 413 after 20 MiB; RSS bounded' '
	python3 - bomb.gz 1024 <<-\PY &&
	import struct, sys, zlib
	# deflate repeats itself after a full flush: one compressed MiB, n times
	n = int(sys.argv[2]); z = b"\0" * (1 << 20)
	c = zlib.compressobj(9, zlib.DEFLATED, -15)
	first = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
	rep = c.compress(z) + c.flush(zlib.Z_FULL_FLUSH)
	last = c.compress(z) + c.flush()
	crc = 0
	for i in range(n): crc = zlib.crc32(z, crc)
	open(sys.argv[1], "wb").write(b"\x1f\x8b\x08\0\0\0\0\0\x02\xff" + first + rep * (n - 2) +
	    last + struct.pack("<II", crc, (n << 20) & 0xffffffff))
	PY
	ls -l bomb.gz && [ $(wc -c <bomb.gz) -lt 1200000 ] &&
	for i in 1 2 3 4; do
		curl -s -o bomb.$i -w "%{http_code}\n" --max-time 20 -H "Content-Type: application/json" \
			-H "Content-Encoding: gzip" --data-binary @bomb.gz "$URL/ingest" >code.$i &
	done; wait &&
	cat code.* && [ "$(sort -u code.*)" = 413 ] && grep -q decompression bomb.1 &&
	c=$(req GET /metrics) && grep "^ttd_body_too_large_total" body && rss_ok
'
notes

# ---- slow clients
cat >"$TEST_DIR/slow.py" <<'PY'
import socket, sys, time, select
# slow.py PORT N READY: N connections, half send a partial request line and
# then nothing, half trickle a header byte every 0.5 s; touch READY once all
# are open; report how many ttd closed and when (at most 12 s)
port, n = int(sys.argv[1]), int(sys.argv[2])
t0 = time.time()
socks, closed = [], {}
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: local")
    except OSError:
        closed[i] = time.time() - t0 # replaced at the cap already
    s.setblocking(False)
    socks.append(s)
open(sys.argv[3], "w").close()
last = time.time()
while len(closed) < n and time.time() - t0 < 12:
    live = [s for i, s in enumerate(socks) if i not in closed]
    r, _, _ = select.select(live, [], [], 0.1)
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if not d:
            closed[socks.index(s)] = time.time() - t0
    if time.time() - last >= 0.5:
        last = time.time()
        for i, s in enumerate(socks):
            if i % 2 and i not in closed:
                try:
                    s.send(b"h")
                except OSError:
                    closed[i] = time.time() - t0
idle = sorted(t for i, t in closed.items() if i % 2 == 0)
trickle = sorted(t for i, t in closed.items() if i % 2)
print("%d of %d closed by ttd" % (len(closed), n))
print("seconds idle %.1f %.1f trickling %.1f %.1f" % (idle[0] if idle else -1,
    idle[-1] if idle else -1, trickle[0] if trickle else -1, trickle[-1] if trickle else -1))
sys.exit(0 if len(closed) == n else 1)
PY

# below the connection cap: only the timeouts close them
test_expect_success '200 slow-header connections are closed by --header-timeout 2 (idle) and --request-timeout 4 (trickling)' '
	python3 slow.py '"$PORT"' 200 ready >slow.out & sp=$!
	i=0; while [ ! -e ready ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	wait $sp; rc=$?; sed "s/^/# /" slow.out; [ $rc -eq 0 ] &&
	awk "/^seconds/ { ok = \$3 >= 1.5 && \$4 <= 3.6 && \$6 >= 3.5 && \$7 <= 6 } END { exit !ok }" slow.out
'
notes

test_expect_success '500 slow-header connections (over the cap of 256): requests are still answered in < 1 s' '
	rm -f ready; fd0=$(ls /proc/'"$TTD_PID"'/fd | wc -l)
	python3 slow.py '"$PORT"' 500 ready >slow.out & sp=$!
	i=0; while [ ! -e ready ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; [ -e ready ] &&
	for i in 1 2 3 4 5; do
		curl -s -o /dev/null -w "%{http_code} %{time_total}\n" --max-time 5 "$URL/health"
		curl -s -o /dev/null -w "%{http_code} %{time_total}\n" --max-time 5 -H "Content-Type: application/json" \
			--data-binary "{\"corr\":\"during-slow-$i\"}" "$URL/ingest"
		sleep 0.2
	done >times &&
	wait $sp; rc=$?; sed "s/^/# /" slow.out; cat times; [ $rc -eq 0 ] &&
	awk "\$1 != 200 || \$2 >= 1 { bad++ } END { exit bad }" times &&
	echo "# slowest answer $(sort -k2 -n times | tail -n 1 | cut -d" " -f2) s with 500 slow clients" &&
	c=$(req GET /metrics) && grep "^ttd_connections_replaced_total [1-9]" body &&
	sleep 0.3 && fd1=$(ls /proc/'"$TTD_PID"'/fd | wc -l) && echo "fds $fd0 -> $fd1" && [ $fd1 -le $((fd0 + 2)) ] &&
	rss_ok
'
notes

# ---- Host and framing tricks
test_expect_success 'an absolute-form target naming a foreign host is 421 whatever Host says' '
	printf "GET http://evil.example/health HTTP/1.1\r\nHost: localhost\r\n\r\n" | raw shut >out &&
	cat out && [ "$(head -n 1 out)" = 421 ] &&
	printf "GET http://localhost/health HTTP/1.1\r\nHost: localhost\r\n\r\n" | raw shut >out &&
	[ "$(head -n 1 out)" = 200 ]
'
notes

test_expect_success 'two Host or two Content-Length headers: 400 and the connection is closed' '
	printf "GET /health HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n" | raw >out &&
	cat out && [ "$(cat out | tr "\n" " ")" = "400 closed " ] &&
	printf "POST /ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n" | raw >out &&
	cat out && [ "$(cat out | tr "\n" " ")" = "400 closed " ] &&
	printf "POST /ingest HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" | raw >out &&
	cat out && [ "$(cat out | tr "\n" " ")" = "400 closed " ]
'
notes

test_expect_success 'POSTs browsers can send cross-site are refused: TEXT/PLAIN 415, no type with a foreign Origin 403' '
	c=$(req POST /ingest -H "Content-Type: TEXT/PLAIN" --data-binary "{}") && expect_code 415 "$c" &&
	printf "POST /ingest HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nContent-Length: 2\r\n\r\n{}" | raw shut >out &&
	[ "$(head -n 1 out)" = 403 ]
'
notes

# ---- oversized and malformed requests
test_expect_success 'a 20 KiB header, a 1 MB URI, 5000 headers: 400 and closed' '
	{ printf "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: "; head -c 20480 /dev/zero | tr "\0" a; printf "\r\n\r\n"; } | raw >out &&
	[ "$(cat out | tr "\n" " ")" = "400 closed " ] &&
	{ printf "GET /traces/"; head -c 1000000 /dev/zero | tr "\0" a; printf " HTTP/1.1\r\nHost: localhost\r\n\r\n"; } | raw >out &&
	[ "$(cat out | tr "\n" " ")" = "400 closed " ] &&
	{ printf "GET /health HTTP/1.1\r\nHost: localhost\r\n"; i=0; while [ $i -lt 5000 ]; do printf "X-%d: 1\r\n" $i; i=$((i + 1)); done; printf "\r\n"; } | raw >out &&
	[ "$(cat out | tr "\n" " ")" = "400 closed " ]
'
notes

test_expect_success 'invalid chunked bodies (bad size, 2^72 size, negative, no end): refused or dropped, nothing stored' '
	for size in zz ffffffffffffffffff -5; do
		printf "POST /ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n{\"corr\":\"chunky\"}\r\n0\r\n\r\n" $size | raw >out &&
		echo "size $size: $(cat out | tr "\n" " ")" && grep -q "^4[0-9][0-9]$" out && grep -q closed out || return 1
	done &&
	printf "POST /ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"corr\":\"chunk\"}\r\n" | raw shut >out &&
	[ "$(cat out | tr "\n" " ")" = "closed " ] &&
	c=$(req GET /traces/chunky) && expect_code 404 "$c" &&
	c=$(req GET /traces/chunk) && expect_code 404 "$c"
'
notes

test_expect_success 'pipelined requests on one connection are answered in order' '
	{ printf "POST /ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"corr\":\"piped\"}"
	  printf "GET /traces/piped HTTP/1.1\r\nHost: localhost\r\n\r\n"
	  printf "GET /nope HTTP/1.1\r\nHost: localhost\r\n\r\n"
	  printf "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"; } | raw >out &&
	cat out && [ "$(cat out | tr "\n" " ")" = "200 200 404 200 closed " ]
'
notes

test_expect_success 'a body shorter than its Content-Length, then close: no answer, nothing stored' '
	printf "POST /ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"corr\":\"cut\"}" | raw shut >out &&
	[ "$(cat out | tr "\n" " ")" = "closed " ] &&
	c=$(req GET /traces/cut) && expect_code 404 "$c"
'
notes

test_expect_success 'after all that ttd is healthy and answers what it was sent' '
	c=$(req GET /health) && expect_code 200 "$c" &&
	c=$(req GET /traces/during-slow-5) && expect_code 200 "$c" && rss_ok
'
notes
ttd_stop >"$TEST_DIR/stop.out" 2>&1; stop_rc=$?
test_expect_success 'ttd stops cleanly (exit 0) and logged no error' '
	cat stop.out; [ $stop_rc -eq 0 ] && ! grep " error: " ttd.log
'
notes

# ---- bodies of tiny elements: the decoder's memory, in a ttd of its own
# (VmHWM only grows). A batch is counted before anything is built and then
# decoded one element at a time (an OTLP export one span or log record at a
# time); a record stops being built at more values than it could have bytes.
case $TT_BUILD in *-san) TINY_MAX_MB=1500 ;; *) TINY_MAX_MB=256 ;; esac
test_expect_success 'tiny-element bodies of 20 MiB (batch, envelope, record, OTLP): 413 naming the cap; peak RSS bounded; memory given back' '
	python3 - <<-\PY &&
	n = 20 * 1024 * 1024 // 2 - 64
	z = ",".join(["0"] * n)
	open("zeros", "w").write("[" + z + "]")
	open("envelope", "w").write("{\"traces\":[" + z + "]}")
	open("record", "w").write("{\"ts\":1,\"corr\":\"a\",\"x\":[" + z + "]}")
	open("element", "w").write("[{\"corr\":\"t-1\"},{\"corr\":\"t-2\",\"x\":[" +
	    ",".join(["0"] * (1 << 20)) + "]},{\"corr\":\"t-3\"}]")
	open("otlp", "w").write("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" + z + "]}]}]}")
	PY
	TTD_PID= && STORE=$TEST_DIR/tiny && ttd_start && m0=$(hwm_mb) &&
	c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @zeros) &&
	expect_code 413 "$c" && grep -q "batch of 10485696 elements exceeds the limit of 100000" body &&
	c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @envelope) &&
	expect_code 413 "$c" && grep -q "batch of 10485696 elements" body &&
	c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @record) &&
	expect_code 413 "$c" && grep -q "record of more than 1048576 values" body &&
	c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @element) &&
	expect_code 200 "$c" && expect_json ".accepted == 2 and .rejected == 1" &&
	grep -q "record of more than 1048576 values" body &&
	c=$(req POST /v1/traces -H "Content-Type: application/json" --data-binary @otlp) &&
	expect_code 413 "$c" && grep -q "export of 10485696 elements exceeds the limit of 100000" body &&
	m=$(hwm_mb) && r=$(($(sed -n "s/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p" /proc/$TTD_PID/status) / 1024)) &&
	echo "# tiny-element bodies of 20 MiB: ttd peak RSS $m MiB (bound $TINY_MAX_MB; 783 before streaming), $r MiB after, $m0 at start" &&
	[ $m -lt $TINY_MAX_MB ] &&
	case $TT_BUILD in *-san) true ;; *) [ $r -lt 64 ] ;; esac &&
	c=$(req GET "/traces/t-3") && expect_code 200 "$c" &&
	c=$(req GET "/traces/t-2") && expect_code 404 "$c" &&
	ttd_stop
'
notes
test_done
