/*
 * test_format_proto.c -- OTLP/protobuf decoding. Bodies are built here with
 * the protoc-c generated pack functions; the records must be byte-identical to
 * those of the same export sent as OTLP/JSON. Hostile bodies: deep nesting,
 * millions of empty submessages, truncation, garbage. And the encoder:
 * OTLP/JSON re-encoded as protobuf decodes to the same records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ttformat.h"
#include "trace.pb-c.h"
#include "logs.pb-c.h"

#define NOW 1700000000000000000LL

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;

/* records of one call, concatenated as JSON lines */
static int collect(void *ctx, const uint8_t *rec, size_t len)
{
	tt_buf *b = ctx;
	int rc = tt_rec_to_json(rec, len, 0, b);
	return rc ? rc : tt_buf_append(b, "\n", 1);
}

static char *records_json(int proto, const void *body, size_t n, int logs, int want)
{
	tt_decoder *d;
	tt_buf b = {0};
	tt_sink s = {collect, NULL, &b};
	tt_rec_err e = {0};
	int rc;

	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	rc = proto ? tt_decode_otlp_proto(d, body, n, logs, NOW, &s, &e) :
	    tt_decode_json(d, body, n, 0, NOW, &s, &e);
	if (rc != want)
		fail_msg("%s decode: expected %d records, got %d (%s)", proto ? "protobuf" : "JSON",
		    want, rc, e.reason);
	tt_decoder_free(d);
	assert_int_equal(tt_buf_append(&b, "", 1), 0);
	return (char *)b.data;
}

static void expect_same(const char *json, const void *body, size_t n, int logs, int want)
{
	char *a = records_json(0, json, strlen(json), logs, want);
	char *b = records_json(1, body, n, logs, want);

	if (strcmp(a, b) != 0)
		fail_msg("OTLP/JSON and OTLP/protobuf records differ\n JSON: %s\nproto: %s", a, b);
	free(a);
	free(b);
}

/* ---- building messages (everything on the heap, freed by the caller's arena) */
static void *arena[4096];
static size_t narena;

static void *mk(size_t n)
{
	void *p = calloc(1, n);
	assert_non_null(p);
	assert_true(narena < sizeof arena / sizeof *arena);
	arena[narena++] = p;
	return p;
}

static void arena_free(void)
{
	while (narena)
		free(arena[--narena]);
}

static AnyValue *av_str(const char *s)
{
	AnyValue *v = mk(sizeof *v);
	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = (char *)s;
	return v;
}

static AnyValue *av_int(int64_t i)
{
	AnyValue *v = mk(sizeof *v);
	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	v->int_value = i;
	return v;
}

static KeyValue *kv(const char *k, AnyValue *v)
{
	KeyValue *e = mk(sizeof *e);
	opentelemetry__proto__common__v1__key_value__init(e);
	e->key = (char *)k;
	e->value = v;
	return e;
}

static KeyValue **kvs(size_t n, ...)
{
	KeyValue **a = mk((n ? n : 1) * sizeof *a);
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		a[i] = va_arg(ap, KeyValue *);
	va_end(ap);
	return a;
}

static ProtobufCBinaryData bytes(const char *hex)
{
	ProtobufCBinaryData b;
	size_t n = strlen(hex) / 2;

	b.len = n;
	b.data = mk(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &b.data[i]);
	return b;
}

