/*
 * rules.c -- the alert rules file (man 5 ttd-alerts): '#' comments, one
 * "[rule NAME]" section per rule, "name = value" lines in it, the shape of
 * ttd's config file. Every error names FILE:LINE and why; a file with one is
 * refused whole (the engine then keeps its old rules).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "ttd.h"
#include "ttformat.h"

static void rule_free(alert_rule *r)
{
	free(r->name);
	free(r->service);
	for (int i = 0; i < r->nmatch; i++)
		free(r->match[i]);
	for (int i = 0; i < r->nby; i++)
		free(r->by[i]);
	free(r->webhook);
	free(r->exec);
	free(r->secret);
	free(r->severity);
	free(r->summary);
	memset(r, 0, sizeof *r);
}

void alert_rules_free(alert_rules *r)
{
	for (int i = 0; i < r->n; i++)
		rule_free(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	return (*dst = strdup(v)) ? 0 : -1;
}

/* A value of key k for rule r: NULL when fine, else why not. */
static const char *rule_set(alert_rule *r, const char *k, const char *v)
{
	static const char *const kinds[] = { "errors", "error_rate", "latency", "silence", "count" };
	int64_t d;
	char *end;

	if (!strcmp(k, "kind")) {
		for (int i = 0; i < 5; i++)
			if (!strcmp(v, kinds[i])) {
				r->kind = i;
				return NULL;
			}
		return "expected errors, error_rate, latency, silence or count";
	}
	if (!strcmp(k, "service"))
		return set_str(&r->service, v) ? "out of memory" : NULL;
	if (!strcmp(k, "level")) {
		r->min_level = tt_level_parse(v, strlen(v));
		return r->min_level == TT_LVL_NONE ? "expected trace, debug, info, warn, error or fatal" : NULL;
	}
	if (!strcmp(k, "by")) {
		char *copy = strdup(v), *save = NULL;
		if (!copy)
			return "out of memory";
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			t = ttd_trim(t);
			if (!*t)
				continue;
			if (r->nby == ALERT_BY_MAX) {
				free(copy);
				return "at most 4 fields";
			}
			if (!(r->by[r->nby++] = strdup(t))) {
				free(copy);
				return "out of memory";
			}
		}
		free(copy);
		return r->nby ? NULL : "expected FIELD[,FIELD...]";
	}
	if (!strcmp(k, "window") || !strcmp(k, "for") || !strcmp(k, "cooldown")) {
		if (tt_parse_duration(v, &d) < 0 || d < 0)
			return "expected a duration with a unit (500ms, 10s, 1m, 1h)";
		if (!strcmp(k, "window")) {
			if (d < 1000000)
				return "at least 1ms";
			r->window_ns = d;
		} else if (!strcmp(k, "for")) {
			r->for_ns = d;
		} else {
			r->cooldown_ns = d;
		}
		return NULL;
	}
	if (!strcmp(k, "threshold")) {
		/* a duration for latency rules ("250ms"), else a number */
		if (tt_parse_duration(v, &d) == 0 && strpbrk(v, "numshdw")) {
			r->threshold = (double)d;
			return NULL;
		}
		r->threshold = strtod(v, &end);
		return (*v && !*end && r->threshold >= 0) ? NULL : "expected a number (or a duration for latency)";
	}
	if (!strcmp(k, "quantile")) {
		r->quantile = strtod(v, &end);
		return (*v && !*end && r->quantile > 0 && r->quantile <= 1) ? NULL : "expected a number in (0, 1]";
	}
	if (!strcmp(k, "webhook")) {
		if (strncmp(v, "http://", 7) != 0)
			return "expected an http:// URL (https: put a local relay in front)";
		return set_str(&r->webhook, v) ? "out of memory" : NULL;
	}
	if (!strcmp(k, "format")) {
		if (!strcmp(v, "alertmanager")) r->format = AF_ALERTMANAGER;
		else if (!strcmp(v, "slack")) r->format = AF_SLACK;
		else if (!strcmp(v, "json")) r->format = AF_JSON;
		else return "expected alertmanager, slack or json";
		return NULL;
	}
	if (!strcmp(k, "exec"))
		return set_str(&r->exec, v) ? "out of memory" : NULL;
	if (!strcmp(k, "secret"))
		return set_str(&r->secret, v) ? "out of memory" : NULL;
	if (!strcmp(k, "severity"))
		return set_str(&r->severity, v) ? "out of memory" : NULL;
	if (!strcmp(k, "summary"))
		return set_str(&r->summary, v) ? "out of memory" : NULL;
	if (!strcmp(k, "name") || !strcmp(k, "match") || strchr(k, '.')) {
		/* name = X, match = FIELD=VALUE, attrs.x = Y: record conditions */
		char buf[600];
		if (r->nmatch == ALERT_MATCH_MAX)
			return "at most 16 conditions";
		if (!strcmp(k, "match")) {
			if (!strchr(v, '='))
				return "expected FIELD=VALUE";
			snprintf(buf, sizeof buf, "%s", v);
		} else {
			snprintf(buf, sizeof buf, "%s=%s", k, v);
		}
		return (r->match[r->nmatch++] = strdup(buf)) ? NULL : "out of memory";
	}
	return "unknown key";
}

