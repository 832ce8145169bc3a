/* handle.h: the handle and its subscriptions, shared by the files that
 * implement them: handle.c (options, callbacks, lifetime), sub.c
 * (subscriptions and what they deliver), transport.c (one HTTP request per
 * connection attempt) and loop.c (driving curl's multi handle). */
#ifndef GS_HANDLE_H
#define GS_HANDLE_H

#include <stdatomic.h>

#include <curl/curl.h>

#include "backfill.h"
#include "backoff.h"
#include "common.h"
#include "errors.h"
#include "msg.h"
#include "recent.h"

#define GS_STAT_COUNT (GITTERSTREAM_STAT_DUPLICATES + 1)

struct gitterstream_sub {
    gitterstream *gs;
    gitterstream_sub *prev, *next; /* the handle's list, in subscription order */
    char *room;
    gitterstream_resource res;
    gitterstream_state state;
    void *userdata;
    unsigned long long stats[GS_STAT_COUNT];
    char last_id[GS_ID_MAX];

    gitterstream_parser *parser;
    CURL *easy;  /* the connection attempt under way, or NULL */
    long status; /* HTTP status of the current response, once known */
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    char body[256]; /* the start of a non-200 body, for the error text */
    size_t body_len;

    int transferring;        /* sub->easy is in the multi handle */
    long long last_rx;       /* when a byte last arrived (ms, monotonic) */
    long long healthy_since; /* when the current stream began, or -1 */
    long server_wait_ms;     /* what the last response asked to wait, or -1 */
    gs_backoff backoff;

    gs_backfill bf;
    gs_recent recent; /* ids delivered last, to drop duplicates */
    gs_arena arena;   /* strings read from held items as they are delivered */

    long long due; /* when the next connection attempt starts (ms, monotonic), or -1 */
    int attempts;  /* connection attempts so far */
    int dead;      /* unsubscribed inside a turn: freed at its end */
};

struct gitterstream {
    CURLM *multi;

    /* options */
    char *token, *stream_url, *api_url, *user_agent, *ca_file, *proxy;
    long long stall_timeout_ms, connect_timeout_ms, max_message_bytes, max_depth;
    long long backfill, healthy_after_ms, random_seed;

    /* callbacks */
    void (*on_message)(gitterstream_sub *, const gitterstream_msg *, void *);
    void *message_ud;
    void (*on_event)(gitterstream_sub *, const gitterstream_msg *, void *);
    void *event_ud;
    void (*on_keepalive)(gitterstream_sub *, void *);
    void *keepalive_ud;
    void (*on_error)(gitterstream_sub *, const gitterstream_error *, void *);
    void *error_ud;
    void (*on_state)(gitterstream_sub *, gitterstream_state, void *);
    void *state_ud;

    gitterstream_sub *subs, *last_sub;
    unsigned long long subscribed; /* subscriptions ever made */

    /* who watches descriptors and keeps the timer: the host, or loop.c's
     * own poll(2) loop for gitterstream_run and gitterstream_poll */
    int (*watch)(gitterstream *, int fd, int what, void *ud);
    void *watch_ud;
    int (*timer)(gitterstream *, long timeout_ms, void *ud);
    void *timer_ud;
    int host_loop;

    long long curl_due; /* when curl wants its timeout action, or -1 */
    long long told_due; /* what the timer was last set to, or -1 */
    struct pollfd *fds; /* the built-in loop's descriptors */
    size_t nfds, capfds;
    long long loop_due; /* the built-in loop's timer, or -1 */
    int wake[2];        /* a pipe that gitterstream_break writes to */
    atomic_int broken;
    int in_turn;        /* inside run/poll/fd_ready/timer_fired: callbacks may run */
    long long turn_now; /* the clock at the start of the turn: cheap for callbacks */
};

long long gs_now_ms(void);

/* loop.c */
int gs_loop_init(gitterstream *gs);
void gs_loop_free(gitterstream *gs);
void gs_update_timer(gitterstream *gs);

/* transport.c */
int gs_request_setup(gitterstream_sub *sub, CURL *easy, const char *base_url, const char *path,
                     struct curl_slist **headers, char *errbuf);
int gs_status_error(long status);
int gs_transport_start(gitterstream_sub *sub);
void gs_transport_stop(gitterstream_sub *sub);
void gs_transport_abort(gitterstream_sub *sub);
void gs_transport_done(gitterstream_sub *sub, CURLcode result);

/* backfill.c */
int gs_backfill_wanted(const gitterstream_sub *sub);
void gs_backfill_begin(gitterstream_sub *sub);
void gs_backfill_hold(gitterstream_sub *sub, const gitterstream_msg *m);
void gs_backfill_run_due(gitterstream_sub *sub, long long now);
void gs_backfill_done(gitterstream_sub *sub, CURLcode result);
void gs_backfill_abort(gitterstream_sub *sub);
void gs_backfill_free(gitterstream_sub *sub);

/* sub.c */
void gs_sub_deliver(gitterstream_sub *sub, const gitterstream_msg *m);
/* A parser's error callback: count a skipped item and report it (ud: the sub). */
void gs_sub_bad_item(const gitterstream_error *e, void *ud);
void gs_sub_set_state(gitterstream_sub *sub, gitterstream_state state);
void gs_sub_report(gitterstream_sub *sub, int code, long http_status, long retry_ms,
                   const char *text);
void gs_sub_failed(gitterstream_sub *sub, int code, long http_status, const char *text);
void gs_sub_run_due(gitterstream *gs, long long now);
long long gs_sub_next_due(const gitterstream *gs);
void gs_sub_reap(gitterstream *gs);
void gs_sub_destroy(gitterstream_sub *sub);
int gs_sub_active(const gitterstream *gs);

/* handle.c */
void gs_report(gitterstream *gs, int code, const char *text);

#endif
