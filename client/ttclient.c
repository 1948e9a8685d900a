/*
 * ttclient.c -- libttclient (ttclient.h): records packed with msgpack-c on the
 * caller's thread, a sender thread per client that batches them, writes them
 * to ttd's unix socket and reads ttd's acknowledgements (FORMAT.md 11).
 *
 * Buffers: `pend` holds packed records not yet sent; `ub` the batches sent and
 * not yet acknowledged, in order. Together they stay under buffer_bytes; a
 * record that does not fit is dropped and counted, so the caller never waits.
 * A batch is kept until an ack covers it; after a reconnect every kept batch
 * is sent again (at least once: ttd may then store a record twice, as the
 * socket protocol says).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "ttclient.h"

#define SEND_TIMEOUT_S 5        /* a ttd that stops reading for this long is dropped */
#define RECONNECT_MAX_MS 1000   /* reconnect backoff cap */

typedef struct batch {
	struct batch *next;
	char *data;
	size_t len;
	uint32_t nrec;
	uint64_t msgno;          /* its number on the current connection */
} batch;

struct ttc_client {
	char *socket_path;
	char *service;
	size_t buffer_bytes, batch_bytes;
	int64_t flush_ns;
	int sampler;
	double sample_param;
	double tokens;           /* rate sampler: token bucket */
	int64_t tokens_at;

