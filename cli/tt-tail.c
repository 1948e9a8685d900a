/*
 * tt-tail -- the last records in append order; with -f every new record as it
 * lands, from any writer, until interrupted.
 *
 * Exactly-once: the last N are found by a reverse scan that ends at the store
 * end taken before it, and following starts at that same end; from then on
 * each forward scan resumes at the position the previous one returned. A
 * cursor (tt_pos) names "just after this record" and is what --cursor-file
 * saves, so a restarted tail resumes with the next record, never repeating
 * or skipping one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define WAIT_SLICE_MS 250 /* wake up this often to notice ^C */

static const char usage_str[] =
"usage: tt-tail [OPTIONS] [FIELD=VALUE...]\n"
"\n"
"The last records in append order; with -f, every new record as it lands.\n"
"\n"
CLI_HELP_STORE
"  -f, --follow           keep printing records as they are written\n"
"  -n, --lines N|all      the last N matching records first (default 10)\n"
"      --cursor-file FILE resume after the cursor saved in FILE, save the\n"
"                         cursor of the last record there\n"
"      --after-cursor C   start after cursor C (ignores -n)\n"
"      --show-cursor      show each record's cursor\n"
CLI_HELP_FILTER
"  -o, --output FMT       jsonl, json, table, tree, csv, msgpack, otlp (default:\n"
"                         table on a terminal, else jsonl; not tree/otlp with -f)\n"
"      --fields A,B,..    only these fields\n"
CLI_HELP_OUTPUT_END
"\n"
CLI_HELP_MATCHES
"\n"
"Exit status: 0 ok; 1 filters matched nothing (without -f); 2 usage;\n"
"3 corruption found; 4 store unavailable.\n";

enum { OPT_CURSOR_FILE = OPT_TOOL, OPT_AFTER_CURSOR };

static const struct option longopts[] = {
	CLI_OPTS_COMMON,
	CLI_OPTS_FILTER,
	{ "follow", no_argument, NULL, 'f' },
	{ "cursor-file", required_argument, NULL, OPT_CURSOR_FILE },
	{ "after-cursor", required_argument, NULL, OPT_AFTER_CURSOR },
	{ "show-cursor", no_argument, NULL, OPT_SHOW_CURSOR },
	{ NULL, 0, NULL, 0 }
};

typedef struct tail {
	cli_opts o;
	tt_store *s;
	cli_out *out;
	uint32_t gen;        /* index generation, for cursors */
	uint64_t printed;
	uint64_t want;       /* -n */
	cli_recs last;       /* the reverse scan's matches, newest first */
	tt_pos pos;          /* just after the last record handled */
	const char *cursor_file;
} tail;

static void print_rec(tail *t, const uint8_t *data, size_t len, const tt_pos *after)
{
	char cur[TT_CURSOR_MAX];

	if (t->o.show_cursor)
		tt_pos_format(after, cur, sizeof(cur));
	cli_out_rec(t->out, data, len, t->o.show_cursor ? cur : NULL);
	t->printed++;
}

/* Reverse scan: collect the newest `want` matching records. */
static int on_last(void *ctx, const tt_rec *r)
{
	tail *t = ctx;

	if (!tt_filter_match(t->o.filter, r->data, r->len))
		return 0;
	cli_recs_push(&t->last, r, t->gen);
	return t->last.n >= t->want ? 1 : 0;
}

/* Forward scan: print what matches. Stopping for ^C happens only after a
 * record was handled, so the position returned is never past an unprinted
 * record. */
static int on_next(void *ctx, const tt_rec *r)
{
	tail *t = ctx;

	if (tt_filter_match(t->o.filter, r->data, r->len)) {
		tt_pos after = { r->seq, r->idx + 1, t->gen };
		print_rec(t, r->data, r->len, &after);
	}
	return cli_interrupted ? 1 : 0;
}

/* Save the position: write FILE.tmp, then rename over FILE. */
static void save_cursor(tail *t)
{
	char cur[TT_CURSOR_MAX], tmp[4096];
	FILE *f;

	if (!t->cursor_file || t->pos.seq == 0)
		return;
	if (tt_pos_format(&t->pos, cur, sizeof(cur)) < 0)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", t->cursor_file) >= (int)sizeof(tmp))
		cli_die(CLI_EXIT_USAGE, "cursor file name too long");
	f = fopen(tmp, "we");
	if (!f || fprintf(f, "%s\n", cur) < 0 || fclose(f) != 0 ||
	    rename(tmp, t->cursor_file) != 0)
		cli_die(CLI_EXIT_STORE, "could not write cursor file '%s': %s", t->cursor_file,
		    strerror(errno));
}

/* 1 with a cursor from the file, 0 when the file does not exist yet. */
static int load_cursor(tail *t, tt_pos *p)
{
	char buf[TT_CURSOR_MAX + 2];
	FILE *f = fopen(t->cursor_file, "re");
	size_t n;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		cli_die(CLI_EXIT_USAGE, "could not read cursor file '%s': %s", t->cursor_file,
		    strerror(errno));
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0])
		return 0;
	if (tt_pos_parse(buf, p) < 0)
		cli_die(CLI_EXIT_USAGE, "invalid cursor '%s' in '%s'", buf, t->cursor_file);
	return 1;
}

