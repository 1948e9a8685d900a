#!/bin/sh
# Traces that read right: a trace of spans is complete when every parent is
# present and every span ended (not "incomplete (0 ->, 0 <-)"); checkpoint
# traces keep TraceHub's rule; the rule is named; footer and tree agree on the
# duration; error spans are marked in the tree without colour.
. ./lib.sh
export TERATRACE_STORE="$STORE"

test_expect_success 'setup: a whole span trace, one with a missing parent, one unended' '
	cat >spans.jsonl <<-\EOF &&
	{"ts":1000000000,"corr":"ok-1","span":"a","service":"api","kind":"span","name":"root","dur":50000000}
	{"ts":1010000000,"corr":"ok-1","span":"b","parent":"a","service":"db","kind":"span","name":"q","dur":20000000,"status":"error"}
	{"ts":2000000000,"corr":"orphan","span":"c","parent":"zz","service":"api","kind":"span","name":"child","dur":1000000}
	{"ts":3000000000,"corr":"open","span":"d","service":"api","kind":"span","name":"running"}
	EOF
	tt-ingest -q spans.jsonl
'

test_expect_success 'spans: complete, and the rule is said' '
	tt-query ok-1 -o table >t && grep -q "complete (spans: 2, every parent present, all ended)" t &&
	tt-query ok-1 -o json | jq -e ".complete == true and .complete_rule == \"spans\""
'

test_expect_success 'a missing parent or an unended span: incomplete, saying why' '
	tt-query orphan -o table | grep -q "incomplete (spans: 1; 1 parent missing, 0 not ended)" &&
	tt-query open -o table | grep -q "incomplete (spans: 1; 0 parents missing, 1 not ended)" &&
	tt-query open -o json | jq -e ".complete == false"
'

test_expect_success 'footer and tree agree on the duration (the spans'"'"' extent)' '
	tt-query ok-1 -o table | grep -q "^-- ok-1: 2 records, 50.0ms," &&
	tt-query ok-1 -o tree | head -n 1 | grep -q "2 records  50.0ms  complete"
'

test_expect_success 'an error span is marked in the tree without colour' '
	NO_COLOR=1 tt-query ok-1 -o tree | grep -q "db q \[error\]"
'

test_expect_success 'table: --fields time prints the time once; long non-ASCII services whole' '
	tt-query ok-1 -o table --fields time,service >t &&
	[ "$(sed -n 2p t | grep -o "T" | wc -l)" -eq 1 ] &&
	echo "{\"corr\":\"u1\",\"service\":\"überservice-ünïcode-with-a-long-name\",\"msg\":\"x\"}" |
		tt-ingest -q &&
	tt-query u1 -o table >t && grep -q "überservice-ünïcode-with-a-long-name u1" t &&
	grep -q "no spans or checkpoints" t
'

test_done
