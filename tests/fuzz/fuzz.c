/*
 * fuzz.c -- the heap-bound tracker, the checking sink and temporary
 * directories shared by the harnesses (fuzz.h).
 */
#include <dirent.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>
#include <sanitizer/common_interface_defs.h>

#include "fuzz.h"
#include "fmt_internal.h"

/* ---- heap bound: ASan calls these hooks for every malloc and free */

static atomic_int mem_on;
static atomic_llong mem_live, mem_peak;
static size_t mem_trace; /* FUZZ_MEM_TRACE=N: a stack for each allocation >= N */

static void mem_malloc_hook(const volatile void *p, size_t n)
{
	long long l;

	if (!atomic_load_explicit(&mem_on, memory_order_relaxed))
		return;
	l = atomic_fetch_add(&mem_live, (long long)n) + (long long)n;
	if (mem_trace && n >= mem_trace) {
		fprintf(stderr, "fuzz: malloc %zu (live %lld)\n", n, l);
		__sanitizer_print_stack_trace();
	}
	if (l > atomic_load(&mem_peak))
		atomic_store(&mem_peak, l);
}

static void mem_free_hook(const volatile void *p)
{
	if (!p || !atomic_load_explicit(&mem_on, memory_order_relaxed))
		return;
	/* a free of a block from before fuzz_mem_begin makes live negative:
	 * that is right, growth is what is measured */
	atomic_fetch_sub(&mem_live, (long long)__sanitizer_get_allocated_size((const void *)p));
}

void fuzz_mem_begin(void)
{
	static int installed;

	if (!installed) {
		(void)__sanitizer_install_malloc_and_free_hooks(mem_malloc_hook, mem_free_hook);
		installed = 1;
		if (getenv("FUZZ_MEM_TRACE"))
			mem_trace = strtoull(getenv("FUZZ_MEM_TRACE"), NULL, 10);
	}
	atomic_store(&mem_live, 0);
	atomic_store(&mem_peak, 0);
	atomic_store(&mem_on, 1);
}

size_t fuzz_mem_end(size_t n, const char *what)
{
	long long peak;
	unsigned long long bound = (unsigned long long)n * FUZZ_MEM_MULT + FUZZ_MEM_BASE;

	atomic_store(&mem_on, 0);
	peak = atomic_load(&mem_peak);
	if (peak > 0 && (unsigned long long)peak > bound) {
		fprintf(stderr, "%s: peak heap %lld bytes for %zu input bytes (bound %llu = "
		    "%d x input + %u)\n", what, peak, n, bound, FUZZ_MEM_MULT, FUZZ_MEM_BASE);
		abort();
	}
	if (getenv("FUZZ_MEM_VERBOSE"))
		fprintf(stderr, "%s: peak heap %lld bytes for %zu input bytes\n", what, peak, n);
	return peak > 0 ? (size_t)peak : 0;
}

/* ---- the record oracle */

void fuzz_check_record(const uint8_t *rec, size_t len, const tt_filter *f)
{
	size_t used = 0;
	int64_t ts;
	const char *corr;
	size_t corr_len;
	tt_rec_info info;
	tt_value v;
	tt_buf out = {0};
	int rc;
	static const char *const paths[] = { "msg", "http.status", "a.b.c.d" };

	/* canonical: what tt_writer_append checks, and tt_rec_info_get agrees */
	FUZZ_ASSERT(tt_mp_check(rec, len, &used, NULL) == 0 && used == len);
	FUZZ_ASSERT(tt_rec_ts_corr(rec, len, &ts, &corr, &corr_len) == 0);
	FUZZ_ASSERT(corr_len <= TT_ID_MAX);
	FUZZ_ASSERT(tt_rec_info_get(rec, len, &info) == 0);
	FUZZ_ASSERT(info.ts == ts && info.corr.n == corr_len);
	/* the readers below walk the whole record again each; under the
	 * sanitizers that costs ~10 ms per 1000 fields: small records only,
	 * large ones find nothing new there */
	if (len > 8192)
		return;
	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
		rc = tt_rec_field(rec, len, paths[i], &v);
		FUZZ_ASSERT(rc == 0 || rc == 1 || rc == TT_EBADARG);
	}
	/* printable: JSON output works or refuses by a documented limit */
	rc = tt_rec_to_json(rec, len, TT_JSON_TIME, &out);
	FUZZ_ASSERT(rc == 0 || rc == TT_ETOOBIG);
	out.len = 0;
	rc = tt_rec_to_json(rec, len, TT_JSON_PRETTY, &out);
	FUZZ_ASSERT(rc == 0 || rc == TT_ETOOBIG);
	tt_buf_free(&out);
	if (f)
		FUZZ_ASSERT(tt_filter_match(f, rec, len) >= 0);
}

static int sink_record(void *ctx, const uint8_t *rec, size_t len)
{
	fuzz_sink_ctx *c = ctx;

	int on = atomic_exchange(&mem_on, 0); /* the oracle's own heap is not the decoder's */

	FUZZ_ASSERT(len <= c->rec_max);
	fuzz_check_record(rec, len, c->filter);
	c->records++;
	atomic_store(&mem_on, on);
	return 0;
}

