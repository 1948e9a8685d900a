/*
 * record.c -- reading canonical records without unpacking them: the well-known
 * fields in one pass, the ts/corr fast path the store's readers use on every
 * record, field lookup by dotted path, and level names.
 */
#include <string.h>

#include "fmt_internal.h"

static const char *const level_names[] = {"", "trace", "debug", "info", "warn",
	"error", "fatal"};

const char *tt_level_name(int level)
{
	return level > TT_LVL_NONE && level <= TT_LVL_FATAL ? level_names[level] : "";
}

int tt_level_parse(const char *s, size_t n)
{
	/* by length, so a record's level costs a few compares, not a table scan */
#define W(name, level) {name, sizeof(name) - 1, level}
	static const struct { const char *name; size_t n; int level; } words[] = {
		W("info", TT_LVL_INFO), W("warn", TT_LVL_WARN), W("error", TT_LVL_ERROR),
		W("debug", TT_LVL_DEBUG), W("trace", TT_LVL_TRACE), W("fatal", TT_LVL_FATAL),
		W("trc", TT_LVL_TRACE), W("verbose", TT_LVL_TRACE),
		W("dbg", TT_LVL_DEBUG), W("fine", TT_LVL_DEBUG),
		W("inf", TT_LVL_INFO), W("information", TT_LVL_INFO),
		W("informational", TT_LVL_INFO), W("notice", TT_LVL_INFO),
		W("warning", TT_LVL_WARN), W("wrn", TT_LVL_WARN),
		W("err", TT_LVL_ERROR), W("eror", TT_LVL_ERROR), W("severe", TT_LVL_ERROR),
		W("ftl", TT_LVL_FATAL), W("critical", TT_LVL_FATAL), W("crit", TT_LVL_FATAL),
		W("alert", TT_LVL_FATAL), W("emerg", TT_LVL_FATAL), W("emergency", TT_LVL_FATAL),
		W("panic", TT_LVL_FATAL),
	};
#undef W

	if (!s || n < 3 || n > 13)
		return TT_LVL_NONE;
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		size_t j = 0;
		if (words[i].n != n)
			continue;
		while (j < n && (s[j] | 0x20) == words[i].name[j])
			j++;
		if (j == n)
			return words[i].level;
	}
	return TT_LVL_NONE;
}

/* the key at p: a str of exactly the given name */
static int key_is(const tt_value *k, const char *name, size_t n)
{
	return k->type == TT_V_STR && k->v.s.n == n && memcmp(k->v.s.p, name, n) == 0;
}

static int as_int(const tt_value *v, int64_t *out)
{
	if (v->type != TT_V_INT)
		return -1;
	*out = v->v.i;
	return 0;
}

/* tt_mp_head with the two commonest heads of a record inline: a fixstr (the
 * keys, most short values) and a positive fixint (profiled: the call was a
 * fifth of a --stats scan). */
static inline int head(const uint8_t *p, size_t n, tt_value *v, size_t *h)
{
	uint8_t c;

	if (n == 0)
		return TT_EBADREC;
	c = p[0];
	if ((c & 0xe0) == 0xa0) {
		size_t l = c & 0x1f;
		if (l > n - 1)
			return TT_EBADREC;
		v->raw = p;
		v->type = TT_V_STR;
		v->v.s.p = (const char *)p + 1;
		v->v.s.n = l;
		*h = 1 + l;
		return 0;
	}
	if (c <= 0x7f) {
		v->raw = p;
		v->type = TT_V_INT;
		v->v.i = c;
		*h = 1;
		return 0;
	}
	return tt_mp_head(p, n, v, h);
}

int tt_rec_ts_corr(const uint8_t *rec, size_t len, int64_t *ts,
    const char **corr, size_t *corr_len)
{
	tt_value m, k, v;
	size_t off, h;

	if (corr) {
		*corr = NULL;
		*corr_len = 0;
	}
	if (!rec || tt_mp_head(rec, len, &m, &h) || m.type != TT_V_MAP || m.v.count < 1)
		return TT_EBADREC;
	off = h;
	if (head(rec + off, len - off, &k, &h) || !key_is(&k, "ts", 2))
		return TT_EBADREC;
	off += h;
	if (head(rec + off, len - off, &v, &h) || as_int(&v, ts))
		return TT_EBADREC;
	off += h;
	if (m.v.count < 2 || !corr)
		return 0;
	if (head(rec + off, len - off, &k, &h))
		return TT_EBADREC;
	if (!key_is(&k, "corr", 4))
		return 0;
	off += h;
	if (head(rec + off, len - off, &v, &h))
		return TT_EBADREC;
	if (v.type == TT_V_STR || v.type == TT_V_BIN) {
		*corr = v.v.s.p;
		*corr_len = v.v.s.n;
	}
	return 0;
}

