/*
 * api.c -- ttd's HTTP endpoints. Ingest endpoints share one path: decode the
 * whole body into a staged batch, check the caps, append the valid records,
 * and answer once the last of them is durable (ingest.c). Element-level
 * rejections are reported by index with field and reason and never stop the
 * valid elements from being stored; a request whose every element is invalid
 * gets 400 and stores nothing (FORMAT.md section 11 and man 8 ttd).
 *
 *   POST /ingest            TraceHub batch  -> {accepted, inserted, duplicates, rejected, errors}
 *   POST /ingest/single     TraceHub one    -> {inserted}
 *   POST /logs              Tracer          -> 202 {accepted, rejected, errors}
 *   POST /v1/traces|/v1/logs OTLP/HTTP json or protobuf, partial success
 *   GET  /traces/{id}       {correlation_id, traces, count, complete}
 *   GET  /traces/{id}/stream, /stream    SSE (sse.c)
 *   GET  /correlations, /recent, /health, /metrics;  DELETE /cleanup
 *
 * The TraceHub query endpoints (/traces/{id}[/stream], /recent,
 * /correlations) answer in TraceHub's field names (tracehub_out.c); with
 * ?format=tt, and under /api/ (/api/traces/{id}[/stream], /api/recent,
 * /api/correlations), in TeraTrace's (tt-query -o jsonl, tt-query --list).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "../cli/cli.h" /* the otlp printer of tt-query -o otlp */
#include "alerts.h"
#include "forward.h"
#include "ttd.h"
#include "ui.h"

enum ingest_kind { K_TRACEHUB, K_TRACEHUB_SINGLE, K_TRACER, K_OTLP_TRACES, K_OTLP_LOGS };

/* A request waiting for its records to become durable. */
struct pending {
	struct evhttp_request *req;
	int code;
	int proto;          /* answer in protobuf (OTLP) */
	int otlp;
	int64_t t0;         /* mono ns when the body was complete */
	tt_buf body;        /* the answer, ready */
};

static ttd_batch batch;

/* ---- small protobuf writers for OTLP answers (no schema needed) */

static void
pb_varint(tt_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	(void)tt_buf_append(b, tmp, n);
}

static void
pb_bytes(tt_buf *b, int field, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	(void)tt_buf_append(b, p, n);
}

/* OTLP error body: google.rpc.Status {code = 1; message = 2}. */
static void
otlp_error(struct evhttp_request *req, int proto, int http_code, int rpc_code,
    const char *msg)
{
	tt_buf b = { 0 };
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (!proto) {
		/* the same Status in its JSON mapping */
		jw_fmt(&b, "{\"code\":%d,\"message\":", rpc_code);
		jw_str(&b, msg);
		jw_raw(&b, "}");
		if (http_code == 503 || http_code == 429)
			evhttp_add_header(h, "Retry-After", "1");
		ttd_reply_json_why(req, http_code, &b, msg);
		tt_buf_free(&b);
		return;
	}
	pb_varint(&b, 1 << 3 | 0);
	pb_varint(&b, (uint64_t)rpc_code);
	pb_bytes(&b, 2, msg, strlen(msg));
	if (http_code == 503 || http_code == 429)
		evhttp_add_header(h, "Retry-After", "1");
	ttd_reply_raw(req, http_code, "application/x-protobuf", b.data, b.len, msg);
	tt_buf_free(&b);
}

