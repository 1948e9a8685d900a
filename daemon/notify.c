/*
 * notify.c -- delivering alert notifications: the body in the rule's format
 * (Prometheus Alertmanager webhook payload version 4, a Slack incoming-webhook
 * {"text"}, or TeraTrace's own JSON), POSTed with libevent's HTTP client and
 * handed to a command on its standard input.
 *
 * Deliveries are queued (at most NOTIFY_QUEUE at once; past that the newest is
 * dropped and counted) and retried with exponential backoff and jitter (1 s,
 * 2 s, 4 s ... capped at 60 s, NOTIFY_TRIES attempts in all), each attempt with
 * a 5 s timeout. All of it runs on ttd's loop without blocking it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "alerts.h"
#include "../cli/cli.h" /* cli_fmt_dur: libttcli is linked into ttd */
#include "ttd.h"

#define NOTIFY_QUEUE 1000   /* deliveries in flight or waiting to retry */
#define NOTIFY_TRIES 8      /* attempts per delivery */
#define NOTIFY_TIMEOUT 5    /* seconds per attempt */
#define EXEC_TIMEOUT_NS (10 * 1000000000LL)

notify_stats g_notify;

extern char **environ;

/* ---- bodies */

static void rfc3339(tt_buf *b, int64_t ns)
{
	char t[48];
	if (ns <= 0) {
		jw_str(b, "0001-01-01T00:00:00Z"); /* Alertmanager's "not ended" */
		return;
	}
	tt_time_rfc3339(ns, t, sizeof t);
	jw_str(b, t);
}

static const char *kind_name(int k)
{
	static const char *const n[] = { "errors", "error_rate", "latency", "silence", "count" };
	return n[k];
}

static void value_text(const alert_event *ev, char *buf, size_t n)
{
	const alert_rule *r = ev->rule;
	char v[32], t[32], w[32];

	cli_fmt_dur(r->window_ns, w, sizeof w);
	switch (r->kind) {
	case AK_LATENCY:
		cli_fmt_dur((int64_t)ev->value, v, sizeof v);
		cli_fmt_dur((int64_t)r->threshold, t, sizeof t);
		snprintf(buf, n, "p%g latency %s over %s (threshold %s)", r->quantile * 100, v, w, t);
		break;
	case AK_ERROR_RATE:
		snprintf(buf, n, "error rate %.2f%% over %s (threshold %g%%)", ev->value, w, r->threshold);
		break;
	case AK_SILENCE:
		snprintf(buf, n, "no records for %s", w);
		break;
	default:
		snprintf(buf, n, "%.0f %s over %s (threshold %g)", ev->value,
		    r->kind == AK_ERRORS ? "errors" : "records", w, r->threshold);
	}
}

static void labels_json(tt_buf *b, const alert_event *ev)
{
	jw_raw(b, "{\"alertname\":");
	jw_str(b, ev->rule->name);
	jw_raw(b, ",\"severity\":");
	jw_str(b, ev->rule->severity ? ev->rule->severity : "warning");
	jw_raw(b, ",\"source\":\"teratrace\",\"kind\":");
	jw_str(b, kind_name(ev->rule->kind));
	for (int i = 0; i < ev->nlabels; i++) {
		jw_raw(b, ",");
		jw_str(b, ev->labels[2 * i]);
		jw_raw(b, ":");
		jw_str(b, ev->labels[2 * i + 1]);
	}
	if (ev->rule->service && !ev->nlabels) {
		jw_raw(b, ",\"service\":");
		jw_str(b, ev->rule->service);
	}
	jw_raw(b, "}");
}

/* {summary, description, value}: the same for the group and its one alert */
static void annotations_json(tt_buf *b, const alert_event *ev, const char *summary,
    const char *text)
{
	jw_raw(b, "{\"summary\":");
	jw_str(b, summary);
	jw_raw(b, ",\"description\":");
	jw_str(b, text);
	jw_fmt(b, ",\"value\":\"%.10g\"}", ev->value);
}

