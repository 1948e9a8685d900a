/*
 * writer.c -- appending records: segment ownership, the block pipeline and the
 * group commit (FORMAT.md 8.1-8.3).
 *
 * The caller's thread only frames records into the current raw block. Full
 * blocks go through a small bounded queue to the writer's own thread, which
 * compresses, checksums and appends them to the segment, then every commit_ms
 * (or on flush) fdatasyncs the file and commits their index entries in one
 * LMDB transaction. A partial block is closed by that thread once it has
 * waited commit_ms, so a slow producer's records become visible (and durable)
 * within the interval even while its input pauses.
 *
 * Ownership: a writer holds flock(LOCK_EX) on its segment file; the kernel
 * drops it when the process dies, which is how others know a segment is free to
 * adopt (and recover).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define QMAX 64         /* closed raw blocks waiting for the thread: 4 MiB at 64 KiB, covers an fsync */
#define QBYTES (4u << 20) /* ... and no more raw bytes than this at larger block sizes */
#define PEND_MAX 256    /* blocks written but not committed before a forced commit */

struct rawblk {
	tt_buf raw;
	blkinfo bi;             /* its ids and rollups, built as records arrive */
	uint32_t nrec;
	int64_t min_ts, max_ts;
	uint64_t last_ticket;
	tt_buf built;           /* the block as written (header + payload), when the
	                         * appending thread built it (len 0: not built) */
	int building;           /* a queued block the appending thread is building:
	                         * the writer thread waits for it */
};

struct tt_writer {
	tt_store *s;
	pthread_t thr;
	int thr_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done, cv_space;

	/* appender side, under mu */
	struct rawblk cur;
	int64_t pending_since;  /* monotonic ns when something became pending; 0 none */
	uint64_t appended;      /* last ticket handed out */
	struct rawblk q[QMAX];
	int qhead, qlen, qcap;  /* qcap: blocks the queue takes, QBYTES of them at most; the
	                         * ring is q[0..qcap): only their buffers are ever grown */
	size_t pending_bytes;
	uint64_t flush_target;  /* commit at least up to this ticket now */
	int stop, rotate_req;
	uint64_t durable;
	int err;
	int efd;                /* eventfd: readable after each commit */

	/* owned by the thread (and by open/close when it is not running) */
	uint64_t seg;
	int fd;
	unsigned segver;        /* the segment's format version: 2 lays blocks out by field */
	segrec r;
	blkinfo *pend;
	size_t npend, cap_pend;
	rollpend *held;         /* rollup rows held back (FORMAT.md 7.6); NULL: none kept */
	uint64_t pend_ticket;
	tt_buf blk;
	struct rawblk spare;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k, n -= (size_t)k, off += (uint64_t)k;
	}
	return 0;
}

int store_datasync(tt_store *s, int fd)
{
	if (s->o.sync == TT_SYNC_NONE)
		return 0;
	return fdatasync(fd) < 0 ? -errno : 0;
}

/* ---- segments: create, seal (FORMAT.md 8.1, 8.3) */

