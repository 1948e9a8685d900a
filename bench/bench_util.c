/*
 * bench_util.c -- clocks, percentiles, data-file readers, child processes and
 * machine facts for the benchmark harness.
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t bnow_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* nearest-rank percentile */
static double pct(const uint64_t *s, size_t n, double p)
{
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (k == 0)
		k = 1;
	if (k > n)
		k = n;
	return (double)s[k - 1] / 1000.0;
}

void blat_from(blat *l, uint64_t *ns, size_t n)
{
	double sum = 0;
	size_t i;

	l->n = n;
	if (n == 0) {
		l->p50 = l->p90 = l->p99 = l->max = l->mean = 0;
		return;
	}
	qsort(ns, n, sizeof *ns, cmp_u64);
	for (i = 0; i < n; i++)
		sum += (double)ns[i];
	l->p50 = pct(ns, n, 50);
	l->p90 = pct(ns, n, 90);
	l->p99 = pct(ns, n, 99);
	l->max = (double)ns[n - 1] / 1000.0;
	l->mean = sum / (double)n / 1000.0;
}

void bres_fail(bres *r, int rc, const char *fmt, ...)
{
	va_list ap;

	r->rc = rc ? rc : -1;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof r->err, fmt, ap);
	va_end(ap);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int run_child(bres *out, int (*fn)(void *ctx, bres *r), void *ctx)
{
	int fds[2], status;
	struct rusage ru;
	pid_t pid;
	ssize_t got;

	memset(out, 0, sizeof *out);
	fflush(NULL);
	if (pipe(fds) < 0) {
		bres_fail(out, -errno, "pipe: %s", strerror(errno));
		return out->rc;
	}
	pid = fork();
	if (pid < 0) {
		bres_fail(out, -errno, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return out->rc;
	}
	if (pid == 0) {
		bres r;
		close(fds[0]);
		memset(&r, 0, sizeof r);
		(void)fn(ctx, &r);
		(void)write_all(fds[1], &r, sizeof r);
		_exit(r.rc == 0 ? 0 : 1);
	}
	close(fds[1]);
	do
		got = read(fds[0], out, sizeof *out);
	while (got < 0 && errno == EINTR);
	close(fds[0]);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof *out) {
		memset(out, 0, sizeof *out);
		bres_fail(out, -ECHILD, "child died (%s %d) without a result",
		    WIFSIGNALED(status) ? "signal" : "exit",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
	out->maxrss_kib = ru.ru_maxrss;
	return out->rc;
}

void rss_sample(bres *r)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	long anon = 0, file = 0, v;

	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "RssAnon: %ld", &v) == 1)
			anon = v;
		else if (sscanf(line, "RssFile: %ld", &v) == 1 ||
		    sscanf(line, "RssShmem: %ld", &v) == 1)
			file += v;
	}
	fclose(f);
	if (anon > r->anon_kib)
		r->anon_kib = anon;
	if (file > r->file_kib)
		r->file_kib = file;
}

static uint64_t du_total;

static int du_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)flag;
	(void)f;
	du_total += (uint64_t)st->st_blocks * 512u;
	return 0;
}

uint64_t du_bytes(const char *path)
{
	du_total = 0;
	(void)nftw(path, du_one, 32, FTW_PHYS);
	return du_total;
}

uint64_t file_bytes(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -errno;
}

void settle(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)syncfs(fd);
		close(fd);
	}
}

int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t i, n = strlen(path);

	if (n >= sizeof tmp)
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];
			tmp[i] = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return -errno;
			tmp[i] = c;
		}
	}
	return 0;
}

