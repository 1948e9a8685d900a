/*
 * timeparse.c -- the user-facing value parsers of ttformat.h: points in time
 * (--since/--until), durations (--max-age, --min-dur) and sizes (--max-size).
 *
 * Pure functions: no I/O; "now" is the caller's. The one dependency on the
 * process is the local time zone (TZ), used for times written without an
 * offset ("2026-11-21 09:00", "today"), as journalctl does. Every number is
 * checked for overflow: a value that does not fit in int64 nanoseconds (about
 * +-292 years around 1970) is TT_EBADARG, never a wrapped result.
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ttformat.h"

#define NS_PER_S 1000000000LL

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Overflow-checked a*b + c on int64 (all values here are >= 0). */
static int mul_add(int64_t a, int64_t b, int64_t c, int64_t *out)
{
	__int128 r = (__int128)a * b + c;
	if (r > INT64_MAX || r < INT64_MIN)
		return TT_EBADARG;
	*out = (int64_t)r;
	return 0;
}

/*
 * A decimal number "123", "1.5", ".5": integer part and up to 18 fraction
 * digits (more are read and ignored). Returns chars consumed, 0 if none.
 */
typedef struct decnum {
	uint64_t ip;  /* integer part */
	uint64_t fp;  /* fraction digits as an integer */
	int fdigits;  /* how many fraction digits fp holds */
} decnum;

static size_t parse_decnum(const char *s, decnum *d)
{
	const char *p = s;
	int any = 0;

	memset(d, 0, sizeof(*d));
	while (isdigit((unsigned char)*p)) {
		unsigned dig = (unsigned)(*p - '0');
		if (d->ip > (UINT64_MAX - dig) / 10)
			return 0; /* overflow: treat as unparseable */
		d->ip = d->ip * 10 + dig;
		p++;
		any = 1;
	}
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (d->fdigits < 18) {
				d->fp = d->fp * 10 + (uint64_t)(*p - '0');
				d->fdigits++;
			}
			p++;
		}
		any = 1;
	}
	return any ? (size_t)(p - s) : 0;
}

/* d * unit (ns), exact, rounding the fraction down. */
static int decnum_scale(const decnum *d, int64_t unit, int64_t *out)
{
	__int128 r = (__int128)d->ip * unit;
	if (d->fdigits) {
		__int128 pow10 = 1;
		for (int i = 0; i < d->fdigits; i++)
			pow10 *= 10;
		r += (__int128)d->fp * unit / pow10;
	}
	if (r > INT64_MAX)
		return TT_EBADARG;
	*out = (int64_t)r;
	return 0;
}

/* Units of durations; matched longest first, case-sensitive for m/M. */
static const struct unit {
	const char *name;
	int64_t ns;
} units[] = {
	{ "nanoseconds", 1 }, { "nanosecond", 1 }, { "nsec", 1 }, { "ns", 1 },
	{ "microseconds", 1000 }, { "microsecond", 1000 }, { "usec", 1000 },
	{ "us", 1000 }, { "\xc2\xb5s", 1000 },
	{ "milliseconds", 1000000 }, { "millisecond", 1000000 },
	{ "msec", 1000000 }, { "ms", 1000000 },
	{ "seconds", NS_PER_S }, { "second", NS_PER_S }, { "secs", NS_PER_S },
	{ "sec", NS_PER_S }, { "s", NS_PER_S },
	{ "minutes", 60 * NS_PER_S }, { "minute", 60 * NS_PER_S },
	{ "mins", 60 * NS_PER_S }, { "min", 60 * NS_PER_S }, { "m", 60 * NS_PER_S },
	{ "hours", 3600 * NS_PER_S }, { "hour", 3600 * NS_PER_S },
	{ "hrs", 3600 * NS_PER_S }, { "hr", 3600 * NS_PER_S }, { "h", 3600 * NS_PER_S },
	{ "days", 86400 * NS_PER_S }, { "day", 86400 * NS_PER_S },
	{ "d", 86400 * NS_PER_S },
	{ "weeks", 7 * 86400 * NS_PER_S }, { "week", 7 * 86400 * NS_PER_S },
	{ "w", 7 * 86400 * NS_PER_S },
	{ "months", 30 * 86400 * NS_PER_S }, { "month", 30 * 86400 * NS_PER_S },
	{ "years", 365 * 86400 * NS_PER_S }, { "year", 365 * 86400 * NS_PER_S },
	{ "y", 365 * 86400 * NS_PER_S },
};

