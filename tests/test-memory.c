/* test-memory.c: bounded memory, no allocation per item, allocation
 * failures, and freeing from inside callbacks. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "counting-alloc.h"
#include "recorder.h"
#include "check-run.h"

START_TEST(test_100_mb_without_delimiter_stays_within_size_limit)
{
    enum { PIECE = 65536 };
    static char piece[PIECE];
    memset(piece, 'x', sizeof piece);
    counting_start(1);
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_feed(p, "{\"t\":\"", 6), 0);
    for (size_t fed = 0; fed < 100u * 1000 * 1000; fed += PIECE)
        ck_assert_int_eq(gitterstream_parser_feed(p, piece, PIECE), 0);
    const char *tail = "\"}\n{\"ok\":1}\n";
    ck_assert_int_eq(gitterstream_parser_feed(p, tail, strlen(tail)), 0);
    ck_assert_msg(counted.peak <= (1u << 20) + 65536, "peak %zu bytes", counted.peak);
    ck_assert_int_eq(r.errors, 1);
    ck_assert_int_eq(r.last_code, GITTERSTREAM_E_TOO_LARGE);
    ck_assert_str_eq(strstr(r.log, "I "), "I {\"ok\":1}\n");
    gitterstream_parser_free(p);
    ck_assert_uint_eq(counted.live, 0);
    counting_stop();
    recorder_clear(&r);
}
END_TEST

static void read_fields(const gitterstream_msg *m, void *ud)
{
    int *items = ud;
    ck_assert_ptr_nonnull(gitterstream_msg_str(m, "fromUser.username"));
    ck_assert_ptr_nonnull(gitterstream_msg_str(m, "text"));
    (*items)++;
}

START_TEST(test_steady_state_decoding_allocates_nothing_per_item)
{
    size_t len;
    char *sample = read_data_file("sample.stream", &len);
    counting_start(1);
    int items = 0;
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_on_item(p, read_fields, &items);
    ck_assert_int_eq(gitterstream_parser_feed(p, sample, len), 0); /* warm up */
    unsigned long long before = counted.calls;
    for (int round = 0; round < 2000; round++)
        for (size_t i = 0; i < len; i += 1000) /* items span feeds too */
            ck_assert_int_eq(
                gitterstream_parser_feed(p, sample + i, len - i < 1000 ? len - i : 1000), 0);
    ck_assert_int_eq(items, 5 * 2001);
    ck_assert_uint_eq(counted.calls - before, 0);
    gitterstream_parser_free(p);
    counting_stop();
    free(sample);
}
END_TEST

START_TEST(test_each_allocation_failure_is_reported_and_leaks_nothing)
{
    size_t len;
    char *sample = read_data_file("sample.stream", &len);
    char *expected = decode_in_pieces(sample, len, 7);
    for (long n = 1;; n++) {
        counting_start(0);
        counted.fail_at = n;
        gitterstream_parser *p = gitterstream_parser_new();
        if (!p) {
            ck_assert(counted.failed);
            counting_stop();
            continue;
        }
        recorder r;
        recorder_attach(&r, p);
        int nomem = 0;
        for (size_t i = 0; i < len; i += 7) {
            int rc = gitterstream_parser_feed(p, sample + i, len - i < 7 ? len - i : 7);
            ck_assert(rc == GITTERSTREAM_OK || rc == GITTERSTREAM_E_NOMEM);
            nomem |= rc == GITTERSTREAM_E_NOMEM;
        }
        ck_assert_int_eq(nomem, counted.failed);
        gitterstream_parser_free(p);
        ck_assert_uint_eq(counted.live, 0);
        int done = !counted.failed;
        counting_stop();
        if (done) {
            ck_assert_str_eq(r.log, expected);
            recorder_clear(&r);
            break;
        }
        recorder_clear(&r);
        ck_assert_int_lt(n, 1000);
    }
    free(expected);
    free(sample);
}
END_TEST

static void free_own_parser(const gitterstream_msg *m, void *ud)
{
    gitterstream_parser_free(*(gitterstream_parser **)ud);
}

START_TEST(test_parser_can_be_freed_from_its_own_callback)
{
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_on_item(p, free_own_parser, &p);
    const char *s = "{\"a\":1}\n{\"b\":2}\n";
    ck_assert_int_eq(gitterstream_parser_feed(p, s, strlen(s)), GITTERSTREAM_OK);
    /* valgrind and ASan check that it was freed exactly once */
}
END_TEST

struct reentry {
    gitterstream_parser *p;
    int rc;
};

static void feed_own_parser(const gitterstream_msg *m, void *ud)
{
    struct reentry *re = ud;
    re->rc = gitterstream_parser_feed(re->p, "{}\n", 3);
}

START_TEST(test_feeding_a_parser_from_its_own_callback_is_refused)
{
    struct reentry re = {gitterstream_parser_new(), 1};
    gitterstream_parser_on_item(re.p, feed_own_parser, &re);
    ck_assert_int_eq(gitterstream_parser_feed(re.p, "{}\n", 3), 0);
    ck_assert_int_eq(re.rc, GITTERSTREAM_E_STATE);
    gitterstream_parser_free(re.p);
}
END_TEST

static Suite *memory_suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("memory");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_100_mb_without_delimiter_stays_within_size_limit);
    tcase_add_test(tc, test_steady_state_decoding_allocates_nothing_per_item);
    tcase_add_test(tc, test_each_allocation_failure_is_reported_and_leaks_nothing);
    tcase_add_test(tc, test_parser_can_be_freed_from_its_own_callback);
    tcase_add_test(tc, test_feeding_a_parser_from_its_own_callback_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(memory_suite());
}
