/*
 * gc.c -- segment listing, statistics and retention (FORMAT.md 8.5).
 *
 * gc deletes whole sealed segments. Its cost does not grow with the index:
 * per segment it is one mdb_drop of the segment's own correlation database,
 * the deletion of that segment's block log rows (a key range), one segment row,
 * then an unlink. Index first, file second: a crash in between leaves an
 * orphan file, which the next gc removes; never an index entry without data.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* Is a live writer holding this (active) segment? */
static int seg_held(tt_store *s, uint64_t seg)
{
	char path[4096];
	int fd, held;
	store_seg_path(s, seg, path, sizeof path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static void seginfo_of(const struct segrow *row, int held, tt_seginfo *si)
{
	si->id = row->id;
	si->state = (int)row->r.state;
	si->held = held;
	si->created_ns = row->r.created_ns;
	si->min_ts = row->r.min_ts;
	si->max_ts = row->r.max_ts;
	si->records = row->r.records;
	si->blocks = row->r.blocks;
	si->bytes = row->r.end;
	si->raw_bytes = row->r.raw_bytes;
	si->first_seq = row->r.first_seq;
	si->last_seq = row->r.last_seq;
	si->unshipped = 0;
	si->rewritten = (row->r.flags & SEGF_REWRITTEN) != 0;
	si->replaced = si->replaced_bytes = 0;
}

int tt_store_segments(tt_store *s, tt_seg_fn fn, void *ctx)
{
	struct segrow *rows;
	size_t n;
	int rc = index_seg_list(s, SEGS_ALL, &rows, &n);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		tt_seginfo si;
		seginfo_of(&rows[i], rows[i].r.state == TT_SEG_ACTIVE && seg_held(s, rows[i].id), &si);
		if ((rc = fn(ctx, &si)) != 0)
			break;
	}
	free(rows);
	return rc < 0 ? rc : (int)n;
}

/* Distinct correlation ids over every segment: each c/<segment> database is
 * sorted by the id's hash, so a k-way merge of their keys (MDB_NEXT_NODUP)
 * counts each hash once, in memory bounded by the number of segments. */
struct idcur { MDB_cursor *c; uint64_t key; };

static void idheap_down(struct idcur *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && h[l].key < h[m].key) m = l;
		if (l + 1 < n && h[l + 1].key < h[m].key) m = l + 1;
		if (m == i)
			return;
		struct idcur x = h[i]; h[i] = h[m]; h[m] = x;
		i = m;
	}
}

static int distinct_ids(MDB_txn *t, const MDB_dbi *dbis, const int *ok, size_t n, uint64_t *out)
{
	struct idcur *h = calloc(n ? n : 1, sizeof *h);
	size_t k = 0;
	uint64_t last = 0, cnt = 0;
	MDB_val key, d;
	int rc = 0;

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!ok[i] || mdb_cursor_open(t, dbis[i], &h[k].c) != 0)
			continue;
		if (mdb_cursor_get(h[k].c, &key, &d, MDB_FIRST) == 0 && key.mv_size == IDX_KEY_SIZE) {
			h[k].key = getbe64(key.mv_data);
			k++;
		} else {
			mdb_cursor_close(h[k].c);
		}
	}
	for (size_t i = k / 2; i-- > 0;)
		idheap_down(h, k, i);
	while (k) {
		if (cnt == 0 || h[0].key != last)
			cnt++;
		last = h[0].key;
		if (mdb_cursor_get(h[0].c, &key, &d, MDB_NEXT_NODUP) == 0 && key.mv_size == IDX_KEY_SIZE) {
			h[0].key = getbe64(key.mv_data);
		} else {
			mdb_cursor_close(h[0].c);
			h[0] = h[--k];
		}
		idheap_down(h, k, 0);
	}
	free(h);
	*out = cnt;
	return rc;
}

int tt_store_stats(tt_store *s, tt_stats *st)
{
	return tt_store_stats_ex(s, TT_STATS_IDS, st);
}

