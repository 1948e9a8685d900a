#!/bin/sh
# input.sh FROM TO -- the fixed input of the golden stores: records FROM..TO-1
# (JSON lines, several dialects, every well-known field), the same bytes on
# every machine.
awk -v from="$1" -v to="$2" 'BEGIN {
	split("api payments auth search", svc, " ")
	split("debug info warn error", lvl, " ")
	for (i = from; i < to; i++) {
		id = sprintf("req-%03d", i % 37)
		t = sprintf("%d%09d", 1732147200 + int(i / 10), (i % 10) * 100000000 + i)
		if (i % 9 == 4) # TraceHub checkpoint
			printf "{\"source_id\":\"%s\",\"correlation_id\":\"%s\",\"timestamp\":17321472%05d.5,\"direction\":\"%s\",\"operation\":\"GET /item/%d\",\"endpoint\":\"/item\",\"data\":{\"status\":%d}}\n", svc[i % 4 + 1], id, i * 100, (i % 2 ? "->" : "<-"), i, 200 + i % 3
		else if (i % 9 == 7) # Tracer log
			printf "{\"timestamp\":\"2024-11-21T00:%02d:%02d.%03dZ\",\"level\":\"%s\",\"message\":\"tracer line %d\",\"service\":\"%s\",\"metadata\":{\"k\":%d}}\n", int(i / 60) % 60, i % 60, i % 1000, lvl[i % 4 + 1], i, svc[i % 4 + 1], i
		else
			printf "{\"ts\":%s,\"corr\":\"%s\",\"span\":\"s%d\",\"parent\":\"s%d\",\"service\":\"%s\",\"host\":\"h%d\",\"level\":\"%s\",\"kind\":\"span\",\"name\":\"op%d\",\"dur\":%d,\"status\":\"ok\",\"msg\":\"record %d \\u00e9\\t\",\"attrs\":{\"n\":%d,\"f\":%d.25,\"b\":%s,\"arr\":[1,\"x\",null]}}\n", t, id, i, i - 1, svc[i % 4 + 1], i % 3, lvl[i % 4 + 1], i % 11, i * 1000 + 7, i, i, i, (i % 2 ? "true" : "false")
	}
}'
