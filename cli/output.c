/*
 * output.c -- records on stdout in the format the user chose (-o):
 *   jsonl    one JSON object per line ("ts" integer ns plus "time" RFC 3339)
 *   json     one JSON array (tt-query ID: an object per id with "complete")
 *   table    aligned columns, colored by level, local time (--utc)
 *   tree     spans nested by parent, durations as a text waterfall
 *   csv      a header, then one row per record
 *   msgpack  the stored records, concatenated
 *   otlp     an OTLP/HTTP JSON traces body (resourceSpans)
 * Output is built in a buffer and written in large pieces, except when stdout
 * is a pipe or socket: then each record is flushed as it is printed, so that
 * `tt-tail -f | jq` shows every record as it lands. tree and otlp need the
 * whole set and buffer the records they print.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define OUT_CHUNK (64 * 1024) /* bytes buffered before a write */
#define TREE_LABEL 44         /* columns of the tree's label */
#define TREE_BAR 40           /* columns of the waterfall */

#define C_RESET "\033[0m"
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"
#define C_RED "\033[31m"
#define C_BRED "\033[1;31m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

/* Completeness of one trace, as its records go by. A trace of spans is
 * complete when every parent it names is one of its spans and every span has
 * ended (has a duration); a trace of TraceHub checkpoints when it has as many
 * "<-" as "->" (at least one): TraceHub's rule, kept for those. */
typedef struct gcheck {
	tt_buf ids, parents;  /* span ids and parent ids, each u16 length + bytes */
	size_t nspans, nopen, nparents;
	uint32_t n_req, n_resp;
	int64_t t0, t1;       /* the trace's extent: first start .. last end */
	tt_buf cps;           /* its checkpoints, for pairing (cp_put's layout) */
} gcheck;

typedef struct gverdict {
	int spans;            /* the span rule applied (else the checkpoint rule) */
	int complete;
	size_t nspans, missing, open;
	uint32_t n_req, n_resp;
} gverdict;

static void gcheck_add_id(tt_buf *b, const char *p, size_t n)
{
	uint8_t l[2] = { (uint8_t)(n > 65535 ? 65535 : n), (uint8_t)((n > 65535 ? 65535 : n) >> 8) };
	(void)tt_buf_append(b, l, 2);
	(void)tt_buf_append(b, p, n > 65535 ? 65535 : n);
}

/* A checkpoint copied out of its record: ts (8), "->" (1), service length (2),
 * name length (2), then the service and name bytes (each cut at 65535). */
static void cp_put(tt_buf *b, const tt_rec_info *in, int req)
{
	uint8_t h[13];
	size_t sn = in->service.n > 65535 ? 65535 : in->service.n;
	size_t nn = in->name.n > 65535 ? 65535 : in->name.n;

	memcpy(h, &in->ts, 8);
	h[8] = (uint8_t)req;
	h[9] = (uint8_t)sn, h[10] = (uint8_t)(sn >> 8);
	h[11] = (uint8_t)nn, h[12] = (uint8_t)(nn >> 8);
	(void)tt_buf_append(b, h, sizeof h);
	(void)tt_buf_append(b, in->service.p ? in->service.p : "", in->service.p ? sn : 0);
	(void)tt_buf_append(b, in->name.p ? in->name.p : "", in->name.p ? nn : 0);
}

static void gcheck_rec(gcheck *g, const tt_rec_info *in)
{
	int span = in->span.p || (in->kind.p && in->kind.n == 4 && !memcmp(in->kind.p, "span", 4));
	int64_t end = in->ts + (in->dur > 0 ? in->dur : 0);

	if (in->ts < g->t0)
		g->t0 = in->ts;
	if (end > g->t1)
		g->t1 = end;

	if (in->dir.p && in->dir.n == 2 && !memcmp(in->dir.p, "->", 2)) {
		g->n_req++;
		cp_put(&g->cps, in, 1);
	} else if (in->dir.p && in->dir.n == 2 && !memcmp(in->dir.p, "<-", 2)) {
		g->n_resp++;
		cp_put(&g->cps, in, 0);
	}
	if (!span)
		return;
	g->nspans++;
	if (in->dur < 0)
		g->nopen++;
	if (in->span.p)
		gcheck_add_id(&g->ids, in->span.p, in->span.n);
	if (in->parent.p) {
		gcheck_add_id(&g->parents, in->parent.p, in->parent.n);
		g->nparents++;
	}
}

struct idref { const uint8_t *p; size_t n; };

static int idref_cmp(const void *a, const void *b)
{
	const struct idref *x = a, *y = b;
	size_t m = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->p, y->p, m);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static size_t gcheck_split(const tt_buf *b, struct idref **out)
{
	size_t n = 0, cap = 16, off = 0;
	struct idref *v = malloc(cap * sizeof *v);
	if (!v)
		return 0;
	while (off + 2 <= b->len) {
		size_t l = (size_t)b->data[off] | (size_t)b->data[off + 1] << 8;
		if (n == cap) {
			struct idref *nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		v[n].p = b->data + off + 2, v[n].n = l, n++;
		off += 2 + l;
	}
	*out = v;
	return n;
}

static gverdict gcheck_verdict(const gcheck *g)
{
	gverdict v;
	memset(&v, 0, sizeof v);
	v.n_req = g->n_req, v.n_resp = g->n_resp;
	if (g->nspans == 0 || g->n_req + g->n_resp > 0) {
		v.complete = g->n_req >= 1 && g->n_req == g->n_resp;
		return v;
	}
	v.spans = 1;
	v.nspans = g->nspans;
	v.open = g->nopen;
	{
		struct idref *ids = NULL, *par = NULL;
		size_t ni = gcheck_split(&g->ids, &ids), np = gcheck_split(&g->parents, &par);
		if (ni > 1)
			qsort(ids, ni, sizeof *ids, idref_cmp);
		for (size_t i = 0; i < np; i++)
			if (!ni || !bsearch(&par[i], ids, ni, sizeof *ids, idref_cmp))
				v.missing++;
		free(ids);
		free(par);
	}
	v.complete = v.missing == 0 && v.open == 0;
	return v;
}

static void gcheck_reset(gcheck *g)
{
	g->ids.len = g->parents.len = g->cps.len = 0;
	g->nspans = g->nopen = g->nparents = 0;
	g->n_req = g->n_resp = 0;
	g->t0 = INT64_MAX, g->t1 = INT64_MIN;
}

/* "complete (spans: 12, every parent present and ended)" and the like */
static void verdict_text(const gverdict *v, char *buf, size_t n)
{
	if (!v->spans && v->n_req + v->n_resp == 0)
		snprintf(buf, n, "no spans or checkpoints to tell completeness by");
	else if (!v->spans)
		snprintf(buf, n, "%s (checkpoints: %u ->, %u <-)", v->complete ? "complete" : "incomplete",
		    v->n_req, v->n_resp);
	else if (v->complete)
		snprintf(buf, n, "complete (spans: %zu, every parent present, all ended)", v->nspans);
	else
		snprintf(buf, n, "incomplete (spans: %zu; %zu parent%s missing, %zu not ended)",
		    v->nspans, v->missing, v->missing == 1 ? "" : "s", v->open);
}

/* ---- checkpoints read as operations
 *
 * A "->" checkpoint starts an operation, the "<-" of the same service and
 * name ends it: pairs nest like parentheses, in time order (a "<-" ends the
 * latest open "->" of its service and name), so a repeated or recursive call
 * pairs with its own answer. A "->" never answered is an open operation; a
 * "<-" with no "->" before it pairs with nothing. */

typedef struct cpoint {
	const char *svc, *name; /* NULL when absent */
	size_t svc_n, name_n;
	int64_t ts;
	int req;                /* "->" (else "<-") */
} cpoint;

typedef struct cop {
	const char *svc, *name;
	size_t svc_n, name_n;
	int64_t start, dur;     /* dur: "<-" ts - "->" ts, -1 while open */
	size_t req, resp;       /* indices of its checkpoints; resp SIZE_MAX: open */
	size_t spos, epos;      /* their places in time order (epos SIZE_MAX: open) */
	int depth;              /* operations still open when it started */
} cop;

struct cporder { int64_t ts; size_t i; };

static void oom(void);

static int cporder_cmp(const void *a, const void *b)
{
	const struct cporder *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i); /* same time: record order */
}

static int key_eq(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0); /* absent = empty */
}