static void
fail(struct evhttp_request *req, int otlp, int proto, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
fail(struct evhttp_request *req, int otlp, int proto, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (otlp)
		otlp_error(req, proto, code, code == 503 || code == 429 ? 14 : 3, msg);
	else
		ttd_reply_error(req, code, "%s", msg);
}

static void
pending_done(void *ctx, int err)
{
	struct pending *p = ctx;

	if (err) {
		fail(p->req, p->otlp, p->proto, ttd_store_status(err),
		    "records could not be stored: %s", tt_strerror(err));
	} else if (p->proto) {
		ttd_reply_raw(p->req, p->code, "application/x-protobuf", p->body.data, p->body.len,
		    NULL);
	} else {
		ttd_reply_json(p->req, p->code, &p->body);
	}
	if (!err)
		ttd_metrics_ack_latency(ttd_mono_ns() - p->t0);
	tt_buf_free(&p->body);
	free(p);
}

static const char *
content_type(struct evhttp_request *req)
{
	const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	return v ? v : "";
}

static int
is_type(const char *ct, const char *want)
{
	size_t n = strlen(want);
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static void
ingest(struct evhttp_request *req, enum ingest_kind kind, const uint8_t *body, size_t len)
{
	int otlp = kind == K_OTLP_TRACES || kind == K_OTLP_LOGS;
	const char *ct = content_type(req);
	int proto = otlp && is_type(ct, "application/x-protobuf");
	struct pending *p;
	tt_rec_err err;
	uint64_t ticket;
	size_t elements;
	int r;

	memset(&err, 0, sizeof err);
	if (!ttd_auth_ok(req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
		fail(req, otlp, proto, 401, "missing or wrong secret (X-TraceHub-Secret or Authorization: Bearer)");
		return;
	}
	if (otlp && !proto && !is_type(ct, "application/json")) {
		fail(req, otlp, 0, 415, "content type must be application/json or application/x-protobuf");
		return;
	}
	if (!otlp && *ct && !is_type(ct, "application/json") && !is_type(ct, "application/x-ndjson")) {
		fail(req, 0, 0, 415, "content type must be application/json");
		return;
	}
	if (ttd_writer_error() && (r = ttd_writer_reopen()) != 0) {
		fail(req, otlp, proto, ttd_store_status(r), "store writer failed: %s",
		    tt_strerror(r));
		return;
	}
	if (ttd_backpressure()) {
		g_metrics.backpressure++;
		fail(req, otlp, proto, 503, "writer is behind; retry later");
		return;
	}
	ttd_batch_reset(&batch);
	g_metrics.bytes_http += len;
	if (proto)
		r = ttd_batch_otlp_proto(&batch, body, len, kind == K_OTLP_LOGS, &err);
	else
		r = ttd_batch_json(&batch, (const char *)body, len, &err);
	if (r < 0) {
		g_metrics.rejected_http++;
		if (r == TT_ETOOBIG) {
			fail(req, otlp, proto, 413, "%s%s%s", err.reason[0] ? err.reason : "too large",
			    err.field[0] ? " at " : "", err.field);
			return;
		}
		/* a record's error names its field; a syntax error its byte offset */
		if (err.field[0])
			fail(req, otlp, proto, 400, "%s (field '%s')", err.reason[0] ? err.reason :
			    tt_strerror(r), err.field);
		else
			fail(req, otlp, proto, 400, "%s at byte %zu", err.reason[0] ? err.reason :
			    tt_strerror(r), err.offset);
		return;
	}
	elements = batch.n + batch.n_rejected;
	if (elements > g_ttd.cfg.max_batch ||
	    (kind == K_TRACER && elements > g_ttd.cfg.max_logs)) {
		fail(req, otlp, proto, 413, "batch of %zu records is over the cap of %u", elements,
		    kind == K_TRACER ? g_ttd.cfg.max_logs : g_ttd.cfg.max_batch);
		return;
	}
	if (kind == K_TRACEHUB_SINGLE && elements != 1) {
		fail(req, 0, 0, 400, "expected exactly one trace, got %zu", elements);
		return;
	}
	if (kind == K_TRACEHUB || kind == K_TRACEHUB_SINGLE)
		ttd_batch_require_corr(&batch, "correlation_id", "no correlation id: TraceHub "
		    "traces need correlation_id (or corr, trace_id, session_id)");
	g_metrics.rejected_http += batch.n_rejected;
	if (batch.n == 0 && !(otlp && batch.n_rejected == 0)) {
		/* nothing valid: refuse the request, say why for each element */
		tt_buf b = { 0 };
		const char *why;
		if (otlp) {
			char msg[300];
			snprintf(msg, sizeof msg, "all %zu records rejected; first: %s%s%s",
			    batch.n_rejected, batch.n_rej_kept ? batch.rej[0].reason : "",
			    batch.n_rej_kept && batch.rej[0].field[0] ? " at " : "",
			    batch.n_rej_kept ? batch.rej[0].field : "");
			otlp_error(req, proto, 400, 3, msg);
			return;
		}
		jw_raw(&b, "{\"error\":");
		why = elements == 1 && batch.n_rej_kept ? batch.rej[0].reason :
		    elements ? "every record was rejected" : "no records in the body";
		jw_str(&b, why);
		jw_fmt(&b, ",\"code\":400,\"accepted\":0,\"rejected\":%zu,\"errors\":", batch.n_rejected);
		jw_rejects(&b, &batch);
		jw_raw(&b, "}");
		ttd_reply_json_why(req, 400, &b, why);
		tt_buf_free(&b);
		return;
	}
	if ((r = ttd_batch_commit(&batch, &ticket)) < 0) {
		fail(req, otlp, proto, r == TT_ECLOSED || r == -ENOMEM ? 503 : ttd_store_status(r),
		    "append failed: %s", tt_strerror(r));
		return;
	}
	g_metrics.records_http += batch.n;
	if ((p = calloc(1, sizeof *p)) == NULL) {
		fail(req, otlp, proto, 500, "out of memory");
		return;
	}
	p->req = req;
	p->otlp = otlp;
	p->proto = proto;
	p->t0 = ttd_mono_ns();
	switch (kind) {
	case K_TRACEHUB:
		p->code = 200;
		jw_fmt(&p->body, "{\"accepted\":%zu,\"inserted\":%zu,\"duplicates\":0,"
		    "\"rejected\":%zu,\"errors\":", batch.n, batch.n, batch.n_rejected);
		jw_rejects(&p->body, &batch);
		jw_raw(&p->body, "}");
		break;
	case K_TRACEHUB_SINGLE:
		p->code = 200;
		jw_raw(&p->body, "{\"inserted\":1}");
		break;
	case K_TRACER:
		p->code = 202;
		jw_fmt(&p->body, "{\"accepted\":%zu,\"rejected\":%zu,\"errors\":", batch.n,
		    batch.n_rejected);
		jw_rejects(&p->body, &batch);
		jw_raw(&p->body, "}");
		break;
	case K_OTLP_TRACES:
	case K_OTLP_LOGS:
		p->code = 200;
		if (batch.n_rejected) {
			char msg[300];
			snprintf(msg, sizeof msg, "%zu of %zu rejected; first: element %zu: %s%s%s",
			    batch.n_rejected, elements, batch.n_rej_kept ? batch.rej[0].index : 0,
			    batch.n_rej_kept ? batch.rej[0].reason : "",
			    batch.n_rej_kept && batch.rej[0].field[0] ? " at " : "",
			    batch.n_rej_kept ? batch.rej[0].field : "");
			if (proto) {
				tt_buf ps = { 0 };
				pb_varint(&ps, 1 << 3 | 0);
				pb_varint(&ps, batch.n_rejected);
				pb_bytes(&ps, 2, msg, strlen(msg));
				pb_bytes(&p->body, 1, ps.data, ps.len);
				tt_buf_free(&ps);
			} else {
				jw_fmt(&p->body, "{\"partialSuccess\":{\"%s\":%zu,\"errorMessage\":",
				    kind == K_OTLP_LOGS ? "rejectedLogRecords" : "rejectedSpans",
				    batch.n_rejected);
				jw_str(&p->body, msg);
				jw_raw(&p->body, "}}");
			}
		} else if (!proto) {
			jw_raw(&p->body, "{}");
		}
		break;
	}
	ttd_ack_when_durable(ticket, pending_done, p);
}

/* ---- queries */

static const char *
qparam(struct evkeyvalq *q, const char *key)
{
	return evhttp_find_header(q, key);
}

static long
qlong(struct evkeyvalq *q, const char *key, long def, long max)
{
	const char *v = qparam(q, key);
	char *end;
	long x;

	if (v == NULL || *v == '\0')
		return def;
	x = strtol(v, &end, 10);
	if (*end != '\0' || x <= 0)
		return -1;
	return x > max ? max : x;
}

struct get_ctx {
	tt_buf *out;
	size_t n, max;
	int truncated;
	int tracehub;
};

static int
get_rec(void *ctx, const tt_rec *r)
{
	struct get_ctx *g = ctx;

	if (g->n >= g->max) {
		g->truncated = 1;
		return 1;
	}
	(void)jw_rec(g->out, &g->n, r->data, r->len, g->tracehub);
	return 0;
}

static void
get_trace(struct evhttp_request *req, const char *id, size_t idn, struct evkeyvalq *q,
    int tracehub)
{
	tt_buf b = { 0 };
	tt_idsum sum;
	struct get_ctx g = { &b, 0, 100000, 0, tracehub };
	long lim = qlong(q, "limit", 100000, 1000000);
	int r;

	if (lim < 0) {
		ttd_reply_error(req, 400, "limit must be a positive integer");
		return;
	}
	g.max = (size_t)lim;
	jw_raw(&b, "{\"correlation_id\":");
	jw_strn(&b, id, idn);
	jw_raw(&b, ",\"traces\":[");
	r = tt_store_get(g_ttd.store, id, idn, TT_TS_MIN, TT_TS_MAX, get_rec, &g);
	if (r < 0 && r != TT_ENOTFOUND) {
		tt_buf_free(&b);
		ttd_reply_error(req, 500, "lookup failed: %s", tt_strerror(r));
		return;
	}
	memset(&sum, 0, sizeof sum);
	(void)tt_store_idsum(g_ttd.store, id, idn, &sum);
	jw_fmt(&b, "],\"count\":%zu,\"complete\":%s", g.n, sum.complete ? "true" : "false");
	if (g.truncated)
		jw_raw(&b, ",\"truncated\":true");
	jw_raw(&b, "}");
	ttd_reply_json(req, g.n ? 200 : 404, &b);
	tt_buf_free(&b);
}

struct otlp_ctx {
	cli_out *out;
	size_t n, max;
	int truncated;
};

static int
otlp_rec(void *ctx, const tt_rec *r)
{
	struct otlp_ctx *o = ctx;

	if (o->n >= o->max) {
		o->truncated = 1;
		return 1;
	}
	o->n++;
	cli_out_rec(o->out, r->data, r->len, NULL);
	return 0;
}

/* GET /api/traces/{id}?format=otlp: what tt-query -o otlp ID prints, an
 * OTLP/JSON export of the spans, then one of the logs, one per line (the
 * OpenTelemetry Collector's file exporter format). The records are read
 * into the printer, which keeps them until the end (as tt-query does). */
static void
get_trace_otlp(struct evhttp_request *req, const char *id, size_t idn, struct evkeyvalq *q)
{
	cli_opts o;
	tt_buf b = { 0 };
	struct otlp_ctx c = { NULL, 0, 0, 0 };
	long lim = qlong(q, "limit", 100000, 1000000);
	int r;

	if (lim < 0) {
		ttd_reply_error(req, 400, "limit must be a positive integer");
		return;
	}
	memset(&o, 0, sizeof o);
	o.fmt = CLI_FMT_OTLP;
	c.max = (size_t)lim;
	if ((c.out = cli_out_new_buf(&o, &b)) == NULL) {
		ttd_reply_error(req, 503, "out of memory");
		return;
	}
	r = tt_store_get(g_ttd.store, id, idn, TT_TS_MIN, TT_TS_MAX, otlp_rec, &c);
	if (cli_out_end(c.out) < 0 || (r < 0 && r != TT_ENOTFOUND)) {
		tt_buf_free(&b);
		ttd_reply_error(req, r < 0 && r != TT_ENOTFOUND ? 500 : 503, "export failed: %s",
		    r < 0 && r != TT_ENOTFOUND ? tt_strerror(r) : "out of memory");
		return;
	}
	if (c.n == 0) {
		tt_buf_free(&b);
		ttd_reply_error(req, 404, "no records for this correlation id");
		return;
	}
	if (c.truncated)
		evhttp_add_header(evhttp_request_get_output_headers(req), "X-TeraTrace-Truncated", "1");
	ttd_reply_raw(req, 200, "application/x-ndjson", b.data, b.len, NULL);
	tt_buf_free(&b);
}

struct list_ctx {
	tt_buf *out;
	size_t n, max;
	int tracehub;
};

/* One id of a correlation list. TraceHub's shape: times in ms, the services
 * as "sources"; TeraTrace's: tt-query --list -o jsonl's fields. */
static int
list_one(void *ctx, const tt_idsum *s)
{
	struct list_ctx *l = ctx;
	const char *p;

	if (l->n++)
		jw_raw(l->out, ",");
	if (l->tracehub) {
		jw_raw(l->out, "{\"correlation_id\":");
		jw_strn(l->out, s->id, s->id_len);
		jw_fmt(l->out, ",\"trace_count\":%llu,\"first_ts\":", (unsigned long long)s->count);
		(void)tt_json_ms(l->out, s->first_ts);
		jw_raw(l->out, ",\"last_ts\":");
		(void)tt_json_ms(l->out, s->last_ts);
		jw_raw(l->out, ",\"duration_ms\":");
		(void)tt_json_ms(l->out, s->last_ts - s->first_ts);
		jw_raw(l->out, ",\"sources\":[");
	} else {
		jw_raw(l->out, "{\"corr\":");
		jw_strn(l->out, s->id, s->id_len);
		jw_fmt(l->out, ",\"count\":%llu,\"first_ts\":%lld,\"last_ts\":%lld,\"dur\":%lld,"
		    "\"n_req\":%u,\"n_resp\":%u,\"services\":[", (unsigned long long)s->count,
		    (long long)s->first_ts, (long long)s->last_ts,
		    (long long)(s->last_ts - s->first_ts), s->n_req, s->n_resp);
	}
	p = s->services;
	for (int i = 0; *p; i++) {
		size_t k = strcspn(p, ",");
		if (i)
			jw_raw(l->out, ",");
		jw_strn(l->out, p, k);
		p += k;
		if (*p == ',')
			p++;
	}
	jw_fmt(l->out, "],\"%s_omitted\":%u,\"complete\":%s}", l->tracehub ? "sources" :
	    "services", s->services_omitted, s->complete ? "true" : "false");
	return l->n >= l->max ? 1 : 0;
}

/* Ids already listed by a filtered listing, sorted by bytes: at most
 * `limit` of them (every id added is listed). */
struct idlist {
	struct idref { char *p; size_t n; } *v;
	size_t n, cap;
};

static int
idref_cmp(const struct idref *a, const char *p, size_t n)
{
	int c = memcmp(a->p, p, a->n < n ? a->n : n);
	return c ? c : (a->n > n) - (a->n < n);
}

/* 1 added, 0 listed already, -ENOMEM */
static int
idlist_add(struct idlist *l, const char *p, size_t n)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = idref_cmp(&l->v[mid], p, n);
		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		struct idref *nv = realloc(l->v, nc * sizeof *nv);
		if (nv == NULL)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	memmove(&l->v[lo + 1], &l->v[lo], (l->n - lo) * sizeof *l->v);
	if ((l->v[lo].p = malloc(n ? n : 1)) == NULL) {
		memmove(&l->v[lo], &l->v[lo + 1], (l->n - lo) * sizeof *l->v);
		return -ENOMEM;
	}
	memcpy(l->v[lo].p, p, n);
	l->v[lo].n = n;
	l->n++;
	return 1;
}

static void
idlist_free(struct idlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].p);
	free(l->v);
}

