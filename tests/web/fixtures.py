#!/usr/bin/env python3
"""fixtures.py NOW_NS -- the browser suite's own records, as JSON lines.

Beside tt-gen's traffic, t7400-ui.sh stores these known traces:
  ui-wf     a span tree (5 spans, one failing, a span event, a log record
            under a span, an LLM call) whose waterfall the suite checks
            against tt-query -o tree
  ui-seq    a checkpoint trace: web -> api -> db and back (->/<- pairs)
  ui-xss    records whose every text is markup and script
  ui-big    BIG spans in one trace (the 10 000-span case), when BIG > 0
"""
import json
import sys

now = int(sys.argv[1])
big = int(sys.argv[2]) if len(sys.argv) > 2 else 0
ms = 1_000_000
t0 = now - 90_000 * ms
out = []


def rec(**kw):
    out.append(kw)


# ui-wf: GET /checkout at t0, 120 ms
rec(ts=t0, corr="ui-wf", service="gateway", kind="span", span="a1", name="GET /checkout",
    dur=120 * ms, status="ok", attrs={"http.method": "GET", "http.status_code": 200})
rec(ts=t0 + 2 * ms, corr="ui-wf", service="auth", kind="span", span="b1", parent="a1",
    name="auth.verify", dur=10 * ms, status="ok", attrs={"user.id": "u-42"})
rec(ts=t0 + 15 * ms, corr="ui-wf", service="orders", kind="span", span="b2", parent="a1",
    name="orders.create", dur=80 * ms, status="ok",
    events=[{"ts": t0 + 20 * ms, "name": "cache.miss", "attrs": {"key": "cart:42"}}])
rec(ts=t0 + 20 * ms, corr="ui-wf", service="orders", kind="span", span="c1", parent="b2",
    name="db.insert", dur=30 * ms, status="error", level="error",
    msg="duplicate key value violates unique constraint", attrs={"db.system": "postgresql"})
rec(ts=t0 + 25 * ms, corr="ui-wf", service="orders", kind="log", span="c1", level="warn",
    name="orders.db", msg="retrying insert after conflict")
rec(ts=t0 + 60 * ms, corr="ui-wf", service="assistant", kind="llm_call", span="c2", parent="b2",
    name="chat.completions", dur=30 * ms, status="ok",
    attrs={"model": "gpt-4o-mini", "input_tokens": 812, "output_tokens": 64, "cost": 0.00016})

# ui-seq: checkpoints web -> api -> db, replies back
t1 = t0 + 1000 * ms
for i, (svc, d, name, dt) in enumerate([
        ("web", "->", "GET /cart", 0), ("api", "->", "cart.load", 3),
        ("db", "->", "SELECT cart", 5), ("db", "<-", "SELECT cart", 17),
        ("api", "<-", "cart.load", 21), ("web", "<-", "GET /cart", 24)]):
    rec(ts=t1 + dt * ms, corr="ui-seq", service=svc, kind="checkpoint", dir=d, name=name,
        endpoint="/" + svc)

# ui-xss: every text is hostile
x = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
rec(ts=t0 + 2000 * ms, corr="ui-xss", service="<b>svc</b>", kind="span", span="x1",
    name=x, dur=5 * ms, msg=x, level="error", attrs={x: x, "html": "<a href=javascript:window.__xss=1>x</a>"})
rec(ts=t0 + 2001 * ms, corr="ui-xss", service="<b>svc</b>", kind="log", msg=x, level="info")

# ui-big: a wide and deep trace
tb = t0 + 3000 * ms
for i in range(big):
    parent = "s%d" % ((i - 1) // 4) if i else None
    r = dict(ts=tb + i * 1000, corr="ui-big", service="svc-%d" % (i % 7), kind="span",
             span="s%d" % i, name="op-%d" % (i % 13), dur=(big - i) * 1000 + 500, status="ok")
    if parent:
        r["parent"] = parent
    out.append(r)

for r in out:
    sys.stdout.write(json.dumps(r, separators=(",", ":")) + "\n")