int tt_store_stats_ex(tt_store *s, unsigned what, tt_stats *st)
{
	struct segrow *rows;
	size_t n;
	MDB_envinfo ei;
	MDB_stat ms;
	struct stat fs;
	char path[4200];
	MDB_txn *t;
	int rc = index_seg_list(s, SEGS_ALL, &rows, &n);

	if (rc < 0)
		return rc;
	memset(st, 0, sizeof *st);
	st->min_ts = INT64_MAX;
	st->max_ts = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		segrec *r = &rows[i].r;
		st->segments++;
		st->sealed += r->state == TT_SEG_SEALED;
		st->records += r->records;
		st->blocks += r->blocks;
		st->data_bytes += r->end;
		st->raw_bytes += r->raw_bytes;
		int k = r->state != TT_SEG_SEALED ? 0 : r->flags & SEGF_REWRITTEN ? 2 : 1;
		st->state_segments[k]++;
		st->state_data_bytes[k] += r->end;
		st->state_raw_bytes[k] += r->raw_bytes;
		if (r->records) {
			if (r->min_ts < st->min_ts) st->min_ts = r->min_ts;
			if (r->max_ts > st->max_ts) st->max_ts = r->max_ts;
		}
	}
	if (st->records == 0)
		st->min_ts = st->max_ts = 0;
	mdb_env_info(s->env, &ei);
	mdb_env_stat(s->env, &ms);
	st->index_bytes = (uint64_t)(ei.me_last_pgno + 1) * ms.ms_psize;
	snprintf(path, sizeof path, "%s/index/data.mdb", s->dir);
	if (stat(path, &fs) == 0)
		st->index_file_bytes = (uint64_t)fs.st_blocks * 512;
	{
		MDB_dbi *dbis = calloc(n ? n : 1, sizeof *dbis);
		int *ok = calloc(n ? n : 1, sizeof *ok);
		if (dbis && ok) {
			for (size_t i = 0; i < n; i++)
				ok[i] = store_seg_dbi(s, rows[i].id, 0, NULL, &dbis[i]) == 0;
			if (store_rtxn(s, &t) == 0) {
				uint64_t v;
				MDB_cursor *fc;
				MDB_val fk, fd;
				/* pages in use: the free list's pages (of a dropped
				 * database, a rewrite's moved rows) are reused later */
				if (mdb_cursor_open(t, 0, &fc) == 0) {
					uint64_t nfree = 0;
					while (mdb_cursor_get(fc, &fk, &fd, MDB_NEXT) == 0)
						if (fd.mv_size >= sizeof(size_t))
							nfree += *(const size_t *)fd.mv_data;
					mdb_cursor_close(fc);
					if (nfree * ms.ms_psize < st->index_bytes)
						st->index_bytes -= nfree * ms.ms_psize;
				}
				st->format_version = store_get_u64(t, s->db_meta, "version", &v) == 0 ?
				    (uint32_t)v : s->version;
				for (size_t i = 0; i < n; i++)
					if (ok[i] && mdb_stat(t, dbis[i], &ms) == 0)
						st->id_entries += ms.ms_entries; /* one per (id, block) */
				if (what & TT_STATS_IDS)
					rc = distinct_ids(t, dbis, ok, n, &st->ids);
				if (s->db_rollup && mdb_stat(t, s->db_rollup, &ms) == 0) {
					st->rollup_rows = ms.ms_entries;
					st->rollup_bytes = (ms.ms_branch_pages + ms.ms_leaf_pages +
					    ms.ms_overflow_pages) * (uint64_t)ms.ms_psize;
				}
				if (s->db_rgroups && mdb_stat(t, s->db_rgroups, &ms) == 0)
					st->rollup_bytes += (ms.ms_branch_pages + ms.ms_leaf_pages +
					    ms.ms_overflow_pages) * (uint64_t)ms.ms_psize;
				store_rtxn_done(s, t);
			}
		}
		free(dbis);
		free(ok);
		if (rc < 0) {
			free(rows);
			return rc;
		}
	}
	free(rows);
	return 0;
}

