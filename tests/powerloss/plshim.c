/*
 * plshim.c -- LD_PRELOAD shim of the power-loss suite: logs, in the order the
 * kernel executed them, every operation that changes the files under
 * $TT_PL_DIR, with the data written, to $TT_PL_LOG. plreplay.py turns that log
 * into the states a machine could be left in by a power cut after any one of
 * those operations (tests/RELIABILITY.md section 2).
 *
 * Logged: file creation (open/openat/creat with O_CREAT when the file did not
 * exist), mkdir, rmdir, unlink, rename; write/pwrite/writev/pwritev (with the
 * file offset and the bytes; writes on an O_DSYNC/O_SYNC descriptor are
 * flagged durable), ftruncate/truncate, fallocate; fsync/fdatasync on files
 * and directories, sync/syncfs; and writable shared mmaps of tracked files
 * (which this model cannot follow: the replayer refuses such a log). Files are
 * named by inode, so content follows the inode and names are directory
 * entries, as on a real file system.
 *
 * Order: each logged operation runs and is logged while holding a process
 * mutex and an flock on the log, so the log order is the execution order even
 * across threads and processes (tt-ingest beside tt-gc). pl_mark() writes a
 * marker into the same stream: the oracle's "acknowledged up to N".
 *
 * $TT_PL_CRASH_AFTER=N makes the process _exit(137) right after its Nth
 * logged operation: a process crash (kill -9) at an exact point of the log. A
 * real SIGKILL could land between an operation and its record.
 *
 * Record: 48-byte header (u32 size, u8 op, u8 flags, u16 path_len, u32 pid,
 * u32 path2_len, u64 ino, u64 a, u64 b; little-endian), then path, path2 and
 * data. Paths are relative to $TT_PL_DIR.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { OP_CREATE = 1, OP_MKDIR, OP_WRITE, OP_TRUNC, OP_FSYNC, OP_UNLINK, OP_RENAME,
	OP_RMDIR, OP_MARK, OP_SYNCALL, OP_UNSUPP, OP_FALLOC };
enum { FL_DSYNC = 1, FL_DIR = 2 };

#define FDMAX 65536

struct fdent {
	int tracked, isdir, dsync, append;
	uint64_t ino;
	char *path; /* absolute, normalised */
};

static struct fdent fds[FDMAX];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char root[PATH_MAX];
static size_t rootlen;
static int logfd = -1;
static long crash_after = -1; /* $TT_PL_CRASH_AFTER: _exit after this many logged ops */
static long nlogged;

static int (*r_open)(const char *, int, ...);
static int (*r_openat)(int, const char *, int, ...);
static int (*r_close)(int);
static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static ssize_t (*r_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*r_pwritev2)(int, const struct iovec *, int, off_t, int);
static int (*r_ftruncate)(int, off_t);
static int (*r_truncate)(const char *, off_t);
static int (*r_fallocate)(int, int, off_t, off_t);
static int (*r_posix_fallocate)(int, off_t, off_t);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static void (*r_sync)(void);
static int (*r_syncfs)(int);
static int (*r_rename)(const char *, const char *);
static int (*r_renameat)(int, const char *, int, const char *);
static int (*r_renameat2)(int, const char *, int, const char *, unsigned);
static int (*r_unlink)(const char *);
static int (*r_unlinkat)(int, const char *, int);
static int (*r_mkdir)(const char *, mode_t);
static int (*r_mkdirat)(int, const char *, mode_t);
static int (*r_rmdir)(const char *);
static int (*r_dup2)(int, int);
static int (*r_dup3)(int, int, int);
static void *(*r_mmap)(void *, size_t, int, int, int, off_t);

#define RESOLVE(name) (*(void **)&r_##name = dlsym(RTLD_NEXT, #name))

