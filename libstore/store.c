/*
 * store.c -- opening and closing a store; LMDB transactions, map growth,
 * caches of per-segment database handles and segment file descriptors.
 *
 * Map growth: LMDB files never shrink and the map must be sized up front. We
 * start at opts.map_size and double on MDB_MAP_FULL; another process that grew
 * the map makes our next txn_begin fail with MDB_MAP_RESIZED, and we adopt the
 * new size. Both need no transaction live in this process, hence txn_lock:
 * every transaction holds it shared, a resize holds it exclusive.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "store.h"

const char *tt_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case TT_ECORRUPT: return "corrupt data (checksum or structure mismatch)";
	case TT_EVERSION: return "unsupported format version";
	case TT_EBADREC: return "malformed record";
	case TT_ETOOBIG: return "limit exceeded";
	case TT_ENOTFOUND: return "not found";
	case TT_ELOCKED: return "locked by another process";
	case TT_ESTALE: return "cursor is from another index generation";
	case TT_EREADONLY: return "store is open read-only";
	case TT_EBADARG: return "invalid argument";
	case TT_ECLOSED: return "writer has failed or is closed";
	}
	if (err >= MDB_KEYEXIST && err <= MDB_LAST_ERRCODE)
		return mdb_strerror(err);
	if (err < 0 && err > -4096) {
		static __thread char buf[128];
		snprintf(buf, sizeof buf, "%s", strerror(-err));
		return buf;
	}
	return "unknown error";
}

int tt_index_damaged(int err)
{
	return err == TT_ECORRUPT || err == MDB_INVALID || mdb_damage(err);
}

int64_t store_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void store_seg_path(const tt_store *s, uint64_t seg, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%016llx.tts", s->segdir, (unsigned long long)seg);
}

void store_problem(tt_store *s, uint64_t seg, uint64_t off, int code, const char *what)
{
	tt_problem p = { seg, off, code, what };
	if (s->o.on_problem)
		s->o.on_problem(s->o.problem_ctx, &p);
}

int store_fsync_dir(tt_store *s)
{
	if (s->o.sync == TT_SYNC_NONE)
		return 0;
	return fsync(s->segdir_fd) < 0 ? -errno : 0;
}

int store_get_u64(MDB_txn *t, MDB_dbi db, const char *key, uint64_t *v)
{
	MDB_val k = { strlen(key), (void *)key }, d;
	int rc = mdb_get(t, db, &k, &d);
	if (rc)
		return rc == MDB_NOTFOUND ? TT_ENOTFOUND : rc;
	if (d.mv_size != 8)
		return TT_ECORRUPT;
	*v = get64(d.mv_data);
	return 0;
}

int store_put_u64(MDB_txn *t, MDB_dbi db, const char *key, uint64_t v)
{
	uint8_t b[8];
	MDB_val k = { strlen(key), (void *)key }, d = { 8, b };
	put64(b, v);
	return mdb_put(t, db, &k, &d, 0);
}

/* ---- transactions */

/* Set the map size (0: adopt the size another process grew it to). No txn of
 * this process may be live: the cached read txn is dropped under the
 * exclusive lock. */
static int map_resize(tt_store *s, int grow)
{
	MDB_envinfo ei;
	int rc;
	pthread_rwlock_wrlock(&s->txn_lock);
	pthread_mutex_lock(&s->mu);
	if (s->rtxn_cache) {
		mdb_txn_abort(s->rtxn_cache);
		s->rtxn_cache = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	mdb_env_info(s->env, &ei);
	rc = mdb_env_set_mapsize(s->env, grow ? ei.me_mapsize * 2 : 0);
	pthread_rwlock_unlock(&s->txn_lock);
	return rc;
}

int store_map_grow(tt_store *s)
{
	return map_resize(s, 1);
}

int store_rtxn(tt_store *s, MDB_txn **txn)
{
	int rc;
	for (int tries = 0; tries < 8; tries++) {
		MDB_txn *t = NULL;
		pthread_rwlock_rdlock(&s->txn_lock);
		pthread_mutex_lock(&s->mu);
		t = s->rtxn_cache;
		s->rtxn_cache = NULL;
		pthread_mutex_unlock(&s->mu);
		rc = t ? mdb_txn_renew(t) : mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t);
		if (rc == 0) {
			*txn = t;
			return 0;
		}
		if (t && rc)
			mdb_txn_abort(t);
		pthread_rwlock_unlock(&s->txn_lock);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		if ((rc = map_resize(s, 0)) != 0)
			return rc;
	}
	return MDB_MAP_RESIZED;
}

