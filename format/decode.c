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

static int stage_record(void *ctx, const uint8_t *rec, size_t len);
static void stage_reject(void *ctx, size_t index, const tt_rec_err *err);

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
	d->otlp = malloc(sizeof *d->otlp);
	if (!d->jp || !d->rb.kv || !d->otlp || !msgpack_zone_init(&d->zone, 16384)) {
		tt_json_parser_free(d->jp);
		free(d->rb.kv);
		free(d->otlp);
		free(d);
		return -ENOMEM;
	}
	if (!msgpack_zone_init(&d->keep, 4096)) {
		msgpack_zone_destroy(&d->zone);
		tt_json_parser_free(d->jp);
		free(d->rb.kv);
		free(d->otlp);
		free(d);
		return -ENOMEM;
	}
	d->rb.n = 2;
	d->attrs_slot = -1;
	d->stage_sink.record = stage_record;
	d->stage_sink.reject = stage_reject;
	d->stage_sink.ctx = d;
	*out = d;
	return 0;
}

void tt_decoder_free(tt_decoder *d)
{
	if (!d)
		return;
	tt_json_parser_free(d->jp);
	msgpack_zone_destroy(&d->zone);
	msgpack_zone_destroy(&d->keep);
	free(d->otlp);
	tt_buf_free(&d->pad);
	tt_buf_free(&d->out);
	tt_buf_free(&d->stage);
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

/* Element i of a batch: a map becomes a record; anything else, a record the
 * mapping refuses, or one too big to build (el NULL) is rejected, at byte
 * offset off if known (SIZE_MAX: not). <0 ends the call. */
static int batch_elem(tt_decoder *d, uint32_t i, size_t off, const msgpack_object *el,
    tt_rec_err *err)
{
	tt_rec_err e = {0};
	int rc;

	if (!el) {
		tt_err_set(&e, 0, "", TT_JSON_NODES_MSG, d->rec_max, d->rec_max);
		rc = TT_ETOOBIG;
	} else if (el->type != MSGPACK_OBJECT_MAP) {
		tt_err_set(&e, 0, "", "expected an object");
		rc = TT_EBADREC;
	} else {
		rc = tt_map_record(d, el, &e);
	}
	if (rc >= 0)
		return 0;
	if (fatal(d, rc)) {
		if (err)
			*err = e;
		return rc;
	}
	if (off != SIZE_MAX)
		e.offset = off; /* where the element starts: the best a tree can say */
	tt_reject(d, i, &e);
	return 0;
}

static int decode_batch(tt_decoder *d, const msgpack_object *arr, tt_rec_err *err)
{
	if (arr->via.array.size > TT_BATCH_MAX) {
		tt_err_set(err, 0, "", "batch of %u elements exceeds the limit of %d",
		    (unsigned)arr->via.array.size, TT_BATCH_MAX);
		return TT_ETOOBIG;
	}
	for (uint32_t i = 0; i < arr->via.array.size; i++) {
		int rc = batch_elem(d, i, SIZE_MAX, &arr->via.array.ptr[i], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void tt_doc_shape_init(tt_doc_shape *s)
{
	memset(s, 0, sizeof *s);
}

void tt_doc_shape_key(tt_doc_shape *s, uint32_t i, const char *k, size_t n, int is_array)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)
	switch (n) {
	case 2: s->has_time |= IS("ts"); break;
	case 4:
		s->has_time |= IS("time");
		if (IS("logs") && is_array && !s->has_batch)
			s->has_batch = 1, s->batch = i;
		break;
	case 6:
		if (IS("traces") && is_array)
			s->has_batch = 1, s->batch = i;
		break;
	case 9: s->has_time |= IS("timestamp"); break;
	case 12: case 13:
		s->otlp |= (IS("resourceLogs") || IS("resourceSpans")) && is_array;
		break;
	}
#undef IS
}

int tt_doc_shape_kind(const tt_doc_shape *s)
{
	if (s->otlp)
		return TT_DOC_OTLP;
	return s->has_batch && !s->has_time ? TT_DOC_BATCH : TT_DOC_RECORD;
}

/* {"trace":[{...}]}: an object whose only member is an array of objects (or
 * an empty one) under a key that is not a batch key is a misspelt envelope,
 * not a record holding an array: refused, naming the key (FORMAT.md 2.1). */
static int envelope_typo(const msgpack_object *root, tt_rec_err *err)
{
	const msgpack_object_kv *kv = root->via.map.ptr;
	const msgpack_object *a;

	if (root->via.map.size != 1 || kv->key.type != MSGPACK_OBJECT_STR ||
	    kv->val.type != MSGPACK_OBJECT_ARRAY)
		return 0;
	a = &kv->val;
	if (a->via.array.size && a->via.array.ptr[0].type != MSGPACK_OBJECT_MAP)
		return 0;
	tt_err_set(err, 0, "", "unknown batch key '%.*s': a batch is {\"traces\":[...]}, "
	    "{\"logs\":[...]} or [...]", (int)(kv->key.via.str.size > 64 ? 64 :
	    kv->key.via.str.size), kv->key.via.str.ptr);
	if (err)
		snprintf(err->field, sizeof err->field, "%.*s", (int)kv->key.via.str.size,
		    kv->key.via.str.ptr);
	return 1;
}

int tt_decode_tree(tt_decoder *d, const msgpack_object *root, tt_rec_err *err)
{
	tt_doc_shape shape;
	int rc;

	if (root->type == MSGPACK_OBJECT_ARRAY) {
		rc = decode_batch(d, root, err);
	} else if (root->type != MSGPACK_OBJECT_MAP) {
		tt_err_set(err, 0, "", "expected an object or an array");
		rc = TT_EBADREC;
	} else {
		const msgpack_object_kv *kv = root->via.map.ptr;
		tt_doc_shape_init(&shape);
		for (uint32_t i = 0; i < root->via.map.size; i++)
			if (kv[i].key.type == MSGPACK_OBJECT_STR)
				tt_doc_shape_key(&shape, i, kv[i].key.via.str.ptr, kv[i].key.via.str.size,
				    kv[i].val.type == MSGPACK_OBJECT_ARRAY);
		switch (tt_doc_shape_kind(&shape)) {
		case TT_DOC_OTLP: rc = tt_otlp_map(d, root, err); break;
		case TT_DOC_BATCH: rc = decode_batch(d, &kv[shape.batch].val, err); break;
		default:
			/* {} is an empty document, as [] is: no record */
			rc = root->via.map.size == 0 ? 0 : envelope_typo(root, err) ? TT_EBADREC :
			    tt_map_record(d, root, err);
			break;
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
}

/* A streamed batch: the records of its elements are staged (length, bytes)
 * and handed to the caller's sink only once the whole document has parsed,
 * so a document that fails as a whole (a syntax error after its first
 * elements) yields no record, as a tree would; rejections pass straight on. */
static int stage_record(void *ctx, const uint8_t *rec, size_t len)
{
	tt_decoder *d = ctx;
	uint32_t n = (uint32_t)len;

	if (tt_buf_reserve(&d->stage, d->stage.len + sizeof n + len))
		return -ENOMEM;
	memcpy(d->stage.data + d->stage.len, &n, sizeof n);
	memcpy(d->stage.data + d->stage.len + sizeof n, rec, len);
	d->stage.len += sizeof n + len;
	return 0;
}

static void stage_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	tt_decoder *d = ctx;

	if (d->user->reject)
		d->user->reject(d->user->ctx, index, err);
}

static int json_elem(void *ctx, uint32_t i, size_t off, const msgpack_object *el, int depth)
{
	tt_decoder *d = ctx;

	d->doc_depth = depth;
	return batch_elem(d, i, off, el, d->err);
}

/* A streamed OTLP/JSON export: the resource's mapping state is built in the
 * keep zone (swapped in for the call), each element in the zone. */
static int json_otlp_resource(void *ctx, int logs, uint32_t i, const msgpack_object *res)
{
	tt_decoder *d = ctx;
	msgpack_zone z = d->zone;
	int rc;

	if (!d->otlp_begun) { /* the first resource of the export */
		tt_otlp_begin(d->otlp, d);
		d->otlp_begun = 1;
	}
	d->zone = d->keep;
	rc = tt_otlp_resource(d->otlp, res, logs, i, d->err);
	d->keep = d->zone;
	d->zone = z;
	return rc;
}

static void json_otlp_scope(void *ctx, const msgpack_object *sc)
{
	tt_decoder *d = ctx;

	tt_otlp_scope(d->otlp, sc);
}

static int json_otlp_element(void *ctx, int logs, uint32_t i, uint32_t j, uint32_t k,
    const msgpack_object *el)
{
	tt_decoder *d = ctx;

	return tt_otlp_element(d->otlp, el, logs, i, j, k, d->err);
}

/* The staged records to the caller's sink. */
static int unstage(tt_decoder *d)
{
	size_t at = 0;

	d->sink = d->user;
	while (at < d->stage.len) {
		uint32_t n;
		int rc;
		memcpy(&n, d->stage.data + at, sizeof n);
		rc = d->user->record(d->user->ctx, d->stage.data + at + sizeof n, n);
		if (rc < 0)
			return rc;
		at += sizeof n + n;
	}
	return 0;
}

/* Buffers a large document grew are given back after it: a daemon that was
 * sent one 20 MiB body does not keep 100 MiB for the small ones after it. */
#define TT_DECODE_KEEP (1u << 20)

static void trim(tt_decoder *d)
{
	tt_json_trim(d->jp, TT_DECODE_KEEP);
	if (d->stage.cap > TT_DECODE_KEEP)
		tt_buf_free(&d->stage);
	if (d->pad.cap > TT_DECODE_KEEP)
		tt_buf_free(&d->pad);
	if (d->out.cap > TT_DECODE_KEEP)
		tt_buf_free(&d->out);
	msgpack_zone_clear(&d->zone);
	msgpack_zone_clear(&d->keep);
}

int tt_decode_json(tt_decoder *d, const char *text, size_t len, int padded,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err)
{
	tt_json_elems ev = { json_elem, d, TT_BATCH_MAX, 0, json_otlp_resource,
	    json_otlp_scope, json_otlp_element, NULL };
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
	ev.max_nodes = d->rec_max;
	ev.keep = &d->keep;
	d->otlp_begun = 0;
	d->user = sink;
	d->sink = &d->stage_sink;
	d->stage.len = 0;
	d->err = err;
	rc = tt_json_parse(d->jp, text, len, TT_DOC_DEPTH_MAX, &ev, &d->zone, &root, &d->doc_depth, err);
	d->sink = sink;
	if (rc == 1) {
		rc = unstage(d);
		rc = rc < 0 ? rc : (int)d->emitted;
	} else if (rc == 0) {
		rc = tt_decode_tree(d, &root, err);
	}
	if (len > TT_DECODE_KEEP)
		trim(d);
	return rc;
}

/* One msgpack value of u bytes at p unpacked into the zone: a value of more
 * values than rec_max (a record of them cannot fit) is not unpacked: 1. */
static int mp_unpack(tt_decoder *d, const uint8_t *p, size_t u, msgpack_object *o)
{
	size_t off = 0;

	/* each value takes a byte: only a value of more bytes can be that big */
	if (u > d->rec_max && tt_mp_count(p, u, d->rec_max) > d->rec_max)
		return 1;
	switch (msgpack_unpack((const char *)p, u, &off, &d->zone, o)) {
	case MSGPACK_UNPACK_SUCCESS: return 0;
	case MSGPACK_UNPACK_NOMEM_ERROR: return -ENOMEM;
	default: return TT_EBADREC;
	}
}

/* A root array, an element at a time: each unpacked, mapped and dropped, so
 * the document costs one element's tree, not the tree of all of them. The
 * whole of it was walked already: nothing can be malformed here. */
static int mp_batch(tt_decoder *d, const uint8_t *p, size_t u, tt_rec_err *err)
{
	tt_value v;
	size_t h, off;
	int rc;

	if (tt_mp_head(p, u, &v, &h))
		return TT_EBADREC;
	if (v.v.count > TT_BATCH_MAX) {
		tt_err_set(err, 0, "", "batch of %llu elements exceeds the limit of %d",
		    (unsigned long long)v.v.count, TT_BATCH_MAX);
		return TT_ETOOBIG;
	}
	off = h;
	for (uint32_t i = 0; i < v.v.count; i++) {
		msgpack_object o;
		size_t el;
		if ((rc = tt_mp_skip(p + off, u - off, TT_DEPTH_MAX, &el, err)))
			return rc;
		msgpack_zone_clear(&d->zone);
		if ((rc = mp_unpack(d, p + off, el, &o)) < 0) {
			tt_err_set(err, off, "", rc == -ENOMEM ? "out of memory" : "malformed msgpack");
			return rc;
		}
		if ((rc = batch_elem(d, i, SIZE_MAX, rc ? NULL : &o, err)) < 0)
			return rc;
		off += el;
	}
	return (int)d->emitted;
}

int tt_decode_msgpack(tt_decoder *d, const uint8_t *p, size_t n, size_t *used,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err)
{
	msgpack_object root;
	size_t u;
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
	if (used)
		*used = u;
	if ((p[0] & 0xf0) == 0x90 || p[0] == 0xdc || p[0] == 0xdd)
		rc = mp_batch(d, p, u, err);
	else if ((rc = mp_unpack(d, p, u, &root)) == 1) {
		tt_err_set(err, 0, "", TT_JSON_NODES_MSG, d->rec_max, d->rec_max);
		rc = TT_ETOOBIG;
	} else if (rc < 0) {
		tt_err_set(err, 0, "", rc == -ENOMEM ? "out of memory" : "malformed msgpack");
	} else {
		rc = tt_decode_tree(d, &root, err);
	}
	if (u > TT_DECODE_KEEP)
		trim(d);
	return rc;
}