/* Alertmanager's fingerprint is a hash of the label set: 16 hex digits. */
static uint64_t fingerprint(const alert_event *ev)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[2] = { ev->rule->name, ev->group };
	for (int i = 0; i < 2; i++)
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	return h;
}

void alert_body(const alert_event *ev, tt_buf *b)
{
	const alert_rule *r = ev->rule;
	char text[256], summary[512];

	value_text(ev, text, sizeof text);
	snprintf(summary, sizeof summary, "%s%s%s: %s", r->name, *ev->group ? " " : "", ev->group, text);
	b->len = 0;
	if (r->format == AF_SLACK) {
		char line[700];
		snprintf(line, sizeof line, "%s %s", ev->firing ? "[FIRING]" : "[RESOLVED]",
		    r->summary ? r->summary : summary);
		jw_raw(b, "{\"text\":");
		jw_str(b, line);
		jw_raw(b, "}");
		return;
	}
	if (r->format == AF_JSON) {
		jw_raw(b, "{\"rule\":");
		jw_str(b, r->name);
		jw_raw(b, ",\"state\":");
		jw_str(b, ev->firing ? "firing" : "resolved");
		jw_raw(b, ",\"kind\":");
		jw_str(b, kind_name(r->kind));
		jw_raw(b, ",\"group\":");
		jw_str(b, ev->group);
		jw_fmt(b, ",\"value\":%.10g,\"threshold\":%.10g,\"window_ns\":%" PRId64, ev->value,
		    r->threshold, r->window_ns);
		jw_raw(b, ",\"labels\":");
		labels_json(b, ev);
		jw_raw(b, ",\"startsAt\":");
		rfc3339(b, ev->starts_ns);
		jw_raw(b, ",\"endsAt\":");
		rfc3339(b, ev->ends_ns);
		jw_raw(b, ",\"summary\":");
		jw_str(b, r->summary ? r->summary : summary);
		jw_raw(b, "}");
		return;
	}
	/* Alertmanager webhook payload, version 4 */
	jw_raw(b, "{\"version\":\"4\",\"groupKey\":");
	{
		char gk[300];
		snprintf(gk, sizeof gk, "{}:{alertname=\"%s\"}", r->name);
		jw_str(b, gk);
	}
	jw_raw(b, ",\"truncatedAlerts\":0,\"status\":");
	jw_str(b, ev->firing ? "firing" : "resolved");
	jw_raw(b, ",\"receiver\":\"teratrace\",\"groupLabels\":{\"alertname\":");
	jw_str(b, r->name);
	jw_raw(b, "},\"commonLabels\":");
	labels_json(b, ev);
	jw_raw(b, ",\"commonAnnotations\":");
	annotations_json(b, ev, r->summary ? r->summary : summary, text);
	jw_raw(b, ",\"externalURL\":\"\",\"alerts\":[{\"status\":");
	jw_str(b, ev->firing ? "firing" : "resolved");
	jw_raw(b, ",\"labels\":");
	labels_json(b, ev);
	jw_raw(b, ",\"annotations\":");
	annotations_json(b, ev, r->summary ? r->summary : summary, text);
	jw_raw(b, ",\"startsAt\":");
	rfc3339(b, ev->starts_ns);
	jw_raw(b, ",\"endsAt\":");
	rfc3339(b, ev->ends_ns);
	jw_fmt(b, ",\"generatorURL\":\"\",\"fingerprint\":\"%016" PRIx64 "\"}]}", fingerprint(ev));
}

/* ---- webhook deliveries */

typedef struct delivery {
	struct delivery *next;
	char *url;
	char *secret;
	tt_buf body;
	int tries;
	struct event *retry;
} delivery;

static delivery *g_deliveries; /* in flight or waiting */
static size_t g_ndeliveries;

