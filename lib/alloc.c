/* alloc.c: the library's single allocation path, swappable for tests. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void *libc_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}

static void *libc_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    return realloc(p, n);
}

static void libc_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

static const gs_allocator libc_allocator = {libc_malloc, libc_realloc, libc_free, NULL};
static const gs_allocator *current = &libc_allocator;
static const gs_allocator *yajl_current = &libc_allocator;

void gs_set_allocators(const gs_allocator *lib, const gs_allocator *yajl)
{
    current = lib ? lib : &libc_allocator;
    yajl_current = yajl ? yajl : &libc_allocator;
}

const gs_allocator *gs_yajl_allocator(void)
{
    return yajl_current;
}

void *gs_malloc(size_t n)
{
    return current->malloc(current->ctx, n ? n : 1);
}

void *gs_realloc(void *p, size_t n)
{
    return current->realloc(current->ctx, p, n ? n : 1);
}

void gs_free(void *p)
{
    if (p)
        current->free(current->ctx, p);
}

char *gs_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = gs_malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}
