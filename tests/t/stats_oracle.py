#!/usr/bin/env python3
"""Brute-force oracle for tt-query --stats (t2300): generate records, or
compute the expected aggregates from the same JSON lines and compare them with
tt-query's JSON lines output. Counts, errors and sums must be equal; each
quantile within 1 % of the exact nearest-rank value of the data."""
import json
import math
import random
import sys

MIN = 60_000_000_000


def gen(n, seed, t0):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        r = {"ts": t0 + rnd.randrange(0, 5 * MIN), "corr": "c%d" % rnd.randrange(200)}
        if rnd.random() < 0.95:
            r["service"] = rnd.choice(["api", "db", "payments", "édge-ünïcode"])
        r["name"] = rnd.choice(["GET /a", "GET /b", "charge", "query"])
        r["kind"] = rnd.choice(["span", "span", "log"])
        if r["kind"] == "span":
            r["dur"] = int(rnd.lognormvariate(14, 2))
        lv = rnd.random()
        if lv < 0.05:
            r["level"] = "error"
        elif lv < 0.07:
            r["level"] = "fatal"
        elif lv < 0.1:
            r["status"] = "error"
        if rnd.random() < 0.2:
            r["attrs"] = {"gen_ai.usage.input_tokens": rnd.randrange(1000),
                          "gen_ai.usage.output_tokens": rnd.randrange(500),
                          "cost": rnd.randrange(1, 10000) / 1e6,
                          "http.status": rnd.choice([200, 404, 500])}
        out.append(r)
    return out


def is_err(r):
    return r.get("level") in ("error", "fatal") or str(r.get("status", "")).lower() == "error"


LLM = {"input_tokens": "gen_ai.usage.input_tokens", "output_tokens": "gen_ai.usage.output_tokens",
       "cost": "cost"}


def field(r, path):
    if path in r:
        v = r[path]
    else:
        v = r.get("attrs", {}).get(path)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def expect(recs, by, every, sums, since, until, where):
    groups = {}
    # one bucket: it starts at since, or at the store's oldest record
    start = since if since > -2**63 else min(r["ts"] for r in recs)
    for r in recs:
        if not (since <= r["ts"] <= until):
            continue
        if any(field(r, f) != v for f, v in where):
            continue
        b = (r["ts"] // every) * every if every else start
        key = (b,) + tuple(field(r, f) for f in by)
        g = groups.setdefault(key, {"count": 0, "errors": 0, "durs": [], "sums": [0] * len(sums)})
        g["count"] += 1
        g["errors"] += is_err(r)
        if "dur" in r:
            g["durs"].append(r["dur"])
        for i, s in enumerate(sums):
            v = r.get("attrs", {}).get(LLM[s])
            if v is not None:
                g["sums"][i] += round(v * 1e9) if s == "cost" else v
    return groups


def nearest_rank(vals, q):
    vals = sorted(vals)
    k = max(1, math.ceil(q * len(vals) - 1e-9))
    return vals[k - 1]


def compare(recs, got_lines, by, every, sums, since, until, where):
    exp = expect(recs, by, every, sums, since, until, where)
    got = {}
    for line in got_lines:
        o = json.loads(line)
        key = (o["ts"],) + tuple(o[f] for f in by)
        got[key] = o
    bad = []
    if set(exp) != set(got):
        bad.append("groups differ: missing %s, extra %s" % (sorted(set(exp) - set(got))[:5],
                                                           sorted(set(got) - set(exp))[:5]))
    for k in set(exp) & set(got):
        e, g = exp[k], got[k]
        if e["count"] != g["count"] or e["errors"] != g["errors"]:
            bad.append("%s: count/errors %d/%d, got %d/%d" % (k, e["count"], e["errors"],
                                                             g["count"], g["errors"]))
        if len(e["durs"]) != g["spans"]:
            bad.append("%s: spans %d, got %d" % (k, len(e["durs"]), g["spans"]))
        if e["durs"]:
            for q, name in ((0.5, "p50_ns"), (0.9, "p90_ns"), (0.95, "p95_ns"), (0.99, "p99_ns")):
                x = nearest_rank(e["durs"], q)
                if abs(g[name] - x) > 0.01 * x:
                    bad.append("%s: %s %d, got %d" % (k, name, x, g[name]))
            if max(e["durs"]) != g["max_ns"]:
                bad.append("%s: max %d, got %d" % (k, max(e["durs"]), g["max_ns"]))
        for i, s in enumerate(sums):
            want = e["sums"][i] / 1e9 if s == "cost" else e["sums"][i]
            have = g["sums"][s]
            if (s == "cost" and abs(want - have) > 1e-9 * max(1, abs(want))) or \
               (s != "cost" and want != have):
                bad.append("%s: sum %s %r, got %r" % (k, s, want, have))
    return bad


def main():
    if sys.argv[1] == "gen":
        for r in gen(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])):
            print(json.dumps(r, ensure_ascii=False))
        return 0
    # check DATA GOT by every sums since until [FIELD=VALUE...]
    recs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
    got = [l for l in open(sys.argv[3], encoding="utf-8") if l.strip()]
    by = [f for f in sys.argv[4].split(",") if f]
    every = int(sys.argv[5])
    sums = [f for f in sys.argv[6].split(",") if f]
    since, until = int(sys.argv[7]), int(sys.argv[8])
    where = [tuple(a.split("=", 1)) for a in sys.argv[9:]]
    bad = compare(recs, got, by, every, sums, since, until, where)
    for b in bad[:20]:
        print(b)
    print("%d groups compared, %d differences" % (len(got), len(bad)))
    return 1 if bad else 0


sys.exit(main())
