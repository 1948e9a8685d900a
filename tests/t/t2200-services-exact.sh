#!/bin/sh
# The services of an id are named exactly however many a store has (no "..."),
# ids are counted distinct, --list --count counts ids, and a bad block makes
# every reading tool exit 3 with counts of what could be read.
. ./lib.sh

# 40 services; each id has 8 of them in one block (more than an index entry
# keeps, so its names come from the records), and ids with 1-3 services in
# their own blocks (named by service sets in the index)
test_expect_success 'setup: 40 services over 5 ids, 3 small ids' '
	i=1; while [ $i -le 40 ]; do
		echo "{\"corr\":\"id-$((i % 5))\",\"service\":\"svc-$i\",\"msg\":\"m$i\"}"
		i=$((i + 1))
	done | tt-ingest -q -D "$STORE" &&
	for n in 1 2 3; do
		j=1; while [ $j -le $n ]; do
			echo "{\"corr\":\"small-$n\",\"service\":\"late-service-$n-$j\"}"
			j=$((j + 1))
		done | tt-ingest -q -D "$STORE" || exit 1
	done
'
export TERATRACE_STORE="$STORE"

test_expect_success 'every service of an id is named, sorted, none as "..."' '
	tt-query --list -n 10 >out &&
	! grep -F "..." out &&
	jq -r "select(.corr==\"id-3\") | .services | join(\",\")" out >got &&
	echo "svc-13,svc-18,svc-23,svc-28,svc-3,svc-33,svc-38,svc-8" >expect &&
	test_cmp expect got
'

test_expect_success 'services past the 15th (numbered, not bits) are named' '
	tt-query --list -n 10 | jq -r "select(.corr==\"small-3\") | .services | join(\",\")" >got &&
	echo "late-service-3-1,late-service-3-2,late-service-3-3" >expect &&
	test_cmp expect got
'

test_expect_success 'the table names them too' '
	tt-query small-2 -o table >out &&
	grep -F "late-service-2-1,late-service-2-2" out && ! grep -F "..." out
'

test_expect_success 'names survive tt-check --rebuild-index' '
	tt-query --list -n 10 >before &&
	tt-check --rebuild-index -q &&
	tt-query --list -n 10 >after &&
	test_cmp before after
'

test_expect_success 'an id with more services than the listing cap counts the rest' '
	i=1; while [ $i -le 70 ]; do
		echo "{\"corr\":\"wide\",\"service\":\"w$(printf %03d $i)\"}"; i=$((i + 1))
	done | tt-ingest -q &&
	tt-query --list -n 1 >out &&
	jq -e ".corr == \"wide\" and (.services | length) == 64 and .services_omitted == 6" out
'

test_expect_success 'tt-stat counts distinct ids, and index entries apart' '
	tt-stat -o json >st &&
	jq -e ".ids == 9" st &&
	jq -e ".id_entries >= 9" st &&
	tt-stat | grep -E "^ids +9 \\("
'

test_expect_success '--list --count counts every id, not the -n default' '
	i=0; while [ $i -lt 120 ]; do echo "{\"corr\":\"many-$i\"}"; i=$((i + 1)); done |
		tt-ingest -q &&
	echo 129 >expect &&
	tt-query --list --count >got && test_cmp expect got &&
	echo 7 >expect &&
	tt-query --list --count -n 7 >got && test_cmp expect got
'

# ---- corruption: a flipped block is never reported as success
test_expect_success 'setup: a store with a damaged block' '
	python3 -c "
import json
for i in range(5000):
    print(json.dumps({\"corr\": \"c-%d\" % (i % 300), \"service\": \"s%d\" % (i % 7), \"msg\": \"hello world %d\" % i}))
" | tt-ingest -q -D bad &&
	f=$(ls bad/seg/*.tts | head -n 1) &&
	python3 -c "
import sys
f = open(sys.argv[1], \"r+b\"); f.seek(3000); b = f.read(8); f.seek(3000)
f.write(bytes(x ^ 0xff for x in b))
" "$f"
'

test_expect_code 3 'tt-check finds it' 'tt-check -D bad -q'

test_expect_success 'tt-query --count counts what is readable and exits 3' '
	tt-query -D bad --count >n 2>err; rc=$?
	echo "rc=$rc count=$(cat n)"
	[ $rc -eq 3 ] && [ "$(cat n)" -gt 0 ] && [ "$(cat n)" -lt 5000 ] &&
	grep -q "checksum" err
'

test_expect_success 'tt-stat exits 3 and names the problem once' '
	tt-stat -D bad >out 2>err; rc=$?
	cat err
	# (the flipped byte is in the first block or, when a slow build flushed a
	# small first block at its commit interval, in the second: one of them)
	[ $rc -eq 3 ] && [ "$(grep -c "segment 0000000000000001 offset [0-9]*: block checksum" err)" -eq 1 ]
'

test_expect_success 'tt-query of an id in the bad block exits 3' '
	tt-query -D bad c-3 >out 2>err; [ $? -eq 3 ]
'

test_expect_success 'tt-tail over the bad block exits 3' '
	tt-tail -D bad -n all >out 2>err; [ $? -eq 3 ] && [ "$(wc -l <out)" -gt 0 ]
'

test_done
