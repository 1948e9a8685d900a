#!/bin/sh
# Full disk: a store on a small tmpfs is filled by tt-ingest and by ttd.
# The failure is a clear error (tt-ingest exit 4 naming ENOSPC and the line
# to resume from; ttd 507), nothing acknowledged is lost, nothing that was
# not acknowledged appears later, and once tt-gc frees space ingest resumes:
# tt-ingest from the line it named, ttd without a restart.
# Needs root (mount -t tmpfs); skipped otherwise.
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

MNT="$TEST_DIR/mnt"
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=8m tmpfs "$MNT" 2>/dev/null; then
	echo "1..0 # SKIP cannot mount a tmpfs (needs root)"; exit 0
fi
trap 'ttd_stop >/dev/null 2>&1; umount "$MNT" 2>/dev/null; test_cleanup' EXIT
STORE="$MNT/store"

# gen FIRST COUNT [array]: records with seq FIRST.. and 96 bytes of random
# base64 each (hard to compress, and not hex, which format 2 keeps as half
# as many bytes: 8 MiB fill up at about 30k records); JSON lines, or one
# JSON array
gen() {
	python3 - "$1" "$2" "${3:-}" <<-'EOF'
	import base64, os, sys
	first, n, arr = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "array"
	recs = ['{"corr":"c-%d","ts":%d,"seq":%d,"service":"fill","pad":"%s"}'
	        % (i % 5000, 1700000000000000000 + i, i,
	           base64.b64encode(os.urandom(72)).decode())
	        for i in range(first, first + n)]
	sys.stdout.write("[" + ",".join(recs) + "]" if arr else "\n".join(recs) + "\n")
	EOF
}

# seqs: every stored record's seq, one per line, sorted numerically
seqs() {
	tt-tail -D "$STORE" -n all -o jsonl | jq -r .seq | sort -n
}

# check_exact FIRST LAST: the store holds exactly seqs FIRST..LAST, once each
check_exact() {
	seqs >got && seq "$1" "$2" >want && test_cmp want got
}

test_expect_success 'tt-ingest on a full disk: exit 4, ENOSPC, the line to resume from' '
	gen 1 45000 >in.jsonl &&
	tt-ingest -D "$STORE" --segment-size 1M in.jsonl 2>err; rc=$?
	cat err && [ $rc -eq 4 ] &&
	grep -q "No space left on device" err &&
	grep -q "records are stored: everything before in.jsonl:[0-9]*; nothing from there on" err &&
	line=$(sed -n "s/.*everything before in.jsonl:\([0-9]*\);.*/\1/p" err) &&
	stored=$(sed -n "s/.*: \([0-9]*\) records are stored.*/\1/p" err) &&
	[ "$stored" -eq $((line - 1)) ] && [ "$stored" -gt 1000 ] &&
	echo "$line" >resume-line && echo "tt-ingest: disk full after $stored records" >>counts
'

test_expect_success 'what tt-ingest said is stored is there, exactly, and nothing else' '
	tt-check -D "$STORE" && check_exact 1 $(($(cat resume-line) - 1))
'

test_expect_success 'a writer opening the store later adds nothing unacknowledged' '
	tt-ingest -D "$STORE" /dev/null 2>err || { cat err; false; }
	check_exact 1 $(($(cat resume-line) - 1))
'

test_expect_success 'after tt-gc, tt-ingest resumes from that line: every record once' '
	tt-gc -D "$STORE" --max-size 1M >gc.out && cat gc.out &&
	grep -q "^freed" gc.out &&
	tail -n +$(cat resume-line) in.jsonl | tt-ingest -D "$STORE" --segment-size 1M 2>err ||
		{ cat err; df "$MNT"; false; }
	first=$(seqs | head -n 1) && [ "$first" -gt 1 ] &&
	check_exact "$first" 45000 && tt-check -D "$STORE"
'

# ---- ttd on a full disk

umount "$MNT" && mount -t tmpfs -o size=8m tmpfs "$MNT" &&
ttd_start --segment-size 1M --socket off || { echo "Bail out! ttd did not start"; exit 1; }

