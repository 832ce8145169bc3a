/* live.h: integration-test harness: a fake Gitter server, a handle pointed
 * at it, a log of everything the handle called back, and the three ways to
 * drive the handle. */
#ifndef TEST_LIVE_H
#define TEST_LIVE_H

#include <gitterstream.h>

#include "fakeserver-client.h"

#define TEST_TOKEN "t0k3n-s3cr3t-value"

typedef enum drive_mode { DRIVE_RUN, DRIVE_POLL, DRIVE_HOST } drive_mode;

typedef struct live {
    fakeserver *fs;
    gitterstream *gs;
    char *log; /* "M room id", "V room id" (event), "K room", "E room code status retry text",
                  "S room state", one per line */
    size_t len, cap;
    int subs;                            /* subscriptions made through live_subscribe */
    int failed;                          /* subscriptions that reported at least one error */
    int (*finish)(const struct live *l); /* checked after each callback */
    int messages, events, keepalives, errors, stopped;
    int last_code;
    long last_status, last_retry;
    char last_text[512];
} live;

/* Start the fake server on scenario (extra server arguments may be NULL),
 * and a handle with its URL as stream and API URL, TEST_TOKEN and recording
 * callbacks. */
live *live_start(const char *scenario, const char *const *server_args);
void live_stop(live *l);

/* Drive l->gs in the given mode until done(l) holds (DRIVE_RUN: callbacks
 * break the run once it does), within timeout_ms. Returns 1 if it finished
 * in time. */
int live_drive(live *l, drive_mode mode, int (*done)(const live *l), int timeout_ms);

/* Subscribe, asserting success, and count the subscription. */
gitterstream_sub *live_subscribe(live *l, const char *room, gitterstream_resource res);

/* Ids delivered for room as messages (kind 'M') or events ('V'), each
 * followed by '\n'; caller frees. */
char *live_received(const live *l, char kind, const char *room);
/* Ids the server posted to room after its stream request number n (from 1),
 * i.e. what that connection should have streamed, each followed by '\n';
 * at most max of them (0: all). Caller frees. */
char *live_expected(const live *l, const char *room, int n, int max);

/* For live_drive: every subscription made through live_subscribe stopped;
 * or saw its connection fail at least once. */
int live_all_stopped(const live *l);
int live_all_failed(const live *l);

#endif
