/*
 * check.c -- verify segments against their checksums and the index; rebuild
 * the index from the segment files (FORMAT.md 9).
 *
 * Check reads every block of every segment file and every block log row, and
 * reports each disagreement once, with segment and offset. Rebuild discovers
 * segments from the seg/ directory (not from the index, which may be the
 * damaged part), so it also works on a fresh, empty index.
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

typedef void (*problem_fn)(void *ctx, const tt_problem *p);

struct checker {
	problem_fn fn;
	void *ctx;
	int count;
};

static void report(struct checker *c, uint64_t seg, uint64_t off, int code, const char *what)
{
	tt_problem p = { seg, off, code, what };
	c->count++;
	if (c->fn)
		c->fn(c->ctx, &p);
}

/* One valid block found in a file. */
struct found { uint64_t off; uint32_t comp_len; };

/* Walk a segment file from its header; on a bad block, look for the next
 * block magic whose header and checksum verify (resync) so one bad block does
 * not hide the rest. good() is called for each valid block with its raw bytes. */
static int walk_file(int fd, uint64_t seg, struct checker *ck,
    int (*good)(void *arg, uint64_t off, uint32_t clen, uint32_t rlen, uint32_t flags,
    const uint8_t *raw, uint32_t got), void *arg, uint64_t *valid_end)
{
	struct stat st;
	uint8_t hdr[SEG_HDR_SIZE];
	tt_buf io = { 0 }, raw = { 0 };
	uint64_t pos = SEG_HDR_SIZE, size;
	int rc = 0;

	*valid_end = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	size = (uint64_t)st.st_size;
	if (size < SEG_HDR_SIZE || pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr ||
	    (rc = seg_header_check(hdr, seg)) < 0) {
		report(ck, seg, 0, rc ? rc : TT_ECORRUPT, "bad segment header");
		return 0;
	}
	*valid_end = SEG_HDR_SIZE;
	while (pos < size) {
		uint8_t bh[BLK_HDR_SIZE];
		uint32_t clen, rlen, nrec, flags, got;
		int codec;

		if (size - pos >= BLK_HDR_SIZE && pread(fd, bh, sizeof bh, (off_t)pos) == (ssize_t)sizeof bh &&
		    blk_header_parse(bh, &clen, &rlen, &nrec, NULL, NULL, &flags, &codec) == 0 &&
		    size - pos - BLK_HDR_SIZE >= clen &&
		    blk_read(fd, pos, clen, 0, &io, &raw, &got, NULL) == 0) {
			if ((rc = good(arg, pos, clen, rlen, flags, raw.data, got)) < 0)
				break;
			pos += BLK_HDR_SIZE + clen;
			*valid_end = pos;
			continue;
		}
		/* bad block: report, then resync on the next verifiable block */
		{
			uint64_t bad = pos, q;
			uint8_t buf[4096];
			int found = 0;
			for (q = pos + 1; q + BLK_HDR_SIZE <= size && !found;) {
				ssize_t k = pread(fd, buf, sizeof buf, (off_t)q);
				if (k < 4)
					break;
				for (ssize_t i = 0; i + 4 <= k; i++) {
					if (get32(buf + i) != BLK_MAGIC)
						continue;
					uint64_t at = q + (uint64_t)i;
					if (size - at >= BLK_HDR_SIZE && pread(fd, bh, sizeof bh, (off_t)at) == (ssize_t)sizeof bh &&
					    blk_header_parse(bh, &clen, &rlen, &nrec, NULL, NULL, &flags, &codec) == 0 &&
					    size - at - BLK_HDR_SIZE >= clen &&
					    blk_read(fd, at, clen, 0, &io, &raw, &got, NULL) == 0) {
						pos = at;
						found = 1;
						break;
					}
				}
				q += (uint64_t)(k - 3);
			}
			report(ck, seg, bad, TT_ECORRUPT, found ? "bad block (skipped to the next valid one)"
			    : "bad or torn data to end of file");
			if (!found)
				break;
		}
	}
	tt_buf_free(&io);
	tt_buf_free(&raw);
	return rc;
}