static void init_real(void)
{
	const char *d = getenv("TT_PL_DIR"), *l = getenv("TT_PL_LOG");

	RESOLVE(open); RESOLVE(openat); RESOLVE(close); RESOLVE(write); RESOLVE(pwrite);
	RESOLVE(writev); RESOLVE(pwritev); RESOLVE(pwritev2); RESOLVE(ftruncate);
	RESOLVE(truncate); RESOLVE(fallocate); RESOLVE(posix_fallocate); RESOLVE(fsync);
	RESOLVE(fdatasync); RESOLVE(sync); RESOLVE(syncfs); RESOLVE(rename);
	RESOLVE(renameat); RESOLVE(renameat2); RESOLVE(unlink); RESOLVE(unlinkat);
	RESOLVE(mkdir); RESOLVE(mkdirat); RESOLVE(rmdir); RESOLVE(dup2); RESOLVE(dup3);
	RESOLVE(mmap);
	if (!d || !l || !realpath(d, root))
		return; /* not configured: pass everything through */
	rootlen = strlen(root);
	logfd = r_open(l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (getenv("TT_PL_CRASH_AFTER"))
		crash_after = atol(getenv("TT_PL_CRASH_AFTER"));
}

static void init(void)
{
	pthread_once(&once, init_real);
}

__attribute__((constructor)) static void plshim_ctor(void)
{
	init();
}

/* ---- paths */

/* Lexically normalise an absolute path in place ("//", ".", ".."). */
static void normalise(char *p)
{
	char *out = p, *in = p;
	while (*in) {
		while (*in == '/')
			in++;
		if (!*in)
			break;
		char *seg = in;
		while (*in && *in != '/')
			in++;
		size_t n = (size_t)(in - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > p && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, n);
		out += n;
	}
	if (out == p)
		*out++ = '/';
	*out = 0;
}

/* Absolute path of (dirfd, path); 0 on success. */
static int abspath(int dirfd, const char *path, char *buf, size_t n)
{
	if (!path)
		return -1;
	if (path[0] == '/') {
		if (strlen(path) >= n)
			return -1;
		strcpy(buf, path);
	} else if (dirfd == AT_FDCWD) {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd) || (size_t)snprintf(buf, n, "%s/%s", cwd, path) >= n)
			return -1;
	} else {
		if (dirfd < 0 || dirfd >= FDMAX || !fds[dirfd].path ||
		    (size_t)snprintf(buf, n, "%s/%s", fds[dirfd].path, path) >= n)
			return -1;
	}
	normalise(buf);
	return 0;
}

/* The path relative to the root ("" for the root itself), or NULL outside it. */
static const char *rel(const char *abs)
{
	if (logfd < 0 || strncmp(abs, root, rootlen) != 0)
		return NULL;
	if (abs[rootlen] == 0)
		return abs + rootlen;
	return abs[rootlen] == '/' ? abs + rootlen + 1 : NULL;
}

static int tracked(int fd)
{
	return logfd >= 0 && fd >= 0 && fd < FDMAX && __atomic_load_n(&fds[fd].tracked, __ATOMIC_ACQUIRE);
}

/* ---- the log */

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }

static void lock(void)
{
	pthread_mutex_lock(&mu);
	while (flock(logfd, LOCK_EX) < 0 && errno == EINTR)
		;
}

static void unlock(void)
{
	(void)flock(logfd, LOCK_UN);
	pthread_mutex_unlock(&mu);
}

