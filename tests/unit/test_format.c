/*
 * test_format.c -- decoding: every input dialect against golden output, batches
 * and rejections, caps, malformed JSON with offsets, hostile msgpack input,
 * 64-bit exactness. (Output and record readers: test_format_out.c.)
 *
 * Golden files: tests/data/format/<name>.jsonl is the input, one document per
 * line; <name>.golden the expected transcript. TT_GOLDEN_WRITE=1 rewrites the
 * golden files from the current output (review the diff before committing).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "ttformat.h"

#define NOW 1700000000000000000LL

/* ---- a sink that writes a transcript: one line per record (JSON) or reject */
typedef struct transcript {
	tt_buf text;
	int nrec, nrej;
	int abort_at; /* record number to fail with -1234 at (0 = never) */
} transcript;

static void tr_printf(transcript *t, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof tmp);
	assert_int_equal(tt_buf_append(&t->text, tmp, (size_t)n), 0);
}

static int tr_record(void *ctx, const uint8_t *rec, size_t len)
{
	transcript *t = ctx;
	size_t used;
	tt_rec_info info;

	t->nrec++;
	if (t->abort_at && t->nrec == t->abort_at)
		return -1234;
	/* every record the decoder emits is canonical and within the caps */
	assert_int_equal(tt_mp_check(rec, len, &used, NULL), 0);
	assert_int_equal(used, len);
	assert_int_equal(tt_rec_info_get(rec, len, &info), 0);
	assert_int_equal(tt_rec_to_json(rec, len, 0, &t->text), 0);
	tr_printf(t, "\n");
	return 0;
}

static void tr_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	transcript *t = ctx;

	t->nrej++;
	tr_printf(t, "reject [%zu] at %zu field '%s': %s\n", index, err->offset, err->field,
	    err->reason);
}

/* a record callback that keeps the record's bytes in a tt_buf */
static int keep_record(void *ctx, const uint8_t *rec, size_t len)
{
	return tt_buf_append(ctx, rec, len) < 0 ? -1 : 0;
}

static tt_sink tr_sink(transcript *t)
{
	tt_sink s = {tr_record, tr_reject, t};
	return s;
}

static char *tr_str(transcript *t)
{
	assert_int_equal(tt_buf_append(&t->text, "", 1), 0);
	t->text.len--;
	return (char *)t->text.data;
}

