/*
 * json_adapter.h -- the one door between C and simdjson (format/json_simdjson.cc).
 *
 * A JSON text becomes a msgpack-c object tree allocated in a msgpack_zone, so the
 * field-alias mapping in decode.c has one input shape for JSON and msgpack input.
 * Numbers stay exact: integers that fit int64 are POSITIVE/NEGATIVE_INTEGER,
 * 2^63..2^64-1 POSITIVE_INTEGER, everything else FLOAT64. Strings (and map keys)
 * point into the parser's own buffer and stay valid until the next
 * tt_json_parse() on the same parser or tt_json_parser_free().
 * Internal to format/; not installed.
 */
#ifndef TT_JSON_ADAPTER_H
#define TT_JSON_ADAPTER_H

#include <stddef.h>
#include <msgpack.h>
#include "ttformat.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_json_parser tt_json_parser;

tt_json_parser *tt_json_parser_new(void); /* NULL on out of memory */
void tt_json_parser_free(tt_json_parser *p);

/* The shape of a map document, from its keys in order (decode.c): an OTLP
 * export (resourceSpans / resourceLogs arrays), a batch envelope -- TraceHub
 * {"traces":[...]} or Tracer {"logs":[...]}, an array under that key and no
 * timestamp of its own (a record with a "logs" field has one) -- or a record. */
enum { TT_DOC_RECORD, TT_DOC_OTLP, TT_DOC_BATCH };
typedef struct tt_doc_shape {
	int has_time, otlp, has_batch;
	uint32_t batch; /* index of the key whose array is the batch */
} tt_doc_shape;
void tt_doc_shape_init(tt_doc_shape *s);
void tt_doc_shape_key(tt_doc_shape *s, uint32_t i, const char *k, size_t n, int is_array);
int tt_doc_shape_kind(const tt_doc_shape *s);

/* How tt_json_parse hands over a batch (a root array, or the array of an
 * envelope): one element's tree at a time, so a document costs its own
 * parse buffers plus one record's tree, not a tree of the whole. */
typedef struct tt_json_elems {
	/* Element i, starting at byte offset off: its tree (valid during the call;
	 * nesting bound depth, the root being level 1), or NULL when it holds more
	 * than max_nodes values and was not built. Return <0 to stop the parse
	 * with that code (err is then the callback's to fill). */
	int (*element)(void *ctx, uint32_t i, size_t off, const msgpack_object *el, int depth);
	void *ctx;
	size_t max_elems; /* a batch of more elements: TT_ETOOBIG, nothing handed over */
	size_t max_nodes; /* values and keys in one record (an element, a root
	                   * record, a span or log record; a resource with its
	                   * scopes) */
	/* An OTLP export the same way, if otlp_resource is not NULL (else one
	 * tree): for each resource (logs 0: resourceSpans, 1: resourceLogs), the
	 * value of its "resource" key (NULL if none), then for each of its scopes
	 * the value of "scope" or "instrumentationLibrary", then that scope's
	 * spans or logRecords one at a time (el NULL: over max_nodes). Resources'
	 * and scopes' trees go to the keep zone, cleared at each resource. */
	int (*otlp_resource)(void *ctx, int logs, uint32_t i, const msgpack_object *res);
	void (*otlp_scope)(void *ctx, const msgpack_object *scope);
	int (*otlp_element)(void *ctx, int logs, uint32_t i, uint32_t j, uint32_t k,
	    const msgpack_object *el);
	msgpack_zone *keep;
} tt_json_elems;
#define TT_JSON_NODES_MSG "record of more than %zu values cannot fit the limit of %zu bytes"

/* Parse `len` bytes at `text` (readable for TT_JSON_PADDING more bytes) as one
 * JSON document whose root is an object or an array, nesting at most
 * `max_depth`. With ev NULL the whole document is one tree: *out (allocated
 * in z), *depth an upper bound of its nesting, return 0. With ev a batch is
 * streamed to ev->element instead (return 1; z is cleared between elements)
 * and anything else is a tree (return 0).
 * Errors: TT_EBADREC (syntax; err->offset is the byte offset of the token where
 * parsing stopped), TT_ETOOBIG (nesting, a batch over ev->max_elems, a record
 * over ev->max_nodes), -ENOMEM, or the callback's code. */
int tt_json_parse(tt_json_parser *p, const char *text, size_t len, int max_depth,
    const tt_json_elems *ev, msgpack_zone *z, msgpack_object *out, int *depth,
    tt_rec_err *err);

/* Give back buffers grown past `keep` bytes by a large document (the strings
 * of the last tree point into them: call when it is no longer used). */
void tt_json_trim(tt_json_parser *p, size_t keep);

#ifdef __cplusplus
}
#endif
#endif
