/*
 * spanmetrics.c -- span metrics on /metrics, named as the OpenTelemetry
 * Collector's spanmetrics connector names them, so a Prometheus + Grafana set
 * up for that connector can scrape ttd as it is:
 *
 *   traces_span_metrics_calls_total{service_name, span_name, span_kind, status_code}
 *   traces_span_metrics_duration_seconds_bucket{..., le} / _sum / _count
 *
 * Computed from the rollups the store keeps (every writer's records, not only
 * ttd's; 30 days by default): counters that survive a restart of ttd and only
 * drop when rollup retention deletes a minute (Prometheus takes that as a
 * reset). The minutes that ended more than SETTLE ago are summed once into a
 * cache; each scrape adds the recent minutes, so a scrape reads a few minutes
 * of rollups however big the store. (Records that arrive later than SETTLE
 * with older timestamps join the cached part at the next restart: ttd.8.)
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "alerts.h"
#include "ttd.h"

#define MINUTE 60000000000LL
#define SETTLE (10 * MINUTE)
#define SM_SERIES_MAX 10000 /* (service, name, kind) series exported */

/* The connector's default histogram buckets, in seconds. */
static const double les[] = { 0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8,
	1, 1.4, 2, 5, 10, 15 };
#define NLE (sizeof les / sizeof *les)

typedef struct series {
	char *service, *name, *kind;
	size_t sn, nn, kn;
	uint64_t hash;
	uint64_t calls, errors, dur_n;
	uint64_t le[NLE];
	double sum_s;
} series;

typedef struct smset {
	series *v;
	size_t n, cap;
	uint32_t *tab;      /* open addressing: index into v, UINT32_MAX = free */
	size_t tabsz;       /* a power of two, at least twice n */
} smset;

static smset g_cached;        /* minutes [start, g_cached_to) */
static int64_t g_start, g_cached_to;

static uint64_t series_hash(const tt_str *g)
{
	uint64_t h = XXH3_64bits(g[0].p, g[0].n);
	h = XXH3_64bits_withSeed(g[1].p, g[1].n, h);
	return XXH3_64bits_withSeed(g[2].p, g[2].n, h);
}

static int series_is(const series *s, uint64_t h, const tt_str *g)
{
	return s->hash == h && s->sn == g[0].n && s->nn == g[1].n && s->kn == g[2].n &&
	    !memcmp(s->service, g[0].p, g[0].n) && !memcmp(s->name, g[1].p, g[1].n) &&
	    !memcmp(s->kind, g[2].p, g[2].n);
}

/* The series of group g (service, name, kind), created when new: NULL past
 * SM_SERIES_MAX or out of memory. A hash table, so a scrape costs the rows it
 * reads, not rows times series. */
static series *series_get(smset *m, const tt_str *g)
{
	uint64_t h = series_hash(g);
	size_t slot;
	series *s;

	if (2 * (m->n + 1) > m->tabsz) {
		size_t nsz = m->tabsz ? m->tabsz * 2 : 64;
		uint32_t *nt = malloc(nsz * sizeof *nt);
		if (!nt)
			return NULL;
		memset(nt, 0xff, nsz * sizeof *nt);
		for (size_t i = 0; i < m->n; i++) {
			for (slot = m->v[i].hash & (nsz - 1); nt[slot] != UINT32_MAX; slot = (slot + 1) & (nsz - 1))
				;
			nt[slot] = (uint32_t)i;
		}
		free(m->tab);
		m->tab = nt, m->tabsz = nsz;
	}
	for (slot = h & (m->tabsz - 1); m->tab[slot] != UINT32_MAX; slot = (slot + 1) & (m->tabsz - 1))
		if (series_is(&m->v[m->tab[slot]], h, g))
			return &m->v[m->tab[slot]];
	if (m->n >= SM_SERIES_MAX)
		return NULL;
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 32;
		series *nv = realloc(m->v, nc * sizeof *nv);
		if (!nv)
			return NULL;
		m->v = nv, m->cap = nc;
	}
	s = &m->v[m->n];
	memset(s, 0, sizeof *s);
	s->service = strndup(g[0].p, g[0].n);
	s->name = strndup(g[1].p, g[1].n);
	s->kind = strndup(g[2].p, g[2].n);
	if (!s->service || !s->name || !s->kind) {
		free(s->service), free(s->name), free(s->kind);
		return NULL;
	}
	s->sn = g[0].n, s->nn = g[1].n, s->kn = g[2].n;
	s->hash = h;
	m->tab[slot] = (uint32_t)m->n++;
	return s;
}

static void smset_free(smset *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].service);
		free(m->v[i].name);
		free(m->v[i].kind);
	}
	free(m->v);
	free(m->tab);
	memset(m, 0, sizeof *m);
}

/* Kinds that are not spans: logs, TraceHub checkpoints, ttd's alerts. */
static int not_span(const tt_str *k)
{
	return (k->n == 3 && !memcmp(k->p, "log", 3)) || (k->n == 10 && !memcmp(k->p, "checkpoint", 10)) ||
	    (k->n == 5 && !memcmp(k->p, "alert", 5));
}

static int on_row(void *ctx, const tt_statrow *r)
{
	smset *m = ctx;
	series *s;

	if (not_span(&r->group[2]) || !(s = series_get(m, r->group)))
		return 0;
	s->calls += r->count;
	s->errors += r->errors;
	s->dur_n += r->dur_n;
	s->sum_s += (double)r->dur_sum / 1e9;
	/* cumulative buckets: each histogram bucket counts under the first le
	 * its midpoint fits (within 0.4 % of the true edge) */
	for (size_t i = 0; i < r->hist->len; i++) {
		double v = (double)tt_hist_value(r->hist->b[i]) / 1e9;
		for (size_t k = 0; k < NLE; k++)
			if (v <= les[k])
				s->le[k] += r->hist->n[i];
	}
	return 0;
}

