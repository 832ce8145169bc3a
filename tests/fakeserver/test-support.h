/* Shared by the Check suites of gitterstream-fakeserver: the server binary's path, starting and
 * stopping servers (none outlives a failed test), raw sockets read until a condition or a
 * deadline, polling the request log, and a decoder of chunked bodies that keeps chunk sizes. */
#ifndef FAKESERVER_TEST_SUPPORT_H
#define FAKESERVER_TEST_SUPPORT_H

#include "buf.h"
#include "fakeserver-client.h"

#include <stddef.h>

#define ROOM        "0123456789abcdef01234567"
#define ROOM2       "89abcdef0123456789abcdef"
#define STREAM_PATH "/v1/rooms/" ROOM "/chatMessages"

/* How long a test waits for something that should come at once (generous: sanitizers, load). */
#define WAIT_MS 5000
/* How long a test watches for something that must not happen. */
#define QUIET_MS 200

/* The server binary given on the command line (argv[1]); the next arguments stay in argv. */
extern const char *ts_binary;

/* Reads argv[1] as the server binary, or exits 2 with a usage message naming extra_usage. */
void ts_init(int argc, char **argv, int min_args, const char *extra_usage);

long long ts_mono_ms(void);

/* Starts the server on this scenario (and extra arguments), asserting that it started. Without
 * fork (CK_FORK=no), a server left running by a failed test is stopped by the next start or at
 * exit; forked, Check kills it with the failed test's process group. */
fakeserver *ts_start(const char *scenario);
fakeserver *ts_start_args(const char *scenario, const char *const *extra_args);

/* Asserts that SIGTERM makes the server exit 0 (so no sanitizer report either), then frees it. */
void ts_stop(fakeserver *fs);

/* Forgets fs without stopping it: for a test that stops it itself. */
void ts_forget(fakeserver *fs);

/* A socket connected to 127.0.0.1:port, with TCP_NODELAY (each send goes out at once); -1 if
 * the connection failed. ts_connect asserts that it worked. */
int ts_try_connect(int port);
int ts_connect(int port);

void ts_send(int fd, const char *s);

/* Connects and sends one request with "Connection: close" (extra: more header lines, each ending
 * in \r\n, or NULL). Returns the socket. */
int ts_open(int port, const char *method, const char *target, const char *extra);

/* Reads until the peer closes (returns 1) or timeout_ms pass (returns 0). */
int ts_read_for(int fd, struct buf *b, int timeout_ms);

/* Reads until b holds needle at least n times (returns 1), or the peer closes or timeout_ms pass
 * (returns 0). */
int ts_read_until(int fd, struct buf *b, const char *needle, size_t n, int timeout_ms);

/* One request on a fresh connection (see ts_open), read until the server closes it; asserts that
 * it closed within WAIT_MS. The caller frees out. */
void ts_request(int port, const char *method, const char *target, const char *extra,
                struct buf *out);

/* The status code of a response, or -1. */
int ts_status(const struct buf *raw);

/* Waits until at least n lines of the log contain needle; returns how many do (maybe fewer, at
 * the deadline). */
size_t ts_wait_log(const fakeserver *fs, const char *needle, size_t n, int timeout_ms);

/* How often needle occurs in hay (NULL: 0). */
size_t ts_count(const char *hay, const char *needle);

/* The message ids found in a JSON text, in order, skipping the author's id. */
size_t ts_ids_in(const char *json, char ids[][25], size_t max);

struct chunked {
    int status;
    struct buf head, payload;
    size_t sizes[20000];
    size_t n;
    int complete;  /* the 0-size chunk came */
    int truncated; /* the last chunk came short */
};

/* Splits a raw response into head, chunk sizes and payload; status 0 if there is no head. */
void ts_dechunk(const struct buf *raw, struct chunked *c);
void ts_chunked_free(struct chunked *c);

#endif
