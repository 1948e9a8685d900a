/*
 * tt-check -- verify every block checksum and the index against the segment
 * files; list each problem with its segment and offset; optionally rebuild
 * the index from the segments. Opens the store without the open-time recovery
 * pass, so that it reports the store as it found it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "cli.h"

static const char usage_str[] =
"usage: tt-check [-D DIR] [--rebuild-index | --upgrade | --recompress]\n"
"                [--progress | --no-progress] [-o FMT] [-q]\n"
"\n"
"Verify every block of every segment against its checksum and the index.\n"
"\n"
CLI_HELP_STORE
"      --rebuild-index    drop the index and rebuild it from the segment files\n"
"                         (bad blocks are skipped and reported)\n"
"      --upgrade          first rewrite each sealed segment of format 1 in\n"
"                         format 2 (columnar, LZ4-HC), one at a time, safe\n"
"                         while writers and readers run\n"
"      --recompress       first rewrite every sealed segment not rewritten yet\n"
"                         (format 2, LZ4-HC): about 8 % smaller\n"
"      --progress         progress on stderr even when it is not a terminal\n"
"      --no-progress      no progress\n"
"  -o, --output FMT       table (default) or json\n"
"  -q, --quiet            print only problems\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Exit status: 0 no problems; 2 usage; 3 corruption found; 4 store unavailable.\n";

enum { OPT_REBUILD = OPT_TOOL, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_UPGRADE, OPT_RECOMPRESS };

static const struct option longopts[] = {
	CLI_OPTS_COMMON,
	{ "rebuild-index", no_argument, NULL, OPT_REBUILD },
	{ "upgrade", no_argument, NULL, OPT_UPGRADE },
	{ "recompress", no_argument, NULL, OPT_RECOMPRESS },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ NULL, 0, NULL, 0 }
};

typedef struct check {
	int json;
	uint64_t n;
	tt_buf b;
	uint64_t rewrote, before, after; /* --upgrade, --recompress */
	tt_buf rw;
} check;

/* A segment rewritten (--upgrade, --recompress): a line, or a JSON object */
static int on_rewritten(void *ctx, const tt_seginfo *si)
{
	check *ck = ctx;
	char a[32], b[32], line[256];
	int k;

	ck->rewrote++;
	ck->before += si->replaced_bytes;
	ck->after += si->bytes;
	if (!ck->json) {
		if (cli_quiet)
			return 0;
		cli_meter_clear();
		cli_fmt_bytes(si->replaced_bytes, a, sizeof(a));
		cli_fmt_bytes(si->bytes, b, sizeof(b));
		printf("segment %016llx rewritten as %016llx: %llu records, %s -> %s\n",
		    (unsigned long long)si->replaced, (unsigned long long)si->id,
		    (unsigned long long)si->records, a, b);
		return 0;
	}
	k = snprintf(line, sizeof(line), "%s{\"segment\":\"%016llx\",\"new_segment\":\"%016llx\","
	    "\"records\":%llu,\"bytes_before\":%llu,\"bytes_after\":%llu}",
	    ck->rewrote > 1 ? "," : "", (unsigned long long)si->replaced,
	    (unsigned long long)si->id, (unsigned long long)si->records,
	    (unsigned long long)si->replaced_bytes, (unsigned long long)si->bytes);
	return k > 0 ? tt_buf_append(&ck->rw, line, (size_t)k) : 0;
}

static void on_problem(void *ctx, const tt_problem *p)
{
	check *ck = ctx;
	const char *what = p->what ? p->what : tt_strerror(p->code);

	ck->n++;
	if (!ck->json) {
		cli_meter_clear(); /* stdout may be the same terminal */
		printf("segment %016llx offset %llu: %s\n", (unsigned long long)p->segment,
		    (unsigned long long)p->offset, what);
		return;
	}
	{
		char head[128];
		snprintf(head, sizeof(head), "%s{\"segment\":\"%016llx\",\"offset\":%llu,\"code\":%d,"
		    "\"what\":", ck->n > 1 ? "," : "", (unsigned long long)p->segment,
		    (unsigned long long)p->offset, p->code);
		(void)tt_buf_append(&ck->b, head, strlen(head));
		tt_json_str(&ck->b, what, strlen(what));
		(void)tt_buf_append(&ck->b, "}", 1);
	}
}

