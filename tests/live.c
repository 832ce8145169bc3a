/* live.c: see live.h. */
#include "live.h"

#include <check.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void append(live *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(live *l, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    if (l->len + (size_t)n + 1 > l->cap) {
        l->cap = (l->len + (size_t)n + 1) * 2;
        l->log = realloc(l->log, l->cap);
        ck_assert_ptr_nonnull(l->log);
    }
    memcpy(l->log + l->len, line, (size_t)n + 1);
    l->len += (size_t)n;
}

static void check_finish(live *l)
{
    if (l->finish && l->finish(l))
        gitterstream_break(l->gs);
}

static const char *room_of(gitterstream_sub *sub)
{
    return sub ? gitterstream_sub_room(sub) : "-";
}

static void on_message(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    live *l = ud;
    const char *id = gitterstream_msg_str(m, "id");
    append(l, "M %s %s\n", room_of(sub), id ? id : "?");
    l->messages++;
    check_finish(l);
}

static void on_event(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    live *l = ud;
    const char *id = gitterstream_msg_str(m, "id");
    append(l, "V %s %s\n", room_of(sub), id ? id : "?");
    l->events++;
    check_finish(l);
}

static void on_keepalive(gitterstream_sub *sub, void *ud)
{
    live *l = ud;
    append(l, "K %s\n", room_of(sub));
    l->keepalives++;
}

static void on_error(gitterstream_sub *sub, const gitterstream_error *e, void *ud)
{
    live *l = ud;
    l->last_code = gitterstream_error_code(e);
    l->last_status = gitterstream_error_http_status(e);
    l->last_retry = gitterstream_error_retry_ms(e);
    snprintf(l->last_text, sizeof l->last_text, "%s", gitterstream_error_text(e));
    append(l, "E %s %d %ld %ld %s\n", room_of(sub), l->last_code, l->last_status, l->last_retry,
           l->last_text);
    l->errors++;
    /* a skipped item (retry 0) is not a failed connection */
    if (sub && l->last_retry != 0 && !gitterstream_sub_userdata(sub)) {
        gitterstream_sub_set_userdata(sub, l); /* marks its first failure */
        l->failed++;
    }
    check_finish(l);
}

static void on_state(gitterstream_sub *sub, gitterstream_state state, void *ud)
{
    live *l = ud;
    append(l, "S %s %d\n", room_of(sub), (int)state);
    l->stopped += state == GITTERSTREAM_STOPPED;
    check_finish(l);
}

live *live_start(const char *scenario, const char *const *server_args)
{
    live *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    const char *server = getenv("FAKESERVER");
    ck_assert_msg(server != NULL, "FAKESERVER is not set");
    l->fs = fakeserver_start(server, scenario, server_args);
    ck_assert_msg(l->fs != NULL, "the fake server did not start");
    l->gs = gitterstream_new();
    ck_assert_ptr_nonnull(l->gs);
    ck_assert_int_eq(
        gitterstream_set_str(l->gs, GITTERSTREAM_OPT_STREAM_URL, fakeserver_url(l->fs)), 0);
    ck_assert_int_eq(gitterstream_set_str(l->gs, GITTERSTREAM_OPT_API_URL, fakeserver_url(l->fs)),
                     0);
    ck_assert_int_eq(gitterstream_set_str(l->gs, GITTERSTREAM_OPT_TOKEN, TEST_TOKEN), 0);
    gitterstream_on_message(l->gs, on_message, l);
    gitterstream_on_event(l->gs, on_event, l);
    gitterstream_on_keepalive(l->gs, on_keepalive, l);
    gitterstream_on_error(l->gs, on_error, l);
    gitterstream_on_state(l->gs, on_state, l);
    append(l, "%s", "");
    return l;
}

void live_stop(live *l)
{
    gitterstream_free(l->gs);
    fakeserver_stop(l->fs);
    free(l->log);
    free(l);
}

gitterstream_sub *live_subscribe(live *l, const char *room, gitterstream_resource res)
{
    gitterstream_sub *sub = NULL;
    ck_assert_int_eq(gitterstream_subscribe(l->gs, room, res, &sub), 0);
    ck_assert_ptr_nonnull(sub);
    l->subs++;
    return sub;
}

int live_all_stopped(const live *l)
{
    return l->stopped >= l->subs;
}

