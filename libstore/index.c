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
#include <time.h>
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

/* ---- services and service sets (FORMAT.md 7.5)
 *
 * A service name gets a number once, for ever ("svc": name -> number, "svcsets"
 * 'v' rows: number -> name). The services of one id in one block form a set
 * (at most SVCSET_SVC_MAX numbers, sorted) that also gets a number once
 * ("svcsets" 'k' rows: numbers -> set, 'n' rows: set -> numbers); an entry of a
 * SEGF_SVCSET segment holds that set number. Stores have few services and
 * fewer sets in use, so a small per-commit memo answers almost every lookup. */

#define SVC_MEMO 32

struct svcmemo {
	struct { const void *p; size_t len; uint16_t num; } name[SVC_MEMO];
	struct { uint8_t key[1 + 2 * SVCSET_SVC_MAX]; uint8_t klen; uint16_t set; } set[SVC_MEMO];
	unsigned nname, nset, rr_name, rr_set; /* round-robin replacement */
};

static int meta_next(MDB_txn *t, tt_store *s, const char *name, uint64_t dflt, uint64_t *out)
{
	int rc = store_get_u64(t, s->db_meta, name, out);
	if (rc == TT_ENOTFOUND) {
		*out = dflt;
		return 0;
	}
	return rc;
}

/* The number of service name p (assigned now if new); 1 when it cannot have
 * one (a name over SVC_NAME_MAX bytes, or every number taken): the entry then
 * says "unknown" and readers look at the records. */
static int svc_num(tt_store *s, MDB_txn *t, struct svcmemo *m, const void *p, size_t n,
    uint16_t *num)
{
	MDB_val k = { n, (void *)p }, d;
	uint8_t nb[2], vk[3];
	uint64_t next;
	MDB_stat st;
	unsigned slot;
	int rc;

	for (unsigned i = 0; i < m->nname; i++)
		if (m->name[i].len == n && memcmp(m->name[i].p, p, n) == 0) {
			*num = m->name[i].num;
			return 0;
		}
	if (n == 0 || n > SVC_NAME_MAX)
		return 1;
	if ((rc = mdb_get(t, s->db_svc, &k, &d)) == 0) {
		if (d.mv_size == 1) /* version-1 rows: the bit number */
			*num = *(uint8_t *)d.mv_data;
		else if (d.mv_size == 2)
			*num = get16(d.mv_data);
		else
			return 1;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	} else {
		/* stores written before numbers had the counter numbered 0..n-1 */
		if ((rc = mdb_stat(t, s->db_svc, &st)) ||
		    (rc = meta_next(t, s, "next_svc", st.ms_entries, &next)))
			return rc;
		if (next > SVC_NUM_MAX)
			return 1;
		*num = (uint16_t)next;
		put16(nb, *num);
		vk[0] = 'v';
		vk[1] = (uint8_t)(*num >> 8), vk[2] = (uint8_t)*num;
		d.mv_size = 2, d.mv_data = nb;
		if ((rc = mdb_put(t, s->db_svc, &k, &d, MDB_NOOVERWRITE)) != 0)
			return rc;
		k.mv_size = 3, k.mv_data = vk;
		d.mv_size = n, d.mv_data = (void *)p;
		if ((rc = mdb_put(t, s->db_svcsets, &k, &d, 0)) != 0 ||
		    (rc = store_put_u64(t, s->db_meta, "next_svc", next + 1)) != 0)
			return rc;
	}
	slot = m->nname < SVC_MEMO ? m->nname++ : m->rr_name++ % SVC_MEMO;
	m->name[slot].p = p; /* valid: the caller's arena lives until the commit */
	m->name[slot].len = n;
	m->name[slot].num = *num;
	return 0;
}

static int u16_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return x < y ? -1 : x > y;
}

