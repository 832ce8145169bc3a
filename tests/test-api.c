/* test-api.c: version, error codes and descriptions, argument checks, and
 * the enum values the ABI fixes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gitterstream.h>
#include "check-run.h"

START_TEST(test_version_matches_headers_and_project)
{
    ck_assert_str_eq(gitterstream_version(), GITTERSTREAM_VERSION);
    ck_assert_str_eq(gitterstream_version(), PROJECT_VERSION);
    char built[32];
    snprintf(built, sizeof built, "%d.%d.%d", GITTERSTREAM_VERSION_MAJOR,
             GITTERSTREAM_VERSION_MINOR, GITTERSTREAM_VERSION_PATCH);
    ck_assert_str_eq(built, GITTERSTREAM_VERSION);
}
END_TEST

#define EXPECT_CODE(name, value, text) {GITTERSTREAM_E_##name, value, text},
static const struct {
    int code, value;
    const char *text;
} codes[] = {GITTERSTREAM_ERRNO_MAP(EXPECT_CODE)};

START_TEST(test_strerror_describes_each_code_distinctly)
{
    size_t n = sizeof codes / sizeof *codes;
    ck_assert_uint_eq(n, 12);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(codes[i].code, codes[i].value);
        ck_assert_int_eq(codes[i].code, -(int)(i + 1));
        ck_assert_str_eq(gitterstream_strerror(codes[i].code), codes[i].text);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(gitterstream_strerror(codes[i].code),
                             gitterstream_strerror(codes[j].code));
    }
    ck_assert_str_eq(gitterstream_strerror(GITTERSTREAM_OK), "success");
    ck_assert_str_eq(gitterstream_strerror(-13), "unknown error");
    ck_assert_str_eq(gitterstream_strerror(7), "unknown error");
}
END_TEST

START_TEST(test_enum_values_are_fixed)
{
    ck_assert_int_eq(GITTERSTREAM_E_PARSE, -10);
    ck_assert_int_eq(GITTERSTREAM_E_CLOSED, -12);
    ck_assert_int_eq(GITTERSTREAM_OPT_TOKEN, 1);
    ck_assert_int_eq(GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, 9);
    ck_assert_int_eq(GITTERSTREAM_OPT_RANDOM_SEED, 13);
    ck_assert_int_eq(GITTERSTREAM_STAT_MESSAGES, 0);
    ck_assert_int_eq(GITTERSTREAM_STAT_DUPLICATES, 10);
}
END_TEST

START_TEST(test_error_accessors_accept_null)
{
    ck_assert_int_eq(gitterstream_error_code(NULL), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_error_http_status(NULL), 0);
    ck_assert_str_eq(gitterstream_error_text(NULL), "");
    ck_assert_int_eq(gitterstream_error_retry_ms(NULL), -1);
}
END_TEST

static void check_error_fields(const gitterstream_error *e, void *ud)
{
    ck_assert_int_eq(gitterstream_error_code(e), GITTERSTREAM_E_PARSE);
    ck_assert_int_eq(gitterstream_error_http_status(e), 0);
    ck_assert_int_eq(gitterstream_error_retry_ms(e), 0);
    ck_assert_str_eq(gitterstream_error_text(e), "item is not a JSON object at byte 0 of the item");
    (*(int *)ud)++;
}

START_TEST(test_parse_error_has_no_status_and_no_retry)
{
    int calls = 0;
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_on_error(p, check_error_fields, &calls);
    ck_assert_int_eq(gitterstream_parser_feed(p, "[]\n", 3), 0);
    ck_assert_int_eq(calls, 1);
    gitterstream_parser_free(p);
}
END_TEST

START_TEST(test_parser_options_check_their_ranges)
{
    gitterstream_parser *p = gitterstream_parser_new();
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, 16), 0);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, 1 << 30),
                     0);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, 15),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(
        gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, (1ll << 30) + 1),
        GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_DEPTH, 1), 0);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_DEPTH, 4096), 0);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_DEPTH, 0),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_DEPTH, 4097),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_STALL_TIMEOUT_MS, 5),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_parser_set_int(p, (gitterstream_option)999, 5),
                     GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_parser_set_int(NULL, GITTERSTREAM_OPT_MAX_DEPTH, 5),
                     GITTERSTREAM_E_INVALID);
    gitterstream_parser_free(p);
}
END_TEST

START_TEST(test_feed_checks_its_arguments)
{
    gitterstream_parser *p = gitterstream_parser_new();
    ck_assert_int_eq(gitterstream_parser_feed(NULL, "{}", 2), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_parser_feed(p, NULL, 2), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_parser_feed(p, NULL, 0), GITTERSTREAM_OK);
    gitterstream_parser_free(p);
    gitterstream_parser_free(NULL);
    gitterstream_parser_on_item(NULL, NULL, NULL);
    gitterstream_parser_on_keepalive(NULL, NULL, NULL);
    gitterstream_parser_on_error(NULL, NULL, NULL);
}
END_TEST

static Suite *api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_version_matches_headers_and_project);
    tcase_add_test(tc, test_strerror_describes_each_code_distinctly);
    tcase_add_test(tc, test_enum_values_are_fixed);
    tcase_add_test(tc, test_error_accessors_accept_null);
    tcase_add_test(tc, test_parse_error_has_no_status_and_no_retry);
    tcase_add_test(tc, test_parser_options_check_their_ranges);
    tcase_add_test(tc, test_feed_checks_its_arguments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(api_suite());
}
