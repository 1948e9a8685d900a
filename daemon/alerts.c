/*
 * alerts.c -- the alert engine: every interval each rule's window is
 * aggregated with tt_store_statq (from the rollups when the rule's conditions
 * allow, else a scan of just that window), each group moves through
 * inactive -> pending -> firing -> resolved, and every firing and resolve is
 * notified (notify.c) and appended to the store as a record of kind "alert".
 *
 * States live in memory: after a restart a condition that still holds fires
 * again (once per cooldown), and the stored alert records keep the history.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "alerts.h"
#include "ttd.h"

enum { ST_INACTIVE, ST_PENDING, ST_FIRING };

typedef struct agroup {
	char *key;                /* "service=payments" ("" without by) */
	char **labels;            /* by[i], value[i] */
	int state;
	int seen;                 /* present in the last evaluation */
	double value;
	int64_t since_ns;         /* pending since / firing since */
	int64_t last_notified_ns; /* of the last firing notification */
} agroup;

typedef struct arule_state {
	agroup *g;
	size_t n, cap;
	double last_value;
	int64_t last_eval_ns;
} arule_state;

#define RECENT_MAX 100 /* recent alert events kept for /api/alerts */

typedef struct recent {
	char *rule, *group;
	int firing;
	double value;
	int64_t ts;
} recent;

static struct {
	char *file;
	alert_rules rules;
	arule_state *st;          /* one per rule */
	struct event *timer;
	int64_t interval_ns;
	recent recent[RECENT_MAX];
	size_t nrecent, recent_head;
	uint64_t evaluations, firing_total, resolved_total, eval_errors;
} A;

/* ---- groups */

static void group_free(agroup *g, int nby)
{
	free(g->key);
	for (int i = 0; g->labels && i < 2 * nby; i++)
		free(g->labels[i]);
	free(g->labels);
}

static void states_free(void)
{
	for (int r = 0; A.st && r < A.rules.n; r++) {
		for (size_t i = 0; i < A.st[r].n; i++)
			group_free(&A.st[r].g[i], A.rules.v[r].nby);
		free(A.st[r].g);
	}
	free(A.st);
	A.st = NULL;
}

static agroup *group_get(arule_state *rs, const alert_rule *r, const tt_str *vals)
{
	tt_buf key = { 0 };
	agroup *g;

	for (int i = 0; i < r->nby; i++) {
		if (i)
			(void)tt_buf_append(&key, ",", 1);
		(void)tt_buf_append(&key, r->by[i], strlen(r->by[i]));
		(void)tt_buf_append(&key, "=", 1);
		(void)tt_buf_append(&key, vals[i].p, vals[i].n);
	}
	(void)tt_buf_append(&key, "", 1);
	if (!key.data)
		return NULL;
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->g[i].key, (char *)key.data)) {
			tt_buf_free(&key);
			return &rs->g[i];
		}
	if (rs->n >= ALERT_GROUPS_MAX) {
		tt_buf_free(&key);
		return NULL;
	}
	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 8;
		agroup *nv = realloc(rs->g, nc * sizeof *nv);
		if (!nv) {
			tt_buf_free(&key);
			return NULL;
		}
		rs->g = nv, rs->cap = nc;
	}
	g = &rs->g[rs->n];
	memset(g, 0, sizeof *g);
	g->key = (char *)key.data;
	if (r->nby && !(g->labels = calloc((size_t)(2 * r->nby), sizeof *g->labels))) {
		free(g->key);
		return NULL;
	}
	for (int i = 0; i < r->nby; i++) {
		g->labels[2 * i] = strdup(r->by[i]);
		g->labels[2 * i + 1] = strndup(vals[i].p, vals[i].n);
	}
	rs->n++;
	return g;
}

/* ---- evaluation */

struct eval {
	const alert_rule *r;
	arule_state *rs;
	int64_t now;
	int silence_seen;         /* pass 1 of a silence rule: groups seen */
};

