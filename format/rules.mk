# format/rules.mk -- OTLP/protobuf: C code generated from format/proto/*.proto
# with protoc-c into $(BUILD)/gen at build time, linked into the library.
PROTO_SRC   := $(wildcard format/proto/*.proto)
PROTO_GEN_C := $(PROTO_SRC:format/proto/%.proto=$(BUILD)/gen/%.pb-c.c)
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)
PROTO_OBJ   := $(PROTO_GEN_C:.c=.o)

LIB_OBJ  += $(PROTO_OBJ)
CPPFLAGS += -I$(BUILD)/gen $(shell pkg-config --cflags libprotobuf-c 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs libprotobuf-c 2>/dev/null)

# one protoc-c run writes both files of a pair (grouped pattern targets)
$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: format/proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=format/proto --c_out=$(BUILD)/gen $<

# generated code: compiled without our -Werror house rules
$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(PROTO_GEN_H)
	$(CC) $(CPPFLAGS) $(filter-out -Werror -Wmissing-prototypes,$(CFLAGS)) -MMD -MP -c -o $@ $<

# the decoder and the encoder include the generated headers
$(BUILD)/format/otlp_proto.o $(BUILD)/format/otlp_pb_out.o: $(PROTO_GEN_H)

# unit tests that build protobuf bodies with the generated pack functions
$(BUILD)/tests/unit/test_format_proto.o: $(PROTO_GEN_H)
