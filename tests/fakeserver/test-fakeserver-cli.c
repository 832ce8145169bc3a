/* test-fakeserver-cli.c: gitterstream-fakeserver as a program: its --help text (which the README
 * quotes), its exit status on bad input, and its time limit.
 * Usage: test-fakeserver-cli SERVER_BINARY README.md */
#include "test-support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *readme_path;

/* Runs a shell command, its standard output into out; returns its wait status. */
static int run(const char *cmd, struct buf *out)
{
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, p)) > 0)
        buf_add(out, tmp, n);
    buf_add(out, "", 0);
    return pclose(p);
}

START_TEST(test_help_output_is_the_text_quoted_in_readme)
{
    struct buf readme = {0}, help = {0};
    FILE *f = fopen(readme_path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", readme_path);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&readme, tmp, n);
    fclose(f);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' --help", ts_binary);
    int status = run(cmd, &help);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    const char *start = strstr(readme.data, "```text\n");
    ck_assert_ptr_nonnull(start);
    start += 8;
    const char *end = strstr(start, "\n```");
    ck_assert_ptr_nonnull(end);
    struct buf quoted = {0};
    buf_add(&quoted, start, (size_t)(end + 1 - start));
    ck_assert_str_eq(help.data, quoted.data);
    buf_free(&quoted);
    buf_free(&readme);
    buf_free(&help);
}
END_TEST

START_TEST(test_bad_scenario_line_exits_2_naming_its_line_number)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd,
             "printf 'room %s\\n  post 3 every 10\\n  conn 1 stream dialect bogus\\n' | '%s' - "
             "2>&1",
             ROOM, ts_binary);
    struct buf out = {0};
    int status = run(cmd, &out);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 2);
    ck_assert_ptr_nonnull(strstr(out.data, ":3: unknown dialect 'bogus'"));
    buf_free(&out);
}
END_TEST

START_TEST(test_unknown_option_exits_2)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' --bogus x 2>&1", ts_binary);
    struct buf out = {0};
    int status = run(cmd, &out);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 2);
    ck_assert_ptr_null(strstr(out.data, "PORT "));
    buf_free(&out);
}
END_TEST

START_TEST(test_time_limit_stops_server_with_exit_0_after_that_many_seconds)
{
    const char *args[] = {"--time-limit", "1", NULL};
    long long t0 = ts_mono_ms();
    fakeserver *fs = ts_start_args("room " ROOM "\n", args);
    int port = fakeserver_port(fs);
    close(ts_connect(port));                                       /* listening before the limit */
    ck_assert_int_eq(fakeserver_wait_exit(fs, 1000 + WAIT_MS), 0); /* on its own, status 0 */
    long long elapsed = ts_mono_ms() - t0;
    ck_assert_int_ge(elapsed, 1000);
    /* and no longer listening */
    int fd = ts_try_connect(port);
    if (fd >= 0)
        close(fd);
    ck_assert_int_lt(fd, 0);
    ts_stop(fs); /* no longer running: nothing to stop */
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("fakeserver-cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_help_output_is_the_text_quoted_in_readme);
    tcase_add_test(tc, test_bad_scenario_line_exits_2_naming_its_line_number);
    tcase_add_test(tc, test_unknown_option_exits_2);
    tcase_add_test(tc, test_time_limit_stops_server_with_exit_0_after_that_many_seconds);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    ts_init(argc, argv, 3, " README.md");
    readme_path = argv[2];
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
