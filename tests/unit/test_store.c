/*
 * test_store.c -- libstore: writer/reader round trips, positions, multiple
 * writer processes, crash recovery with real SIGKILLs, corruption, gc, check.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "teratrace.h"

#define T0 1732181180000000000LL

static char tmpl[256];

static const char *newdir(void)
{
	snprintf(tmpl, sizeof tmpl, "%s/tt-store-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	strcat(tmpl, "/s");
	return tmpl;
}

static void rmdir_r(const char *d)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

struct app { tt_writer *w; int64_t last; };

static int app_rec(void *ctx, const uint8_t *rec, size_t len)
{
	struct app *a = ctx;
	a->last = tt_writer_append(a->w, rec, len);
	return a->last < 0 ? (int)a->last : 0;
}

static tt_decoder *dec;

/* Append one JSON record; returns its ticket. */
static int64_t put(tt_writer *w, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	struct app a = { w, 0 };
	tt_sink sink = { app_rec, NULL, &a };
	tt_rec_err err;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (tt_decode_json(dec, line, (size_t)n, 0, T0, &sink, &err) != 1) {
		fail_msg("decode failed for %s: %s at %zu", line, err.reason, err.offset);
	}
	return a.last;
}

static int64_t rec_seq(const tt_rec *r)
{
	tt_value v;
	if (tt_rec_field(r->data, r->len, "n", &v) != 1)
		return -1;
	return v.type == TT_V_UINT ? (int64_t)v.v.u : v.v.i;
}

struct coll { int64_t n[4096]; int64_t ts[4096]; size_t cnt; tt_pos last; };

static int coll_fn(void *ctx, const tt_rec *r)
{
	struct coll *c = ctx;
	if (c->cnt < 4096) {
		c->n[c->cnt] = rec_seq(r);
		c->ts[c->cnt] = r->ts;
	}
	c->cnt++;
	c->last.seq = r->seq, c->last.idx = r->idx;
	return 0;
}

static int problems;
static void on_problem(void *ctx, const tt_problem *p)
{
	(void)ctx;
	problems++;
	fprintf(stderr, "# problem: segment %llu offset %llu: %s\n",
	    (unsigned long long)p->segment, (unsigned long long)p->offset, p->what);
}

static tt_store *open_store(const char *dir, uint64_t segsize, uint32_t block)
{
	tt_store *s;
	tt_store_opts o = { 0 };
	int rc;
	o.flags = TT_OPEN_CREATE;
	o.segment_size = segsize;
	o.block_size = block;
	o.map_size = 64ull << 20;
	o.on_problem = on_problem;
	rc = tt_store_open(&s, dir, &o);
	if (rc)
		fail_msg("tt_store_open(%s): %s", dir, tt_strerror(rc));
	return s;
}