int seg_create(tt_store *s, uint64_t *segp, int *fdp, segrec *rp)
{
	char path[4096];
	uint8_t hdr[SEG_HDR_SIZE];
	segrec r = { 0 };
	int rc, fd;

	for (int attempt = 0; attempt < 16; attempt++) {
		MDB_txn *t;
		MDB_dbi dbi;
		MDB_stat st;
		uint64_t seg;

		/* 1. allocate the id and record the segment (end = 0: file not ready) */
		if ((rc = store_wtxn(s, &t)) != 0)
			return mdb_rc(rc);
		if ((rc = store_get_u64(t, s->db_meta, "next_seg", &seg)) ||
		    (rc = mdb_stat(t, s->db_segs, &st)))
			goto abort;
		if (st.ms_entries >= LIVE_SEG_MAX) {
			rc = TT_ETOOBIG;
			goto abort;
		}
		r.state = TT_SEG_ACTIVE;
		r.flags = SEGF_SVCSET;
		r.created_ns = store_now();
		/* a version-2 segment makes the store a version-2 one (12) */
		if (s->seg_version > s->version &&
		    (rc = store_put_u64(t, s->db_meta, "version", s->seg_version)))
			goto abort;
		if ((rc = store_put_u64(t, s->db_meta, "next_seg", seg + 1)) ||
		    (rc = index_seg_put(t, s, seg, &r)) ||
		    (rc = store_seg_dbi(s, seg, 1, t, &dbi)))
			goto abort;
		if ((rc = store_wtxn_commit(s, t)) != 0) {
			if (rc == MDB_MAP_FULL)
				continue;
			return mdb_rc(rc);
		}
		if (s->seg_version > s->version)
			s->version = s->seg_version;
		/* 2. create the file, lock it, write + sync the header, sync the dir */
		store_seg_path(s, seg, path, sizeof path);
		if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE(s))) < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd); /* a recovering process took it first: use another id */
			continue;
		}
		seg_header_encode(seg, r.created_ns, s->uuid, s->seg_version, 0, hdr);
		if ((rc = pwrite_full(fd, hdr, sizeof hdr, 0)) < 0 ||
		    (rc = store_datasync(s, fd)) < 0 || (rc = store_fsync_dir(s)) < 0) {
			close(fd);
			return rc;
		}
		r.end = SEG_HDR_SIZE;
		*segp = seg;
		*fdp = fd;
		*rp = r;
		return 0;
abort:
		store_wtxn_abort(s, t);
		return mdb_rc(rc);
	}
	return TT_ELOCKED;
}

/* Seal: append a seal trailer, sync it, then mark the segment sealed. A crash
 * in between leaves an ACTIVE row over a file that ends in a seal trailer;
 * recovery finishes the job. */
int seg_seal(tt_store *s, uint64_t seg, int fd, segrec *r)
{
	tt_buf b = { 0 };
	MDB_txn *t;
	segrec nr = *r;
	int rc;

	if ((rc = blk_build(NULL, 0, 0, r->min_ts, r->max_ts, BLK_FLAG_SEAL, 0, 0, &b)) < 0)
		return rc;
	rc = pwrite_full(fd, b.data, b.len, r->end);
	if (rc == 0)
		rc = store_datasync(s, fd);
	nr.end = r->end + b.len;
	tt_buf_free(&b);
	if (rc < 0)
		return rc;
	nr.state = TT_SEG_SEALED;
	do {
		if ((rc = store_wtxn(s, &t)) != 0)
			return mdb_rc(rc);
		if ((rc = index_seg_put(t, s, seg, &nr)) != 0) {
			store_wtxn_abort(s, t);
			return mdb_rc(rc);
		}
		rc = store_wtxn_commit(s, t);
	} while (rc == MDB_MAP_FULL);
	if (rc == 0)
		*r = nr;
	return mdb_rc(rc);
}

static int seg_too_old_or_big(const tt_store *s, const segrec *r)
{
	return r->end >= s->o.segment_size ||
	    store_now() - r->created_ns >= s->o.segment_age_ns;
}

/* Is seg the newest segment ever created? Only that one may take new
 * records: gc deletes oldest ids first, so records appended to an older id
 * than another segment's would go before records older than them. (An older
 * unsealed segment: a tt-gc --rotate killed after it took a new segment's
 * lock from its creator, who then made another; t8000's gc kills.) */
static int seg_newest(tt_store *s, uint64_t seg)
{
	MDB_txn *t;
	uint64_t next = 0;

	if (store_rtxn(s, &t) != 0)
		return 0;
	(void)store_get_u64(t, s->db_meta, "next_seg", &next);
	store_rtxn_done(s, t);
	return next && seg == next - 1;
}

/* A recovered orphan: sealed if too old or big, or not the newest segment,
 * else adopted (kept: 1). */
static int adopt(void *ctx, uint64_t seg, int fd, segrec *r, int rc)
{
	tt_writer *w = ctx;

	if (rc == 0 && r->state == TT_SEG_ACTIVE && r->end > 0 &&
	    (seg_too_old_or_big(w->s, r) || !seg_newest(w->s, seg)))
		rc = seg_seal(w->s, seg, fd, r);
	if (rc != 0 || r->state != TT_SEG_ACTIVE || r->end == 0)
		return 0;
	w->seg = seg;
	w->fd = fd;
	w->r = *r;
	/* go on in the segment's own version (recovery checked its header) */
	{
		uint8_t hdr[SEG_HDR_SIZE];
		w->segver = seg_pread_full(fd, hdr, sizeof hdr, 0) == 0 &&
		    seg_header_check(hdr, seg) == 0 ? get32(hdr + 8) : 1;
	}
	return 1;
}