/* ?source=S: newest records first, as tt-query --list --service S does;
 * each id met for the first time in a record of S is listed with its
 * summary, until `max` are. */
struct source_scan {
	struct list_ctx *l;
	tt_filter *f;
	struct idlist seen;
	int err;
};

static int
source_rec(void *ctx, const tt_rec *r)
{
	struct source_scan *ss = ctx;
	const char *c;
	size_t cn;
	int64_t ts;
	tt_idsum sum;
	int added;

	if (tt_rec_ts_corr(r->data, r->len, &ts, &c, &cn) < 0 || c == NULL ||
	    tt_filter_match(ss->f, r->data, r->len) != 1)
		return 0;
	if ((added = idlist_add(&ss->seen, c, cn)) <= 0) {
		ss->err = added;
		return added; /* <0 stops the scan */
	}
	if (tt_store_idsum(g_ttd.store, c, cn, &sum) < 0)
		return 0;
	return list_one(ss->l, &sum);
}

static int
list_by_source(struct list_ctx *l, const char *source, int64_t since, int64_t until)
{
	struct source_scan ss;
	tt_scan sc;
	int r;

	memset(&ss, 0, sizeof ss);
	ss.l = l;
	if ((r = tt_filter_new(&ss.f)) < 0)
		return r;
	if ((r = tt_filter_add_service(ss.f, source)) < 0)
		goto fail;
	memset(&sc, 0, sizeof sc);
	sc.since = since;
	sc.until = until;
	sc.flags = TT_SCAN_REVERSE;
	r = tt_store_scan(g_ttd.store, &sc, source_rec, &ss, NULL);
	if (ss.err < 0)
		r = ss.err;
fail:
	idlist_free(&ss.seen);
	tt_filter_free(ss.f);
	return r < 0 ? r : 0;
}

