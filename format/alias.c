/*
 * alias.c -- one input record, in any of the field dialects people already emit
 * (TeraTrace, TraceHub checkpoint, Tracer log, Traceway span, seed log), becomes
 * a canonical record. The table below is the whole mapping; FORMAT.md section 3
 * is its normative description -- change both together.
 *
 * Rules: keys match the table case-insensitively. For each well-known field
 * the best-ranked alias present wins and is written under the canonical name at
 * its input position; a losing alias is kept as given under its own key (a
 * second copy of the canonical key itself is dropped). Every key the table does
 * not name is kept as given, in input order.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fmt_internal.h"

enum role {
	R_NONE, R_TS, R_END, R_CORR, R_SPAN, R_PARENT, R_SERVICE, R_HOST, R_LEVEL,
	R_KIND, R_NAME, R_DIR, R_ENDPOINT, R_DUR, R_STATUS, R_MSG, R_ATTRS, R_NROLES
};

/* how a winning value is converted */
enum {
	F_PLAIN = 0,
	F_NS,    /* time: integers are ns exactly ("ts") */
	F_TIME,  /* time: number unit by magnitude, or RFC 3339 string */
	F_START, /* F_TIME, and the start of a span: ended_at - this = dur */
	F_MS,    /* duration in milliseconds */
};

typedef struct alias {
	const char *k;   /* lower case */
	uint8_t len;
	uint8_t role;
	uint8_t prio;    /* 0 = the canonical name; lower wins */
	uint8_t flag;
} alias;

static const alias aliases[] = {
	{"ts", 2, R_TS, 0, F_NS},
	{"timestamp", 9, R_TS, 1, F_TIME},  /* TraceHub (ms float), Tracer, seed log */
	{"time", 4, R_TS, 2, F_TIME},
	{"@timestamp", 10, R_TS, 3, F_TIME},
	{"started_at", 10, R_TS, 4, F_START}, /* Traceway */
	{"ended_at", 8, R_END, 1, F_TIME},
	{"corr", 4, R_CORR, 0, 0},
	{"correlation_id", 14, R_CORR, 1, 0}, /* TraceHub */
	{"correlationid", 13, R_CORR, 1, 0},
	{"trace_id", 8, R_CORR, 2, 0},       /* Traceway */
	{"traceid", 7, R_CORR, 2, 0},        /* seed log TraceID */
	{"session_id", 10, R_CORR, 3, 0},
	{"sessionid", 9, R_CORR, 3, 0},      /* seed log SessionID, when no TraceID */
	{"span", 4, R_SPAN, 0, 0},
	{"span_id", 7, R_SPAN, 1, 0},
	{"spanid", 6, R_SPAN, 1, 0},
	{"id", 2, R_SPAN, 2, 0},             /* Traceway */
	{"parent", 6, R_PARENT, 0, 0},
	{"parent_id", 9, R_PARENT, 1, 0},    /* Traceway */
	{"parentid", 8, R_PARENT, 1, 0},
	{"parent_span_id", 14, R_PARENT, 1, 0},
	{"parentspanid", 12, R_PARENT, 1, 0},
	{"service", 7, R_SERVICE, 0, 0},     /* Tracer, seed log */
	{"service_name", 12, R_SERVICE, 1, 0},
	{"source_id", 9, R_SERVICE, 2, 0},   /* TraceHub */
	{"host", 4, R_HOST, 0, 0},
	{"hostname", 8, R_HOST, 1, 0},       /* TraceHub */
	{"host_name", 9, R_HOST, 1, 0},
	{"level", 5, R_LEVEL, 0, 0},
	{"severity", 8, R_LEVEL, 1, 0},
	{"lvl", 3, R_LEVEL, 1, 0},
	{"kind", 4, R_KIND, 0, 0},           /* Traceway: tagged object */
	{"name", 4, R_NAME, 0, 0},
	{"operation", 9, R_NAME, 1, 0},      /* TraceHub */
	{"span_name", 9, R_NAME, 1, 0},
	{"dir", 3, R_DIR, 0, 0},
	{"direction", 9, R_DIR, 1, 0},       /* TraceHub */
	{"endpoint", 8, R_ENDPOINT, 0, 0},
	{"dur", 3, R_DUR, 0, F_NS},
	{"duration_ns", 11, R_DUR, 1, F_NS},
	{"duration_ms", 11, R_DUR, 2, F_MS},
	{"status", 6, R_STATUS, 0, 0},
	{"msg", 3, R_MSG, 0, 0},
	{"message", 7, R_MSG, 1, 0},         /* Tracer, seed log */
	{"attrs", 5, R_ATTRS, 0, 0},
	{"attributes", 10, R_ATTRS, 1, 0},
	{"metadata", 8, R_ATTRS, 1, 0},      /* Tracer, seed log */
	{"data", 4, R_ATTRS, 1, 0},          /* TraceHub */
};

