/* test-live.c: the handle against the fake server: the three ways to drive
 * it, many subscriptions, and what callbacks may do. */
#include <check.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "live.h"
#include "check-run.h"

#define ROOM_A "5a1b2c3d4e5f60718293a4b5"
#define ROOM_B "5a1b2c3d4e5f60718293a4b6"

/* Ten messages 20 ms apart; the stream ends cleanly after them. */
static const char *const ten_messages = "room " ROOM_A "\n"
                                        "post 500 every 20 start 300\n"
                                        "conn 1 stream dialect cr keepalive 15 end-after 10\n";

static void check_drive_mode_delivers_posted_messages(drive_mode mode)
{
    live *l = live_start(ten_messages, NULL);
    gitterstream_sub *sub = live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, mode, live_all_failed, 20000));
    char *got = live_received(l, 'M', ROOM_A), *want = live_expected(l, ROOM_A, 1, 10);
    ck_assert_str_ne(want, "");
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(l->last_code, GITTERSTREAM_E_CLOSED);
    /* the first transient failure: reconnect after 250 ms, jittered down to half */
    ck_assert_int_ge(l->last_retry, 125);
    ck_assert_int_le(l->last_retry, 250);
    ck_assert_int_eq(gitterstream_sub_state(sub), GITTERSTREAM_WAITING);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_MESSAGES),
                      (unsigned long long)l->messages);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 1);
    ck_assert_uint_gt(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_BYTES), 0);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_KEEPALIVES),
                      (unsigned long long)l->keepalives);
    free(got);
    free(want);
    live_stop(l);
}

START_TEST(test_run_delivers_every_message_posted_after_connecting)
{
    check_drive_mode_delivers_posted_messages(DRIVE_RUN);
}
END_TEST

START_TEST(test_poll_delivers_every_message_posted_after_connecting)
{
    check_drive_mode_delivers_posted_messages(DRIVE_POLL);
}
END_TEST

START_TEST(test_host_loop_delivers_every_message_posted_after_connecting)
{
    check_drive_mode_delivers_posted_messages(DRIVE_HOST);
}
END_TEST

START_TEST(test_states_go_connecting_streaming_waiting)
{
    live *l = live_start(ten_messages, NULL);
    live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    const char *c = strstr(l->log, "S " ROOM_A " 0\n"), *s = strstr(l->log, "S " ROOM_A " 1\n"),
               *w = strstr(l->log, "S " ROOM_A " 3\n");
    ck_assert(c && s && w && c < s && s < w);
    live_stop(l);
}
END_TEST

START_TEST(test_last_id_names_the_last_delivered_message)
{
    live *l = live_start(ten_messages, NULL);
    gitterstream_sub *sub = live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert_ptr_null(gitterstream_sub_last_id(sub));
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    char *got = live_received(l, 'M', ROOM_A);
    ck_assert_uint_gt(strlen(got), 0);
    got[strlen(got) - 1] = '\0';
    const char *last = strrchr(got, '\n') ? strrchr(got, '\n') + 1 : got;
    ck_assert_str_eq(gitterstream_sub_last_id(sub), last);
    free(got);
    live_stop(l);
}
END_TEST

#define MANY 200

START_TEST(test_two_hundred_subscriptions_each_get_their_own_messages)
{
    size_t cap = MANY * 128, n = 0;
    char *scenario = malloc(cap);
    char rooms[MANY][25];
    for (int i = 0; i < MANY; i++) {
        snprintf(rooms[i], sizeof rooms[i], "5a1b2c3d4e5f607182%06x", i);
        n += (size_t)snprintf(scenario + n, cap - n,
                              "room %s\npost 200 every 50 start 1000\nconn 1 stream end-after 3\n",
                              rooms[i]);
    }
    live *l = live_start(scenario, NULL);
    free(scenario);
    for (int i = 0; i < MANY; i++)
        live_subscribe(l, rooms[i], GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 60000));
    int total = 0;
    for (int i = 0; i < MANY; i++) {
        char *got = live_received(l, 'M', rooms[i]), *want = live_expected(l, rooms[i], 1, 3);
        ck_assert_msg(strcmp(got, want) == 0, "room %s got [%s] want [%s]", rooms[i], got, want);
        for (const char *p = got; *p; p++)
            total += *p == '\n';
        free(got);
        free(want);
    }
    ck_assert_int_eq(total, l->messages);
    ck_assert_int_gt(total, MANY); /* most rooms streamed */
    live_stop(l);
}
END_TEST

