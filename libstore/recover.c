/*
 * recover.c -- crash recovery of unsealed segments (FORMAT.md 8.4).
 *
 * After a crash an unsealed segment may hold, past the end its index row
 * records, (a) complete blocks that were written but never indexed, and (b) a
 * torn or garbage tail. Recovery indexes (a), in file order, and cuts (b). It
 * runs only under the segment's flock, so it never races the segment's writer,
 * and it runs automatically: at tt_store_open for every unsealed segment no
 * live writer holds, and when a writer adopts a segment. Nothing it indexes was
 * acknowledged (acknowledgement follows the index commit), and a block is
 * indexed at most once because the index row's `end` moves in the same
 * transaction as the block's entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define RECOVER_BATCH 128

static int seg_put_row(tt_store *s, uint64_t seg, const segrec *r)
{
	MDB_txn *t;
	int rc;
	do {
		if ((rc = store_wtxn(s, &t)) != 0)
			return mdb_rc(rc);
		if ((rc = index_seg_put(t, s, seg, r)) != 0) {
			store_wtxn_abort(s, t);
			return mdb_rc(rc);
		}
		rc = store_wtxn_commit(s, t);
	} while (rc == MDB_MAP_FULL);
	return mdb_rc(rc);
}

static void acc_block(segrec *r, const blkinfo *b)
{
	r->records += b->nrec;
	r->blocks++;
	r->raw_bytes += b->raw_len;
	if (b->nrec) {
		if (r->min_ts == 0 && r->max_ts == 0)
			r->min_ts = b->min_ts, r->max_ts = b->max_ts;
		if (b->min_ts < r->min_ts) r->min_ts = b->min_ts;
		if (b->max_ts > r->max_ts) r->max_ts = b->max_ts;
	}
}

int recover_segment(tt_store *s, uint64_t seg, int fd, segrec *out)
{
	blkinfo batch[RECOVER_BATCH];
	size_t nb = 0;
	tt_buf io = { 0 }, raw = { 0 };
	uint8_t hdr[SEG_HDR_SIZE];
	segrec r;
	struct stat st;
	uint64_t pos, size;
	int rc, sealed = 0;

	memset(batch, 0, sizeof batch);
	if ((rc = index_seg_read(s, seg, &r)) < 0)
		return rc;
	if (r.state == TT_SEG_SEALED) {
		*out = r;
		return 0;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	size = (uint64_t)st.st_size;
	/* A writer killed without a power loss leaves its last blocks (and maybe
	 * the header or a seal trailer) in the page cache, never synced: sync
	 * them before this pass indexes or seals anything, or a power cut after
	 * our commit would leave index entries over lost bytes (8.4 step 0). */
	if ((r.end == 0 || size > r.end) && s->o.sync != TT_SYNC_NONE && fdatasync(fd) < 0)
		return -errno;
	if (r.end == 0) {
		/* the creator died before its first commit: header may be missing */
		if (size < SEG_HDR_SIZE || seg_pread_full(fd, hdr, SEG_HDR_SIZE, 0) < 0 ||
		    seg_header_check(hdr, seg) < 0) {
			seg_header_encode(seg, r.created_ns, s->uuid, s->seg_version, 0, hdr);
			if (ftruncate(fd, 0) < 0 || pwrite(fd, hdr, SEG_HDR_SIZE, 0) != SEG_HDR_SIZE)
				return -errno;
			if (s->o.sync != TT_SYNC_NONE && fdatasync(fd) < 0)
				return -errno;
			size = SEG_HDR_SIZE;
		}
		r.end = SEG_HDR_SIZE;
		if ((rc = seg_put_row(s, seg, &r)) < 0)
			return rc;
	}
	if (size < r.end) {
		/* the index claims bytes the file lacks: only possible after a power
		 * loss under TT_SYNC_NONE, or outside damage. Drop what is gone. */
		store_problem(s, seg, size, TT_ECORRUPT, "segment file shorter than its index; dropping the missing blocks");
		if ((rc = index_drop_blocks_from(s, seg, size)) < 0)
			return rc;
		if ((rc = index_seg_read(s, seg, &r)) < 0)
			return rc;
	}
	pos = r.end;
	while (pos < size) {
		uint8_t bh[BLK_HDR_SIZE];
		uint32_t clen, rlen, nrec, flags, got;
		int codec;
		blkinfo *b;

		rc = 0;
		if (size - pos < BLK_HDR_SIZE || (rc = seg_pread_full(fd, bh, sizeof bh, pos)) < 0 ||
		    blk_header_parse(bh, &clen, &rlen, &nrec, NULL, NULL, &flags, &codec) < 0 ||
		    size - pos - BLK_HDR_SIZE < clen) {
			if (rc < 0 && rc != TT_ECORRUPT)
				goto fail; /* could not read (EIO, ENOMEM): cut nothing */
			break; /* torn or garbage: cut here */
		}
		if ((rc = blk_read(fd, pos, clen, NULL, &io, &raw, &got, NULL)) < 0) {
			if (rc != TT_ECORRUPT)
				goto fail;
			break;
		}
		if (flags & BLK_FLAG_SEAL) {
			sealed = 1;
			pos += BLK_HDR_SIZE + clen;
			break;
		}
		b = &batch[nb];
		if ((rc = blkinfo_scan(b, raw.data, got)) < 0 && rc != TT_ECORRUPT)
			goto fail;
		if (rc < 0 || b->nrec != nrec)
			break;
		b->off = pos;
		b->comp_len = clen;
		b->raw_len = rlen;
		acc_block(&r, b);
		pos += BLK_HDR_SIZE + clen;
		r.end = pos;
		if (++nb == RECOVER_BATCH) {
			if ((rc = index_commit(s, seg, batch, nb, &r, NULL, NULL)) < 0)
				goto fail;
			nb = 0;
		}
	}
	if (pos < size) {
		/* cut the torn tail so the next append starts on a block boundary */
		if (ftruncate(fd, (off_t)pos) < 0 ||
		    (s->o.sync != TT_SYNC_NONE && fdatasync(fd) < 0)) {
			rc = -errno;
			goto fail;
		}
	}
	if (nb > 0 && (rc = index_commit(s, seg, batch, nb, &r, NULL, NULL)) < 0)
		goto fail;
	if (sealed) {
		r.state = TT_SEG_SEALED;
		r.end = pos;
		if ((rc = seg_put_row(s, seg, &r)) < 0)
			goto fail;
	}
	*out = r;
	rc = 0;
