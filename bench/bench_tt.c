/*
 * bench_tt.c -- the TeraTrace side of the benchmark: data-set generation,
 * append (from canonical msgpack and from JSON lines), lookups, scan, tail,
 * gc and disk usage, all through the public header only.
 */
#include "bench.h"
#include "gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>

#include "teratrace.h"

static int64_t wall_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- data set: data.jsonl (the generator's lines), data.mpk (each line
 * decoded by tt_decode_json into its canonical record, framed as u32 LE
 * length + bytes), ids.txt (correlation ids in order of first appearance). */

struct gen_sink {
	FILE *mpk;
	uint64_t bytes, recs;
};

static int gen_rec_out(void *ctx, const uint8_t *rec, size_t len)
{
	struct gen_sink *g = ctx;
	uint8_t h[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
		(uint8_t)(len >> 24) };

	if (fwrite(h, 1, 4, g->mpk) != 4 || fwrite(rec, 1, len, g->mpk) != len)
		return -EIO;
	g->bytes += len;
	g->recs++;
	return 0;
}

int tt_gen_data(bdata *d, uint64_t n, uint64_t seed, bres *r)
{
	static gen g;
	static char line[GEN_JSON_MAX + TT_JSON_PADDING + 2];
	char path[600];
	FILE *fj = NULL, *fi = NULL;
	struct gen_sink gs = { NULL, 0, 0 };
	tt_sink sink = { gen_rec_out, NULL, &gs };
	tt_decoder *dec = NULL;
	const gen_rec *rec;
	uint64_t i = 0;
	int rc;

	d->n = n;
	d->ids = d->json_bytes = d->mpk_bytes = 0;
	if ((rc = mkdir_p(d->dir)) < 0) {
		bres_fail(r, rc, "mkdir %s: %s", d->dir, strerror(-rc));
		return rc;
	}
	fj = fopen(path_join(path, sizeof path, d->dir, "data.jsonl"), "we");
	gs.mpk = fopen(path_join(path, sizeof path, d->dir, "data.mpk"), "we");
	fi = fopen(path_join(path, sizeof path, d->dir, "ids.txt"), "we");
	if (fj == NULL || gs.mpk == NULL || fi == NULL) {
		bres_fail(r, -errno, "create data files in %s: %s", d->dir, strerror(errno));
		goto out;
	}
	setvbuf(fj, NULL, _IOFBF, 1 << 20);
	setvbuf(gs.mpk, NULL, _IOFBF, 1 << 20);
	if ((rc = tt_decoder_new(&dec, NULL)) < 0) {
		bres_fail(r, rc, "tt_decoder_new: %s", tt_strerror(rc));
		goto out;
	}
	gen_init(&g, seed, n, GEN_START_NS); /* fixed: the same data every run */
	while ((rec = gen_next(&g)) != NULL) {
		size_t len = gen_json(rec, line, GEN_JSON_MAX);
		tt_rec_err e;
		memset(&e, 0, sizeof e);
		if (i == 0)
			d->ts_min = rec->ts;
		if (i == n / 2)
			d->ts_median = rec->ts;
		d->ts_max = rec->ts;
		if (rec->first) {
			fprintf(fi, "%s\n", rec->corr);
			d->ids++;
		}
		rc = tt_decode_json(dec, line, len, 1, 0, &sink, &e);
		if (rc != 1) {
			bres_fail(r, rc < 0 ? rc : -EINVAL,
			    "tt_decode_json on generated record %llu gave %d (%s at %zu, field '%s': %s)",
			    (unsigned long long)i, rc, rc < 0 ? tt_strerror(rc) : "count",
			    e.offset, e.field, e.reason);
			goto out;
		}
		line[len] = '\n';
		if (fwrite(line, 1, len + 1, fj) != len + 1) {
			bres_fail(r, -EIO, "write data.jsonl: %s", strerror(errno));
			goto out;
		}
		d->json_bytes += len + 1;
		i++;
	}
	d->mpk_bytes = gs.bytes;
out:
	tt_decoder_free(dec);
	if (fj && fclose(fj) != 0 && r->rc == 0)
		bres_fail(r, -EIO, "close data.jsonl: %s", strerror(errno));
	if (gs.mpk && fclose(gs.mpk) != 0 && r->rc == 0)
		bres_fail(r, -EIO, "close data.mpk: %s", strerror(errno));
	if (fi && fclose(fi) != 0 && r->rc == 0)
		bres_fail(r, -EIO, "close ids.txt: %s", strerror(errno));
	return r->rc;
}

