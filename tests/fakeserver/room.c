/* Message, event and room JSON, and the REST chatMessages query, for the fake server. */
#include "room.h"

#include "jsonstr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REST_DEFAULT_LIMIT 50
#define REST_MAX_LIMIT     100
#define REST_MAX_SKIP      5000

/* A JSON writer that can pretty-print, because the seed's dialect has items spanning lines. */
struct jw {
    struct buf *out;
    int pretty;
    int depth;
    int first;
};

static void jw_newline(struct jw *w)
{
    if (!w->pretty)
        return;
    buf_addc(w->out, '\n');
    for (int i = 0; i < w->depth; i++)
        buf_adds(w->out, "  ");
}

static void jw_open(struct jw *w, char c)
{
    buf_addc(w->out, c);
    w->depth++;
    w->first = 1;
}

static void jw_close(struct jw *w, char c)
{
    w->depth--;
    if (!w->first)
        jw_newline(w);
    buf_addc(w->out, c);
    w->first = 0;
}

static void jw_key(struct jw *w, const char *key)
{
    if (!w->first)
        buf_addc(w->out, ',');
    w->first = 0;
    jw_newline(w);
    buf_addf(w->out, "\"%s\":%s", key, w->pretty ? " " : "");
}

static void jw_str(struct jw *w, const char *key, const char *s, size_t len)
{
    jw_key(w, key);
    buf_addc(w->out, '"');
    json_escape(w->out, s, len);
    buf_addc(w->out, '"');
}

static void jw_raw(struct jw *w, const char *key, const char *raw)
{
    jw_key(w, key);
    buf_adds(w->out, raw);
}

static void html_escape(struct buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&':
            buf_adds(out, "&amp;");
            break;
        case '<':
            buf_adds(out, "&lt;");
            break;
        case '>':
            buf_adds(out, "&gt;");
            break;
        case '"':
            buf_adds(out, "&quot;");
            break;
        case '\'':
            buf_adds(out, "&#39;");
            break;
        case '\n':
            buf_adds(out, "<br>");
            break;
        default:
            buf_addc(out, s[i]);
        }
    }
}