int store_rcursor(tt_store *s, MDB_dbi db, MDB_txn **txn, MDB_cursor **c)
{
	int rc;

	if ((rc = store_rtxn(s, txn)) != 0)
		return mdb_rc(rc);
	if ((rc = mdb_cursor_open(*txn, db, c)) != 0) {
		store_rtxn_done(s, *txn);
		return mdb_rc(rc);
	}
	return 0;
}

void store_rtxn_done(tt_store *s, MDB_txn *txn)
{
	if (!txn)
		return;
	mdb_txn_reset(txn);
	pthread_mutex_lock(&s->mu);
	if (!s->rtxn_cache) {
		s->rtxn_cache = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	if (txn)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->txn_lock);
}

int store_wtxn(tt_store *s, MDB_txn **txn)
{
	int rc;
	if (s->o.flags & TT_OPEN_RDONLY)
		return TT_EREADONLY;
	for (int tries = 0; tries < 8; tries++) {
		pthread_rwlock_rdlock(&s->txn_lock);
		rc = mdb_txn_begin(s->env, NULL, 0, txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&s->txn_lock);
		if (rc != MDB_MAP_RESIZED)
			return rc;
		if ((rc = map_resize(s, 0)) != 0)
			return rc;
	}
	return MDB_MAP_RESIZED;
}

/* LMDB turns a short write into EIO (mdb_page_flush), and a short write is
 * how a full file system shows itself: say ENOSPC when there is no room. */
static int commit_errno(tt_store *s, int rc)
{
	struct statvfs v;

	if (rc == EIO && statvfs(s->dir, &v) == 0 &&
	    (uint64_t)v.f_bavail * v.f_frsize < (1u << 20))
		return ENOSPC;
	return rc;
}

int store_wtxn_commit(tt_store *s, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	pthread_rwlock_unlock(&s->txn_lock);
	if (rc == MDB_MAP_FULL) {
		int g = store_map_grow(s);
		return g ? g : MDB_MAP_FULL;
	}
	return commit_errno(s, rc);
}

void store_wtxn_abort(tt_store *s, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->txn_lock);
}

/* ---- per-segment database handles. Opening a named DB must happen in a txn
 * that then commits (so the handle becomes shared), one at a time. */

int store_seg_dbi(tt_store *s, uint64_t seg, int create, MDB_txn *wtxn, MDB_dbi *out)
{
	char name[32];
	MDB_txn *t = wtxn;
	MDB_dbi dbi;
	int rc;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->ndbis; i++)
		if (s->dbis[i].seg == seg) {
			*out = s->dbis[i].dbi;
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
	pthread_mutex_unlock(&s->mu);
	snprintf(name, sizeof name, "c/%016llx", (unsigned long long)seg);
	pthread_mutex_lock(&s->dbi_mu); /* mdb_dbi_open: one txn at a time */
	if (!t) {
		/* a private read txn: mdb_dbi_open on an existing DB, then commit */
		pthread_rwlock_rdlock(&s->txn_lock);
		if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t)) != 0) {
			pthread_rwlock_unlock(&s->txn_lock);
			pthread_mutex_unlock(&s->dbi_mu);
			return rc;
		}
	}
	rc = mdb_dbi_open(t, name, MDB_DUPSORT | MDB_DUPFIXED | (create ? MDB_CREATE : 0), &dbi);
	if (!wtxn) {
		if (rc == 0)
			rc = mdb_txn_commit(t);
		else
			mdb_txn_abort(t);
		pthread_rwlock_unlock(&s->txn_lock);
	}
	pthread_mutex_unlock(&s->dbi_mu);
	if (rc)
		return rc == MDB_NOTFOUND ? TT_ENOTFOUND : rc;
	if (!wtxn) { /* a handle opened in a caller's write txn is cached after its commit by the caller */
		pthread_mutex_lock(&s->mu);
		if (s->ndbis == s->cap_dbis) {
			size_t nc = s->cap_dbis ? s->cap_dbis * 2 : 16;
			struct dbient *n = realloc(s->dbis, nc * sizeof *n);
			if (n)
				s->dbis = n, s->cap_dbis = nc;
		}
		if (s->ndbis < s->cap_dbis)
			s->dbis[s->ndbis++] = (struct dbient){ seg, dbi };
		pthread_mutex_unlock(&s->mu);
	}
	*out = dbi;
	return 0;
}

