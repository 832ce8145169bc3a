/* counting-alloc.c: see counting-alloc.h. Each block carries its size in a
 * header, so frees and reallocs keep the live count exact. */
#include "counting-alloc.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

counting_alloc counted;

typedef union header {
    size_t size;
    max_align_t align;
} header;

static int should_fail(void)
{
    counted.calls++;
    if (counted.fail_at && (long)counted.calls == counted.fail_at) {
        counted.failed = 1;
        return 1;
    }
    return 0;
}

static void *counting_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (should_fail())
        return NULL;
    header *h = p ? (header *)p - 1 : NULL;
    size_t old = h ? h->size : 0;
    h = realloc(h, sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    counted.live = counted.live - old + n;
    if (counted.live > counted.peak)
        counted.peak = counted.live;
    return h + 1;
}

static void *counting_malloc(void *ctx, size_t n)
{
    return counting_realloc(ctx, NULL, n);
}

static void counting_free(void *ctx, void *p)
{
    (void)ctx;
    if (!p)
        return;
    header *h = (header *)p - 1;
    counted.live -= h->size;
    free(h);
}

static const gs_allocator counting = {counting_malloc, counting_realloc, counting_free, NULL};

void counting_start(int with_yajl)
{
    memset(&counted, 0, sizeof counted);
    gs_set_allocators(&counting, with_yajl ? &counting : NULL);
}

void counting_stop(void)
{
    gs_set_allocators(NULL, NULL);
}
