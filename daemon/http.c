/*
 * http.c -- the HTTP server: libevent's evhttp does all HTTP parsing
 * (including chunked request bodies); this file adds what a local daemon
 * must enforce before a handler sees a request:
 *
 *   - a connection cap: connections are counted from evhttp's bufferevent
 *     callback; at the cap a new connection takes the place of the oldest
 *     one that has not delivered a complete request (idle keep-alive, slow
 *     or stalled headers or body), so slow clients cannot lock the others
 *     out; only when every connection is being answered or streams does
 *     the listener stop accepting (new connections wait in the kernel
 *     backlog) until one is done;
 *   - a whole-request deadline (--request-timeout) on top of evhttp's idle
 *     timeout (--header-timeout): a client trickling bytes is closed, which
 *     is the minimum data rate (max body / request timeout);
 *   - Host must name a loopback address (DNS rebinding), cross-site forms
 *     and text/plain POSTs are refused (415), no CORS headers ever;
 *   - bodies: evhttp caps the raw size (413); gzip/deflate bodies are
 *     inflated here with the same cap after decompression (413).
 *
 * Connection tracking relies on public libevent API only: ttd creates each
 * connection's bufferevent (evhttp_set_bevcb) and keeps a reference to it;
 * evhttp clears its callbacks when it frees the connection, which the reaper
 * notices and then drops the last reference (closing the socket).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <zlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "ttd.h"

enum { C_READING, C_BUSY, C_STREAM };

struct conn {
	struct bufferevent *bev; /* our reference keeps it alive */
	int64_t t0;              /* when the current request began (mono ns) */
	int state;
};

static struct evhttp *http;
static struct evhttp_bound_socket *bound;
static struct event *reap_ev;
static struct conn *conns;
static size_t n_conns, cap_conns;
static int listening_paused;
static int bound_port = -1;
static int bound_loopback = 1;
static tt_buf body; /* request body, padded for the JSON decoder */

size_t
ttd_http_conns(void)
{
	return n_conns;
}

int
ttd_http_port(void)
{
	return bound_port;
}

static struct conn *
conn_of_bev(const struct bufferevent *bev)
{
	for (size_t i = 0; i < n_conns; i++)
		if (conns[i].bev == bev)
			return &conns[i];
	return NULL;
}

static struct conn *
conn_of_req(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	return evcon ? conn_of_bev(evhttp_connection_get_bufferevent(evcon)) : NULL;
}

/* The evhttp connection of a tracked connection evhttp still holds, or NULL. */
static struct evhttp_connection *
conn_evcon(const struct conn *c)
{
	bufferevent_data_cb rd, wr;
	bufferevent_event_cb ev;
	void *cbarg;

	bufferevent_getcb(c->bev, &rd, &wr, &ev, &cbarg);
	return rd || wr || ev ? cbarg : NULL;
}

/* The connection a new one may replace at the cap: the one waiting longest
 * for a complete request. NULL when all are busy or streams. */
static struct conn *
evictable(void)
{
	struct conn *old = NULL;

	for (size_t i = 0; i < n_conns; i++)
		if (conns[i].state == C_READING && conn_evcon(&conns[i]) &&
		    (old == NULL || conns[i].t0 < old->t0))
			old = &conns[i];
	return old;
}

static void
listener_update(void)
{
	struct evconnlistener *l;
	int full = n_conns >= g_ttd.cfg.max_conns && evictable() == NULL;

	if (bound == NULL || (l = evhttp_bound_socket_get_listener(bound)) == NULL)
		return;
	if (!listening_paused && full) {
		(void)evconnlistener_disable(l);
		listening_paused = 1;
		log_warn("connection cap %u reached; not accepting until one closes",
		    g_ttd.cfg.max_conns);
	} else if (listening_paused && !full && !g_ttd.stopping) {
		(void)evconnlistener_enable(l);
		listening_paused = 0;
	}
}

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (bev == NULL)
		return NULL;
	if (n_conns >= g_ttd.cfg.max_conns) {
		struct conn *old = evictable();
		if (old) {
			log_debug("connection cap %u reached: closing the connection idle longest",
			    g_ttd.cfg.max_conns);
			g_metrics.conns_refused++;
			evhttp_connection_free(conn_evcon(old));
			(void)bufferevent_decref(old->bev);
			*old = conns[--n_conns];
		}
	}
	if (n_conns == cap_conns) {
		size_t nc = cap_conns ? 2 * cap_conns : 64;
		struct conn *n = realloc(conns, nc * sizeof *n);
		if (n == NULL)
			return bev; /* untracked, still served */
		conns = n;
		cap_conns = nc;
	}
	bufferevent_incref(bev);
	conns[n_conns++] = (struct conn){ bev, ttd_mono_ns(), C_READING };
	g_metrics.conns_total++;
	listener_update();
	return bev;
}

