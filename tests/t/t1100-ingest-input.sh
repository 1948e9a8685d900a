#!/bin/sh
# tt-ingest input: gzip and zstd told by content (files and pipes, several
# members), damaged streams named with their byte offset; a missing file is
# exit 2 and the other files are read; SIGINT/SIGTERM end with 130/143 and a
# truthful count; binary input stops after --max-errors; empty input warns.
. ./lib.sh
export TERATRACE_STORE="$STORE"
recs() { i=0; while [ $i -lt "$2" ]; do echo "{\"corr\":\"$1-$i\",\"msg\":\"m$i\"}"; i=$((i + 1)); done; }
count() { tt-query --count "$@" 2>/dev/null; }

test_expect_success 'gzip by content: a file not named .gz, and on a pipe' '
	recs gz 300 | gzip >app.log &&
	tt-ingest app.log 2>err && grep -q "accepted 300, rejected 0" err &&
	recs gzp 200 | gzip | tt-ingest 2>err && grep -q "accepted 200" err &&
	[ "$(count)" -eq 500 ]
'

test_expect_success 'concatenated gzip members are all read' '
	{ recs m1 10 | gzip; recs m2 20 | gzip; } >two.gz &&
	tt-ingest two.gz 2>err && grep -q "accepted 30" err
'

test_expect_success 'zstd by content, several frames' '
	{ recs z1 40 | zstd -q -c; recs z2 60 | zstd -q -c; } >log.bin &&
	tt-ingest log.bin 2>err && grep -q "accepted 100, rejected 0" err
'

test_expect_success 'a truncated gzip stream: named with its byte offset, exit 2, the rest kept' '
	recs tr 2000 | gzip >full.gz && head -c 3000 full.gz >cut.gz &&
	before=$(count) &&
	tt-ingest cut.gz 2>err; rc=$?
	cat err; [ $rc -eq 2 ] &&
	grep -q "could not read .cut.gz.: gzip stream truncated at compressed byte 3000" err &&
	[ "$(count)" -gt "$before" ]
'

test_expect_success 'damaged gzip data: the message names the compressed byte' '
	recs bd 500 | gzip >bad.gz &&
	printf "\\377\\377\\377\\377" | dd of=bad.gz bs=1 seek=200 conv=notrunc 2>/dev/null &&
	tt-ingest bad.gz 2>err; rc=$?
	cat err; [ $rc -eq 2 ] && grep -q "bad gzip data near compressed byte" err
'

test_expect_success 'a missing file: exit 2, named, the other files read' '
	recs ok 5 >ok.jsonl &&
	tt-ingest nonexistent.jsonl ok.jsonl 2>err; rc=$?
	cat err; [ $rc -eq 2 ] &&
	grep -q "could not open .nonexistent.jsonl.: No such file or directory" err &&
	grep -q "accepted 5, rejected 0" err
'

test_expect_success 'binary input stops after 100 rejections, with a summary' '
	python3 -c "import random, sys; r = random.Random(1)
sys.stdout.buffer.write(b\"x\" + bytes(r.randrange(256) for _ in range(200000)))" >bin.dat &&
	tt-ingest bin.dat 2>err; rc=$?
	[ $rc -eq 1 ] && grep -q "stopping after 100 rejected records (--max-errors)" err &&
	[ $(wc -l <err) -le 103 ] && grep -q "(stopped at --max-errors)" err
'

test_expect_success '--max-errors 5, and 0 for no limit' '
	{ i=0; while [ $i -lt 20 ]; do echo "not json $i"; i=$((i+1)); done; } >bad.txt &&
	tt-ingest --max-errors 5 bad.txt 2>err; [ $? -eq 1 ] &&
	grep -q "rejected 5 (stopped at --max-errors)" err &&
	tt-ingest --max-errors 0 bad.txt 2>err; [ $? -eq 1 ] && grep -q "rejected 20$" err
'

test_expect_success 'empty input: a warning that names it (exit 0)' '
	: | tt-ingest 2>err; rc=$?
	cat err; [ $rc -eq 0 ] && grep -q "no records in standard input (did the command feeding it fail?)" err
'

for sig in INT:130 TERM:143; do
	name=${sig%%:*} code=${sig##*:}
	test_expect_success "SIG$name while reading a slow pipe: exit $code, the accepted records stored" "
		rm -f fifo && mkfifo fifo &&
		before=\$(count) || exit 1
		( recs sig$name 50; sleep 3; recs late 5 ) >fifo &
		tt-ingest fifo 2>err & pid=\$!
		sleep 1 && kill -$name \$pid; wait \$pid; rc=\$?
		cat err; [ \$rc -eq $code ] &&
		grep -q 'accepted 50, rejected 0 (interrupted' err &&
		[ \$(( \$(count) - before )) -eq 50 ]
	"
done

test_done