/* Adopt an unsealed segment nobody holds, else create one. */
static int seg_acquire(tt_writer *w)
{
	int rc = orphans_walk(w->s, 0, adopt, w);

	if (rc != 0)
		return rc > 0 ? 0 : rc;
	w->segver = w->s->seg_version;
	return seg_create(w->s, &w->seg, &w->fd, &w->r);
}

/* ---- the thread */

/* Compress, write and scan one raw block; it joins the pending commit. */
static int write_block(tt_writer *w, struct rawblk *rb)
{
	blkinfo *bi;
	tt_buf *blk;
	int rc;

	if (w->npend == w->cap_pend) {
		size_t nc = w->cap_pend ? w->cap_pend * 2 : 16;
		blkinfo *np = realloc(w->pend, nc * sizeof *np);
		if (!np)
			return -ENOMEM;
		memset(np + w->cap_pend, 0, (nc - w->cap_pend) * sizeof *np);
		w->pend = np, w->cap_pend = nc;
	}
	/* the block's info was built by the appending thread: take it, and
	 * leave the raw block an empty one */
	bi = &w->pend[w->npend];
	{
		blkinfo tmp = *bi;
		*bi = rb->bi;
		rb->bi = tmp;
		blkinfo_reset(&rb->bi);
		rb->bi.no_rollup = bi->no_rollup;
	}
	blkinfo_done(bi);
	/* built by the appending thread, unless it had to be columnar and the
	 * segment is of version 1 (an adopted one) */
	blk = &rb->built;
	if (blk->len == 0 || (blk->data[4] == BLK_CODEC_COL && w->segver < 2)) {
		blk = &w->blk;
		if ((rc = blk_build(rb->raw.data, (uint32_t)rb->raw.len, bi->nrec, bi->min_ts,
		    bi->max_ts, 0, w->segver >= 2, 0, blk)) < 0)
			return rc;
	}
	if ((rc = pwrite_full(w->fd, blk->data, blk->len, w->r.end)) < 0) {
		/* leave no partial block behind for the next commit to sit after */
		(void)ftruncate(w->fd, (off_t)w->r.end);
		return rc;
	}
	bi->off = w->r.end;
	bi->comp_len = (uint32_t)(blk->len - BLK_HDR_SIZE);
	bi->raw_len = (uint32_t)rb->raw.len;
	bi->last_ticket = rb->last_ticket;
	w->npend++;
	w->pend_ticket = rb->last_ticket;
	w->r.end += blk->len;
	return 0;
}

static int commit_pending(tt_writer *w)
{
	segrec r = w->r;
	int rc;

	if (w->npend == 0)
		return 0;
	if ((rc = store_datasync(w->s, w->fd)) < 0)
		return rc;
	for (size_t i = 0; i < w->npend; i++) {
		blkinfo *b = &w->pend[i];
		r.records += b->nrec;
		r.blocks++;
		r.raw_bytes += b->raw_len;
		if (b->nrec) {
			if (r.min_ts == 0 && r.max_ts == 0)
				r.min_ts = b->min_ts, r.max_ts = b->max_ts;
			if (b->min_ts < r.min_ts) r.min_ts = b->min_ts;
			if (b->max_ts > r.max_ts) r.max_ts = b->max_ts;
		}
	}
	r.end = w->pend[w->npend - 1].off + BLK_HDR_SIZE + w->pend[w->npend - 1].comp_len;
	if ((rc = index_commit(w->s, w->seg, w->pend, w->npend, &r, NULL, w->held)) < 0)
		return rc;
	w->r = r;
	w->npend = 0;
	return 0;
}

