/* backfill.h: filling the gap a reconnect leaves, from the REST API. */
#ifndef GS_BACKFILL_H
#define GS_BACKFILL_H

#include <stddef.h>

#include <curl/curl.h>

#include "backoff.h"
#include "common.h"

#define GS_ID_MAX 64

/* Live items that arrive while the gap is filled wait here, bounded: past
 * these limits they are all dropped, and REST pages are fetched until they
 * cover what was dropped (see docs/reliability.md). */
#define GS_HOLD_MAX_ITEMS 2000
#define GS_HOLD_MAX_BYTES (4u << 20)

/* Pages failing this many times in a row give the gap up: live delivery
 * cannot wait on the REST API forever. */
#define GS_BACKFILL_MAX_FAILURES 4

typedef struct gs_backfill {
    int active; /* state BACKFILLING: pages under way, live items held */
    int resume; /* gitterstream_sub_resume_after was called */
    char cursor[GS_ID_MAX];
    char page_start[GS_ID_MAX]; /* the cursor the page was asked with */
    int elements;               /* items in the page, read or not */
    int failures;               /* pages failed in a row */
    int overflowed;             /* held items were dropped since the page was asked for */
    char first_held[GS_ID_MAX]; /* where the live stream took over, "" until known */
    int reached;                /* a page got there: the rest of the gap is held */
    long long due;              /* when the next page is asked for, or -1 */
    gs_backoff backoff;

    CURL *easy;
    int transferring;
    long status;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    gitterstream_parser *parser;
    int depth, lex, began, any; /* splitting the JSON array into items */
    int refused;                /* why the body was refused: E_PARSE or E_NOMEM, or 0 */

    char *held; /* [size_t length][text] records */
    size_t held_len, held_cap;
    unsigned held_count;
} gs_backfill;

#endif
