/*
 * ttclient.c -- libttclient (ttclient.h): records packed as msgpack on the
 * caller's thread straight into that thread's buffer, a sender thread per
 * client that batches them, writes them to ttd's unix socket and reads ttd's
 * acknowledgements (FORMAT.md 11).
 *
 * The caller's path takes no lock and makes no allocation in the usual case
 * (bench/client.sh measures it): a span comes from a per-thread cache, its
 * record is written into the thread's chunk (tbuf, chunk) and published with
 * one release store; buffer bytes are taken from the client's budget 4 KiB
 * at a time (one atomic op), a full chunk is handed over with one store and
 * an eventfd write.
 *
 * Buffers: each thread's chunks hold records not yet copied out; `pend` the
 * records the sender copied out, not yet sent; `ub` the batches sent and not
 * yet acknowledged, in order. Their record bytes stay under buffer_bytes
 * (plus what each thread took and has not used yet, under 4 KiB); a record
 * that does not fit is dropped and counted, so the caller never waits. A
 * batch is kept until an ack covers it; after a reconnect every kept batch is
 * sent again (at least once: ttd may then store a record twice, as the socket
 * protocol says).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "ttclient.h"

#define SEND_TIMEOUT_S 5        /* a ttd that stops reading for this long is dropped */
#define RECONNECT_MAX_MS 1000   /* reconnect backoff cap */
#define CREDIT 4096             /* buffer bytes a thread takes from the client at a time */
#define SPARE_CHUNKS 4          /* copied-out chunks a thread keeps for reuse */
#define SPAN_CACHE 8            /* freed spans a thread keeps for its next ones */
#define IDLE_TICKS 20           /* flush intervals without records before the sender naps 1 s */

typedef struct batch {
	struct batch *next;
	char *data;
	size_t len, cap;
	uint32_t nrec;
	int sent;                /* some of it was written (on this or an earlier connection) */
	uint64_t msgno;          /* its number on the current connection */
} batch;

/* A thread's records go into its own chunks: the thread appends and publishes
 * each whole record with one release store of `head`; the sender copies what
 * is published, under the client's lock. A full chunk gets a successor
 * (`next`, written before `sealed`) and is freed by the sender once copied. */
typedef struct chunk {
	struct chunk *next;      /* owner: set before sealed */
	_Atomic uint64_t head;   /* owner: records << 32 | bytes of whole records */
	_Atomic int sealed;      /* owner: nothing more goes in */
	uint32_t taken, taken_n; /* sender (mu): bytes and records copied out */
	uint32_t cap;
	char data[];
} chunk;

/* One thread's buffer in one client (in c->tbufs, under mu). The owner's
 * counters have one writer; readers add them up under mu. */
typedef struct tbuf {
	struct tbuf *next;
	pthread_t owner;
	chunk *wr;               /* owner: the chunk written into */
	chunk *rd;               /* sender: the oldest chunk not yet copied out */
	_Atomic(chunk *) spare[SPARE_CHUNKS]; /* chunks copied out, given back for reuse:
	                         * no fresh pages (page faults) in the caller's path */
	uint32_t wr_len, wr_n;   /* owner: wr's head */
	int64_t credit;          /* owner: buffer bytes taken from c->room, not yet used */
	_Atomic uint64_t records, dropped, unsampled;
	int dead;                /* mu: the thread exited; freed once copied out */
} tbuf;

struct ttc_client {
	char *socket_path;
	char *service;
	char *svc_kv;            /* "service": <service>, packed once */
	size_t svc_kv_len;
	uint64_t id;             /* never reused: threads' caches check it */
	size_t buffer_bytes, batch_bytes, chunk_bytes;
	int64_t flush_ns;
	int sampler;
	double sample_param;
	double tokens;           /* rate sampler: token bucket */
	int64_t tokens_at;
	_Atomic int64_t room;    /* buffer bytes no thread holds and no record uses */

	pthread_mutex_t mu;      /* everything below */
	pthread_cond_t cv;       /* flushers wait here for acks */
	int wake_fd;             /* eventfd: wakes the sender */
	tbuf *tbufs;             /* every thread's buffer */
	char *pend;              /* records copied out of the threads' chunks, not yet sent */
	size_t pend_len, pend_cap;
	batch *spares;           /* acknowledged batches, their buffers kept for the next pend */
	int nspares;
	uint32_t pend_n;
	int pend_full;           /* the next records did not fit: send pend first */
	int64_t tick;            /* monotonic ns: what is pending goes by then */
	int idle;                /* flush intervals in a row without records */
	batch *ub, *ub_tail;     /* sent, not acknowledged */
	int flushers, stop, connected, ever_connected;
	pthread_t thr;
	int thr_running;
	int fd;                  /* the socket (sender thread; the atfork child closes it) */
	batch *snd;              /* sender: the first batch in ub not wholly written */
	size_t snd_off;          /* sender: its bytes written */
	int64_t snd_at;          /* sender: monotonic ns of the last write that made progress */
	int clock_fd;            /* sender: timerfd that reads ECANCELED when the clock is set */
	ttc_stats st;            /* plus the live threads' counters */
	struct ttc_client *next_all;
};

/* ---- clocks, ids */

