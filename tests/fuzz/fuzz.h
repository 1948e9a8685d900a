/*
 * fuzz.h -- what the libFuzzer harnesses of tests/fuzz/ share (fuzz.c).
 *
 * Each harness fuzz_<target>.c defines LLVMFuzzerTestOneInput and feeds the
 * bytes to the real code; a crash, a sanitizer report, a timeout, an
 * allocation over -malloc_limit_mb or a failed FUZZ_ASSERT is a finding.
 * Checks beyond "does not crash":
 *   - heap bound: the peak of live heap bytes during one decoder call must
 *     stay under FUZZ_MEM_MULT x input + FUZZ_MEM_BASE (fuzz_mem_begin/end);
 *   - record oracle: every record a decoder emits must be canonical (the
 *     writer's append_decoded trusts that without checking) and printable;
 *   - stream oracle: JSON decoded as before streaming, one whole tree, gives
 *     the same records (fuzz_check_stream).
 */
#ifndef TT_FUZZ_H
#define TT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ttformat.h"

#define FUZZ_ASSERT(c) do { if (!(c)) { \
	fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n", __FILE__, __LINE__, #c); \
	abort(); } } while (0)

/* Peak heap of one call: a decoder may build a tree of ~24 bytes per input
 * byte (a msgpack_object per 1-byte element) plus copies of it (the record
 * being encoded, simdjson's tape); FUZZ_MEM_BASE covers fixed buffers
 * (parser, zone chunks, LZ4/zlib state). */
#define FUZZ_MEM_MULT 64
#define FUZZ_MEM_BASE (256u << 10)
void fuzz_mem_begin(void);
/* Peak live bytes since fuzz_mem_begin; aborts when over the bound for n. */
size_t fuzz_mem_end(size_t n, const char *what);

/* A sink that checks every record it receives (see above) and counts them. */
typedef struct fuzz_sink_ctx {
	size_t records, rejects;
	size_t rec_max;
	tt_filter *filter; /* also run on each record if not NULL */
} fuzz_sink_ctx;
void fuzz_sink_init(tt_sink *s, fuzz_sink_ctx *c, size_t rec_max);
/* What a tt_decode_* call must return: the number of records the sink got,
 * or TT_EBADREC / TT_ETOOBIG with a terminated reason and an offset inside
 * the len input bytes. */
void fuzz_check_decode(int rc, const tt_rec_err *err, size_t len, const fuzz_sink_ctx *sc);
/* The checks of the sink on one record; also used on records read from a store. */
void fuzz_check_record(const uint8_t *rec, size_t len, const tt_filter *f);

/* tt_decode_json (batches and exports streamed a piece at a time) against
 * decoding the same padded text as one tree: where the tree decodes, the
 * stream must give the same records in the same order and reject the same
 * elements (the stream may accept a text whose skipped parts the tree
 * refuses). */
void fuzz_check_stream(const char *text, size_t n, size_t rec_max);

/* A private temporary directory (removed at exit); fuzz_rm_rf empties trees. */
const char *fuzz_tmpdir(void);
void fuzz_rm_rf(const char *path);

#endif
