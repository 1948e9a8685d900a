#!/bin/sh
# tt-ingest: input formats, auto-detection, rejected lines, --strict, exit codes.
. ./lib.sh
DATA=$(cd ../data/cli && pwd)

test_expect_success 'ingest JSON lines from a file' '
	tt-ingest -D s1 "$DATA/trace.jsonl" 2>err &&
	grep -x "tt-ingest: accepted 9, rejected 0" err &&
	tt-query -D s1 --count >n && echo 9 >expect && test_cmp expect n
'

test_expect_success 'ingest from standard input, also as -' '
	tt-ingest -D s2 <"$DATA/trace.jsonl" 2>err &&
	grep "accepted 9, rejected 0" err &&
	cat "$DATA/trace.jsonl" | tt-ingest -D s2 - 2>err &&
	grep "accepted 9, rejected 0" err &&
	tt-query -D s2 --count >n && echo 18 >expect && test_cmp expect n
'

test_expect_success 'the store is created with its parent directories missing' '
	tt-ingest -D deep/a/b -q "$DATA/trace.jsonl" &&
	test -d deep/a/b
'

test_expect_success 'TERATRACE_STORE names the store' '
	TERATRACE_STORE=$TEST_DIR/env tt-ingest -q "$DATA/trace.jsonl" &&
	tt-query -D env --count >n && echo 9 >expect && test_cmp expect n
'

test_expect_code 1 'bad lines: reported, skipped, counted, exit 1' '
	tt-ingest -D s3 "$DATA/bad.jsonl" 2>err
'

test_expect_success 'bad lines are reported as FILE:LINE: reason (field ...)' '
	grep "^$DATA/bad.jsonl:2: " err &&
	grep "^$DATA/bad.jsonl:3: .* (field ts)\$" err &&
	grep "^$DATA/bad.jsonl:6: " err &&
	! grep ":4: " err &&
	grep -x "tt-ingest: accepted 3, rejected 3" err &&
	tt-query -D s3 -n all --fields msg >out &&
	cat >expect <<-\EOF &&
	{"msg":"first good line"}
	{"msg":"second good line"}
	{"msg":"third good line"}
	EOF
	test_cmp expect out
'

test_expect_success 'standard input is named <stdin> in messages' '
	tt-ingest -D s4 <"$DATA/bad.jsonl" 2>err;
	grep "^<stdin>:3: " err
'

test_expect_code 1 '-q silences line messages and the summary' '
	tt-ingest -q -D s5 "$DATA/bad.jsonl" 2>err
'

test_expect_success '-q: stderr is empty' '
	test ! -s err
'

test_expect_code 1 '--strict: the first bad record aborts' '
	tt-ingest --strict -D s6 "$DATA/trace.jsonl" "$DATA/bad.jsonl" "$DATA/dialects.jsonl" 2>err
'

test_expect_success '--strict: nothing of the bad input is stored, later inputs not read' '
	grep "bad.jsonl:2: " err &&
	! grep "bad.jsonl:3: " err &&
	grep "nothing stored from this input" err &&
	tt-query -D s6 --count >n && echo 9 >expect && test_cmp expect n
'

test_expect_code 1 '--strict on standard input (spooled, then stored or not)' '
	tt-ingest --strict -D s7 <"$DATA/bad.jsonl" 2>err
'

test_expect_success '--strict on standard input: nothing stored' '
	tt-query -D s7 --count >n; echo 0 >expect && test_cmp expect n
'

test_expect_success '--strict with good input from a pipe stores everything' '
	cat "$DATA/trace.jsonl" | tt-ingest --strict -D s8 2>err &&
	grep "accepted 9, rejected 0" err &&
	tt-query -D s8 --count >n && echo 9 >expect && test_cmp expect n
'

test_expect_success 'every field dialect in JSON lines' '
	tt-ingest -D d1 -q "$DATA/dialects.jsonl" &&
	tt-query -D d1 tt-native th-1 0af7651916cd43dd8448eb211c80319c \
		4bf92f3577b34da6a3ce929d0e0e4736 --fields corr,service,level >out &&
	cat >expect <<-\EOF &&
	{"corr":"tt-native","service":"api","level":"info"}
	{"corr":"th-1","service":"payments-svc","level":null}
	{"corr":"th-1","service":"payments-svc","level":null}
	{"corr":"0af7651916cd43dd8448eb211c80319c","service":null,"level":null}
	{"corr":"4bf92f3577b34da6a3ce929d0e0e4736","service":"checkout","level":"error"}
	EOF
	test_cmp expect out &&
	tt-query -D d1 --count >n && echo 6 >expect && test_cmp expect n
'

test_expect_success 'a pretty-printed JSON batch document is detected' '
	tt-ingest -D b1 "$DATA/batch.json" 2>err;
	grep "accepted 2, rejected 1" err &&
	grep "batch.json:[0-9]*: element 2: " err &&
	tt-query -D b1 batch-1 --fields dir >out &&
	printf "{\"dir\":\"->\"}\n{\"dir\":\"<-\"}\n" >expect &&
	test_cmp expect out
