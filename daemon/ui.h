/*
 * ui.h -- the web UI that ttd serves under /ui/ (ui.c; sources in web/).
 *
 * The bundle in web/dist is turned into gzip-compressed byte arrays at build
 * time (web/gen_assets.py -> build/web/ui_assets.c) and linked into ttd, so
 * the binary is self-contained. `--ui-dir DIR` serves DIR from disk instead,
 * for development.
 */
#ifndef TTD_UI_H
#define TTD_UI_H

#include <stddef.h>

struct evhttp_request;

/* One embedded file (generated: build/web/ui_assets.c). */
typedef struct ttd_ui_asset {
	const char *path;          /* below /ui/: "index.html", "assets/app-HASH.js" */
	const unsigned char *gz;   /* gzip member of the file */
	size_t gz_len;
	size_t raw_len;            /* bytes after gunzip */
	const char *hash;          /* of the raw bytes (hex); the ETag is made of it */
	int immutable;             /* name carries the content hash: cache for ever */
} ttd_ui_asset;

extern const ttd_ui_asset ttd_ui_assets[];
extern const size_t ttd_ui_n_assets;

/* Serve path (decoded, as ttd_api_dispatch gets it) if it belongs to the UI:
 * /ui, /ui/ and everything below (deep links get index.html), and GET / from
 * a browser (Accept: text/html), which is redirected to /ui/. Returns 1 when
 * it answered the request, 0 when the path is not the UI's. */
int ttd_ui_serve(struct evhttp_request *req, const char *path);

/* Serve the files of dir instead of the embedded ones (NULL: embedded).
 * The string is copied. */
void ttd_ui_set_dir(const char *dir);

#endif /* TTD_UI_H */