static int64_t now_real(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int64_t now_mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Records' timestamps are CLOCK_MONOTONIC plus the offset to CLOCK_REALTIME:
 * one clock read per span end instead of two (a read costs ~40 ns under
 * kvm-clock), with the span's duration from the same monotonic reads. The
 * kernel keeps that offset constant until the clock is set (settimeofday,
 * an NTP step, a leap second; slewing moves both clocks alike); each
 * sender watches for that with a timerfd and measures the offset again.
 * Measured as the midpoint of the narrowest of a few monotonic brackets
 * around a realtime read: within ~10 ns of CLOCK_REALTIME, ns resolution. */
static _Atomic int64_t real_off;

static void real_off_measure(void)
{
	int64_t best = INT64_MAX, off = 0;

	for (int i = 0; i < 5; i++) {
		int64_t m1 = now_mono(), r = now_real(), m2 = now_mono();
		if (m2 - m1 < best)
			best = m2 - m1, off = r - m1 - (m2 - m1) / 2;
	}
	atomic_store(&real_off, off);
}

/* CLOCK_REALTIME of a monotonic reading */
static int64_t wall_of(int64_t mono)
{
	return mono + atomic_load_explicit(&real_off, memory_order_relaxed);
}

/* Thread-locals in the initial-exec model: a plain offset from the thread
 * pointer, not a __tls_get_addr call per access from libttclient.so (they
 * take ~150 bytes of the static TLS glibc keeps for such libraries). */
#define TLS __thread __attribute__((tls_model("initial-exec")))

static unsigned fork_gen;                 /* bumped in every child */
static TLS uint64_t rng_s[2];
static TLS unsigned rng_gen = UINT_MAX;

static uint64_t rnd64(void)
{
	uint64_t a, b;
	if (rng_gen != fork_gen) { /* per thread, and again in a forked child */
		if (getrandom(rng_s, sizeof rng_s, 0) != (ssize_t)sizeof rng_s) {
			rng_s[0] = (uint64_t)now_real() ^ (uint64_t)getpid() << 32;
			rng_s[1] = (uint64_t)now_mono() * 0x9e3779b97f4a7c15ULL;
		}
		rng_s[0] |= 1;
		rng_gen = fork_gen;
	}
	a = rng_s[0], b = rng_s[1]; /* xorshift128+ */
	rng_s[0] = b;
	a ^= a << 23;
	rng_s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
	return rng_s[1] + b;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = rnd64();
		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
		    s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 : -1; /* W3C: lowercase only */
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

int ttc_traceparent_parse(const char *s, ttc_ctx *out)
{
	uint8_t ver[1];

	if (!s || !out || strlen(s) < TTC_TRACEPARENT_LEN || s[2] != '-' || s[35] != '-' ||
	    s[52] != '-' || unhex(s, ver, 1) || ver[0] == 0xff ||
	    unhex(s + 3, out->trace_id, 16) || unhex(s + 36, out->span_id, 8) ||
	    unhex(s + 53, &out->flags, 1) || all_zero(out->trace_id, 16) || all_zero(out->span_id, 8) ||
	    (ver[0] == 0 && s[TTC_TRACEPARENT_LEN] != 0) ||
	    (ver[0] != 0 && s[TTC_TRACEPARENT_LEN] != 0 && s[TTC_TRACEPARENT_LEN] != '-'))
		return -EINVAL;
	return 0;
}

void ttc_traceparent_format(const ttc_ctx *ctx, char out[TTC_TRACEPARENT_LEN + 1])
{
	memcpy(out, "00-", 3);
	hex(ctx->trace_id, 16, out + 3);
	out[35] = '-';
	hex(ctx->span_id, 8, out + 36);
	out[52] = '-';
	hex(&ctx->flags, 1, out + 53);
}

void ttc_ctx_corr(const ttc_ctx *ctx, char out[33])
{
	hex(ctx->trace_id, 16, out);
}

/* pend starts with room for the batch's array header (array 32: 0xdd and a
 * big-endian count), so a batch is the pending buffer itself, taken over
 * under the lock without a copy. */
#define BATCH_HDR 5

#define SPARE_BATCHES 8         /* batch buffers kept for reuse (no mmap and munmap per batch) */

/* ---- the fork registry: every client, locked around fork() */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static ttc_client *reg_all;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;          /* its destructor runs at a thread's exit */
static _Atomic uint64_t client_ids;

/* What a thread keeps: its buffers in the clients it used last (checked by
 * the client's id and the fork generation) and spans for reuse. */
typedef struct tls_slot {
	uint64_t cid;
	unsigned gen;
	tbuf *t;
} tls_slot;
#define TLS_SLOTS 4
static TLS tls_slot tls_slots[TLS_SLOTS];
static TLS unsigned tls_next;
static TLS int tls_keyed;            /* thread_key is set: the destructor will run */
static void span_cache_free(void);

static void batches_free(batch *b)
{
	while (b) {
		batch *n = b->next;
		free(b->data);
		free(b);
		b = n;
	}
}

static void chunks_free(chunk *k)
{
	while (k) {
		chunk *n = k->next;
		free(k);
		k = n;
	}
}

static void tbuf_free(tbuf *t)
{
	chunks_free(t->rd);
	for (int i = 0; i < SPARE_CHUNKS; i++)
		free(atomic_load(&t->spare[i]));
	free(t);
}

static void tbufs_free(ttc_client *c)
{
	while (c->tbufs) {
		tbuf *t = c->tbufs;
		c->tbufs = t->next;
		tbuf_free(t);
	}
}

/* An acknowledged batch: its buffer is kept for a next one, or freed; mu held. */
static void batch_recycle(ttc_client *c, batch *b)
{
	if (c->nspares < SPARE_BATCHES) {
		b->next = c->spares;
		c->spares = b;
		c->nspares++;
	} else {
		free(b->data);
		free(b);
	}
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&reg_mu);
	for (ttc_client *c = reg_all; c; c = c->next_all)
		pthread_mutex_lock(&c->mu);
}

static void fork_parent(void)
{
	for (ttc_client *c = reg_all; c; c = c->next_all)
		pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&reg_mu);
}

/* In the child: no sender thread and no other thread; what was buffered is
 * the parent's to send; a new wake-up fd and, on first use, a new thread
 * and connection. The threads' slots go stale with fork_gen. */
static void fork_child(void)
{
	fork_gen++;
	for (ttc_client *c = reg_all; c; c = c->next_all) {
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cv, NULL);
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		if (c->clock_fd >= 0)
			close(c->clock_fd);
		c->clock_fd = -1;
		close(c->wake_fd);
		c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		batches_free(c->ub);
		c->ub = c->ub_tail = c->snd = NULL;
		tbufs_free(c);
		atomic_store(&c->room, (int64_t)c->buffer_bytes);
		c->pend_len = 0; /* the buffer stays, reused */
		c->pend_n = 0;
		c->pend_full = 0;
		c->thr_running = 0;
		c->connected = c->flushers = c->ever_connected = c->idle = 0;
		memset(&c->st, 0, sizeof c->st); /* the child's own counts */
	}
	pthread_mutex_init(&reg_mu, NULL);
}

/* A thread exits: its buffers are left for the senders to copy out and
 * free, its cached spans are freed. */
static void thread_exit(void *arg)
{
	pthread_t self = pthread_self();

	(void)arg;
	pthread_mutex_lock(&reg_mu);
	for (ttc_client *c = reg_all; c; c = c->next_all) {
		pthread_mutex_lock(&c->mu);
		for (tbuf *t = c->tbufs; t; t = t->next)
			if (pthread_equal(t->owner, self))
				t->dead = 1;
		pthread_mutex_unlock(&c->mu);
	}
	pthread_mutex_unlock(&reg_mu);
	memset(tls_slots, 0, sizeof tls_slots);
	span_cache_free();
}

static void reg_init(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
	(void)pthread_key_create(&thread_key, thread_exit);
}

static void thread_keyed(void)
{
	if (!tls_keyed && pthread_setspecific(thread_key, (void *)1) == 0)
		tls_keyed = 1;
}

/* ---- the sender thread */

static void wake(ttc_client *c)
{
	uint64_t one = 1;
	if (c->wake_fd >= 0)
		(void)!write(c->wake_fd, &one, sizeof one);
}

