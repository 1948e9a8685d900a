/*
 * bench_sql.c -- the SQLite baseline, set up the way TraceHub stores traces:
 * one table with a rowid, the correlation id, a timestamp, a few checkpoint
 * columns and the whole record as JSON text; indexes on correlation id and
 * timestamp; WAL journal, synchronous=NORMAL (commits are not fsynced: the
 * last transactions may be lost on power failure, unlike libstore's default
 * TT_SYNC_FULL); prepared inserts batched in transactions.
 *
 * The columns are extracted from each JSON line with the same decoder the
 * TeraTrace JSON path uses (tt_decode_json + tt_rec_info_get), so both sides
 * pay the same parsing cost; the data column holds the original line.
 */
#include "bench.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "teratrace.h"

const char sql_schema[] =
    "CREATE TABLE traces (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  correlation_id TEXT NOT NULL,\n"
    "  ts INTEGER NOT NULL,          -- ns since the epoch\n"
    "  source_id TEXT,               -- service\n"
    "  hostname TEXT,\n"
    "  level TEXT,\n"
    "  direction TEXT,\n"
    "  operation TEXT,\n"
    "  endpoint TEXT,\n"
    "  data TEXT NOT NULL            -- the record as JSON\n"
    ");\n"
    "CREATE INDEX idx_traces_correlation ON traces(correlation_id);\n"
    "CREATE INDEX idx_traces_ts ON traces(ts);\n";

const char sql_lookup_sql[] =
    "SELECT data FROM traces WHERE correlation_id = ? ORDER BY ts";

static int sql_err(bres *r, sqlite3 *db, const char *what)
{
	bres_fail(r, -EIO, "sqlite: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
	return r->rc;
}

static int sql_open(const char *path, int rw, sqlite3 **db, bres *r)
{
	int fl = rw ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;

	if (sqlite3_open_v2(path, db, fl, NULL) != SQLITE_OK) {
		sql_err(r, *db, "open");
		sqlite3_close(*db);
		*db = NULL;
		return r->rc;
	}
	return 0;
}

static int sql_exec(sqlite3 *db, const char *sql, bres *r)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		bres_fail(r, -EIO, "sqlite: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return r->rc;
	}
	return 0;
}

/* ---- load */

struct load {
	sqlite3 *db;
	sqlite3_stmt *ins;
	const char *line; /* JSON text of the line being decoded */
	size_t line_len;
	uint64_t rows, in_txn, rejected;
	int batch;
	bres *r;
};

static void bind_s(sqlite3_stmt *st, int col, const char *p, size_t n)
{
	if (p == NULL)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_text(st, col, p, (int)n, SQLITE_STATIC);
}