static int rotate(tt_writer *w)
{
	int rc = rollup_flush(w->s, w->seg, w->held); /* the lag key names this segment */

	if (rc == 0)
		rc = seg_seal(w->s, w->seg, w->fd, &w->r);
	close(w->fd);
	w->fd = -1;
	w->segver = w->s->seg_version;
	if (rc < 0)
		return rc;
	return seg_create(w->s, &w->seg, &w->fd, &w->r);
}

static void rawblk_take(struct rawblk *dst, struct rawblk *src)
{
	struct rawblk tmp = *dst;
	*dst = *src;
	*src = tmp;
	src->raw.len = 0;
	src->built.len = 0;
	src->building = 0;
	src->nrec = 0;
	blkinfo_reset(&src->bi);
}

/* Commit what is written, rotate when due, publish durability. Called with
 * mu held; drops it while doing I/O. */
static int commit_cycle(tt_writer *w)
{
	uint64_t t = w->pend_ticket;
	int rc, rot = 0;

	pthread_mutex_unlock(&w->mu);
	rc = commit_pending(w);
	if (rc == 0 && (seg_too_old_or_big(w->s, &w->r) || w->rotate_req)) {
		rc = rotate(w);
		rot = 1;
	}
	pthread_mutex_lock(&w->mu);
	if (rc < 0)
		return rc;
	if (rot)
		w->rotate_req = 0;
	if (t > w->durable)
		w->durable = t;
	pthread_cond_broadcast(&w->cv_done);
	{
		uint64_t one = 1;
		ssize_t k = write(w->efd, &one, sizeof one);
		(void)k;
	}
	return 0;
}

/* After a failure nothing that is not durable may stay behind: cut the segment
 * back to its last commit, so that blocks written for records nobody was told
 * are stored do not come back when the segment is adopted (a retry of exactly
 * the unacknowledged records then stores each once), and so that their space
 * is free again (ENOSPC). Called on the thread, mu not held. */
static void discard_undurable(tt_writer *w)
{
	uint64_t end;

	if (w->fd < 0)
		return;
	end = w->npend ? w->pend[0].off : w->r.end;
	if (ftruncate(w->fd, (off_t)end) == 0)
		(void)store_datasync(w->s, w->fd);
	w->r.end = end;
	w->npend = 0;
}

/* When the rows held back are to be written even if nothing else is. */
static int64_t held_deadline(const tt_writer *w)
{
	return rollpend_since(w->held) + ROLLUP_HOLD_NS;
}

static int rollpend_first_due(const tt_writer *w, int64_t now)
{
	return w->held && rollpend_first(w->held) && now >= held_deadline(w);
}

