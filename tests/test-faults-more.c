/* test-faults-more.c: the fault matrix, part two: the reconnect classes
 * (502/503, 429 with X-RateLimit-Reset, a server that accepts and drops at
 * once) each followed by a gap-fill, and fifty rooms failing in different
 * ways at once. Every case checks exactly-once, in-order delivery with the
 * right backfill flags (faults-support.c) and prints "faults: <case>: sent N
 * delivered N duplicates D". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults-support.h"

#define ROOM "5a1b2c3d4e5f60718293a4b5"

/* The next error of room r, which must exist. */
static const fault_event *next_error(const faults *f, size_t *i, int r)
{
    const fault_event *e = faults_next(f, i, r, 'E');
    ck_assert_ptr_nonnull(e);
    return e;
}

/* The first connection attempt of room r after event index i. */
static const fault_event *next_attempt(const faults *f, size_t i, int r)
{
    const fault_event *s;
    while ((s = faults_next(f, &i, r, 'S')) && s->state != GITTERSTREAM_CONNECTING)
        ;
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(test_502_and_503_wait_five_seconds_doubling_then_backfill)
{
    /* 502 first (attempt 1: 5 s), a healthy stream cut (counts restart:
     * 250 ms), then 503 (attempt 2: 10 s) */
    faults *f = faults_start("room " ROOM "\npost 800 every 25 start 500\n"
                             "conn 1 status 502\n"
                             "conn 2 stream keepalive 100 cut-after 10\n"
                             "conn 3 status 503\n"
                             "conn default stream keepalive 100\n");
    /* a seed whose jitter falls low keeps this short; the bounds hold for any */
    ck_assert_int_eq(gitterstream_set_int(f->l->gs, GITTERSTREAM_OPT_RANDOM_SEED, 13), 0);
    int r = faults_add_room(f, ROOM, 0);
    f->room[r].first_ok = 2; /* nothing was delivered before: no gap to fill */
    f->room[r].min_connects = 2;
    f->caught_up_by_log = 1;
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 30000));
    fault_report rep;
    faults_verify(f, r, &rep);
    size_t i = 0;
    const fault_event *e = next_error(f, &i, r);
    ck_assert_int_eq(e->code, GITTERSTREAM_E_HTTP);
    ck_assert_int_eq(e->status, 502);
    ck_assert_int_ge(e->retry, 2500);
    ck_assert_int_le(e->retry, 5000);
    e = next_error(f, &i, r);
    ck_assert_int_eq(e->code, GITTERSTREAM_E_NETWORK);
    ck_assert_int_ge(e->retry, 125);
    ck_assert_int_le(e->retry, 250);
    e = next_error(f, &i, r);
    ck_assert_int_eq(e->code, GITTERSTREAM_E_HTTP);
    ck_assert_int_eq(e->status, 503);
    ck_assert_int_ge(e->retry, 5000);
    ck_assert_int_le(e->retry, 10000);
    ck_assert_int_eq(faults_count(f, r, 'E'), 3);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 2);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_RECONNECTS), 3);
    ck_assert_int_ge(rep.backfilled, 100); /* 5 s and more at one post per 25 ms */
    ck_assert_int_eq(rep.delivered, rep.sent);
    faults_print("502/503 burst", &rep, 1);
    faults_stop(f);
}
END_TEST

START_TEST(test_429_with_ratelimit_reset_retries_when_the_reset_says)
{
    faults *f = faults_start("room " ROOM "\npost 150 every 20 start 500\n"
                             "conn 1 stream keepalive 100 cut-after 5\n"
                             "conn 2 status 429 ratelimit-limit 100 ratelimit-remaining 0 "
                             "ratelimit-reset 2000\n"
                             "conn default stream keepalive 100\n");
    int r = faults_add_room(f, ROOM, 150);
    f->room[r].min_connects = 2;
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 20000));
    fault_report rep;
    faults_verify(f, r, &rep);
    ck_assert_int_eq(rep.delivered, 150);
    ck_assert_int_eq(rep.sent, 150);
    size_t i = 0;
    const fault_event *cut = next_error(f, &i, r), *limited = next_error(f, &i, r);
    ck_assert_int_eq(cut->code, GITTERSTREAM_E_NETWORK);
    ck_assert_int_eq(limited->code, GITTERSTREAM_E_RATE_LIMITED);
    ck_assert_int_eq(limited->status, 429);
    /* the reset names 2 s from the answer: not 60 s, not jittered below */
    ck_assert_int_ge(limited->retry, 1500);
    ck_assert_int_le(limited->retry, 2100);
    const fault_event *asked = next_attempt(f, (size_t)(cut - f->ev), r),
                      *again = next_attempt(f, (size_t)(limited - f->ev), r);
    ck_assert_int_ge(again->t - asked->t, 1500);
    ck_assert_int_lt(again->t - asked->t, 10000);
    ck_assert_int_ge(again->t - limited->t, 1500);
    ck_assert_int_eq(faults_count(f, r, 'E'), 2);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 2);
    ck_assert_int_ge(rep.backfilled, 75); /* 2 s and more at one post per 20 ms */
    ck_assert_uint_eq(rep.duplicates, (unsigned long long)rep.overlap);
    faults_print("429 with X-RateLimit-Reset", &rep, 1);
    faults_stop(f);
}
END_TEST