/* The operations of n checkpoints, in order of their start; *out is NULL (and
 * 0 returned) when there are none. */
static size_t ops_pair(const cpoint *cp, size_t n, cop **out)
{
	struct cporder *ord;
	cop *ops;
	size_t nops = 0;

	*out = NULL;
	if (n == 0)
		return 0;
	ord = malloc(n * sizeof *ord);
	ops = malloc(n * sizeof *ops);
	if (!ord || !ops)
		oom();
	for (size_t i = 0; i < n; i++)
		ord[i].ts = cp[i].ts, ord[i].i = i;
	qsort(ord, n, sizeof *ord, cporder_cmp);
	for (size_t p = 0; p < n; p++) {
		const cpoint *c = &cp[ord[p].i];
		if (c->req) {
			cop *o = &ops[nops++];
			o->svc = c->svc, o->svc_n = c->svc_n;
			o->name = c->name, o->name_n = c->name_n;
			o->start = c->ts, o->dur = -1;
			o->req = ord[p].i, o->resp = SIZE_MAX;
			o->spos = p, o->epos = SIZE_MAX;
			o->depth = 0;
			continue;
		}
		for (size_t k = nops; k-- > 0;) {
			cop *o = &ops[k];
			if (o->resp == SIZE_MAX && key_eq(o->svc, o->svc_n, c->svc, c->svc_n) &&
			    key_eq(o->name, o->name_n, c->name, c->name_n)) {
				o->dur = c->ts - o->start;
				o->resp = ord[p].i;
				o->epos = p;
				break;
			}
		}
	}
	for (size_t k = 0; k < nops; k++)
		for (size_t j = 0; j < k; j++)
			if (ops[j].epos == SIZE_MAX || ops[j].epos > ops[k].spos)
				ops[k].depth++;
	free(ord);
	if (nops == 0) {
		free(ops);
		ops = NULL;
	}
	*out = ops;
	return nops;
}

/* The operations of the checkpoints a gcheck kept (pointing into it). */
static size_t gcheck_ops(const gcheck *g, cop **out)
{
	size_t n = 0, cap = 0, off = 0, nops;
	cpoint *cp = NULL;

	while (off + 13 <= g->cps.len) {
		const uint8_t *h = g->cps.data + off;
		size_t sn = (size_t)h[9] | (size_t)h[10] << 8, nn = (size_t)h[11] | (size_t)h[12] << 8;
		cli_grow(&cp, &cap, n, sizeof *cp);
		memcpy(&cp[n].ts, h, 8);
		cp[n].req = h[8];
		cp[n].svc = sn ? (const char *)h + 13 : NULL, cp[n].svc_n = sn;
		cp[n].name = nn ? (const char *)h + 13 + sn : NULL, cp[n].name_n = nn;
		n++;
		off += 13 + sn + nn;
	}
	nops = ops_pair(cp, n, out);
	free(cp);
	return nops;
}

typedef struct brec { /* a record kept for tree/otlp */
	uint8_t *data;
	size_t len;
} brec;

struct cli_out {
	const cli_opts *o;
	int fmt;
	int follow;
	int line_flush;       /* stdout is a pipe/socket: flush every record */
	tt_buf *sink;         /* cli_out_new_buf: output goes here, not stdout */
	int sink_err;         /* an append to sink failed (out of memory) */
	tt_buf b;             /* output not yet written */
	tt_buf tmp;           /* scratch */
	uint64_t nrec;        /* records printed (for commas, headers) */
	char **fields;        /* --fields, split */
	size_t nfields;
	/* groups (tt-query ID...) */
	size_t ngroups;       /* announced by the caller */
	size_t gi;            /* groups begun */
	uint64_t grec;        /* records in the current group */
	int in_group;
	tt_buf gid;           /* current group's id */
	tt_idsum gsum;        /* its summary (valid if have_gsum) */
	int have_gsum;
	gcheck gc;            /* its completeness, from the records printed */
	int table_head;       /* the table's header line is printed */
	/* buffered records (tree, otlp) */
	brec *recs;
	size_t nrecs, caprecs;
	size_t group_from;    /* first buffered record of the current group */
	/* --list */
	uint64_t nsum;
};

static const char *const default_csv[] = {
	"time", "level", "service", "corr", "span", "parent", "kind", "name", "dir",
	"dur", "status", "msg"
};

static void oom(void)
{
	cli_die(CLI_EXIT_STORE, "out of memory");
}

/* tt_json_str appends nothing when it runs out of memory (and a later,
 * smaller append may well succeed): die rather than print a record with a
 * field missing. A JSON string is at least its two quotes. */
static void jstr(tt_buf *b, const char *s, size_t n)
{
	size_t before = b->len;

	tt_json_str(b, s, n);
	if (b->len == before)
		oom();
}

static void put(cli_out *out, const void *p, size_t n)
{
	if (tt_buf_append(&out->b, p, n) < 0)
		oom();
}

static void puts_(cli_out *out, const char *s)
{
	put(out, s, strlen(s));
}

static void printf_(cli_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(cli_out *out, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		put(out, small, (size_t)n);
		return;
	}
	if (tt_buf_reserve(&out->b, (size_t)n + 1) < 0)
		oom();
	va_start(ap, fmt);
	vsnprintf((char *)out->b.data + out->b.len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->b.len += (size_t)n;
}

static void color(cli_out *out, const char *c)
{
	if (out->o->color)
		puts_(out, c);
}

static void write_out(cli_out *out)
{
	if (out->sink) {
		if (out->b.len && tt_buf_append(out->sink, out->b.data, out->b.len) < 0)
			out->sink_err = 1;
		out->b.len = 0;
		return;
	}
	if (out->b.len) {
		if (fwrite(out->b.data, 1, out->b.len, stdout) != out->b.len)
			cli_check_stdout();
		out->b.len = 0;
	}
}

void cli_out_flush(cli_out *out)
{
	write_out(out);
	if (!out->sink)
		cli_check_stdout();
}

/* End of one record: write when the buffer is large or the reader waits. */
static void rec_done(cli_out *out)
{
	if (out->line_flush)
		cli_out_flush(out);
	else if (out->b.len >= OUT_CHUNK)
		write_out(out);
}

cli_out *cli_out_new(const cli_opts *o, int follow)
{
	cli_out *out = calloc(1, sizeof(*out));
	struct stat st;

	if (!out)
		oom();
	out->o = o;
	out->fmt = o->fmt;
	out->follow = follow;
	/* a reader at the other end of a pipe or terminal sees each record as it
	 * is printed; files and /dev/null get large writes */
	if ((fstat(STDOUT_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) ||
	    isatty(STDOUT_FILENO))
		out->line_flush = 1;
	if (o->fields) {
		char *s = strdup(o->fields), *save = NULL;
		if (!s)
			oom();
		for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char **nf = realloc(out->fields, (out->nfields + 1) * sizeof(*nf));
			if (!nf)
				oom();
			out->fields = nf;
			out->fields[out->nfields] = strdup(t);
			if (!out->fields[out->nfields])
				oom();
			out->nfields++;
		}
		free(s);
	}
	setvbuf(stdout, NULL, _IOFBF, OUT_CHUNK);
	return out;
}

cli_out *cli_out_new_buf(const cli_opts *o, tt_buf *dst)
{
	cli_out *out = calloc(1, sizeof(*out));

	if (!out)
		return NULL;
	out->o = o;
	out->fmt = o->fmt;
	out->sink = dst;
	return out;
}

/* ---- field access */

/* Is every byte printable (so an id can be shown as text, not hex)? */
static int printable(const void *p, size_t n)
{
	const uint8_t *s = p;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* One field as text (csv, table --fields) or JSON (jsonl --fields). */
static void field_put(tt_buf *b, const uint8_t *rec, size_t len, const char *path, int json)
{
	tt_value v;
	int rc;

	if (strcmp(path, "time") == 0) {
		tt_rec_info info;
		char t[40];
		if (tt_rec_ts_corr(rec, len, &info.ts, &info.corr.p, &info.corr.n) < 0)
			return;
		tt_time_rfc3339(info.ts, t, sizeof(t));
		if (json)
			jstr(b, t, strlen(t));
		else if (tt_buf_append(b, t, strlen(t)) < 0)
			oom();
		return;
	}
	rc = tt_rec_field(rec, len, path, &v);
	if (rc <= 0) {
		if (json)
			rc = tt_buf_append(b, "null", 4);
	} else if (json) {
		rc = tt_value_to_json(v.raw, v.raw_len, b);
	} else if (v.type == TT_V_STR) {
		rc = tt_buf_append(b, v.v.s.p, v.v.s.n);
	} else if (v.type == TT_V_BIN) {
		cli_hex(b, v.v.s.p, v.v.s.n);
	} else {
		rc = tt_value_to_json(v.raw, v.raw_len, b);
	}
	if (rc == -ENOMEM) /* a field left out of the output would pass for absent */
		oom();
}

/* ---- jsonl / json */

static void json_rec(cli_out *out, const uint8_t *rec, size_t len, const char *cursor)
{
	size_t start = out->b.len;
	int rc;

	if (out->nfields) {
		put(out, "{", 1);
		for (size_t i = 0; i < out->nfields; i++) {
			if (i)
				put(out, ",", 1);
			jstr(&out->b, out->fields[i], strlen(out->fields[i]));
			put(out, ":", 1);
			field_put(&out->b, rec, len, out->fields[i], 1);
		}
		put(out, "}", 1);
	} else if ((rc = tt_rec_to_json(rec, len, TT_JSON_TIME, &out->b)) < 0) {
		if (rc == -ENOMEM)
			oom();
		out->b.len = start;
		cli_warn("skipped a record that could not be formatted");
		return;
	}
	if (cursor && out->o->show_cursor && out->b.len > start &&
	    out->b.data[out->b.len - 1] == '}') {
		out->b.len--;
		puts_(out, out->b.len - start > 1 ? ",\"cursor\":" : "\"cursor\":");
		jstr(&out->b, cursor, strlen(cursor));
		put(out, "}", 1);
	}
}

/* ---- table */

static const char *level_color(int lvl)
{
	switch (lvl) {
	case TT_LVL_FATAL: return C_BRED;
	case TT_LVL_ERROR: return C_RED;
	case TT_LVL_WARN: return C_YELLOW;
	case TT_LVL_DEBUG:
	case TT_LVL_TRACE: return C_DIM;
	default: return NULL;
	}
}

static void pad(cli_out *out, size_t have, size_t want)
{
	static const char sp[] = "                                ";
	while (have < want) {
		size_t k = want - have < sizeof(sp) - 1 ? want - have : sizeof(sp) - 1;
		put(out, sp, k);
		have += k;
	}
}

/* Put n bytes with control characters shown as '?' (tables stay one line). */
static void put_clean(cli_out *out, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && (unsigned char)s[j] >= 0x20 && s[j] != 0x7f)
			j++;
		put(out, s + i, j - i);
		if (j < n) {
			put(out, s[j] == '\n' ? " " : "?", 1);
			j++;
		}
		i = j;
	}
}

