/* Parser for the scenario format (see --help): tokens, directives, and the timeline each room
 * resource gets once every post line has been read. */
#include "scenario.h"

#include "buf.h"
#include "jsonstr.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS                128
#define MAX_MESSAGES_PER_RESOURCE 2000000UL
#define MAX_OVERSIZE              (16UL * 1024 * 1024)
#define MAX_DEPTH                 1000000UL

struct token {
    const char *p;
    size_t n;
    int quoted; /* p/n is the body between the quotes */
};

/* A post or history line, kept until the whole file is read so lines may come in any order. */
struct post {
    long long start, every;
    unsigned long count;
    const char *text;
    int history;
};

struct resource_draft {
    struct post *posts;
    size_t n_posts;
};

struct parser {
    struct scenario *sc;
    struct resource_draft *drafts; /* 2 per room */
    struct room *room;
    enum resource_kind kind;
    unsigned line;
    char *err;
    size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
    int n = snprintf(ps->err, ps->errlen, "line %u: ", ps->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ps->errlen)
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int tok_is(const struct token *t, const char *word)
{
    return !t->quoted && strlen(word) == t->n && memcmp(t->p, word, t->n) == 0;
}

static int tokenize(struct parser *ps, const char *line, size_t len, struct token *toks,
                    size_t *ntok)
{
    size_t i = 0, n = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (i >= len || line[i] == '#')
            break;
        if (n == MAX_TOKENS)
            return fail(ps, "too many words");
        struct token *t = &toks[n++];
        if (line[i] == '"') {
            size_t start = ++i;
            while (i < len && line[i] != '"')
                i += line[i] == '\\' ? 2 : 1;
            if (i >= len)
                return fail(ps, "unterminated string");
            *t = (struct token){line + start, i - start, 1};
            i++;
            struct buf check = {0};
            int bad = json_string_decode(t->p, t->n, 0, &check);
            buf_free(&check);
            if (bad)
                return fail(ps, "invalid string (JSON escapes, valid UTF-8, no control bytes)");
        } else {
            size_t start = i;
            while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
                i++;
            *t = (struct token){line + start, i - start, 0};
        }
    }
    *ntok = n;
    return 0;
}

