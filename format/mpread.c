/*
 * mpread.c -- bounded reading of msgpack bytes that came from disk or a socket.
 *
 * msgpack headers declare lengths and counts of up to 2^32-1; nothing here
 * trusts them: a length must fit in the bytes that remain, and a count is only
 * ever walked element by element (each element costs at least one byte), so
 * hostile input costs time proportional to its size and no memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fmt_internal.h"

void tt_err_set(tt_rec_err *err, size_t off, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->offset = off;
	snprintf(err->field, sizeof err->field, "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof err->reason, fmt, ap);
	va_end(ap);
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

/* value of a str/bin/ext with a length field of `lb` bytes after the tag */
static int mp_blob(const uint8_t *p, size_t n, size_t lb, size_t extra,
    tt_value *v, tt_vtype t, size_t *hdr)
{
	size_t len;

	if (n < 1 + lb)
		return TT_EBADREC;
	len = lb == 1 ? p[1] : lb == 2 ? be16(p + 1) : be32(p + 1);
	if (len > n - 1 - lb - extra || n < 1 + lb + extra)
		return TT_EBADREC;
	v->type = t;
	v->v.s.p = (const char *)p + 1 + lb + extra;
	v->v.s.n = len;
	*hdr = 1 + lb + extra + len;
	return 0;
}

int tt_mp_head(const uint8_t *p, size_t n, tt_value *v, size_t *hdr)
{
	uint8_t c;
	int rc = 0;

	if (n == 0)
		return TT_EBADREC;
	c = p[0];
	v->raw = p;
	*hdr = 1;
	if (c <= 0x7f) {
		v->type = TT_V_INT;
		v->v.i = c;
	} else if (c >= 0xe0) {
		v->type = TT_V_INT;
		v->v.i = (int8_t)c;
	} else if (c <= 0x8f) {
		v->type = TT_V_MAP;
		v->v.count = c & 0x0f;
	} else if (c <= 0x9f) {
		v->type = TT_V_ARRAY;
		v->v.count = c & 0x0f;
	} else if (c <= 0xbf) {
		size_t len = c & 0x1f;
		if (len > n - 1)
			return TT_EBADREC;
		v->type = TT_V_STR;
		v->v.s.p = (const char *)p + 1;
		v->v.s.n = len;
		*hdr = 1 + len;
	} else {
		/* fixed-size scalars: tag + payload bytes */
		static const uint8_t plen[32] = {
			[0x0a] = 4, [0x0b] = 8, [0x0c] = 1, [0x0d] = 2, [0x0e] = 4, [0x0f] = 8,
			[0x10] = 1, [0x11] = 2, [0x12] = 4, [0x13] = 8,
			[0x14] = 2, [0x15] = 3, [0x16] = 5, [0x17] = 9, [0x18] = 17,
			[0x1c] = 2, [0x1d] = 4, [0x1e] = 2, [0x1f] = 4,
		};
		size_t need = plen[c - 0xc0];
		if (need && n < 1 + need)
			return TT_EBADREC;
		*hdr = 1 + need;
		switch (c) {
		case 0xc0: v->type = TT_V_NIL; break;
		case 0xc2: v->type = TT_V_BOOL; v->v.b = 0; break;
		case 0xc3: v->type = TT_V_BOOL; v->v.b = 1; break;
		case 0xc4: rc = mp_blob(p, n, 1, 0, v, TT_V_BIN, hdr); break;
		case 0xc5: rc = mp_blob(p, n, 2, 0, v, TT_V_BIN, hdr); break;
		case 0xc6: rc = mp_blob(p, n, 4, 0, v, TT_V_BIN, hdr); break;
		/* ext: exposed as BIN of its data (the type byte is skipped) */
		case 0xc7: rc = mp_blob(p, n, 1, 1, v, TT_V_BIN, hdr); break;
		case 0xc8: rc = mp_blob(p, n, 2, 1, v, TT_V_BIN, hdr); break;
		case 0xc9: rc = mp_blob(p, n, 4, 1, v, TT_V_BIN, hdr); break;
		case 0xca: {
			uint32_t u = be32(p + 1);
			float f;
			memcpy(&f, &u, 4);
			v->type = TT_V_FLOAT;
			v->v.f = f;
			break;
		}
		case 0xcb: {
			uint64_t u = be64(p + 1);
			memcpy(&v->v.f, &u, 8);
			v->type = TT_V_FLOAT;
			break;
		}
		case 0xcc: v->type = TT_V_INT; v->v.i = p[1]; break;
		case 0xcd: v->type = TT_V_INT; v->v.i = be16(p + 1); break;
		case 0xce: v->type = TT_V_INT; v->v.i = be32(p + 1); break;
		case 0xcf: {
			uint64_t u = be64(p + 1);
			if (u > INT64_MAX) {
				v->type = TT_V_UINT;
				v->v.u = u;
			} else {
				v->type = TT_V_INT;
				v->v.i = (int64_t)u;
			}
			break;
		}
		case 0xd0: v->type = TT_V_INT; v->v.i = (int8_t)p[1]; break;
		case 0xd1: v->type = TT_V_INT; v->v.i = (int16_t)be16(p + 1); break;
		case 0xd2: v->type = TT_V_INT; v->v.i = (int32_t)be32(p + 1); break;
		case 0xd3: v->type = TT_V_INT; v->v.i = (int64_t)be64(p + 1); break;
		case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
			v->type = TT_V_BIN; /* fixext: data after the type byte */
			v->v.s.p = (const char *)p + 2;
			v->v.s.n = need - 1;
			break;
		case 0xd9: rc = mp_blob(p, n, 1, 0, v, TT_V_STR, hdr); break;
		case 0xda: rc = mp_blob(p, n, 2, 0, v, TT_V_STR, hdr); break;
		case 0xdb: rc = mp_blob(p, n, 4, 0, v, TT_V_STR, hdr); break;
		case 0xdc: v->type = TT_V_ARRAY; v->v.count = be16(p + 1); break;
		case 0xdd: v->type = TT_V_ARRAY; v->v.count = be32(p + 1); break;
		case 0xde: v->type = TT_V_MAP; v->v.count = be16(p + 1); break;
		case 0xdf: v->type = TT_V_MAP; v->v.count = be32(p + 1); break;
		default: /* 0xc1 is never used */
			return TT_EBADREC;
		}
	}
	if (rc)
		return rc;
	v->raw_len = *hdr;
	return 0;
}

