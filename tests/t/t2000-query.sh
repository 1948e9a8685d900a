#!/bin/sh
# tt-query: ids in timestamp order with the complete flag, every output format
# (golden files), --list, --count, filters and time parsing, exit codes.
. ./lib.sh
DATA=$(cd ../data/cli && pwd)

# one tt-ingest per trace: each in its own block, so --list has one order
test_expect_success 'setup: a store with three traces and a stray record' '
	for id in req-1 req-2 req-3 cron; do
		grep "\"$id\"" "$DATA/trace.jsonl" | tt-ingest -q -D "$STORE" || exit 1
	done &&
	tt-query -D "$STORE" --count >n && echo 9 >expect && test_cmp expect n
'
export TERATRACE_STORE="$STORE"

# golden output of `tt-query -o FMT req-1 req-2` for every format
for fmt in jsonl json table tree csv otlp; do
	test_expect_success "ids: -o $fmt matches the golden output" "
		tt-query -o $fmt req-1 req-2 >out &&
		test_cmp \"\$DATA/query-ids.$fmt\" out
	"
done

test_expect_success 'no ids, -o tree: a tree per correlation id' '
	tt-query -o tree >out &&
	test_cmp "$DATA/query-all.tree" out
'

test_expect_success 'ids: records come in timestamp order, not append order' '
	tt-query req-1 --fields ts >out &&
	sort -c out &&
	tt-tail -n all --fields ts req-1 2>/dev/null | head -4 >appended;
	! test_cmp out appended >/dev/null
'

test_expect_success 'one id with -o json: an object carrying complete' '
	tt-query -o json req-2 >out &&
	test_cmp "$DATA/query-id.json" out &&
	tt-query -o json req-1 | jq -e ".complete == true and .count == 4" &&
	tt-query -o json req-2 | jq -e ".complete == false"
'

test_expect_success 'msgpack output is the stored records, concatenated' '
	tt-query -o msgpack req-1 >out.mp &&
	tt-ingest -q -D copy out.mp &&
	tt-query -D copy req-1 >a && tt-query req-1 >b && test_cmp b a
'

test_expect_code 1 'an id without records: exit 1' 'tt-query no-such-id'

test_expect_success 'a missing id is named and the others are still printed' '
	tt-query req-3 no-such-id >out 2>err; test $? -eq 1 &&
	grep "no records for .no-such-id." err &&
	test $(wc -l <out) -eq 2
'

test_expect_success '-i names an id that looks like FIELD=VALUE' '
	echo "{\"ts\":5,\"corr\":\"a=b\",\"msg\":\"odd id\"}" | tt-ingest -q -D odd &&
	tt-query -D odd -i a=b --fields msg >out &&
	echo "{\"msg\":\"odd id\"}" >expect && test_cmp expect out
'

test_expect_success '--list: recent ids with count, times, services, complete' '
	tt-query --list >out && test_cmp "$DATA/list.jsonl" out &&
	tt-query --list -o table >out && test_cmp "$DATA/list.table" out &&
	tt-query --list -o csv >out && test_cmp "$DATA/list.csv" out
'

test_expect_success '--list honours -n and filters' '
	tt-query --list -n 2 | wc -l >n && echo 2 >expect && test_cmp expect n &&
	tt-query --list --service payments | jq -r .corr >out &&
	echo req-2 >expect && test_cmp expect out &&
	tt-query --list --level fatal | jq -r .corr >out &&
	echo req-3 >expect && test_cmp expect out &&
	tt-query --list --count >n && echo 3 >expect && test_cmp expect n
'

test_expect_code 2 '--list takes no ids' 'tt-query --list req-1'
test_expect_code 2 '--list does not print trees' 'tt-query --list -o tree'

test_expect_success '--count' '
	tt-query --count >n && echo 9 >expect && test_cmp expect n &&
	tt-query --count req-1 >n && echo 4 >expect && test_cmp expect n &&
	tt-query --count --service api >n && echo 3 >expect && test_cmp expect n
'

test_expect_code 1 '--count of nothing prints 0 and exits 1' '
	tt-query --count --service nobody >n; rc=$?; echo 0 >expect; test_cmp expect n; exit $rc
