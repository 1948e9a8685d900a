/*
 * tt-gen -- write N deterministic, realistic trace records to stdout (a
 * sample for the tour, data for the benchmarks and tests).
 *
 *   tt-gen N [--seed S] [--start TIME] [--format jsonl|msgpack]
 *
 * The same N, seed and start give the same bytes (gen.h). Without --start
 * the stream ends by now: it starts now minus the longest N records can
 * last, so that queries for recent records ("--since '2 days ago'") find it.
 * jsonl: one JSON object per line; msgpack: a stream of msgpack maps (native
 * field names, "ts" first and "corr" second), as `tt-ingest --format msgpack`
 * reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gen.h"

static const char usage_str[] =
"usage: tt-gen N [--seed S] [--start TIME] [--format jsonl|msgpack]\n"
"\n"
"Write N realistic trace records to standard output, the same bytes for the\n"
"same N, seed and start.\n"
"\n"
"  N                      records to write (k and M suffixes: 20k, 10M)\n"
"  -s, --seed S           seed of the stream (default 1)\n"
"  -t, --start TIME       time just before the first record (RFC 3339, epoch\n"
"                         in s/ms/us/ns, @epoch, '2 days ago'); default: the\n"
"                         records end by now\n"
"  -f, --format FMT       jsonl (default) or msgpack\n"
"  -h, --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Exit status: 0 ok (also when the reader goes away); 2 usage; 4 write error.\n";

static const struct option longopts[] = {
	{ "seed", required_argument, NULL, 's' },
	{ "start", required_argument, NULL, 't' },
	{ "format", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* A count: digits with an optional k (10^3) or M (10^6) suffix. */
static int parse_count(const char *s, uint64_t *out)
{
	uint64_t mul = 1;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	if (*end == 'k' || *end == 'K')
		mul = 1000, end++;
	else if (*end == 'M')
		mul = 1000000, end++;
	if (errno || *end || *out > UINT64_MAX / mul)
		return -1;
	*out *= mul;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n, seed = 1;
	int64_t start = 0, span;
	const char *start_arg = NULL;
	int c, mpk = 0;
	const gen_rec *r;
	static char buf[GEN_JSON_MAX + 1];
	static gen g;

	cli_init(argv[0]);
	while ((c = getopt_long(argc, argv, "s:t:f:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_count(optarg, &seed) < 0)
				cli_bad_value("--seed", optarg);
			break;
		case 't':
			if (tt_parse_time(optarg, cli_now_ns(), &start) < 0)
				cli_bad_value("--start", optarg);
			start_arg = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "msgpack") == 0)
				mpk = 1;
			else if (strcmp(optarg, "jsonl") == 0)
				mpk = 0;
			else
				cli_bad_value("--format", optarg);
			break;
		case 'h':
			cli_usage(usage_str, CLI_EXIT_OK);
		case 'V':
			cli_version();
		default:
			cli_usage(usage_str, CLI_EXIT_USAGE);
		}
	}
	if (argc - optind != 1)
		cli_usage(usage_str, CLI_EXIT_USAGE);
	if (parse_count(argv[optind], &n) < 0 || (span = gen_span_max(n)) < 0)
		cli_bad_value("N", argv[optind]);
	if (!start_arg)
		start = cli_now_ns() - span;
	else if (start > INT64_MAX - span)
		cli_die(CLI_EXIT_USAGE, "--start '%s': %s records would end after 2262", start_arg,
		    argv[optind]);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	gen_init(&g, seed, n, start);
	while ((r = gen_next(&g)) != NULL) {
		size_t len;
		if (mpk) {
			len = gen_msgpack(r, (uint8_t *)buf, sizeof buf);
		} else {
			len = gen_json(r, buf, sizeof buf - 1);
			buf[len++] = '\n';
		}
		if (fwrite(buf, 1, len, stdout) != len)
			break;
	}
	cli_check_stdout();
	if (fclose(stdout) != 0)
		cli_die(CLI_EXIT_STORE, "could not write to standard output: %s", strerror(errno));
	return 0;
}
