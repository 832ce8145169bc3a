/* sub.c: subscriptions: their lifetime, what they deliver, their state and
 * counters, and what happens when a connection fails. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "handle.h"
#include "parser.h"

#define ROOM_ID_MAX 128

static int valid_room_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ROOM_ID_MAX)
        return 0;
    for (; *id; id++)
        if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
              (*id >= '0' && *id <= '9') || strchr("-_.~", *id)))
            return 0;
    return 1;
}

void gs_sub_deliver(gitterstream_sub *sub, const gitterstream_msg *m)
{
    gitterstream *gs = sub->gs;
    if (sub->dead)
        return; /* unsubscribed: nothing calls back for it any more */
    char buf[GS_ID_MAX];
    const char *id = gs_msg_copy_str(m, "id", buf, sizeof buf) == 0 ? buf : NULL;
    if (id && gs_recent_check_add(&sub->recent, id)) {
        sub->stats[GITTERSTREAM_STAT_DUPLICATES]++;
        return;
    }
    if (m->backfill)
        sub->stats[GITTERSTREAM_STAT_BACKFILLED]++;
    if (sub->res == GITTERSTREAM_CHAT_MESSAGES) {
        sub->stats[GITTERSTREAM_STAT_MESSAGES]++;
        if (gs->on_message)
            gs->on_message(sub, m, gs->message_ud);
    } else {
        sub->stats[GITTERSTREAM_STAT_EVENTS]++;
        if (gs->on_event)
            gs->on_event(sub, m, gs->event_ud);
    }
    /* delivered once its callback returned: what a checkpoint may name */
    if (id)
        strcpy(sub->last_id, id);
}

static void on_item(const gitterstream_msg *m, void *ud)
{
    gitterstream_sub *sub = ud;
    if (sub->dead)
        return;
    if (sub->bf.active)
        gs_backfill_hold(sub, m);
    else
        gs_sub_deliver(sub, m);
}

static void on_keepalive(void *ud)
{
    gitterstream_sub *sub = ud;
    if (sub->dead)
        return;
    sub->stats[GITTERSTREAM_STAT_KEEPALIVES]++;
    if (sub->gs->on_keepalive)
        sub->gs->on_keepalive(sub, sub->gs->keepalive_ud);
}

void gs_sub_bad_item(const gitterstream_error *e, void *ud)
{
    gitterstream_sub *sub = ud;
    if (sub->dead)
        return;
    sub->stats[e->code == GITTERSTREAM_E_TOO_LARGE ? GITTERSTREAM_STAT_OVERSIZE
                                                   : GITTERSTREAM_STAT_PARSE_ERRORS]++;
    if (sub->gs->on_error)
        sub->gs->on_error(sub, e, sub->gs->error_ud);
}

GITTERSTREAM_EXPORT int gitterstream_subscribe(gitterstream *gs, const char *room_id,
                                               gitterstream_resource res, gitterstream_sub **out)
{
    if (!gs || !room_id || !valid_room_id(room_id) ||
        (res != GITTERSTREAM_CHAT_MESSAGES && res != GITTERSTREAM_EVENTS))
        return GITTERSTREAM_E_INVALID;
    gitterstream_sub *sub = gs_malloc(sizeof *sub);
    if (!sub)
        return GITTERSTREAM_E_NOMEM;
    memset(sub, 0, sizeof *sub);
    sub->room = gs_strdup(room_id);
    sub->parser = gitterstream_parser_new();
    if (!sub->room || !sub->parser) {
        gs_free(sub->room);
        gitterstream_parser_free(sub->parser);
        gs_free(sub);
        return GITTERSTREAM_E_NOMEM;
    }
    gitterstream_parser_on_item(sub->parser, on_item, sub);
    gitterstream_parser_on_keepalive(sub->parser, on_keepalive, sub);
    gitterstream_parser_on_error(sub->parser, gs_sub_bad_item, sub);
    sub->gs = gs;
    sub->res = res;
    sub->state = GITTERSTREAM_CONNECTING;
    sub->due = gs_now_ms(); /* connects on the next turn, never in here */
    sub->healthy_since = -1;
    sub->server_wait_ms = -1;
    sub->bf.due = -1;
    /* a fixed seed gives every subscription its own, reproducible sequence */
    unsigned long long seed = gs->random_seed >= 0
                                  ? (unsigned long long)gs->random_seed + 2 * gs->subscribed
                                  : (unsigned long long)sub->due ^ (uintptr_t)sub;
    gs->subscribed++;
    gs_backoff_init(&sub->backoff, seed);
    gs_backoff_init(&sub->bf.backoff, seed + 1);
    sub->prev = gs->last_sub;
    if (gs->last_sub)
        gs->last_sub->next = sub;
    else
        gs->subs = sub;
    gs->last_sub = sub;
    if (out)
        *out = sub;
    if (!gs->in_turn)
        gs_update_timer(gs);
    return GITTERSTREAM_OK;
}

