/* common.h: what every file of the library needs: the export marker and the
 * internal allocation functions. */
#ifndef GS_COMMON_H
#define GS_COMMON_H

#include <stddef.h>

#include "gitterstream.h"

/* Marks the definitions of public functions; everything else stays hidden. */
#define GITTERSTREAM_EXPORT __attribute__((visibility("default")))

/* Every allocation of the library goes through these, so that tests can
 * count them and make any one of them fail (see gs_set_allocator). */
void *gs_malloc(size_t n);
void *gs_realloc(void *p, size_t n);
void gs_free(void *p);
char *gs_strdup(const char *s);

/* An allocator in the shape yajl takes, so one table serves both. */
typedef struct gs_allocator {
    void *(*malloc)(void *ctx, size_t n);
    void *(*realloc)(void *ctx, void *p, size_t n);
    void (*free)(void *ctx, void *p);
    void *ctx;
} gs_allocator;

/* For tests only: route the library's own allocations through @a lib and
 * yajl's through @a yajl (NULL: the C library's). yajl 2.1 does not check
 * every allocation it makes, so failure-injection tests fail only the
 * library's. Not thread-safe; set them while no handle or parser exists. */
void gs_set_allocators(const gs_allocator *lib, const gs_allocator *yajl);
const gs_allocator *gs_yajl_allocator(void);

#endif
