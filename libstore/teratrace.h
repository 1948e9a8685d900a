/*
 * teratrace.h -- the TeraTrace store: the one public header of libteratrace.
 *
 * A store is a directory holding an LMDB index (index/) and append-only,
 * LZ4-compressed segment files (seg/). The on-disk layout is specified in
 * format/FORMAT.md; this header is the only interface the tools and ttd use.
 *
 * Conventions (as LMDB):
 *   - every function returns 0 (or a positive count) on success and a negative
 *     code on failure: -errno, an LMDB code (-30799..-30780) or TT_E* (-30999..
 *     -30900, see ttformat.h). tt_strerror() names all of them.
 *   - opaque handles, one per concept; free/close functions accept NULL.
 *   - the library never prints, logs, or exits; problems found while reading
 *     (bad blocks) are reported through tt_store_opts.on_problem.
 *   - pointer lifetimes are stated at each type; a tt_rec is valid only during
 *     the callback that receives it.
 * Thread safety: a tt_store may be shared by threads; a tt_writer is used by one
 * thread at a time (its own background thread is internal); callbacks run on the
 * calling thread.
 */
#ifndef TERATRACE_H
#define TERATRACE_H

#include <stddef.h>
#include <stdint.h>

#include "ttformat.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TT_VERSION_STRING "0.1.0"

const char *tt_strerror(int err);
/* 1 when err says the LMDB index is damaged (not there, cut short, a page
 * missing or wrong): tt-check --rebuild-index rebuilds it from the segments. */
int tt_index_damaged(int err);

/* ---- opening a store */

typedef struct tt_store tt_store;

/* A problem found while reading: a block that fails its checksum, a segment
 * file that is missing or shorter than the index says. Valid during the call. */
typedef struct tt_problem {
	uint64_t segment; /* segment id (file seg/<16 hex>.tts) */
	uint64_t offset;  /* byte offset of the block in that file */
	int code;         /* TT_ECORRUPT, -ENOENT, ... */
	const char *what; /* human text: "block checksum mismatch" */
} tt_problem;

enum tt_sync {
	TT_SYNC_FULL = 0, /* default: fdatasync segment, then synced LMDB commit:
	                   * acknowledged records survive power loss */
	TT_SYNC_NONE = 1  /* no fsync: survives a process crash, not power loss */
};

#define TT_OPEN_CREATE     0x1u /* create the store if missing */
#define TT_OPEN_RDONLY     0x2u /* never write (no recovery, no writer) */
#define TT_OPEN_NORECOVER  0x4u /* skip the open-time recovery pass (tt-check) */
#define TT_OPEN_REBUILD    0x8u /* open even when the index does not (damaged): then
                                 * only tt_store_check(s, 1, ...) works, replacing it */
#define TT_OPEN_NOROLLUP  0x20u /* this writer folds no rollups (what they cost, for
                                 * benchmarks); --stats then needs TT_STATQ_SCAN */
#define TT_OPEN_ONESHOT   0x80u /* with TT_OPEN_RDONLY: a process that reads and exits
                                 * (tt-query, tt-tail without -f, tt-stat): LMDB's
                                 * table of databases is sized to the segments
                                 * there are, not to LIVE_SEG_MAX. LMDB touches that
                                 * table in every transaction and at close (~100
                                 * pages of a one-lookup process's ~340); a handle
                                 * so opened cannot read segments created later */
#define TT_OPEN_FORMAT1   0x40u /* new segments in format version 1 (row-wise LZ4
                                 * blocks, readable by TeraTrace 0.1; FORMAT.md 12) */
#define TT_OPEN_GROUP     0x10u /* make the store readable by group gid: its files and
                                 * the ones it creates later (FORMAT.md 3); a store
                                 * whose directory is g+r stays so without the flag */

