/*
 * unzip.c -- tt-ingest's input bytes, decompressed when they are gzip or zstd
 * (told by their first bytes, not by a file name, so `curl ... | tt-ingest`
 * works as well as `tt-ingest app.log.gz`). zlib and libzstd do the work;
 * concatenated gzip members and zstd frames are read one after the other, as
 * gzip -d and zstd -d do. Memory is two fixed buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "cli.h"

#define RAW_BUF (256u << 10)

struct cli_src {
	int fd;
	int kind;             /* enum cli_src_kind, once known */
	int started, raw_eof, member_end;
	uint8_t *raw;         /* compressed (or first) bytes read, not yet used */
	size_t raw_off, raw_len;
	uint64_t raw_pos;     /* bytes read from fd */
	z_stream zs;
	int zs_init;
	ZSTD_DStream *zd;
	size_t zd_last;       /* ZSTD_decompressStream's last hint: 0 = frame ended */
};

int cli_src_new(cli_src **out, int fd)
{
	cli_src *s = calloc(1, sizeof *s);

	if (!s || !(s->raw = malloc(RAW_BUF))) {
		free(s);
		return -ENOMEM;
	}
	s->fd = fd;
	*out = s;
	return 0;
}

static void codec_end(cli_src *s)
{
	if (s->zs_init)
		inflateEnd(&s->zs);
	s->zs_init = 0;
	ZSTD_freeDStream(s->zd);
	s->zd = NULL;
}

void cli_src_reset(cli_src *s)
{
	codec_end(s);
	s->kind = CLI_SRC_PLAIN;
	s->started = s->raw_eof = s->member_end = 0;
	s->raw_off = s->raw_len = 0;
	s->raw_pos = 0;
}

void cli_src_free(cli_src *s)
{
	if (!s)
		return;
	codec_end(s);
	free(s->raw);
	free(s);
}

int cli_src_kind(const cli_src *s)
{
	return s->kind;
}

uint64_t cli_src_raw_pos(const cli_src *s)
{
	return s->raw_pos;
}

/* More raw bytes (keeping the unused ones): >0 read, 0 end, <0 -errno. */
static ssize_t raw_more(cli_src *s)
{
	ssize_t n;

	if (s->raw_off) {
		memmove(s->raw, s->raw + s->raw_off, s->raw_len - s->raw_off);
		s->raw_len -= s->raw_off;
		s->raw_off = 0;
	}
	if (s->raw_eof || s->raw_len == RAW_BUF)
		return 0;
	do
		n = read(s->fd, s->raw + s->raw_len, RAW_BUF - s->raw_len);
	while (n < 0 && errno == EINTR && !cli_interrupted);
	if (n < 0)
		return -errno;
	if (n == 0)
		s->raw_eof = 1;
	s->raw_len += (size_t)n;
	s->raw_pos += (uint64_t)n;
	return n;
}

static int start(cli_src *s, char *why, size_t wn)
{
	ssize_t n;

	while (s->raw_len < 4 && !s->raw_eof)
		if ((n = raw_more(s)) < 0) {
			snprintf(why, wn, "%s", strerror((int)-n));
			return -1;
		} else if (n == 0 && !s->raw_eof) {
			break; /* interrupted */
		}
	s->started = 1;
	if (s->raw_len >= 2 && s->raw[0] == 0x1f && s->raw[1] == 0x8b) {
		s->kind = CLI_SRC_GZIP;
		if (inflateInit2(&s->zs, 15 + 16) != Z_OK) {
			snprintf(why, wn, "cannot start zlib");
			return -1;
		}
		s->zs_init = 1;
	} else if (s->raw_len >= 4 && !memcmp(s->raw, "\x28\xb5\x2f\xfd", 4)) {
		s->kind = CLI_SRC_ZSTD;
		if (!(s->zd = ZSTD_createDStream()) || ZSTD_isError(ZSTD_initDStream(s->zd))) {
			snprintf(why, wn, "cannot start zstd");
			return -1;
		}
		s->zd_last = 1;
	} else {
		s->kind = CLI_SRC_PLAIN;
	}
	return 0;
}

