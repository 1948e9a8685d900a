/*
 * log.c -- ttd's log: one line per event, "TIME LEVEL message", on stderr or
 * --log-file (reopened on SIGHUP so logrotate can move it away).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ttd.h"

static int log_level = TTD_LOG_INFO;
static int log_fd = 2;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
ttd_log_set_level(int level)
{
	log_level = level;
}

int
ttd_log_open(const char *file)
{
	int fd;

	if (file == NULL || strcmp(file, "-") == 0) {
		if (log_fd != 2)
			(void)close(log_fd);
		log_fd = 2;
		return 0;
	}
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (log_fd != 2)
		(void)close(log_fd);
	log_fd = fd;
	return 0;
}

void
ttd_log(int level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof line - n, ".%03ldZ ttd[%ld] %s: ",
	    ts.tv_nsec / 1000000, (long)getpid(), level_names[level]);
	if (r > 0)
		n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof line - n - 1 ? (size_t)r : sizeof line - n - 2;
	/* one event, one line: control characters from clients are neutralised */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20)
			line[i] = ' ';
	line[n++] = '\n';
	(void)!write(log_fd, line, n);
}