/* Drop connections evhttp has released; close those over their deadline. */
static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = ttd_mono_ns();
	int64_t limit = (int64_t)g_ttd.cfg.request_timeout * 1000000000;

	for (size_t i = 0; i < n_conns;) {
		bufferevent_data_cb rd, wr;
		bufferevent_event_cb ev;
		void *cbarg;
		struct conn *c = &conns[i];

		bufferevent_getcb(c->bev, &rd, &wr, &ev, &cbarg);
		if (rd == NULL && wr == NULL && ev == NULL) {
			(void)bufferevent_decref(c->bev);
			conns[i] = conns[--n_conns];
			continue;
		}
		if (c->state == C_READING && now - c->t0 > limit && cbarg) {
			log_info("closing a connection that did not complete its request within %us",
			    g_ttd.cfg.request_timeout);
			c->state = C_BUSY; /* once */
			evhttp_connection_free((struct evhttp_connection *)cbarg);
			continue; /* released: reaped on the next pass */
		}
		i++;
	}
	listener_update();
}

void
ttd_http_mark_stream(struct evhttp_request *req)
{
	struct conn *c = conn_of_req(req);
	if (c)
		c->state = C_STREAM;
}

static void
req_done(struct evhttp_request *req, void *arg)
{
	struct conn *c = conn_of_bev(arg);
	if (c) {
		c->state = C_READING;
		c->t0 = ttd_mono_ns();
	}
}

/* ---- replies */

#define REJECT_LOG_PER_S 10 /* rejected requests logged per second, at most */

static int64_t rl_window;      /* mono ns when the current second began */
static unsigned rl_logged;     /* lines logged in it */
static uint64_t rl_suppressed; /* rejections not logged since the last summary */
static int rl_timer;           /* a summary is scheduled */

static void
rl_summary(evutil_socket_t fd, short what, void *arg)
{
	rl_timer = 0;
	if (rl_suppressed)
		log_info("%llu more rejected requests not logged (at most %d a second)",
		    (unsigned long long)rl_suppressed, REJECT_LOG_PER_S);
	rl_suppressed = 0;
}

static const char *
method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	default: return "?";
	}
}

/* A refused request (a 4xx other than 404, or 507) at info level, so a
 * failing client can be debugged from the log: its address, method, target
 * and the reason. At most REJECT_LOG_PER_S lines a second; the rest are
 * counted and summed up in one line a second later. */
static void
log_rejected(struct evhttp_request *req, int code, const char *why)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *uri = evhttp_request_get_uri(req);
	char *addr = NULL;
	ev_uint16_t port = 0;
	int64_t now = ttd_mono_ns();

	if (now - rl_window >= 1000000000) {
		rl_window = now;
		rl_logged = 0;
	}
	if (rl_logged >= REJECT_LOG_PER_S) {
		if (rl_suppressed++ == 0 && !rl_timer) {
			struct timeval tv = { 1, 0 };
			rl_timer = event_base_once(g_ttd.base, -1, EV_TIMEOUT, rl_summary, NULL,
			    &tv) == 0;
		}
		return;
	}
	rl_logged++;
	if (evcon)
		evhttp_connection_get_peer(evcon, &addr, &port);
	log_info("%s:%u %s %.200s: %d %s", addr ? addr : "?", (unsigned)port,
	    method_name(evhttp_request_get_command(req)), uri ? uri : "?", code,
	    why ? why : "");
}

/* Every answer goes through here: counted by status class, 413 also as
 * too large, refusals logged. */
void
ttd_reply_raw(struct evhttp_request *req, int code, const char *ctype, const void *p,
    size_t n, const char *why)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (ctype)
		evhttp_add_header(h, "Content-Type", ctype);
	if (n)
		evbuffer_add(evhttp_request_get_output_buffer(req), p, n);
	g_metrics.http_requests++;
	if (code >= 100 && code < 600)
		g_metrics.http_by_class[code / 100]++;
	if (code == 413)
		g_metrics.too_large++;
	if ((code >= 400 && code < 500 && code != 404) || code == 507)
		log_rejected(req, code, why);
	evhttp_send_reply(req, code, NULL, NULL);
}

