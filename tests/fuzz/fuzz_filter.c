/*
 * fuzz_filter.c -- record filters built from user text (format/filter.c):
 * tt-query/tt-tail's FIELD=VALUE, --service, --level, --grep, and the same
 * through ttd's /stream and /recent query strings.
 *
 * The input is lines: the first is a --grep pattern; each following line up
 * to a blank one is a FIELD=VALUE (or FIELD!=VALUE) term, "@NAME" a service,
 * "!N" a minimum level; the rest is JSON decoded into records that the
 * filter is run on. A pattern glibc's regcomp would take seconds or
 * gigabytes to compile must be refused by the cost bound first (the run's
 * -timeout and -malloc_limit_mb catch one that is not).
 */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx { const tt_filter *f; size_t n, matched; };

static int on_rec(void *arg, const uint8_t *rec, size_t len)
{
	struct ctx *c = arg;
	int m = tt_filter_match(c->f, rec, len);

	FUZZ_ASSERT(m == 0 || m == 1);
	c->n++;
	c->matched += (size_t)m;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *line, *rest;
	tt_filter *f;
	tt_rec_err err;
	tt_decoder *d;
	struct ctx c = { NULL, 0, 0 };
	tt_sink sink = { on_rec, NULL, &c };
	int rc;

	FUZZ_ASSERT(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	FUZZ_ASSERT(tt_filter_new(&f) == 0);
	FUZZ_ASSERT(tt_filter_is_empty(f) == 1);
	rest = s;
	line = strsep(&rest, "\n");
	if (*line) {
		memset(&err, 0, sizeof err);
		rc = tt_filter_set_grep(f, line, &err);
		FUZZ_ASSERT(rc == 0 || rc == TT_EBADARG || rc == TT_ETOOBIG);
		FUZZ_ASSERT(memchr(err.reason, '\0', sizeof err.reason) != NULL);
	}
	while (rest && (line = strsep(&rest, "\n")) != NULL && *line) {
		if (line[0] == '@')
			rc = tt_filter_add_service(f, line + 1);
		else if (line[0] == '!')
			rc = tt_filter_set_level(f, atoi(line + 1));
		else
			rc = tt_filter_add_match(f, line);
		FUZZ_ASSERT(rc == 0 || rc == TT_EBADARG || rc == TT_ETOOBIG);
	}
	(void)tt_filter_set_time(f, 0, INT64_MAX);
	(void)tt_filter_set_dur(f, -1, 1000000000);
	c.f = f;
	if (rest && *rest) {
		FUZZ_ASSERT(tt_decoder_new(&d, NULL) == 0);
		(void)tt_decode_json(d, rest, strlen(rest), 0, 1700000000000000000LL, &sink, &err);
		tt_decoder_free(d);
	}
	tt_filter_free(f);
	free(s);
	return 0;
}
