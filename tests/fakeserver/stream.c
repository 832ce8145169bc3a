/* The streaming response of the fake server: chunking, pacing, keep-alives, bad frames and
 * faults, applied to a connection's share of a room's timeline. */
#include "stream.h"

#include "http.h"
#include "room.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *delimiter(enum dialect d)
{
    switch (d) {
    case DIALECT_LF:
        return "\n";
    case DIALECT_CRLF:
        return "\r\n";
    default:
        return "\r";
    }
}

/* Writes encoded bytes, or holds them back as one chunk when chunks are paced. */
static void put(struct stream *s, const char *bytes, size_t len)
{
    if (s->spec->chunk_delay_ms <= 0) {
        buf_add(s->out, bytes, len);
        return;
    }
    if (s->n_held == s->held_cap) {
        s->held_cap = s->held_cap ? 2 * s->held_cap : 64;
        s->held_lens = xrealloc(s->held_lens, s->held_cap * sizeof *s->held_lens);
    }
    buf_add(&s->held, bytes, len);
    s->held_lens[s->n_held++] = len;
}

/* Every body byte passes here, so a cut at a payload offset lands exactly. */
static void emit_chunk(struct stream *s, const char *data, size_t len)
{
    if (s->state == STREAM_CUT || len == 0)
        return;
    size_t send = len;
    int cut = 0;
    if (s->cut_at != UINT64_MAX && s->payload + len >= s->cut_at) {
        send = (size_t)(s->cut_at - s->payload);
        cut = 1;
    }
    if (send > 0) {
        struct buf enc = {0};
        http_chunk(&enc, data, len, send);
        put(s, enc.data, enc.len);
        buf_free(&enc);
        s->payload += send;
    }
    if (cut)
        s->state = STREAM_CUT;
}

static uint64_t next_random(struct stream *s)
{
    /* xorshift64*: reproducible from the scenario's seed on every platform */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ULL;
}

static void flush_merge(struct stream *s)
{
    if (s->merge.len)
        emit_chunk(s, s->merge.data, s->merge.len);
    s->merge.len = 0;
    s->merge_items = 0;
}

/* One unit is an item with its delimiter, a keep-alive or an injected frame. */
static void emit_unit(struct stream *s, const char *data, size_t len, int is_item)
{
    size_t i = 0, start = 0;
    switch (s->spec->chunking) {
    case CHUNK_ITEM:
        emit_chunk(s, data, len);
        break;
    case CHUNK_DRIP:
        for (i = 0; i < len; i++)
            emit_chunk(s, data + i, 1);
        break;
    case CHUNK_SPLIT_UTF8:
        for (i = 0; i + 1 < len; i++) {
            if ((unsigned char)data[i] >= 0xc0) { /* a lead byte: split after it */
                emit_chunk(s, data + start, i + 1 - start);
                start = i + 1;
            }
        }
        emit_chunk(s, data + start, len - start);
        break;
    case CHUNK_RANDOM:
        while (start < len) {
            size_t n = 1 + (size_t)(next_random(s) % 48);
            if (n > len - start)
                n = len - start;
            emit_chunk(s, data + start, n);
            start += n;
        }
        break;
    case CHUNK_MERGE:
        if (!is_item && s->merge_items == 0 && s->merge.len == 0) {
            emit_chunk(s, data, len); /* a keep-alive waits for no item */
            break;
        }
        buf_add(&s->merge, data, len);
        if (is_item && ++s->merge_items >= s->spec->merge_items)
            flush_merge(s);
        break;
    }
}

static void inject_frame(struct buf *b, const struct inject *inj, enum dialect d)
{
    static const char *const bad_utf8[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                           "\xe2\x82"};
    switch (inj->kind) {
    case INJECT_INVALID_JSON:
        buf_adds(b, "{\"text\" \"invalid json\"}");
        break;
    case INJECT_INVALID_UTF8:
        buf_adds(b, "{\"text\":\"bad ");
        buf_adds(b, bad_utf8[inj->arg < 5 ? inj->arg : 0]);
        buf_adds(b, " utf8\"}");
        break;
    case INJECT_ARRAY:
        buf_adds(b, "[{\"id\":\"000000000000000000000000\",\"text\":\"top-level array\"}]");
        break;
    case INJECT_TRAILING:
        buf_adds(b, "{\"text\":\"trailing garbage\"} x");
        break;
    case INJECT_OVERSIZE:
        buf_adds(b, "{\"text\":\"");
        buf_reserve(b, inj->arg);
        memset(b->data + b->len, 'x', inj->arg - 11);
        b->len += inj->arg - 11;
        buf_adds(b, "\"}");
        break;
    case INJECT_DEEP:
        for (unsigned long i = 1; i < inj->arg; i++)
            buf_adds(b, "{\"a\":");
        buf_adds(b, "{}");
        for (unsigned long i = 1; i < inj->arg; i++)
            buf_addc(b, '}');
        break;
    case INJECT_RAW:
        buf_add(b, inj->raw, inj->raw_len);
        return; /* raw bytes bring their own delimiter, if any */
    }
    buf_adds(b, delimiter(d));
}