typedef struct tt_store_opts {
	unsigned flags;          /* TT_OPEN_* */
	uint64_t map_size;       /* initial LMDB map bytes; 0 = 1 GiB (grows x2 on demand) */
	uint64_t segment_size;   /* seal a segment at this file size; 0 = 256 MiB */
	int64_t segment_age_ns;  /* seal a segment this old; 0 = 1 hour */
	uint32_t block_size;     /* raw bytes per block; 0 = 256 KiB (format 1: 64 KiB;
	                          * max 1 MiB) */
	uint32_t commit_ms;      /* group commit / partial-block flush interval; 0 = 10 */
	int sync;                /* enum tt_sync */
	size_t rec_max;          /* largest record accepted; 0 = TT_REC_MAX_DEFAULT */
	void (*on_problem)(void *ctx, const tt_problem *p); /* may be NULL */
	void *problem_ctx;
	uint32_t gid;            /* TT_OPEN_GROUP: the group; (uint32_t)-1 keeps the
	                          * directory's group */
	/* Called now and then by long work (tt_store_check: "check" in segment
	 * bytes, "rebuild" in segment files; tt_store_gc: "gc" in segments) with
	 * how much of it is done; may be NULL. Runs on the calling thread. */
	void (*on_progress)(void *ctx, const char *what, uint64_t done, uint64_t total);
	void *progress_ctx;
} tt_store_opts;

/* Open (and with TT_OPEN_CREATE create) the store at dir. Unless RDONLY or
 * NORECOVER, recovers unsealed segments whose writer died: cuts torn tails and
 * indexes blocks that were written but not indexed. TT_EVERSION for a store of
 * an unknown format version. */
int tt_store_open(tt_store **out, const char *dir, const tt_store_opts *opts);
void tt_store_close(tt_store *s);
const char *tt_store_dir(const tt_store *s);

/* ---- writing */

typedef struct tt_writer tt_writer;

/* Open a writer: adopts an unsealed segment no live process holds, or creates
 * one; starts a background thread that compresses and writes full blocks and
 * commits every commit_ms. */
int tt_writer_open(tt_store *s, tt_writer **out);

/* Append one canonical record (ttformat.h). The bytes are copied. Returns the
 * record's ticket (> 0, increasing) or <0: TT_EBADREC if not canonical,
 * TT_ETOOBIG over rec_max, TT_ECLOSED after a background failure (then
 * tt_writer_error() tells the cause). May block while the write queue is full. */
int64_t tt_writer_append(tt_writer *w, const uint8_t *rec, size_t len);

/* As tt_writer_append, for bytes passed on unchanged from a tt_sink record
 * callback of tt_decode_*: the decoders guarantee the canonical form, so the
 * check is skipped (it costs about a tenth of JSON ingest). Bytes from anywhere
 * else must go through tt_writer_append. */
int64_t tt_writer_append_decoded(tt_writer *w, const uint8_t *rec, size_t len);

/* Everything appended so far: written, synced per policy, indexed. */
int tt_writer_flush(tt_writer *w);
/* Highest ticket that is durable (all tickets <= it are). */
uint64_t tt_writer_durable(const tt_writer *w);
/* Wait until ticket is durable or timeout_ms passes (-1 = forever): 0 or -ETIMEDOUT. */
int tt_writer_wait(tt_writer *w, uint64_t ticket, int timeout_ms);
/* A file descriptor that becomes readable after each commit (drain it with
 * tt_writer_notify_drain); for event loops. */
int tt_writer_notify_fd(const tt_writer *w);
void tt_writer_notify_drain(tt_writer *w);
/* Record bytes appended but not yet written to the segment file (the block
 * being filled plus the compression queue; at most about 4 MiB): a measure of
 * how far the writer thread is behind, for back-pressure decisions. */
size_t tt_writer_pending(const tt_writer *w);
/* First background error, or 0. A failed write, sync or index commit (ENOSPC,
 * EIO, ...) stops the writer for good: the records that were not durable yet
 * are discarded (their blocks are cut off the segment, so they never appear
 * later), every wait on them returns the error, and later appends return
 * TT_ECLOSED. Everything up to tt_writer_durable() stays stored. To go on
 * (say after tt_store_gc freed space), close this writer and open another. */
