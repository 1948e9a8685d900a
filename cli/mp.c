/*
 * mp.c -- the little msgpack reading the printers need that ttformat.h does
 * not offer: iterating the entries of a map (attrs -> OTLP attributes). The
 * bytes come from the store and were checked there, but are still treated as
 * hostile: every length is checked against what remains, and whole values are
 * skipped with tt_mp_check (which bounds depth and counts).
 */
#include <string.h>

#include "cli.h"

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Header of a str/bin: lb length bytes after the first byte. */
static int blob(const uint8_t *p, size_t n, size_t lb, tt_vtype t, tt_value *v)
{
	uint64_t len;

	if (n < 1 + lb)
		return TT_EBADREC;
	len = be(p + 1, (int)lb);
	if (len > n - 1 - lb)
		return TT_EBADREC;
	v->type = t;
	v->v.s.p = (const char *)p + 1 + lb;
	v->v.s.n = (size_t)len;
	return 0;
}

int cli_mp_value(const uint8_t *p, size_t n, tt_value *v)
{
	uint8_t c;
	size_t used;
	int rc = 0;

	if (!n)
		return TT_EBADREC;
	memset(v, 0, sizeof(*v));
	if (tt_mp_check(p, n, &used, NULL) < 0)
		return TT_EBADREC;
	v->raw = p;
	v->raw_len = used;
	c = p[0];
	if (c <= 0x7f) {
		v->type = TT_V_UINT;
		v->v.u = c;
	} else if (c >= 0xe0) {
		v->type = TT_V_INT;
		v->v.i = (int8_t)c;
	} else if (c >= 0x80 && c <= 0x8f) {
		v->type = TT_V_MAP;
		v->v.count = c & 0x0f;
	} else if (c >= 0x90 && c <= 0x9f) {
		v->type = TT_V_ARRAY;
		v->v.count = c & 0x0f;
	} else if (c >= 0xa0 && c <= 0xbf) {
		v->type = TT_V_STR;
		v->v.s.p = (const char *)p + 1;
		v->v.s.n = c & 0x1f;
	} else {
		switch (c) {
		case 0xc0: v->type = TT_V_NIL; break;
		case 0xc2: v->type = TT_V_BOOL; v->v.b = 0; break;
		case 0xc3: v->type = TT_V_BOOL; v->v.b = 1; break;
		case 0xc4: rc = blob(p, n, 1, TT_V_BIN, v); break;
		case 0xc5: rc = blob(p, n, 2, TT_V_BIN, v); break;
		case 0xc6: rc = blob(p, n, 4, TT_V_BIN, v); break;
		case 0xd9: rc = blob(p, n, 1, TT_V_STR, v); break;
		case 0xda: rc = blob(p, n, 2, TT_V_STR, v); break;
		case 0xdb: rc = blob(p, n, 4, TT_V_STR, v); break;
		case 0xca: {
			float f;
			uint32_t u = (uint32_t)be(p + 1, 4);
			memcpy(&f, &u, 4);
			v->type = TT_V_FLOAT;
			v->v.f = f;
			break;
		}
		case 0xcb: {
			uint64_t u = be(p + 1, 8);
			memcpy(&v->v.f, &u, 8);
			v->type = TT_V_FLOAT;
			break;
		}
		case 0xcc: v->type = TT_V_UINT; v->v.u = be(p + 1, 1); break;
		case 0xcd: v->type = TT_V_UINT; v->v.u = be(p + 1, 2); break;
		case 0xce: v->type = TT_V_UINT; v->v.u = be(p + 1, 4); break;
		case 0xcf: v->type = TT_V_UINT; v->v.u = be(p + 1, 8); break;
		case 0xd0: v->type = TT_V_INT; v->v.i = (int8_t)p[1]; break;
		case 0xd1: v->type = TT_V_INT; v->v.i = (int16_t)be(p + 1, 2); break;
		case 0xd2: v->type = TT_V_INT; v->v.i = (int32_t)be(p + 1, 4); break;
		case 0xd3: v->type = TT_V_INT; v->v.i = (int64_t)be(p + 1, 8); break;
		case 0xdc: v->type = TT_V_ARRAY; v->v.count = (uint32_t)be(p + 1, 2); break;
		case 0xdd: v->type = TT_V_ARRAY; v->v.count = (uint32_t)be(p + 1, 4); break;
		case 0xde: v->type = TT_V_MAP; v->v.count = (uint32_t)be(p + 1, 2); break;
		case 0xdf: v->type = TT_V_MAP; v->v.count = (uint32_t)be(p + 1, 4); break;
		default: /* ext types: shown as their raw bytes */
			v->type = TT_V_BIN;
			v->v.s.p = (const char *)p;
			v->v.s.n = used;
			break;
		}
	}
	return rc;
}

/* Bytes of the header of a map/array at p (the part before its elements). */
static size_t container_hdr(uint8_t c)
{
	if ((c >= 0x80 && c <= 0x9f))
		return 1;
	if (c == 0xdc || c == 0xde)
		return 3;
	return 5;
}

int cli_mp_map_each(const uint8_t *p, size_t n, cli_mp_kv_fn fn, void *ctx)
{
	tt_value m, k, v;
	size_t off;
	int rc;

	if (cli_mp_value(p, n, &m) < 0 || m.type != TT_V_MAP)
		return TT_EBADREC;
	n = m.raw_len; /* stay inside the map */
	off = container_hdr(p[0]);
	for (uint32_t i = 0; i < m.v.count; i++) {
		if (off >= n || cli_mp_value(p + off, n - off, &k) < 0)
			return TT_EBADREC;
		off += k.raw_len;
		if (off >= n || cli_mp_value(p + off, n - off, &v) < 0)
			return TT_EBADREC;
		off += v.raw_len;
		if (k.type != TT_V_STR)
			continue;
		rc = fn(ctx, k.v.s.p, k.v.s.n, &v);
		if (rc != 0)
			return rc;
	}
	return 0;
}
