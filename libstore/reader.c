/*
 * reader.c -- reading the store: records of a correlation id, scans in append
 * order (forward for follow, reverse for tail), waiting for new data, and
 * per-id summaries from the index alone.
 *
 * Read transactions are kept short: each call collects block references in
 * one LMDB read txn, ends it, then reads segment files. A segment deleted by
 * gc in between is simply gone (its records were deleted); a block that fails
 * its checksum is reported through on_problem and skipped, never returned.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <xxhash.h>

#include "store.h"

struct segent {
	uint64_t id;
	MDB_dbi dbi;
	segrec r;
};

/* All segments with their corr database handles opened, in id order. */
static int load_segs(tt_store *s, struct segent **out, size_t *n)
{
	struct segrow *rows;
	struct segent *v;
	size_t cnt;
	int rc;

	*out = NULL, *n = 0;
	if ((rc = index_seg_list(s, SEGS_ALL, &rows, &cnt)) < 0)
		return rc;
	if (!(v = malloc((cnt ? cnt : 1) * sizeof *v))) {
		free(rows);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cnt; i++)
		v[i].id = rows[i].id, v[i].r = rows[i].r;
	free(rows);
	for (size_t i = 0; i < cnt; i++) {
		rc = store_seg_dbi(s, v[i].id, 0, NULL, &v[i].dbi);
		if (rc == TT_ENOTFOUND) { /* dropped by a concurrent gc; keep id order */
			memmove(&v[i], &v[i + 1], (cnt - i - 1) * sizeof *v);
			cnt--, i--;
			continue;
		}
		if (rc < 0) {
			free(v);
			return mdb_rc(rc);
		}
	}
	*out = v, *n = cnt;
	return 0;
}

static int blog_get(tt_store *s, MDB_txn *t, uint64_t seq, blogrec *b)
{
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	int rc;
	putbe64(kb, seq);
	if ((rc = mdb_get(t, s->db_blocks, &k, &d)) != 0)
		return rc == MDB_NOTFOUND ? TT_ENOTFOUND : mdb_rc(rc);
	return blogrec_decode(d.mv_data, d.mv_size, b);
}

/* Is the segment still in the index? (tells a gc race from a lost file) */
static int seg_exists(tt_store *s, uint64_t seg)
{
	segrec r;

	return index_seg_read(s, seg, &r) != TT_ENOTFOUND;
}

int store_read_block(tt_store *s, uint64_t seg, uint64_t off, uint32_t comp_len,
    blkwant *w, tt_buf *io, tt_buf *raw, uint32_t *got)
{
	int fd, rc;

	if ((rc = store_seg_fd(s, seg, &fd)) < 0) {
		if (rc == -ENOENT && !seg_exists(s, seg))
			return rc; /* deleted by gc meanwhile: not a problem */
		store_problem(s, seg, off, rc == TT_ESTALE ? TT_ECORRUPT : rc,
		    rc == -ENOENT ? "segment file missing" :
		    rc == TT_EVERSION ? "segment of an unknown format version: not read" :
		    rc == TT_ESTALE ? "segment of another store (uuid differs): not read" :
		    "cannot open segment file");
		return rc;
	}
	if ((rc = blk_read(fd, off, comp_len, w, io, raw, got, NULL)) < 0)
		store_problem(s, seg, off, rc, rc == TT_ECORRUPT ? "block checksum or framing mismatch" : "cannot read block");
	return rc;
}

/* Block seq, as its row b says. A block whose segment file went away since
 * the row was read is looked up again: a rewrite (FORMAT.md 8.8) moves
 * blocks to a new file under the same sequence numbers; when the row is
 * gone too, gc deleted it (not a problem). b is updated to where it was
 * read. */
static int read_seq_block(tt_store *s, uint64_t seq, blogrec *b, blkwant *w, tt_buf *io,
    tt_buf *raw, uint32_t *got)
{
	int rc = store_read_block(s, b->seg, b->off, b->comp_len, w, io, raw, got);

	for (int tries = 0; rc == -ENOENT && tries < 4; tries++) {
		MDB_txn *t;
		blogrec nb;
		int r;
		if (store_rtxn(s, &t) != 0)
			break;
		r = blog_get(s, t, seq, &nb);
		store_rtxn_done(s, t);
		if (r != 0 || (nb.seg == b->seg && nb.off == b->off))
			break;
		b->seg = nb.seg, b->off = nb.off, b->comp_len = nb.comp_len;
		b->ids = NULL, b->ids_len = 0; /* pointed into the read txn */
		rc = store_read_block(s, b->seg, b->off, b->comp_len, w, io, raw, got);
	}
	return rc;
}

/* ---- records of one id */

