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
#include <time.h>
#include <unistd.h>

#include "store.h"

typedef void (*problem_fn)(void *ctx, const tt_problem *p);

struct checker {
	problem_fn fn;
	void *ctx;
	int count;
	int rebuilding; /* the index is replaced next: its entries are not walked */
};

static void report(struct checker *c, uint64_t seg, uint64_t off, int code, const char *what)
{
	tt_problem p = { seg, off, code, what };
	c->count++;
	if (c->fn)
		c->fn(c->ctx, &p);
}

/* One valid block found in a file. */
struct found { uint64_t off; uint32_t comp_len; int indexed; };

/* Is this a failure to read (out of memory, I/O error) rather than bad data?
 * Then the check stops with it instead of reporting corruption. */
static int read_failed(int rc)
{
	return rc < 0 && rc != TT_ECORRUPT;
}

/* Walk a segment file from its header; on a bad block, look for the next
 * block magic whose header and checksum verify (resync) so one bad block does
 * not hide the rest. A bad block at or after quiet_from ends the walk
 * unreported (what a live writer is writing, see check_segment). good() is
 * called for each valid block with its raw bytes.
 * A damaged header is reported and the blocks are read all the same (each
 * verifies on its own); a well-formed header of another format version, or
 * of another store than uuid (when not NULL), is reported and the file is
 * left alone: returns 1 (refused). */
static int walk_file(int fd, uint64_t seg, const uint8_t *uuid, struct checker *ck,
    int (*good)(void *arg, uint64_t off, uint32_t clen, uint32_t rlen, uint32_t flags,
    const uint8_t *raw, uint32_t got), void *arg, uint64_t *valid_end, uint64_t quiet_from)
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
	if (size >= SEG_HDR_SIZE && (rc = seg_pread_full(fd, hdr, sizeof hdr, 0)) < 0)
		return rc;
	rc = size < SEG_HDR_SIZE ? TT_ECORRUPT : seg_header_check(hdr, seg);
	if (rc == TT_EVERSION) {
		report(ck, seg, 0, rc, "segment of an unknown format version (left alone)");
		return 1;
	}
	if (rc == 0 && uuid && memcmp(hdr + 32, uuid, 16) != 0) {
		report(ck, seg, 0, TT_ECORRUPT, "segment of another store (uuid differs; left alone)");
		return 1;
	}
	if (rc < 0)
		report(ck, seg, 0, rc, "bad segment header");
	rc = 0;
	*valid_end = SEG_HDR_SIZE;
	while (pos < size) {
		uint8_t bh[BLK_HDR_SIZE];
		uint32_t clen, rlen, nrec, flags, got;
		int codec, r = TT_ECORRUPT;

		if (size - pos >= BLK_HDR_SIZE && (r = seg_pread_full(fd, bh, sizeof bh, pos)) == 0 &&
		    (r = blk_header_parse(bh, &clen, &rlen, &nrec, NULL, NULL, &flags, &codec)) == 0 &&
		    (r = size - pos - BLK_HDR_SIZE >= clen ? 0 : TT_ECORRUPT) == 0 &&
		    (r = blk_read(fd, pos, clen, NULL, &io, &raw, &got, NULL)) == 0) {
			if ((rc = good(arg, pos, clen, rlen, flags, raw.data, got)) < 0)
				break;
			pos += BLK_HDR_SIZE + clen;
			*valid_end = pos;
			continue;
		}
		if (read_failed(r)) {
			rc = r;
			break;
		}
		if (pos >= quiet_from)
			break;
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
					if (size - at >= BLK_HDR_SIZE && (r = seg_pread_full(fd, bh, sizeof bh, at)) == 0 &&
					    (r = blk_header_parse(bh, &clen, &rlen, &nrec, NULL, NULL, &flags, &codec)) == 0 &&
					    size - at - BLK_HDR_SIZE >= clen &&
					    (r = blk_read(fd, at, clen, NULL, &io, &raw, &got, NULL)) == 0) {
						pos = at;
						found = 1;
						break;
					}
					if (read_failed(r))
						break;
				}
				if (read_failed(r))
					break;
				q += (uint64_t)(k - 3);
			}
			if (read_failed(r)) {
				rc = r;
				break;
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
	f->v[f->n++] = (struct found){ off, clen, 0 };
	return 0;
}