static int
time_param(struct evhttp_request *req, struct evkeyvalq *q, const char *key, int64_t *out)
{
	const char *v = qparam(q, key);
	if (v == NULL || *v == '\0')
		return 0;
	if (tt_parse_time(v, ttd_now_ns(), out) < 0) {
		ttd_reply_error(req, 400, "%s: cannot parse time '%s'", key, v);
		return -1;
	}
	return 0;
}

static void
correlations(struct evhttp_request *req, struct evkeyvalq *q, int tracehub)
{
	tt_buf b = { 0 };
	struct list_ctx l = { &b, 0, 0, tracehub };
	const char *source = qparam(q, "source");
	long lim = qlong(q, "limit", 50, 10000);
	int64_t since = TT_TS_MIN, until = TT_TS_MAX;
	int r;

	if (lim < 0) {
		ttd_reply_error(req, 400, "limit must be a positive integer");
		return;
	}
	if (time_param(req, q, "since", &since) < 0 || time_param(req, q, "until", &until) < 0)
		return;
	l.max = (size_t)lim;
	jw_raw(&b, "[");
	if (source && *source)
		r = list_by_source(&l, source, since, until);
	else
		r = tt_store_list_ids(g_ttd.store, since, until, l.max, list_one, &l);
	if (r < 0) {
		tt_buf_free(&b);
		ttd_reply_error(req, 500, "listing failed: %s", tt_strerror(r));
		return;
	}
	jw_raw(&b, "]");
	ttd_reply_json(req, 200, &b);
	tt_buf_free(&b);
}

