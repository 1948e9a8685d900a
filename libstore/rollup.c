/*
 * rollup.c -- per-minute rollups (FORMAT.md 7.6): every record is folded, at
 * index commit and in the same LMDB transaction as its block's entries, into
 * the rollup of its (minute, service, name, kind): counts, errors, duration
 * statistics and histogram, LLM token and cost sums. A rollup is therefore
 * exactly as durable as the records it counts: recovery and rebuild fold the
 * blocks they index, and nothing is ever folded twice.
 *
 * Work per record is one pass over its scalar fields (for the LLM fields) and
 * a lookup in the block's small table; per commit, one get and put of each
 * (minute, group) row the commit touched, in key order.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <xxhash.h>

#include "store.h"

/* ---- folding a block's records */

/* The LLM fields, as OTel GenAI, OpenLLMetry/OpenInference and Traceway name
 * them; the first one a record has of each kind counts. */
static const struct { const char *k; unsigned char n, what; } llm_keys[] = {
	{ "gen_ai.usage.input_tokens", 25, LLM_IN },
	{ "gen_ai.usage.prompt_tokens", 26, LLM_IN },
	{ "llm.usage.prompt_tokens", 23, LLM_IN },
	{ "llm.token_count.prompt", 22, LLM_IN },
	{ "input_tokens", 12, LLM_IN },
	{ "prompt_tokens", 13, LLM_IN },
	{ "gen_ai.usage.output_tokens", 26, LLM_OUT },
	{ "gen_ai.usage.completion_tokens", 30, LLM_OUT },
	{ "llm.usage.completion_tokens", 27, LLM_OUT },
	{ "llm.token_count.completion", 26, LLM_OUT },
	{ "output_tokens", 13, LLM_OUT },
	{ "completion_tokens", 17, LLM_OUT },
	{ "gen_ai.usage.cost", 17, LLM_COST },
	{ "llm.usage.cost", 14, LLM_COST },
	{ "cost_usd", 8, LLM_COST },
	{ "cost", 4, LLM_COST },
};


static int num_of(const tt_value *v, double scale, int64_t *out)
{
	double d;

	switch (v->type) {
	case TT_V_INT: d = (double)v->v.i; if (scale == 1) { *out = v->v.i; return 1; } break;
	case TT_V_UINT: d = (double)v->v.u; if (scale == 1 && v->v.u <= INT64_MAX) { *out = (int64_t)v->v.u; return 1; } break;
	case TT_V_FLOAT: d = v->v.f; break;
	default: return 0;
	}
	d *= scale;
	if (!(d > -9.2e18 && d < 9.2e18)) /* also NaN */
		return 0;
	*out = llround(d);
	return 1;
}

/* Bit i set in llm_by_len[n]: llm_keys[i] is n bytes long (most field names
 * have a length no alias has, and cost one table look-up). */
static uint32_t llm_by_len[32];
static pthread_once_t llm_once = PTHREAD_ONCE_INIT;

static void llm_init(void)
{
	for (size_t i = 0; i < sizeof llm_keys / sizeof *llm_keys; i++)
		llm_by_len[llm_keys[i].n] |= 1u << i;
}

static int llm_kv(void *ctx, int in_attrs, const char *k, size_t kn, const tt_value *v)
{
	struct llm *l = ctx;
	uint32_t cand;

	(void)in_attrs;
	if (kn >= 32 || !(cand = llm_by_len[kn]))
		return 0;
	for (; cand; cand &= cand - 1) {
		unsigned i = (unsigned)__builtin_ctz(cand), w = llm_keys[i].what;
		if (l->have[w] || memcmp(llm_keys[i].k, k, kn) != 0)
			continue;
		l->have[w] = num_of(v, w == LLM_COST ? 1e9 : 1, &l->v[w]);
		break;
	}
	return 0;
}

/* Every alias (and, nested, its last part) holds "token" or "cost", and a
 * msgpack key is its bytes: a record with neither has no LLM field. One
 * memchr pass for their 'o' costs a fraction of walking every field (which
 * was 7 % of ingest) and of two memmem passes. */
static int maybe_llm(const uint8_t *p, size_t n)
{
	const uint8_t *e = p + n, *o = p + 1;

	while (o + 3 <= e && (o = memchr(o, 'o', (size_t)(e - o))) != NULL) {
		if (o + 3 <= e && o[-1] == 'c' && o[1] == 's' && o[2] == 't')
			return 1;
		if (o + 4 <= e && o[-1] == 't' && o[1] == 'k' && o[2] == 'e' && o[3] == 'n')
			return 1;
		o++;
	}
	return 0;
}

int rollup_llm(const uint8_t *rec, size_t len, struct llm *l)
{
	pthread_once(&llm_once, llm_init);
	memset(l, 0, sizeof *l);
	if (!maybe_llm(rec, len))
		return 0;
	return tt_rec_scalars(rec, len, llm_kv, l);
}

static int64_t minute_of(int64_t ts)
{
	int64_t m = ts / 60000000000LL;
	return (ts % 60000000000LL < 0) ? m - 1 : m;
}

int rollup_is_error(const tt_rec_info *ri)
{
	if (ri->level >= TT_LVL_ERROR)
		return 1;
	return ri->status.p && ri->status.n == 5 && strncasecmp(ri->status.p, "error", 5) == 0;
}

/* Strings of a rollup key, cut to their caps. */
struct rkey { const char *p[3]; size_t n[3]; };

