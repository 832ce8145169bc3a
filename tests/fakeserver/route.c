/* Request routing for the fake server: which scenario rule answers a request (stream, REST,
 * room lookup, status reply), the token check, and the request log. */
#include "conn.h"
#include "jsonstr.h"
#include "room.h"

#include <string.h>

static void log_span(FILE *f, const char *p, size_t n, int lower)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            c = ' '; /* keep one request on one tab-separated line */
        else if (lower && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        fputc(c, f);
    }
}

static void log_request(struct server *srv, const struct conn *c, const struct request *req)
{
    if (!srv->log)
        return;
    fprintf(srv->log, "%lu\t", c->no);
    log_span(srv->log, req->method.p, req->method.n, 0);
    fputc('\t', srv->log);
    log_span(srv->log, req->target.p, req->target.n, 0);
    for (size_t i = 0; i < req->n_headers; i++) {
        fputc('\t', srv->log);
        log_span(srv->log, req->headers[i].name.p, req->headers[i].name.n, 1);
        fputs(": ", srv->log);
        log_span(srv->log, req->headers[i].value.p, req->headers[i].value.n, 0);
    }
    fputc('\n', srv->log);
    fflush(srv->log);
}

static int query_has_key(struct span q, const char *key)
{
    size_t klen = strlen(key);
    const char *p = q.p, *end = q.p + q.n;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) >= klen && memcmp(p, key, klen) == 0 &&
            ((size_t)(e - p) == klen || p[klen] == '='))
            return 1;
        p = amp ? amp + 1 : end;
    }
    return 0;
}

static int authorized(const struct server *srv, const struct request *req)
{
    if (!srv->sc->token)
        return 1;
    const struct span *auth = http_header(req, "authorization");
    size_t tl = strlen(srv->sc->token);
    return auth && auth->n == 7 + tl && memcmp(auth->p, "Bearer ", 7) == 0 &&
           memcmp(auth->p + 7, srv->sc->token, tl) == 0;
}

static void reply_error(struct conn *c, int code)
{
    http_error_reply(&c->out, code, c->keep_alive);
    c->state = C_REPLY;
}

/* The rule's reply when it is not the normal answer (a stream, or REST data). */
static void apply_action(struct conn *c, const struct rule *rule)
{
    switch (rule->action) {
    case ACTION_STATUS:
        http_status_reply(&c->out, &rule->status, wall_ms(), c->keep_alive);
        c->state = C_REPLY;
        break;
    case ACTION_CLOSE:
        c->dead = 1;
        break;
    case ACTION_HANG:
        c->state = C_HANG;
        break;
    case ACTION_OK:
    case ACTION_STREAM:
        break;
    }
}

static void route_rest(struct server *srv, struct conn *c, struct room *room, struct span query)
{
    unsigned long n = ++room->rest_requests;
    const struct rule *rule = rule_for(room->rest_rules, room->n_rest_rules, n);
    if (rule && rule->action != ACTION_OK) {
        apply_action(c, rule);
        return;
    }
    struct buf body = {0};
    int code = room_rest_messages(room, query.p, query.n, srv->wall0, &body);
    http_reply(&c->out, code, "application/json; charset=utf-8", body.data, body.len,
               c->keep_alive);
    buf_free(&body);
    c->state = C_REPLY;
}

static void route_stream(struct server *srv, struct conn *c, struct room *room,
                         enum resource_kind kind)
{
    struct resource *res = &room->res[kind];
    unsigned long n = ++res->requests;
    const struct rule *rule = rule_for(res->rules, res->n_rules, n);
    if (!rule)
        rule = &srv->default_rule;
    if (rule->action != ACTION_STREAM) {
        apply_action(c, rule);
        return;
    }
    c->state = C_STREAM;
    c->res = res;
    c->streaming = 1;
    stream_start(&c->stream, &rule->stream, room, kind, &c->out, mono_ms(), srv->wall0);
}

static void route_post_rooms(struct server *srv, struct conn *c, const struct request *req)
{
    struct buf uri = {0};
    if (json_get_string(req->body.p, req->body.n, "uri", &uri) != 0) {
        buf_free(&uri);
        reply_error(c, 400);
        return;
    }
    struct room *room = scenario_room_by_uri(srv->sc, uri.data ? uri.data : "", uri.len);
    buf_free(&uri);
    if (!room) {
        reply_error(c, 404);
        return;
    }
    struct buf body = {0};
    room_json(&body, room);
    http_reply(&c->out, 200, "application/json; charset=utf-8", body.data, body.len, c->keep_alive);
    buf_free(&body);
    c->state = C_REPLY;
}

static void route(struct server *srv, struct conn *c, const struct request *req)
{
    struct span path = req->path;
    int rest = 0;
    if (path.n >= 4 && memcmp(path.p, "/api", 4) == 0 && (path.n == 4 || path.p[4] == '/')) {
        rest = 1; /* the REST API's base URL may be this server plus /api */
        path.p += 4;
        path.n -= 4;
    }
    const char prefix[] = "/v1/rooms";
    size_t pl = sizeof prefix - 1;
    if (path.n < pl || memcmp(path.p, prefix, pl) != 0 || (path.n > pl && path.p[pl] != '/')) {
        reply_error(c, 404);
        return;
    }
    if (!authorized(srv, req)) {
        reply_error(c, 401);
        return;
    }
    if (path.n <= pl + 1) {
        if (span_is(req->method, "POST"))
            route_post_rooms(srv, c, req);
        else
            reply_error(c, 405);
        return;
    }
    const char *id = path.p + pl + 1, *end = path.p + path.n;
    const char *slash = memchr(id, '/', (size_t)(end - id));
    size_t id_len = slash ? (size_t)(slash - id) : (size_t)(end - id);
    if (!is_room_id(id, id_len)) {
        reply_error(c, 400);
        return;
    }
    struct room *room = scenario_room(srv->sc, id, id_len);
    struct span resource =
        slash ? (struct span){slash + 1, (size_t)(end - slash - 1)} : (struct span){"", 0};
    int chat = resource.n == 12 && memcmp(resource.p, "chatMessages", 12) == 0;
    int events = resource.n == 6 && memcmp(resource.p, "events", 6) == 0;
    if (!room || !(chat || events)) {
        reply_error(c, 404);
        return;
    }
    if (!span_is(req->method, "GET")) {
        reply_error(c, 405);
        return;
    }
    /* the stream takes no query, so one on chatMessages marks a REST call on the same URL */
    if (chat && !rest &&
        (query_has_key(req->query, "afterId") || query_has_key(req->query, "beforeId") ||
         query_has_key(req->query, "limit") || query_has_key(req->query, "skip")))
        rest = 1;
    if (rest && events) {
        reply_error(c, 404);
        return;
    }
    if (rest)
        route_rest(srv, c, room, req->query);
    else
        route_stream(srv, c, room, chat ? RES_CHAT : RES_EVENTS);
}

void process_input(struct server *srv, struct conn *c)
{
    if (c->state != C_READ || c->dead || c->in.len == 0)
        return;
    struct request req;
    int status;
    int rc = http_parse(c->in.data, c->in.len, &req, &status);
    if (rc == 0)
        return;
    if (rc < 0) {
        c->keep_alive = 0;
        reply_error(c, status);
        c->in.len = 0;
        return;
    }
    log_request(srv, c, &req);
    c->keep_alive = req.keep_alive;
    route(srv, c, &req);
    buf_consume(&c->in, req.total);
}
