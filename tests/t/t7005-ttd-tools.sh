#!/bin/sh
# ttd beside the tools on one store: tt-tail -f and tt-query read while ttd
# writes; records tt-ingest writes reach ttd's streams; SSE ids are tt-tail
# cursors.
. ./lib.sh
. ./ttd-lib.sh
for t in tt-tail tt-query tt-ingest; do
	[ -x "$TT_BUILD/bin/$t" ] || { echo "1..0 # SKIP $t is not built"; exit 0; }
done
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

gen() { # gen N CORR BASE: a JSON array of N records with seq BASE..
	python3 -c "
import json, sys
n, corr, base = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print(json.dumps([{'ts': 1700000000000000000 + base + i, 'corr': corr, 'service': 'web',
  'msg': 'r%d' % (base + i), 'seq': base + i} for i in range(n)]))" "$@"
}
wait_lines() { # wait_lines FILE N: at most 10 s
	i=0
	while [ "$(wc -l <"$1")" -lt "$2" ]; do
		i=$((i + 1)); [ $i -gt 200 ] && { echo "only $(wc -l <"$1") of $2 lines in $1"; return 1; }
		sleep 0.05
	done
}

ttd_start || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success 'tt-tail -f prints every record ttd acknowledges, in order, once' '
	tt-tail -D "$STORE" -f -n all -o jsonl corr=tail-1 >tail.out 2>tail.err & tp=$!
	sleep 0.3 &&
	for b in 0 20 40 60 80; do
		gen 20 tail-1 $b >batch.json &&
		c=$(req POST /ingest -H "Content-Type: application/json" --data-binary @batch.json) &&
		[ "$c" = 200 ] || exit 1
	done &&
	wait_lines tail.out 100; rc=$?; kill $tp; [ $rc -eq 0 ] &&
	jq -c .seq tail.out >got && seq 0 99 >want && test_cmp want got
'

test_expect_success 'tt-query sees what GET /traces/{id} returns' '
	tt-query -D "$STORE" -o jsonl tail-1 | jq -c .seq >q.seq &&
	c=$(req GET /traces/tail-1) && jq -c ".traces[].seq" body >h.seq &&
	test_cmp h.seq q.seq && [ $(wc -l <q.seq) -eq 100 ]
'

test_expect_success 'records written by tt-ingest reach ttd streams and queries' '
	curl -sN --max-time 10 "$URL/stream?corr=ing-1&timeout=2" >s.out & sp=$!
	wait_sse 1 &&
	gen 5 ing-1 500 | jq -c ".[]" >ing.jsonl && tt-ingest -D "$STORE" ing.jsonl &&
	wait $sp &&
	grep "^data: {\"ts\"" s.out | sed "s/^data: //" | jq -c .seq >got && seq 500 504 >want &&
	test_cmp want got &&
	c=$(req GET /traces/ing-1) && expect_json ".count == 5"
'

test_expect_success 'an SSE id is a tt-tail cursor: tt-tail --after-cursor continues from it' '
	curl -sN --max-time 5 "$URL/stream?corr=tail-1&n=10&timeout=0.3" >s2.out &&
	id=$(grep "^id: " s2.out | sed -n 5p | sed "s/^id: //") && echo "cursor $id" &&
	tt-tail -D "$STORE" --after-cursor "$id" -n all -o jsonl corr=tail-1 | jq -c .seq >got &&
	seq 95 99 >want && test_cmp want got
'
ttd_stop
test_done
