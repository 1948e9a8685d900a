# tests/powerloss/rules.mk -- the power-loss suite's shim and driver
# (tests/t/t8100-powerloss.sh, tests/RELIABILITY.md section 2).
#
#   $(BUILD)/tests/powerloss/plshim.so   LD_PRELOAD: logs every file operation
#                                        under $TT_PL_DIR, with data, in order
#   $(BUILD)/tests/powerloss/pl-driver   writer + oracle ("ack N" markers)
#
# The shim is built without sanitizers (it cannot be preloaded beside ASan);
# the suite skips itself in the sanitizer build.
PL_DIR := $(BUILD)/tests/powerloss
PL_SHIM := $(PL_DIR)/plshim.so
PL_DRIVER := $(PL_DIR)/pl-driver

$(PL_SHIM): tests/powerloss/plshim.c
	@mkdir -p $(dir $@)
	$(CC) -D_GNU_SOURCE -O2 -g -std=c11 -fPIC -shared -pthread $(WARN) -o $@ $< -ldl

$(PL_DRIVER): $(BUILD)/tests/powerloss/pl-driver.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ldl

tests-build: $(PL_SHIM) $(PL_DRIVER)
