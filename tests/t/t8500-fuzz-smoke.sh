#!/bin/sh
# libFuzzer smoke: every target of tests/fuzz/ runs its checked-in corpus
# (seeds and every regress-* input of a bug it once found) and then a few
# thousand fresh mutations from a fixed seed, under ASan+UBSan with the
# memory limits of tests/fuzz/run.sh. `make fuzz` runs them for minutes.
# The binaries are built by `make test` (tests/fuzz/rules.mk) into
# build-fuzzer (for build/ and build-san/ alike: they are sanitized either
# way); without clang's libFuzzer this suite is skipped.
. ./lib.sh

TOP=${TT_TOP:-$(cd ../.. && pwd)}
base=${TT_BUILD%-san}
FB=$base-fuzzer
targets=$(cd "$TOP/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
runs=${FUZZ_SMOKE_RUNS:-}
[ -n "${TT_LONG:-}" ] && runs=${runs:-100000}

missing=
for t in $targets; do [ -x "$FB/fuzz-$t" ] || missing="$missing $t"; done
if [ -n "$missing" ] && command -v clang >/dev/null 2>&1; then
	# not built yet (the suite run on its own): build them as make test would
	make -C "$TOP" --no-print-directory BUILD="${base##*/}" fuzz-build >"$TEST_DIR/build.log" 2>&1 ||
		{ tail -n 20 "$TEST_DIR/build.log"; }
	missing=
	for t in $targets; do [ -x "$FB/fuzz-$t" ] || missing="$missing $t"; done
fi
if [ -n "$missing" ]; then
	for t in $targets; do
		test_skip "fuzz-$t smoke" "no libFuzzer build (clang and libclang-rt-14-dev)"
	done
	test_done
	exit 0
fi

for t in $targets; do
	# the segment and HTTP targets run whole stores and connections per
	# input: fewer fresh runs keep each target to a few seconds
	case $t in
	store|http) n=${runs:+$((runs / 10))}; n=${n:-500} ;;
	*) n=${runs:-5000} ;;
	esac
	seeds=$(ls "$TOP/tests/fuzz/corpus/$t" | wc -l)
	regress=$(ls "$TOP/tests/fuzz/corpus/$t" | grep -c '^regress-')
	test_expect_success "fuzz-$t: $seeds corpus inputs ($regress regressions) + $n fresh runs" '
		start=$(date +%s)
		FUZZ_SMOKE_RUNS=$n "$TOP/tests/fuzz/run.sh" "$FB" $t smoke >log 2>&1; rc=$?
		cat log
		echo "# fuzz-$t: $(sed -n "s/^stat::number_of_executed_units: *//p" log) inputs," \
			"peak RSS $(sed -n "s/^stat::peak_rss_mb: *//p" log) MB, $(($(date +%s) - start)) s"
		[ $rc -eq 0 ]
	'
	sed -n 's/^\(# fuzz-.*\)/\1/p' "$TEST_DIR/out.$test_count"
done
test_done