void store_forget_seg(tt_store *s, uint64_t seg)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->ndbis; i++)
		if (s->dbis[i].seg == seg) {
			s->dbis[i] = s->dbis[--s->ndbis];
			break;
		}
	for (size_t i = 0; i < s->nfds; i++)
		if (s->fds[i].seg == seg) {
			close(s->fds[i].fd);
			s->fds[i] = s->fds[--s->nfds];
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

/* A cached read-only fd. A file unlinked by another process's gc is dropped
 * from the cache (st_nlink == 0) so its space is freed. */
int store_seg_fd(tt_store *s, uint64_t seg, int *fd)
{
	char path[4096];
	int f;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nfds; i++)
		if (s->fds[i].seg == seg) {
			struct stat st;
			if (fstat(s->fds[i].fd, &st) == 0 && st.st_nlink > 0) {
				*fd = s->fds[i].fd;
				pthread_mutex_unlock(&s->mu);
				return 0;
			}
			close(s->fds[i].fd);
			s->fds[i] = s->fds[--s->nfds];
			break;
		}
	pthread_mutex_unlock(&s->mu);
	store_seg_path(s, seg, path, sizeof path);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	{
		/* FORMAT.md 12: a segment of an unknown version or incompat bits is
		 * refused, as is one of another store (uuid; 6.1). A header that is
		 * merely damaged is reported (once per open) and the blocks are read
		 * all the same: each verifies on its own. */
		uint8_t hdr[SEG_HDR_SIZE];
		int rc = seg_pread_full(f, hdr, sizeof hdr, 0);
		if (rc == 0)
			rc = seg_header_check(hdr, seg);
		if (rc == 0 && memcmp(hdr + 32, s->uuid, 16) != 0)
			rc = TT_ESTALE; /* another store's */
		if (rc == TT_EVERSION || rc == TT_ESTALE || (rc < 0 && rc != TT_ECORRUPT)) {
			close(f);
			return rc;
		}
		if (rc == TT_ECORRUPT)
			store_problem(s, seg, 0, rc, "bad segment header");
	}
	pthread_mutex_lock(&s->mu);
	if (s->nfds == sizeof s->fds / sizeof s->fds[0]) {
		close(s->fds[0].fd);
		s->fds[0] = s->fds[--s->nfds];
	}
	s->fds[s->nfds++] = (struct fdent){ seg, f };
	pthread_mutex_unlock(&s->mu);
	*fd = f;
	return 0;
}

/* ---- open / close */

/* fsync a directory by name: makes the entries created in it durable. */
static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* mkdir -p; the parent of each directory it creates is fsynced, so the new
 * path survives a power cut (FORMAT.md 8.0). */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);
	int rc;
	if (n >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1;; p++)
		if (*p == '/' || !*p) {
			char c = *p, *slash;
			*p = 0;
			if (mkdir(buf, c ? 0755 : mode) == 0) {
				if ((slash = strrchr(buf, '/')) != NULL) {
					*slash = 0;
					rc = fsync_path(slash == buf ? "/" : buf);
					*slash = '/';
				} else {
					rc = fsync_path(".");
				}
				if (rc < 0)
					return rc;
			} else if (errno != EEXIST) {
				return -errno;
			}
			if (!c)
				return 0;
			*p = '/';
		}
}

/* Does seg/ hold a segment file? */
static int segs_present(const tt_store *s)
{
	DIR *d = opendir(s->segdir);
	struct dirent *e;
	int found = 0;
	if (!d)
		return 0;
	while (!found && (e = readdir(d)) != NULL)
		found = strlen(e->d_name) == 20 && strcmp(e->d_name + 16, ".tts") == 0;
	closedir(d);
	return found;
}

