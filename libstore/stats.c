/*
 * stats.c -- aggregate queries (tt-query --stats, ttd's /api/stats): counts,
 * errors, duration quantiles and sums, grouped by fields and time buckets.
 *
 * Two paths give the same answer. A query whose groups and conditions are
 * among the rollup keys (service, name, kind; FIELD=VALUE on those; sums of
 * the LLM fields) and whose buckets are whole minutes reads the rollups for
 * the whole minutes of its range, and scans only the partial minutes at the
 * range's two ends. Any other query scans the records of its range (blocks
 * outside it are skipped unread). Both build the same histograms, so counts,
 * errors, sums and even quantiles agree exactly -- as long as the range holds
 * no record that gc deleted (rollups outlive raw records by design).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <xxhash.h>

#include "store.h"

#define MINUTE 60000000000LL

/* One group of one time bucket. */
struct sacc {
	int64_t bucket;
	uint32_t key_off, key_len;  /* group values in the arena: (u32 len, bytes) each */
	uint64_t hash;
	uint64_t count, errors, dur_n, dur_sum;
	int64_t dur_min, dur_max;
	tt_hist h;
	size_t sums;                /* index of its nsum slots in the sum arrays */
};

struct sumv { int64_t i; double f; }; /* integers summed exactly, floats apart */

struct sq {
	const tt_statq *q;
	tt_store *s;
	struct sacc *v;
	size_t n, cap;
	uint32_t *tab;
	size_t tabsz;
	tt_buf arena, key;
	struct sumv *sums;          /* n * nsum */
	int sum_llm[TT_STATQ_SUM_MAX]; /* sum i is LLM field LLM_IN/OUT/COST, or -1 */
	int by_well[TT_STATQ_BY_MAX];  /* by i is service (0), name (1), kind (2), or -1 */
	int fields;                 /* only well-known level-1 fields are needed (no
	                             * filter, no sums, groups of service/name/kind) */
	int err;
	/* fields: the accumulator of a block's dictionary entries (gslot), and
	 * each early accumulator's histogram counts before they go in (dense) */
	struct gslot *gc;
	uint64_t gen;               /* the block of the values (its seq, never 0) */
	int rel[3];                 /* service, name, kind: grouped by or a condition */
	uint32_t **dense, *dense_n;
};

#define GC_SLOTS 64
#define GC_REJECT UINT32_MAX /* the values fail the query's conditions */
#define GC_NONE UINT32_MAX   /* a value not from the dictionary: not cached */
struct gslot { uint64_t gen; int64_t bucket; uint32_t d[3], acc; };

#define DENSE_ACCS 256 /* accumulators with dense histogram counts */

/* What a scan reads of a record when sq->fields (on_vals): a columnar block
 * gives these values straight from 7 of its columns (store_scan_fields), and
 * a service's dictionary entry stands for its group within the block. */
static const uint8_t *const stat_keys[] = {
	(const uint8_t *)"\xa2" "ts", (const uint8_t *)"\xa7" "service",
	(const uint8_t *)"\xa4" "name", (const uint8_t *)"\xa4" "kind",
	(const uint8_t *)"\xa5" "level", (const uint8_t *)"\xa6" "status",
	(const uint8_t *)"\xa3" "dur",
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t d = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? d - 1 : d;
}

static int64_t bucket_of(const tt_statq *q, int64_t ts)
{
	if (q->every_ns <= 0)
		return q->since == TT_TS_MIN ? 0 : q->since;
	return floor_div(ts, q->every_ns) * q->every_ns;
}

static int key_add(tt_buf *k, const char *p, size_t n)
{
	uint8_t l[4];
	put32(l, (uint32_t)n);
	return tt_buf_append(k, l, 4) < 0 || tt_buf_append(k, p, n) < 0 ? -ENOMEM : 0;
}

/* The accumulator of (bucket, the group in sq->key), created if new. */
static struct sacc *acc_get(struct sq *sq, int64_t bucket)
{
	uint64_t h = XXH3_64bits_withSeed(sq->key.data, sq->key.len, (uint64_t)bucket);
	size_t slot;
	struct sacc *a;

