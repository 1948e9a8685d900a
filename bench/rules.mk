# bench/rules.mk -- the record generator and the benchmark (included by the
# top Makefile before its own rules; must not change the default goal).
#
#   make                        builds the generator too: $(BUILD)/bin/tt-gen, a
#                               tool like the others (installed, man/tt-gen.1)
#   make bench                  generator + harness, run it, write bench/RESULTS.md
#   make bench BENCH_N="1000000"          sizes to measure (records; default below)
#   make bench/tt-gen           the generator under its old name (a symlink)
# See bench/README.md.

_bench_goal := $(.DEFAULT_GOAL)

BENCH_N    ?= 1000000 10000000
BENCH_OUT  ?= bench/out
BENCH_GEN_OBJ := $(BUILD)/bench/gen.o
BENCH_OBJ  := $(BUILD)/bench/ttbench.o $(BUILD)/bench/bench_tt.o \
              $(BUILD)/bench/bench_sql.o $(BUILD)/bench/bench_util.o $(BENCH_GEN_OBJ)
BENCH_BIN  := $(BUILD)/bench/ttbench

BENCH_GEN_BIN := $(BUILD)/bin/tt-gen
BINS += $(BENCH_GEN_BIN)

# tt-gen uses the tools' shared code (messages, --help, times) and libstore's
# time parser; gen.c itself stays free of both (ttbench links it alone).
$(BUILD)/bench/tt-gen.o: CPPFLAGS += -Icli
$(BENCH_GEN_BIN): $(BUILD)/bench/tt-gen.o $(BENCH_GEN_OBJ) $(BUILD)/libttcli.a $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench/tt-gen: $(BENCH_GEN_BIN)
	ln -sf ../$(BENCH_GEN_BIN) $@

$(BENCH_BIN): $(BENCH_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SQLITE_LIBS) $(LDLIBS)

# The harness object alone (compiles against the public headers only).
bench-objs: $(BENCH_OBJ) $(BUILD)/bench/tt-gen.o

# The tools are built best-effort: bench/tools.sh measures whichever exist.
bench: $(BENCH_GEN_BIN) $(BENCH_BIN)
	-@$(MAKE) --no-print-directory tools >/dev/null 2>&1 || \
	    echo "bench: some tools did not build; bench/tools.sh skips them" >&2
	BUILD=$(BUILD) BENCH_N="$(BENCH_N)" BENCH_OUT=$(BENCH_OUT) bench/run.sh

.PHONY: bench-objs

.DEFAULT_GOAL := $(_bench_goal)
