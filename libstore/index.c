/*
 * index.c -- the LMDB index: value layouts (FORMAT.md 7) and the group commit
 * that makes written blocks visible.
 *
 * One commit = one write transaction for any number of blocks of one segment:
 * block log rows appended in sequence order (MDB_APPEND), correlation entries
 * sorted by key before insertion (sorted puts touch each page once), the
 * segment row and the sequence counter updated last. The caller has already
 * written (and, under TT_SYNC_FULL, fdatasync'ed) the blocks: an index entry
 * never points at bytes that are not durable.
 */
#include <errno.h>
#include <stdlib.h>
#include <xxhash.h>

#include "store.h"

void segrec_encode(const segrec *r, uint8_t out[SEGREC_SIZE])
{
	put32(out, r->state);
	put32(out + 4, r->flags);
	put64(out + 8, (uint64_t)r->created_ns);
	put64(out + 16, (uint64_t)r->min_ts);
	put64(out + 24, (uint64_t)r->max_ts);
	put64(out + 32, r->records);
	put64(out + 40, r->blocks);
	put64(out + 48, r->end);
	put64(out + 56, r->raw_bytes);
	put64(out + 64, r->first_seq);
	put64(out + 72, r->last_seq);
}

int segrec_decode(const void *v, size_t n, segrec *r)
{
	const uint8_t *p = v;
	if (n < SEGREC_SIZE)
		return TT_ECORRUPT;
	r->state = get32(p);
	r->flags = get32(p + 4);
	r->created_ns = (int64_t)get64(p + 8);
	r->min_ts = (int64_t)get64(p + 16);
	r->max_ts = (int64_t)get64(p + 24);
	r->records = get64(p + 32);
	r->blocks = get64(p + 40);
	r->end = get64(p + 48);
	r->raw_bytes = get64(p + 56);
	r->first_seq = get64(p + 64);
	r->last_seq = get64(p + 72);
	if (r->state != TT_SEG_ACTIVE && r->state != TT_SEG_SEALED)
		return TT_ECORRUPT;
	return 0;
}

int blogrec_decode(const void *v, size_t n, blogrec *r)
{
	const uint8_t *p = v;
	size_t pos = BLOG_FIXED;
	if (n < BLOG_FIXED)
		return TT_ECORRUPT;
	r->seg = get64(p);
	r->off = get64(p + 8);
	r->comp_len = get32(p + 16);
	r->raw_len = get32(p + 20);
	r->nrec = get32(p + 24);
	r->nids = get32(p + 28);
	r->min_ts = (int64_t)get64(p + 32);
	r->max_ts = (int64_t)get64(p + 40);
	r->ids = p + BLOG_FIXED;
	r->ids_len = n - BLOG_FIXED;
	/* the id list must frame exactly */
	for (uint32_t i = 0; i < r->nids; i++) {
		if (pos + 2 > n || pos + 2 + get16(p + pos) > n)
			return TT_ECORRUPT;
		pos += 2 + get16(p + pos);
	}
	return pos == n ? 0 : TT_ECORRUPT;
}

void idx_key(const void *id, size_t n, uint8_t out[IDX_KEY_SIZE])
{
	putbe64(out, XXH3_64bits(id, n));
}

void idxval_encode(const idxval *v, uint8_t out[IDX_VAL_SIZE])
{
	putbe64(out, v->seq); /* big-endian: duplicates sort in append order */
	put32(out + 8, v->raw_lo);
	put32(out + 12, v->raw_hi);
	put64(out + 16, (uint64_t)v->min_ts);
	put64(out + 24, (uint64_t)v->max_ts);
	put16(out + 32, v->count);
	put16(out + 34, v->n_req);
	put16(out + 36, v->n_resp);
	put16(out + 38, v->svc);
}

void idxval_decode(const uint8_t in[IDX_VAL_SIZE], idxval *v)
{
	v->seq = getbe64(in);
	v->raw_lo = get32(in + 8);
	v->raw_hi = get32(in + 12);
	v->min_ts = (int64_t)get64(in + 16);
	v->max_ts = (int64_t)get64(in + 24);
	v->count = get16(in + 32);
	v->n_req = get16(in + 34);
	v->n_resp = get16(in + 36);
	v->svc = get16(in + 38);
}

