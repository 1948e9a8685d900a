/*
 * config.c -- ttd's options: one table serves the command line (getopt_long)
 * and the --config file ("name = value" lines, '#' comments, the same names
 * as the long options). Later settings win; the command line is applied
 * after the file. "[forward NAME]" starts a section of one forwarding
 * destination's settings (sect_keys), to the next section or the end.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "forward.h"
#include "ttd.h"

enum opt_type { O_STR, O_MS, O_SYNC, O_DUR, O_SIZE, O_UINT, O_LEVEL, O_HOST, O_LIST };

struct opt {
	const char *name;
	int shortopt;
	enum opt_type type;
	size_t off;
	const char *arg, *help;
};

#define F(x) offsetof(ttd_config, x)
static const struct opt opts[] = {
	{ "store", 'D', O_STR, F(store), "DIR", "store directory" },
	{ "http", 'l', O_STR, F(http), "ADDR:PORT", "HTTP listen address, \"off\" to disable (127.0.0.1:8099)" },
	{ "socket", 's', O_STR, F(socket), "PATH", "unix socket, \"off\" to disable (DIR/ttd.sock)" },
	{ "token-file", 't', O_STR, F(token_file), "FILE", "secret required by write endpoints" },
	{ "config", 'c', O_STR, F(config), "FILE", "read options from FILE" },
	{ "log-file", 0, O_STR, F(log_file), "FILE", "log here instead of stderr (reopened on SIGHUP)" },
	{ "log-level", 0, O_LEVEL, F(log_level), "LEVEL", "error, warn, info (default) or debug" },
	{ "port-file", 0, O_STR, F(port_file), "FILE", "write the bound HTTP port to FILE" },
	{ "commit-interval", 'i', O_MS, F(commit_ms), "MS", "group commit interval (10)" },
	{ "sync", 0, O_SYNC, F(sync), "MODE", "full (fsync, default) or none" },
	{ "segment-size", 0, O_SIZE, F(segment_size), "SIZE", "seal segment files at SIZE (256M)" },
	{ "format-version", 0, O_UINT, F(format_version), "N", "segment format written: 2, or 1 for TeraTrace 0.1 (2)" },
	{ "retention", 'r', O_DUR, F(retention_ns), "DUR", "delete sealed segments older than DUR" },
	{ "max-size", 'm', O_SIZE, F(max_size), "SIZE", "keep the store under SIZE" },
	{ "gc-interval", 0, O_DUR, F(gc_interval_ns), "DUR", "how often retention runs (1m)" },
	{ "recompress", 0, O_UINT, F(recompress), "0|1", "1: rewrite sealed segments with LZ4-HC in the background, at each gc interval (0)" },
	{ "max-body", 0, O_SIZE, F(max_body), "SIZE", "request body cap after gunzip (20M)" },
	{ "max-record", 0, O_SIZE, F(max_record), "SIZE", "record size cap (1M)" },
	{ "max-batch", 0, O_UINT, F(max_batch), "N", "records per request (100000)" },
	{ "max-logs", 0, O_UINT, F(max_logs), "N", "logs per Tracer /logs request (1000)" },
	{ "max-connections", 0, O_UINT, F(max_conns), "N", "open HTTP connections (256)" },
	{ "max-socket-clients", 0, O_UINT, F(max_sock), "N", "unix socket clients (256)" },
	{ "max-pending", 0, O_SIZE, F(max_pending), "SIZE", "writer backlog before HTTP ingest gets 503 (3M)" },
	{ "header-timeout", 0, O_UINT, F(header_timeout), "S", "idle read/write timeout (10)" },
	{ "request-timeout", 0, O_UINT, F(request_timeout), "S", "a whole request must arrive within S (60)" },
	{ "sse-keepalive", 0, O_UINT, F(sse_keepalive), "S", "keepalive comment on idle streams (15)" },
	{ "sse-max-buffer", 0, O_SIZE, F(sse_max_buffer), "SIZE", "unsent stream bytes before a client is dropped (4M)" },
	{ "sse-max-clients", 0, O_UINT, F(sse_max_clients), "N", "concurrent streams (64)" },
	{ "allow-host", 0, O_HOST, 0, "NAME", "also accept this Host header (repeatable)" },
	{ "alerts", 0, O_STR, F(alerts), "FILE", "alert rules (man 5 ttd-alerts), re-read on SIGHUP" },
	{ "alert-interval", 0, O_DUR, F(alert_interval_ns), "DUR", "how often alert rules are evaluated (10s)" },
	{ "rollup-retention", 0, O_DUR, F(rollup_retention_ns), "DUR", "delete per-minute rollups older than DUR (30d)" },
	{ "group", 0, O_STR, F(group), "NAME", "make the store and socket readable by group NAME" },
	{ "ui-dir", 0, O_STR, F(ui_dir), "DIR", "serve the web UI from DIR, not the embedded bundle" },
	{ "forward-otlp", 0, O_LIST, F(fwd_otlp), "URL", "ship records to this OTLP/HTTP endpoint (URL/v1/traces, URL/v1/logs; repeatable)" },
	{ "forward-otlp-protocol", 0, O_STR, F(fwd_otlp_protocol), "P", "http/protobuf (default) or http/json" },
	{ "forward-clickhouse", 0, O_LIST, F(fwd_ch), "URL", "ship records to ClickHouse's HTTP interface at URL (repeatable)" },
	{ "forward-clickhouse-table", 0, O_STR, F(fwd_ch_table), "NAME", "the ClickHouse table (teratrace.records)" },
	{ "forward-header", 0, O_LIST, F(fwd_header), "'K: V'", "add this header to forwarded requests (repeatable)" },
	{ "forward-filter", 0, O_LIST, F(fwd_filter), "FIELD=VALUE", "forward only matching records (repeatable)" },
	{ "forward-service", 0, O_LIST, F(fwd_service), "S", "forward only service S (repeatable: any of them)" },
	{ "forward-level", 0, O_STR, F(fwd_level), "L", "forward only records of level L or more severe" },
	{ "forward-start", 0, O_STR, F(fwd_start), "WHERE", "a new destination starts at the store's end (default) or start" },
	{ "forward-batch", 0, O_UINT, F(fwd_batch), "N", "records per forwarded request (1000)" },
	{ "forward-batch-size", 0, O_SIZE, F(fwd_batch_bytes), "SIZE", "record bytes per forwarded request (1M)" },
	{ "forward-flush", 0, O_DUR, F(fwd_flush_ns), "DUR", "send a partial batch once it is DUR old (1s)" },
	{ "forward-max-hold", 0, O_DUR, F(fwd_max_hold_ns), "DUR", "gc keeps records a destination has not shipped for at most DUR (7d; 0: no limit)" },
	{ "forward-timeout", 0, O_UINT, F(fwd_timeout), "S", "seconds per forwarded request (10)" },
};
#undef F
#define N_OPTS (sizeof opts / sizeof opts[0])

int
ttd_config_defaults(ttd_config *c)
{
	memset(c, 0, sizeof *c);
	c->http = strdup("127.0.0.1:8099");
	c->log_level = TTD_LOG_INFO;
	c->commit_ms = 10;
	c->sync = TT_SYNC_FULL;
	c->segment_size = 256u << 20;
	c->format_version = 2;
	c->gc_interval_ns = 60LL * 1000000000;
	c->alert_interval_ns = 10LL * 1000000000;
	c->rollup_retention_ns = 30LL * 86400 * 1000000000;
	c->max_body = 20u << 20;
	c->max_record = TT_REC_MAX_DEFAULT;
	c->max_batch = TT_BATCH_MAX;
	c->max_logs = 1000;
	c->max_conns = 256;
	c->max_sock = 256;
	/* just under libstore's write queue (64 blocks of 64 KiB): refuse
	 * before an append would have to wait for the writer */
	c->max_pending = 3u << 20;
	c->header_timeout = 10;
	c->request_timeout = 60;
	c->sse_keepalive = 15;
	c->sse_max_buffer = 4u << 20;
	c->sse_max_clients = 64;
	c->fwd_batch = 1000;
	c->fwd_batch_bytes = 1u << 20;
	c->fwd_flush_ns = 1000000000;
	c->fwd_timeout = 10;
	c->fwd_max_hold_ns = 7LL * 86400 * 1000000000;
	return c->http ? 0 : -ENOMEM;
}

