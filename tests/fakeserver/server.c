/* The fake server's event loop: one poll(2) loop over the listener and every connection, the
 * scenario clock that posts each room's timeline, request routing, and the request log. */
#include "server.h"

#include "buf.h"
#include "http.h"
#include "room.h"
#include "stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_LIMIT (HTTP_MAX_HEAD + HTTP_MAX_BODY + 4096)
#define OUT_LIMIT (256u * 1024 * 1024) /* a client that reads nothing is dropped past this */

enum conn_state { C_HANDSHAKE, C_READ, C_REPLY, C_STREAM, C_HANG };

struct conn {
    int fd;
    unsigned long no;
    SSL *ssl;
    enum conn_state state;
    struct buf in, out;
    size_t out_off;
    short rwant, wwant; /* TLS may need the other direction to make progress */
    int keep_alive;
    int dead;
    int graceful;       /* close with TLS close_notify; faults close abruptly */
    int streaming;
    struct stream stream;
    const struct resource *res;
};

struct server {
    struct scenario *sc;
    const struct server_config *cfg;
    int listen_fd;
    struct conn **conns;
    size_t n_conns, cap_conns;
    FILE *log;
    long long mono0, wall0, clock; /* clock: the scenario time last posted up to */
    unsigned long accepted;
    long long accept_paused_until;
    struct rule default_rule;
};

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t rc = write(signal_pipe[1], "x", 1);
    (void)rc;
    errno = saved;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static long long scenario_clock(const struct server *srv)
{
    return srv->cfg->clock_start_ms + (mono_ms() - srv->mono0);
}

/* ---- the log ---- */

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

/* ---- the timeline ---- */

static void post_due(struct server *srv, long long clock, int quiet)
{
    for (size_t r = 0; r < srv->sc->n_rooms; r++) {
        struct room *room = &srv->sc->rooms[r];
        for (int k = 0; k < 2; k++) {
            struct resource *res = &room->res[k];
            while (res->n_posted < res->n_msgs && res->msgs[res->n_posted].time_ms <= clock) {
                const struct message *m = &res->msgs[res->n_posted++];
                if (srv->log && !quiet) {
                    fprintf(srv->log, "POSTED\t%s\t%s\n", room->id, m->id);
                    fflush(srv->log);
                }
                int last = res->n_posted == res->n_msgs;
                for (size_t i = 0; i < srv->n_conns; i++) {
                    struct conn *c = srv->conns[i];
                    if (c->state == C_STREAM && c->res == res && !c->dead)
                        stream_message(&c->stream, m, last);
                }
            }
        }
    }
    srv->clock = clock;
}

static long long next_post_time(const struct server *srv)
{
    long long t = LLONG_MAX;
    for (size_t r = 0; r < srv->sc->n_rooms; r++) {
        for (int k = 0; k < 2; k++) {
            const struct resource *res = &srv->sc->rooms[r].res[k];
            if (res->n_posted < res->n_msgs && res->msgs[res->n_posted].time_ms < t)
                t = res->msgs[res->n_posted].time_ms;
        }
    }
    return t;
}

/* ---- routing ---- */

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

static void apply_action(struct server *srv, struct conn *c, const struct rule *rule)
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
        (void)srv;
        break;
    }
}