static void inject_due(struct stream *s)
{
    const struct stream_spec *sp = s->spec;
    for (size_t i = 0; i < sp->n_injects && s->state == STREAM_LIVE; i++) {
        if (sp->injects[i].pos != s->items)
            continue;
        struct buf frame = {0};
        inject_frame(&frame, &sp->injects[i], sp->dialect);
        emit_unit(s, frame.data, frame.len, 0);
        buf_free(&frame);
    }
}

/* Applies end-after and stall-after once s->items items are out. */
static void check_limits(struct stream *s)
{
    if (s->state != STREAM_LIVE)
        return;
    if (s->spec->end_after >= 0 && s->items >= (unsigned long long)s->spec->end_after) {
        flush_merge(s);
        if (s->state == STREAM_LIVE) {
            put(s, "0\r\n\r\n", 5);
            s->state = STREAM_ENDED;
        }
    } else if (s->spec->stall_after >= 0 && s->items >= (unsigned long long)s->spec->stall_after) {
        flush_merge(s);
        if (s->state == STREAM_LIVE)
            s->state = STREAM_STALLED;
    }
}

void stream_start(struct stream *s, const struct stream_spec *spec, const struct room *room,
                  enum resource_kind kind, struct buf *out, long long now_ms, long long wall0_ms)
{
    memset(s, 0, sizeof *s);
    s->spec = spec;
    s->room = room;
    s->kind = kind;
    s->out = out;
    s->wall0_ms = wall0_ms;
    s->rng = spec->seed ? spec->seed : 0x9e3779b97f4a7c15ULL;
    s->cut_at = spec->cut_at_byte >= 0 ? (uint64_t)spec->cut_at_byte : UINT64_MAX;
    s->next_keepalive = spec->keepalive_ms > 0 ? now_ms + spec->keepalive_ms : LLONG_MAX;
    http_stream_head(out);
    if (s->cut_at == 0) {
        s->state = STREAM_CUT;
        return;
    }
    inject_due(s);
    check_limits(s);
}

void stream_message(struct stream *s, const struct message *m, int last)
{
    if (s->state != STREAM_LIVE)
        return;
    struct buf item = {0};
    message_json(&item, s->room, s->kind, m, s->wall0_ms, s->spec->dialect == DIALECT_PRETTY);
    buf_adds(&item, delimiter(s->spec->dialect));
    if (s->spec->cut_after >= 0 && s->items == (unsigned long long)s->spec->cut_after) {
        size_t half = item.len / 2 ? item.len / 2 : 1;
        s->cut_at = s->payload + s->merge.len + half;
        emit_unit(s, item.data, item.len, 1);
        flush_merge(s);
        buf_free(&item);
        return;
    }
    emit_unit(s, item.data, item.len, 1);
    buf_free(&item);
    s->items++;
    inject_due(s);
    check_limits(s);
    if (last)
        flush_merge(s); /* nothing else would ever fill the merged chunk */
}

void stream_tick(struct stream *s, long long now_ms)
{
    const struct stream_spec *sp = s->spec;
    if (s->state == STREAM_LIVE && now_ms >= s->next_keepalive) {
        emit_unit(s, sp->keepalive ? sp->keepalive : " \n", sp->keepalive ? sp->keepalive_len : 2,
                  0);
        s->next_keepalive += sp->keepalive_ms;
        if (s->next_keepalive <= now_ms) /* the loop was late: do not send a burst */
            s->next_keepalive = now_ms + sp->keepalive_ms;
    }
    while (s->held_first < s->n_held && now_ms >= s->next_release) {
        size_t len = s->held_lens[s->held_first++];
        buf_add(s->out, s->held.data, len);
        buf_consume(&s->held, len);
        s->next_release = now_ms + sp->chunk_delay_ms;
    }
    if (s->held_first == s->n_held)
        s->held_first = s->n_held = 0;
}

long long stream_next_wakeup(const struct stream *s)
{
    long long t = s->state == STREAM_LIVE ? s->next_keepalive : LLONG_MAX;
    if (s->held_first < s->n_held && s->next_release < t)
        t = s->next_release;
    return t;
}

int stream_flushed(const struct stream *s)
{
    return s->held_first == s->n_held;
}

void stream_free(struct stream *s)
{
    buf_free(&s->merge);
    buf_free(&s->held);
    free(s->held_lens);
    s->held_lens = NULL;
    s->n_held = s->held_first = s->held_cap = 0;
}
