/*
 * fuzz_http.c -- ttd's HTTP request handling, end to end in one process: the
 * real evhttp server of daemon/http.c (connection cap, Host and cross-site
 * guards, gzip/deflate bodies, routing) and every endpoint of daemon/api.c
 * and sse.c, on a temporary store.
 *
 * ttd is started as main() would start it (options through the real option
 * parser, store, writer, decoder, event loop, ingest, streams, HTTP on an
 * ephemeral loopback port; no unix socket, no lock file) but the harness
 * drives the loop: each input is sent as raw bytes on a new TCP connection,
 * the client half-closes, and the loop runs until ttd has answered and
 * closed. Pipelined requests, bad request lines, huge headers, chunked
 * bodies, slow SSE streams: whatever the bytes say.
 *
 * Checks: no crash, leak, sanitizer report; ttd closes every connection
 * within the harness deadline (an SSE stream may stay open: the harness
 * closes it); every response is an HTTP/1.x status line with a 2xx-5xx code
 * but never 500 (an internal error on a request no one should be able to
 * cause); every JSON body is valid JSON (error messages quote hostile Host
 * headers, ids and paths).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz.h"
#include "fmt_internal.h"
#include "ttd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEADLINE_MS 4000 /* > --header-timeout 1 and --request-timeout 2 */

static int port;
static tt_json_parser *jp;
static msgpack_zone zone;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char store[4096];
	char *args[] = { "ttd", "-D", store, "--http", "127.0.0.1:0", "--socket", "off",
		"--sync", "none", "--log-level", "error", "--commit-interval", "1",
		"--header-timeout", "1", "--request-timeout", "2", "--max-body", "16K",
		"--max-record", "4K", "--max-batch", "50", "--max-logs", "20",
		"--sse-keepalive", "1", "--sse-max-clients", "4", "--max-connections", "64",
		"--allow-host", "trace.internal", NULL };
	int nargs = (int)(sizeof args / sizeof *args) - 1;
	ttd_config *c = &g_ttd.cfg;
	tt_store_opts so;
	tt_decode_opts dopt;

	signal(SIGPIPE, SIG_IGN);
	snprintf(store, sizeof store, "%s/store", fuzz_tmpdir());
	FUZZ_ASSERT(mkdir(store, 0700) == 0);
	FUZZ_ASSERT(ttd_config_defaults(c) == 0);
	FUZZ_ASSERT(ttd_config_args(c, nargs, args) == 0);
	FUZZ_ASSERT(ttd_config_finish(c) == 0);
	ttd_log_set_level(c->log_level);
	g_ttd.started_ns = ttd_now_ns();

	memset(&so, 0, sizeof so);
	so.flags = TT_OPEN_CREATE;
	so.commit_ms = c->commit_ms;
	so.sync = c->sync;
	so.rec_max = (size_t)c->max_record;
	FUZZ_ASSERT(tt_store_open(&g_ttd.store, c->store, &so) == 0);
	FUZZ_ASSERT(tt_writer_open(g_ttd.store, &g_ttd.writer) == 0);
	dopt.rec_max = (size_t)c->max_record;
	FUZZ_ASSERT(tt_decoder_new(&g_ttd.dec, &dopt) == 0);
	FUZZ_ASSERT((g_ttd.base = event_base_new()) != NULL);
	FUZZ_ASSERT(ttd_ingest_init() == 0 && ttd_sse_init() == 0);
	FUZZ_ASSERT(ttd_http_start() == 0);
	port = ttd_http_port();
	FUZZ_ASSERT(port > 0);

	/* something to query: ids "a" and "b" */
	for (int i = 0; i < 20; i++) {
		uint8_t rec[] = "\x84\xa2ts\xcd\x00\x00\xa4" "corr\xa1" "a\xa7service\xa3web\xa3msg\xa2hi";
		rec[5] = (uint8_t)i;
		rec[13] = i % 2 ? 'a' : 'b';
		FUZZ_ASSERT(tt_writer_append(g_ttd.writer, rec, sizeof rec - 1) > 0);
	}
	FUZZ_ASSERT(tt_writer_flush(g_ttd.writer) == 0);

	jp = tt_json_parser_new();
	FUZZ_ASSERT(jp && msgpack_zone_init(&zone, 4096));
	return 0;
}

/* ---- the client side of one connection */

struct client {
	int fd, done;
	tt_buf in;    /* everything ttd sent */
	int64_t last; /* when it last sent something (mono ms) */
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
}

