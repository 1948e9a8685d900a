#!/bin/sh
# The build and `make install`: a missing build dependency is named before
# anything is built; `make install PREFIX=/usr DESTDIR=...` (from the existing
# build: the test skips when it is not up to date, it never builds) puts every
# tool, tt-gen, the library, headers, a pkg-config file that compiles and links
# (shared and static), the man pages and the bash and zsh completions in place;
# the completions offer exactly each tool's options (as its --help lists them)
# and the values of -o, --format, --level, --store.
. ./lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}
MAKE_BIN=$(command -v make)
ROOT=$TEST_DIR/root
BUILD_NAME=$(basename "$TT_BUILD")
CMDS="tt-ingest tt-query tt-tail tt-gc tt-stat tt-check tt-gen ttd"
unset MAKEFLAGS MFLAGS MAKELEVEL

# tmake ARGS: make in the source tree, on this test's build directory
tmake() { "$MAKE_BIN" --no-print-directory -C "$TOP" BUILD="$BUILD_NAME" "$@"; }

# ---- missing dependencies (make -n: nothing runs)
mkdir -p "$TEST_DIR/fakebin"
for b in pkg-config sed find; do ln -s "$(command -v $b)" "$TEST_DIR/fakebin/$b"; done
test_expect_code 2 'make without protoc-c: stops at once, names it, says make deps' '
	PATH=$TEST_DIR/fakebin "$MAKE_BIN" -n -C "$TOP" all >out 2>err; rc=$?;
	cat err; test ! -s out &&
	grep -q "missing build dependencies (protoc-c): run make deps (or make run / make test)" err;
	exit $rc
'
test_expect_code 2 'make without pkg-config packages: names every one' '
	PKG_CONFIG_LIBDIR=$TEST_DIR/none "$MAKE_BIN" -n -C "$TOP" all >out 2>err; rc=$?;
	cat err; grep -q "missing build dependencies (lmdb, msgpack, liblz4, .*libprotobuf-c.*): run make deps" err;
	exit $rc
'
test_expect_success 'make deps, clean, test and run are not stopped by the check' '
	PKG_CONFIG_LIBDIR=$TEST_DIR/none "$MAKE_BIN" -n -C "$TOP" clean >/dev/null
'

# ---- make install
if ! tmake -q all 2>/dev/null; then
	test_skip 'make install' "$BUILD_NAME is not up to date (run make first; this test does not build)"
	test_done
	exit
fi
test_expect_success 'make install PREFIX=/usr DESTDIR=... from the existing build' '
	tmake install PREFIX=/usr DESTDIR="$ROOT" >out 2>&1 || { cat out; false; }
'

test_expect_success 'every expected file is installed' '
	{
		for c in $CMDS; do echo "bin/$c"; done
		echo lib/libteratrace.a; echo lib/libteratrace.so; echo lib/libteratrace.so.0
		echo lib/pkgconfig/teratrace.pc; echo include/teratrace.h; echo include/ttformat.h
		echo lib/libttclient.a; echo lib/libttclient.so; echo lib/libttclient.so.0
		echo lib/pkgconfig/teratrace-client.pc; echo include/ttclient.h
		for m in "$TOP"/man/*.[1-8]; do
			echo "share/man/man${m##*.}/$(basename "$m")"
		done
		echo share/bash-completion/completions/teratrace
		for c in $CMDS; do echo "share/bash-completion/completions/$c"; done
		echo share/zsh/site-functions/_teratrace
	} | sort >expected &&
	test -L "$ROOT/usr/share/bash-completion/completions/tt-query" &&
	(cd "$ROOT/usr" && find . ! -type d | sed "s|^\./||" | sort) >actual &&
	test_cmp expected actual &&
	grep -qx "share/man/man1/tt-gen.1" actual
'

test_expect_success 'tt-gen --help is the SYNOPSIS of tt-gen.1' '
	"$ROOT/usr/bin/tt-gen" --help | sed -n "1s/^usage: //p" >help &&
	sed -n "/^\.SH SYNOPSIS/,/^\.SH /p" "$ROOT/usr/share/man/man1/tt-gen.1" |
		sed "/^\./d; s/\\\\-/-/g; s/\\\\f[BIRP]//g" >man &&
	test_cmp man help
'

test_expect_success 'make uninstall removes every installed file' '
	cp -a "$ROOT" root2 &&
	tmake uninstall PREFIX=/usr DESTDIR="$TEST_DIR/root2" >out 2>&1 &&
	find root2 ! -type d >left && test_cmp /dev/null left
'

# ---- the pkg-config file
PC="PKG_CONFIG_PATH=$ROOT/usr/lib/pkgconfig"
cat >"$TEST_DIR/pc.c" <<'EOF'
#include <stdio.h>
#include <teratrace.h>
#include <ttformat.h>
int main(void)
{
	/* tt_decode_otlp_proto pulls in libprotobuf-c when linked statically */
	printf("%s %d\n", tt_strerror(TT_EBADARG), tt_decode_otlp_proto != NULL);
	return 0;
}
EOF
case $BUILD_NAME in
*-san) # a sanitized library links only into sanitized programs
	test_skip 'teratrace.pc: a program builds and runs against it' "$BUILD_NAME is sanitized"
	test_skip 'teratrace.pc --static' "$BUILD_NAME is sanitized" ;;
