/*
 * filter.c -- record filters shared by tt-query, tt-tail and ttd's /stream.
 *
 * A filter is a conjunction of optional conditions: time range, minimum level,
 * services (OR), duration range, a regex on the message, and FIELD=VALUE
 * matches grouped by field (values of one field OR'ed, fields AND'ed,
 * FIELD!=VALUE excludes). Pure: records in, yes/no out. Field access goes
 * through tt_rec_info_get (well-known fields, one pass) and tt_rec_field
 * (dotted paths), so the record layout is known in one place only.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ttformat.h"

/* Caps on user-controlled sizes (a filter can come from an HTTP query). */
#define FILTER_MAX_TERMS 256 /* FIELD=VALUE and --service terms together */
#define FILTER_PATH_MAX 128  /* bytes of a field path */
/* glibc's regcomp expands each repetition into copies of its operand and its
 * memory grows with the square of the copies: "a{1,32767}" (10 bytes) takes
 * 8 GiB, every '+' in "s+++..." doubles the cost; and a repetition of a
 * repetition of something that may be empty takes seconds to minutes
 * ("r?*{1,1000}" 4 s, "r?????????????????????++++" longer). A pattern can come
 * from an HTTP query (ttd's /stream?grep=) and ttd compiles it on its event
 * loop, so grep_cost bounds both before regcomp sees the pattern. At the caps
 * the worst patterns measured ("r*{1,1000}", "r?{1,1000}") compile in
 * ~0.02 s and ~32 MiB. */
#define FILTER_GREP_MAX 512    /* bytes of a grep pattern */
#define FILTER_GREP_COST 1000  /* atoms once repetitions are expanded */
#define FILTER_GREP_DEPTH 64   /* nesting of parentheses */
#define FILTER_GREP_REPEAT 2   /* repetitions applied on top of each other:
                                * "(ab?)+" and "a+?" are 2, "((ab?)+)?" 3 */

typedef struct fvalue {
	char *s;    /* the value as typed, NUL-terminated */
	size_t n;
	int negate; /* FIELD!=VALUE */
} fvalue;

typedef struct fgroup {
	char *path;      /* field path, NUL-terminated */
	fvalue *vals;
	size_t nvals;
	int has_pos;     /* at least one FIELD=VALUE (not only !=) */
} fgroup;

struct tt_filter {
	int64_t since, until;  /* inclusive time range; INT64_MIN/MAX = open */
	int min_level;         /* TT_LVL_NONE = any */
	int64_t min_dur, max_dur; /* -1 = open */
	char **services;       /* OR */
	size_t *service_len;
	size_t nservices;
	fgroup *groups;        /* AND over groups */
	size_t ngroups;
	size_t nterms;         /* terms added, against FILTER_MAX_TERMS */
	int has_grep;
	regex_t re;
	int need_info;         /* some condition needs tt_rec_info_get */
};

int tt_filter_new(tt_filter **out)
{
	tt_filter *f;

	if (!out)
		return TT_EBADARG;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->since = INT64_MIN;
	f->until = INT64_MAX;
	f->min_dur = -1;
	f->max_dur = -1;
	*out = f;
	return 0;
}

void tt_filter_free(tt_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nservices; i++)
		free(f->services[i]);
	free(f->services);
	free(f->service_len);
	for (size_t i = 0; i < f->ngroups; i++) {
		for (size_t j = 0; j < f->groups[i].nvals; j++)
			free(f->groups[i].vals[j].s);
		free(f->groups[i].vals);
		free(f->groups[i].path);
	}
	free(f->groups);
	if (f->has_grep)
		regfree(&f->re);
	free(f);
}

static int valid_path(const char *p, size_t n)
{
	if (n == 0 || n > FILTER_PATH_MAX || p[0] == '.' || p[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= ' ' || c == '=' || c == '!' || c == 0x7f)
			return 0;
		if (c == '.' && p[i + 1] == '.')
			return 0;
	}
	return 1;
}

