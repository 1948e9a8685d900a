#!/bin/sh
# tt-ingest and the dialects (issue 9): Tracer logs are found by the id in
# their metadata; an empty id, a misspelt batch envelope and an empty record
# are refused with the line and the reason, never stored without an id.
. ./lib.sh

test_expect_success 'Tracer logs: the id in metadata, in every spelling Tracer uses' '
	cat >tracer.jsonl <<-\EOF &&
	{"timestamp":"2024-11-21T09:00:00Z","level":"info","message":"a","service":"pay","metadata":{"correlation_id":"m-1"}}
	{"timestamp":"2024-11-21T09:00:01Z","level":"info","message":"b","service":"pay","metadata":{"correlationId":"m-2"}}
	{"timestamp":"2024-11-21T09:00:02Z","level":"info","message":"c","service":"pay","metadata":{"trace_id":"m-3"}}
	{"timestamp":"2024-11-21T09:00:03Z","level":"info","message":"d","service":"pay","metadata":{"request_id":"m-4","user":7}}
	EOF
	tt-ingest -D s1 tracer.jsonl 2>err && grep -x "tt-ingest: accepted 4, rejected 0" err &&
	for i in 1 2 3 4; do
		tt-query -D s1 -o jsonl "m-$i" | jq -r "[.corr, .msg, .kind] | join(\" \")" || return 1
	done >got &&
	printf "%s\n" "m-1 a log" "m-2 b log" "m-3 c log" "m-4 d log" >exp && test_cmp exp got &&
	tt-query -D s1 -o jsonl m-4 | jq -c .attrs >got && echo "{\"request_id\":\"m-4\",\"user\":7}" >exp &&
	test_cmp exp got
'

test_expect_success 'precedence: a top-level id, then correlation_id, correlationId, trace_id, request_id' '
	cat >prec.jsonl <<-\EOF &&
	{"ts":1,"trace_id":"top","metadata":{"correlation_id":"meta"}}
	{"ts":2,"metadata":{"request_id":"r","trace_id":"t","correlationId":"cc"}}
	{"ts":3,"metadata":{"request_id":"r","trace_id":"t"}}
	EOF
	tt-ingest -D s2 prec.jsonl &&
	tt-query -D s2 -o jsonl --since 0 -n all | jq -r .corr >got &&
	printf "%s\n" top cc t >exp && test_cmp exp got
'

test_expect_code 1 'an empty id, a misspelt envelope and an empty record are refused' '
	cat >bad.jsonl <<-\EOF &&
	{"ts":1,"corr":"ok-1"}
	{"ts":2,"corr":""}
	{"traces_":[{"corr":"x"}]}
	[{"ts":3,"corr":"ok-2"},{}]
	{"ts":4,"metadata":{"correlation_id":""}}
	EOF
	tt-ingest -D s3 bad.jsonl 2>err
'

test_expect_success 'each refusal names its line, field and reason; nothing of it is stored' '
	grep -x "bad.jsonl:2: empty correlation id (leave the field out for a record without one) (field corr)" err &&
	grep "^bad.jsonl:3: unknown batch key .traces_." err &&
	grep "^bad.jsonl:4: .*empty object" err &&
	grep -x "bad.jsonl:5: empty correlation id (leave the field out for a record without one) (field metadata.correlation_id)" err &&
	grep -x "tt-ingest: accepted 2, rejected 4" err &&
	tt-query -D s3 -o jsonl --since 0 -n all | jq -r .corr >got &&
	printf "%s\n" ok-1 ok-2 >exp && test_cmp exp got
'

test_expect_success 'a record holding an array is still a record' '
	echo "{\"ts\":5,\"tags\":[\"a\",\"b\"]}" | tt-ingest -D s4 2>err &&
	grep -x "tt-ingest: accepted 1, rejected 0" err
'

test_done