START_TEST(test_accept_then_close_cannot_cause_a_storm_and_then_recovers)
{
    /* after the first cut, six attempts that fail at once: closed without a
     * reply, then 200 and an empty stream (in that order: libcurl itself
     * retries a request on a reused connection that closes without a reply).
     * None is healthy, so attempt n waits within [125 n, 250 n] ms whatever
     * the class */
    faults *f = faults_start("room " ROOM "\npost 600 every 20 start 500\n"
                             "conn 1 stream keepalive 100 cut-after 3\n"
                             "conn 2-4 close\nconn 5-7 stream end-after 0\n"
                             "conn default stream keepalive 100\n");
    ck_assert_int_eq(gitterstream_set_int(f->l->gs, GITTERSTREAM_OPT_HEALTHY_AFTER_MS, 1000), 0);
    int r = faults_add_room(f, ROOM, 3);
    f->room[r].min_connects = 5; /* conn 1, 5, 6, 7 and 8 answer 200 */
    f->caught_up_by_log = 1;
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 30000));
    fault_report rep;
    faults_verify(f, r, &rep);
    ck_assert_int_eq(faults_count(f, r, 'E'), 7);
    size_t i = 0;
    long long first = -1;
    for (int n = 1; n <= 7; n++) {
        const fault_event *e = next_error(f, &i, r);
        ck_assert_msg(e->code == (n <= 4 ? GITTERSTREAM_E_NETWORK : GITTERSTREAM_E_CLOSED),
                      "failure %d: code %d", n, e->code);
        ck_assert_msg(e->retry >= 125L * n && e->retry <= 250L * n,
                      "failure %d: retry %ld ms, not within [%d, %d]", n, e->retry, 125 * n,
                      250 * n);
        first = first < 0 ? e->t : first;
    }
    /* the policy allows at most 9 attempts in 5 s (attempt n + 1 comes 125 n
     * ms after attempt n at the earliest) */
    int attempts = 0;
    i = 0;
    for (const fault_event *s; (s = faults_next(f, &i, r, 'S'));)
        attempts += s->state == GITTERSTREAM_CONNECTING && s->t >= first && s->t < first + 5000;
    ck_assert_int_le(attempts, 12);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_RECONNECTS), 7);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 5);
    ck_assert_int_ge(rep.backfilled, 100); /* 3.5 s and more at one post per 20 ms */
    ck_assert_int_eq(rep.delivered, rep.sent);
    faults_print("accept then close", &rep, 1);
    faults_stop(f);
}
END_TEST

#define ROOMS 50

