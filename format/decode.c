/*
 * decode.c -- input documents to records: JSON (through the simdjson adapter)
 * and msgpack (bounded pre-check, then msgpack-c's unpacker) both become one
 * msgpack_object tree; its shape decides what it is (one record, a batch, an
 * OTLP export) and each record goes through the same alias mapping.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

int tt_decoder_new(tt_decoder **out, const tt_decode_opts *opts)
{
	tt_decoder *d;

	if (!out)
		return TT_EBADARG;
	*out = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	d->rec_max = opts && opts->rec_max ? opts->rec_max : TT_REC_MAX_DEFAULT;
	d->jp = tt_json_parser_new();
	d->rb.cap = 32;
	d->rb.kv = malloc(d->rb.cap * sizeof *d->rb.kv);
	if (!d->jp || !d->rb.kv || !msgpack_zone_init(&d->zone, 16384)) {
		tt_json_parser_free(d->jp);
		free(d->rb.kv);
		free(d);
		return -ENOMEM;
	}
	d->rb.n = 2;
	d->attrs_slot = -1;
	*out = d;
	return 0;
}

void tt_decoder_free(tt_decoder *d)
{
	if (!d)
		return;
	tt_json_parser_free(d->jp);
	msgpack_zone_destroy(&d->zone);
	tt_buf_free(&d->pad);
	tt_buf_free(&d->out);
	free(d->rb.kv);
	free(d->attrs);
	free(d);
}

void tt_reject(tt_decoder *d, size_t index, const tt_rec_err *err)
{
	if (d->sink->reject)
		d->sink->reject(d->sink->ctx, index, err);
}

/* The document-level errors (abort the call) as opposed to the element-level
 * ones (reject the element and go on). */
static int fatal(const tt_decoder *d, int rc)
{
	return d->aborted || rc == -ENOMEM;
}

static int decode_batch(tt_decoder *d, const msgpack_object *arr, tt_rec_err *err)
{
	if (arr->via.array.size > TT_BATCH_MAX) {
		tt_err_set(err, 0, "", "batch of %u elements exceeds the limit of %d",
		    (unsigned)arr->via.array.size, TT_BATCH_MAX);
		return TT_ETOOBIG;
	}
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		const msgpack_object *el = &arr->via.array.ptr[i];
		tt_rec_err e = {0};
		int rc;
		if (el->type != MSGPACK_OBJECT_MAP) {
			tt_err_set(&e, 0, "", "expected an object");
			rc = TT_EBADREC;
		} else {
			rc = tt_map_record(d, el, &e);
		}
		if (rc < 0) {
			if (fatal(d, rc)) {
				if (err)
					*err = e;
				return rc;
			}
			/* where the element starts: the best a tree can say */
			if (d->from_json) {
				size_t off = tt_json_elem_offset(d->jp, arr->via.array.ptr, i);
				e.offset = off == SIZE_MAX ? 0 : off;
			}
			tt_reject(d, i, &e);
		}
	}
	return 0;
}

/* What a map document is, in one pass over its keys: an OTLP export
 * (resourceSpans / resourceLogs arrays), a batch envelope -- TraceHub
 * {"traces":[...]} or Tracer {"logs":[...]}, an array under that key and no
 * timestamp of its own (a record with a "logs" field has one) -- or a record. */
enum { DOC_RECORD, DOC_OTLP, DOC_BATCH };

static int classify(const msgpack_object *m, const msgpack_object **batch)
{
	const msgpack_object *arr = NULL;
	int has_time = 0;

#define IS(lit) (k->via.str.size == sizeof(lit) - 1 && memcmp(k->via.str.ptr, lit, sizeof(lit) - 1) == 0)
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		switch (k->via.str.size) {
		case 2: has_time |= IS("ts"); break;
		case 4:
			has_time |= IS("time");
			if (IS("logs") && v->type == MSGPACK_OBJECT_ARRAY && !arr)
				arr = v;
			break;
		case 6:
			if (IS("traces") && v->type == MSGPACK_OBJECT_ARRAY)
				arr = v;
			break;
		case 9: has_time |= IS("timestamp"); break;
		case 12: case 13:
			if ((IS("resourceLogs") || IS("resourceSpans")) && v->type == MSGPACK_OBJECT_ARRAY)
				return DOC_OTLP;
			break;
		}
	}
#undef IS
	if (arr && !has_time) {
		*batch = arr;
		return DOC_BATCH;
	}
	return DOC_RECORD;
}

int tt_decode_tree(tt_decoder *d, const msgpack_object *root, tt_rec_err *err)
{
	const msgpack_object *a = NULL;
	int rc;

	if (root->type == MSGPACK_OBJECT_ARRAY) {
		rc = decode_batch(d, root, err);
	} else if (root->type != MSGPACK_OBJECT_MAP) {
		tt_err_set(err, 0, "", "expected an object or an array");
		rc = TT_EBADREC;
	} else {
		switch (classify(root, &a)) {
		case DOC_OTLP: rc = tt_otlp_map(d, root, err); break;
		case DOC_BATCH: rc = decode_batch(d, a, err); break;
		default: rc = tt_map_record(d, root, err); break;
		}
	}
	return rc < 0 ? rc : (int)d->emitted;
}

void tt_decode_begin(tt_decoder *d, int64_t now_ns, const tt_sink *sink)
{
	msgpack_zone_clear(&d->zone);
	d->now_ns = now_ns;
	d->sink = sink;
	d->emitted = 0;
	d->aborted = 0;
	d->doc_depth = INT_MAX; /* unknown: check every record */
	d->from_json = 0;
}

int tt_decode_json(tt_decoder *d, const char *text, size_t len, int padded,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err)
{
	msgpack_object root;
	int rc;

	if (!d || (!text && len) || !sink || !sink->record)
		return TT_EBADARG;
	tt_decode_begin(d, now_ns, sink);
	if (!padded) {
		d->pad.len = 0;
		if (tt_buf_reserve(&d->pad, len + TT_JSON_PADDING))
			return -ENOMEM;
		if (len)
			memcpy(d->pad.data, text, len);
		memset(d->pad.data + len, 0, TT_JSON_PADDING);
		text = (const char *)d->pad.data;
	}
	rc = tt_json_parse(d->jp, text, len, TT_DOC_DEPTH_MAX, &d->zone, &root, &d->doc_depth, err);
	if (rc)
		return rc;
	d->from_json = 1;
	return tt_decode_tree(d, &root, err);
}

int tt_decode_msgpack(tt_decoder *d, const uint8_t *p, size_t n, size_t *used,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err)
{
	msgpack_object root;
	size_t u, off = 0;
	int rc;

	if (used)
		*used = 0;
	if (!d || (!p && n) || !sink || !sink->record)
		return TT_EBADARG;
	tt_decode_begin(d, now_ns, sink);
	/* msgpack-c allocates what headers declare before it reads the elements;
	 * the bounded walk first proves every count fits in the bytes given. Its
	 * unpacker also stops at 32 levels (MSGPACK_EMBED_STACK_SIZE) counting
	 * the document's root: say so here as a limit, not as "malformed". */
	rc = tt_mp_skip(p, n, TT_DEPTH_MAX, &u, err);
	if (rc)
		return rc;
	d->doc_depth = TT_DEPTH_MAX;
	if (msgpack_unpack((const char *)p, u, &off, &d->zone, &root) != MSGPACK_UNPACK_SUCCESS) {
		tt_err_set(err, 0, "", "malformed msgpack");
		return TT_EBADREC;
	}
	if (used)
		*used = u;
	return tt_decode_tree(d, &root, err);
}