/* The unit at p: its length (0 if none) and value. A unit must not run on
 * into more letters ("5 sex" is not "5 s" + "ex"). */
static size_t parse_unit(const char *p, int64_t *ns)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t n = strlen(units[i].name);
		if (strncasecmp(p, units[i].name, n) == 0 &&
		    !isalpha((unsigned char)p[n])) {
			*ns = units[i].ns;
			return n;
		}
	}
	return 0;
}

/*
 * A duration made of one or more "<number><unit>" terms, optionally separated
 * by blanks: "1h30m", "1h 30m", "2 days", "1.5s". A lone number is seconds.
 * Parses as much as it can; *end gets the first character not consumed.
 */
static int parse_dur_terms(const char *s, int64_t *out, const char **end)
{
	const char *p = skip_ws(s);
	int64_t total = 0;
	int terms = 0;

	for (;;) {
		decnum d;
		int64_t unit, v;
		const char *q = p;
		size_t n = parse_decnum(q, &d);
		if (!n)
			break;
		q = skip_ws(q + n);
		size_t un = parse_unit(q, &unit);
		if (!un) {
			/* a bare number is only allowed alone: "90" = 90s */
			if (terms == 0) {
				const char *r = skip_ws(q);
				if (*r != '\0' && strncasecmp(r, "ago", 3) != 0)
					return TT_EBADARG;
				if (decnum_scale(&d, NS_PER_S, &v) < 0)
					return TT_EBADARG;
				*out = v;
				*end = r;
				return 0;
			}
			break;
		}
		if (decnum_scale(&d, unit, &v) < 0 || mul_add(1, total, v, &total) < 0)
			return TT_EBADARG;
		terms++;
		p = skip_ws(q + un);
	}
	if (!terms)
		return TT_EBADARG;
	*out = total;
	*end = p;
	return 0;
}

/* Does the duration text name a unit (any letter, or the micro sign)? */
static int has_unit(const char *s)
{
	for (; *s; s++)
		if (isalpha((unsigned char)*s) || (unsigned char)*s == 0xc2)
			return 1;
	return 0;
}

int tt_parse_duration(const char *s, int64_t *out_ns)
{
	const char *end;
	int64_t v;

	if (!s || !out_ns)
		return TT_EBADARG;
	s = skip_ws(s);
	if (*s == '+')
		s++;
	if (parse_dur_terms(s, &v, &end) < 0 || *skip_ws(end) != '\0')
		return TT_EBADARG;
	/* a number without a unit is refused (except 0): "--max-age 7" meant as
	 * days would otherwise be 7 seconds and delete nearly everything */
	if (v != 0 && !has_unit(s))
		return TT_EBADARG;
	*out_ns = v;
	return 0;
}

int tt_parse_size(const char *s, uint64_t *out_bytes)
{
	static const char mult[] = "bkmgtpe";
	decnum d;
	const char *p;
	size_t n;
	int shift = 0;

	if (!s || !out_bytes)
		return TT_EBADARG;
	p = skip_ws(s);
	n = parse_decnum(p, &d);
	if (!n)
		return TT_EBADARG;
	p = skip_ws(p + n);
	if (*p) {
		const char *m = strchr(mult, tolower((unsigned char)*p));
		if (!m)
			return TT_EBADARG;
		shift = (int)(m - mult) * 10;
		p++;
		if (shift) { /* K, KB, KiB, k, kib */
			if (tolower((unsigned char)*p) == 'i' && tolower((unsigned char)p[1]) == 'b')
				p += 2;
			else if (tolower((unsigned char)*p) == 'b')
				p++;
		} else if (strncasecmp(p, "ytes", 4) == 0) { /* "bytes" */
			p += 4;
		}
		p = skip_ws(p);
		if (*p)
			return TT_EBADARG;
	}
	{
		unsigned __int128 r = (unsigned __int128)d.ip << shift;
		if (d.fdigits) {
			unsigned __int128 pow10 = 1;
			for (int i = 0; i < d.fdigits; i++)
				pow10 *= 10;
			r += ((unsigned __int128)d.fp << shift) / pow10;
		}
		if (r > UINT64_MAX)
			return TT_EBADARG;
		*out_bytes = (uint64_t)r;
	}
	return 0;
}

