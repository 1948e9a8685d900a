/*
 * fmt_internal.h -- shared by the files of format/ only (not installed).
 *
 * mpread.c   bounded msgpack reading (tt_mp_check and the record readers use it)
 * encode.c   the record builder: key/value list -> canonical msgpack map
 * alias.c    one input map in any field dialect -> record builder
 * otlp.c     OTLP trace/log exports (JSON tree or converted protobuf) -> records
 * otlp_proto.c  OTLP/protobuf bodies -> the OTLP/JSON tree otlp.c maps
 * decode.c   documents: JSON/msgpack text -> tree -> shape dispatch -> sink
 */
#ifndef TT_FMT_INTERNAL_H
#define TT_FMT_INTERNAL_H

#include <errno.h>
#include <msgpack.h>
#include "ttformat.h"
#include "json_adapter.h"

/* Nesting the document trees may have: a record's own TT_DEPTH_MAX is checked
 * when it is encoded; OTLP spends up to 4 JSON levels per record level
 * (value -> kvlistValue -> values[] -> {key,value}) plus its envelope. */
#define TT_DOC_DEPTH_MAX (4 * TT_DEPTH_MAX + 8)

/* ---- mpread.c */
/* One msgpack value header at p (n bytes left). Fills v (scalars, STR/BIN
 * pointer+length checked against n, ARRAY/MAP count); *hdr = header bytes
 * (for STR/BIN including the payload). v->raw = p, v->raw_len = *hdr.
 * TT_EBADREC when truncated or an unknown byte. */
int tt_mp_head(const uint8_t *p, size_t n, tt_value *v, size_t *hdr);
/* Skip one whole value: every length and count bounded by the bytes left,
 * nesting <= max_depth (the value itself is level 1 if it is a container). */
int tt_mp_skip(const uint8_t *p, size_t n, int max_depth, size_t *used,
    tt_rec_err *err);

/* Values (map keys count, containers count once) in the value at p, counted
 * up to limit + 1; p must hold one value that tt_mp_skip accepted. */
size_t tt_mp_count(const uint8_t *p, size_t n, size_t limit);

/* ---- encode.c: the record builder */
typedef struct tt_recb {
	msgpack_object_kv *kv; /* output fields; kv[0] = ts, kv[1] = corr */
	uint32_t n, cap;       /* kv[0..n) used; n >= 2 */
	int has_ts, has_corr;  /* kv[0] / kv[1] filled */
} tt_recb;

struct tt_decoder {
	tt_json_parser *jp;
	msgpack_zone zone;   /* the document tree and everything mapped from it */
	size_t rec_max;
	tt_buf pad;          /* padded copy of unpadded JSON input */
	tt_buf out;          /* the record being encoded */
	tt_recb rb;          /* the record being built */
	msgpack_object_kv *attrs; /* attrs entries being merged for rb */
	uint32_t nattrs, attrs_cap;
	int attrs_slot;      /* rb index of the "attrs" placeholder, -1 if none yet */
	int aborted;         /* the sink's negative return: stop the whole call */
	tt_buf stage;        /* records of a streamed JSON batch (decode.c) */
	tt_sink stage_sink;  /* the sink that stages them */
	const tt_sink *user; /* the caller's sink while d->sink stages */
	tt_rec_err *err;     /* the caller's err during tt_decode_json */
	msgpack_zone keep;   /* a streamed OTLP export's resource and scopes */
	struct tt_otlp_ctx *otlp; /* its mapping state (decode.c) */
	int otlp_begun;      /* otlp set up for this call */
	int doc_depth;       /* nesting bound of the document: records built from
	                      * it nest no deeper, so at <= TT_DEPTH_MAX their
	                      * depth needs no check */
	int64_t now_ns;
	const tt_sink *sink;
	size_t emitted;      /* records handed to the sink by this call */
};