struct ref { uint64_t seg; idxval v; blogrec b; };
struct hit { int64_t ts; uint64_t seq; uint32_t idx; const uint8_t *p; size_t len, off; };

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->ts != y->ts) return x->ts < y->ts ? -1 : 1;
	if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	return x->v.seq < y->v.seq ? -1 : x->v.seq > y->v.seq;
}

/* Collect the (id, block) entries of id from every segment. */
static int collect_refs(tt_store *s, MDB_txn *t, struct segent *segs, size_t nsegs,
    const void *id, size_t id_len, struct ref **out, size_t *nout)
{
	struct ref *v = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	uint8_t key[IDX_KEY_SIZE];

	idx_key(id, id_len, key);
	for (size_t i = 0; i < nsegs; i++) {
		MDB_cursor *c;
		MDB_val k = { IDX_KEY_SIZE, key }, d;
		if ((rc = mdb_cursor_open(t, segs[i].dbi, &c)) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &d, MDB_SET);
		if (rc == 0)
			rc = mdb_cursor_get(c, &k, &d, MDB_GET_MULTIPLE);
		while (rc == 0) {
			size_t cnt = d.mv_size / IDX_VAL_SIZE;
			if (n + cnt > cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct ref *nv;
				while (nc < n + cnt) nc *= 2;
				if (!(nv = realloc(v, nc * sizeof *nv))) { rc = -ENOMEM; break; }
				v = nv, cap = nc;
			}
			for (size_t j = 0; j < cnt; j++) {
				v[n].seg = segs[i].id;
				idxval_decode((const uint8_t *)d.mv_data + j * IDX_VAL_SIZE, &v[n].v);
				n++;
			}
			rc = mdb_cursor_get(c, &k, &d, MDB_NEXT_MULTIPLE);
		}
		mdb_cursor_close(c);
		if (rc == MDB_NOTFOUND || rc == MDB_BAD_DBI)
			rc = 0; /* no entries, or a segment dropped under us */
		if (rc)
			break;
	}
	if (rc) {
		free(v);
		return mdb_rc(rc);
	}
	*out = v, *nout = n;
	return 0;
}

int tt_store_get(tt_store *s, const void *id, size_t id_len, int64_t since,
    int64_t until, tt_rec_fn fn, void *ctx)
{
	struct segent *segs = NULL;
	struct ref *refs = NULL;
	struct hit *hits = NULL;
	tt_buf io = { 0 }, raw = { 0 }, recs = { 0 };
	size_t nsegs = 0, nrefs = 0, nhits = 0, caph = 0, m = 0;
	MDB_txn *t;
	int rc;

	if (!id || id_len == 0 || id_len > TT_ID_MAX)
		return 0;
	if ((rc = load_segs(s, &segs, &nsegs)) < 0)
		return rc;
	if ((rc = store_rtxn(s, &t)) != 0) {
		free(segs);
		return mdb_rc(rc);
	}
	rc = collect_refs(s, t, segs, nsegs, id, id_len, &refs, &nrefs);
	/* keep the entries that overlap the range and whose block still exists */
	for (size_t i = 0; rc == 0 && i < nrefs; i++) {
		if (refs[i].v.max_ts < since || refs[i].v.min_ts > until)
			continue;
		if (blog_get(s, t, refs[i].v.seq, &refs[i].b) < 0)
			continue;
		refs[m++] = refs[i];
	}
	store_rtxn_done(s, t);
	free(segs);
	if (rc < 0)
		goto out;
	nrefs = m;
	if (nrefs > 1) /* qsort wants a valid pointer even for 0 elements */
		qsort(refs, nrefs, sizeof *refs, ref_cmp);
	/* one block at a time into a kept buffer; the id's records are copied
	 * out (hits hold offsets into recs until all are read) */
	store_buf_take(s, &io);
	store_buf_take(s, &raw);
	for (size_t i = 0; i < nrefs; i++) {
		struct ref *r = &refs[i];
		uint32_t got, idx = 0;
		size_t pos = 0, len;
		const uint8_t *rec;

		blkwant want = { r->v.raw_lo, r->v.raw_hi, id, id_len, 0, 0, 0 };
		if (read_seq_block(s, r->v.seq, &r->b, &want, &io, &raw, &got) < 0)
			continue;
		if (got > r->v.raw_hi)
			got = r->v.raw_hi;
		while (rec_next(raw.data, got, &pos, &rec, &len) > 0) {
			int64_t ts;
			const char *corr;
			size_t cl;
			uint32_t this_idx = idx++;
			if ((size_t)(rec - raw.data) < r->v.raw_lo || (len && rec[0] == COL_NOT_GIVEN))
				continue;
			if (tt_rec_ts_corr(rec, len, &ts, &corr, &cl) < 0 || cl != id_len ||
			    memcmp(corr, id, id_len) != 0 || ts < since || ts > until)
				continue;
			if (nhits == caph) {
				struct hit *nh = realloc(hits, (caph = caph ? caph * 2 : 64) * sizeof *nh);
				if (!nh) { rc = -ENOMEM; goto out; }
				hits = nh;
			}
			hits[nhits++] = (struct hit){ ts, r->v.seq, this_idx, NULL, len, recs.len };
			if (tt_buf_append(&recs, rec, len) < 0) { rc = -ENOMEM; goto out; }
		}
	}
	for (size_t i = 0; i < nhits; i++)
		hits[i].p = recs.data + hits[i].off;
	if (nhits > 1)
		qsort(hits, nhits, sizeof *hits, hit_cmp);
	rc = 0;
	for (size_t i = 0; i < nhits; i++) {
		tt_rec tr = { hits[i].p, hits[i].len, hits[i].ts, hits[i].seq, hits[i].idx };
		int r = fn(ctx, &tr);
		if (r < 0) { rc = r; goto out; }
		rc++;
		if (r > 0)
			break;
	}
out:
	store_buf_give(s, &raw);
	store_buf_give(s, &io);
	tt_buf_free(&recs);
	free(refs);
	free(hits);
	return rc;
}

