/*
 * cli.h -- shared code of the tt-* tools (libttcli.a): exit codes, messages,
 * store location and opening, the options every reading tool shares (filters,
 * output), and the record printers.
 *
 *   common.c   program name, messages, exit codes, signals, store location/open,
 *              corruption reports, shared option parsing
 *   output.c   record output: jsonl, json, table, tree, csv, msgpack, otlp
 *   mp.c       the little msgpack walking output needs (map entries)
 *
 * Tools include only teratrace.h and this header.
 */
#ifndef TT_CLI_H
#define TT_CLI_H

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/types.h>

#include "teratrace.h"

/* ---- exit codes (every man page lists them) */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_NOMATCH = 1, /* nothing matched / some input rejected */
	CLI_EXIT_USAGE = 2,
	CLI_EXIT_CORRUPT = 3, /* corruption found while reading or checking */
	CLI_EXIT_STORE = 4    /* store missing, unreadable, or a write failed */
};

/* ---- messages: "tt-query: could not open 'x'" on stderr */
extern const char *cli_prog;
extern int cli_quiet;          /* -q: only errors */
void cli_init(const char *argv0); /* program name, SIGPIPE, locale-free */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* always */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* unless -q */
_Noreturn void cli_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "tt-query: invalid value 'x' for --since" and exit 2 */
_Noreturn void cli_bad_value(const char *opt, const char *val);
/* A positive duration for opt, or exit 2 naming the units. */
int64_t cli_duration(const char *opt, const char *val);
/* Print usage (to stdout for --help, exit 0; else stderr, exit 2). */
_Noreturn void cli_usage(const char *usage, int code);
_Noreturn void cli_version(void);
int64_t cli_now_ns(void);

/* Set by SIGINT/SIGTERM once cli_catch_interrupt() was called. */
extern volatile int cli_interrupted;
void cli_catch_interrupt(void);
void cli_catch_interrupt_output(void); /* the same, writes restart (SA_RESTART) */

/* ---- a progress meter: one line on stderr, redrawn in place at most
 * ~10 times a second and erased at the end (tt-ingest, tt-check, tt-gc).
 * One per process; cli_err/cli_warn erase it before their message. */
typedef struct cli_meter_at {
	const char *what;  /* "check", "rebuild", ... after the program name; NULL: none */
	const char *unit;  /* "records": "N records, R records/s"; NULL: no count */
	uint64_t n;        /* the count, in unit */
	int has_bytes;     /* show bytes/s (MB/s); ETA from it when set */
	uint64_t bytes;    /* bytes so far */
	uint64_t done, total; /* total > 0: "P%, ETA Ns" (unit NULL: "B of T" in bytes) */
} cli_meter_at;
/* want: 1 (--progress), 0 (--no-progress), -1 (neither: on when stderr is a
 * terminal and not -q). Starts the clock; returns whether the meter is on. */
int cli_meter_start(int want);
/* Redraw with at, unless the last redraw was under 100ms ago (force: always). */
void cli_meter_show(const cli_meter_at *at, int force);
/* Erase the line if one is shown (before other output, and at the end). */
void cli_meter_clear(void);
/* A tt_store_opts.on_progress that draws the meter: "check" in segment bytes,
 * "rebuild" and "gc" in segments; the last step is always drawn. */
void cli_meter_progress(void *ctx, const char *what, uint64_t done, uint64_t total);

/* ---- the store */
/* -D value, else $TERATRACE_STORE, else $XDG_DATA_HOME/teratrace, else
 * ~/.local/share/teratrace. Exits 4 when none can be formed. */
const char *cli_store_dir(const char *opt);
/* Open the store with flags (TT_OPEN_*); on failure print a message naming
 * the path and exit 4. Problems met while reading are printed as
 * "tt-query: segment 0000000000000003 offset 123456: block checksum mismatch"
 * and counted in cli_problems. */
