/* framer.h: splits a stream body into frames and keep-alives, and checks
 * what yajl lets through on its own: strict UTF-8, JSON's whitespace, one
 * object per frame, the depth and size limits. Knows nothing of yajl or curl.
 *
 * It is an iterator: the caller hands it a buffer and a cursor and takes one
 * event at a time, so it never calls out and never needs to be re-entrant. */
#ifndef GS_FRAMER_H
#define GS_FRAMER_H

#include <stddef.h>

typedef enum gs_frame_event {
    GS_FRAME_NEED_MORE, /* the buffer is used up */
    GS_FRAME_SPAN,      /* bytes/len/offset: the next bytes of the current frame, for the
                         * decoder; a string is held back until it closes, so that yajl
                         * never keeps a copy of a long token split across reads */
    GS_FRAME_ITEM,      /* bytes/len: a complete item's text, trimmed, NUL-terminated */
    GS_FRAME_ERROR,     /* code/text: the current frame is bad; it is skipped to its end */
    GS_FRAME_KEEPALIVE, /* a run of whitespace between frames ended */
    GS_FRAME_NOMEM      /* the frame buffer could not grow; the frame is skipped */
} gs_frame_event;

typedef struct gs_frame_out {
    const char *bytes;
    size_t len;
    size_t offset; /* of a span, within its frame */
    int code;
    const char *text;
} gs_frame_out;

typedef struct gs_framer {
    size_t max_bytes; /* limits for frames that start from now on */
    int max_depth;
    size_t frame_max; /* limits of the current frame */
    int frame_max_depth;

    unsigned char in_frame, bad, closed, after_cr, in_run;
    unsigned char lex;              /* where the scanner is: see framer.c */
    unsigned char utf8_need;        /* continuation bytes still due */
    unsigned char utf8_lo, utf8_hi; /* range of the next continuation byte */
    int depth;

    char *buf; /* the current frame's bytes, while it is good */
    size_t len, cap;
    size_t value_end;    /* length of the item once its object closed */
    size_t fed;          /* bytes of the frame handed to the decoder */
    size_t string_start; /* offset of the string being scanned */
    char errtext[160];
} gs_framer;

void gs_framer_init(gs_framer *f, size_t max_bytes, int max_depth);
void gs_framer_free(gs_framer *f);

/* Forget any frame in progress, as at the start of a new response body. */
void gs_framer_reset(gs_framer *f);

/* Take the next event from in[*pos..len), advancing *pos. */
gs_frame_event gs_framer_next(gs_framer *f, const char *in, size_t len, size_t *pos,
                              gs_frame_out *out);

/* The decoder refused the current frame: skip the rest of it silently. */
void gs_framer_reject(gs_framer *f);

#endif
