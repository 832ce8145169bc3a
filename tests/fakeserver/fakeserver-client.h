/* A helper for tests that drive gitterstream-fakeserver: start it on a scenario given as a
 * string, learn its port, read its request log, restart it on the same port, stop it. */
#ifndef FAKESERVER_CLIENT_H
#define FAKESERVER_CLIENT_H

#include <stddef.h>

typedef struct fakeserver fakeserver;

/* Writes the scenario to a temporary file, starts the server binary with --port 0, --log and
 * extra_args (a NULL-terminated list, e.g. the TLS options; NULL for none) and waits for its
 * PORT line. Returns NULL if it could not start (the server's own message is on stderr). The
 * caller owns the result and releases it with fakeserver_stop. */
fakeserver *fakeserver_start(const char *binary, const char *scenario,
                             const char *const *extra_args);

int fakeserver_port(const fakeserver *fs);

/* "http://127.0.0.1:<port>", or https when extra_args had --tls-cert. Owned by fs. */
const char *fakeserver_url(const fakeserver *fs);

/* The request log file; it outlives restarts. Owned by fs. */
const char *fakeserver_log_path(const fakeserver *fs);

/* The whole log as it is now, NUL-terminated; the caller frees it. NULL on error. */
char *fakeserver_read_log(const fakeserver *fs);

/* How many log lines contain needle. */
size_t fakeserver_log_count(const fakeserver *fs, const char *needle);

/* The ids of room_id's messages posted so far (either resource), in posting order, each
 * followed by '\n'; "" when none. The caller frees it. NULL on error. */
char *fakeserver_posted_ids(const fakeserver *fs, const char *room_id);

/* Waits up to timeout_ms for the server to exit on its own (e.g. at its --time-limit). 0 if it
 * exited with status 0; -1 if it failed, was not running, or still runs at the deadline. */
int fakeserver_wait_exit(fakeserver *fs, int timeout_ms);

/* Stops the server (SIGTERM) but keeps its port, files and clock, to simulate an outage. */
int fakeserver_halt(fakeserver *fs);

/* Starts the server again on the same port, its scenario clock carrying on from where the
 * last run stopped (stopping it first if it runs). 0 on success, -1 on failure. */
int fakeserver_restart(fakeserver *fs);

/* SIGTERM, wait for the exit, remove the temporary files, free fs. NULL is fine. */
void fakeserver_stop(fakeserver *fs);

#endif