static int sock_connect(const char *path)
{
	struct sockaddr_un a;
	struct timeval tv = { SEND_TIMEOUT_S, 0 };
	int fd;

	if (strlen(path) >= sizeof a.sun_path)
		return -ENAMETOOLONG;
	memset(&a, 0, sizeof a);
	a.sun_family = AF_UNIX;
	strcpy(a.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Write what the socket takes now of the batches from c->snd on, so the
 * sender goes on copying records out of the threads' chunks (and giving
 * them back) while ttd is slow. <0: drop the connection (an error, or no
 * progress for SEND_TIMEOUT_S). */
static int send_some(ttc_client *c, int64_t now)
{
	while (c->snd) {
		batch *b = c->snd;
		ssize_t w = send(c->fd, b->data + c->snd_off, b->len - c->snd_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return now - c->snd_at > (int64_t)SEND_TIMEOUT_S * 1000000000 ? -1 : 0;
		if (w <= 0)
			return -1;
		c->snd_at = now;
		b->sent = 1;
		if ((c->snd_off += (size_t)w) == b->len)
			c->snd = b->next, c->snd_off = 0;
	}
	return 0;
}

static void disconnect(ttc_client *c, msgpack_unpacker *up)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->snd = NULL;
	msgpack_unpacker_reset(up);
	pthread_mutex_lock(&c->mu);
	c->connected = 0;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static const msgpack_object *map_get(const msgpack_object *m, const char *k)
{
	size_t kn = strlen(k);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == kn &&
		    memcmp(kv->key.via.str.ptr, k, kn) == 0)
			return &kv->val;
	}
	return NULL;
}

