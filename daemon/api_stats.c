/*
 * api_stats.c -- the aggregate endpoints, on the engine tt-query --stats uses
 * (tt_store_statq: rollups for whole minutes, records elsewhere):
 *
 *   GET /api/stats?by=service,name&every=1m&since=..&until=..&sum=cost&FILTERS
 *       {"rows":[{ts, time, <by fields>, count, errors, error_rate, rate,
 *                 spans, p50_ns .. p99_ns, max_ns, min_ns, sum_ns, sums}],
 *        "path":"rollups"|"scan", "since":.., "until":.., "every_ns":..}
 *   GET /api/services?since=..&until=..&every=1m
 *       {"services":[{service, count, errors, error_rate, rate, p50_ns, p95_ns,
 *                     p99_ns, series:[{ts, count, errors, p50_ns, p95_ns,
 *                     p99_ns}]}]}
 *
 * FILTERS are those of /stream: service (repeatable), level, grep, min_dur,
 * max_dur, match=FIELD=VALUE and any other FIELD=VALUE. service=, name= and
 * kind= alone keep the rollup path. Bad parameters get 400 with the reason.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "../cli/cli.h" /* cli_stats_json: the rows tt-query prints */
#include "ttd.h"

#define MINUTE 60000000000LL

/* The parameters of a stats request. */
typedef struct sreq {
	tt_statq q;
	tt_filter *f;
	char *by_buf, *sum_buf;
	const char *by[TT_STATQ_BY_MAX], *sum[TT_STATQ_SUM_MAX];
	const char *svc[64], *name[64], *kind[64];
	int not_rollup;
} sreq;

static int split(char *s, const char **out, size_t max, size_t *n)
{
	char *save = NULL;
	*n = 0;
	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == max)
			return -1;
		out[(*n)++] = t;
	}
	return 0;
}

/* A copy of s joins v: the query string it comes from is freed before the
 * query runs, and a match value lives in a buffer on the stack. */
static int push(const char **v, size_t *n, const char *s)
{
	char *c;

	if (*n == 64 || !(c = strdup(s)))
		return -1;
	v[(*n)++] = c;
	return 0;
}

/* Fill r from the query; -1 with why. */
static int sreq_parse(struct evkeyvalq *qs, sreq *r, int stats, char *why, size_t wn)
{
	struct evkeyval *kv;
	int64_t now = ttd_now_ns(), mind = -1, maxd = -1;
	int rc;

	memset(r, 0, sizeof *r);
	r->q.since = TT_TS_MIN;
	r->q.until = TT_TS_MAX;
	if (tt_filter_new(&r->f) < 0) {
		snprintf(why, wn, "out of memory");
		return -1;
	}
	TAILQ_FOREACH(kv, qs, next) {
		const char *k = kv->key, *v = kv->value;
		rc = 0;
		if (!strcmp(k, "since")) {
			rc = tt_parse_time(v, now, &r->q.since);
		} else if (!strcmp(k, "until")) {
			rc = tt_parse_time(v, now, &r->q.until);
		} else if (!strcmp(k, "every")) {
			rc = tt_parse_duration(v, &r->q.every_ns);
			if (rc == 0 && r->q.every_ns <= 0)
				rc = -1;
		} else if (!strcmp(k, "by") && stats) {
			free(r->by_buf);
			rc = (r->by_buf = strdup(v)) ? split(r->by_buf, r->by, TT_STATQ_BY_MAX, &r->q.nby) : -1;
		} else if (!strcmp(k, "sum") && stats) {
			free(r->sum_buf);
			rc = (r->sum_buf = strdup(v)) ? split(r->sum_buf, r->sum, TT_STATQ_SUM_MAX, &r->q.nsum) : -1;
		} else if (!strcmp(k, "service")) {
			rc = tt_filter_add_service(r->f, v);
			if (rc >= 0)
				rc = push(r->svc, &r->q.nservices, v);
		} else if (!strcmp(k, "level")) {
			int lv = tt_level_parse(v, strlen(v));
			rc = lv == TT_LVL_NONE ? -1 : tt_filter_set_level(r->f, lv);
			r->not_rollup = 1;
		} else if (!strcmp(k, "grep")) {
			tt_rec_err err;
			memset(&err, 0, sizeof err);
			rc = tt_filter_set_grep(r->f, v, &err);
			r->not_rollup = 1;
		} else if (!strcmp(k, "min_dur") || !strcmp(k, "max_dur")) {
			rc = tt_parse_duration(v, !strcmp(k, "min_dur") ? &mind : &maxd);
			r->not_rollup = 1;
		} else {
			/* match=FIELD=VALUE, or FIELD=VALUE itself */
			char expr[600];
			const char *e = !strcmp(k, "match") ? v : expr;
			if (e == expr)
				snprintf(expr, sizeof expr, "%s=%s", k, v);
			rc = tt_filter_add_match(r->f, e);
			if (rc >= 0) {
				const char *eq = strchr(e, '=');
				size_t fl = (size_t)(eq - e);
				if (!eq[1] || (fl && e[fl - 1] == '!'))
					r->not_rollup = 1;
				else if (fl == 7 && !strncmp(e, "service", 7))
					rc = push(r->svc, &r->q.nservices, eq + 1);
				else if (fl == 4 && !strncmp(e, "name", 4))
					rc = push(r->name, &r->q.nnames, eq + 1);
				else if (fl == 4 && !strncmp(e, "kind", 4))
					rc = push(r->kind, &r->q.nkinds, eq + 1);
				else
					r->not_rollup = 1;
			}
		}
		if (rc < 0) {
			snprintf(why, wn, "bad %s '%s'", k, v);
			return -1;
		}
	}
	if ((mind >= 0 || maxd >= 0) && tt_filter_set_dur(r->f, mind, maxd) < 0) {
		snprintf(why, wn, "min_dur is larger than max_dur");
		return -1;
	}
	if (r->q.since > r->q.until) {
		snprintf(why, wn, "since is after until");
		return -1;
	}
	r->q.by = r->by;
	r->q.sum = r->sum;
	if (r->not_rollup) {
		r->q.filter = r->f; /* the whole filter (services too) */
		r->q.nservices = r->q.nnames = r->q.nkinds = 0;
	} else {
		r->q.services = r->svc;
		r->q.names = r->name;
		r->q.kinds = r->kind;
	}
	return 0;
}

