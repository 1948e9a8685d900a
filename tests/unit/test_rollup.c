/*
 * test_rollup.c -- the duration histogram (bucket bounds, error, merge,
 * quantiles) and the rollups a store folds: one commit or many, folded by
 * recovery after a SIGKILL, pruned by retention, the LLM aliases, the cap of
 * groups per service.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "teratrace.h"

#define MIN 60000000000LL
#define T0 (29940000LL * MIN) /* a whole minute */

static char dir[256];
static tt_decoder *dec;

static const char *newdir(void)
{
	snprintf(dir, sizeof dir, "%s/tt-rollup-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/s");
	return dir;
}

static void cleanup(void)
{
	char cmd[600];
	char *slash = strrchr(dir, '/');
	*slash = 0;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int app_rec(void *ctx, const uint8_t *rec, size_t len)
{
	int64_t t = tt_writer_append(ctx, rec, len);
	return t < 0 ? (int)t : 0;
}

static void put(tt_writer *w, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	tt_sink sink = { app_rec, NULL, w };
	tt_rec_err err;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	assert_int_equal(tt_decode_json(dec, line, (size_t)n, 0, T0, &sink, &err), 1);
}

/* ---- the histogram */

static void test_hist_buckets(void **state)
{
	int64_t prev_b = -1;
	(void)state;
	/* monotonic, and every value within 1/256 of its bucket's midpoint */
	for (int64_t v = 1; v < (1LL << 62); v = v + 1 + v / 97) {
		uint16_t b = tt_hist_bucket(v);
		int64_t mid = tt_hist_value(b);
		double err = (double)(mid > v ? mid - v : v - mid) / (double)v;
		assert_true(b >= prev_b);
		if (err > 1.0 / 256 + 1e-12)
			fail_msg("value %lld: bucket %u midpoint %lld, error %g", (long long)v, b,
			    (long long)mid, err);
		prev_b = b;
	}
	assert_int_equal(tt_hist_bucket(0), 0);
	assert_int_equal(tt_hist_bucket(-5), 0);
	assert_int_equal(tt_hist_bucket(127), 127);
	assert_true(tt_hist_bucket(INT64_MAX) < 65535);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_hist_quantiles_merge(void **state)
{
	enum { N = 20000 };
	static int64_t v[N];
	tt_hist a = { 0 }, b = { 0 }, all = { 0 };
	(void)state;
	srand(7);
	for (int i = 0; i < N; i++) {
		v[i] = 1000 + (int64_t)rand() % 100000000;
		assert_int_equal(tt_hist_add(i % 2 ? &a : &b, tt_hist_bucket(v[i]), 1), 0);
		assert_int_equal(tt_hist_add(&all, tt_hist_bucket(v[i]), 1), 0);
	}
	assert_int_equal(tt_hist_merge(&a, &b), 0);
	assert_int_equal(a.total, N);
	assert_int_equal(a.len, all.len);
	for (size_t i = 0; i < a.len; i++) {
		assert_int_equal(a.b[i], all.b[i]);
		assert_int_equal(a.n[i], all.n[i]);
	}
	qsort(v, N, sizeof *v, cmp64);
	for (double q = 0.01; q < 1; q += 0.01) {
		int64_t exact = v[(size_t)(q * N + 0.999999999) - 1], got = tt_hist_quantile(&a, q);
		double err = (double)llabs(got - exact) / (double)exact;
		if (err > 0.01)
			fail_msg("q %.2f: exact %lld, got %lld", q, (long long)exact, (long long)got);
	}
	assert_int_equal(tt_hist_quantile(&(tt_hist){ 0 }, 0.5), -1);
	tt_hist_free(&a);
	tt_hist_free(&b);
	tt_hist_free(&all);
	tt_hist_free(NULL);
}

/* ---- rollups in a store */

struct sum { uint64_t rows, count, errors, dur_n, llm_n; int64_t in, out, cost; int64_t minute0; };

static int on_rollup(void *ctx, const tt_rollup *r)
{
	struct sum *s = ctx;
	if (!s->rows++)
		s->minute0 = r->minute_ns;
	s->count += r->count;
	s->errors += r->errors;
	s->dur_n += r->dur_n;
	s->llm_n += r->llm_n;
	s->in += r->in_tokens;
	s->out += r->out_tokens;
	s->cost += r->cost_nano;
	assert_int_equal(r->hist.total, r->dur_n);
	return 0;
}

static void test_rollups_fold(void **state)
{
	tt_store *s;
	tt_writer *w;
	tt_store_opts o;
	struct sum sm;
	(void)state;

	memset(&o, 0, sizeof o);
	o.flags = TT_OPEN_CREATE;
	assert_int_equal(tt_store_open(&s, newdir(), &o), 0);
	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < 300; i++) {
		/* three minutes; every third an error; every fifth an LLM call with
		 * the OTel GenAI names, every seventh with Traceway's */
		put(w, "{\"ts\":%lld,\"corr\":\"c%d\",\"service\":\"api\",\"name\":\"op%d\",\"kind\":\"span\","
		    "\"dur\":%d%s%s%s}", (long long)(T0 + (i % 3) * MIN + i), i % 10, i % 2, 1000 * (i + 1),
		    i % 3 == 0 ? ",\"level\":\"error\"" : "",
		    i % 5 == 0 ? ",\"attrs\":{\"gen_ai.usage.input_tokens\":10,\"gen_ai.usage.output_tokens\":4,\"gen_ai.usage.cost\":0.25}" : "",
		    i % 5 && i % 7 == 0 ? ",\"input_tokens\":3,\"output_tokens\":2,\"cost\":1e-9" : "");
		if (i % 50 == 49)
			assert_int_equal(tt_writer_flush(w), 0); /* several commits */
	}
	put(w, "{\"ts\":%lld,\"msg\":\"no service, no name\"}", (long long)T0);
	assert_int_equal(tt_writer_close(w, 0), 0);

	memset(&sm, 0, sizeof sm);
	assert_true(tt_store_rollups(s, TT_TS_MIN, TT_TS_MAX, on_rollup, &sm) > 0);
	assert_int_equal(sm.count, 301);
	assert_int_equal(sm.errors, 100);
	assert_int_equal(sm.dur_n, 300);
	assert_int_equal(sm.llm_n, 60 + 34);  /* i%5==0: 60; i%7==0 && i%5: 43 - 9 = 34 */
	assert_int_equal(sm.in, 60 * 10 + 34 * 3);
	assert_int_equal(sm.out, 60 * 4 + 34 * 2);
	assert_int_equal(sm.cost, 60 * 250000000LL + 34);
	assert_int_equal(sm.minute0, T0);
	assert_int_equal(sm.rows, 3 * 2 + 1); /* 3 minutes x 2 names, + the bare record */

	/* a range: the middle minute only */
	memset(&sm, 0, sizeof sm);
	assert_int_equal(tt_store_rollups(s, T0 + MIN, T0 + 2 * MIN - 1, on_rollup, &sm), 2);
	assert_int_equal(sm.count, 100);

	/* retention: minutes before the second one go */
	assert_int_equal(tt_store_rollups_prune(s, T0 + MIN), 3);
	memset(&sm, 0, sizeof sm);
	assert_int_equal(tt_store_rollups(s, TT_TS_MIN, TT_TS_MAX, on_rollup, &sm), 4);
	assert_int_equal(sm.count, 200);
	assert_int_equal(tt_store_check(s, 0, NULL, NULL), 0); /* counts still add up */
	tt_store_close(s);
	cleanup();
}

static void test_rollups_group_cap(void **state)
{
	tt_store *s;
	tt_writer *w;
	tt_store_opts o;
	struct sum sm;
	(void)state;

	memset(&o, 0, sizeof o);
	o.flags = TT_OPEN_CREATE;
	assert_int_equal(tt_store_open(&s, newdir(), &o), 0);
	assert_int_equal(tt_writer_open(s, &w), 0);
	for (int i = 0; i < TT_ROLLUP_GROUPS_MAX + 50; i++)
		put(w, "{\"ts\":%lld,\"service\":\"s\",\"name\":\"GET /user/%d\"}", (long long)T0, i);
	assert_int_equal(tt_writer_close(w, 0), 0);
	memset(&sm, 0, sizeof sm);
	/* 1000 names, then one "(other)" row for the last 50 */
	assert_int_equal(tt_store_rollups(s, TT_TS_MIN, TT_TS_MAX, on_rollup, &sm),
	    TT_ROLLUP_GROUPS_MAX + 1);
	assert_int_equal(sm.count, TT_ROLLUP_GROUPS_MAX + 50);
	tt_store_close(s);
	cleanup();
}

/* A writer killed at random instants: the rollups of the reopened store
 * count exactly the records it can read, never one twice. */
static int count_rec(void *ctx, const tt_rec *r)
{
	(void)r;
	++*(uint64_t *)ctx;
	return 0;
}

/* The rollups of the whole store count exactly the records a scan finds. */
static void rollups_count_records(tt_store *s, int round, const char *when)
{
	struct sum sm;
	tt_scan sc;
	uint64_t n = 0;

	memset(&sm, 0, sizeof sm);
	assert_true(tt_store_rollups(s, TT_TS_MIN, TT_TS_MAX, on_rollup, &sm) >= 0);
	memset(&sc, 0, sizeof sc);
	sc.since = TT_TS_MIN, sc.until = TT_TS_MAX;
	assert_true(tt_store_scan(s, &sc, count_rec, &n, NULL) >= 0);
	if (sm.count != n)
		fail_msg("round %d, %s: rollups count %llu records, the store holds %llu", round,
		    when, (unsigned long long)sm.count, (unsigned long long)n);
}

static void test_rollups_after_kill(void **state)
{
	(void)state;
	newdir();
	for (int round = 0; round < 5; round++) {
		tt_store *s;
		tt_store_opts o;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			tt_writer *w;
			memset(&o, 0, sizeof o);
			o.flags = TT_OPEN_CREATE;
			o.commit_ms = 1;
			if (tt_store_open(&s, dir, &o) || tt_writer_open(s, &w))
				_exit(3);
			for (int i = 0;; i++)
				put(w, "{\"ts\":%lld,\"service\":\"k\",\"name\":\"n%d\",\"dur\":5}",
				    (long long)(T0 + i % 7 * MIN), i % 3);
		}
		usleep(30000 + (useconds_t)(rand() % 50000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* before any recovery: the rows the writer held back are folded
		 * by the reader from the indexed blocks (rlag, FORMAT.md 7.6) */
		memset(&o, 0, sizeof o);
		o.flags = TT_OPEN_RDONLY;
		if (tt_store_open(&s, dir, &o) == 0) {
			rollups_count_records(s, round, "read-only");
			tt_store_close(s);
		}
		memset(&o, 0, sizeof o);
		assert_int_equal(tt_store_open(&s, dir, &o), 0); /* recovers */
		rollups_count_records(s, round, "recovered");
		assert_int_equal(tt_store_check(s, 0, NULL, NULL), 0);
		tt_store_close(s);
	}
	cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_quantiles_merge),
		cmocka_unit_test(test_rollups_fold),
		cmocka_unit_test(test_rollups_group_cap),
		cmocka_unit_test(test_rollups_after_kill),
	};
	int rc;
	if (tt_decoder_new(&dec, NULL))
		return 2;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	tt_decoder_free(dec);
	return rc;
}
