/* test-http.c: what the handle sends and how it reads what comes back:
 * request headers, where the token goes, status codes, redirects, TLS,
 * proxies, and argument checks. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "live.h"
#include "check-run.h"

#define ROOM "5a1b2c3d4e5f60718293a4b5"

static const char *const short_stream = "room " ROOM "\npost 500 every 20 start 300\n"
                                        "conn 1 stream end-after 3\n";

/* The log line of the first stream request to ROOM; caller frees. */
static char *stream_request_line(const live *l)
{
    char *log = fakeserver_read_log(l->fs);
    ck_assert_ptr_nonnull(log);
    char *line = strstr(log, "\tGET\t/v1/rooms/" ROOM "/chatMessages");
    ck_assert_ptr_nonnull(line);
    while (line > log && line[-1] != '\n')
        line--;
    char *eol = strchr(line, '\n');
    char *out = strndup(line, eol ? (size_t)(eol - line) : strlen(line));
    free(log);
    return out;
}

START_TEST(test_request_carries_bearer_token_accept_and_user_agent)
{
    live *l = live_start(short_stream, NULL);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    char *line = stream_request_line(l);
    ck_assert_ptr_nonnull(strstr(line, "\tauthorization: Bearer " TEST_TOKEN));
    ck_assert_ptr_nonnull(strstr(line, "\taccept: application/json"));
    ck_assert_ptr_nonnull(strstr(line, "\tuser-agent: libgitterstream/" GITTERSTREAM_VERSION));
    free(line);
    live_stop(l);
}
END_TEST

START_TEST(test_user_agent_option_replaces_the_default)
{
    live *l = live_start(short_stream, NULL);
    ck_assert_int_eq(gitterstream_set_str(l->gs, GITTERSTREAM_OPT_USER_AGENT, "my-bot/2.0"), 0);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    char *line = stream_request_line(l);
    ck_assert_ptr_nonnull(strstr(line, "\tuser-agent: my-bot/2.0"));
    free(line);
    live_stop(l);
}
END_TEST

START_TEST(test_token_is_only_in_the_authorization_header)
{
    live *l = live_start("room " ROOM "\nconn default status 401\n", NULL);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    char *log = fakeserver_read_log(l->fs);
    size_t in_log = 0, in_auth = 0;
    for (const char *p = log; (p = strstr(p, TEST_TOKEN)); p++)
        in_log++;
    for (const char *p = log; (p = strstr(p, "\tauthorization: Bearer " TEST_TOKEN)); p++)
        in_auth++;
    ck_assert_uint_eq(in_log, in_auth); /* not in the target, nor any other header */
    ck_assert_uint_eq(in_auth, 1);
    ck_assert_ptr_null(strstr(l->log, TEST_TOKEN)); /* nor in any error text or state */
    free(log);
    live_stop(l);
}
END_TEST

struct status_case {
    int status;
    int code;
    long retry_min, retry_max; /* the first delay the policy gives */
};

static const struct status_case status_cases[] = {
    {400, GITTERSTREAM_E_NOT_FOUND, -1, -1},
    {401, GITTERSTREAM_E_AUTH, -1, -1},
    {403, GITTERSTREAM_E_AUTH, -1, -1},
    {404, GITTERSTREAM_E_NOT_FOUND, -1, -1},
    {429, GITTERSTREAM_E_RATE_LIMITED, 30000, 60000},
    {500, GITTERSTREAM_E_HTTP, 2500, 5000},
    {502, GITTERSTREAM_E_HTTP, 2500, 5000},
    {503, GITTERSTREAM_E_HTTP, 2500, 5000},
};