/* the (anonymous) type of tt_rec_info's string fields */
typedef __typeof__(((tt_rec_info *)0)->corr) info_str;

/* a well-known string field of tt_rec_info, by key */
static int info_slot(tt_rec_info *info, const tt_value *k, info_str **slot)
{
	const char *s = k->v.s.p;

	*slot = NULL;
	switch (k->v.s.n) {
	case 3:
		if (!memcmp(s, "msg", 3)) *slot = &info->msg;
		else if (!memcmp(s, "dir", 3)) *slot = &info->dir;
		break;
	case 4:
		if (!memcmp(s, "span", 4)) *slot = &info->span;
		else if (!memcmp(s, "host", 4)) *slot = &info->host;
		else if (!memcmp(s, "kind", 4)) *slot = &info->kind;
		else if (!memcmp(s, "name", 4)) *slot = &info->name;
		break;
	case 6:
		if (!memcmp(s, "parent", 6)) *slot = &info->parent;
		else if (!memcmp(s, "status", 6)) *slot = &info->status;
		break;
	case 7:
		if (!memcmp(s, "service", 7)) *slot = &info->service;
		break;
	case 8:
		if (!memcmp(s, "endpoint", 8)) *slot = &info->endpoint;
		break;
	}
	return *slot != NULL;
}

int tt_rec_info_get(const uint8_t *rec, size_t len, tt_rec_info *info)
{
	tt_value m, k, v;
	size_t off, h;

	if (!rec || !info)
		return TT_EBADARG;
	memset(info, 0, sizeof *info);
	info->dur = -1;
	if (tt_mp_head(rec, len, &m, &h) || m.type != TT_V_MAP || m.v.count < 1)
		return TT_EBADREC;
	off = h;
	for (uint32_t i = 0; i < m.v.count; i++) {
		info_str *slot;
		if (off >= len || head(rec + off, len - off, &k, &h) || k.type != TT_V_STR)
			return TT_EBADREC;
		off += h;
		if (head(rec + off, len - off, &v, &h))
			return TT_EBADREC;
		if (v.type == TT_V_ARRAY || v.type == TT_V_MAP) {
			if (tt_mp_skip(rec + off, len - off, TT_DEPTH_MAX - 1, &h, NULL))
				return TT_EBADREC;
		} else if (i == 0) {
			if (!key_is(&k, "ts", 2) || as_int(&v, &info->ts))
				return TT_EBADREC;
		} else if (i == 1 && key_is(&k, "corr", 4)) {
			if (v.type != TT_V_STR && v.type != TT_V_BIN)
				return TT_EBADREC;
			info->corr.p = v.v.s.p;
			info->corr.n = v.v.s.n;
			info->corr_is_bin = v.type == TT_V_BIN;
		} else if (k.v.s.n == 5 && !memcmp(k.v.s.p, "level", 5)) {
			if (v.type == TT_V_STR)
				info->level = tt_level_parse(v.v.s.p, v.v.s.n);
		} else if (key_is(&k, "dur", 3)) {
			(void)as_int(&v, &info->dur);
		} else if (v.type == TT_V_STR && info_slot(info, &k, &slot)) {
			slot->p = v.v.s.p;
			slot->n = v.v.s.n;
		}
		if (i == 0 && !key_is(&k, "ts", 2))
			return TT_EBADREC;
		off += h;
	}
	return off == len ? 0 : TT_EBADREC;
}

/* The pair at p + *off of a map's `n` bytes: key k and value v (v->raw at the
 * value, *vhdr its header bytes, *vlen all its bytes, containers skipped
 * within TT_DEPTH_MAX - depth). *off moves past the pair. <0 if malformed. */
