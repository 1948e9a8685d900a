#!/usr/bin/env python3
"""plreplay.py -- crash states from a plshim.so log, checked with the real tools.

    plreplay.py dump LOG
    plreplay.py check LOG --bin DIR --driver PATH --work DIR [--states N]
                          [--seed S] [--gc] [--name NAME] [--keep-failures]
                          [--only I]

The log (tests/powerloss/plshim.c) lists, in execution order, every operation
that changed the files under the recorded root: creations, writes (with their
bytes), truncations, fsync/fdatasync of files and directories, unlink, rename,
mkdir, and the oracle's "ack N" markers (records 1..N acknowledged).

The model of a power cut after operation k (section 2 of tests/RELIABILITY.md):

* file data: what the last fsync/fdatasync of the inode before k made durable
  (writes on an O_DSYNC descriptor are durable when they return), then each
  later write either lost, applied, or torn (sector by sector: new bytes, old
  bytes, zeros or random garbage), truncations applied or not -- per state one
  of: "lose" (every unsynced write lost, the last one torn), "keep" (every
  unsynced write kept, the last one torn) or "random" (each write's fate drawn);
  the write in flight at the cut (operation k+1) may land torn as well;
* directory entries (create, mkdir, unlink, rename): durable only once their
  directory was fsynced; per state "strict" (no unsynced entry survives),
  "prefix" (a random prefix of them survives, as a journal would keep them) or
  "all";
* LMDB's lock.mdb is not data (LMDB rebuilds it) and is left out.

For each state the store is opened with the tools, in this order, and must
satisfy:
  1. tt-tail -n all -o msgpack (read-only, before any recovery): every record
     is one that was appended, byte for byte (never garbage), records come in
     append order without gaps or repeats, and every acknowledged record is
     there (with --gc: a prefix of whole old segments may be gone);
  2. tt-ingest of 3 new records exits 0 (it opens the store for writing: the
     recovery of FORMAT.md 8.4 runs, no manual step);
  3. tt-check exits 0 (no index entry past valid data, no problem at all);
  4. tt-tail again: the same records (plus any unacknowledged ones recovery
     indexed, still in order, still no repeat), then the 3 new ones;
  5. every 4th state: tt-query of an acknowledged id returns exactly its
     records.
No tool may crash (signal) or hang (30 s).
"""
import argparse
import os
import random
import shutil
import struct
import subprocess
import sys

OP_CREATE, OP_MKDIR, OP_WRITE, OP_TRUNC, OP_FSYNC, OP_UNLINK, OP_RENAME, \
    OP_RMDIR, OP_MARK, OP_SYNCALL, OP_UNSUPP, OP_FALLOC = range(1, 13)
FL_DSYNC, FL_DIR = 1, 2
OPNAMES = {1: "create", 2: "mkdir", 3: "write", 4: "trunc", 5: "fsync", 6: "unlink",
           7: "rename", 8: "rmdir", 9: "mark", 10: "syncall", 11: "UNSUPPORTED",
           12: "fallocate"}
SECTOR = 512
RENAME_EXCHANGE = 2
HDR = struct.Struct("<IBBHIIQQQ8x")
POST = 1000000  # first of the records written after the crash


class Op:
    __slots__ = ("op", "flags", "pid", "ino", "a", "b", "path", "path2", "data")


def read_log(path):
    ops = []
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0
    while pos < len(buf):
        if len(buf) - pos < HDR.size:
            raise SystemExit("plreplay: truncated log record at %d" % pos)
        size, op, flags, plen, pid, p2len, ino, a, b = HDR.unpack_from(buf, pos)
        if size < HDR.size + plen + p2len or pos + size > len(buf) or not 1 <= op <= OP_FALLOC:
            raise SystemExit("plreplay: malformed log record at byte %d" % pos)
        o = Op()
        o.op, o.flags, o.pid, o.ino, o.a, o.b = op, flags, pid, ino, a, b
        q = pos + HDR.size
        o.path = buf[q:q + plen].decode("utf-8", "replace")
        q += plen
        o.path2 = buf[q:q + p2len].decode("utf-8", "replace")
        q += p2len
        o.data = buf[q:pos + size] if op == OP_WRITE else b""
        ops.append(o)
        pos += size
    return ops


