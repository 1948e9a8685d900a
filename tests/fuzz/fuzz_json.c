/*
 * fuzz_json.c -- JSON input in every dialect tt_decode_json accepts (records
 * with the aliases of format/alias.c, arrays of them, TraceHub {"traces":[]}
 * and Tracer {"logs":[]} batches, OTLP/JSON exports), as ttd's POST bodies
 * and tt-ingest's lines and documents bring it:
 *   - the whole input as one document (padded copy, as ttd passes bodies);
 *   - each line as a document (unpadded: the decoder copies), as tt-ingest
 *     reads JSON lines;
 * with the heap bound and the record oracle of fuzz.h. The first byte, when
 * odd, selects a small record cap (ttd --max-record 4K).
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(tt_decoder *d, const char *text, size_t len, int padded, size_t rec_max)
{
	tt_sink sink;
	fuzz_sink_ctx sc;
	tt_rec_err err;
	int rc;

	fuzz_sink_init(&sink, &sc, rec_max);
	memset(&err, 0, sizeof err);
	rc = tt_decode_json(d, text, len, padded, 1700000000000000000LL, &sink, &err);
	fuzz_check_decode(rc, &err, len, &sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tt_decoder *d;
	tt_decode_opts o = { 4096 };
	size_t rec_max = size && (data[0] & 1) ? o.rec_max : TT_REC_MAX_DEFAULT;
	char *pad = malloc(size + TT_JSON_PADDING);
	const char *text = (const char *)data, *end = text + size;

	FUZZ_ASSERT(pad != NULL);
	memcpy(pad, data, size);
	memset(pad + size, 0, TT_JSON_PADDING);
	fuzz_mem_begin();
	FUZZ_ASSERT(tt_decoder_new(&d, &(tt_decode_opts){ rec_max }) == 0);
	decode(d, pad, size, 1, rec_max);
	tt_decoder_free(d);
	fuzz_mem_end(size, "tt_decode_json document");
	fuzz_check_stream(pad, size, rec_max);

	/* line by line, one decoder for all (as tt-ingest) */
	fuzz_mem_begin();
	FUZZ_ASSERT(tt_decoder_new(&d, &(tt_decode_opts){ rec_max }) == 0);
	while (text < end) {
		const char *nl = memchr(text, '\n', (size_t)(end - text));
		size_t n = nl ? (size_t)(nl - text) : (size_t)(end - text);
		if (n)
			decode(d, text, n, 0, rec_max);
		text += n + 1;
	}
	tt_decoder_free(d);
	fuzz_mem_end(size, "tt_decode_json lines");
	free(pad);
	return 0;
}
