/*
 * store.h -- libstore internals shared by its files (not installed).
 *
 * The byte layouts here are normative in format/FORMAT.md sections 6 and 7;
 * keep the two in step. Integers in files and LMDB values are little-endian;
 * integer LMDB keys are big-endian so that memcmp order is numeric order.
 */
#ifndef TT_STORE_H
#define TT_STORE_H

#include <lmdb.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "teratrace.h"

/* ---- segment file (FORMAT.md 6.1) */
#define SEG_MAGIC "\x89TTSEG\r\n"  /* 8 bytes */
#define SEG_VERSION 2u           /* the newest a reader knows; written by default */
#define SEG_HDR_SIZE 64u

/* ---- block (FORMAT.md 6.2) */
#define BLK_MAGIC 0x4b425454u      /* "TTBK" little-endian */
#define BLK_HDR_SIZE 48u
#define BLK_CODEC_NONE 0
#define BLK_CODEC_LZ4 1
#define BLK_CODEC_COL 2            /* version 2: records laid out by field, LZ4 (6.4) */
#define COL_LEN_MAX(raw) ((raw) + (raw) / 2 + 4096u) /* columnar bytes of a raw payload */
#define COL_OUT_SLACK 8u           /* colblk_decode writes up to raw_len + 5 bytes */
#define COL_NOT_GIVEN 0xc1         /* first byte of a record body a partial decode did
                                    * not give (msgpack never uses it: no reader takes
                                    * the rest for a record) */
#define BLK_FLAG_SEAL 0x01u        /* seal trailer: no records */
#define BLK_RAW_MAX (16u << 20)    /* largest raw payload a reader accepts */
#define BLK_NREC_MAX 65535u        /* records per block (u16 counts in the index) */

/* ---- index (FORMAT.md 7) */
#define STORE_FORMAT_VERSION 2u  /* the newest meta "version" a reader knows */
#define IDX_VAL_SIZE 40u           /* corr dup value */
#define BLOG_FIXED 48u             /* block log value before the id list */
#define SEGREC_SIZE 80u
#define SVC_BITS 15                /* version-1 entries: a bit per service; bit 15 = "others" */
#define SEGF_SVCSET 0x1u           /* segs.flags: the segment's corr entries hold
                                    * service-set numbers, not bits (7.5) */
#define SEGF_REWRITTEN 0x2u        /* segs.flags: a rewrite of a sealed segment (8.8) */
#define SVCSET_NONE 0u             /* the id's records in the block name no service */
#define SVCSET_UNKNOWN 0xffffu     /* too many services (or names) to number: readers
                                    * take the names from the records */
#define SVCSET_MAX 0xfffeu         /* set numbers 1..SVCSET_MAX */
#define SVCSET_SVC_MAX 4u          /* services in a set: as many as a blkid keeps */
#define SVC_NUM_MAX 0xffffu        /* service numbers 0..SVC_NUM_MAX */
#define SVC_NAME_MAX 400u          /* longer names are not numbered (an LMDB key is
                                    * at most 511 bytes) */
#define MAX_DBS 4096               /* LMDB named databases: ~ live segments */
#define LIVE_SEG_MAX 4000

static inline void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static inline void put32(uint8_t *p, uint32_t v)
{ p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24; }
static inline void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t *p)
{ return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static inline void putbe64(uint8_t *p, uint64_t v)
{ for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; } }
static inline uint64_t getbe64(const uint8_t *p)
{ uint64_t v = 0; for (int i = 0; i < 8; i++) v = v << 8 | p[i]; return v; }

/* A segment's row in the "segs" database (FORMAT.md 7.2). */
typedef struct segrec {
	uint32_t state;      /* enum tt_seg_state */
	uint32_t flags;      /* SEGF_*: set at creation, never changed */
	int64_t created_ns;
	int64_t min_ts, max_ts;
	uint64_t records, blocks;
	uint64_t end;        /* file offset after the last indexed block; 0 = file
	                      * not initialised yet */
	uint64_t raw_bytes;
	uint64_t first_seq, last_seq;
} segrec;

void segrec_encode(const segrec *r, uint8_t out[SEGREC_SIZE]);
int segrec_decode(const void *p, size_t n, segrec *r);

/* A block log row ("blocks" database) without its id list. */
typedef struct blogrec {
	uint64_t seg, off;
	uint32_t comp_len, raw_len, nrec, nids;
	int64_t min_ts, max_ts;
	const uint8_t *ids;  /* nids x (u16 len, bytes), points into the value */
	size_t ids_len;
} blogrec;
int blogrec_decode(const void *p, size_t n, blogrec *r);

