/*
 * sock.c -- unix-socket ingest (protocol: format/FORMAT.md section 11).
 *
 * A client writes back-to-back msgpack objects ("messages"): each a record
 * map in any field dialect, or an array of them. ttd frames them (mp.c),
 * decodes (tt_decode_msgpack) and appends every valid record. After each
 * group commit it writes back one msgpack map
 *     {"ack": M, "records": R, "rejected": J}
 * meaning: the first M messages of this connection are fully processed and
 * all R records stored from them are durable; J elements were rejected.
 * A rejected element is reported before the ack that covers it as
 *     {"error": reason, "msg": N, "index": I, "field": F}
 * and a stream that cannot be framed ends with {"fatal": reason,
 * "offset": O} and the connection is closed.
 *
 * Flow control: records go straight to tt_writer_append, which waits while
 * the writer's queue is full (at most about one commit). While it waits ttd
 * reads nothing, so the kernel's socket buffer pushes back on the producer;
 * measured, this keeps a socket producer faster than pausing reads at a
 * threshold and resuming them (0.8 vs 1.1 M records/s here).
 *
 * JSON lines are accepted too, for nc -U, socat and stdlib clients: a
 * connection whose first byte is '{', '[' or white space is in JSON mode,
 * where every line is a message (a record or an array of records, decoded
 * by tt_decode_json) and ttd answers with the same objects as JSON lines.
 * A first byte that starts neither a msgpack map or array nor JSON gets one
 * fatal that says so.
 *
 * Acks are cumulative, so the connection keeps a short ring of checkpoints
 * (ticket, counts) taken after each read; when the ring is full the newest
 * checkpoint absorbs the next one (acks become coarser, never wrong).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ttd.h"

#define N_CKPT 64

struct ckpt {
	uint64_t ticket, msgs, recs, rej;
};

struct sconn {
	struct sconn *next;
	struct bufferevent *bev;
	tt_buf in;           /* received bytes not yet consumed */
	size_t head;         /* start of the current (incomplete) message in `in` */
	ttd_mpscan scan;     /* framing state of that message */
	uint64_t stream_off; /* stream offset of `head` (for fatal messages) */
	uint64_t msgs, recs, rej;      /* processed so far */
	uint64_t last_ticket;          /* of the newest record appended */
	uint64_t acked_msgs, acked_recs, acked_rej; /* last ack sent */
	struct ckpt ck[N_CKPT];        /* waiting checkpoints, oldest first */
	int n_ck;
	int eof;             /* client finished sending */
	int dead;            /* fatal sent: close once written */
	int mode;            /* M_UNKNOWN until the first byte, then M_MSGPACK/M_JSON */
	size_t searched;     /* JSON: bytes after head known to hold no newline */
};

enum { M_UNKNOWN, M_MSGPACK, M_JSON };

static struct evconnlistener *listener;
static char sock_path[PATH_MAX];
static struct sconn *conns;
static size_t n_conns;

size_t
ttd_sock_clients(void)
{
	return n_conns;
}

static void
sconn_free(struct sconn *c)
{
	for (struct sconn **pp = &conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			n_conns--;
			break;
		}
	bufferevent_free(c->bev);
	tt_buf_free(&c->in);
	free(c);
}

/* One answer: a msgpack map, or a JSON object on a line of its own in JSON
 * mode. A member is a string when s is set, else the number u. */
struct member {
	const char *k, *s;
	uint64_t u;
};

static void
send_obj(struct sconn *c, const struct member *m, int n)
{
	tt_buf b = { 0 };
	int first = 1;

	if (c->mode == M_JSON)
		jw_raw(&b, "{");
	else
		ttd_mp_map(&b, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		if (c->mode == M_JSON) {
			jw_key(&b, &first, m[i].k);
			if (m[i].s)
				jw_str(&b, m[i].s);
			else
				jw_fmt(&b, "%llu", (unsigned long long)m[i].u);
		} else {
			ttd_mp_str(&b, m[i].k, strlen(m[i].k));
			if (m[i].s)
				ttd_mp_str(&b, m[i].s, strlen(m[i].s));
			else
				ttd_mp_uint(&b, m[i].u);
		}
	}
	if (c->mode == M_JSON)
		jw_raw(&b, "}\n");
	(void)bufferevent_write(c->bev, b.data, b.len);
	tt_buf_free(&b);
}