/* ---- positions and scans */

int tt_pos_format(const tt_pos *p, char *buf, size_t n)
{
	int k = snprintf(buf, n, "tt1-%u-%llu-%u", p->gen, (unsigned long long)p->seq, p->idx);
	return k < 0 || (size_t)k >= n ? TT_EBADARG : 0;
}

int tt_pos_parse(const char *str, tt_pos *p)
{
	unsigned gen, idx;
	unsigned long long seq;
	int used = 0;
	if (!str || sscanf(str, "tt1-%u-%llu-%u%n", &gen, &seq, &idx, &used) != 3 ||
	    str[used] != '\0')
		return TT_EBADARG;
	p->gen = gen, p->seq = seq, p->idx = idx;
	return 0;
}

#define SCAN_CHUNK 32

int tt_store_end(tt_store *s, tt_pos *end)
{
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	end->seq = 0, end->idx = 0, end->gen = s->gen;
	if ((rc = store_rtxn(s, &t)) != 0)
		return mdb_rc(rc);
	if ((rc = mdb_cursor_open(t, s->db_blocks, &c)) == 0) {
		rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
		if (rc == 0) {
			blogrec b;
			if (k.mv_size == 8 && blogrec_decode(d.mv_data, d.mv_size, &b) == 0) {
				end->seq = getbe64(k.mv_data);
				end->idx = b.nrec;
			}
		}
		mdb_cursor_close(c);
	}
	store_rtxn_done(s, t);
	return rc == MDB_NOTFOUND ? 0 : mdb_rc(rc);
}

struct bref { uint64_t seq; blogrec b; };

/* Up to SCAN_CHUNK block log rows from seq (forward: >= seq; reverse: <= seq). */
static int scan_chunk(tt_store *s, uint64_t seq, int reverse, struct bref *out, size_t *n)
{
	MDB_txn *t;
	MDB_cursor *c;
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	int rc;

	*n = 0;
	if ((rc = store_rcursor(s, s->db_blocks, &t, &c)) < 0)
		return rc;
	putbe64(kb, seq);
	if (!reverse) {
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
	} else if (seq == UINT64_MAX) {
		rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	} else {
		rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE);
		if (rc == 0 && getbe64(k.mv_data) > seq)
			rc = mdb_cursor_get(c, &k, &d, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, &k, &d, MDB_LAST);
	}
	while (rc == 0 && *n < SCAN_CHUNK) {
		if (k.mv_size == 8 && blogrec_decode(d.mv_data, d.mv_size, &out[*n].b) == 0) {
			out[*n].seq = getbe64(k.mv_data);
			(*n)++;
		}
		rc = mdb_cursor_get(c, &k, &d, reverse ? MDB_PREV : MDB_NEXT);
	}
	mdb_cursor_close(c);
	store_rtxn_done(s, t);
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : mdb_rc(rc);
}

/* ---- a few fields of every record (store_scan_fields) */

struct fscan {
	scan_vals_fn fn;
	void *ctx;
	int64_t since, until;
	uint64_t seq;
	const uint8_t *const *keys;
	size_t nkeys;
	colval v[15];
};

static int fscan_col(void *ctx, const colval *v, uint32_t idx)
{
	struct fscan *f = ctx;
	int64_t ts;

	if (colval_int(&v[0], &ts) < 0 || ts < f->since || ts > f->until)
		return 0;
	return f->fn(f->ctx, v, f->seq);
}

