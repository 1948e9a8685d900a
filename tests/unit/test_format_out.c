/*
 * test_format_out.c -- records out: JSON output (escaping, invalid UTF-8, bin,
 * 64-bit ints, NaN/Inf, time, pretty), the record readers (info, ts/corr fast
 * path, dotted field lookup), tt_mp_check, levels, RFC 3339 times, tt_buf, and
 * that the packer writes the same bytes as msgpack-c's msgpack_pack_object().
 */
#include <errno.h>
#include <math.h>
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
#include "fmt_internal.h" /* tt_pack_object */

/* ---- building msgpack with msgpack-c's packer */
typedef struct mp {
	msgpack_sbuffer sb;
	msgpack_packer pk;
} mp;

static void mp_init(mp *m)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mp_str(mp *m, const char *s)
{
	msgpack_pack_str_with_body(&m->pk, s, strlen(s));
}

static const uint8_t *mp_bytes(mp *m) { return (const uint8_t *)m->sb.data; }

/* the record's JSON (flags) must be exactly `want` */
static void expect_out(const uint8_t *rec, size_t len, unsigned flags, const char *want)
{
	tt_buf b = {0};
	int rc = tt_rec_to_json(rec, len, flags, &b);

	if (rc != 0)
		fail_msg("tt_rec_to_json: expected 0, got %d (want %s)", rc, want);
	assert_int_equal(tt_buf_append(&b, "", 1), 0);
	if (strcmp((char *)b.data, want) != 0)
		fail_msg("expected %s\n     got %s", want, (char *)b.data);
	tt_buf_free(&b);
}

static void expect_str(const char *in, size_t n, const char *want)
{
	tt_buf b = {0};

	tt_json_str(&b, in, n);
	assert_int_equal(tt_buf_append(&b, "", 1), 0);
	if (strcmp((char *)b.data, want) != 0)
		fail_msg("escaping %zu bytes: expected %s\n     got %s", n, want, (char *)b.data);
	tt_buf_free(&b);
}

