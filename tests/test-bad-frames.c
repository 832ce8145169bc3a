/* test-bad-frames.c: each kind of bad frame gives exactly one error with the
 * right code, is skipped to its delimiter, and the next item still arrives. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder.h"
#include "check-run.h"

struct bad_case {
    const char *name;
    const char *frame;
    int code;
};

static const struct bad_case bad_cases[] = {
    {"invalid literal", "{\"a\":tru}", GITTERSTREAM_E_PARSE},
    {"trailing comma", "{\"a\":1,}", GITTERSTREAM_E_PARSE},
    {"unquoted key", "{a:1}", GITTERSTREAM_E_PARSE},
    {"leading zero", "{\"a\":01}", GITTERSTREAM_E_PARSE},
    {"invalid escape", "{\"a\":\"\\x\"}", GITTERSTREAM_E_PARSE},
    {"overlong UTF-8 (2 bytes)", "{\"a\":\"\xc0\xaf\"}", GITTERSTREAM_E_PARSE},
    {"overlong UTF-8 (3 bytes)", "{\"a\":\"\xe0\x80\xaf\"}", GITTERSTREAM_E_PARSE},
    {"UTF-8 encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", GITTERSTREAM_E_PARSE},
    {"UTF-8 above U+10FFFF", "{\"a\":\"\xf4\x90\x80\x80\"}", GITTERSTREAM_E_PARSE},
    {"lone continuation byte", "{\"a\":\"\x80\"}", GITTERSTREAM_E_PARSE},
    {"truncated UTF-8 sequence", "{\"a\":\"\xc3\"}", GITTERSTREAM_E_PARSE},
    {"byte 0xff", "{\"a\":\"\xff\"}", GITTERSTREAM_E_PARSE},
    {"top-level array", "[1,2]", GITTERSTREAM_E_PARSE},
    {"top-level number", "123", GITTERSTREAM_E_PARSE},
    {"top-level string", "\"abc\"", GITTERSTREAM_E_PARSE},
    {"top-level literal", "true", GITTERSTREAM_E_PARSE},
    {"second object after the first", "{\"a\":1}{\"b\":2}", GITTERSTREAM_E_PARSE},
    {"bytes after the object", "{\"a\":1} x", GITTERSTREAM_E_PARSE},
    {"unterminated string after the object", "{\"a\":1} \"abc", GITTERSTREAM_E_PARSE},
    {"vertical tab as whitespace", "{\"a\":\v1}", GITTERSTREAM_E_PARSE},
    {"form feed as whitespace", "{\f\"a\":1}", GITTERSTREAM_E_PARSE},
    {"control character in a string", "{\"a\":\"x\x01y\"}", GITTERSTREAM_E_PARSE},
    {"unclosed object", "{\"a\":[1,2]", GITTERSTREAM_E_PARSE},
    {"mismatched brackets", "{\"a\":[1}]", GITTERSTREAM_E_PARSE},
};

static const char *const dialects[] = {"\r", "\n", "\r\n"};
static const char *const next_item = "{\"next\":true}";

/* One bad frame then a good one, in the given dialect. Items that cannot
 * end at '\n' (they never complete) only make sense with '\r'. */
static int case_fits_dialect(const struct bad_case *c, const char *delim)
{
    return strcmp(delim, "\n") != 0 || strcmp(c->name, "unclosed object") != 0;
}

static void check_one_error_then_next_item(const struct bad_case *c, const char *delim,
                                           size_t piece)
{
    char stream[256];
    snprintf(stream, sizeof stream, "%s%s%s%s", c->frame, delim, next_item, delim);
    size_t len = strlen(stream);
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    for (size_t i = 0; i < len; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        ck_assert_int_eq(gitterstream_parser_feed(p, stream + i, n), GITTERSTREAM_OK);
    }
    ck_assert_msg(r.errors == 1 && r.last_code == c->code,
                  "%s (delimiter %02x, feeds of %zu): %d errors, last %d", c->name,
                  (unsigned)delim[0], piece, r.errors, r.last_code);
    ck_assert_msg(r.items == 1 && strstr(r.log, "I {\"next\":true}\n"),
                  "%s (delimiter %02x): next item lost: %s", c->name, (unsigned)delim[0], r.log);
    ck_assert_int_eq(r.keepalives, 0);
    ck_assert_str_ne(r.last_text, "");
    gitterstream_parser_free(p);
    recorder_clear(&r);
}

