#!/usr/bin/env python3
"""fsyncorder.py -- check the fsync discipline in an strace of a TeraTrace tool.

    fsyncorder.py TRACE --store DIR [--before LIST] [--expect KIND=N ...]
                  [--recovery-sync] [--sequence]

TRACE is the output of
    strace -f -qq -y -o TRACE -e trace=openat,close,write,pwrite64,writev,
        pwritev,fsync,fdatasync,rename,renameat2,unlink,unlinkat,mkdir,rmdir,
        ftruncate,exit_group TOOL ...
(-y names every descriptor's file). LIST holds the paths that existed before
(find DIR). An "index commit" is LMDB's meta-page write: a write to
index/data.mdb through its O_DSYNC descriptor (FORMAT.md 8.7).

Rules (each violation is printed with the trace line that breaks it):
  R1  at every index commit, no segment file has writes or truncations that
      were not fdatasync'ed since (the blocks an index entry points at are
      durable before the entry), and LMDB's own pages are synced (data.mdb
      pages fdatasync'ed before its meta page is written);
  R2  at every commit of the store's index (index/, not a new environment
      being built in index.new.*/index.rebuild.*), and when the process
      exits, every directory entry it created, removed or renamed under the
      store (and the store's own entry) has been fsynced in its directory;
  R3  a directory is renamed (index.new.* -> index/) only after the entries
      made inside it were fsynced;
  R4  a segment file is unlinked only after an index commit since the
      previous unlink (gc: the index drop is committed first, 8.5);
  R5  at exit nothing written is unsynced;
  --recovery-sync: the first index commit comes after an fdatasync of the
      segment being recovered (8.4 step 0).
--expect KIND=N requires at least N events of a kind: commit, segcreate,
seal, unlink, dirsync, rename, trunc. --sequence prints the trace reduced to
the operations these rules talk about.
"""
import argparse
import os
import re
import sys

LINE = re.compile(r"^(\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+)(.*)$")
FD = re.compile(r"^(\d+)<([^>]*)>")
STR = re.compile(r'"((?:[^"\\]|\\.)*)"')