	pthread_mutex_t mu;      /* everything below */
	pthread_cond_t cv;       /* flushers wait here for acks */
	int wake_fd;             /* eventfd: wakes the sender */
	char *pend;              /* packed records, not yet sent */
	size_t pend_len, pend_cap;
	uint32_t pend_n;
	int64_t pend_since;      /* monotonic ns of the oldest pending record */
	int wake_sent;           /* a wake-up for a full batch is on its way */
	batch *ub, *ub_tail;     /* sent, not acknowledged */
	size_t ub_bytes;
	int flush_req, stop, connected, ever_connected;
	pthread_t thr;
	int thr_running;
	int fd;                  /* the socket (sender thread; the atfork child closes it) */
	ttc_stats st;
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

static unsigned fork_gen;                 /* bumped in every child */
static __thread uint64_t rng_s[2];
static __thread unsigned rng_gen = UINT_MAX;

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

/* ---- the fork registry: every client, locked around fork() */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static ttc_client *reg_all;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void batches_free(batch *b)
{
	while (b) {
		batch *n = b->next;
		free(b->data);
		free(b);
		b = n;
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

/* In the child: no sender thread; what was buffered is the parent's to send;
 * a new wake-up fd and, on first use, a new thread and connection. */
static void fork_child(void)
{
	fork_gen++;
	for (ttc_client *c = reg_all; c; c = c->next_all) {
		pthread_mutex_init(&c->mu, NULL);
		pthread_cond_init(&c->cv, NULL);
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		close(c->wake_fd);
		c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		batches_free(c->ub);
		c->ub = c->ub_tail = NULL;
		c->ub_bytes = 0;
		c->pend_len = 0; /* the buffer stays, reused */
		c->pend_n = 0;
		c->thr_running = 0;
		c->connected = c->flush_req = c->wake_sent = c->ever_connected = 0;
		memset(&c->st, 0, sizeof c->st); /* the child's own counts */
	}
	pthread_mutex_init(&reg_mu, NULL);
}

static void reg_init(void)
{
	(void)pthread_atfork(fork_prepare, fork_parent, fork_child);
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

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

static void disconnect(ttc_client *c, msgpack_unpacker *up)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
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
			c->ub_bytes -= b->len;
			c->st.acked += b->nrec;
			free(b->data);
			free(b);
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

/* pend starts with room for the batch's array header (array 32: 0xdd and a
 * big-endian count), so a batch is the pending buffer itself, taken over
 * under the lock without a copy. */
#define BATCH_HDR 5

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
	b->nrec = c->pend_n;
	b->next = NULL;
	c->ub_bytes += b->len; /* the pending bytes move from pend_len to ub_bytes */
	c->pend = NULL;
	c->pend_len = c->pend_cap = 0;
	c->pend_n = 0;
	c->wake_sent = 0;
	if (c->ub_tail)
		c->ub_tail->next = b;
	else
		c->ub = b;
	c->ub_tail = b;
	return b;
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
	for (;;) {
		struct pollfd pf[2];
		int64_t timeout_ms = 1000, now;
		batch *send_b = NULL;

		pthread_mutex_lock(&c->mu);
		if (c->stop == 2 || (c->stop && !c->pend_n && !c->ub)) {
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
					c->st.resent += c->st.connects > 1;
				}
				pthread_mutex_unlock(&c->mu);
				for (batch *b = c->ub; b && c->fd >= 0; b = b->next)
					if (send_all(c->fd, b->data, b->len) < 0)
						disconnect(c, &up);
			} else {
				pthread_mutex_lock(&c->mu);
				pthread_cond_broadcast(&c->cv); /* flushers learn it failed */
				pthread_mutex_unlock(&c->mu);
				pf[0].fd = c->wake_fd;
				pf[0].events = POLLIN;
				(void)poll(pf, 1, backoff_ms);
				if (pf[0].revents & POLLIN) {
					uint64_t x;
					(void)!read(c->wake_fd, &x, sizeof x);
				}
				if ((backoff_ms *= 2) > RECONNECT_MAX_MS)
					backoff_ms = RECONNECT_MAX_MS;
				continue;
			}
		}
		/* a batch is due when big enough, old enough, or asked for */
		now = now_mono();
		pthread_mutex_lock(&c->mu);
		if (c->pend_n && (c->pend_len >= c->batch_bytes || now - c->pend_since >= c->flush_ns ||
		        c->flush_req || c->stop)) {
			if ((send_b = take_batch(c)) != NULL)
				send_b->msgno = ++msgno;
			c->flush_req = 0;
		}
		if (c->pend_n)
			timeout_ms = (c->pend_since + c->flush_ns - now) / 1000000 + 1;
		pthread_mutex_unlock(&c->mu);
		if (send_b && c->fd >= 0 && send_all(c->fd, send_b->data, send_b->len) < 0) {
			disconnect(c, &up);
			continue;
		}
		if (timeout_ms < 0)
			timeout_ms = 0;
		pf[0].fd = c->fd;
		pf[0].events = POLLIN;
		pf[1].fd = c->wake_fd;
		pf[1].events = POLLIN;
		if (poll(pf, 2, (int)timeout_ms) <= 0)
			continue;
		if (pf[1].revents & POLLIN) {
			uint64_t x;
			(void)!read(c->wake_fd, &x, sizeof x);
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

/* A growable buffer that starts inside its owner (a span, or the stack while
 * a record is packed): most fit, so a record costs no allocation (measured: an
 * 8 KiB msgpack_sbuffer per span doubled the caller's cost). */
typedef struct gbuf {
	char *p;
	size_t len, cap;
	char inl[512];
} gbuf;

static int gbuf_write(void *data, const char *buf, size_t len)
{
	gbuf *g = data;
	if (g->len + len > g->cap) {
		size_t nc = g->cap * 2;
		char *np;
		while (nc < g->len + len)
			nc *= 2;
		if (g->p == g->inl) {
			if (!(np = malloc(nc)))
				return -1;
			memcpy(np, g->inl, g->len);
		} else if (!(np = realloc(g->p, nc))) {
			return -1;
		}
		g->p = np, g->cap = nc;
	}
	memcpy(g->p + g->len, buf, len);
	g->len += len;
	return 0;
}

static void gbuf_init(gbuf *g)
{
	g->p = g->inl, g->len = 0, g->cap = sizeof g->inl;
}

static void gbuf_free(gbuf *g)
{
	if (g->p != g->inl)
		free(g->p);
}

/* ---- queueing a packed record */

static void enqueue(ttc_client *c, const gbuf *rec)
{
	pthread_mutex_lock(&c->mu);
	if (ensure_thread(c) < 0 || c->pend_len + c->ub_bytes + rec->len > c->buffer_bytes) {
		c->st.dropped++;
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (!c->pend_n)
		c->pend_len = BATCH_HDR;
	if (c->pend_len + rec->len > c->pend_cap) {
		size_t nc = c->pend_cap ? c->pend_cap : c->batch_bytes + c->batch_bytes / 4;
		char *np;
		while (nc < c->pend_len + rec->len)
			nc *= 2;
		if (!(np = realloc(c->pend, nc))) {
			c->st.dropped++;
			pthread_mutex_unlock(&c->mu);
			return;
		}
		c->pend = np, c->pend_cap = nc;
	}
	if (!c->pend_n)
		c->pend_since = now_mono();
	memcpy(c->pend + c->pend_len, rec->p, rec->len);
	c->pend_len += rec->len;
	c->pend_n++;
	c->st.records++;
	if (c->pend_len >= c->batch_bytes && !c->wake_sent) {
		c->wake_sent = 1; /* one syscall per batch, not per record */
		wake(c);
	}
	pthread_mutex_unlock(&c->mu);
}

/* A record is packed into a buffer on the caller's stack. */
static gbuf *rec_buf(gbuf *g, msgpack_packer *pk)
{
	gbuf_init(g);
	msgpack_packer_init(pk, g, gbuf_write);
	return g;
}

static void pk_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pk_kv(msgpack_packer *pk, const char *k, const char *v)
{
	pk_str(pk, k);
	pk_str(pk, v);
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

	*out = NULL;
	memset(&d, 0, sizeof d);
	if (!o)
		o = &d;
	if (o->sampler < TTC_SAMPLE_ALL || o->sampler > TTC_SAMPLE_RATE ||
	    (o->sampler == TTC_SAMPLE_PROB && (o->sample_param < 0 || o->sample_param > 1)) ||
	    o->sample_param < 0 || isnan(o->sample_param))
		return -EINVAL;
	pthread_once(&reg_once, reg_init);
	if (!(c = calloc(1, sizeof *c)))
		return -ENOMEM;
	c->fd = -1;
	c->socket_path = o->socket ? strdup(o->socket) : default_socket();
	c->service = strdup(o->service ? o->service : program_invocation_short_name);
	c->buffer_bytes = o->buffer_bytes ? o->buffer_bytes : 8u << 20;
	c->batch_bytes = o->batch_bytes ? o->batch_bytes : 64u << 10;
	c->flush_ns = (int64_t)(o->flush_ms ? o->flush_ms : 50) * 1000000;
	c->sampler = o->sampler;
	c->sample_param = o->sampler == TTC_SAMPLE_ALL ? 1 : o->sample_param;
	c->tokens = c->sample_param;
	c->tokens_at = now_mono();
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!c->socket_path || !c->service || c->wake_fd < 0) {
		free(c->socket_path);
		free(c->service);
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
		c->flush_req = 1;
		wake(c);
		while (c->pend_n || c->ub) {
			if (timeout_ms < 0)
				pthread_cond_wait(&c->cv, &c->mu);
			else if (pthread_cond_timedwait(&c->cv, &c->mu, &dl) == ETIMEDOUT) {
				rc = c->connected ? -ETIMEDOUT : -ENOTCONN;
				break;
			}
		}
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
	free(c->pend);
	free(c->socket_path);
	free(c->service);
	close(c->wake_fd);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

void ttc_stats_get(ttc_client *c, ttc_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
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

struct ttc_span {
	ttc_client *c;
	ttc_ctx ctx;
	uint8_t parent[8];
	int has_parent, sampled, error;
	int64_t start_real, start_mono;
	char *status_msg;
	char kind[16];
	char name[96];           /* longer names are cut */
	gbuf attrs, events;
	msgpack_packer pa, pe;
	uint32_t nattrs, nevents;
};

static ttc_span noop_span; /* returned when memory runs out: records nothing */

ttc_span *ttc_span_start(ttc_client *c, const char *name, const ttc_ctx *parent)
{
	ttc_span *s = calloc(1, sizeof *s);

	if (!s)
		return &noop_span;
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
		s->ctx.flags = c && sample(c) ? 1 : 0;
	}
	do
		rnd_bytes(s->ctx.span_id, 8);
	while (all_zero(s->ctx.span_id, 8));
	s->sampled = c && (s->ctx.flags & 1);
	if (!s->sampled) {
		if (c) {
			pthread_mutex_lock(&c->mu);
			c->st.unsampled++;
			pthread_mutex_unlock(&c->mu);
		}
		return s;
	}
	s->start_real = now_real();
	s->start_mono = now_mono();
	if (name) {
		size_t n = strnlen(name, sizeof s->name - 1);
		memcpy(s->name, name, n); /* calloc'ed: NUL-terminated */
	}
	gbuf_init(&s->attrs);
	gbuf_init(&s->events);
	msgpack_packer_init(&s->pa, &s->attrs, gbuf_write);
	msgpack_packer_init(&s->pe, &s->events, gbuf_write);
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

#define ATTR(s, key) \
	if (!(s)->sampled || !(key)) return; \
	pk_str(&(s)->pa, (key)); \
	(s)->nattrs++

void ttc_span_attr_str(ttc_span *s, const char *key, const char *val)
{
	ATTR(s, key);
	pk_str(&s->pa, val ? val : "");
}

void ttc_span_attr_int(ttc_span *s, const char *key, int64_t val)
{
	ATTR(s, key);
	msgpack_pack_int64(&s->pa, val);
}

void ttc_span_attr_double(ttc_span *s, const char *key, double val)
{
	ATTR(s, key);
	msgpack_pack_double(&s->pa, val);
}

void ttc_span_attr_bool(ttc_span *s, const char *key, int val)
{
	ATTR(s, key);
	if (val)
		msgpack_pack_true(&s->pa);
	else
		msgpack_pack_false(&s->pa);
}

void ttc_span_event(ttc_span *s, const char *name)
{
	if (!s->sampled)
		return;
	msgpack_pack_map(&s->pe, 2);
	pk_str(&s->pe, "ts");
	msgpack_pack_int64(&s->pe, now_real());
	pk_kv(&s->pe, "name", name ? name : "");
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

void ttc_span_end(ttc_span *s)
{
	msgpack_packer pk;
	gbuf rb, *b;
	char corr[33], id[17], pid[17];
	uint32_t n;

	if (!s || s == &noop_span)
		return;
	if (!s->sampled) {
		free(s);
		return;
	}
	b = rec_buf(&rb, &pk);
	hex(s->ctx.trace_id, 16, corr);
	hex(s->ctx.span_id, 8, id);
	n = 7 + (uint32_t)s->has_parent + (s->kind[0] != 0) + (s->error != 0) + (s->error == 2) +
	    (s->status_msg != NULL) + (s->nattrs != 0) + (s->nevents != 0);
	msgpack_pack_map(&pk, n);
	pk_str(&pk, "ts");
	msgpack_pack_int64(&pk, s->start_real);
	pk_kv(&pk, "corr", corr);
	pk_kv(&pk, "span", id);
	if (s->has_parent) {
		hex(s->parent, 8, pid);
		pk_kv(&pk, "parent", pid);
	}
	pk_kv(&pk, "service", s->c->service);
	pk_kv(&pk, "kind", "span");
	pk_kv(&pk, "name", s->name);
	pk_str(&pk, "dur");
	msgpack_pack_int64(&pk, now_mono() - s->start_mono);
	if (s->kind[0])
		pk_kv(&pk, "span_kind", s->kind);
	if (s->error)
		pk_kv(&pk, "status", s->error == 2 ? "error" : "ok");
	if (s->error == 2)
		pk_kv(&pk, "level", "error");
	if (s->status_msg)
		pk_kv(&pk, "msg", s->status_msg);
	if (s->nattrs) {
		pk_str(&pk, "attrs");
		msgpack_pack_map(&pk, s->nattrs);
		(void)gbuf_write(b, s->attrs.p, s->attrs.len);
	}
	if (s->nevents) {
		pk_str(&pk, "events");
		msgpack_pack_array(&pk, s->nevents);
		(void)gbuf_write(b, s->events.p, s->events.len);
	}
	enqueue(s->c, b);
	gbuf_free(b);
	gbuf_free(&s->attrs);
	gbuf_free(&s->events);
	free(s->status_msg);
	free(s);
}

/* ---- logs, checkpoints */

void ttc_log(ttc_client *c, const ttc_ctx *ctx, int level, const char *fmt, ...)
{
	static const char *const lv[] = { "trace", "debug", "info", "warn", "error", "fatal" };
	msgpack_packer pk;
	gbuf rb, *b;
	char msg[4096], corr[33], id[17];
	va_list ap;

	if (!c)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (level < TTC_TRACE || level > TTC_FATAL)
		level = TTC_INFO;
	b = rec_buf(&rb, &pk);
	msgpack_pack_map(&pk, ctx ? 7 : 5);
	pk_str(&pk, "ts");
	msgpack_pack_int64(&pk, now_real());
	if (ctx) {
		hex(ctx->trace_id, 16, corr);
		hex(ctx->span_id, 8, id);
		pk_kv(&pk, "corr", corr);
		pk_kv(&pk, "span", id);
	}
	pk_kv(&pk, "service", c->service);
	pk_kv(&pk, "kind", "log");
	pk_kv(&pk, "level", lv[level]);
	pk_kv(&pk, "msg", msg);
	enqueue(c, b);
	gbuf_free(b);
}

void ttc_checkpoint(ttc_client *c, const char *corr, const char *dir, const char *operation,
    const char *suffix)
{
	msgpack_packer pk;
	gbuf rb, *b;

	if (!c || !corr || !*corr || !dir)
		return;
	b = rec_buf(&rb, &pk);
	msgpack_pack_map(&pk, 6 + (suffix != NULL));
	pk_str(&pk, "ts");
	msgpack_pack_int64(&pk, now_real());
	pk_kv(&pk, "corr", corr);
	pk_kv(&pk, "service", c->service);
	pk_kv(&pk, "kind", "checkpoint");
	pk_kv(&pk, "dir", dir);
	pk_kv(&pk, "name", operation ? operation : "");
	if (suffix)
		pk_kv(&pk, "suffix", suffix);
	enqueue(c, b);
	gbuf_free(b);
}