void gs_sub_destroy(gitterstream_sub *sub)
{
    gitterstream *gs = sub->gs;
    gs_transport_stop(sub);
    gs_backfill_free(sub);
    gs_arena_free(&sub->arena);
    gitterstream_parser_free(sub->parser);
    if (sub->prev)
        sub->prev->next = sub->next;
    else
        gs->subs = sub->next;
    if (sub->next)
        sub->next->prev = sub->prev;
    else
        gs->last_sub = sub->prev;
    gs_free(sub->room);
    gs_free(sub);
}

GITTERSTREAM_EXPORT int gitterstream_unsubscribe(gitterstream_sub *sub)
{
    if (!sub)
        return GITTERSTREAM_E_INVALID;
    gitterstream *gs = sub->gs;
    if (gs->in_turn) {
        /* curl may be inside this very transfer's callback: finish at the
         * end of the turn */
        sub->dead = 1;
        return GITTERSTREAM_OK;
    }
    gs_sub_destroy(sub);
    gs_update_timer(gs);
    return GITTERSTREAM_OK;
}

void gs_sub_reap(gitterstream *gs)
{
    for (gitterstream_sub *sub = gs->subs, *next; sub; sub = next) {
        next = sub->next;
        if (sub->dead)
            gs_sub_destroy(sub);
    }
}

int gs_sub_active(const gitterstream *gs)
{
    for (const gitterstream_sub *sub = gs->subs; sub; sub = sub->next)
        if (!sub->dead && sub->state != GITTERSTREAM_STOPPED)
            return 1;
    return 0;
}

void gs_sub_set_state(gitterstream_sub *sub, gitterstream_state state)
{
    /* every connection attempt is reported, even back to back */
    if (sub->state == state && state != GITTERSTREAM_CONNECTING)
        return;
    sub->state = state;
    if (sub->gs->on_state && !sub->dead)
        sub->gs->on_state(sub, state, sub->gs->state_ud);
}

void gs_sub_report(gitterstream_sub *sub, int code, long http_status, long retry_ms,
                   const char *text)
{
    if (!sub->gs->on_error || sub->dead)
        return;
    gitterstream_error e = {code, http_status, retry_ms, text};
    sub->gs->on_error(sub, &e, sub->gs->error_ud);
}

/* A connection attempt failed or ended: report it with the delay the
 * reconnect policy gives, and schedule the next attempt or stop. */
void gs_sub_failed(gitterstream_sub *sub, int code, long http_status, const char *text)
{
    gitterstream *gs = sub->gs;
    long long now = gs_now_ms();
    gs_backfill_abort(sub); /* held items are newer than the gap: fetched again next time */
    if (sub->healthy_since >= 0 && now - sub->healthy_since >= gs->healthy_after_ms)
        gs_backoff_healthy(&sub->backoff);
    sub->healthy_since = -1;
    long delay = gs_backoff_next(&sub->backoff, gs_failure_of(code), sub->server_wait_ms);
    gs_sub_report(sub, code, http_status, delay, text);
    if (delay < 0) {
        gs_sub_set_state(sub, GITTERSTREAM_STOPPED);
        return;
    }
    sub->due = now + delay;
    gs_sub_set_state(sub, GITTERSTREAM_WAITING);
}