/* What a finished rule still lacks, or NULL. */
static const char *rule_check(const alert_rule *r)
{
	if (!r->window_ns)
		return "no window";
	if (r->kind != AK_SILENCE && r->threshold <= 0 && r->kind != AK_COUNT)
		return "no threshold";
	if (!r->webhook && !r->exec)
		return "no webhook and no exec: nowhere to send it";
	if (r->kind == AK_LATENCY && r->quantile == 0)
		return "latency needs a quantile";
	return NULL;
}

int alert_rules_load(const char *file, alert_rules *out, char *err, size_t errn)
{
	FILE *f = fopen(file, "re");
	char line[4096];
	alert_rules rs = { NULL, 0 };
	alert_rule *cur = NULL;
	int lineno = 0;

	memset(out, 0, sizeof *out);
	if (!f) {
		snprintf(err, errn, "%s: cannot open: %m", file);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		char *k, *v, *eq, *hash;
		const char *why;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errn, "%s:%d: line longer than %zu bytes", file, lineno, sizeof line - 2);
			goto fail;
		}
		if ((hash = strchr(line, '#')) != NULL)
			*hash = 0;
		k = ttd_trim(line);
		if (!*k)
			continue;
		if (*k == '[') {
			char *end = strchr(k, ']');
			if (!end || strncmp(k, "[rule ", 6) != 0 || end[1]) {
				snprintf(err, errn, "%s:%d: expected '[rule NAME]'", file, lineno);
				goto fail;
			}
			*end = 0;
			if (cur && (why = rule_check(cur)) != NULL) {
				snprintf(err, errn, "%s:%d: rule '%s': %s", file, cur->line, cur->name, why);
				goto fail;
			}
			if (rs.n == ALERT_RULES_MAX) {
				snprintf(err, errn, "%s:%d: more than %d rules", file, lineno, ALERT_RULES_MAX);
				goto fail;
			}
			{
				alert_rule *nv = realloc(rs.v, (size_t)(rs.n + 1) * sizeof *nv);
				if (!nv) {
					snprintf(err, errn, "out of memory");
					goto fail;
				}
				rs.v = nv;
			}
			cur = &rs.v[rs.n++];
			memset(cur, 0, sizeof *cur);
			cur->line = lineno;
			cur->min_level = TT_LVL_NONE;
			cur->cooldown_ns = 5 * 60 * 1000000000LL;
			k = ttd_trim(k + 6);
			if (!*k || !(cur->name = strdup(k))) {
				snprintf(err, errn, "%s:%d: a rule needs a name", file, lineno);
				goto fail;
			}
			for (int i = 0; i + 1 < rs.n; i++)
				if (!strcmp(rs.v[i].name, cur->name)) {
					snprintf(err, errn, "%s:%d: rule '%s' again (first at line %d)", file,
					    lineno, cur->name, rs.v[i].line);
					goto fail;
				}
			continue;
		}
		if (!(eq = strchr(k, '='))) {
			snprintf(err, errn, "%s:%d: expected 'name = value'", file, lineno);
			goto fail;
		}
		if (!cur) {
			snprintf(err, errn, "%s:%d: '%s' outside a [rule NAME] section", file, lineno, k);
			goto fail;
		}
		*eq = 0;
		v = ttd_trim(eq + 1);
		k = ttd_trim(k);
		if ((why = rule_set(cur, k, v)) != NULL) {
			snprintf(err, errn, "%s:%d: %s '%s': %s", file, lineno, k, v, why);
			goto fail;
		}
	}
	if (ferror(f)) {
		snprintf(err, errn, "%s: read error", file);
		goto fail;
	}
	if (cur) {
		const char *why = rule_check(cur);
		if (why) {
			snprintf(err, errn, "%s:%d: rule '%s': %s", file, cur->line, cur->name, why);
			goto fail;
		}
	}
	fclose(f);
	*out = rs;
	return 0;
fail:
	fclose(f);
	alert_rules_free(&rs);
	return -1;
}
