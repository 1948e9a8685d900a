/*
 * json_out.c -- records (msgpack) to JSON text, on the query hot path.
 *
 * The output is always valid JSON whatever the bytes: strings are escaped and
 * invalid UTF-8 becomes U+FFFD, bin is lowercase hex, 64-bit integers are
 * printed exactly, NaN/Inf become null, non-string map keys are printed as
 * strings of their JSON text. Input is walked with the bounded reader, so a
 * corrupt record gives TT_EBADREC and leaves `out` as it was.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

/* 1: the byte needs more than a copy inside a JSON string */
static const uint8_t special[256] = {
	[0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0) lo = 0xa0;      /* overlong */
		if (c == 0xed) hi = 0x9f;      /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0) lo = 0x90;      /* overlong */
		if (c == 0xf4) hi = 0x8f;      /* > U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Writes at most 6 bytes per input byte + 2; the caller reserved that. */
static void json_str_raw(uint8_t *o, size_t *olen, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t *w = o;
	size_t i = 0;

	*w++ = '"';
	while (i < n) {
		size_t run = i;
		/* 8 bytes at a time while none is a control byte, '"', '\\' or
		 * non-ASCII (SWAR: a zero byte in x ^ c marks a c) */
		while (run + 8 <= n) {
			uint64_t x, t;
			memcpy(&x, s + run, 8);
			t = ((x - 0x2020202020202020ull) | ((x ^ 0x2222222222222222ull) - 0x0101010101010101ull) |
			    ((x ^ 0x5c5c5c5c5c5c5c5cull) - 0x0101010101010101ull) | x) & 0x8080808080808080ull;
			if (t)
				break;
			memcpy(w, &x, 8);
			w += 8;
			run += 8;
		}
		i = run;
		while (run < n && !special[s[run]])
			run++;
		memcpy(w, s + i, run - i);
		w += run - i;
		i = run;
		if (i >= n)
			break;
		uint8_t c = s[i];
		if (c >= 0x80) {
			size_t l = utf8_seq(s + i, n - i);
			if (l) {
				memcpy(w, s + i, l);
				w += l;
				i += l;
			} else {
				*w++ = 0xef; *w++ = 0xbf; *w++ = 0xbd; /* U+FFFD */
				i++;
			}
			continue;
		}
		*w++ = '\\';
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		default:
			*w++ = 'u'; *w++ = '0'; *w++ = '0';
			*w++ = (uint8_t)hex[c >> 4]; *w++ = (uint8_t)hex[c & 15];
		}
		i++;
	}
	*w++ = '"';
	*olen = (size_t)(w - o);
}

/* room for n more bytes; the common case is one compare, inlined */
static inline int need(tt_buf *out, size_t n)
{
	return out->cap - out->len >= n ? 0 : tt_buf_reserve(out, n);
}

static inline int put(tt_buf *out, const char *s, size_t n)
{
	if (need(out, n))
		return -1;
	memcpy(out->data + out->len, s, n);
	out->len += n;
	return 0;
}

static inline int put_ch(tt_buf *out, char c)
{
	if (need(out, 1))
		return -1;
	out->data[out->len++] = (uint8_t)c;
	return 0;
}

static int put_str(tt_buf *out, const char *s, size_t n)
{
	size_t w;

	if (n > (SIZE_MAX - 2) / 6 || need(out, 6 * n + 2))
		return -1;
	json_str_raw(out->data + out->len, &w, (const uint8_t *)s, n);
	out->len += w;
	return 0;
}

void tt_json_str(tt_buf *out, const char *s, size_t n)
{
	(void)put_str(out, s, n); /* out of memory: the caller's next append fails too */
}

static int put_u64(tt_buf *out, uint64_t u, int neg)
{
	char tmp[24], *p = tmp + sizeof tmp;

	if (!neg && u < 10)
		return put_ch(out, (char)('0' + u));
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		*--p = '-';
	return put(out, p, (size_t)(tmp + sizeof tmp - p));
}

static int put_i64(tt_buf *out, int64_t i)
{
	return i < 0 ? put_u64(out, (uint64_t)0 - (uint64_t)i, 1) : put_u64(out, (uint64_t)i, 0);
}

