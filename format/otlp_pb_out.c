/*
 * otlp_pb_out.c -- an OTLP/JSON export re-encoded as OTLP/protobuf.
 *
 * The records -> OTLP mapping exists once, in the printer of tt-query -o otlp
 * (cli/output.c), and its output is OTLP/JSON. Rather than a second mapping
 * to protobuf, which would drift from the first, this converts that JSON into
 * the protobuf-c generated structs by walking protobuf-c's descriptors, the
 * way the OTLP/JSON spec relates the two: keys are the fields' lowerCamelCase
 * names, 64-bit integers may be strings, trace_id/span_id/parent_span_id are
 * hex and other bytes base64, enums are numbers (or their names). The struct is then packed
 * with protobuf-c. It is the inverse of otlp_proto.c, which turns protobuf
 * into the same JSON shape for the decoder.
 *
 * The input is meant to be the printer's own output, but is still treated as
 * untrusted: nesting is bounded, keys that are no field are skipped, a value
 * of the wrong JSON type is an error (TT_EBADREC).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmt_internal.h"
#include "trace.pb-c.h"
#include "logs.pb-c.h"

/* OTLP nests 4 messages above a span's attributes and 2 per AnyValue level */
#define PBO_DEPTH_MAX (2 * TT_DEPTH_MAX + 8)

static int build(const ProtobufCMessageDescriptor *d, const msgpack_object *m, int depth,
    ProtobufCMessage **out);

/* "resourceSpans" names the field "resource_spans": letters compared without
 * case, underscores of the field name skipped */
static int key_is(const char *k, size_t kn, const char *field)
{
	size_t i = 0;

	for (; *field; field++) {
		if (*field == '_')
			continue;
		if (i >= kn || (k[i] | 0x20) != (*field | 0x20))
			return 0;
		i++;
	}
	return i == kn;
}

static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *d,
    const msgpack_object_str *k)
{
	for (unsigned i = 0; i < d->n_fields; i++)
		if (key_is(k->ptr, k->size, d->fields[i].name))
			return &d->fields[i];
	return NULL;
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default: /* the 64-bit integers, double */
		return 8;
	}
}

/* an integer: a JSON number, or (64-bit fields) a decimal string */
static int int_of(const msgpack_object *v, int is_signed, uint64_t *u)
{
	char buf[32], *end;

	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*u = v->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*u = (uint64_t)v->via.i64;
		return 0;
	case MSGPACK_OBJECT_STR:
		if (v->via.str.size == 0 || v->via.str.size >= sizeof buf)
			return -1;
		memcpy(buf, v->via.str.ptr, v->via.str.size);
		buf[v->via.str.size] = '\0';
		errno = 0;
		*u = is_signed ? (uint64_t)strtoll(buf, &end, 10) : strtoull(buf, &end, 10);
		return errno || *end ? -1 : 0;
	default:
		return -1;
	}
}

static int double_of(const msgpack_object *v, double *x)
{
	const msgpack_object_str *s = &v->via.str;

	switch (v->type) {
	case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64:
		*x = v->via.f64;
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*x = (double)v->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*x = (double)v->via.i64;
		return 0;
	case MSGPACK_OBJECT_STR: /* the spec's spellings of what JSON numbers cannot say */
		if (s->size == 3 && !memcmp(s->ptr, "NaN", 3))
			*x = NAN;
		else if (s->size == 8 && !memcmp(s->ptr, "Infinity", 8))
			*x = INFINITY;
		else if (s->size == 9 && !memcmp(s->ptr, "-Infinity", 9))
			*x = -INFINITY;
		else
			return -1;
		return 0;
	default:
		return -1;
	}
}

static int unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int unb64(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 :
	    c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' || c == '-' ? 62 :
	    c == '/' || c == '_' ? 63 : -1;
}

/* OTLP/JSON's ids are hex, every other bytes field base64 */
static int bytes_of(const ProtobufCFieldDescriptor *f, const msgpack_object *v,
    ProtobufCBinaryData *b)
{
	const char *p = v->via.str.ptr;
	size_t n = v->via.str.size, len = strlen(f->name), o = 0;
	int hex = len >= 3 && strcmp(f->name + len - 3, "_id") == 0;
	uint32_t acc = 0;
	int bits = 0;

	if (v->type != MSGPACK_OBJECT_STR || (hex && n % 2))
		return -1;
	if ((b->data = malloc(n ? n : 1)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (hex) {
			int hi = unhex(p[i]), lo = unhex(p[i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			b->data[o++] = (uint8_t)(hi << 4 | lo);
			i++;
			continue;
		}
		if (p[i] == '=')
			break;
		if (unb64(p[i]) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)unb64(p[i]);
		if ((bits += 6) >= 8) {
			bits -= 8;
			b->data[o++] = (uint8_t)(acc >> bits);
		}
	}
	b->len = o;
	return 0;
bad:
	free(b->data);
	b->data = NULL;
	return -1;
}

static int set_int(const ProtobufCFieldDescriptor *f, void *slot, const msgpack_object *v)
{
	uint64_t u;

	if (int_of(v, f->type != PROTOBUF_C_TYPE_UINT64 && f->type != PROTOBUF_C_TYPE_FIXED64 &&
	    f->type != PROTOBUF_C_TYPE_UINT32 && f->type != PROTOBUF_C_TYPE_FIXED32, &u) < 0)
		return -1;
	if (elem_size(f->type) == 4) {
		uint32_t w = (uint32_t)u;
		memcpy(slot, &w, 4);
	} else {
		memcpy(slot, &u, 8);
	}
	return 0;
}

/* One value of field f into slot (its storage in the struct, or an element
 * of a repeated field's array). */
static int set_value(const ProtobufCFieldDescriptor *f, void *slot, const msgpack_object *v,
    int depth)
{
	double x;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		return build(f->descriptor, v, depth + 1, (ProtobufCMessage **)slot);
	case PROTOBUF_C_TYPE_STRING:
		if (v->type != MSGPACK_OBJECT_STR || (*(char **)slot = strndup(v->via.str.ptr,
		    v->via.str.size)) == NULL)
			return v->type != MSGPACK_OBJECT_STR ? -1 : -ENOMEM;
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		return bytes_of(f, v, slot);
	case PROTOBUF_C_TYPE_BOOL:
		if (v->type != MSGPACK_OBJECT_BOOLEAN)
			return -1;
		*(protobuf_c_boolean *)slot = v->via.boolean;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_FLOAT:
		if (double_of(v, &x) < 0)
			return -1;
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)slot = (float)x;
		else
			*(double *)slot = x;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (v->type == MSGPACK_OBJECT_STR) { /* receivers take the names too */
			char name[64];
			const ProtobufCEnumValue *e;
			if (v->via.str.size >= sizeof name)
				return -1;
			memcpy(name, v->via.str.ptr, v->via.str.size);
			name[v->via.str.size] = '\0';
			if ((e = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, name)) == NULL)
				return -1;
			memcpy(slot, &e->value, 4);
			return 0;
		}
		return set_int(f, slot, v); /* a number */
	default:
		return set_int(f, slot, v);
	}
}