START_TEST(test_fifty_rooms_failing_each_their_own_way_lose_and_repeat_nothing)
{
    static const char *const dialects[] = {"lf", "cr", "crlf"};
    size_t cap = ROOMS * 400, len = 0;
    char *sc = malloc(cap);
    ck_assert_ptr_nonnull(sc);
    int first_ok[ROOMS], min_connects[ROOMS];
    for (int i = 0; i < ROOMS; i++) {
        int k = 2 + i / 10; /* items delivered before the fault */
        const char *d = dialects[i % 3];
        char fault[200]; /* the last line is a stream's: keep-alives go on it */
        first_ok[i] = 1;
        min_connects[i] = 2;
        switch (i % 10) {
        case 0:
            snprintf(fault, sizeof fault, "conn 1 stream dialect %s cut-after %d", d, k);
            break;
        case 1:
            snprintf(fault, sizeof fault, "conn 1 stream dialect %s cut-at-byte %d", d,
                     600 * k + 37 * i);
            break;
        case 2:
            snprintf(fault, sizeof fault, "conn 1 stream dialect %s stall-after %d", d, k);
            break;
        case 3: /* nothing delivered before the 502: counts from conn 2 */
            snprintf(fault, sizeof fault, "conn 1 status 502\nconn 2 stream cut-after %d", k);
            first_ok[i] = 2;
            break;
        case 4:
            snprintf(fault, sizeof fault,
                     "conn 2 status 429 retry-after 1\nconn 1 stream cut-after %d", k);
            break;
        case 5:
            snprintf(fault, sizeof fault,
                     "conn 2 status 429 ratelimit-reset 1500\nconn 1 stream cut-after %d", k);
            break;
        case 6:
            snprintf(fault, sizeof fault, "conn 2-3 close\nconn 1 stream cut-after %d", k);
            break;
        case 7:
            snprintf(fault, sizeof fault, "conn 1 stream dialect %s end-after %d", d, k);
            break;
        case 8:
            snprintf(fault, sizeof fault, "conn 1 stream chunking drip cut-after %d", k);
            break;
        default:
            snprintf(fault, sizeof fault,
                     "conn 2 stream end-after 0\nconn 1 stream dialect pretty end-after %d", k);
            min_connects[i] = 3;
            break;
        }
        len += (size_t)snprintf(sc + len, cap - len,
                                "room 5a1b2c3d4e5f6071829300%02x\npost 120 every 50 start 500\n"
                                "%s keepalive 100\nconn default stream dialect %s keepalive 100\n",
                                i, fault, d);
        ck_assert_uint_lt(len, cap);
    }
    faults *f = faults_start(sc);
    free(sc);
    f->caught_up_by_log = 1;
    for (int i = 0; i < ROOMS; i++) {
        char id[32];
        snprintf(id, sizeof id, "5a1b2c3d4e5f6071829300%02x", i);
        int r = faults_add_room(f, id, 0);
        f->room[r].first_ok = first_ok[i];
        f->room[r].min_connects = min_connects[i];
        faults_subscribe(f, r);
    }
    ck_assert(faults_drive(f, faults_done, 40000));
    fault_report rep[ROOMS];
    for (int r = 0; r < ROOMS; r++) {
        faults_verify(f, r, &rep[r]);
        ck_assert_msg(faults_count(f, r, 'E') >= 1, "room %d: no fault seen", r);
        ck_assert_msg(rep[r].backfilled >= 1, "room %d: nothing back-filled", r);
        ck_assert_msg(rep[r].delivered == rep[r].sent, "room %d: %d of %d delivered", r,
                      rep[r].delivered, rep[r].sent);
        size_t i = 0;
        const fault_event *e = next_error(f, &i, r);
        if (r % 10 == 2) {
            ck_assert_int_eq(e->code, GITTERSTREAM_E_STALL);
            ck_assert_uint_eq(gitterstream_sub_stat(f->room[r].sub, GITTERSTREAM_STAT_STALLS), 1);
        } else if (r % 10 == 3) {
            ck_assert_int_eq(e->status, 502);
            ck_assert_msg(e->retry >= 2500 && e->retry <= 5000, "room %d: 502: %ld", r, e->retry);
        } else if (r % 10 == 4 || r % 10 == 5) {
            e = next_error(f, &i, r); /* after the cut: Retry-After 1 s, or reset in 1.5 s */
            ck_assert_int_eq(e->code, GITTERSTREAM_E_RATE_LIMITED);
            ck_assert_msg(e->retry >= 900 && e->retry <= (r % 10 == 4 ? 1000 : 1600),
                          "room %d: 429: %ld", r, e->retry);
        }
    }
    faults_print("50 rooms at once", rep, ROOMS);
    faults_stop(f);
}
END_TEST

int main(int argc, char **argv)
{
    const TTest *tests[] = {
        test_502_and_503_wait_five_seconds_doubling_then_backfill,
        test_429_with_ratelimit_reset_retries_when_the_reset_says,
        test_accept_then_close_cannot_cause_a_storm_and_then_recovers,
        test_fifty_rooms_failing_each_their_own_way_lose_and_repeat_nothing,
    };
    return faults_main("faults-more", tests, sizeof tests / sizeof *tests, argc, argv);
}