static int fields_have_time(const cli_out *out)
{
	for (size_t i = 0; i < out->nfields; i++)
		if (!strcmp(out->fields[i], "time") || !strcmp(out->fields[i], "ts"))
			return 1;
	return 0;
}

/* The column names above the first row, the time's naming its zone, so that a
 * pasted table is unambiguous: "TIME (UTC)", "TIME (CET, +01:00)"; --fields
 * columns by the names given. The zone
 * is the first record's (a table across a DST change shows the first). */
static void table_header(cli_out *out, int64_t ts)
{
	char z[48], t[64];
	size_t k;

	cli_fmt_zone(ts, out->o->utc, z, sizeof(z));
	k = (size_t)snprintf(t, sizeof(t), "TIME (%s)", z);
	if (k >= sizeof(t))
		k = sizeof(t) - 1;
	color(out, C_DIM);
	if (!fields_have_time(out)) {
		put(out, t, k);
		pad(out, k, 23); /* the width of "2024-11-21 09:00:00.000" */
		put(out, " ", 1);
	}
	if (out->nfields) {
		for (size_t i = 0; i < out->nfields; i++) {
			/* --fields time is RFC 3339 in UTC ("Z"): it names its zone */
			const char *f = out->fields[i];
			size_t fl = strlen(f);
			put_clean(out, f, fl);
			if (i + 1 < out->nfields)
				pad(out, fl, 16), put(out, " ", 1);
		}
	} else {
		puts_(out, "LEVEL SERVICE      CORR             EVENT");
	}
	color(out, C_RESET);
	put(out, "\n", 1);
	out->table_head = 1;
}

static void table_rec(cli_out *out, const uint8_t *rec, size_t len, const char *cursor)
{
	tt_rec_info in;
	char t[64];
	const char *lc;
	size_t w;

	if (tt_rec_info_get(rec, len, &in) < 0) {
		cli_warn("skipped a record that could not be read");
		return;
	}
	lc = level_color(in.level);
	if (!out->table_head)
		table_header(out, in.ts);
	if (!fields_have_time(out)) { /* --fields time,...: printed once, where asked */
		cli_fmt_time(in.ts, out->o->utc, t, sizeof(t));
		color(out, C_DIM);
		puts_(out, t);
		color(out, C_RESET);
		put(out, " ", 1);
	}
	if (out->nfields) {
		for (size_t i = 0; i < out->nfields; i++) {
			out->tmp.len = 0;
			field_put(&out->tmp, rec, len, out->fields[i], 0);
			put_clean(out, (const char *)out->tmp.data, out->tmp.len);
			if (i + 1 < out->nfields)
				pad(out, out->tmp.len, 16), put(out, " ", 1);
		}
		put(out, "\n", 1);
		return;
	}
	/* level */
	if (lc)
		color(out, lc);
	{
		const char *ln = tt_level_name(in.level);
		char up[8];
		size_t k = 0;
		for (; ln[k] && k < 5; k++)
			up[k] = (char)(ln[k] >= 'a' && ln[k] <= 'z' ? ln[k] - 32 : ln[k]);
		put(out, up, k);
		if (lc)
			color(out, C_RESET);
		pad(out, k, 6);
	}
	/* service: whole, however long; aligned by columns, not bytes */
	w = 0;
	for (size_t k = 0; in.service.p && k < in.service.n; k++)
		w += ((unsigned char)in.service.p[k] & 0xc0) != 0x80;
	color(out, C_CYAN);
	if (in.service.p)
		put_clean(out, in.service.p, in.service.n);
	color(out, C_RESET);
	pad(out, w, 12);
	put(out, " ", 1);
	/* corr */
	out->tmp.len = 0;
	if (in.corr.p)
		cli_id_text(&out->tmp, in.corr.p, in.corr.n, in.corr_is_bin);
	put_clean(out, (const char *)out->tmp.data, out->tmp.len);
	pad(out, out->tmp.len, 16);
	put(out, " ", 1);
	/* what happened */
	if (lc && in.level >= TT_LVL_ERROR)
		color(out, lc);
	if (in.dir.p) {
		put_clean(out, in.dir.p, in.dir.n);
		put(out, " ", 1);
	}
	if (in.name.p)
		put_clean(out, in.name.p, in.name.n);
	else if (!in.msg.p && in.kind.p)
		put_clean(out, in.kind.p, in.kind.n);
	if (in.endpoint.p) {
		put(out, " ", 1);
		put_clean(out, in.endpoint.p, in.endpoint.n);
	}
	if (in.msg.p) {
		if (in.name.p || in.dir.p || in.endpoint.p)
			put(out, ": ", 2);
		put_clean(out, in.msg.p, in.msg.n);
	}
	if (lc && in.level >= TT_LVL_ERROR)
		color(out, C_RESET);
	if (in.dur >= 0) {
		cli_fmt_dur(in.dur, t, sizeof(t));
		color(out, C_DIM);
		printf_(out, " (%s)", t);
		color(out, C_RESET);
	}
	if (in.status.p) {
		put(out, " [", 2);
		put_clean(out, in.status.p, in.status.n);
		put(out, "]", 1);
	}
	if (cursor && out->o->show_cursor) {
		color(out, C_DIM);
		printf_(out, " %s", cursor);
		color(out, C_RESET);
	}
	put(out, "\n", 1);
}

/* ---- csv */

void cli_csv_cell(tt_buf *b, const void *vp, size_t n)
{
	const uint8_t *p = vp;
	int quote = 0;
	for (size_t i = 0; i < n; i++)
		if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
			quote = 1;
	if (!quote) {
		(void)tt_buf_append(b, p, n);
		return;
	}
	(void)tt_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			(void)tt_buf_append(b, "\"", 1);
		(void)tt_buf_append(b, p + i, 1);
	}
	(void)tt_buf_append(b, "\"", 1);
}

