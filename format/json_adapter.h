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

/* Parse `len` bytes at `text` (readable for TT_JSON_PADDING more bytes) as one
 * JSON document whose root is an object or an array, nesting at most
 * `max_depth`. On success *out is the tree (allocated in z), *depth an upper
 * bound of its nesting (the root is level 1), and 0 is returned.
 * Errors: TT_EBADREC (syntax; err->offset is the byte offset of the token where
 * parsing stopped), TT_ETOOBIG (nesting), -ENOMEM. */
int tt_json_parse(tt_json_parser *p, const char *text, size_t len, int max_depth,
    msgpack_zone *z, msgpack_object *out, int *depth, tt_rec_err *err);

/* Byte offset in the last parsed text of element i of the array whose
 * elements are at `elems` (an array at level 1 or 2), SIZE_MAX if unknown. */
size_t tt_json_elem_offset(const tt_json_parser *p, const msgpack_object *elems, uint32_t i);

#ifdef __cplusplus
}
#endif
#endif
