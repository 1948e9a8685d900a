/*
 * jsonw.c -- writing the small JSON documents ttd answers with. Records
 * themselves are written by tt_rec_to_json (format/).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ttd.h"

void
jw_raw(tt_buf *b, const char *s)
{
	(void)tt_buf_append(b, s, strlen(s));
}

void
jw_fmt(tt_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		(void)tt_buf_append(b, tmp, (size_t)n);
		return;
	}
	if (tt_buf_reserve(b, (size_t)n + 1) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
jw_str(tt_buf *b, const char *s)
{
	tt_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

void
jw_strn(tt_buf *b, const char *s, size_t n)
{
	tt_json_str(b, s ? s : "", s ? n : 0);
}

void
jw_key(tt_buf *b, int *first, const char *key)
{
	if (!*first)
		(void)tt_buf_append(b, ",", 1);
	*first = 0;
	jw_str(b, key);
	(void)tt_buf_append(b, ":", 1);
}

void
jw_rejects(tt_buf *b, const ttd_batch *bt)
{
	jw_raw(b, "[");
	for (size_t i = 0; i < bt->n_rej_kept; i++) {
		const ttd_reject *r = &bt->rej[i];
		jw_fmt(b, "%s{\"index\":%zu,\"field\":", i ? "," : "", r->index);
		jw_str(b, r->field);
		jw_raw(b, ",\"reason\":");
		jw_str(b, r->reason);
		jw_raw(b, "}");
	}
	jw_raw(b, "]");
}

/* One record, in TraceHub's shape (the TraceHub endpoints) or TeraTrace's
 * (tt-query -o jsonl, with "time"; ?format=tt and /api/), as an element of a
 * list: a comma before every element but the first (*n counts them). A
 * record JSON cannot show leaves no trace in b and is not counted. */
int
jw_rec(tt_buf *b, size_t *n, const uint8_t *rec, size_t len, int tracehub)
{
	size_t mark = b->len;
	int r;

	if (n && *n)
		jw_raw(b, ",");
	r = tracehub ? tt_rec_to_tracehub_json(rec, len, b) :
	    tt_rec_to_json(rec, len, TT_JSON_TIME, b);
	if (r < 0) {
		b->len = mark;
		return r;
	}
	if (n)
		(*n)++;
	return 0;
}