/* a whole record's top-level scalars named by the keys (the last one met) */
static int fscan_kv(void *ctx, int in_attrs, const char *k, size_t kn, const tt_value *v)
{
	struct fscan *f = ctx;

	if (in_attrs)
		return 0;
	for (size_t i = 0; i < f->nkeys; i++)
		if ((size_t)(f->keys[i][0] & 0x1f) == kn && memcmp(f->keys[i] + 1, k, kn) == 0) {
			f->v[i] = (colval){ v->raw, (uint32_t)v->raw_len, 0, 0, 0 };
			break;
		}
	return 0;
}

int store_scan_fields(tt_store *s, int64_t since, int64_t until, const uint8_t *const *keys,
    size_t nkeys, scan_vals_fn fn, void *ctx)
{
	struct bref ch[SCAN_CHUNK];
	tt_buf io = { 0 }, raw = { 0 };
	struct fscan f = { fn, ctx, since, until, 0, keys, nkeys, { { 0 } } };
	uint64_t from = 1;
	int rc = 0, stop = 0;

	if (nkeys == 0 || nkeys > 15)
		return -EINVAL;
	for (size_t k = 0; k < nkeys; k++)
		if ((keys[k][0] & 0xe0) != 0xa0)
			return -EINVAL;
	store_buf_take(s, &io);
	store_buf_take(s, &raw);
	while (!stop) {
		size_t n;
		if ((rc = scan_chunk(s, from, 0, ch, &n)) < 0 || n == 0)
			break;
		for (size_t i = 0; i < n && !stop; i++) {
			blogrec *b = &ch[i].b;
			blkwant want = { 0 };
			uint32_t got, nrec = 0;
			size_t p = 0, len;
			const uint8_t *rec;

			want.layout = 1;
			f.seq = ch[i].seq;
			if (b->max_ts < since || b->min_ts > until ||
			    read_seq_block(s, ch[i].seq, b, &want, &io, &raw, &got) < 0)
				continue;
			if (want.got_layout) {
				rc = colblk_fields(raw.data, got, b->nrec, keys, nkeys, fscan_col, &f);
				if (rc == -1) {
					/* a layout that does not decode: damage, as a reader meets it */
					store_problem(s, b->seg, b->off, TT_ECORRUPT,
					    "block checksum or framing mismatch");
					rc = 0;
				}
				if (rc < 0)
					goto out;
				continue;
			}
			while (rec_next(raw.data, got, &p, &rec, &len) > 0) {
				int r;
				memset(f.v, 0, nkeys * sizeof *f.v);
				if (tt_rec_scalars(rec, len, fscan_kv, &f) < 0) {
					nrec++;
					continue;
				}
				if ((r = fscan_col(&f, f.v, nrec++)) < 0) { rc = r; goto out; }
				if (r > 0) { stop = 1; break; }
			}
		}
		if (n < SCAN_CHUNK)
			break;
		from = ch[n - 1].seq + 1;
	}
out:
	store_buf_give(s, &io);
	store_buf_give(s, &raw);
	return rc < 0 ? rc : 0;
}