int main(int argc, char **argv)
{
	cli_opts o;
	check ck;
	tt_store *s;
	tt_stats st;
	const char *dir;
	tt_store_opts so;
	int c, rc, rebuild = 0, want_progress = -1;
	unsigned rewrite = 0;

	cli_init(argv[0]);
	cli_opts_init(&o);
	memset(&ck, 0, sizeof(ck));
	while ((c = getopt_long(argc, argv, CLI_SHORT_COMMON, longopts, NULL)) != -1) {
		switch (c) {
		case OPT_REBUILD:
			rebuild = 1;
			break;
		case OPT_UPGRADE:
			rewrite |= TT_REWRITE_V1;
			break;
		case OPT_RECOMPRESS:
			rewrite |= TT_REWRITE_ALL;
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
	if (rebuild && rewrite)
		cli_die(CLI_EXIT_USAGE, "--rebuild-index and --upgrade/--recompress are separate runs");
	if (o.fmt == CLI_FMT_AUTO || o.fmt == CLI_FMT_TABLE)
		ck.json = 0;
	else if (o.fmt == CLI_FMT_JSON || o.fmt == CLI_FMT_JSONL)
		ck.json = 1;
	else
		cli_die(CLI_EXIT_USAGE, "tt-check prints table or json");

	dir = cli_store_dir(o.store);
	memset(&so, 0, sizeof(so));
	if (cli_meter_start(want_progress))
		so.on_progress = cli_meter_progress;
	if (rewrite) {
		/* the rewrite reads through the store: its problems are listed */
		so.on_problem = on_problem;
		so.problem_ctx = &ck;
		s = cli_store_open(dir, 0, &so);
		if ((rc = tt_store_rewrite(s, rewrite, on_rewritten, &ck)) < 0) {
			tt_store_close(s);
			cli_meter_clear();
			cli_die(cli_exit_code(CLI_EXIT_STORE), "could not rewrite segments of '%s': %s",
			    dir, tt_strerror(rc));
		}
	} else if (!rebuild) {
		/* an index LMDB cannot open (damaged, cut short, not LMDB) is
		 * corruption found, not an unavailable store */
		int orc;
		so.flags = TT_OPEN_NORECOVER | TT_OPEN_RDONLY;
		so.on_problem = cli_problem_print;
		orc = tt_store_open(&s, dir, &so);
		if (orc == TT_ENOTFOUND) { /* no index (or an empty one) beside seg/ */
			char seg[4200];
			struct stat sb;
			snprintf(seg, sizeof(seg), "%s/seg", dir);
			if (stat(seg, &sb) == 0)
				orc = TT_ECORRUPT;
		}
		if (tt_index_damaged(orc) || orc == MDB_VERSION_MISMATCH) {
			printf("index: %s: %s\n", tt_strerror(orc),
			    "the index is damaged; tt-check --rebuild-index rebuilds it from the segments");
			cli_check_stdout();
			cli_opts_free(&o);
			return CLI_EXIT_CORRUPT;
		}
		if (orc < 0) /* the usual messages and exit status */
			s = cli_store_open(dir, 0, &so);
	} else {
		s = cli_store_open(dir, TT_OPEN_NORECOVER | TT_OPEN_REBUILD, &so);
	}
	rc = tt_store_check(s, rebuild, on_problem, &ck);
	cli_meter_clear();
	if (rc < 0) {
		tt_store_close(s);
		cli_die(CLI_EXIT_STORE, "could not check store '%s': %s", dir, tt_strerror(rc));
	}
	if (tt_store_stats_ex(s, 0, &st) < 0)
		memset(&st, 0, sizeof(st));
	tt_store_close(s);
	/* problems met by the store's own reads count too */
	ck.n += cli_problems;
	if (ck.json) {
		printf("{\"store\":");
		fflush(stdout);
		{
			tt_buf b = { 0 };
			tt_json_str(&b, dir, strlen(dir));
			fwrite(b.data, 1, b.len, stdout);
			tt_buf_free(&b);
		}
		printf(",\"ok\":%s,\"problems\":%llu,\"rebuilt\":%s,\"segments\":%llu,"
		       "\"blocks\":%llu,\"records\":%llu,\"list\":[%.*s],\"rewritten\":[%.*s]}\n",
		    ck.n ? "false" : "true", (unsigned long long)ck.n, rebuild ? "true" : "false",
		    (unsigned long long)st.segments, (unsigned long long)st.blocks,
		    (unsigned long long)st.records, (int)ck.b.len,
		    ck.b.data ? (const char *)ck.b.data : "", (int)ck.rw.len,
		    ck.rw.data ? (const char *)ck.rw.data : "");
	} else if (!cli_quiet) {
		if (rewrite) {
			char a[32], b[32];
			cli_fmt_bytes(ck.before, a, sizeof(a));
			cli_fmt_bytes(ck.after, b, sizeof(b));
			if (ck.rewrote)
				printf("rewrote %llu segment%s: %s -> %s\n", (unsigned long long)ck.rewrote,
				    ck.rewrote == 1 ? "" : "s", a, b);
			else
				printf("no segment to rewrite\n");
		}
		if (ck.n)
			printf("%llu problem%s found in %s%s\n", (unsigned long long)ck.n,
			    ck.n == 1 ? "" : "s", dir, rebuild ? " (index rebuilt without them)" : "");
		else
			printf("ok: %llu segments, %llu blocks, %llu records%s\n",
			    (unsigned long long)st.segments, (unsigned long long)st.blocks,
			    (unsigned long long)st.records, rebuild ? ", index rebuilt" : "");
	}
	tt_buf_free(&ck.b);
	tt_buf_free(&ck.rw);
	cli_opts_free(&o);
	cli_check_stdout();
	if (fclose(stdout) != 0)
		return CLI_EXIT_STORE;
	return ck.n ? CLI_EXIT_CORRUPT : CLI_EXIT_OK;
}
