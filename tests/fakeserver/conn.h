/* What the event loop (server.c) and request routing (route.c) share: a connection, the
 * server state, and the clocks. */
#ifndef FAKESERVER_CONN_H
#define FAKESERVER_CONN_H

#include "buf.h"
#include "http.h"
#include "scenario.h"
#include "server.h"
#include "stream.h"

#include <stdio.h>

/* C_DRAIN: the reply is out and our side shut; the request's unread tail is read and dropped
 * so that closing does not reset the connection before the client has read the reply. */
enum conn_state { C_HANDSHAKE, C_READ, C_REPLY, C_STREAM, C_HANG, C_DRAIN };

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
    int graceful; /* close with TLS close_notify; faults close abruptly */
    long long drain_until;
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

long long mono_ms(void);
long long wall_ms(void);

/* Parses and answers the request at the start of c->in, if it is all there. */
void process_input(struct server *srv, struct conn *c);

#endif