int tt_store_scan(tt_store *s, const tt_scan *sc, tt_rec_fn fn, void *ctx, tt_pos *next)
{
	struct bref ch[SCAN_CHUNK];
	tt_buf io = { 0 }, raw = { 0 };
	struct frame { uint32_t off, len; } *offs = NULL;
	size_t capo = 0;
	int reverse = sc->flags & TT_SCAN_REVERSE;
	tt_pos pos = sc->start;
	uint64_t blocks = 0;
	int rc = 0, delivered = 0, stop = 0;

	if (pos.gen && pos.gen != s->gen)
		return TT_ESTALE;
	pos.gen = s->gen;
	if (reverse && pos.seq == 0)
		pos.seq = UINT64_MAX, pos.idx = UINT32_MAX;
	store_buf_take(s, &io); /* kept buffers: a tail of 10 records is one block */
	store_buf_take(s, &raw);
	while (!stop) {
		size_t n;
		uint64_t from = reverse ? pos.seq : (pos.seq ? pos.seq : 1);
		if ((rc = scan_chunk(s, from, reverse, ch, &n)) < 0 || n == 0)
			break;
		for (size_t i = 0; i < n && !stop; i++) {
			blogrec *b = &ch[i].b;
			uint64_t seq = ch[i].seq;
			uint32_t got, nrec = 0, first = 0, last;
			size_t p = 0, len;
			const uint8_t *rec;

			if (sc->max_blocks && blocks >= sc->max_blocks) {
				stop = 1;
				break;
			}
			blocks++;
			if (seq == pos.seq && (reverse ? pos.idx == 0 : pos.idx >= b->nrec))
				continue; /* already consumed */
			if (b->max_ts < sc->since || b->min_ts > sc->until ||
			    read_seq_block(s, seq, b, NULL, &io, &raw, &got) < 0) {
				/* skipped whole: the position moves past it */
				if (reverse) { pos.seq = seq; pos.idx = 0; }
				else { pos.seq = seq; pos.idx = b->nrec; }
				continue;
			}
			/* frame the block once; then walk it either way */
			while (rec_next(raw.data, got, &p, &rec, &len) > 0) {
				if (nrec == capo) {
					struct frame *no = realloc(offs, (capo = capo ? capo * 2 : 512) * sizeof *no);
					if (!no) { rc = -ENOMEM; goto out; }
					offs = no;
				}
				offs[nrec].off = (uint32_t)(rec - raw.data);
				offs[nrec++].len = (uint32_t)len;
			}
			if (!reverse) {
				first = seq == pos.seq ? pos.idx : 0;
				last = nrec;
			} else {
				first = 0;
				last = (seq == pos.seq && pos.idx < nrec) ? pos.idx : nrec;
			}
			for (uint32_t k = 0; k < last - (first < last ? first : last) && !stop; k++) {
				uint32_t j = reverse ? last - 1 - k : first + k;
				const uint8_t *r2 = raw.data + offs[j].off;
				size_t l2 = offs[j].len, cl;
				int64_t ts;
				const char *corr;

				pos.seq = seq;
				pos.idx = reverse ? j : j + 1;
				if (tt_rec_ts_corr(r2, l2, &ts, &corr, &cl) < 0 ||
				    ts < sc->since || ts > sc->until)
					continue;
				tt_rec tr = { r2, l2, ts, seq, j };
				int r = fn(ctx, &tr);
				if (r < 0) { rc = r; goto out; }
				delivered++;
				if (r > 0) stop = 1;
			}
			if (!stop)
				pos.seq = seq, pos.idx = reverse ? 0 : nrec;
		}
		if (n < SCAN_CHUNK)
			break;
		if (reverse) {
			/* continue strictly before the oldest block seen */
			if (ch[n - 1].seq <= 1)
				break;
			pos.seq = ch[n - 1].seq;
			pos.idx = 0;
		}
	}
out:
	if (next)
		*next = pos;
	free(offs);
	store_buf_give(s, &io);
	store_buf_give(s, &raw);
	return rc < 0 ? rc : delivered;
}

int tt_store_wait(tt_store *s, const tt_pos *after, int timeout_ms)
{
	char path[4200];
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : store_now() + (int64_t)timeout_ms * 1000000;
	int rc, settle = 0;

	pthread_mutex_lock(&s->mu);
	if (s->inotify_fd < 0) {
		s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (s->inotify_fd >= 0) {
			snprintf(path, sizeof path, "%s/index/data.mdb", s->dir);
			s->inotify_wd = inotify_add_watch(s->inotify_fd, path, IN_MODIFY);
			if (s->inotify_wd < 0) {
				close(s->inotify_fd);
				s->inotify_fd = -2; /* no inotify: poll */
			}
		} else {
			s->inotify_fd = -2;
		}
	}
	pthread_mutex_unlock(&s->mu);
	for (;;) {
		tt_pos end;
		int64_t now, left;
		struct pollfd pfd;
		char buf[4096];

		if ((rc = tt_store_end(s, &end)) < 0)
			return rc;
		if (end.seq > after->seq || (end.seq == after->seq && end.idx > after->idx))
			return 1;
		now = store_now();
		if (now >= deadline)
			return 0;
		left = (deadline - now) / 1000000;
		if (s->inotify_fd < 0 || left > 1000)
			left = s->inotify_fd < 0 ? 50 : 1000; /* re-check now and then anyway */
		/* LMDB publishes a commit's txnid in the lock file's shared memory just
		 * after writing the meta page; a wake-up on that write can read the old
		 * snapshot, and no event follows. So after a wake-up, re-check briefly. */
		if (settle > 0) {
			settle--;
			if (left > 2)
				left = 2;
		}
		if (s->inotify_fd >= 0) {
			pfd.fd = s->inotify_fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)left) > 0) {
				while (read(s->inotify_fd, buf, sizeof buf) > 0)
					;
				settle = 5;
			}
		} else {
			poll(NULL, 0, (int)(left < 1 ? 1 : left));
		}
	}
}

/* ---- id summaries */

/* The services of an id, gathered as names (copied into an arena), sorted and
 * made unique at the end. */
struct svcnames {
	tt_buf arena;
	struct nref { uint32_t off, len; } *v;
	size_t n, cap;
	struct svcmap1 { uint8_t have, n; uint32_t off[SVC_BITS], len[SVC_BITS]; } v1;
};

