/*
 * ttformat.h -- the TeraTrace record model and its codecs (no I/O).
 *
 * A record is one msgpack map in *canonical form* (format/FORMAT.md, "Records"):
 *   - the first key is "ts", an integer: nanoseconds since the Unix epoch;
 *   - if the record has a correlation id, the second key is "corr" (str or bin);
 *   - every other key follows in input order; keys are msgpack str;
 *   - at most TT_REC_MAX_DEFAULT bytes (or the caller's cap), nesting <= TT_DEPTH_MAX.
 * Readers of the store rely on this order to test "ts" and "corr" without
 * unpacking the whole map.
 *
 * Everything here is a pure function of its inputs (plus a caller-supplied "now"
 * for records that carry no timestamp). Inputs are hostile: every length and
 * count is checked against the bytes that remain and against the caps below.
 * Nothing here prints, logs or exits. Functions return 0 (or a positive count)
 * on success and a negative TT_E* code on failure; free functions accept NULL.
 */
#ifndef TTFORMAT_H
#define TTFORMAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes: the reserved range -30999 .. -30900 (LMDB uses -30799 .. -30780;
 * other negative values are -errno). tt_strerror() (libstore) names them all. */
#define TT_ECORRUPT   (-30900) /* on-disk bytes fail a checksum or structural check */
#define TT_EVERSION   (-30901) /* unknown format version or incompatible feature flag */
#define TT_EBADREC    (-30902) /* input record malformed; see tt_rec_err for where/why */
#define TT_ETOOBIG    (-30903) /* input exceeds a documented limit (size, depth, count) */
#define TT_ENOTFOUND  (-30904) /* no such id / segment / cursor target */
#define TT_ELOCKED    (-30905) /* another process holds the lock this needs */
#define TT_ESTALE     (-30906) /* cursor belongs to another index generation */
#define TT_EREADONLY  (-30907) /* store opened read-only */
#define TT_EBADARG    (-30908) /* invalid argument (NULL, out of range option) */
#define TT_ECLOSED    (-30909) /* writer already failed or closed */

/* ---- limits (each documented in FORMAT.md "Limits") */
#define TT_REC_MAX_DEFAULT (1u << 20) /* encoded record bytes */
#define TT_DEPTH_MAX 32               /* nesting of maps/arrays inside a record */
#define TT_ID_MAX 256                 /* bytes of a correlation id (LMDB key <= 511) */
#define TT_BATCH_MAX 100000           /* elements in one JSON batch/array document */

/* A growable byte buffer. Zero-initialise; tt_buf_free() releases. */
typedef struct tt_buf {
	uint8_t *data; /* heap bytes, NULL while cap == 0 */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
} tt_buf;

int tt_buf_reserve(tt_buf *b, size_t extra); /* ensure len+extra fits; -ENOMEM */
int tt_buf_append(tt_buf *b, const void *p, size_t n);
void tt_buf_free(tt_buf *b);

/* Where and why an input was rejected. `offset` is a byte offset into the text or
 * bytes handed to the decoder (the caller adds file/line context). */
typedef struct tt_rec_err {
	size_t offset;    /* byte offset of the problem in the input given */
	char field[64];   /* field path ("ts", "attrs.x", "resourceSpans[0]...") or "" */
	char reason[160]; /* lowercase, no final period: "expected an integer" */
} tt_rec_err;

/* ---- levels, in increasing severity. TT_LVL_NONE: the record has no level. */
enum tt_level {
	TT_LVL_NONE = 0,
	TT_LVL_TRACE,
	TT_LVL_DEBUG,
	TT_LVL_INFO,
	TT_LVL_WARN,
	TT_LVL_ERROR,
	TT_LVL_FATAL
};
/* "warning"/"WARN"/"err"/... -> level; TT_LVL_NONE when unknown. */
int tt_level_parse(const char *s, size_t n);
const char *tt_level_name(int level); /* "info"; "" for TT_LVL_NONE */

/* ---- reading a canonical record */

/* A scalar view of one field. Strings point into the record (no copy). */
typedef enum tt_vtype {
	TT_V_NIL, TT_V_BOOL, TT_V_INT, TT_V_UINT, TT_V_FLOAT, TT_V_STR, TT_V_BIN,
	TT_V_ARRAY, TT_V_MAP
} tt_vtype;

typedef struct tt_value {
	tt_vtype type;
	union {
		int b;
		int64_t i;
		uint64_t u;
		double f;
		struct { const char *p; size_t n; } s; /* STR, BIN */
		uint32_t count;                        /* ARRAY, MAP: elements */
	} v;
	const uint8_t *raw; /* the encoded value (any type), for copying it whole */
	size_t raw_len;
} tt_value;

/* The well-known fields of a record, decoded in one pass. Pointers point into
 * the record bytes and live as long as they do. Absent strings have p == NULL. */
typedef struct tt_rec_info {
	int64_t ts;                                     /* always present */
	struct { const char *p; size_t n; } corr, span, parent, service, host,
	    kind, name, dir, endpoint, status, msg;
	int level;   /* enum tt_level, TT_LVL_NONE if absent/unknown */
	int64_t dur; /* ns; -1 when absent */
	int corr_is_bin; /* corr was msgpack bin, not str */
} tt_rec_info;