static void test_roundtrip(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 4096);
	tt_writer *w;
	struct coll c = { 0 };
	tt_idsum sum;

	assert_int_equal(tt_writer_open(s, &w), 0);
	/* 3 ids interleaved, timestamps out of order within an id */
	for (int i = 0; i < 300; i++)
		assert_true(put(w, "{\"ts\":%lld,\"corr\":\"req-%d\",\"service\":\"svc%d\",\"dir\":\"%s\",\"n\":%d,\"msg\":\"m%d\"}",
		    T0 + (i % 3 == 0 ? 1000 - i : i) * 1000LL, i % 3, i % 2, i % 2 ? "<-" : "->", i, i) > 0);
	assert_int_equal(tt_writer_flush(w), 0);
	assert_int_equal(tt_writer_close(w, 0), 0);

	assert_int_equal(tt_store_get(s, "req-1", 5, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 100);
	for (size_t i = 1; i < c.cnt; i++)
		if (c.ts[i] < c.ts[i - 1])
			fail_msg("records of req-1 not in ts order at %zu: %lld after %lld", i,
			    (long long)c.ts[i], (long long)c.ts[i - 1]);
	memset(&c, 0, sizeof c);
	assert_int_equal(tt_store_get(s, "req-0", 5, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 100);
	/* req-0 has decreasing ts in append order: first delivered is the last appended */
	assert_int_equal(c.n[0], 297);
	memset(&c, 0, sizeof c);
	assert_int_equal(tt_store_get(s, "nope", 4, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 0);

	/* time range */
	memset(&c, 0, sizeof c);
	assert_int_equal(tt_store_get(s, "req-1", 5, T0 + 100000, T0 + 199000, coll_fn, &c), 34);

	/* summary from the index */
	assert_int_equal(tt_store_idsum(s, "req-2", 5, &sum), 0);
	assert_int_equal(sum.count, 100);
	assert_string_equal(sum.services, "svc0,svc1");
	assert_int_equal(sum.n_req + sum.n_resp, 100);
	assert_int_equal(sum.complete, 1);

	/* forward scan sees append order, all records */
	memset(&c, 0, sizeof c);
	tt_scan sc = { TT_TS_MIN, TT_TS_MAX, 0, { 0, 0, 0 }, 0 };
	assert_int_equal(tt_store_scan(s, &sc, coll_fn, &c, NULL), 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(c.n[i], (int64_t)i);
	/* reverse scan: newest first */
	memset(&c, 0, sizeof c);
	sc.flags = TT_SCAN_REVERSE;
	assert_int_equal(tt_store_scan(s, &sc, coll_fn, &c, NULL), 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(c.n[i], (int64_t)(299 - i));
	tt_store_close(s);
	rmdir_r(d);
}

struct stopper { int left; struct coll *c; };
static int stop_after(void *ctx, const tt_rec *r)
{
	struct stopper *st = ctx;
	coll_fn(st->c, r);
	return --st->left == 0 ? 1 : 0;
}

static void test_positions(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 1024);
	tt_writer *w;
	tt_pos pos = { 0 }, end;
	char buf[TT_CURSOR_MAX];
	int64_t expect = 0;

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 200; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"c%d\",\"n\":%d}", T0 + i, i % 7, i);
	assert_int_equal(tt_writer_flush(w), 0);
	/* resume scanning 13 records at a time through cursor strings */
	for (;;) {
		struct coll c = { 0 };
		struct stopper st = { 13, &c };
		tt_scan sc = { TT_TS_MIN, TT_TS_MAX, 0, pos, 0 };
		int n = tt_store_scan(s, &sc, stop_after, &st, &pos);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++)
			assert_int_equal(c.n[i], expect++);
		assert_int_equal(tt_pos_format(&pos, buf, sizeof buf), 0);
		assert_int_equal(tt_pos_parse(buf, &pos), 0);
		if (n < 13)
			break;
	}
	assert_int_equal(expect, 200);
	assert_int_equal(tt_store_end(s, &end), 0);
	assert_int_equal(tt_store_wait(s, &end, 0), 0); /* nothing newer */
	put(w, "{\"ts\":%lld,\"corr\":\"late\",\"n\":200}", T0 + 500);
	assert_int_equal(tt_writer_flush(w), 0);
	assert_int_equal(tt_store_wait(s, &end, 1000), 1);
	assert_int_equal(tt_pos_parse("tt1-x", &pos), TT_EBADARG);
	assert_int_equal(tt_writer_close(w, 0), 0);
	tt_store_close(s);
	rmdir_r(d);
}

/* The partial-block timer: records appended and then left alone become
 * visible to another handle within a few commit intervals, without flush. */
static void test_flush_timer(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 0), *r;
	tt_writer *w;
	pid_t pid;
	int st;
	tt_pos end = { 0 };
	int64_t t0;
	struct timespec ts;

	/* the reader is another process (LMDB: one env handle per process) */
	tt_store_close(s);
	if ((pid = fork()) == 0) {
		r = open_store(d, 0, 0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		if (tt_store_wait(r, &end, 5000) != 1)
			_exit(2);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(stderr, "# visible after %lld ms\n", ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t0);
		_exit(ts.tv_sec * 1000LL + ts.tv_nsec / 1000000 - t0 > 1000 ? 3 : 0);
	}
	s = open_store(d, 0, 0);
	assert_int_equal(tt_writer_open(s, &w), 0);
	usleep(100000);
	put(w, "{\"ts\":%lld,\"corr\":\"slow\",\"n\":1}", T0);
	waitpid(pid, &st, 0); /* no flush: only the writer's timer can publish it */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("record did not become visible to another process within 1 s (status %d)", st);
	assert_int_equal(tt_writer_close(w, 0), 0);
	tt_store_close(s);
	rmdir_r(d);
}

/* A producer that never lets the write queue empty still gets commits every
 * commit interval, and written blocks do not pile up uncommitted: the writer
 * used to write queued blocks for as long as there were any, so a fast
 * producer saw no ack (and the writer's memory grew) until it paused. */
#define NCAP 4096
struct cap { uint8_t *buf; size_t len[NCAP], off[NCAP], n; };

static int cap_rec(void *ctx, const uint8_t *rec, size_t len)
{
	struct cap *c = ctx;
	c->off[c->n] = c->n * 512;
	assert_true(len <= 512);
	memcpy(c->buf + c->off[c->n], rec, len);
	c->len[c->n++] = len;
	return 0;
}

static void test_commit_under_load(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 0);
	tt_writer *w;
	struct cap c = { NULL, { 0 }, { 0 }, 0 };
	tt_sink sink = { cap_rec, NULL, &c };
	tt_rec_err err;
	struct timespec ts;
	int64_t t0, now, first_ack = -1, last = 0;
	char line[512];

	/* records of many rollup groups and ids: the writer's slow case */
	assert_non_null(c.buf = malloc(NCAP * 512));
	for (int i = 0; i < NCAP; i++) {
		int n = snprintf(line, sizeof line, "{\"ts\":%lld,\"corr\":\"load-%d\",\"service\":\"svc-%d\","
		    "\"name\":\"GET /x/%d\",\"kind\":\"span\",\"dur\":%d,\"msg\":\"record %d of a load\"}",
		    (long long)T0 + i * 1000, i % 500, i % 37, i, 1000 + i * 7919 % 100000, i);
		assert_int_equal(tt_decode_json(dec, line, (size_t)n, 0, T0, &sink, &err), 1);
	}
	assert_int_equal(tt_writer_open(s, &w), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	do { /* append as fast as possible for 1.5 s */
		for (int i = 0; i < NCAP; i++)
			assert_true((last = tt_writer_append(w, c.buf + c.off[i], c.len[i])) > 0);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
		if (first_ack < 0 && tt_writer_durable(w) > 0)
			first_ack = now - t0;
	} while (now - t0 < 1500);
	fprintf(stderr, "# %lld records appended, first ack after %lld ms\n", (long long)last,
	    (long long)first_ack);
	if (first_ack < 0 || first_ack > 1000)
		fail_msg("no commit within 1 s while the producer kept the queue full");
	assert_int_equal(tt_writer_close(w, 0), 0);
	free(c.buf);
	tt_store_close(s);
	rmdir_r(d);
}

static void test_reopen_adopt_and_rotate(void **state)
{
	const char *d = newdir();
	/* small segments: 3000 records of columnar blocks fill a few */
	tt_store *s = open_store(d, 8 << 10, 4096);
	tt_writer *w;
	tt_stats st;
	struct coll c = { 0 };
	int nseg1;

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 3000; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"id%d\",\"n\":%d,\"msg\":\"some text to make the record longer %d %d\"}",
		    T0 + i, i % 50, i, i * 7, i * 13);
	assert_int_equal(tt_writer_close(w, 0), 0);
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_int_equal(st.records, 3000);
	assert_true(st.segments > 1); /* rotated by size */
	nseg1 = (int)st.segments;
	tt_store_close(s);

	/* a later writer adopts the unsealed segment instead of creating one */
	s = open_store(d, 8 << 10, 4096);
	assert_int_equal(tt_writer_open(s, &w), 0);
	put(w, "{\"ts\":%lld,\"corr\":\"id1\",\"n\":3000}", T0 + 5000);
	assert_int_equal(tt_writer_close(w, 0), 0);
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_int_equal((int)st.segments, nseg1);
	assert_int_equal(st.records, 3001);
	assert_int_equal(tt_store_get(s, "id1", 3, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 61);
	assert_int_equal(c.n[60], 3000);
	tt_store_close(s);
	rmdir_r(d);
}

static void test_multi_process_writers(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 0);
	tt_stats st;
	pid_t kids[4];

	tt_store_close(s);
	for (int k = 0; k < 4; k++) {
		if ((kids[k] = fork()) == 0) {
			tt_store *cs = open_store(d, 0, 0);
			tt_writer *w;
			if (tt_writer_open(cs, &w))
				_exit(3);
			for (int i = 0; i < 2000; i++)
				put(w, "{\"ts\":%lld,\"corr\":\"p%d-%d\",\"n\":%d}", T0 + i, k, i % 100, i);
			_exit(tt_writer_close(w, 0) == 0 ? 0 : 4);
		}
	}
	for (int k = 0; k < 4; k++) {
		int stt;
		waitpid(kids[k], &stt, 0);
		assert_true(WIFEXITED(stt) && WEXITSTATUS(stt) == 0);
	}
	s = open_store(d, 0, 0);
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_int_equal(st.records, 8000);
	for (int k = 0; k < 4; k++) {
		struct coll c = { 0 };
		char id[16];
		snprintf(id, sizeof id, "p%d-7", k);
		assert_int_equal(tt_store_get(s, id, strlen(id), TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 20);
	}
	assert_int_equal(tt_store_check(s, 0, on_problem, NULL), 0);
	tt_store_close(s);
	rmdir_r(d);
}

/* A child appends numbered records and, after each flush, reports the highest
 * acknowledged number on a pipe; the parent SIGKILLs it at a random moment,
 * reopens, and checks every acknowledged record is there exactly once and that
 * nothing beyond the last written record exists. */
struct sc_ctx { unsigned char *seen; int64_t max; int dup; };

static int seen_fn(void *ctx, const tt_rec *r)
{
	struct sc_ctx *y = ctx;
	int64_t n = rec_seq(r);
	if (n < 0 || n >= (1 << 20))
		return TT_EBADREC;
	if (y->seen[n]++)
		y->dup = 1;
	if (n > y->max)
		y->max = n;
	return 0;
}

static void test_crash_kill9(void **state)
{
	const char *d = newdir();
	int rounds = getenv("TT_LONG") ? 300 : 60;
	int64_t next = 0;
	unsigned seed = 12345;

	for (int round = 0; round < rounds; round++) {
		int p[2];
		pid_t pid;
		int64_t acked = next - 1, v;
		tt_store *s;
		struct coll *c;
		tt_scan sc = { TT_TS_MIN, TT_TS_MAX, 0, { 0, 0, 0 }, 0 };

		assert_int_equal(pipe(p), 0);
		if ((pid = fork()) == 0) {
			tt_store *cs;
			tt_writer *w;
			close(p[0]);
			cs = open_store(d, 256 << 10, 2048);
			if (tt_writer_open(cs, &w))
				_exit(3);
			for (int64_t i = next;; i++) {
				put(w, "{\"ts\":%lld,\"corr\":\"k%lld\",\"n\":%lld,\"msg\":\"crash round\"}",
				    T0 + i, (long long)(i % 97), (long long)i);
				if (i % 17 == 0) {
					if (tt_writer_flush(w))
						_exit(4);
					if (write(p[1], &i, sizeof i) != sizeof i)
						_exit(5);
				}
			}
		}
		close(p[1]);
		usleep((useconds_t)(2000 + rand_r(&seed) % 40000));
		kill(pid, SIGKILL);
		while (read(p[0], &v, sizeof v) == sizeof v)
			acked = v;
		close(p[0]);
		waitpid(pid, NULL, 0);

		problems = 0;
		s = open_store(d, 256 << 10, 2048);
		c = calloc(1, sizeof *c);
		/* count records by number via a full scan */
		{
			static unsigned char seen[1 << 20];
			struct sc_ctx x = { seen, -1, 0 };
			memset(seen, 0, sizeof seen);
			assert_true(tt_store_scan(s, &sc, seen_fn, &x, NULL) >= 0);
			if (x.dup)
				fail_msg("round %d: a record is present twice", round);
			for (int64_t i = 0; i <= acked; i++)
				if (!seen[i])
					fail_msg("round %d: acknowledged record %lld (acked up to %lld) is missing",
					    round, (long long)i, (long long)acked);
			/* records after the last acked may or may not exist, but with no gap
			 * among what survived (each run appends in order) */
			for (int64_t i = 0; i <= x.max; i++)
				if (!seen[i])
					fail_msg("round %d: gap at %lld below surviving max %lld", round,
					    (long long)i, (long long)x.max);
			next = x.max + 1;
		}
		assert_int_equal(problems, 0);
		free(c);
		tt_store_close(s);
	}
	{
		tt_store *s = open_store(d, 256 << 10, 2048);
		int np = tt_store_check(s, 0, on_problem, NULL);
		assert_int_equal(np, 0);
		tt_store_close(s);
	}
	print_message("# %d crash rounds, %lld records survived\n", rounds, (long long)next);
	rmdir_r(d);
}

static void flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char b;
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static int seg2_fn(void *ctx, const tt_seginfo *si)
{
	if (si->id == 2)
		*(tt_seginfo *)ctx = *si;
	return 0;
}

static void test_corruption(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 2048);
	tt_writer *w;
	struct coll c = { 0 };
	char path[600];
	tt_scan sc = { TT_TS_MIN, TT_TS_MAX, 0, { 0, 0, 0 }, 0 };
	int n;

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 400; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"x%d\",\"n\":%d,\"msg\":\"payload %d\"}", T0 + i, i % 5, i, i);
	assert_int_equal(tt_writer_close(w, 1), 0);
	snprintf(path, sizeof path, "%s/seg/%016x.tts", d, 1);
	/* flip a byte inside the first block's payload */
	flip_byte(path, 64 + 48 + 10);
	problems = 0;
	n = tt_store_scan(s, &sc, coll_fn, &c, NULL);
	assert_true(n > 0 && n < 400);
	assert_int_equal(problems, 1);
	assert_int_equal(c.n[0] > 0, 1); /* the first block's records are skipped */
	problems = 0;
	assert_int_equal(tt_store_check(s, 0, on_problem, NULL) > 0, 1);
	tt_store_close(s);

	/* garbage appended to an unsealed segment is cut by recovery */
	{
		const char *d2 = d;
		tt_store *s2;
		tt_stats st;
		int fd;
		char path2[600];
		s2 = open_store(d2, 0, 2048);
		assert_int_equal(tt_writer_open(s2, &w), 0);
		for (int i = 0; i < 50; i++)
			put(w, "{\"ts\":%lld,\"corr\":\"y\",\"n\":%d}", T0 + i, 1000 + i);
		assert_int_equal(tt_writer_close(w, 0), 0);
		tt_store_close(s2);
		snprintf(path2, sizeof path2, "%s/seg/%016x.tts", d2, 2);
		fd = open(path2, O_WRONLY | O_APPEND);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "TTBKgarbage garbage garbage garbage garbage garbage garbage", 59), 59);
		close(fd);
		s2 = open_store(d2, 0, 2048);
		assert_int_equal(tt_store_stats(s2, &st), 0);
		memset(&c, 0, sizeof c);
		assert_int_equal(tt_store_get(s2, "y", 1, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 50);
		{
			struct stat sb;
			assert_int_equal(stat(path2, &sb), 0);
			tt_seginfo last = { 0 };
			tt_store_segments(s2, seg2_fn, &last);
			assert_int_equal((uint64_t)sb.st_size, last.bytes);
		}
		tt_store_close(s2);
	}
	rmdir_r(d);
}

