# web/rules.mk -- the web UI embedded in ttd (included by the top Makefile).
# The committed bundle web/dist (made by `make ui-bundle`, which needs Node)
# becomes build/web/ui_assets.c: gzip-compressed byte arrays (web/gen_assets.py,
# python3), linked into ttd. `make` itself needs neither Node nor a network.
UI_DIST := $(shell find web/dist -type f 2>/dev/null | LC_ALL=C sort)
DAEMON_OBJ += $(BUILD)/web/ui_assets.o

$(BUILD)/web/ui_assets.c: web/gen_assets.py $(UI_DIST)
	@mkdir -p $(dir $@)
	python3 web/gen_assets.py web/dist $@

$(BUILD)/web/ui_assets.o: $(BUILD)/web/ui_assets.c daemon/ui.h
	$(CC) $(CPPFLAGS) -Idaemon $(CFLAGS) -c -o $@ $<

# Rebuild web/dist from web/src (after contrib/install-deps-web).
.PHONY: ui-bundle
ui-bundle:
	cd web && node build.mjs

# The screenshots of every view, light and dark, at 1280x800 (the browser
# suite, t7400, writes them): web/screenshots/, shown by the README.
.PHONY: ui-screenshots
ui-screenshots: all
	cd tests/t && TT_BUILD=$(CURDIR)/$(BUILD) TT_TOP=$(CURDIR) TT_UI_SHOTS=$(CURDIR)/web/screenshots sh t7400-ui.sh
