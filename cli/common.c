/*
 * common.c -- what every tt-* tool does the same way: its name in messages,
 * exit codes, signals, where the store is and how it is opened, how corruption
 * met while reading is reported, and the filter/output options shared by
 * tt-query and tt-tail, and the progress meter of the tools that write.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "cli.h"

const char *cli_prog = "tt";
int cli_quiet;
unsigned long cli_problems;
volatile int cli_interrupted;

void cli_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	if (argv0 && *argv0)
		cli_prog = slash ? slash + 1 : argv0;
	/* A closed pipe is reported as EPIPE by the write and ends the tool
	 * quietly (cli_check_stdout), after the store is left in order. */
	signal(SIGPIPE, SIG_IGN);
}

static void vmsg(const char *fmt, va_list ap)
{
	char buf[1024];

	cli_meter_clear();

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "%s: %s\n", cli_prog, buf);
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	if (cli_quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void cli_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(code);
}

void cli_bad_value(const char *opt, const char *val)
{
	cli_die(CLI_EXIT_USAGE, "invalid value '%s' for %s", val, opt);
}

int64_t cli_duration(const char *opt, const char *val)
{
	int64_t v;
	if (tt_parse_duration(val, &v) < 0 || v <= 0)
		cli_die(CLI_EXIT_USAGE, "invalid duration '%s' for %s: expected " TT_DURATION_HELP,
		    val, opt);
	return v;
}

void cli_usage(const char *usage, int code)
{
	FILE *f = code == 0 ? stdout : stderr;

	fputs(usage, f);
	if (code == 0) {
		cli_check_stdout();
		if (fclose(stdout) != 0)
			code = CLI_EXIT_STORE;
	}
	exit(code);
}

void cli_version(void)
{
	printf("%s (TeraTrace) %s\n", cli_prog, TT_VERSION_STRING);
	exit(fclose(stdout) == 0 ? 0 : CLI_EXIT_STORE);
}

int64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_interrupt(int sig)
{
	if (cli_interrupted) /* second ^C: leave now */
		_exit(128 + sig);
	cli_interrupted = sig; /* the exit status will be 128 + sig */
}

static void catch_interrupt(int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* A signal interrupts a blocking read (tt-ingest stops waiting for input). */
void cli_catch_interrupt(void)
{
	catch_interrupt(0);
}

/* For tools that print records: a signal must not cut a write to a slow
 * pipe short (EINTR would end the tool with an error and a torn record), so
 * writes restart and the tool stops after the record it is printing. */
void cli_catch_interrupt_output(void)
{
	catch_interrupt(SA_RESTART);
}

void cli_check_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	if (errno == EPIPE)
		_exit(CLI_EXIT_OK); /* reader went away: a quiet end, like cat */
	cli_die(CLI_EXIT_STORE, "could not write to standard output: %s", strerror(errno));
}

/* ---- the progress meter */

#define METER_EVERY_NS 100000000LL /* at most ~10 redraws a second */

static struct {
	int on;                /* drawing at all */
	int shown;             /* a line is on stderr now */
	int64_t t_start, t_last;
} meter;

int cli_meter_start(int want)
{
	meter.on = want >= 0 ? want : (!cli_quiet && isatty(STDERR_FILENO));
	meter.shown = 0;
	meter.t_start = meter.t_last = cli_now_ns();
	return meter.on;
}

void cli_meter_clear(void)
{
	if (!meter.shown)
		return;
	fputs("\r\033[K", stderr);
	meter.shown = 0;
}