static void test_json_str_escaping(void **state)
{
	(void)state;
	expect_str("plain", 5, "\"plain\"");
	expect_str("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"");
	expect_str("\n\r\t\b\f\x01\x1f", 7, "\"\\n\\r\\t\\b\\f\\u0001\\u001f\"");
	expect_str("nul\0x", 5, "\"nul\\u0000x\"");
	expect_str("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12, "\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* invalid UTF-8 -> U+FFFD per bad byte: a stray continuation byte, a
	 * truncated sequence, an overlong form, a surrogate, beyond U+10FFFF */
	expect_str("a\x80z", 3, "\"a\xef\xbf\xbdz\"");
	expect_str("\xe2\x82", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	expect_str("\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	expect_str("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	expect_str("\xf5\x80\x80\x80", 4,
	    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	expect_str("\xff", 1, "\"\xef\xbf\xbd\"");
}

static void test_rec_to_json_types(void **state)
{
	mp m;
	(void)state;

	mp_init(&m);
	msgpack_pack_map(&m.pk, 11);
	mp_str(&m, "ts"); msgpack_pack_int64(&m.pk, 1732181180123456789LL);
	mp_str(&m, "corr"); msgpack_pack_bin_with_body(&m.pk, "\x00\xab\xff", 3);
	mp_str(&m, "u"); msgpack_pack_uint64(&m.pk, UINT64_MAX);
	mp_str(&m, "i"); msgpack_pack_int64(&m.pk, INT64_MIN);
	mp_str(&m, "nan"); msgpack_pack_double(&m.pk, NAN);
	mp_str(&m, "inf"); msgpack_pack_float(&m.pk, -INFINITY);
	mp_str(&m, "f"); msgpack_pack_double(&m.pk, 0.1);
	mp_str(&m, "bad"); msgpack_pack_str_with_body(&m.pk, "x\xffy", 3);
	mp_str(&m, "arr"); msgpack_pack_array(&m.pk, 3);
	msgpack_pack_nil(&m.pk); msgpack_pack_true(&m.pk); msgpack_pack_false(&m.pk);
	/* non-string map keys are printed as strings of their JSON */
	mp_str(&m, "m"); msgpack_pack_map(&m.pk, 2);
	msgpack_pack_int(&m.pk, 7); msgpack_pack_int(&m.pk, 1);
	msgpack_pack_array(&m.pk, 1); msgpack_pack_int(&m.pk, 2); msgpack_pack_int(&m.pk, 3);
	mp_str(&m, "ext"); msgpack_pack_ext_with_body(&m.pk, "\x01\x02", 2, 5);
	expect_out(mp_bytes(&m), m.sb.size, 0,
	    "{\"ts\":1732181180123456789,\"corr\":\"00abff\",\"u\":18446744073709551615,"
	    "\"i\":-9223372036854775808,\"nan\":null,\"inf\":null,\"f\":0.1,"
	    "\"bad\":\"x\xef\xbf\xbdy\",\"arr\":[null,true,false],\"m\":{\"7\":1,\"[2]\":3},"
	    "\"ext\":\"0102\"}");
	msgpack_sbuffer_destroy(&m.sb);
}

static void test_rec_to_json_time_pretty(void **state)
{
	mp m;
	(void)state;

	mp_init(&m);
	msgpack_pack_map(&m.pk, 3);
	mp_str(&m, "ts"); msgpack_pack_int64(&m.pk, 1732181180123456789LL);
	mp_str(&m, "corr"); mp_str(&m, "r");
	mp_str(&m, "attrs"); msgpack_pack_map(&m.pk, 1);
	mp_str(&m, "a"); msgpack_pack_array(&m.pk, 0);
	expect_out(mp_bytes(&m), m.sb.size, TT_JSON_TIME,
	    "{\"ts\":1732181180123456789,\"time\":\"2024-11-21T09:26:20.123456789Z\","
	    "\"corr\":\"r\",\"attrs\":{\"a\":[]}}");
	expect_out(mp_bytes(&m), m.sb.size, TT_JSON_TIME | TT_JSON_PRETTY,
	    "{\n  \"ts\": 1732181180123456789,\n  \"time\": \"2024-11-21T09:26:20.123456789Z\",\n"
	    "  \"corr\": \"r\",\n  \"attrs\": {\n    \"a\": []\n  }\n}");
	msgpack_sbuffer_destroy(&m.sb);
}

/* Corrupt records: an error, and `out` is left as it was. */
static void test_rec_to_json_corrupt(void **state)
{
	static const struct { const char *b; size_t n; } bad[] = {
		{"\x82\xa2ts\x01", 5},                 /* a pair missing */
		{"\x81\xa2ts\xdb\xff\xff\xff\xff", 9}, /* str32 past the end */
		{"\xdf\xff\xff\xff\xff", 5},           /* map32 of 4G pairs */
		{"\x81\xa2ts\x01\x00", 6},             /* trailing byte */
		{"\x91\x01", 2},                       /* not a map */
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		tt_buf b = {0};
		assert_int_equal(tt_buf_append(&b, "keep", 4), 0);
		int rc = tt_rec_to_json((const uint8_t *)bad[i].b, bad[i].n, 0, &b);
		if (rc != TT_EBADREC || b.len != 4)
			fail_msg("case %zu: expected TT_EBADREC and out untouched, got %d, %zu bytes",
			    i, rc, b.len);
		tt_buf_free(&b);
	}
}

/* Maps keyed by maps: each level doubles the escapes of the key inside, so 30
 * levels (a 65-byte record) would print gigabytes. Three levels print; deeper
 * is TT_ETOOBIG with `out` as it was. */
static void test_rec_to_json_nested_keys(void **state)
{
	uint8_t rec[80] = "\x81\xa2ts";
	size_t n = 4;
	tt_buf b = {0};
	(void)state;

	for (int i = 0; i < 3; i++) /* {"ts": {{{1:2}:2}:2}} */
		rec[n++] = 0x81;
	rec[n++] = 1;
	for (int i = 0; i < 3; i++)
		rec[n++] = 2;
	assert_int_equal(tt_rec_to_json(rec, n, 0, &b), 0);
	assert_int_equal(tt_buf_append(&b, "", 1), 0);
	assert_string_equal((const char *)b.data, "{\"ts\":{\"{\\\"{\\\\\\\"1\\\\\\\":2}\\\":2}\":2}}");
	b.len = 0;
	n = 4;
	for (int i = 0; i < 30; i++)
		rec[n++] = 0x81;
	rec[n++] = 1;
	for (int i = 0; i < 30; i++)
		rec[n++] = 2;
	assert_int_equal(tt_rec_to_json(rec, n, 0, &b), TT_ETOOBIG);
	assert_int_equal(b.len, 0);
	tt_buf_free(&b);
}

/* decode -> msgpack -> JSON -> decode -> msgpack gives the same bytes */
typedef struct keep {
	tt_buf rec;
} keep;

static int keep_rec(void *ctx, const uint8_t *rec, size_t len)
{
	keep *k = ctx;
	k->rec.len = 0;
	return tt_buf_append(&k->rec, rec, len);
}

static void test_round_trip(void **state)
{
	static const char *docs[] = {
		"{\"ts\":1732181180123456789,\"corr\":\"req-42\",\"service\":\"api\",\"level\":\"error\","
		"\"msg\":\"caf\xc3\xa9 \\\"quoted\\\" \\\\ \\n\",\"dur\":-5,\"attrs\":{\"u\":18446744073709551615,"
		"\"f\":1.5e-300,\"n\":null,\"deep\":{\"a\":[1,[2,[3]]]}}}",
		"{\"ts\":-1,\"x\":\"\\u0000\\u001f\"}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
		tt_decoder *d;
		keep k1 = {{0}}, k2 = {{0}};
		tt_sink s1 = {keep_rec, NULL, &k1}, s2 = {keep_rec, NULL, &k2};
		tt_buf json = {0};
		assert_int_equal(tt_decoder_new(&d, NULL), 0);
		assert_int_equal(tt_decode_json(d, docs[i], strlen(docs[i]), 0, 0, &s1, NULL), 1);
		assert_int_equal(tt_rec_to_json(k1.rec.data, k1.rec.len, 0, &json), 0);
		assert_int_equal(tt_decode_json(d, (char *)json.data, json.len, 0, 0, &s2, NULL), 1);
		if (k1.rec.len != k2.rec.len || memcmp(k1.rec.data, k2.rec.data, k1.rec.len))
			fail_msg("round trip of %s changed the record (JSON was %.*s)", docs[i],
			    (int)json.len, (char *)json.data);
		/* and msgpack input of a canonical record gives it back unchanged */
		assert_int_equal(tt_decode_msgpack(d, k1.rec.data, k1.rec.len, NULL, 0, &s2, NULL), 1);
		assert_memory_equal(k1.rec.data, k2.rec.data, k1.rec.len);
		tt_decoder_free(d);
		tt_buf_free(&k1.rec);
		tt_buf_free(&k2.rec);
		tt_buf_free(&json);
	}
}

/* ---- record readers */

static void make_rec(mp *m)
{
	mp_init(m);
	msgpack_pack_map(&m->pk, 9);
	mp_str(m, "ts"); msgpack_pack_int64(&m->pk, 42);
	mp_str(m, "corr"); mp_str(m, "c-1");
	mp_str(m, "service"); mp_str(m, "api");
	mp_str(m, "level"); mp_str(m, "warn");
	mp_str(m, "dur"); msgpack_pack_int64(&m->pk, 1500);
	mp_str(m, "name"); msgpack_pack_int(&m->pk, 5); /* not a string: absent in info */
	mp_str(m, "http"); msgpack_pack_map(&m->pk, 1);
	mp_str(m, "code"); msgpack_pack_int(&m->pk, 201);
	mp_str(m, "attrs"); msgpack_pack_map(&m->pk, 2);
	mp_str(m, "http.status"); msgpack_pack_int(&m->pk, 500);
	mp_str(m, "db"); msgpack_pack_map(&m->pk, 1);
	mp_str(m, "rows"); msgpack_pack_uint64(&m->pk, UINT64_MAX);
	mp_str(m, "msg"); mp_str(m, "hello");
}

static void test_rec_info(void **state)
{
	mp m;
	tt_rec_info info;
	(void)state;

	make_rec(&m);
	assert_int_equal(tt_rec_info_get(mp_bytes(&m), m.sb.size, &info), 0);
	assert_int_equal(info.ts, 42);
	assert_int_equal(info.corr.n, 3);
	assert_memory_equal(info.corr.p, "c-1", 3);
	assert_int_equal(info.corr_is_bin, 0);
	assert_int_equal(info.service.n, 3);
	assert_int_equal(info.level, TT_LVL_WARN);
	assert_int_equal(info.dur, 1500);
	assert_null(info.name.p);
	assert_null(info.span.p);
	assert_int_equal(info.msg.n, 5);
	/* one byte short, one byte extra: not exactly one record */
	assert_int_equal(tt_rec_info_get(mp_bytes(&m), m.sb.size - 1, &info), TT_EBADREC);
	msgpack_sbuffer_write(&m.sb, "\xc0", 1);
	assert_int_equal(tt_rec_info_get(mp_bytes(&m), m.sb.size, &info), TT_EBADREC);
	msgpack_sbuffer_destroy(&m.sb);
	/* ts not first: not canonical */
	mp_init(&m);
	msgpack_pack_map(&m.pk, 2);
	mp_str(&m, "a"); msgpack_pack_int(&m.pk, 1);
	mp_str(&m, "ts"); msgpack_pack_int(&m.pk, 1);
	assert_int_equal(tt_rec_info_get(mp_bytes(&m), m.sb.size, &info), TT_EBADREC);
	msgpack_sbuffer_destroy(&m.sb);
}

static void test_rec_ts_corr(void **state)
{
	mp m;
	int64_t ts = 0;
	const char *c;
	size_t cn;
	(void)state;

	make_rec(&m);
	assert_int_equal(tt_rec_ts_corr(mp_bytes(&m), m.sb.size, &ts, &c, &cn), 0);
	assert_int_equal(ts, 42);
	assert_int_equal(cn, 3);
	assert_memory_equal(c, "c-1", 3);
	msgpack_sbuffer_destroy(&m.sb);

	mp_init(&m); /* bin corr, negative ts */
	msgpack_pack_map(&m.pk, 2);
	mp_str(&m, "ts"); msgpack_pack_int64(&m.pk, -7);
	mp_str(&m, "corr"); msgpack_pack_bin_with_body(&m.pk, "\x01\x02", 2);
	assert_int_equal(tt_rec_ts_corr(mp_bytes(&m), m.sb.size, &ts, &c, &cn), 0);
	assert_int_equal(ts, -7);
	assert_int_equal(cn, 2);
	msgpack_sbuffer_destroy(&m.sb);

	mp_init(&m); /* no corr */
	msgpack_pack_map(&m.pk, 2);
	mp_str(&m, "ts"); msgpack_pack_int64(&m.pk, 1);
	mp_str(&m, "msg"); mp_str(&m, "x");
	assert_int_equal(tt_rec_ts_corr(mp_bytes(&m), m.sb.size, &ts, &c, &cn), 0);
	assert_null(c);
	assert_int_equal(cn, 0);
	/* truncated */
	assert_int_equal(tt_rec_ts_corr(mp_bytes(&m), 3, &ts, &c, &cn), TT_EBADREC);
	msgpack_sbuffer_destroy(&m.sb);
}

static void test_rec_field(void **state)
{
	mp m;
	tt_value v;
	(void)state;

	make_rec(&m);
	const uint8_t *r = mp_bytes(&m);
	size_t n = m.sb.size;
	assert_int_equal(tt_rec_field(r, n, "service", &v), 1);
	assert_int_equal(v.type, TT_V_STR);
	assert_int_equal(v.v.s.n, 3);
	assert_int_equal(tt_rec_field(r, n, "http.code", &v), 1); /* nested map */
	assert_int_equal(v.type, TT_V_INT);
	assert_int_equal(v.v.i, 201);
	assert_int_equal(tt_rec_field(r, n, "http.status", &v), 1); /* attrs fallback, dotted key */
	assert_int_equal(v.v.i, 500);
	assert_int_equal(tt_rec_field(r, n, "attrs.http.status", &v), 1);
	assert_int_equal(v.v.i, 500);
	assert_int_equal(tt_rec_field(r, n, "db.rows", &v), 1); /* attrs fallback, nested */
	assert_int_equal(v.type, TT_V_UINT);
	assert_true(v.v.u == UINT64_MAX);
	assert_int_equal(tt_rec_field(r, n, "attrs", &v), 1);
	assert_int_equal(v.type, TT_V_MAP);
	assert_int_equal(v.v.count, 2);
	{ /* raw covers the whole value: it converts to JSON on its own */
		tt_buf b = {0};
		assert_int_equal(tt_value_to_json(v.raw, v.raw_len, &b), 0);
		assert_int_equal(tt_buf_append(&b, "", 1), 0);
		assert_string_equal((char *)b.data, "{\"http.status\":500,\"db\":{\"rows\":18446744073709551615}}");
		tt_buf_free(&b);
	}
	assert_int_equal(tt_rec_field(r, n, "nope", &v), 0);
	assert_int_equal(tt_rec_field(r, n, "http.nope", &v), 0);
	assert_int_equal(tt_rec_field(r, n, "service.x", &v), 0);
	assert_int_equal(tt_rec_field(r, n - 2, "msg", &v), TT_EBADREC);
	msgpack_sbuffer_destroy(&m.sb);
}

static void test_mp_check(void **state)
{
	mp m;
	size_t used = 0;
	tt_rec_err e = {0};
	(void)state;

	make_rec(&m);
	assert_int_equal(tt_mp_check(mp_bytes(&m), m.sb.size, &used, &e), 0);
	assert_int_equal(used, m.sb.size);
	/* every truncation of a valid record is refused with a reason */
	for (size_t n = 0; n < m.sb.size; n++) {
		memset(&e, 0, sizeof e);
		if (tt_mp_check(mp_bytes(&m), n, &used, &e) != TT_EBADREC || !e.reason[0])
			fail_msg("truncated to %zu of %zu bytes: expected TT_EBADREC", n, m.sb.size);
	}
	msgpack_sbuffer_destroy(&m.sb);
	/* the offset points at the header that lies */
	assert_int_equal(tt_mp_check((const uint8_t *)"\x92\x01\xdd\xff\xff\xff\xff", 7, &used, &e),
	    TT_EBADREC);
	assert_int_equal(e.offset, 2);
	assert_int_equal(tt_mp_check((const uint8_t *)"\xdf\xff\xff\xff\xff", 5, &used, &e),
	    TT_EBADREC);
	assert_int_equal(tt_mp_check((const uint8_t *)"\xdb\x00\x00\x00\x05" "abc", 8, &used, &e),
	    TT_EBADREC);
	assert_int_equal(tt_mp_check((const uint8_t *)"\xc1", 1, &used, &e), TT_EBADREC);
	/* a valid value followed by more bytes: used says where it ends */
	assert_int_equal(tt_mp_check((const uint8_t *)"\x92\x01\xa1x\xff", 5, &used, &e), 0);
	assert_int_equal(used, 4);
}

/* The record packer picks exactly the encodings msgpack-c's packer picks. */
static void pack_both(const msgpack_object *o)
{
	mp m;
	tt_buf b = {0};

	mp_init(&m);
	assert_int_equal(msgpack_pack_object(&m.pk, *o), 0);
	assert_int_equal(tt_pack_object(&b, o), 0);
	if (b.len != m.sb.size || memcmp(b.data, m.sb.data, b.len)) {
		char x[128] = "", y[128] = "";
		for (size_t i = 0; i < m.sb.size && i < 40; i++)
			sprintf(x + 2 * i, "%02x", (uint8_t)m.sb.data[i]);
		for (size_t i = 0; i < b.len && i < 40; i++)
			sprintf(y + 2 * i, "%02x", b.data[i]);
		fail_msg("object type %d: msgpack-c wrote %s, tt_pack_object wrote %s", o->type, x, y);
	}
	tt_buf_free(&b);
	msgpack_sbuffer_destroy(&m.sb);
}

static void test_packer_matches_msgpack_c(void **state)
{
	static const uint64_t us[] = {0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
		(uint64_t)UINT32_MAX + 1, UINT64_MAX};
	static const int64_t is[] = {-1, -32, -33, -128, -129, -32768, -32769, INT32_MIN,
		(int64_t)INT32_MIN - 1, INT64_MIN};
	static const uint32_t lens[] = {0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536};
	char *big = calloc(1, 70000);
	msgpack_object o;
	(void)state;

	for (size_t i = 0; i < sizeof us / sizeof *us; i++) {
		o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o.via.u64 = us[i];
		pack_both(&o);
	}
	for (size_t i = 0; i < sizeof is / sizeof *is; i++) {
		o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
		o.via.i64 = is[i];
		pack_both(&o);
	}
	o.type = MSGPACK_OBJECT_FLOAT64; o.via.f64 = -2.5; pack_both(&o);
	o.type = MSGPACK_OBJECT_FLOAT32; o.via.f64 = 0.5; pack_both(&o);
	o.type = MSGPACK_OBJECT_NIL; pack_both(&o);
	o.type = MSGPACK_OBJECT_BOOLEAN; o.via.boolean = true; pack_both(&o);
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		msgpack_object *el = calloc(lens[i] ? lens[i] : 1, sizeof *el);
		msgpack_object_kv *kv = calloc(lens[i] ? lens[i] : 1, sizeof *kv);
		o.type = MSGPACK_OBJECT_STR; o.via.str.ptr = big; o.via.str.size = lens[i]; pack_both(&o);
		o.type = MSGPACK_OBJECT_BIN; o.via.bin.ptr = big; o.via.bin.size = lens[i]; pack_both(&o);
		o.type = MSGPACK_OBJECT_EXT; o.via.ext.type = 3; o.via.ext.ptr = big;
		o.via.ext.size = lens[i]; pack_both(&o);
		o.type = MSGPACK_OBJECT_ARRAY; o.via.array.ptr = el; o.via.array.size = lens[i]; pack_both(&o);
		o.type = MSGPACK_OBJECT_MAP; o.via.map.ptr = kv; o.via.map.size = lens[i]; pack_both(&o);
		free(el);
		free(kv);
	}
	for (uint32_t n = 1; n <= 16; n *= 2) { /* fixext sizes */
		o.type = MSGPACK_OBJECT_EXT; o.via.ext.type = -1; o.via.ext.ptr = big; o.via.ext.size = n;
		pack_both(&o);
	}
	free(big);
}

static void test_levels(void **state)
{
	(void)state;
	assert_int_equal(tt_level_parse("WARNING", 7), TT_LVL_WARN);
	assert_int_equal(tt_level_parse("warn", 4), TT_LVL_WARN);
	assert_int_equal(tt_level_parse("Err", 3), TT_LVL_ERROR);
	assert_int_equal(tt_level_parse("critical", 8), TT_LVL_FATAL);
	assert_int_equal(tt_level_parse("TRACE", 5), TT_LVL_TRACE);
	assert_int_equal(tt_level_parse("debugx", 6), TT_LVL_NONE);
	assert_int_equal(tt_level_parse("debug", 3), TT_LVL_NONE); /* n is the length */
	assert_int_equal(tt_level_parse(NULL, 0), TT_LVL_NONE);
	assert_string_equal(tt_level_name(TT_LVL_INFO), "info");
	assert_string_equal(tt_level_name(TT_LVL_FATAL), "fatal");
	assert_string_equal(tt_level_name(TT_LVL_NONE), "");
	assert_string_equal(tt_level_name(99), "");
	for (int l = TT_LVL_TRACE; l <= TT_LVL_FATAL; l++)
		assert_int_equal(tt_level_parse(tt_level_name(l), strlen(tt_level_name(l))), l);
}

static void test_rfc3339(void **state)
{
	static const struct { int64_t ns; const char *s; } cases[] = {
		{0, "1970-01-01T00:00:00.000000000Z"},
		{-1, "1969-12-31T23:59:59.999999999Z"},
		{1732181180123456789LL, "2024-11-21T09:26:20.123456789Z"},
		{1709164800000000000LL, "2024-02-29T00:00:00.000000000Z"},
		{INT64_MAX, "2262-04-11T23:47:16.854775807Z"},
		{INT64_MIN, "1677-09-21T00:12:43.145224192Z"},
	};
	char buf[40];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		size_t n = tt_time_rfc3339(cases[i].ns, buf, sizeof buf);
		assert_int_equal(n, strlen(cases[i].s));
		assert_string_equal(buf, cases[i].s);
	}
}

static void test_buf(void **state)
{
	tt_buf b = {0};
	(void)state;

	assert_int_equal(tt_buf_append(&b, "abc", 3), 0);
	assert_int_equal(tt_buf_reserve(&b, 10000), 0);
	assert_true(b.cap - b.len >= 10000);
	assert_int_equal(tt_buf_append(&b, NULL, 0), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(tt_buf_reserve(&b, SIZE_MAX), -ENOMEM);
	assert_memory_equal(b.data, "abc", 3);
	tt_buf_free(&b);
	assert_null(b.data);
	tt_buf_free(&b);
	tt_buf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str_escaping),
		cmocka_unit_test(test_rec_to_json_types),
		cmocka_unit_test(test_rec_to_json_time_pretty),
		cmocka_unit_test(test_rec_to_json_corrupt),
		cmocka_unit_test(test_rec_to_json_nested_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_rec_info),
		cmocka_unit_test(test_rec_ts_corr),
		cmocka_unit_test(test_rec_field),
		cmocka_unit_test(test_mp_check),
		cmocka_unit_test(test_packer_matches_msgpack_c),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