	if (2 * (sq->n + 1) > sq->tabsz) {
		size_t nsz = sq->tabsz ? sq->tabsz * 2 : 256;
		uint32_t *nt = malloc(nsz * sizeof *nt);
		if (!nt)
			return NULL;
		memset(nt, 0xff, nsz * sizeof *nt);
		for (size_t i = 0; i < sq->n; i++) {
			for (slot = sq->v[i].hash & (nsz - 1); nt[slot] != UINT32_MAX; slot = (slot + 1) & (nsz - 1))
				;
			nt[slot] = (uint32_t)i;
		}
		free(sq->tab);
		sq->tab = nt, sq->tabsz = nsz;
	}
	for (slot = h & (sq->tabsz - 1);; slot = (slot + 1) & (sq->tabsz - 1)) {
		uint32_t i = sq->tab[slot];
		if (i == UINT32_MAX)
			break;
		a = &sq->v[i];
		if (a->hash == h && a->bucket == bucket && a->key_len == sq->key.len &&
		    (!sq->key.len || memcmp(sq->arena.data + a->key_off, sq->key.data, sq->key.len) == 0))
			return a;
	}
	if (sq->n >= TT_STATQ_GROUPS_MAX) {
		sq->err = TT_ETOOBIG;
		return NULL;
	}
	if (sq->n == sq->cap) {
		size_t nc = sq->cap ? sq->cap * 2 : 64;
		struct sacc *nv = realloc(sq->v, nc * sizeof *nv);
		struct sumv *ns = sq->q->nsum ? realloc(sq->sums, nc * sq->q->nsum * sizeof *ns) : NULL;
		if (!nv || (sq->q->nsum && !ns)) {
			if (nv) sq->v = nv;
			if (ns) sq->sums = ns;
			return NULL;
		}
		sq->v = nv, sq->cap = nc;
		if (ns)
			sq->sums = ns;
	}
	a = &sq->v[sq->n];
	memset(a, 0, sizeof *a);
	a->bucket = bucket;
	a->hash = h;
	a->dur_min = INT64_MAX, a->dur_max = INT64_MIN;
	a->key_off = (uint32_t)sq->arena.len;
	a->key_len = (uint32_t)sq->key.len;
	a->sums = sq->n * sq->q->nsum;
	if (sq->q->nsum)
		memset(&sq->sums[a->sums], 0, sq->q->nsum * sizeof *sq->sums);
	if (tt_buf_append(&sq->arena, sq->key.data, sq->key.len) < 0)
		return NULL;
	sq->tab[slot] = (uint32_t)sq->n++;
	return a;
}

static void dur_add(struct sacc *a, uint64_t n, uint64_t sum, int64_t mn, int64_t mx)
{
	if (!n)
		return;
	if (!a->dur_n || mn < a->dur_min) a->dur_min = mn;
	if (!a->dur_n || mx > a->dur_max) a->dur_max = mx;
	a->dur_n += n;
	a->dur_sum += sum;
}

/* ---- the scan path */

/* Does the record pass the rollup-shaped conditions of q? */
static int str_in(const char *p, size_t n, const char *const *v, size_t nv)
{
	if (!nv)
		return 1;
	for (size_t i = 0; i < nv; i++)
		if (strlen(v[i]) == n && memcmp(v[i], p ? p : "", n) == 0)
			return 1;
	return 0;
}

static void value_text(const tt_value *v, char *tmp, size_t tn, const char **p, size_t *n)
{
	switch (v->type) {
	case TT_V_STR: case TT_V_BIN: *p = v->v.s.p, *n = v->v.s.n; return;
	case TT_V_INT: *n = (size_t)snprintf(tmp, tn, "%" PRId64, v->v.i); break;
	case TT_V_UINT: *n = (size_t)snprintf(tmp, tn, "%" PRIu64, v->v.u); break;
	case TT_V_FLOAT: *n = (size_t)snprintf(tmp, tn, "%.17g", v->v.f); break;
	case TT_V_BOOL: *n = (size_t)snprintf(tmp, tn, "%s", v->v.b ? "true" : "false"); break;
	default: *n = 0; break;
	}
	*p = tmp;
}

