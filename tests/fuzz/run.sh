#!/bin/sh
# run.sh FUZZ_BUILD TARGET [MODE] [LIBFUZZER-ARGS...] -- run one libFuzzer target
# with the limits every run shares (tests/fuzz/rules.mk says why these).
#
#   MODE fuzz (default)  fuzz: new inputs go to FUZZ_BUILD/corpus/TARGET, the
#                        checked-in tests/fuzz/corpus/TARGET is only read;
#                        crashes to FUZZ_BUILD/artifacts/TARGET-*
#   MODE smoke           every checked-in input, then -runs=N fresh ones
#                        (FUZZ_SMOKE_RUNS, default 2000) from a fixed -seed;
#                        nothing is written outside a temporary directory
#   MODE merge           add to the checked-in corpus the inputs of
#                        FUZZ_BUILD/corpus/TARGET that reach new edges
set -u
fb=$1 t=$2; shift 2
mode=fuzz
case "${1:-}" in fuzz|smoke|merge) mode=$1; shift ;; esac
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$fb/fuzz-$t seeds=$top/tests/fuzz/corpus/$t
[ -x "$bin" ] || { echo "run.sh: no fuzzer '$bin' (make fuzz-build)" >&2; exit 2; }
mkdir -p "$seeds"

case $t in
store) max_len=262144 ;; # a segment file with a few blocks
*) max_len=65536 ;;
esac
set -- -max_len=$max_len -malloc_limit_mb=64 -rss_limit_mb=768 -timeout=20 "$@"
[ -f "$top/tests/fuzz/$t.dict" ] && set -- -dict="$top/tests/fuzz/$t.dict" "$@"
# keep ASan's quarantine (it counts as RSS) modest; leaks are findings
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=64:detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

case $mode in
fuzz)
	mkdir -p "$fb/corpus/$t" "$fb/artifacts"
	echo "fuzz-$t: $*" >&2
	exec "$bin" -artifact_prefix="$fb/artifacts/$t-" -print_final_stats=1 "$@" \
		"$fb/corpus/$t" "$seeds"
	;;
smoke)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/tt-fuzz-smoke.XXXXXX")
	# -runs counts the corpus replay too
	runs=$(($(ls "$seeds" | wc -l) + ${FUZZ_SMOKE_RUNS:-2000}))
	"$bin" -artifact_prefix="$tmp/" -runs=$runs -seed=1 \
		-print_final_stats=1 "$@" "$tmp" "$seeds" 2>"$tmp/log"
	rc=$?
	# what the suite prints: inputs run, coverage, and the finding if any
	grep -E '^(INFO: seed corpus|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)' "$tmp/log"
	if [ $rc -ne 0 ]; then
		grep -vE '^(INFO|#[0-9])' "$tmp/log" | head -n 60
		ls "$tmp" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | sed 's/^/artifact: /'
	fi
	rm -rf "$tmp"
	exit $rc
	;;
merge)
	[ -d "$fb/corpus/$t" ] || { echo "run.sh: nothing to merge for $t" >&2; exit 0; }
	# coverage edges only (-use_counters=0): a tenth of the files for the
	# same edges, so the corpus stays small and the smoke fast
	exec "$bin" -merge=1 -use_counters=0 "$@" "$seeds" "$fb/corpus/$t"
	;;
esac
