# lib.sh -- git-style black-box test helpers for TeraTrace's shell tests.
# Each tNNNN-tool-what.sh sources this, calls test_expect_success, then test_done.
# Output is TAP ("ok N - desc" / "not ok N - desc") so tests/run.sh can count it.
set -u
TT_BUILD=${TT_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
PATH="$TT_BUILD/bin:$PATH"
export PATH
unset TERATRACE_STORE NO_COLOR
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tt-t.XXXXXX")
STORE="$TEST_DIR/store"
export TZ=UTC
test_count=0 test_failed=0
trap 'test_cleanup' EXIT
test_cleanup() {
	for p in $(jobs -p 2>/dev/null); do kill "$p" 2>/dev/null; done
	[ "$test_failed" -eq 0 ] && rm -rf "$TEST_DIR"
	true
}

# test_expect_success "description" 'shell code'
test_expect_success() {
	test_count=$((test_count + 1))
	if (cd "$TEST_DIR" && eval "$2") >"$TEST_DIR/out.$test_count" 2>&1; then
		echo "ok $test_count - $1"
	else
		test_failed=$((test_failed + 1))
		echo "not ok $test_count - $1"
		sed 's/^/#   /' "$TEST_DIR/out.$test_count" | tail -n ${TT_TAIL:-30}
	fi
}

# test_expect_code CODE "description" 'shell code' -- the code must exit with CODE
test_expect_code() {
	test_expect_success "$2" "( $3 ); rc=\$?; [ \$rc -eq $1 ] || { echo \"expected exit $1, got \$rc\"; false; }"
}

test_skip() { test_count=$((test_count + 1)); echo "ok $test_count - $1 # SKIP $2"; }

# test_cmp expected actual: diff, printing both sides on mismatch
test_cmp() {
	diff -u "$1" "$2" || { echo "expected ($1) vs got ($2) differ"; return 1; }
}

test_done() {
	echo "1..$test_count"
	[ "$test_failed" -eq 0 ]
}

# day D: 3 records dated D days before $now (default: this second), ids
# dD-1..dD-3, in a sealed segment of their own (one block): stores for gc tests
day() {
	for i in 1 2 3; do
		echo "{\"ts\":$(( (${now:-$(date +%s)} - $1 * 86400) * 1000000000 + i)),\"corr\":\"d$1-$i\",\"msg\":\"x\"}"
	done | tt-ingest -q && tt-gc --rotate -q
}
