/*
 * hist.c -- the duration histogram of the rollups (FORMAT.md 7.6): log-linear
 * buckets as HdrHistogram lays them out, 128 linear sub-buckets per power of
 * two, so a bucket's midpoint is within 1/256 (0.4 %) of any value in it.
 * Sparse (only buckets in use), sorted, mergeable across minutes and groups.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define SUB 128u /* sub-buckets per power of two: 7 bits of mantissa */

uint16_t tt_hist_bucket(int64_t v)
{
	unsigned e, shift;

	if (v <= 0)
		return 0;
	if ((uint64_t)v < SUB)
		return (uint16_t)v;
	e = 63u - (unsigned)__builtin_clzll((uint64_t)v); /* >= 7 */
	shift = e - 7u;
	return (uint16_t)((shift + 1u) * SUB + (((uint64_t)v >> shift) - SUB));
}

int64_t tt_hist_value(uint16_t b)
{
	unsigned shift;
	uint64_t lo;

	if (b < SUB)
		return b;
	shift = b / SUB - 1u;
	lo = (uint64_t)(SUB + b % SUB) << shift;
	return (int64_t)(lo + ((1ull << shift) >> 1));
}

void tt_hist_free(tt_hist *h)
{
	if (!h)
		return;
	free(h->b);
	free(h->n);
	memset(h, 0, sizeof *h);
}

static int hist_room(tt_hist *h, size_t need)
{
	size_t nc;
	uint16_t *nb;
	uint64_t *nn;

	if (need <= h->cap)
		return 0;
	nc = h->cap ? h->cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	if (!(nb = realloc(h->b, nc * sizeof *nb)))
		return -ENOMEM;
	h->b = nb;
	if (!(nn = realloc(h->n, nc * sizeof *nn)))
		return -ENOMEM;
	h->n = nn;
	h->cap = nc;
	return 0;
}

int tt_hist_add(tt_hist *h, uint16_t bucket, uint64_t n)
{
	size_t lo = 0, hi = h->len;

	if (n == 0)
		return 0;
	if (h->len && h->b[h->len - 1] < bucket) {
		lo = h->len; /* appending in order: the common case */
	} else {
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (h->b[mid] < bucket)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < h->len && h->b[lo] == bucket) {
			h->n[lo] += n;
			h->total += n;
			return 0;
		}
	}
	if (hist_room(h, h->len + 1) < 0)
		return -ENOMEM;
	memmove(h->b + lo + 1, h->b + lo, (h->len - lo) * sizeof *h->b);
	memmove(h->n + lo + 1, h->n + lo, (h->len - lo) * sizeof *h->n);
	h->b[lo] = bucket;
	h->n[lo] = n;
	h->len++;
	h->total += n;
	return 0;
}

/* In place, from the back, after counting the buckets into lacks: no
 * allocation unless into grows (merging is what the writer does to every
 * rollup of every block). */
int tt_hist_merge(tt_hist *into, const tt_hist *from)
{
	size_t i = 0, j = 0, k, extra = 0;

	if (from->len == 0)
		return 0;
	while (j < from->len) {
		if (i < into->len && into->b[i] < from->b[j]) {
			i++;
		} else {
			if (i == into->len || into->b[i] != from->b[j])
				extra++;
			else
				i++;
			j++;
		}
	}
	if (hist_room(into, into->len + extra) < 0)
		return -ENOMEM;
	i = into->len, j = from->len, k = into->len + extra;
	while (j > 0) {
		k--;
		if (i > 0 && into->b[i - 1] > from->b[j - 1]) {
			i--;
			into->b[k] = into->b[i], into->n[k] = into->n[i];
		} else if (i > 0 && into->b[i - 1] == from->b[j - 1]) {
			i--, j--;
			into->b[k] = into->b[i], into->n[k] = into->n[i] + from->n[j];
		} else {
			j--;
			into->b[k] = from->b[j], into->n[k] = from->n[j];
		}
	}
	into->len += extra;
	into->total += from->total;
	return 0;
}

int64_t tt_hist_quantile(const tt_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->total == 0)
		return -1;
	if (q <= 0)
		q = 0;
	if (q >= 1)
		q = 1;
	/* nearest rank: the smallest value with at least q of the values at or
	 * below it */
	rank = (uint64_t)(q * (double)h->total + 0.999999999);
	if (rank == 0)
		rank = 1;
	for (size_t i = 0; i < h->len; i++) {
		seen += h->n[i];
		if (seen >= rank)
			return tt_hist_value(h->b[i]);
	}
	return tt_hist_value(h->b[h->len - 1]);
}
