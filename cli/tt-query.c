/*
 * tt-query -- everything for correlation ids; or the records matching filters
 * over a time range; or the recent correlation ids (--list).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_str[] =
"usage: tt-query [OPTIONS] [CORRELATION-ID...] [FIELD=VALUE...]\n"
"       tt-query --list [OPTIONS] [FIELD=VALUE...]\n"
"       tt-query --stats [--by F,..] [--every DUR] [--sum F,..] [OPTIONS] [FIELD=VALUE...]\n"
"\n"
"With ids: every record of each id in timestamp order, and whether the trace\n"
"is complete. Without: the records matching the filters, oldest first.\n"
"\n"
CLI_HELP_STORE
"  -i, --id ID            a correlation id (for ids that look like FIELD=VALUE)\n"
"  -l, --list             recent correlation ids, newest first (default -n 50)\n"
"  -c, --count            print only the number of matching records (or ids)\n"
"      --stats            counts, errors, rate, p50/p90/p95/p99/max of dur\n"
"      --by F,..          --stats per value of these fields (attrs paths too)\n"
"      --every DUR        --stats per time bucket of DUR (1m, 1h, 1d)\n"
"      --sum F,..         --stats sums of these numeric fields (input_tokens,\n"
"                         output_tokens, cost: every LLM alias)\n"
"      --scan             --stats from the records, not the per-minute rollups\n"
"      --explain          --stats: say whether rollups or a scan answered\n"
CLI_HELP_FILTER
"  -n, --lines N|all      at most N records (per id) or ids\n"
"  -r, --reverse          newest first\n"
"  -o, --output FMT       jsonl, json, table, tree, csv, msgpack, otlp (default:\n"
"                         table on a terminal, else jsonl)\n"
"      --fields A,B,..    only these fields (jsonl, json, table, csv)\n"
CLI_HELP_OUTPUT_END
"\n"
CLI_HELP_MATCHES
"\n"
"Exit status: 0 found; 1 an id has no records or nothing matched; 2 usage;\n"
"3 corruption found; 4 store unavailable.\n";

enum { OPT_LIST = OPT_TOOL, OPT_COUNT, OPT_STATS, OPT_BY, OPT_EVERY, OPT_SUM, OPT_SCAN,
	OPT_EXPLAIN };

static const struct option longopts[] = {
	CLI_OPTS_COMMON,
	CLI_OPTS_FILTER,
	{ "id", required_argument, NULL, 'i' },
	{ "list", no_argument, NULL, 'l' },
	{ "count", no_argument, NULL, 'c' },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "by", required_argument, NULL, OPT_BY },
	{ "every", required_argument, NULL, OPT_EVERY },
	{ "sum", required_argument, NULL, OPT_SUM },
	{ "scan", no_argument, NULL, OPT_SCAN },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ NULL, 0, NULL, 0 }
};

typedef struct query {
	cli_opts o;
	tt_store *s;
	cli_out *out;
	int count_only;
	uint64_t n;        /* records (or ids) matched */
	uint64_t limit;    /* UINT64_MAX = all */
	cli_recs keep;     /* -r with ids: printed newest first */
	int keeping;
} query;

/* ---- records of ids */

static int on_id_rec(void *ctx, const tt_rec *r)
{
	query *q = ctx;

	if (!tt_filter_match(q->o.filter, r->data, r->len))
		return 0;
	if (q->keeping) {
		cli_recs_push(&q->keep, r, 0);
		return 0;
	}
	q->n++;
	if (!q->count_only)
		cli_out_rec(q->out, r->data, r->len, NULL);
	return q->n >= q->limit ? 1 : 0;
}

/* "0a1b" -> bytes; 0 if not even-length hex. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0 || n % 2 || n / 2 > cap)
		return 0;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;
		if (sscanf(s + i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[i]) ||
		    !strchr("0123456789abcdefABCDEF", s[i + 1]))
			return 0;
		out[i / 2] = (uint8_t)v;
	}
	return n / 2;
}

/* One id: its records (filtered), framed as a group. 0 found, 1 none. */
static int query_id(query *q, const char *id, size_t nids)
{
	const void *key = id;
	size_t klen = strlen(id);
	uint8_t bin[TT_ID_MAX];
	tt_idsum sum;
	int have_sum, rc;
	uint64_t before = q->n;

	have_sum = tt_store_idsum(q->s, key, klen, &sum) == 0;
	if (!have_sum) { /* an id stored as bytes (msgpack bin) is typed in hex */
		size_t bn = unhex(id, bin, sizeof(bin));
		if (bn && tt_store_idsum(q->s, bin, bn, &sum) == 0) {
			key = bin;
			klen = bn;
			have_sum = 1;
		}
	}
	if (!q->count_only)
		cli_out_group_begin(q->out, id, strlen(id), have_sum ? &sum : NULL, nids);
	q->keeping = q->o.reverse;
	q->n = 0;
	rc = tt_store_get(q->s, key, klen, q->o.since, q->o.until, on_id_rec, q);
	if (rc < 0)
		cli_err("could not read '%s': %s", id, tt_strerror(rc));
	if (q->keeping) {
		q->keeping = 0;
		for (size_t i = q->keep.n; i-- > 0 && q->n < q->limit;) {
			q->n++;
			if (!q->count_only)
				cli_out_rec(q->out, q->keep.v[i].data, q->keep.v[i].len, NULL);
		}
		cli_recs_free(&q->keep);
	}
	if (!q->count_only)
		cli_out_group_end(q->out, q->n);
	rc = q->n == 0;
	if (rc)
		cli_warn("no records for '%s'", id);
	q->n += before;
	return rc;
}

