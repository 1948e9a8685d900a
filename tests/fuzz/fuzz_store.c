/*
 * fuzz_store.c -- segment files and blocks from disk: the readers of libstore
 * on a store whose segment file holds the fuzz input.
 *
 * Once: a template store (a few dozen records in small blocks, two ids, the
 * segment left unsealed as a killed writer leaves it). Per input: a fresh
 * copy of it in a wiped directory, the segment file changed as the first
 * input byte says, then everything that reads segments:
 *   open (recovery of the unsealed segment), tt_store_scan forward and
 *   reverse, tt_store_get, idsum, list_ids, stats, segments, a writer that
 *   adopts the segment and appends, tt_store_check, tt_store_check with
 *   rebuild, and a read-only open without recovery.
 * Checks: no crash, sanitizer report, hang or allocation over the limit; the
 * store always opens (a damaged segment never makes it unavailable); every
 * record handed out has a ts and a corr slot (tt_rec_ts_corr); forward and
 * reverse scans deliver the same count; after a rebuild the index agrees
 * with the data: tt_store_get(id) returns exactly the records of id a full
 * scan sees, and idsum counts them.
 *
 * Mode byte (input[0]): bits 0-1 where the rest goes -- 0 appended after the
 * template's blocks (an unindexed tail), 1 replacing everything after the
 * 64-byte header (indexed blocks damaged), 2 the whole file, 3 written over
 * the file at the offset in input[1..2]; bit 2 "build": the rest is a list of
 * [flags][len u16][raw payload] turned into blocks with valid checksums by
 * the writer's own blk_build (so the fuzzer reaches frames and records);
 * bit 3 "fix": recompute the checksum of every "TTBK" header found; bit 4:
 * also open read-only without recovery before anything repairs the file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "fuzz.h"
#include "store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct file { char rel[128]; tt_buf data; };
static struct file files[16];
static int nfiles, seg_file = -1;
static char tmpl[PATH_MAX], work[PATH_MAX];

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
}

/* remember every file of the template (LMDB's lock file is made anew) */
static void snapshot(const char *dir, const char *rel)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
	FUZZ_ASSERT((d = opendir(path)) != NULL);
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.' || strcmp(e->d_name, "lock.mdb") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, sub);
		FUZZ_ASSERT(stat(path, &st) == 0);
		if (S_ISDIR(st.st_mode)) {
			snapshot(dir, sub);
		} else {
			struct file *f = &files[nfiles++];
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			FUZZ_ASSERT(nfiles < 16 && fd >= 0);
			snprintf(f->rel, sizeof f->rel, "%s", sub);
			FUZZ_ASSERT(tt_buf_reserve(&f->data, (size_t)st.st_size) == 0);
			FUZZ_ASSERT(read(fd, f->data.data, (size_t)st.st_size) == st.st_size);
			f->data.len = (size_t)st.st_size;
			close(fd);
			if (strncmp(sub, "seg/", 4) == 0)
				seg_file = nfiles - 1;
		}
	}
	closedir(d);
}

