/*
 * main.c -- ttd's process: options, the store lock, start-up, signals and
 * an orderly shut-down.
 *
 * Start-up: parse options (file, then command line) -> create the store dir
 * -> take DIR/ttd.lock (flock, exclusive, non-blocking: a second ttd on the
 * same store fails here with the pid of the first) -> open the store and a
 * writer -> listen (HTTP, unix socket) -> run the loop.
 *
 * SIGTERM/SIGINT: stop accepting, end streams, flush the writer and answer
 * every request whose records are now durable, seal the segment, exit 0.
 * SIGHUP: re-read --config and the token file, reopen --log-file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "alerts.h"
#include "forward.h"
#include "ui.h"
#include "ttd.h"

ttd g_ttd;

static int lock_fd = -1;
static struct event *sig_ev[3];
static struct event *gc_ev;

int64_t
ttd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
ttd_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
mkdir_p(const char *dir)
{
	char tmp[4096];
	size_t n = strlen(dir);

	if (n >= sizeof tmp)
		return -ENAMETOOLONG;
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* DIR/ttd.lock: held for the life of the process; the kernel drops it. */
static int
take_lock(const char *dir)
{
	char path[4096], pid[32];
	ssize_t n;

	snprintf(path, sizeof path, "%s/ttd.lock", dir);
	if ((lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		log_err("could not open lock file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		n = pread(lock_fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_err("another ttd%s%s%s is already running on store '%s' (lock '%s' is held)",
		    *pid ? " (pid " : "", pid, *pid ? ")" : "", dir, path);
		if (*pid)
			log_err("stop it first, or give this one another --store");
		return -1;
	}
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, pid, (size_t)n, 0) != n)
		log_warn("could not write pid to '%s'", path);
	return 0;
}

static void
on_problem(void *ctx, const tt_problem *p)
{
	log_err("store problem: segment %016llx offset %llu: %s (%s)",
	    (unsigned long long)p->segment, (unsigned long long)p->offset, p->what,
	    tt_strerror(p->code));
}

struct gc_sum {
	uint64_t segs, bytes, records;
};

static int
gc_one(void *ctx, const tt_seginfo *si)
{
	struct gc_sum *s = ctx;

	s->segs++;
	s->bytes += si->bytes;
	s->records += si->records;
	return 0;
}

int
ttd_run_gc(int64_t max_age_ns, uint64_t max_bytes, uint64_t *segs, uint64_t *bytes)
{
	tt_gc_opts o;
	struct gc_sum s = { 0, 0, 0 };
	int r;

	memset(&o, 0, sizeof o);
	o.max_age_ns = max_age_ns;
	o.max_bytes = max_bytes;
	o.forward_max_hold_ns = g_ttd.cfg.fwd_max_hold_ns;
	r = tt_store_gc(g_ttd.store, &o, gc_one, &s);
	g_metrics.gc_runs++;
	if (r < 0) {
		log_err("retention failed: %s", tt_strerror(r));
		return r;
	}
	g_metrics.gc_segments += s.segs;
	if (s.segs)
		log_info("retention deleted %llu segments, %llu records, %llu bytes",
		    (unsigned long long)s.segs, (unsigned long long)s.records,
		    (unsigned long long)s.bytes);
	*segs = s.segs;
	*bytes = s.bytes;
	return 0;
}

/* --recompress: one background thread at a time rewrites the sealed
 * segments not rewritten yet (tt_store_rewrite: one index commit per
 * segment, safe beside the writer and readers); shutdown stops it between
 * segments and waits for it. */
static pthread_t rw_thread;
static int rw_running;  /* a thread was started and not joined */
static atomic_int rw_busy, rw_stop;

