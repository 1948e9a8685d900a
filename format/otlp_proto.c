/*
 * otlp_proto.c -- OTLP/protobuf export requests to records.
 *
 * The body is unpacked with protobuf-c (code generated from format/proto/ at
 * build time) and rebuilt as the OTLP/JSON shape -- camelCase keys, ids as
 * lowercase hex, AnyValue objects -- in the decoder's zone, so otlp.c maps
 * both encodings with one function and they give identical records.
 *
 * Hostile bodies: protobuf-c recurses once per nested message without a
 * limit and allocates a struct per submessage (a Span is 200 bytes, from a
 * 2-byte empty submessage), so a walk of the wire format along the schema
 * (protobuf-c's descriptors) first refuses bodies nested deeper than
 * PB_DEPTH_MAX or whose decoding would take more than PB_COST_MULT times
 * their size in memory (PB_COST_BASE more for small ones).
 */
#include <errno.h>
#include <string.h>

#include "fmt_internal.h"
#include "trace.pb-c.h"
#include "logs.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Trace__V1__ExportTraceServiceRequest TraceReq;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__Span__Event Event;
typedef Opentelemetry__Proto__Logs__V1__ExportLogsServiceRequest LogsReq;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;

/* OTLP nests 4 messages above a span's attributes and 2 per AnyValue level:
 * this admits every record depth the JSON path admits (TT_DEPTH_MAX). */
#define PB_DEPTH_MAX (2 * TT_DEPTH_MAX + 8)
/* The memory a body may take to decode: protobuf-c's structs and copies plus
 * the tree below, estimated by pb_walk. Real exports need 2-10 times their
 * size; the densest legitimate content (arrays of bools, one-letter keys
 * with small ints) about 30 times; bodies of empty submessages 100-350
 * times, which is what this refuses. */
#define PB_COST_MULT 40
#define PB_COST_BASE (256u << 10)

/* ---- bounded pre-walk of the wire format, along the schema */

