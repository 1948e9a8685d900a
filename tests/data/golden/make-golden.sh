#!/bin/sh
# make-golden.sh -- regenerate the golden store of the current format version
# and the outputs t8210-golden.sh compares against. NOT run by the tests: run
# it by hand when a new format version is introduced, as
#
#     tests/data/golden/make-golden.sh [BUILD_DIR]      (default: build)
#
# It writes tests/data/golden/v<N>.tar.gz (the store: seg/*.tts and a
# compacted index/data.mdb) and v<N>/*.expected, where N is the format version
# (FORMAT.md 12: segment and store format version). Never overwrite the
# files of an older version: a future version must still read them exactly.
set -eu
TOP=$(cd "$(dirname "$0")/../../.." && pwd)
BIN="$TOP/${1:-build}/bin"
V=2
OUT="$TOP/tests/data/golden"
[ -e "$OUT/v$V.tar.gz" ] && { echo "v$V.tar.gz exists: a golden store is never regenerated" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export TZ=UTC
cd "$W"

# 900 records, 3 ingests (3 segments, sealed), every well-known field and a few
# dialects; ts fixed so every output is reproducible
"$TOP/tests/data/golden/input.sh" 0 300 >in1.jsonl
"$TOP/tests/data/golden/input.sh" 300 600 >in2.jsonl
"$TOP/tests/data/golden/input.sh" 600 900 >in3.jsonl
for i in 1 2 3; do
	"$BIN/tt-ingest" -q -D store "in$i.jsonl"
	"$BIN/tt-gc" -q -D store --rotate --max-segments 1000
done
"$BIN/tt-check" -D store
mkdir pack pack/store pack/store/index
cp -a store/seg pack/store/
mdb_copy -c store/index pack/store/index
tar -C pack -czf "$OUT/v$V.tar.gz" --owner=0 --group=0 --mtime=@1732147200 store

# the expected outputs, from the packed store (as t8210 reads it)
mkdir x && tar -C x -xzf "$OUT/v$V.tar.gz"
mkdir -p "$OUT/v$V"
"$OUT/outputs.sh" "$BIN" x/store "$OUT/v$V"
ls -l "$OUT/v$V.tar.gz" "$OUT/v$V"