static void delivery_free(delivery *d)
{
	delivery **pp = &g_deliveries;
	while (*pp && *pp != d)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = d->next;
		g_ndeliveries--;
	}
	if (d->retry)
		event_free(d->retry);
	free(d->url);
	free(d->secret);
	tt_buf_free(&d->body);
	free(d);
}

static void attempt(delivery *d);

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	attempt(arg);
}

static void failed(delivery *d, const char *why)
{
	struct timeval tv;
	int64_t ms;

	if (++d->tries >= NOTIFY_TRIES || g_ttd.stopping) {
		g_notify.failed++;
		log_warn("alert webhook %s: %s; giving up after %d attempts", d->url, why, d->tries);
		delivery_free(d);
		return;
	}
	g_notify.retried++;
	ms = 1000LL << (d->tries - 1);
	if (ms > 60000)
		ms = 60000;
	ms = ms / 2 + (int64_t)((uint64_t)rand() % (uint64_t)(ms / 2 + 1)); /* jitter: 50-100 % */
	log_info("alert webhook %s: %s; retry %d in %lld ms", d->url, why, d->tries, (long long)ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (!d->retry && !(d->retry = evtimer_new(g_ttd.base, retry_cb, d))) {
		delivery_free(d);
		return;
	}
	evtimer_add(d->retry, &tv);
}

static void done_cb(struct evhttp_request *req, void *arg)
{
	delivery *d = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	char why[64];

	if (code >= 200 && code < 300) {
		g_notify.sent++;
		delivery_free(d);
		return;
	}
	if (code == 0)
		snprintf(why, sizeof why, "no answer (connection refused, reset or timed out)");
	else
		snprintf(why, sizeof why, "HTTP %d", code);
	failed(d, why);
}

static void attempt(delivery *d)
{
	struct evhttp_uri *u = evhttp_uri_parse(d->url);
	struct evhttp_connection *c = NULL;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	const char *host, *path, *q;
	char target[2048], hostport[300];
	int port;

	if (!u || !(host = evhttp_uri_get_host(u))) {
		if (u)
			evhttp_uri_free(u);
		failed(d, "bad URL");
		return;
	}
	port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	path = evhttp_uri_get_path(u);
	q = evhttp_uri_get_query(u);
	snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", q ? "?" : "", q ? q : "");
	snprintf(hostport, sizeof hostport, "%s:%d", host, port);
	if (!(c = evhttp_connection_base_new(g_ttd.base, NULL, host, (unsigned short)port)) ||
	    !(req = evhttp_request_new(done_cb, d))) {
		if (c)
			evhttp_connection_free(c);
		evhttp_uri_free(u);
		failed(d, "out of memory");
		return;
	}
	evhttp_connection_set_timeout(c, NOTIFY_TIMEOUT);
	evhttp_connection_free_on_completion(c);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", hostport);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "ttd/" TT_VERSION_STRING);
	if (d->secret) {
		unsigned char mac[32];
		unsigned int maclen = 0;
		char hex[7 + 65];
		HMAC(EVP_sha256(), d->secret, (int)strlen(d->secret), d->body.data, d->body.len, mac, &maclen);
		memcpy(hex, "sha256=", 7);
		for (unsigned i = 0; i < maclen && i < 32; i++)
			snprintf(hex + 7 + 2 * i, 3, "%02x", mac[i]);
		evhttp_add_header(h, "X-TeraTrace-Signature", hex);
	}
	evbuffer_add(evhttp_request_get_output_buffer(req), d->body.data, d->body.len);
	evhttp_uri_free(u);
	if (evhttp_make_request(c, req, EVHTTP_REQ_POST, target) != 0)
		log_warn("alert webhook %s: could not start the request", d->url); /* done_cb runs */
}

/* ---- exec */

typedef struct child { pid_t pid; int64_t deadline; char *cmd; } child;
static child g_children[64];
static struct event *g_reaper;

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = ttd_mono_ns();
	int busy = 0;
	(void)fd, (void)what, (void)arg;
	for (size_t i = 0; i < sizeof g_children / sizeof *g_children; i++) {
		int st;
		pid_t r;
		if (!g_children[i].pid)
			continue;
		r = waitpid(g_children[i].pid, &st, WNOHANG);
		if (r == g_children[i].pid) {
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				g_notify.failed++;
				log_warn("alert exec '%s': %s %d", g_children[i].cmd,
				    WIFEXITED(st) ? "exit status" : "killed by signal",
				    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			} else {
				g_notify.sent++;
			}
			free(g_children[i].cmd);
			g_children[i].pid = 0;
			continue;
		}
		if (now > g_children[i].deadline)
			kill(g_children[i].pid, SIGKILL); /* reaped next time */
		busy = 1;
	}
	if (busy) {
		struct timeval tv = { 0, 100000 };
		evtimer_add(g_reaper, &tv);
	}
}