void cli_meter_show(const cli_meter_at *at, int force)
{
	int64_t now;
	double secs, rate = 0, bps = 0;
	char line[320], a[32], b[32];
	size_t k = 0;

	if (!meter.on)
		return;
	now = cli_now_ns();
	if (!force && now - meter.t_last < METER_EVERY_NS)
		return;
	meter.t_last = now;
	secs = (double)(now - meter.t_start) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	/* k stays below sizeof line: every piece is short and snprintf truncates */
#define PUT(...) (k += (size_t)snprintf(line + k, sizeof(line) - k, __VA_ARGS__), \
	k = k < sizeof(line) ? k : sizeof(line) - 1)
	PUT("%s: ", cli_prog);
	if (at->what)
		PUT("%s ", at->what);
	if (at->unit) {
		rate = (double)at->n / secs;
		PUT("%llu %s, %.0f %s/s", (unsigned long long)at->n, at->unit, rate, at->unit);
	} else if (at->has_bytes) {
		cli_fmt_bytes(at->bytes, a, sizeof(a));
		cli_fmt_bytes(at->total, b, sizeof(b));
		if (at->total)
			PUT("%s of %s", a, b);
		else
			PUT("%s", a);
	}
	if (at->has_bytes) {
		bps = (double)at->bytes / secs;
		PUT(", %.1f MB/s", bps / 1e6);
	}
	if (at->total && at->done <= at->total) {
		/* the ETA assumes the rate so far holds: bytes/s when known, else
		 * the rate of done itself */
		double per_s = at->has_bytes ? bps : (double)at->done / secs;
		PUT(", %.0f%%", 100.0 * (double)at->done / (double)at->total);
		if (per_s > 0)
			PUT(", ETA %.0fs", (double)(at->total - at->done) / per_s);
	}
#undef PUT
	fprintf(stderr, "\r\033[K%s", line);
	meter.shown = 1;
}

void cli_meter_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	cli_meter_at at;

	(void)ctx;
	memset(&at, 0, sizeof(at));
	at.what = what;
	at.done = done;
	at.total = total;
	if (strcmp(what, "check") == 0) { /* segment bytes */
		at.has_bytes = 1;
		at.bytes = done;
	} else {                          /* segments */
		at.unit = "segments";
		at.n = done;
	}
	cli_meter_show(&at, total && done >= total);
}

/* ---- the store */

const char *cli_store_dir(const char *opt)
{
	static char path[PATH_MAX];
	const char *e;

	if (opt && *opt)
		return opt;
	e = getenv("TERATRACE_STORE");
	if (e && *e)
		return e;
	e = getenv("XDG_DATA_HOME");
	if (e && *e == '/') {
		if (snprintf(path, sizeof(path), "%s/teratrace", e) >= (int)sizeof(path))
			cli_die(CLI_EXIT_STORE, "store path too long");
		return path;
	}
	e = getenv("HOME");
	if (e && *e) {
		if (snprintf(path, sizeof(path), "%s/.local/share/teratrace", e) >=
		    (int)sizeof(path))
			cli_die(CLI_EXIT_STORE, "store path too long");
		return path;
	}
	cli_die(CLI_EXIT_STORE, "no store: use --store DIR or set TERATRACE_STORE");
}

/* Each problem is printed once per process, however many times a read meets
 * the same bad block (a query and then its summary both do). */
static int problem_seen(const tt_problem *p)
{
	static struct { uint64_t seg, off; } seen[64];
	static size_t n;

	for (size_t i = 0; i < n && i < 64; i++)
		if (seen[i].seg == p->segment && seen[i].off == p->offset)
			return 1;
	seen[n % 64].seg = p->segment;
	seen[n % 64].off = p->offset;
	n++;
	return 0;
}

void cli_problem_print(void *ctx, const tt_problem *p)
{
	(void)ctx;
	cli_problems++;
	if (problem_seen(p))
		return;
	if (p->what && p->code != TT_ECORRUPT) /* name the cause: "cannot read block: Input/output error" */
		cli_err("segment %016llx offset %llu: %s: %s", (unsigned long long)p->segment,
		    (unsigned long long)p->offset, p->what, tt_strerror(p->code));
	else
		cli_err("segment %016llx offset %llu: %s", (unsigned long long)p->segment,
		    (unsigned long long)p->offset, p->what ? p->what : tt_strerror(p->code));
}

