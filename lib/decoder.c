/* decoder.c: yajl's grammar check, one handle reused across good frames.
 *
 * With yajl_allow_multiple_values a handle goes back to expecting a value
 * once an object closes, so consecutive good frames share one handle and
 * steady-state decoding allocates nothing. yajl's errors are permanent for a
 * handle, so a bad or abandoned frame costs a new one. No yajl callbacks are
 * set: items are read lazily by msg.c, from the validated text. */
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "common.h"
#include "decoder.h"

void gs_decoder_init(gs_decoder *d)
{
    d->yajl = NULL;
    d->errtext[0] = '\0';
}

void gs_decoder_free(gs_decoder *d)
{
    gs_decoder_abandon(d);
}

void gs_decoder_abandon(gs_decoder *d)
{
    if (d->yajl) {
        yajl_free(d->yajl);
        d->yajl = NULL;
    }
}

static int open_handle(gs_decoder *d)
{
    const gs_allocator *a = gs_yajl_allocator();
    yajl_alloc_funcs funcs = {a->malloc, a->realloc, a->free, a->ctx}; /* yajl copies it */
    yajl_handle h = yajl_alloc(NULL, &funcs, NULL);
    if (!h)
        return GITTERSTREAM_E_NOMEM;
    /* the framer checks UTF-8 more strictly than yajl does */
    yajl_config(h, yajl_dont_validate_strings, 1);
    yajl_config(h, yajl_allow_multiple_values, 1);
    d->yajl = h;
    return GS_DECODE_OK;
}

/* yajl's message, trimmed, prefixed with where it happened. */
static void describe(gs_decoder *d, size_t at)
{
    unsigned char *msg = yajl_get_error(d->yajl, 0, NULL, 0);
    const char *text = msg ? (const char *)msg : "invalid JSON";
    size_t n = strcspn(text, "\n");
    snprintf(d->errtext, sizeof d->errtext, "invalid JSON at byte %zu of the item: %.*s", at,
             (int)n, text);
    if (msg)
        yajl_free_error(d->yajl, msg);
}

int gs_decoder_feed(gs_decoder *d, const char *bytes, size_t len, size_t offset)
{
    if (!d->yajl) {
        int rc = open_handle(d);
        if (rc != GS_DECODE_OK)
            return rc;
    }
    yajl_status st = yajl_parse(d->yajl, (const unsigned char *)bytes, len);
    if (st == yajl_status_ok)
        return GS_DECODE_OK;
    describe(d, offset + yajl_get_bytes_consumed(d->yajl));
    gs_decoder_abandon(d);
    return GS_DECODE_REJECTED;
}
