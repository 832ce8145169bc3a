/* faults-support.c: see faults-support.h. */
#include "faults-support.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check-run.h"

static faults *current; /* for faults_done, which only gets the live harness */

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long faults_now(const faults *f)
{
    return mono_ms() - f->t0;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    p = realloc(p, *cap * size);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* ---- the recorder ---- */

static fault_event *record(faults *f, char kind, gitterstream_sub *sub)
{
    f->ev = grow(f->ev, &f->cap, f->nev, sizeof *f->ev);
    fault_event *e = &f->ev[f->nev++];
    memset(e, 0, sizeof *e);
    e->t = faults_now(f);
    e->kind = kind;
    faults_room *fr = sub ? gitterstream_sub_userdata(sub) : NULL;
    e->room = fr ? (int)(fr - f->room) : -1;
    return e;
}

static void on_message(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    faults *f = ud;
    fault_event *e = record(f, 'M', sub);
    const char *id = gitterstream_msg_str(m, "id");
    snprintf(e->id, sizeof e->id, "%s", id ? id : "?");
    e->backfill = gitterstream_msg_is_backfill(m);
    if (e->room >= 0)
        f->room[e->room].delivered++;
    f->l->messages++;
}

static void on_error(gitterstream_sub *sub, const gitterstream_error *err, void *ud)
{
    faults *f = ud;
    fault_event *e = record(f, 'E', sub);
    e->code = gitterstream_error_code(err);
    e->status = gitterstream_error_http_status(err);
    e->retry = gitterstream_error_retry_ms(err);
    if (e->room >= 0)
        f->room[e->room].errors++;
    f->l->errors++;
    f->l->last_code = e->code;
    f->l->last_status = e->status;
    f->l->last_retry = e->retry;
    snprintf(f->l->last_text, sizeof f->l->last_text, "%s", gitterstream_error_text(err));
}

static void on_state(gitterstream_sub *sub, gitterstream_state state, void *ud)
{
    faults *f = ud;
    fault_event *e = record(f, 'S', sub);
    e->state = (int)state;
    if (e->room < 0)
        return;
    faults_room *fr = &f->room[e->room];
    fr->attempts += state == GITTERSTREAM_CONNECTING;
    fr->connects += fr->last_state == GITTERSTREAM_CONNECTING &&
                    (state == GITTERSTREAM_STREAMING || state == GITTERSTREAM_BACKFILLING);
    fr->last_state = (int)state;
    f->l->stopped += state == GITTERSTREAM_STOPPED;
    if (state == GITTERSTREAM_BACKFILLING && f->slow_backfill_ms > 0) {
        /* a busy application, once: the gap-fill page is asked for only after this */
        struct timespec ts = {f->slow_backfill_ms / 1000, (f->slow_backfill_ms % 1000) * 1000000L};
        f->slow_backfill_ms = 0;
        nanosleep(&ts, NULL);
    }
}

static void configure(faults *f)
{
    gitterstream *gs = f->l->gs;
    const char *url = fakeserver_url(f->l->fs);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_STREAM_URL, url), 0);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_API_URL, url), 0);
    ck_assert_int_eq(gitterstream_set_str(gs, GITTERSTREAM_OPT_TOKEN, TEST_TOKEN), 0);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_STALL_TIMEOUT_MS, 500), 0);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_HEALTHY_AFTER_MS, 150), 0);
    ck_assert_int_eq(gitterstream_set_int(gs, GITTERSTREAM_OPT_RANDOM_SEED, 7), 0);
    gitterstream_on_message(gs, on_message, f);
    gitterstream_on_error(gs, on_error, f);
    gitterstream_on_state(gs, on_state, f);
    gitterstream_on_keepalive(gs, NULL, NULL);
}

faults *faults_start(const char *scenario)
{
    faults *f = calloc(1, sizeof *f);
    ck_assert_ptr_nonnull(f);
    f->t0 = mono_ms();
    f->l = live_start(scenario, NULL);
    configure(f);
    current = f;
    return f;
}

void faults_stop(faults *f)
{
    live_stop(f->l);
    free(f->ev);
    free(f);
    current = NULL;
}

void faults_new_handle(faults *f)
{
    gitterstream_free(f->l->gs);
    f->l->gs = gitterstream_new();
    ck_assert_ptr_nonnull(f->l->gs);
    configure(f);
    for (int r = 0; r < f->nrooms; r++) {
        faults_room *fr = &f->room[r];
        fr->sub = NULL;
        fr->delivered = fr->errors = fr->attempts = fr->connects = 0;
        fr->last_state = -1;
    }
    f->from = f->nev;
}

