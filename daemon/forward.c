/*
 * forward.c -- shipping the store to other systems: an OTLP/HTTP endpoint
 * (--forward-otlp URL: POST URL/v1/traces and URL/v1/logs) and ClickHouse's
 * HTTP interface (--forward-clickhouse URL: INSERT INTO table FORMAT
 * JSONEachRow, one row per record). Bodies are gzipped (Content-Encoding:
 * gzip). OTLP goes as http/protobuf (the OTel exporters' default) or, with
 * --forward-otlp-protocol http/json, as OTLP/JSON. Either way the records
 * are mapped to OTLP once, by the printer of tt-query -o otlp; protobuf is
 * that JSON re-encoded (tt_otlp_json_to_proto), not a second mapping.
 *
 * Each destination follows the store, not ttd's ingest path, so it ships what
 * any writer stored (ttd, tt-ingest). Its position is a tt_pos kept in
 * DIR/forward/NAME.cursor ("tt1-gen-seq-idx\n", FORMAT.md 10.1; libstore
 * reads and writes it, gc honours it), written only after the upstream
 * answered 2xx for a whole batch: temp file, fsync, rename, fsync of the
 * directory. The batch in flight when ttd dies is sent again at the next
 * start, so delivery is at least once with at most one batch repeated. A new
 * destination (no cursor file) starts at the store's end, saved at once, or
 * at its start with --forward-start start.
 *
 * Batches hold --forward-batch records (1000) or --forward-batch-size record
 * bytes (1 MiB), whichever comes first, and a partial batch goes once it is
 * --forward-flush old (1 s). One request in flight per destination. No answer
 * (refused, reset, --forward-timeout), 408, 429 and 5xx are retried with
 * exponential backoff and jitter (1 s, 2 s, 4 s ... 30 s, 50-100 % of it) for
 * as long as it takes: the records wait in the store. Any other answer that
 * is not 2xx drops the request's records (logged, counted) and goes on: a
 * request the upstream refuses would be refused for ever.
 *
 * Everything runs on ttd's loop: the store is read a bounded number of blocks
 * per turn, requests are libevent HTTP client requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "../cli/cli.h" /* the otlp printer of tt-query -o otlp, cli_id_text */
#include "forward.h"
#include "ttd.h"

#define FWD_TICK_MS 100          /* look for new records this often */
#define FWD_BLOCKS_PER_TURN 64   /* store blocks read per destination per turn */
#define FWD_BACKOFF_MAX_MS 30000 /* longest wait between attempts */
#define FWD_LAG_BLOCKS 1024      /* lag counting reads at most this many blocks */
#define FWD_LAG_EVERY_NS 1000000000LL
#define FWD_SAVE_EVERY_NS 1000000000LL /* skipped (filtered) records: cursor saves */

enum { FWD_OTLP, FWD_CLICKHOUSE };

/* One request of a batch: OTLP sends the spans and the logs apart. */
typedef struct fwd_part {
	char *target;        /* path and query */
	tt_buf body;         /* gzip */
	size_t nrec;         /* records it carries */
} fwd_part;

typedef struct fwd_dest {
	int kind;            /* FWD_OTLP, FWD_CLICKHOUSE */
	char *name;          /* metrics label and cursor file name */
	char *url;           /* as given */
	char *host;
	int port;
	char hostport[300];  /* Host header */
	char *path;          /* URL path without a trailing '/' */
	char *query;         /* URL query or NULL (ClickHouse: user, database ...) */
	char *table;         /* ClickHouse table */
	int json;            /* OTLP: http/json, not http/protobuf */
	tt_filter *filter;   /* NULL: every record */
	char **headers;      /* "K", "V" pairs added to requests */
	char *header_mem[TTD_MAX_LIST]; /* the copies headers point into */
	int nheaders;
	char *cursor_file;   /* DIR/forward/NAME.cursor */
	char *dropped_file;  /* DIR/forward/NAME.dropped: what gc deleted unshipped */
	uint64_t gc_dropped_seen; /* its total when last read */
	struct evhttp_connection *conn; /* kept alive between requests */
	tt_pos acked;        /* records up to here are answered (2xx or dropped) */
	tt_pos scanned;      /* after the records of the batch */
	int dirty;           /* acked moved past what the cursor file says */
	int64_t saved_mono;  /* when the cursor file was last written */
	/* the batch: copies of the store's records, back to back */
	tt_buf recs;
	size_t *off;         /* start of record i; off[n] = recs.len */
	size_t n, cap;
	int64_t first_mono;  /* when the batch got its first record */
	fwd_part part[2];
	int nparts, cur;     /* the part being sent */
	int busy;            /* a batch is out (in flight or waiting to retry) */
	int tries;           /* failed attempts of the current part */
	struct event *retry;
	/* /metrics, /health */
	uint64_t shipped, dropped, retries, requests;
	uint64_t lag_records;
	int lag_capped;      /* more than FWD_LAG_BLOCKS blocks behind: a lower bound */
	double lag_seconds;
	int64_t last_ok_ns;  /* wall clock of the last 2xx */
	char last_error[200];
} fwd_dest;

