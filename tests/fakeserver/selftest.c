/* Self-test of gitterstream-fakeserver over plain sockets, so that each byte it sends is checked
 * without any HTTP client in the way. Usage: fakeserver-selftest SERVER_BINARY README.md */
#include "buf.h"
#include "fakeserver-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROOM        "0123456789abcdef01234567"
#define ROOM2       "89abcdef0123456789abcdef"
#define STREAM_PATH "/v1/rooms/" ROOM "/chatMessages"

static const char *binary;
static const char *readme_path;
static int passed, failed;
static const char *current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s: %s:%d: %s\n", current, __FILE__, __LINE__, #cond);           \
            ok = 0;                                                                                \
        }                                                                                          \
    } while (0)

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/* Reads until the peer closes (returns 1) or timeout_ms pass (returns 0). */
static int read_for(int fd, struct buf *b, int timeout_ms)
{
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char tmp[65536];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            return 1;
        buf_add(b, tmp, (size_t)n);
    }
}

/* One request on a fresh connection with Connection: close, read to the end or the timeout. */
static int request(int port, const char *method, const char *target, const char *extra,
                   struct buf *out, int timeout_ms)
{
    int fd = connect_port(port);
    if (fd < 0)
        return -1;
    struct buf req = {0};
    buf_addf(&req,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n%sConnection: "
             "close\r\n\r\n",
             method, target, extra ? extra : "");
    send_str(fd, req.data);
    buf_free(&req);
    int closed = read_for(fd, out, timeout_ms);
    close(fd);
    return closed;
}

struct chunked {
    int status;
    struct buf head, payload;
    size_t sizes[20000];
    size_t n;
    int complete;  /* the 0-size chunk came */
    int truncated; /* the last chunk came short */
};

static void dechunk(const char *d, size_t len, struct chunked *c)
{
    memset(c, 0, sizeof *c);
    const char *end = d + len;
    const char *hend = strstr(d, "\r\n\r\n");
    if (len < 12 || !hend)
        return;
    c->status = atoi(d + 9);
    buf_add(&c->head, d, (size_t)(hend - d) + 4);
    const char *p = hend + 4;
    while (p < end) {
        char *e;
        size_t size = strtoul(p, &e, 16);
        if (e + 2 > end || e[0] != '\r' || e[1] != '\n')
            return;
        p = e + 2;
        if (size == 0) {
            c->complete = 1;
            return;
        }
        size_t have = (size_t)(end - p) < size ? (size_t)(end - p) : size;
        buf_add(&c->payload, p, have);
        if (c->n < sizeof c->sizes / sizeof c->sizes[0])
            c->sizes[c->n++] = size;
        if (have < size) {
            c->truncated = 1;
            return;
        }
        p += size + 2;
    }
}

static void chunked_free(struct chunked *c)
{
    buf_free(&c->head);
    buf_free(&c->payload);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void report(int ok)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", current);
    fflush(stdout);
    if (ok)
        passed++;
    else
        failed++;
}

static fakeserver *start(const char *scenario)
{
    fakeserver *fs = fakeserver_start(binary, scenario, NULL);
    if (!fs)
        fprintf(stderr, "FAIL %s: the server did not start\n", current);
    return fs;
}

#define TEST(name) static void name(void)
#define BEGIN(fs, scenario)                                                                        \
    current = __func__;                                                                            \
    int ok = 1;                                                                                    \
    fakeserver *fs = start(scenario);                                                              \
    if (!fs) {                                                                                     \
        report(0);                                                                                 \
        return;                                                                                    \
    }

TEST(test_help_matches_readme)
{
    current = __func__;
    int ok = 1;
    FILE *f = fopen(readme_path, "rb");
    struct buf readme = {0}, help = {0};
    char tmp[4096];
    size_t n;
    while (f && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&readme, tmp, n);
    if (f)
        fclose(f);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' --help", binary);
    FILE *p = popen(cmd, "r");
    while (p && (n = fread(tmp, 1, sizeof tmp, p)) > 0)
        buf_add(&help, tmp, n);
    CHECK(p && pclose(p) == 0);
    const char *start_mark = readme.data ? strstr(readme.data, "```text\n") : NULL;
    CHECK(start_mark != NULL);
    if (start_mark) {
        start_mark += 8;
        const char *end_mark = strstr(start_mark, "\n```");
        CHECK(end_mark && help.len == (size_t)(end_mark + 1 - start_mark) &&
              memcmp(help.data, start_mark, help.len) == 0);
    }
    buf_free(&readme);
    buf_free(&help);
    report(ok);
}