int index_seg_get(tt_store *s, MDB_txn *t, uint64_t seg, segrec *r)
{
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	int rc;
	putbe64(kb, seg);
	if ((rc = mdb_get(t, s->db_segs, &k, &d)) != 0)
		return rc == MDB_NOTFOUND ? TT_ENOTFOUND : rc;
	return segrec_decode(d.mv_data, d.mv_size, r);
}

int index_seg_read(tt_store *s, uint64_t seg, segrec *r)
{
	MDB_txn *t;
	int rc;

	if ((rc = store_rtxn(s, &t)) != 0)
		return mdb_rc(rc);
	rc = index_seg_get(s, t, seg, r);
	store_rtxn_done(s, t);
	return mdb_rc(rc); /* callers test < 0: no positive LMDB code gets by */
}

int index_seg_list(tt_store *s, int which, struct segrow **out, size_t *n)
{
	struct segrow *v = NULL;
	size_t cnt = 0, cap = 0;
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, d;
	int rc;

	*out = NULL, *n = 0;
	if ((rc = store_rtxn(s, &t)) != 0)
		return mdb_rc(rc);
	if ((rc = mdb_cursor_open(t, s->db_segs, &c)) != 0) {
		store_rtxn_done(s, t);
		return mdb_rc(rc);
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		int ok;
		if (cnt == cap) {
			struct segrow *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *nv);
			if (!nv) { rc = -ENOMEM; break; }
			v = nv;
		}
		v[cnt].id = k.mv_size == 8 ? getbe64(k.mv_data) : 0;
		ok = k.mv_size == 8 && segrec_decode(d.mv_data, d.mv_size, &v[cnt].r) == 0;
		if (!ok && which == SEGS_WITH_BAD) {
			memset(&v[cnt].r, 0, sizeof v[cnt].r);
			cnt++;
		} else if (ok && (which != SEGS_ACTIVE || v[cnt].r.state == TT_SEG_ACTIVE)) {
			cnt++;
		}
	}
	mdb_cursor_close(c);
	store_rtxn_done(s, t);
	if (rc != MDB_NOTFOUND) {
		free(v);
		return mdb_rc(rc);
	}
	*out = v, *n = cnt;
	return 0;
}

int index_seg_put(MDB_txn *t, tt_store *s, uint64_t seg, const segrec *r)
{
	uint8_t kb[8], vb[SEGREC_SIZE];
	MDB_val k = { 8, kb }, d = { SEGREC_SIZE, vb };
	putbe64(kb, seg);
	segrec_encode(r, vb);
	return mdb_put(t, s->db_segs, &k, &d, 0);
}

/* ---- service interning: up to SVC_BITS names get a bit each */

struct svcmap { uint8_t n; struct { const void *p; size_t len; } name[SVC_BITS]; };

