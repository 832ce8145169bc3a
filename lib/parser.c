/* parser.c: the decode-only API. Drives the framer over each buffer, hands
 * frame spans to the decoder as they arrive, and turns the results into
 * callbacks, in stream order. */
#include <string.h>

#include "common.h"
#include "decoder.h"
#include "errors.h"
#include "framer.h"
#include "msg.h"
#include "parser.h"

#define DEFAULT_MAX_BYTES (1u << 20)
#define DEFAULT_MAX_DEPTH 64
#define MAX_BYTES_MIN     16
#define MAX_BYTES_MAX     (1ll << 30)
#define MAX_DEPTH_MAX     4096

struct gitterstream_parser {
    gs_framer framer;
    gs_decoder decoder;
    gs_arena arena;
    void (*on_item)(const gitterstream_msg *m, void *ud);
    void *item_ud;
    void (*on_keepalive)(void *ud);
    void *keepalive_ud;
    void (*on_error)(const gitterstream_error *e, void *ud);
    void *error_ud;
    int in_callback;
    int free_pending;
    int backfill;
};

GITTERSTREAM_EXPORT gitterstream_parser *gitterstream_parser_new(void)
{
    gitterstream_parser *p = gs_malloc(sizeof *p);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    gs_framer_init(&p->framer, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH);
    gs_decoder_init(&p->decoder);
    return p;
}

void gs_parser_reset(gitterstream_parser *p)
{
    gs_framer_reset(&p->framer);
    gs_decoder_abandon(&p->decoder);
}

void gs_parser_mark_backfill(gitterstream_parser *p, int backfill)
{
    p->backfill = backfill;
}

static void destroy(gitterstream_parser *p)
{
    gs_framer_free(&p->framer);
    gs_decoder_free(&p->decoder);
    gs_arena_free(&p->arena);
    gs_free(p);
}

GITTERSTREAM_EXPORT void gitterstream_parser_free(gitterstream_parser *p)
{
    if (!p)
        return;
    if (p->in_callback)
        p->free_pending = 1;
    else
        destroy(p);
}

GITTERSTREAM_EXPORT int gitterstream_parser_set_int(gitterstream_parser *p, gitterstream_option opt,
                                                    long long v)
{
    if (!p)
        return GITTERSTREAM_E_INVALID;
    switch (opt) {
    case GITTERSTREAM_OPT_MAX_MESSAGE_BYTES:
        if (v < MAX_BYTES_MIN || v > MAX_BYTES_MAX)
            return GITTERSTREAM_E_INVALID;
        p->framer.max_bytes = (size_t)v;
        return GITTERSTREAM_OK;
    case GITTERSTREAM_OPT_MAX_DEPTH:
        if (v < 1 || v > MAX_DEPTH_MAX)
            return GITTERSTREAM_E_INVALID;
        p->framer.max_depth = (int)v;
        return GITTERSTREAM_OK;
    default:
        return GITTERSTREAM_E_INVALID;
    }
}

GITTERSTREAM_EXPORT void gitterstream_parser_on_item(gitterstream_parser *p,
                                                     void (*cb)(const gitterstream_msg *, void *),
                                                     void *ud)
{
    if (p) {
        p->on_item = cb;
        p->item_ud = ud;
    }
}

GITTERSTREAM_EXPORT void gitterstream_parser_on_keepalive(gitterstream_parser *p,
                                                          void (*cb)(void *), void *ud)
{
    if (p) {
        p->on_keepalive = cb;
        p->keepalive_ud = ud;
    }
}

GITTERSTREAM_EXPORT void
gitterstream_parser_on_error(gitterstream_parser *p, void (*cb)(const gitterstream_error *, void *),
                             void *ud)
{
    if (p) {
        p->on_error = cb;
        p->error_ud = ud;
    }
}

static void report(gitterstream_parser *p, int code, const char *text)
{
    if (!p->on_error)
        return;
    gitterstream_error e = {code, 0, 0, text};
    p->in_callback = 1;
    p->on_error(&e, p->error_ud);
    p->in_callback = 0;
}

static void deliver(gitterstream_parser *p, const char *json, size_t len)
{
    if (!p->on_item)
        return;
    gitterstream_msg m = {json, len, p->backfill, &p->arena};
    p->in_callback = 1;
    p->on_item(&m, p->item_ud);
    p->in_callback = 0;
    gs_arena_reset(&p->arena);
}

GITTERSTREAM_EXPORT int gitterstream_parser_feed(gitterstream_parser *p, const char *bytes,
                                                 size_t len)
{
    if (!p || (!bytes && len))
        return GITTERSTREAM_E_INVALID;
    if (p->in_callback)
        return GITTERSTREAM_E_STATE;
    size_t pos = 0;
    for (;;) {
        gs_frame_out out;
        switch (gs_framer_next(&p->framer, bytes, len, &pos, &out)) {
        case GS_FRAME_NEED_MORE:
            return GITTERSTREAM_OK;
        case GS_FRAME_SPAN: {
            int rc = gs_decoder_feed(&p->decoder, out.bytes, out.len, out.offset);
            if (rc == GITTERSTREAM_E_NOMEM) {
                gs_framer_reject(&p->framer);
                return rc;
            }
            if (rc == GS_DECODE_REJECTED) {
                gs_framer_reject(&p->framer);
                report(p, GITTERSTREAM_E_PARSE, p->decoder.errtext);
            }
            break;
        }
        case GS_FRAME_ITEM:
            deliver(p, out.bytes, out.len);
            break;
        case GS_FRAME_ERROR:
            gs_decoder_abandon(&p->decoder);
            report(p, out.code, out.text);
            break;
        case GS_FRAME_KEEPALIVE:
            if (p->on_keepalive) {
                p->in_callback = 1;
                p->on_keepalive(p->keepalive_ud);
                p->in_callback = 0;
            }
            break;
        case GS_FRAME_NOMEM:
            gs_decoder_abandon(&p->decoder);
            return GITTERSTREAM_E_NOMEM;
        }
        if (p->free_pending) {
            destroy(p);
            return GITTERSTREAM_OK;
        }
    }
}