static fwd_dest *g_dest;        /* --forward-otlp, --forward-clickhouse, then
                                 * the [forward NAME] sections */
static int g_ndest;
static struct event *g_tick;
static int g_stopping;
static int64_t g_lag_mono;

static int
pos_eq(const tt_pos *a, const tt_pos *b)
{
	return a->seq == b->seq && a->idx == b->idx;
}

/* ---- the cursor file */

static int
cursor_save(fwd_dest *d)
{
	int r = tt_forward_cursor_write(d->cursor_file, &d->acked);

	if (r < 0) {
		log_warn("forward %s: could not save cursor '%s': %s", d->name, d->cursor_file,
		    tt_strerror(r));
		return r;
	}
	d->dirty = 0;
	d->saved_mono = ttd_mono_ns();
	return 0;
}

/* Where a destination starts: its cursor file, else the store's end (saved
 * now, so records stored while ttd is down are not skipped), else with
 * --forward-start start the store's beginning. -1 on a damaged file. */
static int
cursor_load(fwd_dest *d, int from_start)
{
	int r = tt_forward_cursor_read(d->cursor_file, &d->acked);

	(void)tt_forward_dropped_read(d->dropped_file, &d->gc_dropped_seen);
	if (r == TT_EBADARG) {
		log_err("forward %s: cursor file '%s' is damaged; remove it to start at the "
		    "store's end (or with --forward-start start, its beginning)", d->name,
		    d->cursor_file);
		return -1;
	}
	if (r == 0) {
		d->scanned = d->acked;
		return 0;
	}
	if (r != -ENOENT) {
		log_err("forward %s: could not read '%s': %s", d->name, d->cursor_file,
		    strerror(-r));
		return -1;
	}
	memset(&d->acked, 0, sizeof d->acked);
	if (!from_start && (r = tt_store_end(g_ttd.store, &d->acked)) < 0) {
		log_err("forward %s: could not find the store's end: %s", d->name, tt_strerror(r));
		return -1;
	}
	d->scanned = d->acked;
	log_info("forward %s: new destination, starting at the store's %s", d->name,
	    from_start ? "beginning" : "end");
	return cursor_save(d) < 0 ? -1 : 0;
}

/* ---- encoding */

static int
gzip_into(tt_buf *out, const void *p, size_t n)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	out->len = 0;
	if (tt_buf_reserve(out, deflateBound(&z, (uLong)n)) < 0) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)p;
	z.avail_in = (uInt)n;
	z.next_out = out->data;
	z.avail_out = (uInt)out->cap;
	r = deflate(&z, Z_FINISH);
	out->len = z.total_out;
	deflateEnd(&z);
	return r == Z_STREAM_END ? 0 : -ENOMEM;
}

static const uint8_t *
rec_at(const fwd_dest *d, size_t i, size_t *len)
{
	*len = d->off[i + 1] - d->off[i];
	return d->recs.data + d->off[i];
}

static int
add_part(fwd_dest *d, const char *target, const void *body, size_t n, size_t nrec)
{
	fwd_part *p = &d->part[d->nparts];

	if ((p->target = strdup(target)) == NULL || gzip_into(&p->body, body, n) < 0)
		return -ENOMEM;
	p->nrec = nrec;
	d->nparts++;
	return 0;
}

/* One OTLP export document as the destination's protocol wants it. */
static int
add_otlp_part(fwd_dest *d, const char *target, const char *json, size_t n, int logs,
    size_t nrec)
{
	tt_buf pb = { 0 };
	int r;

	if (d->json)
		return add_part(d, target, json, n, nrec);
	if ((r = tt_otlp_json_to_proto(json, n, logs, &pb)) == 0)
		r = add_part(d, target, pb.data, pb.len, nrec);
	tt_buf_free(&pb);
	return r;
}

/* The batch as tt-query -o otlp prints it: a traces export line, then a logs
 * export line (either may be absent); one request each, as JSON or protobuf. */