static int meta_init(tt_store *s)
{
	MDB_txn *t;
	uint64_t v, gen = 1;
	MDB_val k = { 4, "uuid" }, d;
	int rc;

	/* fast path: an existing store needs only a read */
	if ((rc = store_rtxn(s, &t)) != 0)
		return rc;
	rc = store_get_u64(t, s->db_meta, "version", &v);
	if (rc == 0 && mdb_get(t, s->db_meta, &k, &d) == 0 && d.mv_size == 16) {
		memcpy(s->uuid, d.mv_data, 16);
		(void)store_get_u64(t, s->db_meta, "gen", &gen);
	}
	store_rtxn_done(s, t);
	if (rc == 0) {
		s->gen = (uint32_t)gen;
		s->version = (unsigned)v;
		return v >= 1 && v <= STORE_FORMAT_VERSION ? 0 : TT_EVERSION;
	}
	if (rc != TT_ENOTFOUND)
		return rc;
	if (s->o.flags & TT_OPEN_RDONLY)
		return TT_ENOTFOUND;
	/* An empty index beside segment files is a lost or destroyed index (a
	 * data.mdb cut to nothing, index/ removed), not a new store: starting
	 * afresh would let gc take every segment for an orphan and a writer reuse
	 * their ids. Only tt-check --rebuild-index (index_fresh) may. */
	if (!s->index_fresh && segs_present(s))
		return TT_ECORRUPT;
	if ((rc = store_wtxn(s, &t)) != 0)
		return rc;
	if (store_get_u64(t, s->db_meta, "version", &v) == 0) {
		/* another process initialised it meanwhile */
		store_wtxn_abort(s, t);
		return meta_init(s);
	}
	{
		uint8_t u[16];
		uint64_t a = XXH3_64bits_withSeed(s->dir, strlen(s->dir), (uint64_t)store_now());
		uint64_t b = XXH3_64bits_withSeed(&a, sizeof a, (uint64_t)getpid());
		put64(u, a), put64(u + 8, b);
		memcpy(s->uuid, u, 16);
		d.mv_size = 16, d.mv_data = u;
		if ((rc = store_put_u64(t, s->db_meta, "version", s->seg_version)) ||
		    (rc = mdb_put(t, s->db_meta, &k, &d, 0)) ||
		    (rc = store_put_u64(t, s->db_meta, "next_seq", 1)) ||
		    (rc = store_put_u64(t, s->db_meta, "next_seg", 1)) ||
		    (rc = store_put_u64(t, s->db_meta, "gen", 1))) {
			store_wtxn_abort(s, t);
			return rc;
		}
	}
	s->gen = 1;
	s->version = s->seg_version;
	return store_wtxn_commit(s, t);
}

static int open_main_dbs(tt_store *s)
{
	MDB_txn *t;
	unsigned cf = (s->o.flags & TT_OPEN_RDONLY) ? 0 : MDB_CREATE;
	int rc = mdb_txn_begin(s->env, NULL, (s->o.flags & TT_OPEN_RDONLY) ? MDB_RDONLY : 0, &t);
	if (rc)
		return rc;
	if ((rc = mdb_dbi_open(t, "meta", cf, &s->db_meta)) ||
	    (rc = mdb_dbi_open(t, "segs", cf, &s->db_segs)) ||
	    (rc = mdb_dbi_open(t, "blocks", cf, &s->db_blocks)) ||
	    (rc = mdb_dbi_open(t, "svc", cf, &s->db_svc))) {
		mdb_txn_abort(t);
		return rc == MDB_NOTFOUND ? TT_ENOTFOUND : rc;
	}
	/* added after version 1 stores were written: optional for a reader */
	s->db_svcsets = s->db_rollup = s->db_rgroups = 0;
	if (((rc = mdb_dbi_open(t, "svcsets", cf, &s->db_svcsets)) != 0 && rc != MDB_NOTFOUND) ||
	    ((rc = mdb_dbi_open(t, "rollup", cf, &s->db_rollup)) != 0 && rc != MDB_NOTFOUND) ||
	    ((rc = mdb_dbi_open(t, "rgroups", cf, &s->db_rgroups)) != 0 && rc != MDB_NOTFOUND)) {
		mdb_txn_abort(t);
		return rc;
	}
	return mdb_txn_commit(t);
}

/* LMDB asserts on pages it finds inconsistent (a damaged data.mdb) and then
 * calls abort(). A damaged index is a state the tools report, not a crash:
 * name the file and the way out, and exit 3 like any other corruption. Nothing
 * is lost by exiting here: the write transaction in progress was never
 * committed, and everything acknowledged is in the segments. */
static void mdb_assert_exit(MDB_env *env, const char *msg)
{
	const char *path = NULL;
	if (mdb_env_get_path(env, &path) != 0 || !path)
		path = "?";
	fprintf(stderr, "error: %s/data.mdb: index damaged (LMDB: %s); "
	        "run tt-check --rebuild-index\n", path, msg);
	_exit(3);
}