static void rkey_of(const tt_rec_info *ri, struct rkey *k)
{
	static const size_t cap[3] = { ROLLUP_SVC_MAX, ROLLUP_NAME_MAX, ROLLUP_KIND_MAX };
	const char *p[3] = { ri->service.p, ri->name.p, ri->kind.p };
	size_t n[3] = { ri->service.n, ri->name.n, ri->kind.n };

	for (int i = 0; i < 3; i++) {
		k->p[i] = p[i] ? p[i] : "";
		k->n[i] = p[i] ? (n[i] > cap[i] ? cap[i] : n[i]) : 0;
	}
}

static uint32_t rkey_hash(int64_t minute, const struct rkey *k)
{
	uint64_t h = XXH3_64bits_withSeed(k->p[0], k->n[0], (uint64_t)minute);
	h = XXH3_64bits_withSeed(k->p[1], k->n[1], h);
	return (uint32_t)XXH3_64bits_withSeed(k->p[2], k->n[2], h);
}

static int acc_is(const blkinfo *b, const rollacc *a, int64_t minute, const struct rkey *k)
{
	return a->minute == minute && a->svc_len == k->n[0] && a->name_len == k->n[1] &&
	    a->kind_len == k->n[2] &&
	    memcmp(b->arena.data + a->svc_off, k->p[0], k->n[0]) == 0 &&
	    memcmp(b->arena.data + a->name_off, k->p[1], k->n[1]) == 0 &&
	    memcmp(b->arena.data + a->kind_off, k->p[2], k->n[2]) == 0;
}

static int acc_new(blkinfo *b, int64_t minute, const struct rkey *k, uint32_t hash)
{
	rollacc *a;
	uint32_t *offs[3];

	if (b->nru == b->cap_ru) {
		uint32_t nc = b->cap_ru ? b->cap_ru * 2 : 16;
		rollacc *nv = realloc(b->ru, nc * sizeof *nv);
		if (!nv)
			return -ENOMEM;
		b->ru = nv, b->cap_ru = nc;
	}
	a = &b->ru[b->nru];
	memset(a, 0, sizeof *a);
	a->minute = minute;
	a->hash = hash;
	a->dur_min = INT64_MAX;
	a->dur_max = INT64_MIN;
	offs[0] = &a->svc_off, offs[1] = &a->name_off, offs[2] = &a->kind_off;
	for (int i = 0; i < 3; i++) {
		*offs[i] = (uint32_t)b->arena.len;
		if (tt_buf_append(&b->arena, k->p[i], k->n[i]) < 0)
			return -ENOMEM;
	}
	a->svc_len = (uint32_t)k->n[0], a->name_len = (uint32_t)k->n[1];
	a->kind_len = (uint32_t)k->n[2];
	return (int)b->nru++;
}

/* The block's table: open addressing over b->ru, grown at half full. */
static int acc_find(blkinfo *b, uint32_t **tab, uint32_t *tabsz, int64_t minute,
    const struct rkey *k)
{
	uint32_t hash = rkey_hash(minute, k), slot;
	int idx;

	if (b->nru && acc_is(b, &b->ru[b->nru - 1], minute, k))
		return (int)b->nru - 1; /* a run of one group: the common case */
	if (2 * (b->nru + 1) > *tabsz) {
		uint32_t nsz = *tabsz ? *tabsz * 2 : 32;
		uint32_t *nt = malloc(nsz * sizeof *nt);
		if (!nt)
			return -ENOMEM;
		memset(nt, 0xff, nsz * sizeof *nt);
		for (uint32_t i = 0; i < b->nru; i++) {
			for (slot = b->ru[i].hash & (nsz - 1); nt[slot] != UINT32_MAX; slot = (slot + 1) & (nsz - 1))
				;
			nt[slot] = i;
		}
		free(*tab);
		*tab = nt, *tabsz = nsz;
	}
	for (slot = hash & (*tabsz - 1);; slot = (slot + 1) & (*tabsz - 1)) {
		uint32_t i = (*tab)[slot];
		if (i == UINT32_MAX)
			break;
		if (b->ru[i].hash == hash && acc_is(b, &b->ru[i], minute, k))
			return (int)i;
	}
	if ((idx = acc_new(b, minute, k, hash)) >= 0)
		(*tab)[slot] = (uint32_t)idx;
	return idx;
}

int rollup_fold(blkinfo *b, uint32_t **tab, uint32_t *tabsz, const tt_rec_info *ri,
    const uint8_t *rec, size_t len)
{
	struct rkey k;
	struct llm l;
	int64_t minute = minute_of(ri->ts);
	rollacc *a;
	int idx;

	rkey_of(ri, &k);
	/* keys point into the arena: it must exist even when every string is "" */
	if (!b->arena.data && tt_buf_reserve(&b->arena, 256) < 0)
		return -ENOMEM;
	if ((idx = acc_find(b, tab, tabsz, minute, &k)) < 0)
		return idx;
	a = &b->ru[idx];
	a->count++;
	a->errors += (uint64_t)rollup_is_error(ri);
	if (ri->dur >= 0) {
		uint64_t e = (uint64_t)idx << 16 | tt_hist_bucket(ri->dur);
		a->dur_n++;
		a->dur_sum += (uint64_t)ri->dur;
		if (ri->dur < a->dur_min) a->dur_min = ri->dur;
		if (ri->dur > a->dur_max) a->dur_max = ri->dur;
		if (tt_buf_append(&b->ru_hist, &e, sizeof e) < 0)
			return -ENOMEM;
	}
	if (rollup_llm(rec, len, &l) < 0)
		return TT_ECORRUPT;
	if (l.have[LLM_IN] | l.have[LLM_OUT] | l.have[LLM_COST]) {
		a->llm_n++;
		a->in_tok += l.have[LLM_IN] ? l.v[LLM_IN] : 0;
		a->out_tok += l.have[LLM_OUT] ? l.v[LLM_OUT] : 0;
		a->cost_nano += l.have[LLM_COST] ? l.v[LLM_COST] : 0;
	}
	return 0;
}