static double rule_value(const alert_rule *r, const tt_statrow *row)
{
	switch (r->kind) {
	case AK_ERRORS: return (double)row->errors;
	case AK_ERROR_RATE: return row->count ? 100.0 * (double)row->errors / (double)row->count : 0;
	case AK_LATENCY: return row->dur_n ? (double)tt_hist_quantile(row->hist, r->quantile) : 0;
	default: return (double)row->count;
	}
}

static int on_group(void *ctx, const tt_statrow *row)
{
	struct eval *e = ctx;
	agroup *g = group_get(e->rs, e->r, row->group);

	if (!g)
		return 0; /* past the group cap: not tracked */
	if (e->silence_seen) {
		if (!g->seen)
			g->value = 0;
		g->seen = 2; /* known: seen within window x 10 */
		return 0;
	}
	g->seen = 1;
	g->value = rule_value(e->r, row);
	return 0;
}

static void alert_record(const alert_rule *r, const agroup *g, int firing)
{
	tt_buf j = { 0 };
	ttd_batch b;
	tt_rec_err err;
	uint64_t ticket;
	char msg[300];

	snprintf(msg, sizeof msg, "alert %s %s%s%s", r->name, firing ? "firing" : "resolved",
	    *g->key ? ": " : "", g->key);
	jw_raw(&j, "{\"kind\":\"alert\",\"service\":\"ttd\",\"name\":");
	jw_str(&j, r->name);
	jw_raw(&j, ",\"level\":");
	jw_str(&j, firing ? "error" : "info");
	jw_raw(&j, ",\"msg\":");
	jw_str(&j, msg);
	jw_raw(&j, ",\"attrs\":{\"rule\":");
	jw_str(&j, r->name);
	jw_raw(&j, ",\"state\":");
	jw_str(&j, firing ? "firing" : "resolved");
	jw_raw(&j, ",\"group\":");
	jw_str(&j, g->key);
	jw_fmt(&j, ",\"value\":%.10g,\"threshold\":%.10g,\"window_ns\":%" PRId64, g->value,
	    r->threshold, r->window_ns);
	for (int i = 0; i < r->nby; i++) {
		jw_raw(&j, ",");
		jw_str(&j, g->labels[2 * i]);
		jw_raw(&j, ":");
		jw_str(&j, g->labels[2 * i + 1]);
	}
	jw_raw(&j, "}}");
	memset(&b, 0, sizeof b);
	memset(&err, 0, sizeof err);
	if (j.data && ttd_batch_json(&b, (const char *)j.data, j.len, &err) >= 0 && b.n == 1)
		(void)ttd_batch_commit(&b, &ticket);
	else
		log_warn("alert %s: could not store its record", r->name);
	ttd_batch_free(&b);
	tt_buf_free(&j);
}

static void remember(const alert_rule *r, const agroup *g, int firing, int64_t now)
{
	recent *x = &A.recent[A.recent_head];

	free(x->rule);
	free(x->group);
	x->rule = strdup(r->name);
	x->group = strdup(g->key);
	x->firing = firing;
	x->value = g->value;
	x->ts = now;
	A.recent_head = (A.recent_head + 1) % RECENT_MAX;
	if (A.nrecent < RECENT_MAX)
		A.nrecent++;
}

static void transition(const alert_rule *r, agroup *g, int firing, int64_t now)
{
	alert_event ev;

	memset(&ev, 0, sizeof ev);
	ev.rule = r;
	ev.group = g->key;
	ev.labels = (const char *const *)g->labels;
	ev.nlabels = r->nby;
	ev.firing = firing;
	ev.value = g->value;
	ev.starts_ns = g->since_ns;
	ev.ends_ns = firing ? 0 : now;
	if (firing)
		A.firing_total++;
	else
		A.resolved_total++;
	log_info("alert %s%s%s: %s (value %g, threshold %g)", r->name, *g->key ? " " : "", g->key,
	    firing ? "firing" : "resolved", g->value, r->threshold);
	remember(r, g, firing, now);
	alert_record(r, g, firing);
	if (!firing || now - g->last_notified_ns >= r->cooldown_ns || !g->last_notified_ns) {
		if (firing)
			g->last_notified_ns = now;
		notify_send(&ev);
	}
}