int faults_add_room(faults *f, const char *id, int want)
{
    ck_assert_int_lt(f->nrooms, FAULTS_MAX_ROOMS);
    faults_room *fr = &f->room[f->nrooms];
    memset(fr, 0, sizeof *fr);
    snprintf(fr->id, sizeof fr->id, "%s", id);
    fr->want = want;
    fr->min_connects = 1;
    fr->first_ok = 1;
    fr->last_state = -1;
    return f->nrooms++;
}

gitterstream_sub *faults_subscribe(faults *f, int r)
{
    faults_room *fr = &f->room[r];
    ck_assert_int_eq(gitterstream_subscribe(f->l->gs, fr->id, GITTERSTREAM_CHAT_MESSAGES, &fr->sub),
                     0);
    gitterstream_sub_set_userdata(fr->sub, fr);
    return fr->sub;
}

const fault_event *faults_next(const faults *f, size_t *i, int r, char kind)
{
    for (; *i < f->nev; (*i)++) {
        const fault_event *e = &f->ev[*i];
        if (e->kind == kind && (r < 0 || e->room == r)) {
            (*i)++;
            return e;
        }
    }
    return NULL;
}

int faults_count(const faults *f, int r, char kind)
{
    size_t i = f->from;
    int n = 0;
    while (faults_next(f, &i, r, kind))
        n++;
    return n;
}

char *faults_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ---- the server's log, per room ---- */

typedef struct rest_req {
    size_t line;
    char after[FAULTS_ID];
    int limit;
} rest_req;

typedef struct room_log {
    char (*posted)[FAULTS_ID];
    size_t *posted_line, nposted, posted_cap, lines_cap;
    size_t *stream_line, nstreams, streams_cap;
    rest_req *rest;
    size_t nrest, rest_cap;
} room_log;

static int room_index(const faults *f, const char *id, size_t len)
{
    for (int r = 0; r < f->nrooms; r++)
        if (strlen(f->room[r].id) == len && memcmp(f->room[r].id, id, len) == 0)
            return r;
    return -1;
}

/* the value of key=... in a query, into out */
static void query_value(const char *q, const char *key, char *out, size_t size)
{
    out[0] = '\0';
    size_t klen = strlen(key);
    for (const char *p = q; p && *p;) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t n = strcspn(p + klen + 1, "&\t\n");
            snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p + klen + 1);
            return;
        }
        p = strpbrk(p, "&\t\n");
        if (!p || *p != '&')
            return;
        p++;
    }
}

static void parse_line(const faults *f, room_log *logs, const char *line, size_t no)
{
    if (strncmp(line, "POSTED\t", 7) == 0) {
        const char *room = line + 7, *tab = strchr(room, '\t');
        int r = tab ? room_index(f, room, (size_t)(tab - room)) : -1;
        if (r < 0)
            return;
        room_log *lg = &logs[r];
        lg->posted = grow(lg->posted, &lg->posted_cap, lg->nposted, sizeof *lg->posted);
        lg->posted_line = grow(lg->posted_line, &lg->lines_cap, lg->nposted, sizeof(size_t));
        snprintf(lg->posted[lg->nposted], FAULTS_ID, "%.*s", (int)strcspn(tab + 1, "\t\n"),
                 tab + 1);
        lg->posted_line[lg->nposted++] = no;
        return;
    }
    const char *get = strstr(line, "\tGET\t"), *rooms = strstr(line, "/v1/rooms/");
    if (!get || !rooms)
        return;
    const char *room = rooms + 10, *slash = strchr(room, '/');
    int r = slash ? room_index(f, room, (size_t)(slash - room)) : -1;
    if (r < 0 || strncmp(slash, "/chatMessages", 13) != 0)
        return;
    room_log *lg = &logs[r];
    const char *query = slash[13] == '?' ? slash + 14 : NULL;
    if (query || strstr(get, "/api/v1/rooms/") == get + 5) {
        lg->rest = grow(lg->rest, &lg->rest_cap, lg->nrest, sizeof *lg->rest);
        rest_req *q = &lg->rest[lg->nrest++];
        char limit[16];
        q->line = no;
        query_value(query, "afterId", q->after, sizeof q->after);
        query_value(query, "limit", limit, sizeof limit);
        q->limit = atoi(limit);
    } else {
        lg->stream_line = grow(lg->stream_line, &lg->streams_cap, lg->nstreams, sizeof(size_t));
        lg->stream_line[lg->nstreams++] = no;
    }
}