/* ---- points in time */

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Exactly n digits at p -> value; -1 if not. */
static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* A civil date and time as struct tm (tm_isdst -1: mktime decides). */
static struct tm civil_tm(int y, int mo, int d, int h, int mi, int sec)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	return tm;
}

/* Local civil time -> seconds since the epoch (mktime, DST resolved by it). */
static int local_to_epoch(int y, int mo, int d, int h, int mi, int sec, int64_t *out)
{
	struct tm tm = civil_tm(y, mo, d, h, mi, sec);
	time_t t;

	t = mktime(&tm);
	if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
		return TT_EBADARG;
	*out = (int64_t)t;
	return 0;
}

/*
 * RFC 3339 and its relaxed forms: "YYYY-MM-DD", then optionally a 'T', 't' or
 * blank, "HH:MM", optionally ":SS" and a fraction, then optionally 'Z' or an
 * offset "+HH:MM" / "+HHMM" / "+HH". Without an offset: local time.
 */
static int parse_rfc3339(const char *s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	int has_tz = 0, tz_sign = 1, tz_h = 0, tz_m = 0;
	decnum frac = { 0, 0, 0 };
	int64_t secs, ns, fns;

	if ((y = digits(p, 4)) < 0 || p[4] != '-' || (mo = digits(p + 5, 2)) < 0 ||
	    p[7] != '-' || (d = digits(p + 8, 2)) < 0)
		return TT_EBADARG;
	p += 10;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return TT_EBADARG;
	if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
		p++;
		if ((h = digits(p, 2)) < 0 || p[2] != ':' || (mi = digits(p + 3, 2)) < 0)
			return TT_EBADARG;
		p += 5;
		if (*p == ':') {
			if ((sec = digits(p + 1, 2)) < 0)
				return TT_EBADARG;
			p += 3;
			if (*p == '.' || *p == ',') {
				const char *f = p + 1;
				if (!isdigit((unsigned char)*f))
					return TT_EBADARG;
				while (isdigit((unsigned char)*f)) {
					if (frac.fdigits < 9) {
						frac.fp = frac.fp * 10 + (uint64_t)(*f - '0');
						frac.fdigits++;
					}
					f++;
				}
				p = f;
			}
		}
		if (h > 23 || mi > 59 || sec > 60) /* 60: leap second, folded below */
			return TT_EBADARG;
	}
	p = skip_ws(p);
	if (*p == 'Z' || *p == 'z') {
		has_tz = 1;
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
		has_tz = 1;
		tz_sign = *p == '-' ? -1 : 1;
		if ((tz_h = digits(p + 1, 2)) < 0)
			return TT_EBADARG;
		p += 3;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char)*p)) {
			if ((tz_m = digits(p, 2)) < 0)
				return TT_EBADARG;
			p += 2;
		}
		if (tz_h > 23 || tz_m > 59)
			return TT_EBADARG;
	}
	if (*skip_ws(p) != '\0')
		return TT_EBADARG;
	if (sec == 60)
		sec = 59;

	if (has_tz) {
		struct tm tm = civil_tm(y, mo, d, h, mi, sec);
		secs = (int64_t)timegm(&tm) - tz_sign * (tz_h * 3600 + tz_m * 60);
	} else if (local_to_epoch(y, mo, d, h, mi, sec, &secs) < 0) {
		return TT_EBADARG;
	}
	fns = 0;
	for (int i = frac.fdigits; i < 9; i++)
		frac.fp *= 10;
	fns = (int64_t)frac.fp;
	if (mul_add(secs, NS_PER_S, fns, &ns) < 0)
		return TT_EBADARG;
	*out = ns;
	return 0;
}