tt_store *cli_store_open(const char *dir, unsigned flags, const tt_store_opts *base)
{
	tt_store_opts so;
	tt_store *s = NULL;
	struct stat st;
	int rc;

	if (base)
		so = *base;
	else
		memset(&so, 0, sizeof(so));
	so.flags |= flags;
	so.on_problem = cli_problem_print;
	so.problem_ctx = NULL;
	if (!(so.flags & TT_OPEN_CREATE) && stat(dir, &st) != 0)
		cli_die(CLI_EXIT_STORE, "no store at '%s': %s", dir, strerror(errno));
	rc = tt_store_open(&s, dir, &so);
	if (rc < 0) {
		if (rc == -ENOENT)
			cli_die(CLI_EXIT_STORE, "no store at '%s'", dir);
		if (rc == TT_EVERSION)
			cli_die(CLI_EXIT_STORE, "store '%s' has a format this version cannot read",
			    dir);
		if (tt_index_damaged(rc))
			cli_die(CLI_EXIT_STORE, "could not open store '%s': %s: the index is damaged "
			    "or lost; 'tt-check --rebuild-index' rebuilds it from the segments",
			    dir, tt_strerror(rc));
		cli_die(CLI_EXIT_STORE, "could not open store '%s': %s", dir, tt_strerror(rc));
	}
	return s;
}

int cli_exit_code(int code)
{
	if (cli_problems && code < CLI_EXIT_CORRUPT)
		return CLI_EXIT_CORRUPT;
	return code;
}

/* ---- shared options */

