#!/bin/sh
# bench/client.sh -- libttclient's cost per span on the caller's thread, as a
# Markdown section (bench/tools.sh appends it to RESULTS.md; runs alone too:
# `BUILD=build bench/client.sh`).
#
# `ttclient-example --bench` times 200 000 spans (start, one integer
# attribute, end) on one thread against a real ttd on a temporary store,
# CLIENT_BENCH_RUNS times (default 5); the medians are reported, wall time
# and the caller thread's CPU time (a shared machine inflates the first by
# preempting the thread, not the second). ttd shares the machine and stores
# fewer records per second than the loop makes, so most spans find the
# buffer full and are dropped: the figure is the caller's cost, not ttd's
# rate. A second row gives the client a 64 MiB buffer, so that no span is
# dropped: each is packed and queued, and the buffer grows into fresh pages
# (their first touch is the caller's). Goal: <= 200 ns per span.
set -u
BUILD=${BUILD:-build}
BIN=$BUILD/bin
RUNS=${CLIENT_BENCH_RUNS:-5}

echo
echo "### libttclient: cost per span on the caller's thread (goal ≤ 200 ns)"
echo
if [ ! -x "$BIN/ttclient-example" ] || [ ! -x "$BIN/ttd" ]; then
	echo "not measured: $BIN/ttclient-example or $BIN/ttd is not built yet."
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ttbench-client.XXXXXX")
"$BIN/ttd" -D "$tmp/store" --http 127.0.0.1:0 --port-file "$tmp/port" --log-level warn \
	2>>"$tmp/ttd.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1)); [ $i -gt 200 ] && { echo "not measured: ttd did not start"; exit 0; }
	sleep 0.05
done
# run NAME ARGS: RUNS runs of ttclient-example --bench ARGS; one row per figure
run() {
	name=$1; shift
	: >"$tmp/runs"
	r=0
	while [ $r -lt "$RUNS" ]; do
		"$BIN/ttclient-example" -s "$tmp/store/ttd.sock" --bench "$@" >>"$tmp/runs" || true
		r=$((r + 1))
	done
	# "per span (start, one attribute, end): W ns (caller thread CPU C ns); dropped D of N"
	sed -n 's/.*: \([0-9]*\) ns (caller thread CPU \([0-9]*\) ns); dropped \([0-9]*\) of \([0-9]*\)$/\1 \2 \3 \4/p' \
		"$tmp/runs" >"$tmp/nums"
	n=$(wc -l <"$tmp/nums")
	if [ "$n" -eq 0 ]; then
		echo "| $name | not measured: ttclient-example --bench printed nothing | | | | |"
		return
	fi
	m=$(( (n + 1) / 2 ))
	wall=$(cut -d" " -f1 "$tmp/nums" | sort -n | sed -n "${m}p")
	cpu=$(cut -d" " -f2 "$tmp/nums" | sort -n | sed -n "${m}p")
	drops=$(sort -n "$tmp/nums" | sed -n "${m}p" | cut -d" " -f3,4 | sed 's/ / of /')
	all() { cut -d" " -f"$1" "$tmp/nums" | paste -sd, - | sed 's/,/, /g'; }
	verdict() { [ "$1" -le 200 ] && echo "**met**" || echo "**missed**"; }
	echo "| $name | $wall ns ($(all 1)) | $cpu ns ($(all 2)) | $drops | ≤ 200 ns | $(verdict "$cpu") (CPU), $(verdict "$wall") (wall) |"
}
echo "| \`ttclient-example --bench\` (200 000 spans: start, one attribute, end) | wall per span, median (runs) | caller thread CPU per span, median (runs) | dropped (median run) | goal | |"
echo "|---|---|---|---|---|---|"
run "default buffer (8 MiB): ttd is slower than the loop, so most spans find it full" 
run "\`--buffer-mb 64\`: every span is queued (the buffer grows into fresh memory)" --buffer-mb 64
echo
echo "Command: \`BUILD=$BUILD bench/client.sh\` (\`ttclient-example --bench [--buffer-mb 64]\` against ttd on a temporary store, $RUNS runs each; wall time includes the preemption of a shared 2-core machine, where ttd and the sender thread run beside the loop)."
