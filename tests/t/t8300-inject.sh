#!/bin/sh
# I/O errors and allocation failures at the Nth call (tests/inject/inject.py
# with the LD_PRELOAD shim tests/inject/injshim.c): tt-ingest (with rotation),
# tt-query, tt-gc, tt-check and tt-check --rebuild-index, each with
# malloc/calloc/realloc -> ENOMEM, write/pwrite/pwritev/writev -> EIO and
# ENOSPC, fsync/fdatasync -> EIO, open/ftruncate/rename/unlink/mmap -> EIO,
# failing once (only call N) and persistently (N and later), N = 1, 2, ...
# until a run ends without hitting N. Every run succeeds or fails naming the
# cause, never crashes, hangs or exits 0 having lost data; afterwards the store
# opens, tt-check exits 0 and holds exactly what the successful runs stored
# (plus a prefix of a failed ingest), every record as written.
. ./lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}
SHIM="$TT_BUILD/inject/injshim.so"

case "$TT_BUILD" in
*-san)
	test_skip "fault injection at the Nth call" "an LD_PRELOAD shim cannot be combined with ASan (runs in the normal build)"
	test_done
	exit 0 ;;
esac

# short form: every N up to 8, then every 4th; long form: every N
if [ "${TT_LONG:-0}" = 1 ]; then STRIDE=1; else STRIDE=4; fi

test_expect_success 'the shim is built' 'test -f "$SHIM"'

test_expect_success "injected failures at the Nth call (stride $STRIDE)" '
	python3 "$TOP/tests/inject/inject.py" "$TT_BUILD/bin" "$SHIM" "$TEST_DIR/w" $STRIDE >log 2>&1;
	rc=$?; cat log; grep "^# [0-9]* injected runs, 0 violations\$" log && test $rc -eq 0
'
grep '^# [0-9a-z]' "$TEST_DIR/log" 2>/dev/null | grep -v '^# VIOLATION'

test_done