START_TEST(test_each_status_maps_to_its_error_code)
{
    const struct status_case *c = &status_cases[_i];
    char scenario[128];
    snprintf(scenario, sizeof scenario, "room %s\nconn default status %d\n", ROOM, c->status);
    live *l = live_start(scenario, NULL);
    gitterstream_sub *sub = live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_int_eq(l->errors, 1);
    ck_assert_int_eq(l->last_code, c->code);
    ck_assert_int_eq(l->last_status, c->status);
    ck_assert_int_ge(l->last_retry, c->retry_min);
    ck_assert_int_le(l->last_retry, c->retry_max);
    ck_assert_int_eq(gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS), 0);
    char status_text[16];
    snprintf(status_text, sizeof status_text, "HTTP %d", c->status);
    ck_assert_ptr_nonnull(strstr(l->last_text, status_text));
    live_stop(l);
}
END_TEST

START_TEST(test_fatal_statuses_stop_for_good)
{
    const int fatal[] = {400, 401, 403, 404};
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++) {
        char scenario[128];
        snprintf(scenario, sizeof scenario, "room %s\nconn default status %d\n", ROOM, fatal[i]);
        live *l = live_start(scenario, NULL);
        gitterstream_sub *sub = live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
        ck_assert(live_drive(l, DRIVE_RUN, live_all_stopped, 20000));
        ck_assert_int_eq(l->last_retry, -1);
        ck_assert_int_eq(gitterstream_sub_state(sub), GITTERSTREAM_STOPPED);
        ck_assert_uint_eq(fakeserver_log_count(l->fs, "\tGET\t/v1/rooms/" ROOM), 1);
        live_stop(l);
    }
}
END_TEST

START_TEST(test_error_body_is_quoted_in_the_error_text)
{
    live *l = live_start("room " ROOM "\nconn default status 404\n", NULL);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_ptr_nonnull(strstr(l->last_text, "{\"error\":\"Not Found\"}"));
    live_stop(l);
}
END_TEST

START_TEST(test_html_error_page_is_summed_up_by_its_title)
{
    live *l = live_start("room " ROOM "\nconn default status 502\n", NULL);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_ptr_nonnull(strstr(l->last_text, ": 502 Bad Gateway"));
    ck_assert_ptr_null(strstr(l->last_text, "<"));
    live_stop(l);
}
END_TEST

START_TEST(test_redirect_is_not_followed)
{
    live *l = live_start("room " ROOM "\nconn default status 302 body \"moved\"\n", NULL);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_int_eq(l->last_code, GITTERSTREAM_E_HTTP);
    ck_assert_int_eq(l->last_status, 302);
    ck_assert_uint_eq(fakeserver_log_count(l->fs, "\tGET\t"), 1);
    live_stop(l);
}
END_TEST

/* A port on which nothing listens. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(test_connection_refused_reports_network_error)
{
    live *l = live_start(short_stream, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
    ck_assert_int_eq(gitterstream_set_str(l->gs, GITTERSTREAM_OPT_STREAM_URL, url), 0);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_int_eq(l->last_code, GITTERSTREAM_E_NETWORK);
    ck_assert_int_eq(l->last_status, 0);
    live_stop(l);
}
END_TEST

START_TEST(test_proxy_option_sends_requests_through_the_proxy)
{
    live *l = live_start(short_stream, NULL);
    /* the stream host does not exist: only the proxy (the fake server) can answer */
    ck_assert_int_eq(
        gitterstream_set_str(l->gs, GITTERSTREAM_OPT_STREAM_URL, "http://stream.gitter.invalid"),
        0);
    ck_assert_int_eq(gitterstream_set_str(l->gs, GITTERSTREAM_OPT_PROXY, fakeserver_url(l->fs)), 0);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_uint_eq(
        fakeserver_log_count(l->fs, "\tGET\thttp://stream.gitter.invalid/v1/rooms/" ROOM), 1);
    ck_assert_int_eq(l->last_code, GITTERSTREAM_E_CLOSED);
    live_stop(l);
}
END_TEST