int tt_writer_error(const tt_writer *w);
/* Seal the current segment now and continue in a new one. */
int tt_writer_rotate(tt_writer *w);
/* Flush, stop the thread, release the segment (left unsealed for adoption
 * unless seal != 0). Returns the flush result. */
int tt_writer_close(tt_writer *w, int seal);

/* ---- reading */

/* One record handed to a callback. Valid only during the callback. */
typedef struct tt_rec {
	const uint8_t *data; /* canonical msgpack record */
	size_t len;
	int64_t ts;
	uint64_t seq;        /* block sequence number (global append order) */
	uint32_t idx;        /* record index within the block */
} tt_rec;

/* Return 0 to continue, >0 to stop early (the call returns that value), <0 to
 * abort with that error. */
typedef int (*tt_rec_fn)(void *ctx, const tt_rec *r);

#define TT_TS_MIN INT64_MIN
#define TT_TS_MAX INT64_MAX

/* Every record of correlation id `id` with since <= ts <= until, in timestamp
 * order (ties in append order). Returns the number of records delivered
 * (0: id unknown or nothing in range). */
int tt_store_get(tt_store *s, const void *id, size_t id_len, int64_t since,
    int64_t until, tt_rec_fn fn, void *ctx);

/* A position in the global append order: just after record idx of block seq.
 * {0,0} is "before everything". */
typedef struct tt_pos {
	uint64_t seq;
	uint32_t idx; /* number of records of block seq already consumed */
	uint32_t gen; /* index generation (changes when the index is rebuilt) */
} tt_pos;

#define TT_CURSOR_MAX 64
int tt_pos_format(const tt_pos *p, char *buf, size_t n); /* "tt1-<gen>-<seq>-<idx>" */
int tt_pos_parse(const char *s, tt_pos *p);              /* TT_EBADARG if malformed */

#define TT_SCAN_REVERSE 0x1u /* newest first */

typedef struct tt_scan {
	int64_t since, until; /* time range, blocks outside it are skipped unread */
	unsigned flags;       /* TT_SCAN_* */
	tt_pos start;         /* forward: records after this; reverse: records before
	                       * this (seq 0 = from the end) */
	uint64_t max_blocks;  /* stop after this many blocks; 0 = no limit */
} tt_scan;

/* Records in append order (or reverse), filtered by time range. On return,
 * *next (if not NULL) is the position after the last record delivered (forward)
 * or of the last record delivered (reverse), for resuming. Returns records
 * delivered or <0. */
int tt_store_scan(tt_store *s, const tt_scan *sc, tt_rec_fn fn, void *ctx,
    tt_pos *next);

/* The current end of the store (position after the newest record). */
int tt_store_end(tt_store *s, tt_pos *end);

/* Block until a block newer than `after` exists or timeout_ms passes (-1 =
 * forever). Uses inotify on the index, falls back to polling every 50 ms.
 * Holds no LMDB read transaction while waiting. 1 = new data, 0 = timeout. */
int tt_store_wait(tt_store *s, const tt_pos *after, int timeout_ms);

/* Per-correlation-id summary, from the index (data is read only for the
 * services of blocks where an id has more than 4 services, or of names the
 * index could not number: see FORMAT.md 7.5). */
#define TT_IDSUM_SVC_MAX 64     /* service names listed per id */
#define TT_IDSUM_SVC_BYTES 4096 /* and their bytes, separators included */
typedef struct tt_idsum {
	const void *id;      /* valid during the callback / until the next call */
	size_t id_len;
	uint64_t count;      /* records */
	int64_t first_ts, last_ts;
	uint64_t last_seq;   /* newest block holding it */
	uint32_t n_req, n_resp; /* records with dir "->" and "<-" */
	int complete;        /* n_req >= 1 && n_req == n_resp (TraceHub's rule) */
	uint32_t n_services; /* distinct services of the id's records, exactly */
	uint32_t services_omitted; /* of those, not in services[] (the caps below) */
	/* the service names, sorted (bytewise), joined by ','; at most
	 * TT_IDSUM_SVC_MAX names, and as many as fit the buffer */
	char services[TT_IDSUM_SVC_BYTES];
} tt_idsum;

