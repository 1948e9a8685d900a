/*
 * metrics.c -- counters kept by the loop thread and GET /metrics in the
 * Prometheus text exposition format (version 0.0.4).
 */
#include <string.h>

#include "alerts.h"
#include "forward.h"
#include "ttd.h"

ttd_metrics g_metrics;

/* ack latency: request fully received -> records durable -> answer queued */
static const double lat_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015,
	0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };
#define N_LAT (sizeof lat_bounds / sizeof lat_bounds[0])
static uint64_t lat_bucket[N_LAT + 1];
static uint64_t lat_count;
static double lat_sum;

void
ttd_metrics_ack_latency(int64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i = 0;

	while (i < N_LAT && s > lat_bounds[i])
		i++;
	lat_bucket[i]++;
	lat_count++;
	lat_sum += s;
}

static void
metric(tt_buf *b, const char *name, const char *type, const char *help)
{
	jw_fmt(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One counter per ingest path. */
static void
pair(tt_buf *b, const char *name, const char *help, uint64_t http, uint64_t sock)
{
	metric(b, name, "counter", help);
	jw_fmt(b, "%s{path=\"http\"} %llu\n%s{path=\"socket\"} %llu\n", name,
	    (unsigned long long)http, name, (unsigned long long)sock);
}

static const struct {
	const char *name, *help;
	const uint64_t *v;
} counters[] = {
	{ "ttd_commits_total", "group commits observed", &g_metrics.commits },
	{ "ttd_writer_failures_total", "writers that failed (disk full, I/O error) "
	    "and were replaced", &g_metrics.writer_failures },
	{ "ttd_backpressure_total", "requests refused (503) or socket reads paused "
	    "because the writer was behind", &g_metrics.backpressure },
	{ "ttd_body_too_large_total", "requests refused with 413", &g_metrics.too_large },
	{ "ttd_sse_events_total", "server-sent events written", &g_metrics.sse_events },
	{ "ttd_sse_dropped_total", "stream clients dropped for falling behind",
	    &g_metrics.sse_dropped },
	{ "ttd_connections_total", "HTTP connections accepted", &g_metrics.conns_total },
	{ "ttd_connections_replaced_total", "idle or slow HTTP connections closed to make "
	    "room for a new one at --max-connections", &g_metrics.conns_refused },
	{ "ttd_gc_segments_deleted_total", "segments deleted by retention",
	    &g_metrics.gc_segments },
	{ "ttd_segments_recompressed_total", "sealed segments rewritten by --recompress",
	    &g_metrics.rewrites },
	{ "ttd_recompress_saved_bytes_total", "bytes --recompress saved",
	    &g_metrics.rewrite_saved },
};

void
ttd_metrics_render(tt_buf *b)
{
	const ttd_metrics *m = &g_metrics;
	tt_stats st;
	uint64_t cum = 0;

	metric(b, "ttd_http_requests_total", "counter", "HTTP requests answered, by status class");
	for (int i = 1; i <= 5; i++)
		jw_fmt(b, "ttd_http_requests_total{code=\"%dxx\"} %llu\n", i,
		    (unsigned long long)m->http_by_class[i]);
	pair(b, "ttd_records_ingested_total", "records appended, by ingest path",
	    m->records_http, m->records_socket);
	pair(b, "ttd_records_rejected_total", "input elements rejected, by ingest path",
	    m->rejected_http, m->rejected_socket);
	pair(b, "ttd_ingest_bytes_total", "input bytes received (after gunzip), by path",
	    m->bytes_http, m->bytes_socket);
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
		metric(b, counters[i].name, "counter", counters[i].help);
		jw_fmt(b, "%s %llu\n", counters[i].name, (unsigned long long)*counters[i].v);
	}

	metric(b, "ttd_clients", "gauge", "connected clients, by kind");
	jw_fmt(b, "ttd_clients{kind=\"http\"} %zu\n", ttd_http_conns());
	jw_fmt(b, "ttd_clients{kind=\"sse\"} %zu\n", ttd_sse_clients());
	jw_fmt(b, "ttd_clients{kind=\"socket\"} %zu\n", ttd_sock_clients());
	metric(b, "ttd_writer_pending_bytes", "gauge", "bytes appended but not yet durable");
	jw_fmt(b, "ttd_writer_pending_bytes %zu\n", ttd_writer_pending());

	metric(b, "ttd_ack_latency_seconds", "histogram", "time from request received to records durable");
	for (size_t i = 0; i < N_LAT; i++) {
		cum += lat_bucket[i];
		jw_fmt(b, "ttd_ack_latency_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds[i],
		    (unsigned long long)cum);
	}
	cum += lat_bucket[N_LAT];
	jw_fmt(b, "ttd_ack_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	jw_fmt(b, "ttd_ack_latency_seconds_sum %.9f\n", lat_sum);
	jw_fmt(b, "ttd_ack_latency_seconds_count %llu\n", (unsigned long long)lat_count);

	if (g_ttd.store && tt_store_stats_ex(g_ttd.store, 0, &st) == 0) {
		metric(b, "ttd_store_records", "gauge", "records in the store");
		jw_fmt(b, "ttd_store_records %llu\n", (unsigned long long)st.records);
		metric(b, "ttd_store_segments", "gauge", "segment files in the store");
		jw_fmt(b, "ttd_store_segments %llu\n", (unsigned long long)st.segments);
		metric(b, "ttd_store_data_bytes", "gauge", "segment file bytes");
		jw_fmt(b, "ttd_store_data_bytes %llu\n", (unsigned long long)st.data_bytes);
		metric(b, "ttd_store_index_bytes", "gauge", "LMDB bytes in use");
		jw_fmt(b, "ttd_store_index_bytes %llu\n", (unsigned long long)st.index_bytes);
	}
	metric(b, "ttd_uptime_seconds", "gauge", "seconds since start");
	jw_fmt(b, "ttd_uptime_seconds %.3f\n", (double)(ttd_now_ns() - g_ttd.started_ns) / 1e9);
	ttd_alerts_metrics(b);
	ttd_spanmetrics_render(b);
	ttd_forward_metrics(b);
}