void
ttd_reply_json_why(struct evhttp_request *req, int code, const tt_buf *b, const char *why)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Content-Type-Options",
	    "nosniff");
	if (b && b->len)
		evbuffer_add(out, b->data, b->len);
	ttd_reply_raw(req, code, "application/json", "\n", 1, why);
}

void
ttd_reply_json(struct evhttp_request *req, int code, const tt_buf *b)
{
	ttd_reply_json_why(req, code, b, NULL);
}

void
ttd_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[512];
	tt_buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	jw_fmt(&b, "{\"error\":");
	jw_str(&b, msg);
	jw_fmt(&b, ",\"code\":%d}", code);
	if (code == 503 || code == 429)
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
	if (code >= 500 && code != 503 && code != 507) /* 503s come in floods under overload */
		log_warn("%s %s: %d %s", method_name(evhttp_request_get_command(req)),
		    evhttp_request_get_uri(req), code, msg);
	else if (code == 503)
		log_debug("%s: %d %s", evhttp_request_get_uri(req), code, msg);
	ttd_reply_json_why(req, code, &b, msg);
	tt_buf_free(&b);
}

/* ---- guards */

static int
is_loopback_host(const char *h, size_t n)
{
	char name[256];
	struct in_addr a4;
	struct in6_addr a6;

	/* strip :port and [ ] */
	if (n > 0 && h[0] == '[') {
		const char *e = memchr(h, ']', n);
		if (e == NULL)
			return 0;
		n = (size_t)(e - h - 1);
		h++;
	} else {
		const char *colon = memchr(h, ':', n);
		if (colon)
			n = (size_t)(colon - h);
	}
	if (n == 0 || n >= sizeof name)
		return 0;
	memcpy(name, h, n);
	name[n] = '\0';
	if (name[n - 1] == '.')
		name[--n] = '\0';
	if (strcasecmp(name, "localhost") == 0)
		return 1;
	if (n > 10 && strcasecmp(name + n - 10, ".localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, name, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	for (int i = 0; i < g_ttd.cfg.n_allow_host; i++)
		if (strcasecmp(name, g_ttd.cfg.allow_host[i]) == 0)
			return 1;
	return 0;
}

static int
origin_is_loopback(const char *origin)
{
	const char *p = strstr(origin, "://");

	if (strcmp(origin, "null") == 0)
		return 0;
	if (p == NULL)
		return 0;
	p += 3;
	return is_loopback_host(p, strcspn(p, "/"));
}

int
ttd_auth_ok(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *v;

	if (g_ttd.cfg.token == NULL)
		return 1;
	if ((v = evhttp_find_header(h, "X-TraceHub-Secret")) != NULL)
		return ttd_ct_equal(v, strlen(v), g_ttd.cfg.token, g_ttd.cfg.token_len);
	if ((v = evhttp_find_header(h, "Authorization")) != NULL &&
	    strncasecmp(v, "Bearer ", 7) == 0) {
		v += 7;
		while (*v == ' ')
			v++;
		return ttd_ct_equal(v, strlen(v), g_ttd.cfg.token, g_ttd.cfg.token_len);
	}
	return 0;
}

/* Inflate gzip or zlib data into out, at most cap bytes. 0, -E2BIG, -EINVAL. */
static int
inflate_body(const uint8_t *in, size_t n, int gzip, tt_buf *out, size_t cap)
{
	z_stream z;
	int r, rc = 0;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, gzip ? 15 + 32 : 15) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	do {
		size_t room;
		if (tt_buf_reserve(out, 64 * 1024) < 0) {
			rc = -ENOMEM;
			break;
		}
		room = out->cap - out->len;
		if (out->len + room > cap + 1)
			room = cap + 1 - out->len;
		z.next_out = out->data + out->len;
		z.avail_out = (uInt)room;
		r = inflate(&z, Z_NO_FLUSH);
		out->len += room - z.avail_out;
		if (out->len > cap) {
			rc = -E2BIG;
			break;
		}
		if (r == Z_STREAM_END) {
			/* concatenated gzip members */
			if (z.avail_in > 0 && gzip && inflateReset(&z) == Z_OK)
				continue;
			break;
		}
		if (r != Z_OK) {
			rc = -EINVAL;
			break;
		}
		if (z.avail_in == 0 && z.avail_out != 0) {
			rc = -EINVAL; /* truncated stream */
			break;
		}
	} while (1);
	inflateEnd(&z);
	return rc;
}

/* How often a header appears. Host and Content-Length must appear at most
 * once (RFC 7230 3.3.2, 5.4): a second one is how a request is smuggled past
 * a proxy that reads the other. */
static int
header_count(const struct evkeyvalq *h, const char *name)
{
	const struct evkeyval *kv;
	int n = 0;

	for (kv = TAILQ_FIRST(h); kv; kv = TAILQ_NEXT(kv, next))
		n += strcasecmp(kv->key, name) == 0;
	return n;
}

static int
cross_site_type(const char *ct)
{
	static const char *const bad[] = { "text/plain", "application/x-www-form-urlencoded",
		"multipart/form-data" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (strncasecmp(ct, bad[i], strlen(bad[i])) == 0)
			return 1;
	return 0;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const char *host = evhttp_find_header(h, "Host");
	const char *v, *path, *query;
	char *dpath = NULL;
	size_t raw_len;
	int gzip = -1;

	if (evcon) {
		struct conn *c = conn_of_bev(evhttp_connection_get_bufferevent(evcon));
		if (c)
			c->state = C_BUSY;
		evhttp_request_set_on_complete_cb(req, req_done,
		    evhttp_connection_get_bufferevent(evcon));
	}
	if (g_ttd.stopping) {
		ttd_reply_error(req, 503, "shutting down");
		return;
	}
	if (header_count(h, "Host") > 1 || header_count(h, "Content-Length") > 1) {
		/* the body may have been framed by the wrong one: end the connection */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
		ttd_reply_error(req, 400, "more than one Host or Content-Length header");
		return;
	}
	/* an absolute-form target ("GET http://name/...") names the host too */
	if ((v = uri ? evhttp_uri_get_host(uri) : NULL) != NULL && *v)
		host = v;
	if (host && !bound_loopback && g_ttd.cfg.n_allow_host == 0) {
		/* bound to a non-loopback address on purpose: any Host */
	} else if (host && !is_loopback_host(host, strlen(host))) {
		ttd_reply_error(req, 421, "host '%s' is not a loopback name; use --allow-host", host);
		return;
	}
	if (cmd & (EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    "GET, HEAD, POST, DELETE");
		ttd_reply_error(req, 405, "method %s is not supported",
		    method_name(cmd));
		return;
	}
	if (cmd == EVHTTP_REQ_OPTIONS) {
		/* CORS preflights fail: no Access-Control-* headers, ever */
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    "GET, HEAD, POST, DELETE");
		ttd_reply_error(req, 405, "cross-origin requests are not supported");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		if (((v = evhttp_find_header(h, "Sec-Fetch-Site")) && strcasecmp(v, "cross-site") == 0) ||
		    ((v = evhttp_find_header(h, "Origin")) && !origin_is_loopback(v))) {
			ttd_reply_error(req, 403, "cross-origin requests are refused");
			return;
		}
		if ((v = evhttp_find_header(h, "Content-Type")) && cross_site_type(v)) {
			ttd_reply_error(req, 415, "content type '%s' is refused; send application/json", v);
			return;
		}
	}
	path = uri ? evhttp_uri_get_path(uri) : NULL;
	query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	if ((dpath = evhttp_uridecode(path, 0, NULL)) == NULL) {
		ttd_reply_error(req, 400, "bad path");
		return;
	}

	/* body: identity or gzip/deflate, at most max_body after decoding */
	raw_len = evbuffer_get_length(in);
	body.len = 0;
	if ((v = evhttp_find_header(h, "Content-Encoding")) && strcasecmp(v, "identity") != 0) {
		if (strcasecmp(v, "gzip") == 0 || strcasecmp(v, "x-gzip") == 0)
			gzip = 1;
		else if (strcasecmp(v, "deflate") == 0)
			gzip = 0;
		else {
			ttd_reply_error(req, 415, "unsupported content encoding '%s'", v);
			goto out;
		}
	}
	if (raw_len > 0) {
		const uint8_t *raw = evbuffer_pullup(in, -1);
		if (raw == NULL) {
			ttd_reply_error(req, 500, "out of memory");
			goto out;
		}
		if (gzip >= 0) {
			int r = inflate_body(raw, raw_len, gzip, &body, g_ttd.cfg.max_body);
			if (r == -E2BIG) {
				ttd_reply_error(req, 413, "body over %llu bytes after decompression",
				    (unsigned long long)g_ttd.cfg.max_body);
				goto out;
			}
			if (r < 0) {
				ttd_reply_error(req, 400, "body is not valid %s data",
				    gzip ? "gzip" : "deflate");
				goto out;
			}
		} else if (tt_buf_append(&body, raw, raw_len) < 0) {
			ttd_reply_error(req, 500, "out of memory");
			goto out;
		}
		evbuffer_drain(in, raw_len);
	}
	/* padding for the JSON decoder; never part of the body */
	if (tt_buf_reserve(&body, TT_JSON_PADDING) < 0) {
		ttd_reply_error(req, 500, "out of memory");
		goto out;
	}
	memset(body.data + body.len, 0, TT_JSON_PADDING);
	ttd_api_dispatch(req, dpath, query, body.data, body.len);
out:
	free(dpath);
	/* do not keep a 20 MiB buffer around after one large request, nor the
	 * pages the decoder used for it: glibc keeps freed heap memory mapped
	 * (its mmap threshold rises after large frees) unless told */
	if (body.cap > (4u << 20)) {
		tt_buf_free(&body);
		malloc_trim(0);
	}
}

static int
parse_listen(const char *spec, char *addr, size_t n, int *port)
{
	const char *colon;
	char *end;
	long p;

	if (spec[0] == '[') {
		const char *e = strchr(spec, ']');
		if (e == NULL || e[1] != ':')
			return -1;
		if ((size_t)(e - spec - 1) >= n)
			return -1;
		memcpy(addr, spec + 1, (size_t)(e - spec - 1));
		addr[e - spec - 1] = '\0';
		colon = e + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL) { /* a bare port */
			snprintf(addr, n, "127.0.0.1");
			colon = spec - 1;
		} else {
			if ((size_t)(colon - spec) >= n)
				return -1;
			memcpy(addr, spec, (size_t)(colon - spec));
			addr[colon - spec] = '\0';
			if (addr[0] == '\0')
				snprintf(addr, n, "127.0.0.1");
		}
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535 || end == colon + 1)
		return -1;
	*port = (int)p;
	return 0;
}