/* The valid block at off with that length, or NULL. */
static struct found *found_find(const struct chkfile *f, uint64_t off, uint32_t clen)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->v[mid].off < off) lo = mid + 1;
		else hi = mid;
	}
	return lo < f->n && f->v[lo].off == off && f->v[lo].comp_len == clen ? &f->v[lo] : NULL;
}

/* A page LMDB finds damaged while a walk reads it (a pointer to a page that
 * is not there, a page of the wrong kind) is a problem of the index to
 * report, not a failure to check: reported, 1. */
static int index_damaged(struct checker *ck, uint64_t seg, int rc, const char *what)
{
	char msg[160];

	if (!mdb_damage(rc))
		return 0;
	snprintf(msg, sizeof msg, "%s unreadable (%s): run tt-check --rebuild-index", what,
	    rc == MDB_BAD_TXN ? "LMDB: a page it needs is missing" : mdb_strerror(rc));
	report(ck, seg, 0, TT_ECORRUPT, msg);
	return 1;
}

/* Is the segment's row gone from the index now (a gc deleted it while we
 * looked)? Then whatever is missing is not a problem. */
static int seg_row_gone(tt_store *s, uint64_t seg)
{
	segrec r;

	return index_seg_read(s, seg, &r) == TT_ENOTFOUND;
}

/* Writers and gc may run meanwhile: the segment's row and its block log
 * rows are read in one snapshot, and the file after that snapshot was taken
 * (a writer syncs a block before it indexes it, so the file holds at least
 * what the snapshot indexes); what vanished because gc deleted the segment
 * in between is not reported. */