static int
encode_otlp(fwd_dest *d)
{
	cli_opts o;
	cli_out *out;
	tt_buf b = { 0 };
	size_t nlogs = 0, len;
	char target[2048];
	int r = 0;

	memset(&o, 0, sizeof o);
	o.fmt = CLI_FMT_OTLP;
	if ((out = cli_out_new_buf(&o, &b)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		const uint8_t *rec = rec_at(d, i, &len);
		tt_rec_info in;
		cli_out_rec(out, rec, len, NULL);
		/* the printer's split: kind "log" goes to the logs export */
		if (tt_rec_info_get(rec, len, &in) == 0 && in.kind.n == 3 &&
		    memcmp(in.kind.p, "log", 3) == 0)
			nlogs++;
	}
	if (cli_out_end(out) < 0) {
		tt_buf_free(&b);
		return -ENOMEM;
	}
	for (size_t at = 0; at < b.len && r == 0;) {
		const char *line = (const char *)b.data + at;
		const char *nl = memchr(line, '\n', b.len - at);
		size_t ln = nl ? (size_t)(nl - line) : b.len - at;
		int logs = ln > 15 && memcmp(line, "{\"resourceLogs\"", 15) == 0;
		snprintf(target, sizeof target, "%s/v1/%s%s%s", d->path, logs ? "logs" : "traces",
		    d->query ? "?" : "", d->query ? d->query : "");
		if (ln)
			r = add_otlp_part(d, target, line, ln, logs, logs ? nlogs : d->n - nlogs);
		at += ln + 1;
	}
	tt_buf_free(&b);
	return r;
}

static void
json_field(tt_buf *b, const char *k, const char *p, size_t n)
{
	jw_fmt(b, ",\"%s\":", k);
	tt_json_str(b, p ? p : "", p ? n : 0);
}

/* One JSONEachRow row: the columns of contrib/clickhouse/schema.sql. */
static int
ch_row(tt_buf *b, tt_buf *tmp, const uint8_t *rec, size_t len)
{
	tt_rec_info in;
	tt_value v;
	const char *lv;
	int64_t s;

	if (tt_rec_info_get(rec, len, &in) < 0)
		return -1;
	s = in.ts / 1000000000 - (in.ts % 1000000000 < 0);
	jw_fmt(b, "{\"ts\":%" PRId64 ",\"time\":%" PRId64, in.ts, s < 0 ? 0 : s);
	tmp->len = 0;
	if (in.corr.p)
		cli_id_text(tmp, in.corr.p, in.corr.n, in.corr_is_bin);
	json_field(b, "corr", (const char *)tmp->data, tmp->len);
	json_field(b, "service", in.service.p, in.service.n);
	json_field(b, "name", in.name.p, in.name.n);
	json_field(b, "kind", in.kind.p, in.kind.n);
	lv = tt_level_name(in.level);
	json_field(b, "level", lv, strlen(lv));
	json_field(b, "dir", in.dir.p, in.dir.n);
	json_field(b, "span", in.span.p, in.span.n);
	json_field(b, "parent", in.parent.p, in.parent.n);
	jw_fmt(b, ",\"dur\":%" PRId64, in.dur >= 0 ? in.dur : 0);
	json_field(b, "status", in.status.p, in.status.n);
	json_field(b, "msg", in.msg.p, in.msg.n);
	json_field(b, "host", in.host.p, in.host.n);
	tmp->len = 0;
	if (tt_rec_field(rec, len, "attrs", &v) != 1 || v.type != TT_V_MAP ||
	    tt_value_to_json(v.raw, v.raw_len, tmp) < 0) {
		tmp->len = 0;
		(void)tt_buf_append(tmp, "{}", 2);
	}
	json_field(b, "attrs", (const char *)tmp->data, tmp->len);
	tmp->len = 0;
	if (tt_rec_to_json(rec, len, 0, tmp) < 0)
		return -1;
	json_field(b, "raw", (const char *)tmp->data, tmp->len);
	jw_raw(b, "}\n");
	return 0;
}

static int
encode_clickhouse(fwd_dest *d)
{
	tt_buf b = { 0 }, tmp = { 0 };
	char sql[600], target[4096];
	char *q;
	size_t len, bad = 0;
	int r;

	for (size_t i = 0; i < d->n; i++) {
		const uint8_t *rec = rec_at(d, i, &len);
		if (ch_row(&b, &tmp, rec, len) < 0)
			bad++;
	}
	tt_buf_free(&tmp);
	if (bad) {
		d->dropped += bad;
		log_warn("forward %s: %zu records could not be encoded (skipped)", d->name, bad);
	}
	snprintf(sql, sizeof sql, "INSERT INTO %s FORMAT JSONEachRow", d->table);
	if ((q = evhttp_uriencode(sql, -1, 0)) == NULL) {
		tt_buf_free(&b);
		return -ENOMEM;
	}
	snprintf(target, sizeof target, "%s/?%s%sinput_format_skip_unknown_fields=1&query=%s",
	    d->path, d->query ? d->query : "", d->query ? "&" : "", q);
	free(q);
	r = b.len ? add_part(d, target, b.data, b.len, d->n - bad) : 0;
	tt_buf_free(&b);
	return r;
}

/* ---- sending */

static void pump(fwd_dest *d);
static void attempt(fwd_dest *d);

static void
batch_clear(fwd_dest *d)
{
	for (int i = 0; i < d->nparts; i++) {
		free(d->part[i].target);
		d->part[i].target = NULL;
		d->part[i].body.len = 0;
	}
	d->nparts = d->cur = 0;
	d->n = 0;
	d->recs.len = 0;
	d->busy = 0;
	d->tries = 0;
}

static void
batch_done(fwd_dest *d)
{
	d->acked = d->scanned;
	d->dirty = 1;
	(void)cursor_save(d); /* on failure the batch may be sent again: at least once */
	batch_clear(d);
	pump(d);
}

static void
part_done(fwd_dest *d)
{
	d->tries = 0;
	if (++d->cur < d->nparts)
		attempt(d);
	else
		batch_done(d);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	attempt(arg);
}

static void
failed(fwd_dest *d, const char *why)
{
	struct timeval tv;
	int64_t ms;
	int sh = d->tries < 6 ? d->tries : 6;

	snprintf(d->last_error, sizeof d->last_error, "%s", why);
	d->tries++;
	d->retries++;
	ms = 1000LL << sh;
	if (ms > FWD_BACKOFF_MAX_MS)
		ms = FWD_BACKOFF_MAX_MS;
	ms = ms / 2 + (int64_t)((uint64_t)rand() % (uint64_t)(ms / 2 + 1)); /* jitter: 50-100 % */
	/* the first three failures, then every tenth: a long outage does not
	 * fill the log */
	if (d->tries <= 3 || d->tries % 10 == 0)
		log_warn("forward %s: %s; retry %d in %lld ms", d->name, why, d->tries, (long long)ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->retry, &tv);
}

static void
done_cb(struct evhttp_request *req, void *arg)
{
	fwd_dest *d = arg;
	fwd_part *p = &d->part[d->cur];
	int code = req ? evhttp_request_get_response_code(req) : 0;
	char why[200], text[120];

	if (g_stopping)
		return;
	if (code >= 200 && code < 300) {
		d->shipped += p->nrec;
		d->last_ok_ns = ttd_now_ns();
		part_done(d);
		return;
	}
	if (code == 0) {
		failed(d, "no answer (connection refused, reset or timed out)");
		return;
	}
	if (code == 408 || code == 429 || code >= 500) {
		snprintf(why, sizeof why, "HTTP %d", code);
		failed(d, why);
		return;
	}
	/* refused for good: say why (the start of the answer), drop, go on */
	{
		struct evbuffer *in = evhttp_request_get_input_buffer(req);
		size_t n = in ? evbuffer_copyout(in, text, sizeof text - 1) : 0;
		text[n > 0 ? n : 0] = '\0';
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
				text[i] = ' ';
	}
	d->dropped += p->nrec;
	snprintf(d->last_error, sizeof d->last_error, "HTTP %d: %s", code, text);
	log_warn("forward %s: HTTP %d for %zu records: dropped, not retried (%s)", d->name, code,
	    p->nrec, text);
	part_done(d);
}

static void
attempt(fwd_dest *d)
{
	fwd_part *p = &d->part[d->cur];
	struct evhttp_request *req;
	struct evkeyvalq *h;

	if (g_stopping)
		return;
	if ((req = evhttp_request_new(done_cb, d)) == NULL) {
		failed(d, "out of memory");
		return;
	}
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", d->hostport);
	evhttp_add_header(h, "Content-Type", d->kind == FWD_CLICKHOUSE ? "application/x-ndjson" :
	    d->json ? "application/json" : "application/x-protobuf");
	evhttp_add_header(h, "Content-Encoding", "gzip");
	evhttp_add_header(h, "User-Agent", "ttd/" TT_VERSION_STRING);
	for (int i = 0; i < d->nheaders; i++)
		evhttp_add_header(h, d->headers[2 * i], d->headers[2 * i + 1]);
	evbuffer_add(evhttp_request_get_output_buffer(req), p->body.data, p->body.len);
	d->requests++;
	if (evhttp_make_request(d->conn, req, EVHTTP_REQ_POST, p->target) != 0)
		log_warn("forward %s: could not start the request", d->name); /* done_cb runs */
}

/* ---- following the store */

static int
take_rec(void *ctx, const tt_rec *r)
{
	fwd_dest *d = ctx;

	if (d->filter && tt_filter_match(d->filter, r->data, r->len) != 1)
		return 0;
	if (d->n + 2 > d->cap) {
		size_t nc = d->cap ? 2 * d->cap : 1024;
		size_t *o = realloc(d->off, nc * sizeof *o);
		if (o == NULL)
			return -ENOMEM;
		d->off = o;
		d->cap = nc;
	}
	if (d->n == 0)
		d->first_mono = ttd_mono_ns();
	d->off[d->n] = d->recs.len;
	if (tt_buf_append(&d->recs, r->data, r->len) < 0)
		return -ENOMEM;
	d->n++;
	d->off[d->n] = d->recs.len;
	return d->n >= g_ttd.cfg.fwd_batch || d->recs.len >= g_ttd.cfg.fwd_batch_bytes;
}

static int
batch_full(const fwd_dest *d)
{
	return d->n >= g_ttd.cfg.fwd_batch || d->recs.len >= g_ttd.cfg.fwd_batch_bytes;
}

static void
pump(fwd_dest *d)
{
	int64_t now = ttd_mono_ns();
	int r;

	if (d->busy || g_stopping)
		return;
	if (!batch_full(d)) {
		tt_scan sc;
		tt_pos next = d->scanned;
		memset(&sc, 0, sizeof sc);
		sc.since = TT_TS_MIN;
		sc.until = TT_TS_MAX;
		sc.start = d->scanned;
		sc.max_blocks = FWD_BLOCKS_PER_TURN;
		r = tt_store_scan(g_ttd.store, &sc, take_rec, d, &next);
		if (r == TT_ESTALE) {
			/* the index was rebuilt (tt-check --rebuild): block numbers of the
			 * new generation are taken as they come */
			log_warn("forward %s: the store's index was rebuilt; going on from the "
			    "same block number in the new index", d->name);
			d->scanned.gen = d->acked.gen = 0;
			return;
		}
		if (r < 0) {
			snprintf(d->last_error, sizeof d->last_error, "reading the store: %s",
			    tt_strerror(r));
			return;
		}
		d->scanned = next;
	}
	if (d->n == 0) {
		/* nothing to send: records the filter skipped still move the cursor */
		if (!pos_eq(&d->acked, &d->scanned)) {
			d->acked = d->scanned;
			d->dirty = 1;
		}
		if (d->dirty && now - d->saved_mono >= FWD_SAVE_EVERY_NS)
			(void)cursor_save(d);
		return;
	}
	if (!batch_full(d) && now - d->first_mono < g_ttd.cfg.fwd_flush_ns)
		return;
	r = d->kind == FWD_OTLP ? encode_otlp(d) : encode_clickhouse(d);
	if (r < 0) {
		log_warn("forward %s: could not encode a batch: %s", d->name, tt_strerror(r));
		batch_clear(d);
		return; /* nothing was acked: read again next turn */
	}
	d->busy = 1;
	d->cur = 0;
	d->tries = 0;
	if (d->nparts == 0) /* every record failed to encode (counted) */
		batch_done(d);
	else
		attempt(d);
}

struct lag_ctx { const tt_filter *filter; uint64_t n; int64_t first_ts; int have; };

static int
lag_rec(void *ctx, const tt_rec *r)
{
	struct lag_ctx *c = ctx;

	if (c->filter && tt_filter_match(c->filter, r->data, r->len) != 1)
		return 0;
	if (!c->have) {
		c->have = 1;
		c->first_ts = r->ts;
	}
	c->n++;
	return 0;
}

/* Records past the acked cursor (that the filter lets through), and the age
 * of the oldest of them: read from the store, at most FWD_LAG_BLOCKS blocks. */
static void
measure_lag(fwd_dest *d)
{
	struct lag_ctx c = { d->filter, 0, 0, 0 };
	tt_scan sc;
	tt_pos end, next = d->acked;

	if (tt_store_end(g_ttd.store, &end) < 0)
		return;
	if (pos_eq(&d->acked, &end) || (end.seq < d->acked.seq)) {
		d->lag_records = 0;
		d->lag_seconds = 0;
		d->lag_capped = 0;
		return;
	}
	memset(&sc, 0, sizeof sc);
	sc.since = TT_TS_MIN;
	sc.until = TT_TS_MAX;
	sc.start = d->acked;
	sc.max_blocks = FWD_LAG_BLOCKS;
	if (tt_store_scan(g_ttd.store, &sc, lag_rec, &c, &next) < 0)
		return;
	d->lag_records = c.n;
	d->lag_capped = next.seq < end.seq || (next.seq == end.seq && next.idx < end.idx);
	d->lag_seconds = 0;
	if (c.have && ttd_now_ns() > c.first_ts)
		d->lag_seconds = (double)(ttd_now_ns() - c.first_ts) / 1e9;
}

/* gc deleted records before this destination shipped them (--max-size
 * needed the space): the scan has gone on past the gap by itself; count
 * them as dropped and say so. */
static void
check_gc_drops(fwd_dest *d)
{
	uint64_t total;

	if (tt_forward_dropped_read(d->dropped_file, &total) < 0 || total <= d->gc_dropped_seen)
		return;
	d->dropped += total - d->gc_dropped_seen;
	snprintf(d->last_error, sizeof d->last_error, "gc deleted %" PRIu64 " records before "
	    "they were shipped", total - d->gc_dropped_seen);
	log_warn("forward %s: gc deleted %" PRIu64 " records before they were shipped "
	    "(--max-size needed the space); going on after the gap", d->name,
	    total - d->gc_dropped_seen);
	d->gc_dropped_seen = total;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = ttd_mono_ns();
	int lag = now - g_lag_mono >= FWD_LAG_EVERY_NS;

	for (int i = 0; i < g_ndest; i++) {
		pump(&g_dest[i]);
		if (lag) {
			check_gc_drops(&g_dest[i]);
			measure_lag(&g_dest[i]);
		}
	}
	if (lag)
		g_lag_mono = now;
}

/* ---- start and stop */

int
ttd_forward_protocol(const char *name)
{
	if (strcmp(name, "http/json") == 0)
		return 1;
	return strcmp(name, "http/protobuf") == 0 ? 0 : -1;
}

/* What one destination is made of: a --forward-otlp or --forward-clickhouse
 * URL with the --forward-* options, or a [forward NAME] section whose
 * settings left out are those options. */
typedef struct fwd_spec {
	char name[80];
	int kind;
	const char *url, *table, *protocol, *level;
	const ttd_strlist *filter, *service, *header;
} fwd_spec;

static int
url_init(fwd_dest *d, const char *url)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	const char *scheme = NULL, *host, *path, *q;
	size_t pl;

	if (u == NULL || (scheme = evhttp_uri_get_scheme(u)) == NULL ||
	    strcmp(scheme, "http") != 0 || (host = evhttp_uri_get_host(u)) == NULL || !*host) {
		log_err("forward %s: '%s' is not an http://HOST[:PORT][/PATH] URL%s", d->name, url,
		    scheme && strcmp(scheme, "https") == 0 ?
		    " (https is not supported: put a local collector or proxy in between)" : "");
		if (u)
			evhttp_uri_free(u);
		return -1;
	}
	d->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) :
	    d->kind == FWD_CLICKHOUSE ? 8123 : 4318;
	path = evhttp_uri_get_path(u);
	q = evhttp_uri_get_query(u);
	d->url = strdup(url);
	d->host = strdup(host);
	d->path = strdup(path ? path : "");
	d->query = q && *q ? strdup(q) : NULL;
	evhttp_uri_free(u);
	if (!d->url || !d->host || !d->path || (q && *q && !d->query))
		return -1;
	pl = strlen(d->path);
	while (pl > 0 && d->path[pl - 1] == '/')
		d->path[--pl] = '\0';
	snprintf(d->hostport, sizeof d->hostport, "%s:%d", d->host, d->port);
	return 0;
}