/* "@1700000000.5", "-12.25" (signed seconds with a fraction) -> ns. */
static int parse_epoch_seconds(const char *p, int64_t *out)
{
	int neg = 0;
	decnum d;
	size_t n;
	int64_t v;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	n = parse_decnum(p, &d);
	if (!n || *skip_ws(p + n) != '\0')
		return TT_EBADARG;
	if (decnum_scale(&d, NS_PER_S, &v) < 0)
		return TT_EBADARG;
	*out = neg ? -v : v;
	return 0;
}

/* Bare digits: epoch in s, ms, us or ns, chosen by magnitude (seconds up to
 * year 5138, milliseconds up to 1e14, microseconds up to 1e17, else ns). */
static int parse_bare_epoch(const char *p, int64_t *out)
{
	decnum d;
	size_t n = parse_decnum(p, &d);
	int64_t unit;

	if (!n || *skip_ws(p + n) != '\0')
		return TT_EBADARG;
	if (d.ip < 100000000000ULL)
		unit = NS_PER_S;
	else if (d.ip < 100000000000000ULL)
		unit = 1000000;
	else if (d.ip < 100000000000000000ULL)
		unit = 1000;
	else
		unit = 1;
	return decnum_scale(&d, unit, out) < 0 ? TT_EBADARG : 0;
}

/* Local midnight of now_ns's day plus `days` calendar days. */
static int local_midnight(int64_t now_ns, int days, int64_t *out)
{
	time_t t = (time_t)(now_ns / NS_PER_S - (now_ns % NS_PER_S < 0));
	struct tm tm;
	int64_t secs;

	if (!localtime_r(&t, &tm))
		return TT_EBADARG;
	if (local_to_epoch(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday + days, 0, 0, 0,
	        &secs) < 0)
		return TT_EBADARG;
	return mul_add(secs, NS_PER_S, 0, out);
}

int tt_parse_time(const char *s, int64_t now_ns, int64_t *out_ns)
{
	char word[16];
	size_t n;
	const char *end;
	int64_t dur;
	int sign, explicit;

	if (!s || !out_ns)
		return TT_EBADARG;
	s = skip_ws(s);
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return TT_EBADARG;
	if (n < sizeof(word)) {
		memcpy(word, s, n);
		word[n] = '\0';
		if (strcasecmp(word, "now") == 0) {
			*out_ns = now_ns;
			return 0;
		}
		if (strcasecmp(word, "today") == 0)
			return local_midnight(now_ns, 0, out_ns);
		if (strcasecmp(word, "yesterday") == 0)
			return local_midnight(now_ns, -1, out_ns);
		if (strcasecmp(word, "tomorrow") == 0)
			return local_midnight(now_ns, 1, out_ns);
	}
	if (*s == '@')
		return parse_epoch_seconds(s + 1, out_ns);
	/* a date first: "2026-..." would otherwise read as a duration-less number */
	if (n >= 10 && isdigit((unsigned char)s[0]) && s[4] == '-')
		return parse_rfc3339(s, out_ns);

	/* bare digits (no sign, no unit): an epoch, not "N seconds ago" */
	if (strspn(s, "0123456789.") == n)
		return parse_bare_epoch(s, out_ns);

	/* relative: "-1h", "+30m", "30m" (= ago), "2 days ago", "in 2h" */
	sign = -1;
	explicit = 0;
	if (*s == '-' || *s == '+') {
		sign = *s == '+' ? 1 : -1;
		explicit = 1;
		s++;
	} else if (strncasecmp(s, "in ", 3) == 0) {
		sign = 1;
		explicit = 1;
		s += 3;
	}
	if (parse_dur_terms(s, &dur, &end) < 0)
		return TT_EBADARG;
	end = skip_ws(end);
	if (strncasecmp(end, "ago", 3) == 0) {
		if (explicit)
			return TT_EBADARG; /* "+1h ago", "in 1h ago" */
		end = skip_ws(end + 3);
	}
	if (*end != '\0')
		return TT_EBADARG;
	if (sign < 0) {
		if (now_ns < INT64_MIN + dur)
			return TT_EBADARG;
		*out_ns = now_ns - dur;
	} else {
		if (now_ns > INT64_MAX - dur)
			return TT_EBADARG;
		*out_ns = now_ns + dur;
	}
	return 0;
}