struct recent_ctx {
	tt_buf *out;
	size_t n, max;
	const char *source;
	int tracehub;
};

static int
recent_one(void *ctx, const tt_rec *r)
{
	struct recent_ctx *c = ctx;

	if (c->source) {
		tt_rec_info ri;
		if (tt_rec_info_get(r->data, r->len, &ri) < 0 || ri.service.p == NULL ||
		    ri.service.n != strlen(c->source) ||
		    memcmp(ri.service.p, c->source, ri.service.n) != 0)
			return 0;
	}
	(void)jw_rec(c->out, &c->n, r->data, r->len, c->tracehub);
	return c->n >= c->max ? 1 : 0;
}

static void
recent(struct evhttp_request *req, struct evkeyvalq *q, int tracehub)
{
	tt_buf b = { 0 };
	long lim = qlong(q, "limit", 100, 10000);
	struct recent_ctx c = { &b, 0, 0, qparam(q, "source"), tracehub };
	tt_scan sc;
	int r;

	if (lim < 0) {
		ttd_reply_error(req, 400, "limit must be a positive integer");
		return;
	}
	c.max = (size_t)lim;
	memset(&sc, 0, sizeof sc);
	sc.since = TT_TS_MIN;
	sc.until = TT_TS_MAX;
	sc.flags = TT_SCAN_REVERSE;
	sc.max_blocks = 4096; /* bounded work when the source is rare */
	jw_raw(&b, "{\"traces\":[");
	r = tt_store_scan(g_ttd.store, &sc, recent_one, &c, NULL);
	if (r < 0) {
		tt_buf_free(&b);
		ttd_reply_error(req, 500, "scan failed: %s", tt_strerror(r));
		return;
	}
	jw_fmt(&b, "],\"count\":%zu}", c.n);
	ttd_reply_json(req, 200, &b);
	tt_buf_free(&b);
}

