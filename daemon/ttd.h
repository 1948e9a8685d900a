/*
 * ttd.h -- internal interfaces between the subsystems of ttd, the daemon.
 *
 * One event-loop thread (libevent) runs everything here; the store's writer
 * thread does compression and I/O. Nothing in daemon/ is thread-safe and
 * nothing needs to be: every callback below runs on the loop thread.
 *
 *   main.c     process: options, lock file, start-up, signals, shut-down
 *   config.c   the option table shared by the command line and --config
 *   log.c      one line per event on stderr (or --log-file), with a level
 *   ingest.c   decode -> stage -> tt_writer_append; acks after group commit
 *   http.c     evhttp server: connection cap, guards, bodies (gzip), routing
 *   api.c      the endpoints (TraceHub, Tracer, OTLP, queries)
 *   sse.c      server-sent-event streams fed from the store
 *   sock.c     unix-socket msgpack ingest (format/FORMAT.md section 11)
 *   mp.c       msgpack framing scanner and the few msgpack writers ttd needs
 *   metrics.c  counters, the ack-latency histogram, GET /metrics
 *   forward.c  shipping the store to OTLP/HTTP and ClickHouse (forward.h)
 *   jsonw.c    small JSON writer helpers over tt_buf
 */
#ifndef TTD_H
#define TTD_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#include "teratrace.h"

struct event_base;
struct evhttp_request;
struct evbuffer;

/* ---- configuration (config.c). Every field has a command-line option and a
 * config-file key of the same name. */
#define TTD_MAX_HOSTS 16
#define TTD_MAX_LIST 16 /* values of one repeatable option */
typedef struct ttd_strlist {
	char *v[TTD_MAX_LIST];
	int n;
} ttd_strlist;
#define TTD_MAX_FORWARD 16 /* [forward NAME] sections */
/* One [forward NAME] section of the config file (forward.c). Settings left
 * out are taken from the --forward-* options. */