static void run_exec(const char *cmd, const tt_buf *body)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	int p[2];
	size_t slot;
	pid_t pid;

	for (slot = 0; slot < sizeof g_children / sizeof *g_children && g_children[slot].pid; slot++)
		;
	if (slot == sizeof g_children / sizeof *g_children) {
		g_notify.dropped++;
		log_warn("alert exec '%s': 64 commands still running; this one dropped", cmd);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		g_notify.failed++;
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	if (posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]), close(p[1]);
		g_notify.failed++;
		log_warn("alert exec '%s': cannot start: %s", cmd, strerror(errno));
		return;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	/* small bodies fit the pipe; a command that reads nothing does not block us */
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	if (write(p[1], body->data, body->len) != (ssize_t)body->len)
		log_warn("alert exec '%s': standard input not taken whole", cmd);
	close(p[1]);
	g_children[slot].pid = pid;
	g_children[slot].deadline = ttd_mono_ns() + EXEC_TIMEOUT_NS;
	g_children[slot].cmd = strdup(cmd);
	if (!g_reaper)
		g_reaper = evtimer_new(g_ttd.base, reap_cb, NULL);
	if (g_reaper) {
		struct timeval tv = { 0, 100000 };
		evtimer_add(g_reaper, &tv);
	}
}

void notify_send(const alert_event *ev)
{
	tt_buf body = { 0 };
	delivery *d;

	alert_body(ev, &body);
	if (ev->rule->exec)
		run_exec(ev->rule->exec, &body);
	if (!ev->rule->webhook) {
		tt_buf_free(&body);
		return;
	}
	if (g_ndeliveries >= NOTIFY_QUEUE || !(d = calloc(1, sizeof *d))) {
		g_notify.dropped++;
		log_warn("alert webhook %s: %zu deliveries pending; this one dropped",
		    ev->rule->webhook, g_ndeliveries);
		tt_buf_free(&body);
		return;
	}
	d->url = strdup(ev->rule->webhook);
	d->secret = ev->rule->secret ? strdup(ev->rule->secret) : NULL;
	d->body = body;
	d->next = g_deliveries;
	g_deliveries = d;
	g_ndeliveries++;
	g_notify.queued++;
	if (!d->url || (ev->rule->secret && !d->secret)) {
		delivery_free(d);
		return;
	}
	attempt(d);
}

void notify_shutdown(void)
{
	/* deliveries waiting for a retry are dropped (logged); in-flight ones end
	 * with the event base */
	for (delivery *d = g_deliveries, *n; d; d = n) {
		n = d->next;
		if (d->retry && evtimer_pending(d->retry, NULL)) {
			g_notify.dropped++;
			log_warn("alert webhook %s: not delivered before shutdown", d->url);
			delivery_free(d);
		}
	}
	if (g_reaper) {
		event_free(g_reaper);
		g_reaper = NULL;
	}
}