static void iso8601(char *dst, size_t size, long long epoch_ms)
{
    time_t secs = (time_t)(epoch_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(dst, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(epoch_ms % 1000));
}

void message_json(struct buf *out, const struct room *room, enum resource_kind kind,
                  const struct message *m, long long wall0_ms, int pretty)
{
    (void)room;
    struct buf text = {0}, decoded = {0}, html = {0};
    if (m->text) {
        json_string_subst(m->text, strlen(m->text), m->seq, &text);
        json_string_decode(m->text, strlen(m->text), m->seq, &decoded);
    } else {
        buf_addf(&decoded, "%s %lu", kind == RES_CHAT ? "message" : "event", m->seq);
        json_escape(&text, decoded.data, decoded.len);
    }
    html_escape(&html, decoded.data, decoded.len);
    char sent[96];
    iso8601(sent, sizeof sent, wall0_ms + m->time_ms);

    struct jw w = {.out = out, .pretty = pretty};
    jw_open(&w, '{');
    jw_str(&w, "id", m->id, 24);
    jw_key(&w, "text");
    buf_addf(out, "\"%s\"", text.data);
    jw_str(&w, "html", html.data, html.len);
    jw_str(&w, "sent", sent, strlen(sent));
    if (kind == RES_EVENTS) {
        jw_raw(&w, "editedAt", "null");
        jw_key(&w, "meta");
        jw_open(&w, '{');
        jw_raw(&w, "service", "\"fakeserver\"");
        jw_raw(&w, "event", "\"push\"");
        jw_close(&w, '}');
        jw_key(&w, "payload");
        jw_open(&w, '{');
        jw_key(&w, "n");
        buf_addf(out, "%lu", m->seq);
        jw_close(&w, '}');
        jw_raw(&w, "v", "1");
    } else {
        jw_raw(&w, "readBy", "0");
        jw_raw(&w, "urls", "[]");
        jw_raw(&w, "mentions", "[]");
        jw_raw(&w, "issues", "[]");
        jw_raw(&w, "meta", "[]");
        jw_raw(&w, "v", "1");
        jw_key(&w, "fromUser");
        jw_open(&w, '{');
        jw_raw(&w, "id", "\"5f0c1a2b3c4d5e6f70819203\"");
        jw_raw(&w, "username", "\"fakeuser\"");
        jw_raw(&w, "displayName", "\"Fake User\"");
        jw_raw(&w, "url", "\"/fakeuser\"");
        jw_raw(&w, "avatarUrl", "\"https://avatars.example.invalid/fakeuser\"");
        jw_raw(&w, "avatarUrlSmall", "\"https://avatars.example.invalid/fakeuser?s=60\"");
        jw_raw(&w, "avatarUrlMedium", "\"https://avatars.example.invalid/fakeuser?s=128\"");
        jw_raw(&w, "v", "1");
        jw_raw(&w, "gv", "\"4\"");
        jw_close(&w, '}');
    }
    jw_close(&w, '}');
    buf_free(&text);
    buf_free(&decoded);
    buf_free(&html);
}

void room_json(struct buf *out, const struct room *room)
{
    buf_addf(out, "{\"id\":\"%s\",\"name\":\"", room->id);
    json_escape(out, room->uri, strlen(room->uri));
    buf_adds(out, "\",\"topic\":\"\",\"uri\":\"");
    json_escape(out, room->uri, strlen(room->uri));
    buf_adds(out, "\",\"oneToOne\":false,\"userCount\":1,\"unreadItems\":0,\"mentions\":0,"
                  "\"lurk\":false,\"url\":\"/");
    json_escape(out, room->uri, strlen(room->uri));
    buf_adds(out, "\",\"githubType\":\"REPO\",\"v\":1}");
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes a query value into dst (NUL-terminated); -1 if it does not fit or is bad. */
static int query_value(const char *s, size_t len, char *dst, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (len - i < 3)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (n + 1 >= size)
            return -1;
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return 0;
}

static int parse_count(const char *s, long *out)
{
    char *end;
    if (!*s || *s < '0' || *s > '9')
        return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < 0)
        return -1;
    *out = v;
    return 0;
}

static void error_body(struct buf *out, const char *error)
{
    buf_addf(out, "{\"error\":\"%s\"}", error);
}

int room_rest_messages(const struct room *room, const char *query, size_t query_len,
                       long long wall0_ms, struct buf *out)
{
    char after[64] = "", before[64] = "", val[64];
    long limit = REST_DEFAULT_LIMIT, skip = 0;
    size_t i = 0;
    while (i < query_len) {
        const char *amp = memchr(query + i, '&', query_len - i);
        size_t plen = amp ? (size_t)(amp - (query + i)) : query_len - i;
        const char *p = query + i;
        const char *eq = memchr(p, '=', plen);
        size_t klen = eq ? (size_t)(eq - p) : plen;
        const char *v = eq ? eq + 1 : p + plen;
        size_t vlen = (size_t)(p + plen - v);
        i += plen + 1;
#define KEY_IS(k) (klen == strlen(k) && memcmp(p, k, klen) == 0)
        if (!(KEY_IS("afterId") || KEY_IS("beforeId") || KEY_IS("limit") || KEY_IS("skip")))
            continue;
        if (query_value(v, vlen, val, sizeof val) != 0)
            goto bad;
        if (KEY_IS("afterId") || KEY_IS("beforeId")) {
            if (!is_room_id(val, strlen(val)))
                goto bad;
            strcpy(KEY_IS("afterId") ? after : before, val);
        } else if (KEY_IS("limit")) {
            if (parse_count(val, &limit))
                goto bad;
            if (limit == 0)
                limit = REST_DEFAULT_LIMIT;
            if (limit > REST_MAX_LIMIT)
                limit = REST_MAX_LIMIT;
        } else {
            if (parse_count(val, &skip) || skip > REST_MAX_SKIP)
                goto bad;
        }
#undef KEY_IS
    }

    /* ids are fixed-width lowercase hex increasing in posting order, so strcmp orders them */
    const struct resource *res = &room->res[RES_CHAT];
    size_t lo = 0, hi = res->n_posted;
    if (*after)
        while (lo < hi && strcmp(res->msgs[lo].id, after) <= 0)
            lo++;
    if (*before)
        while (hi > lo && strcmp(res->msgs[hi - 1].id, before) >= 0)
            hi--;
    size_t first, last;
    if (*after) {
        first = lo + (size_t)skip < hi ? lo + (size_t)skip : hi;
        last = first + (size_t)limit < hi ? first + (size_t)limit : hi;
    } else {
        last = hi - lo > (size_t)skip ? hi - (size_t)skip : lo;
        first = last - lo > (size_t)limit ? last - (size_t)limit : lo;
    }
    buf_addc(out, '[');
    for (size_t k = first; k < last; k++) {
        if (k > first)
            buf_addc(out, ',');
        message_json(out, room, RES_CHAT, &res->msgs[k], wall0_ms, 0);
    }
    buf_addc(out, ']');
    return 200;
bad:
    error_body(out, "Bad Request");
    return 400;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Scans a JSON string starting after its opening quote; returns the closing quote or NULL. */
static const char *string_end(const char *p, const char *end)
{
    while (p < end && *p != '"')
        p += *p == '\\' ? 2 : 1;
    return p < end ? p : NULL;
}

int json_get_string(const char *json, size_t len, const char *key, struct buf *out)
{
    const char *p = json, *end = json + len;
    p = skip_ws(p, end);
    if (p >= end || *p++ != '{')
        return -1;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return -1;
        const char *k = p + 1, *kend = string_end(k, end);
        if (!kend)
            return -1;
        p = skip_ws(kend + 1, end);
        if (p >= end || *p++ != ':')
            return -1;
        p = skip_ws(p, end);
        if (p >= end)
            return -1;
        int match = (size_t)(kend - k) == strlen(key) && memcmp(k, key, (size_t)(kend - k)) == 0;
        if (*p == '"') {
            const char *v = p + 1, *vend = string_end(v, end);
            if (!vend)
                return -1;
            if (match)
                return json_string_decode(v, (size_t)(vend - v), 0, out);
            p = vend + 1;
        } else {
            if (match)
                return -1;
            /* only flat objects are expected here: skip a scalar */
            while (p < end && *p != ',' && *p != '}')
                p++;
        }
        p = skip_ws(p, end);
        if (p >= end || *p == '}')
            return -1;
        if (*p++ != ',')
            return -1;
    }
}