int tt_filter_add_match(tt_filter *f, const char *expr)
{
	const char *eq;
	size_t plen;
	int negate = 0;
	fgroup *g = NULL;
	fvalue *nv;
	char *val;

	if (!f || !expr)
		return TT_EBADARG;
	eq = strchr(expr, '=');
	if (!eq)
		return TT_EBADARG;
	plen = (size_t)(eq - expr);
	if (plen && expr[plen - 1] == '!') {
		negate = 1;
		plen--;
	}
	if (!valid_path(expr, plen))
		return TT_EBADARG;
	if (f->nterms >= FILTER_MAX_TERMS)
		return TT_ETOOBIG;

	for (size_t i = 0; i < f->ngroups; i++)
		if (strlen(f->groups[i].path) == plen &&
		    memcmp(f->groups[i].path, expr, plen) == 0)
			g = &f->groups[i];
	if (!g) {
		fgroup *ng = realloc(f->groups, (f->ngroups + 1) * sizeof(*ng));
		if (!ng)
			return -ENOMEM;
		f->groups = ng;
		g = &ng[f->ngroups];
		memset(g, 0, sizeof(*g));
		g->path = strndup(expr, plen);
		if (!g->path)
			return -ENOMEM;
		f->ngroups++;
	}
	val = strdup(eq + 1);
	if (!val)
		return -ENOMEM;
	nv = realloc(g->vals, (g->nvals + 1) * sizeof(*nv));
	if (!nv) {
		free(val);
		return -ENOMEM;
	}
	g->vals = nv;
	nv[g->nvals].s = val;
	nv[g->nvals].n = strlen(val);
	nv[g->nvals].negate = negate;
	g->nvals++;
	if (!negate)
		g->has_pos = 1;
	f->nterms++;
	return 0;
}

