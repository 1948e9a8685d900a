# ttd-lib.sh -- helpers for ttd's black-box tests (t7NNN-ttd-*.sh), sourced
# after lib.sh. Run on its own (tests/run.sh runs every t[0-9]*.sh) it only
# prints an empty TAP plan.
#
#   ttd_start [ARGS...]   start ttd on $STORE, HTTP on a free loopback port
#                         (port 0, read back from --port-file); sets TTD_PID,
#                         PORT, URL. Waits at most 10 s.
#   ttd_stop              SIGTERM, wait at most 5 s, fail if the exit is not 0
#   req METHOD PATH [CURL-ARGS...]  one request; body in $TEST_DIR/body,
#                         status code printed on stdout
#   post PATH JSON [CURL-ARGS...]   POST application/json
#   expect_json FILTER    jq -e FILTER on $TEST_DIR/body, shows the body if false
if [ "${0##*/}" = "ttd-lib.sh" ]; then echo "1..0"; exit 0; fi

command -v curl >/dev/null && command -v jq >/dev/null || {
	echo "1..0 # SKIP curl and jq are needed"; exit 0; }
TTD=${TTD:-$TT_BUILD/bin/ttd}

ttd_start() {
	rm -f "$TEST_DIR/port"
	"$TTD" -D "$STORE" --http 127.0.0.1:0 --port-file "$TEST_DIR/port" "$@" \
		2>>"$TEST_DIR/ttd.log" &
	TTD_PID=$!
	i=0
	while [ ! -s "$TEST_DIR/port" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 $TTD_PID 2>/dev/null; then
			echo "ttd did not start:"; tail -n 20 "$TEST_DIR/ttd.log"; return 1
		fi
		sleep 0.05
	done
	PORT=$(cat "$TEST_DIR/port")
	URL="http://127.0.0.1:$PORT"
}

# wait (bounded) for a pid to exit; its exit status in $?
wait_pid() {
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt "${2:-100}" ]; then
			echo "process $1 still running"; kill -9 "$1"; return 99
		fi
		sleep 0.05
	done
	wait "$1"
}

ttd_stop() {
	[ -n "${TTD_PID:-}" ] || return 0
	kill -TERM "$TTD_PID" 2>/dev/null
	wait_pid "$TTD_PID" 100; rc=$?
	TTD_PID=
	[ $rc -eq 0 ] || { echo "ttd exited $rc"; tail -n 20 "$TEST_DIR/ttd.log"; return 1; }
}

req() {
	m=$1 p=$2; shift 2
	curl -s --max-time 10 -o "$TEST_DIR/body" -w '%{http_code}' -X "$m" "$@" "$URL$p"
}

post() {
	p=$1 d=$2; shift 2
	req POST "$p" -H 'Content-Type: application/json' --data-binary "$d" "$@"
}

expect_code() { # expect_code WANT GOT
	[ "$1" = "$2" ] || { echo "expected HTTP $1, got $2:"; cat "$TEST_DIR/body"; return 1; }
}

expect_json() {
	jq -e "$1" "$TEST_DIR/body" >/dev/null || {
		echo "jq -e '$1' is false on:"; cat "$TEST_DIR/body"; return 1; }
}

# wait_sse N: until ttd has N stream clients (at most 5 s)
wait_sse() {
	i=0
	while ! curl -s --max-time 2 "$URL/metrics" | grep -q "^ttd_clients{kind=\"sse\"} $1\$"; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "ttd never had $1 stream clients"; return 1; }
		sleep 0.05
	done
}

# wait_pending: until the writer holds appended, not yet durable bytes (5 s)
wait_pending() {
	i=0
	while ! curl -s --max-time 2 "$URL/health" | jq -e ".pending_bytes > 0" >/dev/null; do
		i=$((i + 1)); [ $i -gt 250 ] && { echo "nothing ever pending"; return 1; }
		sleep 0.02
	done
}

trap 'ttd_stop >/dev/null 2>&1; test_cleanup' EXIT
# interrupted (^C, a closed pipe): still stop ttd, then exit through the EXIT trap
trap 'exit 130' INT TERM HUP PIPE