/* Append one record (caller holds the locks). iov: data pieces. */
static void logrec(int op, int flags, const char *path, const char *path2, uint64_t ino,
    uint64_t a, uint64_t b, const struct iovec *data, int ndata, size_t datalen)
{
	uint8_t hdr[48];
	size_t pl = path ? strlen(path) : 0, p2 = path2 ? strlen(path2) : 0;
	size_t total = sizeof hdr + pl + p2 + datalen;
	uint8_t *buf = malloc(total), *p;
	int saved = errno;

	if (!buf)
		abort(); /* a silent gap in the log would make every verdict wrong */
	memset(hdr, 0, sizeof hdr);
	put32(hdr, (uint32_t)total);
	hdr[4] = (uint8_t)op;
	hdr[5] = (uint8_t)flags;
	hdr[6] = (uint8_t)pl, hdr[7] = (uint8_t)(pl >> 8);
	put32(hdr + 8, (uint32_t)getpid());
	put32(hdr + 12, (uint32_t)p2);
	put64(hdr + 16, ino);
	put64(hdr + 24, a);
	put64(hdr + 32, b);
	p = buf;
	memcpy(p, hdr, sizeof hdr), p += sizeof hdr;
	if (pl) memcpy(p, path, pl), p += pl;
	if (p2) memcpy(p, path2, p2), p += p2;
	for (int i = 0; i < ndata && datalen; i++) {
		size_t k = data[i].iov_len < datalen ? data[i].iov_len : datalen;
		memcpy(p, data[i].iov_base, k);
		p += k, datalen -= k;
	}
	for (size_t off = 0; off < total;) {
		ssize_t k = r_write(logfd, buf + off, total - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			abort();
		off += (size_t)k;
	}
	free(buf);
	errno = saved;
	/* A process crash right after this operation: as a SIGKILL would leave
	 * the files (page cache kept, locks dropped), but at an exact point of
	 * the log, never between an operation and its record. */
	if (crash_after >= 0 && ++nlogged >= crash_after)
		_exit(137);
}

/* The oracle's marker: "ack 120" = records 1..120 are acknowledged now. */
void pl_mark(const char *text);
void pl_mark(const char *text)
{
	init();
	if (logfd < 0)
		return;
	lock();
	logrec(OP_MARK, 0, text, NULL, 0, 0, 0, NULL, 0, 0);
	unlock();
}

/* ---- fd table (mu held) */

static void fd_forget(int fd)
{
	if (fd < 0 || fd >= FDMAX)
		return;
	__atomic_store_n(&fds[fd].tracked, 0, __ATOMIC_RELEASE);
	free(fds[fd].path);
	fds[fd].path = NULL;
}

static void fd_track(int fd, const char *abs, int flags)
{
	struct stat st;
	if (fd < 0 || fd >= FDMAX)
		return;
	fd_forget(fd);
	if (!rel(abs) || fstat(fd, &st) < 0)
		return;
	fds[fd].path = strdup(abs);
	fds[fd].ino = (uint64_t)st.st_ino;
	fds[fd].isdir = S_ISDIR(st.st_mode);
	fds[fd].dsync = (flags & (O_DSYNC | O_SYNC)) != 0;
	fds[fd].append = (flags & O_APPEND) != 0;
	__atomic_store_n(&fds[fd].tracked, 1, __ATOMIC_RELEASE);
}

/* ---- open */

static int do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	const char *r;
	struct stat st;
	int fd, existed = 1;

	init();
	if (logfd < 0 || abspath(dirfd, path, abs, sizeof abs) < 0 || !(r = rel(abs))) {
		fd = r_openat(dirfd, path, flags, mode);
		if (fd >= 0 && logfd >= 0 && fd < FDMAX && fds[fd].tracked) {
			pthread_mutex_lock(&mu);
			fd_forget(fd);
			pthread_mutex_unlock(&mu);
		}
		return fd;
	}
	lock();
	if (flags & O_CREAT)
		existed = lstat(abs, &st) == 0;
	fd = r_openat(dirfd, path, flags, mode);
	if (fd >= 0) {
		int saved = errno;
		fd_track(fd, abs, flags);
		if (!existed && fd < FDMAX && fds[fd].tracked)
			logrec(OP_CREATE, 0, r, NULL, fds[fd].ino, mode, 0, NULL, 0, 0);
		if ((flags & O_TRUNC) && existed && fd < FDMAX && fds[fd].tracked && !fds[fd].isdir)
			logrec(OP_TRUNC, 0, r, NULL, fds[fd].ino, 0, 0, NULL, 0, 0);
		errno = saved;
	}
	unlock();
	return fd;
}