static int breached(const alert_rule *r, const agroup *g)
{
	if (r->kind == AK_SILENCE)
		return g->seen == 2; /* known, and nothing in the window */
	return g->seen == 1 && g->value > r->threshold;
}

static void eval_rule(int ri, int64_t now)
{
	const alert_rule *r = &A.rules.v[ri];
	arule_state *rs = &A.st[ri];
	struct eval e = { r, rs, now, 0 };
	tt_statq q;
	tt_filter *f = NULL;
	const char *svc[1];
	int rc;

	for (size_t i = 0; i < rs->n; i++)
		rs->g[i].seen = 0;
	memset(&q, 0, sizeof q);
	q.by = (const char *const *)r->by;
	q.nby = (size_t)r->nby;
	if (r->service) {
		svc[0] = r->service;
		q.services = svc;
		q.nservices = 1;
	}
	if (r->nmatch || r->min_level != TT_LVL_NONE) {
		if (tt_filter_new(&f) < 0)
			return;
		for (int i = 0; i < r->nmatch; i++)
			(void)tt_filter_add_match(f, r->match[i]);
		if (r->min_level != TT_LVL_NONE)
			(void)tt_filter_set_level(f, r->min_level);
		q.filter = f;
	}
	if (r->kind == AK_SILENCE) {
		/* the groups seen over window x 10 before this window */
		q.since = now - 10 * r->window_ns;
		q.until = now;
		e.silence_seen = 1;
		if ((rc = tt_store_statq(g_ttd.store, &q, on_group, &e, NULL)) < 0)
			goto fail;
		if (r->service && !r->nby && rs->n == 0)
			(void)group_get(rs, r, NULL);
		e.silence_seen = 0;
	}
	q.since = now - r->window_ns;
	q.until = now;
	if ((rc = tt_store_statq(g_ttd.store, &q, on_group, &e, NULL)) < 0)
		goto fail;
	if (!r->nby && rs->n == 0 && r->kind != AK_SILENCE)
		(void)group_get(rs, r, NULL); /* one group: a value of 0 is a value */
	A.evaluations++;
	rs->last_eval_ns = now;
	for (size_t i = 0; i < rs->n; i++) {
		agroup *g = &rs->g[i];
		if (!r->nby && g->seen == 0 && r->kind != AK_SILENCE) {
			g->seen = 1;
			g->value = 0;
		}
		if (r->kind == AK_SILENCE && g->seen == 1)
			g->seen = 0; /* records in the window: not silent */
		rs->last_value = g->value;
		if (breached(r, g)) {
			if (g->state == ST_INACTIVE) {
				g->state = ST_PENDING;
				g->since_ns = now;
			}
			if (g->state == ST_PENDING && now - g->since_ns >= r->for_ns) {
				g->state = ST_FIRING;
				transition(r, g, 1, now);
			}
		} else if (g->state == ST_FIRING) {
			g->state = ST_INACTIVE;
			transition(r, g, 0, now);
		} else {
			g->state = ST_INACTIVE;
		}
	}
	tt_filter_free(f);
	return;
fail:
	A.eval_errors++;
	log_warn("alert %s: cannot evaluate: %s", r->name, tt_strerror(rc));
	tt_filter_free(f);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = ttd_now_ns();
	(void)fd, (void)what, (void)arg;
	if (g_ttd.stopping)
		return;
	for (int i = 0; i < A.rules.n; i++)
		eval_rule(i, now);
}

/* ---- start, reload, stop */