static int
rw_one(void *ctx, const tt_seginfo *si)
{
	/* (read by /metrics on the event loop) */
	__atomic_add_fetch(&g_metrics.rewrites, 1, __ATOMIC_RELAXED);
	if (si->replaced_bytes > si->bytes)
		__atomic_add_fetch(&g_metrics.rewrite_saved, si->replaced_bytes - si->bytes,
		    __ATOMIC_RELAXED);
	log_info("recompressed segment %016llx as %016llx: %llu -> %llu bytes",
	    (unsigned long long)si->replaced, (unsigned long long)si->id,
	    (unsigned long long)si->replaced_bytes, (unsigned long long)si->bytes);
	return atomic_load(&rw_stop) ? -ECANCELED : 0;
}

static void *
rw_main(void *arg)
{
	int r = tt_store_rewrite(g_ttd.store, TT_REWRITE_ALL, rw_one, NULL);
	if (r < 0 && r != -ECANCELED)
		log_err("recompress failed: %s", tt_strerror(r));
	atomic_store(&rw_busy, 0);
	return NULL;
}

static void
rw_start(void)
{
	if (!g_ttd.cfg.recompress || atomic_load(&rw_busy))
		return;
	if (rw_running) {
		pthread_join(rw_thread, NULL);
		rw_running = 0;
	}
	atomic_store(&rw_busy, 1);
	if (pthread_create(&rw_thread, NULL, rw_main, NULL) != 0) {
		atomic_store(&rw_busy, 0);
		log_err("recompress: cannot start a thread");
		return;
	}
	rw_running = 1;
}

static void
rw_join(void)
{
	atomic_store(&rw_stop, 1);
	if (rw_running)
		pthread_join(rw_thread, NULL);
	rw_running = 0;
}

static void
gc_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t segs, bytes;
	int r;

	if (g_ttd.cfg.retention_ns > 0 || g_ttd.cfg.max_size > 0)
		(void)ttd_run_gc(g_ttd.cfg.retention_ns, g_ttd.cfg.max_size, &segs, &bytes);
	if (g_ttd.cfg.rollup_retention_ns > 0 &&
	    (r = tt_store_rollups_prune(g_ttd.store, ttd_now_ns() - g_ttd.cfg.rollup_retention_ns)) < 0)
		log_err("rollup retention failed: %s", tt_strerror(r));
	rw_start();
}

static void
arm_gc(void)
{
	struct timeval tv;
	int64_t ns = g_ttd.cfg.gc_interval_ns;

	if (gc_ev == NULL)
		gc_ev = event_new(g_ttd.base, -1, EV_PERSIST, gc_cb, NULL);
	if (gc_ev == NULL)
		return;
	event_del(gc_ev);
	if (g_ttd.cfg.retention_ns <= 0 && g_ttd.cfg.max_size == 0 &&
	    g_ttd.cfg.rollup_retention_ns <= 0 && !g_ttd.cfg.recompress)
		return;
	tv.tv_sec = ns / 1000000000;
	tv.tv_usec = (ns % 1000000000) / 1000;
	event_add(gc_ev, &tv);
}

/* SIGHUP: options are parsed again exactly as at start (the config file, then
 * the command line over it); the reloadable ones take effect, the listen
 * addresses, store, commit interval and sync mode need a restart. */
static int saved_argc;
static char **saved_argv;