/* the field each role writes */
#define C(s) {s, sizeof(s) - 1}
static const struct { const char *s; uint8_t n; } canon[R_NROLES] = {
	[R_TS] = C("ts"), [R_END] = C("dur"), [R_CORR] = C("corr"), [R_SPAN] = C("span"),
	[R_PARENT] = C("parent"), [R_SERVICE] = C("service"), [R_HOST] = C("host"),
	[R_LEVEL] = C("level"), [R_KIND] = C("kind"), [R_NAME] = C("name"), [R_DIR] = C("dir"),
	[R_ENDPOINT] = C("endpoint"), [R_DUR] = C("dur"), [R_STATUS] = C("status"),
	[R_MSG] = C("msg"), [R_ATTRS] = C("attrs"),
};
#undef C

/* ---- alias lookup: an open-addressing table keyed by length, first and last
 * byte (lower-cased), built once. Most keys of a record are not aliases and
 * land on an empty slot after one probe without touching the rest of the key;
 * this lookup was half of tt_map_record's time when it hashed whole keys. */
#define AT_SIZE 256
static uint8_t at_slot[AT_SIZE]; /* 1 + index into aliases, 0 = empty */
static pthread_once_t at_once = PTHREAD_ONCE_INIT;

static inline unsigned lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32u : c;
}

static inline uint32_t key_slot(const char *k, size_t n)
{
	return ((uint32_t)n * 31u + lower((unsigned char)k[0]) * 7u +
	    lower((unsigned char)k[n - 1])) & (AT_SIZE - 1);
}

static void at_build(void)
{
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
		uint32_t h = key_slot(aliases[i].k, aliases[i].len);
		while (at_slot[h])
			h = (h + 1) & (AT_SIZE - 1);
		at_slot[h] = (uint8_t)(i + 1);
	}
}

static const alias *alias_find(const char *k, size_t n)
{
	if (n == 0 || n > 16) /* the longest alias is "correlation_id" */
		return NULL;
	for (uint32_t h = key_slot(k, n); at_slot[h]; h = (h + 1) & (AT_SIZE - 1)) {
		const alias *a = &aliases[at_slot[h] - 1];
		size_t j = 0;
		if (a->len != n)
			continue;
		while (j < n && (unsigned char)a->k[j] == lower((unsigned char)k[j]))
			j++;
		if (j == n)
			return a;
	}
	return NULL;
}