# post_batch N: POST records N*1000+1 .. N*1000+1000 to /ingest (jsonl body);
# prints the HTTP status
post_batch() {
	gen $(($1 * 1000 + 1)) 1000 array >batch.json &&
	req POST /ingest -H "Content-Type: application/json" --data-binary @batch.json
}

test_expect_success 'ttd: ingest until the disk is full: 507 naming ENOSPC, then 507 again' '
	: >acked && n=0 && code=200 &&
	while [ $n -lt 200 ]; do
		code=$(post_batch $n) || break
		[ "$code" = 200 ] || break
		echo $n >>acked; n=$((n + 1))
	done
	echo "ttd: $(wc -l <acked) batches of 1000 acknowledged, then HTTP $code" >>counts &&
	expect_code 507 "$code" && expect_json "(.error|test(\"No space left\"))" &&
	echo $n >failed-batch &&
	# the failed batch'"'"'s blocks were cut off again: a next batch may fit in
	# their room (and is then acknowledged and stored); within a few the
	# disk is full again, and stays so
	k=1 && while code=$(post_batch $((n + k))) && [ "$code" = 200 ] && [ $k -lt 5 ]; do
		echo $((n + k)) >>acked; k=$((k + 1))
	done &&
	echo "ttd: then $((k - 1)) more acknowledged before 507 again" >>counts &&
	expect_code 507 "$code" && code=$(post_batch $((n + k + 1))) && expect_code 507 "$code" &&
	kill -0 $TTD_PID &&
	c=$(req GET /health) && expect_code 503 "$c" && expect_json ".status == \"error\""
'

# every acknowledged batch is stored whole (bar what gc deleted, which is
# always the oldest), no record twice
check_acked() {
	seqs >got &&
	[ -z "$(uniq -d got)" ] || { echo "duplicates:"; uniq -d got | head; return 1; }
	python3 - acked got <<-'EOF'
	import sys
	acked = [int(l) for l in open(sys.argv[1])]
	got = set(int(l) for l in open(sys.argv[2]))
	low = min(got) if got else 0
	bad = 0
	for b in acked:
	    want = set(range(b * 1000 + 1, b * 1000 + 1001))
	    if want <= got:
	        continue
	    if max(want) < low:          # deleted by gc, as a whole oldest prefix
	        continue
	    print("acknowledged batch %d: %d records missing" % (b, len(want - got)))
	    bad += 1
	sys.exit(1 if bad else 0)
	EOF
}

test_expect_success 'ttd: every acknowledged record is stored, once' '
	check_acked
'

test_expect_success 'ttd: after tt-gc frees space, ingest resumes without a restart' '
	tt-gc -D "$STORE" --max-size 1M >gc.out && grep -q "^freed" gc.out &&
	n=$(($(cat failed-batch) + 2)) && i=0 &&
	while :; do
		code=$(post_batch $n); [ "$code" = 200 ] && break
		i=$((i + 1)); [ $i -lt 20 ] || { echo "still HTTP $code"; cat body; false; }
		sleep 0.1
	done &&
	echo $n >>acked && kill -0 $TTD_PID &&
	code=$(post_batch $((n + 1))) && expect_code 200 "$code" && echo $((n + 1)) >>acked &&
	c=$(req GET /health) && expect_code 200 "$c" &&
	req GET /metrics >/dev/null && grep -q "^ttd_writer_failures_total [1-9]" body
'

ttd_stop >"$TEST_DIR/stop.out" 2>&1; stop_rc=$?
test_expect_success 'ttd: stops cleanly; the store checks; acknowledged data all there' '
	cat stop.out; [ $stop_rc -eq 0 ] && tt-check -D "$STORE" && check_acked
'

# ---- the unix socket on a full disk

cat >"$TEST_DIR/sockfill.py" <<'PY'
# sockfill.py SOCKET FIRST [COUNT]: send records seq FIRST.. one message each
# until ttd answers with a fatal (or COUNT are sent and acknowledged); print
# the last ack's record count and the fatal (None).
import os, socket, struct, sys, threading
def s8(b): return bytes([0xd9, len(b)]) + b if len(b) > 31 else bytes([0xa0 | len(b)]) + b
def rec(i):
    return (b"\x85" + s8(b"corr") + s8(b"c-%d" % (i % 5000)) + s8(b"ts") + b"\xcf" +
            struct.pack(">Q", 1700000000000000000 + i) + s8(b"seq") + b"\xcf" +
            struct.pack(">Q", i) + s8(b"service") + s8(b"fill") + s8(b"pad") +
            s8(os.urandom(48).hex().encode()))
