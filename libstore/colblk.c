/*
 * colblk.c -- the columnar block payload (codec 2, FORMAT.md 6.4).
 *
 * A block's frames (varint length + canonical msgpack record, 6.2) are laid
 * out by field before LZ4 sees them: the keys of each record become a shape
 * shared by every record with the same keys in the same order, and the values
 * of one field (one *path*: a top-level key, or a key of a map held by a
 * top-level key, such as attrs.user.id) go into one column. A column is stored
 * the cheapest of four ways: the msgpack values back to back (RAW), integers
 * as zigzag varints (INT) or as differences from the previous value (DELTA:
 * timestamps), or as indexes into a block dictionary shared by all columns
 * (DICT: services, names, levels, ids; a lower-case hex string is kept there
 * as its bytes, so a 32-digit trace id costs 16 bytes once per block and a
 * parent span id points at the entry its span already made).
 *
 * The transform is exact: colblk_decode gives back the frames byte for byte,
 * so raw_len, the index's raw offsets and every reader above the block stay
 * as they are. The encoder proves it on every block (it decodes what it made
 * and compares) and returns 1 -- store the block as codec 1 -- when it cannot
 * lay a block out or the proof fails. The decoder treats its input as hostile:
 * every count is checked against the bytes present before anything is sized
 * by it, every copy against the output's length.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <xxhash.h>

#include "store.h"

enum { COL_RAW = 0, COL_INT = 1, COL_DELTA = 2, COL_DICT = 3 };
enum { DICT_MP = 0, DICT_HEX = 1 };

#define COL_PATH_MAX 4096u   /* columns in one block (paths), both sides */
#define COL_KEEP (1u << 20)  /* per-thread tables larger than this are freed */
#define HEX_MAX 128u         /* longest hex string kept as bytes (digits) */
#define DICT_GIVEUP 32u      /* values of a column all distinct and none hex: no dictionary */

/* ---- small helpers */

static size_t put_var(uint8_t *p, uint64_t v)
{
	size_t i = 0;

	while (v >= 0x80) {
		p[i++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[i++] = (uint8_t)v;
	return i;
}

static size_t var_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80)
		v >>= 7, n++;
	return n;
}

static int get_var(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t r = 0;
	int shift = 0;

	for (;;) {
		uint8_t b;
		if (p >= end || shift > 63)
			return -1;
		b = *p++;
		r |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
		shift += 7;
	}
	*pp = p;
	*v = r;
	return 0;
}

/* Bits to tell n values apart: 0 for one value. */
static unsigned width(uint32_t n)
{
	unsigned w = 0;

	while (w < 32 && (n - 1) >> w)
		w++;
	return n <= 1 ? 0 : w;
}

/* Values of w bits, least significant bit first, into whole bytes. */
static size_t pack(uint8_t *p, const uint32_t *v, uint32_t n, unsigned w)
{
	uint64_t acc = 0;
	unsigned have = 0;
	size_t o = 0;

	for (uint32_t i = 0; i < n; i++) {
		acc |= (uint64_t)v[i] << have;
		have += w;
		while (have >= 8) {
			p[o++] = (uint8_t)acc;
			acc >>= 8;
			have -= 8;
		}
	}
	if (have)
		p[o++] = (uint8_t)acc;
	return o;
}

static size_t packed_len(uint32_t n, unsigned w) { return ((size_t)n * w + 7) / 8; }

/* The next w-bit value of a packed run [p, end), *bit bits in. */
static inline int unpack(const uint8_t *p, const uint8_t *end, uint64_t *bit, unsigned w,
    uint32_t *v)
{
	uint64_t b = *bit, r = 0;
	unsigned got = 0;

	if (w == 0) {
		*v = 0;
		return 0;
	}
	if (b + w > (uint64_t)(end - p) * 8)
		return -1;
	if ((b >> 3) + 8 <= (uint64_t)(end - p)) {
		/* w <= 32 bits from 8 bytes read at once */
		*v = (uint32_t)((get64(p + (b >> 3)) >> (b & 7)) & (((uint64_t)1 << w) - 1));
		*bit = b + w;
		return 0;
	}
	while (got < w) {
		unsigned off = (unsigned)(b & 7), take = 8 - off;
		if (take > w - got)
			take = w - got;
		r |= (uint64_t)((p[b >> 3] >> off) & ((1u << take) - 1)) << got;
		got += take;
		b += take;
	}
	*bit = b;
	*v = (uint32_t)r;
	return 0;
}

static uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{ return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

/* A map header at p: its bytes and entry count; 0 when p holds no map. */
static size_t map_head(const uint8_t *p, const uint8_t *end, uint32_t *count)
{
	if (p >= end)
		return 0;
	if ((*p & 0xf0) == 0x80) {
		*count = *p & 0x0f;
		return 1;
	}
	if (*p == 0xde && end - p >= 3) {
		*count = be16(p + 1);
		return 3;
	}
	if (*p == 0xdf && end - p >= 5) {
		*count = be32(p + 1);
		return 5;
	}
	return 0;
}

/* Length of the msgpack str at p (header included, *hp of it); 0 when p
 * holds none. */
static size_t str_at(const uint8_t *p, const uint8_t *end, size_t *hp)
{
	size_t n, h;

	if (p >= end)
		return 0;
	if ((*p & 0xe0) == 0xa0)
		h = 1, n = *p & 0x1f;
	else if (*p == 0xd9 && end - p >= 2)
		h = 2, n = p[1];
	else if (*p == 0xda && end - p >= 3)
		h = 3, n = be16(p + 1);
	else if (*p == 0xdb && end - p >= 5)
		h = 5, n = be32(p + 1);
	else
		return 0;
	*hp = h;
	return n <= (size_t)(end - p) - h ? h + n : 0;
}

static size_t str_len(const uint8_t *p, const uint8_t *end)
{
	size_t h;

	return str_at(p, end, &h);
}

/* Length of the whole msgpack value at p, bounded by end; 0 if malformed. */
static size_t val_len(const uint8_t *p, const uint8_t *end)
{
	size_t left = (size_t)(end - p), n = 0;
	uint8_t b;

	if (left == 0)
		return 0;
	b = *p;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		n = 1;
	else if (b == 0xcc || b == 0xd0)
		n = 2;
	else if (b == 0xcd || b == 0xd1)
		n = 3;
	else if (b == 0xca || b == 0xce || b == 0xd2)
		n = 5;
	else if (b == 0xcb || b == 0xcf || b == 0xd3)
		n = 9;
	else if ((b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb))
		return str_len(p, end);
	else {
		/* bin, ext, array, map: the bounded reader of format/ */
		if (tt_mp_check(p, left, &n, NULL) < 0)
			return 0;
		return n;
	}
	return n <= left ? n : 0;
}

/* The canonical msgpack integer (msgpack-c's choices, FORMAT.md 2 rule 5). */
static size_t int_put(uint8_t *p, int64_t v)
{
	if (v >= 0) {
		uint64_t u = (uint64_t)v;
		if (u < 128) { p[0] = (uint8_t)u; return 1; }
		if (u < 256) { p[0] = 0xcc; p[1] = (uint8_t)u; return 2; }
		if (u < 65536) { p[0] = 0xcd; p[1] = (uint8_t)(u >> 8); p[2] = (uint8_t)u; return 3; }
		if (u < (1ull << 32)) {
			p[0] = 0xce;
			for (int i = 0; i < 4; i++) p[1 + i] = (uint8_t)(u >> (24 - 8 * i));
			return 5;
		}
		p[0] = 0xcf;
		for (int i = 0; i < 8; i++) p[1 + i] = (uint8_t)(u >> (56 - 8 * i));
		return 9;
	}
	if (v >= -32) { p[0] = (uint8_t)v; return 1; }
	if (v >= -128) { p[0] = 0xd0; p[1] = (uint8_t)v; return 2; }
	if (v >= -32768) { p[0] = 0xd1; p[1] = (uint8_t)((uint64_t)v >> 8); p[2] = (uint8_t)v; return 3; }
	if (v >= INT32_MIN) {
		p[0] = 0xd2;
		for (int i = 0; i < 4; i++) p[1 + i] = (uint8_t)((uint64_t)v >> (24 - 8 * i));
		return 5;
	}
	p[0] = 0xd3;
	for (int i = 0; i < 8; i++) p[1 + i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	return 9;
}

/* The msgpack int of exactly len bytes at p, in any width a reader takes
 * (an int64; a uint64 above it is not one): 1, else 0. */
static int mp_int(const uint8_t *p, size_t len, int64_t *v)
{
	uint8_t b = p[0];

	if (b <= 0x7f && len == 1) *v = b;
	else if (b >= 0xe0 && len == 1) *v = (int8_t)b;
	else if (b == 0xcc && len == 2) *v = p[1];
	else if (b == 0xcd && len == 3) *v = be16(p + 1);
	else if (b == 0xce && len == 5) *v = be32(p + 1);
	else if (b == 0xcf && len == 9) {
		uint64_t u = be64(p + 1);
		if (u > INT64_MAX)
			return 0;
		*v = (int64_t)u;
	} else if (b == 0xd0 && len == 2) *v = (int8_t)p[1];
	else if (b == 0xd1 && len == 3) *v = (int16_t)be16(p + 1);
	else if (b == 0xd2 && len == 5) *v = (int32_t)be32(p + 1);
	else if (b == 0xd3 && len == 9) *v = (int64_t)be64(p + 1);
	else
		return 0;
	return 1;
}

/* The value at p (len bytes) as an int64 whose canonical encoding is exactly
 * these bytes; 0 when it is not one. */
static int int_get(const uint8_t *p, size_t len, int64_t *v)
{
	uint8_t tmp[9];

	/* the same length and type byte: the same bytes (both big-endian) */
	return mp_int(p, len, v) && int_put(tmp, *v) == len && tmp[0] == p[0];
}

int colval_str(const colval *v, const char **p, size_t *n)
{
	size_t h, t = v->p ? str_at(v->p, v->p + v->n, &h) : 0;

	if (!t || t != v->n)
		return 0;
	*p = (const char *)v->p + h, *n = t - h;
	return 1;
}

int colval_int(const colval *v, int64_t *out)
{
	if (v->is_int) {
		*out = v->i;
		return 0;
	}
	return v->p && v->n && mp_int(v->p, v->n, out) ? 0 : -1;
}

static const uint8_t hexdigit[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
};

/* A lower-case hex string of even length whose header is the smallest that
 * fits: its digits' byte count, else 0. */
static size_t hex_bytes(const uint8_t *p, size_t len)
{
	size_t h, n;

	if ((*p & 0xe0) == 0xa0)
		h = 1, n = *p & 0x1f;
	else if (*p == 0xd9)
		h = 2, n = p[1];
	else if (*p == 0xda)
		h = 3, n = be16(p + 1);
	else
		return 0;
	if (n == 0 || (n & 1) || n > HEX_MAX || h + n != len || (h == 2 && n < 32))
		return 0;
	for (size_t i = h; i < len; i++)
		if (!hexdigit[p[i]])
			return 0;
	return n / 2;
}

static size_t str_head(uint8_t *p, size_t n)
{
	if (n < 32) { p[0] = (uint8_t)(0xa0 | n); return 1; }
	if (n < 256) { p[0] = 0xd9; p[1] = (uint8_t)n; return 2; }
	p[0] = 0xda; p[1] = (uint8_t)(n >> 8); p[2] = (uint8_t)n;
	return 3;
}

static int nib(uint8_t c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

/* ---- growable arrays of the per-thread contexts */

/* set when an allocation failed: the decoder then says -ENOMEM, not damage */
static _Thread_local int col_nomem;

static int grow(void **a, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t nc;
	void *na;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	if (!(na = realloc(*a, (size_t)nc * elem))) {
		col_nomem = 1;
		return -ENOMEM;
	}
	*a = na;
	*cap = nc;
	return 0;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* ---- encoder */

/* a value: where, how long, and (encoder) its XXH3. Values of equal hash and
 * length are taken as equal without comparing bytes: a collision would make
 * the layout decode differently, which the proof catches (codec 1 then). */
typedef struct { const uint8_t *p; uint32_t len, hexnb; uint64_t h; } cell; /* hexnb: hex_bytes + 1, 0 unknown */

typedef struct {
	int32_t parent;        /* path id of the enclosing map, -1 at the top */
	const uint8_t *key;    /* the key's msgpack str, header included */
	uint32_t klen;
	uint32_t first, n;     /* its cells: a chain through enc.next */
	uint32_t last;
	uint64_t h;            /* hash_key: equal hashes are taken as the same key (the proof) */
} epath;

typedef struct { uint32_t off, len; } span;

typedef struct {
	epath *paths; uint32_t npaths, cap_paths;
	cell *cells; uint32_t ncells, cap_cells;
	uint32_t *next; uint32_t cap_next;       /* next cell of the same path */
	uint32_t *ptab; uint32_t cap_ptab;       /* path hash: id + 1, 0 empty */
	tt_buf shapes;                           /* every shape, back to back */
	span *shp; uint32_t nshp, cap_shp;
	uint32_t *stab; uint32_t cap_stab;       /* shape hash: id + 1 */
	uint32_t *recshape; uint32_t cap_rec;
	uint32_t *reclen; uint32_t cap_len;      /* body bytes of each record */
	tt_buf cur;                              /* the shape being built */
	cell *dict; uint32_t ndict, cap_dict;    /* dictionary entries (values) */
	uint32_t *dtab; uint32_t cap_dtab;       /* dict hash: id + 1 */
	uint32_t *ltab; uint32_t cap_ltab;       /* a column's own values: slot -> local + 1 */
	uint32_t *lglob; uint32_t cap_lglob;     /* a column's local -> dictionary id or new */
	cell *lval; uint32_t cap_lval;
	uint32_t *cidx; uint32_t cap_cidx;       /* a column's values as local indexes */
	tt_buf out, check;
	uint32_t memo[2][64];                    /* path id + 1 of the last key at each
	                                          * place of a map (level 1, 2) */
} colenc;

static colenc *enc_ctx(void);

static void enc_free(colenc *e)
{
	free(e->paths), free(e->cells), free(e->next), free(e->ptab), free(e->shp);
	free(e->stab), free(e->recshape), free(e->reclen), free(e->dict), free(e->dtab);
	free(e->ltab), free(e->lglob), free(e->lval), free(e->cidx);
	tt_buf_free(&e->shapes), tt_buf_free(&e->cur), tt_buf_free(&e->out);
	tt_buf_free(&e->check);
}

static uint64_t hash_key(int32_t parent, const uint8_t *p, size_t n)
{
	return XXH3_64bits_withSeed(p, n, (uint64_t)(uint32_t)parent);
}

/* the id of path (parent, key), made if new; -1 when too many */
static int32_t path_id(colenc *e, int32_t parent, const uint8_t *key, uint32_t klen)
{
	uint64_t h = hash_key(parent, key, klen);
	uint32_t mask = e->cap_ptab - 1, i = (uint32_t)h & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = e->ptab[i];
		if (v == 0)
			break;
		epath *q = &e->paths[v - 1];
		if (q->h == h && q->parent == parent && q->klen == klen)
			return (int32_t)(v - 1);
	}
	if (e->npaths >= COL_PATH_MAX || GROW(e->paths, e->cap_paths, e->npaths + 1) < 0)
		return -1;
	e->paths[e->npaths] = (epath){ parent, key, klen, UINT32_MAX, 0, UINT32_MAX, h };
	e->ptab[i] = ++e->npaths;
	return (int32_t)(e->npaths - 1);
}

static int add_cell(colenc *e, uint32_t path, const uint8_t *p, uint32_t len)
{
	epath *q = &e->paths[path];
	uint32_t c = e->ncells;

	if (GROW(e->cells, e->cap_cells, c + 1) < 0 || GROW(e->next, e->cap_next, c + 1) < 0)
		return -1;
	e->cells[c] = (cell){ p, len, 0, 0 };
	e->next[c] = UINT32_MAX;
	if (q->n++ == 0)
		q->first = c;
	else
		e->next[q->last] = c;
	q->last = c;
	e->ncells++;
	return 0;
}

static int cur_var(colenc *e, uint64_t v)
{
	if (tt_buf_reserve(&e->cur, 10) < 0)
		return -1;
	e->cur.len += put_var(e->cur.data + e->cur.len, v);
	return 0;
}

/* One map of a record into the shape being built and the columns. */
static int enc_map(colenc *e, const uint8_t **pp, const uint8_t *end, int32_t parent)
{
	const uint8_t *p = *pp;
	uint32_t count;
	size_t h = map_head(p, end, &count);

	if (!h || tt_buf_append(&e->cur, p, h) < 0)
		return -1;
	p += h;
	for (uint32_t j = 0; j < count; j++) {
		size_t kl = str_len(p, end), vl;
		uint32_t sub, *m = j < 64 ? &e->memo[parent >= 0][j] : NULL;
		int32_t id;
		if (!kl)
			return -1;
		/* records mostly repeat the keys of the one before: no hashing then */
		if (m && *m && e->paths[*m - 1].parent == parent && e->paths[*m - 1].klen == kl &&
		    memcmp(e->paths[*m - 1].key, p, kl) == 0)
			id = (int32_t)(*m - 1);
		else if ((id = path_id(e, parent, p, (uint32_t)kl)) < 0)
			return -1;
		else if (m)
			*m = (uint32_t)id + 1;
		p += kl;
		if (parent < 0 && map_head(p, end, &sub)) {
			if (cur_var(e, (uint64_t)id << 1 | 1) < 0 || enc_map(e, &p, end, id) < 0)
				return -1;
			continue;
		}
		if (!(vl = val_len(p, end)) || cur_var(e, (uint64_t)id << 1) < 0 ||
		    add_cell(e, (uint32_t)id, p, (uint32_t)vl) < 0)
			return -1;
		p += vl;
	}
	*pp = p;
	return 0;
}

static uint32_t shape_id(colenc *e)
{
	uint32_t mask = e->cap_stab - 1;
	uint32_t i = (uint32_t)XXH3_64bits(e->cur.data, e->cur.len) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = e->stab[i];
		if (v == 0)
			break;
		span *s = &e->shp[v - 1];
		if (s->len == e->cur.len && memcmp(e->shapes.data + s->off, e->cur.data, s->len) == 0)
			return v - 1;
	}
	if (GROW(e->shp, e->cap_shp, e->nshp + 1) < 0 ||
	    tt_buf_append(&e->shapes, e->cur.data, e->cur.len) < 0)
		return UINT32_MAX;
	e->shp[e->nshp] = (span){ (uint32_t)(e->shapes.len - e->cur.len), (uint32_t)e->cur.len };
	e->stab[i] = ++e->nshp;
	return e->nshp - 1;
}

static int table(uint32_t **t, uint32_t *cap, uint32_t n)
{
	uint32_t want = 64;

	while (want < 2 * n)
		want *= 2;
	if (want > *cap) {
		free(*t);
		if (!(*t = malloc((size_t)want * sizeof **t))) {
			*cap = 0;
			return -1;
		}
		*cap = want;
	}
	memset(*t, 0, (size_t)*cap * sizeof **t);
	return 0;
}

static size_t cell_hex(cell *c)
{
	if (!c->hexnb)
		c->hexnb = (uint32_t)hex_bytes(c->p, c->len) + 1;
	return c->hexnb - 1;
}

static size_t dict_entry_size(cell *c)
{
	size_t nb = cell_hex(c);

	return nb ? 1 + var_len(nb) + nb : 1 + c->len;
}

static uint32_t lookup(uint32_t *tab, uint32_t cap, const cell *vals, const cell *c, uint32_t *slot)
{
	uint32_t mask = cap - 1, i = (uint32_t)c->h & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = tab[i];
		if (v == 0 || (vals[v - 1].h == c->h && vals[v - 1].len == c->len)) {
			*slot = i;
			return v;
		}
	}
}

static int out_var(tt_buf *o, uint64_t v)
{
	if (tt_buf_reserve(o, 10) < 0)
		return -1;
	o->len += put_var(o->data + o->len, v);
	return 0;
}

/* Choose a column's layout and append it to e->out. */
static int enc_column(colenc *e, const epath *q)
{
	uint64_t raw = 0, ints = 0, delta = 0, dict;
	uint32_t nlocal = 0, c, k, hexes = 0;
	int is_int = 1;
	int64_t prev = 0;
	tt_buf *o = &e->out;

	if (q->n == 0) {
		/* a map's own path (its keys have columns of their own) */
		if (tt_buf_reserve(o, 2) < 0)
			return -1;
		o->data[o->len++] = COL_RAW;
		o->data[o->len++] = 0;
		return 0;
	}
	if (table(&e->ltab, &e->cap_ltab, q->n) < 0 ||
	    GROW(e->cidx, e->cap_cidx, q->n) < 0 || GROW(e->lval, e->cap_lval, q->n) < 0 ||
	    GROW(e->lglob, e->cap_lglob, q->n) < 0)
		return -1;
	dict = 0;
	for (c = q->first, k = 0; c != UINT32_MAX; c = e->next[c], k++) {
		cell *v = &e->cells[c];
		uint32_t slot, l;
		int64_t x;
		raw += v->len;
		if (is_int && int_get(v->p, v->len, &x)) {
			ints += var_len(zz(x));
			delta += var_len(zz((int64_t)((uint64_t)x - (uint64_t)prev)));
			prev = x;
		} else
			is_int = 0;
		if (dict == UINT64_MAX)
			continue;
		v->h = XXH3_64bits(v->p, v->len);
		if (!(l = lookup(e->ltab, e->cap_ltab, e->lval, v, &slot))) {
			uint32_t g, gs;
			size_t es;
			e->lval[nlocal] = *v;
			e->ltab[slot] = l = ++nlocal;
			g = lookup(e->dtab, e->cap_dtab, e->dict, v, &gs);
			e->lglob[l - 1] = g ? g - 1 : UINT32_MAX;
			es = g ? 0 : dict_entry_size(&e->lval[l - 1]);
			hexes += es && es <= v->len;
			dict += g ? var_len(g - 1) : es + 3;
		}
		e->cidx[k] = l - 1;
		/* text that never repeats (messages): no dictionary, no hashing */
		if (k + 1 == DICT_GIVEUP && nlocal == DICT_GIVEUP && !hexes)
			dict = UINT64_MAX;
	}
	if (dict != UINT64_MAX)
		dict += var_len(nlocal) + packed_len(q->n, width(nlocal));

	if (is_int && (ints <= raw && ints <= dict) ) {
		int d = delta < ints;
		if (tt_buf_reserve(o, 16 + (size_t)(d ? delta : ints)) < 0)
			return -1;
		o->data[o->len++] = d ? COL_DELTA : COL_INT;
		o->len += put_var(o->data + o->len, d ? delta : ints);
		prev = 0;
		for (c = q->first; c != UINT32_MAX; c = e->next[c]) {
			int64_t x;
			(void)int_get(e->cells[c].p, e->cells[c].len, &x);
			o->len += put_var(o->data + o->len,
			    zz(d ? (int64_t)((uint64_t)x - (uint64_t)prev) : x));
			prev = x;
		}
	} else if (dict < raw) {
		/* the column's new values join the dictionary first */
		size_t body;
		for (k = 0; k < nlocal; k++) {
			uint32_t gs;
			if (e->lglob[k] != UINT32_MAX)
				continue;
			if (lookup(e->dtab, e->cap_dtab, e->dict, &e->lval[k], &gs) == 0) {
				if (GROW(e->dict, e->cap_dict, e->ndict + 1) < 0)
					return -1;
				e->dict[e->ndict] = e->lval[k];
				e->dtab[gs] = ++e->ndict;
				e->lglob[k] = e->ndict - 1;
			}
		}
		body = var_len(nlocal) + packed_len(q->n, width(nlocal));
		for (k = 0; k < nlocal; k++)
			body += var_len(e->lglob[k]);
		if (tt_buf_reserve(o, 16 + body) < 0)
			return -1;
		o->data[o->len++] = COL_DICT;
		o->len += put_var(o->data + o->len, body);
		o->len += put_var(o->data + o->len, nlocal);
		for (k = 0; k < nlocal; k++)
			o->len += put_var(o->data + o->len, e->lglob[k]);
		o->len += pack(o->data + o->len, e->cidx, q->n, width(nlocal));
	} else {
		if (tt_buf_reserve(o, 16 + raw) < 0)
			return -1;
		o->data[o->len++] = COL_RAW;
		o->len += put_var(o->data + o->len, raw);
		for (c = q->first; c != UINT32_MAX; c = e->next[c]) {
			memcpy(o->data + o->len, e->cells[c].p, e->cells[c].len);
			o->len += e->cells[c].len;
		}
	}
	return 0;
}

static void enc_trim(colenc *e)
{
	if ((size_t)e->cap_cells * sizeof *e->cells > COL_KEEP) {
		free(e->cells), e->cells = NULL, e->cap_cells = 0;
		free(e->next), e->next = NULL, e->cap_next = 0;
	}
	if (e->out.cap > 4 * COL_KEEP)
		tt_buf_free(&e->out);
	if (e->check.cap > 4 * COL_KEEP)
		tt_buf_free(&e->check);
}

int colblk_encode(const uint8_t *raw, uint32_t raw_len, uint32_t nrec, const tt_buf **out)
{
	colenc *e = enc_ctx();
	size_t pos = 0, got = 0;
	const uint8_t *rec;
	size_t rlen;
	uint32_t r, i;
	int rc = 1;

	if (!e)
		return 1;
	e->npaths = e->ncells = e->nshp = e->ndict = 0;
	memset(e->memo, 0, sizeof e->memo);
	e->shapes.len = e->out.len = 0;
	if (nrec == 0 || table(&e->ptab, &e->cap_ptab, COL_PATH_MAX) < 0 ||
	    table(&e->stab, &e->cap_stab, nrec) < 0 || GROW(e->recshape, e->cap_rec, nrec) < 0 ||
	    GROW(e->reclen, e->cap_len, nrec) < 0)
		goto done;
	for (r = 0; r < nrec; r++) {
		const uint8_t *p;
		if (rec_next(raw, raw_len, &pos, &rec, &rlen) != 1)
			goto done;
		p = rec;
		e->reclen[r] = (uint32_t)rlen;
		e->cur.len = 0;
		if (enc_map(e, &p, rec + rlen, -1) < 0 || p != rec + rlen ||
		    (e->recshape[r] = shape_id(e)) == UINT32_MAX)
			goto done;
	}
	if (pos != raw_len || table(&e->dtab, &e->cap_dtab, e->ncells) < 0)
		goto done;

	/* header: records, paths, shapes; the dictionary goes in front of the
	 * columns once the columns have made it, so columns go to check first */
	{
		tt_buf *o = &e->out, cols;
		size_t shape_bytes = packed_len(nrec, width(e->nshp));
		if (out_var(o, nrec) < 0 || out_var(o, e->npaths) < 0)
			goto done;
		for (i = 0; i < e->npaths; i++)
			if (out_var(o, (uint64_t)(e->paths[i].parent + 1)) < 0 ||
			    tt_buf_append(o, e->paths[i].key, e->paths[i].klen) < 0)
				goto done;
		if (out_var(o, e->nshp) < 0)
			goto done;
		for (i = 0; i < e->nshp; i++)
			if (out_var(o, e->shp[i].len) < 0 ||
			    tt_buf_append(o, e->shapes.data + e->shp[i].off, e->shp[i].len) < 0)
				goto done;
		if (out_var(o, shape_bytes) < 0 || tt_buf_reserve(o, shape_bytes) < 0)
			goto done;
		o->len += pack(o->data + o->len, e->recshape, nrec, width(e->nshp));
		/* the records' lengths, less the shortest, in as few bits as fit */
		{
			uint32_t lo = UINT32_MAX, hi = 0;
			unsigned w;
			for (r = 0; r < nrec; r++) {
				lo = e->reclen[r] < lo ? e->reclen[r] : lo;
				hi = e->reclen[r] > hi ? e->reclen[r] : hi;
			}
			for (r = 0; r < nrec; r++)
				e->reclen[r] -= lo;
			w = width(hi - lo + 1);
			if (out_var(o, lo) < 0 || tt_buf_reserve(o, 1 + packed_len(nrec, w)) < 0)
				goto done;
			o->data[o->len++] = (uint8_t)w;
			o->len += pack(o->data + o->len, e->reclen, nrec, w);
		}
		/* columns into the check buffer (it is free until the proof) */
		cols = e->out;
		e->out = e->check;
		e->out.len = 0;
		for (i = 0; i < e->npaths; i++)
			if (enc_column(e, &e->paths[i]) < 0) {
				e->check = e->out;
				e->out = cols;
				goto done;
			}
		e->check = e->out;
		e->out = cols;
		o = &e->out;
		if (out_var(o, e->ndict) < 0)
			goto done;
		for (i = 0; i < e->ndict; i++) {
			cell *c = &e->dict[i];
			size_t nb = cell_hex(c), h = c->len - 2 * nb;
			if (tt_buf_reserve(o, 16 + c->len) < 0)
				goto done;
			if (nb) {
				o->data[o->len++] = DICT_HEX;
				o->len += put_var(o->data + o->len, nb);
				for (size_t j = 0; j < nb; j++)
					o->data[o->len++] = (uint8_t)(nib(c->p[h + 2 * j]) << 4 |
					    nib(c->p[h + 2 * j + 1]));
			} else {
				o->data[o->len++] = DICT_MP;
				memcpy(o->data + o->len, c->p, c->len);
				o->len += c->len;
			}
		}
		if (tt_buf_append(o, e->check.data, e->check.len) < 0)
			goto done;
	}
	if (e->out.len > (size_t)raw_len + raw_len / 2 + 4096)
		goto done;
	/* the proof: decode it and compare */
	e->check.len = 0;
	if (tt_buf_reserve(&e->check, (size_t)raw_len + 8) < 0 ||
	    colblk_decode(e->out.data, e->out.len, nrec, raw_len, 0, 0, NULL, 0, e->check.data, &got) < 0 ||
	    got != raw_len || memcmp(e->check.data, raw, raw_len) != 0)
		goto done;
	*out = &e->out;
	rc = 0;
done:
	enc_trim(e);
	return rc;
}

/* ---- decoder */

typedef struct {
	int32_t parent;
	const uint8_t *key; uint32_t klen;
	int mode;
	const uint8_t *p, *end;        /* the column's values left */
	int64_t prev;
	uint32_t nlocal, lbase;        /* DICT: its local -> dictionary ids */
	const uint32_t *lmap;          /* ... at lmaps[lbase] */
	unsigned w;                    /* DICT: bits per index */
	uint64_t bit;                  /* DICT: bits of [p, end) taken */
	uint32_t skip;                 /* values to pass over (before it is read again) */
} dpath;

/* A shape compiled on first use: the bytes between values (map headers and
 * keys, merged) and the column of each value. */
typedef struct { uint32_t lit, litlen, col; } dop;
typedef struct {
	uint32_t first, nops, litlen;
	uint32_t corr;                 /* the column of its top-level "corr", else NO_COL */
	int state;                     /* 0 not compiled yet, 1 compiled */
	uint32_t pfirst, pn;           /* colblk_fields: its wanted columns, at pcols */
	int pstate;                    /* ... 0 not yet listed, 1 listed */
} dshape;

typedef struct {
	dpath *paths; uint32_t cap_paths;
	span *shp; uint32_t cap_shp;
	dshape *cs; uint32_t cap_cs;
	dop *ops; uint32_t nops, cap_ops;
	tt_buf lits;
	cell *dict; uint32_t cap_dict;
	uint32_t *lmaps; uint32_t cap_lmaps;
	uint32_t *cnt; uint32_t cap_cnt;
	uint32_t *pend_n, *pend_sh;    /* a lookup's passed-over records of each shape, */
	uint32_t npend, cap_pend_n, cap_pend_sh; /* not yet counted in its columns */
	uint32_t *pcols; uint32_t npcols, cap_pcols; /* column << 4 | key */
	tt_buf arena;
	uint32_t npaths, nshp, ndict;
} coldec;

static void dec_free(coldec *d)
{
	free(d->paths), free(d->shp), free(d->cs), free(d->ops), free(d->dict);
	free(d->lmaps), free(d->cnt), free(d->pcols), free(d->pend_n), free(d->pend_sh);
	tt_buf_free(&d->lits), tt_buf_free(&d->arena);
}

/* Each thread's tables, kept between blocks and freed when the thread ends
 * (a pthread key's destructor: a writer or scan thread leaves nothing). */
struct colctx { colenc enc; coldec dec; };
static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctx_free(void *p)
{
	struct colctx *c = p;

	enc_free(&c->enc);
	dec_free(&c->dec);
	free(c);
}

static void ctx_key_make(void)
{
	(void)pthread_key_create(&ctx_key, ctx_free);
}

static struct colctx *ctx_get(void)
{
	struct colctx *c;

	(void)pthread_once(&ctx_once, ctx_key_make);
	if ((c = pthread_getspecific(ctx_key)))
		return c;
	if (!(c = calloc(1, sizeof *c)) || pthread_setspecific(ctx_key, c) != 0) {
		free(c);
		col_nomem = 1;
		return NULL;
	}
	return c;
}

static colenc *enc_ctx(void)
{
	struct colctx *c = ctx_get();

	return c ? &c->enc : NULL;
}

static coldec *dec_ctx(void)
{
	struct colctx *c = ctx_get();

	return c ? &c->dec : NULL;
}

static void dec_trim(coldec *d)
{
	if ((size_t)d->cap_lmaps * 4 > COL_KEEP)
		free(d->lmaps), d->lmaps = NULL, d->cap_lmaps = 0;
	if ((size_t)d->cap_dict * sizeof *d->dict > COL_KEEP)
		free(d->dict), d->dict = NULL, d->cap_dict = 0;
	if ((size_t)d->cap_ops * sizeof *d->ops > COL_KEEP)
		free(d->ops), d->ops = NULL, d->cap_ops = 0;
	if (d->arena.cap > COL_KEEP)
		tt_buf_free(&d->arena);
	if (d->lits.cap > COL_KEEP)
		tt_buf_free(&d->lits);
}

#define NO_COL UINT32_MAX

static int lit_add(coldec *d, const uint8_t *p, size_t n)
{
	dop *op;

	if (d->nops == 0 || d->ops[d->nops - 1].col != NO_COL) {
		if (GROW(d->ops, d->cap_ops, d->nops + 1) < 0)
			return -1;
		d->ops[d->nops++] = (dop){ (uint32_t)d->lits.len, 0, NO_COL };
	}
	op = &d->ops[d->nops - 1];
	if (tt_buf_append(&d->lits, p, n) < 0) {
		col_nomem = 1;
		return -1;
	}
	op->litlen += (uint32_t)n;
	return 0;
}

static int shape_map(coldec *d, const uint8_t **sp, const uint8_t *send, int32_t parent)
{
	const uint8_t *s = *sp;
	uint32_t count;
	size_t h = map_head(s, send, &count);

	if (!h || lit_add(d, s, h) < 0)
		return -1;
	s += h;
	while (count--) {
		uint64_t e;
		dpath *q;
		if (get_var(&s, send, &e) < 0 || (e >> 1) >= d->npaths)
			return -1;
		q = &d->paths[e >> 1];
		if (q->parent != parent || lit_add(d, q->key, q->klen) < 0)
			return -1;
		if (e & 1) {
			if (parent >= 0 || shape_map(d, &s, send, (int32_t)(e >> 1)) < 0)
				return -1;
		} else
			d->ops[d->nops - 1].col = (uint32_t)(e >> 1);
	}
	*sp = s;
	return 0;
}

static int shape_compile(coldec *d, const uint8_t *col, uint32_t i)
{
	dshape *c = &d->cs[i];
	const uint8_t *s = col + d->shp[i].off, *send = s + d->shp[i].len;

	c->first = d->nops;
	if (shape_map(d, &s, send, -1) < 0 || s != send)
		return -1;
	c->nops = d->nops - c->first;
	c->litlen = 0;
	c->corr = NO_COL;
	for (uint32_t k = c->first; k < d->nops; k++) {
		uint32_t cc = d->ops[k].col;
		c->litlen += d->ops[k].litlen;
		if (cc != NO_COL && c->corr == NO_COL && d->paths[cc].parent < 0 &&
		    d->paths[cc].klen == 5 && memcmp(d->paths[cc].key, "\xa4" "corr", 5) == 0)
			c->corr = cc;
	}
	c->state = 1;
	return 0;
}

/* Dictionary entry i, a hex entry spelt out into the arena the first time
 * (the arena was sized for all of them: nothing moves). */
static const cell *dict_at(coldec *d, uint32_t i)
{
	cell *c = &d->dict[i];

	if (c->len == 0) {
		uint8_t *a = d->arena.data + d->arena.len;
		size_t h = str_head(a, 2 * (size_t)c->hexnb);
		for (uint32_t j = 0; j < c->hexnb; j++) {
			a[h + 2 * j] = "0123456789abcdef"[c->p[j] >> 4];
			a[h + 2 * j + 1] = "0123456789abcdef"[c->p[j] & 15];
		}
		d->arena.len += h + 2 * (size_t)c->hexnb;
		c->p = a, c->len = (uint32_t)(h + 2 * (size_t)c->hexnb);
	}
	return c;
}

/* The str or bin payload of the msgpack value at p: is it id? */
static int is_id(const uint8_t *p, size_t n, const char *id, size_t id_len)
{
	size_t h;

	if (n == 0)
		return 0;
	if ((*p & 0xe0) == 0xa0)
		h = 1;
	else if (*p == 0xd9 || *p == 0xc4)
		h = 2;
	else if (*p == 0xda || *p == 0xc5)
		h = 3;
	else if (*p == 0xdb || *p == 0xc6)
		h = 5;
	else
		return 0;
	return n == h + id_len && memcmp(p + h, id, id_len) == 0;
}

/* Is the next value of column q the id? (nothing taken) */
static int next_is_id(coldec *d, const dpath *q, const char *id, size_t id_len)
{
	if (q->mode == COL_RAW)
		return is_id(q->p, val_len(q->p, q->end), id, id_len);
	if (q->mode == COL_DICT) {
		dpath t = *q;
		uint32_t x;
		cell *c;
		if (unpack(t.p, t.end, &t.bit, t.w, &x) < 0 || x >= t.nlocal)
			return 0;
		/* an entry is compared once a decode: its h, unused by the
		 * decoder otherwise (0 from dec_parse), keeps the answer + 1 */
		c = &d->dict[t.lmap[x]];
		if (!c->h) {
			const cell *e = dict_at(d, t.lmap[x]);
			c->h = 1 + (uint64_t)is_id(e->p, e->len, id, id_len);
		}
		return c->h == 2;
	}
	return 0;
}

/* Pass over the q->skip values of column q that nobody wants. */
static int skip_now(dpath *q)
{
	uint64_t v;
	uint32_t n = q->skip;
	size_t l;

	q->skip = 0;
	switch (q->mode) {
	case COL_RAW:
		while (n--) {
			if (!(l = val_len(q->p, q->end)))
				return -1;
			q->p += l;
		}
		return 0;
	case COL_DICT:
		q->bit += (uint64_t)n * q->w;
		return q->bit > (uint64_t)(q->end - q->p) * 8 ? -1 : 0;
	default:
		while (n--) {
			if (get_var(&q->p, q->end, &v) < 0)
				return -1;
			q->prev = (int64_t)((uint64_t)q->prev + (uint64_t)unzz(v));
		}
		return 0;
	}
}

/* the next w-bit index of a DICT column */
static inline int dict_next(dpath *q, uint32_t *x)
{
	return unpack(q->p, q->end, &q->bit, q->w, x) < 0 || *x >= q->nlocal ? -1 : 0;
}

/* The next value of column q as a colval: nothing is copied. */
static inline int take_val(coldec *d, dpath *q, colval *v)
{
	uint64_t u;
	size_t n;

	switch (q->mode) {
	case COL_RAW:
		if (!(n = val_len(q->p, q->end)))
			return -1;
		*v = (colval){ q->p, (uint32_t)n, 0, 0, 0 };
		q->p += n;
		return 0;
	case COL_INT:
	case COL_DELTA: {
		int64_t x;
		if (get_var(&q->p, q->end, &u) < 0)
			return -1;
		x = unzz(u);
		if (q->mode == COL_DELTA)
			x = q->prev = (int64_t)((uint64_t)q->prev + (uint64_t)x);
		*v = (colval){ NULL, 0, 0, 1, x };
		return 0;
	}
	default: {
		const cell *c;
		uint32_t x;
		if (dict_next(q, &x) < 0)
			return -1;
		c = dict_at(d, q->lmap[x]);
		*v = (colval){ c->p, c->len, q->lmap[x] + 1, 0, 0 };
		return 0;
	}
	}
}

/* Take the next value of column q: its bytes copied to out (when out), and
 * their length. */
static inline int take(coldec *d, dpath *q, uint8_t *out, size_t room, size_t *len)
{
	colval v;
	uint8_t t[9];
	const uint8_t *p;
	size_t n;

	if (take_val(d, q, &v) < 0)
		return -1;
	if (v.is_int)
		n = int_put(t, v.i), p = t;
	else
		n = v.n, p = v.p;
	if (n > room)
		return -1;
	if (out)
		memcpy(out, p, n);
	*len = n;
	return 0;
}

/* The values of the first n records: to be passed over in every column
 * (skip_now, when the column is next read). */
static int skip_records(coldec *d, const uint8_t *col, const uint8_t *rs, const uint8_t *rs_end,
    unsigned rw, uint32_t n)
{
	uint64_t b = 0;
	uint32_t i, k;

	if (GROW(d->cnt, d->cap_cnt, d->nshp) < 0)
		return -1;
	memset(d->cnt, 0, (size_t)d->nshp * sizeof *d->cnt);
	for (i = 0; i < n; i++) {
		uint32_t sh;
		if (unpack(rs, rs_end, &b, rw, &sh) < 0 || sh >= d->nshp)
			return -1;
		d->cnt[sh]++;
	}
	for (i = 0; i < d->nshp; i++) {
		const dop *op;
		if (!d->cnt[i])
			continue;
		if (!d->cs[i].state && shape_compile(d, col, i) < 0)
			return -1;
		op = d->ops + d->cs[i].first;
		for (k = 0; k < d->cs[i].nops; k++, op++)
			if (op->col != NO_COL)
				d->paths[op->col].skip += d->cnt[i];
	}
	return 0;
}

/* Where the parts of a layout are, once parsed. */
struct dparts {
	const uint8_t *rs, *rs_end;    /* the records' shapes, rw bits each */
	const uint8_t *ls, *ls_end;    /* the records' lengths, lw bits each, + lmin */
	unsigned rw, lw;
	uint32_t lmin;
};

/* Parse a layout's paths, shapes, dictionary and columns into d (every count
 * bounded by the bytes present); 0, or -1 (col_nomem says why). */
static int dec_parse(coldec *d, const uint8_t *col, size_t col_len, uint32_t nrec,
    struct dparts *pt)
{
	const uint8_t *p = col, *end = col + col_len;
	uint64_t v, n;
	uint32_t i, nlm = 0;
	int rc = -1;

	col_nomem = 0;
	d->arena.len = d->lits.len = 0;
	d->nops = 0;
	if (get_var(&p, end, &v) < 0 || v != nrec || nrec == 0)
		goto done;
	/* paths: each at least 2 bytes, so the count is bounded by the input */
	if (get_var(&p, end, &n) < 0 || n > COL_PATH_MAX || n > (uint64_t)(end - p) / 2 ||
	    GROW(d->paths, d->cap_paths, (uint32_t)n) < 0)
		goto done;
	d->npaths = (uint32_t)n;
	for (i = 0; i < d->npaths; i++) {
		dpath *q = &d->paths[i];
		size_t kl;
		if (get_var(&p, end, &v) < 0 || v > i)
			goto done;
		q->parent = (int32_t)v - 1;
		if (q->parent >= 0 && d->paths[q->parent].parent >= 0)
			goto done;
		if (!(kl = str_len(p, end)))
			goto done;
		q->key = p, q->klen = (uint32_t)kl;
		p += kl;
	}
	/* shapes */
	if (get_var(&p, end, &n) < 0 || n > (uint64_t)(end - p) / 2 ||
	    GROW(d->shp, d->cap_shp, (uint32_t)n) < 0 || GROW(d->cs, d->cap_cs, (uint32_t)n) < 0)
		goto done;
	d->nshp = (uint32_t)n;
	for (i = 0; i < d->nshp; i++) {
		if (get_var(&p, end, &v) < 0 || v > (uint64_t)(end - p))
			goto done;
		d->shp[i] = (span){ (uint32_t)(p - col), (uint32_t)v };
		d->cs[i].state = 0;
		p += v;
	}
	/* the records' shapes */
	if (get_var(&p, end, &v) < 0 || v > (uint64_t)(end - p))
		goto done;
	pt->rs = p, pt->rs_end = p + v;
	pt->rw = width(d->nshp);
	if (v != packed_len(nrec, pt->rw))
		goto done;
	p = pt->rs_end;
	/* the records' lengths */
	if (get_var(&p, end, &v) < 0 || v > BLK_RAW_MAX || p >= end || *p > 32)
		goto done;
	pt->lmin = (uint32_t)v;
	pt->lw = *p++;
	if (packed_len(nrec, pt->lw) > (size_t)(end - p))
		goto done;
	pt->ls = p, pt->ls_end = p + packed_len(nrec, pt->lw);
	p = pt->ls_end;
	/* the dictionary: hex entries are spelt out into the arena, sized first
	 * so that nothing moves under the pointers taken */
	if (get_var(&p, end, &n) < 0 || n > (uint64_t)(end - p) / 2 ||
	    GROW(d->dict, d->cap_dict, (uint32_t)n) < 0)
		goto done;
	if (tt_buf_reserve(&d->arena, 2 * (size_t)(end - p) + 3 * n) < 0) {
		col_nomem = 1;
		goto done;
	}
	d->ndict = (uint32_t)n;
	for (i = 0; i < d->ndict; i++) {
		cell *c = &d->dict[i];
		if (p >= end)
			goto done;
		if (*p == DICT_MP) {
			size_t l = val_len(++p, end);
			if (!l)
				goto done;
			*c = (cell){ p, (uint32_t)l, 0, 0 };
			p += l;
		} else if (*p == DICT_HEX) {
			/* spelt out when first used (dict_at): a lookup uses few */
			p++;
			if (get_var(&p, end, &v) < 0 || v == 0 || v > 32767 || v > (uint64_t)(end - p))
				goto done;
			*c = (cell){ p, 0, (uint32_t)v, 0 };
			p += v;
		} else
			goto done;
	}
	/* columns */
	for (i = 0; i < d->npaths; i++) {
		dpath *q = &d->paths[i];
		if (p >= end)
			goto done;
		q->mode = *p++;
		if (q->mode > COL_DICT || get_var(&p, end, &v) < 0 || v > (uint64_t)(end - p))
			goto done;
		q->p = p, q->end = p + v, q->prev = 0, q->skip = 0;
		p += v;
		if (q->mode == COL_DICT) {
			if (get_var(&q->p, q->end, &n) < 0 || n > (uint64_t)(q->end - q->p))
				goto done;
			q->nlocal = (uint32_t)n;
			if (GROW(d->lmaps, d->cap_lmaps, nlm + q->nlocal) < 0)
				goto done;
			q->lbase = nlm;
			q->w = width(q->nlocal);
			q->bit = 0;
			for (uint32_t k = 0; k < q->nlocal; k++) {
				if (get_var(&q->p, q->end, &v) < 0 || v >= d->ndict)
					goto done;
				d->lmaps[nlm + k] = (uint32_t)v;
			}
			nlm += q->nlocal;
		}
	}
	if (p != end)
		goto done;
	for (i = 0; i < d->npaths; i++)
		if (d->paths[i].mode == COL_DICT)
			d->paths[i].lmap = d->lmaps + d->paths[i].lbase;
	rc = 0;
done:
	return rc;
}

/* A lookup passes over most records of a block: each adds one to its corr
 * column's skip at once (the next record's check reads it), and one to its
 * shape's pending count; the shape's other columns get the count when a
 * record is given (their next read), not one by one. */
static void pend_flush(coldec *d)
{
	for (uint32_t j = 0; j < d->npend; j++) {
		uint32_t sh = d->pend_sh[j], n = d->pend_n[sh];
		const dshape *c = &d->cs[sh];
		const dop *op = d->ops + c->first;
		int corr_seen = 0;
		for (uint32_t k = 0; k < c->nops; k++, op++) {
			if (op->col == NO_COL)
				continue;
			if (op->col == c->corr && !corr_seen) {
				corr_seen = 1; /* counted already */
				continue;
			}
			d->paths[op->col].skip += n;
		}
		d->pend_n[sh] = 0;
	}
	d->npend = 0;
}

int colblk_decode(const uint8_t *col, size_t col_len, uint32_t nrec, uint32_t raw_len,
    uint32_t raw_from, uint32_t raw_need, const char *id, size_t id_len, uint8_t *dst,
    size_t *produced)
{
	coldec *d = dec_ctx();
	struct dparts pt;
	const uint8_t *rs, *rs_end, *ls, *ls_end;
	uint32_t i, r, lmin, i0 = nrec, i1 = nrec;
	size_t pos = 0;
	unsigned rw, lw;
	int rc = -1;

	if (!d)
		return -ENOMEM;
	if (dec_parse(d, col, col_len, nrec, &pt) < 0)
		goto done;
	rs = pt.rs, rs_end = pt.rs_end, rw = pt.rw;
	ls = pt.ls, ls_end = pt.ls_end, lw = pt.lw, lmin = pt.lmin;
	/* records: their frames' places come from the lengths; those before the
	 * one holding raw_from are not decoded (their columns are skipped over;
	 * their frames are there, a walk over the frames still counts them, and
	 * each body starts with COL_NOT_GIVEN, so no reader takes it for a
	 * record, whatever the buffer held before), and decoding stops once
	 * raw_need bytes are given */
	{
		uint64_t b = 0;
		size_t at = 0;
		for (r = 0; r < nrec; r++) {
			uint32_t x = 0;
			size_t body;
			(void)unpack(ls, ls_end, &b, lw, &x);
			body = (size_t)lmin + x;
			if (body == 0 || body > raw_len)
				goto done;
			at += var_len(body) + body;
			if (at > raw_len)
				goto done;
			if (i0 == nrec && at > raw_from)
				i0 = r;
			if (i1 == nrec && raw_need && at >= raw_need)
				i1 = r + 1;
		}
		if (at != raw_len)
			goto done;
		if (i1 < i0)
			i1 = i0;
	}
	if (i0 > 0 && skip_records(d, col, rs, rs_end, rw, i0) < 0)
		goto done;
	if (id) {
		if (GROW(d->pend_n, d->cap_pend_n, d->nshp) < 0 ||
		    GROW(d->pend_sh, d->cap_pend_sh, d->nshp) < 0)
			goto done;
		memset(d->pend_n, 0, (size_t)d->nshp * sizeof *d->pend_n);
		d->npend = 0;
	}
	{
		uint64_t b = 0, sb = (uint64_t)i0 * rw;
		for (r = 0; r < i1; r++) {
			const dshape *c;
			const dop *op;
			uint32_t sh, x = 0, k;
			size_t body, fl, at;
			(void)unpack(ls, ls_end, &b, lw, &x);
			body = (size_t)lmin + x;
			fl = put_var(dst + pos, body);
			at = pos + fl;
			pos = at + body;
			if (r < i0) {
				dst[at] = COL_NOT_GIVEN;
				continue;
			}
			if (unpack(rs, rs_end, &sb, rw, &sh) < 0 || sh >= d->nshp)
				goto done;
			if (!d->cs[sh].state && shape_compile(d, col, sh) < 0)
				goto done;
			c = &d->cs[sh];
			op = d->ops + c->first;
			if (id && (c->corr == NO_COL ||
			    (d->paths[c->corr].skip && skip_now(&d->paths[c->corr]) < 0) ||
			    !next_is_id(d, &d->paths[c->corr], id, id_len))) {
				/* another id's record: its values are passed over when
				 * their columns are next read, in one go */
				if (c->corr != NO_COL)
					d->paths[c->corr].skip++;
				if (!d->pend_n[sh]++)
					d->pend_sh[d->npend++] = sh;
				dst[at] = COL_NOT_GIVEN;
				continue;
			}
			if (id && d->npend)
				pend_flush(d);
			for (k = 0; k < c->nops; k++, op++) {
				size_t vl;
				if (op->litlen > pos - at)
					goto done;
				memcpy(dst + at, d->lits.data + op->lit, op->litlen);
				at += op->litlen;
				if (op->col != NO_COL) {
					dpath *q = &d->paths[op->col];
					if ((q->skip && skip_now(q) < 0) ||
					    take(d, q, dst + at, pos - at, &vl) < 0)
						goto done;
					at += vl;
				}
			}
			if (at != pos)
				goto done; /* the record is not the length it says */
		}
	}
	if (i0 == 0 && i1 == nrec && !id) {
		/* whole: every byte accounted for */
		for (i = 0; i < d->npaths; i++) {
			const dpath *q = &d->paths[i];
			if (q->skip || (q->mode == COL_DICT ? (uint64_t)(q->end - q->p) !=
			    (q->bit + 7) / 8 : q->p != q->end))
				goto done;
		}
	}
	*produced = pos;
	rc = 0;
done:
	dec_trim(d);
	return rc < 0 && col_nomem ? -ENOMEM : rc;
}

/* ---- projection: a few level-1 fields of every record */

/* List the columns of shape sh whose level-1 key is one of keys, in the
 * shape's order (a nested map's entries are passed over), each with the
 * number of its key. */
static int shape_pick(coldec *d, const uint8_t *col, uint32_t sh, const uint8_t *const *keys,
    size_t nkeys)
{
	dshape *c = &d->cs[sh];
	const uint8_t *s = col + d->shp[sh].off, *send = s + d->shp[sh].len;
	uint32_t count, sub;
	size_t h = map_head(s, send, &count);

	if (!h)
		return -1;
	s += h;
	c->pfirst = d->npcols;
	c->pn = 0;
	while (count--) {
		uint64_t e;
		const dpath *q;
		if (get_var(&s, send, &e) < 0 || (e >> 1) >= d->npaths)
			return -1;
		q = &d->paths[e >> 1];
		if (q->parent != -1)
			return -1;
		if (e & 1) {
			/* a map laid out in place: its header and entries */
			size_t h2 = map_head(s, send, &sub);
			if (!h2)
				return -1;
			s += h2;
			while (sub--)
				if (get_var(&s, send, &e) < 0 || (e & 1) || (e >> 1) >= d->npaths)
					return -1;
			continue;
		}
		for (size_t k = 0; k < nkeys; k++) {
			size_t kl = str_len(keys[k], keys[k] + q->klen);
			if (kl == q->klen && memcmp(keys[k], q->key, kl) == 0) {
				if (GROW(d->pcols, d->cap_pcols, d->npcols + 1) < 0)
					return -1;
				d->pcols[d->npcols++] = (uint32_t)(e >> 1) << 4 | (uint32_t)k;
				c->pn++;
				break;
			}
		}
	}
	if (s != send)
		return -1;
	c->pstate = 1;
	return 0;
}

int colblk_fields(const uint8_t *col, size_t col_len, uint32_t nrec, const uint8_t *const *keys,
    size_t nkeys, colblk_vals_fn fn, void *ctx)
{
	coldec *d = dec_ctx();
	struct dparts pt;
	colval v[15];
	uint64_t sb = 0;
	uint32_t r, i;
	int rc = -1;

	if (!d)
		return -ENOMEM;
	if (nkeys == 0 || nkeys > 15 || dec_parse(d, col, col_len, nrec, &pt) < 0)
		goto done;
	d->npcols = 0;
	for (i = 0; i < d->nshp; i++)
		d->cs[i].pstate = 0;
	for (r = 0; r < nrec; r++) {
		const dshape *c;
		uint32_t sh;
		int k;
		if (unpack(pt.rs, pt.rs_end, &sb, pt.rw, &sh) < 0 || sh >= d->nshp)
			goto done;
		if (!d->cs[sh].pstate && shape_pick(d, col, sh, keys, nkeys) < 0)
			goto done;
		c = &d->cs[sh];
		memset(v, 0, nkeys * sizeof *v);
		/* every wanted column of the shape is taken, a key met twice
		 * included (the last one is the record's, as for a reader) */
		for (i = 0; i < c->pn; i++) {
			uint32_t e = d->pcols[c->pfirst + i];
			if (take_val(d, &d->paths[e >> 4], &v[e & 15]) < 0)
				goto done;
		}
		if ((k = fn(ctx, v, r)) != 0) {
			rc = k < 0 ? k : 0;
			goto out;
		}
	}
	rc = 0;
done:
	if (rc < 0 && col_nomem)
		rc = -ENOMEM;
out:
	dec_trim(d);
	return rc;
}