static void csv_cell(cli_out *out, const uint8_t *p, size_t n)
{
	cli_csv_cell(&out->b, p, n);
}

static void csv_header(cli_out *out, const char *const *cols, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(out, ",", 1);
		csv_cell(out, (const uint8_t *)cols[i], strlen(cols[i]));
	}
	put(out, "\n", 1);
}

static void csv_rec(cli_out *out, const uint8_t *rec, size_t len)
{
	const char *const *cols = out->nfields ? (const char *const *)out->fields : default_csv;
	size_t n = out->nfields ? out->nfields : sizeof(default_csv) / sizeof(default_csv[0]);

	if (out->nrec == 0)
		csv_header(out, cols, n);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(out, ",", 1);
		out->tmp.len = 0;
		field_put(&out->tmp, rec, len, cols[i], 0);
		csv_cell(out, out->tmp.data, out->tmp.len);
	}
	put(out, "\n", 1);
}

/* ---- buffered records (tree, otlp) */

static void keep(cli_out *out, const uint8_t *rec, size_t len)
{
	brec *r;

	cli_grow(&out->recs, &out->caprecs, out->nrecs, sizeof(*out->recs));
	r = &out->recs[out->nrecs];
	r->data = malloc(len ? len : 1);
	if (!r->data)
		oom();
	memcpy(r->data, rec, len);
	r->len = len;
	out->nrecs++;
}

static void drop_kept(cli_out *out, size_t from)
{
	for (size_t i = from; i < out->nrecs; i++)
		free(out->recs[i].data);
	out->nrecs = from;
}

/* ---- tree */

typedef struct tnode {
	tt_rec_info in;
	size_t parent;  /* index of the parent record, or SIZE_MAX */
	int done;
	int op;         /* TN_OP_END: a "<-" ending the operation begun at op_start;
	                 * TN_OP_OPEN: a "->" never answered */
	int64_t op_start;
} tnode;

enum { TN_OP_NONE = 0, TN_OP_END, TN_OP_OPEN };

static int same(const char *a, size_t an, const char *b, size_t bn)
{
	return a && b && an == bn && memcmp(a, b, an) == 0;
}

static void tree_line(cli_out *out, tnode *nodes, size_t i, int depth,
    int64_t t0, int64_t span)
{
	tt_rec_info *in = &nodes[i].in;
	const char *lc = level_color(in->level);
	size_t w = 0;
	char d[32];
	int from, to;
	int64_t ts = in->ts, dur = in->dur; /* what the bar shows */

	out->tmp.len = 0;
	for (int k = 0; k < depth && k < 20; k++)
		(void)tt_buf_append(&out->tmp, "  ", 2);
	if (in->dir.p) {
		(void)tt_buf_append(&out->tmp, in->dir.p, in->dir.n);
		(void)tt_buf_append(&out->tmp, " ", 1);
	}
	if (in->service.p) {
		(void)tt_buf_append(&out->tmp, in->service.p, in->service.n);
		(void)tt_buf_append(&out->tmp, " ", 1);
	}
	if (in->name.p)
		(void)tt_buf_append(&out->tmp, in->name.p, in->name.n);
	else if (in->msg.p)
		(void)tt_buf_append(&out->tmp, in->msg.p, in->msg.n);
	else if (in->kind.p)
		(void)tt_buf_append(&out->tmp, in->kind.p, in->kind.n);
	/* the label, cut to its column (on a UTF-8 boundary) */
	w = out->tmp.len;
	if (w > TREE_LABEL) {
		w = TREE_LABEL - 1;
		while (w && (out->tmp.data[w] & 0xc0) == 0x80)
			w--;
	}
	{
		int err = in->level >= TT_LVL_ERROR ||
		    (in->status.p && in->status.n == 5 && !strncasecmp(in->status.p, "error", 5));
		/* a marker that survives NO_COLOR and pipes */
		const char *mark = err ? " [error]" : nodes[i].op == TN_OP_OPEN ? " [open]" : NULL;
		size_t ml = mark ? strlen(mark) : 0;
		if (mark && w + ml > TREE_LABEL) { /* room for the marker */
			w = TREE_LABEL > ml + 1 ? TREE_LABEL - ml - 1 : 0;
			while (w && (out->tmp.data[w] & 0xc0) == 0x80)
				w--;
		}
		size_t cols = 0; /* columns taken: count UTF-8 lead bytes only */
		if (lc || err)
			color(out, lc ? lc : C_RED);
		put_clean(out, (const char *)out->tmp.data, w);
		for (size_t k = 0; k < w && k < out->tmp.len; k++)
			cols += (out->tmp.data[k] & 0xc0) != 0x80;
		if (w < out->tmp.len && !mark)
			put(out, "~", 1), cols++;
		if (mark) {
			put(out, mark, ml);
			cols += ml;
		}
		if (lc || err)
			color(out, C_RESET);
		pad(out, cols, TREE_LABEL + 1);
	}
	/* a span shows its duration; a "<-" the operation it ends, from its "->",
	 * as a span; a point event its offset from the start */
	if (nodes[i].op == TN_OP_END)
		ts = nodes[i].op_start, dur = in->ts - nodes[i].op_start;
	if (dur >= 0) {
		cli_fmt_dur(dur, d, sizeof(d));
		printf_(out, "%10s |", d);
	} else {
		char off[40];
		cli_fmt_dur(ts - t0, d, sizeof(d));
		snprintf(off, sizeof(off), "+%s", d);
		printf_(out, "%10s |", off);
	}
	from = (int)((double)(ts - t0) * TREE_BAR / (double)span);
	to = dur > 0 ? (int)((double)(ts - t0 + dur) * TREE_BAR / (double)span) : from;
	if (from >= TREE_BAR)
		from = TREE_BAR - 1;
	if (to >= TREE_BAR)
		to = TREE_BAR - 1;
	if (from < 0)
		from = 0;
	for (int k = 0; k < TREE_BAR; k++) {
		if (k < from || k > to)
			put(out, " ", 1);
		else if (dur > 0)
			put(out, "=", 1);
		else
			put(out, "|", 1);
	}
	puts_(out, "|\n");
}

static void tree_walk(cli_out *out, tnode *nodes, size_t n, size_t i, int depth,
    int64_t t0, int64_t span)
{
	nodes[i].done = 1;
	tree_line(out, nodes, i, depth, t0, span);
	for (size_t j = 0; j < n; j++)
		if (!nodes[j].done && nodes[j].parent == i)
			tree_walk(out, nodes, n, j, depth + 1, t0, span);
}

/* One tree over recs[from, to): a title line, then each root and its
 * descendants, children in record order; records in a parent cycle are shown
 * as roots. */