void
ttd_usage(FILE *f)
{
	fprintf(f, "usage: ttd [-D DIR] [--http ADDR:PORT] [--socket PATH] [--token-file FILE]\n"
	    "           [--commit-interval MS] [--sync MODE] [--retention DUR] [--max-size SIZE]\n"
	    "           [--config FILE] [OPTION...]\n\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		char left[64];
		if (opts[i].shortopt)
			snprintf(left, sizeof left, "-%c, --%s %s", opts[i].shortopt,
			    opts[i].name, opts[i].arg);
		else
			snprintf(left, sizeof left, "    --%s %s", opts[i].name, opts[i].arg);
		fprintf(f, "  %-32s %s\n", left, opts[i].help);
	}
	fprintf(f, "  %-32s %s\n  %-32s %s\n", "-h, --help", "this text",
	    "-V, --version", "the version");
	fprintf(f, "\nSignals: TERM/INT stop (flush, seal, exit 0); HUP reloads the "
	    "configuration.\nExit status: 0 stopped cleanly; 2 usage or configuration; "
	    "3 final flush failed;\n4 store or address unavailable; 1 other start-up "
	    "failures.\n");
}

static int
parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (*v == '\0' || *v == '-')
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end != '\0' || x > max)
		return -1;
	*out = x;
	return 0;
}

