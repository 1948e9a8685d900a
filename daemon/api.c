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

#include "ttd.h"

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
		log_debug("%s: %d %s", evhttp_request_get_uri(req), http_code, msg);
		ttd_reply_json(req, http_code, &b);
		tt_buf_free(&b);
		return;
	}
	pb_varint(&b, 1 << 3 | 0);
	pb_varint(&b, (uint64_t)rpc_code);
	pb_bytes(&b, 2, msg, strlen(msg));
	evhttp_add_header(h, "Content-Type", "application/x-protobuf");
	if (http_code == 503 || http_code == 429)
		evhttp_add_header(h, "Retry-After", "1");
	evbuffer_add(evhttp_request_get_output_buffer(req), b.data, b.len);
	g_metrics.http_requests++;
	g_metrics.http_by_class[http_code / 100]++;
	evhttp_send_reply(req, http_code, NULL, NULL);
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
	struct evkeyvalq *h = evhttp_request_get_output_headers(p->req);

	if (err) {
		fail(p->req, p->otlp, p->proto, ttd_store_status(err),
		    "records could not be stored: %s", tt_strerror(err));
	} else if (p->proto) {
		evhttp_add_header(h, "Content-Type", "application/x-protobuf");
		evbuffer_add(evhttp_request_get_output_buffer(p->req), p->body.data, p->body.len);
		g_metrics.http_requests++;
		g_metrics.http_by_class[p->code / 100]++;
		evhttp_send_reply(p->req, p->code, NULL, NULL);
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
		fail(req, otlp, proto, 400, "%s at byte %zu%s%s", err.reason[0] ? err.reason :
		    tt_strerror(r), err.offset, err.field[0] ? " field " : "", err.field);
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
	g_metrics.rejected_http += batch.n_rejected;
	if (batch.n == 0 && !(otlp && batch.n_rejected == 0)) {
		/* nothing valid: refuse the request, say why for each element */
		tt_buf b = { 0 };
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
		jw_str(&b, elements ? "every record was rejected" : "no records in the body");
		jw_fmt(&b, ",\"code\":400,\"accepted\":0,\"rejected\":%zu,\"errors\":", batch.n_rejected);
		jw_rejects(&b, &batch);
		jw_raw(&b, "}");
		ttd_reply_json(req, 400, &b);
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
};

static int
get_rec(void *ctx, const tt_rec *r)
{
	struct get_ctx *g = ctx;
	size_t mark;

	if (g->n >= g->max) {
		g->truncated = 1;
		return 1;
	}
	mark = g->out->len;
	if (g->n)
		jw_raw(g->out, ",");
	if (tt_rec_to_json(r->data, r->len, TT_JSON_TIME, g->out) < 0)
		g->out->len = mark; /* a record JSON cannot show: no stray comma */
	else
		g->n++;
	return 0;
}

static void
get_trace(struct evhttp_request *req, const char *id, size_t idn, struct evkeyvalq *q)
{
	tt_buf b = { 0 };
	tt_idsum sum;
	struct get_ctx g = { &b, 0, 100000, 0 };
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

static void
jw_ms(tt_buf *b, int64_t ns)
{
	/* TraceHub timestamps: milliseconds, fractional */
	jw_fmt(b, "%lld.%06lld", (long long)(ns / 1000000), (long long)(ns % 1000000 < 0 ?
	    -(ns % 1000000) : ns % 1000000));
}

struct list_ctx {
	tt_buf *out;
	size_t n;
	const char *source;
};

static int
has_service(const char *list, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && memcmp(p, s, n) == 0)
			return 1;
		p += k;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int
list_one(void *ctx, const tt_idsum *s)
{
	struct list_ctx *l = ctx;
	const char *p;

	if (l->source && !has_service(s->services, l->source))
		return 0;
	if (l->n++)
		jw_raw(l->out, ",");
	jw_raw(l->out, "{\"correlation_id\":");
	jw_strn(l->out, s->id, s->id_len);
	jw_fmt(l->out, ",\"trace_count\":%llu,\"first_ts\":", (unsigned long long)s->count);
	jw_ms(l->out, s->first_ts);
	jw_raw(l->out, ",\"last_ts\":");
	jw_ms(l->out, s->last_ts);
	jw_raw(l->out, ",\"duration_ms\":");
	jw_ms(l->out, s->last_ts - s->first_ts);
	jw_raw(l->out, ",\"sources\":[");
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
	jw_fmt(l->out, "],\"complete\":%s}", s->complete ? "true" : "false");
	return 0;
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
correlations(struct evhttp_request *req, struct evkeyvalq *q)
{
	tt_buf b = { 0 };
	struct list_ctx l = { &b, 0, qparam(q, "source") };
	long lim = qlong(q, "limit", 50, 10000);
	int64_t since = TT_TS_MIN, until = TT_TS_MAX;
	int r;

	if (lim < 0) {
		ttd_reply_error(req, 400, "limit must be a positive integer");
		return;
	}
	if (time_param(req, q, "since", &since) < 0 || time_param(req, q, "until", &until) < 0)
		return;
	jw_raw(&b, "[");
	/* with a source filter, look further back so `limit` can still be met */
	r = tt_store_list_ids(g_ttd.store, since, until, l.source ? (size_t)lim * 20 : (size_t)lim,
	    list_one, &l);
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
};

static int
recent_one(void *ctx, const tt_rec *r)
{
	struct recent_ctx *c = ctx;
	size_t mark;

	if (c->source) {
		tt_rec_info ri;
		if (tt_rec_info_get(r->data, r->len, &ri) < 0 || ri.service.p == NULL ||
		    ri.service.n != strlen(c->source) ||
		    memcmp(ri.service.p, c->source, ri.service.n) != 0)
			return 0;
	}
	mark = c->out->len;
	if (c->n)
		jw_raw(c->out, ",");
	if (tt_rec_to_json(r->data, r->len, TT_JSON_TIME, c->out) < 0)
		c->out->len = mark; /* a record JSON cannot show: no stray comma */
	else
		c->n++;
	return c->n >= c->max ? 1 : 0;
}

static void
recent(struct evhttp_request *req, struct evkeyvalq *q)
{
	tt_buf b = { 0 };
	long lim = qlong(q, "limit", 100, 10000);
	struct recent_ctx c = { &b, 0, 0, qparam(q, "source") };
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
	(void)tt_store_stats(g_ttd.store, &st);
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
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evbuffer_add(evhttp_request_get_output_buffer(req), b.data, b.len);
	g_metrics.http_requests++;
	g_metrics.http_by_class[2]++;
	evhttp_send_reply(req, 200, NULL, NULL);
	tt_buf_free(&b);
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

	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		ttd_reply_error(req, 400, "malformed query string");
		return;
	}
	if (plen > 1 && path[plen - 1] == '/')
		plen--; /* "/ingest/" == "/ingest" */
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
		correlations(req, &q);
	else if (IS("/recent") && get)
		recent(req, &q);
	else if (IS("/stream") && get)
		ttd_sse_stream(req, query);
	else if (IS("/cleanup") && (cmd == EVHTTP_REQ_DELETE || post))
		cleanup(req, &q);
	else if (plen > 8 && strncmp(path, "/traces/", 8) == 0 && get) {
		const char *id = path + 8;
		size_t idn = plen - 8;
		if (idn > 7 && memcmp(id + idn - 7, "/stream", 7) == 0)
			ttd_sse_trace(req, id, idn - 7, query);
		else if (idn == 0 || idn > TT_ID_MAX)
			ttd_reply_error(req, 400, "correlation id must be 1..%d bytes", TT_ID_MAX);
		else
			get_trace(req, id, idn, &q);
	} else if (IS("/")) {
		tt_buf b = { 0 };
		jw_fmt(&b, "{\"name\":\"ttd\",\"version\":\"%s\"}", TT_VERSION_STRING);
		ttd_reply_json(req, 200, &b);
		tt_buf_free(&b);
	} else if (IS("/ingest") || IS("/ingest/single") || IS("/logs") || IS("/v1/traces") ||
	    IS("/v1/logs") || IS("/health") || IS("/metrics") || IS("/correlations") ||
	    IS("/recent") || IS("/stream") || IS("/cleanup")) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    IS("/cleanup") ? "DELETE, POST" : post ? "GET, HEAD" : "POST");
		ttd_reply_error(req, 405, "method not allowed");
	} else {
		ttd_reply_error(req, 404, "no such endpoint");
	}
#undef IS
	evhttp_clear_headers(&q);
}