typedef int (*tt_idsum_fn)(void *ctx, const tt_idsum *sum);

/* Summary of one id: 0 found, TT_ENOTFOUND. */
int tt_store_idsum(tt_store *s, const void *id, size_t id_len, tt_idsum *out);
/* Recently written ids, newest first (by the newest block holding them), whose
 * records overlap [since, until]. Returns ids delivered. */
int tt_store_list_ids(tt_store *s, int64_t since, int64_t until, size_t limit,
    tt_idsum_fn fn, void *ctx);

/* ---- segments, stats, gc, check */

enum tt_seg_state { TT_SEG_ACTIVE = 1, TT_SEG_SEALED = 2 };

typedef struct tt_seginfo {
	uint64_t id;
	int state;              /* enum tt_seg_state */
	int held;               /* a live writer holds it (ACTIVE only) */
	int64_t created_ns;
	int64_t min_ts, max_ts; /* of its records; 0,0 when empty */
	uint64_t records, blocks;
	uint64_t bytes;         /* file bytes covered by the index */
	uint64_t raw_bytes;     /* uncompressed record bytes */
	uint64_t first_seq, last_seq;
	uint64_t unshipped;     /* gc: of its records, the most some forwarding
	                         * destination had not shipped (deleted anyway by
	                         * max_bytes); 0 otherwise */
	int rewritten;          /* a sealed segment written again (recompressed) */
	uint64_t replaced;      /* tt_store_rewrite: the id it replaced, and */
	uint64_t replaced_bytes; /* that segment's bytes */
} tt_seginfo;

typedef int (*tt_seg_fn)(void *ctx, const tt_seginfo *si);
/* Segments, oldest first. */
int tt_store_segments(tt_store *s, tt_seg_fn fn, void *ctx);

typedef struct tt_stats {
	uint64_t segments, sealed, records, blocks;
	uint64_t data_bytes;  /* segment file bytes */
	uint64_t raw_bytes;   /* uncompressed record bytes */
	uint64_t index_bytes; /* LMDB pages in use */
	uint64_t index_file_bytes; /* LMDB file size on disk */
	uint64_t ids;         /* distinct correlation ids (by their 64-bit hash) */
	uint64_t id_entries;  /* correlation index entries: one per (id, block) */
	uint64_t rollup_rows; /* (minute, group) rollups */
	uint64_t rollup_bytes; /* their LMDB pages (rollup + rgroups) */
	int64_t min_ts, max_ts;
	/* by segment state: [0] active, [1] sealed as written, [2] sealed and
	 * rewritten (recompressed, FORMAT.md 8.8) */
	uint64_t state_segments[3], state_data_bytes[3], state_raw_bytes[3];
	uint32_t format_version; /* the store's (FORMAT.md 12): 1, or 2 once a
	                          * format-2 segment was created */
} tt_stats;
int tt_store_stats(tt_store *s, tt_stats *st); /* = tt_store_stats_ex(s, TT_STATS_IDS, st) */
/* Counting distinct ids walks every key of the index (a merge of the segments'
 * sorted hashes: about 0.1 s per million ids); without TT_STATS_IDS, st->ids is
 * 0 and the rest costs a few LMDB look-ups per segment (for /metrics). */
#define TT_STATS_IDS 0x1u
int tt_store_stats_ex(tt_store *s, unsigned what, tt_stats *st);

/* Rewrite sealed segments block for block (FORMAT.md 8.8): columnar
 * layout (format 2) and LZ4-HC, the same records under the same sequence
 * numbers, in a new file swapped in by one index commit. which:
 * TT_REWRITE_V1 the segments of format 1 (tt-check --upgrade), or
 * TT_REWRITE_ALL every sealed segment not rewritten yet (tt-gc --recompress).
 * fn gets each new segment (rewritten, replaced set). Returns how many were
 * rewritten; a segment that is locked or changes meanwhile is passed over. */