static int
filter_init(fwd_dest *d, const fwd_spec *sp)
{
	int r;

	if (!sp->filter->n && !sp->service->n && !sp->level)
		return 0;
	if ((r = tt_filter_new(&d->filter)) < 0)
		return -1;
	for (int i = 0; i < sp->filter->n; i++)
		if (tt_filter_add_match(d->filter, sp->filter->v[i]) < 0) {
			log_err("forward %s: filter '%s' is not FIELD=VALUE or FIELD!=VALUE", d->name,
			    sp->filter->v[i]);
			return -1;
		}
	for (int i = 0; i < sp->service->n; i++)
		if (tt_filter_add_service(d->filter, sp->service->v[i]) < 0)
			return -1;
	if (sp->level &&
	    tt_filter_set_level(d->filter, tt_level_parse(sp->level, strlen(sp->level))) < 0)
		return -1;
	return 0;
}

static int
headers_init(fwd_dest *d, const ttd_strlist *l)
{
	if (l->n == 0)
		return 0;
	if ((d->headers = calloc((size_t)l->n * 2, sizeof *d->headers)) == NULL)
		return -1;
	for (int i = 0; i < l->n; i++) {
		char *h = strdup(l->v[i]), *colon;
		if ((d->header_mem[i] = h) == NULL)
			return -1;
		d->nheaders++;
		if ((colon = strchr(h, ':')) == NULL || colon == h || strpbrk(h, "\r\n") != NULL) {
			log_err("forward %s: header '%s' is not 'Name: value'", d->name, l->v[i]);
			return -1;
		}
		*colon = '\0';
		d->headers[2 * i] = ttd_trim(h);
		d->headers[2 * i + 1] = ttd_trim(colon + 1);
	}
	return 0;
}

