/*
 * pl-driver.c -- the writer and the oracle of the power-loss suite.
 *
 *   pl-driver gen FIRST COUNT [--framed]
 *       records FIRST..FIRST+COUNT-1 as canonical msgpack on stdout (with
 *       --framed, each preceded by its length as u32 little-endian: what
 *       plreplay.py compares the store's contents with, byte for byte)
 *   pl-driver ingest DIR FIRST COUNT [--segment-size N] [--block-size N]
 *                    [--max-batch B] [--rotate-every R] [--seed S]
 *       appends those records through libteratrace in random batches; after
 *       each tt_writer_flush that returns 0 it writes "ack N" (records up to N
 *       are acknowledged) into the power-loss log through pl_mark(), so the
 *       marker sits exactly between the I/O before and after the ack
 *   pl-driver mark TEXT
 *       writes TEXT into the log (used after a tt-ingest that exited 0)
 *
 * pl_mark is defined by plshim.so (LD_PRELOAD); without it marks are no-ops.
 * Record n: {"ts": T0 + n*1000, "corr": "c<n % 37>", "n": n, "pad": <5..64
 * pseudo-random letters>}: every record is distinct and its first 12 bytes
 * (map, "ts", its value) identify it.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teratrace.h"


#define T0 1732181180000000000ULL

static void mark(const char *text)
{
	static void (*fn)(const char *);
	static int looked;
	if (!looked) {
		*(void **)&fn = dlsym(RTLD_DEFAULT, "pl_mark");
		looked = 1;
	}
	if (fn)
		fn(text);
}

static size_t put_str(uint8_t *p, const char *s, size_t n)
{
	size_t i = 0;
	if (n < 32) {
		p[i++] = (uint8_t)(0xa0 | n);
	} else {
		p[i++] = 0xd9;
		p[i++] = (uint8_t)n;
	}
	memcpy(p + i, s, n);
	return i + n;
}

static size_t put_uint(uint8_t *p, uint64_t v)
{
	size_t i = 0;
	if (v < 128) {
		p[i++] = (uint8_t)v;
	} else if (v < 256) {
		p[i++] = 0xcc, p[i++] = (uint8_t)v;
	} else if (v < 65536) {
		p[i++] = 0xcd, p[i++] = (uint8_t)(v >> 8), p[i++] = (uint8_t)v;
	} else if (v < (1ull << 32)) {
		p[i++] = 0xce;
		for (int k = 3; k >= 0; k--) p[i++] = (uint8_t)(v >> 8 * k);
	} else {
		p[i++] = 0xcf;
		for (int k = 7; k >= 0; k--) p[i++] = (uint8_t)(v >> 8 * k);
	}
	return i;
}

/* Canonical record n into buf (>= 128 bytes); returns its length. */
static size_t make_rec(uint64_t n, uint8_t *buf)
{
	char id[16], pad[64];
	uint64_t x = n * 0x9e3779b97f4a7c15ull + 1;
	size_t i = 0, padlen = 5 + (size_t)(n * 7919 % 60);
	int idl = snprintf(id, sizeof id, "c%u", (unsigned)(n % 37));

	for (size_t k = 0; k < padlen; k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		pad[k] = (char)('a' + x % 26);
	}
	buf[i++] = 0x84;
	i += put_str(buf + i, "ts", 2);
	buf[i++] = 0xcf;
	for (int k = 7; k >= 0; k--)
		buf[i++] = (uint8_t)((T0 + n * 1000) >> 8 * k);
	i += put_str(buf + i, "corr", 4);
	i += put_str(buf + i, id, (size_t)idl);
	i += put_str(buf + i, "n", 1);
	i += put_uint(buf + i, n);
	i += put_str(buf + i, "pad", 3);
	i += put_str(buf + i, pad, padlen);
	return i;
}

static int gen(uint64_t first, uint64_t count, int framed)
{
	uint8_t b[128];
	for (uint64_t n = first; n < first + count; n++) {
		size_t len = make_rec(n, b);
		if (framed) {
			uint8_t l[4] = { (uint8_t)len, (uint8_t)(len >> 8), 0, 0 };
			fwrite(l, 1, 4, stdout);
		}
		fwrite(b, 1, len, stdout);
	}
	return fclose(stdout) == 0 ? 0 : 1;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "pl-driver: %s: %s\n", what, tt_strerror(rc));
	return 1;
}

static int ingest(int argc, char **argv)
{
	tt_store_opts so;
	tt_store *s;
	tt_writer *w;
	uint64_t first = strtoull(argv[3], NULL, 10), count = strtoull(argv[4], NULL, 10);
	uint64_t max_batch = 20, rotate_every = 0, seed = 1, batches = 0, n;
	uint8_t b[128];
	char text[64];
	int rc;

	memset(&so, 0, sizeof so);
	so.flags = TT_OPEN_CREATE;
	for (int i = 5; i + 1 < argc; i += 2) {
		uint64_t v = strtoull(argv[i + 1], NULL, 10);
		if (strcmp(argv[i], "--segment-size") == 0) so.segment_size = v;
		else if (strcmp(argv[i], "--block-size") == 0) so.block_size = (uint32_t)v;
		else if (strcmp(argv[i], "--max-batch") == 0) max_batch = v ? v : 1;
		else if (strcmp(argv[i], "--rotate-every") == 0) rotate_every = v;
		else if (strcmp(argv[i], "--seed") == 0) seed = v ? v : 1;
		else {
			fprintf(stderr, "pl-driver: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	if ((rc = tt_store_open(&s, argv[2], &so)) < 0)
		return die("open", rc);
	if ((rc = tt_writer_open(s, &w)) < 0)
		return die("writer", rc);
	for (n = first; n < first + count;) {
		uint64_t k = 1 + rnd(&seed) % max_batch;
		for (; k > 0 && n < first + count; k--, n++) {
			int64_t t = tt_writer_append(w, b, make_rec(n, b));
			if (t < 0)
				return die("append", (int)t);
		}
		batches++;
		if (rotate_every && batches % rotate_every == 0 && (rc = tt_writer_rotate(w)) < 0)
			return die("rotate", rc);
		if (rnd(&seed) % 2 == 0) {
			if ((rc = tt_writer_flush(w)) < 0)
				return die("flush", rc);
			snprintf(text, sizeof text, "ack %llu", (unsigned long long)(n - 1));
			mark(text);
		}
	}
	if ((rc = tt_writer_close(w, 0)) < 0)
		return die("close", rc);
	snprintf(text, sizeof text, "ack %llu", (unsigned long long)(n - 1));
	mark(text);
	tt_store_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "gen") == 0)
		return gen(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
		    argc > 4 && strcmp(argv[4], "--framed") == 0);
	if (argc >= 5 && strcmp(argv[1], "ingest") == 0)
		return ingest(argc, argv);
	if (argc == 3 && strcmp(argv[1], "mark") == 0) {
		mark(argv[2]);
		return 0;
	}
	fprintf(stderr, "usage: pl-driver gen FIRST COUNT [--framed]\n"
	    "       pl-driver ingest DIR FIRST COUNT [--segment-size N] [--block-size N]\n"
	    "                 [--max-batch B] [--rotate-every R] [--seed S]\n"
	    "       pl-driver mark TEXT\n");
	return 2;
}
