/*
 * alerts.h -- what ttd computes from the rollups: alert rules evaluated on a
 * timer with notifications to webhooks and commands (alerts.c, rules.c,
 * notify.c; man 5 ttd-alerts), and span metrics for /metrics (spanmetrics.c).
 *
 * Everything runs on ttd's event loop: evaluation on a timer, never on the
 * ingest path; deliveries are libevent HTTP client requests and child
 * processes, so a slow or dead receiver costs a pending request, not time.
 */
#ifndef TTD_ALERTS_H
#define TTD_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "teratrace.h"

struct evhttp_request;

enum ttd_alert_kind { AK_ERRORS, AK_ERROR_RATE, AK_LATENCY, AK_SILENCE, AK_COUNT };
enum ttd_alert_fmt { AF_ALERTMANAGER, AF_SLACK, AF_JSON };

#define ALERT_MATCH_MAX 16   /* FIELD=VALUE conditions of one rule */
#define ALERT_BY_MAX 4       /* group-by fields of one rule */
#define ALERT_RULES_MAX 256  /* rules in one file */
#define ALERT_GROUPS_MAX 1000 /* groups tracked per rule (services, ...) */

/* One rule of the rules file ([rule NAME] section). */
typedef struct alert_rule {
	char *name;
	int kind;                 /* enum ttd_alert_kind */
	char *service;            /* service = ... (NULL: any) */
	char *match[ALERT_MATCH_MAX]; /* FIELD=VALUE (name = x is "name=x") */
	int nmatch;
	int min_level;            /* level = ...: records at least this (TT_LVL_NONE: any) */
	char *by[ALERT_BY_MAX];   /* by = service,... */
	int nby;
	int64_t window_ns;
	double threshold;         /* records; percent; ns for latency */
	double quantile;          /* latency */
	int64_t for_ns;           /* hold this long before firing */
	int64_t cooldown_ns;      /* between firing notifications of one group */
	char *webhook;            /* http://host:port/path */
	int format;               /* enum ttd_alert_fmt */
	char *exec;               /* command: alert JSON on its stdin */
	char *secret;             /* HMAC-SHA256 of the body in X-TeraTrace-Signature */
	char *severity;           /* label; default "warning" */
	char *summary;            /* annotation; default built from the rule */
	int line;                 /* where the section starts */
} alert_rule;

typedef struct alert_rules {
	alert_rule *v;
	int n;
} alert_rules;

/* Parse a rules file. 0, or -1 with "FILE:LINE: why" in err. */
int alert_rules_load(const char *file, alert_rules *out, char *err, size_t errn);
void alert_rules_free(alert_rules *r);

/* ---- the engine (alerts.c) */
/* Load file and start evaluating every interval_ns. -1 on a bad file (logged). */
int ttd_alerts_start(const char *file, int64_t interval_ns);
/* SIGHUP: read the file again; on error keep the old rules (logged). */
void ttd_alerts_reload(void);
void ttd_alerts_stop(void);
/* GET /api/alerts: rules, their groups' states and last values, recent alerts. */
void ttd_alerts_api(struct evhttp_request *req);
/* Prometheus lines for /metrics. */
void ttd_alerts_metrics(tt_buf *out);

/* ---- notifications (notify.c) */
typedef struct alert_event {
	const alert_rule *rule;
	const char *group;        /* "service=payments" or "" */
	const char *const *labels; /* by field i = labels[2i], value labels[2i+1] */
	int nlabels;
	int firing;               /* 1 firing, 0 resolved */
	double value;
	int64_t starts_ns, ends_ns; /* ends 0 while firing */
} alert_event;

/* The notification body of ev in the rule's format. */
void alert_body(const alert_event *ev, tt_buf *out);
/* Queue delivery to the rule's webhook and exec (bounded queue; retries). */
void notify_send(const alert_event *ev);
void notify_shutdown(void);
typedef struct notify_stats {
	uint64_t sent, failed, retried, dropped, queued;
} notify_stats;
extern notify_stats g_notify;

/* ---- span metrics on /metrics (spanmetrics.c), from the same rollups */
void ttd_spanmetrics_render(tt_buf *out);
void ttd_spanmetrics_fini(void);

#endif /* TTD_ALERTS_H */
