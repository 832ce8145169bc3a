/* recent.c: see recent.h. A hash per entry makes the scan cheap: the
 * strings are compared only when the hashes agree. */
#include <string.h>

#include "recent.h"

static unsigned long long fnv1a(const char *s)
{
    unsigned long long h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

int gs_recent_check_add(gs_recent *r, const char *id)
{
    if (strlen(id) >= GS_RECENT_ID_MAX)
        return 0;
    unsigned long long h = fnv1a(id);
    for (unsigned i = 0; i < r->count; i++)
        if (r->hash[i] == h && strcmp(r->id[i], id) == 0)
            return 1;
    r->hash[r->next] = h;
    strcpy(r->id[r->next], id);
    r->next = (r->next + 1) % GS_RECENT_IDS;
    if (r->count < GS_RECENT_IDS)
        r->count++;
    return 0;
}