/* ---- time values */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, size_t at, size_t cnt, int *out)
{
	int v = 0;

	if (at + cnt > n)
		return -1;
	for (size_t i = at; i < at + cnt; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int tt_iso8601_parse(const char *s, size_t n, int64_t *ns)
{
	static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
	int64_t frac = 0, t;
	size_t i = 10;

	if (digits(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || digits(s, n, 5, 2, &mo) ||
	    s[7] != '-' || digits(s, n, 8, 2, &d))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return -1;
	if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
		if (digits(s, n, i + 1, 2, &h) || i + 3 >= n || s[i + 3] != ':' ||
		    digits(s, n, i + 4, 2, &mi))
			return -1;
		i += 6;
		if (i < n && s[i] == ':') {
			if (digits(s, n, i + 1, 2, &sec))
				return -1;
			i += 3;
			if (i < n && (s[i] == '.' || s[i] == ',')) {
				int nd = 0;
				for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
					if (nd < 9)
						frac = frac * 10 + (s[i] - '0');
				if (nd == 0)
					return -1;
				for (; nd < 9; nd++)
					frac *= 10;
			}
		}
		if (h > 23 || mi > 59 || sec > 60) /* 60: a leap second, folded forward */
			return -1;
		if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
			i++;
		} else if (i < n && (s[i] == '+' || s[i] == '-')) {
			int sign = s[i] == '-' ? -1 : 1;
			if (digits(s, n, i + 1, 2, &oh))
				return -1;
			i += 3;
			if (i < n && s[i] == ':')
				i++;
			if (i < n && digits(s, n, i, 2, &om) == 0)
				i += 2;
			if (oh > 23 || om > 59)
				return -1;
			oh *= sign;
			om *= sign;
		}
	}
	if (i != n)
		return -1;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
	    (oh * 3600 + om * 60);
	if (t > INT64_MAX / 1000000000 - 1 || t < INT64_MIN / 1000000000 + 1)
		return -1;
	*ns = t * 1000000000 + frac;
	return 0;
}

/* unit multiplier of an epoch number by magnitude: s, ms, us or ns */
static int64_t epoch_unit(double a)
{
	if (a < 0)
		a = -a;
	return a < 1e11 ? 1000000000 : a < 1e14 ? 1000000 : a < 1e17 ? 1000 : 1;
}

static int time_from_double(double x, int exact_ns, int64_t *ns)
{
	int64_t m = exact_ns ? 1 : epoch_unit(x);
	double ip, frac, r;

	if (!isfinite(x))
		return -1;
	frac = modf(x, &ip);
	if (fabs(ip) * (double)m >= 9.2e18)
		return -1;
	/* a double holds ~16 digits: at today's epochs a float in s or ms is good
	 * to a fraction of a microsecond, so round to the microsecond there */
	r = m >= 1000000 ? (double)llround(frac * (double)(m / 1000)) * 1000.0 :
	    (double)llround(frac * (double)m);
	*ns = (int64_t)ip * m + (int64_t)r;
	return 0;
}

static int time_from_int(int64_t v, int exact_ns, int64_t *ns)
{
	int64_t m = exact_ns ? 1 : epoch_unit((double)v);

	if (v > INT64_MAX / m || v < INT64_MIN / m)
		return -1;
	*ns = v * m;
	return 0;
}

static int time_value(const msgpack_object *v, int exact_ns, int64_t *ns)
{
	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (v->via.u64 > INT64_MAX)
			return -1;
		return time_from_int((int64_t)v->via.u64, exact_ns, ns);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return time_from_int(v->via.i64, exact_ns, ns);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		return time_from_double(v->via.f64, exact_ns, ns);
	case MSGPACK_OBJECT_STR: {
		const char *s = v->via.str.ptr;
		size_t n = v->via.str.size, i;
		char tmp[32];
		if (tt_iso8601_parse(s, n, ns) == 0)
			return 0;
		/* an epoch number written as a string ("1732181180123") */
		if (n == 0 || n >= sizeof tmp)
			return -1;
		for (i = 0; i < n; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (i == 0 && s[i] == '-') || s[i] == '.'))
				return -1;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (memchr(s, '.', n))
			return time_from_double(strtod(tmp, NULL), exact_ns, ns);
		errno = 0;
		long long ll = strtoll(tmp, NULL, 10);
		if (errno)
			return -1;
		return time_from_int(ll, exact_ns, ns);
	}
	default:
		return -1;
	}
}

static int dur_value(const msgpack_object *v, int ms, int64_t *ns)
{
	double m = ms ? 1e6 : 1;

	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (v->via.u64 > (uint64_t)(INT64_MAX / (int64_t)m))
			return -1;
		*ns = (int64_t)v->via.u64 * (int64_t)m;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		if (v->via.i64 < INT64_MIN / (int64_t)m)
			return -1;
		*ns = v->via.i64 * (int64_t)m;
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(v->via.f64) || fabs(v->via.f64 * m) >= 9.2e18)
			return -1;
		*ns = llround(v->via.f64 * m);
		return 0;
	default:
		return -1;
	}
}

/* "->" / "<-", or NULL to keep the value as given */
static const char *dir_norm(const char *s, size_t n)
{
	static const char *const out[] = {"->", "out", "outbound", "outgoing", "send",
		"sent", "egress", "tx", NULL};
	static const char *const in[] = {"<-", "in", "inbound", "incoming", "recv",
		"receive", "received", "ingress", "rx", NULL};

	for (int i = 0; out[i]; i++)
		if (strlen(out[i]) == n && strncasecmp(out[i], s, n) == 0)
			return "->";
	for (int i = 0; in[i]; i++)
		if (strlen(in[i]) == n && strncasecmp(in[i], s, n) == 0)
			return "<-";
	return NULL;
}

static int is_str(const msgpack_object *v)
{
	return v->type == MSGPACK_OBJECT_STR;
}

static void field_name(char *f, size_t fn, const msgpack_object *k)
{
	snprintf(f, fn, "%.*s", (int)k->via.str.size, k->via.str.ptr);
}

static int add_as_given(tt_decoder *d, const msgpack_object_kv *kv)
{
	return tt_recb_add(d, kv->key.via.str.ptr, kv->key.via.str.size, &kv->val);
}

static int add_canon(tt_decoder *d, int role, const msgpack_object *v)
{
	return tt_recb_add(d, canon[role].s, canon[role].n, v);
}