int
ttd_http_start(void)
{
	char addr[128];
	int port;
	struct timeval tv = { 0, 100 * 1000 };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	const ttd_config *c = &g_ttd.cfg;

	if (c->http == NULL || strcmp(c->http, "off") == 0)
		return 0;
	if (parse_listen(c->http, addr, sizeof addr, &port) < 0) {
		log_err("invalid --http '%s': expected ADDR:PORT", c->http);
		return -1;
	}
	bound_loopback = is_loopback_host(addr, strlen(addr));
	if (!bound_loopback)
		log_warn("--http %s is not a loopback address: ttd is reachable from the network", c->http);
	if ((http = evhttp_new(g_ttd.base)) == NULL)
		return -1;
	evhttp_set_max_headers_size(http, 16 * 1024);
	evhttp_set_max_body_size(http, (ev_ssize_t)c->max_body);
	evhttp_set_timeout(http, (int)c->header_timeout);
	/* every method evhttp knows reaches on_request, so that the ones ttd
	 * does not serve get its JSON 405 rather than evhttp's HTML 501 */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
	evhttp_set_bevcb(http, bev_cb, NULL);
	evhttp_set_gencb(http, on_request, NULL);
	if ((bound = evhttp_bind_socket_with_handle(http, addr, (ev_uint16_t)port)) == NULL) {
		log_err("could not listen on %s: %s%s", c->http, strerror(errno),
		    errno == EADDRINUSE ? " (is another ttd running on this port?)" : "");
		return -1;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0)
		bound_port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	log_info("listening on http://%s%s%s:%d", strchr(addr, ':') ? "[" : "", addr,
	    strchr(addr, ':') ? "]" : "", bound_port);
	reap_ev = event_new(g_ttd.base, -1, EV_PERSIST, reap_cb, NULL);
	if (reap_ev == NULL || event_add(reap_ev, &tv) < 0)
		return -1;
	return 0;
}

void
ttd_http_stop_accepting(void)
{
	if (http && bound) {
		evhttp_del_accept_socket(http, bound);
		bound = NULL;
	}
}

void
ttd_http_fini(void)
{
	if (reap_ev)
		event_free(reap_ev);
	reap_ev = NULL;
	if (http)
		evhttp_free(http);
	http = NULL;
	/* evhttp_free released every connection; drop our references */
	for (size_t i = 0; i < n_conns; i++)
		(void)bufferevent_decref(conns[i].bev);
	free(conns);
	conns = NULL;
	n_conns = cap_conns = 0;
	tt_buf_free(&body);
}