typedef struct ttd_fwd_conf {
	char *name;             /* metrics label and DIR/forward/NAME.cursor */
	char *type;             /* otlp or clickhouse */
	char *url;
	char *table;            /* clickhouse table */
	char *protocol;         /* otlp: http/protobuf or http/json */
	char *level;            /* only records of this level or more severe */
	ttd_strlist filter;     /* FIELD=VALUE, FIELD!=VALUE (repeatable) */
	ttd_strlist service;    /* only these services (repeatable) */
	ttd_strlist header;     /* "K: V" added to requests (repeatable) */
} ttd_fwd_conf;
typedef struct ttd_config {
	char *store;            /* --store: store directory */
	char *http;             /* --http ADDR:PORT; "off" disables HTTP */
	char *socket;           /* --socket PATH; "off" disables; default DIR/ttd.sock */
	char *token_file;       /* --token-file: secret for write endpoints */
	char *log_file;         /* --log-file: instead of stderr (reopened on SIGHUP) */
	char *port_file;        /* --port-file: write the bound HTTP port here */
	char *config;           /* --config FILE (re-read on SIGHUP) */
	int log_level;          /* --log-level: 0 error 1 warn 2 info 3 debug */
	uint32_t commit_ms;     /* --commit-interval MS (group commit) */
	int sync;               /* --sync full|none (enum tt_sync) */
	uint64_t segment_size;  /* --segment-size SIZE: seal segment files at SIZE */
	uint32_t format_version; /* --format-version N: 2, or 1 for stores shared with 0.1 */
	int64_t retention_ns;   /* --retention DUR: gc by age, 0 = off */
	uint64_t max_size;      /* --max-size SIZE: gc by total size, 0 = off */
	int64_t gc_interval_ns; /* --gc-interval DUR */
	uint32_t recompress;    /* --recompress 1: rewrite sealed segments in the
	                         * background at each gc interval (FORMAT.md 8.8) */
	uint64_t max_body;      /* --max-body SIZE: request body after gunzip */
	uint64_t max_record;    /* --max-record SIZE: one encoded record */
	uint32_t max_batch;     /* --max-batch N: records in one request */
	uint32_t max_logs;      /* --max-logs N: Tracer /logs batch cap */
	uint32_t max_conns;     /* --max-connections N: HTTP connections */
	uint32_t max_sock;      /* --max-socket-clients N */
	uint64_t max_pending;   /* --max-pending SIZE: writer backlog before 503 */
	uint32_t header_timeout;  /* --header-timeout S: idle read/write timeout */
	uint32_t request_timeout; /* --request-timeout S: whole request must arrive */
	uint32_t sse_keepalive;   /* --sse-keepalive S: ": keepalive" when idle */
	uint64_t sse_max_buffer;  /* --sse-max-buffer SIZE: unsent bytes before drop */
	uint32_t sse_max_clients; /* --sse-max-clients N */
	char *allow_host[TTD_MAX_HOSTS]; /* --allow-host NAME (repeatable) */
	int n_allow_host;
	char *alerts;           /* --alerts FILE: alert rules (man 5 ttd-alerts) */
	int64_t alert_interval_ns; /* --alert-interval DUR (10s) */
	int64_t rollup_retention_ns; /* --rollup-retention DUR (30d; 0 = keep) */
	char *group;            /* --group NAME: store and socket readable by NAME */
	uint32_t group_gid;     /* derived from group */
	char *ui_dir;           /* --ui-dir DIR: the web UI from disk (development) */
	/* forwarding (forward.c), read at start only */
	ttd_strlist fwd_otlp;   /* --forward-otlp URL: OTLP/HTTP base URLs (repeatable) */
	char *fwd_otlp_protocol; /* --forward-otlp-protocol http/protobuf (default) | http/json */
	ttd_strlist fwd_ch;     /* --forward-clickhouse URL: ClickHouse HTTP interfaces */
	ttd_fwd_conf fwd_sect[TTD_MAX_FORWARD]; /* [forward NAME] sections */
	int n_fwd_sect;
	char *fwd_ch_table;     /* --forward-clickhouse-table NAME (teratrace.records) */
	ttd_strlist fwd_header; /* --forward-header "K: V" (repeatable) */
	ttd_strlist fwd_filter; /* --forward-filter FIELD=VALUE (repeatable) */
	ttd_strlist fwd_service; /* --forward-service S (repeatable: any of them) */
	char *fwd_level;        /* --forward-level L: records of L or more severe */
	char *fwd_start;        /* --forward-start end|start: a new destination's first position */
	uint32_t fwd_batch;     /* --forward-batch N: records per request (1000) */
	uint64_t fwd_batch_bytes; /* --forward-batch-size SIZE: record bytes per request (1M) */
	int64_t fwd_flush_ns;   /* --forward-flush DUR: send a partial batch this old (1s) */
	uint32_t fwd_timeout;   /* --forward-timeout S: per request (10) */
	int64_t fwd_max_hold_ns; /* --forward-max-hold DUR: gc holds unshipped records (7d) */
	/* derived */
	char *token;            /* contents of token_file (trimmed), NULL = no auth */
	size_t token_len;
} ttd_config;

int ttd_config_defaults(ttd_config *c);
/* Parse argv (getopt_long). Returns 0, 1 when the program should exit 0
 * (--help/--version printed), or -1 on a usage error (message printed). */
int ttd_config_args(ttd_config *c, int argc, char **argv);
/* Read "key = value" lines of file into c; -1 with a logged message on error. */
int ttd_config_file(ttd_config *c, const char *file);
/* Derived values (token), default store; -1 on error (logged). */
int ttd_config_finish(ttd_config *c);
void ttd_config_free(ttd_config *c);
/* s without its leading and trailing blanks (in place); config and rules files */
char *ttd_trim(char *s);
void ttd_usage(FILE *f);

/* ---- logging (log.c) */
enum { TTD_LOG_ERROR = 0, TTD_LOG_WARN, TTD_LOG_INFO, TTD_LOG_DEBUG };
void ttd_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ttd_log_set_level(int level);
int ttd_log_open(const char *file); /* NULL = stderr */
#define log_err(...)   ttd_log(TTD_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  ttd_log(TTD_LOG_WARN, __VA_ARGS__)
#define log_info(...)  ttd_log(TTD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ttd_log(TTD_LOG_DEBUG, __VA_ARGS__)