static int number(struct parser *ps, const struct token *t, long long min, long long max,
                  long long *out)
{
    char tmp[32];
    if (t->quoted || t->n == 0 || t->n >= sizeof tmp)
        return fail(ps, "expected a number, got '%.*s'", (int)t->n, t->p);
    memcpy(tmp, t->p, t->n);
    tmp[t->n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (*end || errno || (!isdigit((unsigned char)tmp[0]) && tmp[0] != '-'))
        return fail(ps, "expected a number, got '%s'", tmp);
    if (v < min || v > max)
        return fail(ps, "%s is out of range [%lld, %lld]", tmp, min, max);
    *out = v;
    return 0;
}

/* Fetches the argument after toks[*i], failing with a message naming the option. */
static const struct token *arg(struct parser *ps, const struct token *toks, size_t ntok, size_t *i)
{
    if (*i + 1 >= ntok) {
        fail(ps, "'%.*s' needs a value", (int)toks[*i].n, toks[*i].p);
        return NULL;
    }
    return &toks[++*i];
}

static int num_arg(struct parser *ps, const struct token *toks, size_t ntok, size_t *i,
                   long long min, long long max, long long *out)
{
    const struct token *t = arg(ps, toks, ntok, i);
    return t ? number(ps, t, min, max, out) : -1;
}

static char *string_arg(struct parser *ps, const struct token *toks, size_t ntok, size_t *i,
                        size_t *len)
{
    const struct token *t = arg(ps, toks, ntok, i);
    if (!t)
        return NULL;
    if (!t->quoted) {
        fail(ps, "'%.*s' needs a quoted string", (int)toks[*i - 1].n, toks[*i - 1].p);
        return NULL;
    }
    struct buf b = {0};
    json_string_decode(t->p, t->n, 0, &b);
    buf_reserve(&b, 0);
    *len = b.len;
    return b.data;
}

static const char *const utf8_variants[] = {"byte",      "overlong",  "surrogate",
                                            "above-max", "truncated", NULL};

static int parse_inject(struct parser *ps, const struct token *toks, size_t ntok, size_t *i,
                        struct stream_spec *st)
{
    long long pos, v;
    if (num_arg(ps, toks, ntok, i, 0, LLONG_MAX, &pos))
        return -1;
    const struct token *k = arg(ps, toks, ntok, i);
    if (!k)
        return -1;
    struct inject inj = {.pos = (unsigned long)pos};
    if (tok_is(k, "invalid-json")) {
        inj.kind = INJECT_INVALID_JSON;
    } else if (tok_is(k, "invalid-utf8")) {
        inj.kind = INJECT_INVALID_UTF8;
        if (*i + 1 < ntok) {
            for (unsigned long j = 0; utf8_variants[j]; j++) {
                if (tok_is(&toks[*i + 1], utf8_variants[j])) {
                    inj.arg = j;
                    ++*i;
                    break;
                }
            }
        }
    } else if (tok_is(k, "array")) {
        inj.kind = INJECT_ARRAY;
    } else if (tok_is(k, "trailing")) {
        inj.kind = INJECT_TRAILING;
    } else if (tok_is(k, "oversize")) {
        inj.kind = INJECT_OVERSIZE;
        if (num_arg(ps, toks, ntok, i, 11, (long long)MAX_OVERSIZE, &v))
            return -1;
        inj.arg = (unsigned long)v;
    } else if (tok_is(k, "deep")) {
        inj.kind = INJECT_DEEP;
        if (num_arg(ps, toks, ntok, i, 1, (long long)MAX_DEPTH, &v))
            return -1;
        inj.arg = (unsigned long)v;
    } else if (tok_is(k, "raw")) {
        inj.kind = INJECT_RAW;
        if (!(inj.raw = string_arg(ps, toks, ntok, i, &inj.raw_len)))
            return -1;
    } else {
        return fail(ps, "unknown inject kind '%.*s'", (int)k->n, k->p);
    }
    st->injects = xrealloc(st->injects, (st->n_injects + 1) * sizeof *st->injects);
    st->injects[st->n_injects++] = inj;
    return 0;
}

static int parse_stream(struct parser *ps, const struct token *toks, size_t ntok, size_t i,
                        struct stream_spec *st)
{
    long long v;
    for (; i < ntok; i++) {
        const struct token *t = &toks[i];
        const struct token *a;
        if (tok_is(t, "dialect")) {
            if (!(a = arg(ps, toks, ntok, &i)))
                return -1;
            if (tok_is(a, "cr"))
                st->dialect = DIALECT_CR;
            else if (tok_is(a, "lf"))
                st->dialect = DIALECT_LF;
            else if (tok_is(a, "crlf"))
                st->dialect = DIALECT_CRLF;
            else if (tok_is(a, "pretty"))
                st->dialect = DIALECT_PRETTY;
            else
                return fail(ps, "unknown dialect '%.*s'", (int)a->n, a->p);
        } else if (tok_is(t, "keepalive")) {
            if (num_arg(ps, toks, ntok, &i, 1, 86400000, &st->keepalive_ms))
                return -1;
        } else if (tok_is(t, "keepalive-bytes")) {
            free(st->keepalive);
            if (!(st->keepalive = string_arg(ps, toks, ntok, &i, &st->keepalive_len)))
                return -1;
            if (st->keepalive_len == 0)
                return fail(ps, "keepalive-bytes must not be empty");
        } else if (tok_is(t, "chunking")) {
            if (!(a = arg(ps, toks, ntok, &i)))
                return -1;
            if (tok_is(a, "item")) {
                st->chunking = CHUNK_ITEM;
            } else if (tok_is(a, "drip")) {
                st->chunking = CHUNK_DRIP;
            } else if (tok_is(a, "split-utf8")) {
                st->chunking = CHUNK_SPLIT_UTF8;
            } else if (tok_is(a, "merge")) {
                st->chunking = CHUNK_MERGE;
                if (num_arg(ps, toks, ntok, &i, 1, 1000000, &v))
                    return -1;
                st->merge_items = (unsigned long)v;
            } else if (tok_is(a, "random")) {
                st->chunking = CHUNK_RANDOM;
                if (num_arg(ps, toks, ntok, &i, 0, LLONG_MAX, &v))
                    return -1;
                st->seed = (uint64_t)v;
            } else {
                return fail(ps, "unknown chunking '%.*s'", (int)a->n, a->p);
            }
        } else if (tok_is(t, "chunk-delay")) {
            if (num_arg(ps, toks, ntok, &i, 0, 60000, &st->chunk_delay_ms))
                return -1;
        } else if (tok_is(t, "end-after")) {
            if (num_arg(ps, toks, ntok, &i, 0, LLONG_MAX, &st->end_after))
                return -1;
        } else if (tok_is(t, "cut-after")) {
            if (num_arg(ps, toks, ntok, &i, 0, LLONG_MAX, &st->cut_after))
                return -1;
        } else if (tok_is(t, "stall-after")) {
            if (num_arg(ps, toks, ntok, &i, 0, LLONG_MAX, &st->stall_after))
                return -1;
        } else if (tok_is(t, "cut-at-byte")) {
            if (num_arg(ps, toks, ntok, &i, 0, LLONG_MAX, &st->cut_at_byte))
                return -1;
        } else if (tok_is(t, "inject")) {
            if (parse_inject(ps, toks, ntok, &i, st))
                return -1;
        } else {
            return fail(ps, "unknown stream option '%.*s'", (int)t->n, t->p);
        }
    }
    return 0;
}

static int parse_status(struct parser *ps, const struct token *toks, size_t ntok, size_t i,
                        struct status_spec *st)
{
    long long code;
    if (i >= ntok)
        return fail(ps, "'status' needs a code");
    if (number(ps, &toks[i], 100, 599, &code))
        return -1;
    st->code = (int)code;
    for (i++; i < ntok; i++) {
        const struct token *t = &toks[i];
        size_t unused;
        if (tok_is(t, "retry-after")) {
            if (num_arg(ps, toks, ntok, &i, 0, 1000000000, &st->retry_after))
                return -1;
        } else if (tok_is(t, "ratelimit-limit")) {
            if (num_arg(ps, toks, ntok, &i, 0, LLONG_MAX, &st->rl_limit))
                return -1;
        } else if (tok_is(t, "ratelimit-remaining")) {
            if (num_arg(ps, toks, ntok, &i, 0, LLONG_MAX, &st->rl_remaining))
                return -1;
        } else if (tok_is(t, "ratelimit-reset")) {
            if (num_arg(ps, toks, ntok, &i, -1000000000000LL, 1000000000000LL, &st->rl_reset))
                return -1;
            st->has_rl_reset = 1;
        } else if (tok_is(t, "body")) {
            free(st->body);
            if (!(st->body = string_arg(ps, toks, ntok, &i, &st->body_len)))
                return -1;
        } else if (tok_is(t, "content-type")) {
            free(st->content_type);
            if (!(st->content_type = string_arg(ps, toks, ntok, &i, &unused)))
                return -1;
        } else {
            return fail(ps, "unknown status option '%.*s'", (int)t->n, t->p);
        }
    }
    return 0;
}

void rule_defaults(struct rule *r)
{
    memset(r, 0, sizeof *r);
    r->status = (struct status_spec){.retry_after = -1, .rl_limit = -1, .rl_remaining = -1};
    r->stream = (struct stream_spec){.dialect = DIALECT_LF,
                                     .end_after = -1,
                                     .cut_after = -1,
                                     .stall_after = -1,
                                     .cut_at_byte = -1};
}

static int parse_rule(struct parser *ps, const struct token *toks, size_t ntok, int rest)
{
    struct rule r;
    rule_defaults(&r);
    if (ntok < 3)
        return fail(ps, "usage: %s SELECTOR ACTION [OPTIONS]", rest ? "rest" : "conn");
    const struct token *sel = &toks[1];
    if (tok_is(sel, "default")) {
        r.is_default = 1;
    } else {
        char tmp[48];
        if (sel->quoted || sel->n >= sizeof tmp)
            return fail(ps, "bad selector");
        memcpy(tmp, sel->p, sel->n);
        tmp[sel->n] = '\0';
        char *end = tmp;
        int ok = isdigit((unsigned char)tmp[0]);
        r.from = r.to = strtoul(tmp, &end, 10);
        if (ok && *end == '-') {
            if (end[1] == '\0') {
                r.to = ULONG_MAX;
                end++;
            } else {
                ok = isdigit((unsigned char)end[1]);
                r.to = strtoul(end + 1, &end, 10);
            }
        }
        if (!ok || *end || r.from < 1 || r.to < r.from)
            return fail(ps, "bad selector '%s' (N, N-M, N- or default)", tmp);
    }
    const struct token *act = &toks[2];
    int rc = 0;
    if (tok_is(act, "stream") && !rest) {
        r.action = ACTION_STREAM;
        rc = parse_stream(ps, toks, ntok, 3, &r.stream);
    } else if (tok_is(act, "ok") && rest) {
        r.action = ACTION_OK;
    } else if (tok_is(act, "status")) {
        r.action = ACTION_STATUS;
        rc = parse_status(ps, toks, ntok, 3, &r.status);
    } else if (tok_is(act, "close")) {
        r.action = ACTION_CLOSE;
    } else if (tok_is(act, "hang")) {
        r.action = ACTION_HANG;
    } else {
        rc = fail(ps, "unknown action '%.*s'", (int)act->n, act->p);
    }
    if (rc == 0 && (r.action == ACTION_OK || r.action == ACTION_CLOSE || r.action == ACTION_HANG) &&
        ntok > 3)
        rc = fail(ps, "'%.*s' takes no options", (int)act->n, act->p);
    struct rule **rules = rest ? &ps->room->rest_rules : &ps->room->res[ps->kind].rules;
    size_t *n = rest ? &ps->room->n_rest_rules : &ps->room->res[ps->kind].n_rules;
    *rules = xrealloc(*rules, (*n + 1) * sizeof **rules);
    (*rules)[(*n)++] = r; /* kept even on error so scenario_free releases its strings */
    return rc;
}

static int parse_post(struct parser *ps, const struct token *toks, size_t ntok, int history)
{
    struct post p = {.history = history};
    long long count;
    if (ntok < 2)
        return fail(ps, "'%s' needs a count", history ? "history" : "post");
    if (number(ps, &toks[1], 1, (long long)MAX_MESSAGES_PER_RESOURCE, &count))
        return -1;
    p.count = (unsigned long)count;
    for (size_t i = 2; i < ntok; i++) {
        const struct token *t = &toks[i];
        if (!history && tok_is(t, "every")) {
            if (num_arg(ps, toks, ntok, &i, 0, 86400000LL * 365, &p.every))
                return -1;
        } else if (!history && (tok_is(t, "start") || tok_is(t, "at"))) {
            if (num_arg(ps, toks, ntok, &i, 0, 86400000LL * 365, &p.start))
                return -1;
        } else if (tok_is(t, "text")) {
            const struct token *s = arg(ps, toks, ntok, &i);
            if (!s)
                return -1;
            if (!s->quoted)
                return fail(ps, "'text' needs a quoted string");
            struct scenario *sc = ps->sc;
            sc->texts = xrealloc(sc->texts, (sc->n_texts + 1) * sizeof *sc->texts);
            p.text = sc->texts[sc->n_texts++] = xstrndup(s->p, s->n);
        } else {
            return fail(ps, "unknown %s option '%.*s'", history ? "history" : "post", (int)t->n,
                        t->p);
        }
    }
    struct resource_draft *d = &ps->drafts[2 * (size_t)(ps->room - ps->sc->rooms) + ps->kind];
    d->posts = xrealloc(d->posts, (d->n_posts + 1) * sizeof *d->posts);
    d->posts[d->n_posts++] = p;
    return 0;
}

static int parse_room(struct parser *ps, const struct token *toks, size_t ntok)
{
    if (ntok < 2 || ntok > 3)
        return fail(ps, "usage: room ID [chatMessages|events]");
    if (toks[1].quoted || !is_room_id(toks[1].p, toks[1].n))
        return fail(ps, "a room id is 24 lowercase hex digits");
    enum resource_kind kind = RES_CHAT;
    if (ntok == 3) {
        if (tok_is(&toks[2], "events"))
            kind = RES_EVENTS;
        else if (!tok_is(&toks[2], "chatMessages"))
            return fail(ps, "resource is chatMessages or events");
    }
    struct scenario *sc = ps->sc;
    struct room *room = scenario_room(sc, toks[1].p, toks[1].n);
    if (!room) {
        sc->rooms = xrealloc(sc->rooms, (sc->n_rooms + 1) * sizeof *sc->rooms);
        ps->drafts = xrealloc(ps->drafts, 2 * (sc->n_rooms + 1) * sizeof *ps->drafts);
        memset(&ps->drafts[2 * sc->n_rooms], 0, 2 * sizeof *ps->drafts);
        room = &sc->rooms[sc->n_rooms++];
        memset(room, 0, sizeof *room);
        memcpy(room->id, toks[1].p, 24);
    }
    ps->room = room;
    ps->kind = kind;
    return 0;
}

static int parse_line(struct parser *ps, const struct token *toks, size_t ntok)
{
    const struct token *d = &toks[0];
    if (tok_is(d, "token")) {
        if (ntok != 2 || toks[1].quoted || toks[1].n == 0)
            return fail(ps, "usage: token SECRET");
        free(ps->sc->token);
        ps->sc->token = xstrndup(toks[1].p, toks[1].n);
        return 0;
    }
    if (tok_is(d, "room"))
        return parse_room(ps, toks, ntok);
    if (!tok_is(d, "uri") && !tok_is(d, "history") && !tok_is(d, "post") && !tok_is(d, "conn") &&
        !tok_is(d, "rest"))
        return fail(ps, "unknown directive '%.*s'", (int)d->n, d->p);
    if (!ps->room)
        return fail(ps, "'%.*s' must follow a room line", (int)d->n, d->p);
    if (tok_is(d, "uri")) {
        if (ntok != 2 || toks[1].quoted || !memchr(toks[1].p, '/', toks[1].n))
            return fail(ps, "usage: uri OWNER/NAME");
        free(ps->room->uri);
        ps->room->uri = xstrndup(toks[1].p, toks[1].n);
        return 0;
    }
    if (tok_is(d, "history") || tok_is(d, "post"))
        return parse_post(ps, toks, ntok, tok_is(d, "history"));
    return parse_rule(ps, toks, ntok, tok_is(d, "rest"));
}

static int message_cmp(const void *a, const void *b)
{
    const struct message *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq; /* seq holds the line order until renumbered */
}

static uint32_t fnv1a(const char *s, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* Expands the post lines into the timeline. Ids are a per-resource prefix and a counter, so that
 * they are 24 hex digits, differ between rooms and increase in posting order. */
static int build_timeline(struct parser *ps, struct room *room, enum resource_kind kind,
                          struct resource_draft *d)
{
    struct resource *res = &room->res[kind];
    size_t total = 0;
    for (size_t i = 0; i < d->n_posts; i++)
        total += d->posts[i].count;
    if (total > MAX_MESSAGES_PER_RESOURCE) {
        ps->line = 0;
        return fail(ps, "room %s has more than %lu messages", room->id, MAX_MESSAGES_PER_RESOURCE);
    }
    size_t history = 0;
    for (size_t i = 0; i < d->n_posts; i++)
        history += d->posts[i].history ? d->posts[i].count : 0;
    res->msgs = xcalloc(total, sizeof *res->msgs);
    size_t k = 0, h = 0;
    for (size_t i = 0; i < d->n_posts; i++) {
        const struct post *p = &d->posts[i];
        for (unsigned long j = 0; j < p->count; j++, k++) {
            struct message *m = &res->msgs[k];
            /* history is one message a second, ending a second before the server started */
            m->time_ms = p->history ? -1000 * (long long)(history - h++)
                                    : p->start + (long long)j * p->every;
            m->seq = k;
            m->text = p->text;
        }
    }
    res->n_msgs = total;
    qsort(res->msgs, total, sizeof *res->msgs, message_cmp);
    uint32_t prefix = fnv1a(room->id, 24, 2166136261u);
    for (size_t i = 0; i < total; i++) {
        res->msgs[i].seq = i + 1;
        snprintf(res->msgs[i].id, sizeof res->msgs[i].id, "%08x%c%015zx", (unsigned)prefix,
                 kind == RES_CHAT ? 'c' : 'e', i + 1);
    }
    return 0;
}

int scenario_parse(struct scenario *sc, const char *text, size_t len, char *err, size_t errlen)
{
    memset(sc, 0, sizeof *sc);
    struct parser ps = {.sc = sc, .err = err, .errlen = errlen};
    struct token toks[MAX_TOKENS];
    int rc = 0;
    size_t pos = 0;
    while (rc == 0 && pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
        ps.line++;
        size_t ntok = 0;
        if (memchr(text + pos, '\0', llen))
            rc = fail(&ps, "NUL byte in scenario");
        else if ((rc = tokenize(&ps, text + pos, llen, toks, &ntok)) == 0 && ntok > 0)
            rc = parse_line(&ps, toks, ntok);
        pos += llen + (nl != NULL);
    }
    for (size_t r = 0; r < sc->n_rooms; r++) {
        for (int k = 0; k < 2; k++) {
            struct resource_draft *d = &ps.drafts[2 * r + (size_t)k];
            if (rc == 0)
                rc = build_timeline(&ps, &sc->rooms[r], (enum resource_kind)k, d);
            free(d->posts);
        }
    }
    free(ps.drafts);
    if (rc)
        scenario_free(sc);
    return rc;
}

static void free_rules(struct rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rules[i].status.body);
        free(rules[i].status.content_type);
        free(rules[i].stream.keepalive);
        for (size_t j = 0; j < rules[i].stream.n_injects; j++)
            free(rules[i].stream.injects[j].raw);
        free(rules[i].stream.injects);
    }
    free(rules);
}