/* A certificate for 127.0.0.1 made now, in a fresh directory. */
static void make_certificate(char *dir, size_t n, char *cert, char *key)
{
    snprintf(dir, n, "/tmp/gs-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cert, 256, "%s/cert.pem", dir);
    snprintf(key, 256, "%s/key.pem", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    ck_assert_int_eq(system(cmd), 0);
}

static void remove_certificate(const char *dir, const char *cert, const char *key)
{
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

START_TEST(test_tls_streams_with_the_ca_file)
{
    char dir[64], cert[256], key[256];
    make_certificate(dir, sizeof dir, cert, key);
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    live *l = live_start(short_stream, args);
    ck_assert_int_eq(strncmp(fakeserver_url(l->fs), "https://", 8), 0);
    ck_assert_int_eq(gitterstream_set_str(l->gs, GITTERSTREAM_OPT_CA_FILE, cert), 0);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    char *got = live_received(l, 'M', ROOM), *want = live_expected(l, ROOM, 1, 3);
    ck_assert_str_ne(want, "");
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(l->last_code, GITTERSTREAM_E_CLOSED);
    free(got);
    free(want);
    live_stop(l);
    remove_certificate(dir, cert, key);
}
END_TEST

START_TEST(test_tls_fails_cleanly_without_the_ca_file)
{
    char dir[64], cert[256], key[256];
    make_certificate(dir, sizeof dir, cert, key);
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    live *l = live_start(short_stream, args);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    ck_assert(live_drive(l, DRIVE_RUN, live_all_failed, 20000));
    ck_assert_int_eq(l->messages, 0);
    ck_assert_int_eq(l->last_code, GITTERSTREAM_E_NETWORK);
    ck_assert_msg(strstr(l->last_text, "certificate") || strstr(l->last_text, "SSL"),
                  "unexpected text: %s", l->last_text);
    live_stop(l);
    remove_certificate(dir, cert, key);
}
END_TEST

START_TEST(test_subscribe_checks_its_arguments)
{
    gitterstream *gs = gitterstream_new();
    gitterstream_sub *sub = NULL;
    char long_id[200];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    ck_assert_int_eq(gitterstream_subscribe(gs, "", GITTERSTREAM_CHAT_MESSAGES, &sub),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_subscribe(gs, "a/b", GITTERSTREAM_CHAT_MESSAGES, &sub),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_subscribe(gs, "a b", GITTERSTREAM_CHAT_MESSAGES, &sub),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_subscribe(gs, long_id, GITTERSTREAM_CHAT_MESSAGES, &sub),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_subscribe(gs, NULL, GITTERSTREAM_CHAT_MESSAGES, &sub),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_subscribe(gs, ROOM, (gitterstream_resource)7, &sub),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_subscribe(NULL, ROOM, GITTERSTREAM_CHAT_MESSAGES, &sub),
                     GITTERSTREAM_E_INVALID);
    ck_assert_ptr_null(sub);
    ck_assert_int_eq(gitterstream_subscribe(gs, ROOM, GITTERSTREAM_EVENTS, &sub), 0);
    ck_assert_str_eq(gitterstream_sub_room(sub), ROOM);
    ck_assert_int_eq(gitterstream_sub_resource(sub), GITTERSTREAM_EVENTS);
    ck_assert_int_eq(gitterstream_sub_state(sub), GITTERSTREAM_CONNECTING);
    int mine;
    gitterstream_sub_set_userdata(sub, &mine);
    ck_assert_ptr_eq(gitterstream_sub_userdata(sub), &mine);
    ck_assert_uint_eq(gitterstream_sub_stat(sub, (gitterstream_stat)99), 0);
    ck_assert_int_eq(gitterstream_unsubscribe(sub), 0);
    ck_assert_int_eq(gitterstream_unsubscribe(NULL), GITTERSTREAM_E_INVALID);
    gitterstream_free(gs);
    gitterstream_free(NULL);
}
END_TEST

START_TEST(test_options_check_types_and_values)
{
    gitterstream *gs = gitterstream_new();
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_STREAM_URL, "ftp://x"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_STREAM_URL, "https://"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_API_URL, "https://h/\r\nX: y"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_TOKEN, "a\nb"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_TOKEN, ""), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_STALL_TIMEOUT_MS, "5"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_TOKEN, 5), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_BACKFILL, 2),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_STALL_TIMEOUT_MS, 0),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_int(gs, (gitterstream_option)99, 0), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_str(gs, (gitterstream_option)99, "x"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_STREAM_URL, "http://h:1/base/"), 0);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_STREAM_URL, NULL), 0);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_PROXY, ""), 0);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_PROXY, NULL), 0);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_TOKEN, NULL), 0);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_BACKFILL, 0), 0);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_RANDOM_SEED, 42), 0);
    ck_assert_int_eq(gitterstream_set_str(NULL, GITTERSTREAM_OPT_TOKEN, "x"),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_int(NULL, GITTERSTREAM_OPT_BACKFILL, 1),
                     GITTERSTREAM_E_INVALID);
    gitterstream_free(gs);
}
END_TEST