'

test_expect_success 'an OTLP JSON export, auto-detected and with -F otlp' '
	tt-ingest -D o1 -q "$DATA/otlp.json" &&
	tt-ingest -D o2 -q -F otlp <"$DATA/otlp.json" &&
	tt-query -D o1 5b8efff798038103d269b633813fc60c --fields name,service,dur >out1 &&
	tt-query -D o2 5b8efff798038103d269b633813fc60c --fields name,service,dur >out2 &&
	cat >expect <<-\EOF &&
	{"name":"GET /cart","service":"frontend","dur":120000000}
	{"name":"SELECT cart","service":"frontend","dur":20000000}
	EOF
	test_cmp expect out1 && test_cmp expect out2
'

test_expect_success 'msgpack: records out of one store into another, auto-detected' '
	tt-query -D s1 -n all -o msgpack >recs.mp &&
	tt-ingest -D m1 recs.mp 2>err &&
	grep "accepted 9, rejected 0" err &&
	tt-query -D m1 -n all >a && tt-query -D s1 -n all >b && test_cmp b a
'

test_expect_success 'msgpack with -F msgpack from a pipe' '
	cat recs.mp | tt-ingest -D m2 -q -F msgpack &&
	tt-query -D m2 --count >n && echo 9 >expect && test_cmp expect n
'

test_expect_code 1 'msgpack: garbage after good objects is reported, the rest kept' '
	{ cat recs.mp; printf "\301\301\301"; } >junk.mp &&
	tt-ingest -D m3 junk.mp 2>err
'

test_expect_success 'msgpack: the message names the object and byte offset' '
	grep "junk.mp: object 9 at byte [0-9]*: .*rest of input skipped" err &&
	tt-query -D m3 --count >n && echo 9 >expect && test_cmp expect n
'

test_expect_success 'a record without a timestamp gets the time it was received' '
	before=$(date +%s) &&
	echo "{\"corr\":\"late\",\"msg\":\"no ts\"}" | tt-ingest -D t1 -q &&
	after=$(date +%s) &&
	ts=$(tt-query -D t1 late --fields ts | sed "s/.*:\([0-9]*\)}/\1/") &&
	test $((ts / 1000000000)) -ge $before && test $((ts / 1000000000)) -le $after
'

test_expect_success 'blank lines and CRLF line ends are fine' '
	printf "\n{\"ts\":1,\"corr\":\"crlf\"}\r\n\n   \n{\"ts\":2,\"corr\":\"crlf\"}" |
		tt-ingest -D c1 2>err &&
	grep "accepted 2, rejected 0" err
'

test_expect_success 'an empty input is not an error' '
	: | tt-ingest -D e1 2>err &&
	grep "accepted 0, rejected 0" err
'

test_expect_code 2 'an unreadable input is exit 2 (not a rejected record), the others are read' '
	tt-ingest -D u1 nonexistent.jsonl "$DATA/trace.jsonl" 2>err
'

test_expect_success 'the missing file is named' '
	grep "could not open .nonexistent.jsonl." err &&
	grep "accepted 9, rejected 0" err
'

test_expect_code 2 'unknown --format is a usage error' 'tt-ingest -D x -F yaml </dev/null'
test_expect_code 2 'unknown option is a usage error' 'tt-ingest -D x --bogus </dev/null'

test_expect_code 4 'a store path that cannot be created: exit 4' '
	echo file >plain && tt-ingest -D plain/store "$DATA/trace.jsonl"
'

test_expect_success 'a long slow producer: each line is stored as it comes' '
	( echo "{\"ts\":1,\"corr\":\"slow\",\"msg\":\"one\"}"; sleep 1;
	  echo "{\"ts\":2,\"corr\":\"slow\",\"msg\":\"two\"}"; sleep 1 ) | tt-ingest -D p1 -q &
	pid=$! &&
	sleep 0.7 &&
	tt-query -D p1 slow --fields msg >mid &&
	echo "{\"msg\":\"one\"}" >expect && test_cmp expect mid &&
	wait $pid &&
	tt-query -D p1 slow --count >n && echo 2 >expect && test_cmp expect n
'

test_expect_success '--progress reports records/s and MB/s on stderr' '
	( cat "$DATA/trace.jsonl"; sleep 0.8; cat "$DATA/trace.jsonl" ) |
		tt-ingest --progress -D pr1 2>err &&
	grep "records/s" err && grep "MB/s" err &&
	grep "accepted 18, rejected 0" err
'

test_expect_success 'no progress when stderr is not a terminal' '
	tt-ingest -D pr2 "$DATA/trace.jsonl" 2>err &&
	! grep "records/s" err
'

test_done
