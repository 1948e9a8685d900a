# TeraTrace -- plain Makefile.
#   make                 build library, tools, ttd
#   make test            install missing deps, build, run every test suite
#   make test SANITIZE=address,undefined
#   make test-long       the fault suite's long counts (tests/RELIABILITY.md)
#   make fuzz            libFuzzer targets, FUZZ_TIME seconds each (tests/fuzz)
#   make bench           benchmarks side by side with SQLite -> bench/RESULTS.md
#   make install PREFIX=/usr/local DESTDIR=
#   make run             install deps, build, start ttd on the default store
#   make deps            install missing Debian packages (apt-get; sudo if not root)
# A build without its dependencies stops at once and says which are missing.

PREFIX  ?= /usr/local
DESTDIR ?=
WERROR  ?= 1
SANITIZE ?=
O ?= 2

BUILD := build$(if $(SANITIZE),-san)
comma := ,
space := $(subst ,, )
VERSION := $(shell sed -n 's/^\#define TT_VERSION_STRING "\(.*\)"/\1/p' libstore/teratrace.h)
CC  ?= cc
CXX ?= c++

PKGS := lmdb msgpack liblz4 libxxhash simdjson zlib libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
EVENT_LIBS := $(shell pkg-config --libs libevent libevent_pthreads libprotobuf-c 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
SQLITE_LIBS := $(shell pkg-config --libs sqlite3 2>/dev/null)
# What libteratrace links (the installed teratrace.pc's Requires.private,
# which static linking needs: OTLP/protobuf decoding uses libprotobuf-c).
LIB_PKGS := lmdb msgpack liblz4 libxxhash simdjson libprotobuf-c
# What a build needs (pkg-config names; fragments may add): checked below.
DEP_PKGS := $(PKGS) libevent libevent_pthreads libprotobuf-c libcrypto
DEP_PKGS_tests-build := cmocka
DEP_PKGS_bench := sqlite3

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror)
SANFLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)
CPPFLAGS += -D_GNU_SOURCE -Iformat -Ilibstore $(PKG_CFLAGS)
CFLAGS   ?= -O$(O) -g
CFLAGS   += -std=c11 -fPIC -pthread $(WARN) $(SANFLAGS)
CXXFLAGS ?= -O$(O) -g
CXXFLAGS += -std=c++17 -fPIC -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) $(SANFLAGS)
LDFLAGS  += -pthread $(SANFLAGS)
LDLIBS   := $(PKG_LIBS) -lstdc++ -lm

