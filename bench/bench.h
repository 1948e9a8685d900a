/*
 * bench.h -- shared pieces of the benchmark harness (bench/ttbench).
 *
 * The harness generates a data set once per size into a work directory
 * (data.jsonl, data.mpk, ids.txt, meta), then runs each ingest phase in a
 * forked child so that its peak RSS is its own, and the read phases
 * (lookups, scan, tail, gc) in-process. Files:
 *   ttbench.c     orchestration, report, RESULTS.md
 *   bench_tt.c    the TeraTrace side (libteratrace.a)
 *   bench_sql.c   the SQLite side, set up the way TraceHub does it
 *   bench_util.c  clocks, percentiles, file readers, fork/wait, machine facts
 */
#ifndef TT_BENCH_H
#define TT_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Result of one phase; a child sends it back through a pipe. */
typedef struct bres {
	int rc;              /* 0 ok; otherwise err says why */
	char err[240];
	uint64_t records;    /* records processed */
	uint64_t bytes;      /* input bytes processed (msgpack or JSON text) */
	uint64_t aux;        /* phase-specific: rejected lines, rows deleted, ... */
	uint64_t aux2;       /* phase-specific: bytes freed, ... */
	double secs;         /* wall time of the measured part */
	double cpu_secs;     /* CPU time of the process over it (user + system), where measured */
	long maxrss_kib;     /* peak RSS of the child (filled in by run_child) */
	long anon_kib;       /* largest RssAnon sampled during the phase (heap) */
	long file_kib;       /* largest RssFile+RssShmem sampled (mapped files: LMDB) */
} bres;

/* Latency summary of n samples (ns in, microseconds out). */
typedef struct blat {
	double p50, p90, p99, max, mean; /* microseconds */
	uint64_t n;                      /* samples */
	uint64_t records;                /* records returned in total */
	uint64_t bytes;                  /* record bytes returned in total */
} blat;

/* The data set of one size, as written by ttbench's gen phase. */
typedef struct bdata {
	char dir[512];       /* work directory of this size */
	uint64_t n;          /* records */
	uint64_t ids;        /* distinct correlation ids */
	uint64_t json_bytes; /* data.jsonl, newlines included */
	uint64_t mpk_bytes;  /* canonical msgpack bytes (frames excluded) */
	int64_t ts_min, ts_max, ts_median;
} bdata;

/* ---- bench_util.c */
uint64_t bnow_ns(void);
void blat_from(blat *l, uint64_t *ns, size_t n); /* sorts ns */
void bres_fail(bres *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Run fn in a forked child; its bres comes back with maxrss_kib set. */
int run_child(bres *out, int (*fn)(void *ctx, bres *r), void *ctx);
/* Current RssAnon and RssFile+RssShmem of this process; keeps the maxima. */
void rss_sample(bres *r);
uint64_t du_bytes(const char *path);   /* allocated bytes under path */
uint64_t file_bytes(const char *path); /* st_size, 0 if missing */
int rm_rf(const char *path);
/* Write back dirty pages of the file system holding path (untimed), so one
 * phase's writeback does not land in the next phase's figures. */
void settle(const char *path);
int mkdir_p(const char *path);
int copy_file(const char *from, const char *to);
/* Machine facts for RESULTS.md: "key: value" lines appended to out. */
void machine_facts(const char *dir, char *out, size_t cap);
char *path_join(char *buf, size_t cap, const char *a, const char *b);

/* Chunked sequential reader for data files: lines or u32-framed records. The
 * buffer keeps BRD_SLACK readable bytes past every item (JSON padding). */
#define BRD_SLACK 64
typedef struct brd {
	int fd;
	uint8_t *buf;
	size_t cap, lo, hi;
	int eof;
} brd;
int brd_open(brd *r, const char *path, size_t cap);
void brd_close(brd *r);
/* 1 = item, 0 = end, <0 = error (-errno or -EBADMSG for a torn frame). */
int brd_line(brd *r, const char **p, size_t *n);
int brd_frame(brd *r, const uint8_t **p, size_t *n);
/* ids.txt -> array of NUL-terminated strings (one allocation). */
int load_ids(const char *path, char ***ids, size_t *n);

/* ---- bench_tt.c: TeraTrace */
int tt_gen_data(bdata *d, uint64_t n, uint64_t seed, bres *r);
typedef struct tt_append_args {
	const bdata *d;
	const char *store;
	int json;              /* from data.jsonl via tt_decode_json, else data.mpk */
	int decode_only;       /* json: decode, do not append (decoder cost alone) */
	uint64_t segment_size; /* 0 = library default */
	int no_rollup;         /* TT_OPEN_NOROLLUP: what the rollups cost */
	int format1;           /* TT_OPEN_FORMAT1: version-1 segments (row-wise blocks) */
	uint32_t block_size;   /* 0 = library default */
} tt_append_args;
int tt_phase_append(void *args, bres *r); /* for run_child */
int tt_lookups(const char *store, char **ids, size_t nids, blat *warm, bres *r);
int tt_recompress(const char *store, bres *r); /* seal, then tt_store_rewrite */
uint64_t tt_index_used(const char *store);    /* index pages in use, bytes */
int tt_scan_all(const char *store, bres *r);
/* --stats --by service --every 1m over the whole store: from the rollups
 * (reps times, latency in l; rows in r->records) and by a scan (records/s). */
int tt_stats_rollup(const char *store, size_t reps, blat *l, bres *r);
int tt_stats_scan(const char *store, bres *r);
uint64_t tt_rollup_bytes(const char *store);
int tt_tail(const char *store, size_t reps, blat *l, bres *r);
int tt_gc_age(const char *store, int64_t cutoff_ns, bres *r);
int tt_disk(const char *store, uint64_t *data, uint64_t *index, uint64_t *du,
    uint64_t *segments);

/* ---- bench_sql.c: SQLite, TraceHub style */
typedef struct sql_load_args {
	const bdata *d;
	const char *db;
	int batch; /* rows per transaction */
} sql_load_args;
int sql_phase_load(void *args, bres *r); /* for run_child */
int sql_lookups(const char *db, char **ids, size_t nids, blat *l, bres *r);
int sql_scan_all(const char *db, bres *r);
int sql_tail(const char *db, size_t reps, blat *l, bres *r);
int sql_gc_age(const char *db, int64_t cutoff_ns, bres *r);
uint64_t sql_disk(const char *db); /* db + wal + shm bytes */
/* The same aggregate in SQL: count and errors per service per minute. */
int sql_stats(const char *db, bres *r);
extern const char sql_schema[];
extern const char sql_lookup_sql[];

#endif /* TT_BENCH_H */