static int names_add(struct svcnames *sn, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (sn->n && sn->v[sn->n - 1].len == n &&
	    memcmp(sn->arena.data + sn->v[sn->n - 1].off, p, n) == 0)
		return 0; /* the common run of one service */
	if (sn->n == sn->cap) {
		size_t nc = sn->cap ? sn->cap * 2 : 16;
		struct nref *nv = realloc(sn->v, nc * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		sn->v = nv, sn->cap = nc;
	}
	sn->v[sn->n].off = (uint32_t)sn->arena.len;
	sn->v[sn->n].len = (uint32_t)n;
	if (tt_buf_append(&sn->arena, p, n) < 0)
		return -ENOMEM;
	sn->n++;
	return 0;
}

static int nref_cmp(const void *a, const void *b, void *ctx)
{
	const struct nref *x = a, *y = b;
	const uint8_t *base = ctx;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(base + x->off, base + y->off, m);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Names of version-1 service bits, loaded once per summary. */
static int svc_v1_load(tt_store *s, MDB_txn *t, struct svcnames *sn)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	sn->v1.have = 1;
	if ((rc = mdb_cursor_open(t, s->db_svc, &c)) != 0)
		return mdb_rc(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		uint8_t b = d.mv_size == 1 ? *(uint8_t *)d.mv_data : 0xff;
		if (b >= SVC_BITS)
			continue;
		sn->v1.off[b] = (uint32_t)sn->arena.len;
		sn->v1.len[b] = (uint32_t)k.mv_size;
		if (tt_buf_append(&sn->arena, k.mv_data, k.mv_size) < 0) {
			rc = -ENOMEM;
			break;
		}
		if (b + 1 > sn->v1.n)
			sn->v1.n = b + 1;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : mdb_rc(rc);
}

/* Add the name of service number num. 1 when it has none (readers then look
 * at the records). */
static int svc_num_name(tt_store *s, MDB_txn *t, struct svcnames *sn, uint16_t num)
{
	uint8_t kb[3] = { 'v', (uint8_t)(num >> 8), (uint8_t)num };
	MDB_val k = { 3, kb }, d;
	int rc;

	if (s->db_svcsets && (rc = mdb_get(t, s->db_svcsets, &k, &d)) == 0)
		return names_add(sn, d.mv_data, d.mv_size);
	if (num >= SVC_BITS)
		return 1;
	/* numbers below SVC_BITS may be version-1 bits, named only in "svc" */
	if (!sn->v1.have && (rc = svc_v1_load(s, t, sn)) < 0)
		return rc;
	if (num >= sn->v1.n || sn->v1.len[num] == 0)
		return 1;
	return names_add(sn, sn->arena.data + sn->v1.off[num], sn->v1.len[num]);
}

/* Add the services an entry names; 1 when it does not know them all. */
static int entry_services(tt_store *s, MDB_txn *t, const segrec *seg, const idxval *v,
    struct svcnames *sn)
{
	int rc, unknown = 0;

	if (!(seg->flags & SEGF_SVCSET)) {
		for (unsigned b = 0; b < SVC_BITS; b++)
			if ((v->svc & (1u << b)) && (rc = svc_num_name(s, t, sn, (uint16_t)b)) != 0) {
				if (rc < 0)
					return rc;
				unknown = 1;
			}
		return unknown || (v->svc & (1u << SVC_BITS)) ? 1 : 0;
	}
	if (v->svc == SVCSET_NONE)
		return 0;
	if (v->svc == SVCSET_UNKNOWN || !s->db_svcsets)
		return 1;
	{
		uint8_t kb[3] = { 'n', (uint8_t)(v->svc >> 8), (uint8_t)v->svc };
		MDB_val k = { 3, kb }, d;
		const uint8_t *p;
		if ((rc = mdb_get(t, s->db_svcsets, &k, &d)) != 0)
			return rc == MDB_NOTFOUND ? 1 : mdb_rc(rc);
		if (d.mv_size == 0 || d.mv_size % 2 || d.mv_size > 2 * SVCSET_SVC_MAX)
			return 1;
		p = d.mv_data;
		for (size_t i = 0; i < d.mv_size; i += 2)
			if ((rc = svc_num_name(s, t, sn, (uint16_t)(p[i] << 8 | p[i + 1]))) != 0) {
				if (rc < 0)
					return rc;
				unknown = 1;
			}
	}
	return unknown;
}

/* The services of id's records in one block, read from the records. */
static int block_services(tt_store *s, MDB_txn *t, const void *id, size_t id_len,
    const idxval *v, struct svcnames *sn, tt_buf *io, tt_buf *raw)
{
	blogrec b;
	uint32_t got;
	size_t pos = 0, len;
	const uint8_t *rec;
	int rc;

	blkwant want = { v->raw_lo, v->raw_hi, id, id_len, 0, 0, 0 };

	if (blog_get(s, t, v->seq, &b) < 0 ||
	    read_seq_block(s, v->seq, &b, &want, io, raw, &got) < 0)
		return 0; /* gone, or a bad block (reported) */
	if (got > v->raw_hi)
		got = v->raw_hi;
	while (rec_next(raw->data, got, &pos, &rec, &len) > 0) {
		tt_rec_info ri;
		if ((size_t)(rec - raw->data) < v->raw_lo || tt_rec_info_get(rec, len, &ri) < 0 ||
		    ri.corr.n != id_len || memcmp(ri.corr.p, id, id_len) != 0 || !ri.service.p)
			continue;
		if ((rc = names_add(sn, ri.service.p, ri.service.n)) < 0)
			return rc;
	}
	return 0;
}

/* The summary's service list: sorted, unique, at most TT_IDSUM_SVC_MAX names
 * and as many as fit the buffer; the rest counted in services_omitted. */
static void services_put(struct svcnames *sn, tt_idsum *o)
{
	size_t len = 0, u = 0;

	if (sn->n > 1)
		qsort_r(sn->v, sn->n, sizeof *sn->v, nref_cmp, sn->arena.data);
	for (size_t i = 0; i < sn->n; i++)
		if (u == 0 || nref_cmp(&sn->v[u - 1], &sn->v[i], sn->arena.data) != 0)
			sn->v[u++] = sn->v[i];
	o->n_services = (uint32_t)u;
	o->services[0] = 0;
	for (size_t i = 0; i < u; i++) {
		size_t n = sn->v[i].len;
		if (i >= TT_IDSUM_SVC_MAX || len + n + 2 > sizeof o->services) {
			o->services_omitted++;
			continue;
		}
		if (len)
			o->services[len++] = ',';
		memcpy(o->services + len, sn->arena.data + sn->v[i].off, n);
		len += n;
		o->services[len] = 0;
	}
}

static int idsum_in(tt_store *s, MDB_txn *t, struct segent *segs, size_t nsegs,
    const void *id, size_t id_len, tt_idsum *o)
{
	struct ref *refs;
	struct svcnames sn;
	tt_buf io = { 0 }, raw = { 0 };
	size_t n;
	int rc = collect_refs(s, t, segs, nsegs, id, id_len, &refs, &n);

	if (rc < 0)
		return rc;
	memset(o, 0, sizeof *o);
	memset(&sn, 0, sizeof sn);
	o->id = id, o->id_len = id_len;
	o->first_ts = INT64_MAX, o->last_ts = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		blogrec b;
		const segrec *seg = NULL;
		if (blog_get(s, t, refs[i].v.seq, &b) < 0)
			continue; /* block removed by gc */
		o->count += refs[i].v.count;
		o->n_req += refs[i].v.n_req;
		o->n_resp += refs[i].v.n_resp;
		if (refs[i].v.min_ts < o->first_ts) o->first_ts = refs[i].v.min_ts;
		if (refs[i].v.max_ts > o->last_ts) o->last_ts = refs[i].v.max_ts;
		if (refs[i].v.seq > o->last_seq) o->last_seq = refs[i].v.seq;
		{ /* segs come in id order (the segs database's key order) */
			size_t lo = 0, hi = nsegs;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (segs[mid].id < refs[i].seg)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < nsegs && segs[lo].id == refs[i].seg)
				seg = &segs[lo].r;
		}
		if (!seg)
			continue;
		rc = entry_services(s, t, seg, &refs[i].v, &sn);
		if (rc == 1)
			rc = block_services(s, t, id, id_len, &refs[i].v, &sn, &io, &raw);
		if (rc < 0)
			goto out;
	}
	rc = 0;
	if (o->count == 0) {
		rc = TT_ENOTFOUND;
		goto out;
	}
	o->complete = o->n_req >= 1 && o->n_req == o->n_resp;
	services_put(&sn, o);
out:
	free(refs);
	free(sn.v);
	tt_buf_free(&sn.arena);
	tt_buf_free(&io);
	tt_buf_free(&raw);
	return rc;
}

