/* One streaming response: turns timeline messages, keep-alives and injected bad frames into
 * chunks as the connection's rule says (dialect, chunking, pacing), and applies its faults
 * (end, cut, stall). It writes into the connection's output buffer and knows nothing of sockets. */
#ifndef FAKESERVER_STREAM_H
#define FAKESERVER_STREAM_H

#include "buf.h"
#include "scenario.h"

#include <stdint.h>

enum stream_state {
    STREAM_LIVE,
    STREAM_ENDED,   /* the terminating chunk is queued; the connection may serve another request */
    STREAM_CUT,     /* close without the terminating chunk once the output is written */
    STREAM_STALLED, /* send nothing more, keep the socket open */
};

struct stream {
    const struct stream_spec *spec;
    const struct room *room;
    enum resource_kind kind;
    long long wall0_ms;
    struct buf *out;
    enum stream_state state;
    unsigned long items; /* timeline messages sent */
    uint64_t payload;    /* body bytes written, chunk framing excluded */
    uint64_t cut_at;     /* payload offset at which to cut; UINT64_MAX: none */
    long long next_keepalive;
    struct buf merge;
    unsigned long merge_items;
    uint64_t rng;
    /* chunks held back by chunk-delay */
    struct buf held;
    size_t *held_lens;
    size_t n_held, held_first, held_cap;
    long long next_release;
};

void stream_start(struct stream *s, const struct stream_spec *spec, const struct room *room,
                  enum resource_kind kind, struct buf *out, long long now_ms, long long wall0_ms);
/* last: no later message will be posted to this resource. */
void stream_message(struct stream *s, const struct message *m, int last);
/* Sends the keep-alives and held chunks that are due. */
void stream_tick(struct stream *s, long long now_ms);
/* When stream_tick next has something to do; LLONG_MAX if never. */
long long stream_next_wakeup(const struct stream *s);
/* Nothing is held back: what the state says is all in the output buffer. */
int stream_flushed(const struct stream *s);
void stream_free(struct stream *s);

#endif