static void test_gc(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 8 << 10, 2048);
	tt_writer *w;
	tt_stats st;
	tt_gc_opts o = { 0 };
	int nseg;

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 5000; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"g%d\",\"n\":%d,\"msg\":\"gc text %d %d %d\"}",
		    T0 + i * 1000000LL, i / 10, i, i * 3, i * 5, i * 7);
	assert_int_equal(tt_writer_close(w, 1), 0);
	assert_int_equal(tt_store_stats(s, &st), 0);
	nseg = (int)st.segments;
	assert_true(nseg > 4);
	o.max_segments = 3;
	o.dry_run = 1;
	assert_int_equal(tt_store_gc(s, &o, NULL, NULL), nseg - 3);
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_int_equal((int)st.segments, nseg); /* dry run changed nothing */
	o.dry_run = 0;
	assert_int_equal(tt_store_gc(s, &o, NULL, NULL), nseg - 3);
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_int_equal((int)st.segments, 3);
	/* deleted ids are gone, newest remain, the index is consistent */
	{
		struct coll c = { 0 };
		assert_int_equal(tt_store_get(s, "g0", 2, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 0);
		assert_int_equal(tt_store_get(s, "g499", 4, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 10);
	}
	assert_int_equal(tt_store_check(s, 0, on_problem, NULL), 0);
	/* age: everything is older than a day relative to a far future "now" */
	o.max_segments = 0;
	o.max_age_ns = 86400LL * 1000000000;
	o.now_ns = T0 + 3LL * 86400 * 1000000000;
	assert_int_equal(tt_store_gc(s, &o, NULL, NULL), 3);
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_int_equal(st.records, 0);
	tt_store_close(s);
	rmdir_r(d);
}

/* A reader process scans and looks up continuously while gc deletes the
 * segments under it: it must never fail or see a bad block. */
static void test_reader_during_gc(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 8 << 10, 2048);
	tt_writer *w;
	tt_gc_opts o = { 0 };
	pid_t pid;
	int st, p[2];

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 6000; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"r%d\",\"n\":%d,\"msg\":\"gc race %d\"}", T0 + i, i % 300, i, i * 11);
	assert_int_equal(tt_writer_close(w, 1), 0);
	tt_store_close(s);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		tt_store *r = open_store(d, 8 << 10, 2048);
		char c = 0;
		close(p[1]);
		problems = 0;
		for (int loop = 0; loop < 100000; loop++) {
			struct coll c2 = { 0 };
			tt_scan sc = { TT_TS_MIN, TT_TS_MAX, 0, { 0, 0, 0 }, 0 };
			char id[16];
			snprintf(id, sizeof id, "r%d", loop % 300);
			if (tt_store_scan(r, &sc, coll_fn, &c2, NULL) < 0 ||
			    tt_store_get(r, id, strlen(id), TT_TS_MIN, TT_TS_MAX, coll_fn, &c2) < 0)
				_exit(2);
			if (problems)
				_exit(3);
			if (loop > 20 && read(p[0], &c, 1) == 0)
				break; /* parent is done */
		}
		_exit(0);
	}
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	s = open_store(d, 8 << 10, 2048);
	for (int keep = 20; keep >= 1; keep -= 3) {
		o.max_segments = (uint64_t)keep;
		assert_true(tt_store_gc(s, &o, NULL, NULL) >= 0);
		usleep(20000);
	}
	close(p[1]);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("reader failed during gc (status %d)", st);
	tt_store_close(s);
	rmdir_r(d);
}

