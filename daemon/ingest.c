/*
 * ingest.c -- the path from decoded records to acknowledgements.
 *
 * HTTP requests are decoded into a staged batch first (so a batch cap can
 * refuse a request before anything is stored), then appended in one go; the
 * request's last ticket goes into a FIFO of waiting acks. The writer's notify
 * fd wakes the loop after each group commit; every waiting ack whose ticket is
 * <= tt_writer_durable() is answered then. Tickets grow in append order and
 * acks are queued in append order, so the FIFO is sorted by ticket.
 *
 * A writer that fails (ENOSPC, EIO: libstore then discards what was not
 * durable) is retired at the next notify: acks up to its durable point are
 * sent, every other waiter gets the error (HTTP 507 for a full disk, else
 * 503), socket clients with unacknowledged messages get a fatal. The next
 * append opens a new writer (at most every REOPEN_MS while that fails), so
 * ingest resumes without a restart once the cause is gone, e.g. after tt-gc.
 * ttd's tickets are the writer's plus a base that grows past every ticket
 * handed out by retired writers, so they keep increasing across writers.
 *
 * Back-pressure: tt_writer_pending() above --max-pending makes new HTTP
 * ingest answer 503 + Retry-After; socket producers are slowed by the
 * writer's bounded queue (sock.c). A slow disk bounds memory instead of
 * growing queues.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ttd.h"

#define REOPEN_MS 250

struct waiter {
	uint64_t ticket;
	ttd_ack_fn fn; /* NULL once cancelled */
	void *ctx;
};

static struct waiter *wq;       /* ring buffer of waiting acks */
static size_t wq_head, wq_len, wq_cap;
static struct event *notify_ev;
static uint64_t ticket_base;    /* added to the current writer's tickets */
static uint64_t last_ticket;    /* highest ticket handed out */
static int down_err;            /* why there is no writer (g_ttd.writer NULL) */
static int64_t reopen_at;       /* monotonic ns of the next reopen attempt */

static void notify_cb(evutil_socket_t fd, short what, void *arg);

#define MAX_HOOKS 4
static struct { void (*fn)(void *); void *ctx; } hooks[MAX_HOOKS];
static int n_hooks;

/* ---- staged batches */

void
ttd_batch_reset(ttd_batch *b)
{
	b->recs.len = 0;
	b->n = 0;
	b->n_rejected = 0;
	b->n_rej_kept = 0;
	b->elements = 0;
}

void
ttd_batch_free(ttd_batch *b)
{
	tt_buf_free(&b->recs);
	free(b->off);
	free(b->rej);
	memset(b, 0, sizeof *b);
}

static int
batch_record(void *ctx, const uint8_t *rec, size_t len)
{
	ttd_batch *b = ctx;

	if (b->n == b->cap) {
		size_t nc = b->cap ? 2 * b->cap : 256;
		size_t *no = realloc(b->off, nc * sizeof *no);
		if (no == NULL)
			return -ENOMEM;
		b->off = no;
		b->cap = nc;
	}
	b->off[b->n++] = b->recs.len;
	return tt_buf_append(&b->recs, rec, len);
}

static void
batch_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	ttd_batch *b = ctx;

	b->n_rejected++;
	if (b->rej == NULL &&
	    (b->rej = calloc(TTD_REJECTS_KEPT, sizeof *b->rej)) == NULL)
		return;
	if (b->n_rej_kept < TTD_REJECTS_KEPT) {
		ttd_reject *r = &b->rej[b->n_rej_kept++];
		r->index = index;
		snprintf(r->field, sizeof r->field, "%s", err->field);
		snprintf(r->reason, sizeof r->reason, "%s", err->reason);
	}
}