/* One message from ttd. <0: drop the connection. */
static int on_reply(ttc_client *c, const msgpack_object *o)
{
	const msgpack_object *v;

	if (o->type != MSGPACK_OBJECT_MAP)
		return -1;
	if ((v = map_get(o, "ack")) && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		pthread_mutex_lock(&c->mu);
		while (c->ub && c->ub->msgno <= v->via.u64) {
			batch *b = c->ub;
			c->ub = b->next;
			if (!c->ub)
				c->ub_tail = NULL;
			atomic_fetch_add(&c->room, (int64_t)(b->len - BATCH_HDR)); /* its bytes are free */
			c->st.acked += b->nrec;
			batch_recycle(c, b);
		}
		pthread_cond_broadcast(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	if (map_get(o, "error")) {
		pthread_mutex_lock(&c->mu);
		c->st.rejected++;
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	return map_get(o, "fatal") ? -1 : 0;
}

/* A chunk copied out goes back to its thread, if the thread has no spare. */
static void chunk_recycle(ttc_client *c, tbuf *t, chunk *k)
{
	if (k->cap == c->chunk_bytes && !t->dead)
		for (int i = 0; i < SPARE_CHUNKS; i++) {
			chunk *none = NULL;
			if (atomic_compare_exchange_strong_explicit(&t->spare[i], &none, k,
			        memory_order_release, memory_order_relaxed))
				return;
		}
	free(k);
}

/* Take the pending records as one batch (an array message); mu held. */
static batch *take_batch(ttc_client *c)
{
	batch *b = malloc(sizeof *b);

	if (!b)
		return NULL;
	c->pend[0] = (char)0xdd;
	c->pend[1] = (char)(c->pend_n >> 24), c->pend[2] = (char)(c->pend_n >> 16);
	c->pend[3] = (char)(c->pend_n >> 8), c->pend[4] = (char)c->pend_n;
	b->data = c->pend;
	b->len = c->pend_len;
	b->cap = c->pend_cap;
	b->nrec = c->pend_n;
	b->sent = 0;
	b->next = NULL;
	c->pend = NULL;
	c->pend_len = c->pend_cap = 0;
	c->pend_n = 0;
	c->pend_full = 0;
	if (c->ub_tail)
		c->ub_tail->next = b;
	else
		c->ub = b;
	c->ub_tail = b;
	return b;
}

/* Copy what the threads published into pend, up to about a batch; free the
 * chunks copied out and the buffers of threads that exited. mu held.
 * Returns 1 when something was copied. */
static int collect(ttc_client *c)
{
	int got = 0;

	for (tbuf **pp = &c->tbufs; *pp && !c->pend_full;) {
		tbuf *t = *pp;
		for (chunk *k = t->rd; k;) {
			int sealed = atomic_load_explicit(&k->sealed, memory_order_acquire);
			uint64_t h = atomic_load_explicit(&k->head, memory_order_acquire);
			uint32_t len = (uint32_t)h, n = (uint32_t)(h >> 32);
			if (len > k->taken) {
				size_t need;
				if (!c->pend && c->spares) {
					batch *sp = c->spares;
					c->spares = sp->next;
					c->nspares--;
					c->pend = sp->data, c->pend_cap = sp->cap;
					free(sp);
				}
				need = (c->pend_n ? c->pend_len : BATCH_HDR) + len - k->taken;
				if (need > c->pend_cap && c->pend_n) {
					c->pend_full = 1; /* a batch is due; the rest stays for the next */
					break;
				}
				if (need > c->pend_cap) {
					/* a batch's size (under malloc's mmap threshold: no munmap
					 * per batch), or one chunk made for a big record */
					size_t nc = BATCH_HDR + c->batch_bytes;
					char *np;
					while (nc < need)
						nc *= 2;
					if (!(np = realloc(c->pend, nc)))
						break; /* stays in the chunk: tried again next time */
					c->pend = np, c->pend_cap = nc;
				}
				if (!c->pend_n)
					c->pend_len = BATCH_HDR;
				memcpy(c->pend + c->pend_len, k->data + k->taken, len - k->taken);
				c->pend_len += len - k->taken;
				c->pend_n += n - k->taken_n;
				k->taken = len, k->taken_n = n;
				got = 1;
			}
			if (!sealed)
				break;
			t->rd = k->next; /* sealed: k->next is set, and k is all copied */
			chunk_recycle(c, t, k);
			k = t->rd;
		}
		if (t->dead && t->rd && !atomic_load(&t->rd->sealed) &&
		    (uint32_t)atomic_load(&t->rd->head) == t->rd->taken) {
			*pp = t->next;
			c->st.records += atomic_load(&t->records);
			c->st.dropped += atomic_load(&t->dropped);
			c->st.unsampled += atomic_load(&t->unsampled);
			atomic_fetch_add(&c->room, t->credit);
			tbuf_free(t);
			continue;
		}
		pp = &t->next;
	}
	return got;
}

/* Whether a thread has published records not yet copied out; mu held. */
static int tbufs_pending(ttc_client *c)
{
	for (tbuf *t = c->tbufs; t; t = t->next)
		if (t->rd && (atomic_load(&t->rd->sealed) ||
		        (uint32_t)atomic_load(&t->rd->head) != t->rd->taken))
			return 1;
	return 0;
}

/* Arm c's clock_fd (made on first use); -1 when timerfd is not there. */
static void clock_watch(ttc_client *c)
{
	struct itimerspec far = { { 0, 0 }, { time(NULL) + 100 * 366 * 86400L, 0 } }; /* never fires */

	if (c->clock_fd < 0)
		c->clock_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->clock_fd >= 0 &&
	    timerfd_settime(c->clock_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &far, NULL) < 0) {
		close(c->clock_fd);
		c->clock_fd = -1;
	}
}

/* The clock was set (clock_fd readable): measure the offset again, re-arm. */
static void clock_check(ttc_client *c, short revents)
{
	uint64_t x;

	if (!(revents & POLLIN) || read(c->clock_fd, &x, sizeof x) >= 0 || errno != ECANCELED)
		return;
	real_off_measure();
	clock_watch(c);
}

static void *sender(void *arg)
{
	ttc_client *c = arg;
	msgpack_unpacker up;
	msgpack_unpacked res;
	uint64_t msgno = 0;
	int backoff_ms = 10;

	if (!msgpack_unpacker_init(&up, 4096))
		return NULL;
	msgpack_unpacked_init(&res);
	clock_watch(c);
	for (;;) {
		struct pollfd pf[3];
		int64_t timeout_ms, now;
		batch *send_b = NULL;
		int more = 0;

		pthread_mutex_lock(&c->mu);
		if (c->stop == 2 || (c->stop && !c->pend_n && !c->ub && !tbufs_pending(c))) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		pthread_mutex_unlock(&c->mu);
		if (c->fd < 0) {
			int fd = sock_connect(c->socket_path);
			if (fd >= 0) {
				c->fd = fd;
				msgno = 0;
				backoff_ms = 10;
				pthread_mutex_lock(&c->mu);
				c->connected = c->ever_connected = 1;
				c->st.connects++;
				/* everything unacknowledged goes again, in order */
				for (batch *b = c->ub; b; b = b->next) {
					b->msgno = ++msgno;
					c->st.resent += b->sent; /* taken while disconnected: not resent */
				}
				pthread_mutex_unlock(&c->mu);
				c->snd = c->ub, c->snd_off = 0, c->snd_at = now_mono();
			} else {
				pthread_mutex_lock(&c->mu);
				pthread_cond_broadcast(&c->cv); /* flushers learn it failed */
				/* the threads' chunks are copied out and given back all the
				 * same (numbered when a connection is made) */
				collect(c);
				if (c->pend_n && (c->pend_full || c->pend_len >= c->batch_bytes))
					(void)take_batch(c);
				pthread_mutex_unlock(&c->mu);
				pf[0].fd = c->wake_fd;
				pf[0].events = POLLIN;
				pf[1].fd = c->clock_fd;
				pf[1].events = POLLIN;
				(void)poll(pf, 2, backoff_ms);
				clock_check(c, pf[1].revents);
				if (pf[0].revents & POLLIN) {
					uint64_t x;
					(void)!read(c->wake_fd, &x, sizeof x);
				}
				if ((backoff_ms *= 2) > RECONNECT_MAX_MS)
					backoff_ms = RECONNECT_MAX_MS;
				continue;
			}
		}
		/* a batch is due when big enough, at each flush interval, or asked for */
		now = now_mono();
		pthread_mutex_lock(&c->mu);
		c->idle = collect(c) || c->pend_n ? 0 : c->idle + 1;
		if (c->pend_n && (c->pend_full || c->pend_len >= c->batch_bytes || now >= c->tick ||
		        c->flushers || c->stop)) {
			if ((send_b = take_batch(c)) != NULL) {
				send_b->msgno = ++msgno;
				if (!c->snd)
					c->snd = send_b, c->snd_off = 0, c->snd_at = now;
			}
			more = tbufs_pending(c); /* a batch's worth was copied: go on */
		}
		if (now >= c->tick)
			c->tick = now + c->flush_ns;
		timeout_ms = more ? 0 : c->idle > IDLE_TICKS && !c->flushers ? 1000 :
		    (c->tick - now) / 1000000 + 1;
		pthread_mutex_unlock(&c->mu);
		if (send_some(c, now) < 0) {
			disconnect(c, &up);
			continue;
		}
		if (c->snd && timeout_ms > 1000)
			timeout_ms = 1000; /* the send timeout is checked at least each second */
		pf[0].fd = c->fd;
		pf[0].events = POLLIN | (c->snd ? POLLOUT : 0);
		pf[1].fd = c->wake_fd;
		pf[1].events = POLLIN;
		pf[2].fd = c->clock_fd;
		pf[2].events = POLLIN;
		if (poll(pf, 3, (int)timeout_ms) <= 0)
			continue;
		clock_check(c, pf[2].revents);
		if (pf[1].revents & POLLIN) {
			uint64_t x;
			(void)!read(c->wake_fd, &x, sizeof x);
		}
		if ((pf[0].revents & POLLOUT) && send_some(c, now_mono()) < 0) {
			disconnect(c, &up);
			continue;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r;
			if (!msgpack_unpacker_reserve_buffer(&up, 4096)) {
				disconnect(c, &up);
				continue;
			}
			r = recv(c->fd, msgpack_unpacker_buffer(&up), msgpack_unpacker_buffer_capacity(&up), 0);
			if (r <= 0) {
				disconnect(c, &up); /* ttd went away: reconnect, resend */
				continue;
			}
			msgpack_unpacker_buffer_consumed(&up, (size_t)r);
			for (;;) {
				msgpack_unpack_return ur = msgpack_unpacker_next(&up, &res);
				if (ur == MSGPACK_UNPACK_CONTINUE)
					break;
				if (ur != MSGPACK_UNPACK_SUCCESS || on_reply(c, &res.data) < 0) {
					disconnect(c, &up);
					break;
				}
			}
		}
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->clock_fd >= 0)
		close(c->clock_fd);
	c->clock_fd = -1;
	msgpack_unpacked_destroy(&res);
	msgpack_unpacker_destroy(&up);
	return NULL;
}

/* Start the sender if this process has none (first use, or after fork). */
static int ensure_thread(ttc_client *c)
{
	if (c->thr_running)
		return 0;
	if (pthread_create(&c->thr, NULL, sender, c) != 0)
		return -EAGAIN;
	c->thr_running = 1;
	return 0;
}

/* ---- msgpack, written straight into a buffer the caller sized: each
 * helper takes the write position and returns the next. Same encodings as
 * msgpack-c (smallest form for strings and integers). */

#define MP_STR_MAX(n) ((size_t)(n) + 5)   /* a string of n bytes at most takes */
#define MP_INT_MAX 9
#define MP_MAP_MAX 5                      /* a map or array header */

static char *mp_be(char *o, uint8_t tag, uint64_t v, int bytes)
{
	uint16_t v2;
	uint32_t v4;

	*o++ = (char)tag;
	switch (bytes) {
	case 1: *o = (char)v; break;
	case 2: v2 = __builtin_bswap16((uint16_t)v); memcpy(o, &v2, 2); break;
	case 4: v4 = __builtin_bswap32((uint32_t)v); memcpy(o, &v4, 4); break;
	default: v = __builtin_bswap64(v); memcpy(o, &v, 8); break;
	}
	return o + bytes;
}

static char *mp_str_hdr(char *o, size_t n)
{
	if (n < 32) {
		*o++ = (char)(0xa0 | n);
		return o;
	}
	return n < 256 ? mp_be(o, 0xd9, n, 1) : n < 65536 ? mp_be(o, 0xda, n, 2) :
	    mp_be(o, 0xdb, n, 4);
}

static char *mp_strn(char *o, const char *s, size_t n)
{
	o = mp_str_hdr(o, n);
	memcpy(o, s, n);
	return o + n;
}

/* A string literal (a key): its length is known when compiling. */
#define MP_LIT(o, lit) mp_strn((o), (lit), sizeof(lit) - 1)

static char *mp_map_hdr(char *o, uint32_t n, uint8_t fix, uint8_t tag16)
{
	if (n < 16) {
		*o++ = (char)(fix | n);
		return o;
	}
	return n < 65536 ? mp_be(o, tag16, n, 2) : mp_be(o, (uint8_t)(tag16 + 1), n, 4);
}
#define MP_MAP(o, n) mp_map_hdr((o), (n), 0x80, 0xde)
#define MP_ARRAY(o, n) mp_map_hdr((o), (n), 0x90, 0xdc)

static char *mp_int(char *o, int64_t v)
{
	if (v >= -32 && v < 128) {
		*o++ = (char)v;
		return o;
	}
	if (v > 0)
		return v < 256 ? mp_be(o, 0xcc, (uint64_t)v, 1) : v < 65536 ? mp_be(o, 0xcd, (uint64_t)v, 2) :
		    v < 4294967296LL ? mp_be(o, 0xce, (uint64_t)v, 4) : mp_be(o, 0xcf, (uint64_t)v, 8);
	return v >= -128 ? mp_be(o, 0xd0, (uint64_t)v, 1) : v >= -32768 ? mp_be(o, 0xd1, (uint64_t)v, 2) :
	    v >= INT32_MIN ? mp_be(o, 0xd2, (uint64_t)v, 4) : mp_be(o, 0xd3, (uint64_t)v, 8);
}

static char *mp_double(char *o, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	return mp_be(o, 0xcb, u, 8);
}

/* "key": "value" */
static char *mp_kv(char *o, const char *k, size_t kn, const char *v, size_t vn)
{
	return mp_strn(mp_strn(o, k, kn), v, vn);
}
#define MP_KV(o, lit, v, vn) mp_kv((o), (lit), sizeof(lit) - 1, (v), (vn))

/* Two lowercase hex digits per byte value: one load per byte of an id. */
#define HX4(h) #h "0", #h "1", #h "2", #h "3", #h "4", #h "5", #h "6", #h "7", \
	#h "8", #h "9", #h "a", #h "b", #h "c", #h "d", #h "e", #h "f"
static const char hex2[256][2] = {
	HX4(0), HX4(1), HX4(2), HX4(3), HX4(4), HX4(5), HX4(6), HX4(7),
	HX4(8), HX4(9), HX4(a), HX4(b), HX4(c), HX4(d), HX4(e), HX4(f)
};

/* "key": 32 or 16 hex digits of an id */
static char *mp_hex(char *o, const char *k, size_t kn, const uint8_t *id, size_t n)
{
	o = mp_str_hdr(mp_strn(o, k, kn), 2 * n);
	for (size_t i = 0; i < n; i++, o += 2)
		memcpy(o, hex2[id[i]], 2);
	return o;
}
#define MP_HEX(o, lit, id, n) mp_hex((o), (lit), sizeof(lit) - 1, (id), (n))

/* A growable buffer that starts inside its owner (a span): most fit, so
 * attributes cost no allocation. */
typedef struct mbuf {
	char *p;
	uint32_t len, cap;
} mbuf;

/* Room for `need` more bytes, or NULL when memory runs out. */
static char *mbuf_room(mbuf *b, char *inl, size_t need)
{
	if (b->len + need > b->cap) {
		size_t nc = b->cap ? 2 * (size_t)b->cap : 256;
		char *np;
		while (nc < b->len + need)
			nc *= 2;
		if (nc > UINT32_MAX)
			return NULL;
		if (b->p == inl || !b->p) {
			if (!(np = malloc(nc)))
				return NULL;
			if (b->len)
				memcpy(np, b->p, b->len);
		} else if (!(np = realloc(b->p, nc))) {
			return NULL;
		}
		b->p = np, b->cap = (uint32_t)nc;
	}
	return b->p + b->len;
}

static void mbuf_free(mbuf *b, char *inl)
{
	if (b->p != inl)
		free(b->p);
}

/* ---- a thread's buffer: records are written straight into its chunk */

static chunk *chunk_new(tbuf *t, size_t cap)
{
	chunk *k = NULL;

	for (int i = 0; t && !k && i < SPARE_CHUNKS; i++)
		if (atomic_load_explicit(&t->spare[i], memory_order_relaxed))
			k = atomic_exchange_explicit(&t->spare[i], NULL, memory_order_acquire);

	if (k && k->cap < cap) {
		free(k);
		k = NULL;
	}
	if (!k) {
		if (!(k = malloc(sizeof *k + cap)))
			return NULL;
		k->cap = (uint32_t)cap;
	}
	k->next = NULL;
	atomic_store_explicit(&k->head, 0, memory_order_relaxed);
	atomic_store_explicit(&k->sealed, 0, memory_order_relaxed);
	k->taken = k->taken_n = 0;
	return k;
}

/* The calling thread's buffer in c, made on first use (and again after
 * fork); NULL when memory or the sender thread cannot be had. */
static tbuf *tbuf_find(ttc_client *c)
{
	tbuf *t = NULL;
	pthread_t self = pthread_self();
	tls_slot *sl;

	pthread_mutex_lock(&c->mu);
	for (t = c->tbufs; t; t = t->next)
		if (!t->dead && pthread_equal(t->owner, self))
			break;
	if (!t && ensure_thread(c) == 0 && (t = calloc(1, sizeof *t)) != NULL) {
		if (!(t->wr = t->rd = chunk_new(NULL, c->chunk_bytes))) {
			free(t);
			t = NULL;
		} else {
			t->owner = self;
			t->next = c->tbufs;
			c->tbufs = t;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (t) {
		thread_keyed();
		sl = &tls_slots[tls_next++ % TLS_SLOTS];
		sl->cid = c->id, sl->gen = fork_gen, sl->t = t;
	}
	return t;
}

static inline tbuf *tbuf_get(ttc_client *c)
{
	for (int i = 0; i < TLS_SLOTS; i++)
		if (tls_slots[i].cid == c->id && tls_slots[i].gen == fork_gen)
			return tls_slots[i].t;
	return tbuf_find(c);
}

static void count(_Atomic uint64_t *n)
{
	atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
	    memory_order_relaxed); /* one writer: no locked instruction */
}

/* Room in the calling thread's chunk for a record of at most max bytes, or
 * NULL: the record is dropped (and counted). */
static char *rec_open(ttc_client *c, tbuf **tp, size_t max)
{
	tbuf *t = *tp = tbuf_get(c);
	chunk *k;

	if (!t) {
		pthread_mutex_lock(&c->mu);
		c->st.dropped++;
		pthread_mutex_unlock(&c->mu);
		return NULL;
	}
	if (t->credit < (int64_t)max) { /* take buffer bytes, CREDIT at a time */
		int64_t want = (int64_t)max - t->credit, grab = want < CREDIT ? CREDIT : want;
		int64_t r = atomic_load_explicit(&c->room, memory_order_relaxed), g;
		do {
			g = r >= grab ? grab : r >= want ? want : 0;
			if (!g) {
				count(&t->dropped);
				return NULL;
			}
		} while (!atomic_compare_exchange_weak(&c->room, &r, r - g));
		t->credit += g;
	}
	k = t->wr;
	if (k->cap - t->wr_len < max) { /* full: a new chunk, and the sender is told */
		chunk *nk = chunk_new(t, max > c->chunk_bytes ? max : c->chunk_bytes);
		if (!nk) {
			count(&t->dropped);
			return NULL;
		}
		k->next = nk;
		atomic_store_explicit(&k->sealed, 1, memory_order_release);
		t->wr = k = nk;
		t->wr_len = t->wr_n = 0;
		wake(c);
	}
	return k->data + t->wr_len;
}

/* The record written from rec_open's pointer up to end is published. */
static void rec_close(tbuf *t, const char *end)
{
	uint32_t n = (uint32_t)(end - (t->wr->data + t->wr_len));

	t->wr_len += n;
	t->wr_n++;
	t->credit -= n;
	atomic_store_explicit(&t->wr->head, (uint64_t)t->wr_n << 32 | t->wr_len,
	    memory_order_release);
	count(&t->records);
}

/* ---- open, flush, close */

static char *default_socket(void)
{
	const char *e = getenv("TERATRACE_SOCKET"), *home;
	char buf[4200];

	if (e && *e)
		return strdup(e);
	if ((e = getenv("TERATRACE_STORE")) && *e)
		snprintf(buf, sizeof buf, "%s/ttd.sock", e);
	else if ((e = getenv("XDG_DATA_HOME")) && *e)
		snprintf(buf, sizeof buf, "%s/teratrace/ttd.sock", e);
	else
		snprintf(buf, sizeof buf, "%s/.local/share/teratrace/ttd.sock",
		    (home = getenv("HOME")) ? home : "");
	return strdup(buf);
}

int ttc_open(ttc_client **out, const ttc_opts *o)
{
	ttc_client *c;
	ttc_opts d;
	extern char *program_invocation_short_name;
	size_t sn;

	*out = NULL;
	memset(&d, 0, sizeof d);
	if (!o)
		o = &d;
	if (o->sampler < TTC_SAMPLE_ALL || o->sampler > TTC_SAMPLE_RATE ||
	    (o->sampler == TTC_SAMPLE_PROB && (o->sample_param < 0 || o->sample_param > 1)) ||
	    o->sample_param < 0 || isnan(o->sample_param))
		return -EINVAL;
	pthread_once(&reg_once, reg_init);
	real_off_measure();
	if (!(c = calloc(1, sizeof *c)))
		return -ENOMEM;
	c->fd = c->clock_fd = -1;
	c->id = atomic_fetch_add(&client_ids, 1) + 1;
	c->socket_path = o->socket ? strdup(o->socket) : default_socket();
	c->service = strdup(o->service ? o->service : program_invocation_short_name);
	c->buffer_bytes = o->buffer_bytes ? o->buffer_bytes : 8u << 20;
	c->batch_bytes = o->batch_bytes ? o->batch_bytes : 64u << 10;
	/* a chunk per thread: a batch, but no more than a quarter of the buffer */
	c->chunk_bytes = c->batch_bytes < c->buffer_bytes / 4 ? c->batch_bytes : c->buffer_bytes / 4;
	if (c->chunk_bytes < 4096)
		c->chunk_bytes = 4096;
	if (c->chunk_bytes > 1u << 20)
		c->chunk_bytes = 1u << 20;
	atomic_init(&c->room, (int64_t)c->buffer_bytes);
	c->flush_ns = (int64_t)(o->flush_ms ? o->flush_ms : 50) * 1000000;
	c->sampler = o->sampler;
	c->sample_param = o->sampler == TTC_SAMPLE_ALL ? 1 : o->sample_param;
	c->tokens = c->sample_param;
	c->tokens_at = now_mono();
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->service && (sn = strlen(c->service)) < UINT32_MAX &&
	    (c->svc_kv = malloc(MP_STR_MAX(7) + MP_STR_MAX(sn))) != NULL)
		c->svc_kv_len = (size_t)(MP_KV(c->svc_kv, "service", c->service, sn) - c->svc_kv);
	if (!c->socket_path || !c->svc_kv || c->wake_fd < 0) {
		free(c->socket_path);
		free(c->service);
		free(c->svc_kv);
		if (c->wake_fd >= 0)
			close(c->wake_fd);
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_mutex_lock(&reg_mu);
	pthread_mutex_lock(&c->mu);
	if (ensure_thread(c) < 0) {
		pthread_mutex_unlock(&c->mu);
		pthread_mutex_unlock(&reg_mu);
		ttc_close(c);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&c->mu);
	c->next_all = reg_all;
	reg_all = c;
	pthread_mutex_unlock(&reg_mu);
	*out = c;
	return 0;
}

int ttc_flush(ttc_client *c, int timeout_ms)
{
	struct timespec dl;
	int rc = 0;

	if (!c)
		return 0;
	clock_gettime(CLOCK_REALTIME, &dl);
	if (timeout_ms >= 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&c->mu);
	if ((rc = ensure_thread(c)) == 0) {
		c->flushers++; /* the sender sends what it finds at once */
		wake(c);
		while (c->pend_n || c->ub || tbufs_pending(c)) {
			if (timeout_ms < 0)
				pthread_cond_wait(&c->cv, &c->mu);
			else if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT) {
				rc = c->connected ? -ETIMEDOUT : -ENOTCONN;
				break;
			}
		}
		c->flushers--;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void ttc_close(ttc_client *c)
{
	if (!c)
		return;
	(void)ttc_flush(c, 2000);
	pthread_mutex_lock(&reg_mu);
	for (ttc_client **pp = &reg_all; *pp; pp = &(*pp)->next_all)
		if (*pp == c) {
			*pp = c->next_all;
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	pthread_mutex_lock(&c->mu);
	c->stop = 2;
	wake(c);
	pthread_mutex_unlock(&c->mu);
	if (c->thr_running)
		pthread_join(c->thr, NULL);
	batches_free(c->ub);
	tbufs_free(c);
	free(c->pend);
	batches_free(c->spares);
	free(c->socket_path);
	free(c->service);
	free(c->svc_kv);
	close(c->wake_fd);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

void ttc_stats_get(ttc_client *c, ttc_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	for (tbuf *t = c->tbufs; t; t = t->next) {
		st->records += atomic_load_explicit(&t->records, memory_order_relaxed);
		st->dropped += atomic_load_explicit(&t->dropped, memory_order_relaxed);
		st->unsampled += atomic_load_explicit(&t->unsampled, memory_order_relaxed);
	}
	pthread_mutex_unlock(&c->mu);
}

/* ---- sampling: decided at a trace's root, inherited through the context */

static int sample(ttc_client *c)
{
	int64_t now;
	int yes;

	switch (c->sampler) {
	case TTC_SAMPLE_PROB:
		return (double)(rnd64() >> 11) * 0x1.0p-53 < c->sample_param;
	case TTC_SAMPLE_RATE:
		pthread_mutex_lock(&c->mu);
		now = now_mono();
		c->tokens += (double)(now - c->tokens_at) / 1e9 * c->sample_param;
		if (c->tokens > (c->sample_param > 1 ? c->sample_param : 1))
			c->tokens = c->sample_param > 1 ? c->sample_param : 1;
		c->tokens_at = now;
		if ((yes = c->tokens >= 1))
			c->tokens -= 1;
		pthread_mutex_unlock(&c->mu);
		return yes;
	default: /* all, const */
		return c->sample_param >= 1;
	}
}

/* ---- spans */

#define SPAN_INLINE 256          /* attribute bytes kept inside the span */

struct ttc_span {
	ttc_client *c;
	struct ttc_span *next_free;  /* in the thread's span cache */
	ttc_ctx ctx;
	uint8_t parent[8];
	uint8_t has_parent, sampled, error;
	int64_t start_real, start_mono;
	char *status_msg;
	char kind[16];
	uint32_t name_len;
	char name[96];           /* longer names are cut */
	uint32_t nattrs, nevents;
	mbuf attrs, events;      /* packed key/value pairs; event maps (events: malloc'ed) */
	char attrs_inl[SPAN_INLINE];
};

static ttc_span noop_span; /* returned when memory runs out: records nothing */
static TLS ttc_span *span_cache; /* spans ended on this thread, for reuse */
static TLS unsigned span_ncache;

static void span_cache_free(void)
{
	while (span_cache) {
		ttc_span *s = span_cache;
		span_cache = s->next_free;
		free(s);
	}
	span_ncache = 0;
}

ttc_span *ttc_span_start(ttc_client *c, const char *name, const ttc_ctx *parent)
{
	ttc_span *s = span_cache;

	if (s) {
		span_cache = s->next_free;
		span_ncache--;
	} else if (!(s = malloc(sizeof *s))) {
		return &noop_span;
	} else {
		thread_keyed(); /* the cache is freed at the thread's exit */
	}
	s->c = c;
	if (parent) {
		memcpy(s->ctx.trace_id, parent->trace_id, 16);
		memcpy(s->parent, parent->span_id, 8);
		s->has_parent = 1;
		s->ctx.flags = parent->flags;
	} else {
		do
			rnd_bytes(s->ctx.trace_id, 16);
		while (all_zero(s->ctx.trace_id, 16));
		s->has_parent = 0;
		s->ctx.flags = c && sample(c) ? 1 : 0;
	}
	do
		rnd_bytes(s->ctx.span_id, 8);
	while (all_zero(s->ctx.span_id, 8));
	s->sampled = c && (s->ctx.flags & 1);
	if (!s->sampled) {
		tbuf *t;
		if (c && (t = tbuf_get(c)) != NULL)
			count(&t->unsampled);
		return s;
	}
	s->start_mono = now_mono();
	s->start_real = wall_of(s->start_mono);
	s->error = 0;
	s->status_msg = NULL;
	s->kind[0] = 0;
	s->name_len = name ? (uint32_t)strnlen(name, sizeof s->name) : 0;
	memcpy(s->name, name ? name : "", s->name_len);
	s->nattrs = s->nevents = 0;
	s->attrs.p = s->attrs_inl, s->attrs.len = 0, s->attrs.cap = SPAN_INLINE;
	s->events.p = NULL, s->events.len = s->events.cap = 0;
	return s;
}

const ttc_ctx *ttc_span_ctx(const ttc_span *s)
{
	return &s->ctx;
}

void ttc_span_kind(ttc_span *s, const char *kind)
{
	if (s->sampled && kind)
		snprintf(s->kind, sizeof s->kind, "%s", kind);
}

/* Room for an attribute with this key and a value of at most vmax bytes;
 * NULL: not recorded (no key, unsampled span, no memory). */
static char *attr_key(ttc_span *s, const char *key, size_t vmax)
{
	size_t kn;
	char *o;

	if (!s->sampled || !key)
		return NULL;
	kn = strlen(key);
	if (!(o = mbuf_room(&s->attrs, s->attrs_inl, MP_STR_MAX(kn) + vmax)))
		return NULL;
	s->nattrs++;
	return mp_strn(o, key, kn);
}

static void attr_done(ttc_span *s, const char *end)
{
	s->attrs.len = (uint32_t)(end - s->attrs.p);
}

void ttc_span_attr_str(ttc_span *s, const char *key, const char *val)
{
	size_t vn = val ? strlen(val) : 0;
	char *o = attr_key(s, key, MP_STR_MAX(vn));

	if (o)
		attr_done(s, mp_strn(o, val ? val : "", vn));
}

void ttc_span_attr_int(ttc_span *s, const char *key, int64_t val)
{
	char *o = attr_key(s, key, MP_INT_MAX);

	if (o)
		attr_done(s, mp_int(o, val));
}

void ttc_span_attr_double(ttc_span *s, const char *key, double val)
{
	char *o = attr_key(s, key, 9);

	if (o)
		attr_done(s, mp_double(o, val));
}

void ttc_span_attr_bool(ttc_span *s, const char *key, int val)
{
	char *o = attr_key(s, key, 1);

	if (o) {
		*o++ = val ? (char)0xc3 : (char)0xc2;
		attr_done(s, o);
	}
}

void ttc_span_event(ttc_span *s, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	char *o;

	if (!s->sampled || !(o = mbuf_room(&s->events, NULL, 1 + 3 + MP_INT_MAX + 5 + MP_STR_MAX(n))))
		return;
	o = MP_MAP(o, 2);
	o = mp_int(MP_LIT(o, "ts"), wall_of(now_mono()));
	o = MP_KV(o, "name", name ? name : "", n);
	s->events.len = (uint32_t)(o - s->events.p);
	s->nevents++;
}

void ttc_span_status(ttc_span *s, int error, const char *msg)
{
	if (!s->sampled)
		return;
	s->error = error ? 2 : 1;
	free(s->status_msg);
	s->status_msg = msg ? strdup(msg) : NULL;
}

static void span_free(ttc_span *s)
{
	if (s->sampled) {
		mbuf_free(&s->attrs, s->attrs_inl);
		free(s->events.p);
		free(s->status_msg);
	}
	if (span_ncache < SPAN_CACHE) {
		s->next_free = span_cache;
		span_cache = s;
		span_ncache++;
	} else {
		free(s);
	}
}

void ttc_span_end(ttc_span *s)
{
	ttc_client *c;
	tbuf *t;
	size_t kn, mn;
	char *o;
	uint32_t n;

	if (!s || s == &noop_span)
		return;
	if (!s->sampled) {
		span_free(s);
		return;
	}
	c = s->c;
	kn = strlen(s->kind);
	mn = s->status_msg ? strlen(s->status_msg) : 0;
	/* keys and fixed values take under 160 bytes */
	o = rec_open(c, &t, 160 + c->svc_kv_len + MP_STR_MAX(s->name_len) + MP_STR_MAX(kn) +
	    MP_STR_MAX(mn) + MP_MAP_MAX + s->attrs.len + MP_MAP_MAX + s->events.len);
	if (o) {
		n = 7 + (uint32_t)s->has_parent + (kn != 0) + (s->error != 0) + (s->error == 2) +
		    (s->status_msg != NULL) + (s->nattrs != 0) + (s->nevents != 0);
		o = MP_MAP(o, n);
		o = mp_int(MP_LIT(o, "ts"), s->start_real);
		o = MP_HEX(o, "corr", s->ctx.trace_id, 16);
		o = MP_HEX(o, "span", s->ctx.span_id, 8);
		if (s->has_parent)
			o = MP_HEX(o, "parent", s->parent, 8);
		memcpy(o, c->svc_kv, c->svc_kv_len);
		o += c->svc_kv_len;
		o = MP_KV(o, "kind", "span", 4);
		o = MP_KV(o, "name", s->name, s->name_len);
		o = mp_int(MP_LIT(o, "dur"), now_mono() - s->start_mono);
		if (kn)
			o = MP_KV(o, "span_kind", s->kind, kn);
		if (s->error)
			o = s->error == 2 ? MP_KV(o, "status", "error", 5) : MP_KV(o, "status", "ok", 2);
		if (s->error == 2)
			o = MP_KV(o, "level", "error", 5);
		if (s->status_msg)
			o = MP_KV(o, "msg", s->status_msg, mn);
		if (s->nattrs) {
			o = MP_MAP(MP_LIT(o, "attrs"), s->nattrs);
			memcpy(o, s->attrs.p, s->attrs.len);
			o += s->attrs.len;
		}
		if (s->nevents) {
			o = MP_ARRAY(MP_LIT(o, "events"), s->nevents);
			memcpy(o, s->events.p, s->events.len);
			o += s->events.len;
		}
		rec_close(t, o);
	}
	span_free(s);
}

/* ---- logs, checkpoints */

void ttc_log(ttc_client *c, const ttc_ctx *ctx, int level, const char *fmt, ...)
{
	static const char *const lv[] = { "trace", "debug", "info", "warn", "error", "fatal" };
	char msg[4096], *o;
	va_list ap;
	tbuf *t;
	size_t mn;
	int r;

	if (!c)
		return;
	va_start(ap, fmt);
	r = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mn = r < 0 ? 0 : (size_t)r < sizeof msg ? (size_t)r : sizeof msg - 1;
	if (level < TTC_TRACE || level > TTC_FATAL)
		level = TTC_INFO;
	if (!(o = rec_open(c, &t, 128 + c->svc_kv_len + MP_STR_MAX(mn))))
		return;
	o = MP_MAP(o, ctx ? 7 : 5);
	o = mp_int(MP_LIT(o, "ts"), wall_of(now_mono()));
	if (ctx) {
		o = MP_HEX(o, "corr", ctx->trace_id, 16);
		o = MP_HEX(o, "span", ctx->span_id, 8);
	}
	memcpy(o, c->svc_kv, c->svc_kv_len);
	o += c->svc_kv_len;
	o = MP_KV(o, "kind", "log", 3);
	o = MP_KV(o, "level", lv[level], strlen(lv[level]));
	o = MP_KV(o, "msg", msg, mn);
	rec_close(t, o);
}

void ttc_checkpoint(ttc_client *c, const char *corr, const char *dir, const char *operation,
    const char *suffix)
{
	size_t cn, dn, on, sn;
	tbuf *t;
	char *o;

	if (!c || !corr || !*corr || !dir)
		return;
	cn = strlen(corr), dn = strlen(dir);
	on = operation ? strlen(operation) : 0;
	sn = suffix ? strlen(suffix) : 0;
	if (!(o = rec_open(c, &t, 128 + c->svc_kv_len + MP_STR_MAX(cn) + MP_STR_MAX(dn) +
	          MP_STR_MAX(on) + MP_STR_MAX(sn))))
		return;
	o = MP_MAP(o, 6 + (suffix != NULL));
	o = mp_int(MP_LIT(o, "ts"), wall_of(now_mono()));
	o = MP_KV(o, "corr", corr, cn);
	memcpy(o, c->svc_kv, c->svc_kv_len);
	o += c->svc_kv_len;
	o = MP_KV(o, "kind", "checkpoint", 10);
	o = MP_KV(o, "dir", dir, dn);
	o = MP_KV(o, "name", operation ? operation : "", on);
	if (suffix)
		o = MP_KV(o, "suffix", suffix, sn);
	rec_close(t, o);
}
