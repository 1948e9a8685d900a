/*
 * test_timeparse.c -- tt_parse_time, tt_parse_duration, tt_parse_size.
 * Runs with TZ=UTC (set in main) so that local-time forms are predictable; one
 * test switches to a zone with an offset to check that local time is used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "ttformat.h"

#define S 1000000000LL
/* 2026-11-21T09:26:20.5Z */
#define NOW (1795253180LL * S + 500000000LL)

static void expect_time(const char *in, int64_t want)
{
	int64_t got = 0;
	int rc = tt_parse_time(in, NOW, &got);
	if (rc != 0 || got != want)
		fail_msg("tt_parse_time(\"%s\"): expected %lld, got rc %d value %lld",
		    in, (long long)want, rc, (long long)got);
}

static void expect_time_bad(const char *in)
{
	int64_t got = 12345;
	int rc = tt_parse_time(in, NOW, &got);
	if (rc != TT_EBADARG)
		fail_msg("tt_parse_time(\"%s\"): expected TT_EBADARG, got rc %d value %lld",
		    in, rc, (long long)got);
}

static void expect_dur(const char *in, int64_t want)
{
	int64_t got = 0;
	int rc = tt_parse_duration(in, &got);
	if (rc != 0 || got != want)
		fail_msg("tt_parse_duration(\"%s\"): expected %lld, got rc %d value %lld",
		    in, (long long)want, rc, (long long)got);
}

static void expect_dur_bad(const char *in)
{
	int64_t got = 0;
	int rc = tt_parse_duration(in, &got);
	if (rc != TT_EBADARG)
		fail_msg("tt_parse_duration(\"%s\"): expected TT_EBADARG, got rc %d value %lld",
		    in, rc, (long long)got);
}

static void expect_size(const char *in, uint64_t want)
{
	uint64_t got = 0;
	int rc = tt_parse_size(in, &got);
	if (rc != 0 || got != want)
		fail_msg("tt_parse_size(\"%s\"): expected %llu, got rc %d value %llu",
		    in, (unsigned long long)want, rc, (unsigned long long)got);
}

static void expect_size_bad(const char *in)
{
	uint64_t got = 0;
	int rc = tt_parse_size(in, &got);
	if (rc != TT_EBADARG)
		fail_msg("tt_parse_size(\"%s\"): expected TT_EBADARG, got rc %d", in, rc);
}

static void test_rfc3339(void **state)
{
	(void)state;
	expect_time("2026-11-21T09:26:20Z", 1795253180LL * S);
	expect_time("2026-11-21T09:26:20.123456789Z", 1795253180LL * S + 123456789);
	expect_time("2026-11-21T09:26:20.5z", 1795253180LL * S + 500000000);
	expect_time("2026-11-21t09:26:20,25Z", 1795253180LL * S + 250000000);
	expect_time("2026-11-21T11:26:20+02:00", 1795253180LL * S);
	expect_time("2026-11-21T11:26:20+0200", 1795253180LL * S);
	expect_time("2026-11-21T04:26:20-05", 1795253180LL * S);
	expect_time("2026-11-21T09:26:20.1234567891Z", 1795253180LL * S + 123456789);
	expect_time("1970-01-01T00:00:00Z", 0);
	expect_time("1969-12-31T23:59:59Z", -S);
	expect_time("2024-02-29T00:00:00Z", 1709164800LL * S);
	/* leap second folds onto :59 */
	expect_time("2016-12-31T23:59:60Z", 1483228799LL * S);
}

static void test_rfc3339_relaxed_local(void **state)
{
	(void)state;
	/* TZ=UTC: local forms equal UTC */
	expect_time("2026-11-21 09:26", 1795253160LL * S);
	expect_time("2026-11-21 09:26:20", 1795253180LL * S);
	expect_time("2026-11-21", 1795219200LL * S);
	expect_time("  2026-11-21T09:26:20Z  ", 1795253180LL * S);
}

