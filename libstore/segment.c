/*
 * segment.c -- segment file header, block framing, checksums, compression.
 *
 * Owns the byte layout of FORMAT.md section 6: the 64-byte segment header, the
 * 48-byte block header followed by its (LZ4) payload, and the record framing
 * inside a raw payload. Everything read here is treated as hostile: lengths are
 * checked against caps before any allocation, LZ4 is only decoded with the
 * _safe functions, and a block is trusted only after its XXH3 checksum matches.
 */
#include <errno.h>
#include <lz4.h>
#include <lz4hc.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "store.h"

void seg_header_encode(uint64_t seg, int64_t created, const uint8_t uuid[16],
    unsigned version, uint64_t origin, uint8_t out[SEG_HDR_SIZE])
{
	memset(out, 0, SEG_HDR_SIZE);
	memcpy(out, SEG_MAGIC, 8);
	put32(out + 8, version);
	put32(out + 12, 0); /* incompatible-feature flags: none in versions 1, 2 */
	put64(out + 16, seg);
	put64(out + 24, (uint64_t)created);
	memcpy(out + 32, uuid, 16);
	put64(out + 48, origin); /* a rewrite's first segment (8.8); else 0 */
	put64(out + 56, XXH3_64bits(out, 56));
}

int seg_header_check(const uint8_t *hdr, uint64_t seg)
{
	if (memcmp(hdr, SEG_MAGIC, 8) != 0)
		return TT_ECORRUPT;
	if (get64(hdr + 56) != XXH3_64bits(hdr, 56))
		return TT_ECORRUPT;
	if (get32(hdr + 8) < 1 || get32(hdr + 8) > SEG_VERSION || get32(hdr + 12) != 0)
		return TT_EVERSION;
	if (seg != 0 && get64(hdr + 16) != seg)
		return TT_ECORRUPT;
	return 0;
}

/* The checksum covers the first 40 header bytes (through max_ts) and the
 * payload, so a torn or shifted block cannot pass with a stale header. */
static uint64_t blk_sum(const uint8_t *hdr, const uint8_t *payload, uint32_t n)
{
	return XXH3_64bits_withSeed(payload, n, XXH3_64bits(hdr, 40));
}

/* LZ4, or LZ4-HC at level hc (a rewrite of sealed data, 8.8) */
static int lz4_pack(const uint8_t *in, uint32_t n, uint8_t *out, int bound, int hc)
{
	if (hc)
		return LZ4_compress_HC((const char *)in, (char *)out, (int)n, bound, hc);
	return LZ4_compress_default((const char *)in, (char *)out, (int)n, bound);
}

