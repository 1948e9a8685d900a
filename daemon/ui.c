/*
 * ui.c -- serving the web UI: GET /ui/ and everything below it.
 *
 * The files come from the bundle embedded at build time (build/web/ui_assets.c,
 * made by web/gen_assets.py from the committed web/dist), each one stored as a
 * gzip member. Names under assets/ carry a hash of their content and are
 * cached for ever; index.html is revalidated every time (no-cache + ETag), so
 * a new ttd is picked up on the next load. A browser that does not accept
 * gzip gets the bytes inflated here. Any other path below /ui/ is a deep link
 * of the single-page app (/ui/trace/ID, /ui/live?service=x) and gets
 * index.html, which reads its state from the URL.
 *
 * Every answer carries a strict Content-Security-Policy: the page runs only
 * its own script, fetches only from ttd, and cannot be framed. Record texts
 * are untrusted; the UI sets them as text, and the CSP is the second line.
 *
 * --ui-dir DIR serves DIR from disk instead (development: esbuild --watch
 * writes there), uncached and uncompressed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/http.h>
#include <zlib.h>

#include "ttd.h"
#include "ui.h"

#define UI_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " \
    "frame-ancestors 'none'"
#define UI_IMMUTABLE "public, max-age=31536000, immutable"
#define UI_FILE_MAX (32u << 20) /* --ui-dir: larger files are refused */
#define UI_INDEX "index.html"
#define UI_ASSETS "assets/"

static char *ui_dir; /* --ui-dir, NULL: the embedded bundle */

void
ttd_ui_set_dir(const char *dir)
{
	char *d = NULL;

	if (dir && *dir && (d = strdup(dir)) == NULL)
		log_err("ui-dir: out of memory; serving the embedded UI");
	free(ui_dir);
	ui_dir = d;
}

static const char *
ctype_of(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".json", "application/json" },
		{ ".map", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Does the comma-separated header value list token (case-insensitive) with
 * a q-value other than 0? "gzip;q=0" says no. */
static int
header_accepts(const char *v, const char *token)
{
	size_t tn = strlen(token);

	while (v && *v) {
		const char *end = strchr(v, ','), *semi, *q;
		size_t n;

		v += strspn(v, " \t");
		n = end ? (size_t)(end - v) : strlen(v);
		semi = memchr(v, ';', n);
		if ((size_t)((semi ? semi : v + n) - v) >= tn && strncasecmp(v, token, tn) == 0 &&
		    strchr(" \t;,", v[tn]) != NULL) {
			if (semi == NULL || (q = strstr(semi, "q=")) == NULL || q > v + n)
				return 1;
			return strtod(q + 2, NULL) > 0;
		}
		v = end ? end + 1 : NULL;
	}
	return 0;
}

/* If-None-Match (a list of entity tags, or *) against etag, by the weak
 * comparison RFC 9110 asks for here. */
static int
etag_matches(const char *inm, const char *etag)
{
	size_t en = strlen(etag);

	while (inm && *inm) {
		inm += strspn(inm, " \t,");
		if (*inm == '*')
			return 1;
		if (strncmp(inm, "W/", 2) == 0)
			inm += 2;
		if (strncmp(inm, etag, en) == 0 && strchr(" \t,", inm[en]) != NULL)
			return 1;
		inm = strchr(inm, ',');
	}
	return 0;
}

static void
security_headers(struct evkeyvalq *h)
{
	evhttp_add_header(h, "Content-Security-Policy", UI_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

static void
redirect(struct evhttp_request *req, const char *to)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	static const char body[] = "see /ui/\n";

	security_headers(h);
	evhttp_add_header(h, "Location", to);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	ttd_reply_raw(req, 302, "text/plain; charset=utf-8", body, sizeof body - 1, NULL);
}

/* gunzip a whole gzip member of known size into a new buffer. */
static int
gunzip(const unsigned char *gz, size_t gz_len, size_t raw_len, unsigned char **out)
{
	z_stream z;
	unsigned char *b;
	int r;

	if ((b = malloc(raw_len ? raw_len : 1)) == NULL)
		return -ENOMEM;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(b);
		return -ENOMEM;
	}
	z.next_in = (unsigned char *)gz;
	z.avail_in = (uInt)gz_len;
	z.next_out = b;
	z.avail_out = (uInt)raw_len;
	r = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if (r != Z_STREAM_END || z.total_out != raw_len) {
		free(b);
		return -EIO;
	}
	*out = b;
	return 0;
}

static const ttd_ui_asset *
find_asset(const char *rel)
{
	for (size_t i = 0; i < ttd_ui_n_assets; i++)
		if (strcmp(ttd_ui_assets[i].path, rel) == 0)
			return &ttd_ui_assets[i];
	return NULL;
}

static void
serve_asset(struct evhttp_request *req, const ttd_ui_asset *a)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *ae = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Accept-Encoding");
	const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	int gz = header_accepts(ae, "gzip") || header_accepts(ae, "*");
	unsigned char *raw = NULL;
	char etag[96];
	int r;

	/* the two encodings are two representations: two tags */
	snprintf(etag, sizeof etag, "\"%s%s\"", a->hash, gz ? "-gz" : "");
	security_headers(h);
	evhttp_add_header(h, "ETag", etag);
	evhttp_add_header(h, "Cache-Control", a->immutable ? UI_IMMUTABLE : "no-cache");
	evhttp_add_header(h, "Vary", "Accept-Encoding");
	if (etag_matches(inm, etag)) {
		ttd_reply_raw(req, 304, NULL, NULL, 0, NULL);
		return;
	}
	if (gz) {
		evhttp_add_header(h, "Content-Encoding", "gzip");
		ttd_reply_raw(req, 200, ctype_of(a->path), a->gz, a->gz_len, NULL);
		return;
	}
	if ((r = gunzip(a->gz, a->gz_len, a->raw_len, &raw)) < 0) {
		ttd_reply_error(req, 500, "ui: cannot inflate '%s': %s", a->path, strerror(-r));
		return;
	}
	ttd_reply_raw(req, 200, ctype_of(a->path), raw, a->raw_len, NULL);
	free(raw);
}