static void sreq_free(sreq *r)
{
	for (size_t i = 0; i < r->q.nservices; i++)
		free((char *)r->svc[i]);
	for (size_t i = 0; i < r->q.nnames; i++)
		free((char *)r->name[i]);
	for (size_t i = 0; i < r->q.nkinds; i++)
		free((char *)r->kind[i]);
	tt_filter_free(r->f);
	free(r->by_buf);
	free(r->sum_buf);
}

static void quantiles(tt_buf *b, const tt_statrow *row, int all)
{
	static const double q[] = { 0.5, 0.9, 0.95, 0.99 };
	static const char *const n[] = { "p50_ns", "p90_ns", "p95_ns", "p99_ns" };
	for (int i = 0; i < 4; i++) {
		if (!all && i == 1)
			continue;
		if (row->dur_n)
			jw_fmt(b, ",\"%s\":%" PRId64, n[i], tt_hist_quantile(row->hist, q[i]));
		else
			jw_fmt(b, ",\"%s\":null", n[i]);
	}
}

static double rate(const tt_statrow *row)
{
	return row->span_ns > 0 ? (double)row->count / ((double)row->span_ns / 1e9) : 0;
}

struct srows { tt_buf *b; const sreq *r; size_t n; };

static int stats_row(void *ctx, const tt_statrow *row)
{
	struct srows *s = ctx;

	if (s->n++)
		jw_raw(s->b, ",");
	cli_stats_json(s->b, row, s->r->by, s->r->q.nby, s->r->sum, s->r->q.nsum);
	return 0;
}

static int parse_or_400(struct evhttp_request *req, const char *query, sreq *r, int stats)
{
	struct evkeyvalq qs;
	char why[300];
	int rc = 0;

	memset(r, 0, sizeof *r); /* sreq_free works whatever fails */
	TAILQ_INIT(&qs);
	if (query && evhttp_parse_query_str(query, &qs) < 0) {
		ttd_reply_error(req, 400, "malformed query string");
		return -1;
	}
	if (sreq_parse(&qs, r, stats, why, sizeof why) < 0) {
		ttd_reply_error(req, 400, "%s", why);
		rc = -1;
	}
	evhttp_clear_headers(&qs);
	return rc;
}

static void reply_statq_error(struct evhttp_request *req, int rc)
{
	if (rc == TT_ETOOBIG)
		ttd_reply_error(req, 400, "more than %d groups: use fewer by fields or a longer every",
		    TT_STATQ_GROUPS_MAX);
	else
		ttd_reply_error(req, 500, "store: %s", tt_strerror(rc));
}

void ttd_api_stats(struct evhttp_request *req, const char *query)
{
	sreq r;
	tt_buf b = { 0 };
	struct srows s = { &b, &r, 0 };
	int rc, rolled = 0;

	if (parse_or_400(req, query, &r, 1) < 0) {
		sreq_free(&r);
		return;
	}
	jw_raw(&b, "{\"rows\":[");
	rc = tt_store_statq(g_ttd.store, &r.q, stats_row, &s, &rolled);
	if (rc < 0) {
		reply_statq_error(req, rc);
	} else {
		jw_fmt(&b, "],\"path\":\"%s\",\"every_ns\":%" PRId64, rolled ? "rollups" : "scan",
		    r.q.every_ns);
		jw_fmt(&b, ",\"since\":%" PRId64 ",\"until\":%" PRId64 "}", r.q.since, r.q.until);
		ttd_reply_json(req, 200, &b);
	}
	tt_buf_free(&b);
	sreq_free(&r);
}

