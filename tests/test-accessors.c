/* test-accessors.c: reading items by dotted path. */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gitterstream.h>
#include "check-run.h"

/* Decodes one item and runs a check on it inside the callback, where the
 * item is valid. */
typedef void (*item_check)(const gitterstream_msg *m);

struct item_run {
    item_check check;
    int calls;
};

static void run_check(const gitterstream_msg *m, void *ud)
{
    struct item_run *run = ud;
    run->check(m);
    run->calls++;
}

static void with_item(const char *json, item_check check)
{
    struct item_run run = {check, 0};
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_on_item(p, run_check, &run);
    ck_assert_int_eq(gitterstream_parser_feed(p, json, strlen(json)), 0);
    ck_assert_int_eq(gitterstream_parser_feed(p, "\r", 1), 0);
    gitterstream_parser_free(p);
    ck_assert_int_eq(run.calls, 1);
}

static const char *const message =
    "{\"id\":\"5f1a00000000000000000001\",\"text\":\"hi \\\"there\\\" \\\\ \\/ \\b\\f\\n\\r\\t\","
    "\"readBy\":42,\"neg\":-7,\"frac\":1.5,\"exp\":1e3,\"big\":9223372036854775807,"
    "\"small\":-9223372036854775808,\"over\":9223372036854775808,\"flag\":true,\"nothing\":null,"
    "\"fromUser\":{\"username\":\"alice\",\"v\":3,\"nested\":{\"deep\":\"yes\"}},"
    "\"mentions\":[{\"screenName\":\"bob\"},{\"screenName\":\"carol\",\"ids\":[1,2,3]}],"
    "\"esc\\u0061ped\":\"key with escape\",\"uni\":\"\\u00e9\\u6f22\","
    "\"pair\":\"\\ud83d\\ude00\",\"lone\":\"a\\ud800b\",\"raw\":\"\xc3\xa9\","
    "\"bs\":\"x\\\\\",\"after\":\"ok\",\"obj\":{},\"arr\":[]}";

static void check_top_level_string(const gitterstream_msg *m)
{
    ck_assert_str_eq(gitterstream_msg_str(m, "id"), "5f1a00000000000000000001");
}

START_TEST(test_str_reads_top_level_string)
{
    with_item(message, check_top_level_string);
}
END_TEST

static void check_nested(const gitterstream_msg *m)
{
    ck_assert_str_eq(gitterstream_msg_str(m, "fromUser.username"), "alice");
    ck_assert_str_eq(gitterstream_msg_str(m, "fromUser.nested.deep"), "yes");
}

START_TEST(test_str_walks_nested_objects)
{
    with_item(message, check_nested);
}
END_TEST

static void check_array_index(const gitterstream_msg *m)
{
    ck_assert_str_eq(gitterstream_msg_str(m, "mentions.0.screenName"), "bob");
    ck_assert_str_eq(gitterstream_msg_str(m, "mentions.1.screenName"), "carol");
    long long v = 0;
    ck_assert_int_eq(gitterstream_msg_int(m, "mentions.1.ids.2", &v), 0);
    ck_assert_int_eq(v, 3);
    ck_assert_ptr_null(gitterstream_msg_str(m, "mentions.2.screenName"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "mentions.x"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "arr.0"));
}

START_TEST(test_str_indexes_arrays)
{
    with_item(message, check_array_index);
}
END_TEST

static void check_escapes(const gitterstream_msg *m)
{
    ck_assert_str_eq(gitterstream_msg_str(m, "text"), "hi \"there\" \\ / \b\f\n\r\t");
    ck_assert_str_eq(gitterstream_msg_str(m, "uni"), "\xc3\xa9\xe6\xbc\xa2");
    ck_assert_str_eq(gitterstream_msg_str(m, "raw"), "\xc3\xa9");
    ck_assert_str_eq(gitterstream_msg_str(m, "escaped"), "key with escape");
    ck_assert_str_eq(gitterstream_msg_str(m, "bs"), "x\\");
    ck_assert_str_eq(gitterstream_msg_str(m, "after"), "ok");
}

START_TEST(test_str_unescapes_strings_and_keys)
{
    with_item(message, check_escapes);
}
END_TEST

static void check_surrogates(const gitterstream_msg *m)
{
    ck_assert_str_eq(gitterstream_msg_str(m, "pair"), "\xf0\x9f\x98\x80");
    ck_assert_str_eq(gitterstream_msg_str(m, "lone"), "a\xef\xbf\xbd"
                                                      "b");
}

START_TEST(test_str_joins_surrogate_pairs_and_replaces_lone_ones)
{
    with_item(message, check_surrogates);
}
END_TEST

static void check_missing_and_wrong_types(const gitterstream_msg *m)
{
    ck_assert_ptr_null(gitterstream_msg_str(m, "absent"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "fromUser.absent"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "id.more"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "readBy"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "flag"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "nothing"));
    ck_assert_ptr_null(gitterstream_msg_str(m, "fromUser"));
    ck_assert_ptr_null(gitterstream_msg_str(m, ""));
    ck_assert_ptr_null(gitterstream_msg_str(m, "fromUser."));
    ck_assert_ptr_null(gitterstream_msg_str(m, "obj.a"));
    ck_assert_ptr_null(gitterstream_msg_str(m, NULL));
    ck_assert_ptr_null(gitterstream_msg_str(NULL, "id"));
}