/* ---- append (runs in a forked child) */

struct app {
	tt_writer *w;
	bres *r;
	uint64_t recs, rejected;
	int decode_only;
};

static int app_rec(void *ctx, const uint8_t *rec, size_t len)
{
	struct app *a = ctx;
	int64_t t;

	if (a->decode_only) {
		a->recs++;
		return 0;
	}
	t = tt_writer_append(a->w, rec, len);
	if (t < 0) {
		bres_fail(a->r, (int)t, "tt_writer_append: %s", tt_strerror((int)t));
		return (int)t;
	}
	if ((++a->recs & 0xffff) == 0)
		rss_sample(a->r); /* ~150 samples at 10 M records, negligible */
	return 0;
}

static void app_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	struct app *a = ctx;
	(void)index;
	(void)err;
	a->rejected++;
}

int tt_phase_append(void *args, bres *r)
{
	const tt_append_args *a = args;
	tt_store_opts o;
	tt_store *s = NULL;
	tt_decoder *dec = NULL;
	struct app ap = { NULL, r, 0, 0, a->decode_only };
	tt_sink sink = { app_rec, app_reject, &ap };
	char path[600];
	brd rd = { .fd = -1 };
	uint64_t t0, bytes = 0;
	int64_t now = wall_ns();
	int rc;

	memset(&o, 0, sizeof o);
	o.flags = TT_OPEN_CREATE | (a->no_rollup ? TT_OPEN_NOROLLUP : 0) |
	    (a->format1 ? TT_OPEN_FORMAT1 : 0);
	o.segment_size = a->segment_size;
	o.block_size = a->block_size;
	if (!a->decode_only) {
		(void)rm_rf(a->store);
		if ((rc = tt_store_open(&s, a->store, &o)) < 0) {
			bres_fail(r, rc, "tt_store_open %s: %s", a->store, tt_strerror(rc));
			return rc;
		}
	}
	if (a->json && (rc = tt_decoder_new(&dec, NULL)) < 0) {
		bres_fail(r, rc, "tt_decoder_new: %s", tt_strerror(rc));
		goto out;
	}
	rc = brd_open(&rd, path_join(path, sizeof path, a->d->dir,
	    a->json ? "data.jsonl" : "data.mpk"), 4u << 20);
	if (rc < 0) {
		bres_fail(r, rc, "open %s: %s", path, strerror(-rc));
		goto out;
	}
	t0 = bnow_ns();
	if (!a->decode_only && (rc = tt_writer_open(s, &ap.w)) < 0) {
		bres_fail(r, rc, "tt_writer_open: %s", tt_strerror(rc));
		goto out;
	}
	if (a->json) {
		const char *line;
		size_t n;
		while ((rc = brd_line(&rd, &line, &n)) == 1) {
			tt_rec_err e;
			bytes += n + 1;
			rc = tt_decode_json(dec, line, n, 1, now, &sink, &e);
			if (r->rc)
				goto out;
			if (rc < 0)
				ap.rejected++;
		}
	} else {
		const uint8_t *p;
		size_t n;
		while ((rc = brd_frame(&rd, &p, &n)) == 1) {
			bytes += n;
			if (app_rec(&ap, p, n) < 0)
				goto out;
		}
	}
	if (rc < 0) {
		bres_fail(r, rc, "read %s: %s", path, strerror(-rc));
		goto out;
	}
	if (ap.w != NULL) {
		rss_sample(r);
		rc = tt_writer_close(ap.w, 1);
		ap.w = NULL;
		if (rc < 0) {
			bres_fail(r, rc, "tt_writer_close: %s", tt_strerror(rc));
			goto out;
		}
	}
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	r->records = ap.recs;
	r->bytes = bytes;
	r->aux = ap.rejected;
out:
	if (ap.w != NULL)
		(void)tt_writer_close(ap.w, 0);
	brd_close(&rd);
	tt_decoder_free(dec);
	tt_store_close(s);
	return r->rc;
}