static int merge_attrs(tt_decoder *d, const msgpack_object *m)
{
	int rc = tt_recb_add_attrs(d);

	return rc ? rc : tt_attrs_add_n(d, m->via.map.ptr, m->via.map.size);
}

/* level: a known name or a pino number -> canonical name; else as given */
static int add_level(tt_decoder *d, const msgpack_object *v)
{
	int lvl = TT_LVL_NONE;
	msgpack_object o;

	if (is_str(v)) {
		lvl = tt_level_parse(v->via.str.ptr, v->via.str.size);
	} else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 % 10 == 0 &&
	    v->via.u64 >= 10 && v->via.u64 <= 60) {
		lvl = (int)(v->via.u64 / 10); /* pino: 10 trace .. 60 fatal */
	}
	if (lvl == TT_LVL_NONE)
		return add_canon(d, R_LEVEL, v);
	o = tt_obj_str(tt_level_name(lvl), strlen(tt_level_name(lvl)));
	return add_canon(d, R_LEVEL, &o);
}

/* Traceway's tagged kind {"type":"llm_call","model":...}: type -> kind, the
 * other members -> attrs */
static int add_kind(tt_decoder *d, const msgpack_object_kv *kv)
{
	const msgpack_object *v = &kv->val, *type;
	int rc;

	if (is_str(v))
		return add_canon(d, R_KIND, v);
	type = tt_map_get(v, "type");
	if (!type || !is_str(type))
		return add_as_given(d, kv);
	if ((rc = add_canon(d, R_KIND, type)))
		return rc;
	for (uint32_t i = 0; i < v->via.map.size; i++) {
		const msgpack_object_kv *e = &v->via.map.ptr[i];
		if (&e->val == type)
			continue;
		if ((rc = tt_attrs_add(d, e)))
			return rc;
	}
	return 0;
}

/* Tracer logs carry their id inside "metadata" (FORMAT.md 3.1): with no
 * correlation id alias at the top level, the first of these names present in
 * a "metadata" map (any case) is the id, best first. The member stays in
 * attrs. *where gets "metadata.<name>" for error messages. */
static const msgpack_object *meta_corr(const msgpack_object *in, char *where, size_t wn)
{
	static const char *const names[] = { "correlation_id", "correlationid", "trace_id",
		"request_id" };
	const msgpack_object *meta = NULL;

	for (uint32_t i = 0; i < in->via.map.size && !meta; i++) {
		const msgpack_object_kv *kv = &in->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 8 &&
		    strncasecmp(kv->key.via.str.ptr, "metadata", 8) == 0 &&
		    kv->val.type == MSGPACK_OBJECT_MAP)
			meta = &kv->val;
	}
	if (!meta)
		return NULL;
	for (size_t j = 0; j < sizeof names / sizeof names[0]; j++) {
		size_t nl = strlen(names[j]);
		for (uint32_t i = 0; i < meta->via.map.size; i++) {
			const msgpack_object *k = &meta->via.map.ptr[i].key;
			if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == nl &&
			    strncasecmp(k->via.str.ptr, names[j], nl) == 0) {
				snprintf(where, wn, "metadata.%.*s", (int)nl, k->via.str.ptr);
				return &meta->via.map.ptr[i].val;
			}
		}
	}
	return NULL;
}

/* The correlation id v (found under `field`) into the record being built.
 * An empty id is refused: an id-less record looks like one nobody can find. */
static int set_corr(tt_decoder *d, const msgpack_object *v, const char *field,
    tt_rec_err *err)
{
	int rc;

	if ((v->type == MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_BIN) &&
	    v->via.str.size == 0) {
		tt_err_set(err, 0, field, "empty correlation id (leave the field out "
		    "for a record without one)");
		return TT_EBADREC;
	}
	rc = tt_recb_set_corr(d, v, err);
	if (rc && err)
		snprintf(err->field, sizeof err->field, "%s", field);
	return rc;
}