def join_lines(path):
    """strace -f lines with <unfinished ...>/<... resumed> joined; each call
    is placed where it completed."""
    pending = {}
    out = []
    with open(path, errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            m = LINE.match(raw)
            if not m:
                continue
            pid, rest = m.group(1), m.group(2)
            if rest.endswith("<unfinished ...>"):
                pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
                continue
            r = re.match(r"^<\.\.\. (\w+) resumed>\s*(.*)$", rest)
            if r:
                rest = pending.pop(pid, r.group(1) + "(") + r.group(2)
            out.append((pid, rest))
    return out


class Checker:
    def __init__(self, a):
        self.store = os.path.realpath(a.store)
        self.scope = os.path.dirname(self.store)   # the store's own entry counts
        self.exists = set()
        if a.before:
            with open(a.before) as f:
                self.exists = {os.path.realpath(l.strip()) for l in f if l.strip()}
        self.dsync_fds = set()
        self.dir_fds = set()
        self.dirty = {}          # file -> line of its first unsynced write
        self.pend = {}           # dir -> [(line, what)]
        self.commit_since_unlink = True
        self.viol = []
        self.count = dict.fromkeys(
            ["commit", "segcreate", "seal", "unlink", "dirsync", "rename", "trunc"], 0)
        self.seq = []
        self.recovery_ok = None
        self.first_commit_seen = False

    def v(self, ln, text):
        self.viol.append("line %d: %s" % (ln, text))

    def inscope(self, p):
        return p == self.scope or p.startswith(self.scope + "/")

    def rel(self, p):
        """Paths as FORMAT.md writes them: STORE/seg/..., pids as <pid>."""
        if p == self.scope:
            return "STORE/.."
        r = "STORE" + p[len(self.store):] if p == self.store or p.startswith(self.store + "/") \
            else os.path.relpath(p, self.scope)
        return re.sub(r"\.(new|rebuild)\.\d+", r".\1.<pid>", r)

    def entry(self, ln, path, what):
        if not self.inscope(path) or path.endswith("/lock.mdb"):
            return
        d = os.path.dirname(path)
        self.pend.setdefault(d, []).append((ln, "%s %s" % (what, self.rel(path))))

    def pending_under(self, top=None):
        for d, lst in self.pend.items():
            if lst and (top is None or d == top or d.startswith(top + "/")):
                return d, lst
        return None

    def note(self, text):
        """The reduced sequence: repeats of a block write or of a commit in a
        new environment count once (their number depends on timing); every
        index commit is listed."""
        if not self.seq or self.seq[-1][0] != text or text == "index commit":
            self.seq.append([text, 1])
        else:
            self.seq[-1][1] += 1

    def on_commit(self, ln, path):
        self.count["commit"] += 1
        for f, at in self.dirty.items():
            if f.endswith(".tts"):
                self.v(ln, "index commit while %s has writes since line %d not fdatasync'ed"
                       % (self.rel(f), at))
            elif f == path:
                self.v(ln, "LMDB meta page written while its pages (line %d) are not synced" % at)
        real = os.path.join(self.store, "index", "data.mdb")
        if path == real:
            p = self.pending_under()
            if p:
                self.v(ln, "index commit while the entry '%s' (line %d) is not fsynced in %s"
                       % (p[1][0][1], p[1][0][0], self.rel(p[0]) + "/"))
            if not self.first_commit_seen:
                self.first_commit_seen = True
                if self.recovery_ok is None:
                    self.recovery_ok = False
        self.commit_since_unlink = True
        self.note("index commit" if path == real else "commit in %s" % self.rel(path))

    def event(self, ln, name, args, ret):
        ok = ret >= 0
        m = FD.match(args)
        fd, path = (int(m.group(1)), os.path.realpath(m.group(2))) if m else (None, None)
        if name == "openat" and ok:
            s = STR.search(args)
            p = os.path.realpath(s.group(1)) if s else None
            rm = re.search(r"=\s*\d+<([^>]*)>", " = %d%s" % (ret, self._tail))
            if rm:
                p = os.path.realpath(rm.group(1))
            if p is None:
                return
            if "O_DSYNC" in args or "O_SYNC" in args:
                self.dsync_fds.add(ret)
            else:
                self.dsync_fds.discard(ret)
            if "O_DIRECTORY" in args:
                self.dir_fds.add(ret)
            else:
                self.dir_fds.discard(ret)
            if "O_CREAT" in args and ("O_EXCL" in args or p not in self.exists):
                if p not in self.exists:
                    self.entry(ln, p, "create")
                    if p.endswith(".tts"):
                        self.count["segcreate"] += 1
                        self.note("create segment")
                self.exists.add(p)
            if "O_TRUNC" in args and p.endswith(".tts"):
                self.dirty.setdefault(p, ln)
            return
        if name == "close" and fd is not None:
            self.dsync_fds.discard(fd)
            self.dir_fds.discard(fd)
            return
        if name in ("write", "pwrite64", "writev", "pwritev") and ok and path:
            if not (path.endswith(".tts") or path.endswith("/data.mdb")):
                return
            if fd in self.dsync_fds and path.endswith("/data.mdb"):
                self.on_commit(ln, path)
                return
            if path.endswith(".tts"):
                if re.search(r",\s*48,\s*\d+$", args) and '"TTBK\\0\\1' in args:
                    self.count["seal"] += 1
                    self.note("write segment: seal trailer")
                else:
                    self.note("write segment")
            self.dirty.setdefault(path, ln)
            return
        if name == "ftruncate" and ok and path and path.endswith(".tts"):
            self.count["trunc"] += 1
            self.dirty.setdefault(path, ln)
            self.note("ftruncate segment")
            return
        if name in ("fsync", "fdatasync") and ok and path:
            if fd in self.dir_fds:
                self.count["dirsync"] += 1
                if self.pend.get(path):
                    self.pend[path] = []
                self.note("fsync %s/" % (self.rel(path) if self.inscope(path) else path))
            else:
                if path.endswith(".tts") and not self.first_commit_seen and self.recovery_ok is None:
                    self.recovery_ok = True
                self.dirty.pop(path, None)
                if path.endswith(".tts"):
                    self.note("fdatasync segment")
            return
        if name in ("unlink", "unlinkat", "rmdir") and ok:
            s = STR.findall(args)
            if not s:
                return
            p = os.path.realpath(s[0] if name != "unlinkat" else
                                 os.path.join(path or "", s[0]))
            self.exists.discard(p)
            self.entry(ln, p, "unlink")
            if p.endswith(".tts"):
                self.count["unlink"] += 1
                if not self.commit_since_unlink:
                    self.v(ln, "segment %s unlinked with no index commit since the previous unlink"
                           % self.rel(p))
                self.commit_since_unlink = False
                self.note("unlink segment")
            return
        if name == "mkdir" and ok:
            s = STR.findall(args)
            p = os.path.realpath(s[0])
            self.exists.add(p)
            self.entry(ln, p, "mkdir")
            self.note("mkdir %s" % (self.rel(p) if self.inscope(p) else p))
            return
        if name in ("rename", "renameat2") and ok:
            s = STR.findall(args)
            if len(s) < 2:
                return
            src, dst = os.path.realpath(s[0]), os.path.realpath(s[1])
            inside = self.pending_under(src)
            if inside:
                self.v(ln, "rename %s while the entry '%s' (line %d) made in it is not fsynced"
                       % (self.rel(src), inside[1][0][1], inside[1][0][0]))
            for q in [q for q in self.exists if q == src or q.startswith(src + "/")]:
                self.exists.discard(q)
                self.exists.add(dst + q[len(src):])
            self.entry(ln, src, "rename-from")
            self.entry(ln, dst, "rename-to")
            self.count["rename"] += 1
            self.note("rename %s -> %s%s" % (self.rel(src), self.rel(dst),
                                              " (exchange)" if "RENAME_EXCHANGE" in args else ""))
            return

    def run(self, trace):
        lines = join_lines(trace)
        main_pid = lines[0][0] if lines else None
        for ln, (pid, rest) in enumerate(lines, 1):
            if rest.startswith("+++ exited with"):
                if pid == main_pid:
                    self.at_exit(ln)
                continue
            m = CALL.match(rest)
            if not m:
                continue
            self._tail = m.group(4)
            self.event(ln, m.group(1), m.group(2), int(m.group(3)))

    def at_exit(self, ln):
        p = self.pending_under()
        if p:
            self.v(ln, "exit while the entry '%s' (line %d) is not fsynced in %s"
                   % (p[1][0][1], p[1][0][0], self.rel(p[0]) + "/"))
        for f, at in self.dirty.items():
            self.v(ln, "exit while %s has writes since line %d not synced" % (self.rel(f), at))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--store", required=True)
    ap.add_argument("--before")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--recovery-sync", action="store_true")
    ap.add_argument("--sequence", action="store_true")
    ap.add_argument("--name", default="trace")
    a = ap.parse_args()
    c = Checker(a)
    c.run(a.trace)
    for e in a.expect:
        k, n = e.split("=")
        if c.count.get(k, 0) < int(n):
            c.viol.append("expected at least %s %s events, saw %d" % (n, k, c.count.get(k, 0)))
    if a.recovery_sync and not c.recovery_ok:
        c.viol.append("the recovering process committed to the index before it fdatasync'ed "
                      "the segment it recovered (FORMAT.md 8.4 step 0)")
    if a.sequence:
        for text, n in c.seq:
            print(text)
    for t in c.viol[:20]:
        print("# VIOLATION %s: %s" % (a.name, t))
    print("# %s: %s, %d violations" % (
        a.name, ", ".join("%d %s" % (v, k) for k, v in c.count.items()), len(c.viol)))
    return 1 if c.viol else 0


if __name__ == "__main__":
    sys.exit(main())