/* ---- reads (in-process) */

static int open_ro(const char *dir, tt_store **s, bres *r)
{
	tt_store_opts o;
	int rc;

	memset(&o, 0, sizeof o);
	o.flags = TT_OPEN_RDONLY;
	if ((rc = tt_store_open(s, dir, &o)) < 0)
		bres_fail(r, rc, "tt_store_open %s: %s", dir, tt_strerror(rc));
	return rc;
}

struct cnt {
	uint64_t recs, bytes, stop_after;
	int64_t last_ts;
	int unordered;
};

static int cnt_rec(void *ctx, const tt_rec *rec)
{
	struct cnt *c = ctx;

	c->bytes += rec->len + (rec->data[0] != 0); /* touch the bytes */
	if (rec->ts < c->last_ts)
		c->unordered = 1;
	c->last_ts = rec->ts;
	c->recs++;
	return c->stop_after && c->recs >= c->stop_after ? 1 : 0;
}

int tt_lookups(const char *dir, char **ids, size_t nids, blat *l, bres *r)
{
	tt_store *s = NULL;
	uint64_t *ns = calloc(nids ? nids : 1, sizeof *ns);
	struct cnt c;
	size_t i;
	int pass, rc;

	if (ns == NULL || open_ro(dir, &s, r) < 0)
		goto out;
	for (pass = 0; pass < 2; pass++) { /* pass 0 warms the caches */
		memset(&c, 0, sizeof c);
		for (i = 0; i < nids; i++) {
			uint64_t t0 = bnow_ns();
			c.last_ts = INT64_MIN;
			rc = tt_store_get(s, ids[i], strlen(ids[i]), TT_TS_MIN, TT_TS_MAX, cnt_rec,
			    &c);
			ns[i] = bnow_ns() - t0;
			if (rc < 0) {
				bres_fail(r, rc, "tt_store_get %s: %s", ids[i], tt_strerror(rc));
				goto out;
			}
			if (rc == 0) {
				bres_fail(r, TT_ENOTFOUND, "tt_store_get %s: no records", ids[i]);
				goto out;
			}
		}
	}
	if (c.unordered)
		bres_fail(r, -EINVAL, "tt_store_get returned records out of timestamp order");
	blat_from(l, ns, nids);
	l->records = c.recs;
	l->bytes = c.bytes;
out:
	tt_store_close(s);
	free(ns);
	return r->rc;
}

int tt_scan_all(const char *dir, bres *r)
{
	tt_store *s = NULL;
	tt_scan sc;
	struct cnt c;
	uint64_t t0;
	int rc;

	if (open_ro(dir, &s, r) < 0)
		return r->rc;
	memset(&sc, 0, sizeof sc);
	memset(&c, 0, sizeof c);
	sc.since = TT_TS_MIN;
	sc.until = TT_TS_MAX;
	c.last_ts = INT64_MIN;
	t0 = bnow_ns();
	rc = tt_store_scan(s, &sc, cnt_rec, &c, NULL);
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	if (rc < 0)
		bres_fail(r, rc, "tt_store_scan: %s", tt_strerror(rc));
	r->records = c.recs;
	r->bytes = c.bytes;
	tt_store_close(s);
	return r->rc;
}

/* ---- aggregates */

static int count_row(void *ctx, const tt_statrow *row)
{
	bres *r = ctx;
	r->records++;
	r->aux += row->count;
	return 0;
}

