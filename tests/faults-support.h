/* faults-support.h: the recorder and oracle of the fault-matrix suites
 * (test-faults.c, test-faults-more.c): every message (with its backfill
 * flag), error and state change of a handle driven against the fake server,
 * and a check that rebuilds from the server's log what each room had to
 * deliver, which of it through the REST gap-fill, and compares. */
#ifndef TEST_FAULTS_SUPPORT_H
#define TEST_FAULTS_SUPPORT_H

#include <check.h>
#include <stddef.h>

#include "live.h"

#define FAULTS_MAX_ROOMS 64
#define FAULTS_ID        32

typedef struct fault_event {
    long long t; /* ms since faults_start */
    char kind;   /* 'M' message, 'E' error, 'S' state */
    int room;    /* index into faults.room, -1 for none */
    int backfill;
    int code, state;
    long status, retry;
    char id[FAULTS_ID];
} fault_event;

typedef struct faults_room {
    char id[FAULTS_ID];
    gitterstream_sub *sub;
    int want;                   /* done once this many were delivered, */
    int min_connects;           /* over at least this many 200 answers */
    int first_ok;               /* what was posted after this stream request (from 1) counts */
    char checkpoint[FAULTS_ID]; /* or: what was posted after this id */
    int delivered, errors, attempts, connects, last_state;
    int posted_seen; /* posted since subscribing, at the last read of the log */
} faults_room;

typedef struct faults {
    live *l;
    faults_room room[FAULTS_MAX_ROOMS];
    int nrooms;
    fault_event *ev;
    size_t nev, cap, from; /* events before from belong to an earlier handle */
    long long t0;
    int slow_backfill_ms;     /* the application sleeps this long when the next gap-fill begins */
    int caught_up_by_log;     /* done also needs all that was posted so far delivered */
    long long next_log_check; /* the log is read at most every 100 ms */
    int log_done;
} faults;

/* What faults_verify found for one room. */
typedef struct fault_report {
    int sent;          /* posted while subscribed (or after the checkpoint); with
                          caught_up_by_log, up to the log read that ended the drive */
    int delivered;     /* all of them, in order (and as a prefix of all posted) */
    int backfilled;    /* delivered with the backfill flag */
    int rest_requests; /* gap-fill pages asked for */
    int full_pages;    /* pages of 100 */
    int overlap;       /* ids in a page that the live stream carried too */
    unsigned long long duplicates;
    char first_after[FAULTS_ID]; /* afterId of the first page */
} fault_report;

/* live_start, then small timings (stall 500 ms, healthy after 150 ms, seed 7)
 * and the recorder's callbacks. */
faults *faults_start(const char *scenario);
void faults_stop(faults *f);
/* Free the handle (rooms keep their settings, counters restart) and make a
 * new one pointed at the same server, set up as faults_start does. */
void faults_new_handle(faults *f);
int faults_add_room(faults *f, const char *id, int want);
gitterstream_sub *faults_subscribe(faults *f, int r);

/* live_drive predicate: every room delivered its want over min_connects
 * connections (and, with caught_up_by_log, all posted so far). */
int faults_done(const live *l);
/* live_drive predicate: every room reported an error. */
int faults_all_failed(const live *l);
int faults_drive(faults *f, int (*done)(const live *l), int timeout_ms);

/* Exactly once, in order, flags as the gap-fill pages the server served,
 * counters that agree with what was seen, each wait as long as its error
 * said. Fails the test otherwise. */
void faults_verify(faults *f, int r, fault_report *rep);
/* "faults: <name>: sent N delivered N duplicates D" over n reports */
void faults_print(const char *name, const fault_report *rep, int n);

long long faults_now(const faults *f);
/* The next event of room r (or -1: any) of this kind after *i; NULL at the end. */
const fault_event *faults_next(const faults *f, size_t *i, int r, char kind);
/* How many events of this kind room r had. */
int faults_count(const faults *f, int r, char kind);
/* A scenario from a format; the caller frees it. */
char *faults_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Posts of room r so far, per the server. */
int faults_posted(const faults *f, int r);

/* Run the named suite of tests; an argument runs only the tests whose names
 * contain it. Returns the exit status. */
int faults_main(const char *name, const TTest *const *tests, size_t n, int argc, char **argv);

#endif
