#!/bin/sh
# Golden stores of every format version (tests/data/golden) are read by the
# current tools byte for byte as when they were made; the corrupt-store
# fixtures (tests/data/corrupt) give tt-check's expected report and exit
# status, and tt-check --rebuild-index makes them readable again.
. ./lib.sh
TOP=${TT_TOP:-$(cd ../.. && pwd)}
G="$TOP/tests/data/golden"
C="$TOP/tests/data/corrupt"

for v in "$G"/v*.tar.gz; do
	ver=$(basename "$v" .tar.gz)
	test_expect_success "golden store $ver: every output as recorded" '
		mkdir -p $ver/got && tar -C $ver -xzf "$v" &&
		cp -a $ver/store $ver/pristine &&
		sh "$G/outputs.sh" "$TT_BUILD/bin" $ver/store $ver/got &&
		for e in "$G/$ver"/*.expected "$G/$ver"/*.expected.gz; do
			[ -f "$e" ] || continue
			n=$(basename "$e")
			case $n in
			*.gz) gunzip -c "$e" >$ver/want && gunzip -c "$ver/got/$n" >$ver/have ;;
			*) cp "$e" $ver/want && cp "$ver/got/$n" $ver/have ;;
			esac
			test_cmp $ver/want $ver/have || { echo "differs: $n"; exit 1; }
		done
	'
	test_expect_success "golden store $ver: reading changed none of its bytes" '
		diff -r $ver/pristine/seg $ver/store/seg && cmp $ver/pristine/index/data.mdb $ver/store/index/data.mdb
	'
	test_expect_success "golden store $ver: rebuilt index, same records" '
		tt-check -D $ver/store --rebuild-index >/dev/null &&
		gunzip -c "$G/$ver/query-all.expected.gz" >$ver/want &&
		TZ=UTC tt-query -D $ver/store -n all >$ver/have && test_cmp $ver/want $ver/have
	'
done

nfix=0
for f in "$C"/*.tar.gz; do
	name=$(basename "$f" .tar.gz)
	nfix=$((nfix + 1))
	test_expect_success "corrupt fixture $name: tt-check exit $(cat "$C/$name.rc"), report as recorded; rebuild restores $(cat "$C/$name.after") records" '
		mkdir $name && tar -C $name -xzf "$f" && cd $name &&
		{ tt-check -D store >check.out 2>&1; echo $? >rc; } &&
		sed "s|in store\$|in STORE|; s|'"'"'store'"'"'|'"'"'STORE'"'"'|" check.out >check.got &&
		test_cmp "$C/$name.check" check.got && test_cmp "$C/$name.rc" rc &&
		{ tt-check -D store --rebuild-index >/dev/null 2>&1; test $? -eq 3; } &&
		{ tt-query -D store -n all --count >after 2>err; rc=$?; } &&
		test_cmp "$C/$name.after" after &&
		# readers meet no bad block any more; a damaged segment header (its
		# blocks all verify) is still reported
		{ test $rc -eq 0 || { test $rc -eq 3 && ! grep -v "bad segment header" err; }; }
	'
done
echo "# $(ls "$G"/v*.tar.gz | wc -l) golden store(s), $nfix corrupt fixtures"

test_done
