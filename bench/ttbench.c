/*
 * ttbench -- TeraTrace vs SQLite (TraceHub-style), side by side, one run.
 *
 *   ttbench run [--out DIR] [--sizes "N1 N2 ..."] [--seed S] [--lookups K]
 *               [--tail-reps R] [--gc-size N] [--gc-segment-size BYTES]
 *               [--results FILE] [--keep-largest]
 *   ttbench gen N DIR                 write a data set (for profiling)
 *   ttbench append-mpk DIR STORE      one append phase, in this process
 *   ttbench tail STORE [R]            R tails of the newest 10 records
 *   ttbench append-json DIR STORE
 *   ttbench lookup DIR STORE [K]      lookups of K random ids
 *
 * `make bench` runs `ttbench run` through bench/run.sh. For every size the
 * data set is generated once (bench/gen.c, deterministic); each ingest runs
 * in a forked child (its peak RSS is its own); reads run in-process, warm
 * (every lookup list is run once before the measured pass). See
 * bench/README.md for what each figure means.
 */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "teratrace.h"

#define MAX_SIZES 8
#define MiB (1024.0 * 1024.0)

typedef struct opts {
	const char *out;         /* work directory */
	uint64_t sizes[MAX_SIZES];
	int nsizes;
	uint64_t seed;
	size_t lookups, tail_reps;
	uint64_t gc_size;        /* size whose data also runs the gc comparison */
	uint64_t gc_seg_size;    /* segment size of the gc store */
	const char *results;     /* RESULTS.md path, NULL = none */
	int keep_largest;        /* leave the largest store and db for bench/tools.sh */
} opts;

typedef struct sres {
	bdata d;
	bres gen, mpk, json, dec, sql;
	uint64_t tt_du, tt_data, tt_index, tt_segs, ttj_du, sql_du;
	int disk_rc;
	blat tt_get, sql_get, tt_tail, sql_tail;
	bres tt_get_r, sql_get_r, tt_tail_r, sql_tail_r;
	bres tt_scan, sql_scan;
	int gc;                  /* gc measured at this size */
	bres gc_load, tt_gc, sql_gc;
	uint64_t gc_segs;
	bres mpk_norollup;       /* msgpack append with TT_OPEN_NOROLLUP */
	bres f1;                 /* msgpack append with TT_OPEN_FORMAT1 */
	uint64_t f1_du;          /* ... its bytes on disk */
	blat f1_get;             /* ... its lookups */
	bres f1_get_r;
	blat st_roll;            /* --stats from the rollups */
	bres st_roll_r, st_scan, sql_st;
	uint64_t rollup_bytes;
	uint64_t tt_index_used;  /* index pages in use, as written */
	bres rw;                 /* tt-check --recompress of the whole store */
	uint64_t rw_data, rw_index, rw_index_used, rw_du, rw_segs;
	blat rw_get;             /* lookups after it */
	bres rw_get_r;
} sres;

static long baseline_rss_kib;

/* ---- small helpers */

