#!/bin/sh
# ttd --forward-clickhouse against a real ClickHouse (Debian's clickhouse-
# server, started here on free ports with its own config and data under
# $TEST_DIR): the table from contrib/clickhouse/schema.sql, 100 000 generated
# records forwarded as JSONEachRow, counts and one trace compared field by
# field with tt-query, the schema's example queries run.
. ./lib.sh
. ./ttd-lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}
CHS=$(command -v clickhouse-server || command -v clickhouse)
[ -n "$CHS" ] || { echo "1..0 # SKIP clickhouse-server is not installed (make deps installs it)"; exit 0; }
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CH_HTTP=$(free_port) CH_TCP=$(free_port) CHD="$TEST_DIR/ch"
mkdir -p "$CHD/data" "$CHD/tmp" "$CHD/user_files" "$CHD/format_schemas"
cat >"$CHD/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
cat >"$CHD/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$CHD/server.log</log><errorlog>$CHD/err.log</errorlog><console>0</console></logger>
  <http_port>$CH_HTTP</http_port>
  <tcp_port>$CH_TCP</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$CHD/data/</path>
  <tmp_path>$CHD/tmp/</tmp_path>
  <user_files_path>$CHD/user_files/</user_files_path>
  <format_schema_path>$CHD/format_schemas/</format_schema_path>
  <users_config>$CHD/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
EOF
"$CHS" --config-file="$CHD/config.xml" >"$CHD/stdout" 2>&1 &
CH_PID=$!
CH="http://127.0.0.1:$CH_HTTP"
i=0; while ! curl -s "$CH/ping" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 $CH_PID 2>/dev/null; then
		echo "1..0 # SKIP clickhouse-server did not start here: $(tail -n 3 "$CHD/err.log" "$CHD/stdout" 2>/dev/null | tr '\n' ' ')"
		kill -9 $CH_PID 2>/dev/null; exit 0
	fi
	sleep 0.2
done
trap 'ttd_stop >/dev/null 2>&1; kill $CH_PID 2>/dev/null; wait $CH_PID 2>/dev/null; test_cleanup' EXIT
chq() { curl -s --max-time 30 --data-binary "$1" "$CH/"; }

test_expect_success 'contrib/clickhouse/schema.sql creates the table' '
	python3 -c "
import sys
s = open(sys.argv[1]).read()
s = \"\\n\".join(l for l in s.splitlines() if not l.lstrip().startswith(\"--\"))
for st in s.split(\";\"):
    if st.strip(): print(\" \".join(st.split()))" "$TOP/contrib/clickhouse/schema.sql" >stmts &&
	[ $(wc -l <stmts) -eq 3 ] &&
	while read -r st; do
		out=$(curl -s -w "%{http_code}" -o chout --data-binary "$st" "$CH/")
		case "$out:$st" in
		200:*) ;;
		*"ADD INDEX"*) echo "this ClickHouse has no skip index: $(head -c 100 chout)" ;;
		*) echo "$st: HTTP $out: $(cat chout)"; exit 1 ;;
		esac
	done <stmts &&
	[ "$(chq "EXISTS TABLE teratrace.records")" = 1 ]
'

tt-gen 100000 | tt-ingest -q -D "$STORE"
ttd_start --forward-clickhouse "$CH" --forward-start start --forward-batch 5000 \
	--forward-batch-size 4M || { echo "Bail out! ttd did not start"; exit 1; }

test_expect_success '100 000 records arrive in ClickHouse' '
	i=0; while [ "$(chq "SELECT count() FROM teratrace.records")" != 100000 ]; do
		i=$((i + 1)); [ $i -gt 300 ] && { echo "ClickHouse has $(chq "SELECT count() FROM teratrace.records")"; exit 1; }
		sleep 0.2
	done &&
	[ "$(req GET /health)" = 200 ] && expect_json ".forward[0] | .name == \"clickhouse\" and .shipped == 100000 and .dropped == 0"
'

test_expect_success 'same ids and per-id counts as tt-query' '
	tt-query -D "$STORE" --list --count >n && chq "SELECT uniqExact(corr) FROM teratrace.records" >m &&
	test_cmp n m &&
	tt-query -D "$STORE" --list -n all -o jsonl | jq -r "[.corr, .count] | @tsv" | sort >a &&
	chq "SELECT corr, count() FROM teratrace.records GROUP BY corr" | sort >b &&
	test_cmp a b
'

test_expect_success 'one trace, field by field (raw is the record; the columns are its fields)' '
	id=$(head -n 1 a | cut -f 1) &&
	tt-query -D "$STORE" "$id" -o jsonl | jq -S -c "del(.time)" | sort >ta &&
	chq "SELECT raw FROM teratrace.records WHERE corr = '\''$id'\'' FORMAT TSVRaw" | jq -S -c . | sort >tb &&
	[ -s ta ] && test_cmp ta tb &&
	tt-query -D "$STORE" "$id" -o jsonl | jq -S -c "{ts, corr, service: (.service // \"\"),
		name: (.name // \"\"), kind: (.kind // \"\"), level: (.level // \"\"), dir: (.dir // \"\"),
		span: (.span // \"\"), parent: (.parent // \"\"), dur: (.dur // 0),
		status: (.status // \"\"), msg: (.msg // \"\"), host: (.host // \"\"), attrs: (.attrs // {})}" | sort >ca &&
	chq "SELECT ts, corr, service, name, kind, level, dir, span, parent, dur, status, msg, host,
		attrs FROM teratrace.records WHERE corr = '\''$id'\''
		FORMAT JSONEachRow" | jq -S -c ".attrs |= fromjson | .ts |= tonumber | .dur |= tonumber" | sort >cb &&
	test_cmp ca cb &&
	[ "$(chq "SELECT count() FROM teratrace.records WHERE toUInt64(toUnixTimestamp(time)) != intDiv(ts, 1000000000)")" = 0 ]
'

test_expect_success 'the example queries of schema.sql run' '
	sed -n "s/^-- \(SELECT\|    \)/\1/p" "$TOP/contrib/clickhouse/schema.sql" |
		tr "\n" " " | tr ";" "\n" >ex && [ $(grep -c SELECT ex) -eq 3 ] &&
	while read -r q; do
		[ -n "$q" ] || continue
		out=$(curl -s -w "%{http_code}" -o chout --data-binary "$q" "$CH/") &&
		[ "$out" = 200 ] || { echo "$q: $(cat chout)"; exit 1; }
	done <ex
'
test_done