int blk_build(const uint8_t *raw, uint32_t raw_len, uint32_t nrec, int64_t min_ts,
    int64_t max_ts, uint32_t flags, int columnar, int hc, tt_buf *out)
{
	const tt_buf *col = NULL;
	const uint8_t *in = raw;
	uint32_t in_len = raw_len;
	int bound;
	uint8_t *hdr;
	int clen = 0, codec = BLK_CODEC_LZ4;

	/* version 2: lay the records out by field first (colblk.c), unless
	 * they cannot be (then the block is a version-1 one) */
	if (columnar && raw_len > 0 && colblk_encode(raw, raw_len, nrec, &col) == 0) {
		in = col->data, in_len = (uint32_t)col->len;
		codec = BLK_CODEC_COL;
	}
	bound = LZ4_compressBound((int)in_len);
	out->len = 0;
	if (tt_buf_reserve(out, BLK_HDR_SIZE + (size_t)bound) < 0)
		return -ENOMEM;
	if (in_len > 0)
		clen = lz4_pack(in, in_len, out->data + BLK_HDR_SIZE, bound, hc);
	if (codec == BLK_CODEC_COL && (clen <= 0 || (uint32_t)clen >= raw_len)) {
		/* a columnar block must be smaller than its records stored raw */
		codec = BLK_CODEC_LZ4;
		in = raw, in_len = raw_len;
		clen = lz4_pack(raw, raw_len, out->data + BLK_HDR_SIZE,
		    LZ4_compressBound((int)raw_len), hc);
	}
	if (clen <= 0 || (uint32_t)clen >= raw_len) {
		/* incompressible (or empty): store as is */
		codec = BLK_CODEC_NONE;
		clen = (int)raw_len;
		if (raw_len)
			memcpy(out->data + BLK_HDR_SIZE, raw, raw_len);
	}
	hdr = out->data;
	memset(hdr, 0, BLK_HDR_SIZE);
	put32(hdr, BLK_MAGIC);
	hdr[4] = (uint8_t)codec;
	hdr[5] = (uint8_t)flags;
	put32(hdr + 8, (uint32_t)clen);
	put32(hdr + 12, raw_len);
	put32(hdr + 16, nrec);
	if (codec == BLK_CODEC_COL)
		put32(hdr + 20, in_len);
	put64(hdr + 24, (uint64_t)min_ts);
	put64(hdr + 32, (uint64_t)max_ts);
	put64(hdr + 40, blk_sum(hdr, hdr + BLK_HDR_SIZE, (uint32_t)clen));
	out->len = BLK_HDR_SIZE + (size_t)clen;
	return 0;
}

int blk_header_parse(const uint8_t *hdr, uint32_t *comp_len, uint32_t *raw_len,
    uint32_t *nrec, int64_t *min_ts, int64_t *max_ts, uint32_t *flags, int *codec)
{
	uint32_t c = get32(hdr + 8), r = get32(hdr + 12), n = get32(hdr + 16);
	uint32_t col = get32(hdr + 20);

	if (get32(hdr) != BLK_MAGIC || hdr[4] > BLK_CODEC_COL || (hdr[5] & ~BLK_FLAG_SEAL))
		return TT_ECORRUPT;
	if (r > BLK_RAW_MAX || n > BLK_NREC_MAX)
		return TT_ECORRUPT;
	if (hdr[4] == BLK_CODEC_COL) {
		/* the records laid out by field: col bytes, LZ4-compressed */
		if (n == 0 || r == 0 || col == 0 || col > COL_LEN_MAX(r) ||
		    c == 0 || c >= r || c > (uint32_t)LZ4_compressBound((int)col))
			return TT_ECORRUPT;
	} else if (col != 0)
		return TT_ECORRUPT;
	else if (hdr[4] == BLK_CODEC_NONE ? c != r : (c == 0 || c > (uint32_t)LZ4_compressBound((int)r)))
		return TT_ECORRUPT;
	*comp_len = c;
	*raw_len = r;
	if (nrec) *nrec = n;
	if (min_ts) *min_ts = (int64_t)get64(hdr + 24);
	if (max_ts) *max_ts = (int64_t)get64(hdr + 32);
	if (flags) *flags = hdr[5];
	if (codec) *codec = hdr[4];
	return 0;
}

int blk_verify(const uint8_t *hdr, const uint8_t *payload, uint32_t comp_len)
{
	return get64(hdr + 40) == blk_sum(hdr, payload, comp_len) ? 0 : TT_ECORRUPT;
}

int seg_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = pread(fd, p, n, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return TT_ECORRUPT; /* file shorter than the block claims */
		p += k, n -= (size_t)k, off += (uint64_t)k;
	}
	return 0;
}

