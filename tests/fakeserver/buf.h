/* Growable byte buffers and checked allocation, shared by every file of the fake server.
 * A test tool has no way to recover from running out of memory, so allocation failure aborts. */
#ifndef FAKESERVER_BUF_H
#define FAKESERVER_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrndup(const char *s, size_t n);

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes: output buffers are consumed from the front as the socket takes them. */
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

#endif