static int
dest_init(fwd_dest *d, const fwd_spec *sp, int from_start)
{
	char file[4096];

	d->kind = sp->kind;
	if ((d->name = strdup(sp->name)) == NULL)
		return -1;
	d->json = sp->protocol && ttd_forward_protocol(sp->protocol) == 1;
	if (url_init(d, sp->url) < 0 || filter_init(d, sp) < 0 || headers_init(d, sp->header) < 0)
		return -1;
	if ((d->table = strdup(sp->table ? sp->table : "teratrace.records")) == NULL)
		return -1;
	snprintf(file, sizeof file, "%s/forward/%s.cursor", g_ttd.cfg.store, d->name);
	if ((d->cursor_file = strdup(file)) == NULL)
		return -1;
	snprintf(file, sizeof file, "%s/forward/%s.dropped", g_ttd.cfg.store, d->name);
	if ((d->dropped_file = strdup(file)) == NULL)
		return -1;
	if ((d->conn = evhttp_connection_base_new(g_ttd.base, NULL, d->host,
	    (unsigned short)d->port)) == NULL ||
	    (d->retry = evtimer_new(g_ttd.base, retry_cb, d)) == NULL)
		return -1;
	evhttp_connection_set_timeout(d->conn, (int)g_ttd.cfg.fwd_timeout);
	evhttp_connection_set_retries(d->conn, 0);
	if (cursor_load(d, from_start) < 0)
		return -1;
	log_info("forward %s: shipping to %s from %s", d->name, d->url, d->cursor_file);
	return 0;
}

