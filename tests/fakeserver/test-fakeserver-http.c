/* test-fakeserver-http.c: the HTTP side of gitterstream-fakeserver, over a plain socket: status
 * replies, routing, the token, the request log, parsing of odd requests, restarts and many
 * connections at once. Usage: test-fakeserver-http SERVER_BINARY */
#include "test-support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define AUTH "Authorization: Bearer s3cret\r\n"

/* The first stream request to a server whose conn 1 line is conn_action, asserted to get code
 * and every one of the needles (NULL-terminated). */
static void check_status(const char *conn_action, int code, const char *const *needles)
{
    char scenario[512];
    snprintf(scenario, sizeof scenario, "room " ROOM "\n conn 1 %s\n", conn_action);
    fakeserver *fs = ts_start(scenario);
    struct buf raw = {0};
    ts_request(fakeserver_port(fs), "GET", STREAM_PATH, NULL, &raw);
    ck_assert_int_eq(ts_status(&raw), code);
    for (size_t i = 0; needles[i]; i++)
        ck_assert_msg(strstr(raw.data, needles[i]) != NULL, "no \"%s\" in:\n%s", needles[i],
                      raw.data);
    buf_free(&raw);
    ts_stop(fs);
}

START_TEST(test_status_400_has_the_canned_json_body)
{
    const char *want[] = {"Content-Type: application/json\r\n",
                          "\r\n\r\n{\"error\":\"Bad Request\"}", NULL};
    check_status("status 400", 400, want);
}
END_TEST

START_TEST(test_status_401_has_the_canned_json_body)
{
    const char *want[] = {"\r\n\r\n{\"error\":\"Unauthorized\"}", NULL};
    check_status("status 401", 401, want);
}
END_TEST

START_TEST(test_status_403_has_the_canned_json_body)
{
    const char *want[] = {"\r\n\r\n{\"error\":\"Forbidden\"}", NULL};
    check_status("status 403", 403, want);
}
END_TEST

START_TEST(test_status_404_has_the_canned_json_body)
{
    const char *want[] = {"\r\n\r\n{\"error\":\"Not Found\"}", NULL};
    check_status("status 404", 404, want);
}
END_TEST

START_TEST(test_status_429_carries_the_retry_and_ratelimit_headers)
{
    const char *want[] = {"Retry-After: 3\r\n",
                          "X-RateLimit-Limit: 100\r\n",
                          "X-RateLimit-Remaining: 0\r\n",
                          "X-RateLimit-Reset: ",
                          "\r\n\r\n{\"error\":\"Too Many Requests\"}",
                          NULL};
    check_status("status 429 retry-after 3 ratelimit-limit 100 ratelimit-remaining 0"
                 " ratelimit-reset 5000",
                 429, want);
}
END_TEST

START_TEST(test_status_502_is_an_nginx_html_page)
{
    const char *want[] = {"Content-Type: text/html",
                          "<html>\r\n<head><title>502 Bad Gateway</title></head>", NULL};
    check_status("status 502", 502, want);
}
END_TEST

START_TEST(test_status_503_carries_retry_after)
{
    const char *want[] = {"Retry-After: 2\r\n", NULL};
    check_status("status 503 retry-after 2", 503, want);
}
END_TEST

