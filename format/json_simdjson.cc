/*
 * json_simdjson.cc -- JSON text -> msgpack_object tree, with simdjson On-Demand.
 *
 * The only C++ file of the project (ARCHITECTURE: simdjson is ~8 M lines/s here,
 * jansson/json-c 0.2-0.3 M, cJSON loses 64-bit integers). It knows nothing of
 * records: it only builds a generic tree that decode.c maps to a record, so the
 * JSON and msgpack inputs share one mapping path. No exception leaves this file.
 */
#include <simdjson.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "json_adapter.h"

using namespace simdjson;

struct tt_json_parser {
	ondemand::parser parser;
	/* Children of the containers being built, innermost last; a container moves
	 * its children into the zone when it closes (counts are unknown up front). */
	std::vector<msgpack_object> vals;
	std::vector<msgpack_object_kv> kvs;
};

namespace {

struct conv_ctx {
	tt_json_parser *p;
	const char *text;
	msgpack_zone *z;
	int max_depth;
	int seen;            /* deepest container level met */
	int rc;              /* TT_* code once something failed */
	const char *reason;  /* text for err->reason (static, or msg) */
	size_t nodes;        /* values and keys built for the current record */
	size_t max_nodes;    /* more: stop building it (SIZE_MAX: no cap) */
	bool over;           /* stopped by max_nodes */
	bool watch;          /* stop at a root key that may make a batch or an export */
	const char *field;   /* for err->field, or nullptr */
	char msg[160];
	bool cut;            /* the text ended inside a value: the error is at its end */
};

int fail(conv_ctx &c, int rc, const char *reason)
{
	c.rc = rc;
	c.reason = reason;
	return rc;
}

/* conv's return when c.watch met such a key: not an error, look again */
constexpr int RESTART = INT_MIN;

bool shape_key(std::string_view k)
{
	switch (k.size()) {
	case 4: return k == "logs";
	case 6: return k == "traces";
	case 12: return k == "resourceLogs";
	case 13: return k == "resourceSpans";
	}
	return false;
}

/* A document cut short (an unclosed string, object or array) ended at its
 * last byte; simdjson reports where it stopped looking instead. */
bool cut_short(error_code e)
{
	return e == INCOMPLETE_ARRAY_OR_OBJECT || e == UNCLOSED_STRING;
}

int syntax(conv_ctx &c, error_code e)
{
	c.cut = cut_short(e);
	return fail(c, TT_EBADREC, error_message(e));
}

/* A record of more values than bytes cannot be encoded within the cap (every
 * msgpack value takes a byte at least): stop before its tree costs more. */
int too_many(conv_ctx &c)
{
	c.over = true;
	snprintf(c.msg, sizeof c.msg, TT_JSON_NODES_MSG, c.max_nodes, c.max_nodes);
	return fail(c, TT_ETOOBIG, c.msg);
}

/* Where a converted value goes: a slot of p->kvs or p->vals (found again by
 * index, since nested containers may grow the vector meanwhile) or the root.
 * Writing in place, after the children are done, avoids copying msgpack_object
 * structs around; those copies cost store-forwarding stalls on the hot path. */
struct dest {
	int where; /* 0 root, 1 kvs[idx].val, 2 vals[idx] */
	size_t idx;
	msgpack_object *root;
};

inline msgpack_object *at(conv_ctx &c, const dest &d)
{
	return d.where == 1 ? &c.p->kvs[d.idx].val : d.where == 2 ? &c.p->vals[d.idx] : d.root;
}

int conv(conv_ctx &c, ondemand::value &v, int depth, const dest &d);

int conv_object(conv_ctx &c, ondemand::value &v, int depth, const dest &d)
{
	ondemand::object obj;
	if (auto e = v.get_object().get(obj))
		return syntax(c, e);
	std::vector<msgpack_object_kv> &kvs = c.p->kvs;
	size_t base = kvs.size();
	for (auto fr : obj) {
		/* references into the iterator's own result: copying these small
		 * structs out is measurably slow (store-forwarding stalls) */
		if (auto e = fr.error())
			return syntax(c, e);
		ondemand::field &f = fr.value_unsafe();
		std::string_view k;
		if (auto e = f.unescaped_key().get(k))
			return syntax(c, e);
		if (c.watch && depth == 1 && shape_key(k))
			return fail(c, RESTART, nullptr);
		if (++c.nodes > c.max_nodes)
			return too_many(c);
		size_t idx = kvs.size();
		kvs.emplace_back();
		msgpack_object_kv &kv = kvs.back();
		kv.key.type = MSGPACK_OBJECT_STR;
		kv.key.via.str.ptr = k.data();
		kv.key.via.str.size = (uint32_t)k.size();
		if (conv(c, f.value(), depth + 1, dest{1, idx, nullptr}) < 0)
			return c.rc;
	}
	size_t n = kvs.size() - base;
	void *m = nullptr;
	if (n) {
		m = msgpack_zone_malloc(c.z, n * sizeof(msgpack_object_kv));
		if (!m)
			return fail(c, -ENOMEM, "out of memory");
		memcpy(m, &kvs[base], n * sizeof(msgpack_object_kv));
	}
	kvs.resize(base);
	msgpack_object *o = at(c, d);
	o->type = MSGPACK_OBJECT_MAP;
	o->via.map.size = (uint32_t)n;
	o->via.map.ptr = (msgpack_object_kv *)m;
	return 0;
}

int conv_array(conv_ctx &c, ondemand::value &v, int depth, const dest &d)
{
	ondemand::array arr;
	if (auto e = v.get_array().get(arr))
		return syntax(c, e);
	std::vector<msgpack_object> &vals = c.p->vals;
	size_t base = vals.size();
	for (auto er : arr) {
		if (auto e = er.error())
			return syntax(c, e);
		ondemand::value &el = er.value_unsafe();
		size_t idx = vals.size();
		vals.emplace_back();
		if (conv(c, el, depth + 1, dest{2, idx, nullptr}) < 0)
			return c.rc;
	}
	size_t n = vals.size() - base;
	void *m = nullptr;
	if (n) {
		m = msgpack_zone_malloc(c.z, n * sizeof(msgpack_object));
		if (!m)
			return fail(c, -ENOMEM, "out of memory");
		memcpy(m, &vals[base], n * sizeof(msgpack_object));
	}
	vals.resize(base);
	msgpack_object *o = at(c, d);
	o->type = MSGPACK_OBJECT_ARRAY;
	o->via.array.size = (uint32_t)n;
	o->via.array.ptr = (msgpack_object *)m;
	return 0;
}

/* simdjson 3.0 refuses integers beyond 64 bits; JSON allows them. Keep their
 * magnitude as a double, like every JSON reader that is not exact. */
int big_integer(conv_ctx &c, ondemand::value &v, msgpack_object *o, error_code e)
{
	std::string_view tok = v.raw_json_token();
	char tmp[400];
	size_t i = 0;

	while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t' ||
	    tok.back() == '\n' || tok.back() == '\r'))
		tok.remove_suffix(1);
	if (!tok.empty() && tok[0] == '-')
		i++;
	if (tok.size() <= i || tok.size() >= sizeof tmp)
		return syntax(c, e);
	for (; i < tok.size(); i++)
		if (tok[i] < '0' || tok[i] > '9')
			return syntax(c, e);
	memcpy(tmp, tok.data(), tok.size());
	tmp[tok.size()] = '\0';
	o->type = MSGPACK_OBJECT_FLOAT64;
	o->via.f64 = strtod(tmp, nullptr);
	return 0;
}