int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), outfd, rc = 0;
	static char buf[1 << 20];

	if (in < 0)
		return errno == ENOENT ? 0 : -errno;
	outfd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (outfd < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		if (write_all(outfd, buf, (size_t)n) < 0) {
			rc = -errno;
			break;
		}
	}
	close(in);
	if (close(outfd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

char *path_join(char *buf, size_t cap, const char *a, const char *b)
{
	snprintf(buf, cap, "%s/%s", a, b);
	return buf;
}

/* ---- readers */

int brd_open(brd *r, const char *path, size_t cap)
{
	memset(r, 0, sizeof *r);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	r->buf = malloc(cap + BRD_SLACK);
	if (r->buf == NULL) {
		close(r->fd);
		return -ENOMEM;
	}
	memset(r->buf + cap, 0, BRD_SLACK);
	r->cap = cap;
	(void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

void brd_close(brd *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	r->buf = NULL;
	r->fd = -1;
}

/* Move what is left to the front and read more. 0 ok (maybe eof), <0 error. */
static int brd_fill(brd *r)
{
	if (r->lo > 0) {
		memmove(r->buf, r->buf + r->lo, r->hi - r->lo);
		r->hi -= r->lo;
		r->lo = 0;
	}
	while (r->hi < r->cap && !r->eof) {
		ssize_t n = read(r->fd, r->buf + r->hi, r->cap - r->hi);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			r->eof = 1;
		r->hi += (size_t)n;
	}
	return 0;
}

int brd_line(brd *r, const char **p, size_t *n)
{
	for (;;) {
		uint8_t *s = r->buf + r->lo;
		uint8_t *nl = memchr(s, '\n', r->hi - r->lo);
		int rc;
		if (nl != NULL) {
			*p = (const char *)s;
			*n = (size_t)(nl - s);
			r->lo += *n + 1;
			return 1;
		}
		if (r->eof) {
			if (r->hi == r->lo)
				return 0;
			*p = (const char *)s; /* last line without newline */
			*n = r->hi - r->lo;
			r->lo = r->hi;
			return 1;
		}
		if (r->lo == 0 && r->hi == r->cap)
			return -E2BIG; /* a line longer than the buffer */
		if ((rc = brd_fill(r)) < 0)
			return rc;
	}
}

int brd_frame(brd *r, const uint8_t **p, size_t *n)
{
	for (;;) {
		size_t have = r->hi - r->lo;
		int rc;
		if (have >= 4) {
			const uint8_t *s = r->buf + r->lo;
			uint32_t len = (uint32_t)s[0] | (uint32_t)s[1] << 8 |
			    (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
			if ((size_t)len + 4 > r->cap)
				return -E2BIG;
			if (have >= (size_t)len + 4) {
				*p = s + 4;
				*n = len;
				r->lo += (size_t)len + 4;
				return 1;
			}
		}
		if (r->eof)
			return have == 0 ? 0 : -EBADMSG;
		if ((rc = brd_fill(r)) < 0)
			return rc;
	}
}

int load_ids(const char *path, char ***ids, size_t *n)
{
	FILE *f = fopen(path, "re");
	char *all = NULL, **v = NULL;
	size_t len = 0, cnt = 0, i, k = 0;
	long sz;

	if (f == NULL)
		return -errno;
	if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		goto fail;
	all = malloc((size_t)sz + 1);
	if (all == NULL || fread(all, 1, (size_t)sz, f) != (size_t)sz)
		goto fail;
	len = (size_t)sz;
	all[len] = '\0';
	for (i = 0; i < len; i++)
		cnt += all[i] == '\n';
	v = malloc((cnt + 1) * sizeof *v);
	if (v == NULL)
		goto fail;
	for (i = 0; i < len && k < cnt; i++) {
		v[k++] = all + i;
		while (i < len && all[i] != '\n')
			i++;
		all[i] = '\0';
	}
	fclose(f);
	*ids = v;
	*n = k;
	return 0;
fail:
	fclose(f);
	free(all);
	free(v);
	return -EIO;
}

/* ---- machine facts */

static void read_first(const char *file, const char *key, char *out, size_t cap)
{
	FILE *f = fopen(file, "re");
	char line[512];

	snprintf(out, cap, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, key, strlen(key)) == 0) {
			char *c = strchr(line, ':');
			if (c == NULL)
				continue;
			c++;
			while (*c == ' ' || *c == '\t')
				c++;
			c[strcspn(c, "\n")] = '\0';
			snprintf(out, cap, "%s", c);
			break;
		}
	}
	fclose(f);
}

/* File system of dir: the longest mount point in /proc/mounts above it. */
static void fs_of(const char *dir, char *out, size_t cap)
{
	char real[PATH_MAX], line[1024], best_fs[64] = "unknown", best_dev[256] = "";
	size_t best = 0;
	FILE *f;

	if (realpath(dir, real) == NULL)
		snprintf(real, sizeof real, "%s", dir);
	f = fopen("/proc/mounts", "re");
	if (f != NULL) {
		while (fgets(line, sizeof line, f)) {
			char dev[256], mnt[512], fs[64];
			size_t m;
			if (sscanf(line, "%255s %511s %63s", dev, mnt, fs) != 3)
				continue;
			m = strlen(mnt);
			if (strncmp(real, mnt, m) == 0 &&
			    (real[m] == '/' || real[m] == '\0' || m == 1) && m >= best) {
				best = m;
				snprintf(best_fs, sizeof best_fs, "%s", fs);
				snprintf(best_dev, sizeof best_dev, "%s", dev);
			}
		}
		fclose(f);
	}
	snprintf(out, cap, "%s (%s)", best_fs, best_dev);
}

void machine_facts(const char *dir, char *out, size_t cap)
{
	char cpu[256], mem[64], fs[512];
	struct utsname u;
	size_t n;

	read_first("/proc/cpuinfo", "model name", cpu, sizeof cpu);
	read_first("/proc/meminfo", "MemTotal", mem, sizeof mem);
	fs_of(dir, fs, sizeof fs);
	if (uname(&u) < 0)
		memset(&u, 0, sizeof u);
	{
		long kib = atol(mem);
		if (kib > 0)
			snprintf(mem, sizeof mem, "%.1f GiB", kib / 1048576.0);
	}
	n = strlen(out);
	snprintf(out + n, cap - n,
	    "- CPUs (nproc): %ld\n- CPU model: %s\n- RAM: %s\n- kernel: %s %s %s\n"
	    "- file system of the work directory: %s\n",
	    sysconf(_SC_NPROCESSORS_ONLN), cpu, mem, u.sysname, u.release, u.machine, fs);
}
