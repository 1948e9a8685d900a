/*
 * sse.c -- server-sent-event streams: GET /stream (every new record, with
 * tt-tail's filters) and GET /traces/{id}/stream (one correlation id: replay,
 * then live).
 *
 * Each client holds a tt_pos. A pump runs after each of ttd's own group
 * commits and on a short timer (records written by other processes, e.g.
 * tt-ingest); it scans forward from each client's position, a bounded number
 * of blocks per turn, and writes matching records as events whose `id:` is
 * the position just after the record (tt_pos_format), so a client that
 * reconnects with Last-Event-ID resumes with no gap and no duplicate.
 *
 * A client whose unsent output exceeds --sse-max-buffer is sent a final
 * `data: {"type":"dropped",...}` event and disconnected: one slow reader
 * never makes ttd buffer without bound.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include "ttd.h"

#define PUMP_MS 25          /* poll for other writers' records */
#define BLOCKS_PER_TURN 32  /* per client per pump turn */

struct client {
	struct client *next;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	tt_pos pos;          /* deliver records after this */
	int64_t since;       /* time floor for the scan */
	tt_filter *filter;   /* NULL = everything */
	char *corr;          /* /traces/{id}/stream: only this id */
	size_t corr_len;
	int tracehub;        /* records in TraceHub's shape (/traces/{id}/stream) */
	int64_t deadline;    /* mono ns; 0 = none (?timeout=) */
	int64_t last_write;  /* mono ns, for keepalives */
	struct evbuffer *out;
	int behind;          /* more blocks to scan than one turn allowed */
	int overflow;        /* output over the cap */
};

static struct client *clients;
static size_t n_clients;
static struct event *pump_ev;
static uint32_t store_gen;

size_t
ttd_sse_clients(void)
{
	return n_clients;
}

static size_t
unsent(const struct client *c)
{
	struct bufferevent *bev;

	if (c->evcon == NULL || (bev = evhttp_connection_get_bufferevent(c->evcon)) == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(bev));
}

static void
client_free(struct client *c)
{
	tt_filter_free(c->filter);
	free(c->corr);
	if (c->out)
		evbuffer_free(c->out);
	free(c);
}

static void
unlink_client(struct client *c)
{
	for (struct client **pp = &clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			n_clients--;
			return;
		}
}

/* evhttp is closing the connection (client went away, or shut-down). */
static void
on_close(struct evhttp_connection *evcon, void *arg)
{
	struct client *c = arg;

	unlink_client(c);
	/* a request evhttp detached from its connection is ours to free */
	if (evhttp_request_get_connection(c->req) == NULL)
		evhttp_send_reply_end(c->req);
	client_free(c);
}

static void
flush_out(struct client *c)
{
	if (evbuffer_get_length(c->out) == 0)
		return;
	evhttp_send_reply_chunk(c->req, c->out);
	c->last_write = ttd_mono_ns();
}

/* End the stream with a last event. */
static void
finish(struct client *c, const char *type, const char *reason)
{
	evbuffer_add_printf(c->out, "data: {\"type\":\"%s\"%s%s%s}\n\n", type,
	    reason ? ",\"reason\":\"" : "", reason ? reason : "", reason ? "\"" : "");
	flush_out(c);
	unlink_client(c);
	evhttp_connection_set_closecb(c->evcon, NULL, NULL);
	evhttp_send_reply_end(c->req);
	client_free(c);
}

static int
pos_before(const tt_pos *a, const tt_pos *b)
{
	return a->seq < b->seq || (a->seq == b->seq && a->idx < b->idx);
}

static void
emit(struct client *c, const tt_rec *r)
{
	tt_buf j = { 0 };
	tt_pos p = { r->seq, r->idx + 1, store_gen };
	char id[TT_CURSOR_MAX];

	if (jw_rec(&j, NULL, r->data, r->len, c->tracehub) < 0) {
		tt_buf_free(&j);
		return;
	}
	if (tt_pos_format(&p, id, sizeof id) < 0)
		id[0] = '\0';
	evbuffer_add_printf(c->out, "id: %s\ndata: ", id);
	evbuffer_add(c->out, j.data, j.len);
	evbuffer_add(c->out, "\n\n", 2);
	tt_buf_free(&j);
	g_metrics.sse_events++;
}