static int load(alert_rules *out)
{
	char err[512];
	if (alert_rules_load(A.file, out, err, sizeof err) < 0) {
		log_err("alerts: %s", err);
		return -1;
	}
	return 0;
}

static int adopt(alert_rules *nr)
{
	arule_state *st = calloc(nr->n ? (size_t)nr->n : 1, sizeof *st);
	if (!st)
		return -1;
	states_free();
	alert_rules_free(&A.rules);
	A.rules = *nr;
	A.st = st;
	return 0;
}

int ttd_alerts_start(const char *file, int64_t interval_ns)
{
	alert_rules nr;
	struct timeval tv;

	if (!(A.file = strdup(file)) || load(&nr) < 0 || adopt(&nr) < 0)
		return -1;
	A.interval_ns = interval_ns > 0 ? interval_ns : 10 * 1000000000LL;
	if (!(A.timer = event_new(g_ttd.base, -1, EV_PERSIST, tick, NULL)))
		return -1;
	tv.tv_sec = A.interval_ns / 1000000000LL;
	tv.tv_usec = (A.interval_ns % 1000000000LL) / 1000;
	evtimer_add(A.timer, &tv);
	log_info("alerts: %d rules from %s, evaluated every %.3gs", A.rules.n, file,
	    (double)A.interval_ns / 1e9);
	return 0;
}

void ttd_alerts_reload(void)
{
	alert_rules nr;

	if (!A.file)
		return;
	if (load(&nr) < 0) {
		log_err("alerts: keeping the %d rules loaded before", A.rules.n);
		return;
	}
	if (adopt(&nr) < 0) {
		alert_rules_free(&nr);
		return;
	}
	log_info("alerts: %d rules reloaded from %s", A.rules.n, A.file);
}

void ttd_alerts_stop(void)
{
	if (A.timer)
		event_free(A.timer);
	A.timer = NULL;
	notify_shutdown();
	states_free();
	alert_rules_free(&A.rules);
	for (size_t i = 0; i < RECENT_MAX; i++) {
		free(A.recent[i].rule);
		free(A.recent[i].group);
	}
	free(A.file);
	memset(&A, 0, sizeof A);
}

/* ---- /api/alerts and /metrics */