/* The set number of the services of e (SVCSET_UNKNOWN when not known). */
static int svc_set(tt_store *s, MDB_txn *t, struct svcmemo *m, const blkinfo *b,
    const blkid *e, uint16_t *set)
{
	uint16_t nums[SVCSET_SVC_MAX];
	uint8_t key[1 + 2 * SVCSET_SVC_MAX], nk[3];
	MDB_val k, d;
	uint64_t next;
	unsigned klen = 1, slot;
	int rc;

	*set = SVCSET_NONE;
	if (e->nsvc == 0 && !e->svc_more)
		return 0;
	*set = SVCSET_UNKNOWN;
	if (e->svc_more || e->nsvc > SVCSET_SVC_MAX)
		return 0;
	for (unsigned x = 0; x < e->nsvc; x++)
		if ((rc = svc_num(s, t, m, b->arena.data + e->svc_off[x], e->svc_len[x], &nums[x])) != 0)
			return rc == 1 ? 0 : rc; /* 1: a name without a number: unknown */
	qsort(nums, e->nsvc, sizeof nums[0], u16_cmp);
	key[0] = 'k';
	for (unsigned x = 0; x < e->nsvc; x++, klen += 2)
		key[klen] = (uint8_t)(nums[x] >> 8), key[klen + 1] = (uint8_t)nums[x];
	for (unsigned i = 0; i < m->nset; i++)
		if (m->set[i].klen == klen && memcmp(m->set[i].key, key, klen) == 0) {
			*set = m->set[i].set;
			return 0;
		}
	k.mv_size = klen, k.mv_data = key;
	if ((rc = mdb_get(t, s->db_svcsets, &k, &d)) == 0) {
		if (d.mv_size != 2)
			return 0; /* damaged row: unknown, readers look at the records */
		*set = get16(d.mv_data);
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	} else {
		uint8_t sb[2];
		if ((rc = meta_next(t, s, "next_svcset", 1, &next)) != 0)
			return rc;
		if (next > SVCSET_MAX)
			return 0;
		put16(sb, (uint16_t)next);
		d.mv_size = 2, d.mv_data = sb;
		if ((rc = mdb_put(t, s->db_svcsets, &k, &d, MDB_NOOVERWRITE)) != 0)
			return rc;
		nk[0] = 'n';
		nk[1] = (uint8_t)(next >> 8), nk[2] = (uint8_t)next;
		k.mv_size = 3, k.mv_data = nk;
		d.mv_size = klen - 1, d.mv_data = key + 1;
		if ((rc = mdb_put(t, s->db_svcsets, &k, &d, 0)) != 0 ||
		    (rc = store_put_u64(t, s->db_meta, "next_svcset", next + 1)) != 0)
			return rc;
		*set = (uint16_t)next;
	}
	slot = m->nset < SVC_MEMO ? m->nset++ : m->rr_set++ % SVC_MEMO;
	memcpy(m->set[slot].key, key, klen);
	m->set[slot].klen = (uint8_t)klen;
	m->set[slot].set = *set;
	return 0;
}

/* Version-1 entries (segments without SEGF_SVCSET): a bit per service. */
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

/* The mask of a version-1 entry. New names are not given bits any more (the
 * set numbers took over), so a name without one is "others". */
static uint16_t svc_mask(const struct svcmap *m, const blkinfo *b, const blkid *e)
{
	uint16_t mask = e->svc_more ? (uint16_t)(1u << SVC_BITS) : 0;
	for (unsigned x = 0; x < e->nsvc; x++) {
		unsigned i;
		for (i = 0; i < m->n; i++)
			if (m->name[i].len == e->svc_len[x] &&
			    memcmp(m->name[i].p, b->arena.data + e->svc_off[x], e->svc_len[x]) == 0)
				break;
		mask |= (uint16_t)(1u << (i < m->n ? i : SVC_BITS));
	}
	return mask;
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
    segrec *seg_after, uint64_t *first_seq_out, rollpend *held)
{
	segrec r;
	struct centry *ce = NULL;
	size_t nce = 0, cap = 0;
	tt_buf val = { 0 };
	int64_t now = 0;
	int rc, flush = 1;

	/* held: this commit's rollups join the held rows first (a commit that
	 * fails leaves them there, but a failed writer writes nothing more: the
	 * next open folds from the index what it committed) */
	if (held) {
		struct timespec ts;
		if ((rc = rollpend_add(held, blks, nblks)) < 0)
			return rc;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		flush = rollpend_due(held, now);
	}
	for (size_t i = 0; i < nblks; i++)
		cap += blks[i].nids;
	if (cap && !(ce = malloc(cap * sizeof *ce)))
		return -ENOMEM;
	for (;;) {
		MDB_txn *t;
		MDB_dbi dbi;
		uint64_t seq;
		struct svcmap sm = { 0 };
		struct svcmemo memo;

		r = *seg_after;
		nce = 0;
		if ((rc = store_wtxn(s, &t)) != 0)
			break;
		if ((rc = store_get_u64(t, s->db_meta, "next_seq", &seq)) ||
		    (rc = store_seg_dbi(s, seg, 1, t, &dbi)) ||
		    (!(r.flags & SEGF_SVCSET) && (rc = svc_load(s, t, &sm))))
			goto abort;
		memo.nname = memo.nset = memo.rr_name = memo.rr_set = 0;
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
				if (!(r.flags & SEGF_SVCSET))
					iv.svc = svc_mask(&sm, b, e);
				else if ((rc = svc_set(s, t, &memo, b, e, &iv.svc)) != 0)
					goto abort;
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
		if (!held)
			rc = rollup_commit(s, t, blks, nblks);
		else if (flush)
			rc = rollpend_write(s, t, held);
		else if (!rollpend_first(held))
			rc = rollup_lag_put(s, t, seg, r.last_seq - nblks + 1);
		if (held && flush && rc == 0 && rollpend_first(held))
			rc = rollup_lag_del(s, t, seg);
		if (rc || (rc = index_seg_put(t, s, seg, &r)) ||
		    (rc = store_put_u64(t, s->db_meta, "next_seq", seq)))
			goto abort;
		rc = store_wtxn_commit(s, t);
		if (rc == MDB_MAP_FULL)
			continue; /* the map grew: redo the whole transaction */
		if (rc == 0) {
			*seg_after = r;
			if (held && flush)
				rollpend_clear(held);
			else if (held)
				rollpend_held(held, r.last_seq - nblks + 1, now);
		}
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
