/*
 * encode.c -- the record builder: a list of key/value objects becomes one
 * canonical msgpack map ("ts" first, "corr" second, the rest in the order they
 * were added) packed with msgpack-c's packer, checked against the caps, and
 * handed to the sink. Also tt_buf, the growable buffer everything writes into.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

int tt_buf_reserve(tt_buf *b, size_t extra)
{
	size_t cap;
	uint8_t *p;

	if (b->cap - b->len >= extra)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	if (b->len == 0) {
		/* nothing to keep: a fresh block, not a copy of the old one
		 * (realloc would copy all of it, touching as many new pages) */
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int tt_buf_append(tt_buf *b, const void *p, size_t n)
{
	int rc = tt_buf_reserve(b, n);

	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void tt_buf_free(tt_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

msgpack_object tt_obj_str(const char *s, size_t n)
{
	msgpack_object o;

	o.type = MSGPACK_OBJECT_STR;
	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)n;
	return o;
}

msgpack_object tt_obj_int(int64_t i)
{
	msgpack_object o;

	if (i >= 0) {
		o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o.via.u64 = (uint64_t)i;
	} else {
		o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o.via.i64 = i;
	}
	return o;
}

void tt_recb_reset(tt_decoder *d)
{
	d->rb.n = 2;
	d->rb.has_ts = d->rb.has_corr = 0;
	d->nattrs = 0;
	d->attrs_slot = -1;
}

int tt_recb_grow(tt_decoder *d)
{
	uint32_t cap = d->rb.cap ? d->rb.cap * 2 : 32;
	msgpack_object_kv *kv = realloc(d->rb.kv, cap * sizeof *kv);

	if (!kv)
		return -ENOMEM;
	d->rb.kv = kv;
	d->rb.cap = cap;
	return 0;
}

void tt_recb_set_ts(tt_decoder *d, int64_t ns)
{
	d->rb.kv[0].key = tt_obj_str("ts", 2);
	d->rb.kv[0].val = tt_obj_int(ns);
	d->rb.has_ts = 1;
}

int tt_recb_set_corr(tt_decoder *d, const msgpack_object *v, tt_rec_err *err)
{
	msgpack_object c = *v;

	switch (v->type) {
	case MSGPACK_OBJECT_STR:
	case MSGPACK_OBJECT_BIN:
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: {
		/* a numeric id is stored as its decimal text: index keys are bytes */
		char *s = msgpack_zone_malloc(&d->zone, 24);
		int n;
		if (!s)
			return -ENOMEM;
		n = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ?
		    snprintf(s, 24, "%" PRIu64, v->via.u64) : snprintf(s, 24, "%" PRId64, v->via.i64);
		c = tt_obj_str(s, (size_t)n);
		break;
	}
	default:
		tt_err_set(err, 0, "corr", "expected a string");
		return TT_EBADREC;
	}
	if (c.via.str.size == 0)
		return 0; /* "" means no correlation id (LMDB keys cannot be empty) */
	if (c.via.str.size > TT_ID_MAX) {
		tt_err_set(err, 0, "corr", "correlation id of %u bytes exceeds %d",
		    (unsigned)c.via.str.size, TT_ID_MAX);
		return TT_ETOOBIG;
	}
	d->rb.kv[1].key = tt_obj_str("corr", 4);
	d->rb.kv[1].val = c;
	d->rb.has_corr = 1;
	return 0;
}

/* Grows once to what n more entries need (at least doubling): merging a map
 * of a million entries costs one array of that size, not a chain of
 * doublings whose last realloc holds 1.5 copies at once. */
int tt_attrs_add_n(tt_decoder *d, const msgpack_object_kv *kv, uint32_t n)
{
	if (n > d->attrs_cap - d->nattrs) {
		uint64_t need = (uint64_t)d->nattrs + n;
		uint64_t cap = d->attrs_cap ? 2 * (uint64_t)d->attrs_cap : 32;
		msgpack_object_kv *a;

		if (cap < need)
			cap = need;
		if (cap > UINT32_MAX || !(a = realloc(d->attrs, cap * sizeof *a)))
			return -ENOMEM;
		d->attrs = a;
		d->attrs_cap = (uint32_t)cap;
	}
	if (n)
		memcpy(d->attrs + d->nattrs, kv, n * sizeof *kv);
	d->nattrs += n;
	return 0;
}

int tt_attrs_add(tt_decoder *d, const msgpack_object_kv *kv)
{
	return tt_attrs_add_n(d, kv, 1);
}

int tt_recb_add_attrs(tt_decoder *d)
{
	msgpack_object nil;

	if (d->attrs_slot >= 0)
		return 0;
	nil.type = MSGPACK_OBJECT_NIL;
	d->attrs_slot = (int)d->rb.n;
	return tt_recb_add(d, "attrs", 5, &nil);
}

/* 1 if o nests no deeper than TT_DEPTH_MAX, counting from level `lvl` */
static int depth_ok(const msgpack_object *o, int lvl)
{
	if (o->type == MSGPACK_OBJECT_ARRAY) {
		if (lvl > TT_DEPTH_MAX)
			return 0;
		for (uint32_t i = 0; i < o->via.array.size; i++)
			if (!depth_ok(&o->via.array.ptr[i], lvl + 1))
				return 0;
	} else if (o->type == MSGPACK_OBJECT_MAP) {
		if (lvl > TT_DEPTH_MAX)
			return 0;
		for (uint32_t i = 0; i < o->via.map.size; i++)
			if (!depth_ok(&o->via.map.ptr[i].key, lvl + 1) ||
			    !depth_ok(&o->via.map.ptr[i].val, lvl + 1))
				return 0;
	}
	return 1;
}

/* ---- the packer. msgpack-c's packer writes through a callback per token;
 * on the ingest path that was the largest single cost (~25 % of tt_decode_json
 * on 400 B lines), so records are packed here, straight into the buffer,
 * choosing exactly the encodings msgpack_pack_object() chooses (the smallest
 * that fits). tests/unit/test_format.c checks the bytes are identical. */

static uint8_t *w_reserve(tt_buf *b, size_t n)
{
	if (b->cap - b->len < n && tt_buf_reserve(b, n))
		return NULL;
	return b->data + b->len;
}

static void be16w(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void be32w(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static void be64w(uint8_t *p, uint64_t v) { be32w(p, (uint32_t)(v >> 32)); be32w(p + 4, (uint32_t)v); }

/* a header with a length/count: tiny form (tag|n) below `tiny`, then 8/16/32 */
static inline int pack_len(tt_buf *b, uint32_t n, uint8_t fix, uint32_t tiny, int has8,
    uint8_t t8, uint8_t t16, uint8_t t32)
{
	uint8_t *w = w_reserve(b, 5);

	if (!w)
		return -ENOMEM;
	if (n < tiny) {
		w[0] = (uint8_t)(fix | n);
		b->len += 1;
	} else if (has8 && n < 256) {
		w[0] = t8;
		w[1] = (uint8_t)n;
		b->len += 2;
	} else if (n < 65536) {
		w[0] = t16;
		be16w(w + 1, (uint16_t)n);
		b->len += 3;
	} else {
		w[0] = t32;
		be32w(w + 1, n);
		b->len += 5;
	}
	return 0;
}

static int pack_raw(tt_buf *b, const char *p, uint32_t n)
{
	uint8_t *w = w_reserve(b, n);

	if (!w)
		return -ENOMEM;
	if (n) /* an empty str may come with p == NULL */
		memcpy(w, p, n);
	b->len += n;
	return 0;
}

int tt_pack_str(tt_buf *b, const char *p, uint32_t n)
{
	int rc = pack_len(b, n, 0xa0, 32, 1, 0xd9, 0xda, 0xdb);
	return rc ? rc : pack_raw(b, p, n);
}

static int pack_uint(tt_buf *b, uint64_t u)
{
	uint8_t *w = w_reserve(b, 9);

	if (!w)
		return -ENOMEM;
	if (u < 128) {
		w[0] = (uint8_t)u;
		b->len += 1;
	} else if (u < 256) {
		w[0] = 0xcc; w[1] = (uint8_t)u;
		b->len += 2;
	} else if (u < 65536) {
		w[0] = 0xcd; be16w(w + 1, (uint16_t)u);
		b->len += 3;
	} else if (u <= UINT32_MAX) {
		w[0] = 0xce; be32w(w + 1, (uint32_t)u);
		b->len += 5;
	} else {
		w[0] = 0xcf; be64w(w + 1, u);
		b->len += 9;
	}
	return 0;
}

static int pack_neg(tt_buf *b, int64_t i)
{
	uint8_t *w = w_reserve(b, 9);

	if (!w)
		return -ENOMEM;
	if (i >= -32) {
		w[0] = (uint8_t)(int8_t)i;
		b->len += 1;
	} else if (i >= -128) {
		w[0] = 0xd0; w[1] = (uint8_t)(int8_t)i;
		b->len += 2;
	} else if (i >= -32768) {
		w[0] = 0xd1; be16w(w + 1, (uint16_t)(int16_t)i);
		b->len += 3;
	} else if (i >= INT32_MIN) {
		w[0] = 0xd2; be32w(w + 1, (uint32_t)(int32_t)i);
		b->len += 5;
	} else {
		w[0] = 0xd3; be64w(w + 1, (uint64_t)i);
		b->len += 9;
	}
	return 0;
}

int tt_pack_object(tt_buf *b, const msgpack_object *o)
{
	uint8_t *w;
	int rc = 0;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
	case MSGPACK_OBJECT_BOOLEAN:
		if (!(w = w_reserve(b, 1)))
			return -ENOMEM;
		w[0] = o->type == MSGPACK_OBJECT_NIL ? 0xc0 : o->via.boolean ? 0xc3 : 0xc2;
		b->len++;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return pack_uint(b, o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return o->via.i64 >= 0 ? pack_uint(b, (uint64_t)o->via.i64) : pack_neg(b, o->via.i64);
	case MSGPACK_OBJECT_FLOAT32: {
		float f = (float)o->via.f64;
		uint32_t u;
		if (!(w = w_reserve(b, 5)))
			return -ENOMEM;
		memcpy(&u, &f, 4);
		w[0] = 0xca;
		be32w(w + 1, u);
		b->len += 5;
		return 0;
	}
	case MSGPACK_OBJECT_FLOAT64: {
		uint64_t u;
		if (!(w = w_reserve(b, 9)))
			return -ENOMEM;
		memcpy(&u, &o->via.f64, 8);
		w[0] = 0xcb;
		be64w(w + 1, u);
		b->len += 9;
		return 0;
	}
	case MSGPACK_OBJECT_STR:
		return tt_pack_str(b, o->via.str.ptr, o->via.str.size);
	case MSGPACK_OBJECT_BIN:
		rc = pack_len(b, o->via.bin.size, 0, 0, 1, 0xc4, 0xc5, 0xc6);
		return rc ? rc : pack_raw(b, o->via.bin.ptr, o->via.bin.size);
	case MSGPACK_OBJECT_EXT: {
		uint32_t n = o->via.ext.size;
		if (!(w = w_reserve(b, 6)))
			return -ENOMEM;
		if (n == 1 || n == 2 || n == 4 || n == 8 || n == 16) {
			w[0] = n == 1 ? 0xd4 : n == 2 ? 0xd5 : n == 4 ? 0xd6 : n == 8 ? 0xd7 : 0xd8;
			w[1] = (uint8_t)o->via.ext.type;
			b->len += 2;
		} else if (n < 256) {
			w[0] = 0xc7; w[1] = (uint8_t)n; w[2] = (uint8_t)o->via.ext.type;
			b->len += 3;
		} else if (n < 65536) {
			w[0] = 0xc8; be16w(w + 1, (uint16_t)n); w[3] = (uint8_t)o->via.ext.type;
			b->len += 4;
		} else {
			w[0] = 0xc9; be32w(w + 1, n); w[5] = (uint8_t)o->via.ext.type;
			b->len += 6;
		}
		return pack_raw(b, o->via.ext.ptr, n);
	}
	case MSGPACK_OBJECT_ARRAY:
		rc = pack_len(b, o->via.array.size, 0x90, 16, 0, 0, 0xdc, 0xdd);
		for (uint32_t i = 0; i < o->via.array.size && rc == 0; i++)
			rc = tt_pack_object(b, &o->via.array.ptr[i]);
		return rc;
	case MSGPACK_OBJECT_MAP:
		rc = pack_len(b, o->via.map.size, 0x80, 16, 0, 0, 0xde, 0xdf);
		for (uint32_t i = 0; i < o->via.map.size && rc == 0; i++) {
			rc = tt_pack_object(b, &o->via.map.ptr[i].key);
			if (rc == 0)
				rc = tt_pack_object(b, &o->via.map.ptr[i].val);
		}
		return rc;
	}
	return TT_EBADARG;
}

/* Fill the attrs placeholder (or drop it when nothing was merged). */
static int recb_finish_attrs(tt_decoder *d)
{
	msgpack_object m;

	if (d->nattrs == 0) {
		if (d->attrs_slot >= 0) {
			memmove(&d->rb.kv[d->attrs_slot], &d->rb.kv[d->attrs_slot + 1],
			    (d->rb.n - (uint32_t)d->attrs_slot - 1) * sizeof *d->rb.kv);
			d->rb.n--;
		}
		return 0;
	}
	if (d->attrs_slot < 0 && tt_recb_add_attrs(d))
		return -ENOMEM;
	/* the entries stay in d->attrs: the record is packed before anything
	 * is added to them again (no copy: they may be millions) */
	m.type = MSGPACK_OBJECT_MAP;
	m.via.map.size = d->nattrs;
	m.via.map.ptr = d->attrs;
	d->rb.kv[d->attrs_slot].val = m;
	return 0;
}

int tt_recb_emit(tt_decoder *d, tt_rec_err *err)
{
	tt_recb *b = &d->rb;
	uint32_t i, nkeys;
	int rc;

	if ((rc = recb_finish_attrs(d)))
		return rc;
	if (!b->has_ts)
		tt_recb_set_ts(d, d->now_ns);
	nkeys = b->n - (b->has_corr ? 0 : 1);
	for (i = 2; i < b->n && d->doc_depth > TT_DEPTH_MAX; i++) {
		if (!depth_ok(&b->kv[i].val, 2)) {
			char f[64];
			snprintf(f, sizeof f, "%.*s", (int)b->kv[i].key.via.str.size,
			    b->kv[i].key.via.str.ptr);
			tt_err_set(err, 0, f, "nesting deeper than %d", TT_DEPTH_MAX);
			return TT_ETOOBIG;
		}
	}
	d->out.len = 0;
	rc = pack_len(&d->out, nkeys, 0x80, 16, 0, 0, 0xde, 0xdf);
	for (i = 0; i < b->n && rc == 0; i++) {
		if (i == 1 && !b->has_corr)
			continue;
		rc = tt_pack_str(&d->out, b->kv[i].key.via.str.ptr, b->kv[i].key.via.str.size);
		if (rc == 0)
			rc = tt_pack_object(&d->out, &b->kv[i].val);
	}
	if (rc)
		return rc;
	if (d->out.len > d->rec_max) {
		tt_err_set(err, 0, "", "record of %zu bytes exceeds the limit of %zu",
		    d->out.len, d->rec_max);
		return TT_ETOOBIG;
	}
	rc = d->sink->record(d->sink->ctx, d->out.data, d->out.len);
	if (rc < 0) {
		d->aborted = rc;
		return rc;
	}
	d->emitted++;
	return 0;
}
