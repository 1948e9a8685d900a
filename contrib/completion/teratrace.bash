# teratrace.bash -- bash completion for TeraTrace's commands: tt-ingest,
# tt-query, tt-tail, tt-gc, tt-stat, tt-check, tt-gen and ttd.
#
# Installed by `make install` as share/bash-completion/completions/teratrace,
# linked under each command's name (bash-completion loads completions/<cmd>
# on first use); or source it from ~/.bashrc. Needs nothing but bash.
#
# Each command's options are its option table, as its --help prints it
# (tests/t/t6100-install.sh fails when the two differ): "-D,--store=" is a
# short and a long name, '=' when the option takes a value. Values complete
# where they are a closed set (-o, --format, --level, --sync), directories
# for --store, files where a FILE is expected (and tt-ingest's operands).

_teratrace_spec()
{
	case $1 in
	tt-ingest) echo "-D,--store= -F,--format= --strict --no-sync --segment-size= --format-version= --max-errors=
		--progress --no-progress -q,--quiet -h,--help -V,--version" ;;
	tt-query) echo "-D,--store= -i,--id= -l,--list -c,--count --stats --by= --every=
		--sum= --scan --explain -S,--since= -U,--until= --service= --level=
		-g,--grep= --min-dur= --max-dur= -n,--lines= -r,--reverse -o,--output=
		--fields= --utc --no-color -q,--quiet -h,--help -V,--version" ;;
	tt-tail) echo "-D,--store= -f,--follow -n,--lines= --cursor-file= --after-cursor=
		--show-cursor -S,--since= -U,--until= --service= --level= -g,--grep=
		--min-dur= --max-dur= -o,--output= --fields= --utc --no-color -q,--quiet
		-h,--help -V,--version" ;;
	tt-gc) echo "-D,--store= --max-age= --max-size= --max-segments= --rollup-max-age= --rotate
		--ignore-forward --forward-max-hold= -n,--dry-run --progress --no-progress -o,--output= -q,--quiet -h,--help
		-V,--version" ;;
	tt-stat) echo "-D,--store= -s,--segments --no-services -o,--output= --utc
		-q,--quiet -h,--help -V,--version" ;;
	tt-check) echo "-D,--store= --rebuild-index --upgrade --recompress --progress --no-progress -o,--output=
		-q,--quiet -h,--help -V,--version" ;;
	tt-gen) echo "-s,--seed= -t,--start= -f,--format= -h,--help -V,--version" ;;
	ttd) echo "-D,--store= -l,--http= -s,--socket= -t,--token-file= -c,--config=
		--log-file= --log-level= --port-file= -i,--commit-interval= --sync=
		--segment-size= --format-version= -r,--retention= -m,--max-size= --gc-interval= --recompress= --max-body=
		--max-record= --max-batch= --max-logs= --max-connections=
		--max-socket-clients= --max-pending= --header-timeout= --request-timeout=
		--sse-keepalive= --sse-max-buffer= --sse-max-clients= --allow-host=
		--alerts= --alert-interval= --rollup-retention= --group= --ui-dir=
		--forward-otlp= --forward-otlp-protocol= --forward-clickhouse=
		--forward-clickhouse-table= --forward-max-hold=
		--forward-header= --forward-filter= --forward-service= --forward-level=
		--forward-start= --forward-batch= --forward-batch-size= --forward-flush=
		--forward-timeout= -h,--help -V,--version" ;;
	esac
}

# _teratrace_long CMD WORD: the long name ("--store=") of option WORD (-D or
# --store) when it takes a value, else nothing.
_teratrace_long()
{
	local o
	for o in $(_teratrace_spec "$1"); do
		case $o in
		*=) case ",$o" in *",$2,"*|*",$2="*) echo "${o#*,}"; return ;; esac ;;
		esac
	done
}

# _teratrace_value CMD LONG CUR: fill COMPREPLY with the values of option
# LONG (e.g. --output=) that start with CUR.
_teratrace_value()
{
	local words=
	case $1:$2 in
	tt-query:--output=|tt-tail:--output=)
		words="jsonl json table tree csv msgpack otlp" ;;
	tt-gc:--output=) words="table json jsonl" ;;
	tt-stat:--output=|tt-check:--output=) words="table json" ;;
	tt-ingest:--format=) words="auto jsonl json msgpack otlp" ;;
	tt-gen:--format=) words="jsonl msgpack" ;;
	*:--level=|ttd:--forward-level=) words="trace debug info warn error fatal" ;;
	ttd:--forward-start=) words="end start" ;;
	ttd:--log-level=) words="error warn info debug" ;;
	ttd:--sync=) words="full none" ;;
	ttd:--http=|ttd:--socket=) words="off" ;;
	*:--store=|ttd:--ui-dir=)
		COMPREPLY=($(compgen -d -- "$3"))
		return ;;
	*:--cursor-file=|*:--token-file=|*:--config=|*:--log-file=|*:--port-file=)
		COMPREPLY=($(compgen -f -- "$3"))
		return ;;
	esac
	case $1:$2 in
	ttd:--socket=) COMPREPLY=($(compgen -W "$words" -- "$3") $(compgen -f -- "$3")) ;;
	*) COMPREPLY=($(compgen -W "$words" -- "$3")) ;;
	esac
}

_teratrace()
{
	local cmd=${COMP_WORDS[0]##*/} cur=${COMP_WORDS[COMP_CWORD]} prev= long= o opts=
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# the value after '=': bash splits "--output=js" into "--output" "=" "js"
	# (unless COMP_WORDBREAKS lacks '=': then it is one word)
	if [[ $cur == --*=* ]]; then
		long=$(_teratrace_long "$cmd" "${cur%%=*}")
		[ -n "$long" ] && _teratrace_value "$cmd" "$long" "${cur#*=}"
		COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
		return 0
	fi
	if [ "$cur" = = ] || [ "$prev" = = ]; then
		o=$COMP_CWORD
		[ "$cur" = = ] && cur=
		[ "$prev" = = ] && o=$((o - 1))
		[ "$o" -gt 1 ] && long=$(_teratrace_long "$cmd" "${COMP_WORDS[o - 1]}")
		[ -n "$long" ] && _teratrace_value "$cmd" "$long" "$cur"
		return 0
	fi
	# the value of the option before: "-o <TAB>", "--output <TAB>"
	if [[ $prev == -* ]]; then
		long=$(_teratrace_long "$cmd" "$prev")
		if [ -n "$long" ]; then
			_teratrace_value "$cmd" "$long" "$cur"
			return 0
		fi
	fi
	if [[ $cur == -* ]]; then
		for o in $(_teratrace_spec "$cmd"); do
			o=${o#-?,}
			opts="$opts ${o%=}"
		done
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return 0
	fi
	# operands
	[ "$cmd" = tt-ingest ] && COMPREPLY=($(compgen -f -- "$cur"))
	return 0
}

complete -o filenames -F _teratrace tt-ingest tt-query tt-tail tt-gc tt-stat tt-check tt-gen ttd
