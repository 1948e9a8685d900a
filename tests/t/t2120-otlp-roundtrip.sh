#!/bin/sh
# tt-query -o otlp round-trips: an OTLP/JSON export using every feature the
# decoder reads (resource and scope attributes, span kinds, status code and
# message, events with attributes, attribute values of every type: int64
# extremes, doubles, bools, bytes, nested arrays and kvlists; unended spans;
# log records with severity, string and structured bodies, inside a trace and
# outside one) is stored, exported with -o otlp, and the export stored again:
# both stores hold the same records, field for field.
. ./lib.sh
DATA=$(cd ../data/otlp && pwd)

test_expect_success 'store the export, export it, store that' '
	tt-ingest -q -D s1 "$DATA/features.json" &&
	tt-query -D s1 -o otlp >export.otlp &&
	[ $(wc -l <export.otlp) -eq 2 ] &&
	tt-ingest -q -D s2 export.otlp
'

test_expect_success 'both stores hold the same records, field for field' '
	tt-query -D s1 -o jsonl | jq -S -c "del(.time)" | sort >a &&
	tt-query -D s2 -o jsonl | jq -S -c "del(.time)" | sort >b &&
	[ $(wc -l <a) -eq 7 ] && test_cmp a b
'

test_expect_success 'the export keeps what OTLP carries where OTLP carries it' '
	head -n 1 export.otlp | jq -e "
		.resourceSpans[0].resource.attributes | map(.key) ==
			[\"service.name\", \"host.name\", \"deployment.environment\", \"process.pid\"]" &&
	head -n 1 export.otlp | jq -e "
		.resourceSpans[0].scopeSpans[0].scope.name == \"io.opentelemetry.http\"" &&
	head -n 1 export.otlp | jq -e "
		.resourceSpans[0].scopeSpans[0].spans[0] |
		.status == {\"code\": 2, \"message\": \"card declined\"} and
		(.events | length) == 2 and .kind == 2 and
		(.attributes[] | select(.key == \"tags\") | .value.arrayValue.values | length) == 3" &&
	tail -n 1 export.otlp | jq -e ".resourceLogs[0].scopeLogs[0].logRecords | length == 3"
'

test_expect_success 'the exported span ids join the original trace' '
	tt-query -D s2 4bf92f3577b34da6a3ce929d0e0e4736 --count >n && echo 4 >want && test_cmp want n
'

test_done
