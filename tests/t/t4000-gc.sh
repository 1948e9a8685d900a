#!/bin/sh
# tt-gc: plans (--dry-run) and effects by age, size and count; --rotate;
# usage errors for 0 and unparseable limits; -o json.
. ./lib.sh
export TERATRACE_STORE="$STORE"

now=$(date +%s)

test_expect_success 'setup: segments of 5, 4, 3, 2 and 1 days ago' '
	day 5 && day 4 && day 3 && day 2 && day 1 &&
	tt-stat --no-services -o json | jq -e ".segments == 5 and .sealed == 5"
'

test_expect_success '--dry-run prints the plan and deletes nothing' '
	tt-gc --max-age 60h --dry-run >out &&
	grep -c "^would remove segment " out >n && echo 3 >expect && test_cmp expect n &&
	grep "^would free .* in 3 segments (9 records)" out &&
	tt-query --count >n && echo 15 >expect && test_cmp expect n
'

test_expect_success '--max-age removes segments whose newest record is older' '
	tt-gc --max-age 60h >out &&
	grep -c "^removed segment [0-9a-f]\{16\}  .* 3 records" out >n &&
	echo 3 >expect && test_cmp expect n &&
	grep "^freed .* in 3 segments (9 records)" out &&
	tt-query --count >n && echo 6 >expect && test_cmp expect n &&
	tt-query d5-1; test $? -eq 1 &&
	tt-query d2-1 --fields msg >out && echo "{\"msg\":\"x\"}" >expect && test_cmp expect out
'

test_expect_success 'nothing due: exit 0 and says so' '
	tt-gc --max-age 60h >out &&
	echo "nothing to remove" >expect && test_cmp expect out
'

test_expect_success '-o json for scripts' '
	day 9 &&
	tt-gc --max-age 8d --dry-run -o json >out &&
	jq -e ".dry_run == true and .removed == 1 and .records == 3 and (.segments | length) == 1" out &&
	jq -e ".segments[0].segment | test(\"^[0-9a-f]{16}$\")" out &&
	tt-gc --max-age 8d -o json | jq -e ".dry_run == false and .freed_bytes > 0"
'

test_expect_success '--max-segments keeps the newest N' '
	tt-gc --max-segments 1 -q &&
	tt-stat --no-services -o json | jq -e ".segments == 1" &&
	tt-query d1-1 >/dev/null
'

test_expect_success '--max-size removes oldest segments until the data fits' '
	day 7 && day 6 &&
	tt-gc --max-size 1 --dry-run -o json | jq -e ".removed == 3" &&
	size=$(tt-stat --no-services -o json | jq .data_bytes) &&
	tt-gc --max-size $((size - 1)) -o json >out &&
	jq -e ".removed == 1 and .segments[0].min_ts < .segments[0].max_ts" out &&
	tt-query d7-1; test $? -eq 1
'

test_expect_success '--rotate alone seals an idle segment' '
	echo "{\"ts\":1,\"corr\":\"idle\"}" | tt-ingest -q &&
	tt-stat -s --no-services | grep " idle " &&
	tt-gc --rotate -q &&
	! tt-stat -s --no-services | grep " idle "
'

test_expect_success 'gc never deletes an unsealed segment' '
	echo "{\"ts\":1,\"corr\":\"active\"}" | tt-ingest -q &&
	tt-gc --max-age 1s -q &&
	tt-query active >/dev/null
'

test_expect_code 2 '--max-age 0 is a usage error' 'tt-gc --max-age 0'
test_expect_code 2 '--max-size 0 is a usage error' 'tt-gc --max-size 0'
test_expect_code 2 '--max-segments 0 is a usage error' 'tt-gc --max-segments 0'
test_expect_code 2 'an unparseable age is a usage error' 'tt-gc --max-age soon'
test_expect_code 2 'an unparseable size is a usage error' 'tt-gc --max-size 5X'
test_expect_code 2 'a negative count is a usage error' 'tt-gc --max-segments -3'
test_expect_code 2 'no limit at all is a usage error' 'tt-gc'
test_expect_code 2 'tree output is a usage error' 'tt-gc --max-age 1d -o tree'
test_expect_code 4 'a missing store: exit 4' 'tt-gc -D "$TEST_DIR/none" --max-age 1d'

test_done