static int put_double(tt_buf *out, double f)
{
	char tmp[40];
	int n = 0;

	if (!isfinite(f))
		return put(out, "null", 4);
	/* the shortest of 15..17 significant digits that reads back the same */
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, f);
		if (prec == 17 || strtod(tmp, NULL) == f)
			break;
	}
	return put(out, tmp, (size_t)n);
}

static int put_hex(tt_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t *w;

	if (n > (SIZE_MAX - 2) / 2 || need(out, 2 * n + 2))
		return -1;
	w = out->data + out->len;
	*w++ = '"';
	for (size_t i = 0; i < n; i++) {
		*w++ = (uint8_t)hex[(uint8_t)s[i] >> 4];
		*w++ = (uint8_t)hex[(uint8_t)s[i] & 15];
	}
	*w++ = '"';
	out->len += 2 * n + 2;
	return 0;
}

static int put_indent(tt_buf *out, int pretty, int depth)
{
	if (!pretty)
		return 0;
	if (need(out, 1 + 2 * (size_t)depth))
		return -1;
	out->data[out->len++] = '\n';
	memset(out->data + out->len, ' ', 2 * (size_t)depth);
	out->len += 2 * (size_t)depth;
	return 0;
}

typedef struct jw {
	tt_buf *out;
	const uint8_t *end;
	int pretty;
	int time;   /* add "time" after a top-level integer "ts" */
	int keys;   /* non-string keys whose JSON text is being written */
} jw;

/* A non-string key is written as the string of its JSON text, so the escapes
 * of a key nested in such a key double with each level: ~40 bytes of maps
 * keyed by maps would print gigabytes. Deeper nesting is TT_ETOOBIG. */
#define JSON_KEY_NEST_MAX 3

static int j_value(jw *w, const uint8_t **pp, int depth);

/* a map key: strings as they are, anything else as the string of its JSON */
static int j_key(jw *w, const uint8_t **pp, int depth)
{
	tt_value k;
	size_t h;
	tt_buf tmp = {0};
	jw w2;
	int rc;

	if (tt_mp_head(*pp, (size_t)(w->end - *pp), &k, &h))
		return TT_EBADREC;
	if (k.type == TT_V_STR) {
		*pp += h;
		return put_str(w->out, k.v.s.p, k.v.s.n) ? -1 : 0;
	}
	if (w->keys >= JSON_KEY_NEST_MAX)
		return TT_ETOOBIG;
	w2 = *w;
	w2.out = &tmp;
	w2.pretty = 0;
	w2.keys++;
	rc = j_value(&w2, pp, depth);
	if (rc == 0 && put_str(w->out, (const char *)tmp.data, tmp.len))
		rc = -1;
	tt_buf_free(&tmp);
	return rc;
}

static int j_value(jw *w, const uint8_t **pp, int depth)
{
	tt_value v;
	size_t h;
	int rc = 0;

	if (tt_mp_head(*pp, (size_t)(w->end - *pp), &v, &h))
		return TT_EBADREC;
	*pp += h;
	switch (v.type) {
	case TT_V_NIL: return put(w->out, "null", 4);
	case TT_V_BOOL: return v.v.b ? put(w->out, "true", 4) : put(w->out, "false", 5);
	case TT_V_INT: return put_i64(w->out, v.v.i);
	case TT_V_UINT: return put_u64(w->out, v.v.u, 0);
	case TT_V_FLOAT: return put_double(w->out, v.v.f);
	case TT_V_STR: return put_str(w->out, v.v.s.p, v.v.s.n);
	case TT_V_BIN: return put_hex(w->out, v.v.s.p, v.v.s.n);
	case TT_V_ARRAY:
	case TT_V_MAP: {
		int map = v.type == TT_V_MAP;
		uint64_t left = (uint64_t)(w->end - *pp);
		if (depth >= TT_DEPTH_MAX)
			return TT_ETOOBIG;
		/* each element takes at least one byte */
		if ((uint64_t)v.v.count * (map ? 2 : 1) > left)
			return TT_EBADREC;
		if (put_ch(w->out, map ? '{' : '['))
			return -1;
		for (uint32_t i = 0; i < v.v.count && rc == 0; i++) {
			if (i && put_ch(w->out, ','))
				return -1;
			if (put_indent(w->out, w->pretty, depth + 1))
				return -1;
			if (map) {
				if ((rc = j_key(w, pp, depth + 1)))
					break;
				if (w->pretty ? put(w->out, ": ", 2) : put_ch(w->out, ':'))
					return -1;
			}
			rc = j_value(w, pp, depth + 1);
		}
		if (rc)
			return rc;
		if (v.v.count && put_indent(w->out, w->pretty, depth))
			return -1;
		return put_ch(w->out, map ? '}' : ']');
	}
	}
	return TT_EBADREC;
}