static room_log *parse_log(const faults *f)
{
    room_log *logs = calloc((size_t)f->nrooms, sizeof *logs);
    ck_assert_ptr_nonnull(logs);
    char *log = fakeserver_read_log(f->l->fs);
    ck_assert_ptr_nonnull(log);
    size_t no = 0;
    for (char *line = log; *line; no++) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        parse_line(f, logs, line, no);
        line = eol ? eol + 1 : line + strlen(line);
    }
    free(log);
    return logs;
}

static void free_logs(room_log *logs, int n)
{
    for (int r = 0; r < n; r++) {
        free(logs[r].posted);
        free(logs[r].posted_line);
        free(logs[r].stream_line);
        free(logs[r].rest);
    }
    free(logs);
}

static long find_posted(const room_log *lg, const char *id)
{
    for (size_t i = 0; i < lg->nposted; i++)
        if (strcmp(lg->posted[i], id) == 0)
            return (long)i;
    return -1;
}

/* Index of the first post the room had to deliver; -1 if not known yet. */
static long expected_from(const faults_room *fr, const room_log *lg)
{
    if (fr->checkpoint[0]) {
        long at = find_posted(lg, fr->checkpoint);
        return at < 0 ? -1 : at + 1;
    }
    if (lg->nstreams < (size_t)fr->first_ok)
        return -1;
    size_t after = lg->stream_line[fr->first_ok - 1], i = 0;
    while (i < lg->nposted && lg->posted_line[i] < after)
        i++;
    return (long)i;
}

int faults_posted(const faults *f, int r)
{
    room_log *logs = parse_log(f);
    int n = (int)logs[r].nposted;
    free_logs(logs, f->nrooms);
    return n;
}

int faults_done(const live *l)
{
    faults *f = current;
    for (int r = 0; r < f->nrooms; r++) {
        const faults_room *fr = &f->room[r];
        if (fr->delivered < fr->want || !fr->sub ||
            gitterstream_sub_stat(fr->sub, GITTERSTREAM_STAT_CONNECTS) <
                (unsigned long long)fr->min_connects)
            return 0;
    }
    if (!f->caught_up_by_log)
        return 1;
    if (mono_ms() < f->next_log_check)
        return f->log_done;
    f->next_log_check = mono_ms() + 100;
    room_log *logs = parse_log(f);
    int done = 1;
    for (int r = 0; r < f->nrooms && done; r++) {
        long from = expected_from(&f->room[r], &logs[r]);
        f->room[r].posted_seen = from < 0 ? 0 : (int)((long)logs[r].nposted - from);
        done = from >= 0 && f->room[r].delivered >= f->room[r].posted_seen;
    }
    free_logs(logs, f->nrooms);
    return f->log_done = done;
}

int faults_all_failed(const live *l)
{
    for (int r = 0; r < current->nrooms; r++)
        if (current->room[r].errors == 0)
            return 0;
    return 1;
}

/* ---- the check ---- */

static void dump(const faults *f, int r, const room_log *lg)
{
    fprintf(stderr, "---- room %s: events (t ms) ----\n", f->room[r].id);
    for (size_t i = f->from; i < f->nev; i++) {
        const fault_event *e = &f->ev[i];
        if (e->room != r)
            continue;
        if (e->kind == 'M')
            fprintf(stderr, "%6lld M %s%s\n", e->t, e->id, e->backfill ? " backfill" : "");
        else if (e->kind == 'E')
            fprintf(stderr, "%6lld E code %d status %ld retry %ld\n", e->t, e->code, e->status,
                    e->retry);
        else
            fprintf(stderr, "%6lld S %d\n", e->t, e->state);
    }
    for (size_t i = 0; i < lg->nrest; i++)
        fprintf(stderr, "log line %zu: REST afterId=%s limit=%d\n", lg->rest[i].line,
                lg->rest[i].after, lg->rest[i].limit);
    for (size_t i = 0; i < lg->nstreams; i++)
        fprintf(stderr, "log line %zu: stream request %zu\n", lg->stream_line[i], i + 1);
}