static void stats_q(tt_statq *q, int scan)
{
	static const char *const by[] = { "service" };
	memset(q, 0, sizeof *q);
	q->since = TT_TS_MIN;
	q->until = TT_TS_MAX;
	q->by = by;
	q->nby = 1;
	q->every_ns = scan ? 0 : 60000000000LL;
	q->flags = scan ? TT_STATQ_SCAN : 0;
}

int tt_stats_rollup(const char *dir, size_t reps, blat *l, bres *r)
{
	tt_store *s = NULL;
	tt_statq q;
	uint64_t *ns = calloc(reps ? reps : 1, sizeof *ns);
	int rc, used = 0;

	if (!ns || open_ro(dir, &s, r) < 0) {
		free(ns);
		return r->rc ? r->rc : -ENOMEM;
	}
	stats_q(&q, 0);
	for (size_t i = 0; i < reps; i++) {
		uint64_t t0 = bnow_ns();
		r->records = r->aux = 0;
		if ((rc = tt_store_statq(s, &q, count_row, r, &used)) < 0 || !used) {
			bres_fail(r, rc < 0 ? rc : -EINVAL, "tt_store_statq: %s",
			    rc < 0 ? tt_strerror(rc) : "not answered from the rollups");
			break;
		}
		ns[i] = bnow_ns() - t0;
	}
	if (!r->rc)
		blat_from(l, ns, reps);
	free(ns);
	tt_store_close(s);
	return r->rc;
}

int tt_stats_scan(const char *dir, bres *r)
{
	tt_store *s = NULL;
	struct rusage u0, u1;
	tt_statq q;
	uint64_t t0;
	int rc;

	if (open_ro(dir, &s, r) < 0)
		return r->rc;
	stats_q(&q, 1);
	getrusage(RUSAGE_SELF, &u0);
	t0 = bnow_ns();
	rc = tt_store_statq(s, &q, count_row, r, NULL);
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &u1);
	/* both threads' CPU: records per CPU-second is the rate of one core */
	r->cpu_secs = (double)(u1.ru_utime.tv_sec - u0.ru_utime.tv_sec + u1.ru_stime.tv_sec -
	    u0.ru_stime.tv_sec) + (double)(u1.ru_utime.tv_usec - u0.ru_utime.tv_usec +
	    u1.ru_stime.tv_usec - u0.ru_stime.tv_usec) / 1e6;
	if (rc < 0)
		bres_fail(r, rc, "tt_store_statq: %s", tt_strerror(rc));
	r->bytes = r->records;      /* rows */
	r->records = r->aux;         /* records aggregated */
	tt_store_close(s);
	return r->rc;
}

/* The store's tt_stats (what), zeroed when it does not open */
static void ro_stats(const char *dir, unsigned what, tt_stats *st)
{
	tt_store *s = NULL;
	bres r;

	memset(&r, 0, sizeof r);
	memset(st, 0, sizeof *st);
	if (open_ro(dir, &s, &r) < 0)
		return;
	if (tt_store_stats_ex(s, what, st) < 0)
		memset(st, 0, sizeof *st);
	tt_store_close(s);
}

uint64_t tt_rollup_bytes(const char *dir)
{
	tt_stats st;

	ro_stats(dir, TT_STATS_IDS, &st);
	return st.rollup_bytes;
}

int tt_tail(const char *dir, size_t reps, blat *l, bres *r)
{
	tt_store *s = NULL;
	uint64_t *ns = calloc(reps ? reps : 1, sizeof *ns);
	tt_scan sc;
	struct cnt c;
	size_t i;
	int rc;

	if (ns == NULL || open_ro(dir, &s, r) < 0)
		goto out;
	memset(&sc, 0, sizeof sc);
	sc.since = TT_TS_MIN;
	sc.until = TT_TS_MAX;
	sc.flags = TT_SCAN_REVERSE;
	for (i = 0; i < reps; i++) {
		uint64_t t0 = bnow_ns();
		memset(&c, 0, sizeof c);
		c.stop_after = 10;
		c.last_ts = INT64_MIN;
		rc = tt_store_scan(s, &sc, cnt_rec, &c, NULL);
		ns[i] = bnow_ns() - t0;
		if (rc < 0) {
			bres_fail(r, rc, "tt_store_scan reverse: %s", tt_strerror(rc));
			goto out;
		}
	}
	blat_from(l, ns, reps);
	l->records = c.recs;
out:
	tt_store_close(s);
	free(ns);
	return r->rc;
}