static const char *top(void)
{
	const char *t = getenv("TT_TOP");
	return t ? t : ".";
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	tt_buf b = {0};
	char tmp[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		assert_int_equal(tt_buf_append(&b, tmp, n), 0);
	fclose(f);
	assert_int_equal(tt_buf_append(&b, "", 1), 0);
	if (len)
		*len = b.len - 1;
	return (char *)b.data;
}

/* Compare got with the golden file; on a difference say which line, what was
 * expected and what came out. */
static void check_golden(const char *name, const char *got)
{
	char path[512];
	char *want;

	snprintf(path, sizeof path, "%s/tests/data/format/%s.golden", top(), name);
	if (getenv("TT_GOLDEN_WRITE")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	}
	want = slurp(path, NULL);
	if (!want)
		fail_msg("cannot read golden file '%s'", path);
	if (strcmp(want, got) != 0) {
		const char *w = want, *g = got;
		int line = 1;
		while (*w && *w == *g) {
			if (*w == '\n')
				line++;
			w++, g++;
		}
		while (w > want && w[-1] != '\n')
			w--, g--;
		print_error("golden '%s' differs at line %d\nexpected: %.*s\n     got: %.*s\n",
		    path, line, (int)strcspn(w, "\n"), w, (int)strcspn(g, "\n"), g);
		free(want);
		fail();
	}
	free(want);
}

/* decode every line of <name>.jsonl, transcript against <name>.golden */
static void run_golden(const char *name)
{
	char path[512], *in, *line, *save = NULL;
	transcript t = {0};
	tt_sink s = tr_sink(&t);
	tt_decoder *d;
	int n = 0;

	snprintf(path, sizeof path, "%s/tests/data/format/%s.jsonl", top(), name);
	in = slurp(path, NULL);
	if (!in)
		fail_msg("cannot read '%s'", path);
	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	for (line = strtok_r(in, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		tt_rec_err e = {0};
		int rc;
		tr_printf(&t, "# %d\n", ++n);
		rc = tt_decode_json(d, line, strlen(line), 0, NOW, &s, &e);
		if (rc < 0)
			tr_printf(&t, "error %d at %zu field '%s': %s\n", rc, e.offset, e.field, e.reason);
		else
			tr_printf(&t, "=> %d\n", rc);
	}
	check_golden(name, tr_str(&t));
	tt_decoder_free(d);
	tt_buf_free(&t.text);
	free(in);
}

static void test_dialects_golden(void **state)
{
	(void)state;
	run_golden("dialects");
}

/* decode one JSON text, expect `want` records, return the transcript */
static char *decode1(const char *json, int want_rc, tt_rec_err *e, transcript *t)
{
	tt_decoder *d;
	tt_sink s = tr_sink(t);
	tt_rec_err local = {0};
	int rc;

	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	rc = tt_decode_json(d, json, strlen(json), 0, NOW, &s, e ? e : &local);
	if (rc != want_rc)
		fail_msg("decoding %s\nexpected rc %d, got %d (%s)", json, want_rc, rc,
		    (e ? e : &local)->reason);
	tt_decoder_free(d);
	return tr_str(t);
}

static void expect_json(const char *in, const char *want)
{
	transcript t = {0};
	char *got = decode1(in, 1, NULL, &t);
	char w[4096];

	snprintf(w, sizeof w, "%s\n", want);
	if (strcmp(got, w) != 0)
		fail_msg("decoding %s\nexpected %s\n     got %s", in, want, got);
	tt_buf_free(&t.text);
}

static void test_canonical_order(void **state)
{
	(void)state;
	/* ts first, corr second, the rest in input order */
	expect_json("{\"a\":1,\"corr\":\"c\",\"b\":2,\"ts\":5,\"c\":3}",
	    "{\"ts\":5,\"corr\":\"c\",\"a\":1,\"b\":2,\"c\":3}");
	/* no corr: ts then the rest */
	expect_json("{\"z\":true,\"ts\":7}", "{\"ts\":7,\"z\":true}");
	/* no ts: now_ns */
	expect_json("{\"msg\":\"x\"}", "{\"ts\":1700000000000000000,\"msg\":\"x\"}");
	/* a second copy of a canonical key is dropped, a losing alias kept */
	expect_json("{\"ts\":1,\"corr\":\"a\",\"correlation_id\":\"b\",\"corr\":\"c\"}",
	    "{\"ts\":1,\"corr\":\"a\",\"correlation_id\":\"b\"}");
}

/* issue 9: ids the way Tracer sends them, and ids nobody could find */
static void test_corr_sources(void **state)
{
	transcript t = {0};
	tt_rec_err e = {0};
	(void)state;
	/* Tracer: the id in metadata, best name first; the member stays in attrs */
	expect_json("{\"timestamp\":1,\"message\":\"m\",\"metadata\":{\"request_id\":\"r\","
	    "\"correlationId\":\"c\"}}", "{\"ts\":1000000000,\"corr\":\"c\",\"msg\":\"m\","
	    "\"attrs\":{\"request_id\":\"r\",\"correlationId\":\"c\"},\"kind\":\"log\"}");
	expect_json("{\"ts\":1,\"metadata\":{\"trace_id\":\"t\",\"request_id\":\"r\"}}",
	    "{\"ts\":1,\"corr\":\"t\",\"attrs\":{\"trace_id\":\"t\",\"request_id\":\"r\"}}");
	expect_json("{\"ts\":1,\"Metadata\":{\"CORRELATION_ID\":7}}",
	    "{\"ts\":1,\"corr\":\"7\",\"attrs\":{\"CORRELATION_ID\":7}}");
	/* a top-level id wins over metadata */
	expect_json("{\"ts\":1,\"session_id\":\"s\",\"metadata\":{\"correlation_id\":\"m\"}}",
	    "{\"ts\":1,\"corr\":\"s\",\"attrs\":{\"correlation_id\":\"m\"}}");
	/* an empty id is refused, naming where it was */
	decode1("{\"ts\":1,\"corr\":\"\"}", TT_EBADREC, &e, &t);
	assert_string_equal(e.field, "corr");
	assert_non_null(strstr(e.reason, "empty correlation id"));
	decode1("{\"ts\":1,\"metadata\":{\"correlation_id\":\"\"}}", TT_EBADREC, &e, &t);
	assert_string_equal(e.field, "metadata.correlation_id");
	/* {} is an empty document like []; an empty record in a batch is refused */
	decode1("{}", 0, &e, &t);
	assert_int_equal(t.nrec, 0);
	decode1("[{},{\"ts\":1}]", 1, &e, &t);
	assert_int_equal(t.nrej, 1);
	assert_non_null(strstr(tr_str(&t), "empty object"));
	/* a misspelt batch key is no record holding an array */
	decode1("{\"trace\":[{\"correlation_id\":\"a\"}]}", TT_EBADREC, &e, &t);
	assert_string_equal(e.field, "trace");
	assert_non_null(strstr(e.reason, "unknown batch key 'trace'"));
	decode1("{\"items\":[]}", TT_EBADREC, &e, &t);
	/* a record with an array member is still a record */
	expect_json("{\"tags\":[\"a\"]}", "{\"ts\":1700000000000000000,\"tags\":[\"a\"]}");
	tt_buf_free(&t.text);
}

/* issue 9: a JSON text cut short says where it ended, in lower case */
static void test_truncated_offset(void **state)
{
	static const char *const cut[] = { "{\"traces\":[{\"a\":1", "[{\"a\":\"xyz", "{\"a\":",
		"{\"corr\":\"c\"", "[1,2" };
	transcript t = {0};
	(void)state;
	for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
		tt_rec_err e = {0};
		decode1(cut[i], TT_EBADREC, &e, &t);
		if (e.offset != strlen(cut[i]))
			fail_msg("%s: expected the error at byte %zu, got %zu (%s)", cut[i],
			    strlen(cut[i]), e.offset, e.reason);
		if (!(e.reason[0] >= 'a' && e.reason[0] <= 'z') &&
		    strncmp(e.reason, "JSON", 4) != 0)
			fail_msg("%s: message starts neither lower-case nor with an acronym: %s",
			    cut[i], e.reason);
	}
	tt_buf_free(&t.text);
}

/* issue 9: a record as TraceHub writes a trace (the inverse of its aliases) */
static void test_tracehub_out(void **state)
{
	static const char *in = "{\"correlation_id\":\"r1\",\"source_id\":\"web\","
	    "\"timestamp\":1732181180123.456,\"suffix\":\"s\",\"direction\":\"out\","
	    "\"operation\":\"GET\",\"endpoint\":\"/x\",\"data\":{\"a\":1},"
	    "\"hostname\":\"h\",\"level\":\"warning\"}";
	tt_decoder *d;
	transcript t = {0};
	tt_sink s;
	tt_buf rec = {0}, out = {0};
	tt_rec_err e = {0};
	(void)state;

	/* a sink that keeps the record's bytes */
	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	s = tr_sink(&t);
	s.record = keep_record;
	s.ctx = &rec;
	assert_int_equal(tt_decode_json(d, in, strlen(in), 0, NOW, &s, &e), 1);
	assert_int_equal(tt_rec_to_tracehub_json(rec.data, rec.len, &out), 0);
	assert_int_equal(tt_buf_append(&out, "", 1), 0);
	assert_string_equal((char *)out.data,
	    "{\"correlation_id\":\"r1\",\"source_id\":\"web\",\"timestamp\":1732181180123.456000,"
	    "\"suffix\":\"s\",\"direction\":\"->\",\"operation\":\"GET\",\"endpoint\":\"/x\","
	    "\"data\":{\"a\":1},\"hostname\":\"h\",\"level\":\"warn\",\"kind\":\"checkpoint\"}");
	/* absent fields are null; negative times keep their sign */
	rec.len = out.len = 0;
	in = "{\"ts\":-1500,\"msg\":\"x\"}";
	assert_int_equal(tt_decode_json(d, in, strlen(in), 0, NOW, &s, &e), 1);
	assert_int_equal(tt_rec_to_tracehub_json(rec.data, rec.len, &out), 0);
	assert_int_equal(tt_buf_append(&out, "", 1), 0);
	assert_string_equal((char *)out.data,
	    "{\"correlation_id\":null,\"source_id\":null,\"timestamp\":-0.001500,\"suffix\":null,"
	    "\"direction\":null,\"operation\":null,\"endpoint\":null,\"data\":null,"
	    "\"hostname\":null,\"msg\":\"x\"}");
	/* every cut of a record is refused, reading nothing past the cut */
	for (size_t k = 0; k < rec.len; k++) {
		uint8_t *cutp = malloc(k ? k : 1);
		assert_non_null(cutp);
		memcpy(cutp, rec.data, k);
		out.len = 0;
		assert_true(tt_rec_to_tracehub_json(cutp, k, &out) < 0);
		assert_int_equal(out.len, 0);
		free(cutp);
	}
	/* not a record: an error, the buffer as it was */
	out.len = 0;
	assert_int_equal(tt_rec_to_tracehub_json((const uint8_t *)"\x93", 1, &out), TT_EBADREC);
	assert_int_equal(tt_rec_to_tracehub_json((const uint8_t *)"\x81\xa1", 2, &out), TT_EBADREC);
	assert_int_equal(out.len, 0);
	tt_decoder_free(d);
	tt_buf_free(&rec);
	tt_buf_free(&out);
	tt_buf_free(&t.text);
}

static void test_64bit_exact(void **state)
{
	(void)state;
	expect_json("{\"ts\":1732181180123456789,\"attrs\":{\"u\":18446744073709551615,"
	    "\"i\":-9223372036854775808,\"m\":9223372036854775807}}",
	    "{\"ts\":1732181180123456789,\"attrs\":{\"u\":18446744073709551615,"
	    "\"i\":-9223372036854775808,\"m\":9223372036854775807}}");
	/* beyond 64 bits: a double, as JSON allows */
	expect_json("{\"ts\":1,\"big\":123456789012345678901234}",
	    "{\"ts\":1,\"big\":1.2345678901234569e+23}");
	/* ts as a string of digits is ns too */
	expect_json("{\"ts\":\"1732181180123456789\"}", "{\"ts\":1732181180123456789}");
}

static void test_time_units(void **state)
{
	(void)state;
	/* "timestamp" numbers: unit by magnitude (s, ms, us, ns) */
	expect_json("{\"timestamp\":1732181180}", "{\"ts\":1732181180000000000}");
	expect_json("{\"timestamp\":1732181180123}", "{\"ts\":1732181180123000000}");
	expect_json("{\"timestamp\":1732181180123456}", "{\"ts\":1732181180123456000}");
	expect_json("{\"timestamp\":1732181180123456789}", "{\"ts\":1732181180123456789}");
	/* floats in s or ms round to the microsecond */
	expect_json("{\"timestamp\":1732181180.123456}", "{\"ts\":1732181180123456000}");
	expect_json("{\"timestamp\":1732181180123.4567}", "{\"ts\":1732181180123457000}");
	/* RFC 3339 with offsets and fractions up to ns */
	expect_json("{\"time\":\"2024-11-21T10:26:20.123456789+01:00\"}",
	    "{\"ts\":1732181180123456789}");
	expect_json("{\"time\":\"1970-01-01T00:00:00Z\"}", "{\"ts\":0}");
	expect_json("{\"time\":\"2024-02-29\"}", "{\"ts\":1709164800000000000}");
}

static void test_bad_timestamps(void **state)
{
	static const char *bad[] = {
		"{\"ts\":\"soon\"}", "{\"timestamp\":\"2024-13-01T00:00:00Z\"}",
		"{\"timestamp\":\"2024-02-30\"}", "{\"time\":true}", "{\"ts\":18446744073709551615}",
		"{\"timestamp\":\"2024-11-21T25:00:00Z\"}", "{\"ts\":{}}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		transcript t = {0};
		tt_rec_err e = {0};
		decode1(bad[i], TT_EBADREC, &e, &t);
		if (strcmp(e.field, "ts") && strcmp(e.field, "timestamp") && strcmp(e.field, "time"))
			fail_msg("%s: expected the error on the time field, got '%s'", bad[i], e.field);
		tt_buf_free(&t.text);
	}
}

static void test_levels_dirs(void **state)
{
	(void)state;
	expect_json("{\"ts\":1,\"level\":\"WARNING\"}", "{\"ts\":1,\"level\":\"warn\"}");
	expect_json("{\"ts\":1,\"severity\":\"err\"}", "{\"ts\":1,\"level\":\"error\"}");
	expect_json("{\"ts\":1,\"level\":30}", "{\"ts\":1,\"level\":\"info\"}");
	expect_json("{\"ts\":1,\"level\":\"chatty\"}", "{\"ts\":1,\"level\":\"chatty\"}");
	expect_json("{\"ts\":1,\"dir\":\"outbound\"}", "{\"ts\":1,\"dir\":\"->\"}");
	expect_json("{\"ts\":1,\"direction\":\"IN\"}", "{\"ts\":1,\"dir\":\"<-\",\"kind\":\"checkpoint\"}");
}

static void test_ids_opaque(void **state)
{
	(void)state;
	/* ids are stored exactly as given: case, dashes, spaces, unicode */
	expect_json("{\"ts\":1,\"corr\":\" Req-ABC/é \",\"span\":\"00F0\",\"parent\":\"x y\"}",
	    "{\"ts\":1,\"corr\":\" Req-ABC/é \",\"span\":\"00F0\",\"parent\":\"x y\"}");
}

static void test_corr_limits(void **state)
{
	char json[600];
	transcript t = {0};
	tt_rec_err e = {0};
	(void)state;

	snprintf(json, sizeof json, "{\"ts\":1,\"corr\":\"%0*d\"}", TT_ID_MAX, 0);
	expect_json(json, json);
	snprintf(json, sizeof json, "{\"ts\":1,\"corr\":\"%0*d\"}", TT_ID_MAX + 1, 0);
	decode1(json, TT_ETOOBIG, &e, &t);
	assert_string_equal(e.field, "corr");
	decode1("{\"ts\":1,\"corr\":[1]}", TT_EBADREC, &e, &t);
	assert_string_equal(e.field, "corr");
	decode1("{\"ts\":1,\"trace_id\":1.5}", TT_EBADREC, &e, &t);
	assert_string_equal(e.field, "trace_id");
	tt_buf_free(&t.text);
}

/* Malformed JSON: the error names the byte offset where parsing stopped. */
static void test_malformed_json(void **state)
{
	static const struct { const char *in; size_t off; } cases[] = {
		{"{\"a\":1,", 7},           /* truncated after a comma */
		{"{\"a\":1} x", 8},         /* trailing garbage */
		{"{\"a\" 1}", 5},           /* missing colon */
		{"{\"a\":tru}", 5},         /* bad literal */
		{"{\"a\":[1,2}", 9},        /* mismatched bracket */
		{"\"just a string\"", 0},   /* not an object or array */
		{"42", 0},
		{"", 0},
		{"{\"a\":\"\xff\"}", 0},    /* invalid UTF-8: caught before any token */
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		tt_decoder *d;
		transcript t = {0};
		tt_sink s = tr_sink(&t);
		tt_rec_err e = {0};
		int rc;
		assert_int_equal(tt_decoder_new(&d, NULL), 0);
		rc = tt_decode_json(d, cases[i].in, strlen(cases[i].in), 0, NOW, &s, &e);
		if (rc != TT_EBADREC || e.offset != cases[i].off || e.reason[0] == '\0')
			fail_msg("'%s': expected TT_EBADREC at offset %zu, got rc %d at %zu (%s)",
			    cases[i].in, cases[i].off, rc, e.offset, e.reason);
		assert_int_equal(t.nrec, 0);
		tt_decoder_free(d);
		tt_buf_free(&t.text);
	}
}

static void test_depth_cap(void **state)
{
	char json[512];
	size_t n = 0;
	transcript t = {0};
	tt_rec_err e = {0};
	(void)state;

	/* record map = level 1; 31 nested arrays inside it = 32 levels: fine */
	n += (size_t)sprintf(json + n, "{\"ts\":1,\"a\":");
	for (int i = 0; i < 31; i++)
		json[n++] = '[';
	for (int i = 0; i < 31; i++)
		json[n++] = ']';
	strcpy(json + n, "}");
	decode1(json, 1, &e, &t);
	/* 33 levels: refused */
	n = 0;
	n += (size_t)sprintf(json + n, "{\"ts\":1,\"a\":");
	for (int i = 0; i < 32; i++)
		json[n++] = '[';
	for (int i = 0; i < 32; i++)
		json[n++] = ']';
	strcpy(json + n, "}");
	decode1(json, TT_ETOOBIG, &e, &t);
	assert_string_equal(e.field, "a");
	/* very deep documents are refused by the parser without recursion blowup */
	{
		size_t deep = 100000;
		char *big = malloc(2 * deep + 1);
		memset(big, '[', deep);
		memset(big + deep, ']', deep);
		big[2 * deep] = '\0';
		decode1(big, TT_ETOOBIG, &e, &t);
		free(big);
	}
	tt_buf_free(&t.text);
}

static void test_rec_max(void **state)
{
	tt_decode_opts o = {.rec_max = 64};
	tt_decoder *d;
	transcript t = {0};
	tt_sink s = tr_sink(&t);
	tt_rec_err e = {0};
	const char *small = "{\"ts\":1,\"msg\":\"short\"}";
	const char *big = "[{\"ts\":1,\"msg\":\"short\"},{\"ts\":1,\"msg\":\"a message longer than "
	    "sixty-four bytes, once it is encoded as msgpack\"}]";
	(void)state;

	assert_int_equal(tt_decoder_new(&d, &o), 0);
	assert_int_equal(tt_decode_json(d, small, strlen(small), 0, NOW, &s, &e), 1);
	assert_int_equal(tt_decode_json(d, big, strlen(big), 0, NOW, &s, &e), 1);
	assert_int_equal(t.nrej, 1);
	assert_non_null(strstr(tr_str(&t), "reject [1] at 24 field '': record of"));
	tt_decoder_free(d);
	tt_buf_free(&t.text);
}

static void test_batch_cap(void **state)
{
	/* the smallest record: {} is an element error (an empty object) */
	static const char el[] = "{\"a\":0},";
	size_t n = TT_BATCH_MAX + 1, len = 0, k = sizeof el - 1;
	char *json = malloc(k * n + 3);
	transcript t = {0};
	tt_rec_err e = {0};
	(void)state;

	json[len++] = '[';
	for (size_t i = 0; i < n; i++) {
		memcpy(json + len, el, k);
		len += k;
	}
	json[len - 1] = ']';
	json[len] = '\0';
	decode1(json, TT_ETOOBIG, &e, &t);
	assert_int_equal(t.nrec, 0);
	/* exactly the cap is fine */
	strcpy(json + len - k - 1, "]");
	decode1(json, TT_BATCH_MAX, &e, &t);
	free(json);
	tt_buf_free(&t.text);
}

/* A batch is decoded one element at a time (json_simdjson.cc streams it):
 * what a caller sees must be what a whole tree gave. */
static void test_batch_streamed(void **state)
{
	tt_decode_opts o = {.rec_max = 64};
	tt_decoder *d;
	transcript t = {0};
	tt_sink s = tr_sink(&t);
	tt_rec_err e = {0};
	char big[512];
	size_t n = 0;
	(void)state;

	assert_int_equal(tt_decoder_new(&d, &o), 0);
	/* a syntax error after good elements: the document fails, no record */
	const char *late = "[{\"ts\":1,\"corr\":\"a\"},{\"ts\":2,\"corr\":\"b\"},{\"ts\":3,,}]";
	assert_int_equal(tt_decode_json(d, late, strlen(late), 0, NOW, &s, &e), TT_EBADREC);
	assert_int_equal(t.nrec, 0);
	assert_int_equal(e.offset, 49); /* the second comma */
	/* an element of more values than rec_max bytes is rejected without being
	 * built, at its offset; the others are stored */
	n += (size_t)sprintf(big, "[{\"ts\":1,\"corr\":\"a\"},{\"ts\":2,\"x\":[");
	for (int i = 0; i < 70; i++)
		n += (size_t)sprintf(big + n, "%s0", i ? "," : "");
	n += (size_t)sprintf(big + n, "]},{\"ts\":3,\"corr\":\"c\"}]");
	assert_int_equal(tt_decode_json(d, big, n, 0, NOW, &s, &e), 2);
	assert_int_equal(t.nrej, 1);
	assert_non_null(strstr(tr_str(&t),
	    "reject [1] at 21 field '': record of more than 64 values cannot fit the limit of 64 bytes"));
	/* the same record as the whole document */
	assert_int_equal(tt_decode_json(d, big + 21, n - 21 - 24, 0, NOW, &s, &e), TT_ETOOBIG);
	assert_non_null(strstr(e.reason, "record of more than 64 values"));
	tt_decoder_free(d);
	tt_buf_free(&t.text);

	/* envelopes: an escaped key is still "traces"; a timestamp beside the
	 * array makes a record with a "traces" field; an OTLP export is not held
	 * to one record's value cap (its spans are) */
	static const struct { const char *json; int rc; } c[] = {
		{ "{\"tr\\u0061ces\":[{\"ts\":1,\"corr\":\"a\"},{\"ts\":2,\"corr\":\"b\"}]}", 2 },
		{ "{\"traces\":[{\"ts\":1,\"corr\":\"a\"}],\"ts\":5}", 1 },
		{ "{\"logs\":[{\"ts\":1,\"corr\":\"a\"}],\"traces\":[{\"ts\":1},{\"ts\":2},{\"ts\":3}]}", 3 },
		{ "{\"x\":{\"traces\":[{\"ts\":1},{\"ts\":2}]},\"ts\":5}", 1 },
		{ "{\"resourceSpans\":[{\"resource\":{\"attributes\":[]},\"scopeSpans\":[{\"spans\":["
		  "{\"traceId\":\"0102\",\"spanId\":\"03\",\"name\":\"a\",\"startTimeUnixNano\":\"1\"},"
		  "{\"traceId\":\"0102\",\"spanId\":\"04\",\"name\":\"b\",\"startTimeUnixNano\":\"2\"},"
		  "{\"traceId\":\"0102\",\"spanId\":\"05\",\"name\":\"c\",\"startTimeUnixNano\":\"3\"}]}]}]}", 3 },
	};
	o.rec_max = 100;
	assert_int_equal(tt_decoder_new(&d, &o), 0);
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		t.nrec = t.nrej = 0;
		assert_int_equal(tt_decode_json(d, c[i].json, strlen(c[i].json), 0, NOW, &s, &e), c[i].rc);
		assert_int_equal(t.nrec, c[i].rc);
	}
	tt_decoder_free(d);
	tt_buf_free(&t.text);
}

