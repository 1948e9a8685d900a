#!/bin/sh
# tt-tail: last N, --follow while other processes write (exact sequence: no
# gaps, no duplicates), across segment rotation and gc, cursors and resume.
. ./lib.sh
DATA=$(cd ../data/cli && pwd)
export TERATRACE_STORE="$STORE"

# gen FROM TO [LEVEL]: JSON lines with msg "m<i>", ts = i seconds after 2024-11-21
gen() {
	_g=$1
	while [ "$_g" -le "$2" ]; do
		echo "{\"ts\":$((1732147200 + _g))000000000,\"corr\":\"c$((_g % 7))\",\"level\":\"${3:-info}\",\"msg\":\"m$_g\"}"
		_g=$((_g + 1))
	done
}

# wait_lines FILE N: until FILE has N lines (at most 15 s)
wait_lines() {
	_w=0
	while [ "$(wc -l <"$1")" -lt "$2" ] && [ $_w -lt 150 ]; do
		sleep 0.1
		_w=$((_w + 1))
	done
	[ "$(wc -l <"$1")" -ge "$2" ]
}

# msgs FROM TO: the expected --fields msg lines
msgs() { _m=$1; while [ "$_m" -le "$2" ]; do echo "{\"msg\":\"m$_m\"}"; _m=$((_m + 1)); done; }

test_expect_success 'setup' '
	gen 1 30 | tt-ingest -q
'

test_expect_success 'the last 10 records by default, in append order' '
	tt-tail --fields msg >out &&
	msgs 21 30 >expect && test_cmp expect out
'

test_expect_success '-n N and -n all' '
	tt-tail -n 3 --fields msg >out && msgs 28 30 >expect && test_cmp expect out &&
	tt-tail -n all --fields msg >out && msgs 1 30 >expect && test_cmp expect out
'

test_expect_success 'the last N that match the filters' '
	tt-tail -n 2 --fields msg corr=c0 >out &&
	printf "{\"msg\":\"m21\"}\n{\"msg\":\"m28\"}\n" >expect && test_cmp expect out
'

test_expect_code 1 'filters that match nothing: exit 1' 'tt-tail --service nobody'

test_expect_success 'an empty store prints nothing, exit 0' '
	tt-ingest -q -D empty </dev/null && tt-tail -D empty >out && test ! -s out
'

test_expect_success '--follow: records from several writers, rotated segments, in order' '
	tt-tail -f -n 2 --fields msg >follow.out 2>follow.err &
	pid=$! &&
	sleep 0.3 &&
	gen 31 130 | tt-ingest -q &&
	tt-gc --rotate -q &&
	gen 131 230 | tt-ingest -q &&
	tt-gc --rotate -q &&
	( gen 231 330 | tt-ingest -q & gen 331 430 | tt-ingest -q -D "$STORE" & wait ) &&
	wait_lines follow.out 402 &&
	kill $pid && wait $pid;
	sort -u follow.out | wc -l >n && echo 402 >expect && test_cmp expect n &&
	head -102 follow.out >first && msgs 29 130 >expect && test_cmp expect first &&
	sed -n "103,202p" follow.out >second && msgs 131 230 >expect && test_cmp expect second &&
	test ! -s follow.err
'

test_expect_success '--follow with a filter blocks until something matches' '
	tt-tail -f -n 0 --level error --fields msg >err.out &
	pid=$! &&
	sleep 0.3 &&
	gen 431 440 | tt-ingest -q &&
	sleep 0.3 && test ! -s err.out &&
	gen 441 442 error | tt-ingest -q &&
	wait_lines err.out 2 &&
	kill $pid && wait $pid;
	msgs 441 442 >expect && test_cmp expect err.out
'

test_expect_success '--follow keeps going while tt-gc deletes old segments' '
	tt-tail -f -n 0 --fields msg >gc.out &
	pid=$! &&
	sleep 0.3 &&
	gen 443 450 | tt-ingest -q && tt-gc --rotate -q &&
	tt-gc --max-segments 1 -q &&
	gen 451 460 | tt-ingest -q &&
	wait_lines gc.out 18 &&
	kill $pid && wait $pid;
	msgs 443 460 >expect && test_cmp expect gc.out
'

test_expect_success '--cursor-file: a restarted tail resumes after the last record' '
	rm -f cur &&
	tt-tail -n 2 --fields msg --cursor-file cur >out1 &&
	test -s cur &&
	gen 461 465 | tt-ingest -q &&
	tt-tail --fields msg --cursor-file cur >out2 &&
	tt-tail --fields msg --cursor-file cur >out3 &&
	msgs 459 460 >expect && test_cmp expect out1 &&
	msgs 461 465 >expect && test_cmp expect out2 &&
	test ! -s out3
'

test_expect_success '--cursor-file with --follow: interrupted and resumed, exactly once' '
	rm -f cur2
	tt-tail -n 0 --cursor-file cur2 >/dev/null || exit 1
	tt-tail -f --fields msg --cursor-file cur2 >part1 &
	pid=$!
	sleep 0.3
	( i=466; while [ $i -le 525 ]; do gen $i $((i + 4)) | tt-ingest -q; i=$((i + 5)); done ) &
	prod=$! &&
	wait_lines part1 20 &&
	kill -TERM $pid && wait $pid;
	wait $prod &&
	tt-tail --fields msg --cursor-file cur2 >part2 &&
	cat part1 part2 >all &&
	msgs 466 525 >expect && test_cmp expect all
'

test_expect_success '--show-cursor, then --after-cursor continues after it' '
	tt-tail -n 3 --show-cursor >out &&
	c=$(sed -n 1p out | jq -r .cursor) &&
	tt-tail --after-cursor "$c" --fields msg >after &&
	msgs 524 525 >expect && test_cmp expect after &&
	tt-tail -n 1 -o table --show-cursor --no-color | tail -1 | grep "^-- cursor: tt1-"
'

test_expect_code 2 'a malformed --after-cursor is a usage error' 'tt-tail --after-cursor nonsense'
test_expect_code 2 'a malformed cursor file is a usage error' '
	echo garbage >badcur && tt-tail --cursor-file badcur
'
test_expect_code 2 '-o tree with --follow is refused' 'tt-tail -f -o tree'
test_expect_code 2 'tt-tail takes FIELD=VALUE operands only' 'tt-tail req-1'

test_expect_success 'SIGINT ends --follow with exit 0 and closes -o json' '
	tt-tail -f -n 1 -o json >json.out &
	pid=$! &&
	sleep 0.5 && kill -INT $pid && wait $pid &&
	jq -e "length == 1" json.out
'

test_done
