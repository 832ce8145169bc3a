/* counting-alloc.h: an allocator for tests that counts calls and live
 * bytes, and can make the n-th allocation fail. */
#ifndef TEST_COUNTING_ALLOC_H
#define TEST_COUNTING_ALLOC_H

#include <stddef.h>

typedef struct counting_alloc {
    unsigned long long calls; /* malloc and realloc calls */
    size_t live, peak;        /* bytes currently allocated, and the most ever */
    long fail_at;             /* fail the call with this number (from 1); 0: never */
    int failed;               /* set once an allocation was made to fail */
} counting_alloc;

extern counting_alloc counted;

/* Route the library's allocations (and, if with_yajl, yajl's) through the
 * counter, reset to zero; counting_stop restores the C library's. */
void counting_start(int with_yajl);
void counting_stop(void);

#endif