/* Remove one sealed segment: index rows in one txn, then the file. */
static int delete_segment(tt_store *s, uint64_t seg, const segrec *r)
{
	char path[4096];
	MDB_txn *t;
	MDB_cursor *c;
	MDB_dbi dbi;
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	int rc;

	do {
		if ((rc = store_wtxn(s, &t)) != 0)
			return mdb_rc(rc);
		rc = store_seg_dbi(s, seg, 0, t, &dbi);
		if (rc == 0)
			rc = mdb_drop(t, dbi, 1);
		else if (rc == TT_ENOTFOUND)
			rc = 0;
		if (rc)
			goto abort;
		if (r->first_seq) {
			if ((rc = mdb_cursor_open(t, s->db_blocks, &c)) != 0)
				goto abort;
			putbe64(kb, r->first_seq);
			for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
			    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
				blogrec b;
				if (getbe64(k.mv_data) > r->last_seq)
					break;
				if (blogrec_decode(d.mv_data, d.mv_size, &b) == 0 && b.seg == seg &&
				    (rc = mdb_cursor_del(c, 0)) != 0)
					break;
			}
			mdb_cursor_close(c);
			if (rc != 0 && rc != MDB_NOTFOUND)
				goto abort;
		}
		putbe64(kb, seg);
		k.mv_size = 8, k.mv_data = kb;
		if ((rc = mdb_del(t, s->db_segs, &k, NULL)) != 0 && rc != MDB_NOTFOUND)
			goto abort;
		/* held back rollups name no segment that is gone (a segment is
		 * sealed, or recovered, only after its rows are stored) */
		if ((rc = rollup_lag_del(s, t, seg)) != 0)
			goto abort;
		store_forget_seg(s, seg);
		rc = store_wtxn_commit(s, t);
		continue;
abort:
		store_wtxn_abort(s, t);
		store_forget_seg(s, seg);
		if (rc == MDB_MAP_FULL && store_map_grow(s) == 0)
			continue;
		return mdb_rc(rc);
	} while (rc == MDB_MAP_FULL);
	if (rc)
		return mdb_rc(rc);
	store_seg_path(s, seg, path, sizeof path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return store_fsync_dir(s);
}

/* Segment files with no index row (a gc that crashed between its commit and
 * its unlink) are removed, unless a writer holds them. */
static int remove_orphans(tt_store *s, const struct segrow *rows, size_t n)
{
	DIR *d = opendir(s->segdir);
	struct dirent *e;
	int removed = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		unsigned long long id;
		char tail[8];
		int known = 0, fd;
		char path[4200];
		if (sscanf(e->d_name, "%16llx.%3s", &id, tail) != 2 || strcmp(tail, "tts") != 0 ||
		    strlen(e->d_name) != 20)
			continue;
		for (size_t i = 0; i < n && !known; i++)
			known = rows[i].id == id;
		if (known)
			continue;
		snprintf(path, sizeof path, "%s/%s", s->segdir, e->d_name);
		{
			/* re-check under the current index: a segment being created has its row
			 * committed before its file exists, so a file without a row is dead */
			segrec r;
			if (index_seg_read(s, id, &r) != TT_ENOTFOUND)
				continue;
		}
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) == 0)
			removed++;
		close(fd);
	}
	closedir(d);
	if (removed)
		(void)store_fsync_dir(s);
	return removed;
}