int blk_read(int fd, uint64_t off, uint32_t comp_len_expect, blkwant *w,
    tt_buf *io, tt_buf *raw, uint32_t *raw_len, uint32_t *nrec)
{
	uint32_t raw_need = w ? w->raw_need : 0;

	if (w)
		w->got_layout = 0;
	uint32_t clen, rlen, n, flags;
	int codec, rc;
	size_t total = BLK_HDR_SIZE + (size_t)comp_len_expect;

	io->len = 0;
	if (tt_buf_reserve(io, total) < 0)
		return -ENOMEM;
	/* one pread for header + payload when the index told us the length */
	if ((rc = seg_pread_full(fd, io->data, comp_len_expect ? total : BLK_HDR_SIZE, off)) < 0)
		return rc;
	if ((rc = blk_header_parse(io->data, &clen, &rlen, &n, NULL, NULL, &flags, &codec)) < 0)
		return rc;
	if (comp_len_expect && clen != comp_len_expect)
		return TT_ECORRUPT;
	if (!comp_len_expect) {
		if (tt_buf_reserve(io, BLK_HDR_SIZE + (size_t)clen) < 0)
			return -ENOMEM;
		if ((rc = seg_pread_full(fd, io->data + BLK_HDR_SIZE, clen, off + BLK_HDR_SIZE)) < 0)
			return rc;
	}
	if (blk_verify(io->data, io->data + BLK_HDR_SIZE, clen) < 0)
		return TT_ECORRUPT;
	if (raw_need == 0 || raw_need > rlen)
		raw_need = rlen;
	raw->len = 0;
	if (tt_buf_reserve(raw, (size_t)rlen + 1) < 0)
		return -ENOMEM;
	if (codec == BLK_CODEC_COL) {
		/* LZ4 gives the columns (into raw), the columns give the frames
		 * (into io, whose compressed bytes are done with); then the two
		 * buffers change places. Decoding stops after raw_need bytes. */
		uint32_t col = get32(io->data + 20);
		size_t got;
		tt_buf t;
		if (tt_buf_reserve(raw, col) < 0)
			return -ENOMEM;
		if (LZ4_decompress_safe((const char *)io->data + BLK_HDR_SIZE,
		    (char *)raw->data, (int)clen, (int)col) != (int)col)
			return TT_ECORRUPT;
		if (w && w->layout) {
			/* the caller reads the columns itself */
			w->got_layout = 1;
			w->frames_len = rlen;
			raw->len = col;
			*raw_len = col;
			if (nrec)
				*nrec = n;
			return 0;
		}
		io->len = 0;
		if (tt_buf_reserve(io, (size_t)rlen + COL_OUT_SLACK) < 0)
			return -ENOMEM;
		if ((rc = colblk_decode(raw->data, col, n, rlen, w ? w->raw_from : 0,
		    raw_need == rlen ? 0 : raw_need, w ? w->id : NULL, w ? w->id_len : 0,
		    io->data, &got)) < 0)
			return rc == -ENOMEM ? rc : TT_ECORRUPT;
		t = *io, *io = *raw, *raw = t;
		rlen = (uint32_t)got;
	} else if (codec == BLK_CODEC_NONE) {
		if (rlen)
			memcpy(raw->data, io->data + BLK_HDR_SIZE, rlen);
	} else if (raw_need == rlen) {
		/* whole: the strict decoder. LZ4 1.9.4's partial one accepts a
		 * malformed stream whose length comes out right and then copies
		 * whatever the buffer held before (a previous block's records)
		 * into its output: a forged block with a valid checksum did so. */
		if (LZ4_decompress_safe((const char *)io->data + BLK_HDR_SIZE,
		    (char *)raw->data, (int)clen, (int)rlen) != (int)rlen)
			return TT_ECORRUPT;
	} else {
		/* partial: decode at least raw_need bytes (LZ4 may give a few
		 * more), over zeros, so that a malformed stream can only yield
		 * zeros (no valid frame) and never stale bytes */
		uint32_t cap = raw_need + 64 < rlen ? raw_need + 64 : rlen;
		int k;
		memset(raw->data, 0, cap);
		k = LZ4_decompress_safe_partial((const char *)io->data + BLK_HDR_SIZE,
		    (char *)raw->data, (int)clen, (int)raw_need, (int)cap);
		if (k < (int)raw_need)
			return TT_ECORRUPT;
		rlen = (uint32_t)k;
	}
	raw->len = rlen;
	*raw_len = rlen;
	if (nrec)
		*nrec = n;
	return 0;
}

