/*
 * injshim.c -- LD_PRELOAD fault injection at the Nth call (tests/t/t8300-inject.sh).
 *
 * Fails the Nth counted call (INJ_MODE=once) or the Nth and every later one
 * (INJ_MODE=persist) of the functions named in INJ_FN, SQLite-style: the test
 * runs N = 1, 2, ... until a run ends without the shim firing.
 *
 *   INJ_FN     comma-separated names: malloc calloc realloc (fail with ENOMEM)
 *              write pwrite pwritev writev fsync fdatasync open ftruncate
 *              rename unlink mmap (fail with INJ_ERRNO); or the groups alloc,
 *              write (the four writes), sync, meta (open ftruncate rename unlink
 *              mmap), io (all I/O)
 *   INJ_N      the first call to fail (1-based); 0 or unset: count only
 *   INJ_MODE   once (default) or persist
 *   INJ_ERRNO  EIO (default) or ENOSPC, for the I/O calls
 *   INJ_DIR    I/O calls count only on files under this directory (by path
 *              for open/rename/unlink; by descriptor, opened under it, for
 *              the others). Allocations count everywhere.
 *   INJ_SKIP_CXX=1  allocations made by libstdc++ (operator new: the simdjson
 *              parser, the only C++ in the tools) are not counted: libsimdjson
 *              3.0 does not survive them (a failed new(nothrow) of its string
 *              buffer is not checked and is later written through; see
 *              tests/RELIABILITY.md section 7)
 *   INJ_REPORT a file the shim appends one line to at exit:
 *              "calls C fired F first FN" (C counted calls, F failed ones)
 *
 * Counting starts when the shim's constructor runs (after libc and the
 * dynamic loader are up: their allocations are never failed) and stops in
 * the destructor. Allocations are forwarded to glibc's __libc_malloc & co.,
 * so no dlsym is needed for them (dlsym itself allocates); other functions are
 * resolved with dlsym(RTLD_NEXT) on first use, outside any counting.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

enum {
	F_MALLOC, F_CALLOC, F_REALLOC, F_WRITE, F_PWRITE, F_PWRITEV, F_WRITEV, F_FSYNC,
	F_FDATASYNC, F_OPEN, F_FTRUNCATE, F_RENAME, F_UNLINK, F_MMAP, F_COUNT
};
static const char *const fnames[F_COUNT] = {
	"malloc", "calloc", "realloc", "write", "pwrite", "pwritev", "writev", "fsync",
	"fdatasync", "open", "ftruncate", "rename", "unlink", "mmap"
};

static int armed;                 /* counting: between constructor and destructor */
static unsigned sel;              /* bit i: fnames[i] is counted */
static long long nth;             /* first call to fail; 0 = never */
static int persist, io_errno = EIO, skip_cxx;
static char dir[4096];
static size_t dirlen;
static char report[4096];
static long long calls, fired, first_fired;
static const char *first_name = "-";
#define MAXFD 4096
static unsigned char tracked[MAXFD]; /* fd was opened under dir */

static __thread int inside; /* no counting of the shim's own calls */

static void add_names(const char *list)
{
	char buf[512], *tok, *save = NULL;
	snprintf(buf, sizeof buf, "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "alloc")) { sel |= 1u << F_MALLOC | 1u << F_CALLOC | 1u << F_REALLOC; continue; }
		if (!strcmp(tok, "writes")) { sel |= 1u << F_WRITE | 1u << F_PWRITE | 1u << F_PWRITEV | 1u << F_WRITEV; continue; }
		if (!strcmp(tok, "sync")) { sel |= 1u << F_FSYNC | 1u << F_FDATASYNC; continue; }
		if (!strcmp(tok, "meta")) { sel |= 1u << F_OPEN | 1u << F_FTRUNCATE | 1u << F_RENAME | 1u << F_UNLINK | 1u << F_MMAP; continue; }
		if (!strcmp(tok, "io")) { sel |= ((1u << F_COUNT) - 1) & ~(1u << F_MALLOC | 1u << F_CALLOC | 1u << F_REALLOC); continue; }
		for (int i = 0; i < F_COUNT; i++)
			if (!strcmp(tok, fnames[i]))
				sel |= 1u << i;
	}
}