static void *writer_thread(void *arg)
{
	tt_writer *w = arg;
	int rc = 0;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		int64_t now = mono_ns(), deadline;
		int due;

		deadline = w->pending_since ? w->pending_since + (int64_t)w->s->o.commit_ms * 1000000 : 0;
		due = (w->pending_since && now >= deadline) || w->flush_target > w->durable ||
		    w->stop || w->rotate_req || w->npend >= PEND_MAX;
		if (w->qlen > 0) {
			struct rawblk *rb = &w->q[w->qhead];
			/* a full segment is sealed before the next block goes in; and a
			 * producer that keeps the queue from emptying must not hold back
			 * the commit interval or let written blocks pile up past
			 * PEND_MAX (their acks and their memory wait for a commit) */
			if (w->npend > 0 && (w->r.end >= w->s->o.segment_size || w->npend >= PEND_MAX ||
			    (w->pending_since && now >= deadline))) {
				if ((rc = commit_cycle(w)) < 0)
					break;
				if (w->pending_since)
					w->pending_since = mono_ns();
				continue;
			}
			if (rb->building) {
				/* its appender is still compressing it: blocks go in order */
				pthread_cond_wait(&w->cv_work, &w->mu);
				continue;
			}
			/* write the oldest queued block; its slot stays taken until done */
			pthread_mutex_unlock(&w->mu);
			rc = write_block(w, rb);
			pthread_mutex_lock(&w->mu);
			w->pending_bytes -= rb->raw.len < w->pending_bytes ? rb->raw.len : w->pending_bytes;
			rb->raw.len = 0;
			rb->built.len = 0;
			rb->nrec = 0;
			w->qhead = (w->qhead + 1) % w->qcap;
			w->qlen--;
			pthread_cond_broadcast(&w->cv_space);
			if (rc < 0)
				break;
			continue;
		}
		if (!due && rollpend_first_due(w, now)) {
			/* idle with rows held back: store them (readers then stop
			 * folding the blocks themselves) */
			pthread_mutex_unlock(&w->mu);
			rc = rollup_flush(w->s, w->seg, w->held);
			pthread_mutex_lock(&w->mu);
			if (rc < 0)
				break;
			continue;
		}
		if (!due) {
			int64_t hold = w->held && rollpend_first(w->held) ? held_deadline(w) : 0;
			if (hold && (!deadline || hold < deadline))
				deadline = hold;
			if (deadline) {
				struct timespec ts;
				int64_t wait = deadline - now;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += (time_t)(wait / 1000000000);
				ts.tv_nsec += (long)(wait % 1000000000);
				if (ts.tv_nsec >= 1000000000)
					ts.tv_sec++, ts.tv_nsec -= 1000000000;
				pthread_cond_timedwait(&w->cv_work, &w->mu, &ts);
			} else {
				pthread_cond_wait(&w->cv_work, &w->mu);
			}
			continue;
		}
		/* due: close the partial block, write it, commit everything */
		if (w->cur.nrec > 0) {
			if (w->npend > 0 && w->r.end >= w->s->o.segment_size) {
				if ((rc = commit_cycle(w)) < 0)
					break;
				continue;
			}
			rawblk_take(&w->spare, &w->cur);
			w->pending_bytes -= w->spare.raw.len < w->pending_bytes ? w->spare.raw.len : w->pending_bytes;
			pthread_mutex_unlock(&w->mu);
			rc = write_block(w, &w->spare);
			pthread_mutex_lock(&w->mu);
			w->spare.raw.len = 0;
			w->spare.nrec = 0;
			if (rc < 0)
				break;
		}
		if ((rc = commit_cycle(w)) < 0)
			break;
		if (w->cur.nrec == 0 && w->qlen == 0)
			w->pending_since = 0;
		else if (w->pending_since)
			w->pending_since = mono_ns();
		if (w->stop && w->qlen == 0 && w->cur.nrec == 0)
			break;
	}
	if (rc < 0) {
		pthread_mutex_unlock(&w->mu);
		discard_undurable(w);
		pthread_mutex_lock(&w->mu);
		if (!w->err)
			w->err = rc;
	}
	w->stop = 1;
	pthread_cond_broadcast(&w->cv_done);
	pthread_cond_broadcast(&w->cv_space);
	pthread_mutex_unlock(&w->mu);
	{
		uint64_t one = 1;
		ssize_t k = write(w->efd, &one, sizeof one);
		(void)k;
	}
	return NULL;
}

/* ---- public API */

int tt_writer_open(tt_store *s, tt_writer **out)
{
	tt_writer *w;
	int rc;

	*out = NULL;
	if (s->o.flags & TT_OPEN_RDONLY)
		return TT_EREADONLY;
	if (!(w = calloc(1, sizeof *w)))
		return -ENOMEM;
	w->s = s;
	w->qcap = (int)(QBYTES / s->o.block_size);
	w->qcap = w->qcap < 2 ? 2 : w->qcap > QMAX ? QMAX : w->qcap;
	w->fd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv_work, NULL);
	pthread_cond_init(&w->cv_done, NULL);
	pthread_cond_init(&w->cv_space, NULL);
	if ((w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = -errno;
		goto fail;
	}
	{
		int nr = (s->o.flags & TT_OPEN_NOROLLUP) != 0;
		for (int i = 0; i < QMAX; i++) {
			blkinfo_reset(&w->q[i].bi);
			w->q[i].bi.no_rollup = nr;
		}
		blkinfo_reset(&w->cur.bi);
		blkinfo_reset(&w->spare.bi);
		w->cur.bi.no_rollup = w->spare.bi.no_rollup = nr;
	}
	if (!(s->o.flags & TT_OPEN_NOROLLUP) && !(w->held = rollpend_new())) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = seg_acquire(w)) < 0)
		goto fail;
	if ((rc = pthread_create(&w->thr, NULL, writer_thread, w)) != 0) {
		rc = -rc;
		goto fail;
	}
	w->thr_started = 1;
	*out = w;
	return 0;