/* A msgpack root array is unpacked an element at a time too; an element of
 * more values than rec_max bytes is refused without being unpacked. */
static void test_msgpack_streamed(void **state)
{
	tt_decode_opts o = {.rec_max = 64};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	tt_decoder *d;
	transcript t = {0};
	tt_sink s = tr_sink(&t);
	tt_rec_err e = {0};
	size_t used;
	(void)state;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 3);
	for (int i = 0; i < 3; i++) {
		msgpack_pack_map(&pk, 2);
		msgpack_pack_str_with_body(&pk, "ts", 2);
		msgpack_pack_int(&pk, i + 1);
		if (i == 1) {
			msgpack_pack_str_with_body(&pk, "x", 1);
			msgpack_pack_array(&pk, 70);
			for (int k = 0; k < 70; k++)
				msgpack_pack_int(&pk, 0);
		} else {
			msgpack_pack_str_with_body(&pk, "corr", 4);
			msgpack_pack_str_with_body(&pk, "c", 1);
		}
	}
	assert_int_equal(tt_decoder_new(&d, &o), 0);
	assert_int_equal(tt_decode_msgpack(d, (const uint8_t *)sb.data, sb.size, &used, NOW, &s, &e), 2);
	assert_int_equal(used, sb.size);
	assert_int_equal(t.nrec, 2);
	assert_int_equal(t.nrej, 1);
	assert_non_null(strstr(tr_str(&t),
	    "reject [1] at 0 field '': record of more than 64 values cannot fit the limit of 64 bytes"));
	/* the big element alone: a document error */
	{
		const uint8_t *el = (const uint8_t *)sb.data + 1 + 12;
		assert_int_equal(el[0], 0x82);
		assert_int_equal(tt_decode_msgpack(d, el, sb.size - 1 - 24, &used, NOW, &s, &e), TT_ETOOBIG);
		assert_non_null(strstr(e.reason, "record of more than 64 values"));
	}
	tt_decoder_free(d);
	msgpack_sbuffer_destroy(&sb);
	tt_buf_free(&t.text);
}