int live_all_failed(const live *l)
{
    return l->failed >= l->subs;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A host loop of the test's own, over poll(2). */
struct host {
    struct pollfd fds[512];
    int nfds;
    long long due; /* -1: no timer */
};

static int host_watch(gitterstream *gs, int fd, int what, void *ud)
{
    struct host *h = ud;
    int i = 0;
    while (i < h->nfds && h->fds[i].fd != fd)
        i++;
    if (what == 0) {
        if (i < h->nfds)
            h->fds[i] = h->fds[--h->nfds];
        return 0;
    }
    if (i == h->nfds) {
        if (h->nfds == 512)
            return -1;
        h->fds[h->nfds++].fd = fd;
    }
    h->fds[i].events = (short)((what & GITTERSTREAM_WATCH_IN ? POLLIN : 0) |
                               (what & GITTERSTREAM_WATCH_OUT ? POLLOUT : 0));
    return 0;
}

static int host_timer(gitterstream *gs, long timeout_ms, void *ud)
{
    struct host *h = ud;
    h->due = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

static void host_turn(live *l, struct host *h, long long deadline)
{
    long long now = now_ms();
    long long wait = deadline - now;
    if (h->due >= 0 && h->due - now < wait)
        wait = h->due > now ? h->due - now : 0;
    struct pollfd fds[512];
    int n = h->nfds;
    memcpy(fds, h->fds, (size_t)n * sizeof *fds);
    int ready = poll(fds, (nfds_t)n, (int)(wait < 0 ? 0 : wait));
    ck_assert_int_ge(ready, 0);
    for (int i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        int what = (fds[i].revents & (POLLIN | POLLHUP | POLLERR) ? GITTERSTREAM_WATCH_IN : 0) |
                   (fds[i].revents & POLLOUT ? GITTERSTREAM_WATCH_OUT : 0);
        ck_assert_int_eq(gitterstream_fd_ready(l->gs, fds[i].fd, what), 0);
    }
    if (h->due >= 0 && h->due <= now_ms()) {
        h->due = -1;
        ck_assert_int_eq(gitterstream_timer_fired(l->gs), 0);
    }
}

int live_drive(live *l, drive_mode mode, int (*done)(const live *l), int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    l->finish = done;
    if (mode == DRIVE_RUN) {
        ck_assert_int_eq(gitterstream_run(l->gs), 0);
        return now_ms() <= deadline && done(l);
    }
    static struct host h;
    if (mode == DRIVE_HOST) {
        memset(&h, 0, sizeof h);
        h.due = -1;
        ck_assert_int_eq(gitterstream_set_watch(l->gs, host_watch, &h), 0);
        ck_assert_int_eq(gitterstream_set_timer(l->gs, host_timer, &h), 0);
    }
    while (!done(l) && now_ms() < deadline) {
        if (mode == DRIVE_POLL)
            ck_assert_int_eq(gitterstream_poll(l->gs, 100), 0);
        else
            host_turn(l, &h, deadline);
    }
    return done(l);
}

char *live_received(const live *l, char kind, const char *room)
{
    char *out = malloc(l->len + 1);
    ck_assert_ptr_nonnull(out);
    char prefix[160];
    size_t plen = (size_t)snprintf(prefix, sizeof prefix, "%c %s ", kind, room), n = 0;
    for (const char *line = l->log; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (strncmp(line, prefix, plen) == 0) {
            memcpy(out + n, line + plen, len - plen);
            n += len - plen;
            out[n++] = '\n';
        }
        line += len + (eol != NULL);
    }
    out[n] = '\0';
    return out;
}

char *live_expected(const live *l, const char *room, int nth, int max)
{
    char *log = fakeserver_read_log(l->fs);
    ck_assert_ptr_nonnull(log);
    char *out = malloc(strlen(log) + 1);
    ck_assert_ptr_nonnull(out);
    size_t n = 0;
    int requests = 0, taken = 0;
    char target[200], posted[200];
    snprintf(target, sizeof target, "/v1/rooms/%s/", room);
    snprintf(posted, sizeof posted, "POSTED\t%s\t", room);
    for (char *line = log; *line;) {
        char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (eol)
            *eol = '\0';
        if (strncmp(line, posted, strlen(posted)) == 0) {
            if (requests == nth && (max == 0 || taken < max)) {
                const char *id = line + strlen(posted);
                memcpy(out + n, id, strlen(id));
                n += strlen(id);
                out[n++] = '\n';
                taken++;
            }
        } else if (strstr(line, "\tGET\t") && strstr(line, target) && !strstr(line, "/api/")) {
            requests++;
        }
        line += len + (eol != NULL);
    }
    out[n] = '\0';
    free(log);
    return out;
}
