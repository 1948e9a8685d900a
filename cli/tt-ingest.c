/*
 * tt-ingest -- append records from files or standard input to the store.
 *
 * Input is decoded on this thread (format/), records go to a tt_writer whose
 * own thread compresses and writes blocks; exit 0 only after tt_writer_close
 * returned 0, i.e. every accepted record is durable and indexed.
 *
 * Memory stays constant on unbounded input: JSON lines and msgpack streams are
 * read through a fixed window (grown only for a single line or object larger
 * than it, up to a cap); a JSON document (-F json) is read whole, bounded by
 * DOC_MAX. --strict validates an input completely before storing any of it:
 * files are read twice, a pipe is first spooled to an unlinked temporary file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define WINDOW (4u << 20)         /* read window */
#define LINE_MAX_BYTES (256u << 20) /* longest JSON line (a batch on one line) */
#define DOC_MAX (1024u << 20)     /* largest JSON document */
#define MP_REFILL (2u << 20)      /* refill the window below this many bytes */

static const char usage_str[] =
"usage: tt-ingest [-D DIR] [-F FORMAT] [--strict] [--no-sync] [--segment-size SIZE]\n"
"                 [--format-version N] [--max-errors N] [-q] [FILE...]\n"
"\n"
"Append trace records from each FILE (or standard input, also '-') to the store;\n"
"gzip and zstd input is decompressed (told by its first bytes, not its name).\n"
"\n"
CLI_HELP_STORE
"  -F, --format FMT       auto (default), jsonl, json, msgpack, otlp\n"
"      --strict           the first bad record aborts: nothing of that input is stored\n"
"      --no-sync          do not fsync (records survive a crash of tt-ingest, not of\n"
"                         the machine)\n"
"      --segment-size SIZE seal a segment file at SIZE (64K..4G; default 256M)\n"
"      --format-version N new segments in format N: 2 (default, columnar\n"
"                         blocks) or 1 (readable by TeraTrace 0.1)\n"
"      --max-errors N     stop after N rejected records (default 100; 0: never)\n"
"      --progress         progress on stderr even when it is not a terminal\n"
"      --no-progress      no progress\n"
"  -q, --quiet            no messages about rejected records, no summary\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Exit status: 0 every record stored; 1 some rejected; 2 usage, or a FILE that\n"
"cannot be read; 4 store unavailable; 130/143 interrupted by SIGINT/SIGTERM\n"
"(what was accepted is stored).\n";

enum fmt { F_AUTO, F_JSONL, F_JSON, F_MSGPACK, F_OTLP };

enum { OPT_STRICT = OPT_TOOL, OPT_NO_SYNC, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_SEGSIZE, OPT_FORMAT_VERSION,
	OPT_MAX_ERRORS };

static const struct option longopts[] = {
	CLI_OPTS_COMMON,
	{ "format", required_argument, NULL, 'F' },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "no-sync", no_argument, NULL, OPT_NO_SYNC },
	{ "segment-size", required_argument, NULL, OPT_SEGSIZE },
	{ "format-version", required_argument, NULL, OPT_FORMAT_VERSION },
	{ "max-errors", required_argument, NULL, OPT_MAX_ERRORS },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ NULL, 0, NULL, 0 }
};

/* One input being read. */
typedef struct input {
	const char *name;   /* for messages: the path, or "<stdin>" */
	int fd;
	uint8_t *buf;       /* window; allocated cap + TT_JSON_PADDING bytes */
	size_t cap;
	size_t off, len;    /* unread bytes are buf[off, len) */
	int eof;
	uint64_t pos;       /* input offset of buf[off] */
	uint64_t line;      /* 1-based number of the line at buf[off] */
	uint64_t size;      /* file size for the ETA, 0 if unknown */
	off_t start;        /* where reading began (a regular file; for --strict) */
	int seekable;       /* a regular file: can be read twice */
	cli_src *src;       /* the bytes, decompressed if gzip or zstd */
	uint64_t records;   /* records and rejections from this input */
} input;