static int
wanted(const struct client *c, const tt_rec *r)
{
	if (c->corr) {
		int64_t ts;
		const char *corr;
		size_t n;
		if (tt_rec_ts_corr(r->data, r->len, &ts, &corr, &n) < 0 || corr == NULL ||
		    n != c->corr_len || memcmp(corr, c->corr, n) != 0)
			return 0;
	}
	return c->filter == NULL || tt_filter_match(c->filter, r->data, r->len) == 1;
}

static int
live_rec(void *ctx, const tt_rec *r)
{
	struct client *c = ctx;

	if (!wanted(c, r))
		return 0;
	emit(c, r);
	if (evbuffer_get_length(c->out) + unsent(c) > g_ttd.cfg.sse_max_buffer) {
		c->overflow = 1;
		return 1;
	}
	return 0;
}

/* Deliver what is new for one client. Returns 0, or -1 if it was ended. */
static int
feed(struct client *c, const tt_pos *end, int64_t now)
{
	if (pos_before(&c->pos, end) && !c->overflow) {
		tt_scan sc;
		tt_pos next = c->pos;
		int r;

		memset(&sc, 0, sizeof sc);
		sc.since = c->since;
		sc.until = TT_TS_MAX;
		sc.start = c->pos;
		sc.max_blocks = BLOCKS_PER_TURN;
		r = tt_store_scan(g_ttd.store, &sc, live_rec, c, &next);
		if (r < 0) {
			log_warn("stream: scan failed: %s", tt_strerror(r));
			flush_out(c);
			finish(c, "error", r == TT_ESTALE ? "index rebuilt" : "scan failed");
			return -1;
		}
		c->pos = next;
		c->behind = pos_before(&c->pos, end);
		flush_out(c);
	}
	if (c->overflow || unsent(c) > g_ttd.cfg.sse_max_buffer) {
		g_metrics.sse_dropped++;
		log_info("stream: dropping a client %zu bytes behind", unsent(c));
		finish(c, "dropped", "client too slow");
		return -1;
	}
	if (c->deadline && now >= c->deadline) {
		finish(c, "timeout", NULL);
		return -1;
	}
	if (now - c->last_write >= (int64_t)g_ttd.cfg.sse_keepalive * 1000000000) {
		evbuffer_add(c->out, ": keepalive\n\n", 13);
		flush_out(c);
	}
	return 0;
}

static void
pump(void)
{
	tt_pos end;
	int64_t now = ttd_mono_ns();
	int again = 0;
	struct client *c, *next;

	if (clients == NULL)
		return;
	if (tt_store_end(g_ttd.store, &end) < 0)
		return;
	store_gen = end.gen;
	for (c = clients; c; c = next) {
		next = c->next;
		if (feed(c, &end, now) == 0 && c->behind)
			again = 1;
	}
	if (again)
		event_active(pump_ev, EV_TIMEOUT, 0);
}

static void
pump_cb(evutil_socket_t fd, short what, void *arg)
{
	pump();
}

static void
commit_hook(void *arg)
{
	pump();
}

int
ttd_sse_init(void)
{
	struct timeval tv = { 0, PUMP_MS * 1000 };

	pump_ev = event_new(g_ttd.base, -1, EV_PERSIST, pump_cb, NULL);
	if (pump_ev == NULL || event_add(pump_ev, &tv) < 0)
		return -ENOMEM;
	ttd_on_commit(commit_hook, NULL);
	return 0;
}

void
ttd_sse_shutdown(void)
{
	while (clients)
		finish(clients, "shutdown", NULL);
	if (pump_ev)
		event_free(pump_ev);
	pump_ev = NULL;
}

