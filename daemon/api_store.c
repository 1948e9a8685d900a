/*
 * api_store.c -- GET /api/store: what tt-stat and tt-gc --dry-run would say,
 * for the web UI's Store view.
 *
 * The totals are tt_store_stats_ex (distinct ids only with ?ids=1: counting
 * them walks every key of the index), the segments tt_store_segments, and
 * "what gc would delete now" a dry run of tt_store_gc under ttd's own
 * retention settings, or under ?max_age=DUR / ?max_size=SIZE instead. Nothing
 * is deleted here; DELETE /cleanup does that.
 */
#include <inttypes.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "ttd.h"


struct segs {
	tt_buf *b;
	size_t n;
	uint64_t bytes, records;
};

static void seg_json(tt_buf *b, const tt_seginfo *si)
{
	jw_fmt(b, "{\"id\":%" PRIu64 ",\"state\":\"%s\",\"held\":%s,\"created_ns\":%" PRId64
	    ",\"min_ts\":%" PRId64 ",\"max_ts\":%" PRId64 ",\"records\":%" PRIu64
	    ",\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"raw_bytes\":%" PRIu64
	    ",\"rewritten\":%s}",
	    si->id, si->state == TT_SEG_SEALED ? "sealed" : "active", si->held ? "true" : "false",
	    si->created_ns, si->min_ts, si->max_ts, si->records, si->blocks, si->bytes,
	    si->raw_bytes, si->rewritten ? "true" : "false");
}

static int on_seg(void *ctx, const tt_seginfo *si)
{
	struct segs *s = ctx;

	if (s->n++)
		jw_raw(s->b, ",");
	seg_json(s->b, si);
	s->bytes += si->bytes;
	s->records += si->records;
	return 0;
}

void
ttd_api_store(struct evhttp_request *req, const char *query)
{
	struct evkeyvalq q;
	const char *v;
	int64_t age = g_ttd.cfg.retention_ns;
	uint64_t size = g_ttd.cfg.max_size;
	int ids = 0, preview = 0, rc;
	tt_stats st;
	tt_gc_opts go;
	tt_buf b = { 0 };
	struct segs all = { &b, 0, 0, 0 }, gone = { &b, 0, 0, 0 };

	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		ttd_reply_error(req, 400, "malformed query string");
		return;
	}
	if ((v = evhttp_find_header(&q, "max_age")) && (tt_parse_duration(v, &age) < 0 || age < 0)) {
		ttd_reply_error(req, 400, "max_age: cannot parse duration '%s' (%s)", v, TT_DURATION_HELP);
		goto out;
	}
	if (v)
		preview = 1;
	if ((v = evhttp_find_header(&q, "max_size")) && tt_parse_size(v, &size) < 0) {
		ttd_reply_error(req, 400, "max_size: cannot parse size '%s'", v);
		goto out;
	}
	if (v)
		preview = 1;
	if ((v = evhttp_find_header(&q, "ids")) && strcmp(v, "0") && strcmp(v, "1")) {
		ttd_reply_error(req, 400, "ids must be 0 or 1");
		goto out;
	}
	ids = v && !strcmp(v, "1");
	if ((rc = tt_store_stats_ex(g_ttd.store, ids ? TT_STATS_IDS : 0, &st)) < 0) {
		ttd_reply_error(req, 500, "store: %s", tt_strerror(rc));
		goto out;
	}
	jw_raw(&b, "{\"store\":");
	jw_str(&b, g_ttd.cfg.store);
	jw_fmt(&b, ",\"format_version\":%u", st.format_version);
	jw_fmt(&b, ",\"segments\":%" PRIu64 ",\"sealed\":%" PRIu64 ",\"records\":%" PRIu64
	    ",\"blocks\":%" PRIu64 ",\"data_bytes\":%" PRIu64 ",\"raw_bytes\":%" PRIu64
	    ",\"index_bytes\":%" PRIu64 ",\"index_file_bytes\":%" PRIu64
	    ",\"id_entries\":%" PRIu64 ",\"rollup_rows\":%" PRIu64 ",\"rollup_bytes\":%" PRIu64
	    ",\"min_ts\":%" PRId64 ",\"max_ts\":%" PRId64,
	    st.segments, st.sealed, st.records, st.blocks, st.data_bytes, st.raw_bytes,
	    st.index_bytes, st.index_file_bytes, st.id_entries, st.rollup_rows, st.rollup_bytes,
	    st.min_ts, st.max_ts);
	if (ids)
		jw_fmt(&b, ",\"ids\":%" PRIu64, st.ids);
	jw_fmt(&b, ",\"ratio\":%.3f,\"bytes_per_record\":%.1f",
	    st.data_bytes ? (double)st.raw_bytes / (double)st.data_bytes : 0.0,
	    st.records ? (double)(st.data_bytes + st.index_bytes) / (double)st.records : 0.0);
	jw_fmt(&b, ",\"retention\":{\"max_age_ns\":%" PRId64 ",\"max_size\":%" PRIu64
	    ",\"gc_interval_ns\":%" PRId64 ",\"rollup_max_age_ns\":%" PRId64 "}",
	    g_ttd.cfg.retention_ns, g_ttd.cfg.max_size, g_ttd.cfg.gc_interval_ns,
	    g_ttd.cfg.rollup_retention_ns);
	jw_raw(&b, ",\"segment_list\":[");
	if ((rc = tt_store_segments(g_ttd.store, on_seg, &all)) < 0) {
		ttd_reply_error(req, 500, "store: %s", tt_strerror(rc));
		goto out;
	}
	/* what tt-gc --dry-run would delete under these rules */
	jw_fmt(&b, "],\"gc\":{\"preview\":%s,\"max_age_ns\":%" PRId64 ",\"max_size\":%" PRIu64
	    ",\"segments\":[", preview ? "true" : "false", age, size);
	if (age > 0 || size > 0) {
		memset(&go, 0, sizeof go);
		go.max_age_ns = age;
		go.max_bytes = size;
		go.forward_max_hold_ns = g_ttd.cfg.fwd_max_hold_ns;
		go.dry_run = 1;
		if ((rc = tt_store_gc(g_ttd.store, &go, on_seg, &gone)) < 0) {
			ttd_reply_error(req, 500, "gc dry run: %s", tt_strerror(rc));
			goto out;
		}
	}
	jw_fmt(&b, "],\"count\":%zu,\"bytes\":%" PRIu64 ",\"records\":%" PRIu64 "}}",
	    gone.n, gone.bytes, gone.records);
	ttd_reply_json(req, 200, &b);
out:
	tt_buf_free(&b);
	evhttp_clear_headers(&q);
}