static void tree_print(cli_out *out, size_t from, size_t to, const char *title,
    size_t title_len, const tt_idsum *sum)
{
	size_t n = to - from, m = 0;
	tnode *nodes = calloc(n ? n : 1, sizeof(*nodes));
	int64_t t0 = INT64_MAX, t1 = INT64_MIN, span;
	char d[32];

	if (!nodes)
		oom();
	for (size_t i = 0; i < n; i++) {
		if (tt_rec_info_get(out->recs[from + i].data, out->recs[from + i].len,
		        &nodes[m].in) < 0)
			continue;
		nodes[m].parent = SIZE_MAX;
		if (nodes[m].in.ts < t0)
			t0 = nodes[m].in.ts;
		{
			int64_t end = nodes[m].in.ts + (nodes[m].in.dur > 0 ? nodes[m].in.dur : 0);
			if (end > t1)
				t1 = end;
		}
		m++;
	}
	n = m;
	for (size_t i = 0; i < n; i++) {
		if (!nodes[i].in.parent.p)
			continue;
		for (size_t j = 0; j < n; j++)
			if (j != i && same(nodes[j].in.span.p, nodes[j].in.span.n,
			                  nodes[i].in.parent.p, nodes[i].in.parent.n)) {
				nodes[i].parent = j;
				break;
			}
	}
	{
		cpoint *cp = calloc(n ? n : 1, sizeof *cp);
		size_t *at = calloc(n ? n : 1, sizeof *at), ncp = 0, nops;
		cop *ops;
		if (!cp || !at)
			oom();
		for (size_t i = 0; i < n; i++) {
			const tt_rec_info *in = &nodes[i].in;
			if (!in->dir.p || in->dir.n != 2 ||
			    (memcmp(in->dir.p, "->", 2) && memcmp(in->dir.p, "<-", 2)))
				continue;
			cp[ncp].svc = in->service.p, cp[ncp].svc_n = in->service.n;
			cp[ncp].name = in->name.p, cp[ncp].name_n = in->name.n;
			cp[ncp].ts = in->ts;
			cp[ncp].req = in->dir.p[0] == '-';
			at[ncp++] = i;
		}
		nops = ops_pair(cp, ncp, &ops);
		for (size_t k = 0; k < nops; k++) {
			if (ops[k].resp == SIZE_MAX) {
				nodes[at[ops[k].req]].op = TN_OP_OPEN;
			} else {
				nodes[at[ops[k].resp]].op = TN_OP_END;
				nodes[at[ops[k].resp]].op_start = ops[k].start;
			}
		}
		free(ops);
		free(cp);
		free(at);
	}
	span = n ? t1 - t0 : 0;
	if (span <= 0)
		span = 1;
	color(out, C_BOLD);
	put_clean(out, title, title_len);
	color(out, C_RESET);
	cli_fmt_dur(n ? t1 - t0 : 0, d, sizeof(d));
	printf_(out, "  %zu record%s  %s", n, n == 1 ? "" : "s", d);
	if (sum) {
		gcheck g;
		gverdict v;
		char vt[128];
		memset(&g, 0, sizeof g);
		gcheck_reset(&g);
		for (size_t i = 0; i < n; i++)
			gcheck_rec(&g, &nodes[i].in);
		v = gcheck_verdict(&g);
		verdict_text(&v, vt, sizeof vt);
		printf_(out, "  %s", vt);
		tt_buf_free(&g.ids);
		tt_buf_free(&g.parents);
		tt_buf_free(&g.cps);
	}
	put(out, "\n", 1);
	for (size_t i = 0; i < n; i++) {
		/* a root: no parent, or its parent chain never ends at a root */
		if (!nodes[i].done && nodes[i].parent == SIZE_MAX)
			tree_walk(out, nodes, n, i, 0, t0, span);
	}
	for (size_t i = 0; i < n; i++)
		if (!nodes[i].done)
			tree_walk(out, nodes, n, i, 0, t0, span);
	free(nodes);
}

/* Trees of everything kept, grouped by correlation id in order of first
 * appearance (tt-tail -o tree, tt-query filters -o tree). */
static void tree_by_corr(cli_out *out)
{
	size_t n = out->nrecs;
	char *used = calloc(n ? n : 1, 1);
	brec *order = malloc((n ? n : 1) * sizeof(*order));
	size_t k = 0;

	if (!used || !order)
		oom();
	for (size_t i = 0; i < n; i++) {
		int64_t ts;
		const char *c, *c2;
		size_t cn, cn2, start = k;

		if (used[i])
			continue;
		if (tt_rec_ts_corr(out->recs[i].data, out->recs[i].len, &ts, &c, &cn) < 0)
			c = NULL, cn = 0;
		for (size_t j = i; j < n; j++) {
			if (used[j])
				continue;
			if (tt_rec_ts_corr(out->recs[j].data, out->recs[j].len, &ts, &c2, &cn2) < 0)
				c2 = NULL, cn2 = 0;
			if ((c == NULL && c2 == NULL) || same(c, cn, c2, cn2)) {
				used[j] = 1;
				order[k++] = out->recs[j];
			}
		}
		(void)start;
	}
	/* print group by group from the reordered copy */
	{
		brec *saved = out->recs;
		size_t i = 0;
		out->recs = order;
		while (i < k) {
			int64_t ts;
			const char *c, *c2;
			size_t cn, cn2, j = i + 1;
			if (tt_rec_ts_corr(order[i].data, order[i].len, &ts, &c, &cn) < 0)
				c = NULL, cn = 0;
			while (j < k && tt_rec_ts_corr(order[j].data, order[j].len, &ts, &c2, &cn2) == 0 &&
			    ((c == NULL && c2 == NULL) || same(c, cn, c2, cn2)))
				j++;
			out->tmp.len = 0;
			if (c)
				cli_id_text(&out->tmp, c, cn, !printable(c, cn));
			else
				(void)tt_buf_append(&out->tmp, "(no id)", 7);
			{
				tt_buf title = out->tmp;
				memset(&out->tmp, 0, sizeof(out->tmp));
				tree_print(out, i, j, (const char *)title.data, title.len, NULL);
				tt_buf_free(&out->tmp);
				out->tmp = title;
			}
			i = j;
			if (i < k)
				put(out, "\n", 1);
		}
		out->recs = saved;
	}
	free(used);
	free(order);
}

/* ---- otlp: the records as OTLP/JSON exports that tt-ingest reads back as
 * the same records (FORMAT.md 3.3 in reverse): spans in one resourceSpans
 * document, log records in one resourceLogs document, one line each. Records
 * grouped by resource (service.name, host.name, the other resource
 * attributes) and scope. What OTLP has no place for (a TraceHub corr that is
 * not hex, dir, suffix, endpoint) goes into attributes under teratrace.*. */

/* 64-bit FNV-1a, seeded: stable ids for records whose ids are not OTLP hex. */
static uint64_t fnv(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int is_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') ||
		        (p[i] >= 'A' && p[i] <= 'F')))
			return 0;
	return 1;
}

/* Is it already an OTLP id of `bytes` bytes (hex text, or bin)? */
static int otlp_native_id(const char *p, size_t n, int is_bin, size_t bytes)
{
	return p && ((is_bin && n == bytes) || (!is_bin && n == 2 * bytes && is_hex(p, n)));
}

/* An OTLP id of `bytes` bytes as a JSON string: the id itself when it
 * already is one, else a hash of it. */
static void otlp_id(cli_out *out, const char *p, size_t n, int is_bin, size_t bytes,
    uint64_t salt)
{
	put(out, "\"", 1);
	if (p && is_bin && n == bytes) {
		cli_hex(&out->b, p, n);
	} else if (otlp_native_id(p, n, is_bin, bytes)) {
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];
			if (ch >= 'A' && ch <= 'F')
				ch = (char)(ch + 32);
			put(out, &ch, 1);
		}
	} else {
		uint64_t h[2];
		h[0] = fnv(p ? p : "", p ? n : 0, salt);
		h[1] = fnv(p ? p : "", p ? n : 0, salt ^ 0x9e3779b97f4a7c15ULL);
		cli_hex(&out->b, h, bytes > 16 ? 16 : bytes);
	}
	put(out, "\"", 1);
}

static void base64(cli_out *out, const uint8_t *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { a[v >> 18 & 63], a[v >> 12 & 63], i + 1 < n ? a[v >> 6 & 63] : '=',
			i + 2 < n ? a[v & 63] : '=' };
		put(out, q, 4);
	}
}

static void otlp_any(cli_out *out, const tt_value *v, int depth);

struct otlp_kvs { cli_out *out; int first, depth; };

static int otlp_kv(void *ctx, const char *k, size_t kn, const tt_value *v)
{
	struct otlp_kvs *c = ctx;
	puts_(c->out, c->first ? "{\"key\":" : ",{\"key\":");
	c->first = 0;
	jstr(&c->out->b, k, kn);
	puts_(c->out, ",\"value\":");
	otlp_any(c->out, v, c->depth);
	puts_(c->out, "}");
	return 0;
}