static void stalled(gitterstream_sub *sub)
{
    char text[160];
    gs_transport_abort(sub);
    sub->stats[GITTERSTREAM_STAT_STALLS]++;
    snprintf(text, sizeof text, "no bytes from the stream of room %s for %lld ms", sub->room,
             sub->gs->stall_timeout_ms);
    gs_sub_failed(sub, GITTERSTREAM_E_STALL, 0, text);
}

void gs_sub_run_due(gitterstream *gs, long long now)
{
    for (gitterstream_sub *sub = gs->subs; sub; sub = sub->next) {
        if (sub->dead)
            continue;
        if (sub->transferring && now - sub->last_rx >= gs->stall_timeout_ms)
            stalled(sub);
        gs_backfill_run_due(sub, now);
        if (sub->due < 0 || sub->due > now)
            continue;
        sub->due = -1;
        int rc = gs_transport_start(sub);
        if (rc != GITTERSTREAM_OK)
            gs_sub_failed(sub, rc, 0, "could not start a connection attempt");
    }
}

/* The earliest moment the library must act for a subscription, or -1. */
long long gs_sub_next_due(const gitterstream *gs)
{
    long long due = -1;
    for (const gitterstream_sub *sub = gs->subs; sub; sub = sub->next) {
        if (sub->dead)
            continue;
        long long t = sub->transferring ? sub->last_rx + gs->stall_timeout_ms : sub->due;
        if (t >= 0 && (due < 0 || t < due))
            due = t;
        if (sub->bf.due >= 0 && (due < 0 || sub->bf.due < due))
            due = sub->bf.due;
    }
    return due;
}

GITTERSTREAM_EXPORT int gitterstream_sub_resume_after(gitterstream_sub *sub, const char *message_id)
{
    if (!sub || !message_id || !*message_id || strlen(message_id) >= GS_ID_MAX ||
        sub->res != GITTERSTREAM_CHAT_MESSAGES)
        return GITTERSTREAM_E_INVALID;
    for (const char *c = message_id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return GITTERSTREAM_E_INVALID;
    if (sub->attempts > 0 || sub->dead)
        return GITTERSTREAM_E_STATE;
    strcpy(sub->last_id, message_id);
    sub->bf.resume = 1;
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT const char *gitterstream_sub_last_id(const gitterstream_sub *sub)
{
    return sub && sub->last_id[0] ? sub->last_id : NULL;
}

GITTERSTREAM_EXPORT const char *gitterstream_sub_room(const gitterstream_sub *sub)
{
    return sub ? sub->room : NULL;
}

GITTERSTREAM_EXPORT gitterstream_resource gitterstream_sub_resource(const gitterstream_sub *sub)
{
    return sub ? sub->res : GITTERSTREAM_CHAT_MESSAGES;
}

GITTERSTREAM_EXPORT gitterstream_state gitterstream_sub_state(const gitterstream_sub *sub)
{
    return sub ? sub->state : GITTERSTREAM_STOPPED;
}

GITTERSTREAM_EXPORT void gitterstream_sub_set_userdata(gitterstream_sub *sub, void *p)
{
    if (sub)
        sub->userdata = p;
}

GITTERSTREAM_EXPORT void *gitterstream_sub_userdata(const gitterstream_sub *sub)
{
    return sub ? sub->userdata : NULL;
}

GITTERSTREAM_EXPORT unsigned long long gitterstream_sub_stat(const gitterstream_sub *sub,
                                                             gitterstream_stat which)
{
    if (!sub || (int)which < 0 || (int)which >= GS_STAT_COUNT)
        return 0;
    return sub->stats[which];
}
