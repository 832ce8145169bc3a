/* test-fakeserver-rest.c: the REST side of gitterstream-fakeserver against its timeline: message
 * ids, GET chatMessages paging (limit, skip, afterId, beforeId), the rest lines, bad
 * parameters, and POST /v1/rooms. Usage: test-fakeserver-rest SERVER_BINARY */
#include "test-support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 150 messages of history, 5 more in the first 40 ms, the next one in an hour. */
#define TIMELINE                                                                                   \
    "room " ROOM "\n uri fake/room\n history 150\n post 5 every 10 start 0\n post 1 at 3600000\n"
#define N_ALL 155

static char all[N_ALL][25]; /* every id of the timeline, in posting order */

/* Starts a server on the timeline (and more scenario lines) and waits until all its messages
 * but the last are posted, their ids in all. */
static fakeserver *start_timeline(const char *more)
{
    char scenario[512];
    snprintf(scenario, sizeof scenario, "%s%s", TIMELINE, more);
    fakeserver *fs = ts_start(scenario);
    ck_assert_uint_ge(ts_wait_log(fs, "POSTED\t" ROOM "\t", N_ALL, WAIT_MS), N_ALL);
    char *posted = fakeserver_posted_ids(fs, ROOM);
    ck_assert_ptr_nonnull(posted);
    ck_assert_uint_eq(strlen(posted), 25 * N_ALL); /* the one an hour away is not out */
    for (size_t i = 0; i < N_ALL; i++) {
        memcpy(all[i], posted + 25 * i, 24);
        all[i][24] = '\0';
    }
    free(posted);
    return fs;
}

/* GET of the target made of path, anchor id and rest answers 200 with the n messages from
 * all[first] on. */
static void check_page(fakeserver *fs, const char *path, const char *anchor, const char *rest,
                       size_t first, size_t n)
{
    char target[256];
    snprintf(target, sizeof target, "%s%s%s", path, anchor, rest);
    struct buf raw = {0};
    ts_request(fakeserver_port(fs), "GET", target, NULL, &raw);
    ck_assert_int_eq(ts_status(&raw), 200);
    const char *body = strstr(raw.data, "\r\n\r\n");
    ck_assert_ptr_nonnull(body);
    ck_assert_int_eq(body[4], '[');
    static char got[120][25];
    size_t have = ts_ids_in(body, got, 120);
    ck_assert_msg(have == n, "%s: %zu messages, not %zu", target, have, n);
    for (size_t k = 0; k < n; k++)
        ck_assert_msg(strcmp(got[k], all[first + k]) == 0, "%s: message %zu is %s, not %s", target,
                      k, got[k], all[first + k]);
    buf_free(&raw);
}

START_TEST(test_posted_ids_increase_in_posting_order)
{
    fakeserver *fs = start_timeline("");
    for (size_t i = 1; i < N_ALL; i++)
        ck_assert_str_lt(all[i - 1], all[i]);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_line_gives_the_first_rest_request_its_status)
{
    fakeserver *fs = start_timeline(" rest 1 status 503 retry-after 7\n");
    struct buf raw = {0};
    ts_request(fakeserver_port(fs), "GET", "/api" STREAM_PATH, NULL, &raw);
    ck_assert_int_eq(ts_status(&raw), 503);
    ck_assert_ptr_nonnull(strstr(raw.data, "Retry-After: 7\r\n"));
    buf_free(&raw);
    check_page(fs, "/api" STREAM_PATH, "", "", 105, 50); /* the second one is served */
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_without_parameters_serves_the_newest_50)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, "/api" STREAM_PATH, "", "", 105, 50);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_limit_serves_the_newest_that_many)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, "/api" STREAM_PATH "?limit=3", "", "", 152, 3);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_limit_over_100_means_100)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, "/api" STREAM_PATH "?limit=500", "", "", 55, 100);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_limit_0_means_50)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, "/api" STREAM_PATH "?limit=0", "", "", 105, 50);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_skip_drops_the_newest_first)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, "/api" STREAM_PATH "?skip=2&limit=3", "", "", 150, 3);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_after_id_serves_the_oldest_after_it)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, "/api" STREAM_PATH "?afterId=", all[10], "&limit=5", 11, 5);
    check_page(fs, "/api" STREAM_PATH "?afterId=", all[10], "&limit=100", 11, 100);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_before_id_serves_the_newest_before_it)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, "/api" STREAM_PATH "?beforeId=", all[100], "&limit=3", 97, 3);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_parameter_makes_a_request_rest_without_the_api_prefix)
{
    fakeserver *fs = start_timeline("");
    check_page(fs, STREAM_PATH "?afterId=", all[10], "", 11, 50);
    check_page(fs, STREAM_PATH "?afterId=", all[10], "&limit=100", 11, 100);
    ts_stop(fs);
}
END_TEST