/* The whole run. */
typedef struct ingest {
	tt_store *store;
	tt_writer *w;
	tt_decoder *dec;
	int strict;
	int checking;       /* --strict first pass: count, do not store */
	int fatal;          /* a write error: stop everything */
	int in_msgpack;     /* at_line counts msgpack objects, not lines */
	uint64_t accepted, rejected;
	uint64_t pass_rejected; /* rejected in the current pass */
	int64_t now;        /* receive time for records without ts */
	/* messages */
	input *in;
	uint64_t at_line;   /* line of the current line/document start */
	/* progress */
	int progress;        /* the meter is on */
	uint64_t bytes_done; /* over all inputs, completed ones (bytes read from files) */
	uint64_t max_errors; /* stop after this many rejections; 0 = never */
	int too_many;        /* max_errors reached */
	int unreadable;      /* an input could not be opened or read */
} ingest;

static ingest g;

/* ---- reading */

static int input_open(input *in, const char *path)
{
	struct stat st;

	memset(in, 0, sizeof(*in));
	if (!path || strcmp(path, "-") == 0) {
		in->name = "<stdin>";
		in->fd = STDIN_FILENO;
	} else {
		in->name = path;
		in->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (in->fd < 0) {
			cli_err("could not open '%s': %s", path, strerror(errno));
			g.unreadable = 1;
			return -1;
		}
	}
	if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		in->start = lseek(in->fd, 0, SEEK_CUR);
		in->seekable = in->start >= 0;
		in->size = (uint64_t)st.st_size;
	}
	if (fstat(in->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		cli_err("could not read '%s': Is a directory", in->name);
		g.unreadable = 1;
		if (in->fd != STDIN_FILENO)
			close(in->fd);
		return -1;
	}
	in->cap = WINDOW;
	in->buf = malloc(in->cap + TT_JSON_PADDING);
	if (!in->buf || cli_src_new(&in->src, in->fd) < 0)
		cli_die(CLI_EXIT_STORE, "out of memory");
	in->line = 1;
	return 0;
}

static void input_close(input *in)
{
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	free(in->buf);
	in->buf = NULL;
	cli_src_free(in->src);
	in->src = NULL;
}

/* Start over from the beginning (--strict second pass). */
static void input_rewind(input *in)
{
	if (lseek(in->fd, in->start, SEEK_SET) < 0)
		cli_die(CLI_EXIT_STORE, "could not rewind '%s': %s", in->name, strerror(errno));
	in->off = in->len = 0;
	in->eof = 0;
	in->pos = 0;
	in->line = 1;
	cli_src_reset(in->src);
}

static void progress(void);

/* Move the unread bytes to the front and read once more (one read(2): a pipe
 * gives what it has, so a slow producer's lines are handled as they come).
 * Returns bytes read, 0 at end of input. */