/* An OTLP/JSON export is streamed too: a resource and a scope are read
 * before their spans whatever the key order; the first key of a name counts;
 * the span cap holds for the export as a whole; a span of more values than
 * rec_max bytes is rejected with its path. */
static void test_otlp_streamed(void **state)
{
	static const char *const same[][2] = {
		{ "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]},"
		  "\"scopeSpans\":[{\"scope\":{\"name\":\"sc\"},\"spans\":[{\"traceId\":\"01\",\"spanId\":\"02\",\"name\":\"a\",\"startTimeUnixNano\":\"5\"}]}]}]}",
		  "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"5\",\"name\":\"a\",\"spanId\":\"02\",\"traceId\":\"01\"}],\"scope\":{\"name\":\"sc\"}}],"
		  "\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]}}]}" },
		{ "{\"resourceLogs\":[{\"instrumentationLibraryLogs\":[{\"instrumentationLibrary\":{\"name\":\"old\"},\"logRecords\":[{\"timeUnixNano\":\"7\",\"body\":{\"stringValue\":\"m\"},\"traceId\":\"0a\"}]}]}]}",
		  "{\"resourceLogs\":[{\"scopeLogs\":5,\"instrumentationLibraryLogs\":[{\"logRecords\":[{\"traceId\":\"0a\",\"body\":{\"stringValue\":\"m\"},\"timeUnixNano\":\"7\"}],\"instrumentationLibrary\":{\"name\":\"old\"}}]}]}" },
	};
	tt_decode_opts o = {.rec_max = 256};
	tt_decoder *d;
	tt_rec_err e = {0};
	(void)state;

	assert_int_equal(tt_decoder_new(&d, &o), 0);
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		transcript a = {0}, b = {0};
		tt_sink sa = tr_sink(&a), sb = tr_sink(&b);
		assert_int_equal(tt_decode_json(d, same[i][0], strlen(same[i][0]), 0, NOW, &sa, &e), 1);
		assert_int_equal(tt_decode_json(d, same[i][1], strlen(same[i][1]), 0, NOW, &sb, &e), 1);
		assert_string_equal(tr_str(&a), tr_str(&b));
		tt_buf_free(&a.text);
		tt_buf_free(&b.text);
	}
	/* a span of 300 values next to a good one */
	{
		transcript t = {0};
		tt_sink s = tr_sink(&t);
		char big[4096];
		size_t n = (size_t)sprintf(big, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
		    "{\"traceId\":\"01\",\"name\":\"x\",\"startTimeUnixNano\":\"1\",\"attributes\":[");
		for (int k = 0; k < 300; k++)
			n += (size_t)sprintf(big + n, "%s0", k ? "," : "");
		n += (size_t)sprintf(big + n, "]},{\"traceId\":\"02\",\"name\":\"y\",\"startTimeUnixNano\":\"2\"}]}]}]}");
		assert_int_equal(tt_decode_json(d, big, n, 0, NOW, &s, &e), 1);
		assert_non_null(strstr(tr_str(&t), "reject [0] at 0 field 'resourceSpans[0].scopeSpans[0].spans[0]': "
		    "record of more than 256 values cannot fit the limit of 256 bytes"));
		tt_buf_free(&t.text);
	}
	tt_decoder_free(d);
	/* the cap on the export as a whole: over it, nothing */
	{
		size_t n = TT_BATCH_MAX + 1, len = 0;
		char *json = malloc(3 * n + 64);
		transcript t = {0};
		assert_non_null(json);
		len += (size_t)sprintf(json, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[");
		for (size_t k = 0; k < n; k++)
			memcpy(json + len, "{},", 3), len += 3;
		len--;
		len += (size_t)sprintf(json + len, "]}]}]}");
		decode1(json, TT_ETOOBIG, &e, &t);
		assert_int_equal(t.nrec, 0);
		assert_string_equal(e.field, "resourceLogs");
		assert_non_null(strstr(e.reason, "export of 100001 elements"));
		free(json);
		tt_buf_free(&t.text);
	}
}

static void test_sink_abort(void **state)
{
	transcript t = {.abort_at = 2};
	const char *json = "[{\"ts\":1},{\"ts\":2},{\"ts\":3}]";
	tt_decoder *d;
	tt_sink s = tr_sink(&t);
	tt_rec_err e = {0};
	(void)state;

	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	assert_int_equal(tt_decode_json(d, json, strlen(json), 0, NOW, &s, &e), -1234);
	assert_int_equal(t.nrec, 2); /* the third was never offered */
	tt_decoder_free(d);
	tt_buf_free(&t.text);
}

static void test_padded_input(void **state)
{
	const char *json = "{\"ts\":1,\"corr\":\"p\"}";
	size_t n = strlen(json);
	char *buf = malloc(n + TT_JSON_PADDING);
	tt_decoder *d;
	transcript t = {0};
	tt_sink s = tr_sink(&t);
	(void)state;

	memcpy(buf, json, n);
	memset(buf + n, 'x', TT_JSON_PADDING); /* whatever follows is ignored */
	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	assert_int_equal(tt_decode_json(d, buf, n, 1, NOW, &s, NULL), 1);
	assert_string_equal(tr_str(&t), "{\"ts\":1,\"corr\":\"p\"}\n");
	tt_decoder_free(d);
	tt_buf_free(&t.text);
	free(buf);
}

/* ---- msgpack input */

static int mp_decode(const uint8_t *p, size_t n, size_t *used, tt_rec_err *e, transcript *t)
{
	tt_decoder *d;
	tt_sink s = tr_sink(t);
	int rc;

	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	rc = tt_decode_msgpack(d, p, n, used, NOW, &s, e);
	tt_decoder_free(d);
	return rc;
}

static void test_msgpack_input(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	transcript t = {0};
	tt_rec_err e = {0};
	size_t used;
	(void)state;

	/* a TraceHub checkpoint sent as msgpack maps like the JSON one; two
	 * objects back to back: *used says where the first ends */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_str_with_body(&pk, "correlation_id", 14);
	msgpack_pack_bin_with_body(&pk, "\x01\x02\xfe", 3);
	msgpack_pack_str_with_body(&pk, "timestamp", 9);
	msgpack_pack_double(&pk, 1732181180123.5);
	msgpack_pack_str_with_body(&pk, "direction", 9);
	msgpack_pack_str_with_body(&pk, "->", 2);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	size_t first = sb.size;
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "ts", 2);
	msgpack_pack_int64(&pk, 1);

	assert_int_equal(mp_decode((uint8_t *)sb.data, sb.size, &used, &e, &t), 1);
	assert_int_equal(used, first);
	assert_string_equal(tr_str(&t), "{\"ts\":1732181180123500000,\"corr\":\"0102fe\","
	    "\"dir\":\"->\",\"x\":18446744073709551615,\"kind\":\"checkpoint\"}\n");
	msgpack_sbuffer_destroy(&sb);
	tt_buf_free(&t.text);
}