#define TT_REWRITE_V1 0x1u
#define TT_REWRITE_ALL 0x2u
int tt_store_rewrite(tt_store *s, unsigned which, tt_seg_fn fn, void *ctx);

typedef struct tt_gc_opts {
	int64_t max_age_ns;    /* delete sealed segments whose newest record is older; 0 = off */
	uint64_t max_bytes;    /* delete oldest sealed segments until data fits; 0 = off */
	uint64_t max_segments; /* keep at most this many segments; 0 = off */
	int dry_run;           /* plan only */
	int rotate;            /* first seal unsealed segments no live writer holds */
	int64_t now_ns;        /* 0 = current time */
	/* Forwarding (FORMAT.md 10): a segment holding records that a destination
	 * with a DIR/forward/NAME.cursor has not shipped is kept, unless max_bytes
	 * needs it gone: then it is deleted and those records are added to
	 * DIR/forward/NAME.dropped (and to tt_seginfo.unshipped). */
	int ignore_forward;        /* delete them like any other segment */
	int64_t forward_max_hold_ns; /* a cursor file not written for this long
	                              * holds nothing (a stuck or removed
	                              * destination); 0 = no limit */
} tt_gc_opts;

/* Forwarding cursors, DIR/forward/NAME.cursor (FORMAT.md 10): the position
 * a destination has shipped up to. 0, -errno, TT_EBADARG if malformed. */
int tt_forward_cursor_read(const char *file, tt_pos *pos);
/* Replace it durably (temp file, fsync, rename, fsync of its directory).
 * 0 or -errno. */
int tt_forward_cursor_write(const char *file, const tt_pos *pos);
/* DIR/forward/NAME.dropped: records gc deleted before they were shipped, a
 * running total (0 when the file does not exist). */
int tt_forward_dropped_read(const char *file, uint64_t *n);

/* gc: segments are visited oldest first; fn sees each one deleted (or, with
 * dry_run, that would be). Returns the number of segments (to be) deleted. */
int tt_store_gc(tt_store *s, const tt_gc_opts *o, tt_seg_fn fn, void *ctx);

/* check: verify every block of every segment against its checksum and the
 * index; each problem goes to fn. With rebuild != 0, drop the index and
 * rebuild it from the segment files (bad blocks are skipped and reported).
 * Returns the number of problems found. */
int tt_store_check(tt_store *s, int rebuild,
    void (*fn)(void *ctx, const tt_problem *p), void *ctx);

/* ---- rollups (FORMAT.md 7.6): per minute and (service, name, kind), folded
 * into the index by every commit, in the same transaction as the records */

/* A duration histogram: log-linear buckets (128 per power of two of ns), so
 * tt_hist_value(bucket) is within 0.4 % of every value in the bucket. Sparse:
 * only buckets in use, in increasing order. */
typedef struct tt_hist {
	uint16_t *b;     /* bucket numbers, increasing */
	uint64_t *n;     /* values in each */
	size_t len, cap;
	uint64_t total;  /* sum of n */
} tt_hist;

uint16_t tt_hist_bucket(int64_t v);          /* v <= 0: bucket 0 */
int64_t tt_hist_value(uint16_t bucket);      /* the bucket's midpoint */
int tt_hist_add(tt_hist *h, uint16_t bucket, uint64_t n);     /* 0 or -ENOMEM */
int tt_hist_merge(tt_hist *into, const tt_hist *from);        /* 0 or -ENOMEM */
int64_t tt_hist_quantile(const tt_hist *h, double q);          /* nearest rank; -1 empty */
void tt_hist_free(tt_hist *h);

#define TT_ROLLUP_GROUPS_MAX 1000 /* (name, kind) groups per service; later ones
                                   * are counted under the name "(other)" */
#define TT_ROLLUP_OTHER "(other)"