/* A stored value as an OTLP AnyValue (the decoder's mapping in reverse). */
static void otlp_any(cli_out *out, const tt_value *v, int depth)
{
	switch (v->type) {
	case TT_V_STR:
		puts_(out, "{\"stringValue\":");
		jstr(&out->b, v->v.s.p, v->v.s.n);
		puts_(out, "}");
		break;
	case TT_V_BOOL:
		printf_(out, "{\"boolValue\":%s}", v->v.b ? "true" : "false");
		break;
	case TT_V_INT:
		printf_(out, "{\"intValue\":\"%lld\"}", (long long)v->v.i);
		break;
	case TT_V_UINT:
		printf_(out, "{\"intValue\":\"%llu\"}", (unsigned long long)v->v.u);
		break;
	case TT_V_FLOAT:
		puts_(out, "{\"doubleValue\":");
		(void)tt_value_to_json(v->raw, v->raw_len, &out->b);
		puts_(out, "}");
		break;
	case TT_V_BIN:
		puts_(out, "{\"bytesValue\":\"");
		base64(out, (const uint8_t *)v->v.s.p, v->v.s.n);
		puts_(out, "\"}");
		break;
	case TT_V_MAP:
		if (depth < TT_DEPTH_MAX) {
			struct otlp_kvs c = { out, 1, depth + 1 };
			puts_(out, "{\"kvlistValue\":{\"values\":[");
			(void)cli_mp_map_each(v->raw, v->raw_len, otlp_kv, &c);
			puts_(out, "]}}");
		} else {
			puts_(out, "{}");
		}
		break;
	case TT_V_ARRAY: {
		size_t off = v->raw[0] <= 0x9f ? 1 : v->raw[0] == 0xdc ? 3 : 5;
		puts_(out, "{\"arrayValue\":{\"values\":[");
		for (uint32_t i = 0; i < v->v.count && off < v->raw_len && depth < TT_DEPTH_MAX; i++) {
			tt_value e;
			if (cli_mp_value(v->raw + off, v->raw_len - off, &e) < 0)
				break;
			if (i)
				put(out, ",", 1);
			otlp_any(out, &e, depth + 1);
			off += e.raw_len;
		}
		puts_(out, "]}}");
		break;
	}
	default:
		puts_(out, "{}");
	}
}

/* attributes: the record's attrs, then what OTLP has no field for */
static void otlp_attrs(cli_out *out, const brec *r, const tt_rec_info *in, int span)
{
	struct otlp_kvs c = { out, 1, 1 };
	tt_value v;
	static const char *const extra[] = { "dir", "suffix", "endpoint" };

	puts_(out, ",\"attributes\":[");
	if (tt_rec_field(r->data, r->len, "attrs", &v) == 1 && v.type == TT_V_MAP)
		(void)cli_mp_map_each(v.raw, v.raw_len, otlp_kv, &c);
	if (in->corr.p && !otlp_native_id(in->corr.p, in->corr.n, in->corr_is_bin, 16)) {
		tt_value cv = { .type = TT_V_STR };
		cv.v.s.p = in->corr.p, cv.v.s.n = in->corr.n;
		(void)otlp_kv(&c, "teratrace.corr", 14, &cv);
	}
	if (span && in->kind.p && !same(in->kind.p, in->kind.n, "span", 4)) {
		tt_value kv = { .type = TT_V_STR };
		kv.v.s.p = in->kind.p, kv.v.s.n = in->kind.n;
		(void)otlp_kv(&c, "teratrace.kind", 14, &kv);
	}
	for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
		char k[40];
		if (tt_rec_field(r->data, r->len, extra[i], &v) != 1 || v.type == TT_V_MAP)
			continue;
		snprintf(k, sizeof k, "teratrace.%s", extra[i]);
		(void)otlp_kv(&c, k, strlen(k), &v);
	}
	puts_(out, "]");
}

struct otlp_evs { cli_out *out; int n; };

static int otlp_event_kv(void *ctx, const char *k, size_t kn, const tt_value *v)
{
	struct otlp_evs *e = ctx;
	if (kn == 2 && !memcmp(k, "ts", 2) && (v->type == TT_V_INT || v->type == TT_V_UINT))
		printf_(e->out, "\"timeUnixNano\":\"%lld\",", v->type == TT_V_INT ? (long long)v->v.i :
		    (long long)v->v.u);
	else if (kn == 4 && !memcmp(k, "name", 4) && v->type == TT_V_STR) {
		puts_(e->out, "\"name\":");
		jstr(&e->out->b, v->v.s.p, v->v.s.n);
		puts_(e->out, ",");
	} else if (kn == 5 && !memcmp(k, "attrs", 5) && v->type == TT_V_MAP) {
		struct otlp_kvs c = { e->out, 1, 2 };
		puts_(e->out, "\"attributes\":[");
		(void)cli_mp_map_each(v->raw, v->raw_len, otlp_kv, &c);
		puts_(e->out, "],");
	}
	return 0;
}

static void otlp_events(cli_out *out, const brec *r)
{
	tt_value ev;
	size_t off;

	if (tt_rec_field(r->data, r->len, "events", &ev) != 1 || ev.type != TT_V_ARRAY)
		return;
	puts_(out, ",\"events\":[");
	off = ev.raw[0] <= 0x9f ? 1 : ev.raw[0] == 0xdc ? 3 : 5;
	for (uint32_t i = 0; i < ev.v.count && off < ev.raw_len; i++) {
		tt_value e;
		struct otlp_evs c = { out, 0 };
		if (cli_mp_value(ev.raw + off, ev.raw_len - off, &e) < 0)
			break;
		off += e.raw_len;
		if (e.type != TT_V_MAP)
			continue;
		puts_(out, i ? ",{" : "{");
		(void)cli_mp_map_each(e.raw, e.raw_len, otlp_event_kv, &c);
		if (out->b.len && out->b.data[out->b.len - 1] == ',')
			out->b.len--;
		puts_(out, "}");
	}
	puts_(out, "]");
}

static const char *const span_kinds[] = { NULL, "internal", "server", "client", "producer",
	"consumer" };

static void otlp_span(cli_out *out, const brec *r, size_t idx)
{
	tt_rec_info in;
	tt_value sk;
	int code = 0, kind = 0;

	if (tt_rec_info_get(r->data, r->len, &in) < 0)
		return;
	puts_(out, "{\"traceId\":");
	otlp_id(out, in.corr.p, in.corr.n, in.corr_is_bin, 16, 1);
	puts_(out, ",\"spanId\":");
	if (in.span.p) {
		otlp_id(out, in.span.p, in.span.n, 0, 8, 2);
	} else {
		uint64_t h = fnv(r->data, r->len, idx);
		puts_(out, "\"");
		cli_hex(&out->b, &h, 8);
		puts_(out, "\"");
	}
	if (in.parent.p) {
		puts_(out, ",\"parentSpanId\":");
		otlp_id(out, in.parent.p, in.parent.n, 0, 8, 2);
	}
	puts_(out, ",\"name\":");
	jstr(&out->b, in.name.p ? in.name.p : "", in.name.p ? in.name.n : 0);
	if (tt_rec_field(r->data, r->len, "span_kind", &sk) == 1 && sk.type == TT_V_STR)
		for (int k = 1; k < 6; k++)
			if (same(sk.v.s.p, sk.v.s.n, span_kinds[k], strlen(span_kinds[k])))
				kind = k;
	printf_(out, ",\"kind\":%d,\"startTimeUnixNano\":\"%lld\"", kind, (long long)in.ts);
	if (in.dur >= 0)
		printf_(out, ",\"endTimeUnixNano\":\"%lld\"", (long long)(in.ts + in.dur));
	otlp_attrs(out, r, &in, 1);
	otlp_events(out, r);
	if (same(in.status.p, in.status.n, "error", 5) || (!in.status.p && in.level >= TT_LVL_ERROR))
		code = 2;
	else if (same(in.status.p, in.status.n, "ok", 2))
		code = 1;
	printf_(out, ",\"status\":{\"code\":%d", code);
	if (in.msg.p) { /* the decoder's msg is the status message */
		puts_(out, ",\"message\":");
		jstr(&out->b, in.msg.p, in.msg.n);
	}
	puts_(out, "}}");
}

static void otlp_log(cli_out *out, const brec *r)
{
	static const int sev[] = { 0, 1, 5, 9, 13, 17, 21 }; /* TT_LVL_* -> severityNumber */
	tt_rec_info in;
	tt_value body;

	if (tt_rec_info_get(r->data, r->len, &in) < 0)
		return;
	printf_(out, "{\"timeUnixNano\":\"%lld\"", (long long)in.ts);
	if (in.level != TT_LVL_NONE) {
		const char *ln = tt_level_name(in.level);
		printf_(out, ",\"severityNumber\":%d,\"severityText\":", in.level < 7 ? sev[in.level] : 0);
		jstr(&out->b, ln, strlen(ln));
	}
	if (tt_rec_field(r->data, r->len, "body", &body) == 1) {
		puts_(out, ",\"body\":");
		otlp_any(out, &body, 1);
	} else if (in.msg.p) {
		puts_(out, ",\"body\":{\"stringValue\":");
		jstr(&out->b, in.msg.p, in.msg.n);
		puts_(out, "}");
	}
	if (in.name.p) {
		puts_(out, ",\"eventName\":");
		jstr(&out->b, in.name.p, in.name.n);
	}
	if (in.corr.p) {
		puts_(out, ",\"traceId\":");
		otlp_id(out, in.corr.p, in.corr.n, in.corr_is_bin, 16, 1);
	}
	if (in.span.p) {
		puts_(out, ",\"spanId\":");
		otlp_id(out, in.span.p, in.span.n, 0, 8, 2);
	}
	otlp_attrs(out, r, &in, 0);
	puts_(out, "}");
}

