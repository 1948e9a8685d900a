/*
 * stats.c -- tt-query --stats: aggregate rows from tt_store_statq printed as
 * a table (terminal), JSON lines, one JSON array or CSV. The numbers are the
 * library's; this file only names and formats them.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const double quantiles[] = { 0.50, 0.90, 0.95, 0.99 };
static const char *const qnames[] = { "p50", "p90", "p95", "p99" };
#define NQ (sizeof quantiles / sizeof *quantiles)

typedef struct stats_out {
	const cli_opts *o;
	const cli_stats *st;
	tt_buf line;
	uint64_t rows;
	int color;
} stats_out;

/* Split "a,b,c" into at most max non-empty parts (pointers into a copy). */
static size_t split_list(char *s, const char **out, size_t max, const char *opt)
{
	size_t n = 0;

	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (n == max)
			cli_die(CLI_EXIT_USAGE, "%s: at most %zu fields", opt, max);
		out[n++] = tok;
	}
	if (n == 0)
		cli_die(CLI_EXIT_USAGE, "%s: expected FIELD[,FIELD...]", opt);
	return n;
}

void cli_stats_by(cli_stats *st, const char *arg)
{
	free(st->by_buf);
	if (!(st->by_buf = strdup(arg)))
		cli_die(CLI_EXIT_STORE, "out of memory");
	st->nby = split_list(st->by_buf, st->by, TT_STATQ_BY_MAX, "--by");
}

void cli_stats_sum(cli_stats *st, const char *arg)
{
	free(st->sum_buf);
	if (!(st->sum_buf = strdup(arg)))
		cli_die(CLI_EXIT_STORE, "out of memory");
	st->nsum = split_list(st->sum_buf, st->sum, TT_STATQ_SUM_MAX, "--sum");
}

void cli_stats_free(cli_stats *st)
{
	free(st->by_buf);
	free(st->sum_buf);
}

static void jnum(tt_buf *b, const char *key, double v)
{
	char t[64];
	int k = snprintf(t, sizeof t, ",\"%s\":%.10g", key, v);
	(void)tt_buf_append(b, t, (size_t)k);
}

static void jint(tt_buf *b, const char *key, int64_t v, int present)
{
	char t[64];
	int k = present ? snprintf(t, sizeof t, ",\"%s\":%" PRId64, key, v) :
	    snprintf(t, sizeof t, ",\"%s\":null", key);
	(void)tt_buf_append(b, t, (size_t)k);
}

static double rate_of(const tt_statrow *r)
{
	return r->span_ns > 0 ? (double)r->count / ((double)r->span_ns / 1e9) : 0.0;
}

/* One row as JSON: what tt-query --stats -o jsonl prints and /api/stats
 * answers (the same function, so they cannot drift). */
void cli_stats_json(tt_buf *b, const tt_statrow *r, const char *const *by, size_t nby,
    const char *const *sum, size_t nsum)
{
	char t[48];

	tt_time_rfc3339(r->bucket_ns, t, sizeof t);
	(void)tt_buf_append(b, "{\"ts\":", 6);
	{
		char n[32];
		snprintf(n, sizeof n, "%" PRId64, r->bucket_ns);
		(void)tt_buf_append(b, n, strlen(n));
	}
	(void)tt_buf_append(b, ",\"time\":", 8);
	tt_json_str(b, t, strlen(t));
	for (size_t i = 0; i < nby; i++) {
		(void)tt_buf_append(b, ",", 1);
		tt_json_str(b, by[i], strlen(by[i]));
		(void)tt_buf_append(b, ":", 1);
		tt_json_str(b, r->group[i].p, r->group[i].n);
	}
	jint(b, "count", (int64_t)r->count, 1);
	jint(b, "errors", (int64_t)r->errors, 1);
	jnum(b, "error_rate", r->count ? (double)r->errors / (double)r->count : 0.0);
	jnum(b, "rate", rate_of(r));
	jint(b, "spans", (int64_t)r->dur_n, 1);
	for (size_t q = 0; q < NQ; q++) {
		char k[16];
		snprintf(k, sizeof k, "%s_ns", qnames[q]);
		jint(b, k, tt_hist_quantile(r->hist, quantiles[q]), r->dur_n > 0);
	}
	jint(b, "max_ns", r->dur_max, r->dur_n > 0);
	jint(b, "min_ns", r->dur_min, r->dur_n > 0);
	jint(b, "sum_ns", (int64_t)r->dur_sum, 1);
	if (nsum) {
		(void)tt_buf_append(b, ",\"sums\":{", 9);
		for (size_t i = 0; i < nsum; i++) {
			char v[48];
			if (i)
				(void)tt_buf_append(b, ",", 1);
			tt_json_str(b, sum[i], strlen(sum[i]));
			snprintf(v, sizeof v, ":%.15g", r->sums[i]);
			(void)tt_buf_append(b, v, strlen(v));
		}
		(void)tt_buf_append(b, "}", 1);
	}
	(void)tt_buf_append(b, "}", 1);
}