'

# each filter: the messages (or names) of the records it keeps
check_filter() { # check_filter "args" expected-names...
	args=$1; shift
	for x in "$@"; do echo "$x"; done >expect
	eval "tt-query -n all --fields name $args" | sed "s/{\"name\":\(.*\)}/\1/; s/\"//g" >out &&
	test_cmp expect out
}

test_expect_success '--service (repeatable: either)' '
	check_filter "--service db --service cache" "SELECT users" "GET user:7"
'

test_expect_success '--level: at least that level' '
	check_filter "--level error" charge null &&
	tt-query --level warn --fields msg >out &&
	cat >expect <<-\EOF &&
	{"msg":"Card declined, code 51"}
	{"msg":"queue is slow"}
	{"msg":"worker crashed"}
	EOF
	test_cmp expect out
'

test_expect_code 2 '--level with an unknown level' 'tt-query --level loud'

test_expect_success '--grep: ERE on the message, smart case' '
	check_filter "-g \"card.*[0-9]+\$\"" charge &&
	check_filter "-g Card" charge &&
	check_filter "--grep \"^(cache|200)\"" "GET /users" "GET user:7"
'

test_expect_code 1 '--grep: an upper-case letter makes it case-sensitive' 'tt-query -g CARD'
test_expect_code 2 '--grep: a bad regex is a usage error' 'tt-query -g "a(b"'

test_expect_success 'FIELD=VALUE: same field OR, different fields AND, != excludes' '
	check_filter "service=db service=cache" "SELECT users" "GET user:7" &&
	check_filter "service=api \"dir=->\"" "GET /users" "POST /orders" &&
	check_filter "kind=span service!=api" "SELECT users" "GET user:7" charge
'

test_expect_success 'FIELD=VALUE: dotted paths, and names tried under attrs' '
	check_filter "attrs.http.status=402" charge &&
	check_filter "http.status=200" "GET /users" &&
	check_filter "queue=emails depth=1200" null
'

test_expect_success 'FIELD=VALUE with ids: only the matching records of the id' '
	tt-query req-1 service=api --fields dir >out &&
	printf "{\"dir\":\"->\"}\n{\"dir\":\"<-\"}\n" >expect && test_cmp expect out
'

test_expect_success '--min-dur / --max-dur' '
	check_filter "--min-dur 10ms" "SELECT users" charge &&
	check_filter "--max-dur 0.02s" "SELECT users" "GET user:7" &&
	check_filter "--min-dur 2ms --max-dur 100ms" "SELECT users"
'

test_expect_code 2 '--min-dur larger than --max-dur' 'tt-query --min-dur 1s --max-dur 1ms'
test_expect_code 2 'a bad duration' 'tt-query --min-dur 5parsecs'

test_expect_success '--since/--until: RFC 3339, @epoch, bare epoch, inclusive' '
	check_filter "--since 2024-11-21T09:00:01Z --until 2024-11-21T09:00:02Z" \
		"POST /orders" charge null &&
	check_filter "-S @1732179601.1 -U 1732179602" charge null &&
	check_filter "-S \"2024-11-21 09:00:03\"" null null &&
	check_filter "-U 1732179600010" "GET /users" "SELECT users" &&
	check_filter "-S 2024-11-21T10:00:01+01:00 -U 2024-11-21T09:00:01.5Z" \
		"POST /orders" charge
'

test_expect_success 'relative times: the fixture is long ago' '
	tt-query --since "2 days ago" >out; test $? -eq 1 && test ! -s out &&
	tt-query --since yesterday >out; test $? -eq 1 &&
	tt-query --until -1h --count >n && echo 9 >expect && test_cmp expect n &&
	tt-query --since 2024-11-21 --until today --count >n && test_cmp expect n
'

test_expect_code 2 'an unparseable time is a usage error' 'tt-query --since "next tuesday"'
test_expect_code 2 '--since after --until' 'tt-query -S 2024-11-22 -U 2024-11-21'

test_expect_success '-n limits, -r reverses' '
	check_filter "-n 2" "GET /users" "GET /users" &&
	check_filter "-r -n 3 kind=span" charge "POST /orders" "GET user:7" &&
	tt-query -r req-1 --fields ts >out && sort -rc out