*)
test_expect_success 'teratrace.pc: version, prefix, and a program builds and runs against it' '
	test "$(env $PC pkg-config --modversion teratrace)" = \
		"$(sed -n "s/^#define TT_VERSION_STRING \"\(.*\)\"/\1/p" "$TOP/libstore/teratrace.h")" &&
	test "$(env $PC pkg-config --variable=prefix teratrace)" = /usr &&
	cc -o pc pc.c $(env $PC pkg-config --define-prefix --cflags --libs teratrace) &&
	LD_LIBRARY_PATH=$ROOT/usr/lib ./pc >out && cat out && grep -q " 1$" out
'
test_expect_success 'teratrace.pc --static: libteratrace.a links with what it names' '
	cc -o pc-static pc.c $(env $PC pkg-config --define-prefix --cflags teratrace) \
		"$ROOT/usr/lib/libteratrace.a" \
		$(env $PC pkg-config --static --libs-only-l teratrace | sed "s/-lteratrace//") &&
	./pc-static >out && grep -q " 1$" out
'
;;
esac

# ---- bash completion
BCOMP=$ROOT/usr/share/bash-completion/completions
# bcomp CMD WORD...: what TAB offers after "CMD WORD..." (the last word is the
# one being completed), one per line
bcomp() {
	bash -c '. "$0/$1"; COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _teratrace
		printf "%s\n" "${COMPREPLY[@]}"' "$BCOMP" "$@"
}
# help_long CMD: the long options CMD --help lists
help_long() {
	"$ROOT/usr/bin/$1" --help | sed -n 's/^  \(-[A-Za-z], \)\{0,1\} *\(--[a-z][a-z-]*\).*/\2/p' | sort
}

test_expect_success 'bash: sourcing completions/tt-query registers every command' '
	bash -c ". \"$BCOMP/tt-query\"; complete -p tt-query" >out && cat out &&
	grep -q "_teratrace tt-query$" out &&
	for c in $CMDS; do bash -c ". \"$BCOMP/$c\"; complete -p $c" || return 1; done
'
test_expect_success 'bash: tt-query --li<TAB> offers --list (and --lines), --lis<TAB> only --list' '
	bcomp tt-query --li >out && grep -qx -- --list out && grep -qx -- --lines out &&
	test "$(bcomp tt-query --lis)" = --list
'
for c in $CMDS; do
	test_expect_success "bash: $c --<TAB> offers exactly the options of $c --help" "
		help_long $c >expected && bcomp $c -- | sort >actual && test_cmp expected actual
	"
done
test_expect_success 'bash: values of -o, --output=, --level, -F, --sync, --store, files' '
	test "$(bcomp tt-query -o "" | tr "\n" " ")" = "jsonl json table tree csv msgpack otlp " &&
	test "$(bcomp tt-tail --output = t | tr "\n" " ")" = "table tree " &&
	test "$(bcomp tt-gc --output=j | tr "\n" " ")" = "--output=json --output=jsonl " &&
	test "$(bcomp tt-stat -o "" | tr "\n" " ")" = "table json " &&
	test "$(bcomp tt-query --level e)" = error &&
	test "$(bcomp tt-ingest -F m)" = msgpack &&
	test "$(bcomp tt-gen --format j)" = jsonl &&
	test "$(bcomp ttd --sync "" | tr "\n" " ")" = "full none " &&
	mkdir -p stores/one && : >stores/file.jsonl &&
	test "$(bcomp tt-query -D stores/o)" = stores/one &&
	test "$(bcomp tt-ingest stores/f)" = stores/file.jsonl
'

# ---- zsh completion
ZCOMP=$ROOT/usr/share/zsh/site-functions/_teratrace
if command -v zsh >/dev/null 2>&1; then
	test_expect_success 'zsh: _teratrace parses (zsh -n)' 'zsh -n "$ZCOMP"'
	# zsh_long CMD: the long options the _arguments specs for CMD name
	zsh_long() {
		zsh -fc 'service=$1; _arguments() { print -rl -- "$@"; }; . "$0"' "$ZCOMP" "$1" |
			sed -n 's/^([^)]*)//; s/^\*//; s/^\(--[a-z][a-z-]*\).*/\1/p' | sort -u
	}
	for c in $CMDS; do
		test_expect_success "zsh: $c offers exactly the options of $c --help" "
			help_long $c >expected && zsh_long $c >actual && test_cmp expected actual
		"
	done
else
	test_skip 'zsh completion' 'zsh is not installed'
fi

test_done