/* ---- check */

struct chkfile {
	struct found *v;
	size_t n, cap;
	int sealed;
};

static int chk_good(void *arg, uint64_t off, uint32_t clen, uint32_t rlen, uint32_t flags,
    const uint8_t *raw, uint32_t got)
{
	struct chkfile *f = arg;
	(void)rlen, (void)raw, (void)got;
	if (flags & BLK_FLAG_SEAL) {
		f->sealed = 1;
		return 0;
	}
	if (f->n == f->cap) {
		struct found *nv = realloc(f->v, (f->cap = f->cap ? f->cap * 2 : 256) * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		f->v = nv;
	}
	f->v[f->n++] = (struct found){ off, clen };
	return 0;
}

static int found_has(const struct chkfile *f, uint64_t off, uint32_t clen)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->v[mid].off < off) lo = mid + 1;
		else hi = mid;
	}
	return lo < f->n && f->v[lo].off == off && f->v[lo].comp_len == clen;
}

static int check_segment(tt_store *s, uint64_t seg, const segrec *r, struct checker *ck)
{
	char path[4096];
	struct chkfile f = { 0 };
	uint64_t valid_end, nindexed = 0;
	MDB_txn *t;
	MDB_cursor *c;
	MDB_dbi dbi;
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	int fd, rc;

	store_seg_path(s, seg, path, sizeof path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		/* a row with nothing indexed and no file: a writer killed between
		 * FORMAT.md 8.1 steps 1 and 2 (or one creating it right now) */
		if (errno == ENOENT && r->end == 0 && r->blocks == 0)
			return 0;
		report(ck, seg, 0, -errno, "segment file missing or unreadable");
		return 0;
	}
	rc = walk_file(fd, seg, ck, chk_good, &f, &valid_end);
	close(fd);
	if (rc < 0)
		goto out;
	if (valid_end < r->end)
		report(ck, seg, valid_end, TT_ECORRUPT, "index covers bytes past the last valid block");
	/* every block log row of this segment must name a valid block */
	if (store_seg_dbi(s, seg, 0, NULL, &dbi) < 0) {
		report(ck, seg, 0, TT_ECORRUPT, "segment has no correlation index");
		goto out;
	}
	if ((rc = store_rtxn(s, &t)) != 0) {
		rc = mdb_rc(rc);
		goto out;
	}
	if (r->first_seq && mdb_cursor_open(t, s->db_blocks, &c) == 0) {
		putbe64(kb, r->first_seq);
		for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0 &&
		    getbe64(k.mv_data) <= r->last_seq; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
			blogrec b;
			if (blogrec_decode(d.mv_data, d.mv_size, &b) < 0) {
				report(ck, seg, 0, TT_ECORRUPT, "malformed block log row");
				continue;
			}
			if (b.seg != seg)
				continue;
			nindexed++;
			if (!found_has(&f, b.off, b.comp_len))
				report(ck, seg, b.off, TT_ECORRUPT, "index entry points at no valid block");
		}
		mdb_cursor_close(c);
	}
	store_rtxn_done(s, t);
	rc = 0;
	if (nindexed != r->blocks)
		report(ck, seg, 0, TT_ECORRUPT, "segment row block count disagrees with the block log");
	for (size_t i = 0; i < f.n; i++)
		if (f.v[i].off + BLK_HDR_SIZE + f.v[i].comp_len <= r->end && nindexed < f.n) {
			report(ck, seg, f.v[i].off, TT_ECORRUPT, "valid block not in the index");
			break;
		}
	if (r->state == TT_SEG_SEALED && !f.sealed)
		report(ck, seg, r->end, TT_ECORRUPT, "sealed segment has no seal trailer");
out:
	free(f.v);
	return rc;
}

/* ---- rebuild */

struct rbfile {
	tt_store *s;
	uint64_t seg;
	segrec r;
	blkinfo batch[64];
	size_t nb;
	int sealed;
};