static void json_row(stats_out *so, const tt_statrow *r)
{
	cli_stats_json(&so->line, r, so->st->by, so->st->nby, so->st->sum, so->st->nsum);
}

static void csv_header(stats_out *so)
{
	tt_buf *b = &so->line;

	(void)tt_buf_append(b, "time", 4);
	for (size_t i = 0; i < so->st->nby; i++) {
		(void)tt_buf_append(b, ",", 1);
		cli_csv_cell(b, so->st->by[i], strlen(so->st->by[i]));
	}
	{
		static const char cols[] = ",count,errors,error_rate,rate,spans,p50_ns,p90_ns,p95_ns,p99_ns,max_ns";
		(void)tt_buf_append(b, cols, sizeof cols - 1);
	}
	for (size_t i = 0; i < so->st->nsum; i++) {
		(void)tt_buf_append(b, ",sum:", 5);
		cli_csv_cell(b, so->st->sum[i], strlen(so->st->sum[i]));
	}
	(void)tt_buf_append(b, "\n", 1);
}

static void csv_row(stats_out *so, const tt_statrow *r)
{
	tt_buf *b = &so->line;
	char t[64];

	tt_time_rfc3339(r->bucket_ns, t, sizeof t);
	(void)tt_buf_append(b, t, strlen(t));
	for (size_t i = 0; i < so->st->nby; i++) {
		(void)tt_buf_append(b, ",", 1);
		cli_csv_cell(b, r->group[i].p, r->group[i].n);
	}
	snprintf(t, sizeof t, ",%" PRIu64 ",%" PRIu64 ",%.6g,%.6g,%" PRIu64, r->count, r->errors,
	    r->count ? (double)r->errors / (double)r->count : 0.0, rate_of(r), r->dur_n);
	(void)tt_buf_append(b, t, strlen(t));
	for (size_t q = 0; q <= NQ; q++) {
		int64_t v = q < NQ ? tt_hist_quantile(r->hist, quantiles[q]) : r->dur_max;
		if (r->dur_n)
			snprintf(t, sizeof t, ",%" PRId64, v);
		else
			snprintf(t, sizeof t, ",");
		(void)tt_buf_append(b, t, strlen(t));
	}
	for (size_t i = 0; i < so->st->nsum; i++) {
		snprintf(t, sizeof t, ",%.15g", r->sums[i]);
		(void)tt_buf_append(b, t, strlen(t));
	}
	(void)tt_buf_append(b, "\n", 1);
}

/* ---- the table: columns sized to their widest cell, so rows are kept */

typedef struct trow { char **cell; } trow;

static char *cell_dup(const char *p, size_t n)
{
	char *c = malloc(n + 1);
	if (!c)
		cli_die(CLI_EXIT_STORE, "out of memory");
	/* untrusted bytes: control characters shown as '?' */
	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	c[n] = 0;
	return c;
}

static char *cell_dur(int64_t ns, int present)
{
	char t[32];
	if (!present)
		return cell_dup("-", 1);
	cli_fmt_dur(ns, t, sizeof t);
	return cell_dup(t, strlen(t));
}

static char *cell_fmt(const char *fmt, double v)
{
	char t[48];
	int k = snprintf(t, sizeof t, fmt, v);
	return cell_dup(t, (size_t)k);
}