/* The bytes that decide a record's resource and scope: service, host, the
 * resource map and the scope, as they are stored. */
static void otlp_group_key(const brec *r, tt_buf *k)
{
	static const char *const f[] = { "service", "host", "resource", "scope" };
	k->len = 0;
	for (size_t i = 0; i < 4; i++) {
		tt_value v;
		uint8_t l[4] = { 0, 0, 0, 0 };
		if (tt_rec_field(r->data, r->len, f[i], &v) == 1 && !(i == 2 && v.type != TT_V_MAP)) {
			{ uint32_t x = (uint32_t)v.raw_len + 1; memcpy(l, &x, 4); }
			(void)tt_buf_append(k, l, 4);
			(void)tt_buf_append(k, v.raw, v.raw_len);
		} else {
			(void)tt_buf_append(k, l, 4);
		}
	}
}

static void otlp_resource(cli_out *out, const brec *r, int logs)
{
	tt_value v;
	struct otlp_kvs c = { out, 1, 1 };

	puts_(out, "{\"resource\":{\"attributes\":[");
	if (tt_rec_field(r->data, r->len, "service", &v) == 1 && v.type == TT_V_STR)
		(void)otlp_kv(&c, "service.name", 12, &v);
	if (tt_rec_field(r->data, r->len, "host", &v) == 1 && v.type == TT_V_STR)
		(void)otlp_kv(&c, "host.name", 9, &v);
	if (tt_rec_field(r->data, r->len, "resource", &v) == 1 && v.type == TT_V_MAP)
		(void)cli_mp_map_each(v.raw, v.raw_len, otlp_kv, &c);
	puts_(out, logs ? "]},\"scopeLogs\":[{\"scope\":{" : "]},\"scopeSpans\":[{\"scope\":{");
	if (tt_rec_field(r->data, r->len, "scope", &v) == 1 && v.type == TT_V_STR) {
		puts_(out, "\"name\":");
		jstr(&out->b, v.v.s.p, v.v.s.n);
	}
	puts_(out, logs ? "},\"logRecords\":[" : "},\"spans\":[");
}

static int is_log(const brec *r)
{
	tt_rec_info in;
	return tt_rec_info_get(r->data, r->len, &in) == 0 && same(in.kind.p, in.kind.n, "log", 3);
}

/* One document (one line) of the spans or of the log records, resources in
 * order of first appearance. */
static void otlp_doc(cli_out *out, int logs)
{
	size_t n = out->nrecs, first_res = 1;
	char *used = calloc(n ? n : 1, 1);
	tt_buf ki = { 0 }, kj = { 0 };
	int any = 0;

	if (!used)
		oom();
	for (size_t i = 0; i < n; i++)
		if (is_log(&out->recs[i]) == logs) {
			any = 1;
			break;
		}
	if (!any) {
		free(used);
		return;
	}
	puts_(out, logs ? "{\"resourceLogs\":[" : "{\"resourceSpans\":[");
	for (size_t i = 0; i < n; i++) {
		int first = 1;
		if (used[i] || is_log(&out->recs[i]) != logs)
			continue;
		otlp_group_key(&out->recs[i], &ki);
		puts_(out, first_res ? "" : ",");
		first_res = 0;
		otlp_resource(out, &out->recs[i], logs);
		for (size_t j = i; j < n; j++) {
			if (used[j] || is_log(&out->recs[j]) != logs)
				continue;
			otlp_group_key(&out->recs[j], &kj);
			if (kj.len != ki.len || memcmp(kj.data, ki.data, ki.len) != 0)
				continue;
			used[j] = 1;
			puts_(out, first ? "" : ",");
			first = 0;
			if (logs)
				otlp_log(out, &out->recs[j]);
			else
				otlp_span(out, &out->recs[j], j);
			if (out->b.len >= OUT_CHUNK)
				write_out(out);
		}
		puts_(out, "]}]}");
	}
	puts_(out, "]}\n");
	tt_buf_free(&ki);
	tt_buf_free(&kj);
	free(used);
}

static void otlp_print(cli_out *out)
{
	otlp_doc(out, 0);
	otlp_doc(out, 1);
}

/* ---- public entry points */

void cli_out_rec(cli_out *out, const uint8_t *rec, size_t len, const char *cursor)
{
	if (out->in_group) {
		tt_rec_info in;
		if (tt_rec_info_get(rec, len, &in) == 0)
			gcheck_rec(&out->gc, &in);
	}
	switch (out->fmt) {
	case CLI_FMT_JSONL:
		json_rec(out, rec, len, cursor);
		put(out, "\n", 1);
		break;
	case CLI_FMT_JSON:
		if (out->in_group)
			puts_(out, out->grec ? ",\n" : "\n");
		else
			puts_(out, out->nrec ? ",\n" : "[\n");
		json_rec(out, rec, len, cursor);
		break;
	case CLI_FMT_TABLE:
		table_rec(out, rec, len, cursor);
		break;
	case CLI_FMT_CSV:
		csv_rec(out, rec, len);
		break;
	case CLI_FMT_MSGPACK:
		put(out, rec, len);
		break;
	case CLI_FMT_TREE:
	case CLI_FMT_OTLP:
		keep(out, rec, len);
		break;
	}
	out->nrec++;
	out->grec++;
	rec_done(out);
}

void cli_out_group_begin(cli_out *out, const void *id, size_t id_len,
    const tt_idsum *sum, size_t nid)
{
	out->ngroups = nid;
	out->in_group = 1;
	out->grec = 0;
	out->gid.len = 0;
	(void)tt_buf_append(&out->gid, id, id_len);
	out->have_gsum = sum != NULL;
	if (sum)
		out->gsum = *sum;
	out->group_from = out->nrecs;
	gcheck_reset(&out->gc);
	if (out->fmt == CLI_FMT_JSON) {
		if (nid > 1)
			puts_(out, out->gi ? ",\n" : "[\n");
		puts_(out, "{\"corr\":");
		jstr(&out->b, id, id_len);
		if (sum)
			printf_(out, ",\"n_req\":%u,\"n_resp\":%u", sum->n_req, sum->n_resp);
		puts_(out, ",\"records\":[");
	}
	out->gi++;
}

/* "operations":[{"service":..,"name":..,"start_ts":..,"dur":..,"complete":..}] */
static void ops_json(cli_out *out, const cop *ops, size_t n)
{
	puts_(out, ",\"operations\":[");
	for (size_t k = 0; k < n; k++) {
		puts_(out, k ? ",{\"service\":" : "{\"service\":");
		if (ops[k].svc)
			jstr(&out->b, ops[k].svc, ops[k].svc_n);
		else
			puts_(out, "null");
		puts_(out, ",\"name\":");
		if (ops[k].name)
			jstr(&out->b, ops[k].name, ops[k].name_n);
		else
			puts_(out, "null");
		printf_(out, ",\"start_ts\":%lld", (long long)ops[k].start);
		if (ops[k].resp == SIZE_MAX)
			puts_(out, ",\"dur\":null,\"complete\":false}");
		else
			printf_(out, ",\"dur\":%lld,\"complete\":true}", (long long)ops[k].dur);
	}
	puts_(out, "]");
}

/* Below the table footer: "--   api GET /users: 50.0ms", nested ones
 * indented under the operation they run in. */
static void ops_table(cli_out *out, const cop *ops, size_t n)
{
	char d[32];

	for (size_t k = 0; k < n; k++) {
		color(out, C_DIM);
		puts_(out, "--   ");
		for (int i = 0; i < ops[k].depth && i < 20; i++)
			puts_(out, "  ");
		if (ops[k].svc) {
			put_clean(out, ops[k].svc, ops[k].svc_n);
			put(out, " ", 1);
		}
		if (ops[k].name)
			put_clean(out, ops[k].name, ops[k].name_n);
		if (ops[k].resp == SIZE_MAX) {
			puts_(out, ": open (no <-)");
		} else {
			cli_fmt_dur(ops[k].dur, d, sizeof(d));
			printf_(out, ": %s", d);
		}
		color(out, C_RESET);
		puts_(out, "\n");
	}
}