/* LMDB's table of named databases: room for every live segment's, or, for a
 * TT_OPEN_ONESHOT reader, for the segment files there are now (and the main
 * databases, and slack for a few created while it reads) */
static unsigned oneshot_dbs(const tt_store *s)
{
	DIR *d;
	struct dirent *e;
	unsigned n = 64;

	if ((s->o.flags & (TT_OPEN_ONESHOT | TT_OPEN_RDONLY)) != (TT_OPEN_ONESHOT | TT_OPEN_RDONLY) ||
	    !s->segdir || !(d = opendir(s->segdir)))
		return MAX_DBS;
	while ((e = readdir(d)) != NULL && n < MAX_DBS)
		n++;
	closedir(d);
	return n < MAX_DBS ? n : MAX_DBS;
}

/* A new LMDB environment handle in s->env, opened at path (s->env NULL on
 * failure). The map size of an existing env wins if larger (LMDB keeps the
 * max). */
static int env_open(tt_store *s, const char *path, unsigned envf)
{
	int rc;
	if ((rc = mdb_env_create(&s->env)) != 0)
		return rc;
	mdb_env_set_assert(s->env, mdb_assert_exit);
	mdb_env_set_maxdbs(s->env, oneshot_dbs(s));
	mdb_env_set_maxreaders(s->env, 1024);
	mdb_env_set_mapsize(s->env, s->o.map_size);
	if ((rc = mdb_env_open(s->env, path, envf, STORE_LMDB_MODE(s))) != 0) {
		mdb_env_close(s->env);
		s->env = NULL;
	} else if (s->group && !(envf & MDB_RDONLY)) {
		/* LMDB gives data.mdb the lock file's mode; the group only reads it */
		char data[4224];
		snprintf(data, sizeof data, "%s/data.mdb", path);
		(void)chmod(data, 0640);
	}
	return rc;
}

static void rm_index_dir(const char *dir)
{
	char p[4224];
	snprintf(p, sizeof p, "%s/data.mdb", dir);
	(void)unlink(p);
	snprintf(p, sizeof p, "%s/lock.mdb", dir);
	(void)unlink(p);
	(void)rmdir(dir);
}

/* Create seg/ and index/ of a new store (FORMAT.md 8.0). LMDB writes a new
 * environment's first pages without syncing them, so a power cut while it is
 * created can leave a data.mdb it refuses to open (MDB_INVALID) for ever: the
 * environment is therefore initialised in index.new.<pid>, synced, and only
 * then renamed to index/, and every directory that gains an entry is fsynced.
 * After a power cut there is either no index/ (the next open creates it) or
 * one LMDB opens. A concurrent creator that renamed first wins; ours goes. */