int conv_number(conv_ctx &c, ondemand::value &v, msgpack_object *o)
{
	ondemand::number num;
	if (auto e = v.get_number().get(num))
		return big_integer(c, v, o, e);
	switch (num.get_number_type()) {
	case ondemand::number_type::signed_integer: {
		int64_t i = num.get_int64();
		if (i >= 0) {
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o->via.u64 = (uint64_t)i;
		} else {
			o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
			o->via.i64 = i;
		}
		return 0;
	}
	case ondemand::number_type::unsigned_integer:
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = num.get_uint64();
		return 0;
	default:
		o->type = MSGPACK_OBJECT_FLOAT64;
		o->via.f64 = num.get_double();
		return 0;
	}
}

int conv(conv_ctx &c, ondemand::value &v, int depth, const dest &d)
{
	if (depth > c.max_depth)
		return fail(c, TT_ETOOBIG, "nesting too deep");
	if (++c.nodes > c.max_nodes)
		return too_many(c);
	if (depth > c.seen)
		c.seen = depth; /* counts scalars' levels too: an over-estimate by one */
	ondemand::json_type t;
	if (auto e = v.type().get(t))
		return syntax(c, e);
	switch (t) {
	case ondemand::json_type::object:
		return conv_object(c, v, depth, d);
	case ondemand::json_type::array:
		return conv_array(c, v, depth, d);
	case ondemand::json_type::number:
		return conv_number(c, v, at(c, d));
	case ondemand::json_type::string: {
		std::string_view s;
		if (auto e = v.get_string().get(s))
			return syntax(c, e);
		msgpack_object *o = at(c, d);
		o->type = MSGPACK_OBJECT_STR;
		o->via.str.ptr = s.data();
		o->via.str.size = (uint32_t)s.size();
		return 0;
	}
	case ondemand::json_type::boolean: {
		bool b;
		if (auto e = v.get_bool().get(b))
			return syntax(c, e);
		msgpack_object *o = at(c, d);
		o->type = MSGPACK_OBJECT_BOOLEAN;
		o->via.boolean = b;
		return 0;
	}
	case ondemand::json_type::null: {
		bool isnull;
		if (auto e = v.is_null().get(isnull))
			return syntax(c, e);
		if (!isnull)
			return fail(c, TT_EBADREC, "invalid literal");
		at(c, d)->type = MSGPACK_OBJECT_NIL;
		return 0;
	}
	}
	return fail(c, TT_EBADREC, "unexpected token");
}