tt_store *cli_store_open(const char *dir, unsigned flags, const tt_store_opts *base);
extern unsigned long cli_problems;
void cli_problem_print(void *ctx, const tt_problem *p);
/* The exit code for a tool that otherwise ends with `code`: 3 when problems
 * were reported, else code. */
int cli_exit_code(int code);

/* ---- output */
enum cli_fmt {
	CLI_FMT_AUTO = 0, CLI_FMT_JSONL, CLI_FMT_JSON, CLI_FMT_TABLE, CLI_FMT_TREE,
	CLI_FMT_CSV, CLI_FMT_MSGPACK, CLI_FMT_OTLP
};
int cli_fmt_parse(const char *s); /* <0 when unknown */

/* ---- options shared by tt-query and tt-tail (and -D, -o, -q for all) */
typedef struct cli_opts {
	const char *store;     /* -D/--store */
	int fmt;               /* enum cli_fmt */
	int color;             /* -1 auto, 0 never, 1 always */
	int utc;               /* --utc: table times in UTC */
	const char *fields;    /* --fields a,b,c */
	int show_cursor;       /* --show-cursor */
	tt_filter *filter;     /* every condition given */
	int64_t since, until;  /* -S/-U (also in filter); TT_TS_MIN/MAX when absent */
	int64_t limit;         /* -n; -1 = all, -2 = not given */
	int64_t min_dur, max_dur; /* --min-dur/--max-dur; -1 = open */
	int reverse;           /* -r */
	int64_t now_ns;        /* fixed at start: anchors relative times */
	int has_filter;        /* a condition other than the time range */
	/* the conditions again, for --stats: which ones the rollups can answer */
	const char **rk_svc, **rk_name, **rk_kind; /* --service S, service=, name=, kind= */
	size_t n_svc, n_name, n_kind, cap_svc, cap_name, cap_kind;
	int not_rollup;        /* a condition the rollups cannot answer */
} cli_opts;

/* Long option ids for options without a short letter. */
enum {
	OPT_SERVICE = 0x100, OPT_LEVEL, OPT_MIN_DUR, OPT_MAX_DUR, OPT_FIELDS,
	OPT_UTC, OPT_NO_COLOR, OPT_SHOW_CURSOR, OPT_TOOL /* first id a tool may use */
};

#define CLI_OPTS_COMMON \
	{ "store", required_argument, NULL, 'D' }, \
	{ "output", required_argument, NULL, 'o' }, \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }
#define CLI_OPTS_FILTER \
	{ "since", required_argument, NULL, 'S' }, \
	{ "until", required_argument, NULL, 'U' }, \
	{ "service", required_argument, NULL, OPT_SERVICE }, \
	{ "level", required_argument, NULL, OPT_LEVEL }, \
	{ "grep", required_argument, NULL, 'g' }, \
	{ "min-dur", required_argument, NULL, OPT_MIN_DUR }, \
	{ "max-dur", required_argument, NULL, OPT_MAX_DUR }, \
	{ "lines", required_argument, NULL, 'n' }, \
	{ "reverse", no_argument, NULL, 'r' }, \
	{ "fields", required_argument, NULL, OPT_FIELDS }, \
	{ "utc", no_argument, NULL, OPT_UTC }, \
	{ "no-color", no_argument, NULL, OPT_NO_COLOR }