int cli_fmt_parse(const char *s)
{
	static const char *const names[] = {
		"auto", "jsonl", "json", "table", "tree", "csv", "msgpack", "otlp"
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	if (strcmp(s, "ndjson") == 0 || strcmp(s, "json-lines") == 0)
		return CLI_FMT_JSONL;
	return -1;
}

void cli_opts_init(cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->color = -1;
	o->since = TT_TS_MIN;
	o->until = TT_TS_MAX;
	o->limit = -2;
	o->min_dur = -1;
	o->max_dur = -1;
	o->now_ns = cli_now_ns();
	if (tt_filter_new(&o->filter) < 0)
		cli_die(CLI_EXIT_STORE, "out of memory");
}

void cli_opts_free(cli_opts *o)
{
	tt_filter_free(o->filter);
	o->filter = NULL;
	free(o->rk_svc);
	free(o->rk_name);
	free(o->rk_kind);
	o->rk_svc = o->rk_name = o->rk_kind = NULL;
}

static void rk_push(const char ***v, size_t *n, size_t *cap, const char *val)
{
	cli_grow(v, cap, *n, sizeof **v);
	(*v)[(*n)++] = val;
}

void cli_opts_parse(cli_opts *o, int c, const char *arg, const char *usage)
{
	int64_t v;

	switch (c) {
	case 'D':
		o->store = arg;
		return;
	case 'o':
		if ((o->fmt = cli_fmt_parse(arg)) < 0)
			cli_die(CLI_EXIT_USAGE,
			    "unknown output format '%s' (jsonl, json, table, tree, csv, msgpack, otlp)",
			    arg);
		return;
	case 'q':
		cli_quiet = 1;
		return;
	case 'h':
		cli_usage(usage, 0);
	case 'V':
		cli_version();
	case 'S':
		if (tt_parse_time(arg, o->now_ns, &o->since) < 0)
			cli_bad_value("--since", arg);
		return;
	case 'U':
		if (tt_parse_time(arg, o->now_ns, &o->until) < 0)
			cli_bad_value("--until", arg);
		return;
	case OPT_SERVICE:
		o->has_filter = 1;
		if (tt_filter_add_service(o->filter, arg) < 0)
			cli_bad_value("--service", arg);
		rk_push(&o->rk_svc, &o->n_svc, &o->cap_svc, arg);
		return;
	case OPT_LEVEL: {
		o->has_filter = 1;
		o->not_rollup = 1;
		int lvl = tt_level_parse(arg, strlen(arg));
		if (lvl == TT_LVL_NONE || tt_filter_set_level(o->filter, lvl) < 0)
			cli_die(CLI_EXIT_USAGE,
			    "invalid value '%s' for --level (trace, debug, info, warn, error, fatal)",
			    arg);
		return;
	}
	case 'g': {
		o->has_filter = 1;
		o->not_rollup = 1;
		tt_rec_err err;
		memset(&err, 0, sizeof(err));
		if (tt_filter_set_grep(o->filter, arg, &err) < 0)
			cli_die(CLI_EXIT_USAGE, "invalid regex '%s' for --grep: %s", arg, err.reason);
		return;
	}
	case OPT_MIN_DUR:
	case OPT_MAX_DUR:
		o->has_filter = 1;
		o->not_rollup = 1;
		if (strcmp(arg, "0") == 0)
			v = 0;
		else
			v = cli_duration(c == OPT_MIN_DUR ? "--min-dur" : "--max-dur", arg);
		if (c == OPT_MIN_DUR)
			o->min_dur = v;
		else
			o->max_dur = v;
		return;
	case 'n':
		if (strcmp(arg, "all") == 0 || strcmp(arg, "+0") == 0) {
			o->limit = -1;
		} else {
			char *end;
			long long n;
			errno = 0;
			n = strtoll(arg, &end, 10);
			if (errno || *end || end == arg || n < 0)
				cli_bad_value("--lines", arg);
			o->limit = n;
		}
		return;
	case 'r':
		o->reverse = 1;
		return;
	case OPT_FIELDS:
		if (!*arg)
			cli_bad_value("--fields", arg);
		o->fields = arg;
		return;
	case OPT_UTC:
		o->utc = 1;
		return;
	case OPT_NO_COLOR:
		o->color = 0;
		return;
	case OPT_SHOW_CURSOR:
		o->show_cursor = 1;
		return;
	default: /* '?' and options of other tools */
		cli_usage(usage, CLI_EXIT_USAGE);
	}
}

int cli_opts_match_arg(cli_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t n;
	int rc;

	if (!eq || eq == arg)
		return 0;
	/* FIELD part: letters, digits, '_', '-', '.', '@', an optional final '!' */
	n = (size_t)(eq - arg);
	if (arg[n - 1] == '!')
		n--;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = arg[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		        (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
		        ch == '@'))
			return 0;
	}
	o->has_filter = 1;
	rc = tt_filter_add_match(o->filter, arg);
	if (rc < 0)
		cli_die(CLI_EXIT_USAGE, "invalid match '%s': %s", arg,
		    rc == TT_ETOOBIG ? "too many matches" : "expected FIELD=VALUE");
	/* service=, name=, kind= with a value: a rollup key */
	if (arg[n] != '=' || !eq[1])
		o->not_rollup = 1;
	else if (n == 7 && !memcmp(arg, "service", 7))
		rk_push(&o->rk_svc, &o->n_svc, &o->cap_svc, eq + 1);
	else if (n == 4 && !memcmp(arg, "name", 4))
		rk_push(&o->rk_name, &o->n_name, &o->cap_name, eq + 1);
	else if (n == 4 && !memcmp(arg, "kind", 4))
		rk_push(&o->rk_kind, &o->n_kind, &o->cap_kind, eq + 1);
	else
		o->not_rollup = 1;
	return 1;
}

void cli_opts_finish(cli_opts *o)
{
	if (o->since > o->until)
		cli_die(CLI_EXIT_USAGE, "--since is after --until");
	if (tt_filter_set_time(o->filter, o->since, o->until) < 0 ||
	    tt_filter_set_dur(o->filter, o->min_dur, o->max_dur) < 0)
		cli_die(CLI_EXIT_USAGE, "--min-dur is larger than --max-dur");
	if (o->fmt == CLI_FMT_AUTO)
		o->fmt = isatty(STDOUT_FILENO) ? CLI_FMT_TABLE : CLI_FMT_JSONL;
	if (o->color < 0) {
		const char *nc = getenv("NO_COLOR");
		o->color = o->fmt == CLI_FMT_TABLE && isatty(STDOUT_FILENO) &&
		    !(nc && *nc) && !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0);
	}
}