static size_t refill(input *in)
{
	ssize_t n;
	char why[200];

	if (in->off) {
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	if (in->eof || in->len == in->cap)
		return 0;
	n = cli_src_read(in->src, in->buf + in->len, in->cap - in->len, why, sizeof why);
	if (n < 0) {
		if (!cli_interrupted)
			cli_err("could not read '%s': %s", in->name, why);
		in->eof = 1;
		g.unreadable = 1; /* the rest of this input is lost: not a clean run */
		return 0;
	}
	if (n == 0) {
		in->eof = 1;
		return 0;
	}
	in->len += (size_t)n;
	g.now = cli_now_ns();
	if (g.progress)
		progress();
	return (size_t)n;
}

/* Double the window (for one line or object bigger than it). */
static int grow(input *in, size_t max)
{
	size_t nc = in->cap * 2;
	uint8_t *nb;

	if (in->cap >= max)
		return -1;
	if (nc > max)
		nc = max;
	nb = realloc(in->buf, nc + TT_JSON_PADDING);
	if (!nb)
		return -1;
	in->buf = nb;
	in->cap = nc;
	return 0;
}

/* ---- messages */

static void where(char *buf, size_t n, const tt_rec_err *err)
{
	if (err->field[0])
		snprintf(buf, n, " (field %s)", err->field);
	else
		buf[0] = '\0';
}

/* "FILE:LINE: reason (field f)" -- and for an element of a batch,
 * "FILE:LINE: element N: reason (field f)". */
static void report(uint64_t line, long long element, const tt_rec_err *err)
{
	char w[96];

	g.rejected++;
	g.pass_rejected++;
	if (g.in)
		g.in->records++;
	if (g.max_errors && g.rejected >= g.max_errors && !g.too_many) {
		g.too_many = 1; /* binary or wildly wrong input: stop, summarise */
		if (!cli_quiet)
			cli_err("stopping after %llu rejected records (--max-errors); %s looks like "
			    "no input tt-ingest reads (JSON lines, JSON, msgpack, OTLP; gzip or zstd of those)",
			    (unsigned long long)g.rejected, g.in ? g.in->name : "the input");
	}
	if (cli_quiet || (g.too_many && g.rejected > g.max_errors))
		return; /* past the cap: counted, not printed */
	cli_meter_clear();
	where(w, sizeof(w), err);
	if (element >= 0)
		fprintf(stderr, "%s:%llu: element %lld: %s%s\n", g.in->name,
		    (unsigned long long)line, element, err->reason[0] ? err->reason : "rejected", w);
	else
		fprintf(stderr, "%s:%llu: %s%s\n", g.in->name, (unsigned long long)line,
		    err->reason[0] ? err->reason : "rejected", w);
}

static void progress(void)
{
	cli_meter_at at;

	memset(&at, 0, sizeof(at));
	at.unit = "records";
	at.n = g.accepted;
	at.has_bytes = 1;
	at.bytes = g.bytes_done + (g.in ? cli_src_raw_pos(g.in->src) : 0);
	if (g.in && g.in->size) { /* compressed bytes for a .gz */
		at.done = cli_src_raw_pos(g.in->src);
		at.total = g.in->size;
	}
	cli_meter_show(&at, 0);
}

/* ---- where records came from, while they may not be durable yet
 *
 * A mark is pushed for each line (msgpack: object) that yields records: the
 * ticket of its first record. Marks whose records are all durable are pruned,
 * so memory follows the writer's backlog, not the input. When the writer
 * fails, the first record that was not stored is named by its line. */

struct mark { uint64_t ticket, line; const char *name; int msgpack; };
static struct { struct mark *v; size_t head, len, cap; uint64_t pushes; int lost; } marks;

static struct mark *mark_at(size_t i) { return &marks.v[(marks.head + i) % marks.cap]; }

static void marks_prune(uint64_t durable)
{
	while (marks.len >= 2 && mark_at(1)->ticket <= durable + 1) {
		marks.head = (marks.head + 1) % marks.cap;
		marks.len--;
	}
}

static void mark_push(uint64_t ticket)
{
	struct mark *last = marks.len ? mark_at(marks.len - 1) : NULL;

	if (last && last->line == g.at_line && last->name == g.in->name)
		return;
	if (++marks.pushes % 4096 == 0)
		marks_prune(tt_writer_durable(g.w));
	if (marks.len == marks.cap) {
		size_t nc = marks.cap ? 2 * marks.cap : 1024;
		struct mark *nv = malloc(nc * sizeof *nv);
		if (!nv) {
			marks.lost = 1; /* the failure report gets vaguer, nothing else */
			return;
		}
		for (size_t i = 0; i < marks.len; i++)
			nv[i] = *mark_at(i);
		free(marks.v);
		marks.v = nv, marks.cap = nc, marks.head = 0;
	}
	*mark_at(marks.len++) = (struct mark){ ticket, g.at_line, g.in->name, g.in_msgpack };
}

/* After a write failure: say exactly what is stored and where to resume. */
static void report_stored(uint64_t durable)
{
	marks_prune(durable);
	if (durable >= g.accepted || marks.len == 0 || marks.lost ||
	    mark_at(0)->ticket > durable + 1) {
		cli_err("%llu records of this run are stored", (unsigned long long)durable);
		return;
	}
	{
		const struct mark *m = mark_at(0);
		uint64_t before = durable + 1 - m->ticket;
		if (m->msgpack)
			cli_err("%llu records are stored: everything before %s object %llu%s; "
			    "nothing from there on", (unsigned long long)durable, m->name,
			    (unsigned long long)m->line, before ? " and part of it" : "");
		else
			cli_err("%llu records are stored: everything before %s:%llu%s; "
			    "nothing from there on", (unsigned long long)durable, m->name,
			    (unsigned long long)m->line, before ? " and part of that line" : "");
	}
}

/* ---- the sink: decoded records go to the writer */

static int on_record(void *ctx, const uint8_t *rec, size_t len)
{
	int64_t rc;

	(void)ctx;
	if (g.checking) {
		return 0;
	}
	rc = tt_writer_append_decoded(g.w, rec, len); /* straight from tt_decode_* */
	if (rc > 0) {
		g.accepted++;
		g.in->records++;
		mark_push((uint64_t)rc);
		return 0;
	}
	if (rc == TT_EBADREC || rc == TT_ETOOBIG) {
		tt_rec_err err;
		memset(&err, 0, sizeof(err));
		snprintf(err.reason, sizeof(err.reason), "%s", tt_strerror((int)rc));
		report(g.at_line, -1, &err);
		return 0;
	}
	{
		int cause = tt_writer_error(g.w);
		cli_err("could not append to store '%s': %s", tt_store_dir(g.store),
		    tt_strerror(cause ? cause : (int)rc));
	}
	g.fatal = 1;
	return (int)rc;
}

/* An element of a batch was rejected: its line is found from the offset. */
static const uint8_t *doc_base; /* start of the text handed to the decoder */
static size_t doc_len;

static void on_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	uint64_t line = g.at_line;

	(void)ctx;
	if (doc_base && err->offset && err->offset < doc_len) {
		const uint8_t *p = doc_base, *end = doc_base + err->offset;
		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			line++;
			p++;
		}
	}
	report(line, (long long)index, err);
}