/* ---- the daemon's global state (main.c owns it) */
typedef struct ttd {
	ttd_config cfg;
	struct event_base *base;
	tt_store *store;
	tt_writer *writer;
	tt_decoder *dec;
	int64_t started_ns;
	int stopping;           /* SIGTERM seen: refuse new work */
} ttd;

extern ttd g_ttd;

int64_t ttd_now_ns(void);
int64_t ttd_mono_ns(void);

/* ---- ingest (ingest.c) */

/* A staged batch: decoded canonical records and per-element rejections,
 * collected before anything is appended (so batch caps can refuse a whole
 * request). */
typedef struct ttd_reject {
	size_t index;
	char field[64];
	char reason[160];
} ttd_reject;

#define TTD_REJECTS_KEPT 100 /* rejections detailed in one response */

typedef struct ttd_batch {
	tt_buf recs;            /* records back to back */
	size_t *off;            /* start of each record in recs */
	size_t n, cap;          /* records staged */
	size_t n_rejected;      /* elements rejected */
	ttd_reject *rej;        /* the first TTD_REJECTS_KEPT of them */
	size_t n_rej_kept;
	size_t elements;        /* highest element index seen + 1 */
} ttd_batch;

void ttd_batch_reset(ttd_batch *b);
void ttd_batch_free(ttd_batch *b);
/* Decoders feeding a batch. Return as the tt_decode_* functions. */
int ttd_batch_json(ttd_batch *b, const char *text, size_t len, tt_rec_err *err);
int ttd_batch_otlp_proto(ttd_batch *b, const uint8_t *p, size_t n, int logs,
    tt_rec_err *err);
/* Reject (field, reason) the staged records that have no correlation id. */
void ttd_batch_require_corr(ttd_batch *b, const char *field, const char *reason);
/* Append every staged record; *ticket = last ticket (0 if none). <0 error. */
int ttd_batch_commit(ttd_batch *b, uint64_t *ticket);

/* Append one canonical record through the writer (counts metrics): its
 * ticket, or <0. Opens a new writer if the last one failed (ingest.c). */
int64_t ttd_append(const uint8_t *rec, size_t len);
/* The writer as ttd sees it: the error that stopped the last one (0: fine),
 * the durable ticket, the writer's backlog in bytes. */
int ttd_writer_error(void);
uint64_t ttd_durable(void);
size_t ttd_writer_pending(void);
/* Open a writer if there is none (rate-limited): 0 or the error. */
int ttd_writer_reopen(void);
/* HTTP status for a store error: 507 when the disk or quota is full, else 503. */
int ttd_store_status(int err);

/* Called when tickets <= durable are durable. */
typedef void (*ttd_ack_fn)(void *ctx, int err);
/* Call fn(ctx, 0) once ticket is durable (at once if it already is), or
 * fn(ctx, err) if the writer failed. */
void ttd_ack_when_durable(uint64_t ticket, ttd_ack_fn fn, void *ctx);
/* Forget a waiting ack (its owner is gone). */
void ttd_ack_cancel(void *ctx);
/* The writer is too far behind: new ingest should get 503 / stop reading. */
int ttd_backpressure(void);
int ttd_ingest_init(void);
void ttd_ingest_shutdown(void); /* flush and answer every waiting ack */
void ttd_ingest_fini(void);
/* Hooks run after each commit (sse, sock). */
void ttd_on_commit(void (*fn)(void *), void *ctx);

/* ---- HTTP (http.c, api.c) */
int ttd_http_start(void);
void ttd_http_stop_accepting(void);
void ttd_http_fini(void);
int ttd_http_port(void);
/* Helpers for handlers */
/* Every answer ttd sends goes through ttd_reply_raw: counted in the metrics
 * (413 also as too large); refusals (4xx but 404, 507) logged at info level,
 * rate-limited, with the client's address and `why`. */
void ttd_reply_raw(struct evhttp_request *req, int code, const char *ctype,
    const void *p, size_t n, const char *why);
void ttd_reply_json(struct evhttp_request *req, int code, const tt_buf *body);
void ttd_reply_json_why(struct evhttp_request *req, int code, const tt_buf *body,
    const char *why);
