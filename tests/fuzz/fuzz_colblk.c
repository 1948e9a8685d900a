/*
 * fuzz_colblk.c -- the columnar block payload (codec 2, FORMAT.md 6.4), both
 * ways.
 *
 * Mode byte (input[0]) bit 0 clear: the rest is a payload as a damaged or
 * forged block would hand it to colblk_decode (record count from input[1..2],
 * raw length from input[3..5]); decoded whole, from a frame, and for one id,
 * and projected (colblk_fields: ts, service, corr).
 * Checks: no crash, sanitizer report, hang or allocation over the limit;
 * what it gives is never longer than the raw length, and a whole decode
 * gives all of it or fails.
 * Bit 0 set: the rest is msgpack objects back to back (the fuzzer's records),
 * framed as a writer frames them. colblk_encode must lay them out or leave
 * them to codec 1; when it lays them out, decoding gives the frames byte for
 * byte, and every partial decode (from each frame, one id's records) agrees
 * with them: the unit test's oracle on the fuzzer's records.
 */
#include <string.h>

#include "fuzz.h"
#include "store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tt_buf raw, out, enc;
static const uint8_t *const keys[] = { (const uint8_t *)"\xa2" "ts",
	(const uint8_t *)"\xa7" "service", (const uint8_t *)"\xa4" "corr" };

/* projected values (ctx: 1 when the layout is one colblk_encode made, so
 * each value is one whole msgpack value) */
static int proj_rec(void *ctx, const colval *v, uint32_t idx)
{
	volatile uint8_t sink = 0;

	for (int k = 0; k < 3; k++) {
		size_t used;
		if (!v[k].p)
			continue;
		FUZZ_ASSERT(v[k].n >= 1 && !v[k].is_int);
		for (uint32_t j = 0; j < v[k].n; j++) /* every byte readable */
			sink ^= v[k].p[j];
		if (*(const int *)ctx)
			FUZZ_ASSERT(tt_mp_check(v[k].p, v[k].n, &used, NULL) == 0 && used == v[k].n);
	}
	(void)sink;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}

static void decode_forged(const uint8_t *p, size_t n)
{
	uint32_t nrec, raw_len;
	size_t got;

	if (n < 6)
		return;
	nrec = (uint32_t)(p[1] | p[2] << 8);
	raw_len = (uint32_t)(p[3] | p[4] << 8 | p[5] << 16);
	p += 6, n -= 6;
	out.len = 0;
	FUZZ_ASSERT(tt_buf_reserve(&out, (size_t)raw_len + COL_OUT_SLACK) == 0);
	fuzz_mem_begin();
	if (colblk_decode(p, n, nrec, raw_len, 0, 0, NULL, 0, out.data, &got) == 0)
		FUZZ_ASSERT(got == raw_len);
	if (colblk_decode(p, n, nrec, raw_len, raw_len / 2, raw_len - raw_len / 4, NULL, 0,
	    out.data, &got) == 0)
		FUZZ_ASSERT(got <= raw_len);
	if (colblk_decode(p, n, nrec, raw_len, 0, 0, "abc", 3, out.data, &got) == 0)
		FUZZ_ASSERT(got == raw_len);
	{
		int whole = 0;
		(void)colblk_fields(p, n, nrec, keys, 3, proj_rec, &whole);
	}
	fuzz_mem_end(n + raw_len, "colblk_decode");
}

static void round_trip(const uint8_t *p, size_t n)
{
	const tt_buf *col;
	uint32_t nrec = 0;
	size_t used, got, pos = 0, len;
	const uint8_t *rec;

	raw.len = 0;
	while (n > 0 && nrec < 2000 && tt_mp_check(p, n, &used, NULL) == 0) {
		uint8_t fr[8];
		FUZZ_ASSERT(tt_buf_append(&raw, fr, rec_frame(fr, used)) == 0);
		FUZZ_ASSERT(tt_buf_append(&raw, p, used) == 0);
		p += used, n -= used, nrec++;
	}
	if (nrec == 0 || colblk_encode(raw.data, (uint32_t)raw.len, nrec, &col) != 0)
		return;
	enc.len = out.len = 0;
	FUZZ_ASSERT(tt_buf_append(&enc, col->data, col->len) == 0);
	FUZZ_ASSERT(tt_buf_reserve(&out, raw.len + COL_OUT_SLACK) == 0);
	FUZZ_ASSERT(colblk_decode(enc.data, enc.len, nrec, (uint32_t)raw.len, 0, 0, NULL, 0,
	    out.data, &got) == 0);
	FUZZ_ASSERT(got == raw.len && memcmp(out.data, raw.data, got) == 0);
	{
		int whole = 1;
		FUZZ_ASSERT(colblk_fields(enc.data, enc.len, nrec, keys, 3, proj_rec, &whole) == 0);
	}
	while (rec_next(raw.data, raw.len, &pos, &rec, &len) > 0) {
		uint32_t from = (uint32_t)(rec - raw.data);
		int64_t ts;
		const char *id;
		size_t id_len, p2 = 0, l2;
		const uint8_t *r2;
		FUZZ_ASSERT(colblk_decode(enc.data, enc.len, nrec, (uint32_t)raw.len, from,
		    (uint32_t)pos, NULL, 0, out.data, &got) == 0);
		FUZZ_ASSERT(got >= pos && memcmp(out.data + from, rec, pos - from) == 0);
		if (tt_rec_ts_corr(rec, len, &ts, &id, &id_len) < 0 || !id)
			continue;
		FUZZ_ASSERT(colblk_decode(enc.data, enc.len, nrec, (uint32_t)raw.len, 0, 0, id,
		    id_len, out.data, &got) == 0 && got == raw.len);
		while (rec_next(out.data, got, &p2, &r2, &l2) > 0) {
			const uint8_t *o = raw.data + (r2 - out.data);
			int64_t ts2;
			const char *c2;
			size_t c2n;
			/* given: equal; not given (another id's): marked as such */
			FUZZ_ASSERT(memcmp(r2, o, l2) == 0 || r2[0] == COL_NOT_GIVEN);
			if (r2[0] == COL_NOT_GIVEN)
				FUZZ_ASSERT(tt_rec_ts_corr(r2, l2, &ts2, &c2, &c2n) < 0);
		}
		FUZZ_ASSERT(p2 == raw.len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		round_trip(data + 1, size - 1);
	else
		decode_forged(data, size);
	return 0;
}
