/* handle.c: the handle's lifetime, its options and its callbacks. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handle.h"

#define DEFAULT_STREAM_URL "https://stream.gitter.im"
#define DEFAULT_API_URL    "https://api.gitter.im"
#define DEFAULT_USER_AGENT "libgitterstream/" GITTERSTREAM_VERSION

long long gs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_defaults(gitterstream *gs)
{
    gs->stall_timeout_ms = 90000;
    gs->connect_timeout_ms = 30000;
    gs->max_message_bytes = 1048576;
    gs->max_depth = 64;
    gs->backfill = 1;
    gs->healthy_after_ms = 60000;
    gs->random_seed = -1;
}

GITTERSTREAM_EXPORT gitterstream *gitterstream_new(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    gitterstream *gs = gs_malloc(sizeof *gs);
    if (!gs) {
        curl_global_cleanup();
        return NULL;
    }
    memset(gs, 0, sizeof *gs);
    set_defaults(gs);
    gs->stream_url = gs_strdup(DEFAULT_STREAM_URL);
    gs->api_url = gs_strdup(DEFAULT_API_URL);
    gs->user_agent = gs_strdup(DEFAULT_USER_AGENT);
    if (!gs->stream_url || !gs->api_url || !gs->user_agent || gs_loop_init(gs) != 0) {
        gs_free(gs->stream_url);
        gs_free(gs->api_url);
        gs_free(gs->user_agent);
        gs_free(gs);
        curl_global_cleanup();
        return NULL;
    }
    return gs;
}

void gs_report(gitterstream *gs, int code, const char *text)
{
    if (!gs->on_error)
        return;
    gitterstream_error e = {code, 0, -1, text};
    gs->on_error(NULL, &e, gs->error_ud);
}

GITTERSTREAM_EXPORT void gitterstream_free(gitterstream *gs)
{
    if (!gs)
        return;
    if (gs->in_turn) {
        gs_report(gs, GITTERSTREAM_E_STATE,
                  "gitterstream_free called from a callback: the handle was not freed");
        return;
    }
    gs->in_turn = 1; /* tearing down: callbacks it causes may not re-enter */
    while (gs->subs)
        gs_sub_destroy(gs->subs);
    gs_loop_free(gs);
    gs_free(gs->token);
    gs_free(gs->stream_url);
    gs_free(gs->api_url);
    gs_free(gs->user_agent);
    gs_free(gs->ca_file);
    gs_free(gs->proxy);
    gs_free(gs);
    curl_global_cleanup();
}

/* Header values and URLs must not smuggle in a line break or a space. */
static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static int is_http_url(const char *s)
{
    return (strncasecmp(s, "http://", 7) == 0 && s[7]) ||
           (strncasecmp(s, "https://", 8) == 0 && s[8]);
}

