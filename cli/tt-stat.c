/*
 * tt-stat -- what is in the store: segments, records, time range, bytes raw /
 * compressed / index, ratio, and records per service (the one part that reads
 * the data: a scan; --no-services skips it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SVC_MAX 4096 /* distinct services counted; the rest go to "(other)" */

static const char usage_str[] =
"usage: tt-stat [-D DIR] [--segments] [--no-services] [-o FMT] [-q]\n"
"\n"
"Summarise the store: segments, records, time range, sizes, records per service.\n"
"\n"
CLI_HELP_STORE
"  -s, --segments         also list every segment\n"
"      --no-services      do not scan the records for per-service counts\n"
"  -o, --output FMT       table (default) or json\n"
"      --utc              table times in UTC\n"
"  -q, --quiet            no messages\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Exit status: 0 ok; 2 usage; 3 corruption found; 4 store unavailable.\n";

enum { OPT_NO_SERVICES = OPT_TOOL };

static const struct option longopts[] = {
	CLI_OPTS_COMMON,
	{ "segments", no_argument, NULL, 's' },
	{ "no-services", no_argument, NULL, OPT_NO_SERVICES },
	{ "utc", no_argument, NULL, OPT_UTC },
	{ NULL, 0, NULL, 0 }
};

typedef struct svc {
	char *name;
	size_t n;
	uint64_t count;
} svc;

typedef struct stat_ctx {
	svc *v;
	size_t n, cap;
	uint64_t none;   /* records without a service */
	uint64_t other;  /* past SVC_MAX distinct services */
	tt_seginfo *segs;
	size_t nsegs, capsegs;
} stat_ctx;

static int on_rec(void *ctx, const tt_rec *r)
{
	stat_ctx *sc = ctx;
	tt_value v;
	size_t i;

	if (cli_interrupted)
		return 1;
	if (tt_rec_field(r->data, r->len, "service", &v) != 1 || v.type != TT_V_STR) {
		sc->none++;
		return 0;
	}
	for (i = 0; i < sc->n; i++)
		if (sc->v[i].n == v.v.s.n && memcmp(sc->v[i].name, v.v.s.p, v.v.s.n) == 0) {
			sc->v[i].count++;
			/* keep frequent services at the front */
			if (i && sc->v[i].count > sc->v[i - 1].count) {
				svc t = sc->v[i];
				sc->v[i] = sc->v[i - 1];
				sc->v[i - 1] = t;
			}
			return 0;
		}
	if (sc->n == SVC_MAX) {
		sc->other++;
		return 0;
	}
	cli_grow(&sc->v, &sc->cap, sc->n, sizeof(*sc->v));
	sc->v[sc->n].name = malloc(v.v.s.n + 1);
	if (!sc->v[sc->n].name)
		cli_die(CLI_EXIT_STORE, "out of memory");
	memcpy(sc->v[sc->n].name, v.v.s.p, v.v.s.n);
	sc->v[sc->n].name[v.v.s.n] = '\0';
	sc->v[sc->n].n = v.v.s.n;
	sc->v[sc->n].count = 1;
	sc->n++;
	return 0;
}

static int on_seg(void *ctx, const tt_seginfo *si)
{
	stat_ctx *sc = ctx;

	cli_grow(&sc->segs, &sc->capsegs, sc->nsegs, sizeof(*sc->segs));
	sc->segs[sc->nsegs++] = *si;
	return 0;
}