FORMAT_C   := $(wildcard format/*.c)
FORMAT_CXX := $(wildcard format/*.cc)
STORE_C    := $(wildcard libstore/*.c)
LIB_OBJ    := $(FORMAT_C:%.c=$(BUILD)/%.o) $(FORMAT_CXX:%.cc=$(BUILD)/%.o) \
              $(STORE_C:%.c=$(BUILD)/%.o)
LIB_A      := $(BUILD)/libteratrace.a
LIB_SO     := $(BUILD)/libteratrace.so.0

CLI_TOOLS  := $(patsubst cli/%.c,%,$(wildcard cli/tt-*.c))
CLI_COMMON := $(filter-out cli/tt-%.c,$(wildcard cli/*.c))
CLI_OBJ    := $(CLI_COMMON:%.c=$(BUILD)/%.o)
DAEMON_C   := $(wildcard daemon/*.c)
DAEMON_OBJ := $(DAEMON_C:%.c=$(BUILD)/%.o)
BINS       := $(CLI_TOOLS:%=$(BUILD)/bin/%) $(if $(DAEMON_C),$(BUILD)/bin/ttd)

UNIT_C     := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_C:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELP  := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
UNIT_HOBJ  := $(UNIT_HELP:%.c=$(BUILD)/%.o)

# Per-folder fragments (format/rules.mk, bench/rules.mk, daemon/rules.mk, ...)
# may add to LIB_OBJ, DAEMON_OBJ, BINS, CPPFLAGS and define their own targets.
.DEFAULT_GOAL := all
-include $(wildcard */rules.mk tests/*/rules.mk)

# Fail early, naming what is missing, rather than at the first compiler or
# protoc-c error. Goals that install the dependencies first (deps, run, test)
# and goals that build nothing are not checked.
NODEP_GOALS := deps run test test-long clean uninstall
ifneq ($(filter-out $(NODEP_GOALS),$(or $(MAKECMDGOALS),all)),)
CHECK_PKGS := $(DEP_PKGS) $(foreach g,$(MAKECMDGOALS),$(DEP_PKGS_$(g)))
ifneq ($(shell command -v protoc-c >/dev/null && pkg-config --exists $(CHECK_PKGS) 2>/dev/null && echo y),y)
MISSING_DEPS := $(strip \
    $(if $(shell command -v protoc-c),,protoc-c) \
    $(if $(shell command -v pkg-config),,pkg-config) \
    $(foreach p,$(CHECK_PKGS),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(p))))
$(error missing build dependencies ($(subst $(space),$(comma)$(space),$(MISSING_DEPS))): run make deps (or make run / make test))
endif
endif

.SECONDARY:
.PHONY: all lib tools test test-long bench install uninstall clean deps run fuzz
all: lib tools

lib: $(LIB_A) $(LIB_SO)
tools: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -MMD -MP -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libteratrace.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/libttcli.a: $(CLI_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/tt-%: $(BUILD)/cli/tt-%.o $(BUILD)/libttcli.a $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/ttd: $(DAEMON_OBJ) $(BUILD)/libttcli.a $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(EVENT_LIBS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(UNIT_HOBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

deps:
	@contrib/install-deps

test: deps
	@$(MAKE) --no-print-directory all tests-build
	@BUILD=$(BUILD) tests/run.sh

tests-build: $(UNIT_BINS)

test-long: deps
	@$(MAKE) --no-print-directory all tests-build
	@BUILD=$(BUILD) TT_LONG=1 tests/run.sh

run: deps
	@$(MAKE) --no-print-directory all
	@contrib/run-main $(BUILD)

BASH_COMPDIR := $(PREFIX)/share/bash-completion/completions
ZSH_COMPDIR  := $(PREFIX)/share/zsh/site-functions
# every command completed by contrib/completion; bash-completion loads
# completions/<command>, so the one script is linked under each name
COMP_CMDS    := $(notdir $(BINS))
MAN_PAGES    := $(wildcard man/*.[1-8])

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(BASH_COMPDIR) $(DESTDIR)$(ZSH_COMPDIR)
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libteratrace.so.0 $(DESTDIR)$(PREFIX)/lib/libteratrace.so
	install -m 644 libstore/teratrace.h format/ttformat.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|^Requires.private:.*|Requires.private: $(LIB_PKGS)|' contrib/teratrace.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/teratrace.pc
	chmod 644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/teratrace.pc
	install -m 644 contrib/completion/teratrace.bash $(DESTDIR)$(BASH_COMPDIR)/teratrace
	for c in $(COMP_CMDS); do ln -sf teratrace $(DESTDIR)$(BASH_COMPDIR)/$$c; done
	install -m 644 contrib/completion/_teratrace $(DESTDIR)$(ZSH_COMPDIR)/_teratrace
	for m in $(MAN_PAGES); do install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(BINS)))
	rm -f $(DESTDIR)$(PREFIX)/lib/libteratrace.* $(DESTDIR)$(PREFIX)/lib/pkgconfig/teratrace.pc
	rm -f $(DESTDIR)$(PREFIX)/include/teratrace.h $(DESTDIR)$(PREFIX)/include/ttformat.h
	rm -f $(addprefix $(DESTDIR)$(BASH_COMPDIR)/,teratrace $(COMP_CMDS))
	rm -f $(DESTDIR)$(ZSH_COMPDIR)/_teratrace
	for m in $(notdir $(MAN_PAGES)); do rm -f $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$$m; done

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