static mode_t va_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;
	va_start(ap, flags);
	m = va_mode(flags, ap);
	va_end(ap);
	return do_open(AT_FDCWD, path, flags, m);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t m;
	va_start(ap, flags);
	m = va_mode(flags, ap);
	va_end(ap);
	return do_open(dirfd, path, flags, m);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags) { return do_open(dirfd, path, flags, 0); }

int creat(const char *path, mode_t mode)
{
	return do_open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}
int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

int close(int fd)
{
	int rc;
	init();
	if (!tracked(fd))
		return r_close(fd);
	pthread_mutex_lock(&mu);
	fd_forget(fd); /* before close: the number may be reused at once */
	rc = r_close(fd);
	pthread_mutex_unlock(&mu);
	return rc;
}

/* newfd now names what oldfd names (dup, dup2, dup3); under mu */
static void fd_copy(int oldfd, int newfd)
{
	fd_forget(newfd);
	if (tracked(oldfd) && newfd < FDMAX) {
		fds[newfd] = fds[oldfd];
		fds[newfd].path = strdup(fds[oldfd].path);
	}
}

int dup2(int oldfd, int newfd)
{
	int rc;
	init();
	if (logfd < 0)
		return r_dup2(oldfd, newfd);
	pthread_mutex_lock(&mu);
	rc = r_dup2(oldfd, newfd);
	if (rc >= 0 && rc != oldfd)
		fd_copy(oldfd, rc);
	pthread_mutex_unlock(&mu);
	return rc;
}

int dup3(int oldfd, int newfd, int flags)
{
	int rc;
	init();
	if (logfd < 0)
		return r_dup3(oldfd, newfd, flags);
	pthread_mutex_lock(&mu);
	rc = r_dup3(oldfd, newfd, flags);
	if (rc >= 0)
		fd_copy(oldfd, rc);
	pthread_mutex_unlock(&mu);
	return rc;
}

/* ---- writes */

static ssize_t do_write(int fd, const struct iovec *iov, int n, off_t off, int positional,
    ssize_t (*fn)(void *), void *arg)
{
	ssize_t k;
	uint64_t at;

	lock();
	if (positional) {
		at = (uint64_t)off;
	} else if (fds[fd].append) {
		struct stat st;
		at = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	} else {
		off_t cur = lseek(fd, 0, SEEK_CUR);
		at = cur < 0 ? 0 : (uint64_t)cur;
	}
	k = fn(arg);
	if (k > 0)
		logrec(OP_WRITE, fds[fd].dsync ? FL_DSYNC : 0, rel(fds[fd].path), NULL, fds[fd].ino,
		    at, (uint64_t)k, iov, n, (size_t)k);
	unlock();
	return k;
}

struct wargs { int fd; const struct iovec *iov; int n; off_t off; int flags; const void *buf; size_t len; };

static ssize_t call_write(void *a) { struct wargs *w = a; return r_write(w->fd, w->buf, w->len); }
static ssize_t call_pwrite(void *a) { struct wargs *w = a; return r_pwrite(w->fd, w->buf, w->len, w->off); }
static ssize_t call_writev(void *a) { struct wargs *w = a; return r_writev(w->fd, w->iov, w->n); }
static ssize_t call_pwritev(void *a) { struct wargs *w = a; return r_pwritev(w->fd, w->iov, w->n, w->off); }
static ssize_t call_pwritev2(void *a)
{
	struct wargs *w = a;
	return r_pwritev2(w->fd, w->iov, w->n, w->off, w->flags);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	struct wargs w = { fd, &v, 1, 0, 0, buf, len };
	init();
	if (!tracked(fd))
		return r_write(fd, buf, len);
	return do_write(fd, &v, 1, 0, 0, call_write, &w);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct iovec v = { (void *)buf, len };
	struct wargs w = { fd, &v, 1, off, 0, buf, len };
	init();
	if (!tracked(fd))
		return r_pwrite(fd, buf, len, off);
	return do_write(fd, &v, 1, off, 1, call_pwrite, &w);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	struct wargs w = { fd, iov, n, 0, 0, NULL, 0 };
	init();
	if (!tracked(fd))
		return r_writev(fd, iov, n);
	return do_write(fd, iov, n, 0, 0, call_writev, &w);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	struct wargs w = { fd, iov, n, off, 0, NULL, 0 };
	init();
	if (!tracked(fd))
		return r_pwritev(fd, iov, n, off);
	return do_write(fd, iov, n, off, 1, call_pwritev, &w);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off_t off)
{
	return pwritev(fd, iov, n, off);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	struct wargs w = { fd, iov, n, off, flags, NULL, 0 };
	init();
	if (!tracked(fd))
		return r_pwritev2(fd, iov, n, off, flags);
	return do_write(fd, iov, n, off, off != -1, call_pwritev2, &w);
}