/* Hostile msgpack: declared counts and lengths far past the bytes given must
 * be refused by the bounded walk before msgpack-c allocates anything. */
static void test_msgpack_hostile(void **state)
{
	static const struct { const char *name; const char *bytes; size_t n; int rc; } cases[] = {
		{"array32 of 4G elements", "\xdd\xff\xff\xff\xff", 5, TT_EBADREC},
		{"map32 of 4G pairs", "\xdf\xff\xff\xff\xff", 5, TT_EBADREC},
		{"map32 of 4G pairs, a few present", "\xdf\xff\xff\xff\xff\xa1k\x01", 8, TT_EBADREC},
		{"str32 past the end", "\x81\xa2ts\xdb\x7f\xff\xff\xff" "abc", 12, TT_EBADREC},
		{"bin32 past the end", "\x81\xa2ts\xc6\x00\x01\x00\x00", 9, TT_EBADREC},
		{"truncated int64", "\x81\xa2ts\xd3\x00\x00", 7, TT_EBADREC},
		{"reserved byte 0xc1", "\x81\xa2ts\xc1", 5, TT_EBADREC},
		{"empty input", "", 0, TT_EBADREC},
		{"a scalar", "\x05", 1, TT_EBADREC},
		{"integer key", "\x81\x01\x02", 3, TT_EBADREC},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		transcript t = {0};
		tt_rec_err e = {0};
		size_t used = 99;
		int rc = mp_decode((const uint8_t *)cases[i].bytes, cases[i].n, &used, &e, &t);
		if (rc != cases[i].rc || e.reason[0] == '\0')
			fail_msg("%s: expected rc %d with a reason, got %d (%s)", cases[i].name,
			    cases[i].rc, rc, e.reason);
		assert_int_equal(t.nrec, 0);
		tt_buf_free(&t.text);
	}
}