static int store_create(tt_store *s, const char *index)
{
	char tmp[4200];
	int rc;

	if (store_mkdir(s, s->segdir) < 0 && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof tmp, "%s/index.new.%ld", s->dir, (long)getpid());
	rm_index_dir(tmp); /* left by a creator with our pid that crashed */
	if (store_mkdir(s, tmp) < 0)
		return -errno;
	if ((rc = env_open(s, tmp, MDB_NOTLS | MDB_NORDAHEAD)) == 0) {
		if ((rc = open_main_dbs(s)) == 0)
			rc = meta_init(s); /* a synced commit */
		if (s->rtxn_cache) {
			mdb_txn_abort(s->rtxn_cache);
			s->rtxn_cache = NULL;
		}
		mdb_env_close(s->env);
		s->env = NULL;
	}
	if (rc == 0)
		rc = fsync_path(tmp);
	if (rc == 0 && rename(tmp, index) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		rc = -errno;
	rm_index_dir(tmp); /* gone when renamed; else a loser's or a failure's */
	if (rc == 0)
		rc = fsync_path(s->dir);
	return rc > 0 ? -rc : rc;
}

/* LMDB trusts its meta page: one whose page count was damaged makes it map
 * (and read) past the end of the file -- SIGBUS, or mmap ENOMEM for a huge
 * map. So before opening, the newer of the two meta pages (LMDB data format
 * 1: page header 16 bytes, then magic, version, address, mapsize, 2 x 48-byte
 * db records whose first holds the page size, last_pg, txnid) must describe
 * no page past the end of data.mdb. 0 when sane or not recognisable (LMDB
 * then judges it itself). */
static int lmdb_meta_sane(const char *data)
{
	uint8_t m[2][160];
	struct stat st;
	uint32_t psize, newest_psize = 0;
	uint64_t last = 0, txn = 0;
	int fd = open(data, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return 0;
	/* the file's size is taken after the meta pages are read: a writer
	 * committing meanwhile writes its pages before its meta page, so the
	 * size is never older than the newest meta read (a size taken first
	 * made a concurrent commit look like a damaged index) */
	if (pread(fd, m[0], sizeof m[0], 0) == (ssize_t)sizeof m[0] &&
	    get32(m[0] + 16) == 0xBEEFC0DE) {
		/* LMDB reads meta 1 one page after meta 0 and then takes the
		 * newer one whole, its page size (dbs[0].md_pad) included: a
		 * damaged page size there makes it map pages past the end of the
		 * file (SIGBUS) */
		psize = get32(m[0] + 40);
		if (psize < 512 || (psize & (psize - 1)) || psize > 65536)
			psize = (uint32_t)sysconf(_SC_PAGESIZE);
		if (pread(fd, m[1], sizeof m[1], psize) != (ssize_t)sizeof m[1])
			memset(m[1], 0, sizeof m[1]);
		for (int i = 0; i < 2; i++)
			if (get32(m[i] + 16) == 0xBEEFC0DE && get64(m[i] + 144) >= txn) {
				txn = get64(m[i] + 144);
				last = get64(m[i] + 136);
				newest_psize = get32(m[i] + 40);
			}
		if (newest_psize != psize || (fstat(fd, &st) == 0 && last >= (uint64_t)st.st_size / psize))
			rc = TT_ECORRUPT;
	}
	close(fd);
	return rc;
}

/* Open the environment at path as s->env with its main databases and meta.
 * A data.mdb shorter than the pages its meta page says are in use (cut
 * outside LMDB) is TT_ECORRUPT: mapping it would make the first read past
 * its end a SIGBUS. */
int store_env_open(tt_store *s, const char *path)
{
	unsigned envf = MDB_NOTLS | MDB_NORDAHEAD;
	char data[4224];
	struct stat st;
	MDB_envinfo ei;
	MDB_stat ms;
	int rc, dead;

	if (s->o.sync == TT_SYNC_NONE)
		envf |= MDB_NOSYNC;
	if (s->o.flags & TT_OPEN_RDONLY)
		envf |= MDB_RDONLY;
	/* index/ is renamed into place only once initialised (store_create):
	 * a data.mdb without its two meta pages was cut short afterwards */
	snprintf(data, sizeof data, "%s/data.mdb", path);
	if (stat(data, &st) == 0 && (st.st_size < 2 * 4096 || lmdb_meta_sane(data) < 0))
		return TT_ECORRUPT;
	if ((rc = env_open(s, path, envf)) != 0) {
		if (rc == EACCES && !(s->o.flags & TT_OPEN_RDONLY)) {
			/* no write permission: fall back to a read-only open */
			s->o.flags |= TT_OPEN_RDONLY;
			rc = env_open(s, path, envf | MDB_RDONLY);
		}
		if (rc)
			return mdb_rc(rc);
	}
	if (mdb_env_info(s->env, &ei) == 0 && mdb_env_stat(s->env, &ms) == 0 &&
	    stat(data, &st) == 0 &&
	    (uint64_t)st.st_size < ((uint64_t)ei.me_last_pgno + 1) * ms.ms_psize) {
		rc = TT_ECORRUPT;
		goto fail;
	}
	(void)mdb_reader_check(s->env, &dead); /* clear slots of killed readers */
	if ((rc = open_main_dbs(s)) != 0 || (rc = meta_init(s)) != 0)
		goto fail;
	return 0;
fail:
	store_env_close(s);
	return mdb_rc(rc);
}

void store_env_close(tt_store *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->rtxn_cache) {
		mdb_txn_abort(s->rtxn_cache);
		s->rtxn_cache = NULL;
	}
	s->ndbis = 0; /* database handles belong to the environment */
	pthread_mutex_unlock(&s->mu);
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
}

/* Replacing the index (tt-check --rebuild-index, FORMAT.md 8.6): a fresh
 * environment in index.rebuild.<pid> becomes s->env; the caller fills it;
 * _commit syncs it, swaps it with index/ (one atomic rename) and reopens;
 * _abort throws it away and reopens the old one. The old index is never
 * read or written meanwhile, so a damaged one cannot stop the rebuild, and a
 * rebuild that fails leaves the old index as it was. */
static void rebuild_dir(const tt_store *s, char *buf, size_t n)
{
	snprintf(buf, n, "%s/index.rebuild.%ld", s->dir, (long)getpid());
}

int store_index_fresh(tt_store *s)
{
	char tmp[4200];
	int rc;

	store_env_close(s);
	rebuild_dir(s, tmp, sizeof tmp);
	rm_index_dir(tmp);
	if (store_mkdir(s, tmp) < 0)
		return -errno;
	if ((rc = env_open(s, tmp, MDB_NOTLS | MDB_NORDAHEAD | MDB_NOSYNC)) != 0)
		return mdb_rc(rc);
	s->index_fresh = 1;
	if ((rc = open_main_dbs(s)) != 0 || (rc = meta_init(s)) != 0)
		store_env_close(s);
	s->index_fresh = 0;
	return mdb_rc(rc);
}

int store_index_swap(tt_store *s, int keep)
{
	char tmp[4200], index[4200];
	int rc = 0;

	rebuild_dir(s, tmp, sizeof tmp);
	snprintf(index, sizeof index, "%s/index", s->dir);
	if (keep && s->env && (rc = mdb_env_sync(s->env, 1)) != 0)
		keep = 0;
	store_env_close(s);
	if (keep && (rc = fsync_path(tmp)) == 0) {
		/* atomic: index/ is the old or the new environment, never neither */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, index, RENAME_EXCHANGE) < 0 &&
		    (errno != ENOENT || rename(tmp, index) < 0))
			rc = -errno;
		else
			rc = fsync_path(s->dir);
	}
	rm_index_dir(tmp); /* the old index after a swap, else the new one */
	{
		int rc2 = store_env_open(s, index);
		return mdb_rc(rc ? rc : rc2);
	}
}

