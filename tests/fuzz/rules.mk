# tests/fuzz/rules.mk -- libFuzzer targets (clang, ASan + UBSan).
#
#   make fuzz [FUZZ_TIME=60] [FUZZ_TARGETS="msgpack json"]
#                      build, then run each target FUZZ_TIME seconds on a copy
#                      of its corpus (tests/fuzz/corpus/<target>/ stays as is)
#   make fuzz-merge    fold the new inputs of the last `make fuzz` into the
#                      checked-in corpus (libFuzzer -merge=1 keeps only inputs
#                      that add coverage)
#   make fuzz-build    the binaries only: $(FUZZ_BUILD)/fuzz-<target>
#
# Objects are compiled again with clang and -fsanitize=fuzzer-no-link,... into
# their own tree, $(FUZZ_BUILD) (build-fuzzer for both build/ and build-san/:
# the binaries are sanitized either way), so the normal build never sees them.
# `make test` builds them too when clang with libFuzzer is installed; the smoke
# suite is tests/t/t8500-fuzz-smoke.sh.
#
# Limits every run uses (tests/fuzz/run.sh): inputs of at most -max_len bytes
# (64 KiB; 256 KiB for whole segment files), -malloc_limit_mb=64 (one
# allocation of 64 MiB is 1000 times the largest input: a decoder that sizes a
# buffer from a declared count instead of the bytes present trips it), and
# -rss_limit_mb=768 (ASan's quarantine alone may hold 256 MiB). The decoder
# harnesses also bound the peak heap of each call by a multiple of its input
# (tests/fuzz/fuzz.h).
FUZZ_CC    ?= clang
FUZZ_CXX   ?= clang++
FUZZ_BUILD ?= $(patsubst %-san,%,$(BUILD))-fuzzer
FUZZ_TIME  ?= 60
FUZZ_ALL   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_BINS  := $(FUZZ_ALL:%=$(FUZZ_BUILD)/fuzz-%)

FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# protobuf code generated into the fuzz tree itself: build/ and build-san/
# share the objects without rebuilding them
FUZZ_CPPFLAGS := $(patsubst -I$(BUILD)/gen,-I$(FUZZ_BUILD)/gen,$(CPPFLAGS)) -Idaemon -Icli -DTT_FUZZ
FUZZ_GEN_H    := $(PROTO_SRC:format/proto/%.proto=$(FUZZ_BUILD)/gen/%.pb-c.h)
FUZZ_CFLAGS   := -O1 -g -std=c11 -pthread $(filter-out -Werror,$(WARN)) \
                 -Wno-unused-command-line-argument -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_CXXFLAGS := -O1 -g -std=c++17 -Wall -Wextra -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_LDFLAGS  := -pthread -fsanitize=fuzzer $(FUZZ_SAN)

# the library (format/, generated protobuf code, libstore/), ttd's objects
# (main.c with its main() renamed: the harness starts ttd itself) and the
# tools' common code, as archives: each target pulls what it uses
FUZZ_LIB_OBJ := $(FORMAT_C:%.c=$(FUZZ_BUILD)/%.o) $(FORMAT_CXX:%.cc=$(FUZZ_BUILD)/%.o) \
                $(STORE_C:%.c=$(FUZZ_BUILD)/%.o) $(PROTO_SRC:format/proto/%.proto=$(FUZZ_BUILD)/gen/%.pb-c.o)
FUZZ_D_OBJ   := $(DAEMON_C:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/web/ui_assets.o
FUZZ_CLI_OBJ := $(CLI_COMMON:%.c=$(FUZZ_BUILD)/%.o)

.PHONY: fuzz fuzz-build fuzz-merge fuzz-clean
fuzz-build: $(FUZZ_BINS)

clean: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD)

# `make test` builds the fuzzers when clang and its libFuzzer runtime are there
# (Debian: clang, libclang-rt-14-dev)
FUZZ_HAVE := $(shell d=$$($(FUZZ_CC) --print-runtime-dir 2>/dev/null) && \
	test -f "$$d/libclang_rt.fuzzer-$$(uname -m).a" && echo 1)
ifeq ($(FUZZ_HAVE),1)
tests-build: fuzz-build
endif

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CPPFLAGS) $(FUZZ_CXXFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/daemon/main.o: daemon/main.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -Wno-missing-prototypes -Dmain=ttd_main -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/gen/%.pb-c.c $(FUZZ_BUILD)/gen/%.pb-c.h: format/proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=format/proto --c_out=$(FUZZ_BUILD)/gen $<

$(FUZZ_BUILD)/gen/%.pb-c.o: $(FUZZ_BUILD)/gen/%.pb-c.c $(FUZZ_GEN_H)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(filter-out -Wmissing-prototypes,$(FUZZ_CFLAGS)) -MMD -MP -c -o $@ $<

$(FUZZ_BUILD)/format/otlp_proto.o: $(FUZZ_GEN_H)

# the UI's embedded bundle (web/rules.mk generates the C file)
$(FUZZ_BUILD)/web/ui_assets.o: $(BUILD)/web/ui_assets.c daemon/ui.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libtt.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/libttd.a: $(FUZZ_D_OBJ)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/libttcli.a: $(FUZZ_CLI_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/tests/fuzz/fuzz.o \
    $(FUZZ_BUILD)/libttd.a $(FUZZ_BUILD)/libttcli.a $(FUZZ_BUILD)/libtt.a
	$(FUZZ_CXX) $(FUZZ_LDFLAGS) -o $@ $^ $(EVENT_LIBS) $(LDLIBS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		tests/fuzz/run.sh $(FUZZ_BUILD) $$t -max_total_time=$(FUZZ_TIME) || exit 1; \
	done

fuzz-merge:
	@for t in $(FUZZ_TARGETS); do tests/fuzz/run.sh $(FUZZ_BUILD) $$t merge || exit 1; done

-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)