START_TEST(test_request_past_the_conn_lines_gets_a_stream)
{
    fakeserver *fs = ts_start("room " ROOM "\n conn 1 status 404\n");
    int port = fakeserver_port(fs);
    struct buf raw = {0};
    ts_request(port, "GET", STREAM_PATH, NULL, &raw);
    ck_assert_int_eq(ts_status(&raw), 404);
    buf_free(&raw);
    int fd = ts_open(port, "GET", STREAM_PATH, NULL);
    ck_assert(ts_read_until(fd, &raw, "\r\n\r\n", 1, WAIT_MS));
    close(fd);
    ck_assert_int_eq(ts_status(&raw), 200); /* no default line: a plain stream */
    ck_assert_ptr_nonnull(strstr(raw.data, "Transfer-Encoding: chunked\r\n"));
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

/* Asserts the status each (target, extra headers) request gets from a server with a token. */
struct route {
    const char *target, *extra;
    int code;
};

static void check_routes(const struct route *routes, size_t n)
{
    fakeserver *fs = ts_start("token s3cret\nroom " ROOM "\n conn default status 418\n");
    for (size_t i = 0; i < n; i++) {
        struct buf raw = {0};
        ts_request(fakeserver_port(fs), "GET", routes[i].target, routes[i].extra, &raw);
        ck_assert_msg(ts_status(&raw) == routes[i].code, "%s: %d, not %d", routes[i].target,
                      ts_status(&raw), routes[i].code);
        buf_free(&raw);
    }
    ts_stop(fs);
}

START_TEST(test_request_without_the_token_or_with_a_wrong_one_is_401)
{
    const struct route routes[] = {{STREAM_PATH, NULL, 401},
                                   {STREAM_PATH, "Authorization: Bearer wrong\r\n", 401},
                                   {STREAM_PATH, AUTH, 418}};
    check_routes(routes, sizeof routes / sizeof routes[0]);
}
END_TEST

START_TEST(test_malformed_room_id_is_400)
{
    const struct route routes[] = {{"/v1/rooms/0123456789ABCDEF01234567/chatMessages", AUTH, 400},
                                   {"/v1/rooms/xyz/chatMessages", AUTH, 400}};
    check_routes(routes, sizeof routes / sizeof routes[0]);
}
END_TEST

START_TEST(test_unknown_room_resource_or_path_is_404)
{
    const struct route routes[] = {{"/v1/rooms/" ROOM2 "/chatMessages", AUTH, 404},
                                   {"/v1/rooms/" ROOM "/unknown", AUTH, 404},
                                   {"/api/v1/rooms/" ROOM "/events", AUTH, 404},
                                   {"/elsewhere", AUTH, 404}};
    check_routes(routes, sizeof routes / sizeof routes[0]);
}
END_TEST

START_TEST(test_log_has_one_line_per_request_with_lowercased_headers)
{
    fakeserver *fs = ts_start("token s3cret\nroom " ROOM "\n conn default status 503\n");
    int port = fakeserver_port(fs);
    const char *extras[] = {AUTH, AUTH, NULL, "Authorization: Bearer wrong\r\n", AUTH};
    for (size_t i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        struct buf raw = {0};
        ts_request(port, "GET", i == 4 ? "/elsewhere" : STREAM_PATH, extras[i], &raw);
        buf_free(&raw);
    }
    char *log = fakeserver_read_log(fs);
    ck_assert_ptr_nonnull(log);
    ck_assert_uint_eq(ts_count(log, "\tGET\t"), 5);
    ck_assert_ptr_nonnull(strstr(log, "1\tGET\t" STREAM_PATH "\thost: 127.0.0.1\taccept: "
                                      "application/json\tauthorization: Bearer s3cret\t"
                                      "connection: close\n"));
    ck_assert_ptr_nonnull(strstr(log, "5\tGET\t/elsewhere\t"));
    ck_assert_uint_eq(ts_count(log, "\tauthorization: Bearer s3cret"), 3);
    ck_assert_uint_eq(ts_count(log, "s3cret"), 3); /* the token is nowhere else */
    free(log);
    ts_stop(fs);
}
END_TEST

START_TEST(test_request_arriving_in_pieces_is_answered_once_complete)
{
    fakeserver *fs = ts_start("room " ROOM "\n history 3\n");
    int fd = ts_connect(fakeserver_port(fs));
    const char *parts[] = {"GET /api/v1/rooms/", ROOM "/chatMess", "ages HTTP/1.1\r\nHo",
                           "st: x\r\nConnection: close\r", "\n\r\n"};
    struct buf raw = {0};
    for (size_t i = 0; i < 4; i++) {
        ts_send(fd, parts[i]);
        /* not complete: no answer, the socket stays open */
        ck_assert_int_eq(ts_read_for(fd, &raw, 30), 0);
        ck_assert_uint_eq(raw.len, 0);
    }
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tGET\t"), 0);
    ts_send(fd, parts[4]);
    ck_assert_int_eq(ts_read_for(fd, &raw, WAIT_MS), 1);
    close(fd);
    ck_assert_int_eq(ts_status(&raw), 200);
    ck_assert_uint_eq(ts_count(raw.data, "\"readBy\""), 3);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_oversized_header_is_400)
{
    fakeserver *fs = ts_start("room " ROOM "\n history 3\n");
    struct buf hdr = {0};
    buf_adds(&hdr, "X-Big: ");
    while (hdr.len < 19999)
        buf_addc(&hdr, 'a');
    buf_adds(&hdr, "\r\n");
    struct buf raw = {0};
    ts_request(fakeserver_port(fs), "GET", "/api" STREAM_PATH, hdr.data, &raw);
    ck_assert_int_eq(ts_status(&raw), 400);
    buf_free(&hdr);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_garbage_request_line_is_400)
{
    fakeserver *fs = ts_start("room " ROOM "\n history 3\n");
    int fd = ts_connect(fakeserver_port(fs));
    ts_send(fd, "garbage\r\n\r\n");
    struct buf raw = {0};
    ck_assert_int_eq(ts_read_for(fd, &raw, WAIT_MS), 1);
    close(fd);
    ck_assert_int_eq(ts_status(&raw), 400);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

/* A stream connection's three items; request numbers count from 1 again after a restart. */
static void check_three_items(int port)
{
    struct buf raw = {0};
    ts_request(port, "GET", STREAM_PATH, NULL, &raw);
    ck_assert_int_eq(ts_status(&raw), 200);
    ck_assert_uint_eq(ts_count(raw.data, "\"readBy\""), 3);
    buf_free(&raw);
}

START_TEST(test_restart_keeps_the_port_and_carries_the_clock_on_with_new_ids)
{
    fakeserver *fs = ts_start("room " ROOM "\n history 5\n post 1000 every 20 start 0\n"
                              " conn 1 stream end-after 3\n conn default status 503\n");
    int port = fakeserver_port(fs);
    check_three_items(port);
    size_t before = fakeserver_log_count(fs, "POSTED\t" ROOM "\t");
    ck_assert_uint_ge(before, 8); /* history, and the three the stream got */
    ck_assert_int_eq(fakeserver_restart(fs), 0);
    ck_assert_int_eq(fakeserver_port(fs), port);
    /* the new run posts on from where the old one stopped */
    ck_assert_uint_ge(ts_wait_log(fs, "POSTED\t" ROOM "\t", before + 3, WAIT_MS), before + 3);
    char *posted = fakeserver_posted_ids(fs, ROOM);
    ck_assert_ptr_nonnull(posted);
    size_t n = strlen(posted) / 25;
    ck_assert_uint_ge(n, before + 3);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg(strncmp(posted + 25 * (i - 1), posted + 25 * i, 24) < 0,
                      "id %zu is not above id %zu", i, i - 1);
    free(posted);
    check_three_items(port);
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tGET\t"), 2); /* the log outlives restarts */
    ts_stop(fs);
}
END_TEST

START_TEST(test_300_concurrent_streams_each_get_an_item)
{
    fakeserver *fs = ts_start(
        "room " ROOM "\n post 100000 every 20 start 0\n conn default stream keepalive 50\n");
    enum { N = 300 };
    static int fds[N];
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * N && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (int i = 0; i < N; i++) {
        fds[i] = ts_connect(fakeserver_port(fs));
        ts_send(fds[i], "GET " STREAM_PATH " HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    long long deadline = ts_mono_ms() + 2 * WAIT_MS;
    int with_item = 0;
    for (int i = 0; i < N; i++) {
        struct buf raw = {0};
        long long left = deadline - ts_mono_ms();
        ts_read_until(fds[i], &raw, "\"readBy\"", 1, left > 0 ? (int)left : 0);
        close(fds[i]);
        with_item += ts_status(&raw) == 200 && strstr(raw.data, "\"readBy\"") != NULL;
        buf_free(&raw);
    }
    ck_assert_int_eq(with_item, N);
    ts_stop(fs);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("fakeserver-http");
    TCase *tc = tcase_create("status");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_status_400_has_the_canned_json_body);
    tcase_add_test(tc, test_status_401_has_the_canned_json_body);
    tcase_add_test(tc, test_status_403_has_the_canned_json_body);
    tcase_add_test(tc, test_status_404_has_the_canned_json_body);
    tcase_add_test(tc, test_status_429_carries_the_retry_and_ratelimit_headers);
    tcase_add_test(tc, test_status_502_is_an_nginx_html_page);
    tcase_add_test(tc, test_status_503_carries_retry_after);
    tcase_add_test(tc, test_request_past_the_conn_lines_gets_a_stream);
    suite_add_tcase(s, tc);
    tc = tcase_create("routing");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_request_without_the_token_or_with_a_wrong_one_is_401);
    tcase_add_test(tc, test_malformed_room_id_is_400);
    tcase_add_test(tc, test_unknown_room_resource_or_path_is_404);
    tcase_add_test(tc, test_log_has_one_line_per_request_with_lowercased_headers);
    suite_add_tcase(s, tc);
    tc = tcase_create("parsing");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_request_arriving_in_pieces_is_answered_once_complete);
    tcase_add_test(tc, test_oversized_header_is_400);
    tcase_add_test(tc, test_garbage_request_line_is_400);
    suite_add_tcase(s, tc);
    tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_restart_keeps_the_port_and_carries_the_clock_on_with_new_ids);
    tcase_add_test(tc, test_300_concurrent_streams_each_get_an_item);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    ts_init(argc, argv, 2, "");
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