int tt_filter_add_service(tt_filter *f, const char *service)
{
	char **ns;
	size_t *nl;
	char *s;

	if (!f || !service || !*service)
		return TT_EBADARG;
	if (f->nterms >= FILTER_MAX_TERMS)
		return TT_ETOOBIG;
	ns = realloc(f->services, (f->nservices + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	f->services = ns;
	nl = realloc(f->service_len, (f->nservices + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	f->service_len = nl;
	s = strdup(service);
	if (!s)
		return -ENOMEM;
	ns[f->nservices] = s;
	nl[f->nservices] = strlen(s);
	f->nservices++;
	f->nterms++;
	f->need_info = 1;
	return 0;
}

int tt_filter_set_level(tt_filter *f, int min_level)
{
	if (!f || min_level < TT_LVL_NONE || min_level > TT_LVL_FATAL)
		return TT_EBADARG;
	f->min_level = min_level;
	f->need_info = 1;
	return 0;
}

/* Upper bound on the atoms regcomp builds for an ERE, counting each
 * repetition as the copies glibc makes of its operand ('+' two, {m,n} max(m,n),
 * {m,} m+1). Alternatives add up. FILTER_GREP_COST + 1 once over that cost or
 * over FILTER_GREP_REPEAT repetitions deep. A malformed pattern is left for
 * regcomp to reject with its own message ("unmatched [", not "too costly"):
 * an unterminated bracket sets *malformed and ends the count there, since
 * regcomp reads all that follows as part of the bracket and copies nothing. */
static size_t grep_cost(const char *p, int *malformed)
{
	size_t sum[FILTER_GREP_DEPTH + 1] = { 0 }, last = 0, k, total = 0;
	int rep[FILTER_GREP_DEPTH + 1] = { 0 }; /* deepest repetition in each group */
	int d = 0, last_rep = 0;

	for (; *p; p++) {
		switch (*p) {
		case '(':
			if (d == FILTER_GREP_DEPTH)
				return FILTER_GREP_COST + 1;
			sum[++d] = 0;
			rep[d] = 0;
			last = 0;
			continue;
		case ')':
			if (d == 0)
				goto atom;
			last = sum[d] ? sum[d] : 1;
			last_rep = rep[d];
			sum[--d] += last;
			break;
		case '|':
			last = 0;
			last_rep = 0;
			continue;
		case '*':
		case '?':
			last_rep++;
			break;
		case '+':
			sum[d] += last;
			last *= 2;
			last_rep++;
			break;
		case '{': {
			const char *q = p + 1;
			size_t m = 0, n = 0;
			int comma = 0, digits = 0;

			for (; isdigit((unsigned char)*q); q++, digits = 1)
				m = m < 100000 ? m * 10 + (size_t)(*q - '0') : m;
			if (*q == ',') {
				comma = 1;
				for (q++; isdigit((unsigned char)*q); q++)
					n = n < 100000 ? n * 10 + (size_t)(*q - '0') : n;
			}
			/* glibc takes "{,n}" as "{0,n}" (and "{,}" as "*") */
			if ((!digits && !comma) || *q != '}')
				goto atom; /* not an interval: a literal '{' */
			k = !comma ? m : n ? n : m + 1;
			k = k > m ? k : m;
			if (k == 0)
				k = 1;
			sum[d] += last * (k - 1);
			last *= k;
			last_rep++;
			p = q;
			break;
		}
		case '[': /* a bracket expression is one atom */
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
			for (p++; *p && *p != ']'; p++)
				if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					const char *e = strchr(p + 2, p[1]);
					while (e && e[1] != ']')
						e = strchr(e + 1, p[1]);
					if (!e) {
						*malformed = 1;
						break;
					}
					p = e + 1;
				}
			if (!*p || *malformed) {
				*malformed = 1;
				goto done;
			}
			goto atom;
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
		atom:
			sum[d] += 1;
			last = 1;
			last_rep = 0;
			break;
		}
		if (last_rep > rep[d])
			rep[d] = last_rep;
		if (sum[d] > FILTER_GREP_COST || last > FILTER_GREP_COST ||
		    last_rep > FILTER_GREP_REPEAT)
			return FILTER_GREP_COST + 1;
	}
done:
	for (int i = 0; i <= d; i++)
		total += sum[i];
	return total;
}

/* The pattern was refused before regcomp saw it, or regcomp accepted what
 * grep_cost could not count. */
static int grep_too_costly(tt_rec_err *err)
{
	if (err) {
		memset(err, 0, sizeof(*err));
		snprintf(err->field, sizeof(err->field), "grep");
		snprintf(err->reason, sizeof(err->reason),
		    "pattern too costly to compile (over %d bytes, %d atoms once repetitions "
		    "are expanded, or %d repetitions nested)", FILTER_GREP_MAX,
		    FILTER_GREP_COST, FILTER_GREP_REPEAT);
	}
	return TT_ETOOBIG;
}

int tt_filter_set_grep(tt_filter *f, const char *regex, tt_rec_err *err)
{
	int flags = REG_EXTENDED | REG_NOSUB | REG_ICASE;
	int rc, malformed = 0;

	if (!f || !regex)
		return TT_EBADARG;
	if (strlen(regex) > FILTER_GREP_MAX || grep_cost(regex, &malformed) > FILTER_GREP_COST)
		return grep_too_costly(err);
	/* smart case: an upper-case letter in the pattern makes it case-sensitive */
	for (const char *p = regex; *p; p++) {
		if (*p == '\\' && p[1]) { /* "\S", "\W": escapes are not letters typed */
			p++;
			continue;
		}
		if (isupper((unsigned char)*p)) {
			flags &= ~REG_ICASE;
			break;
		}
	}
	if (f->has_grep) {
		regfree(&f->re);
		f->has_grep = 0;
	}
	rc = regcomp(&f->re, regex, flags);
	if (rc != 0) {
		/* regcomp's own words; glibc calls a '[' at the very end just
		 * "invalid regular expression": the bracket is named when that is it */
		if (malformed)
			rc = REG_EBRACK;
		if (err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->field, sizeof(err->field), "grep");
			regerror(rc, &f->re, err->reason, sizeof(err->reason));
			for (char *p = err->reason; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
		return TT_EBADARG;
	}
	if (malformed) {
		regfree(&f->re);
		return grep_too_costly(err);
	}
	f->has_grep = 1;
	f->need_info = 1;
	return 0;
}

int tt_filter_set_dur(tt_filter *f, int64_t min_ns, int64_t max_ns)
{
	if (!f || min_ns < -1 || max_ns < -1 || (min_ns >= 0 && max_ns >= 0 && min_ns > max_ns))
		return TT_EBADARG;
	f->min_dur = min_ns;
	f->max_dur = max_ns;
	if (min_ns >= 0 || max_ns >= 0)
		f->need_info = 1;
	return 0;
}

int tt_filter_set_time(tt_filter *f, int64_t since_ns, int64_t until_ns)
{
	if (!f)
		return TT_EBADARG;
	f->since = since_ns;
	f->until = until_ns;
	return 0;
}

int tt_filter_is_empty(const tt_filter *f)
{
	return !f || (f->since == INT64_MIN && f->until == INT64_MAX &&
	    f->min_level == TT_LVL_NONE && f->min_dur < 0 && f->max_dur < 0 &&
	    f->nservices == 0 && f->ngroups == 0 && !f->has_grep);
}

/* Parse the whole of s as a signed/unsigned integer or double. */
static int str_to_i64(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (!*s)
		return 0;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return 0;
	*v = x;
	return 1;
}

static int str_to_u64(const char *s, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!*s || *s == '-')
		return 0;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end)
		return 0;
	*v = x;
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Does one field value equal the typed string? Strings compare bytewise, bin
 * against its hex form (as JSON output shows it), numbers numerically, bools
 * as true/false, nil as "null" or "". Maps and arrays never equal. */
static int value_eq(const tt_value *v, const fvalue *fv)
{
	switch (v->type) {
	case TT_V_STR:
		return v->v.s.n == fv->n && memcmp(v->v.s.p, fv->s, fv->n) == 0;
	case TT_V_BIN:
		if (fv->n != 2 * v->v.s.n)
			return 0;
		for (size_t i = 0; i < v->v.s.n; i++) {
			int hi = hexval((unsigned char)fv->s[2 * i]);
			int lo = hexval((unsigned char)fv->s[2 * i + 1]);
			if (hi < 0 || lo < 0 || (unsigned char)v->v.s.p[i] != (hi << 4 | lo))
				return 0;
		}
		return 1;
	case TT_V_INT: {
		int64_t x;
		return str_to_i64(fv->s, &x) && x == v->v.i;
	}
	case TT_V_UINT: {
		uint64_t x;
		return str_to_u64(fv->s, &x) && x == v->v.u;
	}
	case TT_V_FLOAT: {
		char *end;
		double x;
		if (!fv->n)
			return 0;
		x = strtod(fv->s, &end);
		return *end == '\0' && x == v->v.f;
	}
	case TT_V_BOOL:
		return strcmp(fv->s, v->v.b ? "true" : "false") == 0;
	case TT_V_NIL:
		return fv->n == 0 || strcmp(fv->s, "null") == 0;
	default:
		return 0;
	}
}

/* One field group: (no positive value or one of them equals) and no negative
 * value equals. An absent field equals only the empty value "FIELD=". */
static int group_match(const fgroup *g, const uint8_t *rec, size_t len)
{
	tt_value v;
	int found = tt_rec_field(rec, len, g->path, &v);
	int pos_ok = !g->has_pos;

	if (found < 0)
		return 0;
	for (size_t i = 0; i < g->nvals; i++) {
		const fvalue *fv = &g->vals[i];
		int eq = found ? value_eq(&v, fv) : fv->n == 0;
		if (fv->negate && eq)
			return 0;
		if (!fv->negate && eq)
			pos_ok = 1;
	}
	return pos_ok;
}

/* regexec wants a NUL-terminated string: the message is copied (on the stack
 * when short). REG_STARTEND would avoid the copy, but sanitizers and other
 * libcs read such strings up to a NUL, past the end of the record. A NUL
 * inside the message ends the text matched. */
static int grep_match(const tt_filter *f, const char *p, size_t n)
{
	char small[1024], *s = small;
	int rc;

	if (n >= sizeof(small)) {
		s = malloc(n + 1);
		if (!s)
			return 0;
	}
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	rc = regexec(&f->re, s, 0, NULL, 0) == 0;
	if (s != small)
		free(s);
	return rc;
}

int tt_filter_match(const tt_filter *f, const uint8_t *rec, size_t len)
{
	tt_rec_info info;
	int64_t ts;

	if (!f)
		return 1;
	if (f->need_info) {
		if (tt_rec_info_get(rec, len, &info) < 0)
			return 0;
		ts = info.ts;
	} else if (f->since != INT64_MIN || f->until != INT64_MAX) {
		const char *c;
		size_t cn;
		if (tt_rec_ts_corr(rec, len, &ts, &c, &cn) < 0)
			return 0;
	} else {
		ts = 0;
	}
	if (ts < f->since || ts > f->until)
		return 0;
	if (f->need_info) {
		if (f->min_level != TT_LVL_NONE && info.level < f->min_level)
			return 0;
		if (f->min_dur >= 0 && info.dur < f->min_dur)
			return 0;
		if (f->max_dur >= 0 && (info.dur < 0 || info.dur > f->max_dur))
			return 0;
		if (f->nservices) {
			size_t i;
			if (!info.service.p)
				return 0;
			for (i = 0; i < f->nservices; i++)
				if (f->service_len[i] == info.service.n &&
				    memcmp(f->services[i], info.service.p, info.service.n) == 0)
					break;
			if (i == f->nservices)
				return 0;
		}
		if (f->has_grep) {
			if (info.msg.p) {
				if (!grep_match(f, info.msg.p, info.msg.n))
					return 0;
			} else if (!grep_match(f, info.name.p, info.name.p ? info.name.n : 0)) {
				return 0;
			}
		}
	}
	for (size_t i = 0; i < f->ngroups; i++)
		if (!group_match(&f->groups[i], rec, len))
			return 0;
	return 1;
}
