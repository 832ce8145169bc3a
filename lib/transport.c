/* transport.c: one HTTP request per connection attempt, on curl's easy
 * interface: building it, taking its headers and body, and turning how it
 * ended into an error. The body goes to the subscription's parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "handle.h"
#include "parser.h"

static const char *resource_path(gitterstream_resource res)
{
    return res == GITTERSTREAM_EVENTS ? "events" : "chatMessages";
}

/* The wait a header names, in ms from now, or -1: Retry-After in seconds,
 * X-RateLimit-Reset as a time in epoch milliseconds. */
static long server_wait(const char *buf, size_t len, int *is_retry_after)
{
    char value[32];
    const char *colon = memchr(buf, ':', len);
    if (!colon)
        return -1;
    size_t name = (size_t)(colon - buf), n = len - name - 1;
    if (n >= sizeof value)
        return -1;
    memcpy(value, colon + 1, n);
    value[n] = '\0';
    char *end;
    long long v = strtoll(value, &end, 10);
    if (end == value || v < 0)
        return -1;
    *is_retry_after = name == 11 && strncasecmp(buf, "Retry-After", 11) == 0;
    if (*is_retry_after)
        return v > 86400 ? 86400000L : (long)v * 1000;
    if (name == 17 && strncasecmp(buf, "X-RateLimit-Reset", 17) == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        long long wait = v - ((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        return wait < 0 ? 0 : wait > 86400000 ? 86400000L : (long)wait;
    }
    return -1;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    gitterstream_sub *sub = ud;
    size_t len = size * n;
    if (sub->dead)
        return 0;
    sub->last_rx = sub->gs->turn_now;
    if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n')) {
        /* the end of a header block; 1xx blocks come before the real one */
        long status = 0;
        curl_easy_getinfo(sub->easy, CURLINFO_RESPONSE_CODE, &status);
        /* a later block is the trailer of a chunked body, not a new response */
        if (status >= 200 && sub->status == 0) {
            sub->status = status;
            if (status == 200) {
                sub->stats[GITTERSTREAM_STAT_CONNECTS]++;
                sub->healthy_since = sub->gs->turn_now;
                if (gs_backfill_wanted(sub))
                    gs_backfill_begin(sub);
                else
                    gs_sub_set_state(sub, GITTERSTREAM_STREAMING);
            }
        }
    } else {
        int retry_after = 0;
        long wait = server_wait(buf, len, &retry_after);
        /* Retry-After wins over X-RateLimit-Reset, whichever came first */
        if (wait >= 0 && (retry_after || sub->server_wait_ms < 0))
            sub->server_wait_ms = wait;
    }
    return sub->dead ? 0 : len;
}

/* Keep the start of an error body, printable and on one line. */
static void keep_body(gitterstream_sub *sub, const char *buf, size_t len)
{
    for (size_t i = 0; i < len && sub->body_len + 1 < sizeof sub->body; i++) {
        char c = buf[i];
        if ((unsigned char)c < 0x20 || c == 0x7f)
            c = ' ';
        if (c == ' ' && (sub->body_len == 0 || sub->body[sub->body_len - 1] == ' '))
            continue;
        sub->body[sub->body_len++] = c;
    }
    sub->body[sub->body_len] = '\0';
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    gitterstream_sub *sub = ud;
    size_t len = size * n;
    if (sub->dead)
        return 0;
    if (sub->status != 200) {
        keep_body(sub, buf, len);
        return len;
    }
    sub->last_rx = sub->gs->turn_now;
    sub->stats[GITTERSTREAM_STAT_BYTES] += len;
    if (gitterstream_parser_feed(sub->parser, buf, len) != GITTERSTREAM_OK)
        return 0; /* out of memory: the transfer ends with a write error */
    return sub->dead ? 0 : len;
}

/* Make easy a GET of {base_url}/v1/rooms/{room}/{path} with the handle's
 * headers and settings; the caller sets the callbacks. */
int gs_request_setup(gitterstream_sub *sub, CURL *easy, const char *base_url, const char *path,
                     struct curl_slist **headers, char *errbuf)
{
    gitterstream *gs = sub->gs;
    char *room = curl_easy_escape(easy, sub->room, 0);
    if (!room)
        return GITTERSTREAM_E_NOMEM;
    size_t n = strlen(base_url) + strlen(room) + strlen(path) + 16;
    char *url = gs_malloc(n);
    if (!url) {
        curl_free(room);
        return GITTERSTREAM_E_NOMEM;
    }
    snprintf(url, n, "%s/v1/rooms/%s/%s", base_url, room, path);
    curl_free(room);

    curl_slist_free_all(*headers);
    *headers = curl_slist_append(NULL, "Accept: application/json");
    if (*headers && gs->token) {
        size_t hn = strlen(gs->token) + 32;
        char *auth = gs_malloc(hn);
        struct curl_slist *more = NULL;
        if (auth) {
            snprintf(auth, hn, "Authorization: Bearer %s", gs->token);
            more = curl_slist_append(*headers, auth);
            memset(auth, 0, hn); /* the token lingers nowhere it need not */
            gs_free(auth);
        }
        if (!more) {
            curl_slist_free_all(*headers);
            *headers = NULL;
        }
    }
    if (!*headers) {
        gs_free(url);
        return GITTERSTREAM_E_NOMEM;
    }

    CURLcode rc = CURLE_OK;
#define SET(opt, value)                                                                            \
    if (rc == CURLE_OK)                                                                            \
    rc = curl_easy_setopt(easy, opt, value)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_HTTPHEADER, *headers);
    SET(CURLOPT_USERAGENT, gs->user_agent);
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* the token must never follow a redirect */
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (gs->ca_file)
        SET(CURLOPT_CAINFO, gs->ca_file);
    if (gs->proxy)
        SET(CURLOPT_PROXY, gs->proxy);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)gs->connect_timeout_ms);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_PRIVATE, sub);
