/*
 * ttclient.h -- libttclient: instrument a C or C++ program for TeraTrace.
 *
 * Spans, log records and checkpoints are encoded as msgpack records on the
 * caller's thread and handed to a background thread that batches them and
 * sends them to ttd over its unix socket (format/FORMAT.md section 11),
 * keeping each batch until ttd acknowledges it as durable and sending it again
 * after a reconnect (at least once). The caller never waits for ttd: records
 * go into a bounded buffer and, when it is full (ttd down for long), the new
 * ones are dropped and counted.
 *
 * Conventions: functions return 0 or a negative errno; handles are opaque;
 * free/close/end functions accept NULL. A client may be shared by threads. After
 * fork() the child's client starts empty with its own connection (what the
 * parent had buffered stays the parent's to send). The library links only
 * msgpack-c and pthreads, never libteratrace.
 */
#ifndef TTCLIENT_H
#define TTCLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TTC_VERSION "0.1.0"

typedef struct ttc_client ttc_client;

/* Samplers as Jaeger's SDKs name them; a trace's root decides, its
 * descendants follow the decision carried in the context (flags bit 0). */
enum ttc_sampler {
	TTC_SAMPLE_ALL = 0,    /* every trace (the default) */
	TTC_SAMPLE_CONST = 1,  /* param 1: every trace, 0: none */
	TTC_SAMPLE_PROB = 2,   /* param: probability in [0, 1] */
	TTC_SAMPLE_RATE = 3    /* param: at most this many new traces per second */
};

typedef struct ttc_opts {
	const char *socket;    /* NULL: $TERATRACE_SOCKET, else $TERATRACE_STORE/ttd.sock,
	                        * else $XDG_DATA_HOME/teratrace/ttd.sock, else
	                        * ~/.local/share/teratrace/ttd.sock */
	const char *service;   /* "service" of every record; NULL: the program's name */
	size_t buffer_bytes;   /* unsent + unacknowledged bytes kept (+ < 4 KiB a thread
	                        * has reserved and not filled); 0 = 8 MiB */
	size_t batch_bytes;    /* send when this much waits; 0 = 64 KiB */
	uint32_t flush_ms;     /* or when the oldest record waited this long; 0 = 50 */
	int sampler;           /* enum ttc_sampler; default const 1 */
	double sample_param;
} ttc_opts;

/* Start a client (and its sender thread). It does not wait for ttd: records
 * are buffered until a connection is made. */
int ttc_open(ttc_client **out, const ttc_opts *opts);
/* Send what is buffered and wait at most timeout_ms (-1: for ever) for ttd's
 * acknowledgement: 0, -ETIMEDOUT, or -ENOTCONN when ttd cannot be reached. */
int ttc_flush(ttc_client *c, int timeout_ms);
/* Flush (waiting at most 2 s), stop the thread, free. */
void ttc_close(ttc_client *c);

/* ---- trace context: W3C traceparent "00-<32 hex>-<16 hex>-<2 hex flags>" */
typedef struct ttc_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;         /* bit 0: sampled */
} ttc_ctx;

#define TTC_TRACEPARENT_LEN 55
int ttc_traceparent_parse(const char *s, ttc_ctx *out);   /* -EINVAL when malformed */
void ttc_traceparent_format(const ttc_ctx *ctx, char out[TTC_TRACEPARENT_LEN + 1]);
/* The correlation id records of ctx carry: the trace id in lowercase hex. */
void ttc_ctx_corr(const ttc_ctx *ctx, char out[33]);

/* ---- spans */
typedef struct ttc_span ttc_span;

/* Start a span; parent NULL starts a trace (and takes the sampling decision,
 * which its descendants inherit through the context). Never NULL: on memory
 * exhaustion a span that records nothing is returned. */
ttc_span *ttc_span_start(ttc_client *c, const char *name, const ttc_ctx *parent);
const ttc_ctx *ttc_span_ctx(const ttc_span *s);
void ttc_span_kind(ttc_span *s, const char *kind); /* server, client, producer, consumer, internal */
void ttc_span_attr_str(ttc_span *s, const char *key, const char *val);
void ttc_span_attr_int(ttc_span *s, const char *key, int64_t val);
void ttc_span_attr_double(ttc_span *s, const char *key, double val);
void ttc_span_attr_bool(ttc_span *s, const char *key, int val);
void ttc_span_event(ttc_span *s, const char *name);
/* error != 0: status error (and level error); msg may be NULL. */
void ttc_span_status(ttc_span *s, int error, const char *msg);
/* End the span: its record is queued and s is freed. */
void ttc_span_end(ttc_span *s);

/* ---- log records and checkpoints */
enum ttc_level { TTC_TRACE, TTC_DEBUG, TTC_INFO, TTC_WARN, TTC_ERROR, TTC_FATAL };
/* A log record in ctx's trace (ctx NULL: no correlation id). */
void ttc_log(ttc_client *c, const ttc_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A TraceHub checkpoint: dir "->" (request) or "<-" (response) of operation
 * in correlation corr; suffix may be NULL. */
void ttc_checkpoint(ttc_client *c, const char *corr, const char *dir, const char *operation,
    const char *suffix);

/* ---- counters */
typedef struct ttc_stats {
	uint64_t records;      /* queued */
	uint64_t acked;        /* acknowledged by ttd as durable */
	uint64_t rejected;     /* refused by ttd (with a reason on the socket) */
	uint64_t dropped;      /* not queued: the buffer was full */
	uint64_t unsampled;    /* spans not recorded by the sampler */
	uint64_t connects;     /* connections made (1 + reconnects) */
	uint64_t resent;       /* batches sent again after a reconnect */
} ttc_stats;
void ttc_stats_get(ttc_client *c, ttc_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* TTCLIENT_H */