/* Common start of a stream: headers, client record, no read timeout. */
static struct client *
start(struct evhttp_request *req, struct evkeyvalq *q)
{
	struct client *c;
	const char *v;

	if (n_clients >= g_ttd.cfg.sse_max_clients) {
		ttd_reply_error(req, 503, "too many streams (--sse-max-clients %u)",
		    g_ttd.cfg.sse_max_clients);
		return NULL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL || (c->out = evbuffer_new()) == NULL) {
		free(c);
		ttd_reply_error(req, 500, "out of memory");
		return NULL;
	}
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);
	c->since = TT_TS_MIN;
	if ((v = evhttp_find_header(q, "timeout")) && *v) {
		int64_t d;
		char *end;
		double s = strtod(v, &end);
		if (*end == '\0' && s > 0)
			d = (int64_t)(s * 1e9);
		else if (tt_parse_duration(v, &d) < 0 || d <= 0) {
			client_free(c);
			ttd_reply_error(req, 400, "timeout: expected seconds or a duration");
			return NULL;
		}
		c->deadline = ttd_mono_ns() + d;
	}
	evbuffer_add_printf(c->out, "retry: 1000\n\n");
	return c;
}

static void
go_live(struct client *c)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
	struct bufferevent *bev;
	struct timeval wtv = { (time_t)g_ttd.cfg.header_timeout * 3, 0 };

	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	g_metrics.http_requests++;
	g_metrics.http_by_class[2]++;
	evhttp_send_reply_start(c->req, 200, "OK");
	if (c->evcon) {
		evhttp_connection_set_closecb(c->evcon, on_close, c);
		/* a stream reads nothing: only a stalled write times out */
		if ((bev = evhttp_connection_get_bufferevent(c->evcon)) != NULL)
			bufferevent_set_timeouts(bev, NULL, &wtv);
	}
	ttd_http_mark_stream(c->req);
	c->next = clients;
	clients = c;
	n_clients++;
	c->last_write = ttd_mono_ns();
	flush_out(c);
}

/* ---- GET /stream */

static int known_param(const char *k)
{
	static const char *const known[] = { "service", "level", "grep", "since", "n",
		"min_dur", "max_dur", "timeout", "after", "cursor", "match", NULL };
	for (int i = 0; known[i]; i++)
		if (strcmp(k, known[i]) == 0)
			return 1;
	return 0;
}

struct last_n {
	const tt_filter *f;
	size_t want, got;
	tt_pos first; /* position before the oldest matching record seen */
};

static int
last_n_rec(void *ctx, const tt_rec *r)
{
	struct last_n *l = ctx;

	if (l->f && tt_filter_match(l->f, r->data, r->len) != 1)
		return 0;
	l->first.seq = r->seq;
	l->first.idx = r->idx;
	return ++l->got >= l->want ? 1 : 0;
}

static int
build_filter(struct evkeyvalq *q, tt_filter **out, int64_t *since, char *why, size_t n)
{
	struct evkeyval *kv;
	tt_filter *f = NULL;
	int64_t mind = -1, maxd = -1;
	int r = tt_filter_new(&f);

	if (r < 0) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	TAILQ_FOREACH(kv, q, next) {
		const char *k = kv->key, *v = kv->value;
		tt_rec_err err;
		r = 0;
		if (strcmp(k, "service") == 0)
			r = tt_filter_add_service(f, v);
		else if (strcmp(k, "level") == 0) {
			int lv = tt_level_parse(v, strlen(v));
			r = lv == TT_LVL_NONE ? TT_EBADARG : tt_filter_set_level(f, lv);
		} else if (strcmp(k, "grep") == 0) {
			memset(&err, 0, sizeof err);
			r = tt_filter_set_grep(f, v, &err);
		} else if (strcmp(k, "since") == 0) {
			r = tt_parse_time(v, ttd_now_ns(), since);
			if (r >= 0)
				r = tt_filter_set_time(f, *since, TT_TS_MAX);
		} else if (strcmp(k, "min_dur") == 0)
			r = tt_parse_duration(v, &mind);
		else if (strcmp(k, "max_dur") == 0)
			r = tt_parse_duration(v, &maxd);
		else if (strcmp(k, "match") == 0)
			r = tt_filter_add_match(f, v);
		else if (!known_param(k)) {
			char expr[512];
			snprintf(expr, sizeof expr, "%s=%s", k, v);
			r = tt_filter_add_match(f, expr);
		}
		if (r < 0) {
			snprintf(why, n, "bad %s '%s'", k, v);
			tt_filter_free(f);
			return -1;
		}
	}
	if ((mind >= 0 || maxd >= 0) && tt_filter_set_dur(f, mind, maxd) < 0) {
		snprintf(why, n, "bad duration bounds");
		tt_filter_free(f);
		return -1;
	}
	if (tt_filter_is_empty(f)) {
		tt_filter_free(f);
		f = NULL;
	}
	*out = f;
	return 0;
}

