/* loop.c: driving curl's multi handle. curl tells which descriptors to
 * watch and when to time out (CURLMOPT_SOCKETFUNCTION, _TIMERFUNCTION); the
 * library merges that timeout with its own (subscriptions due to connect)
 * into the one timer the host keeps. The host is either the application's
 * event loop (gitterstream_set_watch, _set_timer) or the poll(2) loop below,
 * which is just another host: gitterstream_run and gitterstream_poll go
 * through the same turns as gitterstream_fd_ready and _timer_fired. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "handle.h"

/* ---- the built-in host: a pollfd table and a deadline ---- */

static int builtin_watch(gitterstream *gs, int fd, int what, void *ud)
{
    size_t i = 0;
    while (i < gs->nfds && gs->fds[i].fd != fd)
        i++;
    if (what == 0) {
        if (i < gs->nfds)
            gs->fds[i] = gs->fds[--gs->nfds];
        return 0;
    }
    if (i == gs->nfds) {
        if (gs->nfds == gs->capfds) {
            size_t cap = gs->capfds ? gs->capfds * 2 : 16;
            struct pollfd *grown = gs_realloc(gs->fds, cap * sizeof *grown);
            if (!grown)
                return -1;
            gs->fds = grown;
            gs->capfds = cap;
        }
        gs->fds[gs->nfds++].fd = fd;
    }
    gs->fds[i].events = (short)((what & GITTERSTREAM_WATCH_IN ? POLLIN : 0) |
                                (what & GITTERSTREAM_WATCH_OUT ? POLLOUT : 0));
    gs->fds[i].revents = 0;
    return 0;
}

static int builtin_timer(gitterstream *gs, long timeout_ms, void *ud)
{
    gs->loop_due = timeout_ms < 0 ? -1 : gs_now_ms() + timeout_ms;
    return 0;
}

/* ---- what curl asks for ---- */

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    gitterstream *gs = userp;
    int mask = what == CURL_POLL_REMOVE ? 0
                                        : (what & CURL_POLL_IN ? GITTERSTREAM_WATCH_IN : 0) |
                                              (what & CURL_POLL_OUT ? GITTERSTREAM_WATCH_OUT : 0);
    if (gs->watch(gs, (int)fd, mask, gs->watch_ud) != 0)
        gs_report(gs, GITTERSTREAM_E_NOMEM, "the descriptor could not be watched");
    return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    gitterstream *gs = userp;
    gs->curl_due = timeout_ms < 0 ? -1 : gs_now_ms() + timeout_ms;
    if (!gs->in_turn)
        gs_update_timer(gs);
    return 0;
}

void gs_update_timer(gitterstream *gs)
{
    long long due = gs->curl_due, subs_due = gs_sub_next_due(gs);
    if (subs_due >= 0 && (due < 0 || subs_due < due))
        due = subs_due;
    long long now = gs_now_ms();
    if (due == gs->told_due && due >= 0 && due > now)
        return;
    gs->told_due = due;
    long ms = due < 0 ? -1 : due <= now ? 0 : (long)(due - now);
    if (gs->timer(gs, ms, gs->timer_ud) != 0)
        gs_report(gs, GITTERSTREAM_E_NOMEM, "the timer could not be set");
}

int gs_loop_init(gitterstream *gs)
{
    gs->watch = builtin_watch;
    gs->timer = builtin_timer;
    gs->curl_due = gs->told_due = gs->loop_due = -1;
    atomic_init(&gs->broken, 0);
    if (pipe(gs->wake) != 0)
        return -1;
    for (int i = 0; i < 2; i++)
        fcntl(gs->wake[i], F_SETFL, O_NONBLOCK), fcntl(gs->wake[i], F_SETFD, FD_CLOEXEC);
    gs->multi = curl_multi_init();
    if (!gs->multi) {
        close(gs->wake[0]);
        close(gs->wake[1]);
        return -1;
    }
    curl_multi_setopt(gs->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(gs->multi, CURLMOPT_SOCKETDATA, gs);
    curl_multi_setopt(gs->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(gs->multi, CURLMOPT_TIMERDATA, gs);
    return 0;
}

void gs_loop_free(gitterstream *gs)
{
    curl_multi_cleanup(gs->multi);
    close(gs->wake[0]);
    close(gs->wake[1]);
    gs_free(gs->fds);
}

/* ---- turns ---- */

static void read_done_transfers(gitterstream *gs)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(gs->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        gitterstream_sub *sub = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&sub);
        if (easy == sub->easy)
            gs_transport_done(sub, result);
        else
            gs_backfill_done(sub, result);
    }
}

/* One turn: act on a ready descriptor (fd >= 0), then on whatever is due,
 * until nothing is; then free what was unsubscribed and re-arm the timer. */