/* --rotate: seal active segments whose writer is gone. */
static int seal_orphans(tt_store *s, const struct segrow *rows, size_t n, int dry_run)
{
	for (size_t i = 0; i < n; i++) {
		segrec r;
		int fd, rc;
		if (rows[i].r.state != TT_SEG_ACTIVE || dry_run || seg_own(s, rows[i].id, &fd) < 0)
			continue;
		rc = recover_segment(s, rows[i].id, fd, &r);
		if (rc == 0 && r.state == TT_SEG_ACTIVE)
			rc = seg_seal(s, rows[i].id, fd, &r);
		close(fd);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* What the forwarding destinations have not shipped of segment row: the
 * most any of them lacks into *most; with drop, each one's count is added
 * to its NAME.dropped file (the segment is going: counted before, while its
 * blocks are still there to count, so a deletion that then fails counts
 * records that were not dropped, never the other way). */
static int seg_unshipped(tt_store *s, const struct segrow *row, const struct fwd_hold *h,
    size_t nh, int drop, uint64_t *most)
{
	*most = 0;
	for (size_t j = 0; j < nh; j++) {
		uint64_t u;
		int rc = store_fwd_unshipped(s, row->id, row->r.first_seq, row->r.last_seq,
		    &h[j].pos, &u);
		if (rc < 0)
			return rc;
		if (u > *most)
			*most = u;
		if (drop && u && (rc = store_fwd_dropped_add(s, h[j].name, u)) < 0)
			return rc;
	}
	return 0;
}

static int row_age_cmp(const void *a, const void *b)
{
	const struct segrow *x = a, *y = b;
	if (x->r.first_seq != y->r.first_seq)
		return x->r.first_seq < y->r.first_seq ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int tt_store_gc(tt_store *s, const tt_gc_opts *o, tt_seg_fn fn, void *ctx)
{
	struct fwd_hold *holds = NULL;
	size_t nholds = 0;
	struct segrow *rows;
	size_t n;
	uint64_t total = 0, count;
	int64_t now = o->now_ns ? o->now_ns : store_now();
	int rc, deleted = 0;

	if (s->o.flags & TT_OPEN_RDONLY)
		return TT_EREADONLY;
	if (o->max_age_ns < 0)
		return TT_EBADARG;
	if (!o->ignore_forward &&
	    (rc = store_fwd_holds(s, now, o->forward_max_hold_ns, &holds, &nholds)) < 0)
		return rc;
	if ((rc = index_seg_list(s, SEGS_ALL, &rows, &n)) < 0) {
		free(holds);
		return rc;
	}
	if (o->rotate) {
		if ((rc = seal_orphans(s, rows, n, o->dry_run)) < 0)
			goto out;
		free(rows);
		if ((rc = index_seg_list(s, SEGS_ALL, &rows, &n)) < 0) {
			free(holds);
			return rc;
		}
	}
	if (!o->dry_run) {
		(void)remove_orphans(s, rows, n);
		/* rows of segments whose creator died before making the file (8.1) */
		for (size_t i = 0; i < n; i++) {
			char path[4096];
			struct stat sb;
			if (rows[i].r.end != 0 || rows[i].r.blocks != 0 ||
			    now - rows[i].r.created_ns < 60ll * 1000000000)
				continue;
			store_seg_path(s, rows[i].id, path, sizeof path);
			if (stat(path, &sb) == 0 || errno != ENOENT)
				continue;
			(void)delete_segment(s, rows[i].id, &rows[i].r);
			rows[i].r.state = 0; /* not counted below */
		}
	}
	count = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].r.state) {
			total += rows[i].r.end;
			count++;
		}
	/* oldest first: by the sequence number of the first block (append
	 * order; a rewritten segment keeps its blocks' numbers under a new id,
	 * 8.8), empty segments by id */
	if (n > 1)
		qsort(rows, n, sizeof *rows, row_age_cmp);
	for (size_t i = 0; i < n; i++) {
		segrec *r = &rows[i].r;
		int del = 0, by_size;
		uint64_t unshipped = 0;
		tt_seginfo si;

		store_progress(s, "gc", i, n);
		if (r->state != TT_SEG_SEALED)
			continue;
		if (o->max_age_ns && r->max_ts < now - o->max_age_ns)
			del = 1;
		by_size = o->max_bytes && total > o->max_bytes;
		if (o->max_segments && count > o->max_segments)
			del = 1;
		if (!del && !by_size)
			continue;
		/* records a destination has not shipped: kept, unless the size
		 * limit needs the space (then counted as dropped for it) */
		if (nholds && (rc = seg_unshipped(s, &rows[i], holds, nholds,
		    by_size && !o->dry_run, &unshipped)) < 0)
			goto out;
		if (unshipped && !by_size)
			continue;
		seginfo_of(&rows[i], 0, &si);
		si.unshipped = unshipped;
		if (!o->dry_run && (rc = delete_segment(s, rows[i].id, r)) < 0)
			goto out;
		total -= r->end;
		count--;
		deleted++;
		if (fn && (rc = fn(ctx, &si)) < 0)
			goto out;
	}
	store_progress(s, "gc", n, n);
	rc = deleted;
out:
	free(rows);
	free(holds);
	return rc;
}
