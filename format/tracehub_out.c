/*
 * tracehub_out.c -- a record as TraceHub writes a trace: the inverse of the
 * TraceHub column of the alias table (alias.c, FORMAT.md 3.2 and 4.1).
 *
 * TraceHub's readers (its web UI, scripts written against its API) look for
 * its own names, so ttd's TraceHub endpoints answer in them: the nine
 * TraceHub fields first, always present (null when the record has none),
 * then every other field of the record under its own name, in record order.
 * Pure: bytes in, JSON out, nothing printed.
 */
#include <string.h>

#include "fmt_internal.h"

/* TraceHub name <- record field, in the order TraceHub writes them. */
static const struct th_field {
	const char *th, *rec;
} th_fields[] = {
	{ "correlation_id", "corr" },
	{ "source_id", "service" },
	{ "timestamp", "ts" },
	{ "suffix", "suffix" },
	{ "direction", "dir" },
	{ "operation", "name" },
	{ "endpoint", "endpoint" },
	{ "data", "attrs" },
	{ "hostname", "host" },
};
#define TH_NFIELDS (sizeof th_fields / sizeof th_fields[0])

/* The th_fields index of record key k, or -1. */
static int th_slot(const char *k, size_t n)
{
	for (size_t i = 0; i < TH_NFIELDS; i++)
		if (strlen(th_fields[i].rec) == n && memcmp(th_fields[i].rec, k, n) == 0)
			return (int)i;
	return -1;
}

/* TraceHub times: milliseconds as a JSON number with the nanoseconds as
 * six fraction digits (exact; a double would round them). */
int tt_json_ms(tt_buf *out, int64_t ns)
{
	char tmp[48];
	uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
	int k = snprintf(tmp, sizeof tmp, "%s%llu.%06llu", ns < 0 ? "-" : "",
	    (unsigned long long)(a / 1000000), (unsigned long long)(a % 1000000));

	return tt_buf_append(out, tmp, (size_t)k) < 0 ? -1 : 0;
}

static int put_raw(tt_buf *out, const char *s)
{
	return tt_buf_append(out, s, strlen(s)) < 0 ? -1 : 0;
}

static int th_write(const uint8_t *rec, size_t len, tt_buf *out)
{
	const uint8_t *end = rec + len, *p = rec, *fields;
	const uint8_t *val[TH_NFIELDS] = { 0 };
	size_t vlen[TH_NFIELDS] = { 0 };
	tt_value m, k;
	size_t h, used;
	int64_t ts;
	int rc;

	if (tt_mp_head(p, len, &m, &h) || m.type != TT_V_MAP || m.v.count > len)
		return TT_EBADREC;
	p += h;
	fields = p;
	/* first pass: where the TraceHub fields are */
	for (uint32_t i = 0; i < m.v.count; i++) {
		int slot;
		if (tt_mp_head(p, (size_t)(end - p), &k, &h) || k.type != TT_V_STR)
			return TT_EBADREC;
		p += h;
		if (tt_mp_skip(p, (size_t)(end - p), TT_DEPTH_MAX, &used, NULL))
			return TT_EBADREC;
		slot = th_slot(k.v.s.p, k.v.s.n);
		if (slot >= 0 && val[slot] == NULL) {
			val[slot] = p;
			vlen[slot] = used;
		}
		p += used;
	}
	if (put_raw(out, "{"))
		return -1;
	for (size_t i = 0; i < TH_NFIELDS; i++) {
		tt_value v;
		if (i && put_raw(out, ","))
			return -1;
		tt_json_str(out, th_fields[i].th, strlen(th_fields[i].th));
		if (put_raw(out, ":"))
			return -1;
		if (val[i] == NULL) {
			if (put_raw(out, "null"))
				return -1;
			continue;
		}
		if (strcmp(th_fields[i].rec, "ts") == 0 && tt_mp_head(val[i], vlen[i], &v, &h) == 0 &&
		    (v.type == TT_V_INT || (v.type == TT_V_UINT && v.v.u <= INT64_MAX))) {
			ts = v.type == TT_V_INT ? v.v.i : (int64_t)v.v.u;
			if (tt_json_ms(out, ts))
				return -1;
			continue;
		}
		if ((rc = tt_value_to_json(val[i], vlen[i], out)) < 0)
			return rc;
	}
	/* then the record's other fields, as they are */
	p = fields;
	for (uint32_t i = 0; i < m.v.count; i++) {
		const uint8_t *kp = p;
		(void)tt_mp_head(p, (size_t)(end - p), &k, &h);
		p += h;
		(void)tt_mp_skip(p, (size_t)(end - p), TT_DEPTH_MAX, &used, NULL);
		if (th_slot(k.v.s.p, k.v.s.n) < 0) {
			if (put_raw(out, ",") || tt_value_to_json(kp, h, out) < 0 || put_raw(out, ":"))
				return -1;
			if ((rc = tt_value_to_json(p, used, out)) < 0)
				return rc;
		}
		p += used;
	}
	return put_raw(out, "}");
}

int tt_rec_to_tracehub_json(const uint8_t *rec, size_t len, tt_buf *out)
{
	size_t start;
	int rc;

	if (!rec || !out)
		return TT_EBADARG;
	start = out->len;
	if ((rc = th_write(rec, len, out)) != 0) {
		out->len = start;
		return rc < -1 ? rc : -ENOMEM;
	}
	return 0;
}