void set_err(tt_rec_err *err, size_t off, const char *reason)
{
	if (!err)
		return;
	err->offset = off;
	err->field[0] = '\0';
	snprintf(err->reason, sizeof err->reason, "%s", reason);
	/* simdjson's messages start upper-case and end with a period; an
	 * acronym ("JSON document ended early") keeps its case */
	if (err->reason[0] >= 'A' && err->reason[0] <= 'Z' &&
	    !(err->reason[1] >= 'A' && err->reason[1] <= 'Z'))
		err->reason[0] = (char)(err->reason[0] - 'A' + 'a');
	size_t n = strlen(err->reason);
	if (n && err->reason[n - 1] == '.')
		err->reason[n - 1] = '\0';
}

size_t where(ondemand::document &doc, const char *text, size_t len)
{
	const char *loc;
	if (doc.current_location().get(loc) || loc < text || loc > text + len)
		return len;
	return (size_t)(loc - text);
}

/* The elements of a batch array, one tree at a time: count them first (a
 * batch over the cap is refused before anything is built), then build each
 * into the zone, hand it over, and clear the zone for the next. */
int stream(conv_ctx &c, ondemand::value &v, int depth, const tt_json_elems *ev)
{
	ondemand::array arr;
	size_t n;
	uint32_t i = 0;

	if (auto e = v.get_array().get(arr))
		return syntax(c, e);
	if (auto e = arr.count_elements().get(n))
		return syntax(c, e);
	if (n > ev->max_elems) {
		snprintf(c.msg, sizeof c.msg, "batch of %zu elements exceeds the limit of %zu",
		    n, ev->max_elems);
		return fail(c, TT_ETOOBIG, c.msg);
	}
	for (auto er : arr) {
		if (auto e = er.error())
			return syntax(c, e);
		ondemand::value &el = er.value_unsafe();
		const char *loc;
		size_t off = el.current_location().get(loc) ? 0 : (size_t)(loc - c.text);
		msgpack_object o;
		c.nodes = 0;
		c.seen = 0;
		c.over = false;
		c.p->vals.clear();
		c.p->kvs.clear();
		msgpack_zone_clear(c.z);
		/* an element over the value cap is skipped by the iterator's ++ */
		if (conv(c, el, depth, dest{0, 0, &o}) < 0 && !c.over)
			return c.rc;
		int r = ev->element(ev->ctx, i++, off, c.over ? nullptr : &o, c.seen);
		if (r < 0)
			return fail(c, r, nullptr); /* the callback said why in err */
	}
	return 0;
}

