#!/usr/bin/env python3
"""inject.py -- I/O errors and allocation failures at the Nth call (t8300-inject.sh).

For each workload (tt-ingest of a small input with rotation, tt-query, tt-gc,
tt-check, tt-check --rebuild-index), each function group of injshim.so
(alloc: malloc/calloc/realloc -> ENOMEM; writes: write/pwrite/pwritev/writev
-> EIO and ENOSPC; sync: fsync/fdatasync -> EIO; meta: open/ftruncate/rename/
unlink/mmap -> EIO) and each mode (once: only the Nth call fails; persist: the
Nth and every later one), run the workload on a fresh copy of a base store
with N = 1, 2, ... (every STRIDE-th N) until a run ends without the shim
firing. After every run:

  - the tool did not crash (exit < 128), hang, or exit 0 having lost data
    (an ingest that exits 0 stored all its input; a query that exits 0 printed
    every record; a failed run exits non-zero naming the failure on stderr);
  - without the shim, the store opens (recovery), tt-check exits 0, and it holds
    exactly the base data plus, for ingest, all of the input (success) or a
    prefix of it (failure), minus, for gc, whole oldest segments; every record
    byte for byte as written (no garbled record).

usage: inject.py BINDIR SHIM WORKDIR STRIDE [WORKLOAD...]
Prints "# N injected runs, V violations"; exit 1 on any violation.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys

BIN, SHIM, WORK, STRIDE = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ONLY = sys.argv[5:]
TIMEOUT = 60
BASE_N, INPUT_N, INPUT0 = 1500, 1500, 100000
IDS = 23
ERRTEXT = re.compile(r"(?i)input/output error|no space left|cannot allocate memory|out of memory|"
                     r"\bEIO\b|\bENOSPC\b|\bENOMEM\b|resource temporarily unavailable")

GROUPS = [("alloc", "EIO"), ("writes", "EIO"), ("writes", "ENOSPC"), ("sync", "EIO"), ("meta", "EIO"),
          ("meta", "ENOSPC")]
WORKLOADS = ["ingest", "query", "gc", "check", "rebuild"]


def record(n):
    words = " ".join("%x" % ((n * 2654435761 + k * 40503) % 4294967291) for k in range(6))
    return {"ts": 1732147200000000000 + n * 1000, "corr": "i%d" % (n % IDS), "service": "s%d" % (n % 3),
            "n": n, "msg": "inject record %d %s" % (n, words)}


def lines(lo, hi):
    return "".join(json.dumps(record(n)) + "\n" for n in range(lo, hi)).encode()


def run(args, env=None, stdin=None):
    try:
        p = subprocess.run(args, input=stdin, capture_output=True, timeout=TIMEOUT, env=env)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def tool(name, *args, env=None, stdin=None):
    return run([os.path.join(BIN, name)] + list(args), env=env, stdin=stdin)


def seg_ranges(store):
    """n-range of each segment of the base store (records are in input order)."""
    out, n = [], 0
    for name in sorted(os.listdir(os.path.join(store, "seg"))):
        data = open(os.path.join(store, "seg", name), "rb").read()
        pos, cnt = 64, 0
        while pos + 48 <= len(data):
            clen, rlen, nrec = struct.unpack_from("<III", data, pos + 8)
            cnt += nrec
            pos += 48 + clen
        out.append((n, n + cnt))
        n += cnt
    return out


def contents(store):
    """(rc, list of n, error) of every record in the store, each checked against the oracle."""
    rc, out, err = tool("tt-query", "-D", store, "-n", "all")
    if rc not in (0, 1):
        return rc, None, "tt-query exit %s: %s" % (rc, err.strip()[-300:])
    ns = []
    for line in out.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            return rc, None, "unparseable output line %r" % line[:100]
        r.pop("time", None)
        if "n" not in r or r != record(r["n"]):
            return rc, None, "garbled record %r" % line[:200]
        ns.append(r["n"])
    return rc, ns, None


def main():
    os.makedirs(WORK, exist_ok=True)
    base = os.path.join(WORK, "base")
    if os.path.exists(base):
        shutil.rmtree(base)
    rc, _, err = tool("tt-ingest", "-q", "--segment-size", "64K", "-D", base, stdin=lines(0, BASE_N))
    if rc != 0:
        sys.exit("setup: %s" % err)
    segs = seg_ranges(base)
    base_set = set(range(BASE_N))
    inp = os.path.join(WORK, "input.jsonl")
    open(inp, "wb").write(lines(INPUT0, INPUT0 + INPUT_N))
    input_list = list(range(INPUT0, INPUT0 + INPUT_N))
    print("# base store: %d records in %d segments" % (BASE_N, len(segs)))
    case = os.path.join(WORK, "case")
    rep = os.path.join(WORK, "report")
    runs, violations, fired_runs, failed_runs = 0, [], 0, 0
    per = {}

    def V(desc, msg):
        violations.append("%s: %s" % (desc, msg))

    for wl in [w for w in WORKLOADS if not ONLY or w in ONLY]:
        argv = {"ingest": ["tt-ingest", "-q", "--segment-size", "64K", "-D", case, inp],
                "query": ["tt-query", "-D", case, "-n", "all"],
                "gc": ["tt-gc", "-q", "-D", case, "--max-segments", "2"],
                "check": ["tt-check", "-D", case],
                "rebuild": ["tt-check", "-D", case, "--rebuild-index"]}[wl]
        for grp, eno in GROUPS:
            for mode in ("once", "persist"):
                n = 1
                while True:
                    desc = "%s INJ_FN=%s INJ_ERRNO=%s INJ_MODE=%s INJ_N=%d" % (wl, grp, eno, mode, n)
                    if os.path.exists(case):
                        shutil.rmtree(case)
                    shutil.copytree(base, case)
                    if os.path.exists(rep):
                        os.unlink(rep)
                    env = dict(os.environ, LD_PRELOAD=SHIM, INJ_FN=grp, INJ_N=str(n), INJ_MODE=mode,
                               INJ_ERRNO=eno, INJ_DIR=case, INJ_REPORT=rep, INJ_SKIP_CXX="1")
                    rc, out, err = run([os.path.join(BIN, argv[0])] + argv[1:], env=env)
                    runs += 1
                    per[wl] = per.get(wl, 0) + 1
                    try:
                        fired = int(open(rep).read().split()[3])
                    except (OSError, IndexError, ValueError):
                        fired = -1  # the process died before its destructor ran
                    if fired:
                        fired_runs += 1
                    if rc == "timeout":
                        V(desc, "hung")
                    elif rc < 0 or rc >= 128:
                        V(desc, "crashed: exit %s: %s" % (rc, err.strip()[-300:]))
                    elif rc != 0:
                        failed_runs += 1
                        if not ERRTEXT.search(err + out):
                            V(desc, "exit %s without naming the failure: %r" % (rc, err.strip()[-300:]))
                    # the store afterwards, without the shim
                    src, _, serr = tool("tt-gc", "-q", "-n", "--max-segments", "100000", "-D", case)  # opens with recovery
                    if src != 0:
                        V(desc, "store does not open afterwards: tt-gc -n exit %s: %s" % (src, serr.strip()[-300:]))
                    crc, cout, cerr = tool("tt-check", "-D", case)
                    if crc != 0:
                        V(desc, "tt-check afterwards exit %s: %s %s" % (crc, cout.strip()[-300:], cerr.strip()[-200:]))
                    qrc, ns, qerr = contents(case)
                    if qerr:
                        V(desc, "afterwards: " + qerr)
                    elif len(ns) != len(set(ns)):
                        V(desc, "afterwards: %d duplicate records" % (len(ns) - len(set(ns))))
                    else:
                        got = set(ns)
                        if wl == "ingest":
                            new = sorted(got - base_set)
                            if not base_set <= got:
                                V(desc, "lost %d base records" % len(base_set - got))
                            elif rc == 0 and new != input_list:
                                V(desc, "exit 0 but stored %d of %d input records" % (len(new), INPUT_N))
                            elif new != input_list[:len(new)]:
                                V(desc, "stored records of the failed run are not a prefix of its input")
                        elif wl == "gc":
                            bounds = [lo for lo, hi in segs] + [BASE_N]
                            lo = min(got) if got else BASE_N
                            if not got <= base_set or got != set(range(lo, BASE_N)) or lo not in bounds:
                                V(desc, "gc left records that are not whole newest segments")
                            if rc == 0 and lo != segs[-2][0]:
                                V(desc, "gc exit 0 but kept records from %d (expected %d)" % (lo, segs[-2][0]))
                        elif got != base_set:
                            V(desc, "store has %d records, base had %d" % (len(got), BASE_N))
                        if wl == "query" and rc == 0:
                            try:
                                rq = [json.loads(x)["n"] for x in out.splitlines()]
                            except (ValueError, KeyError, TypeError):
                                rq = [None]
                                V(desc, "tt-query exit 0 printed %r" % out[:200])
                            if sorted(rq) != list(range(BASE_N)):
                                V(desc, "tt-query exit 0 but printed %d of %d records" % (len(rq), BASE_N))
                    if fired == 0:
                        break
                    n += STRIDE if n >= 8 else 1
    print("# runs by workload: " + ", ".join("%s %d" % kv for kv in per.items()))
    print("# %d runs hit an injected failure, %d exited non-zero" % (fired_runs, failed_runs))
    seen = []
    for v in violations:
        if v not in seen and len(seen) < int(os.environ.get("INJ_SHOW", "40")):
            print("# VIOLATION " + v)
            seen.append(v)
    print("# %d injected runs, %d violations" % (runs, len(violations)))
    sys.exit(1 if violations else 0)


if __name__ == "__main__":
    main()