fail:
	(void)tt_writer_close(w, 0);
	return rc;
}

int64_t tt_writer_append(tt_writer *w, const uint8_t *rec, size_t len)
{
	size_t used;
	int64_t ts;
	const char *corr;
	size_t corr_len;

	if (len > w->s->o.rec_max)
		return TT_ETOOBIG;
	/* the store holds only canonical records: check before taking them */
	if (tt_mp_check(rec, len, &used, NULL) < 0 || used != len ||
	    tt_rec_ts_corr(rec, len, &ts, &corr, &corr_len) < 0 || corr_len > TT_ID_MAX)
		return TT_EBADREC;
	return tt_writer_append_decoded(w, rec, len);
}

int64_t tt_writer_append_decoded(tt_writer *w, const uint8_t *rec, size_t len)
{
	uint8_t frame[10];
	size_t fl;
	tt_rec_info ri;
	uint32_t off;
	int rc;

	if (len > w->s->o.rec_max)
		return TT_ETOOBIG;
	/* read here, on the appending thread, not by the writer's */
	if (tt_rec_info_get(rec, len, &ri) < 0)
		return TT_EBADREC;
	fl = rec_frame(frame, len);
	pthread_mutex_lock(&w->mu);
	if (w->err || w->stop) {
		pthread_mutex_unlock(&w->mu);
		return TT_ECLOSED;
	}
	if (w->cur.nrec > 0 && (w->cur.raw.len + fl + len > w->s->o.block_size ||
	    w->cur.nrec >= BLK_NREC_MAX)) {
		/* close the current block into the queue (wait for room) */
		while (w->qlen >= w->qcap && !w->err && !w->stop)
			pthread_cond_wait(&w->cv_space, &w->mu);
		if (w->err || w->stop) {
			pthread_mutex_unlock(&w->mu);
			return TT_ECLOSED;
		}
		{
			/* the block is laid out and compressed here, on the appending
			 * thread, outside the lock: the writer thread is left the
			 * writes and commits (it waits for a slot still building) */
			struct rawblk *rb = &w->q[(w->qhead + w->qlen) % w->qcap];
			int columnar = w->segver >= 2;
			rawblk_take(rb, &w->cur);
			rb->building = 1;
			w->qlen++;
			pthread_mutex_unlock(&w->mu);
			blkinfo_done(&rb->bi);
			if (blk_build(rb->raw.data, (uint32_t)rb->raw.len, rb->bi.nrec, rb->bi.min_ts,
			    rb->bi.max_ts, 0, columnar, 0, &rb->built) < 0)
				rb->built.len = 0; /* the writer thread builds it */
			pthread_mutex_lock(&w->mu);
			rb->building = 0;
			pthread_cond_signal(&w->cv_work);
			if (w->err || w->stop) {
				pthread_mutex_unlock(&w->mu);
				return TT_ECLOSED;
			}
		}
	}
	if ((rc = tt_buf_reserve(&w->cur.raw, fl + len)) < 0) {
		pthread_mutex_unlock(&w->mu);
		return rc;
	}
	off = (uint32_t)(w->cur.raw.len + fl);
	if ((rc = blkinfo_add(&w->cur.bi, &ri, rec, len, off, off + (uint32_t)len)) < 0) {
		/* out of memory: the block's info no longer matches it */
		w->err = rc;
		pthread_cond_signal(&w->cv_work);
		pthread_mutex_unlock(&w->mu);
		return rc;
	}
	memcpy(w->cur.raw.data + w->cur.raw.len, frame, fl);
	memcpy(w->cur.raw.data + w->cur.raw.len + fl, rec, len);
	w->cur.raw.len += fl + len;
	w->cur.nrec++;
	w->cur.last_ticket = ++w->appended;
	w->pending_bytes += fl + len;
	if (!w->pending_since) {
		w->pending_since = mono_ns();
		pthread_cond_signal(&w->cv_work); /* start the commit timer */
	}
	{
		int64_t t = (int64_t)w->appended;
		pthread_mutex_unlock(&w->mu);
		return t;
	}
}