static int on_rec(void *ctx, const tt_rec *r)
{
	struct sq *sq = ctx;
	const tt_statq *q = sq->q;
	tt_rec_info ri;
	struct sacc *a;
	struct llm l;
	int have_llm = 0;

	if (tt_rec_info_get(r->data, r->len, &ri) < 0)
		return 0;
	if (r->ts < q->since || r->ts > q->until ||
	    !str_in(ri.service.p, ri.service.n, q->services, q->nservices) ||
	    !str_in(ri.name.p, ri.name.n, q->names, q->nnames) ||
	    !str_in(ri.kind.p, ri.kind.n, q->kinds, q->nkinds) ||
	    (q->filter && !tt_filter_match(q->filter, r->data, r->len)))
		return 0;
	sq->key.len = 0;
	for (size_t i = 0; i < q->nby; i++) {
		const char *p = "";
		size_t n = 0;
		char tmp[40];
		tt_value v;
		switch (sq->by_well[i]) {
		case 0: if (ri.service.p) p = ri.service.p, n = ri.service.n; break;
		case 1: if (ri.name.p) p = ri.name.p, n = ri.name.n; break;
		case 2: if (ri.kind.p) p = ri.kind.p, n = ri.kind.n; break;
		default:
			if (tt_rec_field(r->data, r->len, q->by[i], &v) == 1)
				value_text(&v, tmp, sizeof tmp, &p, &n);
		}
		if (key_add(&sq->key, p, n) < 0)
			return -ENOMEM;
	}
	if (!(a = acc_get(sq, bucket_of(q, r->ts))))
		return sq->err ? sq->err : -ENOMEM;
	a->count++;
	a->errors += (uint64_t)rollup_is_error(&ri);
	if (ri.dur >= 0) {
		dur_add(a, 1, (uint64_t)ri.dur, ri.dur, ri.dur);
		if (tt_hist_add(&a->h, tt_hist_bucket(ri.dur), 1) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < q->nsum; i++) {
		struct sumv *sv = &sq->sums[a->sums + i];
		tt_value v;
		if (sq->sum_llm[i] >= 0) {
			if (!have_llm++ && rollup_llm(r->data, r->len, &l) < 0)
				return 0;
			if (l.have[sq->sum_llm[i]])
				sv->i += l.v[sq->sum_llm[i]];
		} else if (tt_rec_field(r->data, r->len, q->sum[i], &v) == 1) {
			if (v.type == TT_V_INT) sv->i += v.v.i;
			else if (v.type == TT_V_UINT) sv->i += (int64_t)v.v.u;
			else if (v.type == TT_V_FLOAT) sv->f += v.v.f;
		}
	}
	return 0;
}

/* ---- the scan path of a query that needs only stat_keys (sq->fields) */

enum { SK_TS, SK_SVC, SK_NAME, SK_KIND, SK_LEVEL, SK_STATUS, SK_DUR };

/* Histogram counts of accumulator i (one of the first DENSE_ACCS) go into a
 * plain array, one counter a bucket, and into its tt_hist at the end of the
 * scan (dense_flush): a sorted insert per record was a tenth of a scan. */
#define DENSE_N ((uint32_t)tt_hist_bucket(INT64_MAX) + 1)

static int dense_flush_one(struct sq *sq, size_t i)
{
	uint32_t *c = sq->dense[i];

	for (uint32_t b = 0; b < DENSE_N; b++)
		if (c[b]) {
			if (tt_hist_add(&sq->v[i].h, (uint16_t)b, c[b]) < 0)
				return -ENOMEM; /* the query fails: its counts do not matter */
			c[b] = 0;
		}
	sq->dense_n[i] = 0;
	return 0;
}

static int dense_add(struct sq *sq, size_t i, int64_t dur)
{
	if (i >= DENSE_ACCS)
		return tt_hist_add(&sq->v[i].h, tt_hist_bucket(dur), 1);
	if (!sq->dense && (!(sq->dense = calloc(DENSE_ACCS, sizeof *sq->dense)) ||
	    !(sq->dense_n = calloc(DENSE_ACCS, sizeof *sq->dense_n))))
		return -ENOMEM;
	if (!sq->dense[i] && !(sq->dense[i] = calloc(DENSE_N, sizeof **sq->dense)))
		return -ENOMEM;
	sq->dense[i][tt_hist_bucket(dur)]++;
	/* a counter holds what the accumulator took since the last flush */
	return ++sq->dense_n[i] == UINT32_MAX ? dense_flush_one(sq, i) : 0;
}

static int dense_flush(struct sq *sq)
{
	int rc = 0;

	for (size_t i = 0; sq->dense && rc == 0 && i < DENSE_ACCS && i < sq->n; i++)
		if (sq->dense[i] && sq->dense_n[i])
			rc = dense_flush_one(sq, i);
	return rc;
}

/* The accumulator of a record's group and bucket; GC_REJECT when the
 * record fails the query's conditions. Within a block, records whose
 * service, name and kind are the same dictionary entries share it. */
static int vals_acc(struct sq *sq, const colval *v, int64_t bucket, uint32_t *acc)
{
	const tt_statq *q = sq->q;
	const char *p[3] = { NULL, NULL, NULL };
	size_t n[3] = { 0, 0, 0 };
	uint32_t d[3], slot = 0;
	int cache = 1;
	struct sacc *a;

	for (int j = 0; j < 3; j++) {
		int str = sq->rel[j] && colval_str(&v[SK_SVC + j], &p[j], &n[j]);
		d[j] = !str ? 0 : v[SK_SVC + j].dict ? v[SK_SVC + j].dict : GC_NONE;
		if (d[j] == GC_NONE)
			cache = 0;
	}
	if (cache) {
		struct gslot *g;
		slot = (uint32_t)((d[0] * 0x9e3779b1u ^ d[1] * 0x85ebca77u ^ d[2] * 0xc2b2ae3du ^
		    (uint64_t)bucket * 0x27d4eb2fu) >> 7) & (GC_SLOTS - 1);
		g = &sq->gc[slot];
		if (g->gen == sq->gen && g->bucket == bucket && g->d[0] == d[0] && g->d[1] == d[1] &&
		    g->d[2] == d[2]) {
			*acc = g->acc;
			return 0;
		}
	}
	if (!str_in(p[0], n[0], q->services, q->nservices) ||
	    !str_in(p[1], n[1], q->names, q->nnames) || !str_in(p[2], n[2], q->kinds, q->nkinds)) {
		*acc = GC_REJECT;
	} else {
		sq->key.len = 0;
		for (size_t i = 0; i < q->nby; i++) {
			int w = sq->by_well[i];
			if (key_add(&sq->key, p[w] ? p[w] : "", n[w]) < 0)
				return -ENOMEM;
		}
		if (!(a = acc_get(sq, bucket)))
			return sq->err ? sq->err : -ENOMEM;
		*acc = (uint32_t)(a - sq->v);
	}
	if (cache)
		sq->gc[slot] = (struct gslot){ sq->gen, bucket, { d[0], d[1], d[2] }, *acc };
	return 0;
}

static int on_vals(void *ctx, const colval *v, uint64_t block)
{
	struct sq *sq = ctx;
	const char *lp, *sp;
	size_t ln, sn;
	int64_t ts, dur;
	uint32_t i = GC_REJECT;
	struct sacc *a;
	int rc;

	sq->gen = block; /* another block: other dictionary entries */
	if (colval_int(&v[SK_TS], &ts) < 0 || ts < sq->q->since || ts > sq->q->until)
		return 0;
	if ((rc = vals_acc(sq, v, bucket_of(sq->q, ts), &i)) < 0)
		return rc;
	if (i == GC_REJECT)
		return 0;
	a = &sq->v[i];
	a->count++;
	if ((colval_str(&v[SK_LEVEL], &lp, &ln) && tt_level_parse(lp, ln) >= TT_LVL_ERROR) ||
	    (colval_str(&v[SK_STATUS], &sp, &sn) && sn == 5 && strncasecmp(sp, "error", 5) == 0))
		a->errors++;
	if (colval_int(&v[SK_DUR], &dur) == 0 && dur >= 0) {
		dur_add(a, 1, (uint64_t)dur, dur, dur);
		if (dense_add(sq, i, dur) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int scan_one(struct sq *sq, int64_t since, int64_t until)
{
	tt_scan sc;
	int rc;

	if (sq->fields) {
		const tt_statq *q = sq->q;
		if (!sq->gc && !(sq->gc = calloc(GC_SLOTS, sizeof *sq->gc)))
			return -ENOMEM;
		sq->rel[0] = q->nservices > 0, sq->rel[1] = q->nnames > 0, sq->rel[2] = q->nkinds > 0;
		for (size_t i = 0; i < q->nby; i++)
			sq->rel[sq->by_well[i]] = 1;
		rc = store_scan_fields(sq->s, since, until, stat_keys,
		    sizeof stat_keys / sizeof stat_keys[0], on_vals, sq);
		return rc < 0 ? rc : dense_flush(sq);
	}
	memset(&sc, 0, sizeof sc);
	sc.since = since;
	sc.until = until;
	rc = tt_store_scan(sq->s, &sc, on_rec, sq, NULL);
	return rc < 0 ? rc : 0;
}

/* Two threads scan a large range, each half of its records by time: the
 * reading, decompressing and folding cost about the same per record, and a
 * machine of two cores does it in about half the time. */
#define SCAN_PAR_MIN 200000 /* records below which one thread does it all */

struct half {
	struct sq sq;
	int64_t since, until;
	int rc;
};

static void *scan_half(void *arg)
{
	struct half *h = arg;
	h->rc = scan_one(&h->sq, h->since, h->until);
	return NULL;
}

struct split { int64_t since, until; double total, want; int64_t at; uint64_t n; };

static int seg_weight(void *ctx, const tt_seginfo *si)
{
	struct split *sp = ctx;
	int64_t lo = si->min_ts > sp->since ? si->min_ts : sp->since;
	int64_t hi = si->max_ts < sp->until ? si->max_ts : sp->until;
	if (si->records && lo <= hi) /* its records in the range, spread evenly in time */
		sp->total += (double)si->records * ((double)(hi - lo) + 1) /
		    ((double)(si->max_ts - si->min_ts) + 1);
	return 0;
}

static int seg_cut(void *ctx, const tt_seginfo *si)
{
	struct split *sp = ctx;
	int64_t lo = si->min_ts > sp->since ? si->min_ts : sp->since;
	int64_t hi = si->max_ts < sp->until ? si->max_ts : sp->until;
	double w;
	if (!si->records || lo > hi)
		return 0;
	w = (double)si->records * ((double)(hi - lo) + 1) / ((double)(si->max_ts - si->min_ts) + 1);
	if (sp->want <= w) { /* the cut is in this segment */
		sp->at = lo + (int64_t)((double)(hi - lo) * (sp->want / w));
		return 1;
	}
	sp->want -= w;
	return 0;
}

/* Add b's accumulators into a's. */
static int sq_merge(struct sq *a, const struct sq *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct sacc *x = &b->v[i];
		struct sacc *y;
		a->key.len = 0;
		if (tt_buf_append(&a->key, b->arena.data + x->key_off, x->key_len) < 0)
			return -ENOMEM;
		if (!(y = acc_get(a, x->bucket)))
			return a->err ? a->err : -ENOMEM;
		y->count += x->count;
		y->errors += x->errors;
		dur_add(y, x->dur_n, x->dur_sum, x->dur_min, x->dur_max);
		if (tt_hist_merge(&y->h, &x->h) < 0)
			return -ENOMEM;
		for (size_t k = 0; k < a->q->nsum; k++) {
			a->sums[y->sums + k].i += b->sums[x->sums + k].i;
			a->sums[y->sums + k].f += b->sums[x->sums + k].f;
		}
	}
	return 0;
}

static void sq_free(struct sq *sq)
{
	if (sq->dense)
		for (size_t i = 0; i < DENSE_ACCS; i++)
			free(sq->dense[i]);
	free(sq->dense);
	free(sq->dense_n);
	free(sq->gc);
	for (size_t i = 0; i < sq->n; i++)
		tt_hist_free(&sq->v[i].h);
	free(sq->v);
	free(sq->sums);
	free(sq->tab);
	tt_buf_free(&sq->arena);
	tt_buf_free(&sq->key);
}

static int scan_range(struct sq *sq, int64_t since, int64_t until)
{
	struct split sp = { since, until, 0, 0, 0, 0 };
	struct half h;
	pthread_t th;
	int rc;

	if (since > until)
		return 0;
	if (tt_store_segments(sq->s, seg_weight, &sp) < 0 || sp.total < SCAN_PAR_MIN)
		return scan_one(sq, since, until);
	sp.want = sp.total / 2;
	sp.at = since;
	if (tt_store_segments(sq->s, seg_cut, &sp) < 0 || sp.at <= since || sp.at > until)
		return scan_one(sq, since, until);
	memset(&h, 0, sizeof h);
	h.sq.q = sq->q, h.sq.s = sq->s;
	memcpy(h.sq.sum_llm, sq->sum_llm, sizeof h.sq.sum_llm);
	memcpy(h.sq.by_well, sq->by_well, sizeof h.sq.by_well);
	h.sq.fields = sq->fields;
	h.since = sp.at, h.until = until;
	if (pthread_create(&th, NULL, scan_half, &h) != 0)
		return scan_one(sq, since, until);
	rc = scan_one(sq, since, sp.at - 1);
	pthread_join(th, NULL);
	if (rc == 0)
		rc = h.rc;
	if (rc == 0)
		rc = sq_merge(sq, &h.sq);
	sq_free(&h.sq);
	return rc;
}

/* ---- the rollup path */

static int on_rollup(void *ctx, const tt_rollup *r)
{
	struct sq *sq = ctx;
	const tt_statq *q = sq->q;
	struct sacc *a;
	const char *p[3] = { r->service, r->name, r->kind };
	size_t n[3] = { r->service_len, r->name_len, r->kind_len };

	if (r->minute_ns < sq->q->since || r->minute_ns + MINUTE - 1 > sq->q->until)
		return 0; /* a partial minute: scanned instead */
	if (!str_in(p[0], n[0], q->services, q->nservices) ||
	    !str_in(p[1], n[1], q->names, q->nnames) || !str_in(p[2], n[2], q->kinds, q->nkinds))
		return 0;
	sq->key.len = 0;
	for (size_t i = 0; i < q->nby; i++)
		if (key_add(&sq->key, p[sq->by_well[i]], n[sq->by_well[i]]) < 0)
			return -ENOMEM;
	if (!(a = acc_get(sq, bucket_of(q, r->minute_ns))))
		return sq->err ? sq->err : -ENOMEM;
	a->count += r->count;
	a->errors += r->errors;
	dur_add(a, r->dur_n, r->dur_sum, r->dur_min, r->dur_max);
	if (tt_hist_merge(&a->h, &r->hist) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < q->nsum; i++) {
		struct sumv *sv = &sq->sums[a->sums + i];
		int64_t x = sq->sum_llm[i] == LLM_IN ? r->in_tokens :
		    sq->sum_llm[i] == LLM_OUT ? r->out_tokens : r->cost_nano;
		sv->i += x;
	}
	return 0;
}

/* The LLM field a --sum name stands for, or -1. */
static int llm_field(const char *name)
{
	static const struct { const char *n; int f; } m[] = {
		{ "input_tokens", LLM_IN }, { "gen_ai.usage.input_tokens", LLM_IN },
		{ "output_tokens", LLM_OUT }, { "gen_ai.usage.output_tokens", LLM_OUT },
		{ "cost", LLM_COST }, { "gen_ai.usage.cost", LLM_COST },
	};
	for (size_t i = 0; i < sizeof m / sizeof *m; i++)
		if (strcmp(m[i].n, name) == 0)
			return m[i].f;
	return -1;
}

static int well_known(const char *f)
{
	return !strcmp(f, "service") ? 0 : !strcmp(f, "name") ? 1 : !strcmp(f, "kind") ? 2 : -1;
}

/* ---- delivering: by bucket, then by group values (bytewise) */

static int sacc_cmp(const void *x, const void *y, void *ctx)
{
	const struct sacc *a = x, *b = y;
	const uint8_t *base = ctx, *p, *q, *pe, *qe;

	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	/* the group values one by one (each is u32 length + bytes) */
	p = base + a->key_off, pe = p + a->key_len;
	q = base + b->key_off, qe = q + b->key_len;
	while (p + 4 <= pe && q + 4 <= qe) {
		uint32_t pn = get32(p), qn = get32(q);
		size_t m = pn < qn ? pn : qn;
		int c = memcmp(p + 4, q + 4, m);
		if (c)
			return c;
		if (pn != qn)
			return pn < qn ? -1 : 1;
		p += 4 + pn, q += 4 + qn;
	}
	return (p < pe) - (q < qe);
}

int tt_store_statq(tt_store *s, const tt_statq *q, tt_statrow_fn fn, void *ctx, int *used_rollups)
{
	struct sq sq;
	tt_str group[TT_STATQ_BY_MAX];
	double sums[TT_STATQ_SUM_MAX];
	int rollup_ok = !(q->flags & TT_STATQ_SCAN) && !q->filter && s->db_rollup &&
	    (q->every_ns == 0 || q->every_ns % MINUTE == 0);
	int rc = 0, delivered = 0;
	int64_t lo, hi, span;
	tt_stats st;

	if (q->nby > TT_STATQ_BY_MAX || q->nsum > TT_STATQ_SUM_MAX || q->every_ns < 0)
		return TT_EBADARG;
	memset(&sq, 0, sizeof sq);
	sq.q = q;
	sq.s = s;
	for (size_t i = 0; i < q->nby; i++)
		if ((sq.by_well[i] = well_known(q->by[i])) < 0)
			rollup_ok = 0;
	for (size_t i = 0; i < q->nsum; i++)
		if ((sq.sum_llm[i] = llm_field(q->sum[i])) < 0)
			rollup_ok = 0;
	sq.fields = !q->filter && q->nsum == 0;
	for (size_t i = 0; i < q->nby; i++)
		if (sq.by_well[i] < 0)
			sq.fields = 0;
	/* buckets of `every` start at multiples of it, so whole buckets are whole
	 * minutes; the range's own ends are cut to minutes */
	if (rollup_ok) {
		int64_t first = q->since == TT_TS_MIN ? TT_TS_MIN : floor_div(q->since + MINUTE - 1, MINUTE) * MINUTE;
		int64_t end = q->until == TT_TS_MAX ? TT_TS_MAX : floor_div(q->until + 1, MINUTE) * MINUTE;
		if (first != TT_TS_MIN && end != TT_TS_MAX && first >= end) {
			rc = scan_range(&sq, q->since, q->until);
		} else {
			if (first != TT_TS_MIN && first > q->since)
				rc = scan_range(&sq, q->since, first - 1);
			if (rc == 0) {
				rc = tt_store_rollups(s, first, end == TT_TS_MAX ? TT_TS_MAX : end - 1,
				    on_rollup, &sq);
				rc = rc < 0 ? rc : 0;
			}
			if (rc == 0 && end != TT_TS_MAX && end <= q->until)
				rc = scan_range(&sq, end, q->until);
		}
	} else {
		rc = scan_range(&sq, q->since, q->until);
	}
	if (used_rollups)
		*used_rollups = rollup_ok;
	if (rc < 0)
		goto out;
	/* the span of a bucket, for rates: `every`, or the range clipped to the
	 * records the store holds */
	lo = q->since, hi = q->until;
	if ((lo == TT_TS_MIN || hi == TT_TS_MAX) && tt_store_stats_ex(s, 0, &st) == 0) {
		if (lo == TT_TS_MIN) lo = st.min_ts;
		if (hi == TT_TS_MAX) hi = st.max_ts;
	}
	span = q->every_ns > 0 ? q->every_ns : (hi > lo ? hi - lo : 0);
	if (sq.n > 1) /* each accumulator keeps the index of its sums */
		qsort_r(sq.v, sq.n, sizeof *sq.v, sacc_cmp, sq.arena.data);
	for (size_t i = 0; i < sq.n; i++) {
		struct sacc *a = &sq.v[i];
		tt_statrow row;
		size_t off = 0;

		memset(&row, 0, sizeof row);
		row.bucket_ns = q->every_ns > 0 ? a->bucket : lo; /* one bucket: the range's start */
		row.span_ns = span;
		for (size_t g = 0; g < q->nby; g++) {
			const uint8_t *kp = sq.arena.data + a->key_off + off;
			group[g].n = get32(kp);
			group[g].p = (const char *)kp + 4;
			off += 4 + group[g].n;
		}
		row.group = group;
		row.count = a->count, row.errors = a->errors;
		row.dur_n = a->dur_n, row.dur_sum = a->dur_sum;
		row.dur_min = a->dur_n ? a->dur_min : 0;
		row.dur_max = a->dur_n ? a->dur_max : 0;
		row.hist = &a->h;
		for (size_t k = 0; k < q->nsum; k++) {
			const struct sumv *sv = &sq.sums[a->sums + k];
			sums[k] = sq.sum_llm[k] == LLM_COST ? (double)sv->i / 1e9 :
			    (double)sv->i + sv->f;
		}
		row.sums = sums;
		if ((rc = fn(ctx, &row)) < 0)
			goto out;
		delivered++;
		if (rc > 0)
			break;
	}
	rc = delivered;
out:
	sq_free(&sq);
	return rc;
}