/* ---- records matching filters */

static int on_scan_rec(void *ctx, const tt_rec *r)
{
	query *q = ctx;

	if (cli_interrupted)
		return 1;
	if (!tt_filter_match(q->o.filter, r->data, r->len))
		return 0;
	q->n++;
	if (!q->count_only)
		cli_out_rec(q->out, r->data, r->len, NULL);
	return q->n >= q->limit ? 1 : 0;
}

static int query_scan(query *q)
{
	tt_scan sc;
	int rc;

	/* --count reads the blocks too (not the index's totals, which tt-stat
	 * prints): what it reports is what can be read, and a bad block met on
	 * the way is reported and makes the exit status 3 */
	memset(&sc, 0, sizeof(sc));
	sc.since = q->o.since;
	sc.until = q->o.until;
	sc.flags = q->o.reverse ? TT_SCAN_REVERSE : 0;
	rc = tt_store_scan(q->s, &sc, on_scan_rec, q, NULL);
	if (rc < 0) {
		cli_err("could not read store '%s': %s", tt_store_dir(q->s), tt_strerror(rc));
		return rc;
	}
	return 0;
}

/* ---- --list */

static int on_idsum(void *ctx, const tt_idsum *sum)
{
	query *q = ctx;

	q->n++;
	if (!q->count_only)
		cli_out_idsum(q->out, sum);
	return q->n >= q->limit ? 1 : 0;
}

/* Ids seen by the filtered --list scan (open addressing, grows). */
typedef struct idset {
	struct ident { uint8_t *p; size_t n; } *v;
	size_t cap, n;
} idset;

static uint64_t idhash(const void *p, size_t n)
{
	const uint8_t *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

/* 1 if added, 0 if it was there. */
static int idset_add(idset *set, const char *p, size_t n)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		idset ns = { NULL, set->cap ? 2 * set->cap : 256, 0 };
		ns.v = calloc(ns.cap, sizeof(*ns.v));
		if (!ns.v)
			cli_die(CLI_EXIT_STORE, "out of memory");
		for (size_t k = 0; k < set->cap; k++) {
			if (!set->v[k].p)
				continue;
			i = idhash(set->v[k].p, set->v[k].n) & (ns.cap - 1);
			while (ns.v[i].p)
				i = (i + 1) & (ns.cap - 1);
			ns.v[i] = set->v[k];
			ns.n++;
		}
		free(set->v);
		*set = ns;
	}
	i = idhash(p, n) & (set->cap - 1);
	while (set->v[i].p) {
		if (set->v[i].n == n && memcmp(set->v[i].p, p, n) == 0)
			return 0;
		i = (i + 1) & (set->cap - 1);
	}
	set->v[i].p = malloc(n ? n : 1);
	if (!set->v[i].p)
		cli_die(CLI_EXIT_STORE, "out of memory");
	memcpy(set->v[i].p, p, n);
	set->v[i].n = n;
	set->n++;
	return 1;
}

static void idset_free(idset *set)
{
	for (size_t k = 0; k < set->cap; k++)
		free(set->v[k].p);
	free(set->v);
}

typedef struct list_scan {
	query *q;
	idset seen;
} list_scan;

/* Filtered --list: newest records first; each new id with a matching record
 * is listed with its summary from the index. */
static int on_list_rec(void *ctx, const tt_rec *r)
{
	list_scan *ls = ctx;
	const char *c;
	size_t cn;
	int64_t ts;
	tt_idsum sum;

	if (cli_interrupted)
		return 1;
	if (tt_rec_ts_corr(r->data, r->len, &ts, &c, &cn) < 0 || !c)
		return 0;
	if (!tt_filter_match(ls->q->o.filter, r->data, r->len))
		return 0;
	if (!idset_add(&ls->seen, c, cn))
		return 0;
	if (tt_store_idsum(ls->q->s, c, cn, &sum) < 0)
		return 0;
	return on_idsum(ls->q, &sum);
}

