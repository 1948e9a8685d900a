# bench/rules.mk -- the record generator and the benchmark (included by the
# top Makefile before its own rules; must not change the default goal).
#
#   make bench                  generator + harness, run it, write bench/RESULTS.md
#   make bench BENCH_N="1000000"          sizes to measure (records; default below)
#   make bench/tt-gen           just the generator
# See bench/README.md.

_bench_goal := $(.DEFAULT_GOAL)

BENCH_N    ?= 1000000 10000000
BENCH_OUT  ?= bench/out
BENCH_GEN_OBJ := $(BUILD)/bench/gen.o
BENCH_OBJ  := $(BUILD)/bench/ttbench.o $(BUILD)/bench/bench_tt.o \
              $(BUILD)/bench/bench_sql.o $(BUILD)/bench/bench_util.o $(BENCH_GEN_OBJ)
BENCH_BIN  := $(BUILD)/bench/ttbench

bench/tt-gen: $(BUILD)/bench/tt-gen.o $(BENCH_GEN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^

$(BENCH_BIN): $(BENCH_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SQLITE_LIBS) $(LDLIBS)

# The harness object alone (compiles against the public headers only).
bench-objs: $(BENCH_OBJ) $(BUILD)/bench/tt-gen.o

# The tools are built best-effort: bench/tools.sh measures whichever exist.
bench: bench/tt-gen $(BENCH_BIN)
	-@$(MAKE) --no-print-directory tools >/dev/null 2>&1 || \
	    echo "bench: some tools did not build; bench/tools.sh skips them" >&2
	BUILD=$(BUILD) BENCH_N="$(BENCH_N)" BENCH_OUT=$(BENCH_OUT) bench/run.sh

.PHONY: bench-objs

.DEFAULT_GOAL := $(_bench_goal)