static uint64_t mix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *e;

	errno = 0;
	*v = strtoull(s, &e, 10);
	if (*e == 'k' || *e == 'K')
		*v *= 1000, e++;
	else if (*e == 'M')
		*v *= 1000000, e++;
	return errno || e == s || *e ? -1 : 0;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("ttbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(3);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	time_t t = time(NULL);
	char ts[16];

	strftime(ts, sizeof ts, "%H:%M:%S", gmtime(&t));
	fprintf(stderr, "[%s] ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void phase_log(const char *what, const bres *r)
{
	if (r->rc) {
		note("  %-28s FAILED: %s", what, r->err);
	} else {
		char rss[48] = "";
		if (r->maxrss_kib)
			snprintf(rss, sizeof rss, ", peak RSS %.1f MiB", r->maxrss_kib / 1024.0);
		note("  %-28s %llu in %.2f s (%.3f M/s)%s", what, (unsigned long long)r->records,
		    r->secs, r->secs > 0 ? (double)r->records / r->secs / 1e6 : 0, rss);
	}
}

static int noop_child(void *ctx, bres *r)
{
	(void)ctx;
	(void)r;
	return 0;
}

/* The data set of a size: bench/out/<n>/ */
static void data_dir(const opts *o, uint64_t n, bdata *d)
{
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "%s/%llu", o->out, (unsigned long long)n);
	d->n = n;
}

static void meta_write(const bdata *d)
{
	char p[600];
	FILE *f = fopen(path_join(p, sizeof p, d->dir, "meta"), "we");

	if (f == NULL)
		return;
	fprintf(f, "%llu %llu %llu %llu %lld %lld %lld\n", (unsigned long long)d->n,
	    (unsigned long long)d->ids, (unsigned long long)d->json_bytes,
	    (unsigned long long)d->mpk_bytes, (long long)d->ts_min, (long long)d->ts_max,
	    (long long)d->ts_median);
	fclose(f);
}

static int meta_read(bdata *d)
{
	char p[600];
	unsigned long long a, b, c, e;
	long long x, y, z;
	FILE *f = fopen(path_join(p, sizeof p, d->dir, "meta"), "re");
	int ok;

	if (f == NULL)
		return -errno;
	ok = fscanf(f, "%llu %llu %llu %llu %lld %lld %lld", &a, &b, &c, &e, &x, &y, &z) == 7;
	fclose(f);
	if (!ok)
		return -EINVAL;
	d->n = a, d->ids = b, d->json_bytes = c, d->mpk_bytes = e;
	d->ts_min = x, d->ts_max = y, d->ts_median = z;
	return 0;
}

/* K ids drawn at random (fixed seed) from ids.txt. */
static char **pick_ids(const bdata *d, size_t k, uint64_t seed, char ***all_out)
{
	char p[600], **all, **pick;
	size_t n, i;
	uint64_t x = seed ^ 0x1d5u;

	if (load_ids(path_join(p, sizeof p, d->dir, "ids.txt"), &all, &n) < 0 || n == 0)
		die("cannot read %s", p);
	pick = malloc(k * sizeof *pick);
	if (pick == NULL)
		die("out of memory");
	for (i = 0; i < k; i++)
		pick[i] = all[mix(&x) % n];
	*all_out = all;
	return pick;
}

static void free_ids(char **all, char **pick)
{
	if (all != NULL)
		free(all[0]);
	free(all);
	free(pick);
}

/* ---- one size */

static int recompress_child(void *store, bres *r)
{
	return tt_recompress(store, r);
}

static void run_size(const opts *o, uint64_t n, sres *s)
{
	char tt[600], ttj[600], db[600], gcs[600], gdb[600];
	tt_append_args aa;
	sql_load_args sa;
	char **all = NULL, **ids = NULL;

	memset(s, 0, sizeof *s);
	data_dir(o, n, &s->d);
	path_join(tt, sizeof tt, s->d.dir, "tt");
	path_join(ttj, sizeof ttj, s->d.dir, "tt-json");
	path_join(db, sizeof db, s->d.dir, "sqlite.db");
	path_join(gcs, sizeof gcs, s->d.dir, "tt-gc");
	path_join(gdb, sizeof gdb, s->d.dir, "sqlite-gc.db");

	note("size %llu: generating data set in %s", (unsigned long long)n, s->d.dir);
	{
		uint64_t t0 = bnow_ns();
		tt_gen_data(&s->d, n, o->seed, &s->gen);
		s->gen.secs = (double)(bnow_ns() - t0) / 1e9;
		s->gen.records = s->d.n;
	}
	if (s->gen.rc)
		die("generating data: %s", s->gen.err);
	meta_write(&s->d);
	settle(s->d.dir);
	note("  %llu records, %llu ids, %.1f MB JSON, %.1f MB msgpack (%.1f s)",
	    (unsigned long long)s->d.n, (unsigned long long)s->d.ids, s->d.json_bytes / 1e6,
	    s->d.mpk_bytes / 1e6, s->gen.secs);

	/* ingest, each in its own child */
	memset(&aa, 0, sizeof aa);
	aa.d = &s->d;
	aa.store = tt;
	run_child(&s->mpk, tt_phase_append, &aa);
	phase_log("tt append msgpack", &s->mpk);
	if (s->mpk.rc == 0)
		s->rollup_bytes = tt_rollup_bytes(tt);
	/* the same without rollups, into a store of its own (then removed) */
	aa.store = ttj;
	aa.no_rollup = 1;
	run_child(&s->mpk_norollup, tt_phase_append, &aa);
	phase_log("tt append msgpack, no rollups", &s->mpk_norollup);
	aa.no_rollup = 0;
	(void)rm_rf(ttj);
	/* the same in format 1 (row-wise blocks): its bytes and lookups, then removed */
	aa.store = ttj;
	aa.format1 = 1;
	run_child(&s->f1, tt_phase_append, &aa);
	phase_log("tt append msgpack, format 1", &s->f1);
	aa.format1 = 0;
	if (s->f1.rc == 0) {
		char **f1ids, **f1all;
		s->f1_du = du_bytes(ttj);
		f1ids = pick_ids(&s->d, o->lookups, o->seed, &f1all);
		tt_lookups(ttj, f1ids, o->lookups, &s->f1_get, &s->f1_get_r);
		free_ids(f1all, f1ids);
	}
	(void)rm_rf(ttj);
	aa.store = ttj;
	aa.json = 1;
	run_child(&s->json, tt_phase_append, &aa);
	phase_log("tt append JSON lines", &s->json);
	if (n == o->sizes[0]) {
		aa.decode_only = 1;
		run_child(&s->dec, tt_phase_append, &aa);
		phase_log("tt_decode_json only", &s->dec);
		aa.decode_only = 0;
	}
	memset(&sa, 0, sizeof sa);
	sa.d = &s->d;
	sa.db = db;
	sa.batch = 10000;
	run_child(&s->sql, sql_phase_load, &sa);
	phase_log("sqlite insert JSON lines", &s->sql);
	settle(s->d.dir); /* SQLite's synchronous=NORMAL leaves dirty pages behind */

	/* bytes on disk */
	if (s->mpk.rc == 0)
		s->disk_rc = tt_disk(tt, &s->tt_data, &s->tt_index, &s->tt_du, &s->tt_segs);
	if (s->json.rc == 0)
		s->ttj_du = du_bytes(ttj);
	(void)rm_rf(ttj);
	if (s->sql.rc == 0)
		s->sql_du = sql_disk(db);
	note("  disk: tt %.1f B/rec (data %.1f, index file %.1f), tt-json %.1f, sqlite %.1f B/rec",
	    (double)s->tt_du / n, (double)s->tt_data / n, (double)s->tt_index / n,
	    (double)s->ttj_du / n, (double)s->sql_du / n);

	/* reads, warm, in-process */
	ids = pick_ids(&s->d, o->lookups, o->seed, &all);
	if (s->mpk.rc == 0) {
		tt_lookups(tt, ids, o->lookups, &s->tt_get, &s->tt_get_r);
		if (s->tt_get_r.rc == 0)
			note("  tt lookup p50 %.1f us p99 %.1f us (%.2f rec/id)", s->tt_get.p50,
			    s->tt_get.p99, (double)s->tt_get.records / o->lookups);
		else
			note("  tt lookup FAILED: %s", s->tt_get_r.err);
		tt_scan_all(tt, &s->tt_scan);
		phase_log("tt scan", &s->tt_scan);
		tt_tail(tt, o->tail_reps, &s->tt_tail, &s->tt_tail_r);
		if (s->tt_tail_r.rc)
			note("  tt tail FAILED: %s", s->tt_tail_r.err);
		tt_stats_rollup(tt, 50, &s->st_roll, &s->st_roll_r);
		note("  tt --stats --by service --every 1m (rollups) p50 %.2f ms, %llu rows",
		    s->st_roll.p50 / 1e3, (unsigned long long)s->st_roll_r.records);
		tt_stats_scan(tt, &s->st_scan);
		phase_log("tt --stats --by service (scan)", &s->st_scan);
	}
	if (s->sql.rc == 0) {
		sql_lookups(db, ids, o->lookups, &s->sql_get, &s->sql_get_r);
		note("  sqlite lookup p50 %.1f us p99 %.1f us (%.2f rec/id)", s->sql_get.p50,
		    s->sql_get.p99, (double)s->sql_get.records / o->lookups);
		sql_scan_all(db, &s->sql_scan);
		phase_log("sqlite scan", &s->sql_scan);
		sql_tail(db, o->tail_reps, &s->sql_tail, &s->sql_tail_r);
		sql_stats(db, &s->sql_st);
		phase_log("sqlite GROUP BY service, minute", &s->sql_st);
	}
	/* recompressed (FORMAT.md 8.8): the same store after tt-check
	 * --recompress, its bytes and lookups (same ids) */
	if (s->mpk.rc == 0) {
		s->tt_index_used = tt_index_used(tt);
		run_child(&s->rw, recompress_child, tt);
		phase_log("tt recompress (rewrite sealed segments, LZ4-HC)", &s->rw);
		if (s->rw.rc == 0) {
			settle(s->d.dir);
			(void)tt_disk(tt, &s->rw_data, &s->rw_index, &s->rw_du, &s->rw_segs);
			s->rw_index_used = tt_index_used(tt);
			tt_lookups(tt, ids, o->lookups, &s->rw_get, &s->rw_get_r);
			note("  recompressed: data %.1f B/rec, index %.1f B/rec in use (file %.1f); "
			    "lookup p50 %.1f us p99 %.1f us", (double)s->rw_data / n,
			    (double)s->rw_index_used / n, (double)s->rw_index / n, s->rw_get.p50,
			    s->rw_get.p99);
		}
	}
	free_ids(all, ids);

	/* gc: a store with small segments, half of the data by age */
	if (n == o->gc_size) {
		s->gc = 1;
		aa.json = 0;
		aa.store = gcs;
		aa.segment_size = o->gc_seg_size;
		run_child(&s->gc_load, tt_phase_append, &aa);
		phase_log("tt append (gc store)", &s->gc_load);
		if (s->gc_load.rc == 0) {
			uint64_t d1, d2, d3;
			if (tt_disk(gcs, &d1, &d2, &d3, &s->gc_segs) < 0)
				s->gc_segs = 0;
			tt_gc_age(gcs, s->d.ts_median, &s->tt_gc);
			phase_log("tt gc", &s->tt_gc);
		}
		if (s->sql.rc == 0) {
			char a[640], b[640];
			(void)copy_file(db, gdb);
			snprintf(a, sizeof a, "%s-wal", db);
			snprintf(b, sizeof b, "%s-wal", gdb);
			(void)copy_file(a, b);
			sql_gc_age(gdb, s->d.ts_median, &s->sql_gc);
			phase_log("sqlite delete by age", &s->sql_gc);
		}
		(void)rm_rf(gcs);
		(void)rm_rf(gdb);
		snprintf(gdb + strlen(gdb), sizeof gdb - strlen(gdb), "-wal");
		(void)rm_rf(gdb);
	}
}

/* ---- report */

typedef struct rep {
	char *p;
	size_t n, cap;
} rep;

static void rp(rep *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rp(rep *r, const char *fmt, ...)
{
	va_list ap;
	int k;

	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(r->p + r->n, r->cap - r->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && (size_t)k < r->cap - r->n)
			break;
		r->cap = r->cap * 2 + (size_t)(k > 0 ? k : 0) + 1024;
		r->p = realloc(r->p, r->cap);
		if (r->p == NULL)
			die("out of memory");
	}
	r->n += (size_t)k;
}

static double rate(const bres *r)
{
	return r->rc == 0 && r->secs > 0 ? (double)r->records / r->secs : 0;
}

static const char *fmt_rate(char *b, size_t cap, const bres *r, const char *unit)
{
	if (r->rc)
		snprintf(b, cap, "error (see below)");
	else
		snprintf(b, cap, "%.3f M %s/s, %.0f MB/s", rate(r) / 1e6, unit,
		    r->secs > 0 ? (double)r->bytes / r->secs / 1e6 : 0);
	return b;
}

static const char *fmt_ratio(char *b, size_t cap, double tt, double sql)
{
	if (tt <= 0 || sql <= 0)
		snprintf(b, cap, "–");
	else
		snprintf(b, cap, "%.2f", tt / sql);
	return b;
}

/* " (12 % short)" when value misses goal, else "" */
static const char *miss(char *b, size_t cap, double value, double goal, int higher_better)
{
	b[0] = '\0';
	if (value <= 0 || goal <= 0)
		return b;
	if (higher_better && value < goal)
		snprintf(b, cap, " (%.0f %% short)", 100 * (1 - value / goal));
	else if (!higher_better && value > goal)
		snprintf(b, cap, " (%.1f× the limit)", value / goal);
	return b;
}

static const char *verdict(int known, int met)
{
	return !known ? "n/a" : met ? "**met**" : "**missed**";
}

/* One table row: either side may have failed; the ratio only when both ran. */
static void row(rep *R, const char *fig, const char *tt, const char *sql, const char *ratio,
    const char *goal, const char *v)
{
	rp(R, "| %s | %s | %s | %s | %s | %s |\n", fig, tt, sql, ratio, goal, v);
}

static void report_size(rep *R, const opts *o, const sres *s)
{
	char a[160], b[160], c[160];
	double n = (double)s->d.n, sqlr = rate(&s->sql);
	int is10m = s->d.n >= 10000000, ok_t, ok_s;

	rp(R, "\n### %llu records (%llu correlation ids, %.0f B/record as JSON, %.0f B as msgpack)\n\n",
	    (unsigned long long)s->d.n, (unsigned long long)s->d.ids, s->d.json_bytes / n,
	    s->d.mpk_bytes / n);
	rp(R, "| figure | TeraTrace | SQLite (TraceHub-style) | TT / SQLite | goal | |\n");
	rp(R, "|---|---|---|---|---|---|\n");

	row(R, "append from canonical msgpack (`tt_writer_append`, durable at close)",
	    fmt_rate(a, sizeof a, &s->mpk, "rec"), fmt_rate(b, sizeof b, &s->sql, "rows"),
	    fmt_ratio(c, sizeof c, rate(&s->mpk), sqlr), "≥ 2 M/s, ≥ 10× SQLite",
	    verdict(s->mpk.rc == 0 && s->sql.rc == 0,
	        rate(&s->mpk) >= 2e6 && rate(&s->mpk) >= 10 * sqlr));
	row(R, "append from JSON lines (`tt_decode_json` → append)",
	    fmt_rate(a, sizeof a, &s->json, "rec"), fmt_rate(b, sizeof b, &s->sql, "rows"),
	    fmt_ratio(c, sizeof c, rate(&s->json), sqlr), "≥ 1.3 M/s, ≥ 10× SQLite",
	    verdict(s->json.rc == 0 && s->sql.rc == 0,
	        rate(&s->json) >= 1.3e6 && rate(&s->json) >= 10 * sqlr));
	if (s->dec.records || s->dec.rc)
		row(R, "JSON decode alone (`tt_decode_json`, no store; both JSON paths pay it)",
		    fmt_rate(a, sizeof a, &s->dec, "lines"), "–", "–", "–", "");

	ok_t = s->mpk.rc == 0 && s->disk_rc == 0;
	ok_s = s->sql.rc == 0;
	if (ok_t)
		snprintf(a, sizeof a, "%.1f B (segments %.1f + LMDB file %.1f; %llu segment(s))",
		    (double)s->tt_du / n, (double)s->tt_data / n, (double)s->tt_index / n,
		    (unsigned long long)s->tt_segs);
	snprintf(b, sizeof b, "%.1f B", (double)s->sql_du / n);
	row(R, "bytes on disk per record (du; TT: segments + LMDB; SQLite: db + wal + shm)",
	    ok_t ? a : "error", ok_s ? b : "error",
	    fmt_ratio(c, sizeof c, ok_t ? (double)s->tt_du : 0, ok_s ? (double)s->sql_du : 0),
	    "≤ 45 B, ≤ 1/13 (0.077)",
	    verdict(ok_t && ok_s, (double)s->tt_du / n <= 45 && s->tt_du * 13 <= s->sql_du));
	if (s->f1.rc == 0 && s->f1_du) {
		/* format 1 on the same records, same run: what format 2 gains and costs */
		snprintf(a, sizeof a, "%.1f B/record, lookup p50 / p99 %.1f / %.1f µs, append %.3f M/s",
		    (double)s->f1_du / n, s->f1_get.p50, s->f1_get.p99, rate(&s->f1) / 1e6);
		snprintf(b, sizeof b, "format 2 / format 1: bytes %.2f, lookup p50 %.2f",
		    s->f1_du ? (double)s->tt_du / (double)s->f1_du : 0,
		    s->f1_get.p50 > 0 ? s->tt_get.p50 / s->f1_get.p50 : 0);
		row(R, "format 1 (row-wise LZ4 blocks of 64 KiB, `TT_OPEN_FORMAT1`) on the same records",
		    a, "", b, "format 2 ≤ half the bytes",
		    verdict(ok_t, s->tt_du * 2 <= s->f1_du));
	}

	if (s->rw.rc == 0 && s->rw.aux) {
		/* the same store after tt-check --recompress (FORMAT.md 8.8) */
		snprintf(a, sizeof a, "%.1f B (segments %.1f + LMDB pages in use %.1f; file %.1f); "
		    "lookup p50 / p99 %.1f / %.1f µs; rewrite %.2f M rec/s",
		    (double)(s->rw_data + s->rw_index_used) / n, (double)s->rw_data / n,
		    (double)s->rw_index_used / n, (double)s->rw_index / n, s->rw_get.p50,
		    s->rw_get.p99, s->rw.secs > 0 ? s->rw.records / s->rw.secs / 1e6 : 0);
		snprintf(b, sizeof b, "%.1f B", (double)s->sql_du / n);
		row(R, "recompressed (`tt-check --recompress`: sealed, then rewritten with LZ4-HC)",
		    a, b, fmt_ratio(c, sizeof c, (double)(s->rw_data + s->rw_index_used),
		    (double)s->sql_du), "≤ 45 B",
		    verdict(1, (double)(s->rw_data + s->rw_index_used) / n <= 45));
		snprintf(a, sizeof a, "%.1f B (segments %.1f + LMDB pages in use %.1f)",
		    (double)(s->tt_data + s->tt_index_used) / n, (double)s->tt_data / n,
		    (double)s->tt_index_used / n);
		row(R, "as written, counting LMDB pages in use (the file also holds pages freed by "
		    "copy-on-write, reused later)", a, "", "", "", "");
	}

	ok_t = s->mpk.rc == 0 && s->tt_get_r.rc == 0;
	ok_s = s->sql.rc == 0 && s->sql_get_r.rc == 0;
	snprintf(a, sizeof a, "%.1f µs", s->tt_get.p50);
	snprintf(b, sizeof b, "%.1f µs", s->sql_get.p50);
	snprintf(c, sizeof c, "lookup by correlation id, p50 (%zu random ids, warm, in-process)",
	    o->lookups);
	{
		char r[32];
		row(R, c, ok_t ? a : "error", ok_s ? b : "error",
		    fmt_ratio(r, sizeof r, ok_t ? s->tt_get.p50 : 0, ok_s ? s->sql_get.p50 : 0),
		    "≤ 25 µs at 10 M, ahead", verdict(is10m && ok_t, s->tt_get.p50 <= 25 &&
		        (!ok_s || s->tt_get.p50 < s->sql_get.p50)));
		snprintf(a, sizeof a, "%.1f / %.0f µs", s->tt_get.p99, s->tt_get.max);
		snprintf(b, sizeof b, "%.1f / %.0f µs", s->sql_get.p99, s->sql_get.max);
		row(R, "lookup p99 / max", ok_t ? a : "error", ok_s ? b : "error",
		    fmt_ratio(r, sizeof r, ok_t ? s->tt_get.p99 : 0, ok_s ? s->sql_get.p99 : 0),
		    "≤ 100 µs at 10 M", verdict(is10m && ok_t, s->tt_get.p99 <= 100));
	}
	snprintf(a, sizeof a, "%.2f", (double)s->tt_get.records / o->lookups);
	snprintf(b, sizeof b, "%.2f", (double)s->sql_get.records / o->lookups);
	row(R, "records returned per lookup (both must agree)", ok_t ? a : "error",
	    ok_s ? b : "error", "", "equal",
	    !(ok_t && ok_s) ? "n/a" : s->tt_get.records == s->sql_get.records ? "ok" : "**MISMATCH**");

	ok_t = s->mpk.rc == 0 && s->tt_scan.rc == 0;
	ok_s = s->sql.rc == 0 && s->sql_scan.rc == 0;
	snprintf(a, sizeof a, "%.2f M rec/s (%.2f s)", rate(&s->tt_scan) / 1e6, s->tt_scan.secs);
	snprintf(b, sizeof b, "%.2f M rows/s (%.2f s)", rate(&s->sql_scan) / 1e6, s->sql_scan.secs);
	row(R, "scan everything in append order", ok_t ? a : "error", ok_s ? b : "error",
	    fmt_ratio(c, sizeof c, ok_t ? rate(&s->tt_scan) : 0, ok_s ? rate(&s->sql_scan) : 0),
	    "ahead", verdict(ok_t && ok_s, rate(&s->tt_scan) > rate(&s->sql_scan)));

	ok_t = s->mpk.rc == 0 && s->tt_tail_r.rc == 0;
	ok_s = s->sql.rc == 0 && s->sql_tail_r.rc == 0;
	snprintf(a, sizeof a, "%.1f / %.1f µs", s->tt_tail.p50, s->tt_tail.p99);
	snprintf(b, sizeof b, "%.1f / %.1f µs", s->sql_tail.p50, s->sql_tail.p99);
	row(R, "tail: newest 10 records, p50 / p99 (TT reverse scan; SQLite ORDER BY ts DESC LIMIT 10)",
	    ok_t ? a : "error", ok_s ? b : "error",
	    fmt_ratio(c, sizeof c, ok_t ? s->tt_tail.p50 : 0, ok_s ? s->sql_tail.p50 : 0), "ahead",
	    verdict(ok_t && ok_s, s->tt_tail.p50 < s->sql_tail.p50));

	ok_t = s->mpk.rc == 0 && s->mpk_norollup.rc == 0;
	snprintf(a, sizeof a, "%.2f M/s with, %.2f M/s without: %.1f %%; rollups %.2f MiB = %.2f %% "
	    "of the store", rate(&s->mpk) / 1e6, rate(&s->mpk_norollup) / 1e6,
	    rate(&s->mpk_norollup) > 0 ? 100 * rate(&s->mpk) / rate(&s->mpk_norollup) : 0,
	    s->rollup_bytes / MiB, s->tt_du ? 100.0 * (double)s->rollup_bytes / (double)s->tt_du : 0);
	row(R, "cost of the per-minute rollups (msgpack append with and without `TT_OPEN_NOROLLUP`; "
	    "rollup pages)", ok_t ? a : "error", "", "", "≥ 95 %, ≤ 3 % of the bytes",
	    verdict(ok_t, rate(&s->mpk) >= 0.95 * rate(&s->mpk_norollup) &&
	        s->rollup_bytes * 100 <= 3 * s->tt_du));

	ok_t = s->mpk.rc == 0 && s->st_roll_r.rc == 0;
	ok_s = s->sql.rc == 0 && s->sql_st.rc == 0;
	snprintf(a, sizeof a, "%.2f ms p50, %.2f ms p99 (%llu rows, rollups)", s->st_roll.p50 / 1e3,
	    s->st_roll.p99 / 1e3, (unsigned long long)s->st_roll_r.records);
	snprintf(b, sizeof b, "%.1f ms (GROUP BY source_id, ts / 60 s)", s->sql_st.secs * 1e3);
	if (ok_t && ok_s && s->st_roll.p50 > 0)
		snprintf(c, sizeof c, "1/%.0f", s->sql_st.secs * 1e6 / s->st_roll.p50);
	else
		snprintf(c, sizeof c, "–");
	row(R, "`--stats --by service --every 1m` over the whole store (in-process)",
	    ok_t ? a : "error", ok_s ? b : "error", c,
	    "≤ 10 ms at 10 M", verdict(is10m && ok_t, s->st_roll.p50 <= 10000));
	ok_t = s->mpk.rc == 0 && s->st_scan.rc == 0;
	{
		double core = s->st_scan.cpu_secs > 0 ? (double)s->st_scan.records / s->st_scan.cpu_secs : 0;
		snprintf(a, sizeof a, "%.2f M rec/s (%.2f s; %.2f M rec/s per core: %.2f s of CPU)",
		    rate(&s->st_scan) / 1e6, s->st_scan.secs, core / 1e6, s->st_scan.cpu_secs);
		snprintf(b, sizeof b, "%.2f M rows/s", rate(&s->sql_st) / 1e6);
		row(R, "`--stats --by service --scan`: aggregate by reading every record", ok_t ? a : "error",
		    ok_s ? b : "error",
		    fmt_ratio(c, sizeof c, ok_t ? rate(&s->st_scan) : 0, ok_s ? rate(&s->sql_st) : 0),
		    "≥ 5 M rec/s on one core", verdict(ok_t, core >= 5e6));
	}

	if (s->gc) {
		double tr = rate(&s->tt_gc), sr = rate(&s->sql_gc);
		char f[200];
		ok_t = s->gc_load.rc == 0 && s->tt_gc.rc == 0;
		ok_s = s->sql.rc == 0 && s->sql_gc.rc == 0;
		snprintf(f, sizeof f, "gc by age, the older half (TT: %llu of %llu sealed %.0f MiB "
		    "segments; SQLite: DELETE WHERE ts < ? in one transaction)",
		    (unsigned long long)s->tt_gc.aux, (unsigned long long)s->gc_segs,
		    o->gc_seg_size / MiB);
		snprintf(a, sizeof a, "%.0f segments/s, %.2f M rec/s, %.0f MB/s freed (%.1f ms)",
		    s->tt_gc.secs > 0 ? s->tt_gc.aux / s->tt_gc.secs : 0, tr / 1e6,
		    s->tt_gc.secs > 0 ? s->tt_gc.aux2 / s->tt_gc.secs / 1e6 : 0, s->tt_gc.secs * 1e3);
		snprintf(b, sizeof b, "%.3f M rows/s (%.1f ms); the file does not shrink",
		    sr / 1e6, s->sql_gc.secs * 1e3);
		row(R, f, ok_t ? a : "error", ok_s ? b : "error",
		    fmt_ratio(c, sizeof c, ok_t ? tr : 0, ok_s ? sr : 0), "ahead",
		    verdict(ok_t && ok_s, tr > sr));
	}
	snprintf(a, sizeof a, "msgpack %.1f MiB (heap %.1f, mapped files %.1f), JSON %.1f MiB "
	    "(heap %.1f, mapped files %.1f)", s->mpk.maxrss_kib / 1024.0,
	    s->mpk.anon_kib / 1024.0, s->mpk.file_kib / 1024.0, s->json.maxrss_kib / 1024.0,
	    s->json.anon_kib / 1024.0, s->json.file_kib / 1024.0);
	snprintf(b, sizeof b, "%.1f MiB", s->sql.maxrss_kib / 1024.0);
	snprintf(c, sizeof c, "peak RSS of the ingest process (forked child, ru_maxrss; heap = max "
	    "RssAnon, mapped files = max RssFile, e.g. the LMDB map; empty child = %.1f MiB)",
	    baseline_rss_kib / 1024.0);
	row(R, c, a, b, "", "writer ≤ 32 MiB",
	    verdict(s->mpk.rc == 0 && s->json.rc == 0,
	        s->mpk.maxrss_kib <= 32 * 1024 && s->json.maxrss_kib <= 32 * 1024));

	/* errors, spelled out */
	{
		const struct { const char *what; const bres *r; } ph[] = {
			{ "tt append msgpack", &s->mpk }, { "tt append JSON", &s->json },
			{ "tt decode only", &s->dec }, { "sqlite load", &s->sql },
			{ "tt lookup", &s->tt_get_r }, { "sqlite lookup", &s->sql_get_r },
			{ "tt scan", &s->tt_scan }, { "sqlite scan", &s->sql_scan },
			{ "tt tail", &s->tt_tail_r }, { "sqlite tail", &s->sql_tail_r },
			{ "tt gc store append", &s->gc_load }, { "tt gc", &s->tt_gc },
			{ "sqlite gc", &s->sql_gc }, { "tt append no rollups", &s->mpk_norollup },
			{ "tt append format 1", &s->f1 }, { "tt lookup format 1", &s->f1_get_r },
			{ "tt stats rollups", &s->st_roll_r }, { "tt stats scan", &s->st_scan },
			{ "sqlite stats", &s->sql_st },
		};
		size_t i;
		for (i = 0; i < sizeof ph / sizeof ph[0]; i++)
			if (ph[i].r->rc)
				rp(R, "\n- error in %s: %s", ph[i].what, ph[i].r->err);
		if (s->disk_rc)
			rp(R, "\n- error in tt_store_stats: %s", tt_strerror(s->disk_rc));
		if (s->mpk.aux || s->json.aux || s->sql.aux)
			rp(R, "\n- rejected records: msgpack %llu, JSON %llu, sqlite %llu",
			    (unsigned long long)s->mpk.aux, (unsigned long long)s->json.aux,
			    (unsigned long long)s->sql.aux);
		if (s->ttj_du && s->tt_du && s->ttj_du != s->tt_du)
			rp(R, "\n- the store written from JSON lines took %.1f B/record on disk",
			    (double)s->ttj_du / n);
		rp(R, "\n");
	}
}

static void report_goals(rep *R, const opts *o, const sres *res, int nres)
{
	const sres *big = &res[nres - 1];
	double n = (double)big->d.n;
	double tb = big->tt_du / n, sb = big->sql_du / n;
	double m = rate(&big->mpk), j = rate(&big->json), q = rate(&big->sql);
	char sz[32], c[64];

	(void)o;
	snprintf(sz, sizeof sz, "%g M records", n / 1e6);
	rp(R, "\n## Goals (issue 12, storage format 2), judged at the largest size (%s)\n\n", sz);
	rp(R, "| goal | measured | verdict |\n|---|---|---|\n");
	rp(R, "| ≤ 45 B on disk per record, index included (≤ 1/13 of SQLite) | %.1f B (1/%.1f) | %s%s |\n",
	    tb, tb > 0 ? sb / tb : 0, verdict(big->mpk.rc == 0 && big->sql.rc == 0,
	        tb <= 45 && tb * 13 <= sb), miss(c, sizeof c, tb, 45, 0));
	rp(R, "| lookup p50 ≤ 25 µs warm, in-process, at 10 M, ahead of SQLite | %.1f µs (SQLite %.1f) at %s | %s%s |\n",
	    big->tt_get.p50, big->sql_get.p50, sz, verdict(big->d.n >= 10000000 &&
	        big->tt_get_r.rc == 0, big->tt_get.p50 <= 25 && big->tt_get.p50 < big->sql_get.p50),
	    big->d.n >= 10000000 ? miss(c, sizeof c, big->tt_get.p50, 25, 0) : "");
	rp(R, "| lookup p99 ≤ 100 µs at 10 M | %.1f µs at %s | %s%s |\n", big->tt_get.p99, sz,
	    verdict(big->d.n >= 10000000 && big->tt_get_r.rc == 0, big->tt_get.p99 <= 100),
	    big->d.n >= 10000000 ? miss(c, sizeof c, big->tt_get.p99, 100, 0) : "");
	rp(R, "| writer RSS ≤ 32 MiB whatever the volume | %.1f MiB (msgpack; heap %.1f, mapped "
	      "files %.1f), %.1f MiB (JSON) | %s |\n",
	    big->mpk.maxrss_kib / 1024.0, big->mpk.anon_kib / 1024.0, big->mpk.file_kib / 1024.0,
	    big->json.maxrss_kib / 1024.0,
	    verdict(big->mpk.rc == 0 && big->json.rc == 0,
	        big->mpk.maxrss_kib <= 32 * 1024 && big->json.maxrss_kib <= 32 * 1024));
	rp(R, "| append ≥ 2 M records/s from msgpack (both cores) | %.2f M/s | %s%s |\n", m / 1e6,
	    verdict(big->mpk.rc == 0, m >= 2e6), miss(c, sizeof c, m, 2e6, 1));
	rp(R, "| append ≥ 1.3 M records/s from JSON lines | %.2f M/s | %s%s |\n", j / 1e6,
	    verdict(big->json.rc == 0, j >= 1.3e6), miss(c, sizeof c, j, 1.3e6, 1));
	rp(R, "| ingest ≥ 10× SQLite (msgpack / JSON lines) | %.1f× / %.1f× | %s |\n",
	    q > 0 ? m / q : 0, q > 0 ? j / q : 0,
	    verdict(q > 0 && m > 0 && j > 0, m >= 10 * q && j >= 10 * q));
	if (big->f1_du)
		rp(R, "| half the bytes of format 1 (same records, same run) | %.1f B vs %.1f B: %.2f | %s |\n",
		    tb, big->f1_du / n, big->f1_du ? (double)big->tt_du / (double)big->f1_du : 0,
		    verdict(big->mpk.rc == 0 && big->f1.rc == 0, big->tt_du * 2 <= big->f1_du));
	if (big->rw.rc == 0 && big->rw.aux) {
		double rb = (double)(big->rw_data + big->rw_index_used) / n;
		rp(R, "| ≤ 45 B per record after `tt-check --recompress` (LMDB pages in use) | %.1f B "
		      "(data %.1f + index %.1f) | %s%s |\n", rb, big->rw_data / n,
		    big->rw_index_used / n, verdict(1, rb <= 45), miss(c, sizeof c, rb, 45, 0));
		rp(R, "| lookup after it, p50 / p99 | %.1f / %.1f µs (SQLite %.1f / %.1f) | %s |\n",
		    big->rw_get.p50, big->rw_get.p99, big->sql_get.p50, big->sql_get.p99,
		    verdict(big->rw_get_r.rc == 0, big->rw_get.p50 <= 25 && big->rw_get.p99 <= 100));
	}
	rp(R, "| every figure ahead of SQLite | see the TT / SQLite column | |\n");
}

static void report(const opts *o, const sres *res, int nres, const char *cmd, double total_s)
{
	rep R = { NULL, 0, 0 };
	char date[64], facts[2048] = "";
	time_t t = time(NULL);
	int i;

	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&t));
	machine_facts(o->out, facts, sizeof facts);
	rp(&R, "# TeraTrace benchmark results\n\n");
	rp(&R, "Produced by `make bench` (bench/run.sh → build*/bench/ttbench); do not edit by hand.\n\n");
	rp(&R, "- date: %s\n- command: `%s`\n- total run time: %.0f s\n%s", date, cmd, total_s, facts);
	rp(&R, "- TeraTrace: libteratrace.a %s, default store options (format 2: columnar "
	       "blocks of 256 KiB, 256 MiB segments, TT_SYNC_FULL: fdatasync + synced LMDB "
	       "commit)\n", TT_VERSION_STRING);
	rp(&R, "- SQLite %s: WAL, synchronous=NORMAL (commits not fsynced — weaker durability "
	       "than TeraTrace's setting), default page/cache size, prepared INSERT in "
	       "transactions of 10 000 rows; columns extracted with the same JSON decoder; "
	       "lookup `%s`\n", sqlite3_libversion(), sql_lookup_sql);
	rp(&R, "- data: bench/tt-gen records (seed %llu), the same bytes for both sides; the "
	       "machine is shared and noisy, so treat single figures as ±15 %%\n",
	    (unsigned long long)o->seed);
	rp(&R, "\nRatios are TeraTrace ÷ SQLite: above 1 is better for rates, below 1 is better "
	       "for latencies and bytes.\n");
	for (i = 0; i < nres; i++)
		report_size(&R, o, &res[i]);
	report_goals(&R, o, res, nres);
	rp(&R, "\n<details><summary>SQLite schema</summary>\n\n```sql\n%s```\n</details>\n",
	    sql_schema);

	fwrite(R.p, 1, R.n, stdout);
	fflush(stdout);
	if (o->results) {
		FILE *f = fopen(o->results, "we");
		if (f == NULL || fwrite(R.p, 1, R.n, f) != R.n || fclose(f) != 0)
			die("cannot write %s: %s", o->results, strerror(errno));
		note("wrote %s", o->results);
	}
	free(R.p);
}

