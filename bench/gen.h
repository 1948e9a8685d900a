/*
 * gen.h -- deterministic generator of realistic trace records (bench/ only).
 *
 * One (seed, start time) gives one byte-identical stream of records, on every
 * machine: the PRNG is xoshiro256** seeded through splitmix64, there is no
 * clock and no floating-point arithmetic whose result depends on the platform
 * (costs are integer micro-dollars printed as decimals). The caller chooses
 * the start: the benchmarks a fixed one (GEN_START_NS), tt-gen "now" minus
 * gen_span_max() unless told otherwise, so that its records end by now.
 *
 * Shape of the stream (chosen to look like a small fleet serving requests):
 *   - each request (correlation id: 128 random bits, 32 lowercase hex chars)
 *     produces 4..24 records over 2..5 services: an entry "->", sub-calls to
 *     the other services ("->" then "<-"), logs, checkpoints, fs reads/writes,
 *     LLM calls with tokens and cost, and a final "<-" with the duration;
 *   - GEN_CONCURRENCY requests are in flight at once and their records are
 *     interleaved the way concurrent requests are;
 *   - ts is nanoseconds since the epoch, strictly increasing with jitter:
 *     1..GEN_STEP_MAX_NS apart (about 20 us on average);
 *   - about 5 % of records are errors (level "error");
 *   - span/parent ids are 64 random bits as 16 lowercase hex chars;
 *   - exactly n records are produced (the requests still in flight near the
 *     end are sized so that the last one finishes at record n).
 * The JSON text of a record is 300..450 bytes, native TeraTrace field names.
 */
#ifndef TT_BENCH_GEN_H
#define TT_BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

#define GEN_CONCURRENCY 48   /* requests in flight at once */
#define GEN_ATTRS_MAX 6      /* attrs entries per record */
#define GEN_JSON_MAX 1024    /* upper bound of one JSON record (no newline) */
#define GEN_START_NS 1795219200000000000LL /* 2026-11-21T00:00:00Z: the benchmarks' start */
#define GEN_STEP_MAX_NS 40000 /* largest gap between two records' ts */

typedef enum gen_vt { GEN_STR, GEN_INT, GEN_MICRO } gen_vt; /* MICRO: i / 1e6 */

typedef struct gen_attr {
	const char *key;
	gen_vt type;
	int64_t i;     /* GEN_INT, GEN_MICRO */
	char s[48];    /* GEN_STR */
} gen_attr;

/* One record. Absent string fields are NULL or ""; absent dur is -1. Pointers
 * are valid until the next gen_next() call. */
typedef struct gen_rec {
	int64_t ts;
	char corr[33];
	char span[17];
	char parent[17];       /* "" when the record has no parent */
	const char *service;
	char host[32];
	const char *level;
	const char *kind;
	char name[48];
	const char *dir;       /* "->", "<-" or NULL */
	char endpoint[48];     /* "" when absent */
	int64_t dur;           /* ns, -1 when absent */
	const char *status;    /* NULL when absent */
	char msg[128];
	int nattrs;
	gen_attr attrs[GEN_ATTRS_MAX];
	int first;             /* first record of its correlation id */
} gen_rec;

/* State of one request in flight (internal). */
typedef struct gen_req {
	char corr[33];
	char root_span[17];
	char sub_span[17];      /* open sub-call, "" when none */
	int n, i;               /* records planned, emitted */
	int nsvc, svc[5];       /* services touched; svc[0] is the entry */
	int sub_svc;            /* service of the open sub-call */
	int next_sub;           /* round-robin over svc[1..] */
	int route;              /* index of the HTTP route */
	int failing;            /* the request ends in an error */
	int64_t start_ts, sub_ts;
	uint32_t user;
} gen_req;

typedef struct gen {
	uint64_t s[4];          /* xoshiro256** state */
	uint64_t n, emitted, planned; /* planned: records of started requests */
	int64_t now;
	int active;
	gen_req req[GEN_CONCURRENCY];
	gen_rec rec;
} gen;

/* Start a stream of n records whose first ts is start_ns + 1.. */
void gen_init(gen *g, uint64_t seed, uint64_t n, int64_t start_ns);
/* The longest a stream of n records can last (the last ts is at most
 * start_ns + gen_span_max(n)); -1 when n is too large for int64 nanoseconds. */
int64_t gen_span_max(uint64_t n);
/* The next record, or NULL after n records. */
const gen_rec *gen_next(gen *g);
/* The record as one JSON object, no newline, NUL-terminated; returns its
 * length (< GEN_JSON_MAX). */
size_t gen_json(const gen_rec *r, char *buf, size_t cap);
/* The record as a msgpack map with the same keys in the same order ("ts"
 * first, "corr" second: canonical key order). Appends to out; returns bytes
 * appended or 0 if cap is too small. */
size_t gen_msgpack(const gen_rec *r, uint8_t *out, size_t cap);
/* 64 random bits (for callers that need more randomness from the same seed). */
uint64_t gen_rand(gen *g);

#endif /* TT_BENCH_GEN_H */
