/*
 * fuzz_otlp_json.c -- OTLP/JSON exports (format/otlp.c): POST /v1/traces and
 * /v1/logs bodies, `tt-ingest -F otlp`.
 *
 * The first byte picks the shape: the input whole (a complete export), or
 * the input spliced into an export envelope as the spans / logRecords array,
 * the resource attributes or a span's attributes -- so mutations land in the
 * mapping (ids, AnyValue trees, kinds, severities, events) rather than in
 * the envelope, which the generic JSON target already covers. Heap bound
 * and record oracle of fuzz.h.
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const shapes[][2] = {
	{ "", "" },
	{ "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
	  "\"value\":{\"stringValue\":\"api\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"s\"},"
	  "\"spans\":", "}]}]}" },
	{ "{\"resourceLogs\":[{\"resource\":{},\"scopeLogs\":[{\"logRecords\":", "}]}]}" },
	{ "{\"resourceSpans\":[{\"resource\":{\"attributes\":", "},\"scopeSpans\":[{\"spans\":"
	  "[{\"traceId\":\"5bd66ef5095369c7b0d1f8f4bd33716a\",\"spanId\":\"c532cb4098ac3dd2\","
	  "\"name\":\"x\",\"startTimeUnixNano\":\"1700000000000000000\"}]}]}]}" },
	{ "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
	  "\"5bd66ef5095369c7b0d1f8f4bd33716a\",\"spanId\":\"c532cb4098ac3dd2\",\"name\":\"x\","
	  "\"attributes\":", "}]}]}]}" },
	{ "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":"
	  "\"1700000000000000000\",\"body\":", "}]}]}]}" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tt_decoder *d;
	tt_sink sink;
	fuzz_sink_ctx sc;
	tt_rec_err err;
	const char *pre, *post;
	size_t np, nq, n;
	char *text;
	int rc;

	if (size < 1)
		return 0;
	pre = shapes[data[0] % (sizeof shapes / sizeof *shapes)][0];
	post = shapes[data[0] % (sizeof shapes / sizeof *shapes)][1];
	data++, size--;
	np = strlen(pre), nq = strlen(post), n = np + size + nq;
	text = malloc(n + TT_JSON_PADDING);
	FUZZ_ASSERT(text != NULL);
	memcpy(text, pre, np);
	memcpy(text + np, data, size);
	memcpy(text + np + size, post, nq);
	memset(text + n, 0, TT_JSON_PADDING);

	fuzz_mem_begin();
	FUZZ_ASSERT(tt_decoder_new(&d, NULL) == 0);
	fuzz_sink_init(&sink, &sc, 0);
	memset(&err, 0, sizeof err);
	rc = tt_decode_json(d, text, n, 1, 1700000000000000000LL, &sink, &err);
	fuzz_check_decode(rc, &err, n, &sc);
	tt_decoder_free(d);
	fuzz_mem_end(n, "tt_decode_json (OTLP)");
	fuzz_check_stream(text, n, TT_REC_MAX_DEFAULT);
	free(text);
	return 0;
}