size_t rec_frame(uint8_t *dst, size_t len)
{
	size_t i = 0;

	do {
		uint8_t b = len & 0x7f;
		len >>= 7;
		dst[i++] = b | (len ? 0x80 : 0);
	} while (len);
	return i;
}

int rec_next(const uint8_t *raw, size_t raw_len, size_t *pos, const uint8_t **rec,
    size_t *rec_len)
{
	size_t p = *pos, len = 0;
	int shift = 0;

	if (p >= raw_len)
		return 0;
	for (;;) {
		uint8_t b;
		if (p >= raw_len || shift > 28)
			return TT_ECORRUPT;
		b = raw[p++];
		len |= (size_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
	}
	if (len == 0 || len > raw_len - p)
		return TT_ECORRUPT;
	*rec = raw + p;
	*rec_len = len;
	*pos = p + len;
	return 1;
}

/* ---- per-block id table, built from a raw payload */

void blkinfo_reset(blkinfo *b)
{
	if (b->idtab && b->nids)
		memset(b->idtab, 0xff, b->idtabsz * sizeof *b->idtab);
	if (b->rutab && b->nru)
		memset(b->rutab, 0xff, b->rutabsz * sizeof *b->rutab);
	b->nids = 0;
	b->nru = 0;
	b->ru_hist.len = 0;
	b->arena.len = 0;
	b->nrec = 0;
	b->min_ts = INT64_MAX;
	b->max_ts = INT64_MIN;
	b->flags = 0;
}

void blkinfo_free(blkinfo *b)
{
	if (!b)
		return;
	free(b->ids);
	free(b->ru);
	free(b->idtab);
	free(b->rutab);
	tt_buf_free(&b->arena);
	tt_buf_free(&b->ru_hist);
	memset(b, 0, sizeof *b);
}

static int arena_add(tt_buf *a, const void *p, size_t n, uint32_t *off)
{
	*off = (uint32_t)a->len;
	return tt_buf_append(a, p, n);
}

static int same(const tt_buf *a, uint32_t off, uint32_t len, const char *p, size_t n)
{
	return len == n && memcmp(a->data + off, p, n) == 0;
}

/* Double an id table and put every id back. */
static int tab_grow(const blkinfo *b, uint32_t **tab, uint32_t *tabsz)
{
	uint32_t nsz = *tabsz * 2, mask = nsz - 1;
	uint32_t *nt = malloc(nsz * sizeof *nt);

	if (!nt)
		return -ENOMEM;
	memset(nt, 0xff, nsz * sizeof *nt);
	for (uint32_t i = 0; i < b->nids; i++) {
		const blkid *e = &b->ids[i];
		uint32_t slot = (uint32_t)XXH3_64bits(b->arena.data + e->key_off, e->key_len) & mask;
		while (nt[slot] != UINT32_MAX)
			slot = (slot + 1) & mask;
		nt[slot] = i;
	}
	free(*tab);
	*tab = nt;
	*tabsz = nsz;
	return 0;
}

/* Add one record (its info read; rec_off/rec_end: where it lies in the raw
 * payload) to b. Ids go through an open-addressing table from id to its slot
 * in b->ids, doubled at half full; rollups through rollup_fold's. */
int blkinfo_add(blkinfo *b, const tt_rec_info *ri, const uint8_t *rec, size_t rlen,
    uint32_t rec_off, uint32_t rec_end)
{
	uint32_t h, slot, mask;
	blkid *e;
	int rc;

	b->nrec++;
	if (ri->ts < b->min_ts) b->min_ts = ri->ts;
	if (ri->ts > b->max_ts) b->max_ts = ri->ts;
	if (!b->no_rollup && (rc = rollup_fold(b, &b->rutab, &b->rutabsz, ri, rec, rlen)) < 0)
		return rc;
	if (!ri->corr.p || ri->corr.n == 0 || ri->corr.n > TT_ID_MAX)
		return 0;
	if (!b->idtab) {
		if (!(b->idtab = malloc(64 * sizeof *b->idtab)))
			return -ENOMEM;
		b->idtabsz = 64;
		memset(b->idtab, 0xff, 64 * sizeof *b->idtab);
	}
	if (b->nids * 2 >= b->idtabsz && (rc = tab_grow(b, &b->idtab, &b->idtabsz)) < 0)
		return rc;
	mask = b->idtabsz - 1;
	h = (uint32_t)XXH3_64bits(ri->corr.p, ri->corr.n);
	for (slot = h & mask;; slot = (slot + 1) & mask) {
		if (b->idtab[slot] == UINT32_MAX)
			break;
		e = &b->ids[b->idtab[slot]];
		if (same(&b->arena, e->key_off, e->key_len, ri->corr.p, ri->corr.n))
			break;
	}
	if (b->idtab[slot] == UINT32_MAX) {
		if (b->nids == b->cap_ids) {
			uint32_t nc = b->cap_ids ? b->cap_ids * 2 : 64;
			blkid *ni = realloc(b->ids, nc * sizeof *ni);
			if (!ni)
				return -ENOMEM;
			b->ids = ni, b->cap_ids = nc;
		}
		e = &b->ids[b->nids];
		memset(e, 0, sizeof *e);
		if ((rc = arena_add(&b->arena, ri->corr.p, ri->corr.n, &e->key_off)) < 0)
			return rc;
		e->key_len = (uint32_t)ri->corr.n;
		e->raw_lo = rec_off;
		e->min_ts = INT64_MAX;
		e->max_ts = INT64_MIN;
		b->idtab[slot] = b->nids++;
	}
	e = &b->ids[b->idtab[slot]];
	e->raw_hi = rec_end;
	e->count++;
	if (ri->ts < e->min_ts) e->min_ts = ri->ts;
	if (ri->ts > e->max_ts) e->max_ts = ri->ts;
	if (ri->dir.p && ri->dir.n == 2 && memcmp(ri->dir.p, "->", 2) == 0)
		e->n_req++;
	else if (ri->dir.p && ri->dir.n == 2 && memcmp(ri->dir.p, "<-", 2) == 0)
		e->n_resp++;
	if (ri->service.p && ri->service.n > 0) {
		unsigned i;
		for (i = 0; i < e->nsvc; i++)
			if (same(&b->arena, e->svc_off[i], e->svc_len[i], ri->service.p, ri->service.n))
				break;
		if (i == e->nsvc) {
			if (e->nsvc < 4) {
				if ((rc = arena_add(&b->arena, ri->service.p, ri->service.n, &e->svc_off[i])) < 0)
					return rc;
				e->svc_len[i] = (uint32_t)ri->service.n;
				e->nsvc++;
			} else {
				e->svc_more = 1;
			}
		}
	}
	return 0;
}

void blkinfo_done(blkinfo *b)
{
	if (b->nrec == 0)
		b->min_ts = b->max_ts = 0;
}

int blkinfo_scan(blkinfo *b, const uint8_t *raw, size_t raw_len)
{
	size_t pos = 0, rlen;
	const uint8_t *rec;
	int rc, r;

	blkinfo_reset(b);
	while ((r = rec_next(raw, raw_len, &pos, &rec, &rlen)) > 0) {
		tt_rec_info ri;
		if (tt_rec_info_get(rec, rlen, &ri) < 0)
			return TT_ECORRUPT;
		if ((rc = blkinfo_add(b, &ri, rec, rlen, (uint32_t)(rec - raw), (uint32_t)pos)) < 0)
			return rc;
	}
	if (r < 0)
		return r;
	blkinfo_done(b);
	return 0;
}