/* The destinations of the configuration, in order: the command line's
 * (named otlp, otlp-2 ..., clickhouse, clickhouse-2 ...), then the
 * sections. The names are the cursor files': no two alike. */
static int
specs(fwd_spec *sp, int cap)
{
	const ttd_config *c = &g_ttd.cfg;
	const ttd_strlist *urls[2] = { &c->fwd_otlp, &c->fwd_ch };
	int n = 0;

	for (int k = 0; k < 2; k++)
		for (int i = 0; i < urls[k]->n && n < cap; i++, n++) {
			fwd_spec *p = &sp[n];
			p->kind = k ? FWD_CLICKHOUSE : FWD_OTLP;
			snprintf(p->name, sizeof p->name, i ? "%s-%d" : "%s", k ? "clickhouse" : "otlp",
			    i + 1);
			p->url = urls[k]->v[i];
			p->table = c->fwd_ch_table;
			p->protocol = c->fwd_otlp_protocol;
			p->level = c->fwd_level;
			p->filter = &c->fwd_filter;
			p->service = &c->fwd_service;
			p->header = &c->fwd_header;
		}
	for (int i = 0; i < c->n_fwd_sect && n < cap; i++, n++) {
		const ttd_fwd_conf *f = &c->fwd_sect[i];
		fwd_spec *p = &sp[n];
		int own_filter = f->filter.n || f->service.n || f->level;
		snprintf(p->name, sizeof p->name, "%s", f->name);
		p->kind = strcmp(f->type, "clickhouse") == 0 ? FWD_CLICKHOUSE : FWD_OTLP;
		p->url = f->url;
		p->table = f->table ? f->table : c->fwd_ch_table;
		p->protocol = f->protocol ? f->protocol : c->fwd_otlp_protocol;
		/* a section's filters replace the options' as a whole */
		p->level = own_filter ? f->level : c->fwd_level;
		p->filter = own_filter ? &f->filter : &c->fwd_filter;
		p->service = own_filter ? &f->service : &c->fwd_service;
		p->header = f->header.n ? &f->header : &c->fwd_header;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(sp[i].name, sp[j].name) == 0) {
				log_err("forward: two destinations named '%s' (their cursor file would be "
				    "the same): rename the [forward %s] section", sp[i].name, sp[i].name);
				return -1;
			}
	return n;
}

