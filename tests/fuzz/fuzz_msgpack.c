/*
 * fuzz_msgpack.c -- msgpack input: what tt-ingest and ttd's unix socket take
 * from strangers, and what readers take from segment files.
 *
 *   - tt_decode_msgpack over back-to-back objects, as tt-ingest reads a
 *     msgpack stream (heap bound and record oracle of fuzz.h);
 *   - tt_mp_check, and ttd's socket framing scanner (daemon/mp.c) fed the
 *     same bytes in pieces: both must agree on where the first object ends;
 *   - the record readers on the raw bytes (tt_rec_info_get, tt_rec_ts_corr,
 *     tt_rec_field, tt_rec_to_json, tt_value_to_json, cli_mp_map_each):
 *     records read back from a damaged store reach them unchecked.
 */
#include <string.h>

#include "fuzz.h"
#include "cli.h"
#include "fmt_internal.h"
#include "ttd.h"

static tt_filter *filter;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_ASSERT(tt_filter_new(&filter) == 0);
	FUZZ_ASSERT(tt_filter_add_match(filter, "attrs.http.status=500") == 0);
	FUZZ_ASSERT(tt_filter_add_service(filter, "web") == 0);
	FUZZ_ASSERT(tt_filter_set_level(filter, TT_LVL_WARN) == 0);
	return 0;
}

static int kv_cb(void *ctx, const char *k, size_t kn, const tt_value *v)
{
	(*(size_t *)ctx)++;
	return 0;
}

/* ttd's scanner over the bytes in pieces of `step`, resuming each time */
static long long scan_pieces(const uint8_t *p, size_t n, size_t step)
{
	ttd_mpscan s;
	long long r = 0;

	ttd_mpscan_init(&s);
	for (size_t have = step < n ? step : n;; have = have + step < n ? have + step : n) {
		r = ttd_mpscan_run(&s, p, have);
		if (r != 0 || have == n)
			return r;
	}
}

static void framing(const uint8_t *p, size_t n)
{
	size_t used = 0;
	int rc = tt_mp_skip(p, n, TT_DEPTH_MAX + 1, &used, NULL);
	long long whole = scan_pieces(p, n, n ? n : 1);

	/* the scanner allows one level more than a record (a batch array); an
	 * empty container takes no level of its stack, so it frames one that is
	 * a level too deep, which the decoder then refuses (TT_ETOOBIG) */
	if (rc == 0)
		FUZZ_ASSERT(whole > 0 && (size_t)whole == used);
	else if (whole > 0)
		FUZZ_ASSERT(rc == TT_ETOOBIG);
	FUZZ_ASSERT(scan_pieces(p, n, 1) == whole);
	FUZZ_ASSERT(scan_pieces(p, n, 7) == whole);
}

static void readers(const uint8_t *p, size_t n)
{
	tt_rec_info info;
	tt_value v;
	tt_buf out = {0};
	int64_t ts;
	const char *c;
	size_t cn, used, count = 0;

	(void)tt_rec_info_get(p, n, &info);
	(void)tt_rec_ts_corr(p, n, &ts, &c, &cn);
	(void)tt_rec_field(p, n, "attrs.http.status", &v);
	(void)tt_rec_field(p, n, "msg", &v);
	(void)tt_rec_to_json(p, n, TT_JSON_TIME, &out);
	out.len = 0;
	(void)tt_value_to_json(p, n, &out);
	tt_buf_free(&out);
	(void)tt_filter_match(filter, p, n);
	(void)cli_mp_map_each(p, n, kv_cb, &count);
	if (tt_mp_check(p, n, &used, NULL) == 0)
		FUZZ_ASSERT(used <= n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tt_decoder *d;
	tt_sink sink;
	fuzz_sink_ctx sc;
	tt_rec_err err;
	tt_decode_opts o = { 4096 };
	size_t off = 0;

	framing(data, size);
	if (size <= 8192) /* as fuzz_check_record: the walks find nothing new on more */
		readers(data, size);

	/* a small rec_max (as ttd --max-record) exercises the size refusals */
	fuzz_mem_begin();
	FUZZ_ASSERT(tt_decoder_new(&d, size & 1 ? &o : NULL) == 0);
	fuzz_sink_init(&sink, &sc, size & 1 ? o.rec_max : 0);
	sc.filter = filter;
	while (off < size) {
		size_t used = 0;
		int rc;

		memset(&err, 0, sizeof err);
		rc = tt_decode_msgpack(d, data + off, size - off, &used, 1700000000000000000LL,
		    &sink, &err);
		FUZZ_ASSERT(memchr(err.reason, '\0', sizeof err.reason) != NULL);
		if (rc < 0) {
			FUZZ_ASSERT(rc == TT_EBADREC || rc == TT_ETOOBIG);
			break;
		}
		FUZZ_ASSERT(used > 0 && used <= size - off);
		off += used;
	}
	tt_decoder_free(d);
	fuzz_mem_end(size, "tt_decode_msgpack");
	return 0;
}