static int
reject_cmp(const void *a, const void *b)
{
	const ttd_reject *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

/* Staged records become rejections when they have no correlation id (an
 * endpoint that needs one: TraceHub's /ingest). A record's element index is
 * the k-th index the decoder did not reject (JSON batches report their
 * rejections in element order, before the records). */
void
ttd_batch_require_corr(ttd_batch *b, const char *field, const char *reason)
{
	size_t e = 0, j = 0, kept = 0, at = 0, n_old_rej = b->n_rej_kept;

	for (size_t k = 0; k < b->n; k++) {
		size_t end = k + 1 < b->n ? b->off[k + 1] : b->recs.len;
		size_t len = end - b->off[k];
		const char *corr = NULL;
		size_t cn;
		int64_t ts;

		while (j < n_old_rej && b->rej[j].index <= e) {
			if (b->rej[j].index == e)
				e++;
			j++;
		}
		(void)tt_rec_ts_corr(b->recs.data + b->off[k], len, &ts, &corr, &cn);
		if (corr == NULL) {
			tt_rec_err err;
			memset(&err, 0, sizeof err);
			snprintf(err.field, sizeof err.field, "%s", field);
			snprintf(err.reason, sizeof err.reason, "%s", reason);
			batch_reject(b, e++, &err);
			continue;
		}
		e++;
		memmove(b->recs.data + at, b->recs.data + b->off[k], len);
		b->off[kept++] = at;
		at += len;
	}
	b->n = kept;
	b->recs.len = at;
	if (b->n_rej_kept > n_old_rej)
		qsort(b->rej, b->n_rej_kept, sizeof *b->rej, reject_cmp);
}

int
ttd_batch_json(ttd_batch *b, const char *text, size_t len, tt_rec_err *err)
{
	tt_sink sink = { batch_record, batch_reject, b };
	/* the HTTP layer hands bodies with TT_JSON_PADDING readable bytes */
	return tt_decode_json(g_ttd.dec, text, len, 1, ttd_now_ns(), &sink, err);
}

int
ttd_batch_otlp_proto(ttd_batch *b, const uint8_t *p, size_t n, int logs,
    tt_rec_err *err)
{
	tt_sink sink = { batch_record, batch_reject, b };
	return tt_decode_otlp_proto(g_ttd.dec, p, n, logs, ttd_now_ns(), &sink, err);
}

/* Every record ttd appends is a tt_sink record callback's bytes, passed on
 * unchanged (sock.c directly, HTTP through a staged batch): canonical by
 * the decoders' guarantee, so the writer's re-check is skipped. */
int64_t
ttd_append(const uint8_t *rec, size_t len)
{
	int64_t t;

	if (g_ttd.writer == NULL && ttd_writer_reopen() < 0)
		return down_err;
	t = tt_writer_append_decoded(g_ttd.writer, rec, len);
	if (t == TT_ECLOSED && tt_writer_error(g_ttd.writer))
		return tt_writer_error(g_ttd.writer); /* retired at the next notify */
	if (t < 0)
		return t;
	last_ticket = ticket_base + (uint64_t)t;
	return (int64_t)last_ticket;
}

/* ---- the writer: state, retiring a failed one, opening the next */

int
ttd_writer_error(void)
{
	return g_ttd.writer ? tt_writer_error(g_ttd.writer) : down_err;
}

uint64_t
ttd_durable(void)
{
	return ticket_base + (g_ttd.writer ? tt_writer_durable(g_ttd.writer) : 0);
}

size_t
ttd_writer_pending(void)
{
	return g_ttd.writer ? tt_writer_pending(g_ttd.writer) : 0;
}

int
ttd_store_status(int err)
{
	return err == -ENOSPC || err == -EDQUOT ? 507 : 503;
}

int
ttd_writer_reopen(void)
{
	int64_t now = ttd_mono_ns();
	tt_writer *w;
	int r;

	if (g_ttd.writer)
		return 0;
	if (g_ttd.stopping)
		return down_err = TT_ECLOSED;
	if (now < reopen_at)
		return down_err;
	reopen_at = now + (int64_t)REOPEN_MS * 1000000;
	if ((r = tt_writer_open(g_ttd.store, &w)) < 0) {
		log_warn("could not open a new writer: %s", tt_strerror(r));
		return down_err = r;
	}
	notify_ev = event_new(g_ttd.base, tt_writer_notify_fd(w), EV_READ | EV_PERSIST,
	    notify_cb, NULL);
	if (notify_ev == NULL || event_add(notify_ev, NULL) < 0) {
		if (notify_ev)
			event_free(notify_ev);
		notify_ev = NULL;
		(void)tt_writer_close(w, 0);
		return down_err = -ENOMEM;
	}
	g_ttd.writer = w;
	down_err = 0;
	log_info("writer reopened; ingest resumes");
	return 0;
}

/* Every waiter was answered: close the failed writer; the next append
 * opens another. */
static void
writer_retire(int err)
{
	if (notify_ev)
		event_free(notify_ev);
	notify_ev = NULL;
	(void)tt_writer_close(g_ttd.writer, 0);
	g_ttd.writer = NULL;
	ticket_base = last_ticket;
	down_err = err;
	reopen_at = 0;
}

int
ttd_batch_commit(ttd_batch *b, uint64_t *ticket)
{
	*ticket = 0;
	for (size_t i = 0; i < b->n; i++) {
		size_t end = i + 1 < b->n ? b->off[i + 1] : b->recs.len;
		int64_t t = ttd_append(b->recs.data + b->off[i], end - b->off[i]);
		if (t < 0)
			return (int)t;
		*ticket = (uint64_t)t;
	}
	return 0;
}

/* ---- waiting acks */

static void
wq_push(uint64_t ticket, ttd_ack_fn fn, void *ctx)
{
	if (wq_len == wq_cap) {
		size_t nc = wq_cap ? 2 * wq_cap : 64;
		struct waiter *n = malloc(nc * sizeof *n);
		if (n == NULL) {
			fn(ctx, -ENOMEM);
			return;
		}
		for (size_t i = 0; i < wq_len; i++)
			n[i] = wq[(wq_head + i) % wq_cap];
		free(wq);
		wq = n;
		wq_cap = nc;
		wq_head = 0;
	}
	wq[(wq_head + wq_len) % wq_cap] = (struct waiter){ ticket, fn, ctx };
	wq_len++;
}

void
ttd_ack_when_durable(uint64_t ticket, ttd_ack_fn fn, void *ctx)
{
	int err = ttd_writer_error();

	if (ticket == 0 || ticket <= ttd_durable()) {
		fn(ctx, 0);
		return;
	}
	if (err) {
		fn(ctx, err);
		return;
	}
	wq_push(ticket, fn, ctx);
}

void
ttd_ack_cancel(void *ctx)
{
	for (size_t i = 0; i < wq_len; i++) {
		struct waiter *w = &wq[(wq_head + i) % wq_cap];
		if (w->ctx == ctx)
			w->fn = NULL;
	}
}

/* Answer every waiter up to `durable`; with err != 0 answer all with err. */
static void
wq_release(uint64_t durable, int err)
{
	while (wq_len > 0) {
		struct waiter w = wq[wq_head];
		if (!err && w.ticket > durable)
			break;
		wq_head = (wq_head + 1) % wq_cap;
		wq_len--;
		if (w.fn)
			w.fn(w.ctx, err);
	}
}

void
ttd_on_commit(void (*fn)(void *), void *ctx)
{
	if (n_hooks < MAX_HOOKS) {
		hooks[n_hooks].fn = fn;
		hooks[n_hooks].ctx = ctx;
		n_hooks++;
	}
}

/* Acks for what is durable; hooks (sse, sock) see the same ttd_durable()
 * and ttd_writer_error(). A failed writer is answered for, then retired. */
static void
after_commit(void)
{
	int err = g_ttd.writer ? tt_writer_error(g_ttd.writer) : 0;

	wq_release(ttd_durable(), 0);
	if (err) {
		log_err("writer failed: %s; records not yet durable were not stored "
		    "and their senders told so; the next ingest opens a new writer",
		    tt_strerror(err));
		g_metrics.writer_failures++;
		wq_release(UINT64_MAX, err);
	}
	for (int i = 0; i < n_hooks; i++)
		hooks[i].fn(hooks[i].ctx);
	if (err && !g_ttd.stopping)
		writer_retire(err);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	tt_writer_notify_drain(g_ttd.writer);
	g_metrics.commits++;
	after_commit();
}

int
ttd_backpressure(void)
{
	return ttd_writer_pending() > g_ttd.cfg.max_pending;
}

int
ttd_ingest_init(void)
{
	int fd = tt_writer_notify_fd(g_ttd.writer);

	if (fd < 0)
		return fd;
	notify_ev = event_new(g_ttd.base, fd, EV_READ | EV_PERSIST, notify_cb, NULL);
	if (notify_ev == NULL || event_add(notify_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void
ttd_ingest_shutdown(void)
{
	int r = g_ttd.writer ? tt_writer_flush(g_ttd.writer) : 0;

	if (r < 0)
		log_err("flush at shutdown failed: %s", tt_strerror(r));
	after_commit();
	wq_release(UINT64_MAX, r < 0 ? r : 0);
}

void
ttd_ingest_fini(void)
{
	if (notify_ev)
		event_free(notify_ev);
	notify_ev = NULL;
	free(wq);
	wq = NULL;
	wq_len = wq_cap = wq_head = 0;
}