static int check_segment(tt_store *s, uint64_t seg, const segrec *r0, struct checker *ck)
{
	char path[4096];
	struct chkfile f = { 0 };
	uint64_t valid_end, nindexed = 0;
	MDB_txn *t = NULL;
	MDB_cursor *c;
	MDB_dbi dbi;
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	segrec rr, *r = &rr;
	int fd, rc, held;

	store_seg_path(s, seg, path, sizeof path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		/* a row with nothing indexed and no file: a writer killed between
		 * FORMAT.md 8.1 steps 1 and 2 (or one creating it right now) */
		if (errno == ENOENT && ((r0->end == 0 && r0->blocks == 0) || seg_row_gone(s, seg)))
			return 0;
		if (errno != ENOENT && errno != EACCES)
			return -errno; /* EIO, ENOMEM, EMFILE: the check fails, naming it */
		report(ck, seg, 0, -errno, "segment file missing or unreadable");
		return 0;
	}
	if (r0->end == 0 && r0->blocks == 0 && r0->state == TT_SEG_ACTIVE) {
		/* a file whose header is not (completely) written yet: a writer
		 * between FORMAT.md 8.1 steps 2 and 3, or killed there; recovery
		 * rewrites the header (8.4 step 2) */
		struct stat st;
		uint8_t hdr[SEG_HDR_SIZE];
		if (fstat(fd, &st) == 0 && ((uint64_t)st.st_size < SEG_HDR_SIZE ||
		    (seg_pread_full(fd, hdr, sizeof hdr, 0) == 0 && seg_header_check(hdr, seg) < 0))) {
			close(fd);
			return 0;
		}
	}
	/* the segment's correlation index must exist (before the snapshot:
	 * opening a handle takes its own txn) */
	if ((rc = store_seg_dbi(s, seg, 0, NULL, &dbi)) != 0) { /* LMDB's are > 0 */
		if (rc == TT_ENOTFOUND && !seg_row_gone(s, seg))
			report(ck, seg, 0, TT_ECORRUPT, "segment has no correlation index");
		close(fd);
		return rc == TT_ENOTFOUND ? 0 : mdb_rc(rc);
	}
	if ((rc = store_rtxn(s, &t)) != 0) {
		close(fd);
		return mdb_rc(rc);
	}
	if ((rc = index_seg_get(s, t, seg, r)) != 0) {
		close(fd);
		store_rtxn_done(s, t);
		if (rc == TT_ENOTFOUND) /* deleted meanwhile */
			return 0;
		if (rc == TT_ECORRUPT) {
			report(ck, seg, 0, TT_ECORRUPT, "malformed segment row");
			return 0;
		}
		return mdb_rc(rc);
	}
	/* Past the indexed end of a segment a live writer holds (flock) are the
	 * blocks it is writing: a torn one there is not reported. A segment no
	 * writer holds is kept from being adopted while we read it (shared
	 * lock); its torn tail is reported (recovery cuts it, FORMAT.md 9). */
	held = r->state == TT_SEG_ACTIVE && flock(fd, LOCK_SH | LOCK_NB) < 0 &&
	    errno == EWOULDBLOCK;
	rc = walk_file(fd, seg, s->uuid, ck, chk_good, &f, &valid_end,
	    held ? r->end : UINT64_MAX);
	close(fd);
	if (rc < 0)
		goto out;
	if (rc == 1) { /* refused: foreign version or store */
		rc = 0;
		goto out;
	}
	if (valid_end < r->end)
		report(ck, seg, valid_end, TT_ECORRUPT, "index covers bytes past the last valid block");
	/* every block log row of this segment must name a valid block */
	if (r->first_seq) {
		if ((rc = mdb_cursor_open(t, s->db_blocks, &c)) != 0) {
			rc = mdb_rc(rc);
			goto out;
		}
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
			struct found *fb = found_find(&f, b.off, b.comp_len);
			if (fb)
				fb->indexed = 1;
			else
				report(ck, seg, b.off, TT_ECORRUPT, "index entry points at no valid block");
		}
		mdb_cursor_close(c);
		if (index_damaged(ck, seg, rc, "block log"))
			rc = MDB_NOTFOUND;
		if (rc != 0 && rc != MDB_NOTFOUND) { /* could not read the index: no verdict */
			rc = mdb_rc(rc);
			goto out;
		}
	}
	/* every correlation entry must name one of those block log rows, and
	 * their record counts stay within the segment's (a damaged page is found
	 * here, not by the first reader that walks it; LMDB's own page checks
	 * end the process with exit 3, so a check that is to be followed by a
	 * rebuild does not walk what the rebuild replaces) */
	if (!ck->rebuilding) {
		uint64_t nrec = 0, nbad = 0;
		if ((rc = mdb_cursor_open(t, dbi, &c)) != 0) {
			rc = mdb_rc(rc);
			goto out;
		}
		for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
			idxval v;
			if (k.mv_size != IDX_KEY_SIZE || d.mv_size != IDX_VAL_SIZE) {
				nbad++;
				continue;
			}
			idxval_decode(d.mv_data, &v);
			if (v.seq < r->first_seq || v.seq > r->last_seq || v.count == 0)
				nbad++;
			nrec += v.count;
		}
		mdb_cursor_close(c);
		if (index_damaged(ck, seg, rc, "correlation index"))
			rc = MDB_NOTFOUND;
		if (rc != 0 && rc != MDB_NOTFOUND) {
			rc = mdb_rc(rc);
			goto out;
		}
		if (nbad)
			report(ck, seg, 0, TT_ECORRUPT, "correlation index entries name no block of the segment");
		else if (nrec > r->records) /* records without an id have no entry */
			report(ck, seg, 0, TT_ECORRUPT, "correlation index counts more records than the segment row");
	}
	rc = 0;
	if (nindexed != r->blocks)
		report(ck, seg, 0, TT_ECORRUPT, "segment row block count disagrees with the block log");
	/* Only blocks before the indexed end must be indexed: valid blocks after
	 * it in an unsealed segment are a writer's written, not yet committed
	 * blocks (it is running, or was killed: recovery indexes them). */
	for (size_t i = 0; i < f.n; i++)
		if (f.v[i].off + BLK_HDR_SIZE + f.v[i].comp_len <= r->end && !f.v[i].indexed) {
			report(ck, seg, f.v[i].off, TT_ECORRUPT, "valid block not in the index");
			break;
		}
	if (r->state == TT_SEG_SEALED && !f.sealed)
		report(ck, seg, r->end, TT_ECORRUPT, "sealed segment has no seal trailer");
out:
	store_rtxn_done(s, t);
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
	rc = index_commit(f->s, f->seg, f->batch, f->nb, &f->r, NULL, NULL);
	f->nb = 0;
	return rc;
}