/* A rewrite (FORMAT.md 8.8) landing while a scan holds block rows it read
 * before: the scan finds the old files gone and must look the blocks up
 * again by sequence number, not skip them as deleted. Also readers in
 * another process, scans and lookups in a loop, while segments are
 * rewritten over and over. */
struct rwscan { struct coll c; tt_store *s; int rewrote; };

static int rwscan_fn(void *ctx, const tt_rec *r)
{
	struct rwscan *x = ctx;
	if (x->c.cnt == 0)
		x->rewrote = tt_store_rewrite(x->s, TT_REWRITE_ALL, NULL, NULL);
	return coll_fn(&x->c, r);
}

/* 3000 records n = 0.. (ids r0..r199, 15 each) in sealed 8 KiB segments */
static void sealed_store(tt_store *s)
{
	tt_writer *w;
	tt_gc_opts o = { 0 };

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 3000; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"r%d\",\"n\":%d,\"msg\":\"rewrite race %d\"}", T0 + i, i % 200, i, i * 7);
	assert_int_equal(tt_writer_close(w, 1), 0);
	o.rotate = 1;
	assert_true(tt_store_gc(s, &o, NULL, NULL) >= 0);
}

static void test_rewrite_under_readers(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 8 << 10, 2048);
	struct rwscan x;
	tt_scan sc = { TT_TS_MIN, TT_TS_MAX, 0, { 0, 0, 0 }, 0 };
	pid_t pid;
	int st, p[2];

	sealed_store(s);
	memset(&x, 0, sizeof x);
	x.s = s;
	problems = 0;
	assert_int_equal(tt_store_scan(s, &sc, rwscan_fn, &x, NULL), 3000);
	assert_true(x.rewrote >= 3);
	assert_int_equal(x.c.cnt, 3000);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(x.c.n[i < 4096 ? i : 0], i);
	assert_int_equal(problems, 0);
	tt_store_close(s);
	rmdir_r(d);

	/* readers in another process, scans and lookups in a loop, while the
	 * segments are rewritten one by one */
	d = newdir();
	s = open_store(d, 8 << 10, 2048);
	sealed_store(s);
	tt_store_close(s);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		tt_store *r = open_store(d, 8 << 10, 2048);
		char c = 0;
		close(p[1]);
		problems = 0;
		for (int loop = 0; loop < 100000; loop++) {
			struct coll c2 = { 0 }, c3 = { 0 };
			char id[16];
			snprintf(id, sizeof id, "r%d", loop % 200);
			if (tt_store_scan(r, &sc, coll_fn, &c2, NULL) != 3000 || c2.cnt != 3000 ||
			    tt_store_get(r, id, strlen(id), TT_TS_MIN, TT_TS_MAX, coll_fn, &c3) != 15)
				_exit(2);
			for (int i = 0; i < 3000; i++)
				if (c2.n[i] != i)
					_exit(4);
			if (problems)
				_exit(3);
			if (loop > 20 && read(p[0], &c, 1) == 0)
				break;
		}
		_exit(0);
	}
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	s = open_store(d, 8 << 10, 2048);
	usleep(20000);
	assert_true(tt_store_rewrite(s, TT_REWRITE_ALL, NULL, NULL) >= 3);
	usleep(20000);
	close(p[1]);
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("reader failed during rewrites (status %d)", st);
	tt_store_close(s);
	rmdir_r(d);
}