static int by_count(const void *a, const void *b)
{
	const svc *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

static const char *const state_name[3] = { "active", "sealed", "recompressed" };

static double ratio(uint64_t raw, uint64_t data)
{
	return data ? (double)raw / (double)data : 0.0;
}

static double per_rec(const tt_stats *st, uint64_t bytes)
{
	return st->records ? (double)bytes / (double)st->records : 0.0;
}

/* The index's pages without the rollups' (which it also holds). */
static uint64_t index_only(const tt_stats *st)
{
	return st->index_bytes > st->rollup_bytes ? st->index_bytes - st->rollup_bytes : 0;
}

static void print_json(const char *dir, const tt_stats *st, stat_ctx *sc, int services,
    int segments)
{
	tt_buf b = { 0 };
	char t1[40], t2[40];

	(void)tt_buf_append(&b, "{\"store\":", 9);
	tt_json_str(&b, dir, strlen(dir));
	tt_time_rfc3339(st->min_ts, t1, sizeof(t1));
	tt_time_rfc3339(st->max_ts, t2, sizeof(t2));
	{
		char line[1024];
		int k = snprintf(line, sizeof(line),
		    ",\"format_version\":%u,\"segments\":%llu,\"sealed\":%llu,\"records\":%llu,\"blocks\":%llu,"
		    "\"ids\":%llu,\"id_entries\":%llu,\"data_bytes\":%llu,\"raw_bytes\":%llu,\"index_bytes\":%llu,"
		    "\"index_file_bytes\":%llu,\"ratio\":%.3f,\"bytes_per_record\":%.1f,"
		    "\"min_ts\":%lld,\"max_ts\":%lld,\"min\":\"%s\",\"max\":\"%s\"",
		    st->format_version, (unsigned long long)st->segments, (unsigned long long)st->sealed,
		    (unsigned long long)st->records, (unsigned long long)st->blocks,
		    (unsigned long long)st->ids, (unsigned long long)st->id_entries,
		    (unsigned long long)st->data_bytes,
		    (unsigned long long)st->raw_bytes, (unsigned long long)st->index_bytes,
		    (unsigned long long)st->index_file_bytes,
		    st->data_bytes ? (double)st->raw_bytes / (double)st->data_bytes : 0.0,
		    st->records ? (double)(st->data_bytes + st->index_bytes) / (double)st->records : 0.0,
		    (long long)st->min_ts, (long long)st->max_ts, st->records ? t1 : "",
		    st->records ? t2 : "");
		(void)tt_buf_append(&b, line, (size_t)k);
		k = snprintf(line, sizeof(line),
		    ",\"rollup_rows\":%llu,\"rollup_bytes\":%llu,\"per_record\":{\"data\":%.1f,"
		    "\"index\":%.1f,\"rollups\":%.1f},\"states\":{",
		    (unsigned long long)st->rollup_rows, (unsigned long long)st->rollup_bytes,
		    per_rec(st, st->data_bytes), per_rec(st, index_only(st)),
		    per_rec(st, st->rollup_bytes));
		(void)tt_buf_append(&b, line, (size_t)k);
		for (int i = 0; i < 3; i++) {
			k = snprintf(line, sizeof(line),
			    "%s\"%s\":{\"segments\":%llu,\"data_bytes\":%llu,\"raw_bytes\":%llu,"
			    "\"ratio\":%.3f}", i ? "," : "", state_name[i],
			    (unsigned long long)st->state_segments[i],
			    (unsigned long long)st->state_data_bytes[i],
			    (unsigned long long)st->state_raw_bytes[i],
			    ratio(st->state_raw_bytes[i], st->state_data_bytes[i]));
			(void)tt_buf_append(&b, line, (size_t)k);
		}
		(void)tt_buf_append(&b, "}", 1);
	}
	if (services) {
		(void)tt_buf_append(&b, ",\"services\":{", 13);
		for (size_t i = 0; i < sc->n; i++) {
			char n[32];
			if (i)
				(void)tt_buf_append(&b, ",", 1);
			tt_json_str(&b, sc->v[i].name, sc->v[i].n);
			snprintf(n, sizeof(n), ":%llu", (unsigned long long)sc->v[i].count);
			(void)tt_buf_append(&b, n, strlen(n));
		}
		(void)tt_buf_append(&b, "}", 1);
		{
			char n[96];
			snprintf(n, sizeof(n), ",\"no_service\":%llu,\"other_services\":%llu",
			    (unsigned long long)sc->none, (unsigned long long)sc->other);
			(void)tt_buf_append(&b, n, strlen(n));
		}
	}
	if (segments) {
		(void)tt_buf_append(&b, ",\"segment_list\":[", 17);
		for (size_t i = 0; i < sc->nsegs; i++) {
			const tt_seginfo *si = &sc->segs[i];
			char line[512];
			int k = snprintf(line, sizeof(line),
			    "%s{\"segment\":\"%016llx\",\"state\":\"%s\",\"held\":%s,\"min_ts\":%lld,"
			    "\"max_ts\":%lld,\"records\":%llu,\"blocks\":%llu,\"bytes\":%llu,"
			    "\"raw_bytes\":%llu,\"rewritten\":%s}",
			    i ? "," : "", (unsigned long long)si->id,
			    si->state == TT_SEG_SEALED ? "sealed" : "active", si->held ? "true" : "false",
			    (long long)si->min_ts, (long long)si->max_ts,
			    (unsigned long long)si->records, (unsigned long long)si->blocks,
			    (unsigned long long)si->bytes, (unsigned long long)si->raw_bytes,
			    si->rewritten ? "true" : "false");
			(void)tt_buf_append(&b, line, (size_t)k);
		}
		(void)tt_buf_append(&b, "]", 1);
	}
	(void)tt_buf_append(&b, "}\n", 2);
	fwrite(b.data, 1, b.len, stdout);
	tt_buf_free(&b);
}

static void print_table(const char *dir, const tt_stats *st, stat_ctx *sc, int services,
    int segments, int utc)
{
	char a[40], b[40], c[40];

	printf("store          %s (format %u)\n", dir, st->format_version);
	printf("segments       %llu (%llu sealed)\n", (unsigned long long)st->segments,
	    (unsigned long long)st->sealed);
	printf("records        %llu in %llu blocks\n", (unsigned long long)st->records,
	    (unsigned long long)st->blocks);
	printf("ids            %llu (%llu index entries: one per id per block)\n",
	    (unsigned long long)st->ids, (unsigned long long)st->id_entries);
	if (st->records) {
		cli_fmt_time(st->min_ts, utc, a, sizeof(a));
		cli_fmt_time(st->max_ts, utc, b, sizeof(b));
		printf("time range     %s .. %s\n", a, b);
	}
	cli_fmt_bytes(st->data_bytes, a, sizeof(a));
	cli_fmt_bytes(st->raw_bytes, b, sizeof(b));
	printf("data           %s (raw %s, ratio %.2fx)\n", a, b,
	    st->data_bytes ? (double)st->raw_bytes / (double)st->data_bytes : 0.0);
	for (int i = 0; i < 3; i++) {
		if (!st->state_segments[i])
			continue;
		cli_fmt_bytes(st->state_data_bytes[i], a, sizeof(a));
		cli_fmt_bytes(st->state_raw_bytes[i], b, sizeof(b));
		printf("  %-12s %llu segment%s, %s (raw %s, ratio %.2fx)\n", state_name[i],
		    (unsigned long long)st->state_segments[i], st->state_segments[i] == 1 ? "" : "s",
		    a, b, ratio(st->state_raw_bytes[i], st->state_data_bytes[i]));
	}
	cli_fmt_bytes(st->index_bytes, a, sizeof(a));
	cli_fmt_bytes(st->index_file_bytes, c, sizeof(c));
	printf("index          %s (file %s)\n", a, c);
	cli_fmt_bytes(st->rollup_bytes, a, sizeof(a));
	printf("rollups        %llu rows, %s (in the index)\n",
	    (unsigned long long)st->rollup_rows, a);
	if (st->records)
		printf("per record     %.1f B on disk: data %.1f + index %.1f + rollups %.1f\n",
		    per_rec(st, st->data_bytes + st->index_bytes), per_rec(st, st->data_bytes),
		    per_rec(st, index_only(st)), per_rec(st, st->rollup_bytes));
	if (services) {
		printf("services\n");
		for (size_t i = 0; i < sc->n; i++)
			printf("  %-24s %llu\n", sc->v[i].name, (unsigned long long)sc->v[i].count);
		if (sc->none)
			printf("  %-24s %llu\n", "(none)", (unsigned long long)sc->none);
		if (sc->other)
			printf("  %-24s %llu\n", "(other)", (unsigned long long)sc->other);
	}
	if (segments) {
		printf("%-16s %-12s %-23s %-23s %10s %10s\n", "SEGMENT", "STATE", "FIRST", "LAST",
		    "RECORDS", "BYTES");
		for (size_t i = 0; i < sc->nsegs; i++) {
			const tt_seginfo *si = &sc->segs[i];
			cli_fmt_time(si->min_ts, utc, a, sizeof(a));
			cli_fmt_time(si->max_ts, utc, b, sizeof(b));
			cli_fmt_bytes(si->bytes, c, sizeof(c));
			printf("%016llx %-12s %-23s %-23s %10llu %10s\n", (unsigned long long)si->id,
			    si->state != TT_SEG_SEALED ? (si->held ? "active" : "idle") :
			    si->rewritten ? "recompressed" : "sealed",
			    a, b, (unsigned long long)si->records, c);
		}
	}
}

int main(int argc, char **argv)
{
	cli_opts o;
	stat_ctx sc;
	tt_stats st;
	tt_store *s;
	const char *dir;
	int c, rc, services = 1, segments = 0;

	cli_init(argv[0]);
	cli_opts_init(&o);
	memset(&sc, 0, sizeof(sc));
	while ((c = getopt_long(argc, argv, CLI_SHORT_COMMON "s", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			segments = 1;
			break;
		case OPT_NO_SERVICES:
			services = 0;
			break;
		default:
			cli_opts_parse(&o, c, optarg, usage_str);
		}
	}
	cli_no_operands(optind, argc, argv);
	if (o.fmt == CLI_FMT_AUTO)
		o.fmt = CLI_FMT_TABLE;
	if (o.fmt == CLI_FMT_JSONL)
		o.fmt = CLI_FMT_JSON;
	if (o.fmt != CLI_FMT_TABLE && o.fmt != CLI_FMT_JSON)
		cli_die(CLI_EXIT_USAGE, "tt-stat prints table or json");
	cli_catch_interrupt();

	dir = cli_store_dir(o.store);
	s = cli_store_open(dir, TT_OPEN_RDONLY | TT_OPEN_ONESHOT, NULL);
	rc = tt_store_stats(s, &st);
	if (rc < 0)
		cli_die(CLI_EXIT_STORE, "could not read store '%s': %s", dir, tt_strerror(rc));
	if (segments && (rc = tt_store_segments(s, on_seg, &sc)) < 0)
		cli_die(CLI_EXIT_STORE, "could not read store '%s': %s", dir, tt_strerror(rc));
	if (services) {
		tt_scan scan;
		memset(&scan, 0, sizeof(scan));
		scan.since = TT_TS_MIN;
		scan.until = TT_TS_MAX;
		rc = tt_store_scan(s, &scan, on_rec, &sc, NULL);
		if (rc < 0)
			cli_die(cli_exit_code(CLI_EXIT_STORE), "could not read store '%s': %s", dir,
			    tt_strerror(rc));
		if (sc.n > 1) /* sc.v is NULL on an empty store */
			qsort(sc.v, sc.n, sizeof(*sc.v), by_count);
	}
	if (o.fmt == CLI_FMT_JSON)
		print_json(dir, &st, &sc, services, segments);
	else
		print_table(dir, &st, &sc, services, segments, o.utc);
	tt_store_close(s);
	for (size_t i = 0; i < sc.n; i++)
		free(sc.v[i].name);
	free(sc.v);
	free(sc.segs);
	cli_opts_free(&o);
	cli_check_stdout();
	if (fclose(stdout) != 0)
		return CLI_EXIT_STORE;
	return cli_exit_code(CLI_EXIT_OK);
}