/* ---- /api/services: a summary row and a series per service */

struct svc {
	char *name;
	tt_buf series;
	size_t npoints;
};

struct svcs {
	struct svc *v;
	size_t n, cap;
	const tt_statq *q;
	tt_buf *out;          /* pass 1 output (summaries) */
	int pass;
};

static struct svc *svc_get(struct svcs *ss, const tt_str *g)
{
	for (size_t i = 0; i < ss->n; i++)
		if (strlen(ss->v[i].name) == g->n && !memcmp(ss->v[i].name, g->p, g->n))
			return &ss->v[i];
	if (ss->n == ss->cap) {
		size_t nc = ss->cap ? ss->cap * 2 : 16;
		struct svc *nv = realloc(ss->v, nc * sizeof *nv);
		if (!nv)
			return NULL;
		ss->v = nv, ss->cap = nc;
	}
	memset(&ss->v[ss->n], 0, sizeof ss->v[ss->n]);
	if (!(ss->v[ss->n].name = strndup(g->p, g->n)))
		return NULL;
	return &ss->v[ss->n++];
}

static int svc_point(void *ctx, const tt_statrow *row)
{
	struct svcs *ss = ctx;
	struct svc *s = svc_get(ss, &row->group[0]);

	if (!s)
		return -ENOMEM;
	jw_fmt(&s->series, "%s{\"ts\":%" PRId64 ",\"count\":%" PRIu64 ",\"errors\":%" PRIu64
	    ",\"rate\":%.6g", s->npoints++ ? "," : "", row->bucket_ns, row->count, row->errors,
	    rate(row));
	quantiles(&s->series, row, 0);
	jw_raw(&s->series, "}");
	return 0;
}

static int svc_total(void *ctx, const tt_statrow *row)
{
	struct svcs *ss = ctx;
	struct svc *s = svc_get(ss, &row->group[0]);
	tt_buf *b = ss->out;

	if (!s)
		return -ENOMEM;
	jw_raw(b, b->data[b->len - 1] == '[' ? "{\"service\":" : ",{\"service\":");
	jw_strn(b, row->group[0].p, row->group[0].n);
	jw_fmt(b, ",\"count\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"error_rate\":%.6g,\"rate\":%.6g"
	    ",\"spans\":%" PRIu64, row->count, row->errors,
	    row->count ? (double)row->errors / (double)row->count : 0.0, rate(row), row->dur_n);
	quantiles(b, row, 0);
	jw_raw(b, ",\"series\":[");
	(void)tt_buf_append(b, s->series.data, s->series.len);
	jw_raw(b, "]}");
	return 0;
}

void ttd_api_services(struct evhttp_request *req, const char *query)
{
	static const char *const by[] = { "service" };
	struct svcs ss;
	sreq r;
	tt_buf b = { 0 };
	int64_t every;
	int rc;

	if (parse_or_400(req, query, &r, 0) < 0) {
		sreq_free(&r);
		return;
	}
	if (r.q.since == TT_TS_MIN) /* default: the last hour */
		r.q.since = ttd_now_ns() - 60 * MINUTE;
	every = r.q.every_ns ? r.q.every_ns : MINUTE;
	memset(&ss, 0, sizeof ss);
	ss.q = &r.q;
	ss.out = &b;
	r.q.by = by;
	r.q.nby = 1;
	/* pass 1: the series per bucket; pass 2: the totals, which print them */
	r.q.every_ns = every;
	rc = tt_store_statq(g_ttd.store, &r.q, svc_point, &ss, NULL);
	if (rc >= 0) {
		jw_raw(&b, "{\"services\":[");
		r.q.every_ns = 0;
		rc = tt_store_statq(g_ttd.store, &r.q, svc_total, &ss, NULL);
	}
	if (rc < 0) {
		reply_statq_error(req, rc);
	} else {
		jw_fmt(&b, "],\"since\":%" PRId64 ",\"until\":%" PRId64 ",\"every_ns\":%" PRId64 "}",
		    r.q.since, r.q.until, every);
		ttd_reply_json(req, 200, &b);
	}
	for (size_t i = 0; i < ss.n; i++) {
		free(ss.v[i].name);
		tt_buf_free(&ss.v[i].series);
	}
	free(ss.v);
	tt_buf_free(&b);
	sreq_free(&r);
}
