/* backfill.c: filling the gap a reconnect leaves, for chatMessages.
 *
 * Once the new stream answers 200 (so that nothing posted from then on can
 * be missed), pages of GET {api_url}/v1/rooms/{id}/chatMessages?afterId=
 * <last delivered id>&limit=100 are fetched on the same multi handle until
 * a page reaches the first live item held meanwhile (the rest is in the live
 * stream) or falls short, and delivered flagged as back-filled; then the
 * held live items are delivered. Any other item that comes both ways is
 * dropped by the subscription's recent-id set. The REST body, a JSON array, is split into items on
 * the fly and goes through a parser of its own, with every check a stream item gets. */
#include <stdio.h>
#include <string.h>

#include "handle.h"
#include "parser.h"

#define PAGE            100
#define REST_TIMEOUT_MS 60000L

enum { LEX_VALUE, LEX_STRING, LEX_ESCAPE };

static void free_held(gs_backfill *bf)
{
    bf->held_len = 0;
    bf->held_count = 0;
    bf->first_held[0] = '\0';
    bf->reached = 0;
}

int gs_backfill_wanted(const gitterstream_sub *sub)
{
    return sub->gs->backfill && sub->res == GITTERSTREAM_CHAT_MESSAGES && sub->last_id[0] &&
           (sub->attempts > 1 || sub->bf.resume);
}

void gs_backfill_begin(gitterstream_sub *sub)
{
    gs_backfill *bf = &sub->bf;
    bf->active = 1;
    bf->resume = 0;
    strcpy(bf->cursor, sub->last_id);
    free_held(bf);
    bf->due = sub->gs->turn_now; /* curl may not be re-entered from here */
    gs_sub_set_state(sub, GITTERSTREAM_BACKFILLING);
}

void gs_backfill_abort(gitterstream_sub *sub)
{
    gs_backfill *bf = &sub->bf;
    if (bf->transferring) {
        curl_multi_remove_handle(sub->gs->multi, bf->easy);
        bf->transferring = 0;
    }
    bf->active = 0;
    bf->due = -1;
    free_held(bf);
}

void gs_backfill_free(gitterstream_sub *sub)
{
    gs_backfill *bf = &sub->bf;
    gs_backfill_abort(sub);
    if (bf->easy)
        curl_easy_cleanup(bf->easy);
    curl_slist_free_all(bf->headers);
    gitterstream_parser_free(bf->parser);
    gs_free(bf->held);
}

void gs_backfill_hold(gitterstream_sub *sub, const gitterstream_msg *m)
{
    gs_backfill *bf = &sub->bf;
    size_t need = bf->held_len + sizeof(size_t) + m->len + 1;
    if (bf->held_count >= GS_HOLD_MAX_ITEMS || need > GS_HOLD_MAX_BYTES) {
        /* all of it was posted before the next page is asked for: that page
         * brings it back */
        bf->overflowed = 1;
        free_held(bf);
        return;
    }
    if (need > bf->held_cap) {
        size_t cap = bf->held_cap ? bf->held_cap : 16384;
        while (cap < need)
            cap *= 2;
        char *grown = gs_realloc(bf->held, cap);
        if (!grown) {
            bf->overflowed = 1;
            free_held(bf);
            return;
        }
        bf->held = grown;
        bf->held_cap = cap;
    }
    if (bf->held_count == 0 && gs_msg_copy_str(m, "id", bf->first_held, GS_ID_MAX) != 0)
        bf->first_held[0] = '\0';
    memcpy(bf->held + bf->held_len, &m->len, sizeof(size_t));
    memcpy(bf->held + bf->held_len + sizeof(size_t), m->json, m->len);
    bf->held[bf->held_len + sizeof(size_t) + m->len] = '\0';
    bf->held_len = need;
    bf->held_count++;
}

/* The gap is filled: deliver what was held, and stream on. The pages stop
 * at the first held item, so what they repeat of the held items is at most
 * one page: the subscription's recent ids catch all of it. */
static void finish(gitterstream_sub *sub)
{
    gs_backfill *bf = &sub->bf;
    bf->active = 0;
    for (size_t at = 0; at < bf->held_len && !sub->dead && !bf->active;) {
        size_t len;
        memcpy(&len, bf->held + at, sizeof len);
        gitterstream_msg m = {bf->held + at + sizeof len, len, 0, &sub->arena};
        gs_sub_deliver(sub, &m);
        gs_arena_reset(&sub->arena);
        at += sizeof len + len + 1;
    }
    free_held(bf);
    bf->failures = 0;
    gs_backoff_healthy(&bf->backoff);
    if (!bf->active)
        gs_sub_set_state(sub, GITTERSTREAM_STREAMING);
}

