/*
 * fuzz_parse.c -- the parsers of user-typed values (format/timeparse.c and
 * friends): --since/--until and ?since= (tt_parse_time), --max-age and
 * ?timeout= (tt_parse_duration), --max-size (tt_parse_size), cursors from
 * Last-Event-ID / ?after= (tt_pos_parse), level names, and the strict
 * RFC 3339 reader the decoders use on "timestamp" strings.
 *
 * The input (up to its first NUL) goes to every parser. Properties checked:
 * a duration is never negative; "now" anchors relative times (the same text
 * against two anchors differs by the anchors' difference or not at all);
 * times print and parse back to themselves (tt_time_rfc3339 ->
 * tt_parse_time, from the first 8 input bytes as ns); cursors format and
 * parse back to themselves.
 */
#include <string.h>

#include "fuzz.h"
#include "fmt_internal.h"
#include "teratrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1763716000123456789LL /* 2025-11-21T09:06:40.123456789Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[64];
	int64_t t1, t2, d, ns;
	uint64_t sz;
	tt_pos pos, back;
	int r1, r2;

	FUZZ_ASSERT(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';

	r1 = tt_parse_time(s, NOW, &t1);
	r2 = tt_parse_time(s, NOW + 3600000000000LL, &t2);
	FUZZ_ASSERT((r1 < 0) == (r2 < 0));
	if (r1 == 0)
		FUZZ_ASSERT(t2 == t1 || t2 - t1 == 3600000000000LL ||
		    /* "today", "yesterday": midnight of a day an hour later */
		    (t2 - t1) % 86400000000000LL == 0);
	if (tt_parse_duration(s, &d) == 0)
		FUZZ_ASSERT(d >= 0);
	(void)tt_parse_size(s, &sz);
	(void)tt_level_parse(s, strlen(s));
	(void)tt_iso8601_parse(s, strlen(s), &ns);
	if (tt_pos_parse(s, &pos) == 0) {
		FUZZ_ASSERT(tt_pos_format(&pos, buf, sizeof buf) == 0);
		FUZZ_ASSERT(tt_pos_parse(buf, &back) == 0 && back.seq == pos.seq &&
		    back.idx == pos.idx && back.gen == pos.gen);
	}

	/* print -> parse round trip of a time */
	if (size >= 8) {
		memcpy(&ns, data, 8);
		if (tt_time_rfc3339(ns, buf, sizeof buf) > 0) {
			int64_t got;
			if (tt_parse_time(buf, NOW, &got) != 0 || got != ns) {
				fprintf(stderr, "%lld printed as '%s' parses as %lld\n", (long long)ns,
				    buf, (long long)got);
				abort();
			}
		}
	}
	free(s);
	return 0;
}