static int query_list(query *q)
{
	int rc;

	if (q->o.has_filter) {
		list_scan ls;
		tt_scan sc;
		memset(&ls, 0, sizeof(ls));
		ls.q = q;
		memset(&sc, 0, sizeof(sc));
		sc.since = q->o.since;
		sc.until = q->o.until;
		sc.flags = TT_SCAN_REVERSE;
		rc = tt_store_scan(q->s, &sc, on_list_rec, &ls, NULL);
		idset_free(&ls.seen);
	} else {
		rc = tt_store_list_ids(q->s, q->o.since, q->o.until,
		    q->limit > SIZE_MAX ? SIZE_MAX : (size_t)q->limit, on_idsum, q);
	}
	if (rc < 0) {
		cli_err("could not read store '%s': %s", tt_store_dir(q->s), tt_strerror(rc));
		return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	query q;
	const char **ids;
	size_t nids = 0;
	int c, list = 0, stats = 0, code = CLI_EXIT_OK, missing = 0;
	cli_stats st;

	cli_init(argv[0]);
	memset(&q, 0, sizeof(q));
	memset(&st, 0, sizeof(st));
	cli_opts_init(&q.o);
	ids = calloc((size_t)argc + 1, sizeof(*ids));
	if (!ids)
		cli_die(CLI_EXIT_STORE, "out of memory");
	while ((c = getopt_long(argc, argv, CLI_SHORT_COMMON CLI_SHORT_FILTER "i:lc", longopts,
	            NULL)) != -1) {
		switch (c) {
		case 'i':
			ids[nids++] = optarg;
			break;
		case 'l':
			list = 1;
			break;
		case 'c':
			q.count_only = 1;
			break;
		case OPT_STATS:
			stats = 1;
			break;
		case OPT_BY:
			cli_stats_by(&st, optarg);
			break;
		case OPT_SUM:
			cli_stats_sum(&st, optarg);
			break;
		case OPT_EVERY:
			st.every_ns = cli_duration("--every", optarg);
			break;
		case OPT_SCAN:
			st.scan = 1;
			break;
		case OPT_EXPLAIN:
			st.explain = 1;
			break;
		default:
			cli_opts_parse(&q.o, c, optarg, usage_str);
		}
	}
	for (int i = optind; i < argc; i++)
		if (!cli_opts_match_arg(&q.o, argv[i]))
			ids[nids++] = argv[i];
	for (size_t i = 0; i < nids; i++)
		if (!*ids[i] || strlen(ids[i]) > TT_ID_MAX)
			cli_die(CLI_EXIT_USAGE, "invalid correlation id '%s'", ids[i]);
	if (list && nids)
		cli_die(CLI_EXIT_USAGE, "--list takes no correlation ids");
	if (stats && (list || nids || q.count_only))
		cli_die(CLI_EXIT_USAGE, "--stats takes no correlation ids, --list or --count");
	if (!stats && (st.nby || st.nsum || st.every_ns || st.scan || st.explain))
		cli_die(CLI_EXIT_USAGE, "--by, --every, --sum, --scan and --explain go with --stats");
	cli_opts_finish(&q.o);
	if (list && (q.o.fmt == CLI_FMT_TREE || q.o.fmt == CLI_FMT_MSGPACK ||
	                q.o.fmt == CLI_FMT_OTLP))
		cli_die(CLI_EXIT_USAGE, "--list prints jsonl, json, table or csv");
	if (q.o.limit == -2)
		q.o.limit = list && !q.count_only ? 50 : -1; /* --list --count: every id */
	if (q.o.limit == 0)
		cli_die(CLI_EXIT_USAGE, "invalid value '0' for --lines (at least 1, or all)");
	q.limit = q.o.limit < 0 ? UINT64_MAX : (uint64_t)q.o.limit;
	cli_catch_interrupt_output();

	q.s = cli_store_open(cli_store_dir(q.o.store), TT_OPEN_RDONLY | TT_OPEN_ONESHOT, NULL);
	if (stats) {
		code = cli_stats_run(q.s, &q.o, &st, &q.n) < 0 ? CLI_EXIT_STORE :
		    q.n == 0 ? CLI_EXIT_NOMATCH : CLI_EXIT_OK;
		cli_check_stdout();
		if (fclose(stdout) != 0)
			cli_die(CLI_EXIT_STORE, "could not write to standard output");
		tt_store_close(q.s);
		cli_opts_free(&q.o);
		cli_stats_free(&st);
		free(ids);
		return cli_exit_code(code);
	}
	if (!q.count_only)
		q.out = cli_out_new(&q.o, 0);
	if (nids) {
		for (size_t i = 0; i < nids && !cli_interrupted; i++)
			missing |= query_id(&q, ids[i], nids);
		if (missing)
			code = CLI_EXIT_NOMATCH;
	} else if (list) {
		if (query_list(&q) < 0)
			code = CLI_EXIT_STORE;
		else if (q.n == 0)
			code = CLI_EXIT_NOMATCH;
	} else {
		if (query_scan(&q) < 0)
			code = CLI_EXIT_STORE;
		else if (q.n == 0)
			code = CLI_EXIT_NOMATCH;
	}
	if (q.count_only) {
		printf("%llu\n", (unsigned long long)q.n);
		cli_check_stdout();
		if (fclose(stdout) != 0)
			cli_die(CLI_EXIT_STORE, "could not write to standard output");
	} else {
		cli_out_end(q.out);
	}
	tt_store_close(q.s);
	cli_opts_free(&q.o);
	free(ids);
	return cli_exit_code(code);
}