static int rb_good(void *arg, uint64_t off, uint32_t clen, uint32_t rlen, uint32_t flags,
    const uint8_t *raw, uint32_t got)
{
	struct rbfile *f = arg;
	blkinfo *b;
	int rc;
	if (flags & BLK_FLAG_SEAL) {
		f->sealed = 1;
		f->r.end = off + BLK_HDR_SIZE + clen;
		return 0;
	}
	b = &f->batch[f->nb];
	if ((rc = blkinfo_scan(b, raw, got)) < 0) /* checksum ok but not records: skip it */
		return rc == TT_ECORRUPT ? 0 : rc;  /* out of memory: the rebuild fails */
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

/* rebuild's file order: by origin (the first segment of the records), then id */
struct rbo { uint64_t key, id; size_t i; };

static int rbo_cmp(const void *a, const void *b)
{
	const struct rbo *x = a, *y = b;
	if (x->key != y->key) return x->key < y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int rebuild(tt_store *s, struct checker *ck)
{
	struct rbo *order = NULL;
	DIR *dir;
	struct dirent *e;
	uint64_t *ids = NULL, maxid = 0;
	int *fds = NULL;
	size_t n = 0, cap = 0;
	MDB_txn *t;
	int rc = 0, rc2;

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
	/* 2. a fresh, empty index beside the old one (never read: it may be
	 * what is damaged), keeping the store's identity: its uuid -- the one
	 * most segment headers carry (the segments are the data; the index
	 * may be new or damaged), on a tie or with no valid header the old
	 * index's -- and a generation that no cursor of the old index carries */
	{
		uint8_t uuid[16], (*hu)[16] = n ? calloc(n, 16) : NULL;
		int have_uuid = s->env != NULL;
		size_t nh = 0, best = 0;
		uint64_t gen = s->env ? (uint64_t)s->gen + 1 : (uint64_t)(uint32_t)time(NULL);
		memcpy(uuid, s->uuid, 16);
		if (n && !hu) {
			rc = -ENOMEM;
			goto out_fds;
		}
		for (size_t i = 0; i < n; i++) {
			uint8_t hdr[SEG_HDR_SIZE];
			if (seg_pread_full(fds[i], hdr, sizeof hdr, 0) == 0 && seg_header_check(hdr, ids[i]) == 0)
				memcpy(hu[nh++], hdr + 32, 16);
		}
		for (size_t i = 0; i < nh; i++) {
			size_t votes = 0;
			for (size_t j = 0; j < nh; j++)
				votes += memcmp(hu[i], hu[j], 16) == 0;
			if (votes > best || (votes == best && have_uuid && memcmp(hu[i], s->uuid, 16) == 0)) {
				best = votes;
				memcpy(uuid, hu[i], 16);
			}
		}
		have_uuid |= nh > 0;
		free(hu);
		if ((rc = store_index_fresh(s)) != 0)
			goto out;
		if ((rc = store_wtxn(s, &t)) != 0)
			goto out;
		{
			MDB_val k = { 4, "uuid" }, d = { 16, uuid };
			if ((have_uuid && (rc = mdb_put(t, s->db_meta, &k, &d, 0))) ||
			    (rc = store_put_u64(t, s->db_meta, "gen", gen)) ||
			    (rc = store_put_u64(t, s->db_meta, "next_seg", maxid + 1))) {
				store_wtxn_abort(s, t);
				goto out;
			}
		}
		if ((rc = store_wtxn_commit(s, t)) != 0)
			goto out;
		if (have_uuid)
			memcpy(s->uuid, uuid, 16);
		s->gen = (uint32_t)gen;
	}
	/* 3. index every file from its blocks, in the order of their records'
	 * first segments: a rewrite (8.8) names it in its header (origin). Of
	 * the files of one origin one is indexed: the origin's own file while
	 * it exists (it goes only after a rewrite's commit), else the highest
	 * id (the rewrite that committed: attempts that failed came before
	 * it, none after). The others stay orphans, for gc. */
	if (n && !(order = malloc(n * sizeof *order))) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t hdr[SEG_HDR_SIZE];
		order[i].key = ids[i], order[i].id = ids[i], order[i].i = i;
		if (seg_pread_full(fds[i], hdr, sizeof hdr, 0) == 0 &&
		    seg_header_check(hdr, ids[i]) == 0 && get64(hdr + 48) != 0 &&
		    get64(hdr + 48) < ids[i])
			order[i].key = get64(hdr + 48);
	}
	if (n > 1)
		qsort(order, n, sizeof *order, rbo_cmp);
	for (size_t oi = 0, g = 0; oi < n; oi++) {
		size_t i = order[oi].i;
		struct rbfile *f;
		if (oi == 0 || order[oi - 1].key != order[oi].key)
			g = oi; /* the group's first file */
		if (order[g].id == order[g].key ? oi != g :
		    oi + 1 < n && order[oi + 1].key == order[oi].key)
			continue; /* another file of the same records */
		f = calloc(1, sizeof *f);
		uint8_t hdr[SEG_HDR_SIZE];
		uint64_t valid_end;
		MDB_dbi dbi;
		if (!f) { rc = -ENOMEM; goto out; }
		f->s = s;
		f->seg = ids[i];
		f->r.state = TT_SEG_ACTIVE;
		f->r.flags = SEGF_SVCSET;
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
		rc = walk_file(fds[i], ids[i], s->uuid, ck, rb_good, f, &valid_end, UINT64_MAX);
		store_progress(s, "rebuild", oi + 1, n);
		if (rc == 1) {
			/* refused (another version or store): a sealed row with nothing
			 * indexed keeps it from gc's orphan removal, from recovery and
			 * from readers; tt-check reports it each time */
			memset(&f->r, 0, sizeof f->r);
			f->r.state = TT_SEG_SEALED;
			f->sealed = 1;
			rc = 0;
		}
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
	/* 4. the new index replaces the old one, or (on failure) goes */
	rc2 = store_index_swap(s, rc == 0);
	if (rc == 0)
		rc = rc2;
out_fds:
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	free(order);
	free(fds);
	free(ids);
	return mdb_rc(rc);
}

static int check_all(tt_store *s, struct checker *ck)
{
	struct segrow *rows;
	size_t n;
	int rc;

	uint64_t total = 0, done = 0;

	if ((rc = index_seg_list(s, SEGS_WITH_BAD, &rows, &n)) < 0) {
		if (!mdb_damage(rc))
			return rc;
		index_damaged(ck, 0, rc, "segment table");
		return ck->count;
	}
	for (size_t i = 0; i < n; i++)
		total += rows[i].r.end;
	for (size_t i = 0; i < n; i++) {
		if (rows[i].r.state == 0) {
			report(ck, rows[i].id, 0, TT_ECORRUPT, "malformed segment row");
			continue;
		}
		if ((rc = check_segment(s, rows[i].id, &rows[i].r, ck)) < 0)
			break;
		done += rows[i].r.end;
		store_progress(s, "check", done, total);
	}
	free(rows);
	if (rc >= 0) {
		uint64_t rolled, expect;
		char what[160];
		int bad = rollup_verify(s, &rolled, &expect);
		if (bad < 0)
			return bad;
		if (bad) {
			snprintf(what, sizeof what, "%d rollup rows do not decode", bad);
			report(ck, 0, 0, TT_ECORRUPT, what);
		}
		if (rolled != expect) {
			snprintf(what, sizeof what, "rollups count %llu records, the index folded %llu "
			    "(run tt-check --rebuild-index)", (unsigned long long)rolled,
			    (unsigned long long)expect);
			report(ck, 0, 0, TT_ECORRUPT, what);
		}
	}
	return rc < 0 ? rc : ck->count;
}

/* With rebuild_index: the store as found is checked first (so that what the
 * rebuild cannot see -- a segment file gone, an index entry pointing at no
 * block -- is reported too), then the index is rebuilt, quietly (its bad
 * blocks were reported by the check). An index that does not open at all
 * (TT_OPEN_REBUILD) is one problem, and then the rebuild reports what it
 * skips. */
int tt_store_check(tt_store *s, int rebuild_index, problem_fn fn, void *ctx)
{
	struct checker ck = { fn, ctx, 0, 0 }, quiet = { NULL, NULL, 0, 1 };
	int rc;

	if (!rebuild_index)
		return s->env ? check_all(s, &ck) : s->index_err;
	ck.rebuilding = 1;
	if (s->o.flags & TT_OPEN_RDONLY)
		return TT_EREADONLY;
	if (!s->env) {
		char what[160];
		snprintf(what, sizeof what, "index cannot be opened (%s); rebuilt from the segments",
		    tt_strerror(s->index_err));
		report(&ck, 0, 0, s->index_err, what);
	}
	else if ((rc = check_all(s, &ck)) < 0)
		return rc;
	if ((rc = rebuild(s, s->env ? &quiet : &ck)) < 0)
		return rc;
	s->index_err = 0;
	return ck.count;
}
