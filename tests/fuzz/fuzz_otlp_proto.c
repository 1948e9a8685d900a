/*
 * fuzz_otlp_proto.c -- OTLP/protobuf bodies (format/otlp_proto.c): POST
 * /v1/traces and /v1/logs with Content-Type application/x-protobuf.
 *
 * Every input is decoded both as an ExportTraceServiceRequest and as an
 * ExportLogsServiceRequest (the wire format does not say which it is).
 * protobuf-c allocates a struct per submessage and recurses per nesting
 * level, which the bounded pre-walk (PB_DEPTH_MAX, PB_MSGS_MAX) must keep in
 * check: heap bound and record oracle of fuzz.h.
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int logs = 0; logs <= 1; logs++) {
		tt_decoder *d;
		tt_sink sink;
		fuzz_sink_ctx sc;
		tt_rec_err err;
		int rc;

		fuzz_mem_begin();
		FUZZ_ASSERT(tt_decoder_new(&d, NULL) == 0);
		fuzz_sink_init(&sink, &sc, 0);
		memset(&err, 0, sizeof err);
		rc = tt_decode_otlp_proto(d, data, size, logs, 1700000000000000000LL, &sink, &err);
		fuzz_check_decode(rc, &err, size, &sc);
		tt_decoder_free(d);
		fuzz_mem_end(size, logs ? "tt_decode_otlp_proto logs" : "tt_decode_otlp_proto traces");
	}
	return 0;
}