/* Apply one option. Returns 0 or -1 with *why set. */
static int
set_opt(ttd_config *c, const struct opt *o, const char *v, const char **why)
{
	char *base = (char *)c;
	uint64_t u;
	int64_t d;

	switch (o->type) {
	case O_STR: {
		char **p = (char **)(base + o->off);
		free(*p);
		*p = strdup(v);
		return *p ? 0 : (*why = "out of memory", -1);
	}
	case O_MS:
		if (parse_uint(v, 60000, &u) < 0 || u == 0)
			return *why = "expected milliseconds between 1 and 60000", -1;
		*(uint32_t *)(base + o->off) = (uint32_t)u;
		return 0;
	case O_SYNC:
		if (strcmp(v, "full") == 0)
			*(int *)(base + o->off) = TT_SYNC_FULL;
		else if (strcmp(v, "none") == 0)
			*(int *)(base + o->off) = TT_SYNC_NONE;
		else
			return *why = "expected full or none", -1;
		return 0;
	case O_DUR:
		if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0) {
			*(int64_t *)(base + o->off) = 0;
			return 0;
		}
		if (tt_parse_duration(v, &d) < 0 || d <= 0)
			return *why = "expected " TT_DURATION_HELP " (or 0 or off)", -1;
		*(int64_t *)(base + o->off) = d;
		return 0;
	case O_SIZE:
		if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0) {
			*(uint64_t *)(base + o->off) = 0;
			return 0;
		}
		if (tt_parse_size(v, &u) < 0)
			return *why = "expected a size such as 512K, 20M, 2G", -1;
		*(uint64_t *)(base + o->off) = u;
		return 0;
	case O_UINT:
		if (parse_uint(v, UINT32_MAX, &u) < 0 || u == 0)
			return *why = "expected a positive integer", -1;
		*(uint32_t *)(base + o->off) = (uint32_t)u;
		return 0;
	case O_LEVEL: {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		for (int i = 0; i < 4; i++)
			if (strcmp(v, names[i]) == 0) {
				*(int *)(base + o->off) = i;
				return 0;
			}
		return *why = "expected error, warn, info or debug", -1;
	}
	case O_HOST:
		if (c->n_allow_host >= TTD_MAX_HOSTS)
			return *why = "too many --allow-host", -1;
		if ((c->allow_host[c->n_allow_host] = strdup(v)) == NULL)
			return *why = "out of memory", -1;
		c->n_allow_host++;
		return 0;
	case O_LIST: {
		ttd_strlist *l = (ttd_strlist *)(base + o->off);
		if (l->n >= TTD_MAX_LIST)
			return *why = "given too many times (16 at most)", -1;
		if ((l->v[l->n] = strdup(v)) == NULL)
			return *why = "out of memory", -1;
		l->n++;
		return 0;
	}
	}
	return *why = "unknown option type", -1;
}