static void unsubscribe_self_at_third(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    int *seen = ud;
    if (++*seen == 3)
        ck_assert_int_eq(gitterstream_unsubscribe(sub), 0);
}

START_TEST(test_unsubscribe_inside_own_callback_stops_delivery)
{
    live *l = live_start(ten_messages, NULL);
    int seen = 0;
    gitterstream_on_message(l->gs, unsubscribe_self_at_third, &seen);
    gitterstream_subscribe(l->gs, ROOM_A, GITTERSTREAM_CHAT_MESSAGES, NULL);
    /* run returns once no subscription is left */
    ck_assert_int_eq(gitterstream_run(l->gs), 0);
    ck_assert_int_eq(seen, 3);
    live_stop(l);
}
END_TEST

struct other {
    gitterstream_sub *victim;
    int seen_a, seen_b_after;
};

static void unsubscribe_other(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    struct other *o = ud;
    if (strcmp(gitterstream_sub_room(sub), ROOM_A) != 0) {
        o->seen_b_after += o->victim == NULL;
        return;
    }
    o->seen_a++;
    if (o->victim) {
        ck_assert_int_eq(gitterstream_unsubscribe(o->victim), 0);
        o->victim = NULL;
    }
}

START_TEST(test_unsubscribe_other_subscription_inside_callback)
{
    live *l = live_start("room " ROOM_A "\npost 300 every 30 start 300\nconn 1 stream end-after 5\n"
                         "conn default status 404\n"
                         "room " ROOM_B "\npost 300 every 30 start 300\n",
                         NULL);
    struct other o = {NULL, 0, 0};
    gitterstream_on_message(l->gs, unsubscribe_other, &o);
    gitterstream_subscribe(l->gs, ROOM_A, GITTERSTREAM_CHAT_MESSAGES, NULL);
    gitterstream_subscribe(l->gs, ROOM_B, GITTERSTREAM_CHAT_MESSAGES, &o.victim);
    ck_assert_int_eq(gitterstream_run(l->gs), 0);
    ck_assert_int_gt(o.seen_a, 0);
    ck_assert_int_eq(o.seen_b_after, 0);
    live_stop(l);
}
END_TEST

struct breaker {
    gitterstream *gs;
    sem_t streaming;
};

static void post_once(gitterstream_sub *sub, void *ud)
{
    struct breaker *b = ud;
    int v;
    if (sem_getvalue(&b->streaming, &v) == 0 && v == 0)
        sem_post(&b->streaming);
}

static void *break_when_streaming(void *arg)
{
    struct breaker *b = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    sem_timedwait(&b->streaming, &deadline);
    gitterstream_break(b->gs);
    return NULL;
}

START_TEST(test_break_from_another_thread_returns_run)
{
    live *l = live_start("room " ROOM_A "\nconn default stream keepalive 20\n", NULL);
    struct breaker b;
    b.gs = l->gs;
    ck_assert_int_eq(sem_init(&b.streaming, 0, 0), 0);
    gitterstream_on_keepalive(l->gs, post_once, &b);
    live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, break_when_streaming, &b), 0);
    ck_assert_int_eq(gitterstream_run(l->gs), 0); /* the stream never ends by itself */
    pthread_join(t, NULL);
    int v = -1;
    sem_getvalue(&b.streaming, &v);
    ck_assert_int_eq(v, 0); /* the thread consumed the post: it broke after streaming began */
    ck_assert_int_eq(l->stopped, 0);
    sem_destroy(&b.streaming);
    live_stop(l);
}
END_TEST

