#!/bin/sh
# ttd as a process: usage, config file, one ttd per store and per port,
# SIGTERM with requests in flight (every 2xx'd record present after restart),
# SIGHUP reload, non-loopback warning.
. ./lib.sh
. ./ttd-lib.sh
TT_TOP=${TT_TOP:-$(cd ../.. && pwd)}

test_expect_success '--help lists every option; -V prints the version' '
	"$TTD" --help >out && grep -q "^usage: ttd" out &&
	for o in store http socket token-file config commit-interval sync retention max-size \
		max-body max-batch max-connections max-pending header-timeout request-timeout \
		sse-keepalive sse-max-buffer log-level; do grep -q -- "--$o" out || { echo "no --$o"; exit 1; }; done &&
	"$TTD" -V | grep -q "^ttd (TeraTrace) [0-9]" && grep -q "^Exit status" out
'

test_expect_success '--help matches the SYNOPSIS of ttd.8' '
	"$TTD" --help | sed -n "/^usage:/,/^\$/p" | sed "/^\$/d; s/^usage: //; s/^ *//; s/  */ /g" >help.out &&
	sed -n "/^\.SH SYNOPSIS/,/^\.SH /p" "$TT_TOP/man/ttd.8" |
		sed "/^\.SH/d; /^\.nf/d; /^\.fi/d; s/\\\\-/-/g; s/\\\\f[BIRP]//g; s/^ *//; s/  */ /g" >man.out &&
	test_cmp man.out help.out
'

if command -v man >/dev/null 2>&1; then
	test_expect_success 'ttd.8 renders without warnings' '
		man -l "$TT_TOP/man/ttd.8" >/dev/null 2>err || true; test ! -s err
	'
else
	test_skip 'ttd.8 renders without warnings' 'no man(1) here'
fi


test_expect_code 2 'an unknown option: usage on stderr, exit 2' '
	"$TTD" --frobnicate >out 2>err; rc=$?; grep -q "^usage: ttd" err && test ! -s out; exit $rc'
test_expect_code 2 'a bad value is a usage error naming the option' '
	"$TTD" --sync sometimes 2>err; rc=$?; cat err; grep -q "invalid --sync" err; exit $rc'
test_expect_code 2 'a config file with an unknown key is refused with file:line' '
	printf "http = 127.0.0.1:0\nbogus = 1\n" >bad.conf &&
	"$TTD" -D "$STORE" --config bad.conf 2>err; rc=$?; cat err; grep -q "bad.conf:2: unknown option .bogus." err; exit $rc'

test_expect_success 'every option in contrib/ttd.conf.example parses' '
	sed -n "s/^# \\([a-z-]* = [^ ]*\\).*/\\1/p" "$TT_TOP/contrib/ttd.conf.example" |
		grep -v "^\\(store\\|socket\\|token-file\\|log-file\\|http\\) " >all.conf &&
	[ $(wc -l <all.conf) -ge 18 ] || exit 1
	"$TTD" -D "$TEST_DIR/cfgstore" --config all.conf --http 127.0.0.1:0 2>err & p=$!
	sleep 0.5; kill -TERM $p; wait $p; rc=$?; cat err; [ $rc -eq 0 ] && grep -q "ready" err
'

cat >"$TEST_DIR/ttd.conf" <<CONF
# every option can live here
http = 127.0.0.1:0
commit-interval = 5
max-batch = 3
log-level = debug
CONF
ttd_start --config "$TEST_DIR/ttd.conf" --max-logs 2 || { echo "Bail out! ttd did not start"; exit 1; }
test_expect_success 'options come from --config (max-batch = 3 enforced)' '
	c=$(post /ingest "[{\"corr\":\"c\",\"ts\":1},{\"corr\":\"c\",\"ts\":2},{\"corr\":\"c\",\"ts\":3},{\"corr\":\"c\",\"ts\":4}]") &&
	expect_code 413 "$c" && grep -q "commit interval 5 ms" ttd.log
'
test_expect_success 'SIGHUP reloads the config file' '
	sed -i "s/max-batch = 3/max-batch = 10/" ttd.conf && kill -HUP '"$TTD_PID"' && sleep 0.3 &&
	grep -q "configuration reloaded" ttd.log &&
	c=$(post /ingest "[{\"corr\":\"c\",\"ts\":1},{\"corr\":\"c\",\"ts\":2},{\"corr\":\"c\",\"ts\":3},{\"corr\":\"c\",\"ts\":4}]") &&
	expect_code 200 "$c"