static const struct opt *
find_opt(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

int
ttd_config_args(ttd_config *c, int argc, char **argv)
{
	struct option lopts[N_OPTS + 3];
	char shorts[3 * N_OPTS + 8];
	size_t ns = 0;
	int ch, idx;

	for (size_t i = 0; i < N_OPTS; i++) {
		lopts[i].name = opts[i].name;
		lopts[i].has_arg = required_argument;
		lopts[i].flag = NULL;
		lopts[i].val = opts[i].shortopt ? opts[i].shortopt : 1000 + (int)i;
		if (opts[i].shortopt) {
			shorts[ns++] = (char)opts[i].shortopt;
			shorts[ns++] = ':';
		}
	}
	lopts[N_OPTS] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[N_OPTS + 1] = (struct option){ "version", no_argument, NULL, 'V' };
	lopts[N_OPTS + 2] = (struct option){ NULL, 0, NULL, 0 };
	memcpy(shorts + ns, "hV", 3);

	/* --config first, so the command line overrides the file */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *file = NULL;
		if ((strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(a, "--config=", 9) == 0)
			file = a + 9;
		else if (strcmp(a, "--") == 0)
			break;
		if (file && ttd_config_file(c, file) < 0)
			return -1;
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, shorts, lopts, &idx)) != -1) {
		const struct opt *o = NULL;
		const char *why;
		if (ch == 'h') {
			ttd_usage(stdout);
			return 1;
		}
		if (ch == 'V') {
			printf("ttd (TeraTrace) %s\n", TT_VERSION_STRING);
			return 1;
		}
		if (ch >= 1000)
			o = &opts[ch - 1000];
		else
			for (size_t i = 0; i < N_OPTS; i++)
				if (opts[i].shortopt == ch)
					o = &opts[i];
		if (o == NULL) {
			ttd_usage(stderr);
			return -1;
		}
		if (o->type == O_STR && o->off == offsetof(ttd_config, config) &&
		    c->config != NULL)
			continue; /* already read above */
		if (set_opt(c, o, optarg, &why) < 0) {
			fprintf(stderr, "ttd: invalid --%s '%s': %s\n", o->name, optarg, why);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ttd: unexpected argument '%s'\n", argv[optind]);
		ttd_usage(stderr);
		return -1;
	}
	return 0;
}

char *
ttd_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The keys of a [forward NAME] section: where they go in ttd_fwd_conf. */
static const struct { const char *key; int list; size_t off; } sect_keys[] = {
	{ "type", 0, offsetof(ttd_fwd_conf, type) },
	{ "url", 0, offsetof(ttd_fwd_conf, url) },
	{ "table", 0, offsetof(ttd_fwd_conf, table) },
	{ "protocol", 0, offsetof(ttd_fwd_conf, protocol) },
	{ "level", 0, offsetof(ttd_fwd_conf, level) },
	{ "filter", 1, offsetof(ttd_fwd_conf, filter) },
	{ "service", 1, offsetof(ttd_fwd_conf, service) },
	{ "header", 1, offsetof(ttd_fwd_conf, header) },
};

static int
sect_set(ttd_fwd_conf *f, const char *k, const char *v, const char **why)
{
	for (size_t i = 0; i < sizeof sect_keys / sizeof sect_keys[0]; i++) {
		char *base = (char *)f + sect_keys[i].off, *dup;
		if (strcmp(k, sect_keys[i].key) != 0)
			continue;
		if ((dup = strdup(v)) == NULL)
			return *why = "out of memory", -1;
		if (sect_keys[i].list) {
			ttd_strlist *l = (ttd_strlist *)base;
			if (l->n >= TTD_MAX_LIST) {
				free(dup);
				return *why = "given too many times (16 at most)", -1;
			}
			l->v[l->n++] = dup;
		} else {
			free(*(char **)base);
			*(char **)base = dup;
		}
		return 0;
	}
	return *why = "not a key of a [forward NAME] section (type, url, table, protocol, "
	    "level, filter, service, header)", -1;
}

/* "[forward NAME]": a new section; -1 with *why set if it cannot be one. */
static int
sect_begin(ttd_config *c, char *line, const char **why)
{
	char *name, *end = strchr(line, ']');

	if (end == NULL || end[1] != '\0' || strncmp(line, "[forward ", 9) != 0)
		return *why = "expected '[forward NAME]'", -1;
	*end = '\0';
	name = ttd_trim(line + 9);
	if (!*name || strlen(name) > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(name) || name[0] == '.')
		return *why = "NAME is 1 to 64 letters, digits, '_', '.' or '-'", -1;
	for (int i = 0; i < c->n_fwd_sect; i++)
		if (strcmp(c->fwd_sect[i].name, name) == 0)
			return *why = "a second section of that name", -1;
	if (c->n_fwd_sect >= TTD_MAX_FORWARD)
		return *why = "too many [forward] sections (16 at most)", -1;
	if ((c->fwd_sect[c->n_fwd_sect].name = strdup(name)) == NULL)
		return *why = "out of memory", -1;
	c->n_fwd_sect++;
	return 0;
}