/* ---- commands */

static void usage(void)
{
	fputs("usage: ttbench run [--out DIR] [--sizes \"N ...\"] [--seed S] [--lookups K]\n"
	      "                   [--tail-reps R] [--gc-size N] [--gc-segment-size BYTES]\n"
	      "                   [--results FILE] [--keep-largest]\n"
	      "       ttbench gen N DIR\n"
	      "       ttbench append-mpk DIR STORE\n"
	      "       ttbench append-json DIR STORE\n"
	      "       ttbench lookup DIR STORE [K]\n"
	      "       ttbench tail STORE [R]\n", stderr);
	exit(2);
}

static int cmd_run(int argc, char **argv)
{
	opts o;
	sres *res;
	char cmd[1024] = "";
	const char *env_cmd = getenv("BENCH_CMD");
	uint64_t t0 = bnow_ns();
	bres base;
	int i;

	memset(&o, 0, sizeof o);
	o.out = "bench/out";
	o.seed = 1;
	o.lookups = 10000;
	o.tail_reps = 1000;
	o.gc_seg_size = 1u << 20;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x;
		if (strcmp(a, "--keep-largest") == 0) {
			o.keep_largest = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--out") == 0)
			o.out = v;
		else if (strcmp(a, "--results") == 0)
			o.results = v;
		else if (strcmp(a, "--sizes") == 0) {
			char *dup = strdup(v), *tok, *sp;
			for (tok = strtok_r(dup, " ,", &sp); tok; tok = strtok_r(NULL, " ,", &sp)) {
				if (o.nsizes == MAX_SIZES || parse_u64(tok, &x) || x == 0)
					usage();
				o.sizes[o.nsizes++] = x;
			}
			free(dup);
		} else if (parse_u64(v, &x))
			usage();
		else if (strcmp(a, "--seed") == 0)
			o.seed = x;
		else if (strcmp(a, "--lookups") == 0 && x > 0)
			o.lookups = x;
		else if (strcmp(a, "--tail-reps") == 0 && x > 0)
			o.tail_reps = x;
		else if (strcmp(a, "--gc-size") == 0)
			o.gc_size = x;
		else if (strcmp(a, "--gc-segment-size") == 0 && x >= 4096)
			o.gc_seg_size = x;
		else
			usage();
	}
	if (o.nsizes == 0)
		o.sizes[o.nsizes++] = 1000000;
	if (o.gc_size == 0)
		o.gc_size = o.sizes[0];
	if (env_cmd)
		snprintf(cmd, sizeof cmd, "%s", env_cmd);
	else
		snprintf(cmd, sizeof cmd, "ttbench run ...");
	if (mkdir_p(o.out) < 0)
		die("cannot create %s: %s", o.out, strerror(errno));

	run_child(&base, noop_child, NULL);
	baseline_rss_kib = base.maxrss_kib;
	res = calloc((size_t)o.nsizes, sizeof *res);
	if (res == NULL)
		die("out of memory");
	for (i = 0; i < o.nsizes; i++) {
		char dir[600];
		run_size(&o, o.sizes[i], &res[i]);
		/* keep only what bench/tools.sh needs: the largest size's store and db */
		snprintf(dir, sizeof dir, "%s", res[i].d.dir);
		if (!(o.keep_largest && i == o.nsizes - 1))
			(void)rm_rf(dir);
		else {
			char p[700];
			FILE *f;
			snprintf(p, sizeof p, "%s/data.jsonl", dir);
			(void)unlink(p);
			snprintf(p, sizeof p, "%s/data.mpk", dir);
			(void)unlink(p);
			snprintf(p, sizeof p, "%s/kept", o.out); /* for bench/tools.sh */
			if ((f = fopen(p, "we")) != NULL) {
				fprintf(f, "%s\n", dir);
				fclose(f);
			}
		}
	}
	report(&o, res, o.nsizes, cmd, (double)(bnow_ns() - t0) / 1e9);
	free(res);
	return 0;
}