static void
commit_hook(void *arg)
{
	for (int i = 0; i < g_ndest; i++)
		if (!g_dest[i].busy && g_dest[i].n == 0)
			pump(&g_dest[i]);
}

int
ttd_forward_start(void)
{
	const ttd_config *c = &g_ttd.cfg;
	int from_start = c->fwd_start && strcmp(c->fwd_start, "start") == 0;
	struct timeval tv = { 0, FWD_TICK_MS * 1000 };
	fwd_spec sp[2 * TTD_MAX_LIST + TTD_MAX_FORWARD];
	char dir[4096];
	int n;

	if ((n = specs(sp, (int)(sizeof sp / sizeof sp[0]))) <= 0)
		return n;
	snprintf(dir, sizeof dir, "%s/forward", c->store);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_err("forward: could not create '%s': %s", dir, strerror(errno));
		return -1;
	}
	if ((g_dest = calloc((size_t)n, sizeof *g_dest)) == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		if (dest_init(&g_dest[g_ndest++], &sp[i], from_start) < 0)
			return -1;
	if ((g_tick = event_new(g_ttd.base, -1, EV_PERSIST, tick_cb, NULL)) == NULL ||
	    event_add(g_tick, &tv) < 0)
		return -1;
	ttd_on_commit(commit_hook, NULL);
	return 0;
}