/* Skip `count` values (or key/value pairs, counted twice by the caller) at
 * nesting `depth`. Iterative over siblings, recursive over children, so the
 * C stack is bounded by max_depth. */
static int mp_skip_n(const uint8_t *p, size_t n, uint64_t count, int depth,
    int max_depth, size_t *used, tt_rec_err *err, const uint8_t *base)
{
	size_t off = 0;

	while (count--) {
		tt_value v;
		size_t h;
		if (off >= n) {
			tt_err_set(err, (size_t)(p + off - base), "", "truncated msgpack: "
			    "a container declares more elements than the bytes that remain");
			return TT_EBADREC;
		}
		if (tt_mp_head(p + off, n - off, &v, &h)) {
			tt_err_set(err, (size_t)(p + off - base), "", p[off] == 0xc1 ?
			    "invalid msgpack byte 0xc1" : "truncated msgpack value");
			return TT_EBADREC;
		}
		off += h;
		if (v.type == TT_V_ARRAY || v.type == TT_V_MAP) {
			size_t sub;
			uint64_t c = v.type == TT_V_MAP ? 2 * (uint64_t)v.v.count : v.v.count;
			int rc;
			if (depth + 1 > max_depth) {
				tt_err_set(err, (size_t)(p + off - h - base), "",
				    "nesting deeper than %d", max_depth);
				return TT_ETOOBIG;
			}
			/* each element needs at least one byte */
			if (c > n - off) {
				tt_err_set(err, (size_t)(p + off - h - base), "", "truncated msgpack: "
				    "a container declares %llu elements, %zu bytes remain",
				    (unsigned long long)(v.type == TT_V_MAP ? c / 2 : c), n - off);
				return TT_EBADREC;
			}
			rc = mp_skip_n(p + off, n - off, c, depth + 1, max_depth, &sub, err, base);
			if (rc)
				return rc;
			off += sub;
		}
	}
	*used = off;
	return 0;
}

int tt_mp_skip(const uint8_t *p, size_t n, int max_depth, size_t *used, tt_rec_err *err)
{
	size_t u = 0;
	int rc;

	if (!p && n)
		return TT_EBADARG;
	rc = mp_skip_n(p, n, 1, 0, max_depth, &u, err, p);
	if (used)
		*used = rc ? 0 : u;
	return rc;
}

size_t tt_mp_count(const uint8_t *p, size_t n, size_t limit)
{
	uint64_t pending = 1;
	size_t off = 0, values = 0;

	/* msgpack is prefix-encoded: the values are read in a row, a container's
	 * header announcing that many more */
	while (pending-- && values <= limit && off < n) {
		tt_value v;
		size_t h;
		if (tt_mp_head(p + off, n - off, &v, &h))
			break;
		off += h;
		values++;
		if (v.type == TT_V_ARRAY || v.type == TT_V_MAP)
			pending += v.type == TT_V_MAP ? 2 * (uint64_t)v.v.count : v.v.count;
	}
	return values;
}

int tt_mp_check(const uint8_t *p, size_t n, size_t *used, tt_rec_err *err)
{
	return tt_mp_skip(p, n, TT_DEPTH_MAX, used, err);
}
