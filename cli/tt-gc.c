/*
 * tt-gc -- retention: delete whole sealed segments by age, total size or
 * count. Safe while writers and readers run (libstore's gc drops a segment's
 * index entries first, then unlinks the file; open readers keep their copy).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage_str[] =
"usage: tt-gc [-D DIR] [--max-age DUR] [--max-size SIZE] [--max-segments N]\n"
"             [--rollup-max-age DUR|off] [--rotate] [--dry-run]\n"
"             [--ignore-forward] [--forward-max-hold DUR]\n"
"             [--progress | --no-progress] [-o FMT] [-q]\n"
"\n"
"Delete the oldest sealed segments of the store until every limit holds.\n"
"\n"
CLI_HELP_STORE
"      --max-age DUR      delete segments whose newest record is older than DUR\n"
"                         (30m, 24h, 7d, 1w)\n"
"      --max-size SIZE    delete oldest segments until the data is at most SIZE\n"
"                         (500M, 2G; powers of 1024)\n"
"      --max-segments N   keep at most N segments\n"
"      --rollup-max-age DUR delete per-minute rollups older than DUR (default\n"
"                         30d; off keeps them): they outlive the segments\n"
"      --rotate           first seal unsealed segments no running writer holds\n"
"      --ignore-forward   delete segments whose records a forwarding destination\n"
"                         (DIR/forward/NAME.cursor) has not shipped yet; without\n"
"                         it they are kept unless --max-size needs the space\n"
"                         (then they count as dropped for the destination)\n"
"      --forward-max-hold DUR a destination whose cursor has not moved for DUR\n"
"                         no longer holds data back (7d; off: no limit)\n"
"  -n, --dry-run          print what would be deleted, delete nothing\n"
"      --progress         progress on stderr even when it is not a terminal\n"
"      --no-progress      no progress\n"
"  -o, --output FMT       table (default) or json, jsonl\n"
"  -q, --quiet            print nothing but errors\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Exit status: 0 ok (also when nothing was due); 2 usage; 4 store unavailable.\n";

enum { OPT_MAX_AGE = OPT_TOOL, OPT_MAX_SIZE, OPT_MAX_SEGMENTS, OPT_ROTATE, OPT_ROLLUP_AGE,
	OPT_PROGRESS, OPT_NO_PROGRESS, OPT_IGNORE_FORWARD, OPT_FORWARD_MAX_HOLD };

static const struct option longopts[] = {
	CLI_OPTS_COMMON,
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "max-segments", required_argument, NULL, OPT_MAX_SEGMENTS },
	{ "rotate", no_argument, NULL, OPT_ROTATE },
	{ "rollup-max-age", required_argument, NULL, OPT_ROLLUP_AGE },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "ignore-forward", no_argument, NULL, OPT_IGNORE_FORWARD },
	{ "forward-max-hold", required_argument, NULL, OPT_FORWARD_MAX_HOLD },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ NULL, 0, NULL, 0 }
};

typedef struct gc {
	int fmt;
	int dry_run;
	uint64_t n, freed, records;
	uint64_t unshipped; /* records forwarding had not shipped, deleted anyway */
	tt_buf b;
} gc;

static int on_seg(void *ctx, const tt_seginfo *si)
{
	gc *g = ctx;
	char from[40], to[40], sz[32];

	g->n++;
	g->freed += si->bytes;
	g->records += si->records;
	g->unshipped += si->unshipped;
	tt_time_rfc3339(si->min_ts, from, sizeof(from));
	tt_time_rfc3339(si->max_ts, to, sizeof(to));
	if (g->fmt == CLI_FMT_TABLE) {
		if (cli_quiet)
			return 0;
		cli_fmt_bytes(si->bytes, sz, sizeof(sz));
		cli_meter_clear(); /* stdout may be the same terminal */
		printf("%s segment %016llx  %s .. %s  %llu records  %s",
		    g->dry_run ? "would remove" : "removed", (unsigned long long)si->id, from, to,
		    (unsigned long long)si->records, sz);
		if (si->unshipped)
			printf("  (%llu not yet forwarded: dropped)", (unsigned long long)si->unshipped);
		printf("\n");
		return 0;
	}
	if (g->fmt == CLI_FMT_JSON && g->n > 1)
		(void)tt_buf_append(&g->b, ",", 1);
	{
		char line[512];
		int k = snprintf(line, sizeof(line),
		    "{\"segment\":\"%016llx\",\"min_ts\":%lld,\"max_ts\":%lld,\"min\":\"%s\","
		    "\"max\":\"%s\",\"records\":%llu,\"bytes\":%llu,\"unshipped\":%llu,"
		    "\"dry_run\":%s}%s",
		    (unsigned long long)si->id, (long long)si->min_ts, (long long)si->max_ts, from,
		    to, (unsigned long long)si->records, (unsigned long long)si->bytes,
		    (unsigned long long)si->unshipped,
		    g->dry_run ? "true" : "false", g->fmt == CLI_FMT_JSONL ? "\n" : "");
		if (k > 0)
			(void)tt_buf_append(&g->b, line, (size_t)k);
	}
	return 0;
}

static uint64_t positive(const char *opt, const char *arg, int size)
{
	uint64_t v = 0;

	if (size) {
		if (tt_parse_size(arg, &v) < 0 || v == 0)
			cli_bad_value(opt, arg);
	} else {
		char *end;
		unsigned long long x;
		errno = 0;
		x = strtoull(arg, &end, 10);
		if (errno || *end || end == arg || arg[0] == '-' || x == 0)
			cli_bad_value(opt, arg);
		v = x;
	}
	return v;
}

