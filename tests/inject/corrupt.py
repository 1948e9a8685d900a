#!/usr/bin/env python3
"""corrupt.py -- systematic black-box corruption cases for t8200-corrupt.sh.

Builds one pristine store (3 segments: two sealed, one unsealed) from a fixed
input whose records carry a unique "n", maps every block of every segment file
to the records it holds (by parsing the block headers of FORMAT.md 6 directly:
nrec per block, records in input order), then, on a fresh copy per case,
damages it (bit flips, truncation, deleted files, appended garbage, foreign
segment headers, LMDB damage) and checks every tool against the oracle:

  - no tool crashes (exit >= 128), hangs (timeout) or reports a sanitizer error;
  - tt-query / tt-tail return exactly the records of the undamaged blocks, once
    each, and name every damaged block (segment, offset) on stderr, exit 3;
  - tt-check finds the damage: exit 3;
  - tt-check --rebuild-index rebuilds a working index: afterwards readers return
    every record of every block that still verifies, and meet no bad block.

usage: corrupt.py BINDIR WORKDIR NCASES SEED [KIND...]
Prints "# N corruption cases, F failures" (and each failure with what is
needed to reproduce it); exit status 1 when any case failed.
"""
import json
import multiprocessing
import os
import random
import shutil
import struct
import subprocess
import sys

BIN, WORK, NCASES, SEED = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ONLY = set(sys.argv[5:])
TIMEOUT = 30
SEG_HDR, BLK_HDR = 64, 48
BLK_MAGIC = b"TTBK"
PER_SEG = (1400, 1400, 900)  # records per segment: seg 3 stays unsealed
IDS = 37


def tool(name, *args, stdin=None):
    """Run a tool under a timeout; returns (rc, stdout, stderr)."""
    try:
        p = subprocess.run([os.path.join(BIN, name)] + list(args), input=stdin,
                           capture_output=True, timeout=TIMEOUT)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def record(n):
    rnd = random.Random(n * 7919 + 13)
    words = " ".join("%x" % rnd.getrandbits(40) for _ in range(8))
    return {"ts": 1732147200000000000 + n * 1000003, "corr": "c%d" % (n % IDS),
            "service": "s%d" % (n % 4), "n": n, "msg": "r%d %s" % (n, words)}


def build_pristine(path):
    start = 0
    for i, cnt in enumerate(PER_SEG):
        lines = "".join(json.dumps(record(n)) + "\n" for n in range(start, start + cnt))
        rc, out, err = tool("tt-ingest", "-q", "-D", path, stdin=lines.encode())
        if rc != 0:
            sys.exit("setup: tt-ingest failed: %s %s" % (rc, err))
        if i < len(PER_SEG) - 1:
            rc, out, err = tool("tt-gc", "-q", "-D", path, "--rotate")
            if rc != 0:
                sys.exit("setup: tt-gc --rotate failed: %s" % err)
        start += cnt


# the file of each segment role (1, 2 sealed; 3 active): its own id, or with
# TT_CORRUPT_RECOMPRESS=1 the id of the rewrite tt-check --recompress made
# of it (FORMAT.md 8.8: LZ4-HC blocks, a header naming its origin)
ROLE_ID = {1: 1, 2: 2, 3: 3}


def seg_path(store, seg):
    return os.path.join(store, "seg", "%016x.tts" % ROLE_ID[seg])


def parse_blocks(path):
    """Blocks of a segment file: list of dicts off, end, nrec, flags."""
    data = open(path, "rb").read()
    out, pos = [], SEG_HDR
    while pos + BLK_HDR <= len(data):
        if data[pos:pos + 4] != BLK_MAGIC:
            raise ValueError("no block magic at %d" % pos)
        flags = data[pos + 5]
        clen, rlen, nrec = struct.unpack_from("<III", data, pos + 8)
        out.append({"off": pos, "end": pos + BLK_HDR + clen, "nrec": nrec, "flags": flags})
        pos += BLK_HDR + clen
    if pos != len(data):
        raise ValueError("segment %s does not end on a block boundary" % path)
    return out


def block_map(store):
    """seg -> list of blocks with the n-range [lo, hi) of their records."""
    m, n = {}, 0
    for seg in (1, 2, 3):
        blks = parse_blocks(seg_path(store, seg))
        for b in blks:
            b["lo"], b["hi"] = n, n + b["nrec"]
            n += b["nrec"]
        m[seg] = blks
    if n != sum(PER_SEG):
        sys.exit("setup: block map holds %d records, not %d" % (n, sum(PER_SEG)))
    if not (m[1][-1]["flags"] & 1 and m[2][-1]["flags"] & 1) or m[3][-1]["flags"] & 1:
        sys.exit("setup: segments 1, 2 should be sealed and 3 not")
    return m