static void test_local_zone(void **state)
{
	(void)state;
	setenv("TZ", "UTC-2", 1); /* POSIX: 2 hours east of UTC */
	tzset();
	expect_time("2026-11-21 11:26:20", 1795253180LL * S);
	expect_time("2026-11-21T11:26:20Z", 1795253180LL * S + 2 * 3600 * S);
	/* today: local midnight 2026-11-21 00:00 +02 = 2026-11-20T22:00Z */
	expect_time("today", (1795219200LL - 7200) * S);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void test_rfc3339_bad(void **state)
{
	(void)state;
	expect_time_bad("2026-13-01");
	expect_time_bad("2026-02-30");
	expect_time_bad("2025-02-29T00:00:00Z");
	expect_time_bad("2026-11-21T25:00:00Z");
	expect_time_bad("2026-11-21T09:61Z");
	expect_time_bad("2026-11-21T09");
	expect_time_bad("2026-11-21T09:26:20Zjunk");
	expect_time_bad("2026-11-21T09:26:20.Z");
	expect_time_bad("2026-11-21T09:26:20+25:00");
	expect_time_bad("2026-1-21");
}

static void test_epoch(void **state)
{
	(void)state;
	expect_time("@1700000000", 1700000000LL * S);
	expect_time("@1700000000.123", 1700000000LL * S + 123000000);
	expect_time("@0", 0);
	expect_time("@-1.5", -1500000000LL);
	/* bare numbers: unit by magnitude */
	expect_time("1700000000", 1700000000LL * S);
	expect_time("1700000000.25", 1700000000LL * S + 250000000);
	expect_time("1700000000123", 1700000000123LL * 1000000);
	expect_time("1700000000123456", 1700000000123456LL * 1000);
	expect_time("1700000000123456789", 1700000000123456789LL);
	expect_time("0", 0);
	expect_time_bad("@");
	expect_time_bad("@12x");
	expect_time_bad("@99999999999999999999");
	expect_time_bad("99999999999999999999");
}

static void test_words(void **state)
{
	(void)state;
	expect_time("now", NOW);
	expect_time("NOW", NOW);
	expect_time("today", 1795219200LL * S);
	expect_time("yesterday", (1795219200LL - 86400) * S);
	expect_time("tomorrow", (1795219200LL + 86400) * S);
	expect_time(" now ", NOW);
	expect_time_bad("nowish");
	expect_time_bad("");
	expect_time_bad("   ");
}

static void test_relative(void **state)
{
	(void)state;
	expect_time("-1h", NOW - 3600 * S);
	expect_time("+30m", NOW + 1800 * S);
	expect_time("30m", NOW - 1800 * S);
	expect_time("2 days ago", NOW - 2 * 86400 * S);
	expect_time("2days ago", NOW - 2 * 86400 * S);
	expect_time("1h30m ago", NOW - 5400 * S);
	expect_time("1h 30m ago", NOW - 5400 * S);
	expect_time("in 2h", NOW + 7200 * S);
	expect_time("-1.5s", NOW - 1500000000LL);
	expect_time("-90", NOW - 90 * S); /* signed bare number: seconds */
	expect_time("90 ago", NOW - 90 * S);
	expect_time("1 week ago", NOW - 7 * 86400 * S);
	expect_time_bad("+1h ago");
	expect_time_bad("in 1h ago");
	expect_time_bad("1h ago later");
	expect_time_bad("5 parsecs ago");
	expect_time_bad("ago");
	expect_time_bad("-");
	expect_time_bad("-1000000000000d");
	expect_time_bad("yesterday-ish");
}

static void test_duration(void **state)
{
	(void)state;
	expect_dur("250ms", 250000000LL);
	expect_dur("1.5s", 1500000000LL);
	expect_dur("30m", 1800 * S);
	expect_dur("24h", 86400 * S);
	expect_dur("7d", 7 * 86400 * S);
	expect_dur("1w", 7 * 86400 * S);
	expect_dur("1h30m", 5400 * S);
	expect_dur("1h 30m 15s", 5415 * S);
	expect_dur_bad("90");   /* no unit: "--max-age 7" meant as days is refused */
	expect_dur_bad("0.5");
	expect_dur_bad(" 7 ");
	expect_dur("0", 0);     /* unambiguous */
	expect_dur("10us", 10000);
	expect_dur("10\xc2\xb5s", 10000);
	expect_dur("7ns", 7);
	expect_dur("2 days", 2 * 86400 * S);
	expect_dur("3 minutes", 180 * S);
	expect_dur("1y", 365LL * 86400 * S);
	expect_dur("+5s", 5 * S);
	expect_dur("0.1s", 100000000LL);
	expect_dur(" 5m ", 300 * S);
	expect_dur_bad("-5m");
	expect_dur_bad("");
	expect_dur_bad("abc");
	expect_dur_bad("5x");
	expect_dur_bad("5 sex");
	expect_dur_bad("5m junk");
	expect_dur_bad("1h 30");
	expect_dur_bad("1000y"); /* > int64 ns */
	expect_dur_bad("99999999999999999999");
}

static void test_size(void **state)
{
	(void)state;
	expect_size("1024", 1024);
	expect_size("500M", 500ULL << 20);
	expect_size("2GiB", 2ULL << 30);
	expect_size("1.5G", 3ULL << 29);
	expect_size("10k", 10240);
	expect_size("10KB", 10240);
	expect_size("1T", 1ULL << 40);
	expect_size("7b", 7);
	expect_size("7 bytes", 7);
	expect_size("64 MiB", 64ULL << 20);
	expect_size("0", 0);
	expect_size_bad("");
	expect_size_bad("M");
	expect_size_bad("5X");
	expect_size_bad("-5M");
	expect_size_bad("5MBx");
	expect_size_bad("99999999999E");
	expect_size_bad("20E");
}

static void test_null_args(void **state)
{
	int64_t v;
	uint64_t u;
	(void)state;
	assert_int_equal(tt_parse_time(NULL, 0, &v), TT_EBADARG);
	assert_int_equal(tt_parse_time("now", 0, NULL), TT_EBADARG);
	assert_int_equal(tt_parse_duration(NULL, &v), TT_EBADARG);
	assert_int_equal(tt_parse_size(NULL, &u), TT_EBADARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_rfc3339_relaxed_local),
		cmocka_unit_test(test_local_zone),
		cmocka_unit_test(test_rfc3339_bad),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_null_args),
	};
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