def dec(b, i):
    c = b[i]
    if c < 0x80: return c, i + 1
    if c & 0xf0 == 0x80:
        d, i = {}, i + 1
        for _ in range(c & 15):
            k, i = dec(b, i); v, i = dec(b, i); d[k] = v
        return d, i
    if c & 0xe0 == 0xa0: n = c & 31; return b[i+1:i+1+n].decode(), i + 1 + n
    if c == 0xd9: n = b[i+1]; return b[i+2:i+2+n].decode(), i + 2 + n
    if c == 0xcc: return b[i+1], i + 2
    if c == 0xcd: return struct.unpack(">H", b[i+1:i+3])[0], i + 3
    if c == 0xce: return struct.unpack(">I", b[i+1:i+5])[0], i + 5
    if c == 0xcf: return struct.unpack(">Q", b[i+1:i+9])[0], i + 9
    raise ValueError("unexpected byte %x" % c)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
first, state = int(sys.argv[2]), {"acked": 0, "fatal": None}
count = int(sys.argv[3]) if len(sys.argv) > 3 else 400000
def reader():
    buf = b""
    while True:
        try: d = s.recv(65536)
        except OSError: d = b""
        if not d: return
        buf += d
        while buf:
            try: m, n = dec(buf, 0)
            except (IndexError, ValueError): break
            buf = buf[n:]
            if "ack" in m: state["acked"] = m["records"]
            if "fatal" in m: state["fatal"] = m["fatal"]
t = threading.Thread(target=reader); t.start()
i = first
try:
    while state["fatal"] is None and i < first + count:
        n = min(200, first + count - i)
        s.sendall(b"".join(rec(j) for j in range(i, i + n))); i += n
    s.shutdown(socket.SHUT_WR)   # ttd closes once all is acknowledged
except OSError:
    pass
t.join(20)
print(state["acked"], state["fatal"])
PY

umount "$MNT" && mount -t tmpfs -o size=8m tmpfs "$MNT" &&
ttd_start --segment-size 1M || { echo "Bail out! ttd did not start"; exit 1; }

# Acks are cumulative per read, so the records after the last ack may be
# stored too (durable, not yet acknowledged): the store must hold exactly a
# prefix 1..N of what was sent with N >= the last ack, nothing after it.
test_expect_success 'socket: a full disk ends the stream with a fatal after the last ack' '
	python3 "$TEST_DIR/sockfill.py" "$STORE/ttd.sock" 1 >sock.out && cat sock.out &&
	grep -q "No space left on device" sock.out &&
	acked=$(cut -d" " -f1 sock.out) && [ "$acked" -gt 1000 ] &&
	last=$(seqs | tail -n 1) && [ "$last" -ge "$acked" ] && check_exact 1 "$last" &&
	echo "$last" >sock-last &&
	echo "socket: $acked records acknowledged, $((last - acked)) more stored, then a fatal" >>"$TEST_DIR/counts"
'

test_expect_success 'socket: after tt-gc a new connection stores again (no restart)' '
	tt-gc -D "$STORE" --max-size 1M >gc.out && grep -q "^freed" gc.out &&
	seqs >kept && last=$(cat sock-last) &&
	python3 "$TEST_DIR/sockfill.py" "$STORE/ttd.sock" $((last + 1)) 2000 >sock.out &&
	cat sock.out && [ "$(cat sock.out)" = "2000 None" ] &&
	{ cat kept; seq $((last + 1)) $((last + 2000)); } >want && seqs >got && test_cmp want got
'

ttd_stop >"$TEST_DIR/stop.out" 2>&1; stop_rc=$?
test_expect_success 'socket: ttd stops cleanly, the store checks' '
	cat stop.out; [ $stop_rc -eq 0 ] && tt-check -D "$STORE"
'

[ -f "$TEST_DIR/counts" ] && sed "s/^/# /" "$TEST_DIR/counts"
test_done