/* Columns on a terminal: one per code point (UTF-8 continuation bytes take
 * none), which is right for the text trace data holds in practice. */
static size_t disp_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

struct table {
	trow *rows;
	size_t n, cap, ncol;
	const char **head;
};

static void table_row(stats_out *so, struct table *tb, const tt_statrow *r)
{
	char **c;
	size_t k = 0;

	cli_grow(&tb->rows, &tb->cap, tb->n, sizeof *tb->rows);
	if (!(c = calloc(tb->ncol, sizeof *c)))
		cli_die(CLI_EXIT_STORE, "out of memory");
	if (so->st->every_ns > 0) {
		char t[48];
		cli_fmt_time(r->bucket_ns, so->o->utc, t, sizeof t);
		c[k++] = cell_dup(t, strlen(t));
	}
	for (size_t i = 0; i < so->st->nby; i++)
		c[k++] = r->group[i].n ? cell_dup(r->group[i].p, r->group[i].n) : cell_dup("-", 1);
	c[k++] = cell_fmt("%.0f", (double)r->count);
	c[k++] = cell_fmt("%.0f", (double)r->errors);
	c[k++] = cell_fmt("%.2f%%", r->count ? 100.0 * (double)r->errors / (double)r->count : 0.0);
	c[k++] = cell_fmt("%.3g", rate_of(r));
	for (size_t q = 0; q < NQ; q++)
		c[k++] = cell_dur(tt_hist_quantile(r->hist, quantiles[q]), r->dur_n > 0);
	c[k++] = cell_dur(r->dur_max, r->dur_n > 0);
	for (size_t i = 0; i < so->st->nsum; i++)
		c[k++] = cell_fmt("%.6g", r->sums[i]);
	tb->rows[tb->n++].cell = c;
}

static void table_print(stats_out *so, struct table *tb)
{
	size_t *w = calloc(tb->ncol, sizeof *w);
	size_t nlabels;

	if (!w)
		cli_die(CLI_EXIT_STORE, "out of memory");
	nlabels = (so->st->every_ns > 0) + so->st->nby;
	for (size_t j = 0; j < tb->ncol; j++) {
		w[j] = strlen(tb->head[j]);
		for (size_t i = 0; i < tb->n; i++)
			if (disp_width(tb->rows[i].cell[j]) > w[j])
				w[j] = disp_width(tb->rows[i].cell[j]);
	}
	for (size_t j = 0; j < tb->ncol; j++)
		printf("%s%s%*s", j ? "  " : "", tb->head[j],
		    j + 1 < tb->ncol ? (int)(w[j] - strlen(tb->head[j])) : 0, "");
	printf("\n");
	for (size_t i = 0; i < tb->n; i++) {
		for (size_t j = 0; j < tb->ncol; j++) {
			const char *c = tb->rows[i].cell[j];
			size_t pad = w[j] - disp_width(c);
			if (j >= nlabels) /* numbers to the right */
				printf("%s%*s%s", j ? "  " : "", (int)pad, "", c);
			else
				printf("%s%s%*s", j ? "  " : "", c, j + 1 < tb->ncol ? (int)pad : 0, "");
			free(tb->rows[i].cell[j]);
		}
		printf("\n");
		free(tb->rows[i].cell);
	}
	free(w);
}

struct run { stats_out *so; struct table *tb; };

static int on_row(void *ctx, const tt_statrow *r)
{
	struct run *ru = ctx;
	stats_out *so = ru->so;

	if (cli_interrupted)
		return 1;
	so->rows++;
	so->line.len = 0;
	switch (so->o->fmt) {
	case CLI_FMT_TABLE:
		table_row(so, ru->tb, r);
		return 0;
	case CLI_FMT_CSV:
		csv_row(so, r);
		break;
	case CLI_FMT_JSON:
		if (so->rows > 1)
			(void)tt_buf_append(&so->line, ",\n", 2);
		json_row(so, r);
		break;
	default:
		json_row(so, r);
		(void)tt_buf_append(&so->line, "\n", 1);
	}
	fwrite(so->line.data, 1, so->line.len, stdout);
	return 0;
}

