/*
 * mp.c -- the msgpack ttd handles itself: finding where one object ends in a
 * byte stream (the unix socket carries back-to-back objects with no length
 * prefix), and writing the few small maps it sends back. Decoding records is
 * format/'s job (tt_decode_msgpack); this only frames.
 */
#include <string.h>

#include "ttd.h"

/* Big-endian reads of n bytes at p. */
static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Iterative, resumable walk. s->stack[d] counts the objects still to skip at
 * nesting level d; containers push their element counts, so nesting deeper
 * than TT_DEPTH_MAX (+1 for a batch array) is refused. An element is
 * consumed only once its header and payload are all present, so a call that
 * runs out of bytes leaves the state at that element and the next call (with
 * more bytes, same start) resumes there: a large message arriving in many
 * reads is scanned once, not once per read.
 */
void
ttd_mpscan_init(ttd_mpscan *s)
{
	s->depth = 0;
	s->stack[0] = 1;
	s->i = 0;
}

long long
ttd_mpscan_run(ttd_mpscan *s, const uint8_t *p, size_t n)
{
	for (;;) {
		uint8_t c;
		uint64_t skip = 0, count = 0;
		size_t i = s->i;
		int hdr = 1;

		while (s->depth >= 0 && s->stack[s->depth] == 0)
			s->depth--;
		if (s->depth < 0)
			return (long long)i;
		if (i >= n)
			return 0;
		c = p[i];
		if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
			/* fixint, nil, bool */
		} else if ((c & 0xe0) == 0xa0) {
			skip = c & 0x1f;
		} else if ((c & 0xf0) == 0x90) {
			count = c & 0x0f;
		} else if ((c & 0xf0) == 0x80) {
			count = 2 * (uint64_t)(c & 0x0f);
		} else {
			int lb = 0; /* bytes of a length field */
			switch (c) {
			case 0xc4: case 0xd9: lb = 1; break;
			case 0xc5: case 0xda: lb = 2; break;
			case 0xc6: case 0xdb: lb = 4; break;
			case 0xc7: lb = 1; skip = 1; break; /* ext: + type byte */
			case 0xc8: lb = 2; skip = 1; break;
			case 0xc9: lb = 4; skip = 1; break;
			case 0xca: skip = 4; break;
			case 0xcb: skip = 8; break;
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xce: case 0xd2: skip = 4; break;
			case 0xcf: case 0xd3: skip = 8; break;
			case 0xd4: skip = 2; break;
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc: case 0xde: lb = 2; break;
			case 0xdd: case 0xdf: lb = 4; break;
			default: return -1; /* 0xc1 is never used */
			}
			if (lb) {
				uint64_t len;
				if (n - i < 1 + (size_t)lb)
					return 0;
				len = be(p + i + 1, lb);
				hdr += lb;
				if (c == 0xdc || c == 0xdd)
					count = len;
				else if (c == 0xde || c == 0xdf)
					count = 2 * len;
				else
					skip += len;
			}
		}
		if ((uint64_t)(n - i) < (uint64_t)hdr + skip)
			return 0;
		if (count && s->depth + 1 > TT_DEPTH_MAX + 1)
			return -2;
		s->stack[s->depth]--;
		s->i = i + (size_t)hdr + (size_t)skip;
		if (count)
			s->stack[++s->depth] = count;
	}
}

void
ttd_mp_map(tt_buf *b, uint32_t n)
{
	uint8_t h[5];
	if (n < 16) {
		h[0] = (uint8_t)(0x80 | n);
		(void)tt_buf_append(b, h, 1);
	} else {
		h[0] = 0xdf;
		h[1] = (uint8_t)(n >> 24);
		h[2] = (uint8_t)(n >> 16);
		h[3] = (uint8_t)(n >> 8);
		h[4] = (uint8_t)n;
		(void)tt_buf_append(b, h, 5);
	}
}

void
ttd_mp_str(tt_buf *b, const char *s, size_t n)
{
	uint8_t h[5];
	if (n < 32) {
		h[0] = (uint8_t)(0xa0 | n);
		(void)tt_buf_append(b, h, 1);
	} else if (n < 256) {
		h[0] = 0xd9;
		h[1] = (uint8_t)n;
		(void)tt_buf_append(b, h, 2);
	} else {
		if (n > 65535)
			n = 65535;
		h[0] = 0xda;
		h[1] = (uint8_t)(n >> 8);
		h[2] = (uint8_t)n;
		(void)tt_buf_append(b, h, 3);
	}
	(void)tt_buf_append(b, s, n);
}

void
ttd_mp_uint(tt_buf *b, uint64_t v)
{
	uint8_t h[9];
	if (v < 128) {
		h[0] = (uint8_t)v;
		(void)tt_buf_append(b, h, 1);
		return;
	}
	h[0] = 0xcf;
	for (int i = 0; i < 8; i++)
		h[1 + i] = (uint8_t)(v >> (56 - 8 * i));
	(void)tt_buf_append(b, h, 9);
}
