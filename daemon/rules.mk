# daemon/rules.mk -- ttd's own extra libraries (included by the top Makefile):
# libcrypto for the HMAC-SHA256 signatures of alert webhooks (daemon/notify.c).
EVENT_LIBS += $(shell pkg-config --libs libcrypto 2>/dev/null)
