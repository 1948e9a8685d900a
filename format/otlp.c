/*
 * otlp.c -- OTLP trace and log exports to records, one record per span or log
 * record. Input is the OTLP/JSON shape (camelCase keys, ids as hex strings,
 * int64 as strings or numbers, AnyValue objects); the protobuf decoder
 * (otlp_proto.c) builds the same shape, so there is one mapping (FORMAT.md 3.3).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"

typedef tt_otlp_ctx otlp_ctx;

static const msgpack_object *get_arr(const msgpack_object *m, const char *k)
{
	const msgpack_object *a = tt_map_get(m, k);
	return a && a->type == MSGPACK_OBJECT_ARRAY ? a : NULL;
}

static int get_str(const msgpack_object *m, const char *k, const msgpack_object **out)
{
	const msgpack_object *s = tt_map_get(m, k);

	*out = s && s->type == MSGPACK_OBJECT_STR && s->via.str.size ? s : NULL;
	return *out != NULL;
}

/* int64 fields: JSON writes them as strings, protobuf as integers. 1 present,
 * 0 absent, -1 malformed. */
static int get_u64(const msgpack_object *m, const char *k, uint64_t *out)
{
	const msgpack_object *v = tt_map_get(m, k);

	if (!v || v->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*out = v->via.u64;
		return 1;
	}
	if (v->type == MSGPACK_OBJECT_FLOAT64 && v->via.f64 >= 0 && v->via.f64 < 1.8e19) {
		*out = (uint64_t)v->via.f64;
		return 1;
	}
	if (v->type == MSGPACK_OBJECT_STR && v->via.str.size && v->via.str.size < 21) {
		uint64_t x = 0;
		for (uint32_t i = 0; i < v->via.str.size; i++) {
			unsigned c = (unsigned char)v->via.str.ptr[i] - '0';
			if (c > 9 || x > (UINT64_MAX - c) / 10)
				return -1;
			x = x * 10 + c;
		}
		*out = x;
		return 1;
	}
	return -1;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+' || c == '-') return 62;
	if (c == '/' || c == '_') return 63;
	return -1;
}

/* base64 (standard or URL alphabet, padding optional) into the zone */
static int b64_decode(tt_decoder *d, const char *s, size_t n, msgpack_object *out)
{
	char *p = msgpack_zone_malloc(&d->zone, n * 3 / 4 + 3);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int v;
		if (s[i] == '=')
			break;
		if ((v = b64val((unsigned char)s[i])) < 0)
			return TT_EBADREC;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (char)(acc >> bits);
		}
	}
	out->type = MSGPACK_OBJECT_BIN;
	out->via.bin.ptr = p;
	out->via.bin.size = (uint32_t)o;
	return 0;
}

static int kvlist_to_map(tt_decoder *d, const msgpack_object *arr, msgpack_object *out);