static const char trace_json[] =
    "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"frontend\"}},"
    "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"web-1\"}},"
    "{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"go\"}}]},"
    "\"scopeSpans\":[{\"scope\":{\"name\":\"go.opentelemetry.io/otel/http\",\"version\":\"0.45.0\"},"
    "\"spans\":[{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
    "\"parentSpanId\":\"\",\"name\":\"GET /api/cart\",\"kind\":2,"
    "\"startTimeUnixNano\":\"1732181180123456789\",\"endTimeUnixNano\":\"1732181180223456789\","
    "\"attributes\":[{\"key\":\"http.method\",\"value\":{\"stringValue\":\"GET\"}},"
    "{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"500\"}},"
    "{\"key\":\"retry\",\"value\":{\"boolValue\":true}},"
    "{\"key\":\"ratio\",\"value\":{\"doubleValue\":0.25}},"
    "{\"key\":\"tags\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":2}]}}},"
    "{\"key\":\"peer\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"ip\",\"value\":{\"stringValue\":\"10.0.0.7\"}}]}}},"
    "{\"key\":\"blob\",\"value\":{\"bytesValue\":\"3q2+7w==\"}}],"
    "\"events\":[{\"timeUnixNano\":\"1732181180200000000\",\"name\":\"exception\",\"attributes\":"
    "[{\"key\":\"exception.message\",\"value\":{\"stringValue\":\"db timeout\"}}]}],"
    "\"status\":{\"code\":2,\"message\":\"db timeout\"}},"
    "{\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"0102030405060708\","
    "\"parentSpanId\":\"eee19b7ec3c1b174\",\"name\":\"SELECT cart\",\"kind\":\"SPAN_KIND_CLIENT\","
    "\"startTimeUnixNano\":1732181180130000000,\"endTimeUnixNano\":1732181180220000000,"
    "\"status\":{\"code\":\"STATUS_CODE_OK\"}}]}]}]}";

static uint8_t *trace_body(size_t *n)
{
	Opentelemetry__Proto__Trace__V1__ExportTraceServiceRequest *req = mk(sizeof *req);
	Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = mk(sizeof *rs);
	Opentelemetry__Proto__Resource__V1__Resource *res = mk(sizeof *res);
	Opentelemetry__Proto__Trace__V1__ScopeSpans *ss = mk(sizeof *ss);
	Opentelemetry__Proto__Common__V1__InstrumentationScope *scope = mk(sizeof *scope);
	Opentelemetry__Proto__Trace__V1__Span *sp[2] = {mk(sizeof **sp), mk(sizeof **sp)};
	Opentelemetry__Proto__Trace__V1__Span__Event *ev = mk(sizeof *ev);
	Opentelemetry__Proto__Trace__V1__Status *st[2] = {mk(sizeof **st), mk(sizeof **st)};
	AnyValue *b = mk(sizeof *b), *d = mk(sizeof *d), *arr = mk(sizeof *arr), *kl = mk(sizeof *kl);
	AnyValue *blob = mk(sizeof *blob);
	Opentelemetry__Proto__Common__V1__ArrayValue *av = mk(sizeof *av);
	Opentelemetry__Proto__Common__V1__KeyValueList *kvl = mk(sizeof *kvl);
	uint8_t *out;

	opentelemetry__proto__trace__v1__export_trace_service_request__init(req);
	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	opentelemetry__proto__resource__v1__resource__init(res);
	opentelemetry__proto__trace__v1__scope_spans__init(ss);
	opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
	opentelemetry__proto__trace__v1__span__event__init(ev);
	opentelemetry__proto__common__v1__array_value__init(av);
	opentelemetry__proto__common__v1__key_value_list__init(kvl);
	for (int i = 0; i < 2; i++) {
		opentelemetry__proto__trace__v1__span__init(sp[i]);
		opentelemetry__proto__trace__v1__status__init(st[i]);
	}
	res->n_attributes = 3;
	res->attributes = kvs(3, kv("service.name", av_str("frontend")), kv("host.name", av_str("web-1")),
	    kv("telemetry.sdk.language", av_str("go")));
	scope->name = "go.opentelemetry.io/otel/http";
	scope->version = "0.45.0";

	opentelemetry__proto__common__v1__any_value__init(b);
	b->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
	b->bool_value = 1;
	opentelemetry__proto__common__v1__any_value__init(d);
	d->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
	d->double_value = 0.25;
	av->n_values = 2;
	av->values = mk(2 * sizeof *av->values);
	av->values[0] = av_str("a");
	av->values[1] = av_int(2);
	opentelemetry__proto__common__v1__any_value__init(arr);
	arr->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
	arr->array_value = av;
	kvl->n_values = 1;
	kvl->values = kvs(1, kv("ip", av_str("10.0.0.7")));
	opentelemetry__proto__common__v1__any_value__init(kl);
	kl->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
	kl->kvlist_value = kvl;
	opentelemetry__proto__common__v1__any_value__init(blob);
	blob->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
	blob->bytes_value = bytes("deadbeef");

	sp[0]->trace_id = bytes("5b8efff798038103d269b633813fc60c");
	sp[0]->span_id = bytes("eee19b7ec3c1b174");
	sp[0]->name = "GET /api/cart";
	sp[0]->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
	sp[0]->start_time_unix_nano = 1732181180123456789ull;
	sp[0]->end_time_unix_nano = 1732181180223456789ull;
	sp[0]->n_attributes = 7;
	sp[0]->attributes = kvs(7, kv("http.method", av_str("GET")), kv("http.status_code", av_int(500)),
	    kv("retry", b), kv("ratio", d), kv("tags", arr), kv("peer", kl), kv("blob", blob));
	ev->time_unix_nano = 1732181180200000000ull;
	ev->name = "exception";
	ev->n_attributes = 1;
	ev->attributes = kvs(1, kv("exception.message", av_str("db timeout")));
	sp[0]->n_events = 1;
	sp[0]->events = mk(sizeof *sp[0]->events);
	sp[0]->events[0] = ev;
	st[0]->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
	st[0]->message = "db timeout";
	sp[0]->status = st[0];

	sp[1]->trace_id = bytes("5b8efff798038103d269b633813fc60c");
	sp[1]->span_id = bytes("0102030405060708");
	sp[1]->parent_span_id = bytes("eee19b7ec3c1b174");
	sp[1]->name = "SELECT cart";
	sp[1]->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT;
	sp[1]->start_time_unix_nano = 1732181180130000000ull;
	sp[1]->end_time_unix_nano = 1732181180220000000ull;
	st[1]->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_OK;
	sp[1]->status = st[1];

	ss->scope = scope;
	ss->n_spans = 2;
	ss->spans = sp;
	rs->resource = res;
	rs->n_scope_spans = 1;
	rs->scope_spans = &ss;
	req->n_resource_spans = 1;
	req->resource_spans = &rs;
	*n = opentelemetry__proto__trace__v1__export_trace_service_request__get_packed_size(req);
	out = mk(*n);
	assert_int_equal(opentelemetry__proto__trace__v1__export_trace_service_request__pack(req, out), *n);
	return out;
}