static void
dest_free(fwd_dest *d)
{
	if (d->dirty)
		(void)cursor_save(d);
	if (d->busy)
		log_info("forward %s: %zu records in flight are sent again at the next start",
		    d->name, d->n);
	if (d->retry)
		event_free(d->retry);
	if (d->conn)
		evhttp_connection_free(d->conn);
	batch_clear(d);
	for (int j = 0; j < 2; j++)
		tt_buf_free(&d->part[j].body);
	tt_buf_free(&d->recs);
	tt_filter_free(d->filter);
	for (int i = 0; i < d->nheaders; i++)
		free(d->header_mem[i]);
	free(d->headers);
	free(d->off);
	free(d->name);
	free(d->url);
	free(d->host);
	free(d->path);
	free(d->query);
	free(d->table);
	free(d->cursor_file);
	free(d->dropped_file);
	memset(d, 0, sizeof *d);
}

void
ttd_forward_stop(void)
{
	g_stopping = 1;
	if (g_tick)
		event_free(g_tick);
	g_tick = NULL;
	for (int i = 0; i < g_ndest; i++)
		dest_free(&g_dest[i]);
	free(g_dest);
	g_dest = NULL;
	g_ndest = 0;
}

/* ---- /metrics, /health */

static const char *
state(const fwd_dest *d)
{
	if (d->busy && d->retry && evtimer_pending(d->retry, NULL))
		return "retrying";
	if (d->busy)
		return "sending";
	return d->lag_records ? "behind" : "idle";
}

void
ttd_forward_metrics(tt_buf *b)
{
	static const struct { const char *name, *type, *help; int which; } m[] = {
		{ "ttd_forward_shipped_records_total", "counter",
		  "records the destination acknowledged (2xx)", 0 },
		{ "ttd_forward_dropped_records_total", "counter",
		  "records dropped: the destination refused them (4xx but 408/429) or gc "
		  "deleted them before they were shipped", 1 },
		{ "ttd_forward_retries_total", "counter",
		  "requests retried after no answer, 408, 429 or 5xx", 2 },
		{ "ttd_forward_requests_total", "counter", "requests sent", 3 },
		{ "ttd_forward_lag_records", "gauge",
		  "records stored but not yet acknowledged (counted over at most 1024 blocks)", 4 },
		{ "ttd_forward_lag_seconds", "gauge",
		  "age of the oldest record not yet acknowledged (0 when caught up)", 5 },
	};

	if (g_ndest == 0)
		return;
	for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
		jw_fmt(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name, m[k].type);
		for (int i = 0; i < g_ndest; i++) {
			const fwd_dest *d = &g_dest[i];
			jw_fmt(b, "%s{dest=\"%s\"} ", m[k].name, d->name);
			switch (m[k].which) {
			case 0: jw_fmt(b, "%" PRIu64 "\n", d->shipped); break;
			case 1: jw_fmt(b, "%" PRIu64 "\n", d->dropped); break;
			case 2: jw_fmt(b, "%" PRIu64 "\n", d->retries); break;
			case 3: jw_fmt(b, "%" PRIu64 "\n", d->requests); break;
			case 4: jw_fmt(b, "%" PRIu64 "\n", d->lag_records); break;
			default: jw_fmt(b, "%.3f\n", d->lag_seconds);
			}
		}
	}
}

void
ttd_forward_health(tt_buf *b)
{
	if (g_ndest == 0)
		return;
	jw_raw(b, ",\"forward\":[");
	for (int i = 0; i < g_ndest; i++) {
		const fwd_dest *d = &g_dest[i];
		char cur[TT_CURSOR_MAX];
		if (tt_pos_format(&d->acked, cur, sizeof cur) < 0)
			cur[0] = '\0';
		jw_raw(b, i ? ",{\"name\":" : "{\"name\":");
		jw_str(b, d->name);
		jw_raw(b, ",\"url\":");
		jw_str(b, d->url);
		jw_raw(b, ",\"state\":");
		jw_str(b, state(d));
		jw_fmt(b, ",\"lag_records\":%" PRIu64 ",\"lag_capped\":%s,\"lag_seconds\":%.3f,"
		    "\"shipped\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"retries\":%" PRIu64
		    ",\"in_flight\":%zu,\"cursor\":", d->lag_records, d->lag_capped ? "true" : "false",
		    d->lag_seconds, d->shipped, d->dropped, d->retries, d->busy ? d->n : 0);
		jw_str(b, cur);
		jw_raw(b, ",\"last_error\":");
		jw_str(b, d->last_error);
		jw_raw(b, "}");
	}
	jw_raw(b, "]");
}
