#!/bin/sh
# The README's "A five-minute tour", run as written: the ```sh block under that
# heading is taken from README.md and run by bash (with pipefail, so a failed
# producer in a pipe fails too) on a fresh store, from a directory whose
# build/bin is this build's. Every command must exit 0; a command followed by
# "# -> TEXT" must print TEXT (stdout or stderr); tt-query, tt-stat and curl
# must print something. So the README cannot drift from what the code does.
. ./lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}
TOUR=$TEST_DIR/tour
mkdir -p "$TOUR/run"
ln -s "$TT_BUILD" "$TOUR/run/build"
ln -s "$TOP/contrib" "$TOUR/run/contrib"  # the tour reads contrib/alerts.example

# tour_block: the ```sh block under "## A five-minute tour"
tour_block() {
	awk '/^## A five-minute tour/ { sec = 1; next }
		sec && /^## / { exit }
		sec && !blk && /^```sh/ { blk = 1; next }
		blk && /^```/ { exit }
		blk' "$TOP/README.md"
}

# tour_script: the block as a bash script that runs each command (lines joined
# at a trailing backslash; comments and blank lines skipped) in the same shell,
# its output in out.N/err.N and "N STATUS" appended to status; writes
# manifest lines "N US expected text US command" (US: the ASCII unit
# separator, so that an empty field stays a field for read).
tour_script() {
	echo 'set -o pipefail'
	tour_block | awk -v manifest="$TOUR/manifest" '
		{ line = cont == "" ? $0 : cont "\n" $0 }
		/\\$/ { cont = line; next }
		{ cont = "" }
		line ~ /^[ \t]*(#.*)?$/ { next }
		{
			n++
			expect = ""
			if (match(line, /[ \t]#[ \t]*-> .*$/)) {
				expect = substr(line, RSTART)
				sub(/^[ \t]#[ \t]*-> /, "", expect)
			}
			printf "{ %s\n} >out.%d 2>err.%d; echo \"%d $?\" >>status\n", line, n, n, n
			first = line
			sub(/\n.*/, "", first)
			sub(/[ \t]+#.*$/, "", first)
			printf "%d\037%s\037%s\n", n, expect, first > manifest
		}'
	# whatever the tour left running (it should have stopped it)
	echo 'kill $(jobs -p) 2>/dev/null; wait'
}

if ! command -v bash >/dev/null || ! command -v jq >/dev/null || ! command -v curl >/dev/null; then
	test_skip 'the README tour' 'it needs bash, jq and curl'
	test_done
	exit
fi
if tour_block | grep -q '^ttd' && curl -s -o /dev/null http://127.0.0.1:8099/; then
	test_skip 'the README tour' 'something listens on 127.0.0.1:8099 (ttd default port the tour uses)'
	test_done
	exit
fi

test_expect_success 'README.md has the tour: a sh block of tt-* commands' '
	tour_script >"$TOUR/tour.sh" &&
	grep -q "^{ tt-gen " "$TOUR/tour.sh" && test "$(wc -l <"$TOUR/manifest")" -ge 10
'

test_expect_success 'the tour runs to its end (fresh store under TMPDIR, 120 s at most)' '
	(cd "$TOUR/run" && unset TERATRACE_STORE XDG_DATA_HOME &&
		TMPDIR=$TOUR/tmp && export TMPDIR && mkdir "$TMPDIR" &&
		timeout 120 bash "$TOUR/tour.sh") &&
	test "$(wc -l <"$TOUR/run/status")" -eq "$(wc -l <"$TOUR/manifest")"
'

# show_cmd N: what command N printed, for a failing check
show_cmd() {
	echo "stdout:"; cat "$TOUR/run/out.$1"; echo "stderr:"; cat "$TOUR/run/err.$1"
}

us=$(printf '\037')
[ -f "$TOUR/manifest" ] || : >"$TOUR/manifest"
while IFS=$us read -r n expect cmd; do
	test_expect_success "tour $n: $cmd -- exits 0" "
		grep -qx '$n 0' '$TOUR/run/status' || { grep '^$n ' '$TOUR/run/status'; show_cmd $n; false; }
	"
	if [ -n "$expect" ]; then
		printf '%s\n' "$expect" >"$TOUR/expect.$n"
		test_expect_success "tour $n: prints '$expect'" "
			cat '$TOUR/run/out.$n' '$TOUR/run/err.$n' | grep -qF -f '$TOUR/expect.$n' ||
				{ show_cmd $n; false; }
		"
	fi
	case $cmd in
	tt-query*|tt-stat*|curl*)
		test_expect_success "tour $n: prints something" "
			test -s '$TOUR/run/out.$n' || { show_cmd $n; false; }
		" ;;
	esac
done <"$TOUR/manifest"

test_done