typedef struct tt_rollup {
	int64_t minute_ns;             /* start of the minute (UTC) */
	const char *service, *name, *kind; /* "" when the records have none; valid
	                                * during the callback */
	size_t service_len, name_len, kind_len;
	uint64_t count;                /* records */
	uint64_t errors;               /* level error/fatal, or status "error" */
	uint64_t dur_n;                /* records with a duration (spans) */
	int64_t dur_min, dur_max;      /* ns, of those */
	uint64_t dur_sum;              /* ns */
	uint64_t llm_n;                /* records with a token count or a cost */
	int64_t in_tokens, out_tokens; /* sums */
	int64_t cost_nano;             /* sum of cost x 1e9 (exact in any order) */
	tt_hist hist;                  /* durations; valid during the callback */
} tt_rollup;

typedef int (*tt_rollup_fn)(void *ctx, const tt_rollup *r);

/* Rollups of the minutes that overlap [since, until], oldest minute first
 * (groups in number order within a minute). fn returns as tt_rec_fn's does.
 * Returns the number delivered or <0. */
int tt_store_rollups(tt_store *s, int64_t since, int64_t until, tt_rollup_fn fn, void *ctx);

/* Delete the rollups of minutes that end before `before` (rollup retention:
 * tt-gc --rollup-max-age). Returns the number of rollup rows deleted. */
int tt_store_rollups_prune(tt_store *s, int64_t before);

/* ---- aggregate queries (tt-query --stats, /api/stats) */

#define TT_STATQ_BY_MAX 8          /* group-by fields */
#define TT_STATQ_SUM_MAX 8         /* summed fields */
#define TT_STATQ_GROUPS_MAX 1000000 /* (bucket, group) rows: TT_ETOOBIG past it */
#define TT_STATQ_SCAN 0x1u         /* read the records, never the rollups */

typedef struct tt_str { const char *p; size_t n; } tt_str;

typedef struct tt_statq {
	int64_t since, until;          /* TT_TS_MIN / TT_TS_MAX for open ends */
	int64_t every_ns;              /* time buckets of this length; 0 = one */
	const char *const *by;         /* group by these fields (dotted paths reach
	                                * into attrs; service, name and kind are the
	                                * rollup keys) */
	size_t nby;
	const char *const *sum;        /* sum these numeric fields; input_tokens,
	                                * output_tokens and cost are the LLM fields
	                                * of every alias (FORMAT.md 7.6) */
	size_t nsum;
	/* conditions the rollups can answer: the field is any of the values
	 * (an empty list: no condition) */
	const char *const *services; size_t nservices;
	const char *const *names; size_t nnames;
	const char *const *kinds; size_t nkinds;
	const tt_filter *filter;       /* anything else; makes it a scan. NULL: none */
	unsigned flags;                /* TT_STATQ_* */
} tt_statq;

typedef struct tt_statrow {
	int64_t bucket_ns;             /* start of the time bucket (every = 0: since, or
	                                * the store's oldest record when open) */
	int64_t span_ns;               /* its length, for rates (every, or the range
	                                * clipped to the store's records) */
	const tt_str *group;           /* nby values ("" when absent); valid during fn */
	uint64_t count, errors;
	uint64_t dur_n;                /* records with a duration */
	int64_t dur_min, dur_max;      /* 0 when dur_n is 0 */
	uint64_t dur_sum;
	const tt_hist *hist;           /* of the durations: quantiles within 0.4 % */
	const double *sums;            /* nsum sums */
} tt_statrow;

typedef int (*tt_statrow_fn)(void *ctx, const tt_statrow *r);

/* Run q; rows come sorted by bucket, then by group values. *used_rollups (may
 * be NULL) tells which path answered. Returns rows delivered or <0. */
int tt_store_statq(tt_store *s, const tt_statq *q, tt_statrow_fn fn, void *ctx,
    int *used_rollups);

#ifdef __cplusplus
}
#endif
#endif /* TERATRACE_H */