int tt_store_idsum(tt_store *s, const void *id, size_t id_len, tt_idsum *out)
{
	struct segent *segs;
	size_t nsegs;
	MDB_txn *t;
	int rc;

	if (!id || id_len == 0 || id_len > TT_ID_MAX)
		return TT_ENOTFOUND;
	if ((rc = load_segs(s, &segs, &nsegs)) < 0)
		return rc;
	if ((rc = store_rtxn(s, &t)) != 0) {
		free(segs);
		return mdb_rc(rc);
	}
	rc = idsum_in(s, t, segs, nsegs, id, id_len, out);
	store_rtxn_done(s, t);
	free(segs);
	return rc;
}

/* A set of 64-bit id hashes (a collision would hide one id from a listing:
 * odds 2^-64 per pair). */
struct hset { uint64_t *v; size_t cap, n; };

static int hset_add(struct hset *h, uint64_t x)
{
	if (x == 0)
		x = 1;
	if (2 * (h->n + 1) > h->cap) {
		struct hset nh = { 0, h->cap ? h->cap * 2 : 1024, 0 };
		if (!(nh.v = calloc(nh.cap, sizeof *nh.v)))
			return -ENOMEM;
		for (size_t i = 0; i < h->cap; i++)
			if (h->v[i])
				(void)hset_add(&nh, h->v[i]);
		free(h->v);
		*h = nh;
	}
	for (size_t i = x & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		if (h->v[i] == x)
			return 0;
		if (!h->v[i]) {
			h->v[i] = x;
			h->n++;
			return 1;
		}
	}
}

