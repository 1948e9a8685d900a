#!/bin/sh
# bench/run.sh -- what `make bench` runs (after building $BUILD/bin/tt-gen and
# $BUILD/bench/ttbench):
#   1. ttbench: every in-process figure, TeraTrace and SQLite side by side,
#      for each size in $BENCH_N; writes bench/RESULTS.md;
#   2. bench/tools.sh: whole-process figures of the built tools and ttd
#      (each section only when its binaries exist), appended to RESULTS.md;
#   3. removes the work files (BENCH_KEEP=1 keeps them).
set -eu

BUILD=${BUILD:-build}
BENCH_N=${BENCH_N:-"1000000 10000000"}
OUT=${BENCH_OUT:-bench/out}
RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}

export BENCH_CMD="make bench BENCH_N=\"$BENCH_N\"${BUILD:+ BUILD=$BUILD}"
mkdir -p "$OUT"
start=$(date +%s)
"$BUILD/bench/ttbench" run --out "$OUT" --sizes "$BENCH_N" --results "$RESULTS" \
	--keep-largest
kept=$(cat "$OUT/kept" 2>/dev/null || true)
if [ -n "$kept" ] && [ -d "$kept" ]; then
	BUILD=$BUILD bench/tools.sh "$kept" >>"$RESULTS" || echo "bench/tools.sh failed" >&2
fi
echo "bench: total $(( $(date +%s) - start )) s; results in $RESULTS" >&2
if [ "${BENCH_KEEP:-0}" != 1 ]; then
	rm -rf "$OUT"
fi