int tt_map_record(tt_decoder *d, const msgpack_object *in, tt_rec_err *err)
{
	uint32_t n = in->via.map.size, i;
	int win[R_NROLES];
	const alias **al;
	int64_t ts = 0, start = 0;
	int have_start = 0, dialect = 0, rc = 0;
	char f[64];

	pthread_once(&at_once, at_build);
	tt_recb_reset(d);
	for (i = 0; i < R_NROLES; i++)
		win[i] = -1;
	if (n == 0) {
		tt_err_set(err, 0, "", "empty object: a record needs at least one field");
		return TT_EBADREC;
	}
	al = msgpack_zone_malloc(&d->zone, (n ? n : 1) * sizeof *al);
	if (!al)
		return -ENOMEM;

	/* pass 1: which key of each well-known field wins */
	for (i = 0; i < n; i++) {
		const msgpack_object *k = &in->via.map.ptr[i].key;
		const alias *a;
		if (k->type != MSGPACK_OBJECT_STR) {
			tt_err_set(err, 0, "", "field names must be strings");
			return TT_EBADREC;
		}
		a = al[i] = alias_find(k->via.str.ptr, k->via.str.size);
		if (!a || a->role == R_ATTRS)
			continue;
		if (win[a->role] < 0 || a->prio < al[win[a->role]]->prio)
			win[a->role] = (int)i;
	}

	/* the timestamp first: ended_at needs it, wherever it stands */
	if (win[R_TS] >= 0) {
		const msgpack_object_kv *kv = &in->via.map.ptr[win[R_TS]];
		const alias *a = al[win[R_TS]];
		if (time_value(&kv->val, a->flag == F_NS, &ts)) {
			field_name(f, sizeof f, &kv->key);
			tt_err_set(err, 0, f, "expected a timestamp (integer ns, epoch number "
			    "or RFC 3339 string)");
			return TT_EBADREC;
		}
		tt_recb_set_ts(d, ts);
		if (a->flag == F_START) {
			start = ts;
			have_start = 1;
		}
	}
	if (win[R_CORR] < 0) {
		const msgpack_object *mc = meta_corr(in, f, sizeof f);
		if (mc && (rc = set_corr(d, mc, f, err)))
			return rc;
	}

	/* pass 2: emit in input order */
	for (i = 0; i < n && rc == 0; i++) {
		const msgpack_object_kv *kv = &in->via.map.ptr[i];
		const alias *a = al[i];
		const msgpack_object *v = &kv->val;
		int64_t x;

		if (!a) {
			rc = add_as_given(d, kv);
			continue;
		}
		if (a->role == R_ATTRS) {
			rc = v->type == MSGPACK_OBJECT_MAP ? merge_attrs(d, v) : add_as_given(d, kv);
			if (a->prio)
				dialect = 1;
			continue;
		}
		if (win[a->role] != (int)i) {
			if (a->prio != 0) /* a second copy of a canonical key is dropped */
				rc = add_as_given(d, kv);
			continue;
		}
		if (a->prio)
			dialect = 1;
		switch (a->role) {
		case R_TS:
			break; /* done above */
		case R_END:
			if (have_start && win[R_DUR] < 0 && time_value(v, 0, &x) == 0) {
				msgpack_object o = tt_obj_int(x - start);
				rc = add_canon(d, R_DUR, &o);
			} else {
				rc = add_as_given(d, kv);
			}
			break;
		case R_CORR:
			field_name(f, sizeof f, &kv->key);
			rc = set_corr(d, v, f, err);
			break;
		case R_SPAN: case R_PARENT:
			rc = v->type == MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_BIN ?
			    add_canon(d, a->role, v) : add_as_given(d, kv);
			break;
		case R_SERVICE: case R_HOST: case R_NAME: case R_ENDPOINT: case R_MSG:
			rc = is_str(v) ? add_canon(d, a->role, v) : add_as_given(d, kv);
			break;
		case R_LEVEL:
			rc = add_level(d, v);
			break;
		case R_KIND:
			rc = add_kind(d, kv);
			break;
		case R_DIR: {
			const char *dn = is_str(v) ? dir_norm(v->via.str.ptr, v->via.str.size) : NULL;
			msgpack_object o;
			if (dn) {
				o = tt_obj_str(dn, 2);
				rc = add_canon(d, R_DIR, &o);
			} else {
				rc = add_as_given(d, kv);
			}
			break;
		}
		case R_DUR:
			if (dur_value(v, a->flag == F_MS, &x) == 0) {
				msgpack_object o = tt_obj_int(x);
				rc = add_canon(d, R_DUR, &o);
			} else {
				rc = add_as_given(d, kv);
			}
			break;
		case R_STATUS:
			rc = add_canon(d, R_STATUS, v);
			break;
		}
	}
	if (rc)
		return rc;

	/* a record written in a peer's dialect says what it is */
	if (dialect && win[R_KIND] < 0) {
		const char *k = win[R_DIR] >= 0 ? "checkpoint" : have_start ? "span" :
		    win[R_MSG] >= 0 ? "log" : NULL;
		if (k) {
			msgpack_object o = tt_obj_str(k, strlen(k));
			if ((rc = add_canon(d, R_KIND, &o)))
				return rc;
		}
	}
	return tt_recb_emit(d, err);
}
