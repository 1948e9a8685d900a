#!/usr/bin/env python3
"""ttcrash.py -- SIGKILL and soak harness for TeraTrace (tests/t/t8000, t8001, t8900).

Real processes, real SIGKILL, real files. Three modes:

  ingest  N concurrent tt-ingest processes, each appending its own stream of
          records, SIGKILLed at random instants (some within a millisecond of
          exec, some inside fsync / the LMDB commit), until --kills kills.
  ttd     one ttd on the store, HTTP (keep-alive) and unix-socket clients
          sending batches; ttd is SIGKILLed at a random instant --kills times
          and restarted on the same store; clients reconnect and go on.
  soak    ttd + 3 tt-ingest writers, 8 readers (tt-tail -f followers, a
          cursor-file follower restarted by SIGTERM, tt-query readers) and
          tt-gc --rotate --max-size every few seconds, for --seconds.

The oracle: every record carries its writer `w` and that writer's sequence
number `s` (plus `pad`, a string derived from both, so a garbled record is
caught), and the harness logs what happened to each record it sent:
  acked    tt-ingest exited 0 / HTTP 200 with accepted == n / socket ack
  maybe    in flight when a process was killed (present once, or absent)
  refused  HTTP 503 "writer is behind" (nothing stored)
The checks (Checker) read the store back with tt-tail, tt-query, tt-stat and
tt-check. Prints "# ..." TAP comments with the counts; exit 0 = every check
held, 1 = a check failed (the failures are printed), 2 = harness trouble.
"""
import argparse
import shutil
import array
import collections
import hashlib
import itertools
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

T0 = 1_700_000_000_000_000_000  # ts of seq 0; record ts = T0 + s*1000 + w
IDS_PER = 40                    # consecutive seqs sharing a correlation id


def note(msg):
    print("# " + msg, flush=True)


# ---------------------------------------------------------------- msgpack
# Just what the socket protocol needs: maps, arrays, str, int, bool, nil.

def mp_pack(o, out):
    if o is None:
        out.append(0xc0)
    elif o is True or o is False:
        out.append(0xc3 if o else 0xc2)
    elif isinstance(o, int):
        if 0 <= o < 128:
            out.append(o)
        elif -32 <= o < 0:
            out.append(o & 0xff)
        elif 0 <= o < 1 << 32:
            out += b"\xce" + struct.pack(">I", o)
        elif 0 <= o < 1 << 64:
            out += b"\xcf" + struct.pack(">Q", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, str):
        b = o.encode()
        n = len(b)
        if n < 32:
            out.append(0xa0 | n)
        elif n < 256:
            out += bytes((0xd9, n))
        else:
            out += b"\xda" + struct.pack(">H", n)
        out += b
    elif isinstance(o, (list, tuple)):
        n = len(o)
        if n < 16:
            out.append(0x90 | n)
        else:
            out += b"\xdc" + struct.pack(">H", n)
        for x in o:
            mp_pack(x, out)
    elif isinstance(o, dict):
        n = len(o)
        if n < 16:
            out.append(0x80 | n)
        else:
            out += b"\xde" + struct.pack(">H", n)
        for k, v in o.items():
            mp_pack(k, out)
            mp_pack(v, out)
    else:
        raise TypeError(type(o))
    return out


class Incomplete(Exception):
    pass


def mp_unpack(b, i=0):
    """One object from b[i:] -> (obj, next i); Incomplete if cut short."""
    def need(k):
        if i + k > len(b):
            raise Incomplete()
    need(1)
    c = b[i]
    i += 1
    if c < 0x80:
        return c, i
    if c >= 0xe0:
        return c - 256, i
    if 0xa0 <= c <= 0xbf:
        n = c & 0x1f
        need(n)
        return b[i:i + n].decode("utf-8", "replace"), i + n
    if 0x80 <= c <= 0x8f or 0x90 <= c <= 0x9f:
        n, ismap = c & 0x0f, c < 0x90
    elif c == 0xc0:
        return None, i
    elif c in (0xc2, 0xc3):
        return c == 0xc3, i
    elif c in (0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3):
        fmt = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q",
               0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}[c]
        k = struct.calcsize(fmt)
        need(k)
        return struct.unpack_from(fmt, b, i)[0], i + k
    elif c in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6):
        k = {0xd9: 1, 0xda: 2, 0xdb: 4, 0xc4: 1, 0xc5: 2, 0xc6: 4}[c]
        need(k)
        n = int.from_bytes(b[i:i + k], "big")
        i += k
        need(n)
        v = b[i:i + n]
        return (v.decode("utf-8", "replace") if c >= 0xd9 else bytes(v)), i + n
    elif c in (0xdc, 0xdd, 0xde, 0xdf):
        k = 2 if c in (0xdc, 0xde) else 4
        need(k)
        n = int.from_bytes(b[i:i + k], "big")
        i += k
        ismap = c >= 0xde
    else:
        raise ValueError("msgpack type 0x%02x not expected from ttd" % c)
    if ismap:
        d = {}
        for _ in range(n):
            k, i = mp_unpack(b, i)
            v, i = mp_unpack(b, i)
            d[k] = v
        return d, i
    a = []
    for _ in range(n):
        v, i = mp_unpack(b, i)
        a.append(v)
    return a, i


# ---------------------------------------------------------------- records

def pad_of(w, s):
    """A string that depends on (w, s) only, 0..96 characters."""
    h = hashlib.md5(b"%d.%d" % (w, s)).hexdigest()
    return (h * 4)[: (w * 131 + s * 17) % 97]