fail:
	for (size_t i = 0; i < RECOVER_BATCH; i++)
		blkinfo_free(&batch[i]);
	tt_buf_free(&io);
	tt_buf_free(&raw);
	return rc;
}

int seg_own(tt_store *s, uint64_t seg, int *fdp)
{
	char path[4096];
	int fd;

	store_seg_path(s, seg, path, sizeof path);
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return TT_ELOCKED;
	}
	*fdp = fd;
	return 0;
}

int orphans_walk(tt_store *s, int stop_unwritable,
    int (*fn)(void *ctx, uint64_t seg, int fd, segrec *r, int rc), void *ctx)
{
	struct segrow *rows;
	size_t n;
	int rc = 0;

	if ((rc = index_seg_list(s, SEGS_ACTIVE, &rows, &n)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		segrec r;
		int fd, own = seg_own(s, rows[i].id, &fd);

		if (stop_unwritable && (own == -EACCES || own == -EROFS))
			break;
		if (own < 0)
			continue;
		/* first the rollups a killed writer held back (7.6): the blocks
		 * the index has now (recovery folds those it adds itself) */
		memset(&r, 0, sizeof r);
		own = rollup_refold(s, rows[i].id);
		if (own == 0)
			own = recover_segment(s, rows[i].id, fd, &r);
		rc = fn(ctx, rows[i].id, fd, &r, own);
		if (rc <= 0)
			close(fd);
	}
	free(rows);
	return rc;
}

static int recovered(void *ctx, uint64_t seg, int fd, segrec *r, int rc)
{
	return rc < 0 && rc != TT_ENOTFOUND ? rc : 0;
}

/* Recover every unsealed segment whose writer is gone. A store we may not
 * write (EACCES) is left as it is: its readers see what is indexed. */
int recover_orphans(tt_store *s)
{
	return orphans_walk(s, 1, recovered, NULL);
}
