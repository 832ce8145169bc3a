/* HTTP/1.1 for the fake server: parsing a request out of the bytes read so far, and writing
 * status replies, the streaming response head and chunks byte-exactly. */
#ifndef FAKESERVER_HTTP_H
#define FAKESERVER_HTTP_H

#include "buf.h"
#include "scenario.h"

#include <stddef.h>

#define HTTP_MAX_HEAD    16384
#define HTTP_MAX_BODY    65536
#define HTTP_MAX_HEADERS 100

struct span {
    const char *p;
    size_t n;
};

struct http_header {
    struct span name, value;
};

struct request {
    struct span method, target, path, query;
    int minor; /* HTTP/1.minor */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t n_headers;
    struct span body;
    int keep_alive;
    size_t total; /* bytes of input this request used */
};

/* 1: a whole request is at the start of data; 0: more bytes are needed; -1: malformed, to be
 * answered with *status. The request points into data. */
int http_parse(const char *data, size_t len, struct request *req, int *status);

/* The value of the first header called name (case-insensitive), or NULL. */
const struct span *http_header(const struct request *req, const char *name);

int span_is(struct span s, const char *text);

const char *http_reason(int code);

/* A reply with the scenario's options, or the canned body for its code. */
void http_status_reply(struct buf *out, const struct status_spec *st, long long now_epoch_ms,
                       int keep_alive);
void http_error_reply(struct buf *out, int code, int keep_alive);
void http_reply(struct buf *out, int code, const char *content_type, const char *body, size_t len,
                int keep_alive);

void http_stream_head(struct buf *out);
/* One chunk of len bytes of which only the first send are written: a chunk cut short is how a
 * connection dies mid-chunk. The trailing CRLF follows only a complete chunk. */
void http_chunk(struct buf *out, const char *data, size_t len, size_t send);
void http_last_chunk(struct buf *out);

#endif
