/*
 * forward.h -- shipping the store's records to other systems (forward.c):
 * an OpenTelemetry OTLP/HTTP endpoint (--forward-otlp) and ClickHouse's HTTP
 * interface (--forward-clickhouse). Each destination follows the store from
 * its own durable cursor, DIR/forward/NAME.cursor, so it ships what any writer
 * stored (ttd or tt-ingest) and resumes after a restart where the upstream
 * last acknowledged. See man 8 ttd, FORWARDING.
 */
#ifndef TTD_FORWARD_H
#define TTD_FORWARD_H

#include "teratrace.h"

/* Start the destinations the configuration names (none: nothing runs).
 * -1 on a bad URL, filter or cursor directory (logged). */
int ttd_forward_start(void);
/* Stop: the batch in flight is not waited for (it is sent again next start:
 * its cursor was not saved). */
void ttd_forward_stop(void);
/* An OTLP protocol name: 1 http/json, 0 http/protobuf, -1 neither. */
int ttd_forward_protocol(const char *name);
/* Prometheus lines for /metrics. */
void ttd_forward_metrics(tt_buf *out);
/* ,"forward":[{...}] for /health (nothing when no destination is set). */
void ttd_forward_health(tt_buf *out);

#endif /* TTD_FORWARD_H */