def xxh3_64(b):
    """XXH3-64 through libxxhash (the library the store itself uses)."""
    import ctypes
    f = ctypes.CDLL("libxxhash.so.0").XXH3_64bits
    f.restype, f.argtypes = ctypes.c_uint64, [ctypes.c_char_p, ctypes.c_size_t]
    return f(b, len(b))


def flip(path, off, mask):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ mask]))


def rng_records(blks):
    s = set()
    for b in blks:
        s.update(range(b["lo"], b["hi"]))
    return s


def sanitizer(err):
    return "Sanitizer" in err or "runtime error:" in err


class Case:
    def __init__(self, kind, desc):
        self.kind, self.desc = kind, desc
        self.lost = set()           # records readers must not return (pre-rebuild)
        self.lost_after = set()     # ... after --rebuild-index
        self.bad = []               # (seg, off) readers must name on stderr
        self.header = False         # segment header damaged: reports may persist
        self.lmdb = False           # index damage: readers may fail, never garble
        self.check_rc = {3}         # what tt-check must exit with first
        self.recovers = False       # damage in the unsealed segment that recovery repairs


def make_cases(bm, size, rnd, n):
    """Yield (Case, damage function) pairs."""
    kinds = []
    # relative weights of the case kinds (the short form has n about 400)
    plan = [("flip_sealed", 0.40), ("flip_active", 0.08), ("trunc", 0.18), ("append", 0.10),
            ("lmdb", 0.18), ("delete", 0.0), ("header", 0.0)]
    for k, w in plan:
        kinds += [k] * int(round(w * n))
    kinds += ["delete"] * 4 + ["header"] * 9
    if ONLY:
        kinds = [k for k in kinds if k in ONLY]
    for kind in kinds:
        yield globals()["case_" + kind](bm, size, rnd)


def block_at(bm, seg, off):
    for b in bm[seg]:
        if b["off"] <= off < b["end"]:
            return b
    return None


def case_flip(bm, size, rnd, seg):
    region = rnd.choice(["header", "bhdr", "payload", "payload", "trailer"] if seg != 3
                        else ["header", "bhdr", "payload", "payload"])
    data_blocks = [b for b in bm[seg] if not b["flags"] & 1]
    if region == "header":
        off = rnd.randrange(0, SEG_HDR)
    elif region == "trailer":
        t = bm[seg][-1]
        off = rnd.randrange(t["off"], t["end"])
    else:
        b = rnd.choice(data_blocks)
        off = rnd.randrange(b["off"], b["off"] + BLK_HDR) if region == "bhdr" else \
            rnd.randrange(b["off"] + BLK_HDR, b["end"])
    bit = 1 << rnd.randrange(8)
    c = Case("flip", "flip bit 0x%02x at segment %d offset %d (%s)" % (bit, seg, off, region))
    b = block_at(bm, seg, off)
    if b is None:
        c.header = True
    elif not b["flags"] & 1:
        c.lost = c.lost_after = rng_records([b])
        c.bad = [(seg, b["off"])]
    return c, lambda st: flip(seg_path(st, seg), off, bit)


def case_flip_sealed(bm, size, rnd):
    return case_flip(bm, size, rnd, rnd.choice([1, 2]))


def case_flip_active(bm, size, rnd):
    return case_flip(bm, size, rnd, 3)


def case_trunc(bm, size, rnd):
    seg = rnd.choice([1, 2, 3])
    t = rnd.randrange(0, size[seg])
    if rnd.random() < 0.3:  # on a block boundary
        t = rnd.choice(bm[seg])["off"]
    c = Case("trunc", "truncate segment %d at %d of %d" % (seg, t, size[seg]))
    gone = [b for b in bm[seg] if b["end"] > t and not b["flags"] & 1]
    c.lost = c.lost_after = rng_records(gone)
    c.bad = [(seg, b["off"]) for b in gone[:1]] if seg != 3 else []
    c.header = t < SEG_HDR
    c.recovers = seg == 3
    return c, lambda st: os.truncate(seg_path(st, seg), t)


def case_delete(bm, size, rnd):
    seg = rnd.choice([1, 2, 3])
    c = Case("delete", "delete segment %d (still in the index)" % seg)
    c.lost = c.lost_after = rng_records(bm[seg])
    c.bad = [(seg, None)]
    return c, lambda st: os.unlink(seg_path(st, seg))