/* Power loss under --sync none: the index may point past what reached the
 * disk. Simulated by truncating an unsealed segment below its indexed end;
 * the next open drops the lost blocks' entries and keeps the rest. */
static void test_index_past_file(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 1024);
	tt_writer *w;
	char path[600];
	struct coll c = { 0 };
	tt_stats st;
	struct stat sb;

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 500; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"z%d\",\"n\":%d,\"msg\":\"power %d\"}", T0 + i, i % 4, i, i);
	assert_int_equal(tt_writer_close(w, 0), 0);
	tt_store_close(s);
	snprintf(path, sizeof path, "%s/seg/%016x.tts", d, 1);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(truncate(path, sb.st_size / 2), 0);
	problems = 0;
	s = open_store(d, 0, 1024);
	assert_int_equal(problems, 1); /* reported once, at recovery */
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_true(st.records > 100 && st.records < 500);
	problems = 0;
	for (int k = 0; k < 4; k++) {
		char id[8];
		snprintf(id, sizeof id, "z%d", k);
		assert_true(tt_store_get(s, id, 2, TT_TS_MIN, TT_TS_MAX, coll_fn, &c) > 0);
	}
	assert_int_equal(c.cnt, st.records);
	assert_int_equal(problems, 0); /* no entry points past the data any more */
	assert_int_equal(tt_store_check(s, 0, on_problem, NULL), 0);
	tt_store_close(s);
	rmdir_r(d);
}