START_TEST(test_rest_malformed_or_out_of_range_parameter_is_400)
{
    fakeserver *fs = start_timeline("");
    const char *bad[] = {"?skip=5001", "?afterId=zzz", "?limit=-1", "?limit=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct buf raw = {0};
        char target[128];
        snprintf(target, sizeof target, "%s%s", STREAM_PATH, bad[i]);
        ts_request(fakeserver_port(fs), "GET", target, NULL, &raw);
        ck_assert_msg(ts_status(&raw) == 400, "%s: %d", target, ts_status(&raw));
        buf_free(&raw);
    }
    ts_stop(fs);
}
END_TEST

START_TEST(test_post_rooms_answers_the_room_by_uri_and_404_for_an_unknown_uri)
{
    fakeserver *fs = ts_start("room " ROOM "\n uri fake/room\n");
    int fd = ts_connect(fakeserver_port(fs));
    /* two requests in one write: the second waits its turn on the kept-alive connection */
    ts_send(fd, "POST /v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 19\r\n\r\n{\"uri\":\"fake/room\"}"
                "POST /v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n"
                "Connection: close\r\n\r\n{\"uri\":\"no/room\"}");
    struct buf raw = {0};
    ck_assert_int_eq(ts_read_for(fd, &raw, WAIT_MS), 1);
    close(fd);
    ck_assert_int_eq(ts_status(&raw), 200);
    ck_assert_ptr_nonnull(strstr(raw.data, "{\"id\":\"" ROOM "\",\"name\":\"fake/room\""));
    const char *second = strstr(raw.data, "HTTP/1.1 404 Not Found\r\n");
    ck_assert_ptr_nonnull(second);
    ck_assert(second > strstr(raw.data, "\"name\":\"fake/room\"")); /* in order */
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

static Suite *rest_suite(void)
{
    Suite *s = suite_create("fakeserver-rest");
    TCase *tc = tcase_create("timeline");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_posted_ids_increase_in_posting_order);
    tcase_add_test(tc, test_rest_line_gives_the_first_rest_request_its_status);
    tcase_add_test(tc, test_rest_without_parameters_serves_the_newest_50);
    tcase_add_test(tc, test_rest_limit_serves_the_newest_that_many);
    tcase_add_test(tc, test_rest_limit_over_100_means_100);
    tcase_add_test(tc, test_rest_limit_0_means_50);
    tcase_add_test(tc, test_rest_skip_drops_the_newest_first);
    tcase_add_test(tc, test_rest_after_id_serves_the_oldest_after_it);
    tcase_add_test(tc, test_rest_before_id_serves_the_newest_before_it);
    tcase_add_test(tc, test_rest_parameter_makes_a_request_rest_without_the_api_prefix);
    tcase_add_test(tc, test_rest_malformed_or_out_of_range_parameter_is_400);
    suite_add_tcase(s, tc);
    tc = tcase_create("rooms");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_post_rooms_answers_the_room_by_uri_and_404_for_an_unknown_uri);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    ts_init(argc, argv, 2, "");
    SRunner *sr = srunner_create(rest_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