static int rec_to_json(const uint8_t *rec, size_t len, unsigned flags, tt_buf *out)
{
	jw w = {out, rec + len, !!(flags & TT_JSON_PRETTY), !!(flags & TT_JSON_TIME), 0};
	const uint8_t *p = rec;
	tt_value m;
	size_t h;
	int rc = 0;

	if (tt_mp_head(p, len, &m, &h) || m.type != TT_V_MAP || m.v.count > len)
		return TT_EBADREC;
	p += h;
	if (put_ch(out, '{'))
		return -1;
	for (uint32_t i = 0; i < m.v.count; i++) {
		const uint8_t *kp = p;
		tt_value k, v;
		if (i && put_ch(out, ','))
			return -1;
		if (put_indent(out, w.pretty, 1))
			return -1;
		if ((rc = j_key(&w, &p, 1)))
			return rc;
		if (w.pretty ? put(out, ": ", 2) : put_ch(out, ':'))
			return -1;
		if ((rc = j_value(&w, &p, 1)))
			return rc;
		if (i == 0 && w.time && tt_mp_head(kp, len, &k, &h) == 0 &&
		    k.type == TT_V_STR && k.v.s.n == 2 && memcmp(k.v.s.p, "ts", 2) == 0 &&
		    tt_mp_head(kp + h, (size_t)(rec + len - kp - h), &v, &h) == 0 &&
		    v.type == TT_V_INT) {
			char t[40];
			size_t tn = tt_time_rfc3339(v.v.i, t, sizeof t);
			if (put(out, w.pretty ? ",\n  \"time\": \"" : ",\"time\":\"",
			    w.pretty ? 13 : 9) || put(out, t, tn) || put(out, "\"", 1))
				return -1;
		}
	}
	if (m.v.count && put_indent(out, w.pretty, 0))
		return -1;
	if (put_ch(out, '}'))
		return -1;
	return p == rec + len ? 0 : TT_EBADREC;
}

int tt_rec_to_json(const uint8_t *rec, size_t len, unsigned flags, tt_buf *out)
{
	size_t start;
	int rc;

	if (!rec || !out)
		return TT_EBADARG;
	start = out->len;
	rc = rec_to_json(rec, len, flags, out);
	if (rc) {
		out->len = start;
		return rc < -1 ? rc : -ENOMEM;
	}
	return 0;
}

int tt_value_to_json(const uint8_t *p, size_t len, tt_buf *out)
{
	jw w = {out, p + len, 0, 0, 0};
	size_t start;
	int rc;

	if (!p || !out)
		return TT_EBADARG;
	start = out->len;
	rc = j_value(&w, &p, 0);
	if (rc) {
		out->len = start;
		return rc < -1 ? rc : -ENOMEM;
	}
	return 0;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *dig(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

size_t tt_time_rfc3339(int64_t ns, char *buf, size_t n)
{
	int64_t secs = ns / 1000000000, frac = ns % 1000000000, days, sod, y;
	unsigned mo, d;
	char tmp[40], *p = tmp;
	size_t len;

	if (frac < 0) {
		frac += 1000000000;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	/* by hand: this runs once per record printed with TT_JSON_TIME; years
	 * of an int64 ns clock are 1677..2262, always four digits */
	p = dig(p, (unsigned)y, 4);
	*p++ = '-';
	p = dig(p, mo, 2);
	*p++ = '-';
	p = dig(p, d, 2);
	*p++ = 'T';
	p = dig(p, (unsigned)(sod / 3600), 2);
	*p++ = ':';
	p = dig(p, (unsigned)(sod / 60 % 60), 2);
	*p++ = ':';
	p = dig(p, (unsigned)(sod % 60), 2);
	*p++ = '.';
	p = dig(p, (unsigned)frac, 9);
	*p++ = 'Z';
	len = (size_t)(p - tmp);
	if (n == 0)
		return 0;
	if (len >= n)
		len = n - 1;
	memcpy(buf, tmp, len);
	buf[len] = '\0';
	return len;
}
