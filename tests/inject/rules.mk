# tests/inject/rules.mk -- the fault-injection shim of t8300-inject.sh.
#
# $(BUILD)/inject/injshim.so: an LD_PRELOAD library that fails the Nth call of
# chosen allocation or I/O functions (tests/inject/injshim.c). Built without
# the sanitizers even in a SANITIZE= build (a preloaded shim cannot be combined
# with ASan's interceptors; t8300 skips itself there). `make tests-build`
# builds it.
INJ_SO := $(BUILD)/inject/injshim.so

$(INJ_SO): tests/inject/injshim.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -fPIC -shared -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) \
	    -o $@ $< -ldl

tests-build: $(INJ_SO)

# $(BUILD)/inject/ttmap: the LMDB map-growth / stale-reader helper of
# t8220-lmdb.sh (links the library; sanitized in a SANITIZE= build).
TTMAP := $(BUILD)/inject/ttmap

$(TTMAP): $(BUILD)/tests/inject/ttmap.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests-build: $(TTMAP)