int
ttd_config_file(ttd_config *c, const char *file)
{
	ttd_fwd_conf *sect = NULL; /* the [forward NAME] section being read */
	FILE *f;
	char line[4096];
	int lineno = 0, rc = 0;

	if ((f = fopen(file, "re")) == NULL) {
		log_err("could not open config '%s': %s", file, strerror(errno));
		return -1;
	}
	if (c->config != file) {
		char *dup = strdup(file);
		free(c->config);
		c->config = dup;
	}
	while (fgets(line, sizeof line, f)) {
		char *k, *v, *eq;
		const struct opt *o;
		const char *why;
		lineno++;
		k = ttd_trim(line);
		if (*k == '\0' || *k == '#' || *k == ';')
			continue;
		if (*k == '[') {
			if (sect_begin(c, k, &why) < 0) {
				log_err("%s:%d: %s", file, lineno, why);
				rc = -1;
				sect = NULL;
			} else {
				sect = &c->fwd_sect[c->n_fwd_sect - 1];
			}
			continue;
		}
		if ((eq = strchr(k, '=')) == NULL) {
			log_err("%s:%d: expected 'name = value'", file, lineno);
			rc = -1;
			continue;
		}
		*eq = '\0';
		k = ttd_trim(k);
		v = ttd_trim(eq + 1);
		if (strlen(v) >= 2 && (v[0] == '"' || v[0] == '\'') &&
		    v[strlen(v) - 1] == v[0]) {
			v[strlen(v) - 1] = '\0';
			v++;
		}
		if (sect) {
			if (sect_set(sect, k, v, &why) < 0) {
				log_err("%s:%d: [forward %s] %s: %s", file, lineno, sect->name, k, why);
				rc = -1;
			}
			continue;
		}
		if ((o = find_opt(k)) == NULL || strcmp(k, "config") == 0) {
			log_err("%s:%d: unknown option '%s'", file, lineno, k);
			rc = -1;
			continue;
		}
		if (set_opt(c, o, v, &why) < 0) {
			log_err("%s:%d: invalid %s '%s': %s", file, lineno, k, v, why);
			rc = -1;
		}
	}
	(void)fclose(f);
	return rc;
}

/* The same default store as the tools: $TERATRACE_STORE, else
 * $XDG_DATA_HOME/teratrace, else ~/.local/share/teratrace. */
static char *
default_store(void)
{
	const char *e = getenv("TERATRACE_STORE");
	char buf[PATH_MAX];

	if (e && *e)
		return strdup(e);
	if ((e = getenv("XDG_DATA_HOME")) && *e) {
		snprintf(buf, sizeof buf, "%s/teratrace", e);
		return strdup(buf);
	}
	if ((e = getenv("HOME")) && *e) {
		snprintf(buf, sizeof buf, "%s/.local/share/teratrace", e);
		return strdup(buf);
	}
	return NULL;
}