static int varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64 && *i < n; shift += 7) {
		uint8_t b = p[(*i)++];
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Bytes the tree (built below) spends on one message of type d: 48 per map
 * entry it may hold, the resource / scope maps with their parents. */
static size_t tree_cost(const ProtobufCMessageDescriptor *d)
{
	if (d == &opentelemetry__proto__trace__v1__span__descriptor)
		return 10 * 48;
	if (d == &opentelemetry__proto__logs__v1__log_record__descriptor)
		return 9 * 48;
	if (d == &opentelemetry__proto__trace__v1__span__event__descriptor)
		return 3 * 48;
	if (d == &opentelemetry__proto__trace__v1__resource_spans__descriptor ||
	    d == &opentelemetry__proto__trace__v1__scope_spans__descriptor ||
	    d == &opentelemetry__proto__logs__v1__resource_logs__descriptor ||
	    d == &opentelemetry__proto__logs__v1__scope_logs__descriptor)
		return 3 * 48;
	if (d == &opentelemetry__proto__common__v1__key_value__descriptor ||
	    d == &opentelemetry__proto__trace__v1__status__descriptor)
		return 2 * 48;
	if (d == &opentelemetry__proto__common__v1__any_value__descriptor ||
	    d == &opentelemetry__proto__common__v1__array_value__descriptor ||
	    d == &opentelemetry__proto__common__v1__key_value_list__descriptor)
		return 48;
	return 0;
}

/* 0: p parses as a message of type d within PB_DEPTH_MAX, *cost (bytes)
 * grown by what decoding it takes; 1: it does not parse (protobuf-c would
 * refuse it too); TT_ETOOBIG: nested too deeply. Strings and bytes cost a
 * copy (and hex for ids), packed scalars up to 8 bytes per byte, fields the
 * schema does not know a copy kept by protobuf-c. */
static int pb_walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
    int depth, uint64_t *cost)
{
	size_t i = 0;

	while (i < n) {
		uint64_t key, len, v;
		size_t start = i;
		const ProtobufCFieldDescriptor *f;

		if (varint(p, n, &i, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
			return 1;
		f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
		switch (key & 7) {
		case 0:
			if (varint(p, n, &i, &v))
				return 1;
			break;
		case 1:
			if (n - i < 8)
				return 1;
			i += 8;
			break;
		case 5:
			if (n - i < 4)
				return 1;
			i += 4;
			break;
		case 2:
			if (varint(p, n, &i, &len) || len > n - i)
				return 1;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const ProtobufCMessageDescriptor *sub = f->descriptor;
				int r;
				if (depth + 1 > PB_DEPTH_MAX)
					return TT_ETOOBIG;
				/* the struct, its slot in a repeated field (pointer +
				 * tree array element), its tree */
				*cost += sub->sizeof_message + 32 + tree_cost(sub);
				if ((r = pb_walk(sub, p + i, (size_t)len, depth + 1, cost)) != 0)
					return r;
			} else if (f && (f->type == PROTOBUF_C_TYPE_STRING ||
			    f->type == PROTOBUF_C_TYPE_BYTES)) {
				*cost += 3 * len + 1;
			} else {
				*cost += 8 * len;
			}
			i += (size_t)len;
			break;
		default: /* groups (3, 4) are not used by OTLP */
			return 1;
		}
		if (!f)
			*cost += sizeof(ProtobufCMessageUnknownField) + (i - start);
	}
	return 0;
}

/* ---- building the OTLP/JSON-shaped tree in the zone */

typedef struct mb {
	tt_decoder *d;
	int nomem;
} mb;

static void *zalloc(mb *b, size_t n)
{
	void *p = n ? msgpack_zone_malloc(&b->d->zone, n) : NULL;

	if (n && !p)
		b->nomem = 1;
	return p;
}

/* a map of at most `cap` entries; entries are added with put() */
static msgpack_object map_new(mb *b, uint32_t cap)
{
	msgpack_object o;

	o.type = MSGPACK_OBJECT_MAP;
	o.via.map.size = 0;
	o.via.map.ptr = zalloc(b, cap * sizeof(msgpack_object_kv));
	return o;
}

/* an array of at most `cap` elements; elements are added with push() */
static msgpack_object arr_new(mb *b, size_t cap)
{
	msgpack_object o;

	o.type = MSGPACK_OBJECT_ARRAY;
	o.via.array.size = 0;
	o.via.array.ptr = zalloc(b, cap * sizeof(msgpack_object));
	return o;
}

static void push(msgpack_object *a, msgpack_object v)
{
	if (a->via.array.ptr)
		a->via.array.ptr[a->via.array.size++] = v;
}

static void put(msgpack_object *m, const char *k, msgpack_object v)
{
	msgpack_object_kv *kv;

	if (!m->via.map.ptr)
		return; /* out of memory, already noted */
	kv = &m->via.map.ptr[m->via.map.size++];
	kv->key = tt_obj_str(k, strlen(k));
	kv->val = v;
}

static msgpack_object str(const char *s)
{
	return tt_obj_str(s ? s : "", s ? strlen(s) : 0);
}

static msgpack_object uint_obj(uint64_t u)
{
	msgpack_object o;

	o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	o.via.u64 = u;
	return o;
}

/* ids: lowercase hex, as OTLP/JSON writes them */
static msgpack_object hex(mb *b, ProtobufCBinaryData id)
{
	static const char digits[] = "0123456789abcdef";
	char *s = zalloc(b, 2 * id.len);

	if (!s)
		return str("");
	for (size_t i = 0; i < id.len; i++) {
		s[2 * i] = digits[id.data[i] >> 4];
		s[2 * i + 1] = digits[id.data[i] & 15];
	}
	return tt_obj_str(s, 2 * id.len);
}

static msgpack_object kv_list(mb *b, KeyValue **kvs, size_t n);

static msgpack_object any_value(mb *b, const AnyValue *av)
{
	msgpack_object m = map_new(b, 1), v, inner;

	if (!av)
		return m;
	switch (av->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		put(&m, "stringValue", str(av->string_value));
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		v.type = MSGPACK_OBJECT_BOOLEAN;
		v.via.boolean = av->bool_value != 0;
		put(&m, "boolValue", v);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		put(&m, "intValue", tt_obj_int(av->int_value));
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		v.type = MSGPACK_OBJECT_FLOAT64;
		v.via.f64 = av->double_value;
		put(&m, "doubleValue", v);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: {
		size_t n = av->array_value ? av->array_value->n_values : 0;
		v = arr_new(b, n);
		for (size_t i = 0; i < n; i++)
			push(&v, any_value(b, av->array_value->values[i]));
		inner = map_new(b, 1);
		put(&inner, "values", v);
		put(&m, "arrayValue", inner);
		break;
	}
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
		inner = map_new(b, 1);
		put(&inner, "values", av->kvlist_value ?
		    kv_list(b, av->kvlist_value->values, av->kvlist_value->n_values) :
		    kv_list(b, NULL, 0));
		put(&m, "kvlistValue", inner);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
		v.type = MSGPACK_OBJECT_BIN; /* otlp.c takes bin as the bytes themselves */
		v.via.bin.ptr = (const char *)av->bytes_value.data;
		v.via.bin.size = (uint32_t)av->bytes_value.len;
		put(&m, "bytesValue", v);
		break;
	default:
		break;
	}
	return m;
}

/* [{"key":k,"value":AnyValue}...] */
static msgpack_object kv_list(mb *b, KeyValue **kvs, size_t n)
{
	msgpack_object a;

	a = arr_new(b, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_object e = map_new(b, 2);
		put(&e, "key", str(kvs[i]->key));
		put(&e, "value", any_value(b, kvs[i]->value));
		push(&a, e);
	}
	return a;
}

static msgpack_object resource_obj(mb *b, const Resource *r)
{
	msgpack_object m = map_new(b, 1);

	put(&m, "attributes", r ? kv_list(b, r->attributes, r->n_attributes) : kv_list(b, NULL, 0));
	return m;
}

static msgpack_object scope_obj(mb *b, const Scope *s)
{
	msgpack_object m = map_new(b, 1);

	if (s && s->name && *s->name)
		put(&m, "name", str(s->name));
	return m;
}

static void put_id(mb *b, msgpack_object *m, const char *k, ProtobufCBinaryData id)
{
	if (id.len)
		put(m, k, hex(b, id));
}

static msgpack_object span_obj(mb *b, const Span *s)
{
	msgpack_object m = map_new(b, 10);

	put_id(b, &m, "traceId", s->trace_id);
	put_id(b, &m, "spanId", s->span_id);
	put_id(b, &m, "parentSpanId", s->parent_span_id);
	put(&m, "name", str(s->name));
	put(&m, "kind", uint_obj((uint64_t)s->kind));
	put(&m, "startTimeUnixNano", uint_obj(s->start_time_unix_nano));
	put(&m, "endTimeUnixNano", uint_obj(s->end_time_unix_nano));
	put(&m, "attributes", kv_list(b, s->attributes, s->n_attributes));
	if (s->n_events) {
		msgpack_object evs;
		evs = arr_new(b, s->n_events);
		for (size_t i = 0; i < s->n_events; i++) {
			const Event *ev = s->events[i];
			msgpack_object e = map_new(b, 3);
			put(&e, "timeUnixNano", uint_obj(ev->time_unix_nano));
			if (ev->name && *ev->name)
				put(&e, "name", str(ev->name));
			put(&e, "attributes", kv_list(b, ev->attributes, ev->n_attributes));
			push(&evs, e);
		}
		put(&m, "events", evs);
	}
	if (s->status) {
		msgpack_object st = map_new(b, 2);
		put(&st, "code", uint_obj((uint64_t)s->status->code));
		if (s->status->message && *s->status->message)
			put(&st, "message", str(s->status->message));
		put(&m, "status", st);
	}
	return m;
}

static msgpack_object log_obj(mb *b, const LogRecord *l)
{
	msgpack_object m = map_new(b, 9);

	put(&m, "timeUnixNano", uint_obj(l->time_unix_nano));
	put(&m, "observedTimeUnixNano", uint_obj(l->observed_time_unix_nano));
	if (l->severity_number)
		put(&m, "severityNumber", uint_obj((uint64_t)l->severity_number));
	if (l->severity_text && *l->severity_text)
		put(&m, "severityText", str(l->severity_text));
	if (l->body)
		put(&m, "body", any_value(b, l->body));
	put(&m, "attributes", kv_list(b, l->attributes, l->n_attributes));
	put_id(b, &m, "traceId", l->trace_id);
	put_id(b, &m, "spanId", l->span_id);
	if (l->event_name && *l->event_name)
		put(&m, "eventName", str(l->event_name));
	return m;
}

/* {"scope":..,key:elems} and {"resource":..,key:scopes}: the envelope levels
 * both export requests share */
static msgpack_object scope_entry(mb *b, const Scope *scope, const char *key, msgpack_object elems)
{
	msgpack_object m = map_new(b, 2);

	put(&m, "scope", scope_obj(b, scope));
	put(&m, key, elems);
	return m;
}

static msgpack_object resource_entry(mb *b, const Resource *r, const char *key, msgpack_object scopes)
{
	msgpack_object m = map_new(b, 2);

	put(&m, "resource", resource_obj(b, r));
	put(&m, key, scopes);
	return m;
}

/* {"resourceSpans":[{"resource":..,"scopeSpans":[{"scope":..,"spans":[..]}]}]} */
static msgpack_object trace_tree(mb *b, const TraceReq *req)
{
	msgpack_object root = map_new(b, 1), rs = arr_new(b, req->n_resource_spans);

	for (size_t i = 0; i < req->n_resource_spans; i++) {
		const Opentelemetry__Proto__Trace__V1__ResourceSpans *r = req->resource_spans[i];
		msgpack_object ss = arr_new(b, r->n_scope_spans);
		for (size_t j = 0; j < r->n_scope_spans; j++) {
			const Opentelemetry__Proto__Trace__V1__ScopeSpans *sc = r->scope_spans[j];
			msgpack_object spans = arr_new(b, sc->n_spans);
			for (size_t k = 0; k < sc->n_spans; k++)
				push(&spans, span_obj(b, sc->spans[k]));
			push(&ss, scope_entry(b, sc->scope, "spans", spans));
		}
		push(&rs, resource_entry(b, r->resource, "scopeSpans", ss));
	}
	put(&root, "resourceSpans", rs);
	return root;
}

static msgpack_object logs_tree(mb *b, const LogsReq *req)
{
	msgpack_object root = map_new(b, 1), rl = arr_new(b, req->n_resource_logs);

	for (size_t i = 0; i < req->n_resource_logs; i++) {
		const Opentelemetry__Proto__Logs__V1__ResourceLogs *r = req->resource_logs[i];
		msgpack_object sl = arr_new(b, r->n_scope_logs);
		for (size_t j = 0; j < r->n_scope_logs; j++) {
			const Opentelemetry__Proto__Logs__V1__ScopeLogs *sc = r->scope_logs[j];
			msgpack_object recs = arr_new(b, sc->n_log_records);
			for (size_t k = 0; k < sc->n_log_records; k++)
				push(&recs, log_obj(b, sc->log_records[k]));
			push(&sl, scope_entry(b, sc->scope, "logRecords", recs));
		}
		push(&rl, resource_entry(b, r->resource, "scopeLogs", sl));
	}
	put(&root, "resourceLogs", rl);
	return root;
}

int tt_decode_otlp_proto(tt_decoder *d, const uint8_t *p, size_t n, int logs,
    int64_t now_ns, const tt_sink *sink, tt_rec_err *err)
{
	mb b = {d, 0};
	msgpack_object root;
	uint64_t cost = 0;
	TraceReq *tr = NULL;
	LogsReq *lr = NULL;
	int rc;

	if (!d || (!p && n) || !sink || !sink->record)
		return TT_EBADARG;
	tt_decode_begin(d, now_ns, sink);
	rc = pb_walk(logs ? &opentelemetry__proto__logs__v1__export_logs_service_request__descriptor :
	    &opentelemetry__proto__trace__v1__export_trace_service_request__descriptor, p, n, 0, &cost);
	if (rc == TT_ETOOBIG) {
		tt_err_set(err, 0, "", "protobuf nested deeper than %d messages", PB_DEPTH_MAX);
		return rc;
	}
	if (rc == 0 && cost > (uint64_t)PB_COST_MULT * n + PB_COST_BASE) {
		tt_err_set(err, 0, "", "protobuf body of %zu bytes would take %llu bytes to "
		    "decode (the limit is %d times its size): too many empty messages", n,
		    (unsigned long long)cost, PB_COST_MULT);
		return TT_ETOOBIG;
	}
	if (rc) {
		tt_err_set(err, 0, "", "malformed protobuf");
		return TT_EBADREC;
	}
	if (logs)
		lr = opentelemetry__proto__logs__v1__export_logs_service_request__unpack(NULL, n, p);
	else
		tr = opentelemetry__proto__trace__v1__export_trace_service_request__unpack(NULL, n, p);
	if (!lr && !tr) {
		tt_err_set(err, 0, "", "malformed OTLP %s export request", logs ? "logs" : "trace");
		return TT_EBADREC;
	}
	root = logs ? logs_tree(&b, lr) : trace_tree(&b, tr);
	rc = b.nomem ? -ENOMEM : tt_otlp_map(d, &root, err);
	/* the records are emitted: nothing points into the unpacked message now */
	if (lr)
		opentelemetry__proto__logs__v1__export_logs_service_request__free_unpacked(lr, NULL);
	if (tr)
		opentelemetry__proto__trace__v1__export_trace_service_request__free_unpacked(tr, NULL);
	return rc < 0 ? rc : (int)d->emitted;
}