def describe(i, o):
    s = "%5d pid %-6d %-8s" % (i, o.pid, OPNAMES.get(o.op, "?%d" % o.op))
    if o.op == OP_WRITE:
        s += " %s @%d +%d%s" % (o.path, o.a, o.b, " dsync" if o.flags & FL_DSYNC else "")
    elif o.op == OP_TRUNC:
        s += " %s -> %d" % (o.path, o.a)
    elif o.op == OP_FSYNC:
        s += " %s%s" % (o.path, "/ (dir)" if o.flags & FL_DIR else "")
    elif o.op == OP_RENAME:
        s += " %s -> %s%s" % (o.path, o.path2, " (exchange)" if o.a & RENAME_EXCHANGE else "")
    else:
        s += " " + o.path
    return s


# ---- the model

class Node:
    """An inode: durable content (files) or durable entries (directories),
    plus the operations since its last sync."""
    __slots__ = ("isdir", "data", "pending", "entries", "name")

    def __init__(self, isdir, name):
        self.isdir = isdir
        self.name = name
        self.data = bytearray()
        self.pending = []   # files: ("w", off, bytes, dsync) ("t", size) ("f", off, len, mode)
        self.entries = {}   # directories: durable name -> Node


def apply_op(buf, p):
    if p[0] == "w":
        off, data = p[1], p[2]
        if len(buf) < off:
            buf.extend(bytes(off - len(buf)))
        buf[off:off + len(data)] = data
    elif p[0] == "t":
        if len(buf) > p[1]:
            del buf[p[1]:]
        else:
            buf.extend(bytes(p[1] - len(buf)))
    elif p[0] == "f":
        end = p[1] + p[2]
        if not (p[3] & 1) and len(buf) < end:  # not FALLOC_FL_KEEP_SIZE
            buf.extend(bytes(end - len(buf)))