/* ---- OTLP/JSON exports, streamed: resourceSpans[i].scopeSpans[j].spans[k]
 * (and the logs kind) handed to ev's otlp_* callbacks a piece at a time.
 * Keys are looked up as tt_map_get does on a tree: the first of that name. */

const char *const otlp_keys[2][4] = {
	{ "resourceSpans", "scopeSpans", "instrumentationLibrarySpans", "spans" },
	{ "resourceLogs", "scopeLogs", "instrumentationLibraryLogs", "logRecords" },
};

struct found {
	long idx = -1; /* field number of the first field of that name, -1 none */
	bool arr = false;
};

/* The first field of each name in keys (values not consumed); obj reset. */
int scan_keys(conv_ctx &c, ondemand::object &obj, const char *const *keys, int n, found *f)
{
	long i = 0;

	for (auto fr : obj) {
		if (auto e = fr.error())
			return syntax(c, e);
		ondemand::field &fl = fr.value_unsafe();
		std::string_view k;
		if (auto e = fl.unescaped_key().get(k))
			return syntax(c, e);
		for (int x = 0; x < n; x++) {
			if (f[x].idx >= 0 || k != keys[x])
				continue;
			ondemand::json_type t;
			if (auto e = fl.value().type().get(t))
				return syntax(c, e);
			f[x].idx = i;
			f[x].arr = t == ondemand::json_type::array;
		}
		i++;
	}
	if (auto e = obj.reset().error())
		return syntax(c, e);
	return 0;
}

/* The value of field number idx of obj, iterating from where obj stands. */
int field_at(conv_ctx &c, ondemand::object &obj, long idx, ondemand::value &out)
{
	long i = 0;

	for (auto fr : obj) {
		if (auto e = fr.error())
			return syntax(c, e);
		if (i++ == idx) {
			out = fr.value_unsafe().value();
			return 0;
		}
	}
	return fail(c, TT_EBADREC, "malformed object");
}

/* A tree of v in the keep zone (resources and scopes: values and keys
 * counted together per resource against max_nodes). */
int keep_tree(conv_ctx &c, ondemand::value &v, int depth, const tt_json_elems *ev,
    msgpack_object *o)
{
	msgpack_zone *z = c.z;
	int rc;

	c.z = ev->keep;
	rc = conv(c, v, depth, dest{0, 0, o});
	c.z = z;
	if (rc < 0 && c.over)
		c.field = "resource or scope";
	return rc;
}

int otlp_elements(conv_ctx &c, ondemand::array &ea, int logs, uint32_t i, uint32_t j,
    const tt_json_elems *ev);

/* A resource or a scope: if v is an object, where its three keys are. */
int open_keys(conv_ctx &c, ondemand::value &v, ondemand::object &o, const char *const *keys,
    found *f)
{
	ondemand::json_type t;

	if (auto e = v.type().get(t))
		return syntax(c, e);
	if (t != ondemand::json_type::object)
		return 0;
	if (auto e = v.get_object().get(o))
		return syntax(c, e);
	return scan_keys(c, o, keys, 3, f);
}

/* The tree of field idx of o in the keep zone (*p = out), or *p = NULL if
 * idx < 0; o is reset after. */
int keep_field(conv_ctx &c, ondemand::object &o, long idx, int depth, const tt_json_elems *ev,
    msgpack_object *out, const msgpack_object **p)
{
	ondemand::value v;

	*p = nullptr;
	if (idx < 0)
		return 0;
	if (field_at(c, o, idx, v) < 0 || keep_tree(c, v, depth, ev, out) < 0)
		return c.rc;
	if (auto e = o.reset().error())
		return syntax(c, e);
	*p = out;
	return 0;
}

/* One kind's resources: count their elements into *total (counting pass),
 * or, total NULL, hand everything over. */