/* The key of a correlation id in a c/<segment> database: XXH3-64 of the id
 * bytes, big-endian (FORMAT.md 7.4). Fixed 8 bytes instead of the id keeps the
 * index small and its pages dense; a collision only merges two ids' entry
 * lists, and readers compare the id inside every record they return. */
#define IDX_KEY_SIZE 8
void idx_key(const void *id, size_t n, uint8_t out[IDX_KEY_SIZE]);

/* A corr dup value (FORMAT.md 7.4). */
typedef struct idxval {
	uint64_t seq;
	uint32_t raw_lo, raw_hi;
	int64_t min_ts, max_ts;
	uint16_t count, n_req, n_resp, svc;
} idxval;
void idxval_encode(const idxval *v, uint8_t out[IDX_VAL_SIZE]);
void idxval_decode(const uint8_t in[IDX_VAL_SIZE], idxval *v);

/* ---- one block being indexed: what the writer and recovery hand to the
 * index commit. Id keys are copied into `arena`. */
typedef struct blkid {
	uint32_t key_off, key_len;   /* in arena */
	uint32_t raw_lo, raw_hi;
	int64_t min_ts, max_ts;
	uint32_t count, n_req, n_resp;
	uint32_t svc_off[4], svc_len[4]; /* up to 4 distinct service names, in arena */
	uint8_t nsvc, svc_more;
} blkid;

/* The rollup of one (minute, service, name, kind) within one block, folded
 * by blkinfo_scan and committed by rollup_commit (FORMAT.md 7.6). */
typedef struct rollacc {
	int64_t minute;              /* ts / 60 s, floored */
	uint32_t svc_off, svc_len, name_off, name_len, kind_off, kind_len; /* in arena */
	uint32_t hash;
	uint64_t count, errors, dur_n, dur_sum, llm_n;
	int64_t dur_min, dur_max, in_tok, out_tok, cost_nano;
} rollacc;

#define ROLLUP_SVC_MAX 128u        /* bytes of a service name in a group key */
#define ROLLUP_NAME_MAX 200u       /* of a name (longer ones are cut) */
#define ROLLUP_KIND_MAX 32u        /* of a kind */

typedef struct blkinfo {
	uint64_t off;                /* file offset of the block header */
	uint32_t comp_len, raw_len, nrec;
	int64_t min_ts, max_ts;
	uint64_t last_ticket;        /* writer ticket of its last record */
	uint32_t flags;
	blkid *ids;
	uint32_t nids, cap_ids;
	tt_buf arena;
	rollacc *ru;                 /* rollups of the block's records */
	uint32_t nru, cap_ru;
	tt_buf ru_hist;              /* u64 (rollacc index << 16 | bucket) per duration */
	int no_rollup;               /* TT_OPEN_NOROLLUP: fold nothing */
	uint32_t *idtab, idtabsz;    /* blkinfo_add's tables: id -> ids[], */
	uint32_t *rutab, rutabsz;    /* (minute, group) -> ru[] */
} blkinfo;

void blkinfo_reset(blkinfo *b);
void blkinfo_free(blkinfo *b);
/* Walk a raw payload and fill b->ids / ts range / nrec. TT_ECORRUPT if the
 * payload does not frame into canonical records. */
int blkinfo_scan(blkinfo *b, const uint8_t *raw, size_t raw_len);
/* The same, a record at a time (after blkinfo_reset): the writer builds a
 * block's info while its records are appended, on the appending thread. */
int blkinfo_add(blkinfo *b, const tt_rec_info *ri, const uint8_t *rec, size_t rlen,
    uint32_t rec_off, uint32_t rec_end);
void blkinfo_done(blkinfo *b);

/* ---- rollup.c */
/* Fold one record (its info already read) into the rollups of b; tab and tabsz
 * are the caller's hash table over b->ru (freed by the caller). */
int rollup_fold(blkinfo *b, uint32_t **tab, uint32_t *tabsz, const tt_rec_info *ri,
    const uint8_t *rec, size_t len);