static void scan_error(tail *t, int rc)
{
	if (rc == TT_ESTALE)
		cli_die(CLI_EXIT_USAGE, "the cursor is from before the index was rebuilt; "
		    "start without it");
	cli_die(cli_exit_code(CLI_EXIT_STORE), "could not read store '%s': %s",
	    tt_store_dir(t->s), tt_strerror(rc));
}

/* Everything after t->pos up to the current end; advances t->pos. */
static void forward(tail *t)
{
	tt_scan sc;
	tt_pos next = t->pos;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.since = t->o.since;
	sc.until = t->o.until;
	sc.start = t->pos;
	rc = tt_store_scan(t->s, &sc, on_next, t, &next);
	if (rc < 0)
		scan_error(t, rc);
	if (rc > 0 || next.seq > t->pos.seq || (next.seq == t->pos.seq && next.idx > t->pos.idx))
		t->pos = next;
	cli_out_flush(t->out);
	save_cursor(t);
}

int main(int argc, char **argv)
{
	tail t;
	tt_pos end, start;
	int c, follow = 0, have_start = 0, rc;
	const char *after = NULL;

	cli_init(argv[0]);
	memset(&t, 0, sizeof(t));
	cli_opts_init(&t.o);
	while ((c = getopt_long(argc, argv, CLI_SHORT_COMMON CLI_SHORT_FILTER "f", longopts,
	            NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = 1;
			break;
		case OPT_CURSOR_FILE:
			t.cursor_file = optarg;
			break;
		case OPT_AFTER_CURSOR:
			after = optarg;
			break;
		default:
			cli_opts_parse(&t.o, c, optarg, usage_str);
		}
	}
	for (int i = optind; i < argc; i++)
		if (!cli_opts_match_arg(&t.o, argv[i]))
			cli_die(CLI_EXIT_USAGE, "expected FIELD=VALUE, not '%s'", argv[i]);
	cli_opts_finish(&t.o);
	if (t.o.reverse)
		cli_die(CLI_EXIT_USAGE, "tt-tail prints in append order; use tt-query -r");
	if (follow && (t.o.fmt == CLI_FMT_TREE || t.o.fmt == CLI_FMT_OTLP))
		cli_die(CLI_EXIT_USAGE, "-o %s needs the whole output; not with --follow",
		    t.o.fmt == CLI_FMT_TREE ? "tree" : "otlp");
	if (after && tt_pos_parse(after, &start) < 0)
		cli_bad_value("--after-cursor", after);
	if (after)
		have_start = 1;
	else if (t.cursor_file)
		have_start = load_cursor(&t, &start);
	t.want = t.o.limit == -2 ? 10 : t.o.limit < 0 ? UINT64_MAX : (uint64_t)t.o.limit;
	cli_catch_interrupt_output();

	t.s = cli_store_open(cli_store_dir(t.o.store),
	    TT_OPEN_RDONLY | (follow ? 0 : TT_OPEN_ONESHOT), NULL);
	rc = tt_store_end(t.s, &end);
	if (rc < 0)
		scan_error(&t, rc);
	t.gen = end.gen;
	t.out = cli_out_new(&t.o, follow);

	if (have_start) {
		t.pos = start;
		forward(&t);
	} else if (t.want == UINT64_MAX) {
		memset(&t.pos, 0, sizeof(t.pos));
		t.pos.gen = t.gen;
		forward(&t);
	} else {
		if (t.want > 0 && end.seq > 0) {
			tt_scan sc;
			memset(&sc, 0, sizeof(sc));
			sc.since = t.o.since;
			sc.until = t.o.until;
			sc.flags = TT_SCAN_REVERSE;
			sc.start = end;
			rc = tt_store_scan(t.s, &sc, on_last, &t, NULL);
			if (rc < 0)
				scan_error(&t, rc);
			for (size_t i = t.last.n; i-- > 0;)
				print_rec(&t, t.last.v[i].data, t.last.v[i].len, &t.last.v[i].after);
			cli_recs_free(&t.last);
		}
		t.pos = end;
		cli_out_flush(t.out);
		save_cursor(&t);
	}
	while (follow && !cli_interrupted) {
		rc = tt_store_wait(t.s, &t.pos, WAIT_SLICE_MS);
		if (rc < 0)
			scan_error(&t, rc);
		if (rc > 0)
			forward(&t);
	}
	if (t.o.show_cursor && t.pos.seq) {
		char cur[TT_CURSOR_MAX];
		tt_pos_format(&t.pos, cur, sizeof(cur));
		if (t.o.fmt == CLI_FMT_TABLE)
			cli_out_note(t.out, "-- cursor: %s", cur);
		else if (!cli_quiet)
			fprintf(stderr, "-- cursor: %s\n", cur);
	}
	save_cursor(&t);
	cli_out_end(t.out);
	tt_store_close(t.s);
	cli_opts_free(&t.o);
	if (follow)
		return cli_exit_code(CLI_EXIT_OK);
	/* like grep: filters that match nothing are worth an exit status */
	if (!t.printed && t.want > 0 && (t.o.has_filter || t.o.since != TT_TS_MIN ||
	                                    t.o.until != TT_TS_MAX))
		return cli_exit_code(CLI_EXIT_NOMATCH);
	return cli_exit_code(CLI_EXIT_OK);
}
