/* The fake server's event loop: one poll(2) loop over the listener and every connection, their
 * reads and buffered writes, and the scenario clock that posts each room's timeline. */
#include "server.h"

#include "buf.h"
#include "conn.h"
#include "http.h"
#include "stream.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
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
#define OUT_LIMIT  (256u * 1024 * 1024) /* a client that reads nothing is dropped past this */
#define DRAIN_MS   2000

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    ssize_t rc = write(signal_pipe[1], "x", 1);
    (void)rc;
    errno = saved;
}

long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long wall_ms(void)
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
    return c->state == C_READ || c->state == C_STREAM || c->state == C_HANG || c->state == C_DRAIN;
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
        if (c->ssl)
            SSL_shutdown(c->ssl);
        else
            shutdown(c->fd, SHUT_WR);
        c->graceful = 0; /* close_notify, if any, is already sent */
        c->state = C_DRAIN;
        c->drain_until = mono_ms() + DRAIN_MS;
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
        if (c->state == C_DRAIN && mono_ms() >= c->drain_until)
            c->dead = 1;
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
            if (c->state == C_DRAIN && c->drain_until < wake)
                wake = c->drain_until;
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
        fprintf(stderr, "gitterstream-fakeserver: cannot listen on 127.0.0.1:%d: %s\n", cfg->port,
                strerror(errno));
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