TEST(test_bad_scenario_exits_2_with_line_number)
{
    current = __func__;
    int ok = 1;
    char cmd[4200];
    snprintf(cmd, sizeof cmd,
             "printf 'room %s\\n  post 3 every 10\\n  conn 1 stream dialect bogus\\n' | '%s' - "
             "2>&1",
             ROOM, binary);
    FILE *p = popen(cmd, "r");
    char out[512] = "";
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int status = p ? pclose(p) : -1;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    CHECK(strstr(out, ":3: unknown dialect 'bogus'") != NULL);
    snprintf(cmd, sizeof cmd, "'%s' --bogus x 2>/dev/null", binary);
    status = system(cmd);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    report(ok);
}

/* Each dialect's bytes exactly: compact items ending in \r, \n or \r\n, and pretty items with
 * raw newlines inside ending in \r; one chunk per item. */
TEST(test_dialects_bytes_exactly)
{
    BEGIN(fs,
          "room " ROOM "\n post 1000 every 15 start 50\n"
          " conn 1 stream dialect cr end-after 2\n conn 2 stream dialect lf end-after 2\n"
          " conn 3 stream dialect crlf end-after 2\n conn 4 stream dialect pretty end-after 2\n")
    const char *delims[] = {"\r", "\n", "\r\n", "\r"};
    for (int d = 0; d < 4; d++) {
        struct buf raw = {0};
        CHECK(request(fakeserver_port(fs), "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
        struct chunked c;
        dechunk(raw.data, raw.len, &c);
        CHECK(c.status == 200 && c.complete && c.n == 2);
        CHECK(strstr(c.head.data, "Content-Type: application/json\r\n") != NULL);
        CHECK(strstr(c.head.data, "Transfer-Encoding: chunked\r\n") != NULL);
        size_t dl = strlen(delims[d]);
        CHECK(c.sizes[0] + c.sizes[1] == c.payload.len);
        const char *item2 = c.payload.data + c.sizes[0];
        CHECK(memcmp(item2 - dl, delims[d], dl) == 0);
        CHECK(memcmp(c.payload.data + c.payload.len - dl, delims[d], dl) == 0);
        CHECK(c.payload.data[0] == '{' && item2[0] == '{');
        size_t inner_nl = 0;
        for (size_t i = 0; i + dl < c.sizes[0]; i++)
            inner_nl += c.payload.data[i] == '\n' || c.payload.data[i] == '\r';
        CHECK(d == 3 ? inner_nl > 10 : inner_nl == 0);
        CHECK(count(c.payload.data, d == 3 ? "\"v\": 1" : "\"v\":1") == 4);
        buf_free(&raw);
        chunked_free(&c);
    }
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

TEST(test_keepalives_and_chunkings)
{
    BEGIN(fs, "room " ROOM "\n post 1000 every 15 start 50 text \"\\u00fcber caf\\u00e9 \\u2603\"\n"
              " conn 1 stream keepalive 10 stall-after 0\n"
              " conn 2 stream chunking drip end-after 1\n"
              " conn 3 stream chunking split-utf8 end-after 1\n"
              " conn 4 stream chunking merge 3 end-after 3\n"
              " conn 5 stream chunking random 42 end-after 2\n"
              "room " ROOM2 "\n conn 1 stream keepalive 20 keepalive-bytes \"\\n\"\n")
    int port = fakeserver_port(fs);
    struct buf raw = {0};
    struct chunked c;
    /* keep-alives alone: bare "\n" chunks every 20 ms */
    CHECK(request(port, "GET", "/v1/rooms/" ROOM2 "/chatMessages", NULL, &raw, 250) == 0);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.n >= 6 && c.n <= 14 && c.payload.len == c.n && c.sizes[0] == 1);
    CHECK(strspn(c.payload.data, "\n") == c.payload.len);
    chunked_free(&c);
    raw.len = 0;
    /* stall-after 0 sends no keep-alive either */
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 200) == 0);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.status == 200 && c.n == 0);
    chunked_free(&c);
    raw.len = 0;
    /* drip: one byte per chunk */
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.complete && c.n == c.payload.len && c.n > 100);
    for (size_t i = 0; i < c.n; i++)
        CHECK(c.sizes[i] == 1);
    chunked_free(&c);
    raw.len = 0;
    /* split-utf8: every chunk but the last ends with a lead byte */
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.complete && c.n == 4); /* the text has \u escapes, the html raw ü, é and ☃ */
    size_t off = 0;
    for (size_t i = 0; i + 1 < c.n; i++) {
        off += c.sizes[i];
        CHECK((unsigned char)c.payload.data[off - 1] >= 0xc0);
    }
    CHECK(strstr(c.payload.data, "\"text\":\"\\u00fcber caf\\u00e9 \\u2603\"") != NULL);
    CHECK(strstr(c.payload.data, "\"html\":\"\xc3\xbc"
                                 "ber caf\xc3\xa9 \xe2\x98\x83\"") != NULL);
    chunked_free(&c);
    raw.len = 0;
    /* merge: three items in one chunk */
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.complete && c.n == 1 && count(c.payload.data, "\"readBy\"") == 3);
    chunked_free(&c);
    raw.len = 0;
    /* random: chunks of 1 to 48 bytes */
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.complete && c.n > 10 && count(c.payload.data, "\"readBy\"") == 2);
    for (size_t i = 0; i < c.n; i++)
        CHECK(c.sizes[i] >= 1 && c.sizes[i] <= 48);
    chunked_free(&c);
    buf_free(&raw);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

