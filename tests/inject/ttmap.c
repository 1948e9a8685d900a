/*
 * ttmap.c -- LMDB resource helper of tests/t/t8220-lmdb.sh.
 *
 * The tools have no option for the initial LMDB map size (1 GiB), so map
 * growth is driven through the library with a tiny one:
 *
 *   ttmap ingest DIR MAPSIZE N FIRST   append records n = FIRST..FIRST+N-1 (ids
 *                                      "m<n%97>") with MAPSIZE as the initial
 *                                      map, committing every 500 (the map
 *                                      size it reached: mdb_stat -e; not read
 *                                      here: a second LMDB environment in one
 *                                      process drops the first one's locks);
 *                                      on failure "ttmap: N records durable"
 *   ttmap scan DIR MAPSIZE SECONDS     scan the whole store again and again
 *                                      with MAPSIZE as the initial map (so it
 *                                      must adopt the writer's growth,
 *                                      MDB_MAP_RESIZED); every scan must see a
 *                                      prefix n = 0..k-1 of what was written,
 *                                      k never decreasing; prints "scans S
 *                                      last K map M"
 *   ttmap hold DIR                     open the index with plain LMDB, begin a
 *                                      read transaction, print "holding",
 *                                      wait to be killed (a stale reader slot
 *                                      pinning a snapshot)
 *   ttmap open DIR                     the same without the transaction: keeps
 *                                      the environment (and LMDB's reader
 *                                      table) open, pins nothing
 *
 * Exit status 0, or 1 with a message on stderr.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "teratrace.h"

static void die(const char *what, int rc)
{
	fprintf(stderr, "ttmap: %s: %s\n", what, tt_strerror(rc));
	exit(1);
}

static tt_store *open_at(const char *dir, uint64_t map, unsigned flags)
{
	tt_store_opts o;
	tt_store *s;
	int rc;
	memset(&o, 0, sizeof o);
	o.flags = flags;
	o.map_size = map;
	if ((rc = tt_store_open(&s, dir, &o)) != 0)
		die("open", rc);
	return s;
}

struct sinkctx { tt_writer *w; };

static int put(void *ctx, const uint8_t *rec, size_t len)
{
	int64_t rc = tt_writer_append_decoded(((struct sinkctx *)ctx)->w, rec, len);
	return rc > 0 ? 0 : (int)rc;
}

static int cmd_ingest(const char *dir, uint64_t map, long n, long first)
{
	tt_store *s = open_at(dir, map, TT_OPEN_CREATE);
	tt_writer *w;
	tt_decoder *d;
	struct sinkctx c;
	tt_sink sink;
	char line[512];
	int rc;

	if ((rc = tt_writer_open(s, &w)) != 0)
		die("writer", rc);
	if ((rc = tt_decoder_new(&d, NULL)) != 0)
		die("decoder", rc);
	c.w = w;
	memset(&sink, 0, sizeof sink);
	sink.record = put;
	sink.ctx = &c;
	for (long i = first; i < first + n; i++) {
		tt_rec_err err;
		int len = snprintf(line, sizeof line,
		    "{\"ts\":%lld,\"corr\":\"m%ld\",\"service\":\"s%ld\",\"n\":%ld,\"msg\":\"map growth %ld %lx\"}",
		    1732147200000000000LL + (long long)i * 1000, i % 97, i % 5, i, i, (unsigned long)i * 2654435761u);
		memset(&err, 0, sizeof err);
		if ((rc = tt_decode_json(d, line, (size_t)len, 0, 0, &sink, &err)) < 0 ||
		    ((i - first) % 500 == 499 && (rc = tt_writer_flush(w)) < 0)) {
			fprintf(stderr, "ttmap: %llu records durable\n",
			    (unsigned long long)tt_writer_durable(w));
			die("append", tt_writer_error(w) ? tt_writer_error(w) : rc);
		}
	}
	if ((rc = tt_writer_close(w, 0)) < 0)
		die("close", rc);
	tt_decoder_free(d);
	tt_store_close(s);
	return 0;
}

struct scanctx { long next; int bad; };

static int seen(void *ctx, const tt_rec *r)
{
	struct scanctx *c = ctx;
	tt_value v;
	if (tt_rec_field(r->data, r->len, "n", &v) != 1 ||
	    (v.type == TT_V_UINT ? (long)v.v.u : v.type == TT_V_INT ? (long)v.v.i : -1) != c->next) {
		c->bad = 1;
		return 1;
	}
	c->next++;
	return 0;
}

static int cmd_scan(const char *dir, uint64_t map, int secs)
{
	tt_store *s = open_at(dir, map, TT_OPEN_RDONLY);
	time_t end = time(NULL) + secs;
	long last = 0, scans = 0;
	int rc;

	do {
		struct scanctx c = { 0, 0 };
		tt_scan sc;
		memset(&sc, 0, sizeof sc);
		sc.since = TT_TS_MIN;
		sc.until = TT_TS_MAX;
		if ((rc = tt_store_scan(s, &sc, seen, &c, NULL)) < 0)
			die("scan", rc);
		if (c.bad) {
			fprintf(stderr, "ttmap: scan %ld: record %ld out of order or missing\n", scans, c.next);
			return 1;
		}
		if (c.next < last) {
			fprintf(stderr, "ttmap: scan %ld saw %ld records after %ld\n", scans, c.next, last);
			return 1;
		}
		last = c.next;
		scans++;
	} while (time(NULL) < end);
	printf("scans %ld last %ld\n", scans, last);
	tt_store_close(s);
	return 0;
}

/* hold: a read transaction open (a snapshot pinned); open: the environment
 * only, no transaction (keeps LMDB's reader table, pins nothing) */
static int cmd_hold(const char *dir, int txn) __attribute__((noreturn));
static int cmd_hold(const char *dir, int txn)
{
	MDB_env *e;
	MDB_txn *t;
	MDB_dbi dbi;
	MDB_stat st;
	char p[4200];
	int rc;
	snprintf(p, sizeof p, "%s/index", dir);
	if ((rc = mdb_env_create(&e)) || (rc = mdb_env_set_maxdbs(e, 4096)) ||
	    (rc = mdb_env_set_maxreaders(e, 1024)) ||
	    (rc = mdb_env_open(e, p, MDB_RDONLY | MDB_NOTLS, 0600)) ||
	    (txn && ((rc = mdb_txn_begin(e, NULL, MDB_RDONLY, &t)) ||
	    (rc = mdb_dbi_open(t, NULL, 0, &dbi)) || (rc = mdb_stat(t, dbi, &st)))))
		die("hold", rc > 0 ? -rc : rc);
	printf(txn ? "holding\n" : "open\n");
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "ingest"))
		return cmd_ingest(argv[2], strtoull(argv[3], NULL, 0), atol(argv[4]), atol(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "scan"))
		return cmd_scan(argv[2], strtoull(argv[3], NULL, 0), atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "open"))
		return cmd_hold(argv[2], 0);
	fprintf(stderr, "usage: ttmap ingest DIR MAPSIZE N FIRST | scan DIR MAPSIZE SECONDS | "
	    "hold DIR | open DIR\n");
	return 2;
}