static void
send_ack(struct sconn *c, uint64_t msgs, uint64_t recs, uint64_t rej)
{
	struct member m[] = { { "ack", NULL, msgs }, { "records", NULL, recs },
		{ "rejected", NULL, rej } };

	if (msgs == c->acked_msgs && recs == c->acked_recs && rej == c->acked_rej)
		return;
	send_obj(c, m, 3);
	c->acked_msgs = msgs;
	c->acked_recs = recs;
	c->acked_rej = rej;
}

static void
send_fatal(struct sconn *c, const char *why, uint64_t off)
{
	struct member m[] = { { "fatal", why, 0 }, { "offset", NULL, off } };

	log_warn("socket client: %s at stream offset %llu; closing", why,
	    (unsigned long long)off);
	send_obj(c, m, 2);
	c->dead = 1;
	bufferevent_disable(c->bev, EV_READ);
}

/* Ack what is durable; close a finished connection once everything is. */
static void
try_ack(struct sconn *c, uint64_t durable)
{
	int i = 0;

	if (c->last_ticket <= durable) {
		c->n_ck = 0;
		send_ack(c, c->msgs, c->recs, c->rej);
	} else {
		while (i < c->n_ck && c->ck[i].ticket <= durable)
			i++;
		if (i > 0) {
			send_ack(c, c->ck[i - 1].msgs, c->ck[i - 1].recs, c->ck[i - 1].rej);
			memmove(c->ck, c->ck + i, (size_t)(c->n_ck - i) * sizeof c->ck[0]);
			c->n_ck -= i;
		}
	}
}

static void
checkpoint(struct sconn *c)
{
	struct ckpt k = { c->last_ticket, c->msgs, c->recs, c->rej };

	if (c->n_ck > 0 && c->ck[c->n_ck - 1].ticket == k.ticket) {
		c->ck[c->n_ck - 1] = k;
		return;
	}
	if (c->n_ck == N_CKPT)
		c->ck[N_CKPT - 1] = k; /* coarser, still correct */
	else
		c->ck[c->n_ck++] = k;
}

struct msg_ctx {
	struct sconn *c;
	int err;
};

static int
sock_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct msg_ctx *m = ctx;
	int64_t t = ttd_append(rec, len);

	if (t < 0) {
		m->err = (int)t;
		return (int)t;
	}
	m->c->last_ticket = (uint64_t)t;
	m->c->recs++;
	g_metrics.records_socket++;
	return 0;
}

static void
send_error(struct sconn *c, uint64_t msg, long long index, const char *field,
    const char *reason)
{
	struct member m[] = { { "error", reason, 0 }, { "msg", NULL, msg },
		{ "index", NULL, index < 0 ? 0 : (uint64_t)index }, { "field", field, 0 } };

	send_obj(c, m, 4);
}

static void
sock_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	struct msg_ctx *m = ctx;

	m->c->rej++;
	g_metrics.rejected_socket++;
	send_error(m->c, m->c->msgs + 1, (long long)index, err->field, err->reason);
}

/* Decode and store one message of len bytes at p (at c->head); 0, or -1
 * after a fatal. */
