/* Helpers shared by the fakeserver Check suites: see test-support.h. */
#include "test-support.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
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

const char *ts_binary;

/* The server started and not yet stopped: a failed assertion leaves a test before its ts_stop. */
static fakeserver *live;

static void stop_live(void)
{
    fakeserver_stop(live);
    live = NULL;
}

void ts_init(int argc, char **argv, int min_args, const char *extra_usage)
{
    if (argc < min_args) {
        fprintf(stderr, "usage: %s SERVER_BINARY%s\n", argv[0], extra_usage);
        exit(2);
    }
    ts_binary = argv[1];
    signal(SIGPIPE, SIG_IGN);
    /* A failed assertion leaves the test at once. Forked (the default), Check then kills the
     * test's process group, its server too; with CK_FORK=no the server is stopped by the next
     * ts_start or here at exit. */
    atexit(stop_live);
}

long long ts_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

fakeserver *ts_start_args(const char *scenario, const char *const *extra_args)
{
    stop_live();
    fakeserver *fs = fakeserver_start(ts_binary, scenario, extra_args);
    ck_assert_msg(fs != NULL, "the server did not start (its message is on stderr)");
    live = fs;
    return fs;
}

fakeserver *ts_start(const char *scenario)
{
    return ts_start_args(scenario, NULL);
}

void ts_forget(fakeserver *fs)
{
    if (live == fs)
        live = NULL;
}

void ts_stop(fakeserver *fs)
{
    int rc = fakeserver_halt(fs);
    ts_forget(fs);
    fakeserver_stop(fs);
    ck_assert_int_eq(rc, 0);
}

int ts_try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int ts_connect(int port)
{
    int fd = ts_try_connect(port);
    ck_assert_msg(fd >= 0, "connect to 127.0.0.1:%d: %s", port, strerror(errno));
    return fd;
}

void ts_send(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_msg(n > 0, "send: %s", strerror(errno));
        s += n;
        len -= (size_t)n;
    }
}

int ts_open(int port, const char *method, const char *target, const char *extra)
{
    int fd = ts_connect(port);
    struct buf req = {0};
    buf_addf(&req,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n%sConnection: "
             "close\r\n\r\n",
             method, target, extra ? extra : "");
    ts_send(fd, req.data);
    buf_free(&req);
    return fd;
}

/* Waits up to the deadline for bytes: 1 read some, 0 deadline, -1 closed or failed. */
static int read_some(int fd, struct buf *b, long long deadline)
{
    for (;;) {
        long long left = deadline - ts_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return -1;
        if (rc == 0)
            return 0;
        char tmp[65536];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf_add(b, tmp, (size_t)n); /* NUL-terminated: searched as a string */
        return 1;
    }
}

int ts_read_for(int fd, struct buf *b, int timeout_ms)
{
    long long deadline = ts_mono_ms() + timeout_ms;
    int rc;
    while ((rc = read_some(fd, b, deadline)) > 0)
        ;
    return rc < 0;
}

int ts_read_until(int fd, struct buf *b, const char *needle, size_t n, int timeout_ms)
{
    long long deadline = ts_mono_ms() + timeout_ms;
    while (ts_count(b->data, needle) < n)
        if (read_some(fd, b, deadline) <= 0)
            return 0;
    return 1;
}

void ts_request(int port, const char *method, const char *target, const char *extra,
                struct buf *out)
{
    int fd = ts_open(port, method, target, extra);
    int closed = ts_read_for(fd, out, WAIT_MS);
    close(fd);
    ck_assert_msg(closed, "%s %s: the server did not close within %d ms", method, target, WAIT_MS);
}

int ts_status(const struct buf *raw)
{
    if (!raw->data || raw->len < 12 || strncmp(raw->data, "HTTP/1.1 ", 9) != 0)
        return -1;
    return atoi(raw->data + 9);
}

size_t ts_wait_log(const fakeserver *fs, const char *needle, size_t n, int timeout_ms)
{
    long long deadline = ts_mono_ms() + timeout_ms;
    for (;;) {
        size_t have = fakeserver_log_count(fs, needle);
        if (have >= n || ts_mono_ms() >= deadline)
            return have;
        /* the log is a file: nothing to poll on, look again soon */
        struct timespec ts = {0, 2 * 1000000};
        nanosleep(&ts, NULL);
    }
}

size_t ts_count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

size_t ts_ids_in(const char *json, char ids[][25], size_t max)
{
    size_t n = 0;
    for (const char *p = json; p && n < max && (p = strstr(p, "{\"id\":\"")); p += 7) {
        if (strncmp(p + 7, "5f0c1a2b", 8) == 0)
            continue; /* the author's id */
        memcpy(ids[n], p + 7, 24);
        ids[n++][24] = '\0';
    }
    return n;
}

void ts_dechunk(const struct buf *raw, struct chunked *c)
{
    memset(c, 0, sizeof *c);
    buf_add(&c->head, "", 0); /* never NULL: searched as strings */
    buf_add(&c->payload, "", 0);
    const char *d = raw->data;
    const char *end = d + raw->len;
    const char *hend = d ? strstr(d, "\r\n\r\n") : NULL;
    if (raw->len < 12 || !hend)
        return;
    c->status = atoi(d + 9);
    buf_add(&c->head, d, (size_t)(hend - d) + 4);
    const char *p = hend + 4;
    while (p < end) {
        char *e;
        size_t size = strtoul(p, &e, 16);
        if (e + 2 > end || e[0] != '\r' || e[1] != '\n')
            break;
        p = e + 2;
        if (size == 0) {
            c->complete = 1;
            break;
        }
        size_t have = (size_t)(end - p) < size ? (size_t)(end - p) : size;
        buf_add(&c->payload, p, have);
        if (c->n < sizeof c->sizes / sizeof c->sizes[0])
            c->sizes[c->n++] = size;
        if (have < size) {
            c->truncated = 1;
            break;
        }
        p += size + 2;
    }
}

void ts_chunked_free(struct chunked *c)
{
    buf_free(&c->head);
    buf_free(&c->payload);
}
