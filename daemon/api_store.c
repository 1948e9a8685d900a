/*
 * api_store.c -- GET /api/store (being written).
 */
#include "ttd.h"

void
ttd_api_store(struct evhttp_request *req, const char *query)
{
	(void)query;
	ttd_reply_error(req, 501, "not yet");
}
