#!/bin/sh
# bench/ttd.sh DIR -- ttd's ingest figures as a Markdown table (the hook
# bench/tools.sh calls; issue 4 goals: HTTP JSON batches of 1000 over
# keep-alive >= 300 k records/s, unix-socket msgpack >= 1 M records/s, ack
# latency p99 <= commit interval + 5 ms, RSS <= 64 MiB).
#
#   HTTP:   wrk (Debian) with a Lua body of 1000 tt-gen records, 2 threads,
#           8 keep-alive connections, TTD_BENCH_SECS seconds (default 5).
#   socket: TTD_BENCH_N (default 1000000) tt-gen records as msgpack streamed
#           over DIR/ttd.sock by a small python client, timed until the
#           final ack (every record durable).
#   latency: ttd's own ttd_ack_latency_seconds histogram (request complete
#           -> records durable), bucket upper bounds; wrk's p99 is end to end.
#   memory: VmHWM (peak RSS, includes LMDB's file-backed map pages) and
#           RssAnon (heap) of the ttd process at the end of each run.
set -u
DIR=${1:?usage: bench/ttd.sh DIR}
BUILD=${BUILD:-build}
BIN=$BUILD/bin
GEN_START=2026-11-21T00:00:00Z # = GEN_START_NS (bench/gen.h), what ttbench uses
N=${TTD_BENCH_N:-1000000}
SECS=${TTD_BENCH_SECS:-5}
GEN="$BIN/tt-gen --start $GEN_START" # fixed start: the same records every run
mkdir -p "$DIR"

start_ttd() { # start_ttd NAME [ARGS] -> PID, PORT, STORE
	STORE="$DIR/$1"; shift
	rm -rf "$STORE" "$DIR/port"
	"$BIN/ttd" -D "$STORE" --http 127.0.0.1:0 --port-file "$DIR/port" --log-level warn "$@" \
		2>>"$DIR/ttd.log" &
	PID=$!
	i=0
	while [ ! -s "$DIR/port" ]; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "ttd did not start"; return 1; }
		sleep 0.05
	done
	PORT=$(cat "$DIR/port")
}
stop_ttd() {
	HWM=$(awk '/^VmHWM/{printf "%.1f", $2/1024}' /proc/$PID/status)
	ANON=$(awk '/^RssAnon/{printf "%.1f", $2/1024}' /proc/$PID/status)
	kill -TERM $PID; wait $PID
}
# p QUANTILE: upper bound of the ack-latency bucket holding that quantile (ms)
ack_quantile() {
	curl -s "http://127.0.0.1:$PORT/metrics" | awk -v q="$1" '
		/^ttd_ack_latency_seconds_bucket/ { match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5);
			n++; les[n] = le; cum[n] = $2 }
		/^ttd_ack_latency_seconds_count/ { total = $2 }
		END { if (total == 0) { print "n/a"; exit }
			for (i = 1; i <= n; i++) if (cum[i] >= q * total) {
				if (les[i] == "+Inf") print "> 2500"; else printf "%g\n", les[i] * 1000; exit } }'
}

echo "| path | records/s | ack latency p50 / p99 (ms, ttd histogram) | end-to-end p99 (ms) | peak RSS / heap (MiB) | notes |"
echo "|---|---:|---:|---:|---:|---|"

# ---- HTTP JSON batches
if ! command -v wrk >/dev/null; then
	echo "| HTTP JSON, 1000/request | not measured | | | | wrk is not installed |"
else
	$GEN 1000 --format jsonl | jq -s -c . >"$DIR/body.json"
	cat >"$DIR/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$DIR/body.json"); wrk.body = f:read("*a"); f:close()
LUA
	start_ttd http --socket off || exit 1
	wrk -t2 -c8 -d"${SECS}s" --latency -s "$DIR/post.lua" "http://127.0.0.1:$PORT/ingest" >"$DIR/wrk.out" 2>&1
	rps=$(awk '/^Requests\/sec/{print $2}' "$DIR/wrk.out")
	p99=$(awk '$1 == "99%" {print $2}' "$DIR/wrk.out")
	non2xx=$(awk '/Non-2xx/{print $NF}' "$DIR/wrk.out")
	a50=$(ack_quantile 0.5) a99=$(ack_quantile 0.99)
	stop_ttd
	echo "| HTTP JSON, 1000/request, 8 keep-alive conns | $(awk -v r="$rps" 'BEGIN{printf "%.0f", r * 1000}') | $a50 / $a99 | $p99 | $HWM / $ANON | ${rps} req/s; non-2xx: ${non2xx:-0}; commit interval 10 ms, sync full |"
fi

# ---- unix socket msgpack
if ! command -v python3 >/dev/null; then
	echo "| unix socket msgpack | not measured | | | | python3 is not installed |"
else
	$GEN "$N" --format msgpack >"$DIR/recs.mp"
	start_ttd sock || exit 1
	python3 - "$STORE/ttd.sock" "$DIR/recs.mp" "$N" >"$DIR/sock.out" <<'PY'
import socket, sys, time
path, file, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(file, "rb").read()
s = socket.socket(socket.AF_UNIX); s.connect(path)
want = b"\xa3ack" + (bytes([n]) if n < 128 else b"\xcf" + n.to_bytes(8, "big"))
t0 = time.time(); s.sendall(data); s.shutdown(socket.SHUT_WR)
buf = b""
while want not in buf[-64:]:
    d = s.recv(65536)
    if not d: break
    buf = buf[-64:] + d
dt = time.time() - t0
print("%.0f %.3f" % (n / dt, dt))
PY
	a50=$(ack_quantile 0.5) a99=$(ack_quantile 0.99)
	stop_ttd
	read -r rate dt <"$DIR/sock.out"
	echo "| unix socket msgpack, one stream | ${rate:-failed} | n/a (socket acks are cumulative) | | $HWM / $ANON | $N records in ${dt:-?} s until the final ack; client and ttd share the 2 cores |"
	# the same file through tt-ingest: the store's own ceiling, for comparison
	if [ -x "$BIN/tt-ingest" ]; then
		rm -rf "$DIR/ingest"
		t0=$(date +%s.%N)
		"$BIN/tt-ingest" -D "$DIR/ingest" --format msgpack -q "$DIR/recs.mp" 2>/dev/null
		t1=$(date +%s.%N)
		echo "| (tt-ingest, same msgpack file) | $(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n / (b - a)}') | | | | the store writer's rate without ttd |"
	fi
	rm -f "$DIR/recs.mp"
fi