static int map_pair(const uint8_t *p, size_t n, size_t *off, int depth, tt_value *k,
    tt_value *v, size_t *vhdr, size_t *vlen)
{
	size_t h;

	if (*off >= n || tt_mp_head(p + *off, n - *off, k, &h))
		return TT_EBADREC;
	if ((k->type == TT_V_ARRAY || k->type == TT_V_MAP) &&
	    tt_mp_skip(p + *off, n - *off, TT_DEPTH_MAX - depth, &h, NULL))
		return TT_EBADREC;
	*off += h;
	if (tt_mp_head(p + *off, n - *off, v, vhdr))
		return TT_EBADREC;
	*vlen = *vhdr;
	if ((v->type == TT_V_ARRAY || v->type == TT_V_MAP) &&
	    tt_mp_skip(p + *off, n - *off, TT_DEPTH_MAX - depth, vlen, NULL))
		return TT_EBADREC;
	v->raw = p + *off;
	*off += *vlen;
	return 0;
}

/* Find `path` among `count` pairs at p: a key equal to the path, or a key that
 * is a prefix of it up to a '.', whose value is a map holding the rest. */
static int find_in_map(const uint8_t *p, size_t n, uint32_t count, const char *path,
    size_t pn, int depth, tt_value *out)
{
	size_t off = 0, h, vlen;

	for (uint32_t i = 0; i < count; i++) {
		tt_value k, v;
		if (map_pair(p, n, &off, depth, &k, &v, &h, &vlen) < 0)
			return TT_EBADREC;
		if (k.type == TT_V_STR && k.v.s.n <= pn && memcmp(k.v.s.p, path, k.v.s.n) == 0) {
			if (k.v.s.n == pn) {
				*out = v;
				out->raw_len = vlen;
				return 1;
			}
			if (path[k.v.s.n] == '.' && v.type == TT_V_MAP) {
				int rc = find_in_map(v.raw + h, vlen - h, v.v.count,
				    path + k.v.s.n + 1, pn - k.v.s.n - 1, depth + 1, out);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

int tt_rec_field(const uint8_t *rec, size_t len, const char *path, tt_value *out)
{
	tt_value m, attrs;
	size_t h, pn;
	int rc;

	if (!rec || !path || !out)
		return TT_EBADARG;
	pn = strlen(path);
	if (tt_mp_head(rec, len, &m, &h) || m.type != TT_V_MAP)
		return TT_EBADREC;
	rc = find_in_map(rec + h, len - h, m.v.count, path, pn, 1, out);
	if (rc)
		return rc;
	/* not a top-level field: try it as an attribute */
	rc = find_in_map(rec + h, len - h, m.v.count, "attrs", 5, 1, &attrs);
	if (rc <= 0 || attrs.type != TT_V_MAP)
		return rc;
	tt_mp_head(attrs.raw, attrs.raw_len, &m, &h);
	return find_in_map(attrs.raw + h, attrs.raw_len - h, attrs.v.count, path, pn, 2, out);
}

/* One map's pairs: scalar values to fn; "attrs" (at depth 1) walked too. */
static int scalars_in(const uint8_t *p, size_t n, uint32_t count, int depth, int attrs,
    tt_rec_kv_fn fn, void *ctx)
{
	size_t off = 0, h, vlen;
	int rc;

	for (uint32_t i = 0; i < count; i++) {
		tt_value k, v;
		if (map_pair(p, n, &off, depth, &k, &v, &h, &vlen) < 0)
			return TT_EBADREC;
		if (k.type == TT_V_STR) {
			if (v.type == TT_V_MAP && attrs && key_is(&k, "attrs", 5)) {
				if ((rc = scalars_in(v.raw + h, vlen - h, v.v.count, depth + 1, 0, fn, ctx)) != 0)
					return rc;
			} else if (v.type != TT_V_MAP && v.type != TT_V_ARRAY) {
				v.raw_len = vlen;
				if ((rc = fn(ctx, 1 - attrs, k.v.s.p, k.v.s.n, &v)) != 0)
					return rc;
			}
		}
	}
	return 0;
}

int tt_rec_scalars(const uint8_t *rec, size_t len, tt_rec_kv_fn fn, void *ctx)
{
	tt_value m;
	size_t h;

	if (!rec || !fn)
		return TT_EBADARG;
	if (tt_mp_head(rec, len, &m, &h) || m.type != TT_V_MAP)
		return TT_EBADREC;
	return scalars_in(rec + h, len - h, m.v.count, 1, 1, fn, ctx);
}