static int
read_token(ttd_config *c)
{
	FILE *f;
	char buf[4096];
	size_t n;
	struct stat st;

	free(c->token);
	c->token = NULL;
	c->token_len = 0;
	if (c->token_file == NULL)
		return 0;
	if ((f = fopen(c->token_file, "re")) == NULL) {
		log_err("could not open token file '%s': %s", c->token_file, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		log_warn("token file '%s' is readable by others (mode %03o); chmod 600 it",
		    c->token_file, (unsigned)(st.st_mode & 0777));
	n = fread(buf, 1, sizeof buf - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	if (n == 0) {
		log_err("token file '%s' is empty", c->token_file);
		return -1;
	}
	c->token = strdup(buf);
	c->token_len = n;
	memset(buf, 0, sizeof buf);
	return c->token ? 0 : -1;
}

static int
sect_check(const ttd_fwd_conf *f)
{
	if (!f->type || (strcmp(f->type, "otlp") != 0 && strcmp(f->type, "clickhouse") != 0)) {
		log_err("[forward %s]: type must be otlp or clickhouse", f->name);
		return -1;
	}
	if (!f->url) {
		log_err("[forward %s]: no url", f->name);
		return -1;
	}
	if (f->protocol && ttd_forward_protocol(f->protocol) < 0) {
		log_err("[forward %s]: protocol: expected http/protobuf or http/json, not '%s'",
		    f->name, f->protocol);
		return -1;
	}
	if (f->level && tt_level_parse(f->level, strlen(f->level)) == TT_LVL_NONE) {
		log_err("[forward %s]: level: '%s' is not a level", f->name, f->level);
		return -1;
	}
	return 0;
}

static void
sect_free(ttd_fwd_conf *f)
{
	free(f->name);
	free(f->type);
	free(f->url);
	free(f->table);
	free(f->protocol);
	free(f->level);
	for (int i = 0; i < TTD_MAX_LIST; i++) {
		free(f->filter.v[i]);
		free(f->service.v[i]);
		free(f->header.v[i]);
	}
}

int
ttd_config_finish(ttd_config *c)
{
	if (c->store == NULL && (c->store = default_store()) == NULL) {
		log_err("no store: give --store DIR or set TERATRACE_STORE");
		return -1;
	}
	if (c->segment_size < (64u << 10) || c->segment_size > (4ull << 30)) {
		log_err("segment-size: %llu bytes is not from 64K to 4G",
		    (unsigned long long)c->segment_size);
		return -1;
	}
	if (c->recompress > 1) {
		log_err("recompress: %u is not 0 or 1", c->recompress);
		return -1;
	}
	if (c->recompress && c->format_version == 1) {
		log_err("recompress: rewrites segments in format 2; not with format-version 1 "
		    "(a store kept readable by TeraTrace 0.1)");
		return -1;
	}
	if (c->format_version < 1 || c->format_version > 2) {
		log_err("format-version: %u is not 1 or 2", c->format_version);
		return -1;
	}
	if (c->max_record > c->max_body)
		c->max_record = c->max_body;
	if (c->alert_interval_ns <= 0)
		c->alert_interval_ns = 10LL * 1000000000;
	if (c->fwd_level && tt_level_parse(c->fwd_level, strlen(c->fwd_level)) == TT_LVL_NONE) {
		log_err("forward-level: '%s' is not a level (trace, debug, info, warn, error, fatal)",
		    c->fwd_level);
		return -1;
	}
	if (c->fwd_start && strcmp(c->fwd_start, "end") != 0 && strcmp(c->fwd_start, "start") != 0) {
		log_err("forward-start: expected end or start, not '%s'", c->fwd_start);
		return -1;
	}
	for (int i = 0; i < c->n_fwd_sect; i++)
		if (sect_check(&c->fwd_sect[i]) < 0)
			return -1;
	if (c->fwd_otlp_protocol && ttd_forward_protocol(c->fwd_otlp_protocol) < 0) {
		log_err("forward-otlp-protocol: expected http/protobuf or http/json, not '%s'",
		    c->fwd_otlp_protocol);
		return -1;
	}
	if (c->fwd_flush_ns <= 0)
		c->fwd_flush_ns = 1000000000;
	if (c->fwd_batch_bytes == 0)
		c->fwd_batch_bytes = 1u << 20;
	if (c->group) {
		struct group *gr = getgrnam(c->group);
		char *end;
		unsigned long id = strtoul(c->group, &end, 10);
		if (gr)
			c->group_gid = (uint32_t)gr->gr_gid;
		else if (*c->group && !*end)
			c->group_gid = (uint32_t)id;
		else {
			log_err("group: no group '%s'", c->group);
			return -1;
		}
	}
	return read_token(c);
}

void
ttd_config_free(ttd_config *c)
{
	free(c->store);
	free(c->http);
	free(c->socket);
	free(c->token_file);
	free(c->log_file);
	free(c->port_file);
	free(c->config);
	free(c->alerts);
	free(c->group);
	free(c->ui_dir);
	for (int i = 0; i < c->n_fwd_sect; i++)
		sect_free(&c->fwd_sect[i]);
	free(c->fwd_ch_table);
	free(c->fwd_level);
	free(c->fwd_start);
	free(c->fwd_otlp_protocol);
	for (int i = 0; i < TTD_MAX_LIST; i++) {
		free(c->fwd_header.v[i]);
		free(c->fwd_filter.v[i]);
		free(c->fwd_service.v[i]);
		free(c->fwd_otlp.v[i]);
		free(c->fwd_ch.v[i]);
	}
	if (c->token)
		memset(c->token, 0, c->token_len);
	free(c->token);
	for (int i = 0; i < c->n_allow_host; i++)
		free(c->allow_host[i]);
	memset(c, 0, sizeof *c);
}

int
ttd_ct_equal(const char *a, size_t an, const char *b, size_t bn)
{
	/* time depends on bn (the secret's length, fixed) only */
	volatile unsigned char acc = (unsigned char)(an != bn);
	for (size_t i = 0; i < bn; i++)
		acc |= (unsigned char)(b[i] ^ (i < an ? a[i] : 0));
	return acc == 0;
}