/* Replace *slot by a copy of value (trailing '/' dropped from URLs). */
static int store(char **slot, const char *value, int is_url)
{
    char *copy = gs_strdup(value);
    if (!copy)
        return GITTERSTREAM_E_NOMEM;
    if (is_url)
        for (size_t n = strlen(copy); n > 0 && copy[n - 1] == '/'; n--)
            copy[n - 1] = '\0';
    gs_free(*slot);
    *slot = copy;
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT int gitterstream_set_str(gitterstream *gs, gitterstream_option opt,
                                             const char *value)
{
    if (!gs || (value && !printable(value)))
        return GITTERSTREAM_E_INVALID;
    switch (opt) {
    case GITTERSTREAM_OPT_TOKEN:
        if (value && (!*value || strchr(value, ' ')))
            return GITTERSTREAM_E_INVALID;
        if (!value) {
            gs_free(gs->token);
            gs->token = NULL;
            return GITTERSTREAM_OK;
        }
        return store(&gs->token, value, 0);
    case GITTERSTREAM_OPT_STREAM_URL:
        if (value && !is_http_url(value))
            return GITTERSTREAM_E_INVALID;
        return store(&gs->stream_url, value ? value : DEFAULT_STREAM_URL, 1);
    case GITTERSTREAM_OPT_API_URL:
        if (value && !is_http_url(value))
            return GITTERSTREAM_E_INVALID;
        return store(&gs->api_url, value ? value : DEFAULT_API_URL, 1);
    case GITTERSTREAM_OPT_USER_AGENT:
        return store(&gs->user_agent, value ? value : DEFAULT_USER_AGENT, 0);
    case GITTERSTREAM_OPT_CA_FILE:
    case GITTERSTREAM_OPT_PROXY: {
        char **slot = opt == GITTERSTREAM_OPT_CA_FILE ? &gs->ca_file : &gs->proxy;
        if (!value) {
            gs_free(*slot);
            *slot = NULL;
            return GITTERSTREAM_OK;
        }
        return store(slot, value, 0);
    }
    default:
        return GITTERSTREAM_E_INVALID;
    }
}

GITTERSTREAM_EXPORT int gitterstream_set_int(gitterstream *gs, gitterstream_option opt,
                                             long long value)
{
    if (!gs)
        return GITTERSTREAM_E_INVALID;
    long long min, max, *slot;
    switch (opt) {
    case GITTERSTREAM_OPT_STALL_TIMEOUT_MS:
        slot = &gs->stall_timeout_ms, min = 10, max = 86400000;
        break;
    case GITTERSTREAM_OPT_CONNECT_TIMEOUT_MS:
        slot = &gs->connect_timeout_ms, min = 1, max = 600000;
        break;
    case GITTERSTREAM_OPT_MAX_MESSAGE_BYTES:
        slot = &gs->max_message_bytes, min = 16, max = 1ll << 30;
        break;
    case GITTERSTREAM_OPT_MAX_DEPTH:
        slot = &gs->max_depth, min = 1, max = 4096;
        break;
    case GITTERSTREAM_OPT_BACKFILL:
        slot = &gs->backfill, min = 0, max = 1;
        break;
    case GITTERSTREAM_OPT_HEALTHY_AFTER_MS:
        slot = &gs->healthy_after_ms, min = 0, max = 86400000;
        break;
    case GITTERSTREAM_OPT_RANDOM_SEED:
        slot = &gs->random_seed, min = 0, max = 0x7fffffffffffffffll;
        break;
    default:
        return GITTERSTREAM_E_INVALID;
    }
    if (value < min || value > max)
        return GITTERSTREAM_E_INVALID;
    *slot = value;
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT void
gitterstream_on_message(gitterstream *gs,
                        void (*cb)(gitterstream_sub *, const gitterstream_msg *, void *), void *ud)
{
    if (gs) {
        gs->on_message = cb;
        gs->message_ud = ud;
    }
}

GITTERSTREAM_EXPORT void
gitterstream_on_event(gitterstream *gs,
                      void (*cb)(gitterstream_sub *, const gitterstream_msg *, void *), void *ud)
{
    if (gs) {
        gs->on_event = cb;
        gs->event_ud = ud;
    }
}

GITTERSTREAM_EXPORT void gitterstream_on_keepalive(gitterstream *gs,
                                                   void (*cb)(gitterstream_sub *, void *), void *ud)
{
    if (gs) {
        gs->on_keepalive = cb;
        gs->keepalive_ud = ud;
    }
}

GITTERSTREAM_EXPORT void
gitterstream_on_error(gitterstream *gs,
                      void (*cb)(gitterstream_sub *, const gitterstream_error *, void *), void *ud)
{
    if (gs) {
        gs->on_error = cb;
        gs->error_ud = ud;
    }
}

GITTERSTREAM_EXPORT void
gitterstream_on_state(gitterstream *gs, void (*cb)(gitterstream_sub *, gitterstream_state, void *),
                      void *ud)
{
    if (gs) {
        gs->on_state = cb;
        gs->state_ud = ud;
    }
}
