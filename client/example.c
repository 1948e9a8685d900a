/*
 * example.c -- ttclient-example: a program instrumented with libttclient,
 * and the driver of its tests (t7300) and of its per-span cost (--bench).
 *
 *   ttclient-example [-s SOCKET] [-n TRACES] [-t THREADS] [--fork]
 *                    [--traceparent TP] [--sample const:1|prob:P|rate:R]
 *                    [--pause-ms MS] [--bench] [--buffer-mb MB]
 *
 * Each trace is a root span "GET /checkout" with two children ("charge" with
 * an event and an error status on every tenth, "db.query"), a log record in
 * the trace and a checkpoint pair. It prints one line per trace:
 * "trace <32 hex>", then the client's counters, and exits 0 once ttd has
 * acknowledged everything (flush), 1 if it could not within 30 s.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ttclient.h"

static ttc_client *cl;
static int traces = 10, pause_ms;
static const char *traceparent;

static void one_trace(int i, FILE *out)
{
	ttc_ctx parent;
	ttc_span *root, *a, *b;
	char corr[33];

	root = ttc_span_start(cl, "GET /checkout",
	    traceparent && ttc_traceparent_parse(traceparent, &parent) == 0 ? &parent : NULL);
	ttc_span_kind(root, "server");
	ttc_span_attr_str(root, "http.method", "GET");
	ttc_span_attr_int(root, "http.status_code", i % 10 == 9 ? 500 : 200);
	a = ttc_span_start(cl, "charge", ttc_span_ctx(root));
	ttc_span_attr_double(a, "amount", 12.5 + i);
	ttc_span_attr_bool(a, "retry", i % 2);
	ttc_span_event(a, "card.authorised");
	if (i % 10 == 9)
		ttc_span_status(a, 1, "card declined");
	ttc_span_end(a);
	b = ttc_span_start(cl, "db.query", ttc_span_ctx(root));
	ttc_span_attr_str(b, "db.statement", "SELECT 1");
	ttc_span_end(b);
	ttc_log(cl, ttc_span_ctx(root), i % 10 == 9 ? TTC_ERROR : TTC_INFO, "checkout %d done", i);
	ttc_ctx_corr(ttc_span_ctx(root), corr);
	ttc_checkpoint(cl, corr, "->", "POST /pay", NULL);
	ttc_checkpoint(cl, corr, "<-", "POST /pay", NULL);
	ttc_span_end(root);
	if (out)
		fprintf(out, "trace %s\n", corr);
	if (pause_ms) {
		struct timespec ts = { pause_ms / 1000, (long)(pause_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}

static void *worker(void *arg)
{
	long t = (long)arg;
	FILE *out = t == 0 ? stdout : NULL; /* thread 0 names its traces */

	for (int i = 0; i < traces; i++)
		one_trace(i, out);
	return NULL;
}

/* --bench: wall time per span on this thread, and this thread's CPU time
 * (the second is what a loaded machine cannot inflate by preempting it). */
static void bench(double *wall_ns, double *cpu_ns)
{
	struct timespec t0, t1, c0, c1;
	const int n = 200000;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		ttc_span *s = ttc_span_start(cl, "bench", NULL);
		ttc_span_attr_int(s, "i", i);
		ttc_span_end(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	*wall_ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
	*cpu_ns = ((double)(c1.tv_sec - c0.tv_sec) * 1e9 + (double)(c1.tv_nsec - c0.tv_nsec)) / n;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' }, { "traces", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' }, { "fork", no_argument, NULL, 'f' },
		{ "traceparent", required_argument, NULL, 'p' }, { "sample", required_argument, NULL, 'S' },
		{ "pause-ms", required_argument, NULL, 'P' }, { "bench", no_argument, NULL, 'b' },
		{ "buffer-mb", required_argument, NULL, 'B' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	ttc_opts o;
	ttc_stats st;
	int c, threads = 1, do_fork = 0, do_bench = 0, rc;
	pthread_t th[64];

	memset(&o, 0, sizeof o);
	o.service = "example";
	while ((c = getopt_long(argc, argv, "s:n:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'n': traces = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'f': do_fork = 1; break;
		case 'p': traceparent = optarg; break;
		case 'P': pause_ms = atoi(optarg); break;
		case 'b': do_bench = 1; break;
		case 'B': o.buffer_bytes = (size_t)atoi(optarg) << 20; break;
		case 'S':
			if (!strncmp(optarg, "const:", 6)) o.sampler = TTC_SAMPLE_CONST;
			else if (!strncmp(optarg, "prob:", 5)) o.sampler = TTC_SAMPLE_PROB;
			else if (!strncmp(optarg, "rate:", 5)) o.sampler = TTC_SAMPLE_RATE;
			else { fprintf(stderr, "ttclient-example: bad --sample '%s'\n", optarg); return 2; }
			o.sample_param = atof(strchr(optarg, ':') + 1);
			break;
		case 'h':
			printf("usage: ttclient-example [-s SOCKET] [-n TRACES] [-t THREADS] [--fork]\n"
			    "       [--traceparent TP] [--sample const:1|prob:P|rate:R] [--pause-ms MS] [--bench]\n"
			    "       [--buffer-mb MB]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (threads < 1 || threads > 64)
		threads = 1;
	if ((rc = ttc_open(&cl, &o)) < 0) {
		fprintf(stderr, "ttclient-example: ttc_open: %s\n", strerror(-rc));
		return 1;
	}
	if (do_bench) {
		double wall, cpu;
		bench(&wall, &cpu);
		ttc_stats_get(cl, &st);
		printf("per span (start, one attribute, end): %.0f ns (caller thread CPU %.0f ns); "
		    "dropped %llu of %llu\n", wall, cpu, (unsigned long long)st.dropped,
		    (unsigned long long)(st.records + st.dropped));
		ttc_close(cl);
		return 0;
	}
	if (do_fork) {
		/* half the traces before fork, half in the child, half in the parent */
		pid_t pid;
		int half = traces / 2, status;
		traces = half;
		worker((void *)0);
		fflush(stdout);
		if ((pid = fork()) == 0) {
			worker((void *)0);
			rc = ttc_flush(cl, 30000);
			ttc_stats_get(cl, &st);
			fprintf(stderr, "child: records %llu acked %llu\n", (unsigned long long)st.records,
			    (unsigned long long)st.acked);
			fflush(stdout);
			_exit(rc == 0 && st.acked == st.records ? 0 : 1);
		}
		worker((void *)0);
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "ttclient-example: the child failed\n");
			return 1;
		}
	} else {
		for (long t = 0; t < threads; t++)
			pthread_create(&th[t], NULL, worker, (void *)t);
		for (int t = 0; t < threads; t++)
			pthread_join(th[t], NULL);
	}
	rc = ttc_flush(cl, 30000);
	ttc_stats_get(cl, &st);
	fprintf(stderr, "records %llu acked %llu rejected %llu dropped %llu unsampled %llu "
	    "connects %llu resent %llu\n", (unsigned long long)st.records,
	    (unsigned long long)st.acked, (unsigned long long)st.rejected,
	    (unsigned long long)st.dropped, (unsigned long long)st.unsampled,
	    (unsigned long long)st.connects, (unsigned long long)st.resent);
	ttc_close(cl);
	if (rc < 0)
		fprintf(stderr, "ttclient-example: flush: %s\n", strerror(-rc));
	return rc == 0 ? 0 : 1;
}