void cli_out_group_end(cli_out *out, uint64_t nrec)
{
	char d[32], vt[128];
	gverdict v = gcheck_verdict(&out->gc);
	cop *ops = NULL;
	size_t nops = 0;

	verdict_text(&v, vt, sizeof vt);
	if (out->fmt == CLI_FMT_JSON || out->fmt == CLI_FMT_TABLE)
		nops = gcheck_ops(&out->gc, &ops);
	switch (out->fmt) {
	case CLI_FMT_JSON:
		puts_(out, out->grec ? "\n]" : "]");
		ops_json(out, ops, nops);
		printf_(out, ",\"count\":%llu,\"complete\":%s,\"complete_rule\":\"%s\"}",
		    (unsigned long long)nrec, v.complete ? "true" : "false",
		    v.spans ? "spans" : "checkpoints");
		if (out->ngroups <= 1 || out->gi == out->ngroups)
			puts_(out, out->ngroups > 1 ? "\n]\n" : "\n");
		break;
	case CLI_FMT_TABLE:
		color(out, C_DIM);
		puts_(out, "-- ");
		put_clean(out, (const char *)out->gid.data, out->gid.len);
		printf_(out, ": %llu record%s", (unsigned long long)nrec, nrec == 1 ? "" : "s");
		if (out->have_gsum) {
			/* the extent the tree shows: first start to last end (spans' dur) */
			cli_fmt_dur(out->gc.t1 >= out->gc.t0 ? out->gc.t1 - out->gc.t0 : 0, d, sizeof(d));
			printf_(out, ", %s, %s", d, vt);
			if (out->gsum.services[0])
				printf_(out, ", services %s", out->gsum.services);
			if (out->gsum.services_omitted)
				printf_(out, " (+%u more)", out->gsum.services_omitted);
		}
		color(out, C_RESET);
		puts_(out, "\n");
		ops_table(out, ops, nops);
		break;
	case CLI_FMT_TREE:
		if (out->gi > 1)
			put(out, "\n", 1);
		tree_print(out, out->group_from, out->nrecs, (const char *)out->gid.data,
		    out->gid.len, out->have_gsum ? &out->gsum : NULL);
		drop_kept(out, out->group_from);
		break;
	default:
		break;
	}
	free(ops);
	out->in_group = 0;
	rec_done(out);
}

void cli_out_idsum(cli_out *out, const tt_idsum *s)
{
	char first[40], last[40], d[32];
	int bin = !printable(s->id, s->id_len);

	switch (out->fmt) {
	case CLI_FMT_TABLE:
		if (out->nsum == 0) {
			char z[48], h[64];
			cli_fmt_zone(s->last_ts, out->o->utc, z, sizeof(z));
			snprintf(h, sizeof(h), "LAST SEEN (%s)", z);
			color(out, C_BOLD);
			printf_(out, "%-23s %-32s %6s %9s %-8s %s\n", h, "ID", "COUNT",
			    "DURATION", "STATE", "SERVICES");
			color(out, C_RESET);
		}
		cli_fmt_time(s->last_ts, out->o->utc, last, sizeof(last));
		cli_fmt_dur(s->last_ts - s->first_ts, d, sizeof(d));
		color(out, C_DIM);
		puts_(out, last);
		color(out, C_RESET);
		put(out, " ", 1);
		out->tmp.len = 0;
		cli_id_text(&out->tmp, s->id, s->id_len, bin);
		put_clean(out, (const char *)out->tmp.data, out->tmp.len);
		pad(out, out->tmp.len, 32);
		printf_(out, " %6llu %9s ", (unsigned long long)s->count, d);
		if (!s->complete)
			color(out, C_YELLOW);
		printf_(out, "%-8s", s->complete ? "complete" : "open");
		if (!s->complete)
			color(out, C_RESET);
		printf_(out, " %s", s->services);
		if (s->services_omitted)
			printf_(out, " (+%u more)", s->services_omitted);
		put(out, "\n", 1);
		break;
	case CLI_FMT_CSV:
		if (out->nsum == 0)
			puts_(out, "last,corr,count,first_ts,last_ts,dur,complete,services\n");
		tt_time_rfc3339(s->last_ts, last, sizeof(last));
		printf_(out, "%s,", last);
		out->tmp.len = 0;
		cli_id_text(&out->tmp, s->id, s->id_len, bin);
		csv_cell(out, out->tmp.data, out->tmp.len);
		printf_(out, ",%llu,%lld,%lld,%lld,%s,", (unsigned long long)s->count,
		    (long long)s->first_ts, (long long)s->last_ts,
		    (long long)(s->last_ts - s->first_ts), s->complete ? "true" : "false");
		csv_cell(out, (const uint8_t *)s->services, strlen(s->services));
		put(out, "\n", 1);
		break;
	default: /* jsonl, json */
		if (out->fmt == CLI_FMT_JSON)
			puts_(out, out->nsum ? ",\n" : "[\n");
		tt_time_rfc3339(s->first_ts, first, sizeof(first));
		tt_time_rfc3339(s->last_ts, last, sizeof(last));
		puts_(out, "{\"corr\":");
		out->tmp.len = 0;
		cli_id_text(&out->tmp, s->id, s->id_len, bin);
		jstr(&out->b, (const char *)out->tmp.data, out->tmp.len);
		printf_(out, ",\"count\":%llu,\"first_ts\":%lld,\"first\":\"%s\","
		    "\"last_ts\":%lld,\"last\":\"%s\",\"dur\":%lld,\"complete\":%s,"
		    "\"n_req\":%u,\"n_resp\":%u,\"services\":[",
		    (unsigned long long)s->count, (long long)s->first_ts, first,
		    (long long)s->last_ts, last, (long long)(s->last_ts - s->first_ts),
		    s->complete ? "true" : "false", s->n_req, s->n_resp);
		{
			const char *p = s->services;
			int f = 1;
			while (*p) {
				const char *c = strchr(p, ',');
				size_t k = c ? (size_t)(c - p) : strlen(p);
				if (k) {
					if (!f)
						put(out, ",", 1);
					f = 0;
					jstr(&out->b, p, k);
				}
				p += k + (c != NULL);
			}
		}
		printf_(out, "],\"services_omitted\":%u}", s->services_omitted);
		if (out->fmt == CLI_FMT_JSONL)
			put(out, "\n", 1);
		break;
	}
	out->nsum++;
	rec_done(out);
}

void cli_out_note(cli_out *out, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (out->fmt != CLI_FMT_TABLE)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	color(out, C_DIM);
	puts_(out, buf);
	color(out, C_RESET);
	put(out, "\n", 1);
}

static void out_free(cli_out *out)
{
	for (size_t i = 0; i < out->nfields; i++)
		free(out->fields[i]);
	free(out->fields);
	free(out->recs);
	tt_buf_free(&out->b);
	tt_buf_free(&out->tmp);
	tt_buf_free(&out->gid);
	tt_buf_free(&out->gc.ids);
	tt_buf_free(&out->gc.parents);
	tt_buf_free(&out->gc.cps);
	free(out);
}

int cli_out_end(cli_out *out)
{
	switch (out->fmt) {
	case CLI_FMT_JSON:
		if (out->ngroups == 0) {
			if (out->nsum)
				puts_(out, "\n]\n");
			else
				puts_(out, out->nrec ? "\n]\n" : "[]\n");
		}
		break;
	case CLI_FMT_TREE:
		if (out->ngroups == 0)
			tree_by_corr(out);
		break;
	case CLI_FMT_OTLP:
		otlp_print(out);
		break;
	default:
		break;
	}
	drop_kept(out, 0);
	write_out(out);
	if (out->sink) {
		int r = out->sink_err ? -1 : 0;
		out_free(out);
		return r;
	}
	cli_check_stdout();
	if (fclose(stdout) != 0) {
		if (errno == EPIPE)
			_exit(CLI_EXIT_OK);
		cli_die(CLI_EXIT_STORE, "could not write to standard output: %s", strerror(errno));
	}
	out_free(out);
	return 0;
}
