/* test-framing.c: frames, dialects, splits and keep-alives (SPEC §3). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "recorder.h"
#include "check-run.h"

#define ck_decodes_to(input, expected)                                                             \
    do {                                                                                           \
        char *log_ = decode(input);                                                                \
        ck_assert_str_eq(log_, expected);                                                          \
        free(log_);                                                                                \
    } while (0)

START_TEST(test_cr_delimits_items)
{
    ck_decodes_to("{\"a\":1}\r{\"b\":2}\r", "I {\"a\":1}\nI {\"b\":2}\n");
}
END_TEST

START_TEST(test_lf_delimits_complete_items)
{
    ck_decodes_to("{\"a\":1}\n{\"b\":2}\n", "I {\"a\":1}\nI {\"b\":2}\n");
}
END_TEST

START_TEST(test_crlf_delimits_items_without_keepalive)
{
    ck_decodes_to("{\"a\":1}\r\n{\"b\":2}\r\n", "I {\"a\":1}\nI {\"b\":2}\n");
}
END_TEST

START_TEST(test_pretty_items_with_raw_newlines_delimited_by_cr)
{
    ck_decodes_to("{\n  \"a\": [\n    1\n  ]\n}\r{\n\"b\": 2\n}\r",
                  "I {\n  \"a\": [\n    1\n  ]\n}\nI {\n\"b\": 2\n}\n");
}
END_TEST

START_TEST(test_lf_inside_incomplete_value_is_whitespace)
{
    ck_decodes_to("{\"a\":\n1,\n\"b\"\n:2}\n", "I {\"a\":\n1,\n\"b\"\n:2}\n");
}
END_TEST

START_TEST(test_item_text_excludes_surrounding_whitespace)
{
    ck_decodes_to("\t {\"a\":1}  \t\r", "K\nI {\"a\":1}\n");
}
END_TEST

START_TEST(test_item_is_delivered_at_its_delimiter_not_before)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_feed(p, "{\"a\":1}", 7), 0);
    ck_assert_int_eq(r.items, 0);
    ck_assert_int_eq(gitterstream_parser_feed(p, "\r", 1), 0);
    ck_assert_int_eq(r.items, 1);
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

START_TEST(test_bad_item_is_reported_before_its_delimiter_arrives)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_feed(p, "{\"a\":tru", 8), 0);
    ck_assert_int_eq(r.errors, 0);
    ck_assert_int_eq(gitterstream_parser_feed(p, "x", 1), 0);
    ck_assert_int_eq(r.errors, 1);
    ck_assert_int_eq(r.last_code, GITTERSTREAM_E_PARSE);
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

START_TEST(test_sample_stream_decodes_alike_whole_bytewise_and_split_anywhere)
{
    size_t len;
    char *stream = read_data_file("sample.stream", &len);
    char *whole = without_keepalives(decode_in_pieces(stream, len, len));
    char *bytewise = without_keepalives(decode_in_pieces(stream, len, 1));
    ck_assert_msg(strcmp(bytewise, whole) == 0, "byte by byte differs");
    free(bytewise);
    for (size_t k = 0; k <= len; k++) {
        char *split = without_keepalives(decode_split_at(stream, len, k));
        ck_assert_msg(strcmp(split, whole) == 0, "split at %zu differs", k);
        free(split);
    }
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_feed(p, stream, len), 0);
    ck_assert_msg(strcmp(without_keepalives(r.log), whole) == 0, "one feed differs");
    ck_assert_int_eq(r.items, 5);
    ck_assert_int_eq(r.errors, 0);
    ck_assert_int_eq(r.keepalives, 2);
    gitterstream_parser_free(p);
    recorder_clear(&r);
    free(whole);
    free(stream);
}
END_TEST

START_TEST(test_utf8_character_split_across_feeds)
{
    const char *s = "{\"t\":\"\xf0\x9f\x98\x80 \xe6\xbc\xa2\"}\r";
    char *whole = decode(s);
    ck_assert_str_eq(whole, "I {\"t\":\"\xf0\x9f\x98\x80 \xe6\xbc\xa2\"}\n");
    for (size_t k = 7; k <= 13; k++) {
        char *split = decode_split_at(s, strlen(s), k);
        ck_assert_str_eq(split, whole);
        free(split);
    }
    free(whole);
}
END_TEST

START_TEST(test_keepalive_runs_count_once_each_within_a_feed)
{
    ck_decodes_to(" \n", "K\n");
    ck_decodes_to("\n\n\n", "K\n");
    ck_decodes_to(" \n{\"a\":1}\r \n \n{\"b\":2}\r", "K\nI {\"a\":1}\nK\nI {\"b\":2}\n");
}
END_TEST

START_TEST(test_keepalive_split_across_feeds_counts_once_per_feed)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_feed(p, " ", 1), 0);
    ck_assert_int_eq(gitterstream_parser_feed(p, "\n", 1), 0);
    ck_assert_int_eq(r.keepalives, 2);
    ck_assert_int_eq(gitterstream_parser_feed(p, " \n", 2), 0);
    ck_assert_int_eq(r.keepalives, 3);
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

START_TEST(test_lf_after_frame_cr_is_delimiter_even_in_next_feed)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_feed(p, "{\"a\":1}\r", 8), 0);
    ck_assert_int_eq(gitterstream_parser_feed(p, "\n", 1), 0);
    ck_assert_int_eq(r.keepalives, 0);
    ck_assert_int_eq(gitterstream_parser_feed(p, "\n", 1), 0);
    ck_assert_int_eq(r.keepalives, 1);
    ck_assert_int_eq(r.items, 1);
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

START_TEST(test_lone_cr_between_frames_is_keepalive)
{
    ck_decodes_to("{\"a\":1}\n\r{\"b\":2}\n", "I {\"a\":1}\nK\nI {\"b\":2}\n");
    ck_decodes_to("\r", "K\n");
}
END_TEST

START_TEST(test_lf_after_keepalive_cr_is_keepalive)
{
    ck_decodes_to("{\"a\":1}\n\r\n", "I {\"a\":1}\nK\n");
}
END_TEST

START_TEST(test_whitespace_inside_item_before_delimiter_is_part_of_it)
{
    ck_decodes_to("{\"a\":1}   \n{\"b\":2}\r", "I {\"a\":1}\nI {\"b\":2}\n");
}
END_TEST

static Suite *framing_suite(void)
{
    Suite *s = suite_create("framing");
    TCase *tc = tcase_create("framing");
    tcase_add_test(tc, test_cr_delimits_items);
    tcase_add_test(tc, test_lf_delimits_complete_items);
    tcase_add_test(tc, test_crlf_delimits_items_without_keepalive);
    tcase_add_test(tc, test_pretty_items_with_raw_newlines_delimited_by_cr);
    tcase_add_test(tc, test_lf_inside_incomplete_value_is_whitespace);
    tcase_add_test(tc, test_item_text_excludes_surrounding_whitespace);
    tcase_add_test(tc, test_item_is_delivered_at_its_delimiter_not_before);
    tcase_add_test(tc, test_bad_item_is_reported_before_its_delimiter_arrives);
    tcase_add_test(tc, test_sample_stream_decodes_alike_whole_bytewise_and_split_anywhere);
    tcase_add_test(tc, test_utf8_character_split_across_feeds);
    tcase_add_test(tc, test_keepalive_runs_count_once_each_within_a_feed);
    tcase_add_test(tc, test_keepalive_split_across_feeds_counts_once_per_feed);
    tcase_add_test(tc, test_lf_after_frame_cr_is_delimiter_even_in_next_feed);
    tcase_add_test(tc, test_lone_cr_between_frames_is_keepalive);
    tcase_add_test(tc, test_lf_after_keepalive_cr_is_keepalive);
    tcase_add_test(tc, test_whitespace_inside_item_before_delimiter_is_part_of_it);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(framing_suite());
}
