/* test-backoff.c: the reconnect policy, as pure arithmetic: no clock, no
 * sleeping. */
#include <check.h>
#include <stdlib.h>

#include "backoff.h"
#include "common.h"
#include "check-run.h"

/* The smallest and largest delay attempts 1..n give, over many seeds. */
static void range_of(gs_failure f, int n, long server_ms, long *lo, long *hi)
{
    *lo = -2;
    *hi = -2;
    for (unsigned long long seed = 0; seed < 2000; seed++) {
        gs_backoff b;
        gs_backoff_init(&b, seed);
        long d = 0;
        for (int i = 0; i < n; i++)
            d = gs_backoff_next(&b, f, server_ms);
        if (*lo == -2 || d < *lo)
            *lo = d;
        if (*hi == -2 || d > *hi)
            *hi = d;
    }
}

START_TEST(test_transient_delay_grows_by_250_ms_within_half_to_full)
{
    for (int n = 1; n <= 10; n++) {
        long lo, hi;
        range_of(GS_FAIL_TRANSIENT, n, -1, &lo, &hi);
        ck_assert_int_ge(lo, 125L * n);
        ck_assert_int_le(hi, 250L * n);
        ck_assert_int_lt(lo, 125L * n + 25); /* the whole range is used */
        ck_assert_int_gt(hi, 250L * n - 25);
    }
}
END_TEST

START_TEST(test_transient_delay_is_capped_at_16_s)
{
    long lo, hi;
    range_of(GS_FAIL_TRANSIENT, 200, -1, &lo, &hi);
    ck_assert_int_ge(lo, 8000);
    ck_assert_int_le(hi, 16000);
}
END_TEST

START_TEST(test_server_error_delay_doubles_from_5_s_capped_at_320_s)
{
    long expected[] = {5000, 10000, 20000, 40000, 80000, 160000, 320000, 320000, 320000};
    for (int n = 1; n <= 9; n++) {
        long lo, hi;
        range_of(GS_FAIL_SERVER, n, -1, &lo, &hi);
        ck_assert_int_ge(lo, expected[n - 1] / 2);
        ck_assert_int_le(hi, expected[n - 1]);
    }
}
END_TEST

START_TEST(test_rate_limit_without_header_doubles_from_60_s_capped_at_15_min)
{
    long lo, hi;
    range_of(GS_FAIL_RATE, 1, -1, &lo, &hi);
    ck_assert_int_ge(lo, 30000);
    ck_assert_int_le(hi, 60000);
    range_of(GS_FAIL_RATE, 2, -1, &lo, &hi);
    ck_assert_int_ge(lo, 60000);
    ck_assert_int_le(hi, 120000);
    range_of(GS_FAIL_RATE, 30, -1, &lo, &hi);
    ck_assert_int_ge(lo, 450000);
    ck_assert_int_le(hi, 900000);
}
END_TEST

START_TEST(test_rate_limit_honours_the_server_wait_clamped_to_1_s_and_15_min)
{
    gs_backoff b;
    gs_backoff_init(&b, 1);
    ck_assert_int_eq(gs_backoff_next(&b, GS_FAIL_RATE, 2000), 2000);
    ck_assert_int_eq(gs_backoff_next(&b, GS_FAIL_RATE, 10), 1000);
    ck_assert_int_eq(gs_backoff_next(&b, GS_FAIL_RATE, 0), 1000);
    ck_assert_int_eq(gs_backoff_next(&b, GS_FAIL_RATE, 3600000), 900000);
}
END_TEST

START_TEST(test_fatal_failures_are_not_retried)
{
    gs_backoff b;
    gs_backoff_init(&b, 1);
    ck_assert_int_eq(gs_backoff_next(&b, GS_FAIL_FATAL, -1), -1);
    ck_assert_int_eq(gs_backoff_next(&b, GS_FAIL_FATAL, 5000), -1);
}
END_TEST

START_TEST(test_attempts_count_across_classes)
{
    /* two transient failures, then a server error: its delay is that of a
     * third attempt */
    long lo, hi;
    lo = hi = -1;
    for (unsigned long long seed = 0; seed < 500; seed++) {
        gs_backoff b;
        gs_backoff_init(&b, seed);
        gs_backoff_next(&b, GS_FAIL_TRANSIENT, -1);
        gs_backoff_next(&b, GS_FAIL_TRANSIENT, -1);
        long d = gs_backoff_next(&b, GS_FAIL_SERVER, -1);
        lo = lo < 0 || d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    ck_assert_int_ge(lo, 10000);
    ck_assert_int_le(hi, 20000);
}
END_TEST

START_TEST(test_healthy_connection_resets_the_count)
{
    gs_backoff b;
    gs_backoff_init(&b, 7);
    for (int i = 0; i < 20; i++)
        gs_backoff_next(&b, GS_FAIL_TRANSIENT, -1);
    gs_backoff_healthy(&b);
    long d = gs_backoff_next(&b, GS_FAIL_TRANSIENT, -1);
    ck_assert_int_ge(d, 125);
    ck_assert_int_le(d, 250);
}
END_TEST

START_TEST(test_same_seed_gives_same_delays)
{
    gs_backoff a, b;
    gs_backoff_init(&a, 42);
    gs_backoff_init(&b, 42);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(gs_backoff_next(&a, GS_FAIL_TRANSIENT, -1),
                         gs_backoff_next(&b, GS_FAIL_TRANSIENT, -1));
}
END_TEST

START_TEST(test_error_codes_map_to_failure_classes)
{
    ck_assert_int_eq(gs_failure_of(GITTERSTREAM_E_NETWORK), GS_FAIL_TRANSIENT);
    ck_assert_int_eq(gs_failure_of(GITTERSTREAM_E_STALL), GS_FAIL_TRANSIENT);
    ck_assert_int_eq(gs_failure_of(GITTERSTREAM_E_CLOSED), GS_FAIL_TRANSIENT);
    ck_assert_int_eq(gs_failure_of(GITTERSTREAM_E_HTTP), GS_FAIL_SERVER);
    ck_assert_int_eq(gs_failure_of(GITTERSTREAM_E_RATE_LIMITED), GS_FAIL_RATE);
    ck_assert_int_eq(gs_failure_of(GITTERSTREAM_E_AUTH), GS_FAIL_FATAL);
    ck_assert_int_eq(gs_failure_of(GITTERSTREAM_E_NOT_FOUND), GS_FAIL_FATAL);
}
END_TEST

static Suite *backoff_suite(void)
{
    Suite *s = suite_create("backoff");
    TCase *tc = tcase_create("backoff");
    tcase_add_test(tc, test_transient_delay_grows_by_250_ms_within_half_to_full);
    tcase_add_test(tc, test_transient_delay_is_capped_at_16_s);
    tcase_add_test(tc, test_server_error_delay_doubles_from_5_s_capped_at_320_s);
    tcase_add_test(tc, test_rate_limit_without_header_doubles_from_60_s_capped_at_15_min);
    tcase_add_test(tc, test_rate_limit_honours_the_server_wait_clamped_to_1_s_and_15_min);
    tcase_add_test(tc, test_fatal_failures_are_not_retried);
    tcase_add_test(tc, test_attempts_count_across_classes);
    tcase_add_test(tc, test_healthy_connection_resets_the_count);
    tcase_add_test(tc, test_same_seed_gives_same_delays);
    tcase_add_test(tc, test_error_codes_map_to_failure_classes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(backoff_suite());
}