def corr_of(s):
    return "c%d" % (s // IDS_PER)


def record(w, s):
    return {"ts": T0 + s * 1000 + w, "corr": corr_of(s), "service": "w%d" % w,
            "w": w, "s": s, "pad": pad_of(w, s)}


def write_jsonl(path, w, s0, n):
    """Records s0..s0+n-1 of writer w as JSON lines in path."""
    with open(path, "w") as f:
        f.write("".join(json.dumps(record(w, s)) + "\n" for s in range(s0, s0 + n)))


def record_problem(j):
    """Why a record read back is not one this harness wrote, or None."""
    try:
        w, s = j["w"], j["s"]
        if not isinstance(w, int) or not isinstance(s, int):
            return "w/s not integers"
        want = record(w, s)
        for k, v in want.items():
            if j.get(k) != v:
                return "field %s is %r, want %r" % (k, j.get(k), v)
    except (KeyError, TypeError) as e:
        return "missing field %s" % e
    return None


# ---------------------------------------------------------------- oracle

ACK, MAYBE, REFUSED = "ack", "maybe", "refused"


class Oracle:
    """What happened to every record sent, per writer and sequence number
    (compact arrays: the soak sends millions); a log of it in oracle.log."""

    CODE = {ACK: 1, MAYBE: 2, REFUSED: 3}
    NAME = {1: ACK, 2: MAYBE, 3: REFUSED}

    def __init__(self, path, times=False):
        self.mu = threading.Lock()
        self.times = times    # keep sent/ack times (the soak needs them)
        self.st = {}          # w -> bytearray: state code per seq (0: not decided)
        self.sent = {}        # w -> array('d'): monotonic time each seq was sent
        self.acked = {}       # w -> array('d'): monotonic time of its ack, 0 if none
        self.events = []      # (w, s0, n, time) of each ack, in order (soak)
        self.windows = []     # lists of (w, s) in send order, in flight at a crash
        self.log = open(path, "w")
        self.counts = collections.Counter()

    def alloc(self, w, n):
        with self.mu:
            st = self.st.setdefault(w, bytearray())
            s0 = len(st)
            st.extend(bytes(n))
            if self.times:
                now = time.monotonic()
                self.sent.setdefault(w, array.array("d")).extend([now] * n)
                self.acked.setdefault(w, array.array("d")).extend([0.0] * n)
            return s0

    def _set(self, w, s0, n, st):
        self.st[w][s0:s0 + n] = bytes([self.CODE[st]]) * n
        self.counts[st] += n
        self.log.write('{"w":%d,"s0":%d,"n":%d,"st":"%s"}\n' % (w, s0, n, st))

    def ack(self, w, s0, n):
        with self.mu:
            self._set(w, s0, n, ACK)
            if self.times:
                now = time.monotonic()
                self.acked[w][s0:s0 + n] = array.array("d", [now] * n)
                self.events.append((w, s0, n, now))

    def refused(self, w, s0, n):
        with self.mu:
            self._set(w, s0, n, REFUSED)

    def maybe(self, w, ranges):
        """ranges: [(s0, n), ...] in send order, in flight when the writer died."""
        with self.mu:
            win = []
            for s0, n in ranges:
                self._set(w, s0, n, MAYBE)
                win += [(w, s) for s in range(s0, s0 + n)]
            if win:
                self.windows.append(win)

    def get(self, w, s):
        """ACK, MAYBE, REFUSED, or None (never sent, or not decided)."""
        st = self.st.get(w)
        if st is None or not isinstance(s, int) or not 0 <= s < len(st):
            return None
        return self.NAME.get(st[s])

    def keys(self, want):
        for w, st in self.st.items():
            c = self.CODE[want]
            for s, x in enumerate(st):
                if x == c:
                    yield (w, s)

    def sent_at(self, w, s):
        return self.sent[w][s]

    def ack_at(self, w, s):
        return self.acked[w][s]

    def close(self):
        self.log.close()


# ---------------------------------------------------------------- processes

class Env:
    def __init__(self, args):
        self.bin = args.bin
        self.work = args.work
        self.store = os.path.join(args.work, "store")
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.rng_mu = threading.Lock()
        self.procs = []
        self.procs_mu = threading.Lock()
        self.failures = []
        self.fail_mu = threading.Lock()
        self.san = args.bin.rstrip("/").endswith("-san/bin") or "-san/" in args.bin

    def tool(self, name):
        return os.path.join(self.bin, name)

    def rand(self):
        with self.rng_mu:
            return random.Random(self.rng.random())

    def fail(self, msg):
        with self.fail_mu:
            if len(self.failures) < 200:
                self.failures.append(msg)

    def spawn(self, args, **kw):
        p = subprocess.Popen(args, **kw)
        with self.procs_mu:
            self.procs.append(p)
        return p

    def run(self, args, timeout=120, **kw):
        """Run a tool to completion -> (rc, stdout bytes, stderr bytes)."""
        p = self.spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self.fail("%s did not finish within %d s" % (" ".join(args), timeout))
        return p.returncode, out, err

    def cleanup(self):
        with self.procs_mu:
            for p in self.procs:
                if p.poll() is None:
                    try:
                        p.kill()
                        p.wait(5)
                    except OSError:
                        pass


def sleep_ms(ms):
    if ms > 0:
        time.sleep(ms / 1000.0)


def wait_file(path, proc, timeout):
    """Until path is non-empty; None if proc died or time ran out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path) as f:
                t = f.read()
            if t.endswith("\n"):
                return t.strip()
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(0.0005)
    return None


def handles_sigterm(proc, timeout=10):
    """Until proc has a SIGTERM handler (SigCgt in /proc): a SIGTERM sent
    earlier would end it by the default action, not by its clean-stop path."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("SigCgt:") and int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
                        return True
        except OSError:
            pass
        time.sleep(0.0005)
    return False


# x86_64 numbers of the system calls worth knowing a kill landed in
SYSCALLS = {1: "write", 18: "pwrite", 20: "writev", 74: "fsync", 75: "fdatasync",
            26: "msync", 77: "ftruncate", 73: "flock", 82: "rename", 87: "unlink", 257: "openat",
            263: "unlinkat"}


def in_syscalls(pid):
    """The notable system calls the threads of pid are in right now, with
    the kind of file they act on ("fdatasync:index", "pwrite:segment"): read
    from /proc just before a SIGKILL, this is where the kill lands."""
    found = set()
    if os.uname().machine != "x86_64":
        return found
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return found
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/syscall" % (pid, t)) as f:
                v = f.read().split()
        except OSError:
            continue
        if not v or not v[0].isdigit() or int(v[0]) not in SYSCALLS:
            continue
        name = SYSCALLS[int(v[0])]
        what = ""
        if len(v) > 1 and name not in ("rename", "unlink", "unlinkat", "openat"):
            try:
                target = os.readlink("/proc/%d/fd/%d" % (pid, int(v[1], 16)))
                what = (":index" if "/index/" in target else ":segment" if target.endswith(".tts")
                        else ":dir" if target.endswith("/seg") else ":other")
            except (OSError, ValueError):
                pass
        found.add(name + what)
    return found


SYNCISH = ("fsync", "fdatasync", "msync", "pwrite", "write", "writev", "ftruncate", "unlink",
           "unlinkat")


def kill_at_sync(proc, timeout):
    """SIGKILL proc as soon as one of its threads is inside an fsync-like or
    write call (a segment or LMDB commit in progress), or after timeout
    seconds. Returns where the kill landed."""
    end = time.monotonic() + timeout
    where = set()
    while time.monotonic() < end and proc.poll() is None:
        where = in_syscalls(proc.pid)
        if any(w.split(":")[0] in SYNCISH for w in where):
            break
    proc.kill()
    return where


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------- ttd and its clients

class Ttd:
    """ttd on the store; started, SIGKILLed, restarted. Clients wait on it."""

    def __init__(self, env, extra):
        self.env = env
        self.extra = extra
        self.cv = threading.Condition()
        self.port = None     # None while down
        self.gen = 0         # incremented at each start
        self.stopping = False
        self.proc = None
        self.portfile = os.path.join(env.work, "ttd.port")
        self.logpath = os.path.join(env.work, "ttd.log")
        self.sock = os.path.join(env.store, "ttd.sock")

    def start(self):
        try:
            os.unlink(self.portfile)
        except FileNotFoundError:
            pass
        log = open(self.logpath, "a")
        self.proc = self.env.spawn([self.env.tool("ttd"), "-D", self.env.store,
                                    "--http", "127.0.0.1:0", "--port-file", self.portfile]
                                   + self.extra, stdout=log, stderr=log)
        log.close()
        return self.proc

    def wait_ready(self, timeout=20):
        t = wait_file(self.portfile, self.proc, timeout)
        if t is None:
            return False
        with self.cv:
            self.port = int(t)
            self.gen += 1
            self.cv.notify_all()
        return True

    def down(self):
        with self.cv:
            self.port = None

    def kill(self):
        self.landed = in_syscalls(self.proc.pid)
        self.proc.kill()
        self.down()
        return self.proc.wait(30)

    def stop(self):
        """SIGTERM: must exit 0 within 10 s."""
        self.down()
        handles_sigterm(self.proc)
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return "hung"

    def end_clients(self, threads, timeout):
        """Tell the client threads to stop (they finish what is in flight),
        and wait for them."""
        self.stopping = True
        with self.cv:
            self.cv.notify_all()
        for t in threads:
            t.join(timeout)
            if t.is_alive():
                self.env.fail("a client or reader thread did not finish within %d s" % timeout)

    def wait_up(self, timeout=0.5):
        with self.cv:
            self.cv.wait_for(lambda: self.port is not None or self.stopping, timeout)
            return self.port, self.gen

    def log_problems(self):
        """ttd log lines at error level, and sanitizer reports."""
        bad = []
        try:
            with open(self.logpath, errors="replace") as f:
                for line in f:
                    if (" error: " in line or "Sanitizer" in line or "runtime error" in line
                            or "crit" in line):
                        bad.append(line.rstrip())
        except FileNotFoundError:
            pass
        return bad


def http_client(env, ttd, oracle, w, stats, pace=0):
    """POST /ingest batches on one keep-alive connection (a new one after each
    ttd restart); pace: seconds to sleep between batches (soak)."""
    rng = env.rand()
    conn, cgen = None, -1
    while not ttd.stopping:
        port, gen = ttd.wait_up()
        if port is None:
            continue
        if conn is None or cgen != gen:
            if conn:
                conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            try:
                conn.connect()
            except OSError:
                conn.close()
                conn = None
                time.sleep(0.001)
                continue
            cgen = gen
        if pace:
            time.sleep(rng.uniform(0, 2 * pace))
        n = rng.choice((1, rng.randint(1, 20), rng.randint(20, 120)))
        s0 = oracle.alloc(w, n)
        body = json.dumps({"traces": [record(w, s) for s in range(s0, s0 + n)]})
        try:
            conn.request("POST", "/ingest", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            oracle.maybe(w, [(s0, n)])
            conn.close()
            conn = None
            continue
        if r.status == 200:
            try:
                j = json.loads(data)
            except ValueError:
                j = {}
            if j.get("accepted") != n or j.get("rejected") != 0:
                env.fail("writer %d: POST /ingest of %d records answered %s" % (w, n, data[:300]))
                oracle.maybe(w, [(s0, n)])
                continue
            oracle.ack(w, s0, n)
            stats["http_batches"] += 1
        elif r.status == 503 and b"writer is behind" in data:
            oracle.refused(w, s0, n)
            stats["http_503"] += 1
        else:
            env.fail("writer %d: POST /ingest: HTTP %d %s" % (w, r.status, data[:300]))
            oracle.maybe(w, [(s0, n)])
    if conn:
        conn.close()


def sock_client(env, ttd, oracle, w, stats, pace=0):
    """Pipelines up to `depth` messages (each an array of records) on one
    connection; {"ack": M} acks messages 1..M. What is unacked when the
    connection breaks is one in-flight window, never resent."""
    rng = env.rand()
    while True:
        port, gen = ttd.wait_up()
        if ttd.stopping:
            break
        if port is None:
            continue
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(15)
        try:
            s.connect(ttd.sock)
        except OSError:
            s.close()
            time.sleep(0.001)
            continue
        inflight = collections.deque()   # (msgno, s0, n)
        msgno = acked_recs = 0
        buf = b""
        depth = rng.randint(1, 6) if not pace else 2
        try:
            while True:
                while not ttd.stopping and len(inflight) < depth:
                    if pace:
                        time.sleep(rng.uniform(0, 2 * pace))
                    n = rng.choice((1, rng.randint(1, 15), rng.randint(15, 100)))
                    s0 = oracle.alloc(w, n)
                    msgno += 1
                    inflight.append((msgno, s0, n))
                    msg = mp_pack([record(w, q) for q in range(s0, s0 + n)], bytearray())
                    s.sendall(msg)
                if ttd.stopping and not inflight:
                    break
                data = s.recv(65536)
                if not data:
                    raise EOFError()
                buf += data
                while buf:
                    try:
                        obj, used = mp_unpack(buf)
                    except Incomplete:
                        break
                    buf = buf[used:]
                    if not isinstance(obj, dict) or "ack" not in obj:
                        env.fail("writer %d: socket answered %r" % (w, obj))
                        continue
                    m = obj["ack"]
                    while inflight and inflight[0][0] <= m:
                        _, a0, an = inflight.popleft()
                        oracle.ack(w, a0, an)
                        acked_recs += an
                        stats["sock_msgs"] += 1
                    if obj.get("records") != acked_recs or obj.get("rejected") != 0:
                        env.fail("writer %d: socket ack %r, but messages 1..%d hold %d records"
                                 % (w, obj, m, acked_recs))
        except (OSError, EOFError):
            pass
        finally:
            s.close()
        if inflight:
            oracle.maybe(w, [(a0, an) for _, a0, an in inflight])


# ---------------------------------------------------------------- readers

def parse_lines(data, allow_torn):
    """JSON lines -> (list of dicts, torn tail bytes). A torn last line is only
    allowed for a process killed by SIGKILL."""
    recs, torn = [], b""
    lines = data.split(b"\n")
    if lines and lines[-1]:
        torn = lines[-1]
    for ln in lines[:-1]:
        recs.append(json.loads(ln))
    if torn and not allow_torn:
        raise ValueError("output ends without a newline: %r" % torn[:100])
    return recs, torn


def cursor_key(c):
    """'tt1-gen-seq-idx' -> (gen, seq, idx), comparable."""
    p = c.split("-")
    return (int(p[1]), int(p[2]), int(p[3]))


class Follower:
    """tt-tail -f [-n all] --show-cursor, output to a file; never killed."""

    def __init__(self, env, name, args):
        self.env = env
        self.name = name
        self.out = os.path.join(env.work, name + ".out")
        self.err = os.path.join(env.work, name + ".err")
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = env.spawn([env.tool("tt-tail"), "-D", env.store, "-f", "--show-cursor",
                                   "-o", "jsonl", "-q"] + args, stdout=o, stderr=e)
        self.started = time.monotonic()

    def count(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().count(b"\n")
        except OSError:
            return 0

    def last_cursor(self):
        try:
            with open(self.out, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - 4096))
                tail = f.read().split(b"\n")
            for ln in reversed(tail[:-1]):
                if ln:
                    return json.loads(ln)["cursor"]
        except (OSError, ValueError, KeyError):
            pass
        return None

    def stop(self, parse=True):
        handles_sigterm(self.proc)
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        if rc != 0:
            self.env.fail("%s: tt-tail -f exited %s on SIGTERM" % (self.name, rc))
        with open(self.err, "rb") as f:
            e = f.read()
        if e:
            self.env.fail("%s: tt-tail stderr: %s" % (self.name, e[:500]))
        if not parse:
            return None
        with open(self.out, "rb") as f:
            recs, _ = parse_lines(f.read(), False)
        return recs


class SlowFollower(Follower):
    """tt-tail -f whose reader (a pipe) drains at most `rate` bytes/s until
    told to go fast: it falls behind, so gc deletes records before it reads
    them, and it blocks on a full pipe in the middle of printing."""

    def __init__(self, env, name, args, rate):
        self.env = env
        self.name = name
        self.out = os.path.join(env.work, name + ".out")
        self.err = os.path.join(env.work, name + ".err")
        self.rate = rate
        self.fast = False
        with open(self.err, "wb") as e:
            self.proc = env.spawn([env.tool("tt-tail"), "-D", env.store, "-f", "--show-cursor",
                                   "-o", "jsonl", "-q"] + args, stdout=subprocess.PIPE, stderr=e)
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        with open(self.out, "wb") as o:
            while True:
                data = self.proc.stdout.read1(4096) if not self.fast else self.proc.stdout.read1(1 << 20)
                if not data:
                    break
                o.write(data)
                if not self.fast:
                    o.flush()
                    time.sleep(len(data) / self.rate)

    def stop(self, parse=True):
        self.fast = True
        r = Follower.stop(self, False)
        self.thread.join(120)
        return r


class CursorConsumer:
    """tt-tail -f --cursor-file, killed (SIGKILL, sometimes SIGTERM) and
    restarted over and over; each run's output in its own file."""

    def __init__(self, env, name, kill_ratio=0.7, period=(0.02, 0.4)):
        self.env = env
        self.name = name
        self.cfile = os.path.join(env.work, name + ".cursor")
        self.runs = []       # dicts: start cursor, out path, how it ended, end cursor
        self.kill_ratio = kill_ratio
        self.period = period
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.proc = None

    def _cursor(self):
        try:
            with open(self.cfile) as f:
                t = f.read().strip()
            return t or None
        except FileNotFoundError:
            return None

    def _start(self):
        k = len(self.runs)
        out = os.path.join(self.env.work, "%s.%d.out" % (self.name, k))
        err = os.path.join(self.env.work, "%s.%d.err" % (self.name, k))
        run = {"start": self._cursor(), "out": out, "err": err}
        with open(out, "wb") as o, open(err, "wb") as e:
            self.proc = self.env.spawn([self.env.tool("tt-tail"), "-D", self.env.store, "-f",
                                        "-n", "all", "--show-cursor", "-o", "jsonl", "-q",
                                        "--cursor-file", self.cfile], stdout=o, stderr=e)
        self.runs.append(run)
        return run

    def _end(self, run, sig):
        if sig == signal.SIGTERM:
            handles_sigterm(self.proc)
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        run["rc"] = rc
        run["sig"] = sig
        run["end"] = self._cursor()

    def _loop(self):
        rng = self.env.rand()
        while not self.stopping:
            run = self._start()
            time.sleep(rng.uniform(*self.period))
            self._end(run, signal.SIGKILL if rng.random() < self.kill_ratio else signal.SIGTERM)

    def start(self):
        self.thread.start()

    def finish(self, want):
        """Stop the kill loop; one last run until it has printed up to
        cursor `want` (the store's last record), then SIGTERM."""
        self.stopping = True
        self.thread.join()
        run = self._start()
        end = time.monotonic() + 60
        while time.monotonic() < end and want is not None:
            try:
                with open(run["out"], "rb") as f:
                    data = f.read()
                lines = data.split(b"\n")
                if len(lines) >= 2 and lines[-2] and json.loads(lines[-2])["cursor"] == want:
                    break
            except (OSError, ValueError):
                pass
            if self._cursor() == want and os.path.getsize(run["out"]) == 0:
                break  # nothing more to print
            time.sleep(0.01)
        self._end(run, signal.SIGTERM)


# ---------------------------------------------------------------- checks

class Checker:
    def __init__(self, env, oracle):
        self.env = env
        self.o = oracle
        self.ref = []          # final scan: dicts in append order
        self.stats = collections.Counter()

    def fail(self, msg):
        self.env.fail(msg)

    def scan(self):
        """Every record in append order (tt-tail -n all): the reference."""
        rc, out, err = self.env.run([self.env.tool("tt-tail"), "-D", self.env.store, "-n", "all",
                                     "--show-cursor", "-o", "jsonl", "-q"])
        if rc != 0 or err:
            self.fail("tt-tail -n all: exit %s, stderr %s" % (rc, err[:500]))
        recs, _ = parse_lines(out, False)
        return recs

    def tt_check(self, when=""):
        rc, out, err = self.env.run([self.env.tool("tt-check"), "-D", self.env.store])
        if rc != 0 or err:
            self.fail("tt-check%s: exit %s: %s %s" % (when, rc, out[-800:], err[-800:]))
            return False
        return True

    def tt_check_crashed(self, when):
        """tt-check on a store as a SIGKILL left it, before any recovery.
        Passes with exit 0, or with exit 3 when every problem is the torn
        tail of an unsealed segment past its indexed end: a block the killed
        writer was writing, which the next open cuts (FORMAT.md 8.4, 9)."""
        env = self.env
        rc, out, err = env.run([env.tool("tt-check"), "-D", env.store])
        if rc == 0 and not err:
            return True
        if rc == 3 and not err:
            _, so, _ = env.run([env.tool("tt-stat"), "-D", env.store, "--segments", "-o", "json", "-q"])
            try:
                segs = {int(x["segment"], 16): x for x in json.loads(so)["segment_list"]}
            except (ValueError, KeyError):
                segs = {}
            probs = [ln.decode(errors="replace") for ln in out.splitlines() if ln.startswith(b"segment ")]
            torn = 0
            for ln in probs:
                m = re.match(r"segment ([0-9a-f]{16}) offset (\d+): bad or torn data to end of file$", ln)
                x = segs.get(int(m.group(1), 16)) if m else None
                if x and x["state"] == "active" and int(m.group(2)) >= x["bytes"]:
                    torn += 1
            if probs and torn == len(probs):
                self.stats["torn_tails"] += torn
                return True
        self.fail("tt-check%s: exit %s: %s %s" % (when, rc, out[-800:], err[-800:]))
        return False

    def final(self, deleted_ok=None):
        """The store against the oracle. deleted_ok(w, s) says whether gc may
        have deleted an acked record (soak); None: nothing was deleted."""
        env, o = self.env, self.o
        self.tt_check(" (final)")
        self.ref = self.scan()
        seen = collections.Counter()
        bad = 0
        for j in self.ref:
            why = record_problem(j)
            if why:
                bad += 1
                if bad <= 5:
                    self.fail("garbled or foreign record %s: %s" % (json.dumps(j)[:300], why))
                continue
            seen[(j["w"], j["s"])] += 1
        if bad:
            self.fail("%d records are not ones the harness wrote" % bad)
        dup = [k for k, c in seen.items() if c > 1]
        never = [k for k in seen if o.get(*k) is None]
        refused = [k for k in seen if o.get(*k) == REFUSED]
        lost = [k for k in o.keys(ACK) if k not in seen and not (deleted_ok and deleted_ok(*k))]
        for what, keys in (("duplicated", dup), ("never sent", never),
                           ("refused (503) but stored", refused), ("acked but lost", lost)):
            if keys:
                self.fail("%d records %s, e.g. %s" % (len(keys), what, sorted(keys)[:10]))
        # records in flight when their writer died: present once or absent, and
        # those present are a prefix of what was in flight (writers append in order)
        holes = 0
        for win in o.windows:
            pres = [k in seen for k in win]
            k = pres.index(False) if False in pres else len(pres)
            if any(pres[k:]):
                holes += 1
                if holes <= 3:
                    self.fail("in-flight records of a killed writer are not a prefix: %s"
                              % "".join("x" if p else "." for p in pres)[:200] + " from %s" % (win[0],))
            self.stats["maybe_present"] += k
            self.stats["maybe_absent"] += len(pres) - k
        # append order: each writer's acked records in the order it sent them,
        # and so are the present records of each in-flight window. (Not all of
        # a writer's records: blocks a killed tt-ingest wrote but did not index
        # are indexed by whichever process recovers its segment next, which can
        # be after the same writer's next run committed.)
        pos = {}
        for i, j in enumerate(self.ref):
            if not record_problem(j):
                pos[(j["w"], j["s"])] = i
        last = {}
        for k in sorted(k for k in o.keys(ACK) if k in pos):
            w, s = k
            if pos[k] <= last.get(w, (-1, -1))[0]:
                self.fail("writer %d: acked record %d is stored before acked record %d"
                          % (w, s, last[w][1]))
                break
            last[w] = (pos[k], s)
        for win in o.windows:
            p = [pos[k] for k in win if k in pos]
            if p != sorted(p):
                self.fail("in-flight records from %s are stored out of order" % (win[0],))
                break
        # tt-stat's counters (segment rows) against the records actually there
        rc, out, err = env.run([env.tool("tt-stat"), "-D", env.store, "-o", "json", "-q"])
        try:
            st = json.loads(out)
            if st["records"] != len(self.ref):
                self.fail("tt-stat counts %d records, tt-tail -n all reads %d"
                          % (st["records"], len(self.ref)))
            self.stats["segments"] = st["segments"]
        except (ValueError, KeyError):
            self.fail("tt-stat -o json: exit %s %s %s" % (rc, out[:300], err[:300]))
        self.stats.update(lost=len(lost), duplicated=len(dup), stored=len(self.ref),
                          acked=o.counts[ACK], maybe=o.counts[MAYBE], refused=o.counts[REFUSED])
        return self.ref

    def queries(self, nids):
        """tt-query ID for a sample of ids: exactly the records of the scan
        with that id, in ts order (checks the per-id index against the log)."""
        env = self.env
        rng = env.rand()
        byid = collections.defaultdict(list)
        for j in self.ref:
            byid[j["corr"]].append(j)
        ids = sorted(byid)
        rng.shuffle(ids)
        for cid in ids[:nids]:
            want = [(j["w"], j["s"]) for j in sorted(byid[cid], key=lambda j: j["ts"])]
            rc, out, err = env.run([env.tool("tt-query"), "-D", env.store, cid, "-o", "jsonl",
                                    "-n", "all", "-q"])
            try:
                got = [(j["w"], j["s"]) for j in parse_lines(out, False)[0]]
            except ValueError as e:
                got = "unparsable: %s" % e
            if rc != 0 or err or got != want:
                self.fail("tt-query %s: exit %s, stderr %s, got %s, want %s"
                          % (cid, rc, err[:200], str(got)[:300], str(want)[:300]))
            self.stats["queries"] += 1

    def follower(self, name, recs, start_after=None):
        """A follower that lived through everything prints exactly the
        reference sequence (after start_after), cursors included."""
        ref = self.ref
        i0 = 0
        if start_after is not None:
            keys = [cursor_key(j["cursor"]) for j in ref]
            k = cursor_key(start_after)
            i0 = next((i for i, x in enumerate(keys) if x > k), len(ref))
        want = [(j["cursor"], j.get("w"), j.get("s")) for j in ref[i0:]]
        got = [(j.get("cursor"), j.get("w"), j.get("s")) for j in recs]
        if got != want:
            n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            self.fail("%s saw %d records, the store has %d after its start; first difference at "
                      "%d: got %s, want %s" % (name, len(got), len(want), n,
                                              got[n:n + 3], want[n:n + 3]))
        self.stats["followed"] += len(got)

    def consumer(self, cc):
        """Runs of a restarted --cursor-file follower: each run starts right
        after the cursor in the file at its start, prints the reference
        sequence from there in order, and the file never names a record the
        run did not print. SIGTERM runs save exactly their last record.
        Records printed again after a SIGKILL (printed, cursor not yet saved)
        are counted as redelivered."""
        ref = self.ref
        idx = {j["cursor"]: i for i, j in enumerate(ref)}
        redeliv = torn = 0
        for k, run in enumerate(cc.runs):
            name = "%s run %d" % (cc.name, k)
            with open(run["out"], "rb") as f:
                data = f.read()
            with open(run["err"], "rb") as f:
                err = f.read()
            killed = run["sig"] == signal.SIGKILL
            if killed and run["rc"] != -signal.SIGKILL and run["rc"] != 0:
                self.fail("%s: exit %s" % (name, run["rc"]))
            if not killed and run["rc"] != 0:
                self.fail("%s: exit %s on SIGTERM" % (name, run["rc"]))
            if err:
                self.fail("%s: stderr %s" % (name, err[:300]))
            try:
                recs, t = parse_lines(data, killed)
            except ValueError as e:
                self.fail("%s: %s" % (name, e))
                continue
            torn += bool(t)
            if run["start"] is None:
                i0 = 0
            elif run["start"] in idx:
                i0 = idx[run["start"]] + 1
            else:
                self.fail("%s: cursor file names %s, not a record of the store" % (name, run["start"]))
                continue
            got = [j["cursor"] for j in recs]
            want = [j["cursor"] for j in ref[i0:i0 + len(recs)]]
            if got != want:
                self.fail("%s: after %s printed %s..., want %s..." % (name, run["start"], got[:3], want[:3]))
                continue
            last = i0 + len(recs) - 1      # index of the last record printed
            e = run["end"]
            ei = idx.get(e, -1) if e is not None else -1
            if e is not None and e not in idx:
                self.fail("%s: saved cursor %s is not a record of the store" % (name, e))
            elif ei > last:
                self.fail("%s: saved cursor %s is past the last record it printed (gap on restart)"
                          % (name, e))
            elif ei < i0 - 1:
                self.fail("%s: saved cursor %s went backwards from %s" % (name, e, run["start"]))
            elif not killed and ei != last:
                self.fail("%s: stopped by SIGTERM after printing %s but saved %s"
                          % (name, ref[last]["cursor"] if last >= 0 else None, e))
            else:
                redeliv += last - ei
        lastrun = cc.runs[-1]
        if ref and lastrun.get("end") != ref[-1]["cursor"]:
            self.fail("%s: last run ended at %s, the store ends at %s"
                      % (cc.name, lastrun.get("end"), ref[-1]["cursor"]))
        self.stats["consumer_runs"] += len(cc.runs)
        self.stats["consumer_kills"] += sum(1 for r in cc.runs if r["sig"] == signal.SIGKILL)
        self.stats["redelivered"] += redeliv
        self.stats["torn_lines"] += torn


def report_failures(env):
    if env.failures:
        for f in env.failures[:40]:
            print("# FAIL: " + f, flush=True)
        if len(env.failures) > 40:
            print("# ... and %d more" % (len(env.failures) - 40))
        return 1
    return 0


# ---------------------------------------------------------------- mode: ingest

def ingest_opts(env):
    """--segment-size if this tt-ingest has it (small segments: rotation and
    sealing happen under the kills too)."""
    rc, out, _ = env.run([env.tool("tt-ingest"), "--help"])
    return b"--segment-size" in out


def trickle(p, path, rng):
    """Feed the file at path to p's stdin in bursts of 1..64 KiB with pauses
    of up to 3 ms (cut anywhere, also inside a record), then close it."""
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    try:
        while i < len(data):
            k = rng.randint(1, 65536)
            p.stdin.write(data[i:i + k])
            p.stdin.flush()
            i += k
            time.sleep(rng.uniform(0, 0.003))
        p.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def mode_ingest(env, a):
    oracle = Oracle(os.path.join(env.work, "oracle.log"))
    chk = Checker(env, oracle)
    segsz = ingest_opts(env)
    os.makedirs(env.store, exist_ok=True)
    # the store exists before the followers start
    rc, _, err = env.run([env.tool("tt-ingest"), "-D", env.store, "-q", "/dev/null"])
    if rc != 0:
        env.fail("tt-ingest on an empty input: exit %s %s" % (rc, err))
        return
    fol = Follower(env, "follower", ["-n", "all"])
    cc = CursorConsumer(env, "cursor")
    cc.start()
    mu = threading.Lock()
    st = collections.Counter()
    landed = collections.Counter()
    t0 = time.monotonic()
    deadline = t0 + a.budget

    def slot(w):
        rng = env.rand()
        path = os.path.join(env.work, "in.%d" % w)
        while not env.failures:
            with mu:
                if (st["kills"] >= a.kills and st["clean"] >= a.kills // 4
                        and time.monotonic() - t0 >= a.min_seconds):
                    return
            if time.monotonic() > deadline:
                return
            n = rng.choice((1, rng.randint(1, 100), rng.randint(100, a.max_batch)))
            s0 = oracle.alloc(w, n)
            if rng.random() < 0.3:
                with open(path, "wb") as f:
                    f.write(mp_pack([record(w, s) for s in range(s0, s0 + n)], bytearray()))
            else:
                write_jsonl(path, w, s0, n)
            args = [env.tool("tt-ingest"), "-D", env.store, "-q"]
            if segsz and rng.random() < 0.7:
                args += ["--segment-size", rng.choice(("64K", "128K", "1M"))]
            feeder = None
            with open(path + ".err", "wb") as e:
                if rng.random() < 0.25:
                    # a slow producer on a pipe: records arrive in small bursts,
                    # blocks go out on the flush timer, not when full
                    p = env.spawn(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=e)
                    feeder = threading.Thread(target=trickle, args=(p, path, env.rand()), daemon=True)
                    feeder.start()
                    with mu:
                        st["piped"] += 1
                else:
                    p = env.spawn(args + [path], stdout=subprocess.DEVNULL, stderr=e)
            killed_at = None
            where = ()
            if rng.random() < a.kill_ratio:
                u = rng.random()
                d = rng.uniform(0, 2) if u < 0.25 else rng.uniform(2, 15) if u < 0.7 else rng.uniform(15, 80)
                sleep_ms(d)
                killed_at = d
                if rng.random() < a.at_sync:
                    where = kill_at_sync(p, 0.05)
                    with mu:
                        st["targeted"] += 1
                else:
                    where = in_syscalls(p.pid)
                    p.kill()
            try:
                rc = p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
                env.fail("writer %d: tt-ingest of %d records hung (60 s)" % (w, n))
            if feeder:
                feeder.join()
            with open(path + ".err", "rb") as e:
                err = e.read()
            if rc == 0 and not err:
                oracle.ack(w, s0, n)
                with mu:
                    st["clean"] += 1
            elif rc == -signal.SIGKILL:
                oracle.maybe(w, [(s0, n)])
                with mu:
                    st["kills"] += 1
                    for x in where:
                        landed[x] += 1
                    if killed_at is not None and killed_at < 2:
                        st["early"] += 1
            else:
                oracle.maybe(w, [(s0, n)])
                env.fail("writer %d: tt-ingest of %d records: exit %s: %s" % (w, n, rc, err[-500:]))

    threads = [threading.Thread(target=slot, args=(w,), daemon=True) for w in range(1, a.writers + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load_s = time.monotonic() - t0
    if st["kills"] < a.kills and not env.failures:
        env.fail("only %d kills within the %d s budget (wanted %d)" % (st["kills"], a.budget, a.kills))
    if a.selftest:
        selftest(env, oracle, a.selftest)
    ref = chk.final()
    want = ref[-1]["cursor"] if ref else None
    cc.finish(want)
    chk.follower("follower", fol.stop())
    chk.consumer(cc)
    chk.queries(a.queries)
    oracle.close()
    s = chk.stats
    note("seed %d, %d tt-ingest writers, %.1f s of load" % (env.seed, a.writers, load_s))
    note("%d tt-ingest SIGKILLs (%d within 2 ms of exec), %d clean runs; %d runs read a slow pipe"
         % (st["kills"], st["early"], st["clean"], st["piped"]))
    note("%d kills aimed at a write/fsync in progress; kills that found a tt-ingest thread inside: %s" % (st["targeted"], ", ".join(
        "%s %d" % kv for kv in sorted(landed.items())) or "(no system call noted)"))
    note("%d acked records, %d lost, %d duplicated; %d in flight at a kill: %d present, %d absent"
         % (s["acked"], s["lost"], s["duplicated"], s["maybe"], s["maybe_present"], s["maybe_absent"]))
    note("store: %d records in %d segments; %d ids checked with tt-query" % (s["stored"], s["segments"], s["queries"]))
    note("follower saw %d records; cursor follower: %d runs, %d SIGKILLed, %d redelivered after SIGKILL"
         % (s["followed"], s["consumer_runs"], s["consumer_kills"], s["redelivered"]))
    return st


def selftest(env, oracle, what):
    """Break the promise on purpose, so that the checks are seen to fail:
    lose: an ack for records never sent; dup: a run stored twice;
    garble: a record whose fields do not match its (w, s)."""
    w = 90
    path = os.path.join(env.work, "selftest.jsonl")
    s0 = oracle.alloc(w, 5)
    recs = [record(w, s) for s in range(s0, s0 + 5)]
    if what == "garble":
        recs[2]["pad"] += "!"
    with open(path, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in recs))
    for _ in range(2 if what == "dup" else 0 if what == "lose" else 1):
        env.run([env.tool("tt-ingest"), "-D", env.store, "-q", path])
    oracle.ack(w, s0, 5)


# ---------------------------------------------------------------- mode: gc

def run_and_kill(env, argv, errpath, rng, at_sync, sync_timeout, max_ms, wait_s):
    """Start argv (stderr to errpath) and SIGKILL it: the moment a thread of
    it is inside a write or fsync (a share at_sync of the runs, waiting up
    to sync_timeout s), else 0..max_ms ms after the start. Returns its exit
    status and where the kill landed."""
    with open(errpath, "wb") as e:
        p = env.spawn(argv, stdout=subprocess.DEVNULL, stderr=e)
    if rng.random() < at_sync:
        where = kill_at_sync(p, sync_timeout)
    else:
        sleep_ms(rng.uniform(0, max_ms))
        where = in_syscalls(p.pid)
        p.kill()
    return p.wait(wait_s), where


def one_stream(env, oracle, stop, formats=None):
    """Writer 1: tt-ingest runs of 20-400 records into 64 KiB segments until
    stop, none killed, so every run is acked (formats: a --format-version
    drawn from these for each run)."""
    rng = env.rand()
    path = os.path.join(env.work, "in.1")
    while not stop.is_set():
        n = rng.randint(20, 400)
        s0 = oracle.alloc(1, n)
        write_jsonl(path, 1, s0, n)
        fmt = ["--format-version", rng.choice(formats)] if formats else []
        rc, out, err = env.run([env.tool("tt-ingest"), "-D", env.store, "-q",
                                "--segment-size", "64K"] + fmt + [path])
        if rc == 0 and not err:
            oracle.ack(1, s0, n)
        else:
            oracle.maybe(1, [(s0, n)])
            env.fail("tt-ingest: exit %s %s" % (rc, err[:300]))


def seg_files_indexed(env, after):
    """seg/ must hold exactly the segment files the index lists (no orphan,
    none missing). Returns tt-stat --segments -o json, or None."""
    rc, out, err = env.run([env.tool("tt-stat"), "-D", env.store, "--segments", "-o", "json", "-q"])
    try:
        j = json.loads(out)
        segs = {x["segment"] + ".tts" for x in j["segment_list"]}
        j["states"]
    except (ValueError, KeyError) as e:
        env.fail("tt-stat --segments: %s %s" % (e, err[:300]))
        return None
    files = set(os.listdir(os.path.join(env.store, "seg")))
    if files != segs:
        env.fail("after %s, seg/ holds %s, the index lists %s"
                 % (after, sorted(files - segs)[:5], sorted(segs - files)[:5]))
    return j


def mode_gc(env, a):
    """tt-gc --rotate --max-size SIGKILLed at random instants (some aimed at
    an unlink, write or fsync in progress) while one tt-ingest stream keeps
    appending (runs are not killed: every record is acked). gc deletes whole
    sealed segments, oldest first, and this single stream fills segments in
    order, so what is left must be a suffix of the acked sequence."""
    oracle = Oracle(os.path.join(env.work, "oracle.log"))
    chk = Checker(env, oracle)
    os.makedirs(env.store, exist_ok=True)
    stop = threading.Event()
    st = collections.Counter()
    landed = collections.Counter()

    th = threading.Thread(target=one_stream, args=(env, oracle, stop), daemon=True)
    th.start()
    rng = env.rand()
    t0 = time.monotonic()
    while not os.path.exists(os.path.join(env.store, "index")):
        time.sleep(0.01)
    while st["kills"] < a.kills and not env.failures and time.monotonic() - t0 < a.budget:
        time.sleep(rng.uniform(0, 0.03))
        rc, where = run_and_kill(env, [env.tool("tt-gc"), "-D", env.store, "--rotate", "--max-size",
                                       "256K", "-q"], os.path.join(env.work, "gc.err"), rng,
                                 a.at_sync, 0.05, 8, 30)
        if rc == -signal.SIGKILL:
            st["kills"] += 1
            for x in where:
                landed[x] += 1
            chk.tt_check_crashed(" after tt-gc kill %d" % st["kills"])
        elif rc == 0:
            st["clean"] += 1
        else:
            env.fail("tt-gc exited %s: %s" % (rc, open(os.path.join(env.work, "gc.err"), "rb").read()[:300]))
    stop.set()
    th.join(60)
    load_s = time.monotonic() - t0
    rc, out, err = env.run([env.tool("tt-gc"), "-D", env.store, "--rotate", "--max-size", "256K", "-q"])
    if rc != 0 or err:
        env.fail("final tt-gc: exit %s %s" % (rc, err[:300]))
    chk.tt_check(" (final)")
    ref = chk.scan()
    have = []
    for j in ref:
        why = record_problem(j)
        if why:
            env.fail("garbled record: %s" % why)
            break
        have.append(j["s"])
    nacked = oracle.counts[ACK]
    first = have[0] if have else nacked
    if have != list(range(first, nacked)):
        env.fail("the store holds %d records, not the acked suffix %d..%d (first gap after %s)"
                 % (len(have), first, nacked - 1,
                    next((x for x, y in zip(have, range(first, nacked)) if x != y), None)))
    j = seg_files_indexed(env, "a clean gc")
    if j and j["records"] != len(ref):
        env.fail("tt-stat counts %d records, the scan reads %d" % (j["records"], len(ref)))
    chk.ref = ref
    chk.queries(a.queries)
    note("seed %d, %.1f s: %d tt-gc SIGKILLs, %d clean tt-gc runs, one tt-ingest stream writing"
         % (env.seed, load_s, st["kills"], st["clean"]))
    note("kills that found tt-gc inside: %s" % (", ".join("%s %d" % kv for kv in sorted(landed.items()))
                                                   or "(no system call noted)"))
    note("%d acked records, the newest %d kept (a suffix, none garbled or twice); tt-check after every kill"
         % (nacked, len(ref)))


def mode_rewrite(env, a):
    """tt-check --recompress (FORMAT.md 8.8) SIGKILLed at random instants
    (some aimed at a write, fsync or unlink in progress) while one tt-ingest
    stream appends, in format 1 or 2 by turns, sealing 64 KiB segments
    (runs are not killed: every record is acked). After each kill: tt-check
    passes, a follower-style scan holds every acked record exactly once in
    append order, and now and then a copy rebuilt with --rebuild-index (the
    old and new files of a rewrite side by side) reads the same. At the end,
    a clean rewrite and gc leave seg/ holding just the indexed files."""
    oracle = Oracle(os.path.join(env.work, "oracle.log"))
    chk = Checker(env, oracle)
    os.makedirs(env.store, exist_ok=True)
    stop = threading.Event()
    st = collections.Counter()
    landed = collections.Counter()

    def exact(recs, upto, what):
        """records 0..upto-1 (all acked) each once, in append order, none
        garbled; any after them are of runs acked or in flight since"""
        have = []
        for j in recs:
            why = record_problem(j)
            if why:
                env.fail("%s: garbled record: %s" % (what, why))
                return
            have.append(j["s"])
        if have[:upto] != list(range(upto)) or have != list(range(len(have))):
            env.fail("%s: %d records, not the acked sequence 0..%d (first difference at %s)"
                     % (what, len(have), upto - 1,
                        next((i for i, x in enumerate(have) if x != i), len(have))))

    th = threading.Thread(target=one_stream, args=(env, oracle, stop, ("1", "2")), daemon=True)
    th.start()
    rng = env.rand()
    t0 = time.monotonic()
    while not os.path.exists(os.path.join(env.store, "index")):
        time.sleep(0.01)
    while st["kills"] < a.kills and not env.failures and time.monotonic() - t0 < a.budget:
        time.sleep(rng.uniform(0, 0.05))
        rc, where = run_and_kill(env, [env.tool("tt-check"), "-D", env.store, "--recompress", "-q"],
                                 os.path.join(env.work, "rw.err"), rng, a.at_sync, 0.1, 30, 60)
        if rc == -signal.SIGKILL:
            st["kills"] += 1
            for x in where:
                landed[x] += 1
            chk.tt_check_crashed(" after tt-check --recompress kill %d" % st["kills"])
            upto = oracle.counts[ACK]
            exact(chk.scan(), upto, "scan after kill %d" % st["kills"])
            if st["kills"] % 5 == 1:
                # the crash state as it is, indexed from its files alone
                copy = os.path.join(env.work, "rebuilt")
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(env.store, copy, ignore=shutil.ignore_patterns("ttd.*"))
                rc2, out, err = env.run([env.tool("tt-check"), "-D", copy, "--rebuild-index", "-q"])
                if rc2 not in (0, 3):
                    env.fail("tt-check --rebuild-index of a crash copy: exit %s %s" % (rc2, err[:300]))
                rc2, out, err = env.run([env.tool("tt-tail"), "-D", copy, "-n", "all", "-o", "jsonl", "-q"])
                nfail = len(env.failures)
                exact(parse_lines(out, True)[0], upto, "rebuilt copy after kill %d" % st["kills"])
                if len(env.failures) > nfail:
                    # kept for a look: the copy as rebuilt, and the live store's view
                    shutil.copytree(copy, copy + ".failed", dirs_exist_ok=True)
                    with open(copy + ".failed/live-segments.json", "wb") as f:
                        f.write(env.run([env.tool("tt-stat"), "-D", env.store, "-s", "-o", "json"])[1])
                st["rebuilds"] += 1
        elif rc == 0:
            st["clean"] += 1
        else:
            env.fail("tt-check --recompress exited %s: %s"
                     % (rc, open(os.path.join(env.work, "rw.err"), "rb").read()[:300]))
    stop.set()
    th.join(60)
    load_s = time.monotonic() - t0
    for args in (["tt-gc", "--rotate", "--rollup-max-age", "off"], ["tt-check", "--recompress"],
                 ["tt-gc", "--rotate", "--rollup-max-age", "off"]):
        rc, out, err = env.run([env.tool(args[0]), "-D", env.store, "-q"] + args[1:])
        if rc != 0 or err:
            env.fail("final %s: exit %s %s" % (" ".join(args), rc, err[:300]))
    chk.tt_check(" (final)")
    ref = chk.scan()
    exact(ref, oracle.counts[ACK], "final scan")
    if len(ref) != oracle.counts[ACK]:
        env.fail("final scan: %d records, %d acked" % (len(ref), oracle.counts[ACK]))
    j = seg_files_indexed(env, "a clean rewrite and gc")
    if j and (j["states"]["sealed"]["raw_bytes"] or not j["states"]["recompressed"]["segments"]):
        env.fail("after a clean rewrite: %s" % j["states"])
    chk.ref = ref
    chk.queries(a.queries)
    note("seed %d, %.1f s: %d tt-check --recompress SIGKILLs, %d clean runs, one tt-ingest stream "
         "writing formats 1 and 2" % (env.seed, load_s, st["kills"], st["clean"]))
    note("kills that found the rewrite inside: %s"
         % (", ".join("%s %d" % kv for kv in sorted(landed.items())) or "(no system call noted)"))
    note("%d acked records, all kept once in order after every kill; %d crash copies rebuilt from "
         "their files alone read the same" % (len(ref), st["rebuilds"]))


# ---------------------------------------------------------------- mode: ttd

def mode_ttd(env, a):
    oracle = Oracle(os.path.join(env.work, "oracle.log"))
    chk = Checker(env, oracle)
    extra = (["--segment-size", a.segment_size] if a.segment_size else []) + a.ttd_arg
    ttd = Ttd(env, extra)
    cstats = collections.Counter()
    clients = []
    w = 0
    for _ in range(a.http):
        w += 1
        clients.append(threading.Thread(target=http_client, args=(env, ttd, oracle, w, cstats), daemon=True))
    for _ in range(a.sock):
        w += 1
        clients.append(threading.Thread(target=sock_client, args=(env, ttd, oracle, w, cstats), daemon=True))
    rng = env.rand()
    fol = cc = None
    kills = early = checks = 0
    landed = collections.Counter()   # system call -> kills that found a thread in it
    targeted = 0
    t0 = time.monotonic()
    for c in clients:
        c.start()
    for rnd in range(a.kills + 1):
        p = ttd.start()
        final = rnd == a.kills
        if not final and rng.random() < 0.15:
            # within milliseconds of exec: store open, recovery, adoption
            sleep_ms(rng.uniform(0, 4))
            early += 1
        else:
            if not ttd.wait_ready():
                env.fail("round %d: ttd did not start (exit %s): %s" % (rnd, p.poll(), "\n".join(
                    open(ttd.logpath, errors="replace").read().splitlines()[-10:])))
                break
            if fol is None:
                fol = Follower(env, "follower", ["-n", "all"])
                cc = CursorConsumer(env, "cursor")
                cc.start()
            if final:
                sleep_ms(200)
                break
            u = rng.random()
            sleep_ms(rng.uniform(1, 10) if u < 0.3 else rng.uniform(10, 60) if u < 0.8 else rng.uniform(60, 250))
        if rng.random() < a.at_sync:
            ttd.landed = kill_at_sync(ttd.proc, 0.1)
            ttd.down()
            rc = ttd.proc.wait(30)
            targeted += 1
        else:
            rc = ttd.kill()
        landed.update(ttd.landed)
        if rc != -signal.SIGKILL:
            env.fail("round %d: ttd exited %s before the kill" % (rnd, rc))
            break
        kills += 1
        if a.check_every and kills % a.check_every == 0 and fol is not None:
            checks += 1
            chk.tt_check_crashed(" after kill %d (store as the crash left it)" % kills)
    # stop the clients (they finish what is in flight), then ttd cleanly
    ttd.end_clients(clients, 30)
    load_s = time.monotonic() - t0
    if ttd.proc and ttd.proc.poll() is None:
        rc = ttd.stop()
        if rc != 0:
            env.fail("ttd exited %s on SIGTERM" % rc)
    for line in ttd.log_problems()[:10]:
        env.fail("ttd log: " + line)
    ref = chk.final()
    if fol:
        cc.finish(ref[-1]["cursor"] if ref else None)
        chk.follower("follower", fol.stop())
        chk.consumer(cc)
    chk.queries(a.queries)
    oracle.close()
    s = chk.stats
    note("seed %d, %d HTTP + %d socket clients, ttd %s, %.1f s of load"
         % (env.seed, a.http, a.sock, " ".join(extra) or "(defaults)", load_s))
    note("%d ttd SIGKILLs (%d within 4 ms of exec), %d restarts; tt-check on %d crashed stores "
         "(%d torn tails past the indexed end, cut at the next open)"
         % (kills, early, kills, checks, chk.stats["torn_tails"]))
    note("%d kills aimed at a write/fsync in progress; kills that found a ttd thread inside: %s" % (targeted, ", ".join(
        "%s %d" % kv for kv in sorted(landed.items())) or "(no system call noted)"))
    note("%d acked records (%d HTTP batches, %d socket messages), %d lost, %d duplicated; "
         "%d in flight at a kill: %d present, %d absent; %d refused (503)"
         % (s["acked"], cstats["http_batches"], cstats["sock_msgs"], s["lost"], s["duplicated"],
            s["maybe"], s["maybe_present"], s["maybe_absent"], s["refused"]))
    note("store: %d records in %d segments; %d ids checked with tt-query" % (s["stored"], s["segments"], s["queries"]))
    note("follower saw %d records; cursor follower: %d runs, %d SIGKILLed, %d redelivered after SIGKILL"
         % (s["followed"], s["consumer_runs"], s["consumer_kills"], s["redelivered"]))
    if kills < a.kills and not env.failures:
        env.fail("only %d kills" % kills)


# ---------------------------------------------------------------- mode: soak

class Sampler:
    """VmRSS of named processes and the store's file sizes, every 0.5 s."""

    def __init__(self, env, store):
        self.env = env
        self.store = store
        self.procs = {}                  # name -> callable returning a Popen or None
        self.rss = collections.defaultdict(list)   # name -> [(t, KiB)]
        self.sizes = []                  # (t, segment bytes, index file bytes)
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        t0 = time.monotonic()
        while not self.stopping:
            t = time.monotonic() - t0
            for name, get in list(self.procs.items()):
                p = get()
                if p is not None and p.poll() is None:
                    k = rss_kib(p.pid)
                    if k:
                        self.rss[name].append((t, k))
            seg = 0
            try:
                for e in os.scandir(os.path.join(self.store, "seg")):
                    try:
                        seg += e.stat().st_size
                    except OSError:
                        pass
                idx = os.path.getsize(os.path.join(self.store, "index", "data.mdb"))
            except OSError:
                idx = 0
            self.sizes.append((t, seg, idx))
            time.sleep(0.5)


def end_cursor(env):
    """The cursor of the newest record in the store (None when empty)."""
    rc, out, err = env.run([env.tool("tt-tail"), "-D", env.store, "-n", "1", "--show-cursor",
                            "-o", "jsonl", "-q"])
    if rc != 0 or err:
        env.fail("tt-tail -n 1: exit %s %s" % (rc, err[:300]))
        return None
    lines = out.split(b"\n")
    return json.loads(lines[0])["cursor"] if lines[0] else None


def mode_soak(env, a):
    """Writers, readers and gc together for a.seconds; see the module doc.

    gc runs only after every follower has printed the newest record (the
    harness waits for them, at most 60 s), so a follower is never owed a
    record that gc deleted before it could read it: each follower must print
    exactly the committed sequence from where it started. Which records a gc
    run deleted is found by a full scan right after it (acked before the scan
    began, absent from it); their number must equal what tt-gc reported."""
    oracle = Oracle(os.path.join(env.work, "oracle.log"), times=True)
    chk = Checker(env, oracle)
    rng = env.rand()
    os.makedirs(env.store, exist_ok=True)
    rc, _, err = env.run([env.tool("tt-ingest"), "-D", env.store, "-q", "/dev/null"])
    if rc != 0:
        env.fail("tt-ingest on an empty input: exit %s %s" % (rc, err))
        return
    segsz = "64K"
    ttd = Ttd(env, ["--segment-size", segsz])
    ttd.start()
    if not ttd.wait_ready():
        env.fail("ttd did not start")
        return
    smp = Sampler(env, env.store)
    smp.procs["ttd"] = lambda: ttd.proc
    # readers: two followers from the start, one from a third of the run
    # (-n 0), a slow one (not waited for before gc), a --cursor-file follower
    # restarted by SIGTERM, three tt-query loops, one tt-check + tt-stat loop
    f1 = Follower(env, "follow1", ["-n", "all"])
    f2 = Follower(env, "follow2", ["-n", "all"])
    late = []
    slow = SlowFollower(env, "slow", ["-n", "all"], a.slow_rate)
    cc = CursorConsumer(env, "cursor", kill_ratio=0.0, period=(1.0, 3.0))
    smp.procs["slow"] = lambda: slow.proc
    smp.procs["follow1"] = lambda: f1.proc
    smp.procs["follow2"] = lambda: f2.proc
    smp.procs["cursor"] = lambda: cc.proc
    smp.thread.start()
    gc_mu = threading.Lock()          # no gc while the cursor follower restarts

    def cc_loop():
        r = env.rand()
        while not cc.stopping:
            with gc_mu:
                run = cc._start()
            time.sleep(r.uniform(*cc.period))
            with gc_mu:
                cc._end(run, signal.SIGTERM)
    cc.thread = threading.Thread(target=cc_loop, daemon=True)
    cc.start()

    stop = threading.Event()
    cstats = collections.Counter()
    threads = [threading.Thread(target=http_client, args=(env, ttd, oracle, 1, cstats, a.pace), daemon=True),
               threading.Thread(target=sock_client, args=(env, ttd, oracle, 2, cstats, a.pace), daemon=True)]

    def ingest_loop(w):
        r = env.rand()
        path = os.path.join(env.work, "in.%d" % w)
        while not stop.is_set():
            n = r.randint(1, 120)
            s0 = oracle.alloc(w, n)
            write_jsonl(path, w, s0, n)
            rc, out, err = env.run([env.tool("tt-ingest"), "-D", env.store, "-q",
                                    "--segment-size", segsz, path], timeout=60)
            if rc == 0 and not err:
                oracle.ack(w, s0, n)
                cstats["ingest_runs"] += 1
            else:
                oracle.maybe(w, [(s0, n)])
                env.fail("writer %d: tt-ingest exit %s: %s" % (w, rc, err[:300]))
            time.sleep(r.uniform(0, 4 * a.pace))
    threads += [threading.Thread(target=ingest_loop, args=(w,), daemon=True) for w in (3, 4, 5)]

    queries = []                       # (id, t0, t1, [(w, s)...])

    def query_loop():
        r = env.rand()
        while not stop.is_set():
            with oracle.mu:
                ev = oracle.events[r.randrange(len(oracle.events))] if oracle.events else None
            if ev is None:
                time.sleep(0.05)
                continue
            cid = corr_of(ev[1] + r.randrange(ev[2]))
            t0 = time.monotonic()
            rc, out, err = env.run([env.tool("tt-query"), "-D", env.store, cid, "-o", "jsonl",
                                    "-n", "all", "-q"])
            t1 = time.monotonic()
            if rc not in (0, 1) or err:
                env.fail("tt-query %s: exit %s, stderr %s" % (cid, rc, err[:300]))
            try:
                recs = parse_lines(out, False)[0]
            except ValueError as e:
                env.fail("tt-query %s: %s" % (cid, e))
                continue
            why = None
            if any(record_problem(j) or j.get("corr") != cid for j in recs):
                why = "a garbled record or one of another id"
            elif [j["ts"] for j in recs] != sorted(j["ts"] for j in recs):
                why = "not in ts order"
            if why:
                env.fail("tt-query %s: %s" % (cid, why))
            queries.append((cid, t0, t1, [(j["w"], j["s"]) for j in recs]))
            time.sleep(r.uniform(0, 0.05))
    threads += [threading.Thread(target=query_loop, daemon=True) for _ in range(3)]

    def check_loop():
        r = env.rand()
        while not stop.is_set():
            time.sleep(r.uniform(0.5, 2.0))
            rc, out, err = env.run([env.tool("tt-check"), "-D", env.store, "-q"])
            cstats["tt_check"] += 1
            if rc != 0 or err:
                env.fail("tt-check while everything runs: exit %s: %s %s" % (rc, out[:400], err[:400]))
            rc, out, err = env.run([env.tool("tt-stat"), "-D", env.store, "-q", "-o", "json"])
            if rc != 0 or err:
                env.fail("tt-stat while everything runs: exit %s: %s" % (rc, err[:400]))
    threads.append(threading.Thread(target=check_loop, daemon=True))

    def progress_of_cc():
        run = cc.runs[-1] if cc.runs else None
        best = cc._cursor()
        if run:
            try:
                with open(run["out"], "rb") as f:
                    f.seek(0, 2)
                    f.seek(max(0, f.tell() - 4096))
                    tail = f.read().split(b"\n")
                for ln in reversed(tail[:-1]):
                    if ln:
                        c = json.loads(ln)["cursor"]
                        if best is None or cursor_key(c) > cursor_key(best):
                            best = c
                        break
            except (OSError, ValueError):
                pass
        return best

    def caught_up(end, timeout=60):
        """Until every follower has printed the record at cursor `end`."""
        if end is None:
            return True
        k = cursor_key(end)
        limit = time.monotonic() + timeout
        while True:
            lag = [f.name for f in [f1, f2] + late
                   if f.last_cursor() is None or cursor_key(f.last_cursor()) < k]
            c = progress_of_cc()
            if c is None or cursor_key(c) < k:
                lag.append("cursor")
            if not lag:
                return True
            if time.monotonic() > limit:
                env.fail("followers %s did not reach %s within %d s" % (lag, end, timeout))
                return False
            time.sleep(0.01)

    gcs = []                           # per tt-gc run: t0, t1, records, removed, deleted
    deleted_at = {}                    # w -> array: index of the gc run that deleted seq s, -1
    pending = {}                       # acked, not yet seen deleted: (w, s) -> ack time
    nev = 0                            # oracle.events already moved into pending
    max_lag = 0.0

    def deleted(w, s):
        da = deleted_at.get(w)
        return da is not None and isinstance(s, int) and 0 <= s < len(da) and da[s] >= 0

    t_start = time.monotonic()
    for t in threads:
        t.start()
    while time.monotonic() - t_start < a.seconds and not env.failures:
        time.sleep(rng.uniform(0.5 * a.gc_every, 1.5 * a.gc_every))
        if not late and time.monotonic() - t_start > a.seconds / 3:
            late.append(Follower(env, "late", ["-n", "0"]))
            smp.procs["late"] = lambda: late[0].proc
        with gc_mu:
            tw = time.monotonic()
            if not caught_up(end_cursor(env)):
                break
            max_lag = max(max_lag, time.monotonic() - tw)
            g = {"t0": time.monotonic()}
            rc, out, err = env.run([env.tool("tt-gc"), "-D", env.store, "--rotate", "--max-size",
                                    a.max_size, "-o", "json", "-q"])
            g["t1"] = time.monotonic()
        if rc != 0 or err:
            env.fail("tt-gc: exit %s: %s %s" % (rc, out[:300], err[:300]))
            break
        j = json.loads(out)
        g["records"], g["removed"] = j["records"], j["removed"]
        k = len(gcs)
        gcs.append(g)
        t_snap = time.monotonic()       # records acked before this are in the scan
        snap = {(r.get("w"), r.get("s")) for r in chk.scan()}
        back = [x for x in snap if deleted(*x)]
        if back:
            env.fail("after gc %d: %d deleted records are back, e.g. %s" % (k, len(back), back[:5]))
        with oracle.mu:
            new = oracle.events[nev:]
            nev = len(oracle.events)
        for w, s0, n, t in new:
            for s in range(s0, s0 + n):
                pending[(w, s)] = t
        g["deleted"] = 0
        for x, t in list(pending.items()):
            if t < t_snap and x not in snap:
                da = deleted_at.setdefault(x[0], array.array("i"))
                if len(da) <= x[1]:
                    da.extend([-1] * (x[1] + 1 - len(da) + 1024))
                da[x[1]] = k
                del pending[x]
                g["deleted"] += 1
    # stop the writers, then ttd, then the readers once they have everything
    stop.set()
    ttd.end_clients(threads, 60)
    load_s = time.monotonic() - t_start
    rc = ttd.stop()
    if rc != 0:
        env.fail("ttd exited %s on SIGTERM" % rc)
    for line in ttd.log_problems()[:10]:
        env.fail("ttd log: " + line)
    end = end_cursor(env)
    caught_up(end)
    smp.stopping = True
    smp.thread.join()
    cc.stopping = True
    cc.thread.join()
    cc.finish(end)
    f1.stop(False)
    f2.stop(False)
    slow.stop(False)
    if late:
        late[0].stop(False)

    # -- the checks
    chk.tt_check(" (final)")
    final = chk.scan()
    s_final = set()
    for r in final:
        why = record_problem(r)
        if why:
            env.fail("garbled record %s: %s" % (json.dumps(r)[:200], why))
            break
        s_final.add((r["w"], r["s"]))
    if oracle.counts[MAYBE] or oracle.counts[REFUSED]:
        env.fail("%d records were not acknowledged (%d refused) with nothing killed"
                 % (oracle.counts[MAYBE] + oracle.counts[REFUSED], oracle.counts[REFUSED]))
    n_acked = oracle.counts[ACK]
    # follow1, from the start: every acked record once, nothing else, cursors
    # strictly increasing. The other followers print the same bytes: follow2
    # all of them, the late one from its first record on, the --cursor-file
    # follower's runs one after the other (SIGTERM stops: exactly once).
    cnt = {w: bytearray(len(st)) for w, st in oracle.st.items()}
    foreign = bad = order = 0
    prev = None
    n1 = 0
    with open(f1.out, "rb") as f:
        for ln in f:
            n1 += 1
            r = json.loads(ln)
            c = cursor_key(r["cursor"])
            if prev is not None and c <= prev:
                order += 1
            prev = c
            if record_problem(r):
                bad += 1
            elif oracle.get(r["w"], r["s"]) is None:
                foreign += 1
            else:
                x = cnt[r["w"]]
                x[r["s"]] = min(x[r["s"]] + 1, 255)
    dup = miss = notacked = 0
    for w, st in oracle.st.items():
        for x, c in zip(st, cnt[w]):
            dup += c > 1
            miss += x == 1 and c == 0
            notacked += x != 1 and c > 0
    if dup or miss or notacked or foreign or bad or order:
        env.fail("follow1: %d duplicated, %d acked records missing, %d not acked, %d never sent, "
                 "%d garbled, %d out of cursor order" % (dup, miss, notacked, foreign, bad, order))
    del cnt

    def same_bytes(name, paths, skip_to_first=False):
        """The concatenation of paths equals follow1's output (from the line
        equal to its first line, with skip_to_first)."""
        with open(f1.out, "rb") as ref:
            lines = (ln for p in paths for ln in open(p, "rb"))
            first = next(lines, None)
            n = 0
            if first is None:
                return 0
            for ln in ref:
                if not skip_to_first or ln == first:
                    break
            else:
                env.fail("%s: its first record is not one follow1 printed: %s" % (name, first[:200]))
                return 0
            if ln != first:
                env.fail("%s: record 1 differs from follow1's:\n  %s  %s" % (name, first[:200], ln[:200]))
                return 0
            n = 1
            for a_, b in itertools.zip_longest(lines, ref):
                if a_ != b:
                    env.fail("%s: record %d differs from follow1's: %s / %s"
                             % (name, n + 1, (a_ or b"(end)")[:200], (b or b"(end)")[:200]))
                    return n
                n += 1
            return n
    # the slow follower: follow1's lines in order, skipping only records that
    # gc deleted (before it could read them)
    n_slow = skipped = 0
    with open(f1.out, "rb") as ref, open(slow.out, "rb") as sl:
        for ln in sl:
            n_slow += 1
            for r in ref:
                if r == ln:
                    break
                j = json.loads(r)
                skipped += 1
                if not deleted(j["w"], j["s"]):
                    env.fail("slow follower skipped %s, which gc did not delete" % r[:200])
                    break
            else:
                env.fail("slow follower printed a line follow1 did not print (or out of order): %s" % ln[:200])
                break
    n2 = same_bytes("follow2", [f2.out])
    n3 = same_bytes("late follower", [late[0].out], True) if late else 0
    nc = same_bytes("cursor follower", [r["out"] for r in cc.runs])
    for k, run in enumerate(cc.runs):
        last = run["start"]
        with open(run["out"], "rb") as f:
            for ln in f:
                last = json.loads(ln)["cursor"]
        if run["rc"] != 0 or run["end"] != last or os.path.getsize(run["err"]):
            env.fail("cursor follower run %d: exit %s, saved cursor %s after printing up to %s"
                     % (k, run["rc"], run["end"], last))
    # what gc deleted: the counts tt-gc reported, never back, and every other
    # acked record is in the store at the end
    lost = [x for x in pending if x not in s_final]
    if lost:
        env.fail("%d acked records missing at the end that no gc deleted, e.g. %s" % (len(lost), sorted(lost)[:5]))
    back = [x for x in s_final if deleted(*x)]
    if back:
        env.fail("%d records deleted by gc are back at the end, e.g. %s" % (len(back), back[:5]))
    extra = [x for x in s_final if oracle.get(*x) != ACK]
    if extra:
        env.fail("%d records in the store that were not acked, e.g. %s" % (len(extra), sorted(extra)[:5]))
    for k, g in enumerate(gcs):
        if g["deleted"] != g["records"]:
            env.fail("gc %d: tt-gc says it removed %d records in %d segments, %d acked records went"
                     % (k, g["records"], g["removed"], g["deleted"]))
    if len(s_final) + sum(g["deleted"] for g in gcs) != n_acked:
        env.fail("%d acked records, %d at the end + %d deleted" % (n_acked, len(s_final),
                                                                  sum(g["deleted"] for g in gcs)))
    # tt-query results: no record twice, only sent records, and every record
    # of the id acked before the query began unless a gc that started before
    # the query ended deleted it
    qbad = 0
    for cid, t0, t1, got in queries:
        gs = set(got)
        why = None
        if len(gs) != len(got):
            why = "a record twice"
        elif any(oracle.get(w, s) is None or oracle.sent_at(w, s) > t1 for w, s in got):
            why = "a record not yet sent"
        else:
            base = int(cid[1:]) * IDS_PER
            for w, st in oracle.st.items():
                for s in range(base, min(base + IDS_PER, len(st))):
                    if st[s] == 1 and oracle.ack_at(w, s) < t0 and (w, s) not in gs:
                        d = deleted_at.get(w)
                        d = d[s] if d is not None and s < len(d) else -1
                        if d < 0 or gcs[d]["t0"] > t1:
                            why = "acked record %s missing" % ((w, s),)
                            break
                if why:
                    break
        if why:
            qbad += 1
            if qbad <= 3:
                env.fail("tt-query %s: %s (got %d records)" % (cid, why, len(got)))
    # memory and files
    mem = {}
    for name, v in smp.rss.items():
        if not v:
            continue
        second = [k for t, k in v if t >= v[-1][0] / 2]
        first = [k for t, k in v if t < v[-1][0] / 2] or second
        mem[name] = (max(first), max(second))
    for name, (m1, m2) in sorted(mem.items()):
        cap = (200 << 10 if name == "ttd" else 64 << 10) * (4 if env.san else 1)
        grow = max(m1 * 2, m1 + (64 << 10)) if env.san else max(m1 * 3 // 2, m1 + (16 << 10))
        if m2 > grow or m2 > cap:
            env.fail("%s: VmRSS %d KiB in the first half, %d KiB in the second (cap %d KiB)"
                     % (name, m1, m2, cap))
    maxsize = parse_size(a.max_size)
    seg_max = max((sz for t, sz, i in smp.sizes), default=0)
    seg_bound = maxsize + (4 << 20)
    if seg_max > seg_bound:
        env.fail("segment files reached %d bytes, more than --max-size %d + 4 MiB" % (seg_max, maxsize))
    idx_q = max((i for t, sz, i in smp.sizes if t <= smp.sizes[-1][0] / 4), default=0)
    idx_end = smp.sizes[-1][2] if smp.sizes else 0
    if idx_end > max(2 * idx_q, idx_q + (4 << 20)):
        env.fail("index file grew from %d bytes (first quarter) to %d" % (idx_q, idx_end))
    oracle.close()
    ndel = sum(g["deleted"] for g in gcs)
    note("seed %d, %.0f s: ttd (1 HTTP + 1 socket client) + 3 tt-ingest loops (%d runs), "
         "segment size %s" % (env.seed, load_s, cstats["ingest_runs"], segsz))
    note("readers: 2 followers from the start, 1 from a third of the run (-n 0), 1 slow, a --cursor-file "
         "follower restarted %d times (SIGTERM), 3 tt-query loops (%d queries), tt-check + tt-stat "
         "(%d times)" % (len(cc.runs) - 1, len(queries), cstats["tt_check"]))
    note("%d acked records: %d deleted by %d tt-gc --rotate --max-size %s runs (%d segments), "
         "%d in the store at the end" % (n_acked, ndel, len(gcs), a.max_size,
                                          sum(g["removed"] for g in gcs), len(final)))
    note("followers saw %d / %d / %d (late) / %d (cursor-file, %d runs) records; slowest "
         "catch-up before a gc %.2f s" % (n1, n2, n3, nc, len(cc.runs), max_lag))
    note("slow follower (pipe drained at %d KiB/s): %d records, skipped %d that gc deleted first"
         % (a.slow_rate >> 10, n_slow, skipped))
    note("peak VmRSS KiB (first half / second half): " + ", ".join(
        "%s %d/%d" % (n, m1, m2) for n, (m1, m2) in sorted(mem.items())))
    note("segment files at most %d KiB (bound %d KiB); index file %d KiB at 1/4, %d KiB at the end"
         % (seg_max >> 10, seg_bound >> 10, idx_q >> 10, idx_end >> 10))


def parse_size(t):
    m = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(t[:-1]) * m[t[-1]] if t[-1] in m else int(t)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("ingest", "ttd", "soak", "gc", "rewrite"))
    ap.add_argument("--bin", required=True, help="directory of the tools")
    ap.add_argument("--work", required=True, help="scratch directory (the store goes in it)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--budget", type=int, default=300, help="seconds at most (ingest)")
    ap.add_argument("--min-seconds", type=float, default=0, help="seconds of load at least (ingest)")
    ap.add_argument("--writers", type=int, default=4, help="concurrent tt-ingest (ingest)")
    ap.add_argument("--kill-ratio", type=float, default=0.6, help="share of runs killed (ingest)")
    ap.add_argument("--max-batch", type=int, default=1500, help="records per tt-ingest run at most (ingest)")
    ap.add_argument("--http", type=int, default=2, help="HTTP clients (ttd)")
    ap.add_argument("--sock", type=int, default=2, help="socket clients (ttd)")
    ap.add_argument("--segment-size", default="64K", help="ttd --segment-size ('' = default)")
    ap.add_argument("--at-sync", type=float, default=0.3,
                    help="share of kills aimed at a write or fsync in progress")
    ap.add_argument("--ttd-arg", action="append", default=[], help="one more ttd argument")
    ap.add_argument("--check-every", type=int, default=1, help="tt-check every N ttd kills (0 = never)")
    ap.add_argument("--queries", type=int, default=40, help="ids checked with tt-query at the end")
    ap.add_argument("--seconds", type=int, default=20, help="soak duration")
    ap.add_argument("--selftest", choices=("lose", "dup", "garble"),
                    help="break a promise on purpose: the checks must fail (ingest)")
    ap.add_argument("--gc-every", type=float, default=3.0, help="seconds between tt-gc runs (soak)")
    ap.add_argument("--max-size", default="2M", help="tt-gc --max-size (soak)")
    ap.add_argument("--slow-rate", type=int, default=400 << 10, help="bytes/s the slow follower is read at (soak)")
    ap.add_argument("--pace", type=float, default=0.02, help="mean pause between batches of a writer (soak)")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    env = Env(a)
    os.makedirs(a.work, exist_ok=True)

    def on_signal(sig, frame):
        raise SystemExit(128 + sig)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        if a.mode == "ingest":
            mode_ingest(env, a)
        elif a.mode == "ttd":
            mode_ttd(env, a)
        elif a.mode == "gc":
            mode_gc(env, a)
        elif a.mode == "rewrite":
            mode_rewrite(env, a)
        else:
            mode_soak(env, a)
    except Exception:
        import traceback
        traceback.print_exc(file=sys.stdout)
        env.cleanup()
        return 2
    finally:
        env.cleanup()
    return report_failures(env)


if __name__ == "__main__":
    sys.exit(main())