static void fail_room(const faults *f, int r, const room_log *lg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_room(const faults *f, int r, const room_log *lg, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dump(f, r, lg);
    ck_abort_msg("room %s: %s", f->room[r].id, msg);
}

int faults_drive(faults *f, int (*done)(const live *l), int timeout_ms)
{
    if (live_drive(f->l, DRIVE_POLL, done, timeout_ms))
        return 1;
    room_log *logs = parse_log(f);
    for (int r = 0; r < f->nrooms; r++) {
        const faults_room *fr = &f->room[r];
        long from = expected_from(fr, &logs[r]);
        fprintf(
            stderr,
            "room %s: delivered %d (want %d, posted since subscribing %ld), %d of %d connects\n",
            fr->id, fr->delivered, fr->want, from < 0 ? -1 : (long)logs[r].nposted - from,
            fr->connects, fr->min_connects);
        if (fr->delivered < fr->want || fr->connects < fr->min_connects || f->caught_up_by_log)
            dump(f, r, &logs[r]);
    }
    free_logs(logs, f->nrooms);
    return 0;
}

/* Which posts the gap-fill pages held, as the server answered them: a page
 * is the oldest `limit` posts after afterId among those posted before the
 * request reached the server. Also counts the ids the live stream had too. */
static void simulate_pages(const faults *f, int r, const room_log *lg, char *in_page,
                           fault_report *rep)
{
    char *counted = calloc(lg->nposted + 1, 1);
    ck_assert_ptr_nonnull(counted);
    for (size_t k = 0; k < lg->nrest; k++) {
        const rest_req *q = &lg->rest[k];
        if (q->limit != 100)
            fail_room(f, r, lg, "page %zu asked for limit=%d, not 100", k + 1, q->limit);
        long at = find_posted(lg, q->after);
        if (at < 0)
            fail_room(f, r, lg, "page %zu asked for afterId=%s, not an id the room posted", k + 1,
                      q->after);
        size_t stream = 0; /* the stream request this page fills the gap of */
        for (size_t s = 0; s < lg->nstreams && lg->stream_line[s] < q->line; s++)
            stream = lg->stream_line[s];
        int n = 0;
        for (size_t i = (size_t)at + 1; i < lg->nposted && lg->posted_line[i] < q->line && n < 100;
             i++, n++) {
            in_page[i] = 1;
            if (lg->posted_line[i] > stream && !counted[i]) {
                counted[i] = 1;
                rep->overlap++;
            }
        }
        rep->full_pages += n == 100;
    }
    rep->rest_requests = (int)lg->nrest;
    if (lg->nrest)
        snprintf(rep->first_after, sizeof rep->first_after, "%s", lg->rest[0].after);
    free(counted);
}

void faults_verify(faults *f, int r, fault_report *rep)
{
    faults_room *fr = &f->room[r];
    memset(rep, 0, sizeof *rep);
    room_log *logs = parse_log(f), *lg = &logs[r];
    long from = expected_from(fr, lg);
    if (from < 0)
        fail_room(f, r, lg, "the log has no stream request %d (or no checkpoint %s)", fr->first_ok,
                  fr->checkpoint);
    char *in_page = calloc(lg->nposted + 1, 1);
    ck_assert_ptr_nonnull(in_page);
    simulate_pages(f, r, lg, in_page, rep);
    rep->sent = f->caught_up_by_log ? fr->posted_seen : (int)(lg->nposted - (size_t)from);
    if (getenv("FAULTS_VERBOSE"))
        dump(f, r, lg);

    size_t i = f->from, n = 0;
    const char *prev = NULL;
    for (const fault_event *e; (e = faults_next(f, &i, r, 'M')); n++) {
        long at = find_posted(lg, e->id);
        if (prev && strcmp(prev, e->id) >= 0) {
            size_t j = f->from, k = 1;
            const fault_event *d;
            while ((d = faults_next(f, &j, r, 'M')) && strcmp(d->id, e->id) != 0)
                k++;
            if (d != e)
                fail_room(f, r, lg,
                          "delivery %zu (backfill %d): %s delivered twice, first as delivery %zu "
                          "(backfill %d); %llu duplicates dropped",
                          n + 1, e->backfill, e->id, k, d->backfill,
                          gitterstream_sub_stat(fr->sub, GITTERSTREAM_STAT_DUPLICATES));
            fail_room(f, r, lg, "delivery %zu: %s after %s: out of order", n + 1, e->id, prev);
        }
        if (at < 0 || at < from)
            fail_room(f, r, lg, "delivery %zu: %s was not posted while subscribed", n + 1, e->id);
        if ((size_t)at != (size_t)from + n)
            fail_room(f, r, lg, "delivery %zu: %s, but %s was posted before it and never delivered",
                      n + 1, e->id, lg->posted[from + (long)n]);
        if (e->backfill != in_page[at])
            fail_room(f, r, lg,
                      "delivery %zu: %s %s the backfill flag, but it %s in a gap-fill page", n + 1,
                      e->id, e->backfill ? "has" : "lacks", in_page[at] ? "was" : "was not");
        rep->backfilled += e->backfill;
        prev = e->id;
    }
    rep->delivered = (int)n;
    if (rep->delivered < fr->want)
        fail_room(f, r, lg, "%d delivered, wanted %d", rep->delivered, fr->want);
    for (size_t k = 0; k < lg->nrest; k++) {
        const char *after = lg->rest[k].after;
        int known = strcmp(after, fr->checkpoint) == 0;
        for (size_t j = f->from; j < f->nev && !known; j++)
            known = f->ev[j].room == r && f->ev[j].kind == 'M' && strcmp(f->ev[j].id, after) == 0;
        if (!known)
            fail_room(f, r, lg, "page %zu asked for afterId=%s, never delivered", k + 1, after);
    }

    gitterstream_sub *sub = fr->sub;
    unsigned long long stalls = 0;
    for (size_t j = f->from; j < f->nev; j++)
        stalls +=
            f->ev[j].room == r && f->ev[j].kind == 'E' && f->ev[j].code == GITTERSTREAM_E_STALL;
    unsigned long long got[] = {gitterstream_sub_stat(sub, GITTERSTREAM_STAT_BACKFILLED),
                                gitterstream_sub_stat(sub, GITTERSTREAM_STAT_CONNECTS),
                                gitterstream_sub_stat(sub, GITTERSTREAM_STAT_RECONNECTS),
                                gitterstream_sub_stat(sub, GITTERSTREAM_STAT_STALLS),
                                gitterstream_sub_stat(sub, GITTERSTREAM_STAT_MESSAGES)};
    unsigned long long want[] = {
        (unsigned long long)rep->backfilled, (unsigned long long)fr->connects,
        (unsigned long long)(fr->attempts - 1), stalls, (unsigned long long)rep->delivered};
    const char *names[] = {"BACKFILLED", "CONNECTS", "RECONNECTS", "STALLS", "MESSAGES"};
    for (int k = 0; k < 5; k++)
        if (got[k] != want[k])
            fail_room(f, r, lg, "STAT_%s is %llu, the callbacks say %llu", names[k], got[k],
                      want[k]);
    rep->duplicates = gitterstream_sub_stat(sub, GITTERSTREAM_STAT_DUPLICATES);
    if (rep->duplicates > (unsigned long long)rep->overlap) /* only those can come twice */
        fail_room(f, r, lg, "%llu duplicates dropped, but only %d ids came both ways",
                  rep->duplicates, rep->overlap);
    /* the next attempt came when the error said: not before, not much after */
    size_t k = f->from;
    for (const fault_event *e; (e = faults_next(f, &k, r, 'E'));) {
        size_t j = k;
        const fault_event *s = NULL;
        while ((s = faults_next(f, &j, r, 'S')) && s->state != GITTERSTREAM_CONNECTING)
            ;
        if (e->retry > 0 && s && (s->t - e->t < e->retry - 10 || s->t - e->t > e->retry + 1500))
            fail_room(f, r, lg,
                      "error at %lld ms said retry in %ld ms, the attempt came at %lld ms", e->t,
                      e->retry, s->t);
    }
    const char *last = gitterstream_sub_last_id(sub);
    if (n > 0 && (!last || strcmp(last, prev) != 0))
        fail_room(f, r, lg, "last id %s, last delivered %s", last ? last : "(null)", prev);
    if (getenv("FAULTS_VERBOSE")) /* to see what a passing case did */
        dump(f, r, lg);
    free(in_page);
    free_logs(logs, f->nrooms);
}

void faults_print(const char *name, const fault_report *rep, int n)
{
    long long sent = 0, delivered = 0, duplicates = 0;
    for (int i = 0; i < n; i++) {
        sent += rep[i].sent;
        delivered += rep[i].delivered;
        duplicates += (long long)rep[i].duplicates;
    }
    printf("faults: %s: sent %lld delivered %lld duplicates %lld\n", name, sent, delivered,
           duplicates);
    fflush(stdout);
}

int faults_main(const char *name, const TTest *const *tests, size_t n, int argc, char **argv)
{
    Suite *s = suite_create(name);
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 120);
    for (size_t i = 0; i < n; i++)
        if (argc < 2 || strstr(tests[i]->name, argv[1]))
            tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return check_run(s);
}
