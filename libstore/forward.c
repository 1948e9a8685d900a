/*
 * forward.c -- the store side of forwarding (FORMAT.md 10.1): the cursor
 * files ttd's forwarders keep in DIR/forward/ (read and written here) say
 * what each destination has not shipped yet, and gc keeps those records
 * unless a size limit forces it.
 * What gc then drops is added to DIR/forward/NAME.dropped, so the forwarder
 * (another process) can count and log it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* Read a small text file whose one line is the whole content. */
static int read_line(const char *file, char *text, size_t cap)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), r = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if ((n = read(fd, text, cap - 1)) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	text[n] = '\0';
	if (n && text[n - 1] == '\n')
		text[n - 1] = '\0';
	return 0;
}

int tt_forward_cursor_read(const char *file, tt_pos *pos)
{
	char text[TT_CURSOR_MAX + 8];
	int r = read_line(file, text, sizeof text);

	return r < 0 ? r : tt_pos_parse(text, pos);
}

int tt_forward_dropped_read(const char *file, uint64_t *n)
{
	char text[32], *end;
	int r = read_line(file, text, sizeof text);

	*n = 0;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	errno = 0;
	*n = strtoull(text, &end, 10);
	return errno || end == text || *end ? TT_EBADARG : 0;
}

/* The destinations that hold data: every DIR/forward/NAME.cursor written
 * less than max_hold_ns ago (0: any age). A damaged file holds nothing (the
 * forwarder refuses to start with it). */
int store_fwd_holds(tt_store *s, int64_t now, int64_t max_hold_ns, struct fwd_hold **out,
    size_t *n)
{
	char dir[4200], file[4500];
	struct fwd_hold *h = NULL;
	struct dirent *e;
	size_t cap = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	snprintf(dir, sizeof dir, "%s/forward", s->dir);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		struct stat sb;
		tt_pos p;
		if (len <= 7 || len - 7 >= sizeof h->name || strcmp(e->d_name + len - 7, ".cursor"))
			continue;
		snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
		if (stat(file, &sb) < 0 || tt_forward_cursor_read(file, &p) < 0)
			continue;
		if (max_hold_ns && now - ((int64_t)sb.st_mtim.tv_sec * 1000000000 +
		    sb.st_mtim.tv_nsec) > max_hold_ns)
			continue;
		if (*n == cap) {
			struct fwd_hold *g = realloc(h, (cap = cap ? 2 * cap : 8) * sizeof *h);
			if (!g) {
				free(h);
				closedir(d);
				return -ENOMEM;
			}
			h = g;
		}
		memcpy(h[*n].name, e->d_name, len - 7);
		h[*n].name[len - 7] = '\0';
		h[*n].pos = p;
		(*n)++;
	}
	closedir(d);
	*out = h;
	return 0;
}

/* Replace file with one line of text, so that a crash leaves the old line
 * or the new one: temp file, fsync, rename, fsync of the directory dfd. */
static int write_line(int dfd, const char *file, const char *text)
{
	char tmp[4600];
	size_t len = strlen(text);
	int fd, r = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		return -errno;
	errno = 0;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, file) < 0)
		r = -errno;
	if (r == 0 && fsync(dfd) < 0)
		r = -errno;
	return r;
}

static int open_dir_of(const char *file)
{
	char dir[4500];
	const char *slash = strrchr(file, '/');
	int fd;

	if (slash == NULL)
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int tt_forward_cursor_write(const char *file, const tt_pos *pos)
{
	char text[TT_CURSOR_MAX + 2];
	int dfd, r;

	if (tt_pos_format(pos, text, sizeof text - 1) < 0)
		return TT_EBADARG;
	strcat(text, "\n");
	if ((dfd = open_dir_of(file)) < 0)
		return dfd;
	r = write_line(dfd, file, text);
	close(dfd);
	return r;
}

/* Add n to DIR/forward/NAME.dropped, under a lock of the directory: two gc
 * runs at once (the file itself is replaced, a lock on it would not hold). */
int store_fwd_dropped_add(tt_store *s, const char *name, uint64_t n)
{
	char dir[4200], file[4500], text[32];
	uint64_t had = 0;
	int dfd, r;

	snprintf(dir, sizeof dir, "%s/forward", s->dir);
	snprintf(file, sizeof file, "%s/%s.dropped", dir, name);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (flock(dfd, LOCK_EX) < 0) {
		r = -errno;
	} else {
		(void)tt_forward_dropped_read(file, &had);
		snprintf(text, sizeof text, "%" PRIu64 "\n", had + n);
		r = write_line(dfd, file, text);
	}
	close(dfd); /* and the lock with it */
	return r;
}

/* Records of segment seg (blocks first_seq..last_seq) at or after position p:
 * what a destination at p has not shipped of it. */
int store_fwd_unshipped(tt_store *s, uint64_t seg, uint64_t first_seq, uint64_t last_seq,
    const tt_pos *p, uint64_t *out)
{
	MDB_txn *t;
	MDB_cursor *c;
	uint8_t kb[8];
	MDB_val k = { 8, kb }, d;
	int rc;

	*out = 0;
	if (p->seq > last_seq || !first_seq)
		return 0;
	if ((rc = store_rtxn(s, &t)) != 0)
		return mdb_rc(rc);
	if ((rc = mdb_cursor_open(t, s->db_blocks, &c)) == 0) {
		putbe64(kb, p->seq > first_seq ? p->seq : first_seq);
		for (rc = mdb_cursor_get(c, &k, &d, MDB_SET_RANGE); rc == 0;
		    rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
			uint64_t seq = getbe64(k.mv_data);
			blogrec b;
			if (seq > last_seq)
				break;
			if (blogrec_decode(d.mv_data, d.mv_size, &b) < 0 || b.seg != seg)
				continue;
			*out += seq == p->seq ? (p->idx < b.nrec ? b.nrec - p->idx : 0) : b.nrec;
		}
		mdb_cursor_close(c);
	}
	store_rtxn_done(s, t);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_rc(rc);
}