START_TEST(test_bad_frame_gives_one_error_and_next_item_arrives)
{
    const struct bad_case *c = &bad_cases[_i];
    for (size_t d = 0; d < sizeof dialects / sizeof *dialects; d++) {
        if (!case_fits_dialect(c, dialects[d]))
            continue;
        check_one_error_then_next_item(c, dialects[d], 4096);
        check_one_error_then_next_item(c, dialects[d], 1);
    }
}
END_TEST

static char *nested(int depth)
{
    /* {"a":[[...[1]...]]} with depth containers in all */
    char *s = malloc((size_t)depth * 2 + 32);
    char *o = s;
    o += sprintf(o, "{\"a\":");
    for (int i = 1; i < depth; i++)
        *o++ = '[';
    *o++ = '1';
    for (int i = 1; i < depth; i++)
        *o++ = ']';
    o += sprintf(o, "}\n{\"next\":true}\n");
    return s;
}

START_TEST(test_depth_64_is_accepted_with_limit_64)
{
    char *s = nested(64);
    char *log = decode(s);
    ck_assert_ptr_null(strstr(log, "E "));
    ck_assert_ptr_nonnull(strstr(log, "I {\"next\":true}"));
    free(log);
    free(s);
}
END_TEST

START_TEST(test_depth_65_is_rejected_with_limit_64)
{
    char *s = nested(65);
    char *log = decode(s);
    char expected[32];
    snprintf(expected, sizeof expected, "E %d\nI {\"next\":true}\n", GITTERSTREAM_E_PARSE);
    ck_assert_str_eq(log, expected);
    free(log);
    free(s);
}
END_TEST

START_TEST(test_depth_limit_option_applies)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_DEPTH, 2), 0);
    const char *s = "{\"a\":[1]}\n{\"a\":[[1]]}\n";
    ck_assert_int_eq(gitterstream_parser_feed(p, s, strlen(s)), 0);
    ck_assert_int_eq(r.items, 1);
    ck_assert_int_eq(r.errors, 1);
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

/* An item of exactly n bytes: {"t":"xxx..."} */
static char *item_of_size(size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, "{\"t\":\"", 6);
    memset(s + 6, 'x', n - 8);
    memcpy(s + n - 2, "\"}", 3);
    return s;
}

static void check_size_limit(size_t limit, size_t size, const char *delim, size_t piece)
{
    char *item = item_of_size(size);
    size_t len = size + 2 * strlen(delim) + strlen(next_item);
    char *stream = malloc(len + 1);
    snprintf(stream, len + 1, "%s%s%s%s", item, delim, next_item, delim);
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(
        gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, (long long)limit), 0);
    for (size_t i = 0; i < len; i += piece)
        ck_assert_int_eq(gitterstream_parser_feed(p, stream + i, len - i < piece ? len - i : piece),
                         0);
    if (size <= limit) {
        ck_assert_int_eq(r.errors, 0);
        ck_assert_int_eq(r.items, 2);
    } else {
        ck_assert_int_eq(r.errors, 1);
        ck_assert_int_eq(r.last_code, GITTERSTREAM_E_TOO_LARGE);
        ck_assert_int_eq(r.items, 1);
    }
    ck_assert_ptr_nonnull(strstr(r.log, "I {\"next\":true}\n"));
    gitterstream_parser_free(p);
    recorder_clear(&r);
    free(stream);
    free(item);
}