static void test_rebuild(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 16 << 10, 2048);
	tt_writer *w;
	char cmd[700];
	struct coll c = { 0 };
	tt_stats st;

	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 1000; i++)
		put(w, "{\"ts\":%lld,\"corr\":\"r%d\",\"service\":\"s%d\",\"n\":%d}", T0 + i, i % 10, i % 3, i);
	assert_int_equal(tt_writer_close(w, 0), 0);
	tt_store_close(s);
	/* throw the index away entirely */
	snprintf(cmd, sizeof cmd, "rm -rf '%s/index' && mkdir '%s/index'", d, d);
	assert_int_equal(system(cmd), 0);
	{
		/* an empty index beside segments is a lost index, not a new store
		 * (gc would take every segment for an orphan): refused, except for
		 * a rebuild */
		tt_store_opts o = { 0 };
		o.flags = TT_OPEN_CREATE;
		assert_int_equal(tt_store_open(&s, d, &o), TT_ECORRUPT);
		o.flags = TT_OPEN_REBUILD | TT_OPEN_NORECOVER;
		assert_int_equal(tt_store_open(&s, d, &o), 0);
		assert_int_equal(tt_store_check(s, 1, on_problem, NULL), 1); /* the lost index */
		tt_store_close(s);
	}
	s = open_store(d, 16 << 10, 2048);
	assert_int_equal(tt_store_check(s, 1, on_problem, NULL), 0);
	assert_int_equal(tt_store_stats(s, &st), 0);
	assert_int_equal(st.records, 1000);
	assert_int_equal(tt_store_get(s, "r3", 2, TT_TS_MIN, TT_TS_MAX, coll_fn, &c), 100);
	tt_store_close(s);
	rmdir_r(d);
}