/* ---- the stored form (FORMAT.md 7.6) */

struct rval {
	uint64_t count, errors, dur_n, dur_sum, llm_n;
	int64_t dur_min, dur_max, in_tok, out_tok, cost_nano;
	tt_hist h;
};

static void put_uv(tt_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	(void)tt_buf_append(b, t, n); /* reserved by the caller */
}

static void put_sv(tt_buf *b, int64_t v)
{
	put_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static int get_uv(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t c;
		if (*pos >= n)
			return -1;
		c = p[(*pos)++];
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static int get_sv(const uint8_t *p, size_t n, size_t *pos, int64_t *v)
{
	uint64_t u;
	if (get_uv(p, n, pos, &u) < 0)
		return -1;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

#define RVAL_VERSION 1

static int rval_encode(const struct rval *r, tt_buf *out)
{
	uint16_t prev = 0;

	out->len = 0;
	if (tt_buf_reserve(out, 11 * 10 + r->h.len * 13) < 0)
		return -ENOMEM;
	put_uv(out, RVAL_VERSION);
	put_uv(out, r->count);
	put_uv(out, r->errors);
	put_uv(out, r->dur_n);
	put_sv(out, r->dur_n ? r->dur_min : 0);
	put_sv(out, r->dur_n ? r->dur_max : 0);
	put_uv(out, r->dur_sum);
	put_uv(out, r->llm_n);
	put_sv(out, r->in_tok);
	put_sv(out, r->out_tok);
	put_sv(out, r->cost_nano);
	put_uv(out, r->h.len);
	for (size_t i = 0; i < r->h.len; i++) {
		put_uv(out, (uint64_t)(r->h.b[i] - prev));
		put_uv(out, r->h.n[i]);
		prev = r->h.b[i];
	}
	return 0;
}

/* Decode a stored rollup value; TT_ECORRUPT when it does not parse exactly. */
static int rval_decode(const uint8_t *p, size_t n, struct rval *r)
{
	size_t pos = 0;
	uint64_t ver, nb, prev = 0;

	memset(r, 0, sizeof *r);
	if (get_uv(p, n, &pos, &ver) < 0 || ver != RVAL_VERSION ||
	    get_uv(p, n, &pos, &r->count) < 0 || get_uv(p, n, &pos, &r->errors) < 0 ||
	    get_uv(p, n, &pos, &r->dur_n) < 0 || get_sv(p, n, &pos, &r->dur_min) < 0 ||
	    get_sv(p, n, &pos, &r->dur_max) < 0 || get_uv(p, n, &pos, &r->dur_sum) < 0 ||
	    get_uv(p, n, &pos, &r->llm_n) < 0 || get_sv(p, n, &pos, &r->in_tok) < 0 ||
	    get_sv(p, n, &pos, &r->out_tok) < 0 || get_sv(p, n, &pos, &r->cost_nano) < 0 ||
	    get_uv(p, n, &pos, &nb) < 0 || nb > (n - pos) / 2)
		return TT_ECORRUPT;
	for (uint64_t i = 0; i < nb; i++) {
		uint64_t d, c;
		if (get_uv(p, n, &pos, &d) < 0 || get_uv(p, n, &pos, &c) < 0 ||
		    (i && d == 0) || prev + d > UINT16_MAX)
			goto bad;
		prev += d;
		if (tt_hist_add(&r->h, (uint16_t)prev, c) < 0) {
			tt_hist_free(&r->h);
			return -ENOMEM;
		}
	}
	if (pos == n && r->h.total == r->dur_n)
		return 0;
bad:
	tt_hist_free(&r->h);
	return TT_ECORRUPT;
}

static int rval_add(struct rval *into, const struct rval *x)
{
	into->count += x->count;
	into->errors += x->errors;
	if (x->dur_n) {
		if (!into->dur_n || x->dur_min < into->dur_min) into->dur_min = x->dur_min;
		if (!into->dur_n || x->dur_max > into->dur_max) into->dur_max = x->dur_max;
	}
	into->dur_n += x->dur_n;
	into->dur_sum += x->dur_sum;
	into->llm_n += x->llm_n;
	into->in_tok += x->in_tok;
	into->out_tok += x->out_tok;
	into->cost_nano += x->cost_nano;
	return tt_hist_merge(&into->h, &x->h);
}

/* ---- groups: (service, name, kind) -> number, "rgroups" */

/* Row key of a group: 'k' + u16 BE length + service, u16 BE length + name,
 * then kind. */
static size_t gkey(uint8_t *out, const char *svc, size_t sn, const char *name, size_t nn,
    const char *kind, size_t kn)
{
	size_t o = 0;
	out[o++] = 'k';
	out[o++] = (uint8_t)(sn >> 8), out[o++] = (uint8_t)sn;
	memcpy(out + o, svc, sn), o += sn;
	out[o++] = (uint8_t)(nn >> 8), out[o++] = (uint8_t)nn;
	memcpy(out + o, name, nn), o += nn;
	memcpy(out + o, kind, kn), o += kn;
	return o;
}

#define GKEY_MAX (1 + 2 + ROLLUP_SVC_MAX + 2 + ROLLUP_NAME_MAX + ROLLUP_KIND_MAX)

static int meta_u64(MDB_txn *t, tt_store *s, const char *name, uint64_t dflt, uint64_t *v)
{
	int rc = store_get_u64(t, s->db_meta, name, v);
	if (rc == TT_ENOTFOUND) {
		*v = dflt;
		return 0;
	}
	return rc;
}

/* The number of a's group, created if new; past TT_ROLLUP_GROUPS_MAX groups
 * of its service, the group of the name "(other)". */
static int group_num(tt_store *s, MDB_txn *t, const struct rkey *g, uint32_t *num)
{
	uint8_t key[GKEY_MAX], ck[1 + ROLLUP_SVC_MAX], nb[4];
	const char *svc = g->p[0], *name = g->p[1], *kind = g->p[2];
	size_t name_len = g->n[1];
	MDB_val k, d;
	uint64_t next, per_svc;
	int rc, other = 0;

	for (;;) {
		k.mv_data = key;
		k.mv_size = gkey(key, svc, g->n[0], name, name_len, kind, g->n[2]);
		if ((rc = mdb_get(t, s->db_rgroups, &k, &d)) == 0) {
			if (d.mv_size != 4)
				return TT_ECORRUPT;
			*num = get32(d.mv_data);
			return 0;
		}
		if (rc != MDB_NOTFOUND)
			return rc;
		/* a new group: within its service's cap? */
		ck[0] = 'c';
		memcpy(ck + 1, svc, g->n[0]);
		k.mv_data = ck, k.mv_size = 1 + g->n[0];
		if ((rc = mdb_get(t, s->db_rgroups, &k, &d)) == 0 && d.mv_size == 4)
			per_svc = get32(d.mv_data);
		else if (rc == 0 || rc == MDB_NOTFOUND)
			per_svc = 0;
		else
			return rc;
		if (per_svc < TT_ROLLUP_GROUPS_MAX || other)
			break;
		name = TT_ROLLUP_OTHER, name_len = sizeof TT_ROLLUP_OTHER - 1;
		other = 1; /* look (other) up, or create it past the cap */
	}
	if ((rc = meta_u64(t, s, "next_rgroup", 1, &next)) != 0)
		return rc;
	if (next > UINT32_MAX)
		return TT_ETOOBIG;
	*num = (uint32_t)next;
	put32(nb, *num);
	d.mv_data = nb, d.mv_size = 4;
	put32(nb, (uint32_t)per_svc + 1); /* k is the 'c' row: the service's count */
	if ((rc = mdb_put(t, s->db_rgroups, &k, &d, 0)) != 0)
		return rc;
	/* 'k' row -> number, 'g' row -> the key's strings */
	put32(nb, *num);
	k.mv_data = key;
	k.mv_size = gkey(key, svc, g->n[0], name, name_len, kind, g->n[2]);
	if ((rc = mdb_put(t, s->db_rgroups, &k, &d, 0)) != 0)
		return rc;
	{
		uint8_t gk[5] = { 'g', (uint8_t)(*num >> 24), (uint8_t)(*num >> 16), (uint8_t)(*num >> 8),
			(uint8_t)*num };
		MDB_val kk = { 5, gk }, dd = { k.mv_size - 1, key + 1 };
		if ((rc = mdb_put(t, s->db_rgroups, &kk, &dd, 0)) != 0)
			return rc;
	}
	return store_put_u64(t, s->db_meta, "next_rgroup", next + 1);
}

/* ---- rows to write: what a commit folds, or what a writer holds back */

/* Row key: minute + 2^63 (u64 BE, so negative minutes sort first), group
 * (u32 BE). */
#define RKEY_SIZE 12

static void rkey_put(uint8_t *k, int64_t minute, uint32_t group)
{
	putbe64(k, (uint64_t)minute ^ (1ull << 63));
	k[8] = (uint8_t)(group >> 24), k[9] = (uint8_t)(group >> 16);
	k[10] = (uint8_t)(group >> 8), k[11] = (uint8_t)group;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a, b;
	memcpy(&a, x, 8), memcpy(&b, y, 8);
	return a < b ? -1 : a > b;
}

/* One block accumulator as an rval; b->ru_hist is sorted (acc, bucket). */
static int rval_of(const blkinfo *b, uint32_t idx, struct rval *r)
{
	const rollacc *a = &b->ru[idx];
	size_t lo = 0, hi = b->ru_hist.len / 8;
	uint64_t want = (uint64_t)idx << 16, e;

	memset(r, 0, sizeof *r);
	r->count = a->count, r->errors = a->errors, r->dur_n = a->dur_n;
	r->dur_sum = a->dur_sum, r->dur_min = a->dur_min, r->dur_max = a->dur_max;
	r->llm_n = a->llm_n, r->in_tok = a->in_tok, r->out_tok = a->out_tok;
	r->cost_nano = a->cost_nano;
	if (!a->dur_n)
		return 0;
	while (lo < hi) { /* the first entry of acc idx */
		size_t mid = (lo + hi) / 2;
		memcpy(&e, b->ru_hist.data + mid * 8, 8);
		if (e < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < b->ru_hist.len / 8; lo++) {
		memcpy(&e, b->ru_hist.data + lo * 8, 8);
		if (e >> 16 != idx)
			break;
		if (tt_hist_add(&r->h, (uint16_t)e, 1) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The rows of a set of blocks, merged by (minute, service, name, kind): the
 * keys live in `keys` (a blkinfo used for its accumulator table and arena,
 * ru[i] naming row i's strings), the values in v[i]. */
struct rollpend {
	blkinfo keys;
	uint32_t *tab, tabsz;
	struct rval *v;
	size_t cap_v;
	uint64_t first_seq;  /* held back: the first block not in the rows; 0 = none */
	int64_t since;       /* CLOCK_MONOTONIC ns when the first was held */
};

rollpend *rollpend_new(void)
{
	return calloc(1, sizeof(rollpend));
}

void rollpend_clear(rollpend *p)
{
	for (uint32_t i = 0; i < p->keys.nru; i++) {
		tt_hist_free(&p->v[i].h);
		memset(&p->v[i], 0, sizeof p->v[i]);
	}
	p->keys.nru = 0;
	p->keys.arena.len = 0;
	if (p->tab)
		memset(p->tab, 0xff, p->tabsz * sizeof *p->tab);
	p->first_seq = 0;
	p->since = 0;
}

static void rollpend_fini(rollpend *p)
{
	rollpend_clear(p);
	blkinfo_free(&p->keys);
	free(p->tab);
	free(p->v);
}

void rollpend_free(rollpend *p)
{
	if (!p)
		return;
	rollpend_fini(p);
	free(p);
}

static void rkey_at(const blkinfo *b, const rollacc *a, struct rkey *k)
{
	k->p[0] = (const char *)b->arena.data + a->svc_off, k->n[0] = a->svc_len;
	k->p[1] = (const char *)b->arena.data + a->name_off, k->n[1] = a->name_len;
	k->p[2] = (const char *)b->arena.data + a->kind_off, k->n[2] = a->kind_len;
}

/* Add the rollups of a block to p. */
static int rollpend_add1(rollpend *p, blkinfo *b)
{
	if (b->ru_hist.len > 8) /* sorted once (a retried commit sorts a sorted one) */
		qsort(b->ru_hist.data, b->ru_hist.len / 8, 8, u64_cmp);
	if (!p->keys.arena.data && tt_buf_reserve(&p->keys.arena, 256) < 0)
		return -ENOMEM;
	for (uint32_t j = 0; j < b->nru; j++) {
		struct rkey k;
		struct rval x;
		int idx, rc;

		rkey_at(b, &b->ru[j], &k);
		/* room for a new row's value first: a key never goes in without it
		 * (rollpend_clear walks the values of every key) */
		if (p->keys.nru >= p->cap_v) {
			size_t nc = p->cap_v ? p->cap_v * 2 : 16;
			struct rval *nv = realloc(p->v, nc * sizeof *nv);
			if (!nv)
				return -ENOMEM;
			memset(nv + p->cap_v, 0, (nc - p->cap_v) * sizeof *nv);
			p->v = nv, p->cap_v = nc;
		}
		if ((idx = acc_find(&p->keys, &p->tab, &p->tabsz, b->ru[j].minute, &k)) < 0)
			return idx;
		if ((rc = rval_of(b, j, &x)) == 0)
			rc = rval_add(&p->v[idx], &x);
		tt_hist_free(&x.h);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int rollpend_add(rollpend *p, blkinfo *blks, size_t nblks)
{
	int rc;
	for (size_t i = 0; i < nblks; i++)
		if ((rc = rollpend_add1(p, &blks[i])) < 0)
			return rc;
	return 0;
}

struct rrow { uint8_t key[RKEY_SIZE]; uint32_t i; };

static int rrow_cmp(const void *x, const void *y)
{
	const struct rrow *a = x, *b = y;
	return memcmp(a->key, b->key, RKEY_SIZE);
}

/* Add p's rows to the stored ones, inside t, in key order (rows whose names
 * fold into one "(other)" group are added together). */
int rollpend_write(tt_store *s, MDB_txn *t, const rollpend *p)
{
	struct rrow *rows = NULL;
	size_t n = p->keys.nru;
	uint64_t folded = 0, total;
	tt_buf val = { 0 };
	int rc = 0;

	if (!s->db_rollup || !s->db_rgroups || n == 0)
		return 0; /* a read-only open never commits */
	if (!(rows = malloc(n * sizeof *rows)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct rkey k;
		uint32_t g;
		rkey_at(&p->keys, &p->keys.ru[i], &k);
		if ((rc = group_num(s, t, &k, &g)) != 0)
			goto out;
		rkey_put(rows[i].key, p->keys.ru[i].minute, g);
		rows[i].i = (uint32_t)i;
		folded += p->v[i].count;
	}
	if (n > 1)
		qsort(rows, n, sizeof *rows, rrow_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		struct rval acc = { 0 }, x;
		MDB_val k = { RKEY_SIZE, rows[i].key }, d;

		for (j = i; j < n && memcmp(rows[j].key, rows[i].key, RKEY_SIZE) == 0; j++)
			if ((rc = rval_add(&acc, &p->v[rows[j].i])) < 0)
				break;
		if (rc == 0 && (rc = mdb_get(t, s->db_rollup, &k, &d)) == 0) {
			/* a damaged row is replaced by what is folded now (tt-check
			 * reports the difference) */
			if (rval_decode(d.mv_data, d.mv_size, &x) == 0) {
				rc = rval_add(&acc, &x);
				tt_hist_free(&x.h);
			}
		} else if (rc == MDB_NOTFOUND) {
			rc = 0;
		}
		if (rc == 0 && (rc = rval_encode(&acc, &val)) == 0) {
			d.mv_data = val.data, d.mv_size = val.len;
			rc = mdb_put(t, s->db_rollup, &k, &d, 0);
		}
		tt_hist_free(&acc.h);
		if (rc)
			goto out;
	}
	if ((rc = meta_u64(t, s, "rollup_records", 0, &total)) == 0)
		rc = store_put_u64(t, s->db_meta, "rollup_records", total + folded);
out:
	free(rows);
	tt_buf_free(&val);
	return rc;
}

int rollup_commit(tt_store *s, MDB_txn *t, blkinfo *blks, size_t nblks)
{
	rollpend p = { 0 };
	int rc;

	if (!s->db_rollup || !s->db_rgroups)
		return 0;
	if ((rc = rollpend_add(&p, blks, nblks)) == 0)
		rc = rollpend_write(s, t, &p);
	rollpend_fini(&p);
	return rc;
}

/* ---- rows a writer holds back: "rlag" + segment (u64 BE) in meta -> the
 * first block sequence number of the segment not folded into the rows */

static void lag_key(uint8_t k[12], uint64_t seg)
{
	memcpy(k, "rlag", 4);
	putbe64(k + 4, seg);
}

int rollup_lag_put(tt_store *s, MDB_txn *t, uint64_t seg, uint64_t first_seq)
{
	uint8_t kb[12], vb[8];
	MDB_val k = { 12, kb }, d = { 8, vb };

	lag_key(kb, seg);
	put64(vb, first_seq);
	return mdb_put(t, s->db_meta, &k, &d, 0);
}

int rollup_lag_del(tt_store *s, MDB_txn *t, uint64_t seg)
{
	uint8_t kb[12];
	MDB_val k = { 12, kb };
	int rc;

	lag_key(kb, seg);
	rc = mdb_del(t, s->db_meta, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Fold the blocks of seg from first_seq on (as the block log in t has them)
 * into p. A block that cannot be read is reported and left out. */
static int fold_lagging(tt_store *s, MDB_txn *t, uint64_t seg, uint64_t first_seq, rollpend *p)
{
	segrec r;
	blkinfo bi = { 0 };
	tt_buf io = { 0 }, raw = { 0 };
	MDB_cursor *c;
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	int rc;

	if ((rc = index_seg_get(s, t, seg, &r)) != 0)
		return rc == TT_ENOTFOUND ? 0 : rc; /* deleted: nothing to fold */
	if ((rc = mdb_cursor_open(t, s->db_blocks, &c)) != 0)
		return mdb_rc(rc);
	putbe64(kb, first_seq);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0 &&
	    getbe64(k.mv_data) <= r.last_seq; rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		blogrec b;
		uint32_t got;
		if (blogrec_decode(d.mv_data, d.mv_size, &b) < 0 || b.seg != seg)
			continue;
		if (store_read_block(s, seg, b.off, b.comp_len, NULL, &io, &raw, &got) < 0)
			continue; /* reported */
		blkinfo_reset(&bi);
		if ((rc = blkinfo_scan(&bi, raw.data, got)) == TT_ECORRUPT)
			continue; /* verified, yet not records: as recovery, left out */
		if (rc < 0 || (rc = rollpend_add1(p, &bi)) < 0)
			break;
	}
	mdb_cursor_close(c);
	blkinfo_free(&bi);
	tt_buf_free(&io);
	tt_buf_free(&raw);
	return rc == MDB_NOTFOUND ? 0 : mdb_rc(rc);
}

/* Every segment's held back blocks, folded into p (readers: in t's snapshot). */
static int fold_all_lagging(tt_store *s, MDB_txn *t, rollpend *p)
{
	MDB_cursor *c;
	MDB_val k = { 4, "rlag" }, d;
	int rc;

	if ((rc = mdb_cursor_open(t, s->db_meta, &c)) != 0)
		return mdb_rc(rc);
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		if (k.mv_size < 4 || memcmp(k.mv_data, "rlag", 4) != 0)
			break;
		if (k.mv_size != 12 || d.mv_size != 8)
			continue;
		if ((rc = fold_lagging(s, t, getbe64((const uint8_t *)k.mv_data + 4),
		    get64(d.mv_data), p)) < 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : mdb_rc(rc);
}

int rollup_refold(tt_store *s, uint64_t seg)
{
	uint8_t kb[12];
	MDB_val k = { 12, kb }, d;
	MDB_txn *t;
	rollpend *p;
	int rc;

	if (!s->db_rollup || (s->o.flags & TT_OPEN_RDONLY))
		return 0;
	if (!(p = rollpend_new()))
		return -ENOMEM;
	lag_key(kb, seg);
	for (;;) {
		if ((rc = store_wtxn(s, &t)) != 0)
			break;
		if ((rc = mdb_get(t, s->db_meta, &k, &d)) == MDB_NOTFOUND) {
			store_wtxn_abort(s, t);
			rc = 0;
			break;
		}
		if (rc == 0 && d.mv_size != 8)
			rc = TT_ECORRUPT;
		if (rc || (rc = fold_lagging(s, t, seg, get64(d.mv_data), p)) ||
		    (rc = rollpend_write(s, t, p)) || (rc = rollup_lag_del(s, t, seg))) {
			store_wtxn_abort(s, t);
			if (rc == MDB_MAP_FULL && (rc = store_map_grow(s)) == 0) {
				rollpend_clear(p);
				continue;
			}
			break;
		}
		if ((rc = store_wtxn_commit(s, t)) == MDB_MAP_FULL) {
			rollpend_clear(p);
			continue;
		}
		break;
	}
	rollpend_free(p);
	return mdb_rc(rc);
}

int rollup_flush(tt_store *s, uint64_t seg, rollpend *p)
{
	MDB_txn *t;
	int rc;

	if (!p || (!p->first_seq && p->keys.nru == 0))
		return 0;
	for (;;) {
		if ((rc = store_wtxn(s, &t)) != 0)
			break;
		if ((rc = rollpend_write(s, t, p)) || (rc = rollup_lag_del(s, t, seg))) {
			store_wtxn_abort(s, t);
			if (rc == MDB_MAP_FULL && (rc = store_map_grow(s)) == 0)
				continue;
			break;
		}
		if ((rc = store_wtxn_commit(s, t)) == MDB_MAP_FULL)
			continue;
		break;
	}
	if (rc == 0)
		rollpend_clear(p);
	return mdb_rc(rc);
}

int rollpend_due(const rollpend *p, int64_t now)
{
	return p->keys.nru == 0 || p->keys.nru >= ROLLUP_HOLD_ROWS ||
	    (p->since && now - p->since >= ROLLUP_HOLD_NS);
}

void rollpend_held(rollpend *p, uint64_t first_seq, int64_t now)
{
	if (!p->first_seq) {
		p->first_seq = first_seq;
		p->since = now;
	}
}

uint64_t rollpend_first(const rollpend *p)
{
	return p->first_seq;
}

int64_t rollpend_since(const rollpend *p)
{
	return p->since;
}

/* ---- reading */

static int deliver(tt_rollup_fn fn, void *ctx, int64_t minute, const struct rkey *g,
    const struct rval *v)
{
	tt_rollup r;

	memset(&r, 0, sizeof r);
	r.minute_ns = minute * 60000000000LL;
	r.service = g->p[0], r.service_len = g->n[0];
	r.name = g->p[1], r.name_len = g->n[1];
	r.kind = g->p[2], r.kind_len = g->n[2];
	r.count = v->count, r.errors = v->errors, r.dur_n = v->dur_n;
	r.dur_min = v->dur_min, r.dur_max = v->dur_max, r.dur_sum = v->dur_sum;
	r.llm_n = v->llm_n, r.in_tokens = v->in_tok, r.out_tokens = v->out_tok;
	r.cost_nano = v->cost_nano;
	r.hist = v->h;
	return fn(ctx, &r);
}

/* Would a new group of g's name fold into "(other)" (its service is at the
 * cap)? What a flush of held back rows will store it as. */
static int group_is_other(tt_store *s, MDB_txn *t, const struct rkey *g)
{
	uint8_t key[GKEY_MAX];
	MDB_val k = { gkey(key, g->p[0], g->n[0], g->p[1], g->n[1], g->p[2], g->n[2]), key }, d;

	if (mdb_get(t, s->db_rgroups, &k, &d) == 0)
		return 0;
	key[0] = 'c';
	memcpy(key + 1, g->p[0], g->n[0]);
	k.mv_size = 1 + g->n[0];
	return mdb_get(t, s->db_rgroups, &k, &d) == 0 && d.mv_size == 4 &&
	    get32(d.mv_data) >= TT_ROLLUP_GROUPS_MAX;
}

/* The rollups of blocks whose rows a writer holds back (or a killed writer
 * left unfolded: the next read-write open folds them), folded from the blocks
 * themselves: at most ROLLUP_HOLD_NS of ingest per writer. */
static int held_back(tt_store *s, MDB_txn *t, int64_t m_since, int64_t m_until,
    tt_rollup_fn fn, void *ctx, int *delivered)
{
	rollpend p = { 0 };
	int rc;

	if ((rc = fold_all_lagging(s, t, &p)) == 0)
		for (uint32_t i = 0; i < p.keys.nru; i++) {
			const rollacc *a = &p.keys.ru[i];
			struct rkey g;
			if (a->minute < m_since || a->minute > m_until)
				continue;
			rkey_at(&p.keys, a, &g);
			if (group_is_other(s, t, &g))
				g.p[1] = TT_ROLLUP_OTHER, g.n[1] = sizeof TT_ROLLUP_OTHER - 1;
			if ((rc = deliver(fn, ctx, a->minute, &g, &p.v[i])) < 0)
				break;
			++*delivered;
			if (rc > 0) {
				rc = 0;
				break;
			}
		}
	rollpend_fini(&p);
	return rc;
}

int tt_store_rollups(tt_store *s, int64_t since, int64_t until, tt_rollup_fn fn, void *ctx)
{
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, d;
	uint8_t start[RKEY_SIZE];
	int64_t m_since = minute_of(since), m_until = minute_of(until);
	int rc, delivered = 0, minute_past = 0;

	if (!s->db_rollup || !s->db_rgroups)
		return 0;
	if ((rc = store_rtxn(s, &t)) != 0)
		return mdb_rc(rc);
	if ((rc = mdb_cursor_open(t, s->db_rollup, &c)) != 0) {
		store_rtxn_done(s, t);
		return mdb_rc(rc);
	}
	rkey_put(start, m_since, 0);
	k.mv_size = RKEY_SIZE, k.mv_data = start;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		const uint8_t *kb = k.mv_data;
		struct rval v;
		struct rkey gs;
		uint8_t gk[5] = { 'g', kb[8], kb[9], kb[10], kb[11] };
		MDB_val gkv = { 5, gk }, gd;
		const uint8_t *g;
		size_t sn, nn;
		int64_t minute;

		if (k.mv_size != RKEY_SIZE)
			continue;
		minute = (int64_t)(getbe64(kb) ^ (1ull << 63));
		if (minute > m_until) {
			minute_past = 1;
			break;
		}
		/* the group's strings: 'g' row = u16 BE + service, u16 BE + name, kind */
		if (mdb_get(t, s->db_rgroups, &gkv, &gd) != 0 || gd.mv_size < 4)
			continue;
		g = gd.mv_data;
		sn = (size_t)g[0] << 8 | g[1];
		if (2 + sn + 2 > gd.mv_size)
			continue;
		nn = (size_t)g[2 + sn] << 8 | g[3 + sn];
		if (4 + sn + nn > gd.mv_size)
			continue;
		if ((rc = rval_decode(d.mv_data, d.mv_size, &v)) < 0) {
			if (rc != TT_ECORRUPT)
				break;
			store_problem(s, 0, 0, TT_ECORRUPT, "rollup row does not decode: skipped");
			continue;
		}
		gs.p[0] = (const char *)g + 2, gs.n[0] = sn;
		gs.p[1] = (const char *)g + 4 + sn, gs.n[1] = nn;
		gs.p[2] = (const char *)g + 4 + sn + nn, gs.n[2] = gd.mv_size - 4 - sn - nn;
		rc = deliver(fn, ctx, minute, &gs, &v);
		tt_hist_free(&v.h);
		if (rc < 0)
			break;
		delivered++;
		if (rc > 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND || (rc == 0 && minute_past))
		rc = held_back(s, t, m_since, m_until, fn, ctx, &delivered);
	store_rtxn_done(s, t);
	if (rc < 0 && rc != MDB_NOTFOUND)
		return mdb_rc(rc);
	return delivered;
}

int tt_store_rollups_prune(tt_store *s, int64_t before)
{
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, d;
	int64_t m_before = minute_of(before); /* minutes < this one have ended */
	uint64_t pruned = 0, prev;
	int rc, n = 0;

	if (s->o.flags & TT_OPEN_RDONLY)
		return TT_EREADONLY;
	if (!s->db_rollup)
		return 0;
	if ((rc = store_wtxn(s, &t)) != 0)
		return mdb_rc(rc);
	if ((rc = mdb_cursor_open(t, s->db_rollup, &c)) != 0)
		goto fail;
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		struct rval v;
		if (k.mv_size == RKEY_SIZE &&
		    (int64_t)(getbe64(k.mv_data) ^ (1ull << 63)) >= m_before)
			break;
		if (rval_decode(d.mv_data, d.mv_size, &v) == 0) {
			pruned += v.count;
			tt_hist_free(&v.h);
		}
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		n++;
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND && rc != 0)
		goto fail;
	if (n == 0) { /* nothing old enough: no commit (and no fsync) at all */
		store_wtxn_abort(s, t);
		return 0;
	}
	if ((rc = meta_u64(t, s, "rollup_pruned", 0, &prev)) != 0 ||
	    (rc = store_put_u64(t, s->db_meta, "rollup_pruned", prev + pruned)) != 0)
		goto fail;
	if ((rc = store_wtxn_commit(s, t)) != 0)
		return mdb_rc(rc);
	return n;
fail:
	store_wtxn_abort(s, t);
	return mdb_rc(rc);
}

/* tt-check: every folded record is in a rollup row or was pruned with one. */
int rollup_verify(tt_store *s, uint64_t *rolled, uint64_t *expect)
{
	MDB_txn *t;
	MDB_cursor *c;
	MDB_val k, d;
	uint64_t folded = 0, pruned = 0;
	int rc, bad = 0;

	*rolled = *expect = 0;
	if (!s->db_rollup)
		return 0;
	if ((rc = store_rtxn(s, &t)) != 0)
		return mdb_rc(rc);
	if ((rc = meta_u64(t, s, "rollup_records", 0, &folded)) != 0 ||
	    (rc = meta_u64(t, s, "rollup_pruned", 0, &pruned)) != 0 ||
	    (rc = mdb_cursor_open(t, s->db_rollup, &c)) != 0) {
		store_rtxn_done(s, t);
		return mdb_rc(rc);
	}
	for (rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		struct rval v;
		if (k.mv_size != RKEY_SIZE || rval_decode(d.mv_data, d.mv_size, &v) != 0) {
			bad++;
			continue;
		}
		*rolled += v.count;
		tt_hist_free(&v.h);
	}
	mdb_cursor_close(c);
	store_rtxn_done(s, t);
	*expect = folded - (pruned < folded ? pruned : folded);
	return rc == MDB_NOTFOUND ? bad : mdb_rc(rc);
}