void ttd_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Routing entry point (api.c). body/len: decoded request body (may be NULL). */
void ttd_api_dispatch(struct evhttp_request *req, const char *path,
    const char *query, const uint8_t *body, size_t len);
int ttd_auth_ok(struct evhttp_request *req);
/* Mark the request's connection as a long-lived stream (no request timeout). */
void ttd_http_mark_stream(struct evhttp_request *req);
size_t ttd_http_conns(void);

/* ---- SSE (sse.c) */
void ttd_sse_stream(struct evhttp_request *req, const char *query);
/* tracehub: records in TraceHub's shape (else TeraTrace's, as /stream) */
void ttd_sse_trace(struct evhttp_request *req, const char *id, size_t id_len,
    const char *query, int tracehub);
int ttd_sse_init(void);
void ttd_sse_shutdown(void);
size_t ttd_sse_clients(void);

/* ---- unix socket (sock.c) */
int ttd_sock_start(void);
void ttd_sock_stop_accepting(void);
void ttd_sock_fini(void);
size_t ttd_sock_clients(void);

/* ---- msgpack (mp.c) */
/* Framing of back-to-back msgpack objects. Init before each object, then
 * run with the bytes from the object's start (more each call): >0 the
 * object's length, 0 incomplete (call again with more), -1 malformed, -2
 * nested deeper than TT_DEPTH_MAX + 1. */
typedef struct ttd_mpscan {
	uint64_t stack[TT_DEPTH_MAX + 3]; /* objects left per nesting level */
	int depth;
	size_t i;                         /* bytes of the object consumed */
} ttd_mpscan;
void ttd_mpscan_init(ttd_mpscan *s);
long long ttd_mpscan_run(ttd_mpscan *s, const uint8_t *p, size_t n);
void ttd_mp_map(tt_buf *b, uint32_t n);
void ttd_mp_str(tt_buf *b, const char *s, size_t n);
void ttd_mp_uint(tt_buf *b, uint64_t v);

/* ---- metrics (metrics.c) */
typedef struct ttd_metrics {
	uint64_t http_requests;
	uint64_t http_by_class[6];   /* 1xx..5xx */
	uint64_t records_http, records_socket;
	uint64_t rejected_http, rejected_socket;
	uint64_t bytes_http, bytes_socket;  /* request bytes after gunzip */
	uint64_t commits;
	uint64_t writer_failures;            /* writers retired after an error */
	uint64_t backpressure;              /* 503 / socket read pauses */
	uint64_t sse_events, sse_dropped;
	uint64_t too_large;                 /* 413 */
	uint64_t conns_total, conns_refused; /* refused: replaced at the cap */
	uint64_t gc_runs, gc_segments;
	uint64_t rewrites, rewrite_saved; /* segments recompressed, bytes saved */
} ttd_metrics;
extern ttd_metrics g_metrics;
void ttd_metrics_ack_latency(int64_t ns);
void ttd_metrics_render(tt_buf *out);

/* ---- JSON writing (jsonw.c) */
void jw_raw(tt_buf *b, const char *s);
void jw_fmt(tt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jw_str(tt_buf *b, const char *s);
void jw_strn(tt_buf *b, const char *s, size_t n);
void jw_key(tt_buf *b, int *first, const char *key); /* ,"key": */
void jw_rejects(tt_buf *b, const ttd_batch *bt);     /* [{index,field,reason}] */
int jw_rec(tt_buf *b, size_t *n, const uint8_t *rec, size_t len, int tracehub);

/* ---- retention (main.c) */
int ttd_run_gc(int64_t max_age_ns, uint64_t max_bytes, uint64_t *segs,
    uint64_t *bytes);

/* ---- aggregates (api_stats.c): GET /api/stats, GET /api/services */
void ttd_api_stats(struct evhttp_request *req, const char *query);
void ttd_api_services(struct evhttp_request *req, const char *query);

/* ---- the store (api_store.c): GET /api/store */
void ttd_api_store(struct evhttp_request *req, const char *query);

/* constant-time compare of a and b (lengths may differ) */
int ttd_ct_equal(const char *a, size_t an, const char *b, size_t bn);

#endif /* TTD_H */