ssize_t pwritev64v2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	return pwritev2(fd, iov, n, off, flags);
}

int ftruncate(int fd, off_t len)
{
	int rc;
	init();
	if (!tracked(fd))
		return r_ftruncate(fd, len);
	lock();
	rc = r_ftruncate(fd, len);
	if (rc == 0)
		logrec(OP_TRUNC, 0, rel(fds[fd].path), NULL, fds[fd].ino, (uint64_t)len, 0, NULL, 0, 0);
	unlock();
	return rc;
}

int ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int truncate(const char *path, off_t len)
{
	char abs[PATH_MAX];
	const char *r;
	struct stat st;
	int rc;
	init();
	if (logfd < 0 || abspath(AT_FDCWD, path, abs, sizeof abs) < 0 || !(r = rel(abs)))
		return r_truncate(path, len);
	lock();
	rc = r_truncate(path, len);
	if (rc == 0 && stat(abs, &st) == 0)
		logrec(OP_TRUNC, 0, r, NULL, (uint64_t)st.st_ino, (uint64_t)len, 0, NULL, 0, 0);
	unlock();
	return rc;
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	int rc;
	init();
	if (!tracked(fd))
		return r_fallocate(fd, mode, off, len);
	lock();
	rc = r_fallocate(fd, mode, off, len);
	if (rc == 0)
		logrec(OP_FALLOC, mode, rel(fds[fd].path), NULL, fds[fd].ino, (uint64_t)off,
		    (uint64_t)len, NULL, 0, 0);
	unlock();
	return rc;
}

int fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
	int rc;
	init();
	if (!tracked(fd))
		return r_posix_fallocate(fd, off, len);
	lock();
	rc = r_posix_fallocate(fd, off, len);
	if (rc == 0)
		logrec(OP_FALLOC, 0, rel(fds[fd].path), NULL, fds[fd].ino, (uint64_t)off,
		    (uint64_t)len, NULL, 0, 0);
	unlock();
	return rc;
}

int posix_fallocate64(int fd, off_t off, off_t len)
{
	return posix_fallocate(fd, off, len);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;
	init();
	p = r_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && tracked(fd) && (prot & PROT_WRITE) && (flags & MAP_SHARED)) {
		const char *r = rel(fds[fd].path);
		size_t n = r ? strlen(r) : 0;
		/* LMDB's reader table is not data; any other shared writable map is */
		if (!(n >= 8 && strcmp(r + n - 8, "lock.mdb") == 0)) {
			lock();
			logrec(OP_UNSUPP, 0, r, NULL, fds[fd].ino, (uint64_t)off, len, NULL, 0, 0);
			unlock();
		}
	}
	return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

/* ---- syncs */

static int do_sync(int fd, int (*fn)(int))
{
	int rc;
	init();
	if (!tracked(fd))
		return fn(fd);
	lock();
	rc = fn(fd);
	if (rc == 0)
		logrec(OP_FSYNC, fds[fd].isdir ? FL_DIR : 0, rel(fds[fd].path), NULL, fds[fd].ino,
		    0, 0, NULL, 0, 0);
	unlock();
	return rc;
}

