/* test-nomem.c: the handle when memory runs out: each of the library's
 * allocations during a live session (connect, stream, a cut, a reconnect
 * with gap-fill) is made to fail in turn. A failed call returns
 * GITTERSTREAM_E_NOMEM; a failure inside the session is reported as
 * GITTERSTREAM_E_NOMEM or absorbed (a page fetched again, a connection
 * retried); nothing leaks, and, the reconnect policy and gap-fill being what
 * they are, no message is lost or repeated. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "counting-alloc.h"
#include "fakeserver-client.h"
#include <gitterstream.h>
#include "check-run.h"

#define ROOM "5a1b2c3d4e5f60718293a4b5"
#define WANT 12

struct session {
    char ids[64][32];
    int n, nomem_errors, other_errors;
    char other[256]; /* the last unexpected error */
};

static void on_message(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    struct session *s = ud;
    size_t len;
    const char *json = gitterstream_msg_json(m, &len);
    /* the id straight from the text: msg_str may itself be the failing allocation */
    const char *id = strstr(json, "\"id\":\"");
    ck_assert_ptr_nonnull(id);
    if (s->n < 64)
        snprintf(s->ids[s->n], sizeof s->ids[0], "%.24s", id + 6);
    s->n++;
    if (s->n >= WANT)
        gitterstream_break(gitterstream_sub_userdata(sub));
}

static void on_error(gitterstream_sub *sub, const gitterstream_error *e, void *ud)
{
    struct session *s = ud;
    int code = gitterstream_error_code(e);
    if (code == GITTERSTREAM_E_NOMEM)
        s->nomem_errors++;
    else if (code != GITTERSTREAM_E_NETWORK && code != GITTERSTREAM_E_STALL) {
        /* the scripted cuts are network errors; anything else is not expected */
        s->other_errors++;
        snprintf(s->other, sizeof s->other, "%d: %s", code, gitterstream_error_text(e));
    }
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One session with allocation number fail_at failing (0: none). Returns
 * whether that allocation was reached. */
static int session(fakeserver *fs, long fail_at, struct session *s)
{
    memset(s, 0, sizeof *s);
    counting_start(0);
    counted.fail_at = fail_at;
    gitterstream *gs = gitterstream_new();
    if (!gs) {
        ck_assert(counted.failed);
        counting_stop();
        return 1;
    }
    int rc = gitterstream_set_str(gs, GITTERSTREAM_OPT_STREAM_URL, fakeserver_url(fs));
    rc = rc ? rc : gitterstream_set_str(gs, GITTERSTREAM_OPT_API_URL, fakeserver_url(fs));
    rc = rc ? rc : gitterstream_set_str(gs, GITTERSTREAM_OPT_TOKEN, "t0k3n");
    rc = rc ? rc : gitterstream_set_int(gs, GITTERSTREAM_OPT_STALL_TIMEOUT_MS, 400);
    gitterstream_on_message(gs, on_message, s);
    gitterstream_on_error(gs, on_error, s);
    gitterstream_sub *sub = NULL;
    rc = rc ? rc : gitterstream_subscribe(gs, ROOM, GITTERSTREAM_CHAT_MESSAGES, &sub);
    if (rc != GITTERSTREAM_OK) {
        ck_assert_int_eq(rc, GITTERSTREAM_E_NOMEM);
        ck_assert(counted.failed);
    } else {
        gitterstream_sub_set_userdata(sub, gs);
        long long deadline = now_ms() + 15000;
        while (s->n < WANT && now_ms() < deadline)
            ck_assert_int_eq(gitterstream_poll(gs, 50), GITTERSTREAM_OK);
        ck_assert_msg(s->n >= WANT, "allocation %ld failing: only %d messages", fail_at, s->n);
    }
    gitterstream_free(gs);
    ck_assert_msg(counted.live == 0, "allocation %ld failing: %zu bytes leaked", fail_at,
                  counted.live);
    int reached = counted.failed;
    counting_stop();
    return reached;
}

/* The delivered ids are consecutive posted ids: none lost, none twice. */
static void check_contiguous(fakeserver *fs, const struct session *s, long fail_at)
{
    char *posted = fakeserver_posted_ids(fs, ROOM);
    ck_assert_ptr_nonnull(posted);
    char *at = strstr(posted, s->ids[0]);
    ck_assert_msg(at != NULL, "allocation %ld failing: %s was never posted", fail_at, s->ids[0]);
    for (int i = 0; i < s->n && i < 64; i++, at += 25)
        ck_assert_msg(strncmp(at, s->ids[i], 24) == 0,
                      "allocation %ld failing: delivery %d is %s, expected %.24s", fail_at, i,
                      s->ids[i], at);
    free(posted);
}

START_TEST(test_each_allocation_failure_is_reported_recovered_and_leaks_nothing)
{
    /* Every connection is cut after 4 items, so each session reconnects and
     * fills gaps from the REST API; messages keep coming every 10 ms. */
    fakeserver *fs = fakeserver_start(getenv("FAKESERVER"),
                                      "room " ROOM "\npost 100000 every 10 start 0\n"
                                      "conn default stream cut-after 4 keepalive 50\n",
                                      NULL);
    ck_assert_ptr_nonnull(fs);
    struct session s;
    ck_assert_int_eq(session(fs, 0, &s), 0);
    check_contiguous(fs, &s, 0);
    long n = 1;
    for (; n < 400; n++) {
        if (!session(fs, n, &s))
            break; /* the session got through without reaching allocation n */
        if (s.n)
            check_contiguous(fs, &s, n);
        ck_assert_msg(s.other_errors == 0, "allocation %ld failing: error %s", n, s.other);
    }
    ck_assert_int_lt(n, 400);
    printf("nomem: %ld allocations failed in turn, each recovered\n", n - 1);
    fakeserver_stop(fs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nomem");
    TCase *tc = tcase_create("nomem");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_each_allocation_failure_is_reported_recovered_and_leaks_nothing);
    suite_add_tcase(s, tc);
    return check_run(s);
}