int tt_recb_grow(tt_decoder *d);
/* Append field k = *v to the record being built (k must outlive the emit). */
static inline int tt_recb_add(tt_decoder *d, const char *k, size_t kn, const msgpack_object *v)
{
	msgpack_object_kv *kv;

	if (d->rb.n == d->rb.cap && tt_recb_grow(d))
		return -ENOMEM;
	kv = &d->rb.kv[d->rb.n++];
	kv->key.type = MSGPACK_OBJECT_STR;
	kv->key.via.str.ptr = k;
	kv->key.via.str.size = (uint32_t)kn;
	kv->val = *v;
	return 0;
}
void tt_recb_reset(tt_decoder *d);
void tt_recb_set_ts(tt_decoder *d, int64_t ns);
int tt_recb_set_corr(tt_decoder *d, const msgpack_object *v, tt_rec_err *err);
int tt_attrs_add(tt_decoder *d, const msgpack_object_kv *kv);
int tt_attrs_add_n(tt_decoder *d, const msgpack_object_kv *kv, uint32_t n);
/* Adds "attrs" (the merged entries) at the current position if any. */
int tt_recb_add_attrs(tt_decoder *d);
/* Encode rb (ts filled with now_ns if missing) and hand it to the sink. */
int tt_recb_emit(tt_decoder *d, tt_rec_err *err);

/* msgpack-c object -> bytes, the encodings msgpack_pack_object() picks */
int tt_pack_object(tt_buf *b, const msgpack_object *o);
int tt_pack_str(tt_buf *b, const char *p, uint32_t n);

/* helpers for building values in d->zone */
msgpack_object tt_obj_str(const char *s, size_t n);
msgpack_object tt_obj_int(int64_t i);

/* The value of key k (a literal: inlined, its length and memcmp fold) in map. */
static inline const msgpack_object *tt_map_get(const msgpack_object *map, const char *k)
{
	size_t kn = __builtin_strlen(k);

	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *key = &map->via.map.ptr[i].key;
		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == kn &&
		    __builtin_memcmp(key->via.str.ptr, k, kn) == 0)
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}
void tt_err_set(tt_rec_err *err, size_t off, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Strict date-time: RFC 3339 / ISO 8601 ("2026-11-21T09:00:00.5+01:00", space
 * for T, no zone = UTC, date only). 0 ok, -1 not a date-time. */
int tt_iso8601_parse(const char *s, size_t n, int64_t *ns);

/* ---- alias.c */
/* Map one input record (a map in any dialect) and emit it. */
int tt_map_record(tt_decoder *d, const msgpack_object *in, tt_rec_err *err);

/* ---- otlp.c */
/* Emit one record per span / log record; element errors go to sink->reject.
 * Returns 0 or a negative error for the document as a whole. */
int tt_otlp_map(tt_decoder *d, const msgpack_object *root, tt_rec_err *err);

/* The same mapping a piece at a time (a streamed OTLP/JSON export, decode.c):
 * each resource's "resource" value, then each of its scopes' "scope" (or
 * "instrumentationLibrary") value, then that scope's elements. What a
 * resource and a scope hand over must live until the next resource. logs:
 * 0 spans, 1 log records; el NULL: an element too big to build. */
typedef struct tt_otlp_ctx {
	tt_decoder *d;
	size_t index;   /* element number across the whole document */
	char where[96]; /* "resourceSpans[0].scopeSpans[1].spans[2]" */
	const msgpack_object *service, *host, *resource, *scope;
} tt_otlp_ctx;
void tt_otlp_begin(tt_otlp_ctx *c, tt_decoder *d);
int tt_otlp_resource(tt_otlp_ctx *c, const msgpack_object *res, int logs, uint32_t i,
    tt_rec_err *err);
void tt_otlp_scope(tt_otlp_ctx *c, const msgpack_object *sc);
int tt_otlp_element(tt_otlp_ctx *c, const msgpack_object *el, int logs, uint32_t i,
    uint32_t j, uint32_t k, tt_rec_err *err);

/* ---- decode.c */
/* Start a decoding call: clear the zone, set now and the sink. */
void tt_decode_begin(tt_decoder *d, int64_t now_ns, const tt_sink *sink);
int tt_decode_tree(tt_decoder *d, const msgpack_object *root, tt_rec_err *err);
void tt_reject(tt_decoder *d, size_t index, const tt_rec_err *err);

#endif