__attribute__((constructor)) static void inj_init(void)
{
	const char *e;
	inside++;
	if ((e = getenv("INJ_FN")))
		add_names(e);
	if ((e = getenv("INJ_N")))
		nth = atoll(e);
	if ((e = getenv("INJ_MODE")))
		persist = !strcmp(e, "persist");
	if ((e = getenv("INJ_ERRNO")) && !strcmp(e, "ENOSPC"))
		io_errno = ENOSPC;
	if ((e = getenv("INJ_DIR")) && *e) {
		/* compare against the real path: tools are given relative or absolute paths */
		char *rp = realpath(e, NULL);
		snprintf(dir, sizeof dir, "%s", rp ? rp : e);
		free(rp);
		dirlen = strlen(dir);
	}
	if ((e = getenv("INJ_SKIP_CXX")))
		skip_cxx = atoi(e);
	if ((e = getenv("INJ_REPORT")))
		snprintf(report, sizeof report, "%s", e);
	inside--;
	armed = 1;
}

__attribute__((destructor)) static void inj_fini(void)
{
	armed = 0;
	if (report[0]) {
		FILE *f = fopen(report, "a");
		if (f) {
			fprintf(f, "calls %lld fired %lld first %lld %s\n", calls, fired, first_fired, first_name);
			fclose(f);
		}
	}
}

/* Should this call fail? Counts it when it is selected. */
static int hit(int fn)
{
	long long k;
	if (!armed || inside || !(sel & (1u << fn)))
		return 0;
	k = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
	if (nth <= 0 || k < nth || (!persist && k != nth))
		return 0;
	if (__atomic_add_fetch(&fired, 1, __ATOMIC_SEQ_CST) == 1) {
		first_fired = k;
		first_name = fnames[fn];
	}
	return 1;
}

/* a path under dir: relative paths are taken relative to the cwd */
static int under(const char *path)
{
	char abs[8192];
	if (!dirlen || !path)
		return !dirlen;
	if (path[0] != '/') {
		char cwd[4096];
		inside++;
		if (!getcwd(cwd, sizeof cwd)) {
			inside--;
			return 0;
		}
		inside--;
		snprintf(abs, sizeof abs, "%s/%s", cwd, path);
		path = abs;
	}
	return !strncmp(path, dir, dirlen) && (path[dirlen] == '/' || path[dirlen] == 0);
}

static int fd_tracked(int fd)
{
	return !dirlen || (fd >= 0 && fd < MAXFD && tracked[fd]);
}

