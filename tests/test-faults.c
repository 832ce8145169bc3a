/* test-faults.c: the fault matrix, part one: streams cut mid-item (with a
 * short and a three-page gap), cut at twenty random byte offsets, stalled,
 * a server restart, gap-fill pages overlapping the live stream, and resuming
 * from a checkpoint in a new handle. Each case checks that every message the
 * room sent is delivered exactly once, in order, with the right backfill
 * flag (faults-support.c), and prints "faults: <case>: sent N delivered N
 * duplicates D". Reconnect classes, rate limits and many rooms at once are
 * in test-faults-more.c. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faults-support.h"

#define ROOM "5a1b2c3d4e5f60718293a4b5"

/* The last message delivered live before the first back-filled one. */
static const char *last_live_before_backfill(const faults *f, int r)
{
    size_t i = f->from;
    const char *last = NULL;
    for (const fault_event *e; (e = faults_next(f, &i, r, 'M')) && !e->backfill;)
        last = e->id;
    return last;
}

/* Case 1: K = 3 items, the 4th cut halfway, `during` more posted in the
 * outage, then 20 live ones. */
static void check_cut_mid_item(int during, int pages, const char *name)
{
    char *sc = faults_format("room " ROOM "\npost 4 every 20 start 500\npost %d at 580\n"
                             "post 20 every 20 start 1500\n"
                             "conn 1 stream keepalive 100 cut-after 3\n"
                             "conn default stream keepalive 100\n",
                             during);
    faults *f = faults_start(sc);
    free(sc);
    int r = faults_add_room(f, ROOM, 4 + during + 20);
    f->room[r].min_connects = 2;
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 20000));
    fault_report rep;
    faults_verify(f, r, &rep);
    ck_assert_int_eq(rep.sent, 4 + during + 20);
    ck_assert_int_eq(rep.delivered, rep.sent);
    ck_assert_int_eq(rep.backfilled, 1 + during); /* the cut item and the outage's */
    ck_assert_int_eq(rep.rest_requests, pages);
    ck_assert_int_eq(rep.full_pages, pages - 1);
    ck_assert_str_eq(rep.first_after, last_live_before_backfill(f, r));
    ck_assert_uint_eq(rep.duplicates, (unsigned long long)rep.overlap);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 2);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_RECONNECTS), 1);
    ck_assert_int_eq(faults_count(f, r, 'E'), 1);
    size_t i = 0;
    const fault_event *e = faults_next(f, &i, r, 'E');
    ck_assert_int_eq(e->code, GITTERSTREAM_E_NETWORK);
    ck_assert_int_ge(e->retry, 125);
    ck_assert_int_le(e->retry, 250);
    ck_assert_int_eq(gitterstream_sub_state(sub), GITTERSTREAM_STREAMING);
    faults_print(name, &rep, 1);
    faults_stop(f);
}

START_TEST(test_cut_mid_item_with_5_sent_during_outage_backfills_them_in_one_page)
{
    check_cut_mid_item(5, 1, "cut mid-item, 5 during outage");
}
END_TEST

START_TEST(test_cut_mid_item_with_250_sent_during_outage_backfills_three_pages)
{
    check_cut_mid_item(250, 3, "cut mid-item, 250 during outage");
}
END_TEST

#define CUTS 20

START_TEST(test_twenty_cuts_at_random_byte_offsets_lose_and_repeat_nothing)
{
    /* connection n is cut once `cut[n]` bytes of its body went out; the
     * first after at least two whole items (~490 bytes each), so that the
     * subscription has something to fill the gap after */
    unsigned long long rng = 20261204;
    int cut[CUTS];
    size_t cap = 4096, len = 0;
    char *sc = malloc(cap);
    ck_assert_ptr_nonnull(sc);
    len += (size_t)snprintf(sc, cap, "room " ROOM "\npost 3000 every 5 start 500\n");
    for (int n = 0; n < CUTS; n++) {
        int fresh;
        do {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            cut[n] = (n == 0 ? 1000 : 1) + (int)((rng >> 33) % (n == 0 ? 3000 : 6000));
            fresh = 1;
            for (int k = 0; k < n; k++)
                fresh &= cut[k] != cut[n];
        } while (!fresh);
        len += (size_t)snprintf(sc + len, cap - len,
                                "conn %d stream keepalive 100 cut-at-byte %d\n", n + 1, cut[n]);
    }
    snprintf(sc + len, cap - len, "conn default stream keepalive 100\n");
    faults *f = faults_start(sc);
    free(sc);
    /* connections live tens of ms: count them healthy, or the waits grow */
    ck_assert_int_eq(gitterstream_set_int(f->l->gs, GITTERSTREAM_OPT_HEALTHY_AFTER_MS, 10), 0);
    int r = faults_add_room(f, ROOM, 0);
    f->room[r].min_connects = CUTS + 1;
    f->caught_up_by_log = 1;
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 40000));
    fault_report rep;
    faults_verify(f, r, &rep);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), CUTS + 1);
    ck_assert_int_eq(faults_count(f, r, 'E'), CUTS);
    size_t i = 0;
    for (const fault_event *e; (e = faults_next(f, &i, r, 'E'));)
        ck_assert_msg(e->code == GITTERSTREAM_E_NETWORK || e->code == GITTERSTREAM_E_CLOSED,
                      "error %d at %lld ms", e->code, e->t);
    ck_assert_int_gt(rep.backfilled, 0);
    ck_assert_int_gt(rep.rest_requests, 0);
    ck_assert_int_eq(rep.delivered, rep.sent);
    faults_print("20 cuts at random bytes", &rep, 1);
    faults_stop(f);
}
END_TEST