/* Parse a canonical record. TT_EBADREC if the bytes are not one valid canonical
 * record of exactly `len` bytes. */
int tt_rec_info_get(const uint8_t *rec, size_t len, tt_rec_info *info);

/* Fast path for readers: ts and corr only (relies on canonical key order). */
int tt_rec_ts_corr(const uint8_t *rec, size_t len, int64_t *ts,
    const char **corr, size_t *corr_len);

/* Look up a field by dotted path ("service", "attrs.http.status", "attrs.a.b").
 * A path that names no field in the record's top level is also tried under
 * "attrs" ("http.status" finds attrs["http.status"] or attrs.http.status).
 * Returns 1 found, 0 absent, <0 error. */
int tt_rec_field(const uint8_t *rec, size_t len, const char *path, tt_value *out);

/* Every scalar field of a record in one pass: the top level's (in_attrs 0)
 * and those directly inside "attrs" (in_attrs 1); maps and arrays are
 * skipped. fn returns 0 to go on, anything else stops the walk and is
 * returned. TT_EBADREC when the bytes are not a map. */
typedef int (*tt_rec_kv_fn)(void *ctx, int in_attrs, const char *k, size_t kn,
    const tt_value *v);
int tt_rec_scalars(const uint8_t *rec, size_t len, tt_rec_kv_fn fn, void *ctx);

/* Validate one msgpack object at p (at most n bytes): every count and length is
 * bounded by the bytes that remain, nesting <= TT_DEPTH_MAX. *used = its size.
 * TT_EBADREC (with err) on malformed/truncated input, TT_ETOOBIG over limits. */
int tt_mp_check(const uint8_t *p, size_t n, size_t *used, tt_rec_err *err);

/* ---- producing canonical records from input */

/* Receives decoded records and per-element rejections. */
typedef struct tt_sink {
	/* a canonical record; bytes valid only during the call. Return 0 to go on,
	 * <0 to abort decoding with that error. */
	int (*record)(void *ctx, const uint8_t *rec, size_t len);
	/* element `index` (0-based within the document/batch) was rejected; decoding
	 * goes on with the next element. May be NULL. */
	void (*reject)(void *ctx, size_t index, const tt_rec_err *err);
	void *ctx;
} tt_sink;

/* Decoder state: reusable parser buffers. One per thread. */
typedef struct tt_decoder tt_decoder;

typedef struct tt_decode_opts {
	size_t rec_max; /* cap on one encoded record; 0 = TT_REC_MAX_DEFAULT */
} tt_decode_opts;

int tt_decoder_new(tt_decoder **out, const tt_decode_opts *opts /* NULL = defaults */);
void tt_decoder_free(tt_decoder *d);

/* Decode one JSON text (a line or a whole document). Accepted shapes: a single
 * record in any supported field dialect (TeraTrace, TraceHub checkpoint, Tracer
 * log, Traceway span, seed log -- FORMAT.md "Field aliases"), an array of those,
 * a TraceHub batch {"traces":[...]}, a Tracer batch {"logs":[...]}, an OTLP/JSON
 * export (resourceSpans / resourceLogs). `now_ns` fills "ts" where the input has
 * no timestamp. Returns the number of records emitted (>= 0) or <0 when the text
 * as a whole is not JSON or not a record (err says where); element-level
 * problems in a batch go to sink->reject and do not fail the call.
 * A batch is decoded an element at a time: its rejections go to the sink as
 * they are found, its records after the whole text has parsed (a text that
 * fails as a whole yields none). Memory: about 4 times the text (simdjson's
 * buffers) plus the batch's encoded records plus one record's tree; a batch
 * over TT_BATCH_MAX elements is refused before any is built, and a record of
 * more values than rec_max (each takes a byte at least) when it reaches that
 * count. An OTLP/JSON export likewise, a span or log record at a time, after
 * its resource and scope.
 * The buffer must be readable for TT_JSON_PADDING bytes past `len` (the bytes
 * there are ignored); tt_decode_json copies when `padded` is 0. */
#define TT_JSON_PADDING 64
int tt_decode_json(tt_decoder *d, const char *text, size_t len, int padded,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err);

/* Decode one msgpack object (a record map in any field dialect, or an array of
 * them) from p; *used = bytes consumed. Same return convention as JSON. The
 * whole object is walked first (bounds, depth); an array is then unpacked an
 * element at a time, so memory is one record's tree, not the document's. */
int tt_decode_msgpack(tt_decoder *d, const uint8_t *p, size_t n, size_t *used,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err);

/* Decode an OTLP/protobuf ExportTraceServiceRequest (logs == 0) or
 * ExportLogsServiceRequest (logs != 0) body into records, as the OTLP/JSON path
 * of tt_decode_json does (same field mapping, FORMAT.md "OTLP"). */
int tt_decode_otlp_proto(tt_decoder *d, const uint8_t *p, size_t n, int logs,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err);