int tt_writer_wait(tt_writer *w, uint64_t ticket, int timeout_ms)
{
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (timeout_ms >= 0) {
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mu);
	if (ticket > w->flush_target)
		w->flush_target = ticket;
	pthread_cond_signal(&w->cv_work);
	while (w->durable < ticket && !w->err && !(w->stop && !w->thr_started)) {
		if (timeout_ms < 0)
			pthread_cond_wait(&w->cv_done, &w->mu);
		else if (pthread_cond_timedwait(&w->cv_done, &w->mu, &ts) == ETIMEDOUT) {
			rc = -ETIMEDOUT;
			break;
		}
		if (w->stop && w->durable < ticket && !w->err && w->qlen == 0 && w->cur.nrec == 0)
			break;
	}
	if (rc == 0 && w->durable < ticket)
		rc = w->err ? w->err : TT_ECLOSED;
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int tt_writer_flush(tt_writer *w)
{
	uint64_t t;
	pthread_mutex_lock(&w->mu);
	t = w->appended;
	pthread_mutex_unlock(&w->mu);
	return t ? tt_writer_wait(w, t, -1) : tt_writer_error(w);
}

uint64_t tt_writer_durable(const tt_writer *w)
{
	uint64_t d;
	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	d = w->durable;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return d;
}

int tt_writer_notify_fd(const tt_writer *w)
{
	return w->efd;
}

void tt_writer_notify_drain(tt_writer *w)
{
	uint64_t v;
	ssize_t k = read(w->efd, &v, sizeof v);
	(void)k;
}

size_t tt_writer_pending(const tt_writer *w)
{
	size_t n;
	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	n = w->pending_bytes;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return n;
}

int tt_writer_error(const tt_writer *w)
{
	int e;
	pthread_mutex_lock((pthread_mutex_t *)&w->mu);
	e = w->err;
	pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
	return e;
}

int tt_writer_rotate(tt_writer *w)
{
	uint64_t t;
	pthread_mutex_lock(&w->mu);
	w->rotate_req = 1;
	t = w->appended;
	pthread_cond_signal(&w->cv_work);
	while (w->rotate_req && !w->err && !w->stop)
		pthread_cond_wait(&w->cv_done, &w->mu);
	pthread_mutex_unlock(&w->mu);
	(void)t;
	return tt_writer_error(w);
}

int tt_writer_close(tt_writer *w, int seal)
{
	int rc = 0;

	if (!w)
		return 0;
	if (w->thr_started) {
		rc = tt_writer_flush(w);
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv_work);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thr, NULL);
		if (!rc && w->err)
			rc = w->err;
	}
	/* a failed writer may hold rows of blocks it did not commit: those of
	 * what it committed are folded by the next open (rlag) */
	if (w->fd >= 0 && rc == 0)
		rc = rollup_flush(w->s, w->seg, w->held);
	rollpend_free(w->held);
	if (w->fd >= 0) {
		if (seal && rc == 0 && w->r.state == TT_SEG_ACTIVE)
			rc = seg_seal(w->s, w->seg, w->fd, &w->r);
		close(w->fd); /* drops the flock: the segment is free to adopt */
	}
	if (w->efd >= 0)
		close(w->efd);
	for (int i = 0; i < QMAX; i++) {
		tt_buf_free(&w->q[i].raw);
		tt_buf_free(&w->q[i].built);
		blkinfo_free(&w->q[i].bi);
	}
	tt_buf_free(&w->cur.raw);
	tt_buf_free(&w->cur.built);
	tt_buf_free(&w->spare.raw);
	tt_buf_free(&w->spare.built);
	blkinfo_free(&w->cur.bi);
	blkinfo_free(&w->spare.bi);
	tt_buf_free(&w->blk);
	for (size_t i = 0; i < w->cap_pend; i++)
		blkinfo_free(&w->pend[i]);
	free(w->pend);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv_work);
	pthread_cond_destroy(&w->cv_done);
	pthread_cond_destroy(&w->cv_space);
	free(w);
	return rc;
}