def apply_torn(buf, p, rng, garbage_ok):
    """A write that reached the disk only in part: sector by sector new, old,
    zeros or garbage (garbage and zeros only where the caller allows it)."""
    off, data = p[1], p[2]
    end = off + len(data)
    old_len = len(buf)
    if len(buf) < end:
        buf.extend(bytes(end - len(buf)))
    s = off
    while s < end:
        e = min(end, (s // SECTOR + 1) * SECTOR)
        r = rng.random()
        if r < 0.4:
            buf[s:e] = data[s - off:e - off]
        elif r < 0.7 or not garbage_ok:
            pass  # old bytes (zeros past the old end)
        elif r < 0.85:
            buf[s:e] = bytes(e - s)
        else:
            buf[s:e] = rng.randbytes(e - s)
        s = e
    if not garbage_ok and rng.random() < 0.5:
        # the size update may be lost with the data
        last_new = max(old_len, off)
        if len(buf) > last_new and all(b == 0 for b in buf[last_new:]):
            del buf[last_new:]


class Model:
    def __init__(self):
        self.root = Node(True, "")
        self.live = {"": self.root}   # path -> Node, as the processes saw it
        self.byino = {}
        self.dirpend = []             # unsynced entry ops, in order
        self.acked = 0
        self.marks = 0

    def parent(self, path):
        d, _, name = path.rpartition("/")
        return self.live.get(d), name

    def step(self, o):
        if o.op in (OP_CREATE, OP_MKDIR):
            node = Node(o.op == OP_MKDIR, o.path)
            par, name = self.parent(o.path)
            self.live[o.path] = node
            self.byino[o.ino] = node
            if par is not None:
                self.dirpend.append(("add", par, name, node))
        elif o.op in (OP_UNLINK, OP_RMDIR):
            self.live.pop(o.path, None)
            par, name = self.parent(o.path)
            if par is not None:
                self.dirpend.append(("del", par, name, None))
        elif o.op == OP_RENAME:
            p1, n1 = self.parent(o.path)
            p2, n2 = self.parent(o.path2)
            if o.a & RENAME_EXCHANGE:
                self.move_live(o.path, "\0tmp")
                self.move_live(o.path2, o.path)
                self.move_live("\0tmp", o.path2)
                self.dirpend.append(("xchg", p1, n1, (p2, n2, None)))
            else:
                self.move_live(o.path, o.path2)
                self.dirpend.append(("ren", p1, n1, (p2, n2, None)))
        elif o.op in (OP_WRITE, OP_TRUNC, OP_FALLOC):
            node = self.node_of(o)
            if o.op == OP_WRITE:
                node.pending.append(("w", o.a, bytes(o.data), bool(o.flags & FL_DSYNC)))
            elif o.op == OP_TRUNC:
                node.pending.append(("t", o.a))
            else:
                node.pending.append(("f", o.a, o.b, o.flags))
        elif o.op == OP_FSYNC:
            node = self.node_of(o)
            if node.isdir or o.flags & FL_DIR:
                self.sync_dir(node)
            else:
                self.sync_file(node)
        elif o.op == OP_SYNCALL:
            for n in set(self.byino.values()):
                if n.isdir:
                    self.sync_dir(n)
                else:
                    self.sync_file(n)
        elif o.op == OP_MARK:
            self.marks += 1
            if o.path.startswith("ack "):
                self.acked = max(self.acked, int(o.path[4:]))
        elif o.op == OP_UNSUPP:
            raise SystemExit("plreplay: the log has an operation this model cannot follow "
                             "(writable shared mmap or rename across the root): %s" % o.path)

    def move_live(self, src, dst):
        """Rename src (and everything under it) to dst in the live namespace."""
        for p in [p for p in self.live if p == src or p.startswith(src + "/")]:
            self.live[dst + p[len(src):]] = self.live.pop(p)

    def node_of(self, o):
        node = self.byino.get(o.ino)
        if node is None and o.path in self.live:  # the root, or made before the recording
            node = self.live[o.path]
            self.byino[o.ino] = node
        if node is None:  # existed before the recording: assume it durable
            node = Node(bool(o.flags & FL_DIR), o.path)
            self.byino[o.ino] = node
        return node

    @staticmethod
    def sync_file(node):
        for p in node.pending:
            apply_op(node.data, p)
        node.pending = []

    def sync_dir(self, d):
        keep = []
        for e in self.dirpend:
            if e[1] is d and (e[0] not in ("ren", "xchg") or e[3][0] is d):
                apply_entry(e, None)
            else:
                keep.append(e)
        self.dirpend = keep


def apply_entry(e, overrides):
    """Apply a directory entry op to the durable entries (overrides None) or
    to overrides, a dict Node -> copy of its entries (a crash state)."""
    def ents(d):
        if overrides is None:
            return d.entries
        if d not in overrides:
            overrides[d] = dict(d.entries)
        return overrides[d]
    kind, par, name, x = e
    if kind == "add":
        ents(par)[name] = x
    elif kind == "del":
        ents(par).pop(name, None)
    elif kind == "ren":
        p2, n2, _ = x
        cur = ents(par).pop(name, None)
        if cur is not None and p2 is not None:
            ents(p2)[n2] = cur
    else:  # xchg: both names exist, their inodes trade places
        p2, n2, _ = x
        a, b = ents(par).get(name), ents(p2).get(n2)
        if a is not None and b is not None:
            ents(par)[name], ents(p2)[n2] = b, a


# ---- one crash state

def build_state(model, inflight, rng, outdir):
    dmode = rng.choice(["lose", "lose", "random", "random", "keep"])
    emode = rng.choice(["strict", "strict", "prefix", "prefix", "all"])
    # directory entries
    overrides = {}
    pend = model.dirpend
    if emode == "strict":
        n = 0
    elif emode == "all":
        n = len(pend)
    else:
        n = rng.randint(0, len(pend))
    for e in pend[:n]:
        apply_entry(e, overrides)
    # file contents, written out while walking the durable tree
    files = 0

    def walk(d, path):
        nonlocal files
        ents = overrides.get(d, d.entries)
        for name, node in ents.items():
            fp = os.path.join(path, name)
            if node.isdir:
                os.mkdir(fp)
                walk(node, fp)
                continue
            if name == "lock.mdb":
                continue
            buf = bytearray(node.data)
            pl = list(node.pending)
            if inflight is not None and inflight[0] is node:
                pl.append(inflight[1] + ("inflight",))
            last_w = max([i for i, p in enumerate(pl) if p[0] == "w" and not p[3]] or [-1])
            for i, p in enumerate(pl):
                flying = len(p) > 4
                if p[0] == "w" and p[3] and not flying:
                    apply_op(buf, p)      # O_DSYNC: durable when it returned
                    continue
                if p[0] == "w" and (flying or i == last_w):
                    if flying or dmode != "random" or rng.random() < 0.5:
                        apply_torn(buf, p, rng, not p[3])
                        continue
                if dmode == "lose":
                    continue
                if dmode == "keep":
                    apply_op(buf, p)
                    continue
                r = rng.random()
                if r < 0.4:
                    apply_op(buf, p)
                elif r < 0.7 or p[0] != "w":
                    pass
                else:
                    apply_torn(buf, p, rng, not p[3])
            with open(fp, "wb") as f:
                f.write(buf)
            files += 1

    walk(model.root, outdir)
    return dmode, emode, files


# ---- checking a state with the tools

class Checker:
    def __init__(self, args, recs):
        self.a = args
        self.recs = recs                      # n -> bytes
        self.bykey = {r[:12]: n for n, r in recs.items()}
        self.post = b"".join(recs[POST + i] for i in range(3))

    def run(self, argv, stdin=None):
        try:
            p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
        except subprocess.TimeoutExpired:
            return None, b"", b"timeout"
        return p.returncode, p.stdout, p.stderr

    def tool(self, name):
        return os.path.join(self.a.bin, name)

    def parse(self, dump):
        """Records of a msgpack dump, as their numbers; raises on anything
        that is not exactly a record that was appended."""
        out, pos = [], 0
        while pos < len(dump):
            n = self.bykey.get(bytes(dump[pos:pos + 12]))
            if n is None or dump[pos:pos + len(self.recs[n])] != self.recs[n]:
                raise ValueError("bytes at %d of the dump are no record that was appended: %r"
                                 % (pos, bytes(dump[pos:pos + 24])))
            out.append(n)
            pos += len(self.recs[n])
        return out

    def contiguous(self, ns, acked, what):
        """ns must be records first..last in append order, each once, with
        first == 1 (with --gc: whole old segments may be gone, so any first)
        and last >= acked (gc never deletes the newest segments)."""
        if ns and ns != list(range(ns[0], ns[0] + len(ns))):
            bad = next(i for i in range(1, len(ns)) if ns[i] != ns[i - 1] + 1)
            return "%s: records out of order, missing or repeated near %d -> %d" % (
                what, ns[bad - 1], ns[bad])
        if ns and ns[0] != 1 and not self.a.gc:
            return "%s: records 1..%d are missing" % (what, ns[0] - 1)
        if acked and (not ns or ns[-1] < acked):
            return "%s: acknowledged records %d..%d are missing" % (
                what, ns[-1] + 1 if ns else 1, acked)
        return None

    def check(self, store, acked, idx):
        """Returns (violation text or None, facts dict)."""
        facts = {}
        rc, out, err = self.run([self.tool("tt-tail"), "-D", store, "-n", "all", "-o", "msgpack"])
        if rc is None:
            return "tt-tail (before recovery) hangs", facts
        if rc < 0:
            return "tt-tail (before recovery) died of signal %d: %s" % (-rc, err[-300:]), facts
        if rc == 4:
            facts["absent"] = 1
            if acked:
                return "store unavailable before recovery with %d records acknowledged: %s" % (
                    acked, err.decode(errors="replace").strip()), facts
            before = []
        elif rc in (0, 1):
            if rc == 1 and out:
                return "tt-tail exit 1 with output", facts
            try:
                before = self.parse(out)
            except ValueError as e:
                return "tt-tail (before recovery): %s" % e, facts
            v = self.contiguous(before, acked, "before recovery")
            if v:
                return v, facts
        else:
            return "tt-tail (before recovery) exit %d: %s" % (rc, err.decode(errors="replace").strip()), facts
        # 2. a writer opens the store: recovery, then new records
        rc, out, err = self.run([self.tool("tt-ingest"), "-q", "-D", store, "-F", "msgpack", "-"],
                                stdin=self.post)
        if rc != 0:
            return "tt-ingest after the crash: exit %s: %s" % (
                rc, err.decode(errors="replace").strip()[-400:]), facts
        # 3. tt-check
        rc, out, err = self.run([self.tool("tt-check"), "-D", store])
        if rc != 0:
            return "tt-check after recovery: exit %s: %s %s" % (
                rc, out.decode(errors="replace").strip()[-300:],
                err.decode(errors="replace").strip()[-600:]), facts
        # 4. dump again
        rc, out, err = self.run([self.tool("tt-tail"), "-D", store, "-n", "all", "-o", "msgpack"])
        if rc != 0:
            return "tt-tail (after recovery) exit %s: %s" % (rc, err.decode(errors="replace")[-300:]), facts
        try:
            after = self.parse(out)
        except ValueError as e:
            return "tt-tail (after recovery): %s" % e, facts
        if after[-3:] != [POST, POST + 1, POST + 2]:
            return "after recovery: the 3 new records are not last exactly once: tail %r" % after[-5:], facts
        after = after[:-3]
        v = self.contiguous(after, acked, "after recovery")
        if v:
            return v, facts
        if before and (not after or after[0] != before[0] or after[-1] < before[-1]):
            return "recovery changed what was indexed: before %s..%s, after %s..%s" % (
                before[0], before[-1], after[0] if after else None, after[-1] if after else None), facts
        facts["recovered"] = (after[-1] if after else 0) - (before[-1] if before else 0)
        facts["unacked_kept"] = (after[-1] if after else 0) - acked
        facts["gc_gone"] = (after[0] - 1) if after else 0
        # 5. a lookup by id
        if idx % 4 == 0 and after:
            n = after[len(after) // 2]
            cid = "c%d" % (n % 37)
            rc, out, err = self.run([self.tool("tt-query"), "-D", store, "-n", "all",
                                     "-o", "msgpack", cid])
            if rc != 0:
                return "tt-query %s: exit %s: %s" % (cid, rc, err.decode(errors="replace")[-300:]), facts
            try:
                got = self.parse(out)
            except ValueError as e:
                return "tt-query %s: %s" % (cid, e), facts
            want = [m for m in after + [POST, POST + 1, POST + 2] if m % 37 == n % 37]
            if got != want:
                return "tt-query %s: got %d records, want %d" % (cid, len(got), len(want)), facts
        return None, facts


def load_records(driver, count):
    recs = {}
    for first, cnt in ((1, count), (POST, 3)):
        out = subprocess.run([driver, "gen", str(first), str(cnt), "--framed"],
                             stdout=subprocess.PIPE, check=True).stdout
        pos, n = 0, first
        while pos < len(out):
            (ln,) = struct.unpack_from("<I", out, pos)
            recs[n] = out[pos + 4:pos + 4 + ln]
            pos += 4 + ln
            n += 1
    return recs


def choose_points(ops, n, rng):
    """Crash points: every point of the first 60 operations (store creation),
    every point next to a sync or a mark, then random ones; n in all (a point
    may be drawn more than once: each draw is a different state)."""
    T = len(ops)
    first = list(range(min(60, T)))
    near = [k for k in range(T) if ops[k].op in (OP_FSYNC, OP_MARK)
            or (k + 1 < T and ops[k + 1].op in (OP_FSYNC, OP_MARK))]
    pts = first + rng.sample(near, min(len(near), max(0, n // 2 - len(first))))
    while len(pts) < n:
        pts.append(rng.randrange(T))
    rng.shuffle(pts)
    return sorted(pts[:n])


def cmd_check(a):
    ops = read_log(a.log)
    maxn = 0
    for o in ops:
        if o.op == OP_MARK and o.path.startswith("ack "):
            maxn = max(maxn, int(o.path[4:]))
    # every record the writers may have appended: a little past the last ack
    recs = load_records(a.driver, maxn + a.extra)
    chk = Checker(a, recs)
    rng = random.Random(a.seed)
    pts = choose_points(ops, a.states, rng)
    model = Model()
    k = -1
    viol = 0
    stats = {"absent": 0, "recovered": 0, "unacked_kept": 0, "gc_gone": 0, "acked0": 0, "lost_acked": 0,
             "rebuilt": 0}
    os.makedirs(a.work, exist_ok=True)
    for i, p in enumerate(pts):
        while k < p:
            k += 1
            model.step(ops[k])
        if a.only is not None and i != a.only:
            continue
        srng = random.Random(a.seed * 1000003 + i)
        inflight = None
        if p + 1 < len(ops) and ops[p + 1].op == OP_WRITE and srng.random() < 0.5:
            o = ops[p + 1]
            node = model.byino.get(o.ino)
            if node is not None:
                inflight = (node, ("w", o.a, bytes(o.data), bool(o.flags & FL_DSYNC)))
        state_seed = srng.random()
        sdir = os.path.join(a.work, "state")
        shutil.rmtree(sdir, ignore_errors=True)
        os.makedirs(sdir)
        dmode, emode, nfiles = build_state(model, inflight, random.Random(state_seed), sdir)
        store = os.path.join(sdir, a.store)
        v, facts = chk.check(store, model.acked, i)
        if v is None and a.rebuild:
            # 6. the same crash state, indexed from its files alone
            # (tt-check --rebuild-index): every acknowledged record once,
            # in append order (a rewrite's two files read once, 8.8)
            rdir = os.path.join(a.work, "rstate")
            shutil.rmtree(rdir, ignore_errors=True)
            os.makedirs(rdir)
            build_state(model, inflight, random.Random(state_seed), rdir)
            rstore = os.path.join(rdir, a.store)
            if os.path.isdir(os.path.join(rstore, "seg")):
                rc, out, err = chk.run([chk.tool("tt-check"), "-q", "-D", rstore, "--rebuild-index"])
                if rc not in (0, 3):
                    v = "tt-check --rebuild-index of the crash state: exit %s: %s" % (
                        rc, err.decode(errors="replace").strip()[-300:])
                else:
                    rc, out, err = chk.run([chk.tool("tt-tail"), "-D", rstore, "-n", "all",
                                            "-o", "msgpack"])
                    try:
                        # acked records 1..acked, then unacknowledged ones
                        # the rebuild found past a block the power cut lost
                        # (it resynchronises where recovery would cut)
                        ns = chk.parse(out)
                        v = chk.contiguous(ns[:model.acked], model.acked, "rebuilt from the files")
                        if v is None and any(b <= a for a, b in zip(ns, ns[1:])):
                            v = "rebuilt from the files: records repeated or out of order"
                    except ValueError as e:
                        v = "tt-tail after --rebuild-index: %s" % e
                    stats["rebuilt"] += 1
            shutil.rmtree(rdir, ignore_errors=True)
        for key in ("absent",):
            stats[key] += facts.get(key, 0)
        stats["recovered"] += facts.get("recovered", 0) > 0
        stats["unacked_kept"] += facts.get("unacked_kept", 0) > 0
        stats["gc_gone"] += facts.get("gc_gone", 0) > 0
        stats["acked0"] += model.acked == 0
        if v:
            viol += 1
            stats["lost_acked"] += "acknowledged records" in v
            if viol <= 5 or a.only is not None:
                print("# VIOLATION state %d (crash after op %d of %d: %s; acked %d; data %s, "
                      "entries %s%s): %s" % (i, p, len(ops), describe(p, ops[p]).strip(),
                                             model.acked, dmode, emode,
                                             ", write in flight" if inflight else "", v))
            if a.keep_failures and viol <= 5:
                dst = os.path.join(a.work, "fail-%d" % i)
                shutil.rmtree(dst, ignore_errors=True)
                os.makedirs(dst)
                build_state(model, inflight, random.Random(state_seed), dst)
                print("#   state kept in %s (rebuilt before the tools ran)" % dst)
    shutil.rmtree(os.path.join(a.work, "state"), ignore_errors=True)
    n = len(pts) if a.only is None else 1
    print("# %s: %d ops logged, %d acks, %d crash states, %d violations" % (
        a.name, len(ops), sum(o.op == OP_MARK for o in ops), n, viol))
    if viol:
        print("# %s: violations that lost acknowledged records: %d" % (a.name, stats["lost_acked"]))
    print("# %s: states with nothing acked yet %d, store absent before recovery %d, "
          "recovery indexed unacknowledged blocks %d, unacknowledged records kept %d%s" % (
              a.name, stats["acked0"], stats["absent"], stats["recovered"],
              stats["unacked_kept"],
              ", old segments gone to gc %d" % stats["gc_gone"] if a.gc else "")
          + (", rebuilt from the files %d" % stats["rebuilt"] if a.rebuild else ""))
    return 1 if viol else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("log")
    c = sub.add_parser("check")
    c.add_argument("log")
    c.add_argument("--bin", required=True)
    c.add_argument("--driver", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--states", type=int, default=1000)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--extra", type=int, default=2000,
                   help="records past the last ack the writers may have appended")
    c.add_argument("--store", default="store", help="the store, relative to the root")
    c.add_argument("--gc", action="store_true")
    c.add_argument("--rebuild", action="store_true",
                   help="also rebuild each crash state's index from its files (step 6)")
    c.add_argument("--name", default="powerloss")
    c.add_argument("--keep-failures", action="store_true")
    c.add_argument("--only", type=int)
    a = ap.parse_args()
    if a.cmd == "dump":
        for i, o in enumerate(read_log(a.log)):
            print(describe(i, o))
        return 0
    return cmd_check(a)


if __name__ == "__main__":
    sys.exit(main())