static void
health(struct evhttp_request *req)
{
	tt_buf b = { 0 };
	tt_stats st;
	int werr = ttd_writer_error();

	memset(&st, 0, sizeof st);
	(void)tt_store_stats_ex(g_ttd.store, 0, &st);
	jw_fmt(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%.3f,\"store\":",
	    werr ? "error" : "ok", TT_VERSION_STRING,
	    (double)(ttd_now_ns() - g_ttd.started_ns) / 1e9);
	jw_str(&b, tt_store_dir(g_ttd.store));
	jw_fmt(&b, ",\"records\":%llu,\"segments\":%llu,\"pending_bytes\":%zu,"
	    "\"backpressure\":%s", (unsigned long long)st.records,
	    (unsigned long long)st.segments, ttd_writer_pending(),
	    ttd_backpressure() ? "true" : "false");
	if (werr) {
		jw_raw(&b, ",\"error\":");
		jw_str(&b, tt_strerror(werr));
	}
	ttd_forward_health(&b);
	jw_raw(&b, "}");
	ttd_reply_json(req, werr ? 503 : 200, &b);
	tt_buf_free(&b);
}

static void
cleanup(struct evhttp_request *req, struct evkeyvalq *q)
{
	int64_t age = g_ttd.cfg.retention_ns;
	uint64_t size = g_ttd.cfg.max_size, segs = 0, bytes = 0;
	const char *v;
	tt_buf b = { 0 };
	int r;

	if (!ttd_auth_ok(req)) {
		ttd_reply_error(req, 401, "missing or wrong secret");
		return;
	}
	if ((v = qparam(q, "max_age")) && tt_parse_duration(v, &age) < 0) {
		ttd_reply_error(req, 400, "max_age: cannot parse duration '%s'", v);
		return;
	}
	if ((v = qparam(q, "max_size")) && tt_parse_size(v, &size) < 0) {
		ttd_reply_error(req, 400, "max_size: cannot parse size '%s'", v);
		return;
	}
	if (age <= 0 && size == 0) {
		ttd_reply_error(req, 400, "no retention configured: start ttd with --retention "
		    "or --max-size, or pass ?max_age=DUR");
		return;
	}
	if ((r = ttd_run_gc(age, size, &segs, &bytes)) < 0) {
		ttd_reply_error(req, 500, "cleanup failed: %s", tt_strerror(r));
		return;
	}
	jw_fmt(&b, "{\"deleted_segments\":%llu,\"freed_bytes\":%llu}",
	    (unsigned long long)segs, (unsigned long long)bytes);
	ttd_reply_json(req, 200, &b);
	tt_buf_free(&b);
}