/* Add the rollups of blks to the index, inside the commit's transaction. */
int rollup_commit(tt_store *s, MDB_txn *t, blkinfo *blks, size_t nblks);
/* Rollup rows a writer holds back (FORMAT.md 7.6): folded from its committed
 * blocks, written at most every ROLLUP_HOLD_NS (or ROLLUP_HOLD_ROWS rows), so
 * that a row is rewritten about once a second instead of at every commit.
 * While rows are held, meta "rlag" + segment names the segment's first block
 * not in the stored rows; readers fold those blocks themselves, and the next
 * read-write open that owns the segment folds and stores them
 * (rollup_refold). */
#define ROLLUP_HOLD_NS 1000000000LL
#define ROLLUP_HOLD_ROWS 4096u
typedef struct rollpend rollpend;
rollpend *rollpend_new(void);
void rollpend_free(rollpend *p);
void rollpend_clear(rollpend *p);
int rollpend_add(rollpend *p, blkinfo *blks, size_t nblks);
/* Add p's rows to the stored ones, inside t (rollup_records too). */
int rollpend_write(tt_store *s, MDB_txn *t, const rollpend *p);
/* Are p's rows to be written by this commit (none held, or held long enough)? */
int rollpend_due(const rollpend *p, int64_t now_mono_ns);
/* The commit that held p's rows back began at first_seq (kept if set). */
void rollpend_held(rollpend *p, uint64_t first_seq, int64_t now_mono_ns);
uint64_t rollpend_first(const rollpend *p); /* 0: nothing held in the index */
int64_t rollpend_since(const rollpend *p);  /* monotonic ns it was first held */
int rollup_lag_put(tt_store *s, MDB_txn *t, uint64_t seg, uint64_t first_seq);
int rollup_lag_del(tt_store *s, MDB_txn *t, uint64_t seg);
/* Write p's rows and clear seg's "rlag", in a transaction of its own. */
int rollup_flush(tt_store *s, uint64_t seg, rollpend *p);
/* Fold and store the blocks of seg a killed writer held back (the caller owns
 * the segment). */
int rollup_refold(tt_store *s, uint64_t seg);
/* The LLM fields of a record (the first of each kind's aliases it has). */
enum { LLM_IN, LLM_OUT, LLM_COST };
struct llm { int have[3]; int64_t v[3]; /* tokens; cost x 1e9 */ };
int rollup_llm(const uint8_t *rec, size_t len, struct llm *l);
/* Level error or fatal, or status "error": what a rollup counts as an error. */
int rollup_is_error(const tt_rec_info *ri);
/* tt-check: the rollups' record count against what was folded and pruned. */
int rollup_verify(tt_store *s, uint64_t *rolled, uint64_t *expect);

/* ---- the store handle */
/* Modes of what a store creates: private, or readable by the store's group
 * (directories setgid so new files inherit the group; LMDB's lock file is
 * group-writable because LMDB readers take a slot in it). */
#define STORE_DIR_MODE(s)  ((s)->group ? 02750 : 0700)
#define STORE_FILE_MODE(s) ((s)->group ? 0640 : 0600)
#define STORE_LMDB_MODE(s) ((s)->group ? 0660 : 0600)
int store_mkdir(const tt_store *s, const char *path);

struct fdent { uint64_t seg; int fd; };
struct dbient { uint64_t seg; MDB_dbi dbi; };

#define STORE_BUFS 8              /* block buffers a store keeps for reuse */
#define STORE_BUF_MAX (1u << 20)  /* larger ones are freed */

struct tt_store {
	char *dir;
	char *segdir;
	int segdir_fd;
	int group;                  /* the store is group-readable (its directory is
	                             * g+r): what it creates is too (FORMAT.md 3) */
	tt_store_opts o;
	MDB_env *env;
	MDB_dbi db_meta, db_segs, db_blocks, db_svc;
	MDB_dbi db_svcsets;         /* "svcsets"; 0 when a read-only open found none */
	MDB_dbi db_rollup, db_rgroups; /* "rollup", "rgroups" (7.6); 0 likewise */
	uint32_t gen;
	unsigned version;           /* meta "version": 1, or 2 once a version-2 segment exists */
	unsigned seg_version;       /* the version new segments get (2; 1 under TT_OPEN_FORMAT1) */
	pthread_rwlock_t txn_lock;  /* shared per txn; exclusive to resize the map */
	pthread_mutex_t mu;         /* dbi cache, fd cache, rtxn cache */
	pthread_mutex_t dbi_mu;     /* serialises mdb_dbi_open */
	struct dbient *dbis; size_t ndbis, cap_dbis;
	struct fdent fds[64]; size_t nfds;
	MDB_txn *rtxn_cache;
	tt_buf bufs[STORE_BUFS];    /* block buffers kept between reads (under mu) */
	int nbufs;
	int inotify_fd, inotify_wd;
	uint8_t uuid[16];
	int index_err;              /* TT_OPEN_REBUILD: why the index did not open (env NULL) */
	int index_fresh;            /* meta_init may start an index beside segment files */
};