static int load_rec(void *ctx, const uint8_t *rec, size_t len)
{
	struct load *L = ctx;
	tt_rec_info in;
	sqlite3_stmt *st = L->ins;
	int rc = tt_rec_info_get(rec, len, &in);

	if (rc < 0 || in.corr.p == NULL) {
		L->rejected++;
		return 0;
	}
	bind_s(st, 1, in.corr.p, in.corr.n);
	sqlite3_bind_int64(st, 2, in.ts);
	bind_s(st, 3, in.service.p, in.service.n);
	bind_s(st, 4, in.host.p, in.host.n);
	if (in.level != TT_LVL_NONE)
		sqlite3_bind_text(st, 5, tt_level_name(in.level), -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	bind_s(st, 6, in.dir.p, in.dir.n);
	bind_s(st, 7, in.name.p, in.name.n);
	bind_s(st, 8, in.endpoint.p, in.endpoint.n);
	sqlite3_bind_text(st, 9, L->line, (int)L->line_len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		sql_err(L->r, L->db, "insert");
		return -EIO;
	}
	sqlite3_reset(st);
	L->rows++;
	if (++L->in_txn >= (uint64_t)L->batch) {
		if (sql_exec(L->db, "COMMIT; BEGIN", L->r) < 0)
			return -EIO;
		L->in_txn = 0;
	}
	return 0;
}

static void load_reject(void *ctx, size_t index, const tt_rec_err *err)
{
	struct load *L = ctx;
	(void)index;
	(void)err;
	L->rejected++;
}

int sql_phase_load(void *args, bres *r)
{
	const sql_load_args *a = args;
	struct load L;
	tt_decoder *dec = NULL;
	tt_sink sink = { load_rec, load_reject, &L };
	char path[600];
	brd rd = { .fd = -1 };
	const char *line;
	size_t n;
	uint64_t t0, bytes = 0;
	int rc;

	memset(&L, 0, sizeof L);
	L.batch = a->batch > 0 ? a->batch : 10000;
	L.r = r;
	(void)rm_rf(a->db);
	if (sql_open(a->db, 1, &L.db, r) < 0)
		return r->rc;
	if (sql_exec(L.db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", r) < 0 ||
	    sql_exec(L.db, sql_schema, r) < 0)
		goto out;
	if (sqlite3_prepare_v2(L.db,
	        "INSERT INTO traces (correlation_id, ts, source_id, hostname, level, "
	        "direction, operation, endpoint, data) VALUES (?,?,?,?,?,?,?,?,?)",
	        -1, &L.ins, NULL) != SQLITE_OK) {
		sql_err(r, L.db, "prepare insert");
		goto out;
	}
	if ((rc = tt_decoder_new(&dec, NULL)) < 0) {
		bres_fail(r, rc, "tt_decoder_new: %s", tt_strerror(rc));
		goto out;
	}
	if ((rc = brd_open(&rd, path_join(path, sizeof path, a->d->dir, "data.jsonl"),
	         8u << 20)) < 0) {
		bres_fail(r, rc, "open %s: %s", path, strerror(-rc));
		goto out;
	}
	t0 = bnow_ns();
	if (sql_exec(L.db, "BEGIN", r) < 0)
		goto out;
	while ((rc = brd_line(&rd, &line, &n)) == 1) {
		tt_rec_err e;
		L.line = line;
		L.line_len = n;
		bytes += n + 1;
		rc = tt_decode_json(dec, line, n, 1, 0, &sink, &e);
		if (r->rc)
			goto out;
		if (rc < 0)
			L.rejected++;
	}
	if (rc < 0) {
		bres_fail(r, rc, "read data.jsonl: %s", strerror(-rc));
		goto out;
	}
	if (sql_exec(L.db, "COMMIT", r) < 0)
		goto out;
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	r->records = L.rows;
	r->bytes = bytes;
	r->aux = L.rejected;
	/* fold the WAL into the database so the size measured is the table's */
	(void)sql_exec(L.db, "PRAGMA wal_checkpoint(TRUNCATE)", r);
out:
	brd_close(&rd);
	tt_decoder_free(dec);
	sqlite3_finalize(L.ins);
	sqlite3_close(L.db);
	return r->rc;
}

/* ---- reads */

int sql_lookups(const char *path, char **ids, size_t nids, blat *l, bres *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t *ns = calloc(nids ? nids : 1, sizeof *ns), recs = 0, bytes = 0;
	size_t i;
	int pass;

	if (ns == NULL || sql_open(path, 0, &db, r) < 0)
		goto out;
	if (sqlite3_prepare_v2(db, sql_lookup_sql, -1, &st, NULL) != SQLITE_OK) {
		sql_err(r, db, "prepare lookup");
		goto out;
	}
	for (pass = 0; pass < 2; pass++) { /* pass 0 warms the caches */
		recs = bytes = 0;
		for (i = 0; i < nids; i++) {
			uint64_t t0 = bnow_ns();
			sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
			while (sqlite3_step(st) == SQLITE_ROW) {
				const unsigned char *d = sqlite3_column_text(st, 0);
				bytes += (uint64_t)sqlite3_column_bytes(st, 0) + (d != NULL);
				recs++;
			}
			sqlite3_reset(st);
			ns[i] = bnow_ns() - t0;
		}
	}
	blat_from(l, ns, nids);
	l->records = recs;
	l->bytes = bytes;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(ns);
	return r->rc;
}

int sql_scan_all(const char *path, bres *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t t0, recs = 0, bytes = 0;

	if (sql_open(path, 0, &db, r) < 0)
		return r->rc;
	if (sqlite3_prepare_v2(db, "SELECT data FROM traces ORDER BY id", -1, &st, NULL) !=
	    SQLITE_OK) {
		sql_err(r, db, "prepare scan");
		goto out;
	}
	t0 = bnow_ns();
	while (sqlite3_step(st) == SQLITE_ROW) {
		(void)sqlite3_column_text(st, 0);
		bytes += (uint64_t)sqlite3_column_bytes(st, 0);
		recs++;
	}
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	r->records = recs;
	r->bytes = bytes;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r->rc;
}

int sql_stats(const char *path, bres *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t t0, rows = 0, recs = 0;

	if (sql_open(path, 0, &db, r) < 0)
		return r->rc;
	if (sqlite3_prepare_v2(db, "SELECT source_id, ts / 60000000000, count(*), "
	        "sum(level IN ('error', 'fatal')) FROM traces GROUP BY 1, 2", -1, &st, NULL) !=
	    SQLITE_OK) {
		sql_err(r, db, "prepare stats");
		goto out;
	}
	t0 = bnow_ns();
	while (sqlite3_step(st) == SQLITE_ROW) {
		recs += (uint64_t)sqlite3_column_int64(st, 2);
		rows++;
	}
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	r->records = recs;
	r->bytes = rows;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r->rc;
}

int sql_tail(const char *path, size_t reps, blat *l, bres *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t *ns = calloc(reps ? reps : 1, sizeof *ns), recs = 0;
	size_t i;

	if (ns == NULL || sql_open(path, 0, &db, r) < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "SELECT data FROM traces ORDER BY ts DESC LIMIT 10", -1, &st,
	        NULL) != SQLITE_OK) {
		sql_err(r, db, "prepare tail");
		goto out;
	}
	for (i = 0; i < reps; i++) {
		uint64_t t0 = bnow_ns();
		recs = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			(void)sqlite3_column_text(st, 0);
			recs++;
		}
		sqlite3_reset(st);
		ns[i] = bnow_ns() - t0;
	}
	blat_from(l, ns, reps);
	l->records = recs;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(ns);
	return r->rc;
}

/* Retention the TraceHub way: DELETE ... WHERE ts < cutoff, one transaction. */
int sql_gc_age(const char *path, int64_t cutoff_ns, bres *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t t0;

	if (sql_open(path, 1, &db, r) < 0)
		return r->rc;
	if (sql_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", r) < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "DELETE FROM traces WHERE ts < ?", -1, &st, NULL) !=
	    SQLITE_OK) {
		sql_err(r, db, "prepare delete");
		goto out;
	}
	sqlite3_bind_int64(st, 1, cutoff_ns);
	t0 = bnow_ns();
	if (sql_exec(db, "BEGIN", r) < 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		sql_err(r, db, "delete");
		goto out;
	}
	r->records = (uint64_t)sqlite3_changes(db);
	if (sql_exec(db, "COMMIT", r) < 0)
		goto out;
	r->secs = (double)(bnow_ns() - t0) / 1e9;
	r->aux2 = 0; /* SQLite frees pages inside the file; the file does not shrink */
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r->rc;
}

uint64_t sql_disk(const char *path)
{
	char wal[600], shm[600];

	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(shm, sizeof shm, "%s-shm", path);
	return du_bytes(path) + du_bytes(wal) + du_bytes(shm);
}