static void load_dir(const char *dir, bdata *d)
{
	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "%s", dir);
	if (meta_read(d) < 0)
		die("%s/meta: missing or unreadable (run `ttbench gen N %s` first)", dir, dir);
}

int main(int argc, char **argv)
{
	bres r;
	bdata d;

	memset(&r, 0, sizeof r);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "gen") == 0 && argc == 4) {
		uint64_t n;
		if (parse_u64(argv[2], &n))
			usage();
		memset(&d, 0, sizeof d);
		snprintf(d.dir, sizeof d.dir, "%s", argv[3]);
		if (tt_gen_data(&d, n, 1, &r) < 0)
			die("%s", r.err);
		meta_write(&d);
		return 0;
	}
	if ((strcmp(argv[1], "append-mpk") == 0 || strcmp(argv[1], "append-json") == 0) &&
	    argc == 4) {
		tt_append_args a;
		memset(&a, 0, sizeof a);
		load_dir(argv[2], &d);
		a.d = &d;
		a.store = argv[3];
		a.json = argv[1][7] == 'j';
		/* for profiling: what the rollups cost, format 1, other block sizes */
		a.no_rollup = getenv("BENCH_NOROLLUP") != NULL;
		a.format1 = getenv("BENCH_FORMAT1") != NULL;
		if (getenv("BENCH_BLOCK"))
			a.block_size = (uint32_t)strtoul(getenv("BENCH_BLOCK"), NULL, 0);
		if (tt_phase_append(&a, &r) < 0)
			die("%s", r.err);
		printf("%llu records in %.3f s: %.3f M rec/s, %.1f MB/s\n",
		    (unsigned long long)r.records, r.secs, r.records / r.secs / 1e6,
		    r.bytes / r.secs / 1e6);
		return 0;
	}
	if (strcmp(argv[1], "lookup") == 0 && (argc == 4 || argc == 5)) {
		uint64_t k = 10000;
		char **all, **ids;
		blat l;
		if (argc == 5 && parse_u64(argv[4], &k))
			usage();
		load_dir(argv[2], &d);
		ids = pick_ids(&d, k, 1, &all);
		if (tt_lookups(argv[3], ids, k, &l, &r) < 0)
			die("%s", r.err);
		printf("%llu lookups: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.0f us, %.2f rec/id\n",
		    (unsigned long long)l.n, l.p50, l.p90, l.p99, l.max, (double)l.records / k);
		free_ids(all, ids);
		return 0;
	}
	if (strcmp(argv[1], "tail") == 0 && (argc == 3 || argc == 4)) {
		uint64_t k = 1000;
		blat l;
		if (argc == 4 && parse_u64(argv[3], &k))
			usage();
		if (tt_tail(argv[2], k, &l, &r) < 0)
			die("%s", r.err);
		printf("%llu tails of 10: p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.0f us\n",
		    (unsigned long long)l.n, l.p50, l.p90, l.p99, l.max);
		return 0;
	}
	usage();
}