START_TEST(test_item_at_size_limit_is_accepted)
{
    for (size_t piece = 1; piece <= 4096; piece *= 8) {
        check_size_limit(1000, 1000, "\r", piece);
        check_size_limit(1000, 1000, "\n", piece);
        check_size_limit(1000, 1000, "\r\n", piece);
    }
}
END_TEST

START_TEST(test_item_one_byte_over_size_limit_is_rejected)
{
    for (size_t piece = 1; piece <= 4096; piece *= 8) {
        check_size_limit(1000, 1001, "\r", piece);
        check_size_limit(1000, 1001, "\n", piece);
        check_size_limit(1000, 1001, "\r\n", piece);
    }
}
END_TEST

START_TEST(test_default_size_limit_is_one_mebibyte)
{
    check_size_limit(1048576, 1048576, "\n", 65536);
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    char *item = item_of_size(1048577);
    ck_assert_int_eq(gitterstream_parser_feed(p, item, 1048577), 0);
    ck_assert_int_eq(r.last_code, GITTERSTREAM_E_TOO_LARGE);
    free(item);
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

START_TEST(test_item_cut_by_cr_is_reported_as_truncated)
{
    char *log = decode("{\"a\":[1,\r{\"b\":2}\r");
    char expected[32];
    snprintf(expected, sizeof expected, "E %d\nI {\"b\":2}\n", GITTERSTREAM_E_PARSE);
    ck_assert_str_eq(log, expected);
    free(log);
}
END_TEST

START_TEST(test_broken_line_does_not_swallow_the_next_line)
{
    char *log = decode("{\"u\":\"abc\n{\"k\":1}\n");
    char expected[32];
    snprintf(expected, sizeof expected, "E %d\nI {\"k\":1}\n", GITTERSTREAM_E_PARSE);
    ck_assert_str_eq(log, expected);
    free(log);
}
END_TEST

START_TEST(test_error_text_names_the_byte_offset)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    const char *s = "{\"abc\":\"\xc0\xaf\"}\n";
    ck_assert_int_eq(gitterstream_parser_feed(p, s, strlen(s)), 0);
    ck_assert_str_eq(r.last_text, "invalid UTF-8 at byte 8 of the item");
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

START_TEST(test_many_bad_frames_in_a_row_then_good_ones)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    for (int i = 0; i < 1000; i++) {
        const char *s = i % 2 ? "{\"a\":tru}\n" : "[1]\n";
        ck_assert_int_eq(gitterstream_parser_feed(p, s, strlen(s)), 0);
    }
    ck_assert_int_eq(gitterstream_parser_feed(p, "{\"ok\":1}\n", 9), 0);
    ck_assert_int_eq(r.errors, 1000);
    ck_assert_int_eq(r.items, 1);
    gitterstream_parser_free(p);
    recorder_clear(&r);
}
END_TEST

static Suite *bad_frames_suite(void)
{
    Suite *s = suite_create("bad-frames");
    TCase *tc = tcase_create("bad-frames");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_bad_frame_gives_one_error_and_next_item_arrives, 0,
                        (int)(sizeof bad_cases / sizeof *bad_cases));
    tcase_add_test(tc, test_depth_64_is_accepted_with_limit_64);
    tcase_add_test(tc, test_depth_65_is_rejected_with_limit_64);
    tcase_add_test(tc, test_depth_limit_option_applies);
    tcase_add_test(tc, test_item_at_size_limit_is_accepted);
    tcase_add_test(tc, test_item_one_byte_over_size_limit_is_rejected);
    tcase_add_test(tc, test_default_size_limit_is_one_mebibyte);
    tcase_add_test(tc, test_item_cut_by_cr_is_reported_as_truncated);
    tcase_add_test(tc, test_broken_line_does_not_swallow_the_next_line);
    tcase_add_test(tc, test_error_text_names_the_byte_offset);
    tcase_add_test(tc, test_many_bad_frames_in_a_row_then_good_ones);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(bad_frames_suite());
}