START_TEST(test_stall_reconnects_once_and_backfills_the_silence)
{
    faults *f = faults_start("room " ROOM "\npost 60 every 20 start 500\n"
                             "conn 1 stream keepalive 100 stall-after 5\n"
                             "conn default stream keepalive 100\n");
    int r = faults_add_room(f, ROOM, 60);
    f->room[r].min_connects = 2;
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 20000));
    fault_report rep;
    faults_verify(f, r, &rep);
    ck_assert_int_eq(rep.delivered, 60);
    ck_assert_int_eq(rep.sent, 60);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_STALLS), 1);
    ck_assert_int_eq(faults_count(f, r, 'E'), 1);
    size_t i = 0, m = 0;
    const fault_event *e = faults_next(f, &i, r, 'E'), *fifth = NULL;
    for (int n = 0; n < 5; n++)
        fifth = faults_next(f, &m, r, 'M');
    ck_assert_int_eq(e->code, GITTERSTREAM_E_STALL);
    ck_assert_int_eq(e->status, 0);
    ck_assert_int_ge(e->retry, 125); /* a healthy connection: attempt 1 */
    ck_assert_int_le(e->retry, 250);
    /* no byte after the fifth item: stalled 500 ms later, not before */
    ck_assert_int_ge(e->t - fifth->t, 490);
    ck_assert_int_le(e->t - fifth->t, 1500);
    ck_assert_int_ge(rep.backfilled, 20); /* 625 ms and more at one post per 20 ms */
    ck_assert_str_eq(rep.first_after, fifth->id);
    ck_assert_uint_eq(rep.duplicates, (unsigned long long)rep.overlap);
    faults_print("stall", &rep, 1);
    faults_stop(f);
}
END_TEST

START_TEST(test_server_restart_on_the_same_port_loses_nothing)
{
    faults *f = faults_start("room " ROOM "\npost 80 every 20 start 500\n"
                             "conn default stream keepalive 100\n");
    int r = faults_add_room(f, ROOM, 5);
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 20000));
    ck_assert_int_eq(fakeserver_halt(f->l->fs), 0);
    ck_assert(faults_drive(f, faults_all_failed, 20000));
    size_t i = 0;
    const fault_event *e = faults_next(f, &i, r, 'E');
    ck_assert_msg(e->code == GITTERSTREAM_E_NETWORK || e->code == GITTERSTREAM_E_CLOSED, "error %d",
                  e->code);
    ck_assert_int_gt(e->retry, 0);
    ck_assert_int_eq(fakeserver_restart(f->l->fs), 0);
    f->room[r].want = 80;
    f->room[r].min_connects = 2;
    ck_assert(faults_drive(f, faults_done, 20000));
    fault_report rep;
    faults_verify(f, r, &rep);
    ck_assert_int_eq(rep.delivered, 80);
    ck_assert_int_eq(rep.sent, 80);
    ck_assert_int_ge(rep.backfilled, 1); /* posted between the restart and the reconnect */
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 2);
    ck_assert_uint_eq(rep.duplicates, (unsigned long long)rep.overlap);
    faults_print("server restart", &rep, 1);
    faults_stop(f);
}
END_TEST

/* Case 8: conn 1 delivers 2 items and is cut in the 3rd; posting goes on
 * every `every` ms while the application takes `slow` ms over the start of
 * the gap-fill, so the page holds items the new stream carries too. */
static void check_overlap(int count, int every, int slow, int min_overlap, const char *name)
{
    char *sc =
        faults_format("room " ROOM "\npost 3 every 20 start 500\npost %d every %d start 600\n"
                      "conn 1 stream keepalive 100 cut-after 2\n"
                      "conn default stream keepalive 100\n",
                      count, every);
    faults *f = faults_start(sc);
    free(sc);
    f->slow_backfill_ms = slow;
    /* the stalled loop must not look like a stalled stream */
    ck_assert_int_eq(gitterstream_set_int(f->l->gs, GITTERSTREAM_OPT_STALL_TIMEOUT_MS, 5000), 0);
    int r = faults_add_room(f, ROOM, 3 + count);
    f->room[r].min_connects = 2;
    faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 30000));
    fault_report rep;
    faults_verify(f, r, &rep); /* among others: no id twice */
    ck_assert_int_eq(rep.delivered, 3 + count);
    ck_assert_int_eq(rep.sent, 3 + count);
    ck_assert_int_ge(rep.overlap, min_overlap);
    ck_assert_uint_eq(rep.duplicates, (unsigned long long)rep.overlap);
    faults_print(name, &rep, 1);
    faults_stop(f);
}

