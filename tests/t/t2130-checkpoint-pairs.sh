#!/bin/sh
# Checkpoint traces read as operations: each "->" pairs with the "<-" of the
# same service and name (nested and repeated pairs like parentheses, in time
# order) and the pair's latency is shown: under the table footer, on the "<-"
# line of the tree (as a span from its "->"), and in -o json's "operations";
# a "->" never answered is open. The completeness verdict is unchanged.
. ./lib.sh
export TERATRACE_STORE="$STORE"

# cp CORR TS_MS SERVICE DIR NAME: one checkpoint record (ts in ms after 1s)
cp() { printf '{"ts":%d000000,"corr":"%s","service":"%s","dir":"%s","name":"%s"}\n' \
	$((1000 + $2)) "$1" "$3" "$4" "$5"; }

test_expect_success 'setup: web -> api -> db and back; recursion; an unanswered call' '
	{
		cp web3 0 web "->" "GET /"
		cp web3 10 api "->" "GET /x"
		cp web3 20 db "->" "SELECT"
		cp web3 35 db "<-" "SELECT"
		cp web3 60 api "<-" "GET /x"
		cp web3 100 web "<-" "GET /"
		cp rec 0 calc "->" "fib"
		cp rec 10 calc "->" "fib"
		cp rec 30 calc "<-" "fib"
		cp rec 40 calc "->" "fib"
		cp rec 45 calc "<-" "fib"
		cp rec 70 calc "<-" "fib"
		cp half 0 web "->" "GET /"
		cp half 5 api "->" "GET /x"
		cp half 25 api "<-" "GET /x"
		cp half 30 api "<-" "GET /x"
	} >cps.jsonl &&
	shuf cps.jsonl | tt-ingest -q
'

test_expect_success 'table: one line per operation under the footer, nested, with its latency' '
	tt-query web3 -o table | grep "^--" >out &&
	cat >expect <<-\EOF &&
	-- web3: 6 records, 100.0ms, complete (checkpoints: 3 ->, 3 <-), services api,db,web
	--   web GET /: 100.0ms
	--     api GET /x: 50.0ms
	--       db SELECT: 15.0ms
	EOF
	test_cmp expect out
'

test_expect_success 'table: a recursive call pairs with its own answer, like parentheses' '
	tt-query rec -o table | grep "^--   " >out &&
	cat >expect <<-\EOF &&
	--   calc fib: 70.0ms
	--     calc fib: 20.0ms
	--     calc fib: 5.0ms
	EOF
	test_cmp expect out
'

# The verdict keeps TraceHub's counting rule (as many "<-" as "->"), which
# calls this trace complete; the operations show what it does not.
test_expect_success 'table: a "->" never answered is open; a stray "<-" pairs with nothing' '
	tt-query half -o table | grep "^--" >out &&
	cat >expect <<-\EOF &&
	-- half: 4 records, 30.0ms, complete (checkpoints: 2 ->, 2 <-), services api,web
	--   web GET /: open (no <-)
	--     api GET /x: 20.0ms
	EOF
	test_cmp expect out
'

test_expect_success 'tree: a "<-" shows the operation it ends as a span; open "->" marked' '
	NO_COLOR=1 tt-query web3 half -o tree >out &&
	grep "^<- web GET /  *100.0ms |=\{40\}|\$" out &&
	grep "^<- api GET /x  *50.0ms | \{4\}=\{21\} \{15\}|\$" out &&
	grep "^<- db SELECT  *15.0ms | \{8\}=\{7\} \{25\}|\$" out &&
	grep "^-> web GET / \[open\]  *+0ns |" out &&
	grep -c "\[open\]" out >n && echo 1 >expect && test_cmp expect n &&
	grep "^web3  6 records  100.0ms  complete (checkpoints: 3 ->, 3 <-)\$" out
'

test_expect_success 'json: "operations" after the records, in start order' '
	tt-query web3 -o json >out &&
	jq -c ".operations[]" out >ops &&
	cat >expect <<-\EOF &&
	{"service":"web","name":"GET /","start_ts":1000000000,"dur":100000000,"complete":true}
	{"service":"api","name":"GET /x","start_ts":1010000000,"dur":50000000,"complete":true}
	{"service":"db","name":"SELECT","start_ts":1020000000,"dur":15000000,"complete":true}
	EOF
	test_cmp expect ops &&
	jq -e ".complete == true and .complete_rule == \"checkpoints\" and (.records | length) == 6" out &&
	jq -r "keys_unsorted | join(\",\")" out >keys &&
	echo "corr,n_req,n_resp,records,operations,count,complete,complete_rule" >expect &&
	test_cmp expect keys
'

test_expect_success 'json: open operations have dur null; several ids each have theirs' '
	tt-query half rec -o json >out &&
	jq -c ".[] | [.corr, [.operations[] | .dur, .complete]]" out >ops &&
	cat >expect <<-\EOF &&
	["half",[null,false,20000000,true]]
	["rec",[70000000,true,20000000,true,5000000,true]]
	EOF
	test_cmp expect ops
'

test_expect_success 'a trace of spans, no checkpoints: no operations' '
	echo "{\"ts\":1,\"corr\":\"sp\",\"span\":\"a\",\"kind\":\"span\",\"name\":\"x\",\"dur\":5}" |
		tt-ingest -q &&
	tt-query sp -o json | jq -e ".operations == []" &&
	tt-query sp -o table | grep -c "^--" >n && echo 1 >expect && test_cmp expect n
'

test_done
