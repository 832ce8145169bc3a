/* msg.c: item accessors. Items are read lazily: a dotted path is looked up
 * by walking the item's text, which the framer and decoder have already
 * validated, so nothing is built per item that no one asks for. */
#include <limits.h>
#include <string.h>

#include "msg.h"

struct gs_arena_block {
    gs_arena_block *next;
    size_t cap, used;
    char data[];
};

#define ARENA_BLOCK_MIN 4096

static char *arena_alloc(gs_arena *a, size_t n)
{
    gs_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK_MIN ? n : ARENA_BLOCK_MIN;
        b = gs_malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->cap = cap;
        b->used = 0;
        a->head = b;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

void gs_arena_reset(gs_arena *a)
{
    gs_arena_block *keep = a->head;
    for (gs_arena_block *b = a->head; b; b = b->next)
        if (b->cap > keep->cap)
            keep = b;
    gs_arena_block *b = a->head;
    while (b) {
        gs_arena_block *next = b->next;
        if (b != keep)
            gs_free(b);
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
}

void gs_arena_free(gs_arena *a)
{
    while (a->head) {
        gs_arena_block *next = a->head->next;
        gs_free(a->head);
        a->head = next;
    }
}

/* Walking validated JSON: each function takes a pointer to the start of
 * what it skips and returns the first byte after it. */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return end;
        size_t backslashes = 0;
        while (q - backslashes > p && q[-1 - (ptrdiff_t)backslashes] == '\\')
            backslashes++;
        if (backslashes % 2 == 0)
            return q + 1; /* not escaped */
        p = q + 1;
    }
    return end;
}

static const char *skip_value(const char *p, const char *end)
{
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return end;
    }
    while (p < end && !strchr(",}] \t\n\r", *p))
        p++;
    return p;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Unescape the string body raw[0..n) into out, which holds at least n + 1
 * bytes (unescaping never lengthens). Returns the length written. */
static size_t unescape(const char *raw, size_t n, char *out)
{
    const char *end = raw + n;
    char *o = out;
    while (raw < end) {
        if (*raw != '\\') {
            *o++ = *raw++;
            continue;
        }
        char e = raw[1];
        raw += 2;
        switch (e) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned cp = hex4(raw);
            raw += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && end - raw >= 6 && raw[0] == '\\' && raw[1] == 'u') {
                unsigned lo = hex4(raw + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    raw += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
            o = put_utf8(o, cp);
            break;
        }
        default: /* '"', '\\', '/' */
            *o++ = e;
            break;
        }
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* The body of the string whose opening quote is at p, and its raw length. */
static const char *string_at(const char *p, const char *end, size_t *raw)
{
    *raw = (size_t)(skip_string(p, end) - 1 - (p + 1));
    return p + 1;
}

/* Does the raw key at p (its opening quote) equal name[0..n)? */
static int key_equals(gs_arena *arena, const char *p, const char *end, const char *name, size_t n)
{
    size_t raw;
    const char *body = string_at(p, end, &raw);
    if (!memchr(body, '\\', raw))
        return raw == n && memcmp(body, name, n) == 0;
    char *tmp = arena_alloc(arena, raw + 1);
    return tmp && unescape(body, raw, tmp) == n && memcmp(tmp, name, n) == 0;
}

static int parse_index(const char *s, size_t n, size_t *out)
{
    size_t v = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > ((size_t)-1 - 9) / 10)
            return 0;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

/* The value at path in m, or NULL. */
static const char *lookup(const gitterstream_msg *m, const char *path)
{
    const char *p = m->json, *end = m->json + m->len;
    for (;;) {
        size_t n = strcspn(path, ".");
        p = skip_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == '{') {
            for (p = skip_ws(p + 1, end); p < end && *p == '"';) {
                int hit = key_equals(m->arena, p, end, path, n);
                p = skip_ws(skip_string(p, end), end) + 1; /* past ':' */
                p = skip_ws(p, end);
                if (hit)
                    goto found;
                p = skip_ws(skip_value(p, end), end);
                if (p < end && *p == ',')
                    p = skip_ws(p + 1, end);
            }
            return NULL;
        } else if (*p == '[') {
            size_t index;
            if (!parse_index(path, n, &index))
                return NULL;
            p = skip_ws(p + 1, end);
            if (p < end && *p == ']')
                return NULL;
            for (; index > 0; index--) {
                p = skip_ws(skip_value(p, end), end);
                if (p >= end || *p != ',')
                    return NULL;
                p = skip_ws(p + 1, end);
            }
            goto found;
        }
        return NULL;
    found:
        if (path[n] == '\0')
            return p;
        path += n + 1;
    }
}

int gs_msg_copy_str(const gitterstream_msg *m, const char *path, char *out, size_t cap)
{
    const char *v = lookup(m, path);
    if (!v || *v != '"')
        return -1;
    size_t raw;
    const char *body = string_at(v, m->json + m->len, &raw);
    if (raw + 1 > cap)
        return -1; /* unescaping never lengthens: raw + 1 always suffices */
    unescape(body, raw, out);
    return 0;
}

GITTERSTREAM_EXPORT const char *gitterstream_msg_json(const gitterstream_msg *m, size_t *len)
{
    if (len)
        *len = m ? m->len : 0;
    return m ? m->json : NULL;
}

GITTERSTREAM_EXPORT const char *gitterstream_msg_str(const gitterstream_msg *m, const char *path)
{
    if (!m || !path)
        return NULL;
    const char *v = lookup(m, path);
    if (!v || *v != '"')
        return NULL;
    size_t raw;
    const char *body = string_at(v, m->json + m->len, &raw);
    char *out = arena_alloc(m->arena, raw + 1);
    if (!out)
        return NULL;
    unescape(body, raw, out);
    return out;
}

GITTERSTREAM_EXPORT int gitterstream_msg_int(const gitterstream_msg *m, const char *path,
                                             long long *out)
{
    if (!m || !path || !out)
        return GITTERSTREAM_E_INVALID;
    const char *v = lookup(m, path);
    if (!v)
        return GITTERSTREAM_E_NOT_FOUND;
    const char *p = v, *end = m->json + m->len;
    int negative = *p == '-';
    if (negative)
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return GITTERSTREAM_E_INVALID;
    /* accumulate negatively: LLONG_MIN has no positive counterpart */
    long long acc = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (acc < (LLONG_MIN + d) / 10)
            return GITTERSTREAM_E_INVALID;
        acc = acc * 10 - d;
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return GITTERSTREAM_E_INVALID;
    if (!negative) {
        if (acc == LLONG_MIN)
            return GITTERSTREAM_E_INVALID;
        acc = -acc;
    }
    *out = acc;
    return GITTERSTREAM_OK;
}

GITTERSTREAM_EXPORT int gitterstream_msg_is_backfill(const gitterstream_msg *m)
{
    return m ? m->backfill : 0;
}
