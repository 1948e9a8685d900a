#!/bin/sh
# make-corrupt.sh -- regenerate the corrupt-store fixtures of t8210-golden.sh
# from the golden store (tests/data/golden/v1.tar.gz). NOT run by the tests.
#
#     tests/data/corrupt/make-corrupt.sh [BUILD_DIR]     (default: build)
#
# For each fixture NAME (see README): NAME.tar.gz (the damaged store, as
# "store/"), NAME.check (tt-check's output, store path as STORE), NAME.rc
# (its exit status), NAME.after (the record count tt-query finds after
# tt-check --rebuild-index). The expected files are what the tools said when
# the fixture was made: read them before committing.
set -eu
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
BIN="$TOP/${1:-build}/bin"
OUT="$TOP/tests/data/corrupt"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export TZ=UTC
cd "$W"

seg() { printf '%s/store/seg/%016x.tts' "$1" "$2"; }
flip() { python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); o = int(sys.argv[2]); f.seek(o); b = f.read(1); f.seek(o)
f.write(bytes([b[0] ^ int(sys.argv[3], 0)]))" "$@"; }
# rewrite a segment header field and its checksum (a well-formed foreign header)
header() { python3 -c "
import ctypes, struct, sys
x = ctypes.CDLL('libxxhash.so.0').XXH3_64bits
x.restype, x.argtypes = ctypes.c_uint64, [ctypes.c_char_p, ctypes.c_size_t]
f = open(sys.argv[1], 'r+b'); h = bytearray(f.read(64))
if sys.argv[2] == 'version': struct.pack_into('<I', h, 8, 3)
else: h[32:48] = bytes(b ^ 0x5a for b in h[32:48])
struct.pack_into('<Q', h, 56, x(bytes(h[:56]), 56)); f.seek(0); f.write(h)" "$@"; }

make_one() { # NAME DESCRIPTION (the damage is done by damage_NAME on $1)
	rm -rf d && mkdir d && tar -C d -xzf "$TOP/tests/data/golden/v1.tar.gz"
	"damage_$1" d
	tar -C d -czf "$OUT/$1.tar.gz" --owner=0 --group=0 --mtime=@1732147200 store
	rm -rf c && mkdir c && tar -C c -xzf "$OUT/$1.tar.gz"
	rc=0
	(cd c && "$BIN/tt-check" -D store >"$OUT/$1.check" 2>&1) || rc=$?
	echo $rc >"$OUT/$1.rc"
	(cd c && { "$BIN/tt-check" -D store --rebuild-index || true; } >/dev/null 2>&1 &&
	 "$BIN/tt-query" -D store -n all --count 2>/dev/null >"$OUT/$1.after") || true
	echo "$1: exit $(cat "$OUT/$1.rc"), $(cat "$OUT/$1.after") records after rebuild"
}

damage_flip_payload()      { flip "$(seg "$1" 1)" 212 0x10; }
damage_flip_block_header() { flip "$(seg "$1" 2)" 74 0x01; }
damage_truncated_segment() { truncate -s 312 "$(seg "$1" 3)"; }
damage_missing_segment()   { rm "$(seg "$1" 2)"; }
damage_garbage_tail()      { head -c 1000 /dev/zero | tr '\0' '\245' >>"$(seg "$1" 1)"; }
damage_bad_seg_header()    { flip "$(seg "$1" 1)" 20 0x04; }
damage_foreign_version()   { header "$(seg "$1" 2)" version; }
damage_foreign_uuid()      { header "$(seg "$1" 3)" uuid; }
damage_index_truncated()   { truncate -s 12288 "$1/store/index/data.mdb"; }
damage_index_meta_invalid() { flip "$1/store/index/data.mdb" 16 0x01; flip "$1/store/index/data.mdb" 4112 0x01; }
damage_index_missing()     { rm -r "$1/store/index"; }
damage_index_empty()       { : >"$1/store/index/data.mdb"; }

for f in flip_payload flip_block_header truncated_segment missing_segment garbage_tail \
    bad_seg_header foreign_version foreign_uuid index_truncated index_meta_invalid \
    index_missing index_empty; do
	make_one $f
done
sed -i "s|in store$|in STORE|; s|'store'|'STORE'|" "$OUT"/*.check
