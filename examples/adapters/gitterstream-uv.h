/* gitterstream-uv.h: drive a gitterstream handle from a libuv loop.
 *
 * Header-only glue for C hosts (bindings use the watch/timer API directly).
 *
 *   gitterstream_uv glue;
 *   gitterstream_uv_attach(&glue, uv_default_loop(), gs);  // before the first turn
 *   ... subscribe, uv_run(loop, UV_RUN_DEFAULT) ...
 *   gitterstream_free(gs);           // while attached: closes its descriptors' watchers
 *   gitterstream_uv_detach(&glue);   // closes the timer
 *   uv_run(loop, UV_RUN_DEFAULT);    // lets libuv finish closing; then glue may go
 *
 * The glue struct must stay where it is from attach until the loop has run
 * after detach. */
#ifndef GITTERSTREAM_UV_H
#define GITTERSTREAM_UV_H

#include <stdlib.h>

#include <gitterstream.h>
#include <uv.h>

typedef struct gitterstream_uv_poll gitterstream_uv_poll;

typedef struct gitterstream_uv {
    uv_loop_t *loop;
    gitterstream *gs;
    uv_timer_t timer;
    gitterstream_uv_poll *polls; /* one per watched descriptor: one per connection */
} gitterstream_uv;

struct gitterstream_uv_poll {
    uv_poll_t poll;
    gitterstream_uv *glue;
    gitterstream_uv_poll *next;
    int fd;
};

static void gitterstream_uv__on_poll(uv_poll_t *handle, int status, int events)
{
    gitterstream_uv_poll *p = (gitterstream_uv_poll *)handle->data;
    /* an error is the library's to find: it reads the socket and learns why */
    int what = (events & UV_READABLE ? GITTERSTREAM_WATCH_IN : 0) |
               (events & UV_WRITABLE ? GITTERSTREAM_WATCH_OUT : 0);
    gitterstream_fd_ready(p->glue->gs, p->fd, status < 0 ? GITTERSTREAM_WATCH_IN : what);
}

static void gitterstream_uv__on_poll_closed(uv_handle_t *handle)
{
    free(handle->data);
}

static int gitterstream_uv__watch(gitterstream *gs, int fd, int what, void *ud)
{
    gitterstream_uv *glue = (gitterstream_uv *)ud;
    (void)gs;
    gitterstream_uv_poll **at = &glue->polls;
    while (*at && (*at)->fd != fd)
        at = &(*at)->next;
    gitterstream_uv_poll *p = *at;
    if (what == 0) {
        if (p) {
            *at = p->next;
            uv_poll_stop(&p->poll);
            uv_close((uv_handle_t *)&p->poll, gitterstream_uv__on_poll_closed);
        }
        return 0;
    }
    if (!p) {
        p = (gitterstream_uv_poll *)calloc(1, sizeof *p);
        if (!p || uv_poll_init_socket(glue->loop, &p->poll, fd) != 0) {
            free(p);
            return -1;
        }
        p->glue = glue;
        p->fd = fd;
        p->poll.data = p;
        p->next = glue->polls;
        glue->polls = p;
    }
    int events = (what & GITTERSTREAM_WATCH_IN ? UV_READABLE : 0) |
                 (what & GITTERSTREAM_WATCH_OUT ? UV_WRITABLE : 0);
    return uv_poll_start(&p->poll, events, gitterstream_uv__on_poll) == 0 ? 0 : -1;
}

static void gitterstream_uv__on_timer(uv_timer_t *timer)
{
    gitterstream_uv *glue = (gitterstream_uv *)timer->data;
    gitterstream_timer_fired(glue->gs);
}

static int gitterstream_uv__timer(gitterstream *gs, long timeout_ms, void *ud)
{
    gitterstream_uv *glue = (gitterstream_uv *)ud;
    (void)gs;
    if (timeout_ms < 0)
        return uv_timer_stop(&glue->timer) == 0 ? 0 : -1;
    return uv_timer_start(&glue->timer, gitterstream_uv__on_timer, (uint64_t)timeout_ms, 0) == 0
               ? 0
               : -1;
}

/* Attach gs to loop. Returns 0, or a negative GITTERSTREAM_E_* code. */
static inline int gitterstream_uv_attach(gitterstream_uv *glue, uv_loop_t *loop, gitterstream *gs)
{
    glue->loop = loop;
    glue->gs = gs;
    glue->polls = NULL;
    if (uv_timer_init(loop, &glue->timer) != 0)
        return GITTERSTREAM_E_NOMEM;
    glue->timer.data = glue;
    int rc = gitterstream_set_watch(gs, gitterstream_uv__watch, glue);
    return rc ? rc : gitterstream_set_timer(gs, gitterstream_uv__timer, glue);
}

/* Stop the timer; run the loop afterwards so that libuv finishes closing. */
static inline void gitterstream_uv_detach(gitterstream_uv *glue)
{
    uv_timer_stop(&glue->timer);
    uv_close((uv_handle_t *)&glue->timer, NULL);
}

#endif