void ttd_alerts_api(struct evhttp_request *req)
{
	static const char *const states[] = { "inactive", "pending", "firing" };
	static const char *const kinds[] = { "errors", "error_rate", "latency", "silence", "count" };
	tt_buf b = { 0 };
	char t[48];

	jw_fmt(&b, "{\"enabled\":%s,\"interval_ns\":%" PRId64 ",\"rules\":[", A.file ? "true" : "false",
	    A.interval_ns);
	for (int i = 0; i < A.rules.n; i++) {
		const alert_rule *r = &A.rules.v[i];
		jw_raw(&b, i ? ",{\"name\":" : "{\"name\":");
		jw_str(&b, r->name);
		jw_raw(&b, ",\"kind\":");
		jw_str(&b, kinds[r->kind]);
		/* what it watches and where it sends; never the webhook URL itself
		 * (a Slack URL is a secret) nor the command */
		jw_raw(&b, ",\"by\":[");
		for (int k = 0; k < r->nby; k++) {
			if (k)
				jw_raw(&b, ",");
			jw_str(&b, r->by[k]);
		}
		jw_raw(&b, "],\"service\":");
		if (r->service)
			jw_str(&b, r->service);
		else
			jw_raw(&b, "null");
		jw_raw(&b, ",\"match\":[");
		for (int k = 0; k < r->nmatch; k++) {
			if (k)
				jw_raw(&b, ",");
			jw_str(&b, r->match[k]);
		}
		jw_fmt(&b, "],\"quantile\":%.10g,\"receiver\":\"%s\",\"severity\":", r->quantile,
		    r->webhook ? "webhook" : r->exec ? "exec" : "none");
		jw_str(&b, r->severity ? r->severity : "warning");
		jw_fmt(&b, ",\"threshold\":%.10g,\"window_ns\":%" PRId64 ",\"for_ns\":%" PRId64
		    ",\"last_value\":%.10g,\"last_eval_ns\":%" PRId64 ",\"groups\":[", r->threshold,
		    r->window_ns, r->for_ns, A.st[i].last_value, A.st[i].last_eval_ns);
		for (size_t k = 0; k < A.st[i].n; k++) {
			const agroup *g = &A.st[i].g[k];
			jw_raw(&b, k ? ",{\"group\":" : "{\"group\":");
			jw_str(&b, g->key);
			jw_raw(&b, ",\"state\":");
			jw_str(&b, states[g->state]);
			jw_fmt(&b, ",\"value\":%.10g,\"since_ns\":%" PRId64 "}", g->value,
			    g->state ? g->since_ns : 0);
		}
		jw_raw(&b, "]}");
	}
	jw_raw(&b, "],\"recent\":[");
	for (size_t k = 0; k < A.nrecent; k++) {
		const recent *x = &A.recent[(A.recent_head + RECENT_MAX - 1 - k) % RECENT_MAX];
		tt_time_rfc3339(x->ts, t, sizeof t);
		jw_raw(&b, k ? ",{\"rule\":" : "{\"rule\":");
		jw_str(&b, x->rule ? x->rule : "");
		jw_raw(&b, ",\"group\":");
		jw_str(&b, x->group ? x->group : "");
		jw_raw(&b, ",\"state\":");
		jw_str(&b, x->firing ? "firing" : "resolved");
		jw_fmt(&b, ",\"value\":%.10g,\"ts\":%" PRId64 ",\"time\":\"%s\"}", x->value, x->ts, t);
	}
	jw_raw(&b, "]}");
	ttd_reply_json(req, 200, &b);
	tt_buf_free(&b);
}

void ttd_alerts_metrics(tt_buf *out)
{
	uint64_t firing = 0;

	for (int i = 0; A.st && i < A.rules.n; i++)
		for (size_t k = 0; k < A.st[i].n; k++)
			firing += A.st[i].g[k].state == ST_FIRING;
	jw_fmt(out,
	    "# HELP ttd_alert_rules Alert rules loaded.\n# TYPE ttd_alert_rules gauge\nttd_alert_rules %d\n"
	    "# HELP ttd_alerts_firing Alert groups firing now.\n# TYPE ttd_alerts_firing gauge\n"
	    "ttd_alerts_firing %" PRIu64 "\n"
	    "# HELP ttd_alert_evaluations_total Rule evaluations.\n"
	    "# TYPE ttd_alert_evaluations_total counter\nttd_alert_evaluations_total %" PRIu64 "\n"
	    "# HELP ttd_alert_transitions_total Alerts that fired or resolved.\n"
	    "# TYPE ttd_alert_transitions_total counter\n"
	    "ttd_alert_transitions_total{state=\"firing\"} %" PRIu64 "\n"
	    "ttd_alert_transitions_total{state=\"resolved\"} %" PRIu64 "\n"
	    "# HELP ttd_alert_notifications_total Notification deliveries by result.\n"
	    "# TYPE ttd_alert_notifications_total counter\n"
	    "ttd_alert_notifications_total{result=\"sent\"} %" PRIu64 "\n"
	    "ttd_alert_notifications_total{result=\"failed\"} %" PRIu64 "\n"
	    "ttd_alert_notifications_total{result=\"dropped\"} %" PRIu64 "\n"
	    "# HELP ttd_alert_notification_retries_total Webhook attempts retried.\n"
	    "# TYPE ttd_alert_notification_retries_total counter\n"
	    "ttd_alert_notification_retries_total %" PRIu64 "\n",
	    A.rules.n, firing, A.evaluations, A.firing_total, A.resolved_total, g_notify.sent,
	    g_notify.failed, g_notify.dropped, g_notify.retried);
}