static void turn(gitterstream *gs, int fd, int what)
{
    int running;
    gs->in_turn = 1;
    gs->turn_now = gs_now_ms();
    if (fd >= 0) {
        int mask = (what & GITTERSTREAM_WATCH_IN ? CURL_CSELECT_IN : 0) |
                   (what & GITTERSTREAM_WATCH_OUT ? CURL_CSELECT_OUT : 0);
        curl_multi_socket_action(gs->multi, fd, mask, &running);
        read_done_transfers(gs);
    }
    /* starting a transfer makes curl ask for an immediate timeout, and a
     * failed one may make a subscription due at once: a few rounds settle it */
    for (int round = 0; round < 4; round++) {
        long long now = gs_now_ms();
        gs_sub_run_due(gs, now);
        if (gs->curl_due < 0 || gs->curl_due > gs_now_ms())
            break;
        gs->curl_due = -1;
        curl_multi_socket_action(gs->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        read_done_transfers(gs);
    }
    gs_sub_reap(gs);
    gs->in_turn = 0;
    gs_update_timer(gs);
}

GITTERSTREAM_EXPORT int gitterstream_fd_ready(gitterstream *gs, int fd, int what)
{
    if (!gs || fd < 0)
        return GITTERSTREAM_E_INVALID;
    if (gs->in_turn)
        return GITTERSTREAM_E_STATE;
    turn(gs, fd, what);
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT int gitterstream_timer_fired(gitterstream *gs)
{
    if (!gs)
        return GITTERSTREAM_E_INVALID;
    if (gs->in_turn)
        return GITTERSTREAM_E_STATE;
    gs->told_due = -1; /* the host's timer is spent */
    turn(gs, -1, 0);
    return GITTERSTREAM_OK;
}

static int has_connections(const gitterstream *gs)
{
    for (const gitterstream_sub *sub = gs->subs; sub; sub = sub->next)
        if (sub->easy)
            return 1;
    return 0;
}

GITTERSTREAM_EXPORT int
gitterstream_set_watch(gitterstream *gs, int (*watch)(gitterstream *, int, int, void *), void *ud)
{
    if (!gs)
        return GITTERSTREAM_E_INVALID;
    if (gs->in_turn || has_connections(gs))
        return GITTERSTREAM_E_STATE;
    gs->watch = watch ? watch : builtin_watch;
    gs->watch_ud = ud;
    gs->host_loop = watch != NULL || gs->timer != builtin_timer;
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT int gitterstream_set_timer(gitterstream *gs,
                                               int (*timer)(gitterstream *, long, void *), void *ud)
{
    if (!gs)
        return GITTERSTREAM_E_INVALID;
    if (gs->in_turn || has_connections(gs))
        return GITTERSTREAM_E_STATE;
    gs->timer = timer ? timer : builtin_timer;
    gs->timer_ud = ud;
    gs->host_loop = timer != NULL || gs->watch != builtin_watch;
    gs->told_due = -1;
    gs_update_timer(gs); /* the new host learns what is already due */
    return GITTERSTREAM_OK;
}

/* ---- the built-in loop ---- */

static void drain_wake(gitterstream *gs)
{
    char buf[64];
    while (read(gs->wake[0], buf, sizeof buf) > 0)
        ;
}

/* Wait up to timeout_ms (-1: until something is due) and run the turns
 * that are ready. */
static int poll_once(gitterstream *gs, int timeout_ms)
{
    long long now = gs_now_ms();
    long long wait = timeout_ms;
    if (gs->loop_due >= 0) {
        long long until = gs->loop_due > now ? gs->loop_due - now : 0;
        if (wait < 0 || until < wait)
            wait = until;
    }
    size_t n = gs->nfds;
    struct pollfd stack[64], *pfd = n + 1 <= 64 ? stack : gs_malloc((n + 1) * sizeof *pfd);
    if (!pfd)
        return GITTERSTREAM_E_NOMEM;
    pfd[0].fd = gs->wake[0];
    pfd[0].events = POLLIN;
    if (n)
        memcpy(pfd + 1, gs->fds, n * sizeof *pfd);
    int ready = poll(pfd, (nfds_t)(n + 1), wait > 0x7fffffff ? 0x7fffffff : (int)wait);
    if (ready < 0 && errno != EINTR) {
        if (pfd != stack)
            gs_free(pfd);
        return GITTERSTREAM_E_NETWORK;
    }
    if (ready > 0 && pfd[0].revents)
        drain_wake(gs);
    for (size_t i = 1; ready > 0 && i <= n; i++) {
        short re = pfd[i].revents;
        if (!re)
            continue;
        int what = (re & (POLLIN | POLLHUP | POLLERR) ? GITTERSTREAM_WATCH_IN : 0) |
                   (re & (POLLOUT | POLLERR) ? GITTERSTREAM_WATCH_OUT : 0);
        turn(gs, pfd[i].fd, what);
    }
    if (pfd != stack)
        gs_free(pfd);
    if (gs->loop_due >= 0 && gs->loop_due <= gs_now_ms()) {
        gs->loop_due = -1;
        gs->told_due = -1;
        turn(gs, -1, 0);
    }
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT int gitterstream_poll(gitterstream *gs, int timeout_ms)
{
    if (!gs)
        return GITTERSTREAM_E_INVALID;
    if (gs->in_turn || gs->host_loop)
        return GITTERSTREAM_E_STATE;
    if (atomic_exchange(&gs->broken, 0))
        return GITTERSTREAM_OK;
    return poll_once(gs, timeout_ms);
}

GITTERSTREAM_EXPORT int gitterstream_run(gitterstream *gs)
{
    if (!gs)
        return GITTERSTREAM_E_INVALID;
    if (gs->in_turn || gs->host_loop)
        return GITTERSTREAM_E_STATE;
    while (!atomic_exchange(&gs->broken, 0) && gs_sub_active(gs)) {
        int rc = poll_once(gs, -1);
        if (rc != GITTERSTREAM_OK)
            return rc;
    }
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT int gitterstream_break(gitterstream *gs)
{
    if (!gs)
        return GITTERSTREAM_E_INVALID;
    /* async-signal-safe: a lock-free store and a write, errno left as found */
    int saved = errno;
    atomic_store(&gs->broken, 1);
    ssize_t w = write(gs->wake[1], "", 1);
    (void)w; /* a full pipe already wakes the loop */
    errno = saved;
    return GITTERSTREAM_OK;
}
