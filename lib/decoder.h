/* decoder.h: the grammar check of each frame, by yajl's incremental parser,
 * fed span by span as bytes arrive. */
#ifndef GS_DECODER_H
#define GS_DECODER_H

#include <stddef.h>

typedef struct gs_decoder {
    void *yajl; /* yajl_handle, created on first use, dropped after a bad frame */
    char errtext[160];
} gs_decoder;

enum { GS_DECODE_OK = 0, GS_DECODE_REJECTED = 1 };

void gs_decoder_init(gs_decoder *d);
void gs_decoder_free(gs_decoder *d);

/* Parse the next bytes of the current frame, which start at byte @a offset
 * of it. Returns GS_DECODE_OK, GS_DECODE_REJECTED (errtext says why) or
 * GITTERSTREAM_E_NOMEM. */
int gs_decoder_feed(gs_decoder *d, const char *bytes, size_t len, size_t offset);

/* The frame in progress is abandoned (bad, or its connection ended): its
 * half-parsed state must not leak into the next frame. */
void gs_decoder_abandon(gs_decoder *d);

#endif