static void test_bad_input(void **state)
{
	const char *d = newdir();
	tt_store *s = open_store(d, 0, 0);
	tt_writer *w;
	const uint8_t not_canonical[] = { 0x81, 0xa3, 'f', 'o', 'o', 0x01 }; /* {"foo":1} */
	const uint8_t huge_count[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };

	assert_int_equal(tt_writer_open(s, &w), 0);
	assert_int_equal(tt_writer_append(w, not_canonical, sizeof not_canonical), TT_EBADREC);
	assert_int_equal(tt_writer_append(w, huge_count, sizeof huge_count), TT_EBADREC);
	assert_int_equal(tt_writer_close(w, 0), 0);
	tt_store_close(s);
	rmdir_r(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_flush_timer),
		cmocka_unit_test(test_commit_under_load),
		cmocka_unit_test(test_reopen_adopt_and_rotate),
		cmocka_unit_test(test_multi_process_writers),
		cmocka_unit_test(test_crash_kill9),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_reader_during_gc),
		cmocka_unit_test(test_rewrite_under_readers),
		cmocka_unit_test(test_index_past_file),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_bad_input),
	};
	int rc;
	if (tt_decoder_new(&dec, NULL))
		return 2;
	if (getenv("TT_TEST"))
		cmocka_set_test_filter(getenv("TT_TEST"));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tt_decoder_free(dec);
	return rc;
}