static void mp_str(tt_buf *b, const char *s)
{
	uint8_t h = (uint8_t)(0xa0 | strlen(s));

	FUZZ_ASSERT(tt_buf_append(b, &h, 1) == 0 && tt_buf_append(b, s, strlen(s)) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	tt_store *s;
	tt_writer *w;
	tt_store_opts o;
	tt_buf rec = {0};

	snprintf(tmpl, sizeof tmpl, "%s/tmpl", fuzz_tmpdir());
	snprintf(work, sizeof work, "%s/work", fuzz_tmpdir());
	memset(&o, 0, sizeof o);
	o.flags = TT_OPEN_CREATE;
	o.sync = TT_SYNC_NONE;
	o.block_size = 400; /* several blocks from a few records */
	FUZZ_ASSERT(tt_store_open(&s, tmpl, &o) == 0);
	FUZZ_ASSERT(tt_writer_open(s, &w) == 0);
	for (int i = 0; i < 40; i++) {
		char c[8], m[16];
		uint8_t ts[3] = { 0xcd, (uint8_t)((1000 + i) >> 8), (uint8_t)(1000 + i) };

		snprintf(c, sizeof c, "c%d", i % 3);
		snprintf(m, sizeof m, "record %03d", i);
		rec.len = 0;
		FUZZ_ASSERT(tt_buf_append(&rec, "\x85", 1) == 0);
		mp_str(&rec, "ts");
		FUZZ_ASSERT(tt_buf_append(&rec, ts, 3) == 0);
		mp_str(&rec, "corr");
		mp_str(&rec, c);
		mp_str(&rec, "service");
		mp_str(&rec, i % 2 ? "web" : "db");
		mp_str(&rec, "dir");
		mp_str(&rec, i % 4 ? "->" : "<-");
		mp_str(&rec, "msg");
		mp_str(&rec, m);
		FUZZ_ASSERT(tt_writer_append(w, rec.data, rec.len) > 0);
	}
	tt_buf_free(&rec);
	FUZZ_ASSERT(tt_writer_flush(w) == 0);
	FUZZ_ASSERT(tt_writer_close(w, 0) == 0); /* unsealed: recovery runs at each open */
	tt_store_close(s);
	snapshot(tmpl, "");
	FUZZ_ASSERT(seg_file >= 0);
	/* FUZZ_STORE_TEMPLATE=FILE: a copy of the template segment, for seeds */
	if (getenv("FUZZ_STORE_TEMPLATE"))
		write_file(getenv("FUZZ_STORE_TEMPLATE"), files[seg_file].data.data,
		    files[seg_file].data.len);
	return 0;
}

/* ---- building the segment file */

/* [flags][len lo][len hi][payload] ... -> blocks that verify */
static void build_blocks(const uint8_t *p, size_t n, tt_buf *out)
{
	tt_buf blk = {0};

	while (n >= 3) {
		uint8_t fl = p[0];
		size_t len = (size_t)p[1] | (size_t)p[2] << 8, pos = 0, rl;
		const uint8_t *raw, *r;
		uint32_t nrec = 0;
		int64_t lo = INT64_MAX, hi = INT64_MIN;

		p += 3, n -= 3;
		if (len > n)
			len = n;
		raw = p;
		/* count frames and their time range as a writer would; flag bits
		 * 0x10/0x20 lie about them instead */
		while (rec_next(raw, len, &pos, &r, &rl) > 0) {
			int64_t ts;
			const char *c;
			size_t cn;
			nrec++;
			if (tt_rec_ts_corr(r, rl, &ts, &c, &cn) == 0) {
				if (ts < lo) lo = ts;
				if (ts > hi) hi = ts;
			}
		}
		if (lo > hi)
			lo = hi = 0;
		if (fl & 0x10)
			nrec = fl >> 5;
		if (fl & 0x20)
			lo = -lo, hi = hi / 2;
		FUZZ_ASSERT(blk_build(raw, (uint32_t)len, nrec, lo, hi, fl & 0x40 ? BLK_FLAG_SEAL : 0,
		    1, fl & 0x80 ? 9 : 0, &blk) == 0);
		FUZZ_ASSERT(tt_buf_append(out, blk.data, blk.len) == 0);
		p += len, n -= len;
	}
	tt_buf_free(&blk);
}

/* recompute the checksum of every block header that fits */
static void fix_sums(uint8_t *p, size_t n)
{
	for (size_t i = SEG_HDR_SIZE; i + BLK_HDR_SIZE <= n; i++) {
		uint32_t clen;
		if (get32(p + i) != BLK_MAGIC)
			continue;
		clen = get32(p + i + 8);
		if (clen > n - i - BLK_HDR_SIZE)
			continue;
		put64(p + i + 40, XXH3_64bits_withSeed(p + i + BLK_HDR_SIZE, clen,
		    XXH3_64bits(p + i, 40)));
		i += BLK_HDR_SIZE + clen - 1;
	}
}

static void make_store(const uint8_t *data, size_t size)
{
	const tt_buf *tseg = &files[seg_file].data;
	uint8_t mode = data[0];
	tt_buf in = {0}, seg = {0};
	char path[PATH_MAX];

	data++, size--;
	if (mode & 4)
		build_blocks(data, size, &in);
	else
		FUZZ_ASSERT(tt_buf_append(&in, data, size) == 0);
	switch (mode & 3) {
	case 0:
		FUZZ_ASSERT(tt_buf_append(&seg, tseg->data, tseg->len) == 0);
		FUZZ_ASSERT(tt_buf_append(&seg, in.data, in.len) == 0);
		break;
	case 1:
		FUZZ_ASSERT(tt_buf_append(&seg, tseg->data, SEG_HDR_SIZE) == 0);
		FUZZ_ASSERT(tt_buf_append(&seg, in.data, in.len) == 0);
		break;
	case 2:
		FUZZ_ASSERT(tt_buf_append(&seg, in.data, in.len) == 0);
		break;
	case 3: {
		size_t off = in.len >= 2 ? ((size_t)in.data[0] | (size_t)in.data[1] << 8) % tseg->len : 0;
		size_t n = in.len >= 2 ? in.len - 2 : 0;
		FUZZ_ASSERT(tt_buf_append(&seg, tseg->data, tseg->len) == 0);
		FUZZ_ASSERT(tt_buf_reserve(&seg, off + n > seg.len ? off + n - seg.len : 0) == 0);
		if (n)
			memcpy(seg.data + off, in.data + 2, n);
		if (off + n > seg.len)
			seg.len = off + n;
		break;
	}
	}
	if (mode & 8)
		fix_sums(seg.data, seg.len);

	fuzz_rm_rf(work);
	FUZZ_ASSERT(mkdir(work, 0700) == 0);
	snprintf(path, sizeof path, "%s/index", work);
	FUZZ_ASSERT(mkdir(path, 0700) == 0);
	snprintf(path, sizeof path, "%s/seg", work);
	FUZZ_ASSERT(mkdir(path, 0700) == 0);
	for (int i = 0; i < nfiles; i++) {
		snprintf(path, sizeof path, "%s/%s", work, files[i].rel);
		if (i == seg_file)
			write_file(path, seg.data, seg.len);
		else
			write_file(path, files[i].data.data, files[i].data.len);
	}
	tt_buf_free(&in);
	tt_buf_free(&seg);
}

/* ---- reading it */

struct seen {
	size_t n;
	char id[TT_ID_MAX];  /* the first id seen (not c0..c2) */
	size_t id_len;
	size_t n_id[4];      /* records of c0, c1, c2, id */
};

static const char *const ids[] = { "c0", "c1", "c2" };

static int on_rec(void *ctx, const tt_rec *r)
{
	struct seen *sn = ctx;
	int64_t ts;
	const char *c;
	size_t cn;
	tt_buf out = {0};
	tt_rec_info info;

	FUZZ_ASSERT(tt_rec_ts_corr(r->data, r->len, &ts, &c, &cn) == 0 && ts == r->ts);
	/* FORMAT.md 9: a block whose frames are not all canonical records is
	 * bad and skipped; the readers check ts and corr only (cheaper), so a
	 * block that passes its checksum but holds other bytes is delivered.
	 * FUZZ_STORE_STRICT=1 asserts the rule. */
	if (getenv("FUZZ_STORE_STRICT")) {
		size_t used = 0;
		if (tt_mp_check(r->data, r->len, &used, NULL) != 0 || used != r->len ||
		    tt_rec_info_get(r->data, r->len, &info) != 0) {
			fprintf(stderr, "a reader delivered a record that is not canonical "
			    "(block seq %llu, record %u, %zu bytes)\n", (unsigned long long)r->seq,
			    r->idx, r->len);
			abort();
		}
	}
	(void)tt_rec_info_get(r->data, r->len, &info);
	(void)tt_rec_to_json(r->data, r->len, TT_JSON_TIME, &out);
	tt_buf_free(&out);
	sn->n++;
	for (int i = 0; i < 3; i++)
		if (cn == 2 && memcmp(c, ids[i], 2) == 0)
			sn->n_id[i]++;
	if (c && cn > 0 && cn <= TT_ID_MAX && sn->id_len == 0 &&
	    !(cn == 2 && c[0] == 'c' && c[1] >= '0' && c[1] <= '2')) {
		memcpy(sn->id, c, cn);
		sn->id_len = cn;
	}
	if (sn->id_len && cn == sn->id_len && memcmp(c, sn->id, cn) == 0)
		sn->n_id[3]++;
	return 0;
}

static int on_rec_count(void *ctx, const tt_rec *r)
{
	(*(size_t *)ctx)++;
	return 0;
}

static void on_problem(void *ctx, const tt_problem *p)
{
	FUZZ_ASSERT(p->what != NULL && p->code < 0);
	(*(size_t *)ctx)++;
}

static int on_id(void *ctx, const tt_idsum *sum)
{
	FUZZ_ASSERT(sum->id_len <= TT_ID_MAX && memchr(sum->services, '\0', sizeof sum->services));
	return 0;
}

static int on_seg(void *ctx, const tt_seginfo *si)
{
	return 0;
}

static void scan_all(tt_store *s, struct seen *sn)
{
	tt_scan sc;
	tt_pos next;
	char buf[TT_CURSOR_MAX];
	size_t back = 0;
	int rc;

	memset(sn, 0, sizeof *sn);
	memset(&sc, 0, sizeof sc);
	sc.since = TT_TS_MIN;
	sc.until = TT_TS_MAX;
	rc = tt_store_scan(s, &sc, on_rec, sn, &next);
	FUZZ_ASSERT(rc >= 0 && (size_t)rc == sn->n);
	FUZZ_ASSERT(tt_pos_format(&next, buf, sizeof buf) == 0 && tt_pos_parse(buf, &next) == 0);
	sc.flags = TT_SCAN_REVERSE;
	rc = tt_store_scan(s, &sc, on_rec_count, &back, NULL);
	if (rc < 0 || back != sn->n)
		fprintf(stderr, "forward scan: %zu records; reverse scan: %zu (rc %d)\n",
		    sn->n, back, rc);
	FUZZ_ASSERT(rc >= 0 && back == sn->n);
}

static void read_store(tt_store *s, struct seen *sn)
{
	tt_scan sc;
	size_t n;
	tt_idsum sum;
	tt_stats st;
	tt_pos end;

	scan_all(s, sn);
	memset(&sc, 0, sizeof sc);
	sc.since = 1010;
	sc.until = 1030;
	sc.flags = TT_SCAN_REVERSE;
	sc.max_blocks = 3;
	n = 0;
	FUZZ_ASSERT(tt_store_scan(s, &sc, on_rec_count, &n, NULL) >= 0);
	for (int i = 0; i < 3; i++) {
		n = 0;
		FUZZ_ASSERT(tt_store_get(s, ids[i], 2, TT_TS_MIN, TT_TS_MAX, on_rec_count, &n) >= 0);
		(void)tt_store_idsum(s, ids[i], 2, &sum);
	}
	if (sn->id_len) {
		n = 0;
		FUZZ_ASSERT(tt_store_get(s, sn->id, sn->id_len, 0, 5000, on_rec_count, &n) >= 0);
	}
	FUZZ_ASSERT(tt_store_list_ids(s, TT_TS_MIN, TT_TS_MAX, 10, on_id, NULL) >= 0);
	FUZZ_ASSERT(tt_store_stats(s, &st) == 0);
	FUZZ_ASSERT(tt_store_segments(s, on_seg, NULL) >= 0);
	FUZZ_ASSERT(tt_store_end(s, &end) == 0);
}

/* after a rebuild the index and the data agree */
static void agree(tt_store *s)
{
	struct seen sn;

	scan_all(s, &sn);
	for (int i = 0; i < 4; i++) {
		const char *id = i < 3 ? ids[i] : sn.id;
		size_t len = i < 3 ? 2 : sn.id_len, n = 0;
		tt_idsum sum;
		int rc;

		if (len == 0)
			continue;
		rc = tt_store_get(s, id, len, TT_TS_MIN, TT_TS_MAX, on_rec_count, &n);
		if ((size_t)rc != sn.n_id[i] || n != sn.n_id[i]) {
			fprintf(stderr, "id %.*s: tt_store_get %d, scan %zu\n", (int)len, id, rc, sn.n_id[i]);
			abort();
		}
		rc = tt_store_idsum(s, id, len, &sum);
		FUZZ_ASSERT(sn.n_id[i] == 0 ? rc == TT_ENOTFOUND || (rc == 0 && sum.count == 0) :
		    rc == 0 && sum.count == sn.n_id[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tt_store *s;
	tt_store_opts o;
	tt_writer *w;
	struct seen sn;
	size_t problems = 0;
	int rc;

	if (size < 1)
		return 0;
	make_store(data, size);
	memset(&o, 0, sizeof o);
	o.sync = TT_SYNC_NONE;
	o.on_problem = on_problem;
	o.problem_ctx = &problems;

	if (data[0] & 0x10) {
		o.flags = TT_OPEN_RDONLY | TT_OPEN_NORECOVER;
		FUZZ_ASSERT(tt_store_open(&s, work, &o) == 0);
		read_store(s, &sn);
		FUZZ_ASSERT(tt_store_check(s, 0, on_problem, &problems) >= 0);
		tt_store_close(s);
	}

	o.flags = 0;
	rc = tt_store_open(&s, work, &o);
	if (rc != 0) {
		fprintf(stderr, "store did not open: %s\n", tt_strerror(rc));
		abort();
	}
	read_store(s, &sn);
	/* a writer adopts the (recovered) segment and appends to it */
	if (tt_writer_open(s, &w) == 0) {
		static const uint8_t rec[] = "\x82\xa2ts\xcd\x07\xd0\xa4" "corr\xa2" "c1";
		FUZZ_ASSERT(tt_writer_append(w, rec, sizeof rec - 1) > 0);
		(void)tt_writer_flush(w);
		(void)tt_writer_close(w, data[0] & 0x20);
	}
	FUZZ_ASSERT(tt_store_check(s, 0, on_problem, &problems) >= 0);
	FUZZ_ASSERT(tt_store_check(s, 1, on_problem, &problems) >= 0);
	agree(s);
	{
		tt_gc_opts g;
		memset(&g, 0, sizeof g);
		g.dry_run = 1;
		g.max_segments = 1;
		g.rotate = 1;
		FUZZ_ASSERT(tt_store_gc(s, &g, on_seg, NULL) >= 0);
	}
	tt_store_close(s);
	return 0;
}