/* An OTLP AnyValue ({"stringValue":"x"}, {"intValue":"5"}, ...) to the plain value. */
static int any_value(tt_decoder *d, const msgpack_object *av, msgpack_object *out)
{
	const msgpack_object_kv *kv;

	out->type = MSGPACK_OBJECT_NIL;
	if (!av || av->type != MSGPACK_OBJECT_MAP || av->via.map.size == 0)
		return 0;
	kv = &av->via.map.ptr[0];
	if (kv->key.type != MSGPACK_OBJECT_STR)
		return TT_EBADREC;
#define KEY_IS(s) (kv->key.via.str.size == sizeof(s) - 1 && \
	memcmp(kv->key.via.str.ptr, s, sizeof(s) - 1) == 0)
	if (KEY_IS("stringValue") || KEY_IS("boolValue") || KEY_IS("doubleValue")) {
		*out = kv->val;
		if (KEY_IS("doubleValue") && (out->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    out->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
			double f = out->type == MSGPACK_OBJECT_POSITIVE_INTEGER ?
			    (double)out->via.u64 : (double)out->via.i64;
			out->type = MSGPACK_OBJECT_FLOAT64;
			out->via.f64 = f;
		}
		return 0;
	}
	if (KEY_IS("intValue")) {
		const msgpack_object *v = &kv->val;
		if (v->type == MSGPACK_OBJECT_STR) {
			char tmp[24];
			char *end;
			long long x;
			if (v->via.str.size == 0 || v->via.str.size >= sizeof tmp)
				return TT_EBADREC;
			memcpy(tmp, v->via.str.ptr, v->via.str.size);
			tmp[v->via.str.size] = '\0';
			errno = 0;
			x = strtoll(tmp, &end, 10);
			if (errno || *end)
				return TT_EBADREC;
			*out = tt_obj_int(x);
			return 0;
		}
		*out = *v;
		return 0;
	}
	if (KEY_IS("bytesValue")) {
		if (kv->val.type == MSGPACK_OBJECT_STR)
			return b64_decode(d, kv->val.via.str.ptr, kv->val.via.str.size, out);
		*out = kv->val; /* protobuf: already bytes */
		return 0;
	}
	if (KEY_IS("arrayValue")) {
		const msgpack_object *vals = get_arr(&kv->val, "values");
		uint32_t n = vals ? vals->via.array.size : 0;
		out->type = MSGPACK_OBJECT_ARRAY;
		out->via.array.size = n;
		out->via.array.ptr = NULL;
		if (n && !(out->via.array.ptr = msgpack_zone_malloc(&d->zone, n * sizeof(msgpack_object))))
			return -ENOMEM;
		for (uint32_t i = 0; i < n; i++) {
			int rc = any_value(d, &vals->via.array.ptr[i], &out->via.array.ptr[i]);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (KEY_IS("kvlistValue"))
		return kvlist_to_map(d, get_arr(&kv->val, "values"), out);
#undef KEY_IS
	return TT_EBADREC;
}

/* [{"key":k,"value":AnyValue}...] to a map; entries without a string key are
 * malformed */
static int kvlist_to_map(tt_decoder *d, const msgpack_object *arr, msgpack_object *out)
{
	uint32_t n = arr ? arr->via.array.size : 0;

	out->type = MSGPACK_OBJECT_MAP;
	out->via.map.size = n;
	out->via.map.ptr = NULL;
	if (n && !(out->via.map.ptr = msgpack_zone_malloc(&d->zone, n * sizeof(msgpack_object_kv))))
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *e = &arr->via.array.ptr[i], *k = tt_map_get(e, "key");
		int rc;
		if (!k || k->type != MSGPACK_OBJECT_STR)
			return TT_EBADREC;
		out->via.map.ptr[i].key = *k;
		if ((rc = any_value(d, tt_map_get(e, "value"), &out->via.map.ptr[i].val)))
			return rc;
	}
	return 0;
}

static int add_str(tt_decoder *d, const char *k, const msgpack_object *v)
{
	return v ? tt_recb_add(d, k, strlen(k), v) : 0;
}

static int add_cstr(tt_decoder *d, const char *k, const char *s)
{
	msgpack_object o = tt_obj_str(s, strlen(s));
	return tt_recb_add(d, k, strlen(k), &o);
}

static int add_int(tt_decoder *d, const char *k, int64_t i)
{
	msgpack_object o = tt_obj_int(i);
	return tt_recb_add(d, k, strlen(k), &o);
}

static int bad(otlp_ctx *c, tt_rec_err *e, const char *field, const char *reason)
{
	char f[160];

	snprintf(f, sizeof f, "%s%s%s", c->where, *field ? "." : "", field);
	tt_err_set(e, 0, f, "%s", reason);
	return TT_EBADREC;
}

/* attributes -> the record's attrs */
static int add_attrs(otlp_ctx *c, const msgpack_object *el, tt_rec_err *e)
{
	msgpack_object m;
	int rc = kvlist_to_map(c->d, get_arr(el, "attributes"), &m);

	if (rc == 0 && m.via.map.size)
		rc = tt_recb_add_attrs(c->d); /* the attrs go here, before events */
	if (rc == TT_EBADREC)
		return bad(c, e, "attributes", "malformed attribute list");
	return rc ? rc : tt_attrs_add_n(c->d, m.via.map.ptr, m.via.map.size);
}

/* An OTLP id that says "none": empty, or every hex digit 0. */
static int id_unset(const msgpack_object *s)
{
	for (uint32_t i = 0; i < s->via.str.size; i++)
		if (s->via.str.ptr[i] != '0')
			return 0;
	return 1;
}

/* fields every record of a resource/scope shares, and its ids. A span must
 * have a trace id (OTLP: 16 bytes, not all zero); a log record may have none
 * (logs outside a trace): it is then stored without corr (FORMAT.md 3.3). */
static int add_common(otlp_ctx *c, const msgpack_object *el, int span, tt_rec_err *e)
{
	const msgpack_object *s = NULL;
	int rc = 0, have = get_str(el, "traceId", &s) && !id_unset(s);

	if (span && !have)
		return bad(c, e, "traceId", s ? "all zeros or empty: a span needs a trace id" :
		    "missing: a span needs a trace id");
	if (have && (rc = tt_recb_set_corr(c->d, s, e)))
		return rc;
	if (get_str(el, "spanId", &s))
		rc = add_str(c->d, "span", s);
	if (rc == 0 && get_str(el, "parentSpanId", &s))
		rc = add_str(c->d, "parent", s);
	if (rc == 0)
		rc = add_str(c->d, "service", c->service);
	if (rc == 0)
		rc = add_str(c->d, "host", c->host);
	return rc;
}

static int add_tail(otlp_ctx *c)
{
	int rc = 0;

	if (rc == 0 && c->resource && c->resource->via.map.size)
		rc = tt_recb_add(c->d, "resource", 8, c->resource);
	if (rc == 0 && c->scope)
		rc = add_str(c->d, "scope", c->scope);
	return rc;
}

static int span_events(otlp_ctx *c, const msgpack_object *span, tt_rec_err *e)
{
	const msgpack_object *evs = get_arr(span, "events");
	msgpack_object arr;

	if (!evs || evs->via.array.size == 0)
		return 0;
	arr.type = MSGPACK_OBJECT_ARRAY;
	arr.via.array.size = evs->via.array.size;
	arr.via.array.ptr = msgpack_zone_malloc(&c->d->zone, arr.via.array.size * sizeof(msgpack_object));
	if (!arr.via.array.ptr)
		return -ENOMEM;
	for (uint32_t i = 0; i < evs->via.array.size; i++) {
		const msgpack_object *ev = &evs->via.array.ptr[i], *name;
		msgpack_object_kv *kv = msgpack_zone_malloc(&c->d->zone, 3 * sizeof *kv);
		uint64_t t = 0;
		uint32_t n = 0;
		int rc;
		if (!kv)
			return -ENOMEM;
		if (get_u64(ev, "timeUnixNano", &t) < 0 || t > INT64_MAX)
			return bad(c, e, "events.timeUnixNano", "expected an integer");
		kv[n].key = tt_obj_str("ts", 2);
		kv[n++].val = tt_obj_int((int64_t)t);
		if (get_str(ev, "name", &name)) {
			kv[n].key = tt_obj_str("name", 4);
			kv[n++].val = *name;
		}
		if (get_arr(ev, "attributes")) {
			kv[n].key = tt_obj_str("attrs", 5);
			if ((rc = kvlist_to_map(c->d, get_arr(ev, "attributes"), &kv[n++].val)))
				return rc == TT_EBADREC ? bad(c, e, "events.attributes",
				    "malformed attribute list") : rc;
		}
		arr.via.array.ptr[i].type = MSGPACK_OBJECT_MAP;
		arr.via.array.ptr[i].via.map.size = n;
		arr.via.array.ptr[i].via.map.ptr = kv;
	}
	return tt_recb_add(c->d, "events", 6, &arr);
}

/* SPAN_KIND_SERVER / 2 -> "server"; NULL for unspecified */
static const char *span_kind(const msgpack_object *k)
{
	static const char *const names[] = {NULL, "internal", "server", "client",
		"producer", "consumer"};

	if (!k)
		return NULL;
	if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return k->via.u64 < 6 ? names[k->via.u64] : NULL;
	if (k->type == MSGPACK_OBJECT_STR) {
		for (int i = 1; i < 6; i++) {
			size_t n = strlen(names[i]);
			if (k->via.str.size == 10 + n && strncasecmp(k->via.str.ptr + 10, names[i], n) == 0)
				return names[i];
		}
	}
	return NULL;
}

static int map_span(otlp_ctx *c, const msgpack_object *span, tt_rec_err *e)
{
	tt_decoder *d = c->d;
	const msgpack_object *s, *st;
	const char *sk;
	uint64_t t0 = 0, t1 = 0;
	int r0, r1, rc;

	tt_recb_reset(d);
	if (span->type != MSGPACK_OBJECT_MAP)
		return bad(c, e, "", "expected an object");
	r0 = get_u64(span, "startTimeUnixNano", &t0);
	r1 = get_u64(span, "endTimeUnixNano", &t1);
	if (r0 < 0 || t0 > INT64_MAX)
		return bad(c, e, "startTimeUnixNano", "expected an integer (ns)");
	if (r1 < 0 || t1 > INT64_MAX)
		return bad(c, e, "endTimeUnixNano", "expected an integer (ns)");
	if (r0 > 0 && t0 > 0)
		tt_recb_set_ts(d, (int64_t)t0);
	if ((rc = add_common(c, span, 1, e)))
		return rc;
	if ((rc = add_cstr(d, "kind", "span")))
		return rc;
	if (get_str(span, "name", &s) && (rc = add_str(d, "name", s)))
		return rc;
	if ((sk = span_kind(tt_map_get(span, "kind"))) && (rc = add_cstr(d, "span_kind", sk)))
		return rc;
	if (r0 > 0 && r1 > 0 && t0 > 0 && t1 >= t0 && (rc = add_int(d, "dur", (int64_t)(t1 - t0))))
		return rc;
	st = tt_map_get(span, "status");
	if (st && st->type == MSGPACK_OBJECT_MAP) {
		const msgpack_object *code = tt_map_get(st, "code");
		const char *cs = NULL;
		if (code && code->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			cs = code->via.u64 == 1 ? "ok" : code->via.u64 == 2 ? "error" : NULL;
		else if (code && code->type == MSGPACK_OBJECT_STR)
			cs = code->via.str.size == 14 && !memcmp(code->via.str.ptr, "STATUS_CODE_OK", 14) ? "ok" :
			    code->via.str.size == 17 && !memcmp(code->via.str.ptr, "STATUS_CODE_ERROR", 17) ?
			    "error" : NULL;
		if (cs && (rc = add_cstr(d, "status", cs)))
			return rc;
		/* an error span is an error for `tt-tail --level error` */
		if (cs && cs[0] == 'e' && (rc = add_cstr(d, "level", "error")))
			return rc;
		if (get_str(st, "message", &s) && (rc = add_str(d, "msg", s)))
			return rc;
	}
	if ((rc = add_attrs(c, span, e)) || (rc = span_events(c, span, e)) || (rc = add_tail(c)))
		return rc;
	return tt_recb_emit(d, e);
}

/* severityNumber 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error,
 * 21-24 fatal (OTLP logs data model) */
static int severity_level(const msgpack_object *log)
{
	const msgpack_object *t = tt_map_get(log, "severityText"), *n;
	int lvl = TT_LVL_NONE;

	if (t && t->type == MSGPACK_OBJECT_STR)
		lvl = tt_level_parse(t->via.str.ptr, t->via.str.size);
	if (lvl != TT_LVL_NONE)
		return lvl;
	n = tt_map_get(log, "severityNumber");
	if (n && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER && n->via.u64 >= 1 && n->via.u64 <= 24)
		return TT_LVL_TRACE + (int)((n->via.u64 - 1) / 4);
	if (n && n->type == MSGPACK_OBJECT_STR && n->via.str.size > 16) {
		/* "SEVERITY_NUMBER_WARN", "SEVERITY_NUMBER_ERROR2" */
		return tt_level_parse(n->via.str.ptr + 16, n->via.str.size - 16 -
		    (n->via.str.ptr[n->via.str.size - 1] <= '9' ? 1 : 0));
	}
	return TT_LVL_NONE;
}

static int map_log(otlp_ctx *c, const msgpack_object *log, tt_rec_err *e)
{
	tt_decoder *d = c->d;
	const msgpack_object *s, *body;
	uint64_t t = 0;
	int r, rc, lvl;

	tt_recb_reset(d);
	if (log->type != MSGPACK_OBJECT_MAP)
		return bad(c, e, "", "expected an object");
	r = get_u64(log, "timeUnixNano", &t);
	if (r < 0 || t > INT64_MAX)
		return bad(c, e, "timeUnixNano", "expected an integer (ns)");
	if (t == 0) { /* 0 = unknown: the collector's receive time is next best */
		r = get_u64(log, "observedTimeUnixNano", &t);
		if (r < 0 || t > INT64_MAX)
			return bad(c, e, "observedTimeUnixNano", "expected an integer (ns)");
	}
	if (t > 0)
		tt_recb_set_ts(d, (int64_t)t);
	if ((rc = add_common(c, log, 0, e)))
		return rc;
	if ((lvl = severity_level(log)) != TT_LVL_NONE && (rc = add_cstr(d, "level", tt_level_name(lvl))))
		return rc;
	if ((rc = add_cstr(d, "kind", "log")))
		return rc;
	if (get_str(log, "eventName", &s) && (rc = add_str(d, "name", s)))
		return rc;
	body = tt_map_get(log, "body");
	if (body) {
		msgpack_object v;
		if ((rc = any_value(d, body, &v)))
			return rc == TT_EBADREC ? bad(c, e, "body", "malformed AnyValue") : rc;
		if (v.type == MSGPACK_OBJECT_STR)
			rc = tt_recb_add(d, "msg", 3, &v);
		else if (v.type != MSGPACK_OBJECT_NIL)
			rc = tt_recb_add(d, "body", 4, &v);
		if (rc)
			return rc;
	}
	if ((rc = add_attrs(c, log, e)) || (rc = add_tail(c)))
		return rc;
	return tt_recb_emit(d, e);
}

/* resource attributes: service.name -> service, host.name -> host, the rest
 * -> the record's "resource" map (res: the value of a resource's "resource") */
static int resource_setup(otlp_ctx *c, const msgpack_object *res)
{
	const msgpack_object *attrs = get_arr(res, "attributes");
	msgpack_object *m;
	int rc;

	c->service = c->host = NULL;
	m = msgpack_zone_malloc(&c->d->zone, sizeof *m);
	if (!m)
		return -ENOMEM;
	if ((rc = kvlist_to_map(c->d, attrs, m)))
		return rc;
	for (uint32_t i = 0; i < m->via.map.size;) {
		msgpack_object_kv *kv = &m->via.map.ptr[i];
		const msgpack_object **slot = NULL;
		if (kv->val.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 12 &&
		    memcmp(kv->key.via.str.ptr, "service.name", 12) == 0)
			slot = &c->service;
		else if (kv->val.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 9 &&
		    memcmp(kv->key.via.str.ptr, "host.name", 9) == 0)
			slot = &c->host;
		if (!slot) {
			i++;
			continue;
		}
		msgpack_object *v = msgpack_zone_malloc(&c->d->zone, sizeof *v);
		if (!v)
			return -ENOMEM;
		*v = kv->val;
		*slot = v;
		memmove(kv, kv + 1, (m->via.map.size - i - 1) * sizeof *kv);
		m->via.map.size--;
	}
	c->resource = m;
	return 0;
}

static size_t count_elements(const msgpack_object *top, const char *scopes_key,
    const char *old_scopes_key, const char *elems_key)
{
	size_t total = 0;

	for (uint32_t i = 0; i < top->via.array.size; i++) {
		const msgpack_object *r = &top->via.array.ptr[i];
		const msgpack_object *ss = get_arr(r, scopes_key);
		if (!ss)
			ss = get_arr(r, old_scopes_key);
		for (uint32_t j = 0; ss && j < ss->via.array.size; j++) {
			const msgpack_object *el = get_arr(&ss->via.array.ptr[j], elems_key);
			total += el ? el->via.array.size : 0;
		}
	}
	return total;
}

static const char *const kind_keys[2][4] = {
	{ "resourceSpans", "scopeSpans", "instrumentationLibrarySpans", "spans" },
	{ "resourceLogs", "scopeLogs", "instrumentationLibraryLogs", "logRecords" },
};

void tt_otlp_begin(otlp_ctx *c, tt_decoder *d)
{
	memset(c, 0, sizeof *c);
	c->d = d;
}

int tt_otlp_resource(otlp_ctx *c, const msgpack_object *res, int logs, uint32_t i,
    tt_rec_err *err)
{
	const char *rk = kind_keys[logs][0];
	int rc = resource_setup(c, res);

	if (rc && rc != -ENOMEM)
		tt_err_set(err, 0, rk, "malformed resource attributes in %s[%u]", rk, i);
	return rc;
}

void tt_otlp_scope(otlp_ctx *c, const msgpack_object *sc)
{
	get_str(sc, "name", &c->scope);
}

int tt_otlp_element(otlp_ctx *c, const msgpack_object *el, int logs, uint32_t i,
    uint32_t j, uint32_t k, tt_rec_err *err)
{
	const char *const *kk = kind_keys[logs];
	tt_rec_err e = {0};
	int rc;

	snprintf(c->where, sizeof c->where, "%s[%u].%s[%u].%s[%u]", kk[0], i, kk[1], j, kk[3], k);
	if (!el) {
		tt_err_set(&e, 0, c->where, "record of more than %zu values cannot fit the "
		    "limit of %zu bytes", c->d->rec_max, c->d->rec_max);
		rc = TT_ETOOBIG;
	} else {
		rc = logs ? map_log(c, el, &e) : map_span(c, el, &e);
	}
	if (rc < 0) {
		if (c->d->aborted || rc == -ENOMEM) {
			if (err)
				*err = e;
			return rc;
		}
		tt_reject(c->d, c->index, &e);
	}
	c->index++;
	return 0;
}

static int otlp_walk(otlp_ctx *c, const msgpack_object *top, int logs, tt_rec_err *err)
{
	const char *const *kk = kind_keys[logs];
	size_t total = count_elements(top, kk[1], kk[2], kk[3]);

	if (total > TT_BATCH_MAX) {
		tt_err_set(err, 0, kk[0], "export of %zu elements exceeds the limit of %d",
		    total, TT_BATCH_MAX);
		return TT_ETOOBIG;
	}
	for (uint32_t i = 0; i < top->via.array.size; i++) {
		const msgpack_object *r = &top->via.array.ptr[i], *ss;
		int rc;
		if ((rc = tt_otlp_resource(c, tt_map_get(r, "resource"), logs, i, err)))
			return rc;
		if (!(ss = get_arr(r, kk[1])))
			ss = get_arr(r, kk[2]);
		for (uint32_t j = 0; ss && j < ss->via.array.size; j++) {
			const msgpack_object *scope = &ss->via.array.ptr[j];
			const msgpack_object *els = get_arr(scope, kk[3]);
			const msgpack_object *sc = tt_map_get(scope, "scope");
			tt_otlp_scope(c, sc ? sc : tt_map_get(scope, "instrumentationLibrary"));
			for (uint32_t k = 0; els && k < els->via.array.size; k++)
				if ((rc = tt_otlp_element(c, &els->via.array.ptr[k], logs, i, j, k, err)))
					return rc;
		}
	}
	return 0;
}

int tt_otlp_map(tt_decoder *d, const msgpack_object *root, tt_rec_err *err)
{
	otlp_ctx c;
	const msgpack_object *a;
	int rc = 0;

	tt_otlp_begin(&c, d);
	if ((a = get_arr(root, "resourceSpans")))
		rc = otlp_walk(&c, a, 0, err);
	if (rc == 0 && (a = get_arr(root, "resourceLogs")))
		rc = otlp_walk(&c, a, 1, err);
	return rc;
}
