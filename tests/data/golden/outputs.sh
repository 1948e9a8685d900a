#!/bin/sh
# outputs.sh BINDIR STORE OUTDIR -- what t8210-golden.sh compares: the output
# of the reading tools on a golden store, one file per command.
set -u
B=$1 S=$2 O=$3
export TZ=UTC NO_COLOR=1
"$B/tt-query" -D "$S" -n all | gzip -9n >"$O/query-all.expected.gz"
"$B/tt-query" -D "$S" -n 120 -o json --fields ts,corr,service,msg >"$O/query-fields.expected"
"$B/tt-query" -D "$S" req-005 req-036 -o json >"$O/query-ids.expected"
"$B/tt-query" -D "$S" --service auth --level warn -n 60 >"$O/query-filter.expected"
"$B/tt-query" -D "$S" --list -n all -o jsonl >"$O/list.expected"
"$B/tt-tail" -D "$S" -n 25 >"$O/tail.expected"
"$B/tt-stat" -D "$S" -o json | jq -S "del(.store, .index_bytes, .index_file_bytes, .bytes_per_record)" >"$O/stat.expected"
"$B/tt-check" -D "$S" | sed "s|$S|STORE|" >"$O/check.expected"