START_TEST(test_subscribe_connects_only_on_the_next_turn)
{
    live *l = live_start(ten_messages, NULL);
    gitterstream_sub *sub = live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert_int_eq(l->len, 0); /* no callback from subscribe */
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 0);
    ck_assert_int_eq(gitterstream_poll(l->gs, 0), 0);
    ck_assert_ptr_nonnull(strstr(l->log, "S " ROOM_A " 0\n")); /* the attempt began */
    live_stop(l);
}
END_TEST

static void free_in_callback(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    live *l = ud;
    gitterstream_free(l->gs); /* refused: reported, handle intact */
    gitterstream_break(l->gs);
}

START_TEST(test_free_inside_callback_is_refused_with_state_error)
{
    live *l = live_start(ten_messages, NULL);
    gitterstream_on_message(l->gs, free_in_callback, l);
    live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert_int_eq(gitterstream_run(l->gs), 0);
    ck_assert_ptr_nonnull(strstr(l->log, "E - -3 0 -1 gitterstream_free called from a callback"));
    live_stop(l); /* frees it for real */
}
END_TEST

START_TEST(test_events_subscription_delivers_events)
{
    live *l = live_start("room " ROOM_A " events\npost 500 every 20 start 300\n"
                         "conn 1 stream end-after 4\n",
                         NULL);
    live_subscribe(l, ROOM_A, GITTERSTREAM_EVENTS);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    char *got = live_received(l, 'V', ROOM_A), *want = live_expected(l, ROOM_A, 1, 4);
    ck_assert_str_ne(want, "");
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(l->messages, 0);
    char *log = fakeserver_read_log(l->fs);
    ck_assert_ptr_nonnull(strstr(log, "/v1/rooms/" ROOM_A "/events"));
    free(log);
    free(got);
    free(want);
    live_stop(l);
}
END_TEST

START_TEST(test_cut_mid_item_reports_network_error)
{
    live *l = live_start(
        "room " ROOM_A "\npost 500 every 20 start 300\nconn 1 stream cut-after 3\n", NULL);
    live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_int_eq(l->last_code, GITTERSTREAM_E_NETWORK);
    ck_assert_int_le(l->messages, 3);
    live_stop(l);
}
END_TEST

START_TEST(test_malformed_items_are_reported_counted_and_skipped)
{
    live *l = live_start("room " ROOM_A "\npost 500 every 20 start 300\n"
                         "conn 1 stream dialect crlf inject 2 invalid-json inject 3 oversize 3000 "
                         "inject 4 invalid-utf8 overlong end-after 6\n",
                         NULL);
    gitterstream_set_int(l->gs, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, 2048);
    gitterstream_sub *sub = live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    char *got = live_received(l, 'M', ROOM_A), *want = live_expected(l, ROOM_A, 1, 6);
    ck_assert_str_eq(got, want);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_PARSE_ERRORS), 2);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_OVERSIZE), 1);
    ck_assert_ptr_nonnull(strstr(l->log, "E " ROOM_A " -10 0 0 "));
    ck_assert_ptr_nonnull(strstr(l->log, "E " ROOM_A " -11 0 0 "));
    free(got);
    free(want);
    live_stop(l);
}
END_TEST

static void refused_inside(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    live *l = ud;
    ck_assert_int_eq(gitterstream_run(l->gs), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_poll(l->gs, 0), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_fd_ready(l->gs, 0, GITTERSTREAM_WATCH_IN), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_timer_fired(l->gs), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_set_watch(l->gs, NULL, NULL), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_set_timer(l->gs, NULL, NULL), GITTERSTREAM_E_STATE);
    l->messages++;
    gitterstream_break(l->gs);
}

START_TEST(test_driving_calls_inside_callbacks_are_refused)
{
    live *l = live_start(ten_messages, NULL);
    gitterstream_on_message(l->gs, refused_inside, l);
    live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert_int_eq(gitterstream_run(l->gs), 0);
    ck_assert_int_eq(l->messages, 1);
    live_stop(l);
}
END_TEST

static int streaming(const live *l)
{
    return strstr(l->log, "S " ROOM_A " 1\n") != NULL;
}