int otlp_walk(conv_ctx &c, ondemand::value &top, int logs, const tt_json_elems *ev,
    size_t *total)
{
	const char *const *kk = otlp_keys[logs];
	const char *const rkeys[3] = { "resource", kk[1], kk[2] };
	const char *const skeys[3] = { "scope", "instrumentationLibrary", kk[3] };
	ondemand::array res;
	uint32_t i = 0;

	if (auto e = top.get_array().get(res))
		return syntax(c, e);
	for (auto rr : res) {
		if (auto e = rr.error())
			return syntax(c, e);
		ondemand::object ro;
		found rf[3];
		msgpack_object rv;
		const msgpack_object *rp;
		if (open_keys(c, rr.value_unsafe(), ro, rkeys, rf) < 0)
			return c.rc;
		if (!total) {
			c.nodes = 0;
			msgpack_zone_clear(ev->keep);
			if (keep_field(c, ro, rf[0].idx, 4, ev, &rv, &rp) < 0)
				return c.rc;
			if (int e = ev->otlp_resource(ev->ctx, logs, i, rp); e < 0)
				return fail(c, e, nullptr);
		}
		/* get_arr(r, scopeSpans), else get_arr(r, instrumentationLibrarySpans) */
		long si = rf[1].idx >= 0 && rf[1].arr ? rf[1].idx : rf[2].idx >= 0 && rf[2].arr ? rf[2].idx : -1;
		ondemand::value sv;
		ondemand::array sa;
		uint32_t j = 0;
		if (si < 0) {
			i++;
			continue;
		}
		if (field_at(c, ro, si, sv) < 0)
			return c.rc;
		if (auto e = sv.get_array().get(sa))
			return syntax(c, e);
		for (auto sr : sa) {
			if (auto e = sr.error())
				return syntax(c, e);
			ondemand::object so;
			found sf[3];
			msgpack_object scv;
			const msgpack_object *sp;
			if (open_keys(c, sr.value_unsafe(), so, skeys, sf) < 0)
				return c.rc;
			if (!total) {
				if (keep_field(c, so, sf[0].idx >= 0 ? sf[0].idx : sf[1].idx, 6, ev, &scv, &sp) < 0)
					return c.rc;
				ev->otlp_scope(ev->ctx, sp);
			}
			if (sf[2].idx >= 0 && sf[2].arr) {
				ondemand::value ev2;
				ondemand::array ea;
				if (field_at(c, so, sf[2].idx, ev2) < 0)
					return c.rc;
				if (auto e = ev2.get_array().get(ea))
					return syntax(c, e);
				if (total) {
					size_t n;
					if (auto e = ea.count_elements().get(n))
						return syntax(c, e);
					*total += n;
				} else if (otlp_elements(c, ea, logs, i, j, ev) < 0) {
					return c.rc;
				}
			}
			j++;
		}
		i++;
	}
	return 0;
}

/* A scope's elements, each built in the zone, handed over and dropped. */
int otlp_elements(conv_ctx &c, ondemand::array &ea, int logs, uint32_t i, uint32_t j,
    const tt_json_elems *ev)
{
	size_t kept = c.nodes;
	uint32_t k = 0;

	for (auto er : ea) {
		if (auto e = er.error())
			return syntax(c, e);
		msgpack_object o;
		c.nodes = 0;
		c.over = false;
		c.p->vals.clear();
		c.p->kvs.clear();
		msgpack_zone_clear(c.z);
		if (conv(c, er.value_unsafe(), 7, dest{0, 0, &o}) < 0 && !c.over)
			return c.rc;
		if (int e = ev->otlp_element(ev->ctx, logs, i, j, k++, c.over ? nullptr : &o); e < 0)
			return fail(c, e, nullptr);
	}
	c.over = false;
	c.nodes = kept;
	return 0;
}