static void on_rest_item(const gitterstream_msg *m, void *ud)
{
    gitterstream_sub *sub = ud;
    gs_backfill *bf = &sub->bf;
    char id[GS_ID_MAX];
    if (gs_msg_copy_str(m, "id", id, sizeof id) == 0) {
        if (bf->first_held[0] && strcmp(id, bf->first_held) == 0)
            bf->reached = 1; /* the live stream took over here: no page needed after this */
        strcpy(bf->cursor, id);
    }
    gs_sub_deliver(sub, m);
}

static size_t on_rest_header(char *buf, size_t size, size_t n, void *ud)
{
    gitterstream_sub *sub = ud;
    size_t len = size * n;
    if (len <= 2 && (buf[0] == '\r' || buf[0] == '\n'))
        curl_easy_getinfo(sub->bf.easy, CURLINFO_RESPONSE_CODE, &sub->bf.status);
    return sub->dead ? 0 : len;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Hand the array's elements to the parser, each ended by a '\r', and count
 * them, readable or not: a page is full by what the server sent. */
static int split_array(gitterstream_sub *sub, const char *buf, size_t len)
{
    gs_backfill *bf = &sub->bf;
    size_t span = 0;
    for (size_t i = 0; i < len && !sub->dead; i++) {
        char c = buf[i];
        if (bf->lex != LEX_VALUE) {
            bf->lex = bf->lex == LEX_ESCAPE ? LEX_STRING
                      : c == '\\'           ? LEX_ESCAPE
                      : c == '"'            ? LEX_VALUE
                                            : LEX_STRING;
            continue;
        }
        int cut = 0;
        if (bf->depth == 0) {
            if (c == '[')
                cut = bf->began = bf->depth = 1;
            else if (!is_ws(c))
                return GITTERSTREAM_E_PARSE; /* not an array */
        } else if (c == ',' && bf->depth == 1) {
            cut = 1;
            bf->elements++;
        } else if ((c == ']' || c == '}') && bf->depth == 1) {
            cut = 1;
            bf->depth = 0;
            bf->elements += bf->any;
        } else if (!is_ws(c)) {
            bf->any = 1;
            if (c == '"')
                bf->lex = LEX_STRING;
            else if (c == '[' || c == '{')
                bf->depth++;
            else if (c == ']' || c == '}')
                bf->depth--;
        }
        if (!cut)
            continue;
        int rc = gitterstream_parser_feed(bf->parser, buf + span, i - span);
        if (rc == GITTERSTREAM_OK)
            rc = gitterstream_parser_feed(bf->parser, "\r", 1);
        if (rc != GITTERSTREAM_OK)
            return rc;
        span = i + 1;
    }
    if (bf->depth > 0 && !sub->dead)
        return gitterstream_parser_feed(bf->parser, buf + span, len - span);
    return GITTERSTREAM_OK;
}

static size_t on_rest_body(char *buf, size_t size, size_t n, void *ud)
{
    gitterstream_sub *sub = ud;
    size_t len = size * n;
    if (sub->dead || sub->bf.status != 200)
        return sub->dead ? 0 : len;
    sub->bf.refused = split_array(sub, buf, len);
    return sub->bf.refused == GITTERSTREAM_OK && !sub->dead ? len : 0;
}

static int request_page(gitterstream_sub *sub)
{
    gitterstream *gs = sub->gs;
    gs_backfill *bf = &sub->bf;
    if (!bf->parser) {
        if (!(bf->parser = gitterstream_parser_new()))
            return GITTERSTREAM_E_NOMEM;
        gitterstream_parser_on_item(bf->parser, on_rest_item, sub);
        gitterstream_parser_on_error(bf->parser, gs_sub_bad_item, sub);
        gs_parser_mark_backfill(bf->parser, 1);
    }
    gitterstream_parser_set_int(bf->parser, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES,
                                gs->max_message_bytes);
    gitterstream_parser_set_int(bf->parser, GITTERSTREAM_OPT_MAX_DEPTH, gs->max_depth);
    gs_parser_reset(bf->parser);
    if (bf->easy)
        curl_easy_reset(bf->easy);
    else if (!(bf->easy = curl_easy_init()))
        return GITTERSTREAM_E_NOMEM;
    char *after = curl_easy_escape(bf->easy, bf->cursor, 0);
    char path[GS_ID_MAX * 3 + 64];
    snprintf(path, sizeof path, "chatMessages?afterId=%s&limit=%d", after ? after : "", PAGE);
    curl_free(after);
    int rc = gs_request_setup(sub, bf->easy, gs->api_url, path, &bf->headers, bf->errbuf);
    if (rc != GITTERSTREAM_OK)
        return rc;
    curl_easy_setopt(bf->easy, CURLOPT_HEADERFUNCTION, on_rest_header);
    curl_easy_setopt(bf->easy, CURLOPT_HEADERDATA, sub);
    curl_easy_setopt(bf->easy, CURLOPT_WRITEFUNCTION, on_rest_body);
    curl_easy_setopt(bf->easy, CURLOPT_WRITEDATA, sub);
    curl_easy_setopt(bf->easy, CURLOPT_TIMEOUT_MS, REST_TIMEOUT_MS);
    bf->status = 0;
    bf->elements = 0;
    bf->overflowed = 0;
    bf->depth = bf->lex = bf->began = bf->any = bf->refused = 0;
    strcpy(bf->page_start, bf->cursor);
    if (curl_multi_add_handle(gs->multi, bf->easy) != CURLM_OK)
        return GITTERSTREAM_E_NOMEM;
    bf->transferring = 1;
    return GITTERSTREAM_OK;
}

/* A page could not be had: retry per the policy, or give the gap up. */
static void page_failed(gitterstream_sub *sub, int code, long status, const char *why)
{
    gs_backfill *bf = &sub->bf;
    long delay = ++bf->failures >= GS_BACKFILL_MAX_FAILURES
                     ? -1
                     : gs_backoff_next(&bf->backoff, gs_failure_of(code), -1);
    char text[320];
    snprintf(text, sizeof text, "gap-fill of room %s after %s: %s%s", sub->room, bf->cursor, why,
             delay < 0 ? "; giving up, messages may be missing" : "");
    /* the stream itself goes on: 0 when nothing more will be tried */
    gs_sub_report(sub, code, status, delay < 0 ? 0 : delay, text);
    if (delay < 0)
        finish(sub);
    else
        bf->due = sub->gs->turn_now + delay;
}

void gs_backfill_run_due(gitterstream_sub *sub, long long now)
{
    gs_backfill *bf = &sub->bf;
    if (!bf->active || bf->due < 0 || bf->due > now)
        return;
    bf->due = -1;
    int rc = request_page(sub);
    if (rc != GITTERSTREAM_OK)
        page_failed(sub, rc, 0, "the request could not be made");
}

void gs_backfill_done(gitterstream_sub *sub, CURLcode result)
{
    gs_backfill *bf = &sub->bf;
    curl_multi_remove_handle(sub->gs->multi, bf->easy);
    bf->transferring = 0;
    if (sub->dead || !bf->active)
        return;
    if (bf->status != 200 && bf->status != 0) {
        char why[32];
        snprintf(why, sizeof why, "HTTP %ld", bf->status);
        page_failed(sub, gs_status_error(bf->status), bf->status, why);
    } else if (bf->refused == GITTERSTREAM_E_NOMEM) {
        page_failed(sub, GITTERSTREAM_E_NOMEM, 0, "out of memory decoding the page");
    } else if (bf->refused || (result == CURLE_OK && (bf->depth != 0 || !bf->began))) {
        page_failed(sub, GITTERSTREAM_E_PARSE, 0, "the answer is not a complete JSON array");
    } else if (result != CURLE_OK) {
        page_failed(sub, GITTERSTREAM_E_NETWORK, 0,
                    bf->errbuf[0] ? bf->errbuf : curl_easy_strerror(result));
    } else if (bf->reached || (bf->elements < PAGE && !bf->overflowed)) {
        finish(sub);
    } else if (strcmp(bf->cursor, bf->page_start) == 0) {
        /* a full page with no readable item: the next one would be the same */
        page_failed(sub, GITTERSTREAM_E_PARSE, 0, "no readable message in a full page");
    } else {
        bf->failures = 0;
        bf->due = sub->gs->turn_now; /* more pages */
    }
}
