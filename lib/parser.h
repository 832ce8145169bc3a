/* parser.h: what the handle needs of the parser beyond the public API. */
#ifndef GS_PARSER_H
#define GS_PARSER_H

#include "common.h"

/* Forget any frame in progress: a new response body starts. */
void gs_parser_reset(gitterstream_parser *p);

/* Flag the items of p as back-filled (gitterstream_msg_is_backfill). */
void gs_parser_mark_backfill(gitterstream_parser *p, int backfill);

#endif