static int64_t mono_ms(void);

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	c->last = mono_ms();
	for (;;) {
		ssize_t n;
		FUZZ_ASSERT(tt_buf_reserve(&c->in, 16384) == 0);
		n = read(fd, c->in.data + c->in.len, c->in.cap - c->in.len);
		if (n > 0) {
			c->in.len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			c->done = 1; /* closed (or reset) by ttd */
		return;
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- checking what came back */

static void check_json(const char *p, size_t n)
{
	char *pad = malloc(n + TT_JSON_PADDING);
	msgpack_object root;
	int depth, rc;
	tt_rec_err err;

	FUZZ_ASSERT(pad != NULL);
	memcpy(pad, p, n);
	memset(pad + n, 0, TT_JSON_PADDING);
	msgpack_zone_clear(&zone);
	rc = tt_json_parse(jp, pad, n, 1000, NULL, &zone, &root, &depth, &err);
	if (rc != 0) {
		fprintf(stderr, "ttd sent a body that is not JSON (%s at %zu): %.*s\n", err.reason,
		    err.offset, (int)(n > 2000 ? 2000 : n), p);
		abort();
	}
	free(pad);
}

static void check_responses(const tt_buf *b, int head)
{
	const char *p = (const char *)b->data, *end = p + b->len;

	while (p < end) {
		const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4), *h, *q;
		long code, clen = -1;
		int json = 0;

		if ((size_t)(end - p) < 12) {
			FUZZ_ASSERT(memcmp(p, "HTTP/", (size_t)(end - p) < 5 ? (size_t)(end - p) : 5) == 0);
			return; /* cut short (ttd closed): nothing more to check */
		}
		/* evhttp answers in the version the request gave, whatever it
		 * sscanf'd: "HTTP/0.1", "HTTP/1.12", even "HTTP/1.-57" */
		q = p + 5;
		while (q < end && q < p + 32 && *q != ' ' && *q != '\r')
			q++;
		if (memcmp(p, "HTTP/", 5) != 0 || q == p + 5 || end - q < 4 || *q != ' ' ||
		    !isdigit((unsigned char)q[1])) {
			fprintf(stderr, "not an HTTP response: %.*s\n", (int)(end - p > 200 ? 200 : end - p), p);
			abort();
		}
		code = strtol(q + 1, NULL, 10);
		if (code < 200 || code > 599 || code == 500) {
			fprintf(stderr, "ttd answered %ld: %.*s\n", code, (int)(end - p > 600 ? 600 : end - p), p);
			abort();
		}
		if (hend == NULL)
			return;
		for (h = p; h && h < hend;) {
			const char *nl = memchr(h, '\n', (size_t)(hend - h));
			if (strncasecmp(h, "Content-Length:", 15) == 0)
				clen = strtol(h + 15, NULL, 10);
			if (strncasecmp(h, "Content-Type: application/json", 30) == 0)
				json = 1;
			h = nl ? nl + 1 : NULL;
		}
		p = hend + 4;
		if (clen < 0 || head)
			return; /* a stream (chunked), or HEAD: no body to frame by */
		if (clen > end - p)
			return;
		if (json)
			check_json(p, (size_t)clen);
		p += clen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client c = { -1, 0, { 0 }, 0 };
	struct timeval tick = { 0, 5000 };
	struct event *tev;
	int pipelined = 0, shut = 0;
	struct sockaddr_in sa;
	struct event *rev;
	int64_t deadline;
	size_t off = 0;
	int stream = 0;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	FUZZ_ASSERT(c.fd >= 0);
	FUZZ_ASSERT(connect(c.fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	FUZZ_ASSERT(fcntl(c.fd, F_SETFL, O_NONBLOCK) == 0);
	rev = event_new(g_ttd.base, c.fd, EV_READ | EV_PERSIST, on_read, &c);
	FUZZ_ASSERT(rev && event_add(rev, NULL) == 0);

	/* several requests: keep the connection open until ttd has been quiet
	 * for a moment (a half-close would end the pipeline after the first) */
	for (const uint8_t *q = data; size && pipelined < 2; q++) {
		if ((q = memmem(q, size - (size_t)(q - data), "HTTP/1.", 7)) == NULL)
			break;
		pipelined++;
	}
	pipelined = pipelined > 1;
	tev = event_new(g_ttd.base, -1, EV_PERSIST, on_tick, NULL);
	FUZZ_ASSERT(tev && event_add(tev, &tick) == 0);

	/* send while serving (a large input fills the socket buffers), then
	 * half-close: ttd sees the end of the request stream */
	c.last = mono_ms();
	deadline = c.last + DEADLINE_MS;
	while (!c.done && mono_ms() < deadline) {
		if (off < size) {
			ssize_t n = send(c.fd, data + off, size - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (errno != EAGAIN && errno != EINTR)
				off = size; /* ttd closed early: fine */
			c.last = mono_ms();
		}
		if (off == size && !shut && (!pipelined || mono_ms() - c.last > 15)) {
			(void)shutdown(c.fd, SHUT_WR);
			shut = 1;
		}
		event_base_loop(g_ttd.base, EVLOOP_ONCE | (off < size ? EVLOOP_NONBLOCK : 0));
	}
	event_free(tev);
	if (!c.done) {
		/* only a stream may outlive the deadline */
		stream = c.in.len && memmem(c.in.data, c.in.len, "text/event-stream", 17) != NULL;
		if (!stream) {
			fprintf(stderr, "ttd neither answered nor closed within %d ms (%zu bytes back)\n",
			    DEADLINE_MS, c.in.len);
			abort();
		}
	}
	event_free(rev);
	close(c.fd);
	if (getenv("FUZZ_HTTP_VERBOSE")) /* what ttd answered, for writing seeds */
		fprintf(stderr, "---- %zu bytes back:\n%.*s\n", c.in.len, (int)c.in.len, (char *)c.in.data);
	check_responses(&c.in, memmem(data, size, "HEAD", 4) != NULL);
	tt_buf_free(&c.in);
	/* let ttd notice a closed stream, and reap */
	for (int i = 0; i < (stream ? 20 : 1); i++)
		event_base_loop(g_ttd.base, EVLOOP_NONBLOCK);
	return 0;
}