'
test_expect_success 'SIGHUP keeps the command-line options over the file (--max-logs 2)' '
	c=$(post /logs "{\"logs\":[{\"message\":\"a\"},{\"message\":\"b\"},{\"message\":\"c\"}]}") &&
	expect_code 413 "$c"
'
test_expect_success 'SIGHUP with a broken config keeps the running configuration' '
	echo "max-batch = lots" >>ttd.conf && kill -HUP '"$TTD_PID"' && sleep 0.3 &&
	grep -q "keeping the running one" ttd.log &&
	c=$(post /ingest "[{\"corr\":\"c\",\"ts\":1},{\"corr\":\"c\",\"ts\":2},{\"corr\":\"c\",\"ts\":3},{\"corr\":\"c\",\"ts\":4}]") &&
	expect_code 200 "$c"
'
test_expect_success 'a second ttd on the same store fails with a clear message (exit 4)' '
	"$TTD" -D "$STORE" --http 127.0.0.1:0 --socket off 2>err; rc=$?; cat err &&
	[ $rc -eq 4 ] && grep -q "another ttd (pid '"$TTD_PID"') is already running on store" err
'
test_expect_success 'a second ttd on the same port fails with a clear message' '
	"$TTD" -D "$TEST_DIR/other" --http 127.0.0.1:'"$PORT"' 2>err; rc=$?; cat err &&
	[ $rc -ne 0 ] && grep -q "Address already in use" err && grep -q "another ttd running on this port" err
'
test_expect_success 'logs: one line per event with a level' '
	grep -Eq "^[0-9T:.-]+Z ttd\[[0-9]+\] info: listening on http://127.0.0.1:[0-9]+$" ttd.log
'
ttd_stop

# --- SIGTERM while requests wait for their group commit
ttd_start --commit-interval 400 || exit 1
test_expect_success 'SIGTERM with requests in flight: exit 0 within a second' '
	for i in $(seq 1 20); do
		(c=$(curl -s -o /dev/null -w "%{http_code}" --max-time 5 -H "Content-Type: application/json" \
			--data-binary "{\"corr\":\"inflight-$i\",\"ts\":$i}" "$URL/ingest"); echo "$i $c" >>codes) &
	done
	wait_pending && t0=$(date +%s%N) && kill -TERM '"$TTD_PID"' &&
	while kill -0 '"$TTD_PID"' 2>/dev/null; do sleep 0.02; done &&
	t1=$(date +%s%N) && echo "stopped in $(( (t1 - t0) / 1000000 )) ms" &&
	[ $(( (t1 - t0) / 1000000 )) -lt 1000 ] &&
	wait && cat codes && [ $(grep -c " 200$" codes) -ge 1 ]
'
wait_pid "$TTD_PID" 100; rc=$?; TTD_PID=
test_expect_success 'SIGTERM: exit status 0' "[ $rc -eq 0 ]"
ttd_start || exit 1
test_expect_success 'after restart every 2xx-acknowledged record is present exactly once' '
	for i in $(grep " 200$" codes | cut -d" " -f1); do
		c=$(req GET /traces/inflight-$i) && expect_code 200 "$c" && expect_json ".count == 1" || exit 1
	done
'
ttd_stop

test_expect_success 'a non-loopback --http is warned about' '
	"$TTD" -D "$TEST_DIR/s3" --http 0.0.0.0:0 --socket off 2>err & p=$!
	sleep 0.5; kill -TERM $p; wait $p; cat err &&
	grep -q "warn: --http 0.0.0.0:0 is not a loopback address" err
'
test_expect_success 'default store: $TERATRACE_STORE, else $XDG_DATA_HOME/teratrace' '
	TERATRACE_STORE="$TEST_DIR/envstore" "$TTD" --http 127.0.0.1:0 2>err & p=$!
	sleep 0.5; kill -TERM $p; wait $p; [ -d "$TEST_DIR/envstore/index" ] || exit 1
	env -u TERATRACE_STORE XDG_DATA_HOME="$TEST_DIR/xdg" "$TTD" --http 127.0.0.1:0 2>err & p=$!
	sleep 0.5; kill -TERM $p; wait $p; [ -d "$TEST_DIR/xdg/teratrace/index" ]
'
test_done