void
ttd_sse_stream(struct evhttp_request *req, const char *query)
{
	struct evkeyvalq q;
	struct client *c;
	const char *v;
	char why[256];
	tt_pos end;
	int r;

	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		ttd_reply_error(req, 400, "malformed query string");
		return;
	}
	if ((c = start(req, &q)) == NULL)
		goto out;
	if (build_filter(&q, &c->filter, &c->since, why, sizeof why) < 0) {
		client_free(c);
		ttd_reply_error(req, 400, "%s", why);
		goto out;
	}
	if ((r = tt_store_end(g_ttd.store, &end)) < 0) {
		client_free(c);
		ttd_reply_error(req, 500, "store: %s", tt_strerror(r));
		goto out;
	}
	store_gen = end.gen;
	v = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
	if (v == NULL || *v == '\0')
		v = evhttp_find_header(&q, "after");
	if (v == NULL || *v == '\0')
		v = evhttp_find_header(&q, "cursor");
	if (v && *v) {
		if (tt_pos_parse(v, &c->pos) < 0) {
			client_free(c);
			ttd_reply_error(req, 400, "bad Last-Event-ID / cursor '%s'", v);
			goto out;
		}
	} else if (c->since != TT_TS_MIN) {
		c->pos = (tt_pos){ 0, 0, end.gen };
	} else if ((v = evhttp_find_header(&q, "n")) && *v) {
		struct last_n l = { c->filter, (size_t)strtoull(v, NULL, 10), 0, end };
		tt_scan sc;
		memset(&sc, 0, sizeof sc);
		sc.since = TT_TS_MIN;
		sc.until = TT_TS_MAX;
		sc.flags = TT_SCAN_REVERSE;
		sc.max_blocks = 4096;
		c->pos = end;
		if (l.want > 0 && tt_store_scan(g_ttd.store, &sc, last_n_rec, &l, NULL) >= 0 &&
		    l.got > 0)
			c->pos = l.first;
		c->pos.gen = end.gen;
	} else {
		c->pos = end;
	}
	go_live(c);
	pump();
out:
	evhttp_clear_headers(&q);
}

/* ---- GET /traces/{id}/stream */

struct replay {
	struct client *c;
	tt_pos end;
};

static int
replay_rec(void *ctx, const tt_rec *r)
{
	struct replay *rp = ctx;
	tt_pos p = { r->seq, r->idx, 0 };

	/* records at or after `end` come through the live scan */
	if (!pos_before(&p, &rp->end))
		return 0;
	emit(rp->c, r);
	return 0;
}

void
ttd_sse_trace(struct evhttp_request *req, const char *id, size_t idn, const char *query,
    int tracehub)
{
	struct evkeyvalq q;
	struct client *c;
	struct replay rp;
	int r;

	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		ttd_reply_error(req, 400, "malformed query string");
		return;
	}
	if (idn == 0 || idn > TT_ID_MAX) {
		ttd_reply_error(req, 400, "correlation id must be 1..%d bytes", TT_ID_MAX);
		goto out;
	}
	if ((c = start(req, &q)) == NULL)
		goto out;
	if ((c->corr = malloc(idn)) == NULL) {
		client_free(c);
		ttd_reply_error(req, 500, "out of memory");
		goto out;
	}
	memcpy(c->corr, id, idn);
	c->corr_len = idn;
	c->tracehub = tracehub;
	if ((r = tt_store_end(g_ttd.store, &rp.end)) < 0) {
		client_free(c);
		ttd_reply_error(req, 500, "store: %s", tt_strerror(r));
		goto out;
	}
	store_gen = rp.end.gen;
	rp.c = c;
	/* replay first (ts order), then everything after `end` live */
	r = tt_store_get(g_ttd.store, id, idn, TT_TS_MIN, TT_TS_MAX, replay_rec, &rp);
	if (r < 0 && r != TT_ENOTFOUND) {
		client_free(c);
		ttd_reply_error(req, 500, "lookup failed: %s", tt_strerror(r));
		goto out;
	}
	c->pos = rp.end;
	go_live(c);
	pump();
out:
	evhttp_clear_headers(&q);
}