static int
one_message(struct sconn *c, const uint8_t *p, size_t len)
{
	struct msg_ctx m = { c, 0 };
	tt_sink sink = { sock_record, sock_reject, &m };
	tt_rec_err err;
	size_t used = 0;
	int r;

	memset(&err, 0, sizeof err);
	if (c->mode == M_JSON)
		r = tt_decode_json(g_ttd.dec, (const char *)p, len, 0, ttd_now_ns(), &sink, &err);
	else
		r = tt_decode_msgpack(g_ttd.dec, p, len, &used, ttd_now_ns(), &sink, &err);
	if (m.err) {
		send_fatal(c, tt_strerror(m.err), c->stream_off);
		return -1;
	}
	if (r < 0) {
		/* the message as a whole is not a record: reject it, go on */
		c->rej++;
		g_metrics.rejected_socket++;
		send_error(c, c->msgs + 1, 0, err.field, err.reason[0] ? err.reason :
		    tt_strerror(r));
	}
	g_metrics.bytes_socket += (uint64_t)len;
	c->msgs++;
	return 0;
}

/* The next message's length in msgpack mode: >0, 0 incomplete, -1 fatal. */
static long long
frame_msgpack(struct sconn *c, const uint8_t *p, size_t n)
{
	long long len = ttd_mpscan_run(&c->scan, p, n);

	if (len < 0) {
		send_fatal(c, len == -2 ? "message nested too deeply" :
		    "malformed msgpack", c->stream_off);
		return -1;
	}
	if ((len == 0 && n > g_ttd.cfg.max_body) || (uint64_t)len > g_ttd.cfg.max_body) {
		send_fatal(c, "message over the size cap", c->stream_off);
		return -1;
	}
	return len;
}

/* JSON mode: the next line's length with its newline (the last line of a
 * finished stream needs none): >0, 0 incomplete, -1 fatal. */
static long long
frame_json(struct sconn *c, const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p + c->searched, '\n', n - c->searched);

	if (nl == NULL) {
		c->searched = n;
		if (n > g_ttd.cfg.max_body) {
			send_fatal(c, "line over the size cap", c->stream_off);
			return -1;
		}
		return c->eof ? (long long)n : 0;
	}
	c->searched = 0;
	return nl - p + 1;
}

/* The first byte decides the mode: '{', '[' or white space (positive
 * fixints in msgpack, which are no record) is JSON; a msgpack map or array
 * header is msgpack; anything else is neither, and said so once. */
static int
pick_mode(struct sconn *c, uint8_t b)
{
	char why[160];

	if (b == '{' || b == '[' || b == ' ' || b == '\t' || b == '\r' || b == '\n')
		c->mode = M_JSON;
	else if ((b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf))
		c->mode = M_MSGPACK;
	else {
		c->mode = M_MSGPACK;
		snprintf(why, sizeof why, "first byte 0x%02x starts neither a msgpack map or "
		    "array nor a JSON object or array (JSON lines: one record per line)", b);
		send_fatal(c, why, 0);
		return -1;
	}
	return 0;
}

