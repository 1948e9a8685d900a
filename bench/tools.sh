#!/bin/sh
# bench/tools.sh DIR -- whole-process figures of the built tools and ttd,
# printed as Markdown sections (bench/run.sh appends them to RESULTS.md).
#
# DIR is the largest size kept by `ttbench run --keep-largest`: DIR/tt (the
# TeraTrace store), DIR/sqlite.db (the TraceHub-style database), DIR/ids.txt.
# Each section runs only when its binaries exist in $BUILD/bin; otherwise it
# says "not measured" so the gap is visible.
#
#   tt-query vs sqlite3   hyperfine, whole process, goal <= 0.6x (issue 3)
#   tt-tail -f latency    bench/follow-latency.py, goal p99 <= 20 ms (issue 3)
#   ttd                   hook: bench/ttd.sh DIR when it exists (issue 4)
#   libttclient           bench/client.sh: ns per span on the caller's thread
set -u

DIR=${1:?usage: bench/tools.sh DIR}
BUILD=${BUILD:-build}
BIN=$BUILD/bin
RUNS=${BENCH_HF_RUNS:-100}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ttbench-tools.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

n=$( (wc -l <"$DIR/ids.txt") 2>/dev/null || echo 0)
records=$(basename "$DIR")

echo
echo "## Whole-process figures (bench/tools.sh, $records records)"

# ---- tt-query ID vs sqlite3 CLI doing the same lookup
echo
echo "### tt-query ID vs sqlite3 (hyperfine, $RUNS runs each, warm)"
echo
if [ ! -x "$BIN/tt-query" ]; then
	echo "not measured: $BIN/tt-query is not built yet."
elif ! command -v hyperfine >/dev/null || ! command -v sqlite3 >/dev/null; then
	echo "not measured: hyperfine or sqlite3 is not installed."
elif [ "$n" -eq 0 ]; then
	echo "not measured: no ids in $DIR/ids.txt."
else
	echo "| id (position in ids.txt) | records | tt-query median | sqlite3 median | ratio | goal ≤ 0.6× |"
	echo "|---|---|---|---|---|---|"
	for pos in $((n / 10 + 1)) $((n / 2 + 1)) $((n - 5)); do
		id=$(sed -n "${pos}p" "$DIR/ids.txt")
		q="SELECT data FROM traces WHERE correlation_id='$id' ORDER BY ts"
		ttn=$("$BIN/tt-query" -D "$DIR/tt" -o jsonl "$id" 2>/dev/null | wc -l)
		sqn=$(sqlite3 "$DIR/sqlite.db" "$q" | wc -l)
		if ! hyperfine -N --style none --warmup 10 --runs "$RUNS" \
			--export-json "$tmp/hf.json" \
			"$BIN/tt-query -D $DIR/tt -o jsonl $id" \
			"sqlite3 $DIR/sqlite.db \"$q\"" >/dev/null 2>"$tmp/hf.err"; then
			echo "| $id ($pos) | | hyperfine failed: $(head -c 200 "$tmp/hf.err" | tr '\n' ' ') | | | |"
			continue
		fi
		python3 - "$tmp/hf.json" "$id" "$pos" "$ttn" "$sqn" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
t, s = r[0]["median"], r[1]["median"]
ratio = t / s
rec = sys.argv[4] if sys.argv[4] == sys.argv[5] else "%s vs %s **MISMATCH**" % (sys.argv[4], sys.argv[5])
print("| %s (%s) | %s | %.2f ms | %.2f ms | %.2f | %s |" % (
    sys.argv[2], sys.argv[3], rec, t * 1e3, s * 1e3, ratio,
    "**met**" if ratio <= 0.6 else "**missed**"))
EOF
	done
	echo
	echo "Commands: \`tt-query -D DIR/tt -o jsonl ID\` vs \`sqlite3 DIR/sqlite.db \"SELECT data FROM traces WHERE correlation_id='ID' ORDER BY ts\"\`, output discarded by hyperfine (-N, no shell)."
fi

# ---- tt-tail -f latency: writer flush -> line printed
echo
echo "### tt-tail -f latency (tt-ingest fed 200 records/s for 5 s)"
echo
if [ ! -x "$BIN/tt-tail" ] || [ ! -x "$BIN/tt-ingest" ]; then
	echo "not measured: $BIN/tt-tail or $BIN/tt-ingest is not built yet."
else
	python3 bench/follow-latency.py "$BIN" "$tmp/follow" 2>"$tmp/fl.err" ||
		echo "follow-latency failed: $(head -c 300 "$tmp/fl.err" | tr '\n' ' ')"
fi

# ---- ttd: HTTP JSON batches, unix-socket msgpack, ack latency, RSS
echo
echo "### ttd ingest (issue 4: HTTP ≥ 300 k rec/s, socket ≥ 1 M rec/s, ack p99 ≤ commit interval + 5 ms, RSS ≤ 64 MiB)"
echo
if [ ! -x "$BIN/ttd" ]; then
	echo "not measured: $BIN/ttd is not built yet."
elif [ ! -x bench/ttd.sh ]; then
	echo "not measured: the hook bench/ttd.sh (run as \`bench/ttd.sh DIR\`, prints a Markdown table) does not exist yet."
else
	BUILD=$BUILD bench/ttd.sh "$DIR"
fi

# ---- libttclient: the caller's cost per span
BUILD=$BUILD bench/client.sh