int store_mkdir(const tt_store *s, const char *path)
{
	if (mkdir(path, STORE_DIR_MODE(s)) < 0)
		return -1;
	if (s->group) /* mkdir's mode passed through the umask */
		(void)chmod(path, STORE_DIR_MODE(s));
	return 0;
}

/* chown/chmod one path of a store made group-readable */
static int group_one(const char *path, uint32_t gid, mode_t mode)
{
	if ((gid != (uint32_t)-1 && chown(path, (uid_t)-1, (gid_t)gid) < 0) ||
	    chmod(path, mode) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

/* TT_OPEN_GROUP: make an existing (or just created) store readable by group
 * gid: directories 02750, segment files and data.mdb 0640, lock.mdb 0660. */
static int group_apply(const char *dir, uint32_t gid)
{
	static const char *const dirs[] = { "", "/seg", "/index" };
	char p[4300];
	DIR *d;
	struct dirent *e;
	int rc;

	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(p, sizeof p, "%s%s", dir, dirs[i]);
		if ((rc = group_one(p, gid, 02750)) < 0)
			return rc;
	}
	snprintf(p, sizeof p, "%s/index/data.mdb", dir);
	if ((rc = group_one(p, gid, 0640)) < 0)
		return rc;
	snprintf(p, sizeof p, "%s/index/lock.mdb", dir);
	if ((rc = group_one(p, gid, 0660)) < 0)
		return rc;
	snprintf(p, sizeof p, "%s/seg", dir);
	if (!(d = opendir(p)))
		return errno == ENOENT ? 0 : -errno;
	rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/seg/%s", dir, e->d_name);
		rc = group_one(p, gid, 0640);
	}
	closedir(d);
	return rc;
}

