#!/bin/sh
# ttd: the unix-socket msgpack ingest (format/FORMAT.md section 11): mode
# 0600, acks after group commit, per-element errors, fatal framing errors.
. ./lib.sh
. ./ttd-lib.sh
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed"; exit 0; }

cat >"$TEST_DIR/mpc.py" <<'PY'
# mpc.py SOCKET CMD...: a tiny msgpack client for ttd's socket (no modules).
import socket, struct, sys, time, json
def enc(v):
    if v is None: return b"\xc0"
    if v is True: return b"\xc3"
    if v is False: return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128: return bytes([v])
        if v >= 0: return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32: return bytes([0xa0 | len(b)]) + b
        if len(b) < 256: return bytes([0xd9, len(b)]) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(v, bytes): return b"\xc6" + struct.pack(">I", len(v)) + v
    if isinstance(v, list):   # minimal headers, as msgpack libraries write them
        h = bytes([0x90 | len(v)]) if len(v) < 16 else b"\xdc" + struct.pack(">H", len(v))
        return h + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        h = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xde" + struct.pack(">H", len(v))
        return h + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)
def dec(b, i):
    c = b[i]
    if c < 0x80: return c, i + 1
    if c & 0xf0 == 0x80:
        n, i, d = c & 15, i + 1, {}
        for _ in range(n):
            k, i = dec(b, i); v, i = dec(b, i); d[k] = v
        return d, i
    if c & 0xe0 == 0xa0: n = c & 31; return b[i+1:i+1+n].decode(), i + 1 + n
    if c == 0xd9: n = b[i+1]; return b[i+2:i+2+n].decode(), i + 2 + n
    if c == 0xda: n = struct.unpack(">H", b[i+1:i+3])[0]; return b[i+3:i+3+n].decode(), i + 3 + n
    if c == 0xcf: return struct.unpack(">Q", b[i+1:i+9])[0], i + 9
    raise ValueError("unexpected byte %x" % c)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
cmd = sys.argv[2]
if cmd == "raw":          # send raw hex bytes, print every reply
    out = bytes.fromhex(sys.argv[3])
elif cmd == "records":    # N records as separate messages + an array message
    n = int(sys.argv[3])
    out = b"".join(enc({"ts": 1700000000000000000 + i, "corr": "sk-%d" % (i % 7), "service": "sock",
                        "msg": "m%d" % i}) for i in range(n))
    out += enc([{"ts": 1700000001000000000, "corr": "sk-arr", "msg": "a"},
                {"ts": 1700000001000000001, "corr": "sk-arr", "msg": "b"}])
elif cmd == "mixed":      # a valid map, a bad element in an array, a non-record
    out = enc({"ts": 1, "corr": "mx", "msg": "ok"}) + \
          enc([{"ts": 2, "corr": "mx"}, {"ts": "bad", "corr": "mx"}, {"ts": 3, "corr": "mx"}]) + enc(7)
elif cmd == "wide":       # a 20-field record and a batch of 20 records (map16, array16)
    rec = {"ts": 1700000002000000000, "corr": "wide"}
    rec.update({"f%d" % i: i for i in range(18)})
    out = enc(rec) + enc([{"ts": 1700000002000000001 + i, "corr": "wide"} for i in range(20)])
elif cmd == "bench":      # N records, throughput
    n = int(sys.argv[3])
    out = b"".join(enc({"ts": 1700000000000000000 + i, "corr": "bench-%d" % (i % 1000), "service": "b",
                        "level": "info", "msg": "benchmark record number %d" % i}) for i in range(n))
s.sendall(out) if cmd != "bench" else None
t0 = time.time()
if cmd == "bench": s.sendall(out)
s.shutdown(socket.SHUT_WR)
buf = b""
while True:
    try: d = s.recv(65536)
    except socket.timeout: break
    if not d: break
    buf += d
i = 0
msgs = []
while i < len(buf):
    m, i = dec(buf, i); msgs.append(m)
if cmd == "bench":
    dt = time.time() - t0
    print("%d records acked in %.3f s: %.0f records/s" % (msgs[-1]["records"], dt, msgs[-1]["records"] / dt))
else:
    for m in msgs: print(json.dumps(m, sort_keys=True))
PY
ttd_start || { echo "Bail out! ttd did not start"; exit 1; }
SOCK="$STORE/ttd.sock"

test_expect_success 'socket is DIR/ttd.sock with mode 0600' '
	[ -S "$SOCK" ] && [ "$(stat -c %a "$SOCK")" = 600 ]
'