int main(int argc, char **argv)
{
	tt_gc_opts go;
	cli_opts o;
	gc g;
	tt_store *s;
	tt_store_opts so;
	int c, rc, rollup_given = 0, want_progress = -1;
	int64_t rollup_age = 30LL * 86400 * 1000000000; /* as ttd's --rollup-retention */
	uint64_t rollup_rows = 0;
	char sz[32];

	cli_init(argv[0]);
	cli_opts_init(&o);
	memset(&go, 0, sizeof(go));
	go.forward_max_hold_ns = 7LL * 86400 * 1000000000; /* as ttd's --forward-max-hold */
	memset(&g, 0, sizeof(g));
	while ((c = getopt_long(argc, argv, CLI_SHORT_COMMON "n", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_MAX_AGE:
			go.max_age_ns = cli_duration("--max-age", optarg);
			break;
		case OPT_MAX_SIZE:
			go.max_bytes = positive("--max-size", optarg, 1);
			break;
		case OPT_MAX_SEGMENTS:
			go.max_segments = positive("--max-segments", optarg, 0);
			break;
		case OPT_ROTATE:
			go.rotate = 1;
			break;
		case OPT_ROLLUP_AGE:
			rollup_age = strcmp(optarg, "off") == 0 ? 0 : cli_duration("--rollup-max-age", optarg);
			rollup_given = 1;
			break;
		case 'n':
			go.dry_run = 1;
			break;
		case OPT_IGNORE_FORWARD:
			go.ignore_forward = 1;
			break;
		case OPT_FORWARD_MAX_HOLD:
			go.forward_max_hold_ns = strcmp(optarg, "off") == 0 ? 0 :
			    cli_duration("--forward-max-hold", optarg);
			break;
		case OPT_PROGRESS:
			want_progress = 1;
			break;
		case OPT_NO_PROGRESS:
			want_progress = 0;
			break;
		default:
			cli_opts_parse(&o, c, optarg, usage_str);
		}
	}
	cli_no_operands(optind, argc, argv);
	if (!go.max_age_ns && !go.max_bytes && !go.max_segments && !go.rotate && !rollup_given)
		cli_die(CLI_EXIT_USAGE, "nothing to do: give --max-age, --max-size, "
		    "--max-segments, --rollup-max-age or --rotate");
	if (o.fmt == CLI_FMT_AUTO)
		o.fmt = CLI_FMT_TABLE;
	if (o.fmt != CLI_FMT_TABLE && o.fmt != CLI_FMT_JSON && o.fmt != CLI_FMT_JSONL)
		cli_die(CLI_EXIT_USAGE, "tt-gc prints table, json or jsonl");
	g.fmt = o.fmt;
	g.dry_run = go.dry_run;

	memset(&so, 0, sizeof(so));
	if (cli_meter_start(want_progress))
		so.on_progress = cli_meter_progress;
	s = cli_store_open(cli_store_dir(o.store), 0, &so);
	rc = go.max_age_ns || go.max_bytes || go.max_segments || go.rotate ?
	    tt_store_gc(s, &go, on_seg, &g) : 0;
	if (rc >= 0 && rollup_age && !go.dry_run) {
		int pr = tt_store_rollups_prune(s, cli_now_ns() - rollup_age);
		if (pr < 0)
			rc = pr;
		else
			rollup_rows = (uint64_t)pr;
	}
	tt_store_close(s);
	cli_meter_clear();
	if (rc < 0)
		cli_die(cli_exit_code(CLI_EXIT_STORE), "could not collect garbage in '%s': %s",
		    cli_store_dir(o.store), tt_strerror(rc));

	cli_fmt_bytes(g.freed, sz, sizeof(sz));
	if (g.fmt == CLI_FMT_TABLE) {
		if (!cli_quiet) {
			if (g.n == 0)
				printf("nothing to remove\n");
			else
				printf("%s %s in %llu segment%s (%llu records)\n",
				    g.dry_run ? "would free" : "freed", sz, (unsigned long long)g.n,
				    g.n == 1 ? "" : "s", (unsigned long long)g.records);
			if (g.unshipped)
				printf("%s %llu records forwarding had not shipped yet (--max-size)\n",
				    g.dry_run ? "would drop" : "dropped", (unsigned long long)g.unshipped);
		}
	} else if (g.fmt == CLI_FMT_JSON) {
		printf("{\"dry_run\":%s,\"removed\":%llu,\"freed_bytes\":%llu,\"records\":%llu,"
		       "\"unshipped\":%llu,\"rollup_rows_removed\":%llu,"
		       "\"segments\":[%.*s]}\n",
		    g.dry_run ? "true" : "false", (unsigned long long)g.n,
		    (unsigned long long)g.freed, (unsigned long long)g.records,
		    (unsigned long long)g.unshipped, (unsigned long long)rollup_rows, (int)g.b.len,
		    g.b.data ? (const char *)g.b.data : "");
	} else if (g.b.len) {
		fwrite(g.b.data, 1, g.b.len, stdout);
	}
	tt_buf_free(&g.b);
	cli_opts_free(&o);
	cli_check_stdout();
	if (fclose(stdout) != 0)
		return CLI_EXIT_STORE;
	return cli_exit_code(CLI_EXIT_OK);
}
