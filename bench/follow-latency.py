#!/usr/bin/env python3
"""bench/follow-latency.py BIN WORKDIR -- tt-tail -f latency, end to end.

Starts `tt-tail -f` on a fresh store and a long-running `tt-ingest` reading a
pipe, writes 200 records/s for 5 s whose "ts" is the wall-clock time of the
write, and measures for each record the time until tt-tail prints it. The
figure is an upper bound of "writer flush -> line printed": it also contains
tt-ingest's wait for its flush timer. Prints a Markdown table.
"""
import json
import os
import subprocess
import sys
import threading
import time

RATE, SECS = 200, 5


def main():
    bindir, work = sys.argv[1], sys.argv[2]
    store = os.path.join(work, "store")
    os.makedirs(work, exist_ok=True)
    # create the store with one record so tt-tail has something to open
    seed = json.dumps({"ts": time.time_ns(), "corr": "seed", "msg": "seed"}) + "\n"
    subprocess.run([os.path.join(bindir, "tt-ingest"), "-D", store],
                   input=seed.encode(), check=True)
    tail = subprocess.Popen([os.path.join(bindir, "tt-tail"), "-D", store, "-f",
                             "-n", "0", "-o", "jsonl"], stdout=subprocess.PIPE)
    lat = []
    n = RATE * SECS

    def reader():
        for line in tail.stdout:
            now = time.time_ns()
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("corr") == "follow":
                lat.append((now - int(rec["ts"])) / 1e6)
                if len(lat) >= n:
                    return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.5)  # let tt-tail reach the end of the store
    ing = subprocess.Popen([os.path.join(bindir, "tt-ingest"), "-D", store],
                           stdin=subprocess.PIPE)
    start = time.monotonic()
    for i in range(n):
        due = start + i / RATE
        d = due - time.monotonic()
        if d > 0:
            time.sleep(d)
        ing.stdin.write((json.dumps({"ts": time.time_ns(), "corr": "follow",
                                     "msg": "r%d" % i}) + "\n").encode())
        ing.stdin.flush()
    ing.stdin.close()
    ing.wait()
    t.join(timeout=10)
    tail.terminate()
    tail.wait()
    if not lat:
        print("no record arrived through tt-tail -f")
        return 1
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))]

    p99 = pct(99)
    print("| records seen | p50 | p90 | p99 | max | goal p99 ≤ 20 ms |")
    print("|---|---|---|---|---|---|")
    print("| %d of %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %s |" % (
        len(lat), n, pct(50), pct(90), p99, lat[-1],
        "**met**" if p99 <= 20 else "**missed**"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