/* Long work reports how far it is (tt_store_opts.on_progress). */
static inline void store_progress(const tt_store *s, const char *what, uint64_t done,
    uint64_t total)
{
	if (s->o.on_progress)
		s->o.on_progress(s->o.progress_ctx, what, done, total);
}

/* LMDB returns positive errno values for system errors; the API promises -errno. */
static inline int mdb_rc(int rc) { return rc > 0 ? -rc : rc; }

/* Did a read of the index meet damage? A page that is not there or not what
 * its parent says, and MDB_BAD_TXN: LMDB marks a read txn failed when a page
 * it loads on its own is missing (mdb_cursor_init ignores the error of
 * loading a named database's root), and every later call on the txn returns
 * MDB_BAD_TXN. TeraTrace never uses a failed txn again, so in a read txn
 * that code means damage (t8200: a flipped bit in mm_last_pg). */
static inline int mdb_damage(int rc)
{
	return rc == MDB_PAGE_NOTFOUND || rc == MDB_CORRUPTED || rc == MDB_BAD_TXN;
}

/* store.c */
int store_env_open(tt_store *s, const char *path); /* s->env, main dbs, meta */
void store_env_close(tt_store *s);
int store_index_fresh(tt_store *s); /* s->env = a new, empty index beside index/ */
int store_index_swap(tt_store *s, int keep); /* keep: it replaces index/; then reopen */
int store_rtxn(tt_store *s, MDB_txn **txn);   /* begin (renew) a read txn */
void store_rtxn_done(tt_store *s, MDB_txn *txn);
/* store_rtxn and a cursor on db in it (close both: mdb_cursor_close,
 * store_rtxn_done); errors are negative */
int store_rcursor(tt_store *s, MDB_dbi db, MDB_txn **txn, MDB_cursor **c);
int store_wtxn(tt_store *s, MDB_txn **txn);   /* begin a write txn */
int store_wtxn_commit(tt_store *s, MDB_txn *txn); /* commit; MAP_FULL grows and returns MDB_MAP_FULL so the caller redoes */
void store_wtxn_abort(tt_store *s, MDB_txn *txn);
int store_map_grow(tt_store *s); /* double the map; no txn of ours may be live */
int store_seg_dbi(tt_store *s, uint64_t seg, int create, MDB_txn *wtxn, MDB_dbi *out);
void store_forget_seg(tt_store *s, uint64_t seg);
int store_seg_fd(tt_store *s, uint64_t seg, int *fd); /* cached read-only fd */
void store_seg_path(const tt_store *s, uint64_t seg, char *buf, size_t n);
void store_problem(tt_store *s, uint64_t seg, uint64_t off, int code, const char *what);
int store_fsync_dir(tt_store *s);
int64_t store_now(void);

/* ---- forward.c: what forwarding destinations hold back from gc */
struct fwd_hold {
	char name[256]; /* NAME of DIR/forward/NAME.cursor */
	tt_pos pos;     /* what it has shipped: records before this */
};
int store_fwd_holds(tt_store *s, int64_t now, int64_t max_hold_ns, struct fwd_hold **out,
    size_t *n);
int store_fwd_unshipped(tt_store *s, uint64_t seg, uint64_t first_seq, uint64_t last_seq,
    const tt_pos *p, uint64_t *out);
int store_fwd_dropped_add(tt_store *s, const char *name, uint64_t n);
int store_get_u64(MDB_txn *t, MDB_dbi db, const char *key, uint64_t *v);
int store_put_u64(MDB_txn *t, MDB_dbi db, const char *key, uint64_t v);

/* segment.c */
void seg_header_encode(uint64_t seg, int64_t created, const uint8_t uuid[16],
    unsigned version, uint64_t origin, uint8_t out[SEG_HDR_SIZE]);
/* 0 when the header is sound and of a version known (its version: get32(hdr + 8)). */
int seg_header_check(const uint8_t *hdr, uint64_t seg);
/* Build a block from raw records into out (header + payload); columnar: a
 * version-2 segment's block (codec 2 when the records can be laid out); hc:
 * compress with LZ4-HC at that level (0: LZ4's fast mode). */