/* Recent ids: walk the block log from the newest block, read each block's
 * records for their ids (the newest few blocks hold the newest ids, so a
 * listing of N ids reads about N / (ids per block) blocks), and summarise each
 * new id from the index. */
int tt_store_list_ids(tt_store *s, int64_t since, int64_t until, size_t limit,
    tt_idsum_fn fn, void *ctx)
{
	struct segent *segs = NULL;
	size_t nsegs;
	struct hset seen = { 0 };
	tt_pos pos = { 0, 0, 0 };
	tt_buf io = { 0 }, raw = { 0 }, ids = { 0 };
	int rc, delivered = 0, done = 0;

	if ((rc = load_segs(s, &segs, &nsegs)) < 0)
		return rc;
	pos.seq = UINT64_MAX;
	while (!done) {
		struct bref ch[SCAN_CHUNK];
		size_t n;

		if ((rc = scan_chunk(s, pos.seq, 1, ch, &n)) < 0 || n == 0)
			break;
		for (size_t i = 0; i < n && !done; i++) {
			blogrec *b = &ch[i].b;
			uint32_t got;
			size_t p = 0, len, nid = 0;
			const uint8_t *rec;

			if (ch[i].seq == pos.seq)
				continue;
			pos.seq = ch[i].seq;
			if (b->max_ts < since || b->min_ts > until ||
			    read_seq_block(s, ch[i].seq, b, NULL, &io, &raw, &got) < 0)
				continue;
			/* ids of this block, newest record first */
			ids.len = 0;
			while (rec_next(raw.data, got, &p, &rec, &len) > 0) {
				int64_t ts;
				const char *corr;
				size_t cl;
				uint8_t l[2];
				if (tt_rec_ts_corr(rec, len, &ts, &corr, &cl) < 0 || !corr || cl == 0 ||
				    cl > TT_ID_MAX || hset_add(&seen, XXH3_64bits(corr, cl)) != 1)
					continue;
				put16(l, (uint16_t)cl);
				if (tt_buf_append(&ids, l, 2) < 0 || tt_buf_append(&ids, corr, cl) < 0) {
					rc = -ENOMEM;
					goto out;
				}
				nid++;
			}
			/* deliver in reverse order of first appearance (newest first) */
			{
				size_t *offs = malloc((nid ? nid : 1) * sizeof *offs), q = 0;
				if (!offs) { rc = -ENOMEM; goto out; }
				for (size_t j = 0; j < nid; j++) {
					offs[j] = q;
					q += 2u + get16(ids.data + q);
				}
				for (size_t j = nid; j-- > 0 && !done;) {
					tt_idsum sum;
					MDB_txn *t;
					const uint8_t *id = ids.data + offs[j] + 2;
					uint16_t l = get16(ids.data + offs[j]);
					if ((rc = store_rtxn(s, &t)) != 0) {
						free(offs);
						rc = mdb_rc(rc);
						goto out;
					}
					rc = idsum_in(s, t, segs, nsegs, id, l, &sum);
					store_rtxn_done(s, t);
					if (rc == TT_ENOTFOUND || (rc == 0 && (sum.last_ts < since || sum.first_ts > until)))
						continue;
					if (rc < 0) {
						free(offs);
						goto out;
					}
					rc = fn(ctx, &sum);
					if (rc < 0) {
						free(offs);
						goto out;
					}
					delivered++;
					if (rc > 0 || (limit && (size_t)delivered >= limit))
						done = 1;
				}
				free(offs);
			}
		}
		if (n < SCAN_CHUNK || pos.seq <= 1)
			break;
	}
	rc = 0;
out:
	free(seen.v);
	free(segs);
	tt_buf_free(&io);
	tt_buf_free(&raw);
	tt_buf_free(&ids);
	return rc < 0 ? rc : delivered;
}