ssize_t cli_src_read(cli_src *s, uint8_t *dst, size_t n, char *why, size_t wn)
{
	ssize_t r;

	if (!s->started && start(s, why, wn) < 0)
		return -1;
	if (s->kind == CLI_SRC_PLAIN) {
		if (s->raw_off < s->raw_len) { /* the bytes read to tell the kind */
			size_t k = s->raw_len - s->raw_off < n ? s->raw_len - s->raw_off : n;
			memcpy(dst, s->raw + s->raw_off, k);
			s->raw_off += k;
			return (ssize_t)k;
		}
		do
			r = read(s->fd, dst, n);
		while (r < 0 && errno == EINTR && !cli_interrupted);
		if (r < 0) {
			snprintf(why, wn, "%s", strerror(errno));
			return -1;
		}
		s->raw_pos += (uint64_t)r;
		return r;
	}
	for (;;) {
		size_t produced = 0, in_before = s->raw_off;
		if (s->raw_off == s->raw_len && !s->raw_eof) {
			if ((r = raw_more(s)) < 0) {
				snprintf(why, wn, "%s", strerror((int)-r));
				return -1;
			}
			if (r == 0 && !s->raw_eof)
				return 0; /* interrupted */
		}
		if (s->raw_off == s->raw_len && s->raw_eof) {
			/* all input used: the last member or frame must have ended */
			if (s->kind == CLI_SRC_GZIP ? !s->member_end : s->zd_last != 0) {
				snprintf(why, wn, "%s stream truncated at compressed byte %llu",
				    s->kind == CLI_SRC_GZIP ? "gzip" : "zstd",
				    (unsigned long long)s->raw_pos);
				return -1;
			}
			return 0;
		}
		if (s->kind == CLI_SRC_GZIP) {
			int zr;
			if (s->member_end) { /* another member follows */
				if (inflateReset(&s->zs) != Z_OK) {
					snprintf(why, wn, "cannot restart zlib");
					return -1;
				}
				s->member_end = 0;
			}
			s->zs.next_in = s->raw + s->raw_off;
			s->zs.avail_in = (uInt)(s->raw_len - s->raw_off);
			s->zs.next_out = dst;
			s->zs.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
			zr = inflate(&s->zs, Z_NO_FLUSH);
			s->raw_off = s->raw_len - s->zs.avail_in;
			produced = (size_t)(s->zs.next_out - dst);
			if (zr == Z_STREAM_END) {
				s->member_end = 1;
			} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
				snprintf(why, wn, "bad gzip data near compressed byte %llu: %s",
				    (unsigned long long)(s->raw_pos - (s->raw_len - s->raw_off)),
				    s->zs.msg ? s->zs.msg : "inflate failed");
				return -1;
			}
		} else {
			ZSTD_inBuffer in = { s->raw + s->raw_off, s->raw_len - s->raw_off, 0 };
			ZSTD_outBuffer out = { dst, n, 0 };
			size_t zr = ZSTD_decompressStream(s->zd, &out, &in);
			if (ZSTD_isError(zr)) {
				snprintf(why, wn, "bad zstd data near compressed byte %llu: %s",
				    (unsigned long long)(s->raw_pos - (s->raw_len - s->raw_off)),
				    ZSTD_getErrorName(zr));
				return -1;
			}
			s->zd_last = zr;
			s->raw_off += in.pos;
			produced = out.pos;
		}
		if (produced)
			return (ssize_t)produced;
		if (s->raw_off == in_before && s->raw_off < s->raw_len && s->raw_eof) {
			snprintf(why, wn, "%s stream does not end cleanly at compressed byte %llu",
			    s->kind == CLI_SRC_GZIP ? "gzip" : "zstd", (unsigned long long)s->raw_pos);
			return -1;
		}
	}
}