static int svc_load(tt_store *s, MDB_txn *t, struct svcmap *m)
{
	MDB_cursor *c;
	MDB_val k, d;
	int rc = mdb_cursor_open(t, s->db_svc, &c);
	m->n = 0;
	if (rc)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (d.mv_size != 1 || ((uint8_t *)d.mv_data)[0] >= SVC_BITS)
			continue;
		m->name[((uint8_t *)d.mv_data)[0]].p = k.mv_data;
		m->name[((uint8_t *)d.mv_data)[0]].len = k.mv_size;
		if (((uint8_t *)d.mv_data)[0] + 1 > m->n)
			m->n = ((uint8_t *)d.mv_data)[0] + 1;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int svc_bit(tt_store *s, MDB_txn *t, struct svcmap *m, const void *p, size_t n, uint16_t *mask)
{
	uint8_t b;
	MDB_val k = { n, (void *)p }, d = { 1, &b };
	int rc;
	for (uint8_t i = 0; i < m->n; i++)
		if (m->name[i].len == n && memcmp(m->name[i].p, p, n) == 0) {
			*mask |= (uint16_t)(1u << i);
			return 0;
		}
	if (m->n >= SVC_BITS || n > 200) {
		*mask |= 1u << SVC_BITS;
		return 0;
	}
	b = m->n;
	if ((rc = mdb_put(t, s->db_svc, &k, &d, MDB_NOOVERWRITE)) != 0)
		return rc;
	m->name[m->n].p = p; /* valid: points into the caller's arena until commit */
	m->name[m->n].len = n;
	m->n++;
	*mask |= (uint16_t)(1u << b);
	return 0;
}

/* ---- the commit */

struct centry { uint8_t key[IDX_KEY_SIZE]; uint8_t val[IDX_VAL_SIZE]; };

static int centry_cmp(const void *a, const void *b)
{
	const struct centry *x = a, *y = b;
	int c = memcmp(x->key, y->key, IDX_KEY_SIZE);
	return c ? c : memcmp(x->val, y->val, 8);
}

int index_commit(tt_store *s, uint64_t seg, blkinfo *blks, size_t nblks,
    segrec *seg_after, uint64_t *first_seq_out)
{
	segrec r;
	struct centry *ce = NULL;
	size_t nce = 0, cap = 0;
	tt_buf val = { 0 };
	int rc;

	for (size_t i = 0; i < nblks; i++)
		cap += blks[i].nids;
	if (cap && !(ce = malloc(cap * sizeof *ce)))
		return -ENOMEM;
	for (;;) {
		MDB_txn *t;
		MDB_dbi dbi;
		uint64_t seq;
		struct svcmap sm;

		r = *seg_after;
		nce = 0;
		if ((rc = store_wtxn(s, &t)) != 0)
			break;
		if ((rc = store_get_u64(t, s->db_meta, "next_seq", &seq)) ||
		    (rc = store_seg_dbi(s, seg, 1, t, &dbi)) ||
		    (rc = svc_load(s, t, &sm)))
			goto abort;
		if (first_seq_out)
			*first_seq_out = seq;
		for (size_t i = 0; i < nblks; i++, seq++) {
			blkinfo *b = &blks[i];
			uint8_t kb[8];
			MDB_val k = { 8, kb }, d;

			val.len = 0;
			if ((rc = tt_buf_reserve(&val, BLOG_FIXED)) < 0)
				goto abort;
			put64(val.data, seg);
			put64(val.data + 8, b->off);
			put32(val.data + 16, b->comp_len);
			put32(val.data + 20, b->raw_len);
			put32(val.data + 24, b->nrec);
			put32(val.data + 28, 0); /* id lists: not written (FORMAT.md 7.3) */
			put64(val.data + 32, (uint64_t)b->min_ts);
			put64(val.data + 40, (uint64_t)b->max_ts);
			val.len = BLOG_FIXED;
			for (uint32_t j = 0; j < b->nids; j++) {
				blkid *e = &b->ids[j];
				idxval iv = { seq, e->raw_lo, e->raw_hi, e->min_ts, e->max_ts,
				    (uint16_t)e->count, (uint16_t)e->n_req, (uint16_t)e->n_resp, 0 };
				for (unsigned x = 0; x < e->nsvc; x++)
					if ((rc = svc_bit(s, t, &sm, b->arena.data + e->svc_off[x],
					    e->svc_len[x], &iv.svc)) != 0)
						goto abort;
				if (e->svc_more)
					iv.svc |= 1u << SVC_BITS;
				idx_key(b->arena.data + e->key_off, e->key_len, ce[nce].key);
				idxval_encode(&iv, ce[nce].val);
				nce++;
			}
			putbe64(kb, seq);
			d.mv_size = val.len, d.mv_data = val.data;
			if ((rc = mdb_put(t, s->db_blocks, &k, &d, MDB_APPEND)) != 0)
				goto abort;
			if (!r.first_seq)
				r.first_seq = seq;
			r.last_seq = seq;
		}
		if (nce > 1) /* ce is NULL when no block has an id */
			qsort(ce, nce, sizeof *ce, centry_cmp);
		for (size_t i = 0; i < nce; i++) {
			MDB_val k = { IDX_KEY_SIZE, ce[i].key }, d = { IDX_VAL_SIZE, ce[i].val };
			if ((rc = mdb_put(t, dbi, &k, &d, 0)) != 0)
				goto abort;
		}
		if ((rc = index_seg_put(t, s, seg, &r)) ||
		    (rc = store_put_u64(t, s->db_meta, "next_seq", seq)))
			goto abort;
		rc = store_wtxn_commit(s, t);
		if (rc == MDB_MAP_FULL)
			continue; /* the map grew: redo the whole transaction */
		if (rc == 0)
			*seg_after = r;
		break;
abort:
		store_wtxn_abort(s, t);
		if (rc == MDB_MAP_FULL && (rc = store_map_grow(s)) == 0)
			continue;
		break;
	}
	free(ce);
	tt_buf_free(&val);
	return mdb_rc(rc);
}

/* Remove index entries of blocks of seg that do not end by file_off (their
 * bytes are gone: a power loss under TT_SYNC_NONE, or a damaged file). The
 * segment's own correlation database is scanned for entries of the dropped
 * blocks: work bounded by the segment, never the whole index. */
int index_drop_blocks_from(tt_store *s, uint64_t seg, uint64_t file_off)
{
	MDB_txn *t;
	MDB_cursor *c = NULL, *cc = NULL;
	MDB_dbi dbi;
	segrec r;
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	uint64_t drop_from = UINT64_MAX, last, new_end = SEG_HDR_SIZE;
	int rc;

	if ((rc = store_wtxn(s, &t)) != 0)
		return mdb_rc(rc);
	if ((rc = index_seg_get(s, t, seg, &r)) || (rc = store_seg_dbi(s, seg, 1, t, &dbi)) ||
	    (rc = mdb_cursor_open(t, s->db_blocks, &c)) || (rc = mdb_cursor_open(t, dbi, &cc)))
		goto fail;
	last = r.last_seq;
	putbe64(kb, r.first_seq);
	r.last_seq = 0;
	for (rc = r.first_seq ? mdb_cursor_get(c, &k, &d, MDB_SET_RANGE) : MDB_NOTFOUND; rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		blogrec b;
		uint64_t seq = getbe64(k.mv_data);
		if (seq > last)
			break;
		if (blogrec_decode(d.mv_data, d.mv_size, &b) < 0 || b.seg != seg)
			continue;
		if (b.off + BLK_HDR_SIZE + b.comp_len <= file_off) {
			r.last_seq = seq;
			if (b.off + BLK_HDR_SIZE + b.comp_len > new_end)
				new_end = b.off + BLK_HDR_SIZE + b.comp_len;
			continue;
		}
		if (seq < drop_from)
			drop_from = seq;
		r.records -= b.nrec < r.records ? b.nrec : r.records;
		r.blocks -= r.blocks ? 1 : 0;
		r.raw_bytes -= b.raw_len < r.raw_bytes ? b.raw_len : r.raw_bytes;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			goto fail;
	}
	if (rc != MDB_NOTFOUND && rc != 0)
		goto fail;
	if (drop_from != UINT64_MAX) {
		/* entries of blocks >= drop_from (a segment's blocks after the cut are
		 * all dropped, so a sequence threshold is exact) */
		for (rc = mdb_cursor_get(cc, &k, &d, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(cc, &k, &d, MDB_NEXT)) {
			if (getbe64(d.mv_data) >= drop_from && (rc = mdb_cursor_del(cc, 0)) != 0)
				goto fail;
		}
		if (rc != MDB_NOTFOUND)
			goto fail;
	}
	if (r.last_seq == 0)
		r.first_seq = 0;
	r.end = new_end;
	mdb_cursor_close(cc);
	mdb_cursor_close(c);
	c = cc = NULL;
	if ((rc = index_seg_put(t, s, seg, &r)) != 0)
		goto fail;
	return mdb_rc(store_wtxn_commit(s, t));
fail:
	if (cc) mdb_cursor_close(cc);
	if (c) mdb_cursor_close(c);
	store_wtxn_abort(s, t);
	return mdb_rc(rc);
}