int blk_build(const uint8_t *raw, uint32_t raw_len, uint32_t nrec, int64_t min_ts,
    int64_t max_ts, uint32_t flags, int columnar, int hc, tt_buf *out);

/* ---- colblk.c: the columnar payload of codec 2 (FORMAT.md 6.4) */
/* Lay out nrec frames by field: 0 and *out (a per-thread buffer, valid until
 * the next call) when done, proven exact by decoding it; 1 when the records
 * cannot be, or memory ran short (the block is then stored as codec 1). */
int colblk_encode(const uint8_t *raw, uint32_t raw_len, uint32_t nrec, const tt_buf **out);
/* Rebuild the frames of a columnar payload into dst (raw_len + COL_OUT_SLACK
 * bytes), all of them or (raw_need > 0) the records up to at least raw_need
 * bytes; *produced = bytes given. Records before the frame holding raw_from,
 * and (id not NULL) records whose "corr" is not id, are not decoded: their
 * frames are there, each body starting with COL_NOT_GIVEN. -ENOMEM when memory ran
 * short; -1 for any payload that does not decode to exactly nrec frames of
 * raw_len bytes. */
int colblk_decode(const uint8_t *col, size_t col_len, uint32_t nrec, uint32_t raw_len,
    uint32_t raw_from, uint32_t raw_need, const char *id, size_t id_len, uint8_t *dst,
    size_t *produced);
/* One wanted level-1 field of a record (colblk_fields, store_scan_fields):
 * absent (p NULL, not is_int), an integer (is_int: i), or its msgpack value,
 * n bytes at p, valid during the call. dict: the value is the block's
 * dictionary entry dict - 1 (within one block, the same dict is the same
 * value), else 0. */
typedef struct colval {
	const uint8_t *p;
	uint32_t n, dict;
	int is_int;
	int64_t i;
} colval;
/* v[k]: the value of keys[k] in record idx of its block */
typedef int (*colblk_vals_fn)(void *ctx, const colval *v, uint32_t idx);
/* For each record of a columnar payload, in order: the values of its
 * level-1 fields named by keys (each a whole msgpack str; at most 15; a map
 * laid out in place is absent), handed to fn with the record's index; the
 * other columns are never read. fn returns 0 to go on, >0 to stop, <0 to fail
 * with that. -ENOMEM, -1 for a layout that does not decode. */
int colblk_fields(const uint8_t *col, size_t col_len, uint32_t nrec, const uint8_t *const *keys,
    size_t nkeys, colblk_vals_fn fn, void *ctx);
/* A colval's integer, as a reader takes one (a msgpack int); -1 if it is not. */
int colval_int(const colval *v, int64_t *out);
/* A colval's text if it is a msgpack str (a reader's rule for the
 * well-known fields: strings or absent): 1, else 0. */
int colval_str(const colval *v, const char **p, size_t *n);
/* Parse and verify a block header at hdr; fills lengths. */
int blk_header_parse(const uint8_t *hdr, uint32_t *comp_len, uint32_t *raw_len,
    uint32_t *nrec, int64_t *min_ts, int64_t *max_ts, uint32_t *flags, int *codec);
int blk_verify(const uint8_t *hdr, const uint8_t *payload, uint32_t comp_len);
/* pread exactly n bytes; TT_ECORRUPT when the file ends first. */
int seg_pread_full(int fd, void *buf, size_t n, uint64_t off);
/* What a reader wants of a block: the frames before raw_from (a frame body's
 * offset) are not, nor (id set) records of other correlation ids, and nothing
 * past raw_need (0 = to the end). A columnar block gives what is not wanted
 * as frames whose bodies start with COL_NOT_GIVEN; other blocks give
 * everything up to raw_need. */
typedef struct blkwant {
	uint32_t raw_from, raw_need;
	const char *id;
	size_t id_len;
	int layout;         /* a columnar block: give its layout (6.4), not the frames */
	int got_layout;     /* out: raw holds a layout, of frames of frames_len bytes */
	uint32_t frames_len;
} blkwant;
/* Read block at off of fd, verify, decompress what w wants (NULL: all) into
 * raw (resized). */
int blk_read(int fd, uint64_t off, uint32_t comp_len_expect, blkwant *w,
    tt_buf *io, tt_buf *raw, uint32_t *raw_len, uint32_t *nrec);
