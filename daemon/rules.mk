# daemon/rules.mk -- ttd's link step (included by the top Makefile).
#
# ttd refers to format/'s protobuf decoder (tt_decode_otlp_proto) weakly
# (daemon/ingest.c), so it links and answers 415 for application/x-protobuf
# while the library has no such decoder. A weak reference alone does not pull
# an archive member out of libteratrace.a, so when the library does define the
# symbol, force it in with --undefined. Evaluated when the recipe runs, after
# the library is built.
TTD_PROTO_LINK = $(shell nm $(LIB_A) 2>/dev/null | grep -q ' T tt_decode_otlp_proto$$' && \
                   echo -Wl,--undefined=tt_decode_otlp_proto)
$(BUILD)/bin/ttd: LDFLAGS += $(TTD_PROTO_LINK)