static void
reload(void)
{
	ttd_config n, old;
	int same_alerts, new_alerts;

	log_info("SIGHUP: reopening log, reloading configuration");
	if (ttd_log_open(g_ttd.cfg.log_file) < 0)
		log_err("could not reopen log '%s'", g_ttd.cfg.log_file);
	if (ttd_config_defaults(&n) < 0)
		return;
	if (ttd_config_args(&n, saved_argc, saved_argv) != 0 || ttd_config_finish(&n) < 0) {
		log_err("reload: configuration has errors; keeping the running one");
		ttd_config_free(&n);
		return;
	}
	if (strcmp(n.store, g_ttd.cfg.store) != 0 ||
	    (n.http && g_ttd.cfg.http && strcmp(n.http, g_ttd.cfg.http) != 0) ||
	    n.commit_ms != g_ttd.cfg.commit_ms || n.sync != g_ttd.cfg.sync ||
	    n.segment_size != g_ttd.cfg.segment_size || n.max_conns != g_ttd.cfg.max_conns ||
	    n.format_version != g_ttd.cfg.format_version)
		log_warn("reload: store, http, socket, commit-interval, sync, "
		    "segment-size, format-version and max-connections apply after a restart");
	/* keep what needs a restart */
	old = g_ttd.cfg;
	same_alerts = n.alerts && old.alerts && strcmp(n.alerts, old.alerts) == 0;
	new_alerts = !same_alerts && (n.alerts || old.alerts);
#define KEEP_STR(f) do { free(n.f); n.f = old.f ? strdup(old.f) : NULL; } while (0)
	KEEP_STR(store);
	KEEP_STR(http);
	KEEP_STR(socket);
	KEEP_STR(port_file);
	KEEP_STR(group);
#undef KEEP_STR
	n.commit_ms = old.commit_ms;
	n.sync = old.sync;
	n.segment_size = old.segment_size;
	n.format_version = old.format_version;
	n.max_conns = old.max_conns;
	g_ttd.cfg = n;
	ttd_config_free(&old);
	ttd_log_set_level(g_ttd.cfg.log_level);
	ttd_ui_set_dir(g_ttd.cfg.ui_dir);
	if (ttd_log_open(g_ttd.cfg.log_file) < 0)
		log_err("could not open log '%s'", g_ttd.cfg.log_file);
	arm_gc();
	if (same_alerts)
		ttd_alerts_reload();
	else if (new_alerts)
		log_warn("reload: a new --alerts file applies after a restart");
	log_info("configuration reloaded");
}

