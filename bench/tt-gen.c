/*
 * tt-gen -- write N deterministic, realistic trace records to stdout.
 *
 *   bench/tt-gen N [--seed S] [--format jsonl|msgpack] [--start NS]
 *
 * Same arguments, same bytes (gen.h). jsonl: one JSON object per line;
 * msgpack: a stream of msgpack maps (native field names, "ts" first and
 * "corr" second), as `tt-ingest --format msgpack` reads.
 */
#include "gen.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: tt-gen N [--seed S] [--format jsonl|msgpack] [--start NS]\n";

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (s[0] == '-' || s[0] == '\0')
		return -1;
	*out = strtoull(s, &end, 0);
	/* allow 1e6 / 10M style sizes for convenience */
	if (*end == 'k' || *end == 'K')
		*out *= 1000, end++;
	else if (*end == 'M')
		*out *= 1000000, end++;
	return errno || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "start", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n, seed = 1, start = 0;
	int ch, mpk = 0;
	const gen_rec *r;
	static char buf[GEN_JSON_MAX + 1];
	static gen g;

	while ((ch = getopt_long(argc, argv, "s:f:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_u64(optarg, &seed))
				usage();
			break;
		case 'f':
			if (strcmp(optarg, "msgpack") == 0)
				mpk = 1;
			else if (strcmp(optarg, "jsonl") != 0)
				usage();
			break;
		case 't':
			if (parse_u64(optarg, &start) || start > INT64_MAX)
				usage();
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || parse_u64(argv[optind], &n))
		usage();
	signal(SIGPIPE, SIG_DFL); /* quiet exit under `| head` */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	gen_init(&g, seed, n, (int64_t)start);
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
	if (ferror(stdout) || fclose(stdout) != 0) {
		fprintf(stderr, "tt-gen: write error: %s\n", strerror(errno));
		return 3;
	}
	return 0;
}