/* The root field named key, if it is an array (doc rewound first). */
int root_array(conv_ctx &c, ondemand::document &doc, const char *key, ondemand::value &out,
    bool *found_it)
{
	ondemand::object obj;
	found f;

	*found_it = false;
	doc.rewind();
	if (auto e = doc.get_object().get(obj))
		return syntax(c, e);
	if (scan_keys(c, obj, &key, 1, &f) < 0)
		return c.rc;
	if (f.idx < 0 || !f.arr)
		return 0;
	*found_it = true;
	return field_at(c, obj, f.idx, out);
}

int otlp_stream(conv_ctx &c, ondemand::document &doc, const tt_json_elems *ev)
{
	c.max_nodes = ev->max_nodes;
	for (int logs = 0; logs < 2; logs++) {
		ondemand::value top;
		bool present;
		size_t total = 0;
		if (root_array(c, doc, otlp_keys[logs][0], top, &present) < 0)
			return c.rc;
		if (!present)
			continue;
		if (otlp_walk(c, top, logs, ev, &total) < 0)
			return c.rc;
		if (total > ev->max_elems) {
			snprintf(c.msg, sizeof c.msg, "export of %zu elements exceeds the limit of %zu",
			    total, ev->max_elems);
			c.field = otlp_keys[logs][0];
			return fail(c, TT_ETOOBIG, c.msg);
		}
		if (root_array(c, doc, otlp_keys[logs][0], top, &present) < 0 ||
		    otlp_walk(c, top, logs, ev, nullptr) < 0)
			return c.rc;
	}
	/* to the end of the document, for the trailing-content check */
	ondemand::object obj;
	doc.rewind();
	if (auto e = doc.get_object().get(obj))
		return syntax(c, e);
	for (auto fr : obj)
		if (auto e = fr.error())
			return syntax(c, e);
	return 0;
}

/* A root object: built as a tree (a record), unless one of its keys can make
 * it a batch envelope or an OTLP export. Then its keys are read first: a
 * batch array is streamed, an export built whole (its records are capped by
 * their count, not by the value cap of one record). */
int root_object(conv_ctx &c, ondemand::document &doc, const tt_json_elems *ev,
    msgpack_object *out, int *streamed)
{
	ondemand::value root;
	ondemand::object obj;
	tt_doc_shape shape;
	uint32_t i = 0;
	int rc;

	*streamed = 0;
	if (auto e = doc.get_value().get(root))
		return syntax(c, e);
	c.watch = true;
	rc = conv(c, root, 1, dest{0, 0, out});
	c.watch = false;
	if (rc != RESTART)
		return rc;
	c.nodes = 0;
	c.p->vals.clear();
	c.p->kvs.clear();
	msgpack_zone_clear(c.z);
	doc.rewind();
	tt_doc_shape_init(&shape);
	if (auto e = doc.get_object().get(obj))
		return syntax(c, e);
	for (auto fr : obj) {
		if (auto e = fr.error())
			return syntax(c, e);
		ondemand::field &f = fr.value_unsafe();
		std::string_view k;
		ondemand::json_type jt;
		if (auto e = f.unescaped_key().get(k))
			return syntax(c, e);
		if (auto e = f.value().type().get(jt))
			return syntax(c, e);
		tt_doc_shape_key(&shape, i++, k.data(), k.size(), jt == ondemand::json_type::array);
	}
	doc.rewind();
	if (auto e = doc.get_value().get(root))
		return syntax(c, e);
	if (tt_doc_shape_kind(&shape) == TT_DOC_OTLP && ev->otlp_resource) {
		*streamed = 1;
		return otlp_stream(c, doc, ev);
	}
	if (tt_doc_shape_kind(&shape) != TT_DOC_BATCH) {
		if (tt_doc_shape_kind(&shape) == TT_DOC_OTLP)
			c.max_nodes = SIZE_MAX;
		return conv(c, root, 1, dest{0, 0, out});
	}
	*streamed = 1;
	if (auto e = root.get_object().get(obj))
		return syntax(c, e);
	i = 0;
	for (auto fr : obj) {
		if (auto e = fr.error())
			return syntax(c, e);
		if (i++ != shape.batch)
			continue;
		ondemand::value v = fr.value_unsafe().value();
		if (stream(c, v, 3, ev) < 0)
			return c.rc;
	}
	return 0;
}

