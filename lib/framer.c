/* framer.c: frames, keep-alives and the strictness checks of SPEC §3.
 *
 * A lightweight lexical scan runs over every byte of a frame: it tracks
 * strings, escapes and bracket depth, which is all it takes to know when the
 * value is complete (so that a '\n' ends the frame) and to find the end of a
 * bad frame, whose grammar can no longer be trusted. On good frames it also
 * checks UTF-8 (RFC 3629), control characters and whitespace, which yajl
 * accepts too loosely. Grammar proper (commas, literals, numbers, escapes)
 * is left to the decoder. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "framer.h"

enum { LEX_VALUE, LEX_STRING, LEX_ESCAPE };

enum scan_result { SCAN_END, SCAN_DELIM, SCAN_ERROR };

#define FRAME_BUF_MIN 4096

/* A byte that needs no attention inside a string: printable ASCII but the
 * quote and the backslash. */
static int plain_in_string(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static int is_json_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void gs_framer_init(gs_framer *f, size_t max_bytes, int max_depth)
{
    memset(f, 0, sizeof *f);
    f->max_bytes = max_bytes;
    f->max_depth = max_depth;
}

void gs_framer_free(gs_framer *f)
{
    gs_free(f->buf);
    f->buf = NULL;
    f->cap = 0;
}

void gs_framer_reset(gs_framer *f)
{
    f->in_frame = 0;
    f->after_cr = 0;
    f->in_run = 0;
}

void gs_framer_reject(gs_framer *f)
{
    f->bad = 1;
    f->utf8_need = 0;
}

static void start_frame(gs_framer *f)
{
    f->in_frame = 1;
    f->bad = 0;
    f->closed = 0;
    f->lex = LEX_VALUE;
    f->utf8_need = 0;
    f->depth = 0;
    f->len = 0;
    f->value_end = 0;
    f->fed = 0;
    f->frame_max = f->max_bytes;
    f->frame_max_depth = f->max_depth;
}

static enum scan_result fail(gs_framer *f, gs_frame_out *out, int code, const char *what,
                             size_t offset)
{
    f->bad = 1;
    f->utf8_need = 0;
    snprintf(f->errtext, sizeof f->errtext, "%s at byte %zu of the item", what, offset);
    out->code = code;
    out->text = f->errtext;
    return SCAN_ERROR;
}

/* Start of a multi-byte UTF-8 sequence: set the range its next byte must
 * fall in. Returns 0 for a byte that cannot start one. */
static int utf8_lead(gs_framer *f, unsigned char c)
{
    f->utf8_lo = 0x80;
    f->utf8_hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        f->utf8_need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        f->utf8_need = 2;
        if (c == 0xe0)
            f->utf8_lo = 0xa0; /* no overlong forms */
        else if (c == 0xed)
            f->utf8_hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        f->utf8_need = 3;
        if (c == 0xf0)
            f->utf8_lo = 0x90;
        else if (c == 0xf4)
            f->utf8_hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    return 1;
}

/* Scan in[from..end) of the current frame. Stops at the frame's delimiter
 * (*stop: its index), at an error in a good frame (*stop: where to resume),
 * or at end. */
static enum scan_result scan(gs_framer *f, const unsigned char *in, size_t from, size_t end,
                             size_t *stop, gs_frame_out *out)
{
    size_t i = from;
    /* offset of in[i] within the frame: good frames keep f->len current */
#define AT(i) (f->len + ((i)-from))
    for (; i < end; i++) {
        unsigned char c = in[i];
        if (f->lex == LEX_STRING) {
            if (f->utf8_need) {
                if (c >= f->utf8_lo && c <= f->utf8_hi) {
                    f->utf8_need--;
                    f->utf8_lo = 0x80;
                    f->utf8_hi = 0xbf;
                    continue;
                }
                *stop = i; /* resume here: the byte may close the string */
                return fail(f, out, GITTERSTREAM_E_PARSE, "invalid UTF-8", AT(i));
            }
            while (i < end && plain_in_string(in[i]))
                i++;
            if (i == end)
                break;
            c = in[i];
            if (c == '"') {
                f->lex = LEX_VALUE;
            } else if (c == '\\') {
                f->lex = LEX_ESCAPE;
            } else if (c >= 0x80) {
                if (!f->bad && !utf8_lead(f, c)) {
                    *stop = i + 1;
                    return fail(f, out, GITTERSTREAM_E_PARSE, "invalid UTF-8", AT(i));
                }
            } else {
            string_control:
                /* No valid item has a raw '\r' or '\n' in a string, so either
                 * ends the frame: a broken line must not swallow the next. */
                if (!f->bad) {
                    *stop = c == '\r' || c == '\n' ? i : i + 1;
                    return fail(f, out, GITTERSTREAM_E_PARSE, "control character in a string",
                                AT(i));
                }
                if (c == '\r' || c == '\n') {
                    *stop = i;
                    return SCAN_DELIM;
                }
            }
            continue;
        }
        if (f->lex == LEX_ESCAPE) {
            f->lex = LEX_STRING;
            if (c < 0x20)
                goto string_control;
            continue;
        }
        switch (c) {
        case ' ':
        case '\t':
            break;
        case '\r':
            *stop = i;
            return SCAN_DELIM;
        case '\n':
            if (f->depth == 0) {
                *stop = i;
                return SCAN_DELIM;
            }
            break;
        case '"':
            f->lex = LEX_STRING;
            f->string_start = AT(i);
            goto value_byte;
        case '{':
        case '[':
            f->depth++;
            if (!f->bad && f->depth > f->frame_max_depth) {
                *stop = i + 1;
                char what[48];
                snprintf(what, sizeof what, "item nests deeper than %d", f->frame_max_depth);
                return fail(f, out, GITTERSTREAM_E_PARSE, what, AT(i));
            }
            goto value_byte;
        case '}':
        case ']':
            if (f->depth > 0 && --f->depth == 0 && !f->bad && !f->closed) {
                f->closed = 1;
                f->value_end = AT(i) + 1;
                break;
            }
            goto value_byte;
        default:
            if (c < 0x20 && !f->bad) {
                *stop = i + 1;
                return fail(f, out, GITTERSTREAM_E_PARSE, "control character outside a string",
                            AT(i));
            }
        value_byte:
            if (f->closed && !f->bad) {
                *stop = i + 1;
                return fail(f, out, GITTERSTREAM_E_PARSE,
                            "unexpected bytes after the item's object", AT(i));
            }
            break;
        }
    }
#undef AT
    *stop = end;
    return SCAN_END;
}

static int append(gs_framer *f, const char *bytes, size_t n)
{
    size_t need = f->len + n + 1; /* never more than frame_max + 1 */
    if (need > f->cap) {
        size_t cap = f->cap ? f->cap : FRAME_BUF_MIN;
        while (cap < need)
            cap *= 2;
        if (cap > f->frame_max + 1 && need <= f->frame_max + 1)
            cap = f->frame_max + 1 > FRAME_BUF_MIN ? f->frame_max + 1 : FRAME_BUF_MIN;
        char *grown = gs_realloc(f->buf, cap);
        if (!grown)
            return -1;
        f->buf = grown;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, bytes, n);
    f->len += n;
    return 0;
}

/* The frame's delimiter is at in[*pos]: consume it and end the frame. */
static gs_frame_event end_frame(gs_framer *f, const char *in, size_t *pos, gs_frame_out *out)
{
    int was_bad = f->bad;
    f->after_cr = in[*pos] == '\r';
    (*pos)++;
    f->in_frame = 0;
    if (was_bad)
        return GS_FRAME_NEED_MORE; /* nothing to say: go on */
    if (!f->closed) {
        fail(f, out, GITTERSTREAM_E_PARSE, "item ends before its JSON value is complete", f->len);
        return GS_FRAME_ERROR;
    }
    f->buf[f->value_end] = '\0';
    out->bytes = f->buf;
    out->len = f->value_end;
    return GS_FRAME_ITEM;
}

gs_frame_event gs_framer_next(gs_framer *f, const char *in, size_t len, size_t *pos,
                              gs_frame_out *out)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t i = *pos;
    for (;;) {
        if (!f->in_frame) {
            for (; i < len; i++) {
                if (f->after_cr) {
                    f->after_cr = 0;
                    if (u[i] == '\n')
                        continue; /* the second byte of a "\r\n" delimiter */
                }
                if (!is_json_ws(u[i]))
                    break;
                f->in_run = 1;
            }
            *pos = i;
            if (f->in_run) {
                f->in_run = 0;
                return GS_FRAME_KEEPALIVE;
            }
            if (i == len)
                return GS_FRAME_NEED_MORE;
            start_frame(f);
            if (u[i] != '{') {
                fail(f, out, GITTERSTREAM_E_PARSE, "item is not a JSON object", 0);
                return GS_FRAME_ERROR; /* the byte is scanned next, for the frame's end */
            }
        }

        size_t end = len, stop;
        int capped = 0;
        if (!f->bad && len - i > f->frame_max - f->len) {
            end = i + (f->frame_max - f->len) + 1; /* the last may be the delimiter */
            capped = 1;
        }
        enum scan_result r = scan(f, u, i, end, &stop, out);
        if (r == SCAN_ERROR) {
            *pos = stop;
            return GS_FRAME_ERROR;
        }
        *pos = stop;
        if (!f->bad && stop > i) {
            if (r == SCAN_END && capped) {
                snprintf(f->errtext, sizeof f->errtext, "item is larger than %zu bytes",
                         f->frame_max);
                f->bad = 1;
                out->code = GITTERSTREAM_E_TOO_LARGE;
                out->text = f->errtext;
                return GS_FRAME_ERROR;
            }
            if (append(f, in + i, stop - i) < 0) {
                gs_framer_reject(f);
                return GS_FRAME_NOMEM;
            }
        }
        size_t ready = f->lex == LEX_VALUE ? f->len : f->string_start;
        if (!f->bad && ready > f->fed) {
            out->bytes = f->buf + f->fed;
            out->len = ready - f->fed;
            out->offset = f->fed;
            f->fed = ready;
            return GS_FRAME_SPAN; /* a delimiter at *pos is seen again next call */
        }
        if (r == SCAN_END)
            return GS_FRAME_NEED_MORE;
        gs_frame_event ev = end_frame(f, in, pos, out);
        if (ev != GS_FRAME_NEED_MORE)
            return ev;
        i = *pos;
    }
}