static void
metrics(struct evhttp_request *req)
{
	tt_buf b = { 0 };
	ttd_metrics_render(&b);
	ttd_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, NULL);
	tt_buf_free(&b);
}

/* The TraceHub endpoints that answer records or ids: also under /api/, in
 * TeraTrace's shape. */
static int
tracehub_query(const char *p, size_t n)
{
	return (n == 7 && memcmp(p, "/recent", 7) == 0) ||
	    (n == 13 && memcmp(p, "/correlations", 13) == 0) ||
	    (n > 8 && memcmp(p, "/traces/", 8) == 0);
}

void
ttd_api_dispatch(struct evhttp_request *req, const char *path, const char *query,
    const uint8_t *body, size_t len)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	int get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
	int post = cmd == EVHTTP_REQ_POST;
	struct evkeyvalq q;
	size_t plen = strlen(path);
	int api = 0, th, otlp_ok;
	const char *fmt;

	if (ttd_ui_serve(req, path))
		return; /* /ui/..., and GET / from a browser (redirect) */
	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		ttd_reply_error(req, 400, "malformed query string");
		return;
	}
	if (plen > 1 && path[plen - 1] == '/')
		plen--; /* "/ingest/" == "/ingest" */
	if (plen > 5 && strncmp(path, "/api/", 5) == 0 && tracehub_query(path + 4, plen - 4)) {
		/* TeraTrace's shapes of the TraceHub query endpoints */
		api = 1;
		path += 4;
		plen -= 4;
	}
	fmt = qparam(&q, "format");
	/* ?format=otlp: only a trace's records, not its stream */
	otlp_ok = plen > 8 && strncmp(path, "/traces/", 8) == 0 &&
	    !(plen > 15 && memcmp(path + plen - 7, "/stream", 7) == 0);
	if (fmt && strcmp(fmt, "tt") != 0 && strcmp(fmt, "tracehub") != 0 &&
	    !(otlp_ok && strcmp(fmt, "otlp") == 0)) {
		ttd_reply_error(req, 400, "format must be 'tt' or 'tracehub'%s",
		    otlp_ok ? " (or 'otlp')" : "");
		goto out;
	}
	th = !api && !(fmt && strcmp(fmt, "tt") == 0);
