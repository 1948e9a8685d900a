#!/bin/sh
# ttd --group NAME: the store (and what is written to it later) readable by the
# group and the socket writable by it, so a member queries and sends records
# while others cannot. Checked as a real other user (setpriv), so root only.
. ./lib.sh
. ./ttd-lib.sh
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1 ||
   ! getent group nogroup >/dev/null; then
	echo "1..0 # SKIP needs root, setpriv, the user nobody and the group nogroup"; exit 0
fi
# the test directory must be reachable by nobody
chmod 755 "$TEST_DIR"
as_member() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_other() { setpriv --reuid=nobody --regid=nobody --clear-groups "$@" 2>/dev/null ||
	setpriv --reuid=nobody --regid=65533 --clear-groups "$@"; }

test_expect_success 'setup: records, then ttd --group nogroup' '
	echo "{\"corr\":\"g-1\",\"msg\":\"before\"}" | tt-ingest -q -D "$STORE"
'
ttd_start --group nogroup || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'the store and its files belong to the group, with group modes' '
	[ "$(stat -c %G:%a "$STORE")" = "nogroup:2750" ] &&
	[ "$(stat -c %G:%a "$STORE/index/lock.mdb")" = "nogroup:660" ] &&
	[ "$(stat -c %G:%a "$STORE/index/data.mdb")" = "nogroup:640" ] &&
	for f in "$STORE"/seg/*.tts; do [ "$(stat -c %G:%a "$f")" = "nogroup:640" ] || exit 1; done &&
	[ "$(stat -c %G:%a "$STORE/ttd.sock")" = "nogroup:660" ]
'

test_expect_success 'a member of the group queries the store ttd writes' '
	post /ingest "{\"traces\":[{\"correlation_id\":\"g-2\",\"source_id\":\"api\",\"direction\":\"->\"}]}" >/dev/null &&
	as_member "$TT_BUILD/bin/tt-query" -D "$STORE" g-1 -o jsonl | grep -q before &&
	as_member "$TT_BUILD/bin/tt-query" -D "$STORE" --count >n && [ "$(cat n)" -eq 2 ]
'

test_expect_success 'segments created later are group-readable too' '
	kill -HUP $TTD_PID; tt-gc -q -D "$STORE" --rotate 2>/dev/null;
	for f in "$STORE"/seg/*.tts; do [ "$(stat -c %a "$f")" = "640" ] || { ls -l "$f"; exit 1; }; done
'

test_expect_success 'someone outside the group cannot read it' '
	! as_other "$TT_BUILD/bin/tt-query" -D "$STORE" g-1 >/dev/null 2>&1
'

ttd_stop
test_done