#define REAL(name) \
	static __typeof__(&name) real_##name; \
	if (!real_##name) { inside++; real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name); inside--; }

/* ---- allocations */

/* Was this allocation asked for by libstdc++ (operator new)? */
static int from_cxx(void *ra)
{
	Dl_info info;
	int r;
	if (!skip_cxx || !armed || inside)
		return 0;
	inside++;
	r = dladdr(ra, &info) && info.dli_fname && strstr(info.dli_fname, "libstdc++");
	inside--;
	return r;
}

void *malloc(size_t n)
{
	if (!from_cxx(__builtin_return_address(0)) && hit(F_MALLOC)) { errno = ENOMEM; return NULL; }
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (!from_cxx(__builtin_return_address(0)) && hit(F_CALLOC)) { errno = ENOMEM; return NULL; }
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (!from_cxx(__builtin_return_address(0)) && hit(F_REALLOC)) { errno = ENOMEM; return NULL; }
	return __libc_realloc(p, n);
}

/* ---- writes */

ssize_t write(int fd, const void *b, size_t n)
{
	REAL(write);
	if (fd_tracked(fd) && hit(F_WRITE)) { errno = io_errno; return -1; }
	return real_write(fd, b, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
	REAL(pwrite);
	if (fd_tracked(fd) && hit(F_PWRITE)) { errno = io_errno; return -1; }
	return real_pwrite(fd, b, n, off);
}
ssize_t pwrite64(int fd, const void *b, size_t n, off_t off) __attribute__((alias("pwrite")));

ssize_t pwritev(int fd, const struct iovec *v, int c, off_t off)
{
	REAL(pwritev);
	if (fd_tracked(fd) && hit(F_PWRITEV)) { errno = io_errno; return -1; }
	return real_pwritev(fd, v, c, off);
}

ssize_t writev(int fd, const struct iovec *v, int c)
{
	REAL(writev);
	if (fd_tracked(fd) && hit(F_WRITEV)) { errno = io_errno; return -1; }
	return real_writev(fd, v, c);
}

/* ---- syncs: EIO only (a sync does not run out of space in this model) */

int fsync(int fd)
{
	REAL(fsync);
	if (fd_tracked(fd) && hit(F_FSYNC)) { errno = EIO; return -1; }
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(fdatasync);
	if (fd_tracked(fd) && hit(F_FDATASYNC)) { errno = EIO; return -1; }
	return real_fdatasync(fd);
}

/* ---- files */

static int track(int fd, const char *path)
{
	if (fd >= 0 && fd < MAXFD)
		tracked[fd] = dirlen && under(path);
	return fd;
}

static int open_common(int (*real)(const char *, int, ...), const char *p, int flags, mode_t mode)
{
	if (under(p) && hit(F_OPEN)) { errno = EIO; return -1; }
	return track(real(p, flags, mode), p);
}

/* the mode argument is there only with O_CREAT or O_TMPFILE */
#define OPEN_MODE(flags, mode) do { \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = va_arg(ap, mode_t); \
		va_end(ap); \
	} } while (0)

int open(const char *p, int flags, ...)
{
	mode_t mode = 0;
	REAL(open);
	OPEN_MODE(flags, mode);
	return open_common(real_open, p, flags, mode);
}
int open64(const char *p, int flags, ...) __attribute__((alias("open")));

int openat(int dfd, const char *p, int flags, ...)
{
	mode_t mode = 0;
	REAL(openat);
	OPEN_MODE(flags, mode);
	/* the tools open by path; a dfd-relative path is not under dir */
	if ((p[0] == '/' || dfd == AT_FDCWD) && under(p) && hit(F_OPEN)) { errno = EIO; return -1; }
	return track(real_openat(dfd, p, flags, mode), (p[0] == '/' || dfd == AT_FDCWD) ? p : NULL);
}

int close(int fd)
{
	REAL(close);
	if (fd >= 0 && fd < MAXFD)
		tracked[fd] = 0;
	return real_close(fd);
}

int ftruncate(int fd, off_t len)
{
	REAL(ftruncate);
	if (fd_tracked(fd) && hit(F_FTRUNCATE)) { errno = io_errno; return -1; }
	return real_ftruncate(fd, len);
}
int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

int rename(const char *a, const char *b)
{
	REAL(rename);
	if ((under(a) || under(b)) && hit(F_RENAME)) { errno = EIO; return -1; }
	return real_rename(a, b);
}

int unlink(const char *p)
{
	REAL(unlink);
	if (under(p) && hit(F_UNLINK)) { errno = EIO; return -1; }
	return real_unlink(p);
}

void *mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	REAL(mmap);
	if (fd >= 0 && !(flags & MAP_ANONYMOUS) && fd_tracked(fd) && hit(F_MMAP)) {
		errno = EIO;
		return MAP_FAILED;
	}
	return real_mmap(a, n, prot, flags, fd, off);
}
void *mmap64(void *a, size_t n, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));