void scenario_free(struct scenario *sc)
{
    for (size_t r = 0; r < sc->n_rooms; r++) {
        struct room *room = &sc->rooms[r];
        for (int k = 0; k < 2; k++) {
            free(room->res[k].msgs);
            free_rules(room->res[k].rules, room->res[k].n_rules);
        }
        free_rules(room->rest_rules, room->n_rest_rules);
        free(room->uri);
    }
    for (size_t i = 0; i < sc->n_texts; i++)
        free(sc->texts[i]);
    free(sc->texts);
    free(sc->rooms);
    free(sc->token);
    memset(sc, 0, sizeof *sc);
}

struct room *scenario_room(const struct scenario *sc, const char *id, size_t id_len)
{
    for (size_t i = 0; i < sc->n_rooms; i++)
        if (id_len == 24 && memcmp(sc->rooms[i].id, id, 24) == 0)
            return &sc->rooms[i];
    return NULL;
}

struct room *scenario_room_by_uri(const struct scenario *sc, const char *uri, size_t uri_len)
{
    for (size_t i = 0; i < sc->n_rooms; i++) {
        const char *u = sc->rooms[i].uri;
        if (u && strlen(u) == uri_len && memcmp(u, uri, uri_len) == 0)
            return &sc->rooms[i];
    }
    return NULL;
}

const struct rule *rule_for(const struct rule *rules, size_t n_rules, unsigned long n)
{
    const struct rule *dflt = NULL;
    for (size_t i = 0; i < n_rules; i++) {
        if (rules[i].is_default) {
            if (!dflt)
                dflt = &rules[i];
        } else if (n >= rules[i].from && n <= rules[i].to) {
            return &rules[i];
        }
    }
    return dflt;
}
