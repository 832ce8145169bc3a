/* msg.h: one item as handed to callbacks: its text, and an arena for the
 * strings the accessors return. */
#ifndef GS_MSG_H
#define GS_MSG_H

#include <stddef.h>

#include "common.h"

typedef struct gs_arena_block gs_arena_block;

/* Strings returned for the current item: valid until the item's callback
 * returns, then dropped together. */
typedef struct gs_arena {
    gs_arena_block *head;
} gs_arena;

struct gitterstream_msg {
    const char *json; /* validated JSON text, NUL-terminated */
    size_t len;
    int backfill;
    gs_arena *arena;
};

/* Forget the strings of the last item. Keeps the largest block, so that
 * steady-state decoding allocates nothing; it is never larger than one item
 * plus its NUL, which the size limit bounds. */
void gs_arena_reset(gs_arena *a);
void gs_arena_free(gs_arena *a);

/* The string at path, unescaped into out (cap bytes with the NUL), without
 * allocating: for the library's own reads of ids, which must not fail.
 * Returns 0, or -1 if absent, not a string, or longer than cap allows. */
int gs_msg_copy_str(const gitterstream_msg *m, const char *path, char *out, size_t cap);

#endif