static void add_range(smset *m, int64_t since, int64_t until)
{
	static const char *const by[] = { "service", "name", "kind" };
	tt_statq q;

	if (since > until)
		return;
	memset(&q, 0, sizeof q);
	q.since = since;
	q.until = until;
	q.by = by;
	q.nby = 3;
	(void)tt_store_statq(g_ttd.store, &q, on_row, m, NULL);
}

static void merge(smset *into, const smset *from)
{
	for (size_t i = 0; i < from->n; i++) {
		const series *f = &from->v[i];
		tt_str g[3] = { { f->service, f->sn }, { f->name, f->nn }, { f->kind, f->kn } };
		series *s = series_get(into, g);
		if (!s)
			continue;
		s->calls += f->calls, s->errors += f->errors, s->dur_n += f->dur_n;
		s->sum_s += f->sum_s;
		for (size_t k = 0; k < NLE; k++)
			s->le[k] += f->le[k];
	}
}

static void label(tt_buf *b, const char *k, const char *v, int comma)
{
	if (comma)
		jw_raw(b, ",");
	jw_raw(b, k);
	jw_raw(b, "=\"");
	for (const char *p = v; *p; p++) { /* exposition format escapes */
		if (*p == '\\') jw_raw(b, "\\\\");
		else if (*p == '"') jw_raw(b, "\\\"");
		else if (*p == '\n') jw_raw(b, "\\n");
		else (void)tt_buf_append(b, p, 1);
	}
	jw_raw(b, "\"");
}

static const char *span_kind(const char *k)
{
	/* the connector's values; records of other kinds keep theirs */
	if (!strcmp(k, "span") || !*k) return "SPAN_KIND_UNSPECIFIED";
	if (!strcmp(k, "server")) return "SPAN_KIND_SERVER";
	if (!strcmp(k, "client")) return "SPAN_KIND_CLIENT";
	if (!strcmp(k, "producer")) return "SPAN_KIND_PRODUCER";
	if (!strcmp(k, "consumer")) return "SPAN_KIND_CONSUMER";
	if (!strcmp(k, "internal")) return "SPAN_KIND_INTERNAL";
	return k;
}

static void labels(tt_buf *b, const series *s, const char *status)
{
	label(b, "service_name", s->service, 0);
	label(b, "span_name", s->name, 1);
	label(b, "span_kind", span_kind(s->kind), 1);
	if (status)
		label(b, "status_code", status, 1);
}

void ttd_spanmetrics_render(tt_buf *out)
{
	int64_t now = ttd_now_ns(), settled;
	smset cur = { 0 };

	if (!g_start) {
		g_start = 1;
		g_cached_to = TT_TS_MIN;
	}
	/* fold the minutes that have settled into the cache */
	settled = ((now - SETTLE) / MINUTE) * MINUTE;
	if (settled > g_cached_to) {
		add_range(&g_cached, g_cached_to, settled - 1);
		g_cached_to = settled;
	}
	merge(&cur, &g_cached);
	add_range(&cur, g_cached_to, now);
	jw_raw(out, "# HELP traces_span_metrics_calls_total Spans in the store's rollups.\n# TYPE traces_span_metrics_calls_total counter\n");
	for (size_t i = 0; i < cur.n; i++) {
		const series *s = &cur.v[i];
		if (s->calls > s->errors) {
			jw_raw(out, "traces_span_metrics_calls_total{");
			labels(out, s, "STATUS_CODE_UNSET");
			jw_fmt(out, "} %" PRIu64 "\n", s->calls - s->errors);
		}
		if (s->errors) {
			jw_raw(out, "traces_span_metrics_calls_total{");
			labels(out, s, "STATUS_CODE_ERROR");
			jw_fmt(out, "} %" PRIu64 "\n", s->errors);
		}
	}
	jw_raw(out, "# HELP traces_span_metrics_duration_seconds Span durations in the store's rollups.\n"
	    "# TYPE traces_span_metrics_duration_seconds histogram\n");
	for (size_t i = 0; i < cur.n; i++) {
		const series *s = &cur.v[i];
		if (!s->dur_n)
			continue;
		for (size_t k = 0; k < NLE; k++) {
			jw_raw(out, "traces_span_metrics_duration_seconds_bucket{");
			labels(out, s, NULL);
			jw_fmt(out, ",le=\"%g\"} %" PRIu64 "\n", les[k], s->le[k]);
		}
		jw_raw(out, "traces_span_metrics_duration_seconds_bucket{");
		labels(out, s, NULL);
		jw_fmt(out, ",le=\"+Inf\"} %" PRIu64 "\n", s->dur_n);
		jw_raw(out, "traces_span_metrics_duration_seconds_sum{");
		labels(out, s, NULL);
		jw_fmt(out, "} %.9g\n", s->sum_s);
		jw_raw(out, "traces_span_metrics_duration_seconds_count{");
		labels(out, s, NULL);
		jw_fmt(out, "} %" PRIu64 "\n", s->dur_n);
	}
	smset_free(&cur);
}

void ttd_spanmetrics_fini(void)
{
	smset_free(&g_cached);
	g_start = g_cached_to = 0;
}