START_TEST(test_host_loop_cannot_be_set_once_connections_exist)
{
    live *l = live_start(ten_messages, NULL);
    live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_POLL, streaming, 20000));
    ck_assert_int_eq(gitterstream_set_watch(l->gs, NULL, NULL), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_set_timer(l->gs, NULL, NULL), GITTERSTREAM_E_STATE);
    live_stop(l);
}
END_TEST

static int refuse_watch(gitterstream *gs, int fd, int what, void *ud)
{
    return what ? -1 : 0;
}

static int keep_timer(gitterstream *gs, long timeout_ms, void *ud)
{
    *(long *)ud = timeout_ms;
    return 0;
}

START_TEST(test_failing_host_watch_is_reported_as_out_of_memory)
{
    live *l = live_start(ten_messages, NULL);
    long timer = -2;
    ck_assert_int_eq(gitterstream_set_watch(l->gs, refuse_watch, NULL), 0);
    ck_assert_int_eq(gitterstream_set_timer(l->gs, keep_timer, &timer), 0);
    live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert_int_eq(timer, 0);
    /* the first turn starts the connection, and curl asks for its socket */
    for (int i = 0; i < 50 && !strstr(l->log, "could not be watched"); i++)
        ck_assert_int_eq(gitterstream_timer_fired(l->gs), 0);
    ck_assert_ptr_nonnull(strstr(l->log, "E - -2 0 -1 the descriptor could not be watched"));
    live_stop(l);
}
END_TEST

START_TEST(test_resume_after_checks_its_arguments)
{
    live *l = live_start(ten_messages, NULL);
    gitterstream_sub *chat = live_subscribe(l, ROOM_A, GITTERSTREAM_CHAT_MESSAGES);
    gitterstream_sub *events = live_subscribe(l, ROOM_B, GITTERSTREAM_EVENTS);
    char long_id[80];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    ck_assert_int_eq(gitterstream_sub_resume_after(events, "5f1a00000000000000000001"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_sub_resume_after(chat, ""), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_sub_resume_after(chat, "5f1a&x=1"), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_sub_resume_after(chat, long_id), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_sub_resume_after(chat, NULL), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_sub_resume_after(NULL, "5f1a"), GITTERSTREAM_E_INVALID);
    ck_assert_ptr_null(gitterstream_sub_last_id(chat));
    ck_assert_int_eq(gitterstream_sub_resume_after(chat, "5f1a00000000000000000001"), 0);
    ck_assert_str_eq(gitterstream_sub_last_id(chat), "5f1a00000000000000000001");
    live_stop(l);
}
END_TEST

static Suite *live_suite(void)
{
    Suite *s = suite_create("live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_run_delivers_every_message_posted_after_connecting);
    tcase_add_test(tc, test_poll_delivers_every_message_posted_after_connecting);
    tcase_add_test(tc, test_host_loop_delivers_every_message_posted_after_connecting);
    tcase_add_test(tc, test_states_go_connecting_streaming_waiting);
    tcase_add_test(tc, test_last_id_names_the_last_delivered_message);
    tcase_add_test(tc, test_two_hundred_subscriptions_each_get_their_own_messages);
    tcase_add_test(tc, test_unsubscribe_inside_own_callback_stops_delivery);
    tcase_add_test(tc, test_unsubscribe_other_subscription_inside_callback);
    tcase_add_test(tc, test_break_from_another_thread_returns_run);
    tcase_add_test(tc, test_subscribe_connects_only_on_the_next_turn);
    tcase_add_test(tc, test_free_inside_callback_is_refused_with_state_error);
    tcase_add_test(tc, test_events_subscription_delivers_events);
    tcase_add_test(tc, test_cut_mid_item_reports_network_error);
    tcase_add_test(tc, test_malformed_items_are_reported_counted_and_skipped);
    tcase_add_test(tc, test_driving_calls_inside_callbacks_are_refused);
    tcase_add_test(tc, test_host_loop_cannot_be_set_once_connections_exist);
    tcase_add_test(tc, test_failing_host_watch_is_reported_as_out_of_memory);
    tcase_add_test(tc, test_resume_after_checks_its_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(live_suite());
}