/* --help text of the shared options, next to their tables above */
#define CLI_HELP_STORE \
"  -D, --store DIR        the store (else $TERATRACE_STORE, else\n" \
"                         $XDG_DATA_HOME/teratrace or ~/.local/share/teratrace)\n"
#define CLI_HELP_FILTER \
"  -S, --since TIME       records at or after TIME (RFC 3339, @epoch, now,\n" \
"                         today, yesterday, -1h, '2 days ago', 30m)\n" \
"  -U, --until TIME       records at or before TIME\n" \
"      --service S        records of service S (repeatable: any of them)\n" \
"      --level L          records of level L or more severe\n" \
"  -g, --grep REGEX       message matches REGEX, a POSIX extended regex\n" \
"                         ('timeout|refused', '^GET /api/[0-9]+'); case-\n" \
"                         insensitive unless it has an upper-case letter\n" \
"      --min-dur DUR      spans lasting at least DUR (250ms, 1.5s, 2m)\n" \
"      --max-dur DUR      spans lasting at most DUR\n"
#define CLI_HELP_OUTPUT_END \
"      --utc              table times in UTC\n" \
"      --no-color         no colors (also NO_COLOR=1)\n" \
"  -q, --quiet            no messages\n" \
"  -h, --help             this text\n" \
"  -V, --version          the version\n"
#define CLI_HELP_MATCHES \
"FIELD=VALUE matches a field (dotted paths reach into attrs); FIELD!=VALUE\n" \
"excludes. Values of one field are alternatives; different fields must all match.\n"

#define CLI_SHORT_COMMON "D:o:qhV"
#define CLI_SHORT_FILTER "S:U:g:n:r"

void cli_opts_init(cli_opts *o);
/* Handle one getopt_long result shared by the tools; anything else is a
 * usage error. Exits 2 on a bad value; 'h' prints `usage` and exits 0. */
void cli_opts_parse(cli_opts *o, int c, const char *arg, const char *usage);
/* Exit 2 when operands are left after the options (tools that take none). */
void cli_no_operands(int optind_, int argc, char **argv);
/* Make room for one more element in a growable array (*v, *cap; n in use). */
void cli_grow(void *vp, size_t *cap, size_t n, size_t elem);
/* After getopt: a FIELD=VALUE operand (1 added, 0 not of that shape). */
int cli_opts_match_arg(cli_opts *o, const char *arg);
/* After all options: apply since/until/dur to the filter, resolve auto
 * output and colour. */
void cli_opts_finish(cli_opts *o);
void cli_opts_free(cli_opts *o);

/* ---- input bytes, decompressed by content (unzip.c) */
typedef struct cli_src cli_src;
enum cli_src_kind { CLI_SRC_PLAIN = 0, CLI_SRC_GZIP, CLI_SRC_ZSTD };
int cli_src_new(cli_src **out, int fd);
/* Up to n bytes of the input, decompressed if its first bytes are gzip's or
 * zstd's: >0, 0 at the end (or on an interrupt), -1 with why (a read error, or
 * a damaged or truncated stream naming the compressed byte offset). */
ssize_t cli_src_read(cli_src *s, uint8_t *dst, size_t n, char *why, size_t wn);
int cli_src_kind(const cli_src *s);         /* known after the first read */
uint64_t cli_src_raw_pos(const cli_src *s); /* bytes read from the fd */
void cli_src_reset(cli_src *s);             /* after an lseek back to the start */
void cli_src_free(cli_src *s);

/* ---- --stats (stats.c) */
typedef struct cli_stats {
	const char *by[TT_STATQ_BY_MAX];   /* --by a,b */
	const char *sum[TT_STATQ_SUM_MAX]; /* --sum x,y */
	size_t nby, nsum;
	char *by_buf, *sum_buf;
	int64_t every_ns;                  /* --every DUR; 0 = one bucket */
	int scan;                          /* --scan: never the rollups */
	int explain;                       /* --explain: say which path answered */
} cli_stats;
void cli_stats_by(cli_stats *st, const char *arg);
void cli_stats_sum(cli_stats *st, const char *arg);
void cli_stats_free(cli_stats *st);
/* A CSV cell: quoted when it holds a comma, quote or line break (RFC 4180). */
void cli_csv_cell(tt_buf *b, const void *p, size_t n);
/* One aggregate row as a JSON object (tt-query --stats -o jsonl, ttd /api/stats). */
void cli_stats_json(tt_buf *b, const tt_statrow *r, const char *const *by, size_t nby,
    const char *const *sum, size_t nsum);