static void sink_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	fuzz_sink_ctx *c = ctx;

	/* the reason is a C string of the documented shape */
	FUZZ_ASSERT(memchr(err->reason, '\0', sizeof err->reason) != NULL);
	FUZZ_ASSERT(memchr(err->field, '\0', sizeof err->field) != NULL);
	c->rejects++;
}

void fuzz_check_decode(int rc, const tt_rec_err *err, size_t len, const fuzz_sink_ctx *sc)
{
	FUZZ_ASSERT(memchr(err->reason, '\0', sizeof err->reason) != NULL);
	if (rc < 0) {
		FUZZ_ASSERT(rc == TT_EBADREC || rc == TT_ETOOBIG);
		FUZZ_ASSERT(err->offset <= len);
	} else {
		FUZZ_ASSERT((size_t)rc == sc->records);
	}
}

void fuzz_sink_init(tt_sink *s, fuzz_sink_ctx *c, size_t rec_max)
{
	memset(c, 0, sizeof *c);
	c->rec_max = rec_max ? rec_max : TT_REC_MAX_DEFAULT;
	s->record = sink_record;
	s->reject = sink_reject;
	s->ctx = c;
}

/* ---- temporary directories */

static char tmp_root[PATH_MAX];

void fuzz_rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[PATH_MAX];

	if (d == NULL) {
		(void)unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			fuzz_rm_rf(sub);
		else
			(void)unlink(sub);
	}
	closedir(d);
	(void)rmdir(path);
}

static void tmp_cleanup(void)
{
	if (tmp_root[0])
		fuzz_rm_rf(tmp_root);
}

/* In memory when possible (/dev/shm): the stores the harnesses make per
 * input must not wait behind other processes' fsyncs on a busy disk. */
const char *fuzz_tmpdir(void)
{
	const char *t = getenv("FUZZ_TMPDIR");

	if (tmp_root[0])
		return tmp_root;
	if (!t || !*t)
		t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(tmp_root, sizeof tmp_root, "%s/tt-fuzz.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmp_root) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(tmp_cleanup);
	return tmp_root;
}

/* ---- streamed decoding against the whole tree */

struct collect {
	tt_buf recs, rejs;
};

static int collect_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct collect *c = ctx;
	uint32_t n = (uint32_t)len;

	FUZZ_ASSERT(tt_buf_append(&c->recs, &n, sizeof n) == 0);
	FUZZ_ASSERT(tt_buf_append(&c->recs, rec, len) == 0);
	return 0;
}

static void collect_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	struct collect *c = ctx;
	char line[320];
	/* the value cap stops a record before its size is known: same element,
	 * other words */
	int capped = strstr(err->reason, "values cannot fit the limit") ||
	    strstr(err->reason, "bytes exceeds the limit");
	int n = snprintf(line, sizeof line, "%zu %s %s\n", index, err->field,
	    capped ? "(too big)" : err->reason);

	FUZZ_ASSERT(tt_buf_append(&c->rejs, line, (size_t)n) == 0);
}

void fuzz_check_stream(const char *text, size_t n, size_t rec_max)
{
	tt_decode_opts o = { rec_max };
	struct collect a = {0}, b = {0};
	tt_sink sa = { collect_record, collect_reject, &a }, sb = { collect_record, collect_reject, &b };
	tt_decoder *d;
	tt_rec_err err = {0};
	msgpack_object root;
	int ra, rb, on = atomic_exchange(&mem_on, 0);

	FUZZ_ASSERT(tt_decoder_new(&d, &o) == 0);
	ra = tt_decode_json(d, text, n, 1, 1700000000000000000LL, &sa, &err);
	tt_decode_begin(d, 1700000000000000000LL, &sb);
	rb = tt_json_parse(d->jp, text, n, TT_DOC_DEPTH_MAX, NULL, &d->zone, &root,
	    &d->doc_depth, &err);
	if (rb == 0)
		rb = tt_decode_tree(d, &root, &err);
	if (rb >= 0) {
		if (ra != rb || a.recs.len != b.recs.len ||
		    (a.recs.len && memcmp(a.recs.data, b.recs.data, a.recs.len)) ||
		    a.rejs.len != b.rejs.len || (a.rejs.len && memcmp(a.rejs.data, b.rejs.data, a.rejs.len))) {
			fprintf(stderr, "streamed decoding: %d, %zu record bytes, rejects:\n%.*s"
			    "whole tree: %d, %zu record bytes, rejects:\n%.*s", ra, a.recs.len,
			    (int)a.rejs.len, (const char *)a.rejs.data, rb, b.recs.len,
			    (int)b.rejs.len, (const char *)b.rejs.data);
			abort();
		}
	}
	tt_decoder_free(d);
	tt_buf_free(&a.recs);
	tt_buf_free(&a.rejs);
	tt_buf_free(&b.recs);
	tt_buf_free(&b.rejs);
	atomic_store(&mem_on, on);
}