struct gcsum {
	uint64_t segs, recs, bytes;
};

static int gc_seg(void *ctx, const tt_seginfo *si)
{
	struct gcsum *g = ctx;

	g->segs++;
	g->recs += si->records;
	g->bytes += si->bytes;
	return 0;
}

/* Delete the sealed segments whose newest record is older than cutoff_ns. */
/* Open dir read-write: 0, or the error noted in r */
static int open_rw(const char *dir, tt_store **s, bres *r)
{
	tt_store_opts o;
	int rc;

	memset(&o, 0, sizeof o);
	if ((rc = tt_store_open(s, dir, &o)) < 0)
		bres_fail(r, rc, "tt_store_open %s: %s", dir, tt_strerror(rc));
	return rc;
}

int tt_gc_age(const char *dir, int64_t cutoff_ns, bres *r)
{
	tt_store *s = NULL;
	tt_gc_opts g;
	struct gcsum sum = { 0, 0, 0 };
	uint64_t t0;
	int rc;

	if ((rc = open_rw(dir, &s, r)) < 0)
		return rc;
	memset(&g, 0, sizeof g);
	g.now_ns = cutoff_ns + 3600000000000LL;
	g.max_age_ns = 3600000000000LL;
	t0 = bnow_ns();
	rc = tt_store_gc(s, &g, gc_seg, &sum);
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	if (rc < 0)
		bres_fail(r, rc, "tt_store_gc: %s", tt_strerror(rc));
	r->records = sum.recs;
	r->aux = sum.segs;
	r->aux2 = sum.bytes;
	tt_store_close(s);
	return r->rc;
}

/* Seal what no writer holds, then rewrite every sealed segment (FORMAT.md
 * 8.8, tt-check --recompress): r->secs the rewrite, r->records its records,
 * r->aux segments rewritten, r->aux2 bytes before. */
static int rw_seg(void *ctx, const tt_seginfo *si)
{
	bres *r = ctx;
	r->records += si->records;
	r->aux++;
	r->aux2 += si->replaced_bytes;
	return 0;
}

int tt_recompress(const char *dir, bres *r)
{
	tt_store *s = NULL;
	tt_gc_opts g;
	uint64_t t0;
	int rc;

	if ((rc = open_rw(dir, &s, r)) < 0)
		return rc;
	memset(&g, 0, sizeof g);
	g.rotate = 1;
	if ((rc = tt_store_gc(s, &g, NULL, NULL)) < 0)
		bres_fail(r, rc, "tt_store_gc --rotate: %s", tt_strerror(rc));
	t0 = bnow_ns();
	if (rc >= 0 && (rc = tt_store_rewrite(s, TT_REWRITE_ALL, rw_seg, r)) < 0)
		bres_fail(r, rc, "tt_store_rewrite: %s", tt_strerror(rc));
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	tt_store_close(s);
	return r->rc;
}

/* The index's LMDB pages in use (free pages not counted) */
uint64_t tt_index_used(const char *dir)
{
	tt_stats st;

	ro_stats(dir, 0, &st);
	return st.index_bytes;
}

int tt_disk(const char *dir, uint64_t *data, uint64_t *index, uint64_t *du,
    uint64_t *segments)
{
	tt_store *s = NULL;
	tt_store_opts o;
	tt_stats st;
	int rc;

	memset(&o, 0, sizeof o);
	o.flags = TT_OPEN_RDONLY;
	*du = du_bytes(dir);
	if ((rc = tt_store_open(&s, dir, &o)) < 0)
		return rc;
	memset(&st, 0, sizeof st);
	rc = tt_store_stats(s, &st);
	*data = st.data_bytes;
	*index = st.index_file_bytes;
	*segments = st.segments;
	tt_store_close(s);
	return rc;
}