/* blk_read of a block of seg through the store's fd cache; problems are
 * reported (store_problem) and yield <0. */
/* A block buffer to read into (a kept one when there is: no page faults and
 * no heap growth on every lookup), and back when done. */
void store_buf_take(tt_store *s, tt_buf *b);
void store_buf_give(tt_store *s, tt_buf *b);
int store_read_block(tt_store *s, uint64_t seg, uint64_t off, uint32_t comp_len,
    blkwant *w, tt_buf *io, tt_buf *raw, uint32_t *got);
/* Every record with since <= ts <= until, in append order, as tt_store_scan
 * gives them, as the values of its level-1 fields named by keys (msgpack
 * fixstrs, keys[0] "ts"; at most 15): of a columnar block read column by column
 * (colblk_fields), of any other from the record. For aggregates that need a
 * few well-known fields of many records; fn has the block's sequence number
 * too (a colval's dict is an entry of that block's dictionary). */
typedef int (*scan_vals_fn)(void *ctx, const colval *v, uint64_t block); /* its seq */
int store_scan_fields(tt_store *s, int64_t since, int64_t until, const uint8_t *const *keys,
    size_t nkeys, scan_vals_fn fn, void *ctx);
/* Record framing inside a raw payload: varint length + msgpack record. */
size_t rec_frame(uint8_t *dst, size_t len); /* writes varint; returns bytes */
int rec_next(const uint8_t *raw, size_t raw_len, size_t *pos,
    const uint8_t **rec, size_t *rec_len);

/* index.c */
/* Index blks (already durable in seg's file) in one transaction; *seg_after is
 * the segment row to store, its first/last_seq are filled in on success. Their
 * rollups are stored in the same transaction, or, with held (a writer's),
 * added to the rows it holds back, written when rollpend_due. */
int index_commit(tt_store *s, uint64_t seg, blkinfo *blks, size_t nblks,
    segrec *seg_after, uint64_t *first_seq_out, rollpend *held);
int index_seg_get(tt_store *s, MDB_txn *t, uint64_t seg, segrec *r);
/* index_seg_get in a read transaction of its own; errors are negative */
int index_seg_read(tt_store *s, uint64_t seg, segrec *r);
int index_seg_put(MDB_txn *t, tt_store *s, uint64_t seg, const segrec *r);
/* Segment rows in id order; free(*out). which: SEGS_ALL, SEGS_ACTIVE, or
 * SEGS_WITH_BAD (all, plus rows that do not decode, given with r.state 0). */
struct segrow { uint64_t id; segrec r; };
enum { SEGS_ALL = 0, SEGS_ACTIVE = 1, SEGS_WITH_BAD = 2 };
int index_seg_list(tt_store *s, int which, struct segrow **out, size_t *n);
int index_drop_blocks_from(tt_store *s, uint64_t seg, uint64_t file_off);

/* recover.c */
/* Recover the segment open (and flock'ed) as fd: index unindexed valid blocks,
 * cut a torn tail. *sealed set when the file ends in a seal trailer. */
int recover_segment(tt_store *s, uint64_t seg, int fd, segrec *r);
int recover_orphans(tt_store *s);
/* Each unsealed segment nobody holds, owned (seg_own) and recovered in turn:
 * fn gets recover_segment's result; it returns 0 to go on (fd is closed),
 * 1 when it keeps fd (the walk ends, returning 1), <0 to end with that (fd
 * closed). With stop_unwritable, a segment we may not write (EACCES, EROFS)
 * ends the walk (returning 0); other segments that cannot be owned are
 * passed over. */
int orphans_walk(tt_store *s, int stop_unwritable,
    int (*fn)(void *ctx, uint64_t seg, int fd, segrec *r, int rc), void *ctx);
/* Open seg's file read-write and take its writer lock without waiting:
 * 0 (caller closes *fd), TT_ELOCKED when a live process holds it, -errno. */
int seg_own(tt_store *s, uint64_t seg, int *fd);

/* segment ownership (writer.c) */
int pwrite_full(int fd, const void *buf, size_t n, uint64_t off);
int store_datasync(tt_store *s, int fd); /* fdatasync, unless --sync none */
int seg_create(tt_store *s, uint64_t *seg, int *fd, segrec *r);
int seg_seal(tt_store *s, uint64_t seg, int fd, segrec *r);

#endif /* TT_STORE_H */