static int ignore_watch(gitterstream *gs, int fd, int what, void *ud)
{
    return 0;
}

static int count_timer(gitterstream *gs, long timeout_ms, void *ud)
{
    *(long *)ud = timeout_ms;
    return 0;
}

START_TEST(test_run_and_poll_are_refused_with_a_host_loop)
{
    gitterstream *gs = gitterstream_new();
    long told = -2;
    ck_assert_int_eq(gitterstream_set_watch(gs, ignore_watch, NULL), 0);
    ck_assert_int_eq(gitterstream_set_timer(gs, count_timer, &told), 0);
    ck_assert_int_eq(gitterstream_run(gs), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_poll(gs, 0), GITTERSTREAM_E_STATE);
    ck_assert_int_eq(gitterstream_subscribe(gs, ROOM, GITTERSTREAM_CHAT_MESSAGES, NULL), 0);
    ck_assert_int_eq(told, 0); /* the host is asked for a turn right away */
    ck_assert_int_eq(gitterstream_set_watch(gs, NULL, NULL), 0);
    ck_assert_int_eq(gitterstream_set_timer(gs, NULL, NULL), 0);
    ck_assert_int_eq(gitterstream_break(gs), 0);
    ck_assert_int_eq(gitterstream_poll(gs, 5000), 0); /* returns at once after a break */
    gitterstream_free(gs);
}
END_TEST

START_TEST(test_driving_functions_check_their_arguments)
{
    gitterstream *gs = gitterstream_new();
    ck_assert_int_eq(gitterstream_run(gs), 0); /* no subscription: nothing to wait for */
    ck_assert_int_eq(gitterstream_run(NULL), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_poll(NULL, 0), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_break(NULL), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_fd_ready(NULL, 0, 1), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_fd_ready(gs, -1, 1), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_timer_fired(NULL), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_watch(NULL, NULL, NULL), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_set_timer(NULL, NULL, NULL), GITTERSTREAM_E_INVALID);
    gitterstream_free(gs);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_request_carries_bearer_token_accept_and_user_agent);
    tcase_add_test(tc, test_user_agent_option_replaces_the_default);
    tcase_add_test(tc, test_token_is_only_in_the_authorization_header);
    tcase_add_loop_test(tc, test_each_status_maps_to_its_error_code, 0,
                        (int)(sizeof status_cases / sizeof *status_cases));
    tcase_add_test(tc, test_fatal_statuses_stop_for_good);
    tcase_add_test(tc, test_error_body_is_quoted_in_the_error_text);
    tcase_add_test(tc, test_html_error_page_is_summed_up_by_its_title);
    tcase_add_test(tc, test_redirect_is_not_followed);
    tcase_add_test(tc, test_connection_refused_reports_network_error);
    tcase_add_test(tc, test_proxy_option_sends_requests_through_the_proxy);
    tcase_add_test(tc, test_tls_streams_with_the_ca_file);
    tcase_add_test(tc, test_tls_fails_cleanly_without_the_ca_file);
    tcase_add_test(tc, test_subscribe_checks_its_arguments);
    tcase_add_test(tc, test_options_check_types_and_values);
    tcase_add_test(tc, test_run_and_poll_are_refused_with_a_host_loop);
    tcase_add_test(tc, test_driving_functions_check_their_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(http_suite());
}