static void
serve_embedded(struct evhttp_request *req, const char *rel)
{
	const ttd_ui_asset *a = *rel ? find_asset(rel) : NULL;

	if (a == NULL && strncmp(rel, UI_ASSETS, strlen(UI_ASSETS)) == 0) {
		ttd_reply_error(req, 404, "no such file in the UI");
		return;
	}
	if (a == NULL && (a = find_asset(UI_INDEX)) == NULL) {
		ttd_reply_error(req, 404, "this ttd was built without its UI");
		return;
	}
	serve_asset(req, a);
}

/* Read a regular file whole: 0, -ENOENT when it is missing or not a regular
 * file, other -errno. */
static int
read_file(const char *path, tt_buf *out)
{
	struct stat st;
	int fd, r = 0;
	size_t got = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOTDIR ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -ENOENT;
		goto fail;
	}
	if ((uint64_t)st.st_size > UI_FILE_MAX) {
		r = -EFBIG;
		goto fail;
	}
	if ((r = tt_buf_reserve(out, (size_t)st.st_size + 1)) < 0)
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, out->data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto fail;
		}
		got += (size_t)n;
	}
	out->len = got;
	r = 0;
fail:
	close(fd);
	return r;
}

/* A relative path that stays inside the folder: no "..", no empty segment. */
static int
safe_rel(const char *rel)
{
	const char *p = rel;

	if (*rel == '/' || strchr(rel, '\\'))
		return 0;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

static void
serve_dir(struct evhttp_request *req, const char *rel)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char *name = rel;
	char path[4096];
	tt_buf b = { 0 };
	int r = -ENOENT;

	if (*rel && safe_rel(rel)) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s", ui_dir, rel) >= sizeof path) {
			ttd_reply_error(req, 414, "path too long");
			return;
		}
		r = read_file(path, &b);
	}
	if (r == -ENOENT && strncmp(rel, UI_ASSETS, strlen(UI_ASSETS)) != 0) {
		name = UI_INDEX; /* a deep link of the app */
		snprintf(path, sizeof path, "%s/%s", ui_dir, UI_INDEX);
		r = read_file(path, &b);
	}
	if (r < 0) {
		tt_buf_free(&b);
		if (r == -ENOENT)
			ttd_reply_error(req, 404, "no such file in --ui-dir");
		else
			ttd_reply_error(req, 500, "ui-dir: cannot read '%s': %s", path, strerror(-r));
		return;
	}
	security_headers(h);
	evhttp_add_header(h, "Cache-Control", "no-store");
	ttd_reply_raw(req, 200, ctype_of(name), b.data, b.len, NULL);
	tt_buf_free(&b);
}

int
ttd_ui_serve(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	int get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;

	if (strcmp(path, "/") == 0) {
		/* a browser gets the UI; API clients keep the JSON banner */
		const char *acc = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Accept");
		if (!get || !header_accepts(acc, "text/html"))
			return 0;
		redirect(req, "/ui/");
		return 1;
	}
	if (strcmp(path, "/ui") == 0) {
		if (!get)
			goto not_allowed;
		redirect(req, "/ui/");
		return 1;
	}
	if (strncmp(path, "/ui/", 4) != 0)
		return 0;
	if (!get)
		goto not_allowed;
	if (ui_dir)
		serve_dir(req, path + 4);
	else
		serve_embedded(req, path + 4);
	return 1;
not_allowed:
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
	ttd_reply_error(req, 405, "method not allowed");
	return 1;
}