int tt_store_open(tt_store **out, const char *dir, const tt_store_opts *opts)
{
	tt_store *s;
	char path[4096];
	struct stat st;
	int rc = 0;

	*out = NULL;
	if (!dir || !*dir)
		return TT_EBADARG;
	if (!(s = calloc(1, sizeof *s)))
		return -ENOMEM;
	s->segdir_fd = -1;
	s->inotify_fd = -1;
	if (opts)
		s->o = *opts;
	if (!s->o.map_size) s->o.map_size = 1ull << 30;
	if (!s->o.segment_size) s->o.segment_size = 256ull << 20;
	if (!s->o.segment_age_ns) s->o.segment_age_ns = 3600ll * 1000000000;
	s->seg_version = s->o.flags & TT_OPEN_FORMAT1 ? 1 : SEG_VERSION;
	/* columnar blocks pay for their size (FORMAT.md 14) */
	if (!s->o.block_size) s->o.block_size = s->seg_version >= 2 ? 256u << 10 : 64u << 10;
	if (s->o.block_size > (1u << 20)) s->o.block_size = 1u << 20;
	if (!s->o.commit_ms) s->o.commit_ms = 10;
	if (!s->o.rec_max) s->o.rec_max = TT_REC_MAX_DEFAULT;
	if (s->o.rec_max > (8u << 20)) s->o.rec_max = 8u << 20;
	pthread_rwlock_init(&s->txn_lock, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->dbi_mu, NULL);
	if (!(s->dir = strdup(dir))) { rc = -ENOMEM; goto fail; }
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT || !(s->o.flags & TT_OPEN_CREATE)) { rc = -errno; goto fail; }
		if ((rc = mkdir_p(dir, 0700)) < 0) goto fail;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = -ENOTDIR;
		goto fail;
	}
	if ((s->o.flags & TT_OPEN_GROUP) && !(s->o.flags & TT_OPEN_RDONLY) &&
	    (rc = group_apply(dir, s->o.gid)) < 0)
		goto fail;
	if (stat(dir, &st) == 0)
		s->group = (st.st_mode & S_IRGRP) != 0;
	snprintf(path, sizeof path, "%s/seg", dir);
	if (!(s->segdir = strdup(path))) { rc = -ENOMEM; goto fail; }
	snprintf(path, sizeof path, "%s/index", dir);
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && (s->o.flags & TT_OPEN_REBUILD) && !(s->o.flags & TT_OPEN_RDONLY)) {
			rc = TT_ENOTFOUND; /* index/ gone: rebuilt from the segments */
		} else if (errno != ENOENT || !(s->o.flags & TT_OPEN_CREATE) || (s->o.flags & TT_OPEN_RDONLY)) {
			rc = errno == ENOENT ? TT_ENOTFOUND : -errno;
			goto fail;
		} else if ((rc = store_create(s, path)) < 0 &&
		    (rc != TT_ECORRUPT || !(s->o.flags & TT_OPEN_REBUILD))) {
			goto fail; /* TT_ECORRUPT: index/ gone while segments are present */
		}
	}
	if ((s->segdir_fd = open(s->segdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto fail;
	}
	if (rc < 0) {
		s->index_err = rc;
		*out = s;
		return 0;
	}
	if ((rc = store_env_open(s, path)) != 0) {
		/* an index that does not open (damaged, truncated, not LMDB) can
		 * still be replaced by tt_store_check(s, 1, ...) */
		if (!(s->o.flags & TT_OPEN_REBUILD) || rc == -ENOENT || rc == -EACCES ||
		    rc == -ENOMEM || rc == -EIO || rc == -EMFILE)
			goto fail; /* not the index's fault: no rebuild */
		s->index_err = rc;
		*out = s;
		return 0;
	}
	if (!(s->o.flags & (TT_OPEN_RDONLY | TT_OPEN_NORECOVER)) &&
	    (rc = recover_orphans(s)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	tt_store_close(s);
	return mdb_rc(rc); /* LMDB and mdb_env_create give positive errno values */
}

void tt_store_close(tt_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfds; i++)
		close(s->fds[i].fd);
	store_env_close(s);
	if (s->segdir_fd >= 0)
		close(s->segdir_fd);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	pthread_rwlock_destroy(&s->txn_lock);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->dbi_mu);
	for (int i = 0; i < s->nbufs; i++)
		tt_buf_free(&s->bufs[i]);
	free(s->dbis);
	free(s->segdir);
	free(s->dir);
	free(s);
}

void store_buf_take(tt_store *s, tt_buf *b)
{
	memset(b, 0, sizeof *b);
	pthread_mutex_lock(&s->mu);
	if (s->nbufs > 0)
		*b = s->bufs[--s->nbufs];
	pthread_mutex_unlock(&s->mu);
	b->len = 0;
}

void store_buf_give(tt_store *s, tt_buf *b)
{
	if (b->cap && b->cap <= STORE_BUF_MAX) {
		pthread_mutex_lock(&s->mu);
		if (s->nbufs < STORE_BUFS) {
			s->bufs[s->nbufs++] = *b;
			memset(b, 0, sizeof *b);
		}
		pthread_mutex_unlock(&s->mu);
	}
	tt_buf_free(b);
}

const char *tt_store_dir(const tt_store *s)
{
	return s ? s->dir : NULL;
}
