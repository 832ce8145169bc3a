/* Running the fake server: its configuration and the call that serves a parsed scenario until
 * the time limit or a signal. */
#ifndef FAKESERVER_SERVER_H
#define FAKESERVER_SERVER_H

#include "scenario.h"
#include "tls.h"

struct server_config {
    int port; /* 0: ephemeral */
    long long time_limit_ms;
    const char *log_path;     /* NULL: no log */
    SSL_CTX *tls;             /* NULL: plain HTTP */
    long long clock_start_ms; /* scenario time at which this run starts */
};

/* Listens, prints "PORT <n>", serves until the time limit or SIGTERM/SIGINT, prints
 * "STOP <scenario-ms>". Returns the process exit status. */
int server_run(struct scenario *sc, const struct server_config *cfg);

#endif