/* A repeated field: the array grows one element at a time, its count kept
 * exact, so protobuf-c's free releases what a failure leaves behind. */
static int set_repeated(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
    const msgpack_object *v, int depth)
{
	size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
	void **arr = (void **)((char *)msg + f->offset);
	size_t sz = elem_size(f->type);
	int rc;

	if (v->type != MSGPACK_OBJECT_ARRAY || *count)
		return -1;
	if (v->via.array.size == 0)
		return 0;
	if ((*arr = calloc(v->via.array.size, sz)) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		void *slot = (char *)*arr + i * sz;
		rc = set_value(f, slot, &v->via.array.ptr[i], depth);
		/* a message that failed half-built is counted (freed with the rest);
		 * anything else that failed holds nothing */
		if (rc == 0 || (f->type == PROTOBUF_C_TYPE_MESSAGE && *(void **)slot))
			(*count)++;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Does the slot hold memory already (message, string, bytes)? */
static int taken(const ProtobufCFieldDescriptor *f, void *slot)
{
	char *str;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void **)slot != NULL;
	case PROTOBUF_C_TYPE_STRING:
		str = *(char **)slot;
		return str && str != protobuf_c_empty_string && str != (char *)f->default_value;
	case PROTOBUF_C_TYPE_BYTES:
		return ((ProtobufCBinaryData *)slot)->data != NULL;
	default:
		return 0;
	}
}

static int set_field(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
    const msgpack_object *v, int depth)
{
	char *q = (char *)msg + f->quantifier_offset;

	if (v->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return set_repeated(msg, f, v, depth);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		/* a second member of the oneof would overwrite the first's pointer */
		if (*(uint32_t *)q)
			return -1;
		*(uint32_t *)q = f->id;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset) {
		*(protobuf_c_boolean *)q = 1;
	}
	if (taken(f, (char *)msg + f->offset))
		return -1; /* a key given twice: the first value would leak */
	return set_value(f, (char *)msg + f->offset, v, depth);
}

static int build(const ProtobufCMessageDescriptor *d, const msgpack_object *m, int depth,
    ProtobufCMessage **out)
{
	ProtobufCMessage *msg;
	int rc = 0;

	*out = NULL;
	if (depth > PBO_DEPTH_MAX)
		return TT_ETOOBIG;
	if (m->type != MSGPACK_OBJECT_MAP)
		return -1;
	if ((msg = calloc(1, d->sizeof_message)) == NULL)
		return -ENOMEM;
	d->message_init(msg);
	*out = msg; /* from here on the caller frees it, whole or partly built */
	for (uint32_t i = 0; i < m->via.map.size && rc == 0; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];
		const ProtobufCFieldDescriptor *f;
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return -1;
		if ((f = field_of(d, &kv->key.via.str)) != NULL) /* others: skipped */
			rc = set_field(msg, f, &kv->val, depth);
	}
	return rc;
}

int tt_otlp_json_to_proto(const char *json, size_t len, int logs, tt_buf *out)
{
	const ProtobufCMessageDescriptor *d = logs ?
	    &opentelemetry__proto__logs__v1__export_logs_service_request__descriptor :
	    &opentelemetry__proto__trace__v1__export_trace_service_request__descriptor;
	tt_json_parser *jp = tt_json_parser_new();
	char *text = malloc(len + TT_JSON_PADDING);
	ProtobufCMessage *msg = NULL;
	msgpack_zone z;
	msgpack_object root;
	tt_rec_err err;
	int depth, rc, zone = 0;

	if (!jp || !text || !(zone = msgpack_zone_init(&z, 16384))) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(text, json, len);
	memset(text + len, 0, TT_JSON_PADDING);
	memset(&err, 0, sizeof err);
	if ((rc = tt_json_parse(jp, text, len, PBO_DEPTH_MAX, NULL, &z, &root, &depth, &err)) < 0)
		goto out;
	if ((rc = build(d, &root, 0, &msg)) < 0)
		goto out;
	out->len = 0;
	if ((rc = tt_buf_reserve(out, protobuf_c_message_get_packed_size(msg))) < 0)
		goto out;
	out->len = protobuf_c_message_pack(msg, out->data);
out:
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	if (zone)
		msgpack_zone_destroy(&z);
	tt_json_parser_free(jp);
	free(text);
	return rc == -1 ? TT_EBADREC : rc < 0 ? rc : 0;
}
