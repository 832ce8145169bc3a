/* test-uv.c: the libuv adapter (examples/adapters/gitterstream-uv.h) drives
 * a handle from a real libuv loop against the fake server. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gitterstream-uv.h"
#include "live.h"
#include "check-run.h"

#define ROOM "5a1b2c3d4e5f60718293a4b5"

struct delivered {
    char ids[10 * 25 + 1]; /* "id\n" each */
    int n;
};

static void stop_after_ten(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    struct delivered *d = ud;
    if (d->n == 10)
        return; /* uv_stop takes effect once this read is handled */
    strcat(strcat(d->ids, gitterstream_msg_str(m, "id")), "\n");
    if (++d->n == 10)
        uv_stop(uv_default_loop());
}

START_TEST(test_libuv_loop_delivers_posted_messages_through_a_reconnect)
{
    live *l = live_start("room " ROOM "\npost 500 every 20 start 300\n"
                         "conn 1 stream cut-after 4\nconn default stream\n",
                         NULL);
    struct delivered d = {"", 0};
    gitterstream_on_message(l->gs, stop_after_ten, &d);
    gitterstream_uv glue;
    ck_assert_int_eq(gitterstream_uv_attach(&glue, uv_default_loop(), l->gs), 0);
    live_subscribe(l, ROOM, GITTERSTREAM_CHAT_MESSAGES);
    uv_run(uv_default_loop(), UV_RUN_DEFAULT);
    ck_assert_int_eq(d.n, 10);
    /* the ten are consecutive posted ids, the gap after the cut filled */
    char *posted = fakeserver_posted_ids(l->fs, ROOM);
    ck_assert_msg(strstr(posted, d.ids) != NULL, "delivered:\n%s", d.ids);
    ck_assert_ptr_nonnull(strstr(l->log, "S " ROOM " 2\n")); /* it did backfill */
    free(posted);
    gitterstream_free(l->gs); /* while attached: the watchers close */
    l->gs = NULL;
    gitterstream_uv_detach(&glue);
    ck_assert_int_eq(uv_run(uv_default_loop(), UV_RUN_DEFAULT), 0); /* nothing left open */
    ck_assert_int_eq(uv_loop_close(uv_default_loop()), 0);
    live_stop(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uv");
    TCase *tc = tcase_create("uv");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_libuv_loop_delivers_posted_messages_through_a_reconnect);
    suite_add_tcase(s, tc);
    return check_run(s);
}