'

test_expect_code 2 '-n 0 is a usage error' 'tt-query -n 0'
test_expect_code 2 '-n with junk is a usage error' 'tt-query -n ten'

test_expect_success '--fields in table and csv' '
	tt-query -o csv --fields corr,attrs.http.status,msg req-2 >out &&
	cat >expect <<-\EOF &&
	corr,attrs.http.status,msg
	req-2,,request received
	req-2,402,"Card declined, code 51"
	EOF
	test_cmp expect out &&
	tt-query -o table --fields service,level req-2 >out &&
	cat >expect <<-\EOF &&
	TIME (UTC)              service          level
	2024-11-21 09:00:01.000 api              info
	2024-11-21 09:00:01.100 payments         error
	-- req-2: 2 records, 400.0ms, incomplete (checkpoints: 1 ->, 0 <-), services api,payments
	--   api POST /orders: open (no <-)
	EOF
	test_cmp expect out
'

test_expect_success 'table times are local time; --utc shows UTC; the header names the zone' '
	TZ=JST-9 tt-query -o table --fields service req-3 | head -2 >out &&
	printf "%s\n" "TIME (JST, +09:00)      service" "2024-11-21 18:00:02.000 worker" >expect &&
	test_cmp expect out &&
	TZ=JST-9 tt-query -o table --utc --fields service req-3 | head -2 >out &&
	printf "%s\n" "TIME (UTC)              service" "2024-11-21 09:00:02.000 worker" >expect &&
	test_cmp expect out &&
	TZ=UTC tt-query -o table req-3 | head -1 >out &&
	echo "TIME (UTC)              LEVEL SERVICE      CORR             EVENT" >expect &&
	test_cmp expect out &&
	TZ=IST-5:30 tt-query -o table req-3 | head -1 | grep "^TIME (IST, +05:30)  " &&
	TZ=EST5EDT tt-query -o table req-3 | head -1 | grep "^TIME (EST, -05:00)  " &&
	TZ="<+03>-3" tt-query -o table req-3 | head -1 | grep "^TIME (+03:00)  " &&
	TZ=UTC tt-tail -n 1 -o table | head -1 | grep "^TIME (UTC)  " &&
	TZ=JST-9 tt-tail -n 1 -o table --utc | head -1 | grep "^TIME (UTC)  "
'

test_expect_success 'table: --fields time is RFC 3339 (UTC, "Z"), its header just "time"' '
	TZ=JST-9 tt-query -o table --fields time,service req-3 | head -2 >out &&
	printf "%s\n" "time             service" "2024-11-21T09:00:02.000000000Z worker" >expect &&
	test_cmp expect out
'

if ! command -v script >/dev/null 2>&1; then
	test_skip 'colors on a terminal; NO_COLOR and --no-color turn them off' 'no script(1)'
else
test_expect_success 'colors on a terminal; NO_COLOR and --no-color turn them off' '
	script -qc "tt-query -D $STORE req-2" /dev/null >tty.out &&
	grep -q "$(printf "\033")\[31m" tty.out &&
	NO_COLOR=1 script -qc "tt-query -D $STORE req-2" /dev/null >tty.out &&
	! grep -q "$(printf "\033")" tty.out &&
	script -qc "tt-query -D $STORE --no-color req-2" /dev/null >tty.out &&
	! grep -q "$(printf "\033")" tty.out &&
	grep -q "^-- req-2: 2 records" tty.out
'
fi

test_expect_success 'on a pipe the default output is JSON lines' '
	tt-query req-1 | head -1 | jq -e .corr
'

test_expect_success 'a closed pipe is a quiet exit' '
	tt-query -n all 2>err | head -1 >/dev/null &&
	test ! -s err
'

test_expect_code 4 'a missing store: exit 4, the path named' '
	tt-query -D "$TEST_DIR/nowhere" req-1 2>err; rc=$?;
	grep "nowhere" err; exit $rc
'

test_expect_code 2 'unknown output format' 'tt-query -o yaml req-1'

test_done