#undef SET
    gs_free(url); /* curl keeps its own copy of strings */
    return rc == CURLE_OK              ? GITTERSTREAM_OK
           : rc == CURLE_OUT_OF_MEMORY ? GITTERSTREAM_E_NOMEM
                                       : GITTERSTREAM_E_INVALID;
}

int gs_transport_start(gitterstream_sub *sub)
{
    gitterstream *gs = sub->gs;
    if (sub->easy)
        curl_easy_reset(sub->easy);
    else if (!(sub->easy = curl_easy_init()))
        return GITTERSTREAM_E_NOMEM;
    sub->status = 0;
    sub->server_wait_ms = -1;
    sub->body_len = 0;
    sub->body[0] = '\0';
    sub->errbuf[0] = '\0';
    gitterstream_parser_set_int(sub->parser, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES,
                                gs->max_message_bytes);
    gitterstream_parser_set_int(sub->parser, GITTERSTREAM_OPT_MAX_DEPTH, gs->max_depth);
    gs_parser_reset(sub->parser);
    int rc = gs_request_setup(sub, sub->easy, gs->stream_url, resource_path(sub->res),
                              &sub->headers, sub->errbuf);
    if (rc != GITTERSTREAM_OK)
        return rc;
    curl_easy_setopt(sub->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(sub->easy, CURLOPT_HEADERDATA, sub);
    curl_easy_setopt(sub->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(sub->easy, CURLOPT_WRITEDATA, sub);
    if (curl_multi_add_handle(gs->multi, sub->easy) != CURLM_OK)
        return GITTERSTREAM_E_NOMEM;
    sub->transferring = 1;
    sub->last_rx = gs_now_ms();
    if (sub->attempts++ > 0)
        sub->stats[GITTERSTREAM_STAT_RECONNECTS]++;
    gs_sub_set_state(sub, GITTERSTREAM_CONNECTING);
    return GITTERSTREAM_OK;
}

void gs_transport_abort(gitterstream_sub *sub)
{
    if (sub->transferring) {
        curl_multi_remove_handle(sub->gs->multi, sub->easy);
        sub->transferring = 0;
    }
}

void gs_transport_stop(gitterstream_sub *sub)
{
    gs_transport_abort(sub);
    if (sub->easy) {
        curl_easy_cleanup(sub->easy);
        sub->easy = NULL;
    }
    curl_slist_free_all(sub->headers);
    sub->headers = NULL;
}

int gs_status_error(long status)
{
    switch (status) {
    case 401:
    case 403:
        return GITTERSTREAM_E_AUTH;
    case 400:
    case 404:
        return GITTERSTREAM_E_NOT_FOUND;
    case 429:
        return GITTERSTREAM_E_RATE_LIMITED;
    default:
        return GITTERSTREAM_E_HTTP;
    }
}

void gs_transport_done(gitterstream_sub *sub, CURLcode result)
{
    gs_transport_abort(sub);
    if (sub->dead)
        return;
    char text[512];
    const char *what = resource_path(sub->res);
    if (sub->status != 0 && sub->status != 200) {
        /* an HTML error page (nginx) says it best in its title */
        const char *body = sub->body, *title = strstr(body, "<title>");
        int n = (int)strlen(body);
        if (title) {
            body = title + 7;
            const char *end = strstr(body, "</title>");
            n = end ? (int)(end - body) : (int)strlen(body);
        }
        snprintf(text, sizeof text, "HTTP %ld for %s of room %s%s%.*s", sub->status, what,
                 sub->room, n ? ": " : "", n, body);
        gs_sub_failed(sub, gs_status_error(sub->status), sub->status, text);
    } else if (result == CURLE_OK) {
        snprintf(text, sizeof text, "the server ended the %s stream of room %s", what, sub->room);
        gs_sub_failed(sub, GITTERSTREAM_E_CLOSED, 0, text);
    } else if (result == CURLE_WRITE_ERROR) {
        snprintf(text, sizeof text, "out of memory decoding the %s stream of room %s", what,
                 sub->room);
        gs_sub_failed(sub, GITTERSTREAM_E_NOMEM, 0, text);
    } else {
        snprintf(text, sizeof text, "%s stream of room %s: %s", what, sub->room,
                 sub->errbuf[0] ? sub->errbuf : curl_easy_strerror(result));
        gs_sub_failed(sub, GITTERSTREAM_E_NETWORK, 0, text);
    }
}