static void test_trace_proto_equals_json(void **state)
{
	size_t n;
	uint8_t *body;
	(void)state;

	body = trace_body(&n);
	expect_same(trace_json, body, n, 0, 2);
	/* a trace body is not a logs request: the wire types do not match */
	char *r = records_json(1, body, n, 1, TT_EBADREC);
	free(r);
	arena_free();
}

static const char logs_json[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
    "\"value\":{\"stringValue\":\"worker\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"app\"},"
    "\"logRecords\":[{\"timeUnixNano\":\"1732181180500000000\",\"severityNumber\":17,"
    "\"severityText\":\"ERROR\",\"body\":{\"stringValue\":\"job 17 failed\"},"
    "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
    "\"attributes\":[{\"key\":\"job.id\",\"value\":{\"intValue\":\"17\"}}]},"
    "{\"observedTimeUnixNano\":\"1732181180600000000\",\"severityNumber\":9,\"body\":"
    "{\"kvlistValue\":{\"values\":[{\"key\":\"event\",\"value\":{\"stringValue\":\"heartbeat\"}}]}}}]}]}]}";

static void test_logs_proto_equals_json(void **state)
{
	Opentelemetry__Proto__Logs__V1__ExportLogsServiceRequest req;
	Opentelemetry__Proto__Logs__V1__ResourceLogs rl, *rlp = &rl;
	Opentelemetry__Proto__Resource__V1__Resource res;
	Opentelemetry__Proto__Logs__V1__ScopeLogs sl, *slp = &sl;
	Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
	Opentelemetry__Proto__Logs__V1__LogRecord lr[2], *lrp[2] = {&lr[0], &lr[1]};
	Opentelemetry__Proto__Common__V1__KeyValueList kvl;
	AnyValue body2;
	size_t n;
	uint8_t *out;
	(void)state;

	opentelemetry__proto__logs__v1__export_logs_service_request__init(&req);
	opentelemetry__proto__logs__v1__resource_logs__init(&rl);
	opentelemetry__proto__resource__v1__resource__init(&res);
	opentelemetry__proto__logs__v1__scope_logs__init(&sl);
	opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
	opentelemetry__proto__logs__v1__log_record__init(&lr[0]);
	opentelemetry__proto__logs__v1__log_record__init(&lr[1]);
	opentelemetry__proto__common__v1__key_value_list__init(&kvl);
	opentelemetry__proto__common__v1__any_value__init(&body2);
	res.n_attributes = 1;
	res.attributes = kvs(1, kv("service.name", av_str("worker")));
	scope.name = "app";
	lr[0].time_unix_nano = 1732181180500000000ull;
	lr[0].severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_ERROR;
	lr[0].severity_text = "ERROR";
	lr[0].body = av_str("job 17 failed");
	lr[0].trace_id = bytes("5b8efff798038103d269b633813fc60c");
	lr[0].span_id = bytes("eee19b7ec3c1b174");
	lr[0].n_attributes = 1;
	lr[0].attributes = kvs(1, kv("job.id", av_int(17)));
	lr[1].observed_time_unix_nano = 1732181180600000000ull;
	lr[1].severity_number = OPENTELEMETRY__PROTO__LOGS__V1__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO;
	kvl.n_values = 1;
	kvl.values = kvs(1, kv("event", av_str("heartbeat")));
	body2.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
	body2.kvlist_value = &kvl;
	lr[1].body = &body2;
	sl.scope = &scope;
	sl.n_log_records = 2;
	sl.log_records = lrp;
	rl.resource = &res;
	rl.n_scope_logs = 1;
	rl.scope_logs = &slp;
	req.n_resource_logs = 1;
	req.resource_logs = &rlp;
	n = opentelemetry__proto__logs__v1__export_logs_service_request__get_packed_size(&req);
	out = mk(n);
	opentelemetry__proto__logs__v1__export_logs_service_request__pack(&req, out);
	expect_same(logs_json, out, n, 1, 2);
	arena_free();
}

static int proto_rc(const uint8_t *p, size_t n, int logs, tt_rec_err *e)
{
	tt_decoder *d;
	tt_buf b = {0};
	tt_sink s = {collect, NULL, &b};
	int rc;

	assert_int_equal(tt_decoder_new(&d, NULL), 0);
	rc = tt_decode_otlp_proto(d, p, n, logs, NOW, &s, e);
	tt_decoder_free(d);
	tt_buf_free(&b);
	return rc;
}

/* AnyValue{array_value{values:[AnyValue{array_value{...}}]}} nested `levels`
 * deep, as a span attribute: written back to front, each level prepending
 * its tag and length */
static uint8_t *deep_body(int levels, size_t *n)
{
	static const uint8_t outer[] = {
		0x12, /* KeyValue.value */
		0x4a, /* Span.attributes */
		0x12, /* ScopeSpans.spans */
		0x12, /* ResourceSpans.scope_spans */
		0x0a, /* ExportTraceServiceRequest.resource_spans */
	};
	size_t cap = (size_t)levels * 2 * 6 + 64, start = cap;
	uint8_t *buf = malloc(cap);

	assert_non_null(buf);
	buf[--start] = 0x01; /* AnyValue.int_value = 1 */
	buf[--start] = 0x18;
	for (int i = 0; i < 2 * levels + 5; i++) {
		uint8_t tag = i >= 2 * levels ? outer[i - 2 * levels] :
		    i % 2 == 0 ? 0x0a /* ArrayValue.values */ : 0x2a /* AnyValue.array_value */;
		size_t len, vl = 0;
		uint8_t v[10];
		if (i == 2 * levels + 2) { /* the span gets its trace id (a span needs one) */
			for (int k = 0; k < 16; k++)
				buf[--start] = 0x11;
			buf[--start] = 16;
			buf[--start] = 0x0a; /* Span.trace_id */
		}
		len = cap - start;
		do {
			v[vl++] = (uint8_t)((len & 0x7f) | (len > 0x7f ? 0x80 : 0));
			len >>= 7;
		} while (len);
		while (vl)
			buf[--start] = v[--vl];
		buf[--start] = tag;
	}
	/* the innermost pair is ArrayValue.values (0x0a) inside AnyValue.array_value
	 * (0x2a): the loop's first tag wraps the int AnyValue as ArrayValue.values */
	*n = cap - start;
	memmove(buf, buf + start, *n);
	return buf;
}

static void test_proto_hostile(void **state)
{
	tt_rec_err e = {0};
	size_t n;
	uint8_t *body;
	(void)state;

	/* shallow nesting decodes (a record of depth 4: record, attrs, 2 arrays) */
	body = deep_body(2, &n);
	assert_int_equal(proto_rc(body, n, 0, &e), 1);
	free(body);
	/* 100000 levels: refused by the pre-walk, protobuf-c never recurses */
	body = deep_body(100000, &n);
	memset(&e, 0, sizeof e);
	assert_int_equal(proto_rc(body, n, 0, &e), TT_ETOOBIG);
	assert_non_null(strstr(e.reason, "nested deeper"));
	free(body);

	/* millions of empty ResourceSpans: two bytes each, a struct each */
	n = 2 * (32u * TT_BATCH_MAX + 1);
	body = malloc(n);
	for (size_t i = 0; i < n; i += 2) {
		body[i] = 0x0a;
		body[i + 1] = 0x00;
	}
	assert_int_equal(proto_rc(body, n, 0, &e), TT_ETOOBIG);
	assert_int_equal(proto_rc(body, 2000, 0, &e), 0); /* a thousand: fine, no spans */
	free(body);

	/* truncated and garbage bodies */
	body = trace_body(&n);
	for (size_t cut = 1; cut < n; cut += 7) {
		int rc = proto_rc(body, cut, 0, &e);
		if (rc != TT_EBADREC)
			fail_msg("body cut to %zu of %zu bytes: expected TT_EBADREC, got %d", cut, n, rc);
	}
	arena_free();
	assert_int_equal(proto_rc((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11, 0, &e),
	    TT_EBADREC);
	assert_int_equal(proto_rc((const uint8_t *)"\x0b\x0c", 2, 1, &e), TT_EBADREC); /* a group */
	assert_int_equal(proto_rc((const uint8_t *)"", 0, 0, &e), 0);
	assert_int_equal(proto_rc(NULL, 0, 1, &e), 0);
}

/* The other way (format/otlp_pb_out.c): an OTLP/JSON export re-encoded as
 * protobuf gives the records the JSON gives. */
static void test_json_to_proto(void **state)
{
	tt_buf pb = {0};
	(void)state;

	assert_int_equal(tt_otlp_json_to_proto(trace_json, strlen(trace_json), 0, &pb), 0);
	expect_same(trace_json, pb.data, pb.len, 0, 2);
	assert_int_equal(tt_otlp_json_to_proto(logs_json, strlen(logs_json), 1, &pb), 0);
	expect_same(logs_json, pb.data, pb.len, 1, 2);
	tt_buf_free(&pb);
}

static void test_json_to_proto_hostile(void **state)
{
	static const char *const bad[] = {
		"not json",
		"[1,2]",
		"{\"resourceSpans\":3}",
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz\"}]}]}]}",
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"abc\"}]}]}]}",
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\",\"name\":\"b\"}]}]}]}",
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"SPAN_KIND_LOUD\"}]}]}]}",
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"startTimeUnixNano\":\"12x\"}]}]}]}",
	};
	tt_buf pb = {0};
	char deep[4096];
	size_t n = 0;
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (tt_otlp_json_to_proto(bad[i], strlen(bad[i]), 0, &pb) != TT_EBADREC)
			fail_msg("accepted: %s", bad[i]);
	/* unknown keys are skipped, as receivers do */
	{
		static const char unknown[] = "{\"x\":1,\"resourceSpans\":[]}";
		assert_int_equal(tt_otlp_json_to_proto(unknown, strlen(unknown), 0, &pb), 0);
	}
	assert_int_equal(pb.len, 0);
	/* AnyValue nested past the limit */
	n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"resourceLogs\":[{\"scopeLogs\":"
	    "[{\"logRecords\":[{\"body\":");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"arrayValue\":{\"values\":[");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "]}}");
	n += (size_t)snprintf(deep + n, sizeof deep - n, "}]}]}]}");
	assert_true(n < sizeof deep);
	assert_true(tt_otlp_json_to_proto(deep, n, 1, &pb) < 0);
	tt_buf_free(&pb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_proto_equals_json),
		cmocka_unit_test(test_logs_proto_equals_json),
		cmocka_unit_test(test_proto_hostile),
		cmocka_unit_test(test_json_to_proto),
		cmocka_unit_test(test_json_to_proto_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