static int rb_flush(struct rbfile *f)
{
	int rc;
	if (f->nb == 0)
		return 0;
	rc = index_commit(f->s, f->seg, f->batch, f->nb, &f->r, NULL);
	f->nb = 0;
	return rc;
}

static int rb_good(void *arg, uint64_t off, uint32_t clen, uint32_t rlen, uint32_t flags,
    const uint8_t *raw, uint32_t got)
{
	struct rbfile *f = arg;
	blkinfo *b;
	if (flags & BLK_FLAG_SEAL) {
		f->sealed = 1;
		f->r.end = off + BLK_HDR_SIZE + clen;
		return 0;
	}
	b = &f->batch[f->nb];
	if (blkinfo_scan(b, raw, got) < 0)
		return 0; /* checksum ok but not records: skip it */
	b->off = off;
	b->comp_len = clen;
	b->raw_len = rlen;
	f->r.records += b->nrec;
	f->r.blocks++;
	f->r.raw_bytes += rlen;
	if (b->nrec) {
		if (f->r.min_ts == 0 && f->r.max_ts == 0)
			f->r.min_ts = b->min_ts, f->r.max_ts = b->max_ts;
		if (b->min_ts < f->r.min_ts) f->r.min_ts = b->min_ts;
		if (b->max_ts > f->r.max_ts) f->r.max_ts = b->max_ts;
	}
	f->r.end = off + BLK_HDR_SIZE + clen;
	if (++f->nb == 64)
		return rb_flush(f);
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int rebuild(tt_store *s, struct checker *ck)
{
	DIR *dir;
	struct dirent *e;
	uint64_t *ids = NULL, maxid = 0, gen = 1;
	int *fds = NULL;
	size_t n = 0, cap = 0;
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, d;
	int rc = 0;

	if (!(dir = opendir(s->segdir)))
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		unsigned long long id;
		char tail[8];
		if (strlen(e->d_name) != 20 || sscanf(e->d_name, "%16llx.%3s", &id, tail) != 2 ||
		    strcmp(tail, "tts") != 0)
			continue;
		if (n == cap) {
			uint64_t *ni = realloc(ids, (cap = cap ? cap * 2 : 64) * sizeof *ni);
			if (!ni) { closedir(dir); free(ids); return -ENOMEM; }
			ids = ni;
		}
		ids[n++] = id;
	}
	closedir(dir);
	if (n > 1) /* ids is NULL when the directory holds no segment */
		qsort(ids, n, sizeof *ids, u64_cmp);
	if (n && !(fds = malloc(n * sizeof *fds))) {
		free(ids);
		return -ENOMEM;
	}
	/* 1. own every segment: a live writer makes rebuild refuse */
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		store_seg_path(s, ids[i], path, sizeof path);
		fds[i] = open(path, O_RDWR | O_CLOEXEC);
		if (fds[i] < 0 || flock(fds[i], LOCK_EX | LOCK_NB) < 0) {
			rc = fds[i] < 0 ? -errno : TT_ELOCKED;
			for (size_t j = 0; j <= i; j++)
				if (fds[j] >= 0) close(fds[j]);
			free(fds);
			free(ids);
			return rc;
		}
		if (ids[i] > maxid)
			maxid = ids[i];
	}
	/* 2. empty the index (drop every per-segment database) */
	if ((rc = store_wtxn(s, &t)) != 0)
		goto out;
	MDB_dbi main_db;
	if ((rc = mdb_dbi_open(t, NULL, 0, &main_db)) == 0 &&
	    (rc = mdb_cursor_open(t, main_db, &c)) == 0) {
		char names[MAX_DBS][20];
		size_t nn = 0;
		for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0 && nn < MAX_DBS;
		    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT))
			if (k.mv_size == 18 && memcmp(k.mv_data, "c/", 2) == 0) {
				memcpy(names[nn], k.mv_data, 18);
				names[nn++][18] = 0;
			}
		mdb_cursor_close(c);
		rc = 0;
		for (size_t i = 0; i < nn && rc == 0; i++) {
			MDB_dbi dbi;
			unsigned long long sid;
			sscanf(names[i] + 2, "%16llx", &sid);
			store_forget_seg(s, sid);
			if ((rc = mdb_dbi_open(t, names[i], MDB_DUPSORT | MDB_DUPFIXED, &dbi)) == 0)
				rc = mdb_drop(t, dbi, 1);
		}
	}
	(void)store_get_u64(t, s->db_meta, "gen", &gen);
	if (rc || (rc = mdb_drop(t, s->db_blocks, 0)) || (rc = mdb_drop(t, s->db_segs, 0)) ||
	    (rc = mdb_drop(t, s->db_svc, 0)) ||
	    (rc = store_put_u64(t, s->db_meta, "gen", gen + 1))) {
		store_wtxn_abort(s, t);
		goto out;
	}
	{
		uint64_t next;
		if (store_get_u64(t, s->db_meta, "next_seg", &next) != 0 || next <= maxid)
			if ((rc = store_put_u64(t, s->db_meta, "next_seg", maxid + 1)) != 0) {
				store_wtxn_abort(s, t);
				goto out;
			}
	}
	if ((rc = store_wtxn_commit(s, t)) != 0)
		goto out;
	s->gen = (uint32_t)(gen + 1);
	/* 3. index every file from its blocks */
	for (size_t i = 0; i < n; i++) {
		struct rbfile *f = calloc(1, sizeof *f);
		uint8_t hdr[SEG_HDR_SIZE];
		uint64_t valid_end;
		MDB_dbi dbi;
		if (!f) { rc = -ENOMEM; goto out; }
		f->s = s;
		f->seg = ids[i];
		f->r.state = TT_SEG_ACTIVE;
		f->r.end = SEG_HDR_SIZE;
		if (pread(fds[i], hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr && seg_header_check(hdr, ids[i]) == 0)
			f->r.created_ns = (int64_t)get64(hdr + 24);
		if ((rc = store_wtxn(s, &t)) != 0) { free(f); goto out; }
		if ((rc = index_seg_put(t, s, ids[i], &f->r)) || (rc = store_seg_dbi(s, ids[i], 1, t, &dbi))) {
			store_wtxn_abort(s, t);
			free(f);
			goto out;
		}
		if ((rc = store_wtxn_commit(s, t)) != 0) { free(f); goto out; }
		rc = walk_file(fds[i], ids[i], ck, rb_good, f, &valid_end);
		if (rc == 0)
			rc = rb_flush(f);
		if (rc == 0 && f->sealed) {
			f->r.state = TT_SEG_SEALED;
			if ((rc = store_wtxn(s, &t)) == 0) {
				if ((rc = index_seg_put(t, s, ids[i], &f->r)) != 0)
					store_wtxn_abort(s, t);
				else
					rc = store_wtxn_commit(s, t);
			}
		}
		for (size_t j = 0; j < 64; j++)
			blkinfo_free(&f->batch[j]);
		free(f);
		if (rc)
			goto out;
	}
out:
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	free(ids);
	return mdb_rc(rc);
}

int tt_store_check(tt_store *s, int rebuild_index, problem_fn fn, void *ctx)
{
	struct checker ck = { fn, ctx, 0 };
	struct segrow *rows;
	size_t n;
	int rc;

	if (rebuild_index) {
		/* bad blocks the rebuild skips are reported by the check that follows */
		struct checker quiet = { NULL, NULL, 0 };
		if (s->o.flags & TT_OPEN_RDONLY)
			return TT_EREADONLY;
		if ((rc = rebuild(s, &quiet)) < 0)
			return rc;
	}
	if ((rc = index_seg_list(s, SEGS_WITH_BAD, &rows, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (rows[i].r.state == 0) {
			report(&ck, rows[i].id, 0, TT_ECORRUPT, "malformed segment row");
			continue;
		}
		if ((rc = check_segment(s, rows[i].id, &rows[i].r, &ck)) < 0)
			break;
	}
	free(rows);
	return rc < 0 ? rc : ck.count;
}