static void route_rest(struct server *srv, struct conn *c, struct room *room, struct span query)
{
    unsigned long n = ++room->rest_requests;
    const struct rule *rule = rule_for(room->rest_rules, room->n_rest_rules, n);
    if (rule && rule->action != ACTION_OK) {
        apply_action(srv, c, rule);
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
        apply_action(srv, c, rule);
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
    http_reply(&c->out, 200, "application/json; charset=utf-8", body.data, body.len,
               c->keep_alive);
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
    struct span resource = slash ? (struct span){slash + 1, (size_t)(end - slash - 1)}
                                 : (struct span){"", 0};
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

/* Parses and answers the request at the start of c->in, if it is all there. */
static void process_input(struct server *srv, struct conn *c)
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

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
    if (c->ssl)
        tls_close(c->ssl, c->graceful);
    if (c->fd >= 0)
        close(c->fd);
    if (c->streaming)
        stream_free(&c->stream);
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

static void accept_all(struct server *srv, long long now)
{
    for (;;) {
        int fd = accept(srv->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                fprintf(stderr, "gitterstream-fakeserver: accept: %s\n", strerror(errno));
                srv->accept_paused_until = now + 100; /* the listener stays readable: back off */
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (set_nonblocking(fd) != 0) {
            close(fd);
            continue;
        }
        struct conn *c = xcalloc(1, sizeof *c);
        c->fd = fd;
        c->no = ++srv->accepted;
        c->state = C_READ;
        c->rwant = POLLIN;
        c->wwant = POLLOUT;
        c->graceful = 1;
        if (srv->cfg->tls) {
            c->ssl = tls_new(srv->cfg->tls, fd);
            if (!c->ssl) {
                conn_free(c);
                continue;
            }
            c->state = C_HANDSHAKE;
        }
        if (srv->n_conns == srv->cap_conns) {
            srv->cap_conns = srv->cap_conns ? 2 * srv->cap_conns : 64;
            srv->conns = xrealloc(srv->conns, srv->cap_conns * sizeof *srv->conns);
        }
        srv->conns[srv->n_conns++] = c;
    }
}

static int wants_read(const struct conn *c)
{
    return c->state == C_READ || c->state == C_STREAM || c->state == C_HANG;
}

static void conn_read(struct server *srv, struct conn *c)
{
    char tmp[16384];
    for (;;) {
        ssize_t n;
        if (c->ssl) {
            n = tls_read(c->ssl, tmp, sizeof tmp, &c->rwant);
        } else {
            n = read(c->fd, tmp, sizeof tmp);
            if (n < 0)
                n = (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? IO_AGAIN
                                                                                 : IO_ERROR;
        }
        if (n == IO_AGAIN)
            break;
        if (n <= 0) {
            c->dead = 1; /* the client went away; nothing more to send it */
            return;
        }
        c->rwant = POLLIN;
        if (c->state != C_READ)
            continue; /* a streaming client has nothing to say; read only to see it leave */
        buf_add(&c->in, tmp, (size_t)n);
        if (c->in.len > READ_LIMIT)
            break;
    }
    process_input(srv, c);
}

static void conn_write(struct conn *c)
{
    while (c->out_off < c->out.len && !c->dead) {
        size_t len = c->out.len - c->out_off;
        ssize_t n;
        if (c->ssl) {
            n = tls_write(c->ssl, c->out.data + c->out_off, len, &c->wwant);
        } else {
            n = send(c->fd, c->out.data + c->out_off, len, MSG_NOSIGNAL);
            if (n < 0)
                n = (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? IO_AGAIN
                                                                                 : IO_ERROR;
        }
        if (n == IO_AGAIN)
            return;
        if (n <= 0) {
            c->dead = 1;
            c->graceful = 0;
            return;
        }
        c->wwant = POLLOUT;
        c->out_off += (size_t)n;
    }
    c->out.len = c->out_off = 0;
}

/* Moves a connection on once its output is written: next request, close, or nothing. */
static void conn_settle(struct server *srv, struct conn *c)
{
    if (c->dead || c->out_off < c->out.len)
        return;
    int next = 0;
    if (c->state == C_REPLY) {
        next = 1;
    } else if (c->state == C_STREAM && stream_flushed(&c->stream)) {
        if (c->stream.state == STREAM_CUT) {
            c->dead = 1;
            c->graceful = 0;
        } else if (c->stream.state == STREAM_ENDED) {
            next = 1;
        }
    }
    if (!next)
        return;
    if (c->streaming) {
        stream_free(&c->stream);
        c->streaming = 0;
        c->res = NULL;
    }
    if (!c->keep_alive) {
        c->dead = 1;
        return;
    }
    c->state = C_READ;
    process_input(srv, c);
}

static void conn_service(struct server *srv, struct conn *c, short revents)
{
    if (c->state == C_HANDSHAKE) {
        int rc = tls_handshake(c->ssl, &c->rwant);
        if (rc == IO_ERROR) {
            c->dead = 1;
            c->graceful = 0;
        } else if (rc == 1) {
            c->state = C_READ;
            c->rwant = POLLIN;
        } else {
            return;
        }
    }
    if (c->dead)
        return;
    if (wants_read(c) && (revents & (POLLIN | POLLHUP | POLLERR | POLLOUT)))
        conn_read(srv, c);
    if (!c->dead && c->out_off < c->out.len)
        conn_write(c);
    if (revents & POLLNVAL)
        c->dead = 1;
}

static void reap(struct server *srv)
{
    size_t j = 0;
    for (size_t i = 0; i < srv->n_conns; i++) {
        struct conn *c = srv->conns[i];
        if (!c->dead && c->out.len - c->out_off > OUT_LIMIT) {
            fprintf(stderr, "gitterstream-fakeserver: connection %lu reads nothing; dropped\n",
                    c->no);
            c->dead = 1;
            c->graceful = 0;
        }
        if (c->dead)
            conn_free(c);
        else
            srv->conns[j++] = c;
    }
    srv->n_conns = j;
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* a restart on the same port may race the old process's exit: retry for a while */
    for (int tries = 0;; tries++) {
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            break;
        if (errno != EADDRINUSE || port == 0 || tries >= 100) {
            close(fd);
            return -1;
        }
        struct timespec ts = {0, 30 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (listen(fd, 4096) != 0 || set_nonblocking(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

static void serve(struct server *srv, long long deadline)
{
    struct pollfd *pfds = NULL;
    size_t cap = 0;
    for (;;) {
        long long now = mono_ms();
        if (now >= deadline)
            break;
        post_due(srv, scenario_clock(srv), 0);
        long long wake = deadline;
        long long post = next_post_time(srv);
        if (post != LLONG_MAX) {
            long long at = srv->mono0 + (post - srv->cfg->clock_start_ms);
            wake = at < wake ? at : wake;
        }
        for (size_t i = 0; i < srv->n_conns; i++) {
            struct conn *c = srv->conns[i];
            if (c->state == C_STREAM) {
                stream_tick(&c->stream, now);
                long long t = stream_next_wakeup(&c->stream);
                wake = t < wake ? t : wake;
            }
            conn_write(c);
            conn_settle(srv, c);
        }
        reap(srv);

        if (cap < srv->n_conns + 2) {
            cap = 2 * (srv->n_conns + 2);
            pfds = xrealloc(pfds, cap * sizeof *pfds);
        }
        int listening = now >= srv->accept_paused_until;
        if (!listening && srv->accept_paused_until < wake)
            wake = srv->accept_paused_until;
        pfds[0] = (struct pollfd){.fd = signal_pipe[0], .events = POLLIN};
        pfds[1] = (struct pollfd){.fd = listening ? srv->listen_fd : -1, .events = POLLIN};
        for (size_t i = 0; i < srv->n_conns; i++) {
            struct conn *c = srv->conns[i];
            short ev = 0;
            if (c->state == C_HANDSHAKE || wants_read(c))
                ev |= c->rwant;
            if (c->out_off < c->out.len)
                ev |= c->wwant;
            pfds[i + 2] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        long long wait = wake - mono_ms();
        int timeout = wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait;
        size_t n_polled = srv->n_conns;
        int rc = poll(pfds, n_polled + 2, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        if (pfds[0].revents)
            break;
        for (size_t i = 0; i < n_polled; i++)
            if (pfds[i + 2].revents)
                conn_service(srv, srv->conns[i], pfds[i + 2].revents);
        if (pfds[1].revents)
            accept_all(srv, mono_ms());
    }
    free(pfds);
}

int server_run(struct scenario *sc, const struct server_config *cfg)
{
    struct server srv = {.sc = sc, .cfg = cfg, .listen_fd = -1};
    rule_defaults(&srv.default_rule);
    srv.default_rule.action = ACTION_STREAM;
    if (pipe(signal_pipe) != 0) {
        perror("gitterstream-fakeserver: pipe");
        return 1;
    }
    fcntl(signal_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    install_signals();
    if (cfg->log_path && !(srv.log = fopen(cfg->log_path, "a"))) {
        fprintf(stderr, "gitterstream-fakeserver: cannot open %s: %s\n", cfg->log_path,
                strerror(errno));
        return 1;
    }
    srv.listen_fd = listen_on(cfg->port);
    if (srv.listen_fd < 0) {
        fprintf(stderr, "gitterstream-fakeserver: cannot listen on 127.0.0.1:%d: %s\n",
                cfg->port, strerror(errno));
        if (srv.log)
            fclose(srv.log);
        return 1;
    }
    struct sockaddr_in sa;
    socklen_t salen = sizeof sa;
    getsockname(srv.listen_fd, (struct sockaddr *)&sa, &salen);

    srv.mono0 = mono_ms();
    srv.wall0 = wall_ms() - cfg->clock_start_ms;
    /* what an earlier run already posted is history now, and was logged by that run */
    post_due(&srv, cfg->clock_start_ms, cfg->clock_start_ms > 0);
    printf("PORT %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    serve(&srv, srv.mono0 + cfg->time_limit_ms);

    printf("STOP %lld\n", srv.clock);
    fflush(stdout);
    for (size_t i = 0; i < srv.n_conns; i++) {
        srv.conns[i]->graceful = 0;
        conn_free(srv.conns[i]);
    }
    free(srv.conns);
    close(srv.listen_fd);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    if (srv.log)
        fclose(srv.log);
    return 0;
}
