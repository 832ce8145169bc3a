/* recent.h: the ids a subscription delivered last, to drop an item that
 * arrives twice (a REST page overlapping the live stream). Bounded: the
 * oldest id is forgotten first. */
#ifndef GS_RECENT_H
#define GS_RECENT_H

#define GS_RECENT_IDS    256
#define GS_RECENT_ID_MAX 32 /* Gitter ids are 24 characters; longer ones are not tracked */

typedef struct gs_recent {
    unsigned long long hash[GS_RECENT_IDS];
    char id[GS_RECENT_IDS][GS_RECENT_ID_MAX];
    unsigned next, count;
} gs_recent;

/* 1 if id is among the recent ones; otherwise 0, and id is remembered. */
int gs_recent_check_add(gs_recent *r, const char *id);

#endif