/* The other way: one OTLP/JSON export document (resourceSpans, or with logs
 * != 0 resourceLogs; as tt-query -o otlp prints it) packed into *out as an
 * OTLP/protobuf ExportTraceServiceRequest or ExportLogsServiceRequest (the
 * spec's JSON<->protobuf rules: hex ids, base64 bytes, 64-bit ints as
 * strings). Keys that are no field are skipped. 0, TT_EBADREC (not JSON, a
 * value of the wrong type, a key given twice), TT_ETOOBIG (nesting), -ENOMEM. */
int tt_otlp_json_to_proto(const char *json, size_t len, int logs, tt_buf *out);

/* ---- writing records out */

#define TT_JSON_TIME   0x1u /* add "time": RFC 3339 UTC string next to "ts" */
#define TT_JSON_PRETTY 0x2u /* indent (for -o json) */
/* Append the record as one JSON object (no newline) to out. Always valid JSON:
 * strings escaped, invalid UTF-8 replaced by U+FFFD, bin as lowercase hex,
 * 64-bit integers exact, NaN/Inf as null. */
int tt_rec_to_json(const uint8_t *rec, size_t len, unsigned flags, tt_buf *out);
/* Append any msgpack value as JSON (used for --fields and attrs output). */
int tt_value_to_json(const uint8_t *p, size_t len, tt_buf *out);
/* Append a JSON string literal for n bytes at s (quotes included). */
void tt_json_str(tt_buf *out, const char *s, size_t n);

/* ns since epoch -> "2026-11-21T09:26:20.123456789Z" (buf >= 36 bytes). */
size_t tt_time_rfc3339(int64_t ns, char *buf, size_t n);

/* ---- parsing user-facing values (pure; used by the tools and ttd) */

/* Time: RFC 3339 ("2026-11-21T09:00:00Z", "2026-11-21 09:00", "2026-11-21"),
 * "@1700000000[.123]" (epoch seconds), bare epoch (s/ms/us/ns by magnitude),
 * "now", "today", "yesterday", "tomorrow", relative "-1h", "+30m", "30m" (= ago),
 * "2 days ago", "1h30m ago". now_ns anchors relative forms. */
int tt_parse_time(const char *s, int64_t now_ns, int64_t *out_ns);
/* Duration: "250ms", "1.5s", "30m", "24h", "7d", "1w", "1h30m". A number
 * without a unit (other than 0), negative or unparseable: TT_EBADARG. */
#define TT_DURATION_HELP "a number with a unit: ns, us, ms, s, m, h, d, w (90s, 7d, 1h30m)"
int tt_parse_duration(const char *s, int64_t *out_ns);
/* Size: "500M", "2GiB", "1.5G", "1024" (bytes), k/M/G/T powers of 1024. */
int tt_parse_size(const char *s, uint64_t *out_bytes);

/* ---- record filters (tt-query, tt-tail, ttd's /stream) */
typedef struct tt_filter tt_filter;
int tt_filter_new(tt_filter **out);
void tt_filter_free(tt_filter *f);
/* "FIELD=VALUE" (also FIELD!=VALUE): same field OR, different fields AND;
 * dotted paths reach into maps (attrs.http.status=500). TT_EBADARG if malformed. */
int tt_filter_add_match(tt_filter *f, const char *expr);
int tt_filter_add_service(tt_filter *f, const char *service); /* repeatable = OR */
int tt_filter_set_level(tt_filter *f, int min_level);          /* at least this */
/* POSIX extended regex on "msg" (falls back to "name"); smart case: case-
 * insensitive unless the pattern has an upper-case letter. */
int tt_filter_set_grep(tt_filter *f, const char *regex, tt_rec_err *err);
int tt_filter_set_dur(tt_filter *f, int64_t min_ns, int64_t max_ns); /* -1 = open */
int tt_filter_set_time(tt_filter *f, int64_t since_ns, int64_t until_ns);
/* 1 if the record passes every condition, 0 if not. An empty filter passes all. */
int tt_filter_match(const tt_filter *f, const uint8_t *rec, size_t len);
int tt_filter_is_empty(const tt_filter *f);

/* ---- TraceHub output (tracehub_out.c) -- owner: ttd TraceHub shape ---- */
/* Append the record as TraceHub writes a trace (FORMAT.md 4.1): the fields
 * correlation_id, source_id, timestamp (ms, fractional), suffix, direction,
 * operation, endpoint, data, hostname -- always present, null when the
 * record has none -- then the record's other fields as tt_rec_to_json writes
 * them. TT_EBADREC for bytes that are not a record; out as it was then. */
int tt_rec_to_tracehub_json(const uint8_t *rec, size_t len, tt_buf *out);
/* ns as TraceHub writes times: milliseconds, six fraction digits, exact
 * ("1700000000100.250000", "-0.001500"). 0, or -1 out of memory. */
int tt_json_ms(tt_buf *out, int64_t ns);
/* ---- end of TraceHub output ---- */

#ifdef __cplusplus
}
#endif
#endif /* TTFORMAT_H */