START_TEST(test_str_is_null_for_missing_paths_and_other_types)
{
    with_item(message, check_missing_and_wrong_types);
}
END_TEST

static void check_strings_stay_valid(const gitterstream_msg *m)
{
    const char *a = gitterstream_msg_str(m, "fromUser.username");
    const char *b[200];
    for (int i = 0; i < 200; i++) /* enough to need more arena blocks */
        b[i] = gitterstream_msg_str(m, "text");
    ck_assert_str_eq(a, "alice");
    for (int i = 0; i < 200; i++)
        ck_assert_str_eq(b[i], "hi \"there\" \\ / \b\f\n\r\t");
}

START_TEST(test_str_results_stay_valid_across_calls)
{
    with_item(message, check_strings_stay_valid);
}
END_TEST

static void check_ints(const gitterstream_msg *m)
{
    long long v = 0;
    ck_assert_int_eq(gitterstream_msg_int(m, "readBy", &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(gitterstream_msg_int(m, "neg", &v), 0);
    ck_assert_int_eq(v, -7);
    ck_assert_int_eq(gitterstream_msg_int(m, "fromUser.v", &v), 0);
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(gitterstream_msg_int(m, "big", &v), 0);
    ck_assert(v == LLONG_MAX);
    ck_assert_int_eq(gitterstream_msg_int(m, "small", &v), 0);
    ck_assert(v == LLONG_MIN);
}

START_TEST(test_int_reads_integers_to_the_limits_of_long_long)
{
    with_item(message, check_ints);
}
END_TEST

static void check_int_failures(const gitterstream_msg *m)
{
    long long v = 99;
    ck_assert_int_eq(gitterstream_msg_int(m, "absent", &v), GITTERSTREAM_E_NOT_FOUND);
    ck_assert_int_eq(gitterstream_msg_int(m, "mentions.5", &v), GITTERSTREAM_E_NOT_FOUND);
    ck_assert_int_eq(gitterstream_msg_int(m, "frac", &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(m, "exp", &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(m, "over", &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(m, "id", &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(m, "flag", &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(m, "fromUser", &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(m, NULL, &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(m, "readBy", NULL), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(gitterstream_msg_int(NULL, "readBy", &v), GITTERSTREAM_E_INVALID);
    ck_assert_int_eq(v, 99);
}

START_TEST(test_int_fails_for_missing_paths_and_non_integers)
{
    with_item(message, check_int_failures);
}
END_TEST

static void check_json_and_flag(const gitterstream_msg *m)
{
    size_t n = 0;
    ck_assert_str_eq(gitterstream_msg_json(m, &n), message);
    ck_assert_uint_eq(n, strlen(message));
    ck_assert_ptr_eq(gitterstream_msg_json(m, NULL), gitterstream_msg_json(m, &n));
    ck_assert_int_eq(gitterstream_msg_is_backfill(m), 0);
}

START_TEST(test_json_is_the_exact_item_text)
{
    with_item(message, check_json_and_flag);
}
END_TEST

static void check_whitespace_everywhere(const gitterstream_msg *m)
{
    ck_assert_str_eq(gitterstream_msg_str(m, "a.1.b"), "c");
}

START_TEST(test_paths_work_across_raw_whitespace)
{
    with_item("{ \"x\" : [ 1 , { } ] ,\n \"a\" :\n [ 0 ,\t{ \"b\" : \"c\" } ] }",
              check_whitespace_everywhere);
}
END_TEST

START_TEST(test_accessors_accept_null_item)
{
    size_t n = 5;
    ck_assert_ptr_null(gitterstream_msg_json(NULL, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(gitterstream_msg_is_backfill(NULL), 0);
}
END_TEST

static Suite *accessors_suite(void)
{
    Suite *s = suite_create("accessors");
    TCase *tc = tcase_create("accessors");
    tcase_add_test(tc, test_str_reads_top_level_string);
    tcase_add_test(tc, test_str_walks_nested_objects);
    tcase_add_test(tc, test_str_indexes_arrays);
    tcase_add_test(tc, test_str_unescapes_strings_and_keys);
    tcase_add_test(tc, test_str_joins_surrogate_pairs_and_replaces_lone_ones);
    tcase_add_test(tc, test_str_is_null_for_missing_paths_and_other_types);
    tcase_add_test(tc, test_str_results_stay_valid_across_calls);
    tcase_add_test(tc, test_int_reads_integers_to_the_limits_of_long_long);
    tcase_add_test(tc, test_int_fails_for_missing_paths_and_non_integers);
    tcase_add_test(tc, test_json_is_the_exact_item_text);
    tcase_add_test(tc, test_paths_work_across_raw_whitespace);
    tcase_add_test(tc, test_accessors_accept_null_item);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(accessors_suite());
}