/* Print the aggregate rows; *rows = how many. 0 or <0 (reported). */
int cli_stats_run(tt_store *s, const cli_opts *o, const cli_stats *st, uint64_t *rows);

/* ---- record printer */
typedef struct cli_out cli_out;

/* Stdout in the chosen format. follow != 0: records stream with no end
 * (tt-tail -f), so formats that need the whole set (tree, otlp) are refused
 * by the caller and every batch is flushed. */
cli_out *cli_out_new(const cli_opts *o, int follow);
/* The same printer writing into dst (ttd answers with it); NULL when out of
 * memory. Its cli_out_end returns -1 when an append failed, and closes
 * nothing. */
cli_out *cli_out_new_buf(const cli_opts *o, tt_buf *dst);
/* One record; cursor (may be NULL) is shown with --show-cursor. */
void cli_out_rec(cli_out *out, const uint8_t *rec, size_t len, const char *cursor);
/* Group records by correlation id (tt-query ID...): json prints an object per
 * id with its summary (one object for a single id, else an array); table
 * prints a footer; tree a tree per group. nid = how many groups will come. */
void cli_out_group_begin(cli_out *out, const void *id, size_t id_len,
    const tt_idsum *sum, size_t nid);
void cli_out_group_end(cli_out *out, uint64_t nrec);
/* A correlation id summary (tt-query --list). */
void cli_out_idsum(cli_out *out, const tt_idsum *sum);
/* A line of text (table mode only, e.g. "-- cursor: ..."). */
void cli_out_note(cli_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Push buffered output to stdout (end of a batch). */
void cli_out_flush(cli_out *out);
/* Finish (close arrays, print buffered trees/otlp), close stdout: 0 or exits 4
 * on a write error other than a closed pipe (a buffer printer: 0 or -1). */
int cli_out_end(cli_out *out);

/* Quiet exit on a closed pipe, message and exit 4 on another write error. */
void cli_check_stdout(void);

/* ---- a list of copied records (tt-tail's last N, tt-query -r) */
typedef struct cli_rec {
	uint8_t *data;
	size_t len;
	tt_pos after;  /* position just after this record */
} cli_rec;
typedef struct cli_recs {
	cli_rec *v;
	size_t n, cap;
} cli_recs;
void cli_recs_push(cli_recs *rs, const tt_rec *r, uint32_t gen);
void cli_recs_free(cli_recs *rs);

/* ---- small helpers */
/* "12.3 MiB" */
void cli_fmt_bytes(uint64_t n, char *buf, size_t len);
/* "1.234s", "12.3ms" */
void cli_fmt_dur(int64_t ns, char *buf, size_t len);
/* Local (or UTC) "2026-11-21 09:26:20.123". */
void cli_fmt_time(int64_t ns, int utc, char *buf, size_t len);
/* The zone cli_fmt_time shows ns in: "UTC", or local "CET, +01:00" (the
 * abbreviation, when the zone has one, and the offset from UTC at ns). */
void cli_fmt_zone(int64_t ns, int utc, char *buf, size_t len);
/* Hex of n bytes (lowercase) into a tt_buf. */
void cli_hex(tt_buf *b, const void *p, size_t n);
/* Print an id as text: str as is, bin as hex. */
void cli_id_text(tt_buf *b, const void *id, size_t n, int is_bin);

/* ---- mp.c: walking msgpack maps (for otlp attributes and csv) */
/* Calls fn for each key/value of the map at p. Returns 0, or <0 when the
 * bytes are not a map or malformed. Keys that are not strings are skipped. */
typedef int (*cli_mp_kv_fn)(void *ctx, const char *k, size_t kn, const tt_value *v);
int cli_mp_map_each(const uint8_t *p, size_t n, cli_mp_kv_fn fn, void *ctx);
/* Decode one scalar/container header at p into v (v->raw, v->raw_len = the
 * whole value). */
int cli_mp_value(const uint8_t *p, size_t n, tt_value *v);

#endif /* TT_CLI_H */