#define IS(p) (plen == strlen(p) && memcmp(path, p, plen) == 0)
	if (IS("/ingest") && post)
		ingest(req, K_TRACEHUB, body, len);
	else if (IS("/ingest/single") && post)
		ingest(req, K_TRACEHUB_SINGLE, body, len);
	else if (IS("/logs") && post)
		ingest(req, K_TRACER, body, len);
	else if (IS("/v1/traces") && post)
		ingest(req, K_OTLP_TRACES, body, len);
	else if (IS("/v1/logs") && post)
		ingest(req, K_OTLP_LOGS, body, len);
	else if (IS("/health") && get)
		health(req);
	else if (IS("/metrics") && get)
		metrics(req);
	else if (IS("/correlations") && get)
		correlations(req, &q, th);
	else if (IS("/recent") && get)
		recent(req, &q, th);
	else if (IS("/stream") && get)
		ttd_sse_stream(req, query);
	else if (IS("/api/stats") && get)
		ttd_api_stats(req, query);
	else if (IS("/api/services") && get)
		ttd_api_services(req, query);
	else if (IS("/api/alerts") && get)
		ttd_alerts_api(req);
	else if (IS("/api/store") && get)
		ttd_api_store(req, query);
	else if (IS("/cleanup") && (cmd == EVHTTP_REQ_DELETE || post))
		cleanup(req, &q);
	else if (plen > 8 && strncmp(path, "/traces/", 8) == 0 && get) {
		const char *id = path + 8;
		size_t idn = plen - 8;
		if (idn > 7 && memcmp(id + idn - 7, "/stream", 7) == 0)
			ttd_sse_trace(req, id, idn - 7, query, th);
		else if (idn == 0 || idn > TT_ID_MAX)
			ttd_reply_error(req, 400, "correlation id must be 1..%d bytes", TT_ID_MAX);
		else if (fmt && strcmp(fmt, "otlp") == 0)
			get_trace_otlp(req, id, idn, &q);
		else
			get_trace(req, id, idn, &q, th);
	} else if (IS("/")) {
		tt_buf b = { 0 };
		jw_fmt(&b, "{\"name\":\"ttd\",\"version\":\"%s\"}", TT_VERSION_STRING);
		ttd_reply_json(req, 200, &b);
		tt_buf_free(&b);
	} else if (IS("/ingest") || IS("/ingest/single") || IS("/logs") || IS("/v1/traces") ||
	    IS("/v1/logs") || IS("/health") || IS("/metrics") || IS("/correlations") ||
	    IS("/recent") || IS("/stream") || IS("/cleanup") || IS("/api/stats") ||
	    IS("/api/services") || IS("/api/alerts") || IS("/api/store")) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    IS("/cleanup") ? "DELETE, POST" : post ? "GET, HEAD" : "POST");
		ttd_reply_error(req, 405, "method not allowed");
	} else {
		ttd_reply_error(req, 404, "no such endpoint");
	}
#undef IS
out:
	evhttp_clear_headers(&q);
}