def case_append(bm, size, rnd):
    seg = rnd.choice([1, 2, 3])
    what = rnd.choice(["random", "zeros", "magic", "torn-block", "block-header"])
    k = rnd.randrange(1, 6000)
    src = open(seg_path(WORK + "/pristine", seg), "rb").read()
    b = rnd.choice([b for b in bm[seg] if not b["flags"] & 1])
    if what == "random":
        g = bytes(rnd.getrandbits(8) for _ in range(k))
    elif what == "zeros":
        g = bytes(k)
    elif what == "magic":
        g = BLK_MAGIC + bytes(rnd.getrandbits(8) for _ in range(k))
    elif what == "torn-block":  # a real block cut short
        g = src[b["off"]:b["off"] + max(1, min(k, b["end"] - b["off"] - 1))]
    else:
        g = src[b["off"]:b["off"] + BLK_HDR]
    c = Case("append", "append %d bytes (%s) to segment %d" % (len(g), what, seg))
    c.recovers = seg == 3

    def damage(st):
        with open(seg_path(st, seg), "ab") as f:
            f.write(g)
    return c, damage


def case_header(bm, size, rnd):
    """A segment header that is well-formed (checksum right) but of another
    format version, with an unknown incompat bit, or of another store."""
    seg = case_header.n % 3 + 1
    what = ["version", "incompat", "uuid"][case_header.n // 3 % 3]
    case_header.n += 1
    c = Case("header", "segment %d header with a foreign %s (valid checksum)" % (seg, what))
    c.lost = rng_records(bm[seg])
    c.bad = [(seg, None)]  # readers refuse each of its blocks
    c.header = True
    c.lost_after = c.lost

    def damage(st):
        p = seg_path(st, seg)
        with open(p, "r+b") as f:
            h = bytearray(f.read(SEG_HDR))
            if what == "version":
                struct.pack_into("<I", h, 8, 3)
            elif what == "incompat":
                struct.pack_into("<I", h, 12, 0x10)
            else:
                h[32:48] = bytes(x ^ 0x5a for x in h[32:48])
            struct.pack_into("<Q", h, 56, xxh3_64(bytes(h[:56])))
            f.seek(0)
            f.write(h)
    return c, damage


case_header.n = 0


def case_lmdb(bm, size, rnd):
    mdb = size["mdb"]
    what = rnd.choice(["meta", "meta", "page", "page", "trunc"])
    c = Case("lmdb", "")
    c.lmdb = True
    c.check_rc = {0, 3, 4}  # judged separately: see run_case
    if what == "meta":
        page = rnd.choice([0, 1])
        off = page * 4096 + rnd.randrange(0, 160)
        bit = 1 << rnd.randrange(8)
        c.desc = "index: flip bit 0x%02x in meta page %d at offset %d" % (bit, page, off)
        return c, lambda st: flip(os.path.join(st, "index", "data.mdb"), off, bit)
    if what == "page":
        off = rnd.randrange(8192, mdb)
        bit = 1 << rnd.randrange(8)
        c.desc = "index: flip bit 0x%02x at data.mdb offset %d" % (bit, off)
        return c, lambda st: flip(os.path.join(st, "index", "data.mdb"), off, bit)
    t = rnd.choice([0, rnd.randrange(0, 8192), rnd.randrange(8192, mdb)])
    c.desc = "index: truncate data.mdb at %d of %d" % (t, mdb)
    return c, lambda st: os.truncate(os.path.join(st, "index", "data.mdb"), t)


def parse_ns(out):
    """n of every output line; None if a line is not a record of the oracle."""
    ns = []
    for line in out.splitlines():
        try:
            r = json.loads(line)
            n = r["n"]
        except (ValueError, KeyError, TypeError):
            return None
        if r.get("corr") != "c%d" % (n % IDS):
            return None
        ns.append(n)
    return ns


class Checker:
    def __init__(self):
        self.cases = 0
        self.failures = []
        self.stats = {}

    def fail(self, c, msg):
        self.failures.append("%s: %s" % (c.desc, msg))
        return False


def run_case(ck, c, damage, store, total):
    ok = True
    all_ns = set(range(total))
    if os.path.exists(store):
        shutil.rmtree(store)
    shutil.copytree(WORK + "/pristine", store)
    damage(store)

    def F(msg):
        nonlocal ok
        ok = False
        ck.fail(c, msg)

    def no_crash(name, rc, err):
        if rc == "timeout":
            F("%s hung (timeout %ds)" % (name, TIMEOUT))
            return False
        if rc >= 128 or rc < 0:
            F("%s crashed: exit %s: %s" % (name, rc, err.strip()[-300:]))
            return False
        if sanitizer(err):
            F("%s: sanitizer report: %s" % (name, err.strip()[-600:]))
            return False
        return True

    def names_bad(name, err):
        for seg, off in c.bad:
            tag = "segment %016x" % ROLE_ID[seg] + (" offset %d:" % off if off is not None else "")
            if tag not in err:
                F("%s did not report %s on stderr: %s" % (name, tag, err.strip()[-300:]))

    # 1. tt-check first: it opens without recovery and reports the store as found
    rc, out, err = tool("tt-check", "-D", store)
    if no_crash("tt-check", rc, err):
        if c.lmdb:
            ck.stats["lmdb-check-%s" % rc] = ck.stats.get("lmdb-check-%s" % rc, 0) + 1
            lmdb_check_rc = rc
            # 3; 0 when the damage is harmless; 4 only naming why LMDB could not
            # open it (a meta page whose page count was hit: mmap ENOMEM)
            if rc not in (0, 3) and not (rc == 4 and "could not open store" in err):
                F("tt-check exit %s on a damaged index: %s %s" %
                  (rc, out.strip()[-200:], err.strip()[-200:]))
        elif rc not in c.check_rc:
            F("tt-check exit %s, expected %s: %s" % (rc, sorted(c.check_rc), out.strip()[-300:]))
    # 2. readers
    for name, args in (("tt-query", ["-n", "all", "--fields", "n,corr"]),
                       ("tt-tail", ["-n", "all", "--fields", "n,corr"])):
        rc, out, err = tool(name, "-D", store, *args)
        if not no_crash(name, rc, err):
            continue
        if c.lmdb:
            ns = parse_ns(out)
            if rc not in (0, 1, 3, 4):
                F("%s exit %s on a damaged index" % (name, rc))
            elif ns is None:
                F("%s printed a garbled record" % name)
            elif len(ns) != len(set(ns)):
                F("%s returned duplicates" % name)
            elif set(ns) != all_ns:
                ck.stats["lmdb-reader-partial"] = ck.stats.get("lmdb-reader-partial", 0) + 1
                if lmdb_check_rc == 0:
                    # only a consistent older snapshot passes tt-check: LMDB fell back
                    # to the other meta page. That is a crash state (blocks written,
                    # not indexed) and the next read-write open recovers it.
                    rc2, _, err2 = tool("tt-gc", "-q", "-n", "--max-segments", "100000", "-D", store)
                    rc3, out3, err3 = tool(name, "-D", store, *args)
                    ns3 = parse_ns(out3)
                    if rc2 != 0 or ns3 is None or sorted(ns3) != sorted(all_ns):
                        F("%s returned %d of %d records, tt-check found nothing, and a "
                          "recovering open did not bring them back: %s %s" %
                          (name, len(ns), total, err2.strip()[-200:], err3.strip()[-200:]))
                    else:
                        ck.stats["lmdb-older-snapshot-recovered"] = \
                            ck.stats.get("lmdb-older-snapshot-recovered", 0) + 1
            continue
        ns = parse_ns(out)
        if ns is None:
            F("%s printed a line that is no record of the input" % name)
            continue
        if len(ns) != len(set(ns)):
            F("%s returned %d duplicate records" % (name, len(ns) - len(set(ns))))
        exp = all_ns - c.lost
        if set(ns) != exp:
            missing, extra = exp - set(ns), set(ns) - exp
            F("%s: %d intact records missing (e.g. %s), %d unexpected (e.g. %s)" %
              (name, len(missing), sorted(missing)[:3], len(extra), sorted(extra)[:3]))
        if c.lost and not c.recovers:
            if rc != 3:
                F("%s exit %s, expected 3" % (name, rc))
            names_bad(name, err)
        elif rc not in (0, 3):
            F("%s exit %s" % (name, rc))
    # 3. lookups of two ids (the index path), and tt-stat
    for cid in ("c%d" % (ck.cases % IDS),):
        rc, out, err = tool("tt-query", "-D", store, cid, "--fields", "n,corr")
        if not no_crash("tt-query ID", rc, err) or c.lmdb:
            continue
        ns = parse_ns(out)
        k = int(cid[1:])
        exp = set(x for x in all_ns - c.lost if x % IDS == k)
        if ns is None or set(ns) != exp or len(ns) != len(exp):
            F("tt-query %s: got %s records, expected %d" % (cid, None if ns is None else len(ns), len(exp)))
    rc, out, err = tool("tt-stat", "-D", store)
    no_crash("tt-stat", rc, err)
    # 4. rebuild, then everything that still verifies is readable, without reports
    rc, out, err = tool("tt-check", "-D", store, "--rebuild-index")
    if no_crash("tt-check --rebuild-index", rc, err):
        if rc not in (0, 3):
            F("tt-check --rebuild-index exit %s: %s %s" % (rc, out.strip()[-200:], err.strip()[-200:]))
            return ok
        if rc != 3 and not c.lmdb:
            F("tt-check --rebuild-index exit %s, expected 3" % rc)
    for name, args in (("tt-query", ["-n", "all"]), ("tt-tail", ["-n", "all", "--fields", "n,corr"])):
        rc, out, err = tool(name, "-D", store, *args)
        if not no_crash(name + " after rebuild", rc, err):
            continue
        ns = parse_ns(out)
        exp = all_ns - c.lost_after
        if ns is None:
            F("%s after rebuild printed a line that is no record of the input" % name)
        elif set(ns) != exp or len(ns) != len(exp):
            F("%s after rebuild: %d records (%d distinct), expected %d" % (name, len(ns), len(set(ns)), len(exp)))
        elif name == "tt-query":
            # every record byte for byte as written
            for line in out.splitlines():
                r = json.loads(line)
                r.pop("time", None)
                if r != record(r["n"]):
                    F("record %d differs from what was written" % r["n"])
                    break
        if rc != 0 and not (c.header and rc == 3):
            F("%s after rebuild exit %s: %s" % (name, rc, err.strip()[-300:]))
    return ok


CASES = []
JOBS = int(os.environ.get("TT_JOBS", "2"))


def run_one(i):
    c, damage = CASES[i]
    ck = Checker()
    ck.cases = i
    run_case(ck, c, damage, "%s/case.%d" % (WORK, os.getpid()), sum(PER_SEG))
    return ck.failures, ck.stats


def main():
    rnd = random.Random(SEED)
    os.makedirs(WORK, exist_ok=True)
    pristine = WORK + "/pristine"
    if os.path.exists(pristine):
        shutil.rmtree(pristine)
    build_pristine(pristine)
    if os.environ.get("TT_CORRUPT_RECOMPRESS") == "1":
        rc, out, err = tool("tt-check", "-q", "-D", pristine, "--recompress", "-o", "json")
        if rc != 0:
            sys.exit("setup: tt-check --recompress failed: %s %s" % (rc, err))
        for r in json.loads(out)["rewritten"]:
            old = int(r["segment"], 16)
            ROLE_ID[old] = int(r["new_segment"], 16)
        if sorted(ROLE_ID.values()) == [1, 2, 3]:
            sys.exit("setup: tt-check --recompress rewrote nothing")
        print("# segments rewritten first (tt-check --recompress): %s" %
              ", ".join("%d -> %d" % (k, v) for k, v in sorted(ROLE_ID.items()) if k != v))
    bm = block_map(pristine)
    size = {seg: os.path.getsize(seg_path(pristine, seg)) for seg in (1, 2, 3)}
    size["mdb"] = os.path.getsize(os.path.join(pristine, "index", "data.mdb"))
    total = sum(PER_SEG)
    print("# pristine store: %s blocks in 3 segments, %d records" %
          ("+".join(str(len(bm[s])) for s in (1, 2, 3)), total))
    global CASES
    CASES = list(make_cases(bm, size, rnd, NCASES))
    kinds = {}
    for c, _ in CASES:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    ck = Checker()
    # two workers (this is a 2-core machine), each on its own copy
    with multiprocessing.get_context("fork").Pool(JOBS) as pool:
        for fails, stats in pool.imap_unordered(run_one, range(len(CASES)), chunksize=4):
            ck.cases += 1
            ck.failures += fails
            for k, v in stats.items():
                ck.stats[k] = ck.stats.get(k, 0) + v
    print("# cases by kind: " + ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
    if ck.stats:
        print("# " + ", ".join("%s %d" % kv for kv in sorted(ck.stats.items())))
    seen = set()
    for f in ck.failures:
        if len(seen) < 40 and f not in seen:
            print("# FAIL " + f)
        seen.add(f)
    print("# %d corruption cases, %d failures" % (ck.cases, len(ck.failures)))
    sys.exit(1 if ck.failures else 0)


if __name__ == "__main__":
    main()