static void test_msgpack_depth(void **state)
{
	uint8_t buf[64];
	size_t n = 0;
	transcript t = {0};
	tt_rec_err e = {0};
	(void)state;

	/* {"a": [[[...]]]} with the record at level 1: 31 arrays ok, 32 refused
	 * (in msgpack input the document's root counts: msgpack-c's limit) */
	for (int levels = 31; levels <= 32; levels++) {
		n = 0;
		buf[n++] = 0x81;
		buf[n++] = 0xa1;
		buf[n++] = 'a';
		for (int i = 0; i < levels - 1; i++)
			buf[n++] = 0x91;
		buf[n++] = 0x90;
		int rc = mp_decode(buf, n, NULL, &e, &t);
		assert_int_equal(rc, levels == 31 ? 1 : TT_ETOOBIG);
	}
	/* tt_mp_check counts the same way: 33 nested arrays are refused */
	n = 0;
	for (int i = 0; i < 32; i++)
		buf[n++] = 0x91;
	buf[n++] = 0x90;
	assert_int_equal(tt_mp_check(buf, n, NULL, &e), TT_ETOOBIG);
	assert_int_equal(tt_mp_check(buf + 1, n - 1, NULL, &e), 0);
	tt_buf_free(&t.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialects_golden),
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_corr_sources),
		cmocka_unit_test(test_truncated_offset),
		cmocka_unit_test(test_tracehub_out),
		cmocka_unit_test(test_64bit_exact),
		cmocka_unit_test(test_time_units),
		cmocka_unit_test(test_bad_timestamps),
		cmocka_unit_test(test_levels_dirs),
		cmocka_unit_test(test_ids_opaque),
		cmocka_unit_test(test_corr_limits),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_rec_max),
		cmocka_unit_test(test_batch_cap),
		cmocka_unit_test(test_batch_streamed),
		cmocka_unit_test(test_msgpack_streamed),
		cmocka_unit_test(test_otlp_streamed),
		cmocka_unit_test(test_sink_abort),
		cmocka_unit_test(test_padded_input),
		cmocka_unit_test(test_msgpack_input),
		cmocka_unit_test(test_msgpack_hostile),
		cmocka_unit_test(test_msgpack_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
