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

struct waiter {
	uint64_t ticket;
	ttd_ack_fn fn; /* NULL once cancelled */
	void *ctx;
};

static struct waiter *wq;       /* ring buffer of waiting acks */
static size_t wq_head, wq_len, wq_cap;
static struct event *notify_ev;

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
	return tt_writer_append_decoded(g_ttd.writer, rec, len);
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
	int err = tt_writer_error(g_ttd.writer);

	if (err) {
		fn(ctx, err);
		return;
	}
	if (ticket == 0 || ticket <= tt_writer_durable(g_ttd.writer)) {
		fn(ctx, 0);
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

static void
after_commit(void)
{
	int err = tt_writer_error(g_ttd.writer);

	if (err) {
		static int told;
		if (!told++)
			log_err("writer failed: %s; ingest refused from now on",
			    tt_strerror(err));
	}
	wq_release(tt_writer_durable(g_ttd.writer), err);
	for (int i = 0; i < n_hooks; i++)
		hooks[i].fn(hooks[i].ctx);
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
	return tt_writer_pending(g_ttd.writer) > g_ttd.cfg.max_pending;
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
	int r = tt_writer_flush(g_ttd.writer);

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
