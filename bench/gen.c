/*
 * gen.c -- the deterministic trace record generator behind tt-gen and
 * the benchmark harness. See gen.h for the shape of the stream.
 */
#include "gen.h"

#include <stdio.h>
#include <string.h>

/* ---- PRNG: splitmix64 seeds xoshiro256** (Blackman & Vigna) */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t gen_rand(gen *g)
{
	uint64_t *s = g->s;
	uint64_t r = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* uniform in [0, n) (Lemire's multiply; the tiny bias is irrelevant here) */
static uint32_t rnd(gen *g, uint32_t n)
{
	return (uint32_t)(((gen_rand(g) >> 32) * (uint64_t)n) >> 32);
}

/* percent chance */
static int chance(gen *g, uint32_t pct)
{
	return rnd(g, 100) < pct;
}

static void hex_id(gen *g, char *out, int bits)
{
	static const char hx[] = "0123456789abcdef";
	int i, k = 0;

	for (i = 0; i < bits / 64; i++) {
		uint64_t v = gen_rand(g);
		int j;
		for (j = 60; j >= 0; j -= 4)
			out[k++] = hx[(v >> j) & 0xf];
	}
	out[k] = '\0';
}

/* A duration drawn from a rough log-normal: mostly milliseconds, long tail. */
static int64_t rnd_dur(gen *g, uint32_t base_us)
{
	int64_t d = (int64_t)base_us * 1000; /* base_us <= 4e6 */
	d = d / 2 + (int64_t)rnd(g, (uint32_t)d);
	if (chance(g, 3))
		d <<= 2 + rnd(g, 4);
	return d;
}

/* ---- the world the records describe */

static const char *const services[] = {
	"api-gateway", "auth", "orders", "payments", "inventory", "search",
	"llm-router", "assistant", "notifications", "users", "billing", "storage",
};
#define NSERVICES (int)(sizeof services / sizeof services[0])
#define SVC_LLM_FIRST 6 /* services[6], [7] make LLM calls */

static const char *const entries[] = { "api-gateway", "users", "search", "assistant" };

static const struct route {
	const char *method, *path;
} routes[] = {
	{ "POST", "/api/v1/orders" }, { "GET", "/api/v1/orders/{id}" },
	{ "POST", "/api/v1/checkout" }, { "GET", "/api/v1/search" },
	{ "POST", "/api/v1/assistant/chat" }, { "GET", "/api/v1/users/{id}" },
	{ "PUT", "/api/v1/cart/items" }, { "DELETE", "/api/v1/sessions/{id}" },
	{ "POST", "/api/v1/payments/authorize" }, { "GET", "/api/v1/inventory/stock" },
};
#define NROUTES (int)(sizeof routes / sizeof routes[0])

static const char *const regions[] = { "eu-west-1", "us-east-1", "us-west-2", "ap-south-1" };
static const char *const models[] = { "gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet",
	"claude-3-haiku", "llama-3.1-70b" };
/* micro-dollars per 1k input / output tokens */
static const int64_t model_in[] = { 150, 2500, 3000, 250, 600 };
static const int64_t model_out[] = { 600, 10000, 15000, 1250, 800 };
static const char *const ops[] = { "reserve", "charge", "lookup", "update", "notify",
	"validate", "authorize", "fetch", "index", "render" };
static const char *const steps[] = { "validated", "enqueued", "persisted", "cache-warm",
	"rate-limited", "dedup-checked" };

static int svc_index(const char *name)
{
	int i;
	for (i = 0; i < NSERVICES; i++)
		if (strcmp(services[i], name) == 0)
			return i;
	return 0;
}

static void attr_str(gen_rec *r, const char *key, const char *fmt, const char *a,
    unsigned long long b)
{
	gen_attr *at = &r->attrs[r->nattrs++];
	at->key = key;
	at->type = GEN_STR;
	snprintf(at->s, sizeof at->s, fmt, a, b);
}

static void attr_int(gen_rec *r, const char *key, gen_vt type, int64_t v)
{
	gen_attr *at = &r->attrs[r->nattrs++];
	at->key = key;
	at->type = type;
	at->i = v;
}

/* ---- requests */

static void req_start(gen *g, gen_req *q, int n)
{
	int i, j;

	memset(q, 0, sizeof *q);
	hex_id(g, q->corr, 128);
	hex_id(g, q->root_span, 64);
	q->n = n;
	q->nsvc = 2 + (int)rnd(g, 4);
	if (q->nsvc > n - 2)
		q->nsvc = n - 2 < 2 ? 2 : n - 2;
	q->svc[0] = svc_index(entries[rnd(g, 4)]);
	for (i = 1; i < q->nsvc; i++) {
		int s, dup;
		do {
			s = (int)rnd(g, NSERVICES);
			dup = 0;
			for (j = 0; j < i; j++)
				dup |= q->svc[j] == s;
		} while (dup);
		q->svc[i] = s;
	}
	q->next_sub = 1;
	q->route = (int)rnd(g, NROUTES);
	q->failing = chance(g, 15);
	q->user = rnd(g, 1000000);
	q->start_ts = g->now;
	g->planned += (uint64_t)n;
}

/* Size of the next request: 4..24 records, but never beyond the n records of
 * the stream (gen.h: exactly n records). Returns 0 when no request fits. */
static int req_size(gen *g)
{
	uint64_t left = g->n - g->planned;
	int n = 4 + (int)rnd(g, 21);

	if (left == 0)
		return 0;
	if ((uint64_t)n > left)
		n = (int)left;
	else if (left - (uint64_t)n < 4 && left <= 24)
		n = (int)left; /* do not leave a remainder too small for a request */
	return n;
}

void gen_init(gen *g, uint64_t seed, uint64_t n, int64_t start_ns)
{
	uint64_t x = seed;
	int i;

	memset(g, 0, sizeof *g);
	for (i = 0; i < 4; i++)
		g->s[i] = splitmix64(&x);
	g->n = n;
	g->now = start_ns;
	for (i = 0; i < GEN_CONCURRENCY; i++) {
		int sz = req_size(g);
		if (sz == 0)
			break;
		req_start(g, &g->req[g->active++], sz);
	}
}

int64_t gen_span_max(uint64_t n)
{
	return n > (uint64_t)(INT64_MAX / GEN_STEP_MAX_NS) ? -1 : (int64_t)n * GEN_STEP_MAX_NS;
}

static void common(gen *g, gen_req *q, int svc, gen_rec *r)
{
	r->ts = g->now;
	memcpy(r->corr, q->corr, sizeof r->corr);
	r->service = services[svc];
	snprintf(r->host, sizeof r->host, "%s-%05x-%u", services[svc],
	    (unsigned)((uint32_t)svc * 0x9e37u & 0xfffffu), (unsigned)rnd(g, 4));
	r->level = "info";
	r->parent[0] = '\0';
	r->endpoint[0] = '\0';
	r->dir = NULL;
	r->dur = -1;
	r->status = NULL;
	r->nattrs = 0;
	r->first = q->i == 0;
}

static void rec_entry(gen *g, gen_req *q, gen_rec *r)
{
	const struct route *rt = &routes[q->route];

	common(g, q, q->svc[0], r);
	memcpy(r->span, q->root_span, sizeof r->span);
	r->kind = "span";
	snprintf(r->name, sizeof r->name, "%s %s", rt->method, rt->path);
	r->dir = "->";
	snprintf(r->endpoint, sizeof r->endpoint, "%s", rt->path);
	snprintf(r->msg, sizeof r->msg, "request received from %u.%u.%u.%u",
	    10u, rnd(g, 256), rnd(g, 256), 1u + rnd(g, 254));
	attr_str(r, "http.method", "%s", rt->method, 0);
	attr_str(r, "user.id", "u-%s%06llu", "", q->user);
	attr_str(r, "region", "%s", regions[q->user % 4], 0);
	attr_str(r, "user_agent", "%s/%llu", "okhttp", 3 + q->user % 2);
}

static void rec_exit(gen *g, gen_req *q, gen_rec *r)
{
	const struct route *rt = &routes[q->route];
	int err = q->failing;

	common(g, q, q->svc[0], r);
	memcpy(r->span, q->root_span, sizeof r->span);
	r->kind = "span";
	snprintf(r->name, sizeof r->name, "%s %s", rt->method, rt->path);
	r->dir = "<-";
	snprintf(r->endpoint, sizeof r->endpoint, "%s", rt->path);
	r->dur = g->now - q->start_ts;
	if (err) {
		r->level = "error";
		r->status = "error";
		snprintf(r->msg, sizeof r->msg, "request failed: %s returned 503 after %u retries",
		    services[q->svc[q->nsvc - 1]], 1 + rnd(g, 3));
	} else {
		r->status = "ok";
		snprintf(r->msg, sizeof r->msg, "request completed in %lld ms",
		    (long long)(r->dur / 1000000));
	}
	attr_int(r, "http.status", GEN_INT, err ? 503 : (chance(g, 90) ? 200 : 201));
	attr_int(r, "bytes", GEN_INT, 200 + rnd(g, 60000));
	attr_str(r, "user.id", "u-%s%06llu", "", q->user);
}

static void rec_sub_open(gen *g, gen_req *q, gen_rec *r)
{
	int svc = q->svc[q->next_sub];
	const char *op = ops[rnd(g, 10)];

	q->next_sub = q->next_sub + 1 < q->nsvc ? q->next_sub + 1 : 1;
	q->sub_svc = svc;
	q->sub_ts = g->now;
	hex_id(g, q->sub_span, 64);
	common(g, q, svc, r);
	memcpy(r->span, q->sub_span, sizeof r->span);
	memcpy(r->parent, q->root_span, sizeof r->parent);
	r->kind = "span";
	snprintf(r->name, sizeof r->name, "%s.%s", services[svc], op);
	r->dir = "->";
	snprintf(r->endpoint, sizeof r->endpoint, "grpc://%s:7443/%s", services[svc], op);
	snprintf(r->msg, sizeof r->msg, "calling %s.%s for user u-%06u", services[svc], op,
	    q->user);
	attr_str(r, "rpc.system", "%s", "grpc", 0);
	attr_int(r, "attempt", GEN_INT, 1);
	attr_str(r, "peer", "%s:%llu", services[svc], 7443);
}

static void rec_sub_close(gen *g, gen_req *q, gen_rec *r)
{
	int err = chance(g, 5);

	common(g, q, q->sub_svc, r);
	memcpy(r->span, q->sub_span, sizeof r->span);
	memcpy(r->parent, q->root_span, sizeof r->parent);
	r->kind = "span";
	snprintf(r->name, sizeof r->name, "%s.reply", services[q->sub_svc]);
	r->dir = "<-";
	snprintf(r->endpoint, sizeof r->endpoint, "grpc://%s:7443/reply", services[q->sub_svc]);
	r->dur = g->now - q->sub_ts;
	if (err) {
		r->level = "error";
		r->status = "error";
		snprintf(r->msg, sizeof r->msg, "upstream %s: deadline exceeded after %lld ms",
		    services[q->sub_svc], (long long)(r->dur / 1000000));
	} else {
		r->status = "ok";
		snprintf(r->msg, sizeof r->msg, "%s replied with %u items", services[q->sub_svc],
		    rnd(g, 40));
	}
	attr_int(r, "grpc.code", GEN_INT, err ? 4 : 0);
	attr_int(r, "resp.bytes", GEN_INT, 64 + rnd(g, 16000));
	q->sub_span[0] = '\0';
}

static void rec_inner(gen *g, gen_req *q, gen_rec *r)
{
	int svc = q->sub_span[0] ? q->sub_svc : q->svc[rnd(g, (uint32_t)q->nsvc)];
	uint32_t pick = rnd(g, 100);

	common(g, q, svc, r);
	hex_id(g, r->span, 64);
	memcpy(r->parent, q->sub_span[0] ? q->sub_span : q->root_span, sizeof r->parent);
	if (pick < 14 || (svc >= SVC_LLM_FIRST && svc < SVC_LLM_FIRST + 2 && pick < 60)) {
		int m = (int)rnd(g, 5);
		int64_t in = 200 + rnd(g, 6000), out = 20 + rnd(g, 900);
		r->kind = "llm_call";
		snprintf(r->name, sizeof r->name, "chat.completions");
		snprintf(r->endpoint, sizeof r->endpoint, "/v1/chat/completions");
		r->dur = 200000000LL + rnd_dur(g, 900000);
		r->status = "ok";
		snprintf(r->msg, sizeof r->msg, "completion ok, %lld+%lld tokens",
		    (long long)in, (long long)out);
		attr_str(r, "model", "%s", models[m], 0);
		attr_int(r, "input_tokens", GEN_INT, in);
		attr_int(r, "output_tokens", GEN_INT, out);
		attr_int(r, "cost", GEN_MICRO, (in * model_in[m] + out * model_out[m]) / 1000);
	} else if (pick < 24) {
		int wr = chance(g, 40);
		r->kind = wr ? "fs_write" : "fs_read";
		snprintf(r->name, sizeof r->name, wr ? "fs.write" : "fs.read");
		r->dur = rnd_dur(g, 300);
		r->status = "ok";
		snprintf(r->msg, sizeof r->msg, "%s %u bytes", wr ? "wrote" : "read",
		    512 + rnd(g, 1 << 20));
		attr_str(r, "path", "/var/lib/%s/cache/%06llx.json", services[svc],
		    gen_rand(g) & 0xffffff);
		attr_int(r, "fd", GEN_INT, 3 + rnd(g, 200));
	} else if (pick < 40) {
		r->kind = "checkpoint";
		snprintf(r->name, sizeof r->name, "%s.%s", services[svc], steps[rnd(g, 6)]);
		snprintf(r->msg, sizeof r->msg, "checkpoint %s reached after %u ms",
		    steps[rnd(g, 6)], rnd(g, 900));
		attr_str(r, "stage", "%s", steps[rnd(g, 6)], 0);
		attr_int(r, "queue.depth", GEN_INT, rnd(g, 64));
	} else {
		uint32_t t = rnd(g, 5);
		r->kind = "log";
		r->level = t == 0 ? "debug" : t == 4 ? "warn" : "info";
		snprintf(r->name, sizeof r->name, "%s.handler", services[svc]);
		switch (rnd(g, 5)) {
		case 0:
			snprintf(r->msg, sizeof r->msg,
			    "cache miss for key user:%06u, loading profile from primary", q->user);
			break;
		case 1:
			snprintf(r->msg, sizeof r->msg, "fetched %u rows from %s in %u ms",
			    rnd(g, 500), ops[rnd(g, 10)], rnd(g, 80));
			break;
		case 2:
			snprintf(r->msg, sizeof r->msg,
			    "retrying upstream call (attempt %u of 3), backoff %u ms",
			    1 + rnd(g, 2), 50 * (1 + rnd(g, 8)));
			break;
		case 3:
			snprintf(r->msg, sizeof r->msg, "validated cart with %u items, total %u.%02u EUR",
			    1 + rnd(g, 12), rnd(g, 900), rnd(g, 100));
			break;
		default:
			snprintf(r->msg, sizeof r->msg, "session s-%08x refreshed, expires in %u s",
			    (unsigned)(gen_rand(g) & 0xffffffff), 600 + rnd(g, 3000));
		}
		attr_str(r, "thread", "worker-%s%llu", "", rnd(g, 16));
		attr_str(r, "logger", "%s.core", services[svc], 0);
		attr_int(r, "line", GEN_INT, 40 + rnd(g, 900));
	}
	if (chance(g, 6)) { /* errors inside otherwise healthy requests */
		r->level = "error";
		r->status = "error";
		snprintf(r->msg, sizeof r->msg, "%s: connection reset by peer while talking to %s",
		    r->name, services[q->svc[rnd(g, (uint32_t)q->nsvc)]]);
	}
}

const gen_rec *gen_next(gen *g)
{
	gen_req *q;
	gen_rec *r = &g->rec;
	int k, left;

	if (g->emitted >= g->n || g->active == 0)
		return NULL;
	g->now += 1 + (int64_t)rnd(g, GEN_STEP_MAX_NS); /* ~20 us apart on average */
	k = (int)rnd(g, (uint32_t)g->active);
	q = &g->req[k];
	left = q->n - q->i; /* records still to emit, this one included */

	if (q->i == 0)
		rec_entry(g, q, r);
	else if (left == 1)
		rec_exit(g, q, r);
	else if (q->sub_span[0] && (left == 2 || chance(g, 40)))
		rec_sub_close(g, q, r);
	else if (!q->sub_span[0] && left >= 3 && (q->i == 1 || chance(g, 35)))
		rec_sub_open(g, q, r);
	else
		rec_inner(g, q, r);

	q->i++;
	g->emitted++;
	if (q->i == q->n) { /* request done: start another in its slot, or shrink */
		int sz = req_size(g);
		if (sz > 0)
			req_start(g, q, sz);
		else
			*q = g->req[--g->active];
	}
	return r;
}

/* ---- JSON: every string is generated from a fixed alphabet without quotes,
 * backslashes or control characters, so no escaping is needed. */

typedef struct out {
	char *p;
	size_t n, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
	if (o->n + n < o->cap)
		memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void puts_(out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_i(out *o, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof b, "%lld", (long long)v);
	put(o, b, (size_t)n);
}

static void put_micro(out *o, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof b, "%lld.%06lld", (long long)(v / 1000000),
	    (long long)(v % 1000000));
	put(o, b, (size_t)n);
}

static void kv_s(out *o, const char *k, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return;
	put(o, ",\"", 2);
	puts_(o, k);
	put(o, "\":\"", 3);
	puts_(o, v);
	put(o, "\"", 1);
}

size_t gen_json(const gen_rec *r, char *buf, size_t cap)
{
	out o = { buf, 0, cap };
	int i;

	put(&o, "{\"ts\":", 6);
	put_i(&o, r->ts);
	kv_s(&o, "corr", r->corr);
	kv_s(&o, "span", r->span);
	kv_s(&o, "parent", r->parent);
	kv_s(&o, "service", r->service);
	kv_s(&o, "host", r->host);
	kv_s(&o, "level", r->level);
	kv_s(&o, "kind", r->kind);
	kv_s(&o, "name", r->name);
	kv_s(&o, "dir", r->dir);
	kv_s(&o, "endpoint", r->endpoint);
	if (r->dur >= 0) {
		put(&o, ",\"dur\":", 7);
		put_i(&o, r->dur);
	}
	kv_s(&o, "status", r->status);
	kv_s(&o, "msg", r->msg);
	put(&o, ",\"attrs\":{", 10);
	for (i = 0; i < r->nattrs; i++) {
		const gen_attr *a = &r->attrs[i];
		if (i)
			put(&o, ",", 1);
		put(&o, "\"", 1);
		puts_(&o, a->key);
		put(&o, "\":", 2);
		if (a->type == GEN_STR) {
			put(&o, "\"", 1);
			puts_(&o, a->s);
			put(&o, "\"", 1);
		} else if (a->type == GEN_INT) {
			put_i(&o, a->i);
		} else {
			put_micro(&o, a->i);
		}
	}
	put(&o, "}}", 2);
	if (o.n >= cap) {
		if (cap)
			buf[0] = '\0';
		return 0;
	}
	buf[o.n] = '\0';
	return o.n;
}

/* ---- msgpack, written by hand: smallest encodings, big-endian. */

typedef struct mp {
	uint8_t *p;
	size_t n, cap;
} mp;

static void mp_raw(mp *m, const void *s, size_t n)
{
	if (m->n + n <= m->cap)
		memcpy(m->p + m->n, s, n);
	m->n += n;
}

static void mp_be(mp *m, uint8_t tag, uint64_t v, int bytes)
{
	uint8_t b[9];
	int i;

	b[0] = tag;
	for (i = 0; i < bytes; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	mp_raw(m, b, (size_t)bytes + 1);
}

static void mp_int(mp *m, int64_t v)
{
	if (v >= 0) {
		if (v < 128) {
			uint8_t b = (uint8_t)v;
			mp_raw(m, &b, 1);
		} else if (v < 256)
			mp_be(m, 0xcc, (uint64_t)v, 1);
		else if (v < 65536)
			mp_be(m, 0xcd, (uint64_t)v, 2);
		else if (v < 4294967296LL)
			mp_be(m, 0xce, (uint64_t)v, 4);
		else
			mp_be(m, 0xcf, (uint64_t)v, 8);
	} else if (v >= -32) {
		uint8_t b = (uint8_t)(int8_t)v;
		mp_raw(m, &b, 1);
	} else {
		mp_be(m, 0xd3, (uint64_t)v, 8);
	}
}

static void mp_str(mp *m, const char *s)
{
	size_t n = strlen(s);

	if (n < 32) {
		uint8_t b = (uint8_t)(0xa0 | n);
		mp_raw(m, &b, 1);
	} else if (n < 256)
		mp_be(m, 0xd9, n, 1);
	else
		mp_be(m, 0xda, n, 2);
	mp_raw(m, s, n);
}

static void mp_map(mp *m, int n)
{
	uint8_t b = (uint8_t)(0x80 | n);
	mp_raw(m, &b, 1); /* records here have < 16 keys */
}

static void mp_double(mp *m, int64_t micro)
{
	union { double d; uint64_t u; } x;
	x.d = (double)micro / 1e6;
	mp_be(m, 0xcb, x.u, 8);
}

static int nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static void mp_kv(mp *m, const char *k, const char *v)
{
	if (!nonempty(v))
		return;
	mp_str(m, k);
	mp_str(m, v);
}

size_t gen_msgpack(const gen_rec *r, uint8_t *buf, size_t cap)
{
	mp m = { buf, 0, cap };
	int n = 4, i; /* ts, service, msg, attrs */

	n += nonempty(r->corr) + nonempty(r->span) + nonempty(r->parent) +
	    nonempty(r->host) + nonempty(r->level) + nonempty(r->kind) +
	    nonempty(r->name) + nonempty(r->dir) + nonempty(r->endpoint) +
	    (r->dur >= 0) + nonempty(r->status);
	mp_map(&m, n);
	mp_str(&m, "ts");
	mp_int(&m, r->ts);
	mp_kv(&m, "corr", r->corr);
	mp_kv(&m, "span", r->span);
	mp_kv(&m, "parent", r->parent);
	mp_str(&m, "service");
	mp_str(&m, r->service);
	mp_kv(&m, "host", r->host);
	mp_kv(&m, "level", r->level);
	mp_kv(&m, "kind", r->kind);
	mp_kv(&m, "name", r->name);
	mp_kv(&m, "dir", r->dir);
	mp_kv(&m, "endpoint", r->endpoint);
	if (r->dur >= 0) {
		mp_str(&m, "dur");
		mp_int(&m, r->dur);
	}
	mp_kv(&m, "status", r->status);
	mp_str(&m, "msg");
	mp_str(&m, r->msg);
	mp_str(&m, "attrs");
	mp_map(&m, r->nattrs);
	for (i = 0; i < r->nattrs; i++) {
		const gen_attr *a = &r->attrs[i];
		mp_str(&m, a->key);
		if (a->type == GEN_STR)
			mp_str(&m, a->s);
		else if (a->type == GEN_INT)
			mp_int(&m, a->i);
		else
			mp_double(&m, a->i);
	}
	return m.n <= cap ? m.n : 0;
}
