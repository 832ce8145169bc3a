/* test-backfill.c: the gap-fill's edges: an unsubscription in the middle of
 * a page, an unreadable item in a full page, a live item the pages do not
 * have, and pages that keep failing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "check-run.h"

#define ROOM "0123456789abcdef01234567"

/* The id of the room's n-th posted message (from 1), history included. */
static void posted_id(const live *l, int n, char out[32])
{
    char *ids = fakeserver_posted_ids(l->fs, ROOM);
    const char *p = ids;
    for (int i = 1; i < n && p; i++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    ck_assert_ptr_nonnull(p);
    snprintf(out, 32, "%.24s", p);
    free(ids);
}

static gitterstream_sub *resume(live *l, int after)
{
    char id[32];
    posted_id(l, after, id);
    gitterstream_sub *sub = live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert_int_eq(gitterstream_sub_resume_after(sub, id), 0);
    return sub;
}

static void unsubscribe_at_first(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    int *calls = ud;
    if ((*calls)++ == 0)
        ck_assert_int_eq(gitterstream_unsubscribe(sub), 0);
}

START_TEST(test_unsubscribe_during_a_page_stops_every_callback)
{
    live *l = live_start("room " ROOM "\nhistory 150\nconn default stream keepalive 200\n", NULL);
    int calls = 0;
    resume(l, 1);
    gitterstream_on_message(l->gs, unsubscribe_at_first, &calls);
    ck_assert_int_eq(gitterstream_run(l->gs), 0); /* returns: no subscription left */
    ck_assert_int_eq(calls, 1);
    live_stop(l);
}
END_TEST

static int got_149(const live *l)
{
    return l->messages >= 149;
}

START_TEST(test_unreadable_item_in_a_full_page_does_not_end_the_gap)
{
    char big[3001];
    memset(big, 'x', 3000);
    big[3000] = '\0';
    char *scenario = malloc(4000);
    snprintf(scenario, 4000,
             "room " ROOM "\nhistory 50\nhistory 1 text \"%s\"\nhistory 100\n"
             "conn default stream keepalive 200\n",
             big);
    live *l = live_start(scenario, NULL);
    free(scenario);
    ck_assert_int_eq(gitterstream_set_int(l->gs, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, 2000), 0);
    gitterstream_sub *sub = resume(l, 1);
    ck_assert(live_drive(l, DRIVE_POLL, got_149, 20000));
    /* messages 2 to 151 but the oversized 51st: two pages, the first full */
    ck_assert_int_eq(l->messages, 149);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_OVERSIZE), 1);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_BACKFILLED), 149);
    char last[32];
    posted_id(l, 151, last);
    ck_assert_str_eq(gitterstream_sub_last_id(sub), last);
    live_stop(l);
}
END_TEST

static int got_3(const live *l)
{
    return l->messages >= 3;
}

START_TEST(test_live_item_missing_from_the_pages_survives_a_failed_page)
{
    /* the stream carries a message the REST pages never list (as a thread
     * reply may be), while the first page fails and live items are held */
    live *l = live_start(
        "room " ROOM "\nhistory 5\npost 1 at 1000\npost 1 at 1200\n"
        "conn 1 stream keepalive 300 inject 1 raw "
        "\"{\\\"id\\\":\\\"ffffffffffffffffffffffff\\\",\\\"text\\\":\\\"thread reply\\\"}\\n\"\n"
        "rest 1 status 502\n",
        NULL);
    gitterstream_sub *sub = resume(l, 5);
    ck_assert(live_drive(l, DRIVE_POLL, got_3, 20000));
    char a[32], b[32];
    posted_id(l, 6, a);
    posted_id(l, 7, b);
    char want[128];
    snprintf(want, sizeof want, "%s\n%s\nffffffffffffffffffffffff\n", a, b);
    char *got = live_received(l, 'M', ROOM);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_DUPLICATES), 2);
    free(got);
    live_stop(l);
}
END_TEST

static int gave_up_and_streams(const live *l)
{
    return strstr(l->log, "giving up") != NULL && l->messages >= 3;
}

START_TEST(test_pages_failing_again_and_again_give_the_gap_up_and_stream_on)
{
    live *l = live_start("room " ROOM "\nhistory 5\npost 100 every 100 start 100\n"
                         "conn default stream keepalive 300\nrest default close\n",
                         NULL);
    gitterstream_sub *sub = resume(l, 5);
    ck_assert(live_drive(l, DRIVE_POLL, gave_up_and_streams, 20000));
    ck_assert_int_eq(gitterstream_sub_state(sub), GITTERSTREAM_STREAMING);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_BACKFILLED), 0);
    /* reported with the stream going on: retry 0 */
    ck_assert_ptr_nonnull(strstr(l->log, " 0 gap-fill of room " ROOM));
    live_stop(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backfill");
    TCase *tc = tcase_create("backfill");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_unsubscribe_during_a_page_stops_every_callback);
    tcase_add_test(tc, test_unreadable_item_in_a_full_page_does_not_end_the_gap);
    tcase_add_test(tc, test_live_item_missing_from_the_pages_survives_a_failed_page);
    tcase_add_test(tc, test_pages_failing_again_and_again_give_the_gap_up_and_stream_on);
    suite_add_tcase(s, tc);
    return check_run(s);
}