/* Frame and store every complete message in c->in. */
static void
process(struct sconn *c)
{
	while (!c->dead && c->head < c->in.len) {
		const uint8_t *p = c->in.data + c->head;
		size_t n = c->in.len - c->head, skip = 0;
		long long len;

		if (c->mode == M_UNKNOWN && pick_mode(c, p[0]) < 0)
			return;
		len = c->mode == M_JSON ? frame_json(c, p, n) : frame_msgpack(c, p, n);
		if (len < 0)
			return;
		if (len == 0)
			break;
		if (c->mode == M_JSON)
			while (skip < (size_t)len && p[skip] && strchr(" \t\r\n", p[skip]))
				skip++;
		/* a blank line is no message */
		if (skip < (size_t)len && one_message(c, p, (size_t)len) < 0)
			return;
		c->head += (size_t)len;
		c->stream_off += (uint64_t)len;
		ttd_mpscan_init(&c->scan);
	}
	/* compact: keep only the incomplete message */
	if (c->head > 0 && (c->head == c->in.len || c->head > c->in.len / 2)) {
		memmove(c->in.data, c->in.data + c->head, c->in.len - c->head);
		c->in.len -= c->head;
		c->head = 0;
	}
	checkpoint(c);
	try_ack(c, ttd_durable());
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	if (n == 0 || c->dead)
		return;
	if (tt_buf_reserve(&c->in, n) < 0) {
		send_fatal(c, "out of memory", c->stream_off);
		return;
	}
	if (evbuffer_remove(in, c->in.data + c->in.len, n) != (int)n) {
		send_fatal(c, "read failed", c->stream_off);
		return;
	}
	c->in.len += n;
	process(c);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct sconn *c = arg;

	/* output drained: a dead or finished connection can go now */
	if (c->dead || (c->eof && c->acked_msgs == c->msgs))
		sconn_free(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sconn *c = arg;

	if (what & BEV_EVENT_EOF) {
		c->eof = 1;
		if (c->mode == M_JSON)
			process(c); /* a last line without its newline */
		if (c->in.len > c->head && !c->dead)
			log_info("socket client closed with %zu bytes of an incomplete message",
			    c->in.len - c->head);
		if (c->acked_msgs == c->msgs &&
		    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			sconn_free(c);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		sconn_free(c);
}

static void
commit_hook(void *arg)
{
	uint64_t durable = ttd_durable();
	int err = ttd_writer_error();
	struct sconn *c, *next;

	for (c = conns; c; c = next) {
		next = c->next;
		try_ack(c, durable);
		if (err && !c->dead && c->last_ticket > durable) {
			/* the writer failed: what was not acked is not stored */
			char why[160];
			snprintf(why, sizeof why, "records could not be stored: %s; the "
			    "last ack tells what is", tt_strerror(err));
			send_fatal(c, why, c->stream_off);
			continue;
		}
		if (c->eof && c->acked_msgs == c->msgs &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			sconn_free(c);
	}
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int len, void *arg)
{
	struct sconn *c;

	if (g_ttd.stopping || n_conns >= g_ttd.cfg.max_sock) {
		log_warn("socket client refused: %s", g_ttd.stopping ? "shutting down" :
		    "--max-socket-clients reached");
		(void)close(fd);
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		(void)close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(g_ttd.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		(void)close(fd);
		free(c);
		return;
	}
	ttd_mpscan_init(&c->scan);
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = conns;
	conns = c;
	n_conns++;
	log_debug("socket client connected");
}

int
ttd_sock_start(void)
{
	const char *path = g_ttd.cfg.socket;
	struct sockaddr_un sun;
	mode_t old;
	int fd, r;

	if (path && strcmp(path, "off") == 0)
		return 0;
	if (path == NULL) {
		snprintf(sock_path, sizeof sock_path, "%s/ttd.sock", g_ttd.cfg.store);
		path = sock_path;
	} else {
		snprintf(sock_path, sizeof sock_path, "%s", path);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		log_err("socket path '%s' is too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* a socket file nobody answers on is a leftover of a dead ttd */
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		log_err("socket '%s' is in use by another process (another ttd?)", path);
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	old = umask(077); /* the socket is born 0600: no window for others */
	r = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	/* --group: members may connect too (connecting needs write permission) */
	if (r == 0 && g_ttd.cfg.group &&
	    chown(path, (uid_t)-1, (gid_t)g_ttd.cfg.group_gid) < 0)
		r = -1;
	if (r < 0 || chmod(path, g_ttd.cfg.group ? 0660 : 0600) < 0 || listen(fd, 128) < 0) {
		log_err("could not listen on socket '%s': %s", path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	listener = evconnlistener_new(g_ttd.base, accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (listener == NULL) {
		(void)close(fd);
		return -1;
	}
	ttd_on_commit(commit_hook, NULL);
	log_info("listening on unix socket %s", path);
	return 0;
}

void
ttd_sock_stop_accepting(void)
{
	if (listener) {
		evconnlistener_free(listener);
		listener = NULL;
		(void)unlink(sock_path);
	}
	for (struct sconn *c = conns; c; c = c->next)
		bufferevent_disable(c->bev, EV_READ);
}

void
ttd_sock_fini(void)
{
	while (conns)
		sconn_free(conns);
}