static void
stop(const char *why)
{
	struct timeval tv = { 0, 150 * 1000 };

	if (g_ttd.stopping)
		return;
	g_ttd.stopping = 1;
	log_info("%s: stopping (no new connections, flushing)", why);
	ttd_http_stop_accepting();
	ttd_sock_stop_accepting();
	ttd_sse_shutdown();
	ttd_forward_stop();
	ttd_ingest_shutdown();
	/* give the loop a moment to write the answers just queued */
	event_base_loopexit(g_ttd.base, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	if (sig == SIGHUP)
		reload();
	else
		stop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

int
main(int argc, char **argv)
{
	ttd_config *c = &g_ttd.cfg;
	tt_store_opts so;
	int r, rc = 1;

	signal(SIGPIPE, SIG_IGN);
	/* Record bytes are allocated on this thread and freed on the writer's;
	 * with glibc's default arena count that churn leaves 30-60 MiB of heap
	 * behind under socket load, with two arenas it stays at 14 MiB (1 M
	 * records, bench/ttd.sh) at the same speed. */
	(void)mallopt(M_ARENA_MAX, 2);
	if (ttd_config_defaults(c) < 0)
		return 3;
	saved_argc = argc;
	saved_argv = argv;
	r = ttd_config_args(c, argc, argv);
	if (r != 0)
		return r > 0 ? 0 : 2;
	ttd_log_set_level(c->log_level);
	if (c->log_file && ttd_log_open(c->log_file) < 0) {
		fprintf(stderr, "ttd: could not open log file '%s': %s\n", c->log_file,
		    strerror(errno));
		return 3;
	}
	if (ttd_config_finish(c) < 0)
		return 2;
	if ((r = mkdir_p(c->store)) < 0) {
		log_err("could not create store directory '%s': %s", c->store, strerror(-r));
		return 4;
	}
	if (take_lock(c->store) < 0)
		return 4;
	g_ttd.started_ns = ttd_now_ns();

	memset(&so, 0, sizeof so);
	so.flags = TT_OPEN_CREATE | (c->format_version == 1 ? TT_OPEN_FORMAT1 : 0);
	so.commit_ms = c->commit_ms;
	so.sync = c->sync;
	so.segment_size = c->segment_size;
	so.rec_max = (size_t)c->max_record;
	so.on_problem = on_problem;
	if (c->group) {
		so.flags |= TT_OPEN_GROUP;
		so.gid = c->group_gid;
	}
	if ((r = tt_store_open(&g_ttd.store, c->store, &so)) < 0) {
		log_err("could not open store '%s': %s", c->store, tt_strerror(r));
		return 4;
	}
	if ((r = tt_writer_open(g_ttd.store, &g_ttd.writer)) < 0) {
		log_err("could not open a writer on '%s': %s", c->store, tt_strerror(r));
		rc = 4;
		goto out;
	}
	{
		tt_decode_opts dopt = { (size_t)c->max_record };
		if ((r = tt_decoder_new(&g_ttd.dec, &dopt)) < 0) {
			log_err("decoder: %s", tt_strerror(r));
			goto out;
		}
	}
	if ((g_ttd.base = event_base_new()) == NULL) {
		log_err("could not create the event loop");
		goto out;
	}
	if (ttd_ingest_init() < 0 || ttd_sse_init() < 0)
		goto out;
	if (ttd_http_start() < 0 || ttd_sock_start() < 0) {
		rc = 4; /* address in use or not ours */
		goto out;
	}
	if (c->port_file) {
		FILE *f = fopen(c->port_file, "we");
		if (f == NULL || fprintf(f, "%d\n", ttd_http_port()) < 0 || fclose(f) != 0) {
			log_err("could not write port file '%s'", c->port_file);
			goto out;
		}
	}
	sig_ev[0] = evsignal_new(g_ttd.base, SIGTERM, signal_cb, NULL);
	sig_ev[1] = evsignal_new(g_ttd.base, SIGINT, signal_cb, NULL);
	sig_ev[2] = evsignal_new(g_ttd.base, SIGHUP, signal_cb, NULL);
	for (int i = 0; i < 3; i++)
		if (sig_ev[i] == NULL || event_add(sig_ev[i], NULL) < 0)
			goto out;
	arm_gc();
	ttd_ui_set_dir(c->ui_dir);
	if (c->alerts && ttd_alerts_start(c->alerts, c->alert_interval_ns) < 0) {
		rc = 2; /* a bad rules file: named with FILE:LINE in the log */
		goto out;
	}
	if (ttd_forward_start() < 0) {
		rc = 2; /* a bad URL, filter or cursor file: logged */
		goto out;
	}
	log_info("ttd %s ready: store %s, commit interval %u ms, sync %s%s",
	    TT_VERSION_STRING, c->store, c->commit_ms,
	    c->sync == TT_SYNC_FULL ? "full" : "none", c->token ? ", auth on" : "");

	event_base_dispatch(g_ttd.base);
	rc = 0;
out:
	if (g_ttd.base && !g_ttd.stopping && g_ttd.writer) {
		g_ttd.stopping = 1;
		ttd_sse_shutdown();
		ttd_ingest_shutdown();
	}
	ttd_alerts_stop();
	ttd_forward_stop();
	ttd_ui_set_dir(NULL);
	ttd_spanmetrics_fini();
	ttd_sock_fini();
	ttd_http_fini();
	ttd_ingest_fini();
	for (int i = 0; i < 3; i++)
		if (sig_ev[i])
			event_free(sig_ev[i]);
	if (gc_ev)
		event_free(gc_ev);
	if (g_ttd.writer) {
		r = tt_writer_close(g_ttd.writer, 1);
		if (r < 0) {
			log_err("final flush failed: %s", tt_strerror(r));
			rc = 3;
		}
	}
	rw_join();
	tt_decoder_free(g_ttd.dec);
	tt_store_close(g_ttd.store);
	if (g_ttd.base)
		event_base_free(g_ttd.base);
	if (rc == 0)
		log_info("stopped");
	ttd_config_free(c);
	if (lock_fd >= 0)
		(void)close(lock_fd);
	return rc;
}