/* 0 and a tree in *out, 1 when streamed, <0 */
int parse(tt_json_parser *p, const char *text, size_t len, int max_depth,
    const tt_json_elems *ev, msgpack_zone *z, msgpack_object *out, int *depth,
    tt_rec_err *err)
{
	conv_ctx c{p, text, z, max_depth, 0, 0, nullptr, 0,
	    ev ? ev->max_nodes : SIZE_MAX, false, false, nullptr, {0}, false};
	ondemand::document doc;
	int streamed = 0, rc;

	p->vals.clear();
	p->kvs.clear();
	if (auto e = p->parser.iterate(padded_string_view(text, len, len + TT_JSON_PADDING)).get(doc)) {
		/* stage-1 errors have no token position; a document cut short
		 * (an unclosed string, object or array) ended at its last byte */
		set_err(err, cut_short(e) ? len : 0, error_message(e));
		return e == MEMALLOC ? -ENOMEM : TT_EBADREC;
	}
	ondemand::json_type t;
	if (auto e = doc.type().get(t)) {
		set_err(err, where(doc, text, len), error_message(e));
		return TT_EBADREC;
	}
	if (t != ondemand::json_type::object && t != ondemand::json_type::array) {
		set_err(err, where(doc, text, len), "expected an object or an array");
		return TT_EBADREC;
	}
	if (!ev) {
		ondemand::value root;
		if (auto e = doc.get_value().get(root)) {
			set_err(err, where(doc, text, len), error_message(e));
			return TT_EBADREC;
		}
		rc = conv(c, root, 1, dest{0, 0, out});
	} else if (t == ondemand::json_type::array) {
		ondemand::value root;
		if (auto e = doc.get_value().get(root)) {
			set_err(err, where(doc, text, len), error_message(e));
			return TT_EBADREC;
		}
		streamed = 1;
		rc = stream(c, root, 2, ev);
	} else {
		rc = root_object(c, doc, ev, out, &streamed);
	}
	if (rc < 0) {
		if (c.reason) { /* else the element callback filled err */
			set_err(err, c.cut ? len : where(doc, text, len), c.reason);
			if (c.field && err)
				snprintf(err->field, sizeof err->field, "%s", c.field);
		}
		return c.rc;
	}
	*depth = c.seen;
	const char *loc;
	if (!doc.current_location().get(loc)) {
		set_err(err, (size_t)(loc - text), "trailing content after the document");
		return TT_EBADREC;
	}
	return streamed;
}

} // namespace

extern "C" tt_json_parser *tt_json_parser_new(void)
{
	/* simdjson picks its implementation on first use, in a static initialiser
	 * that allocates; reached from its noexcept parser functions, a bad_alloc
	 * there is std::terminate. Make the first use here, where it can fail. */
	try {
		(void)simdjson::get_active_implementation()->name();
	} catch (...) {
		return nullptr;
	}
	return new (std::nothrow) tt_json_parser();
}

extern "C" void tt_json_parser_free(tt_json_parser *p)
{
	delete p;
}

extern "C" int tt_json_parse(tt_json_parser *p, const char *text, size_t len,
    int max_depth, const tt_json_elems *ev, msgpack_zone *z, msgpack_object *out,
    int *depth, tt_rec_err *err)
{
	try {
		return parse(p, text, len, max_depth, ev, z, out, depth, err);
	} catch (...) {
		/* std::vector growth is the only thing here that throws */
		set_err(err, 0, "out of memory");
		return -ENOMEM;
	}
}

extern "C" void tt_json_trim(tt_json_parser *p, size_t keep)
{
	/* simdjson grows its buffers to the largest document seen (about 6 bytes
	 * per byte) and the vectors to the widest container: give that back */
	if (p->parser.capacity() > keep && p->parser.allocate(keep) != SUCCESS)
		return; /* it keeps the old buffers */
	if (p->vals.capacity() * sizeof(msgpack_object) > keep)
		std::vector<msgpack_object>().swap(p->vals);
	if (p->kvs.capacity() * sizeof(msgpack_object_kv) > keep)
		std::vector<msgpack_object_kv>().swap(p->kvs);
}