int cli_stats_run(tt_store *s, const cli_opts *o, const cli_stats *st, uint64_t *rows)
{
	stats_out so;
	struct table tb;
	struct run ru = { &so, &tb };
	tt_statq q;
	const char *head[2 + TT_STATQ_BY_MAX + 9 + TT_STATQ_SUM_MAX];
	char sumhead[TT_STATQ_SUM_MAX][80], byhead[TT_STATQ_BY_MAX][80], timehead[32];
	int rc, rolled = 0;

	if (o->fmt != CLI_FMT_TABLE && o->fmt != CLI_FMT_JSONL && o->fmt != CLI_FMT_JSON &&
	    o->fmt != CLI_FMT_CSV)
		cli_die(CLI_EXIT_USAGE, "--stats prints table, jsonl, json or csv");
	memset(&so, 0, sizeof so);
	memset(&tb, 0, sizeof tb);
	so.o = o, so.st = st;
	memset(&q, 0, sizeof q);
	q.since = o->since, q.until = o->until;
	q.every_ns = st->every_ns;
	q.by = st->by, q.nby = st->nby;
	q.sum = st->sum, q.nsum = st->nsum;
	if (o->not_rollup) {
		q.filter = o->filter;
	} else {
		q.services = o->rk_svc, q.nservices = o->n_svc;
		q.names = o->rk_name, q.nnames = o->n_name;
		q.kinds = o->rk_kind, q.nkinds = o->n_kind;
	}
	if (st->scan)
		q.flags |= TT_STATQ_SCAN;
	if (o->fmt == CLI_FMT_TABLE) {
		size_t k = 0;
		if (st->every_ns > 0) {
			time_t now = time(NULL);
			struct tm tm;
			char zone[16];
			if (!o->utc && localtime_r(&now, &tm) && strftime(zone, sizeof zone, "%Z", &tm))
				snprintf(timehead, sizeof timehead, "TIME (%s)", zone);
			else
				snprintf(timehead, sizeof timehead, "TIME (UTC)");
			head[k++] = timehead;
		}
		for (size_t i = 0; i < st->nby; i++) {
			size_t j = 0;
			for (; st->by[i][j] && j + 1 < sizeof byhead[i]; j++)
				byhead[i][j] = (char)toupper((unsigned char)st->by[i][j]);
			byhead[i][j] = 0;
			head[k++] = byhead[i];
		}
		head[k++] = "COUNT", head[k++] = "ERRORS", head[k++] = "ERR%";
		head[k++] = "RATE/s", head[k++] = "P50", head[k++] = "P90", head[k++] = "P95";
		head[k++] = "P99", head[k++] = "MAX";
		for (size_t i = 0; i < st->nsum; i++) {
			snprintf(sumhead[i], sizeof sumhead[i], "SUM(%s)", st->sum[i]);
			head[k++] = sumhead[i];
		}
		tb.head = head, tb.ncol = k;
	} else if (o->fmt == CLI_FMT_CSV) {
		csv_header(&so);
		fwrite(so.line.data, 1, so.line.len, stdout);
	} else if (o->fmt == CLI_FMT_JSON) {
		fputs("[\n", stdout);
	}
	rc = tt_store_statq(s, &q, on_row, &ru, &rolled);
	if (rc == TT_ETOOBIG)
		cli_err("more than %d groups: use fewer --by fields or a longer --every",
		    TT_STATQ_GROUPS_MAX);
	else if (rc < 0)
		cli_err("could not read store '%s': %s", tt_store_dir(s), tt_strerror(rc));
	if (o->fmt == CLI_FMT_TABLE)
		table_print(&so, &tb);
	else if (o->fmt == CLI_FMT_JSON)
		fputs(so.rows ? "\n]\n" : "]\n", stdout);
	if (st->explain)
		fprintf(stderr, "%s: answered from %s\n", cli_prog,
		    rolled ? "the rollups (partial minutes at the ends scanned)" : "a scan of the records");
	free(tb.rows);
	tt_buf_free(&so.line);
	*rows = so.rows;
	return rc < 0 ? rc : 0;
}