void cli_no_operands(int optind_, int argc, char **argv)
{
	if (optind_ < argc)
		cli_die(CLI_EXIT_USAGE, "unexpected argument '%s'", argv[optind_]);
}

void cli_grow(void *vp, size_t *cap, size_t n, size_t elem)
{
	void **v = vp;
	size_t nc;
	void *nv;

	if (n < *cap)
		return;
	nc = *cap ? 2 * *cap : 16;
	nv = realloc(*v, nc * elem);
	if (!nv)
		cli_die(CLI_EXIT_STORE, "out of memory");
	*v = nv;
	*cap = nc;
}

/* ---- record lists */

void cli_recs_push(cli_recs *rs, const tt_rec *r, uint32_t gen)
{
	cli_rec *e;

	cli_grow(&rs->v, &rs->cap, rs->n, sizeof(*rs->v));
	e = &rs->v[rs->n];
	e->data = malloc(r->len ? r->len : 1);
	if (!e->data)
		cli_die(CLI_EXIT_STORE, "out of memory");
	memcpy(e->data, r->data, r->len);
	e->len = r->len;
	e->after.seq = r->seq;
	e->after.idx = r->idx + 1;
	e->after.gen = gen;
	rs->n++;
}

void cli_recs_free(cli_recs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].data);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

/* ---- small helpers */

void cli_fmt_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int i = 0;

	if (n < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)n);
		return;
	}
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%.1f %s", v, u[i]);
}

void cli_fmt_dur(int64_t ns, char *buf, size_t len)
{
	double v = (double)ns;

	if (ns < 0)
		snprintf(buf, len, "-");
	else if (ns < 1000)
		snprintf(buf, len, "%lldns", (long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", v / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", v / 1e6);
	else if (ns < 60 * 1000000000LL)
		snprintf(buf, len, "%.3fs", v / 1e9);
	else if (ns < 3600 * 1000000000LL)
		snprintf(buf, len, "%lldm%02llds", (long long)(ns / 60000000000LL),
		    (long long)(ns / 1000000000LL % 60));
	else
		snprintf(buf, len, "%lldh%02lldm", (long long)(ns / 3600000000000LL),
		    (long long)(ns / 60000000000LL % 60));
}

void cli_fmt_time(int64_t ns, int utc, char *buf, size_t len)
{
	int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000LL;
		sec--;
	}
	t = (time_t)sec;
	if (!(utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm))) {
		snprintf(buf, len, "%lld", (long long)ns);
		return;
	}
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(frac / 1000000));
}

void cli_fmt_zone(int64_t ns, int utc, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000LL);
	struct tm tm;
	char abbr[32] = "";
	long off, a;

	if (utc || !localtime_r(&t, &tm)) {
		snprintf(buf, len, "UTC");
		return;
	}
	off = tm.tm_gmtoff;
	if (!strftime(abbr, sizeof(abbr), "%Z", &tm))
		abbr[0] = '\0';
	if (off == 0 && (!strcmp(abbr, "UTC") || !strcmp(abbr, "GMT") || !abbr[0])) {
		snprintf(buf, len, "%s", abbr[0] ? abbr : "UTC");
		return;
	}
	a = off < 0 ? -off : off;
	/* zones without an abbreviation name themselves by their offset ("+03") */
	if (abbr[0] && abbr[0] != '+' && abbr[0] != '-')
		snprintf(buf, len, "%s, %c%02ld:%02ld", abbr, off < 0 ? '-' : '+', a / 3600,
		    a / 60 % 60);
	else
		snprintf(buf, len, "%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

void cli_hex(tt_buf *b, const void *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *s = p;

	if (tt_buf_reserve(b, 2 * n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		b->data[b->len++] = (uint8_t)hx[s[i] >> 4];
		b->data[b->len++] = (uint8_t)hx[s[i] & 15];
	}
}

void cli_id_text(tt_buf *b, const void *id, size_t n, int is_bin)
{
	if (is_bin)
		cli_hex(b, id, n);
	else
		(void)tt_buf_append(b, id, n);
}
