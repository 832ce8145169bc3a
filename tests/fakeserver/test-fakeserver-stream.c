/* test-fakeserver-stream.c: the bytes of a stream, checked over a plain socket: the dialects,
 * keep-alives, chunkings, faults (cut, stall, close, hang), injected bad frames, and which
 * messages a stream gets. Usage: test-fakeserver-stream SERVER_BINARY */
#include "test-support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Messages from 50 ms on, one every 15 ms: plenty for any stream below. */
#define POSTING "room " ROOM "\n post 1000 every 15 start 50\n"

/* The stream of the first request to a server on this scenario, whole (the server ends it). */
static void get_stream(const char *scenario, struct chunked *c)
{
    fakeserver *fs = ts_start(scenario);
    struct buf raw = {0};
    ts_request(fakeserver_port(fs), "GET", STREAM_PATH, NULL, &raw);
    ts_dechunk(&raw, c);
    buf_free(&raw);
    ts_stop(fs);
}

/* Two items of a dialect: compact items (or pretty ones, with raw newlines inside) that end in
 * the dialect's delimiter, one chunk each. */
static void check_dialect(const char *dialect, const char *delim, int pretty)
{
    char scenario[256];
    snprintf(scenario, sizeof scenario, POSTING " conn 1 stream dialect %s end-after 2\n", dialect);
    static struct chunked c;
    get_stream(scenario, &c);
    ck_assert_int_eq(c.status, 200);
    ck_assert(c.complete);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_ptr_nonnull(strstr(c.head.data, "Content-Type: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(c.head.data, "Transfer-Encoding: chunked\r\n"));
    size_t dl = strlen(delim);
    ck_assert_uint_eq(c.sizes[0] + c.sizes[1], c.payload.len);
    const char *item2 = c.payload.data + c.sizes[0];
    ck_assert_mem_eq(item2 - dl, delim, dl);
    ck_assert_mem_eq(c.payload.data + c.payload.len - dl, delim, dl);
    ck_assert_int_eq(c.payload.data[0], '{');
    ck_assert_int_eq(item2[0], '{');
    size_t inner_newlines = 0;
    for (size_t i = 0; i + dl < c.sizes[0]; i++)
        inner_newlines += c.payload.data[i] == '\n' || c.payload.data[i] == '\r';
    if (pretty)
        ck_assert_uint_gt(inner_newlines, 10);
    else
        ck_assert_uint_eq(inner_newlines, 0);
    ck_assert_uint_eq(ts_count(c.payload.data, pretty ? "\"v\": 1" : "\"v\":1"), 4);
    ts_chunked_free(&c);
}

START_TEST(test_dialect_cr_ends_compact_items_with_cr)
{
    check_dialect("cr", "\r", 0);
}
END_TEST

START_TEST(test_dialect_lf_ends_compact_items_with_lf)
{
    check_dialect("lf", "\n", 0);
}
END_TEST

START_TEST(test_dialect_crlf_ends_compact_items_with_crlf)
{
    check_dialect("crlf", "\r\n", 0);
}
END_TEST

START_TEST(test_dialect_pretty_spreads_items_over_lines_and_ends_them_with_cr)
{
    check_dialect("pretty", "\r", 1);
}
END_TEST

START_TEST(test_keepalive_bytes_come_one_chunk_each_at_their_interval)
{
    fakeserver *fs =
        ts_start("room " ROOM2 "\n conn 1 stream keepalive 20 keepalive-bytes \"\\n\"\n");
    long long t0 = ts_mono_ms();
    int fd = ts_open(fakeserver_port(fs), "GET", "/v1/rooms/" ROOM2 "/chatMessages", NULL);
    struct buf raw = {0};
    ck_assert(ts_read_until(fd, &raw, "\r\n1\r\n\n", 6, WAIT_MS));
    long long elapsed = ts_mono_ms() - t0;
    close(fd);
    /* six keep-alives, 20 ms apart, take about 120 ms: not much less, not many times more */
    ck_assert_int_ge(elapsed, 100);
    ck_assert_int_le(elapsed, 2000);
    static struct chunked c;
    ts_dechunk(&raw, &c);
    ck_assert_int_eq(c.status, 200);
    ck_assert_uint_ge(c.n, 6);
    ck_assert_uint_eq(c.payload.len, c.n);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_uint_eq(c.sizes[i], 1);
    ck_assert_uint_eq(strspn(c.payload.data, "\n"), c.payload.len);
    ts_chunked_free(&c);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_stall_after_0_sends_no_keepalive_either)
{
    fakeserver *fs = ts_start(POSTING " conn 1 stream keepalive 10 stall-after 0\n");
    int fd = ts_open(fakeserver_port(fs), "GET", STREAM_PATH, NULL);
    struct buf raw = {0};
    ck_assert(ts_read_until(fd, &raw, "\r\n\r\n", 1, WAIT_MS));
    ck_assert_int_eq(ts_read_for(fd, &raw, QUIET_MS), 0); /* nothing more, and still open */
    close(fd);
    static struct chunked c;
    ts_dechunk(&raw, &c);
    ck_assert_int_eq(c.status, 200);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_uint_eq(c.payload.len, 0);
    ts_chunked_free(&c);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_drip_chunking_sends_one_byte_per_chunk)
{
    static struct chunked c;
    get_stream(POSTING " conn 1 stream chunking drip end-after 1\n", &c);
    ck_assert(c.complete);
    ck_assert_uint_gt(c.n, 100);
    ck_assert_uint_eq(c.n, c.payload.len);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_uint_eq(c.sizes[i], 1);
    ck_assert_uint_eq(ts_count(c.payload.data, "\"readBy\""), 1);
    ts_chunked_free(&c);
}
END_TEST

#define NON_ASCII_TEXT " post 1000 every 15 start 50 text \"\\u00fcber caf\\u00e9 \\u2603\"\n"

START_TEST(test_split_utf8_chunking_ends_chunks_right_after_lead_bytes)
{
    static struct chunked c;
    get_stream("room " ROOM "\n" NON_ASCII_TEXT " conn 1 stream chunking split-utf8 end-after 1\n",
               &c);
    ck_assert(c.complete);
    ck_assert_uint_eq(c.n, 4); /* the text has \u escapes, the html raw ü, é and ☃ */
    size_t off = 0;
    for (size_t i = 0; i + 1 < c.n; i++) {
        off += c.sizes[i];
        ck_assert_uint_ge((unsigned char)c.payload.data[off - 1], 0xc0);
    }
    ts_chunked_free(&c);
}
END_TEST

START_TEST(test_text_goes_out_as_written_and_html_as_decoded_utf8)
{
    static struct chunked c;
    get_stream("room " ROOM "\n" NON_ASCII_TEXT " conn 1 stream end-after 1\n", &c);
    ck_assert(c.complete);
    ck_assert_ptr_nonnull(strstr(c.payload.data, "\"text\":\"\\u00fcber caf\\u00e9 \\u2603\""));
    ck_assert_ptr_nonnull(strstr(c.payload.data, "\"html\":\"\xc3\xbc"
                                                 "ber caf\xc3\xa9 \xe2\x98\x83\""));
    ts_chunked_free(&c);
}
END_TEST

START_TEST(test_merge_chunking_sends_three_items_in_one_chunk)
{
    static struct chunked c;
    get_stream(POSTING " conn 1 stream chunking merge 3 end-after 3\n", &c);
    ck_assert(c.complete);
    ck_assert_uint_eq(c.n, 1);
    ck_assert_uint_eq(ts_count(c.payload.data, "\"readBy\""), 3);
    ts_chunked_free(&c);
}
END_TEST

START_TEST(test_random_chunking_sends_chunks_of_1_to_48_bytes)
{
    static struct chunked c;
    get_stream(POSTING " conn 1 stream chunking random 42 end-after 2\n", &c);
    ck_assert(c.complete);
    ck_assert_uint_gt(c.n, 10);
    ck_assert_uint_eq(ts_count(c.payload.data, "\"readBy\""), 2);
    for (size_t i = 0; i < c.n; i++) {
        ck_assert_uint_ge(c.sizes[i], 1);
        ck_assert_uint_le(c.sizes[i], 48);
    }
    ts_chunked_free(&c);
}
END_TEST

START_TEST(test_cut_after_sends_half_of_the_next_item_then_closes)
{
    static struct chunked c;
    get_stream(POSTING " conn 1 stream cut-after 1\n", &c);
    ck_assert(!c.complete);
    ck_assert(c.truncated);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_uint_eq(c.payload.len, c.sizes[0] + c.sizes[1] / 2);
    ts_chunked_free(&c);
}
END_TEST

START_TEST(test_cut_at_byte_closes_after_that_many_body_bytes)
{
    static struct chunked c;
    get_stream(POSTING " conn 1 stream cut-at-byte 700\n", &c);
    ck_assert(!c.complete);
    ck_assert_uint_eq(c.payload.len, 700);
    ts_chunked_free(&c);
}
END_TEST

START_TEST(test_stall_after_sends_nothing_more_and_keeps_the_socket_open)
{
    fakeserver *fs = ts_start(POSTING " conn 1 stream stall-after 1\n");
    int fd = ts_open(fakeserver_port(fs), "GET", STREAM_PATH, NULL);
    struct buf raw = {0};
    ck_assert(ts_read_until(fd, &raw, "}\n\r\n", 1, WAIT_MS)); /* the first item */
    ck_assert_int_eq(ts_read_for(fd, &raw, QUIET_MS), 0);      /* then silence, still open */
    close(fd);
    static struct chunked c;
    ts_dechunk(&raw, &c);
    ck_assert(!c.complete);
    ck_assert(!c.truncated);
    ck_assert_uint_eq(c.n, 1);
    ts_chunked_free(&c);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_close_action_closes_the_socket_without_a_reply)
{
    fakeserver *fs = ts_start(POSTING " conn 1 close\n");
    struct buf raw = {0};
    ts_request(fakeserver_port(fs), "GET", STREAM_PATH, NULL, &raw); /* asserts it closed */
    ck_assert_uint_eq(raw.len, 0);
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tGET\t" STREAM_PATH), 1); /* after reading it */
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_hang_action_keeps_the_socket_open_without_a_reply)
{
    fakeserver *fs = ts_start(POSTING " conn 1 hang\n");
    int fd = ts_open(fakeserver_port(fs), "GET", STREAM_PATH, NULL);
    ck_assert_uint_eq(ts_wait_log(fs, "\tGET\t" STREAM_PATH, 1, WAIT_MS), 1); /* it was read */
    struct buf raw = {0};
    ck_assert_int_eq(ts_read_for(fd, &raw, QUIET_MS), 0);
    ck_assert_uint_eq(raw.len, 0);
    close(fd);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_connection_serves_the_next_request_after_end_after)
{
    fakeserver *fs = ts_start(POSTING " conn 1 stream end-after 1\n");
    int fd = ts_connect(fakeserver_port(fs));
    ts_send(fd, "GET " STREAM_PATH " HTTP/1.1\r\nHost: x\r\n\r\n");
    struct buf raw = {0};
    ck_assert(ts_read_until(fd, &raw, "\r\n0\r\n\r\n", 1, WAIT_MS));
    static struct chunked c;
    ts_dechunk(&raw, &c);
    ck_assert(c.complete);
    ck_assert_uint_eq(c.n, 1);
    ts_chunked_free(&c);
    buf_free(&raw);
    ts_send(fd, "GET /api" STREAM_PATH "?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    ck_assert_int_eq(ts_read_for(fd, &raw, WAIT_MS), 1);
    close(fd);
    ck_assert_int_eq(ts_status(&raw), 200);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

START_TEST(test_injected_frames_arrive_byte_exact_at_their_positions)
{
    static struct chunked c;
    get_stream(POSTING " conn 1 stream dialect cr inject 0 invalid-json"
                       " inject 1 invalid-utf8 overlong inject 1 array inject 2 oversize 2000"
                       " inject 2 deep 4 inject 2 trailing inject 2 raw \"{}\\n\" end-after 2\n",
               &c);
    ck_assert(c.complete);
    ck_assert_uint_eq(c.n, 9);
    /* 0: invalid-json, before any item */
    ck_assert_uint_eq(c.sizes[0], 24);
    ck_assert_mem_eq(c.payload.data, "{\"text\" \"invalid json\"}\r", 24);
    /* 1: item 1; 2: invalid-utf8 overlong */
    const char *p = c.payload.data + c.sizes[0] + c.sizes[1];
    ck_assert_mem_eq(p, "{\"text\":\"bad \xc0\xaf utf8\"}\r", 22);
    /* 3: array */
    p += c.sizes[2];
    ck_assert_int_eq(p[0], '[');
    /* 4: item 2; 5: oversize, 2000 bytes and the delimiter */
    p += c.sizes[3] + c.sizes[4];
    ck_assert_uint_eq(c.sizes[5], 2001);
    ck_assert_int_eq(p[0], '{');
    ck_assert_int_eq(p[2000], '\r');
    /* 6: deep */
    p += c.sizes[5];
    ck_assert_mem_eq(p, "{\"a\":{\"a\":{\"a\":{}}}}\r", 21);
    /* 7: trailing */
    p += c.sizes[6];
    ck_assert_mem_eq(p, "{\"text\":\"trailing garbage\"} x\r", 30);
    /* 8: raw, with no delimiter added */
    p += c.sizes[7];
    ck_assert_uint_eq(c.sizes[8], 3);
    ck_assert_mem_eq(p, "{}\n", 3);
    ts_chunked_free(&c);
}
END_TEST

START_TEST(test_stream_sends_only_messages_posted_after_it_connected)
{
    fakeserver *fs = ts_start("room " ROOM "\n history 5\n post 1000 every 20 start 0\n"
                              " conn default stream end-after 3\n");
    /* history and some posts are out before the stream connects */
    ck_assert_uint_ge(ts_wait_log(fs, "POSTED\t" ROOM "\t", 10, WAIT_MS), 10);
    char *before = fakeserver_posted_ids(fs, ROOM);
    ck_assert_ptr_nonnull(before);
    ck_assert_uint_ge(strlen(before), 25 * 10);
    struct buf raw = {0};
    ts_request(fakeserver_port(fs), "GET", STREAM_PATH, NULL, &raw);
    char ids[3][25];
    ck_assert_uint_eq(ts_ids_in(raw.data, ids, 3), 3);
    const char *last_before = before + strlen(before) - 25;
    ck_assert_int_gt(strncmp(ids[0], last_before, 24), 0);
    free(before);
    buf_free(&raw);
    ts_stop(fs);
}
END_TEST

static Suite *stream_suite(void)
{
    Suite *s = suite_create("fakeserver-stream");
    TCase *tc = tcase_create("dialects");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_dialect_cr_ends_compact_items_with_cr);
    tcase_add_test(tc, test_dialect_lf_ends_compact_items_with_lf);
    tcase_add_test(tc, test_dialect_crlf_ends_compact_items_with_crlf);
    tcase_add_test(tc, test_dialect_pretty_spreads_items_over_lines_and_ends_them_with_cr);
    suite_add_tcase(s, tc);
    tc = tcase_create("chunking");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_keepalive_bytes_come_one_chunk_each_at_their_interval);
    tcase_add_test(tc, test_stall_after_0_sends_no_keepalive_either);
    tcase_add_test(tc, test_drip_chunking_sends_one_byte_per_chunk);
    tcase_add_test(tc, test_split_utf8_chunking_ends_chunks_right_after_lead_bytes);
    tcase_add_test(tc, test_text_goes_out_as_written_and_html_as_decoded_utf8);
    tcase_add_test(tc, test_merge_chunking_sends_three_items_in_one_chunk);
    tcase_add_test(tc, test_random_chunking_sends_chunks_of_1_to_48_bytes);
    suite_add_tcase(s, tc);
    tc = tcase_create("faults");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cut_after_sends_half_of_the_next_item_then_closes);
    tcase_add_test(tc, test_cut_at_byte_closes_after_that_many_body_bytes);
    tcase_add_test(tc, test_stall_after_sends_nothing_more_and_keeps_the_socket_open);
    tcase_add_test(tc, test_close_action_closes_the_socket_without_a_reply);
    tcase_add_test(tc, test_hang_action_keeps_the_socket_open_without_a_reply);
    tcase_add_test(tc, test_connection_serves_the_next_request_after_end_after);
    tcase_add_test(tc, test_injected_frames_arrive_byte_exact_at_their_positions);
    suite_add_tcase(s, tc);
    tc = tcase_create("timeline");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_stream_sends_only_messages_posted_after_it_connected);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    ts_init(argc, argv, 2, "");
    SRunner *sr = srunner_create(stream_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