TEST(test_faults)
{
    BEGIN(fs, "room " ROOM "\n post 1000 every 15 start 50\n"
              " conn 1 stream cut-after 1\n conn 2 stream cut-at-byte 700\n"
              " conn 3 stream stall-after 1\n conn 4 close\n conn 5 hang\n"
              " conn 6 stream end-after 1\n")
    int port = fakeserver_port(fs);
    struct buf raw = {0};
    struct chunked c;
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    dechunk(raw.data, raw.len, &c);
    CHECK(!c.complete && c.truncated && c.n == 2);
    CHECK(c.payload.len == c.sizes[0] + c.sizes[1] / 2);
    chunked_free(&c);
    raw.len = 0;
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    dechunk(raw.data, raw.len, &c);
    CHECK(!c.complete && c.payload.len == 700);
    chunked_free(&c);
    raw.len = 0;
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 300) == 0); /* stalled, still open */
    dechunk(raw.data, raw.len, &c);
    CHECK(!c.complete && !c.truncated && c.n == 1);
    chunked_free(&c);
    raw.len = 0;
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1 && raw.len == 0);
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 300) == 0 && raw.len == 0);
    /* after a clean end the connection serves the next request */
    int fd = connect_port(port);
    send_str(fd, "GET " STREAM_PATH " HTTP/1.1\r\nHost: x\r\n\r\n");
    read_for(fd, &raw, 300);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.complete && c.n == 1);
    chunked_free(&c);
    raw.len = 0;
    send_str(fd,
             "GET /api" STREAM_PATH "?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(read_for(fd, &raw, 3000) == 1 && strncmp(raw.data, "HTTP/1.1 200 OK\r\n", 17) == 0);
    close(fd);
    buf_free(&raw);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

TEST(test_injected_frames)
{
    BEGIN(fs, "room " ROOM "\n post 1000 every 15 start 50\n"
              " conn 1 stream dialect cr inject 0 invalid-json inject 1 invalid-utf8 overlong"
              " inject 1 array inject 2 oversize 2000 inject 2 deep 4 inject 2 trailing"
              " inject 2 raw \"{}\\n\" end-after 2\n")
    struct buf raw = {0};
    struct chunked c;
    CHECK(request(fakeserver_port(fs), "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    dechunk(raw.data, raw.len, &c);
    CHECK(c.complete && c.n == 9);
    CHECK(c.sizes[0] == 24 && memcmp(c.payload.data, "{\"text\" \"invalid json\"}\r", 24) == 0);
    const char *p = c.payload.data + c.sizes[0] + c.sizes[1];
    CHECK(memcmp(p, "{\"text\":\"bad \xc0\xaf utf8\"}\r", 22) == 0);
    p += c.sizes[2];
    CHECK(p[0] == '[');
    p += c.sizes[3] + c.sizes[4];
    CHECK(c.sizes[5] == 2001 && p[0] == '{' && p[2000] == '\r');
    p += c.sizes[5];
    CHECK(memcmp(p, "{\"a\":{\"a\":{\"a\":{}}}}\r", 21) == 0);
    p += c.sizes[6];
    CHECK(memcmp(p, "{\"text\":\"trailing garbage\"} x\r", 30) == 0);
    p += c.sizes[7];
    CHECK(c.sizes[8] == 3 && memcmp(p, "{}\n", 3) == 0);
    chunked_free(&c);
    buf_free(&raw);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

TEST(test_status_replies_and_routing)
{
    BEGIN(fs, "token s3cret\nroom " ROOM "\n"
              " conn 1 status 400\n conn 2 status 401\n conn 3 status 403\n conn 4 status 404\n"
              " conn 5 status 429 retry-after 3 ratelimit-limit 100 ratelimit-remaining 0"
              " ratelimit-reset 5000\n conn 6 status 502\n conn 7 status 503 retry-after 2\n")
    static const struct {
        int code;
        const char *needle;
    } want[] = {{400, "\r\n\r\n{\"error\":\"Bad Request\"}"},
                {401, "\r\n\r\n{\"error\":\"Unauthorized\"}"},
                {403, "\r\n\r\n{\"error\":\"Forbidden\"}"},
                {404, "\r\n\r\n{\"error\":\"Not Found\"}"},
                {429, "X-RateLimit-Remaining: 0\r\n"},
                {502, "<html>\r\n<head><title>502 Bad Gateway</title></head>"},
                {503, "Retry-After: 2\r\n"}};
    int port = fakeserver_port(fs);
    const char *auth = "Authorization: Bearer s3cret\r\n";
    struct buf raw = {0};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        raw.len = 0;
        CHECK(request(port, "GET", STREAM_PATH, auth, &raw, 3000) == 1);
        CHECK(raw.len > 12 && atoi(raw.data + 9) == want[i].code);
        CHECK(strstr(raw.data, want[i].needle) != NULL);
    }
    raw.len = 0;
    request(port, "GET", STREAM_PATH, auth, &raw, 100);
    CHECK(strstr(raw.data, "HTTP/1.1 200 OK\r\n") == raw.data); /* no default line: a stream */
    struct {
        const char *target, *extra;
        int code;
    } routes[] = {{STREAM_PATH, NULL, 401},
                  {STREAM_PATH, "Authorization: Bearer wrong\r\n", 401},
                  {"/v1/rooms/0123456789ABCDEF01234567/chatMessages", auth, 400},
                  {"/v1/rooms/xyz/chatMessages", auth, 400},
                  {"/v1/rooms/" ROOM2 "/chatMessages", auth, 404},
                  {"/v1/rooms/" ROOM "/unknown", auth, 404},
                  {"/api/v1/rooms/" ROOM "/events", auth, 404},
                  {"/elsewhere", auth, 404}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        raw.len = 0;
        request(port, "GET", routes[i].target, routes[i].extra, &raw, 3000);
        CHECK(raw.len > 12 && atoi(raw.data + 9) == routes[i].code);
    }
    char *log = fakeserver_read_log(fs);
    CHECK(log && count(log, "\tauthorization: Bearer s3cret") == 14);
    CHECK(log && strstr(log, "1\tGET\t" STREAM_PATH "\thost: 127.0.0.1\taccept: application/json"
                             "\tauthorization: Bearer s3cret\tconnection: close\n") != NULL);
    CHECK(log && count(log, "s3cret") == count(log, "authorization: Bearer s3cret"));
    free(log);
    buf_free(&raw);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

static size_t ids_in(const char *json, char ids[][25], size_t max)
{
    size_t n = 0;
    for (const char *p = json; n < max && (p = strstr(p, "{\"id\":\"")); p += 7) {
        if (strncmp(p + 7, "5f0c1a2b", 8) == 0)
            continue; /* the author's id */
        memcpy(ids[n], p + 7, 24);
        ids[n++][24] = '\0';
    }
    return n;
}

TEST(test_rest_against_timeline)
{
    BEGIN(fs, "room " ROOM "\n uri fake/room\n history 150\n post 5 every 10 start 0\n"
              " post 1 at 3600000\n rest 1 status 503 retry-after 7\n")
    int port = fakeserver_port(fs);
    sleep_ms(150);
    char *posted = fakeserver_posted_ids(fs, ROOM);
    static char all[160][25];
    size_t n_all = 0;
    for (char *p = posted; p && *p && n_all < 160; p += 25)
        memcpy(all[n_all], p, 24), all[n_all++][24] = '\0';
    CHECK(n_all == 155);
    for (size_t i = 1; i < n_all; i++)
        CHECK(strcmp(all[i - 1], all[i]) < 0);
    free(posted);
    struct buf raw = {0};
    static char got[120][25];
    char target[256];
    CHECK(request(port, "GET", "/api" STREAM_PATH, NULL, &raw, 3000) == 1 &&
          atoi(raw.data + 9) == 503);
    /* anchor: 0 none, 1 the 11th message, 2 the 101st */
    struct {
        int anchor;
        const char *query;
        size_t first, n; /* indexes into all */
    } cases[] = {
        {0, "", 105, 50},        {0, "limit=3", 152, 3},        {0, "limit=500", 55, 100},
        {0, "limit=0", 105, 50}, {0, "skip=2&limit=3", 150, 3}, {1, "&limit=5", 11, 5},
        {1, "", 11, 50},         {2, "&limit=3", 97, 3},        {1, "&limit=100", 11, 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *anchor = cases[i].anchor == 1   ? "?afterId="
                             : cases[i].anchor == 2 ? "?beforeId="
                             : *cases[i].query      ? "?"
                                                    : "";
        const char *id = cases[i].anchor == 1 ? all[10] : cases[i].anchor == 2 ? all[100] : "";
        /* the first cases have no REST parameter but limit: those go through /api */
        snprintf(target, sizeof target, "%s%s%s%s%s", i % 2 || !cases[i].anchor ? "/api" : "",
                 STREAM_PATH, anchor, id, cases[i].query);
        raw.len = 0;
        request(port, "GET", target, NULL, &raw, 3000);
        const char *body = strstr(raw.data, "\r\n\r\n");
        CHECK(atoi(raw.data + 9) == 200 && body && body[4] == '[');
        size_t n = ids_in(body ? body : "", got, 120);
        CHECK(n == cases[i].n);
        for (size_t k = 0; k < n && k < cases[i].n; k++)
            CHECK(strcmp(got[k], all[cases[i].first + k]) == 0);
    }
    const char *bad[] = {"?skip=5001", "?afterId=zzz", "?limit=-1", "?limit=x"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(target, sizeof target, "%s%s", STREAM_PATH, bad[i]);
        raw.len = 0;
        request(port, "GET", target, NULL, &raw, 3000);
        CHECK(atoi(raw.data + 9) == 400);
    }
    int fd = connect_port(port);
    send_str(fd, "POST /v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: 19\r\n\r\n{\"uri\":\"fake/room\"}"
                 "POST /v1/rooms HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n"
                 "Connection: close\r\n\r\n{\"uri\":\"no/room\"}");
    raw.len = 0;
    CHECK(read_for(fd, &raw, 3000) == 1);
    close(fd);
    CHECK(strstr(raw.data, "HTTP/1.1 200 OK\r\n") == raw.data);
    CHECK(strstr(raw.data, "{\"id\":\"" ROOM "\",\"name\":\"fake/room\"") != NULL);
    CHECK(strstr(raw.data, "HTTP/1.1 404 Not Found\r\n") != NULL);
    buf_free(&raw);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

/* A stream gets what is posted after it connected; a restart carries on with new ids. */
TEST(test_stream_sees_only_new_messages_and_restart)
{
    BEGIN(fs, "room " ROOM "\n history 5\n post 1000 every 20 start 0\n"
              " conn default stream end-after 3\n")
    sleep_ms(200);
    struct buf raw = {0};
    char *before = fakeserver_posted_ids(fs, ROOM);
    CHECK(request(fakeserver_port(fs), "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    char ids[3][25];
    CHECK(ids_in(raw.data, ids, 3) == 3);
    CHECK(before && strlen(before) >= 25 * 10);
    CHECK(before && strcmp(ids[0], before + strlen(before) - 25) > 0);
    free(before);
    int port = fakeserver_port(fs);
    CHECK(fakeserver_restart(fs) == 0 && fakeserver_port(fs) == port);
    sleep_ms(100);
    char *posted = fakeserver_posted_ids(fs, ROOM);
    size_t n = posted ? strlen(posted) / 25 : 0;
    for (size_t i = 1; i < n; i++)
        CHECK(strncmp(posted + 25 * (i - 1), posted + 25 * i, 24) < 0);
    free(posted);
    raw.len = 0;
    CHECK(request(port, "GET", STREAM_PATH, NULL, &raw, 3000) == 1);
    CHECK(count(raw.data, "\"readBy\"") == 3);
    CHECK(fakeserver_log_count(fs, "\tGET\t") == 2);
    buf_free(&raw);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

TEST(test_request_parsing)
{
    BEGIN(fs, "room " ROOM "\n history 3\n")
    int port = fakeserver_port(fs);
    struct buf raw = {0};
    int fd = connect_port(port);
    const char *parts[] = {"GET /api/v1/rooms/", ROOM "/chatMess", "ages HTTP/1.1\r\nHo",
                           "st: x\r\nConnection: close\r", "\n\r\n"};
    for (size_t i = 0; i < 5; i++) {
        send_str(fd, parts[i]);
        sleep_ms(20);
    }
    CHECK(read_for(fd, &raw, 3000) == 1 && strstr(raw.data, "HTTP/1.1 200 OK") == raw.data);
    CHECK(count(raw.data, "\"readBy\"") == 3);
    close(fd);
    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = '\0';
    memcpy(big, "X-Big: ", 7);
    raw.len = 0;
    char *hdr = malloc(20010);
    snprintf(hdr, 20010, "%s\r\n", big);
    request(port, "GET", "/api" STREAM_PATH, hdr, &raw, 3000);
    CHECK(raw.len && atoi(raw.data + 9) == 400);
    free(big);
    free(hdr);
    raw.len = 0;
    fd = connect_port(port);
    send_str(fd, "garbage\r\n\r\n");
    read_for(fd, &raw, 3000);
    CHECK(raw.len && atoi(raw.data + 9) == 400);
    close(fd);
    buf_free(&raw);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

TEST(test_300_concurrent_streams)
{
    BEGIN(fs, "room " ROOM "\n post 100000 every 20 start 0\n conn default stream keepalive 50\n")
    enum { N = 300 };
    static int fds[N];
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * N && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int open_ok = 1;
    for (int i = 0; i < N; i++) {
        fds[i] = connect_port(fakeserver_port(fs));
        if (fds[i] < 0)
            open_ok = 0;
        else
            send_str(fds[i], "GET " STREAM_PATH " HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    CHECK(open_ok);
    sleep_ms(400);
    int with_item = 0;
    for (int i = 0; i < N; i++) {
        struct buf raw = {0};
        if (fds[i] >= 0) {
            read_for(fds[i], &raw, 1);
            close(fds[i]);
        }
        with_item += raw.len && strstr(raw.data, "HTTP/1.1 200 OK") == raw.data &&
                     strstr(raw.data, "\"readBy\"") != NULL;
        buf_free(&raw);
    }
    CHECK(with_item == N);
    CHECK(fakeserver_halt(fs) == 0); /* SIGTERM: exit 0, and no sanitizer report */
    fakeserver_stop(fs);
    report(ok);
}

TEST(test_time_limit)
{
    current = __func__;
    int ok = 1;
    const char *args[] = {"--time-limit", "1", NULL};
    fakeserver *fs = fakeserver_start(binary, "room " ROOM "\n", args);
    CHECK(fs != NULL);
    if (fs) {
        int port = fakeserver_port(fs);
        int fd = connect_port(port);
        CHECK(fd >= 0);
        if (fd >= 0)
            close(fd);
        sleep_ms(1400);
        fd = connect_port(port);
        CHECK(fd < 0);
        if (fd >= 0)
            close(fd);
        CHECK(fakeserver_halt(fs) == 0); /* it had exited 0 on its own */
        fakeserver_stop(fs);
    }
    report(ok);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SERVER_BINARY README.md\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    binary = argv[1];
    readme_path = argv[2];
    test_help_matches_readme();
    test_bad_scenario_exits_2_with_line_number();
    test_dialects_bytes_exactly();
    test_keepalives_and_chunkings();
    test_faults();
    test_injected_frames();
    test_status_replies_and_routing();
    test_rest_against_timeline();
    test_stream_sees_only_new_messages_and_restart();
    test_request_parsing();
    test_300_concurrent_streams();
    test_time_limit();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