static const tt_sink sink = { on_record, on_reject, NULL };

/* In --strict's first pass the first rejection ends the pass. */
static int stop_now(void)
{
	return g.fatal || cli_interrupted || g.too_many || (g.checking && g.pass_rejected);
}

/* ---- formats */

/* Out of memory while decoding is not a bad record: stop, as on a write
 * error (what was appended before is stored; the exit status says it all). */
static int decode_oom(int rc)
{
	if (rc != -ENOMEM || g.fatal)
		return g.fatal;
	cli_err("out of memory decoding '%s'", g.in->name);
	g.fatal = 1;
	return 1;
}

static void decode_text(const uint8_t *p, size_t n, uint64_t line)
{
	tt_rec_err err;
	int rc;

	memset(&err, 0, sizeof(err));
	g.at_line = line;
	doc_base = p;
	doc_len = n;
	rc = tt_decode_json(g.dec, (const char *)p, n, 1, g.now, &sink, &err);
	if (rc < 0 && !decode_oom(rc)) {
		uint64_t l = line;
		if (err.offset && err.offset < n)
			for (size_t i = 0; i < err.offset; i++)
				l += p[i] == '\n';
		report(l, -1, &err);
	}
	doc_base = NULL;
}

static int blank(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* JSON lines: each line is a record, an array, or a batch document. */
static void run_jsonl(input *in)
{
	int skipping = 0; /* inside a line that was too long */

	while (!stop_now()) {
		uint8_t *p = in->buf + in->off, *end = in->buf + in->len;
		uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n;

		if (!nl) {
			if (in->eof) {
				if (p < end && !skipping && !blank(p, (size_t)(end - p)))
					decode_text(p, (size_t)(end - p), in->line);
				in->pos += (size_t)(end - p);
				in->off = in->len;
				return;
			}
			if (in->off == 0 && in->len == in->cap) {
				if (skipping) {
					in->pos += in->len;
					in->len = 0;
				} else if (grow(in, LINE_MAX_BYTES) < 0) {
					tt_rec_err err;
					memset(&err, 0, sizeof(err));
					snprintf(err.reason, sizeof(err.reason),
					    "line longer than %u MiB", LINE_MAX_BYTES >> 20);
					report(in->line, -1, &err);
					skipping = 1;
					in->pos += in->len;
					in->len = 0;
				}
			}
			refill(in);
			continue;
		}
		n = (size_t)(nl - p);
		if (skipping)
			skipping = 0;
		else if (n && !blank(p, n))
			decode_text(p, n && p[n - 1] == '\r' ? n - 1 : n, in->line);
		in->off += n + 1;
		in->pos += n + 1;
		in->line++;
	}
}

/* One JSON document (batch, array, OTLP export), read whole. */
static void run_json(input *in)
{
	while (!in->eof && !cli_interrupted) {
		if (in->len == in->cap && grow(in, DOC_MAX) < 0) {
			tt_rec_err err;
			memset(&err, 0, sizeof(err));
			snprintf(err.reason, sizeof(err.reason), "document larger than %u MiB",
			    DOC_MAX >> 20);
			report(1, -1, &err);
			return;
		}
		refill(in);
	}
	if (cli_interrupted || blank(in->buf + in->off, in->len - in->off))
		return;
	decode_text(in->buf + in->off, in->len - in->off, 1);
	in->pos += in->len - in->off;
	in->off = in->len;
}

/* A stream of msgpack objects (records in any dialect, or arrays of them).
 * An object is decoded as soon as it is whole in the window, so a slow
 * producer's records go out as they come. A malformed object ends the input:
 * there is no way to find where the next one starts. */
static void mp_reject(input *in, uint64_t index, uint64_t at, const char *reason,
    const char *field, const char *tail)
{
	g.rejected++;
	g.pass_rejected++;
	if (cli_quiet)
		return;
	cli_meter_clear();
	fprintf(stderr, "%s: object %llu at byte %llu: %s%s%s%s%s\n", in->name,
	    (unsigned long long)index, (unsigned long long)at, reason,
	    field && *field ? " (field " : "", field && *field ? field : "",
	    field && *field ? ")" : "", tail);
}

static void run_msgpack(input *in)
{
	uint64_t index = 0;

	while (!stop_now()) {
		size_t avail = in->len - in->off, used = 0;
		tt_rec_err err;
		int rc;

		if (avail == 0) {
			if (in->eof)
				return;
			refill(in);
			continue;
		}
		memset(&err, 0, sizeof(err));
		g.at_line = index;
		/* the decoder proves the object whole and bounded before it emits
		 * anything, so a failure on a cut object is retried with more bytes */
		rc = tt_decode_msgpack(g.dec, in->buf + in->off, avail, &used, g.now, &sink, &err);
		if (decode_oom(rc))
			return;
		if (rc == TT_EBADREC && used == 0 && !in->eof && !g.fatal) {
			if (in->off == 0 && in->len == in->cap && grow(in, LINE_MAX_BYTES) < 0) {
				mp_reject(in, index, in->pos, "object too large or malformed", NULL,
				    "; rest of input skipped");
				return;
			}
			refill(in);
			continue;
		}
		if (rc < 0 && used == 0 && !g.fatal) {
			mp_reject(in, index, in->pos + err.offset,
			    err.reason[0] ? err.reason : "malformed msgpack", err.field,
			    "; rest of input skipped");
			return;
		}
		if (rc < 0 && !g.fatal) /* a whole object, but not a record: skip it */
			mp_reject(in, index, in->pos + err.offset, err.reason, err.field, "");
		in->off += used;
		in->pos += used;
		index++;
	}
}

/* Decide the format from the first bytes: msgpack map/array headers; '['
 * is a JSON document; '{' is JSON lines when its first line is a whole
 * object, else a (pretty-printed) document. */
static int detect(input *in, int want)
{
	for (;;) {
		size_t i = in->off;
		int more = !in->eof && !(in->off == 0 && in->len == in->cap);
		uint8_t c, *nl;

		if (in->len - i >= 3 && memcmp(in->buf + i, "\xef\xbb\xbf", 3) == 0) {
			in->off += 3; /* UTF-8 byte order mark */
			in->pos += 3;
			i += 3;
		}
		while (i < in->len && (in->buf[i] == ' ' || in->buf[i] == '\t' ||
		                          in->buf[i] == '\r' || in->buf[i] == '\n'))
			i++;
		if (i == in->len) { /* nothing but blanks so far */
			if (!more)
				return F_JSONL;
			refill(in);
			continue;
		}
		c = in->buf[i];
		if (want == F_AUTO && ((c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf)))
			return F_MSGPACK;
		if (c == '[')
			return F_JSON;
		if (c != '{')
			return F_JSONL; /* not JSON: reported line by line */
		nl = memchr(in->buf + i, '\n', in->len - i);
		if (!nl) { /* wait for the end of the first line */
			if (!more)
				return F_JSONL; /* one line: the same either way */
			refill(in);
			continue;
		}
		{
			size_t e = (size_t)(nl - in->buf);
			while (e > i && (in->buf[e - 1] == ' ' || in->buf[e - 1] == '\t' ||
			                    in->buf[e - 1] == '\r'))
				e--;
			return in->buf[e - 1] == '}' ? F_JSONL : F_JSON;
		}
	}
}

static void run_input(input *in, int fmt)
{
	int f = fmt;

	if (f == F_AUTO || f == F_OTLP)
		f = detect(in, fmt);
	g.in_msgpack = f == F_MSGPACK;
	switch (f) {
	case F_JSON:
		run_json(in);
		break;
	case F_MSGPACK:
		run_msgpack(in);
		break;
	default:
		run_jsonl(in);
		break;
	}
}

/* --strict on a pipe: copy it to an unlinked temporary file to read twice. */
static int spool(input *in)
{
	char path[4096];
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%s/tt-ingest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		cli_err("could not create a temporary file in '%s': %s",
		    tmp && *tmp ? tmp : "/tmp", strerror(errno));
		return -1;
	}
	(void)unlink(path);
	for (;;) {
		ssize_t n = read(in->fd, in->buf, in->cap), w = 0;
		if (n < 0 && errno == EINTR && !cli_interrupted)
			continue;
		if (n < 0) {
			cli_err("could not read '%s': %s", in->name, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		while (w < n) {
			ssize_t k = write(fd, in->buf + w, (size_t)(n - w));
			if (k < 0) {
				if (errno == EINTR)
					continue;
				cli_err("could not write a temporary file: %s", strerror(errno));
				close(fd);
				return -1;
			}
			w += k;
		}
	}
	if (in->fd > STDIN_FILENO)
		close(in->fd);
	in->fd = fd;
	cli_src_free(in->src);
	if (cli_src_new(&in->src, fd) < 0)
		cli_die(CLI_EXIT_STORE, "out of memory");
	in->size = (uint64_t)lseek(fd, 0, SEEK_END);
	in->start = 0;
	in->seekable = 1;
	input_rewind(in);
	return 0;
}

int main(int argc, char **argv)
{
	tt_store_opts so;
	tt_decode_opts dopts;
	int c, fmt = F_AUTO, want_progress = -1, rc, code = CLI_EXIT_OK, max_errors_set = 0;
	const char *store = NULL;
	cli_opts o;

	cli_init(argv[0]);
	cli_opts_init(&o);
	memset(&so, 0, sizeof(so));
	while ((c = getopt_long(argc, argv, CLI_SHORT_COMMON "F:", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			if (strcmp(optarg, "auto") == 0)
				fmt = F_AUTO;
			else if (strcmp(optarg, "jsonl") == 0 || strcmp(optarg, "ndjson") == 0)
				fmt = F_JSONL;
			else if (strcmp(optarg, "json") == 0)
				fmt = F_JSON;
			else if (strcmp(optarg, "msgpack") == 0)
				fmt = F_MSGPACK;
			else if (strcmp(optarg, "otlp") == 0)
				fmt = F_OTLP;
			else
				cli_die(CLI_EXIT_USAGE,
				    "unknown input format '%s' (auto, jsonl, json, msgpack, otlp)", optarg);
			break;
		case OPT_STRICT:
			g.strict = 1;
			break;
		case OPT_NO_SYNC:
			so.sync = TT_SYNC_NONE;
			break;
		case OPT_FORMAT_VERSION:
			if (strcmp(optarg, "1") == 0)
				so.flags |= TT_OPEN_FORMAT1;
			else if (strcmp(optarg, "2") != 0)
				cli_die(CLI_EXIT_USAGE, "--format-version: '%s' is not 1 or 2", optarg);
			break;
		case OPT_SEGSIZE:
			if (tt_parse_size(optarg, &so.segment_size) < 0 ||
			    so.segment_size < (64u << 10) || so.segment_size > (4ull << 30))
				cli_die(CLI_EXIT_USAGE, "--segment-size: '%s' is not a size from 64K to 4G", optarg);
			break;
		case OPT_PROGRESS:
			want_progress = 1;
			break;
		case OPT_MAX_ERRORS: {
			char *end;
			errno = 0;
			g.max_errors = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || *optarg == '-')
				cli_bad_value("--max-errors", optarg);
			max_errors_set = 1;
			break;
		}
		case OPT_NO_PROGRESS:
			want_progress = 0;
			break;
		case 'o':
			cli_die(CLI_EXIT_USAGE, "tt-ingest has no output; see --help");
		default:
			cli_opts_parse(&o, c, optarg, usage_str);
		}
	}
	if (!max_errors_set)
		g.max_errors = g.strict ? 0 : 100;
	store = cli_store_dir(o.store);
	g.progress = cli_meter_start(want_progress);
	g.now = cli_now_ns();
	cli_catch_interrupt();

	g.store = cli_store_open(store, TT_OPEN_CREATE, &so);
	rc = tt_writer_open(g.store, &g.w);
	if (rc < 0)
		cli_die(CLI_EXIT_STORE, "could not write to store '%s': %s", store, tt_strerror(rc));
	memset(&dopts, 0, sizeof(dopts));
	if (tt_decoder_new(&g.dec, &dopts) < 0)
		cli_die(CLI_EXIT_STORE, "out of memory");

	for (int i = optind; i < argc || i == optind; i++) {
		const char *path = i < argc ? argv[i] : NULL;
		input in;

		if (g.fatal || cli_interrupted || g.too_many)
			break;
		if (input_open(&in, path) < 0)
			continue; /* named; the exit status will say it (2) */
		g.in = &in;
		if (g.strict) {
			if (!in.seekable && spool(&in) < 0) {
				input_close(&in);
				g.unreadable = 1;
				break;
			}
			g.checking = 1;
			g.pass_rejected = 0;
			run_input(&in, fmt);
			g.checking = 0;
			if (g.pass_rejected || cli_interrupted) {
				if (!cli_interrupted)
					cli_err("%s: nothing stored from this input (--strict)", in.name);
				input_close(&in);
				break;
			}
			input_rewind(&in);
		}
		run_input(&in, fmt);
		g.bytes_done += cli_src_raw_pos(in.src);
		if (in.records == 0 && !cli_interrupted && !g.fatal && !cli_quiet)
			cli_warn("no records in %s%s", strcmp(in.name, "<stdin>") ? "" : "standard input",
			    strcmp(in.name, "<stdin>") ? in.name : " (did the command feeding it fail?)");
		g.in = NULL;
		input_close(&in);
	}

	tt_decoder_free(g.dec);
	cli_meter_clear();
	rc = tt_writer_flush(g.w);
	if (rc < 0 && !g.fatal)
		cli_err("could not write to store '%s': %s", store, tt_strerror(rc));
	if (rc < 0 || g.fatal) {
		g.fatal = 1;
		uint64_t durable = tt_writer_durable(g.w);
		report_stored(durable);
		g.accepted = durable;
	}
	rc = tt_writer_close(g.w, 0);
	if (rc < 0 && !g.fatal) {
		cli_err("could not write to store '%s': %s", store, tt_strerror(rc));
		g.fatal = 1;
		g.accepted = 0;
	}
	free(marks.v);
	tt_store_close(g.store);
	if (!cli_quiet)
		fprintf(stderr, "%s: accepted %llu, rejected %llu%s%s\n", cli_prog,
		    (unsigned long long)g.accepted, (unsigned long long)g.rejected,
		    cli_interrupted ? " (interrupted: the accepted records are stored, the rest of "
		        "the input was not read)" : "",
		    g.too_many ? " (stopped at --max-errors)" : "");
	cli_opts_free(&o);
	if (g.fatal)
		code = CLI_EXIT_STORE;
	else if (cli_interrupted)
		code = 128 + cli_interrupted; /* 130 SIGINT, 143 SIGTERM, as a shell reports it */
	else if (g.unreadable)
		code = CLI_EXIT_USAGE;
	else if (g.rejected)
		code = CLI_EXIT_NOMATCH;
	return cli_exit_code(code);
}