test_expect_success 'records are acked once durable: {ack, records, rejected}' '
	python3 mpc.py "$SOCK" records 100 >acks && cat acks &&
	tail -n 1 acks | jq -e ". == {\"ack\":101,\"records\":102,\"rejected\":0}" &&
	c=$(req GET /api/traces/sk-arr) && expect_json ".count == 2" &&
	c=$(req GET /api/traces/sk-3) && expect_json ".count == 14 and .traces[0].service == \"sock\""
'

test_expect_success 'acks are cumulative and never go backwards' '
	jq -s -e "[.[].ack] as \$a | \$a == (\$a|sort)" acks
'

test_expect_success 'rejected elements are reported before the ack covering them' '
	python3 mpc.py "$SOCK" mixed >out && cat out &&
	head -n 1 out | jq -e ".msg == 2 and .index == 1 and (.error|length) > 0 and has(\"field\")" &&
	sed -n 2p out | jq -e ".msg == 3 and (.error|length) > 0" &&
	tail -n 1 out | jq -e ". == {\"ack\":3,\"records\":3,\"rejected\":2}" &&
	c=$(req GET /api/traces/mx) && expect_json ".count == 3"
'

test_expect_success 'map16 / array16 headers: a 20-field record, a batch of 20' '
	python3 mpc.py "$SOCK" wide >out && cat out &&
	tail -n 1 out | jq -e ". == {\"ack\":2,\"records\":21,\"rejected\":0}" &&
	c=$(req GET /api/traces/wide) && expect_json ".count == 21 and .traces[0].f17 == 17"
'

test_expect_success 'malformed msgpack ends the connection with {fatal, offset}' '
	python3 mpc.py "$SOCK" raw 81a2747301c1 >out && cat out &&
	tail -n 1 out | jq -e ".fatal == \"malformed msgpack\" and .offset == 5"
'

test_expect_success 'a message split across writes is reassembled' '
	python3 -c "
import socket, time, sys
s = socket.socket(socket.AF_UNIX); s.connect(\"$SOCK\"); s.settimeout(5)
m = bytes([0x82, 0xa2]) + b\"ts\" + bytes([0x05, 0xa4]) + b\"corr\" + bytes([0xa5]) + b\"split\"
for b in m: s.send(bytes([b])); time.sleep(0.01)
d = s.recv(100); sys.exit(0 if b\"ack\" in d else 1)
" && c=$(req GET /api/traces/split) && expect_json ".count == 1"
'

ttd_stop

test_expect_success 'after SIGTERM the socket file is gone' '
	[ ! -e "$SOCK" ]
'

# a leftover socket file from a killed ttd does not stop the next one
python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('$SOCK')"
ttd_start || exit 1
test_expect_success 'a leftover socket file (no listener) is replaced' '
	[ -S "$SOCK" ] && python3 mpc.py "$SOCK" records 1 | tail -n 1 | jq -e ".ack == 2"
'
ttd_stop

ttd_start --max-body 1K --max-socket-clients 2 || exit 1
test_expect_success 'a message over --max-body ends the connection with {fatal}' '
	python3 mpc.py "$SOCK" raw "81a174db00000800$(head -c 2048 /dev/zero | od -An -tx1 -v | tr -d " \n")" >out && cat out &&
	tail -n 1 out | jq -e ".fatal == \"message over the size cap\" and .offset == 0"
'
test_expect_success 'a message nested deeper than the cap ends the connection with {fatal}' '
	python3 mpc.py "$SOCK" raw "$(printf "91%.0s" $(seq 1 40))01" >out && cat out &&
	tail -n 1 out | jq -e ".fatal == \"message nested too deeply\""
'
test_expect_success 'a header declaring 2^32 elements does not make ttd allocate' '
	python3 mpc.py "$SOCK" raw "ddffffffff" >out; cat out &&
	c=$(req GET /health) && expect_code 200 "$c"
'
test_expect_success 'clients over --max-socket-clients are closed at once' '
	python3 -c "
import socket, time
h = [socket.socket(socket.AF_UNIX) for _ in range(3)]
for s in h: s.connect(\"$SOCK\"); time.sleep(0.05)
h[2].settimeout(2); assert h[2].recv(10) == b\"\"
h[0].settimeout(0.3)
try: h[0].recv(10); raise SystemExit(\"first client was closed\")
except socket.timeout: pass
"
'
ttd_stop

ttd_start --socket "$TEST_DIR/other.sock" || exit 1
test_expect_success '--socket PATH' '
	[ -S "$TEST_DIR/other.sock" ] && [ ! -e "$SOCK" ] &&
	python3 mpc.py "$TEST_DIR/other.sock" records 1 | tail -n 1 | jq -e ".ack == 2"
'
ttd_stop
test_done