START_TEST(test_page_overlapping_the_live_stream_drops_and_counts_duplicates)
{
    check_overlap(300, 2, 60, 10, "page overlapping the stream");
}
END_TEST

START_TEST(test_hundreds_of_held_live_items_still_drop_every_duplicate)
{
    /* 500 ms at one post per ms: far more held live items than a small
     * window of recent ids can remember, overlapping the last page */
    check_overlap(1500, 1, 500, 1, "long hold");
}
END_TEST

START_TEST(test_resume_after_checkpoint_in_new_handle_gets_exactly_the_missed_ones)
{
    faults *f = faults_start("room " ROOM "\npost 100 every 20 start 500\n"
                             "conn default stream keepalive 100\n");
    int r = faults_add_room(f, ROOM, 10);
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert(faults_drive(f, faults_done, 20000));
    fault_report first;
    faults_verify(f, r, &first);
    ck_assert_int_eq(first.backfilled, 0);
    char checkpoint[FAULTS_ID];
    snprintf(checkpoint, sizeof checkpoint, "%s", gitterstream_sub_last_id(sub));
    int posted = faults_posted(f, r);
    faults_new_handle(f); /* the process restarts */
    for (long long end = faults_now(f) + 10000;
         faults_posted(f, r) < posted + 15 && faults_now(f) < end;)
        nanosleep(&(struct timespec){0, 20000000L}, NULL);
    ck_assert_int_ge(faults_posted(f, r), posted + 15);
    sub = faults_subscribe(f, r);
    ck_assert_int_eq(gitterstream_sub_resume_after(sub, checkpoint), 0);
    snprintf(f->room[r].checkpoint, sizeof f->room[r].checkpoint, "%s", checkpoint);
    char *ids = fakeserver_posted_ids(f->l->fs, ROOM), *at = strstr(ids, checkpoint);
    ck_assert_ptr_nonnull(at);
    int before = 1;
    for (const char *p = ids; p < at; p++)
        before += *p == '\n';
    free(ids);
    f->room[r].want = 100 - before;
    ck_assert(faults_drive(f, faults_done, 20000));
    fault_report rep;
    faults_verify(f, r, &rep);
    ck_assert_int_eq(rep.delivered, 100 - before);
    ck_assert_int_eq(rep.sent, rep.delivered);
    ck_assert_str_eq(rep.first_after, checkpoint);
    ck_assert_int_ge(rep.backfilled, 15); /* what the restart missed, then live */
    size_t i = f->from;
    for (int n = 0; n < 15; n++)
        ck_assert_int_eq(faults_next(f, &i, r, 'M')->backfill, 1);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 1);
    ck_assert_int_eq(faults_count(f, r, 'E'), 0);
    ck_assert_uint_eq(rep.duplicates, (unsigned long long)rep.overlap);
    fault_report both[2] = {first, rep};
    faults_print("resume from checkpoint", both, 2);
    faults_stop(f);
}
END_TEST

START_TEST(test_resume_after_once_driven_is_refused_with_state_error)
{
    faults *f = faults_start("room " ROOM "\nconn default stream keepalive 100\n");
    int r = faults_add_room(f, ROOM, 0);
    gitterstream_sub *sub = faults_subscribe(f, r);
    ck_assert_int_eq(gitterstream_poll(f->l->gs, 0), 0);
    ck_assert_int_eq(gitterstream_sub_resume_after(sub, "35211aa8c000000000000001"),
                     GITTERSTREAM_E_STATE);
    ck_assert_ptr_null(gitterstream_sub_last_id(sub));
    faults_stop(f);
}
END_TEST

int main(int argc, char **argv)
{
    const TTest *tests[] = {
        test_cut_mid_item_with_5_sent_during_outage_backfills_them_in_one_page,
        test_cut_mid_item_with_250_sent_during_outage_backfills_three_pages,
        test_twenty_cuts_at_random_byte_offsets_lose_and_repeat_nothing,
        test_stall_reconnects_once_and_backfills_the_silence,
        test_server_restart_on_the_same_port_loses_nothing,
        test_page_overlapping_the_live_stream_drops_and_counts_duplicates,
        test_hundreds_of_held_live_items_still_drop_every_duplicate,
        test_resume_after_checkpoint_in_new_handle_gets_exactly_the_missed_ones,
        test_resume_after_once_driven_is_refused_with_state_error,
    };
    return faults_main("faults", tests, sizeof tests / sizeof *tests, argc, argv);
}