int fsync(int fd)
{
	init();
	return do_sync(fd, r_fsync);
}

int fdatasync(int fd)
{
	init();
	return do_sync(fd, r_fdatasync);
}

void sync(void)
{
	init();
	if (logfd < 0) {
		r_sync();
		return;
	}
	lock();
	r_sync();
	logrec(OP_SYNCALL, 0, NULL, NULL, 0, 0, 0, NULL, 0, 0);
	unlock();
}

int syncfs(int fd)
{
	int rc;
	init();
	if (logfd < 0)
		return r_syncfs(fd);
	lock();
	rc = r_syncfs(fd);
	if (rc == 0)
		logrec(OP_SYNCALL, 0, NULL, NULL, 0, 0, 0, NULL, 0, 0);
	unlock();
	return rc;
}

/* ---- directory entries */

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	char abs[PATH_MAX];
	const char *r;
	struct stat st;
	int rc;
	init();
	if (logfd < 0 || abspath(dirfd, path, abs, sizeof abs) < 0 || !(r = rel(abs)))
		return r_mkdirat(dirfd, path, mode);
	lock();
	rc = r_mkdirat(dirfd, path, mode);
	if (rc == 0 && lstat(abs, &st) == 0)
		logrec(OP_MKDIR, 0, r, NULL, (uint64_t)st.st_ino, mode, 0, NULL, 0, 0);
	unlock();
	return rc;
}

int mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}

static int do_unlink(int dirfd, const char *path, int flags)
{
	char abs[PATH_MAX];
	const char *r;
	int rc;
	init();
	if (logfd < 0 || abspath(dirfd, path, abs, sizeof abs) < 0 || !(r = rel(abs)))
		return r_unlinkat(dirfd, path, flags);
	lock();
	rc = r_unlinkat(dirfd, path, flags);
	if (rc == 0)
		logrec((flags & AT_REMOVEDIR) ? OP_RMDIR : OP_UNLINK, 0, r, NULL, 0, 0, 0, NULL, 0, 0);
	unlock();
	return rc;
}

int unlinkat(int dirfd, const char *path, int flags)
{
	return do_unlink(dirfd, path, flags);
}

int unlink(const char *path)
{
	return do_unlink(AT_FDCWD, path, 0);
}

int rmdir(const char *path)
{
	return do_unlink(AT_FDCWD, path, AT_REMOVEDIR);
}

int renameat2(int ofd, const char *op, int nfd, const char *np, unsigned flags)
{
	char a1[PATH_MAX], a2[PATH_MAX];
	const char *r1 = NULL, *r2 = NULL;
	int rc;
	init();
	if (logfd >= 0 && abspath(ofd, op, a1, sizeof a1) == 0 && abspath(nfd, np, a2, sizeof a2) == 0) {
		r1 = rel(a1);
		r2 = rel(a2);
	}
	if (!r1 && !r2)
		return r_renameat2 ? r_renameat2(ofd, op, nfd, np, flags) : r_renameat(ofd, op, nfd, np);
	lock();
	rc = r_renameat2 ? r_renameat2(ofd, op, nfd, np, flags) : r_renameat(ofd, op, nfd, np);
	if (rc == 0) {
		if (r1 && r2)
			logrec(OP_RENAME, 0, r1, r2, 0, flags, 0, NULL, 0, 0);
		else /* moved across the boundary: one side is invisible to the model */
			logrec(OP_UNSUPP, 0, r1 ? r1 : r2, NULL, 0, 0, 0, NULL, 0, 0);
	}
	unlock();
	return rc;
}

int renameat(int ofd, const char *op, int nfd, const char *np)
{
	return renameat2(ofd, op, nfd, np, 0);
}

int rename(const char *op, const char *np)
{
	return renameat2(AT_FDCWD, op, AT_FDCWD, np, 0);
}
