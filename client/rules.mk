# client/rules.mk -- libttclient (included by the top Makefile): a C client
# for instrumenting programs. It stands beside the store: msgpack-c and
# pthreads only, never libteratrace.
#   make client          $(BUILD)/libttclient.a, .so.0 and the example
CLIENT_C    := client/ttclient.c
CLIENT_OBJ  := $(CLIENT_C:%.c=$(BUILD)/%.o)
CLIENT_A    := $(BUILD)/libttclient.a
CLIENT_SO   := $(BUILD)/libttclient.so.0
CLIENT_EX   := $(BUILD)/bin/ttclient-example
CLIENT_LIBS := $(shell pkg-config --libs msgpack 2>/dev/null) -pthread -lm

$(CLIENT_A): $(CLIENT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CLIENT_SO): $(CLIENT_OBJ)
	$(CC) -shared -Wl,-soname,libttclient.so.0 $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

$(BUILD)/client/example.o: CPPFLAGS += -Iclient
$(CLIENT_EX): $(BUILD)/client/example.o $(CLIENT_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

client: $(CLIENT_A) $(CLIENT_SO) $(CLIENT_EX)
all: client

install: install-client
uninstall: uninstall-client
install-client: client
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man3
	install -m 644 $(CLIENT_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLIENT_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libttclient.so.0 $(DESTDIR)$(PREFIX)/lib/libttclient.so
	install -m 644 client/ttclient.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|0.1.0|g' contrib/teratrace-client.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/teratrace-client.pc

# (man/ttclient.3 is installed with the other man pages, into man3 made above)
uninstall-client:
	rm -f $(DESTDIR)$(PREFIX)/lib/libttclient.* $(DESTDIR)$(PREFIX)/lib/pkgconfig/teratrace-client.pc
	rm -f $(DESTDIR)$(PREFIX)/include/ttclient.h

.PHONY: client install-client uninstall-client
