-- contrib/clickhouse/schema.sql -- the table ttd --forward-clickhouse writes
-- (INSERT INTO teratrace.records FORMAT JSONEachRow, one row per record; set
-- another name with --forward-clickhouse-table) and example queries.
--
-- Create it:  clickhouse-client --multiquery < contrib/clickhouse/schema.sql
-- (or statement by statement over HTTP). Every statement works on ClickHouse
-- 18.16 (Debian 12's clickhouse-server) and later, except the ALTER ... ADD
-- INDEX: data skipping indexes (bloom_filter) came in 19.x; on 18.16 it fails
-- and the table works without it (lookups by corr then read every part).
--
-- Time: `ts` is the record's timestamp in nanoseconds since the epoch (UInt64)
-- and `time` the same second as a DateTime (UTC), because DateTime64(9) does
-- not exist before ClickHouse 20.1. On 20.1 or later you may add
--   ts64 DateTime64(9, 'UTC') MATERIALIZED fromUnixTimestamp64Nano(toInt64(ts))
-- Records before 1970 get time 0.
--
-- Other columns: the record's well-known fields as strings ("" when absent;
-- corr in hex when it was binary; level is the level's name), dur in ns (0
-- when absent), attrs as a JSON object in a string (JSONExtract* reads it),
-- raw the whole record as tt-query -o jsonl prints it (without "time").
-- Unknown columns in the rows are skipped (input_format_skip_unknown_fields=1),
-- so a table may keep fewer columns.

CREATE DATABASE IF NOT EXISTS teratrace;

CREATE TABLE IF NOT EXISTS teratrace.records (
    ts      UInt64,
    time    DateTime,
    corr    String,
    service String,
    name    String,
    kind    String,
    level   String,
    dir     String,
    span    String,
    parent  String,
    dur     UInt64,
    status  String,
    msg     String,
    host    String,
    attrs   String,
    raw     String
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (service, time, ts);

-- ClickHouse 19.x and later: find a correlation id without reading every part.
ALTER TABLE teratrace.records ADD INDEX corr_bf corr TYPE bloom_filter GRANULARITY 4;

-- Examples (not run by the schema: remove the leading "-- " to use them)
--
-- All records of one correlation id, in time order:
-- SELECT ts, service, kind, level, name, dur, msg FROM teratrace.records
--     WHERE corr = '4bf92f3577b34da6a3ce929d0e0e4736' ORDER BY ts;
--
-- Errors per service per minute, the last hour:
-- SELECT toStartOfMinute(time) AS minute, service, count() AS errors
--     FROM teratrace.records
--     WHERE level IN ('error', 'fatal') AND time >= now() - 3600
--     GROUP BY minute, service ORDER BY minute, service;
--
-- p95 duration per operation (spans only), in milliseconds:
-- SELECT service, name, count() AS spans, quantile(0.95)(dur) / 1e6 AS p95_ms
--     FROM teratrace.records WHERE dur > 0
--     GROUP BY service, name ORDER BY p95_ms DESC LIMIT 20;
