/* gitterstream-tail against the fake Gitter server: the program runs as a child process, its
 * standard output and error read through pipes until the expected lines arrive or a deadline
 * passes.
 *
 *   test-tail TAIL_BINARY FAKESERVER_BINARY
 *
 * CK_RUN_CASE picks one case. TAIL_WRAPPER, when set, is a command put before the tail binary
 * (split at spaces), e.g. "valgrind --error-exitcode=99 --leak-check=full"; its failures then
 * show as wrong exit statuses. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "fakeserver-client.h"

#define ROOM    "0123456789abcdef01234567"
#define ROOM2   "89abcdef0123456789abcdef"
#define TOKEN   "s3cret-t0ken-4a7f"
#define WAIT_MS 30000
/* How each NDJSON line of ROOM starts. */
#define LINE_PREFIX "{\"room\":\"" ROOM "\",\"item\":{"

static const char *tail_binary, *server_binary;

struct text {
    char *data;
    size_t len;
};

struct child {
    pid_t pid;
    int out_fd, err_fd;
    struct text out, err;
    int status; /* exit status once reaped, 128 + signal if killed */
};

/* What a failed test leaves running is stopped by the teardown, also without fork. */
static struct child *running_child;
static fakeserver *running_server;
static char cert_dir[4096], cert_path[4200], key_path[4200], token_path[64];
static char cp_dir[4096], cp_path[4200], cp_tmp_path[4300];

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void text_add(struct text *t, const char *s, size_t n)
{
    char *bigger = realloc(t->data, t->len + n + 1);
    ck_assert_ptr_nonnull(bigger);
    t->data = bigger;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static fakeserver *start_server(const char *scenario)
{
    running_server = fakeserver_start(server_binary, scenario, NULL);
    ck_assert_msg(running_server != NULL, "the fake server did not start");
    return running_server;
}

/* Runs the tail with args (NULL-terminated) and, in its environment, GITTER_TOKEN=token unless
 * token is NULL, and the NULL-terminated "NAME=value" list env. */
static struct child *spawn_tail(const char *const *args, const char *token, const char *const *env)
{
    const char *wrapper = getenv("TAIL_WRAPPER");
    char *words = strdup(wrapper ? wrapper : "");
    ck_assert_ptr_nonnull(words);
    const char *argv[64];
    size_t n = 0;
    for (char *w = strtok(words, " "); w && n < 32; w = strtok(NULL, " "))
        argv[n++] = w;
    argv[n++] = tail_binary;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    int out[2], err[2];
    ck_assert_int_eq(pipe(out), 0);
    ck_assert_int_eq(pipe(err), 0);
    struct child *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->status = -1;
    c->pid = fork();
    ck_assert_int_ge(c->pid, 0);
    if (c->pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        dup2(err[1], STDERR_FILENO);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, STDIN_FILENO);
        unsetenv("GITTER_TOKEN");
        if (token)
            setenv("GITTER_TOKEN", token, 1);
        for (size_t i = 0; env && env[i]; i++) {
            char *name = strndup(env[i], strcspn(env[i], "="));
            setenv(name, env[i] + strlen(name) + 1, 1);
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(words);
    close(out[1]);
    close(err[1]);
    /* not inherited by the next child */
    fcntl(out[0], F_SETFD, FD_CLOEXEC);
    fcntl(err[0], F_SETFD, FD_CLOEXEC);
    c->out_fd = out[0];
    c->err_fd = err[0];
    running_child = c;
    return c;
}

/* Waits up to timeout_ms for output, then takes what there is. 0 once both pipes are closed. */
static int pump(struct child *c, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = c->out_fd, .events = POLLIN}, {.fd = c->err_fd, .events = POLLIN}};
    if (c->out_fd < 0 && c->err_fd < 0)
        return 0;
    int rc = poll(p, 2, timeout_ms);
    if (rc <= 0)
        return 1;
    for (int i = 0; i < 2; i++) {
        if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char buf[4096];
        ssize_t r = read(p[i].fd, buf, sizeof buf);
        if (r > 0) {
            text_add(i == 0 ? &c->out : &c->err, buf, (size_t)r);
        } else if (r == 0 || errno != EINTR) {
            close(p[i].fd);
            *(i == 0 ? &c->out_fd : &c->err_fd) = -1;
        }
    }
    return 1;
}

static size_t count_lines(const struct text *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->len; i++)
        n += t->data[i] == '\n';
    return n;
}

/* Reads until stdout holds n complete lines; asserts that they came within WAIT_MS. */
static void await_lines(struct child *c, size_t n)
{
    long long deadline = mono_ms() + WAIT_MS;
    while (count_lines(&c->out) < n && mono_ms() < deadline && pump(c, 100))
        ;
    ck_assert_msg(count_lines(&c->out) >= n, "%zu of %zu lines came; stderr:\n%s",
                  count_lines(&c->out), n, c->err.data ? c->err.data : "");
}

/* The stderr line that holds needle, once it is complete; NULL if none. */
static const char *stderr_line(const struct child *c, const char *needle)
{
    const char *at = c->err.data ? strstr(c->err.data, needle) : NULL;
    return at && strchr(at, '\n') ? at : NULL;
}

static void await_stderr(struct child *c, const char *needle)
{
    long long deadline = mono_ms() + WAIT_MS;
    while (!stderr_line(c, needle) && mono_ms() < deadline && pump(c, 100))
        ;
    ck_assert_msg(stderr_line(c, needle), "no line with \"%s\" on stderr:\n%s", needle,
                  c->err.data ? c->err.data : "");
}

/* Waits for the child to exit, reading its output meanwhile; returns its status. */
static int await_exit(struct child *c)
{
    long long deadline = mono_ms() + WAIT_MS;
    int status;
    pid_t r;
    while ((r = waitpid(c->pid, &status, WNOHANG)) == 0 && mono_ms() < deadline)
        pump(c, 50);
    ck_assert_msg(r == c->pid, "the tail did not exit in time; stderr:\n%s",
                  c->err.data ? c->err.data : "");
    c->pid = 0;
    deadline = mono_ms() + WAIT_MS;
    while ((c->out_fd >= 0 || c->err_fd >= 0) && mono_ms() < deadline)
        pump(c, 100);
    c->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return c->status;
}

static void free_child(struct child *c)
{
    if (!c)
        return;
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->err_fd >= 0)
        close(c->err_fd);
    free(c->out.data);
    free(c->err.data);
    free(c);
}

/* Stops a tail that is expected to run until signalled: it must then exit 0. */
static void stop_tail(struct child *c, int sig)
{
    ck_assert_int_eq(kill(c->pid, sig), 0);
    ck_assert_int_eq(await_exit(c), 0);
}

static void remove_checkpoint(void)
{
    if (cp_dir[0]) {
        unlink(cp_path);
        unlink(cp_tmp_path);
        rmdir(cp_dir);
        cp_dir[0] = '\0';
    }
}

static void teardown(void)
{
    remove_checkpoint();
    if (token_path[0]) {
        unlink(token_path);
        token_path[0] = '\0';
    }
    if (cert_dir[0]) {
        unlink(cert_path);
        unlink(key_path);
        rmdir(cert_dir);
        cert_dir[0] = '\0';
    }
    free_child(running_child);
    running_child = NULL;
    fakeserver_stop(running_server);
    running_server = NULL;
}

/* The n-th line of t (from 0), in a buffer the caller frees. */
static char *line_at(const struct text *t, size_t n)
{
    const char *s = t->data;
    for (size_t i = 0; s && i < n; i++) {
        s = strchr(s, '\n');
        s = s ? s + 1 : NULL;
    }
    ck_assert_ptr_nonnull(s);
    return strndup(s, strcspn(s, "\n"));
}

static int is_json(const char *s)
{
    yajl_handle h = yajl_alloc(NULL, NULL, NULL);
    ck_assert_ptr_nonnull(h);
    int ok = yajl_parse(h, (const unsigned char *)s, strlen(s)) == yajl_status_ok &&
             yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    return ok;
}

static int matches(const char *s, const char *pattern)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* Seconds between a printed HH:MM:SS and the UTC time of day now plus offset seconds, on the
 * clock face. */
static long clock_distance(const char *hhmmss, long offset)
{
    int h, m, s;
    ck_assert_int_eq(sscanf(hhmmss, "%d:%d:%d", &h, &m, &s), 3);
    time_t now = time(NULL);
    struct tm tm;
    ck_assert_ptr_nonnull(gmtime_r(&now, &tm));
    long expected = ((tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) + offset) % 86400;
    long d = labs((long)(h * 3600 + m * 60 + s) - expected);
    return d > 43200 ? 86400 - d : d;
}

/* A local time far from UTC (UTC+10:30), to tell the item's "sent" from the local clock. */
#define TZ_ENV    "TZ=TST-10:30"
#define TZ_OFFSET (10 * 3600 + 30 * 60)

static const char chat_scenario[] = "token " TOKEN "\n"
                                    "room " ROOM "\n"
                                    "  uri fake/room\n"
                                    "  post 3000 every 50 text \"hello\\nworld {n}\"\n";

START_TEST(test_prints_one_ndjson_line_per_message_with_the_room)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n"
                                  "  post 3000 every 50\n"
                                  "  conn default stream dialect pretty\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 3);
    long first = -1;
    for (size_t i = 0; i < 3; i++) {
        char *line = line_at(&c->out, i);
        ck_assert_msg(strncmp(line, LINE_PREFIX, strlen(LINE_PREFIX)) == 0, "%s", line);
        ck_assert_msg(is_json(line), "not one JSON value: %s", line);
        ck_assert_ptr_null(strchr(line, '\r'));
        /* the pretty dialect spreads each item over lines: one output line holds one item */
        const char *text = strstr(line, "\"text\": \"message ");
        ck_assert_msg(text != NULL, "%s", line);
        ck_assert_ptr_null(strstr(text + 1, "\"text\""));
        long n = strtol(text + 17, NULL, 10);
        if (i == 0)
            first = n;
        ck_assert_int_eq(n, first + (long)i);
        free(line);
    }
    stop_tail(c, SIGTERM);
}
END_TEST

START_TEST(test_prints_items_of_several_rooms)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n  post 3000 every 50\n"
                                  "room " ROOM2 "\n  post 3000 every 50\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, ROOM2, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    long long deadline = mono_ms() + WAIT_MS;
    while (!(c->out.data && strstr(c->out.data, "{\"room\":\"" ROOM "\"") &&
             strstr(c->out.data, "{\"room\":\"" ROOM2 "\"")) &&
           mono_ms() < deadline && pump(c, 100))
        ;
    ck_assert_msg(c->out.data && strstr(c->out.data, "{\"room\":\"" ROOM "\",") &&
                      strstr(c->out.data, "{\"room\":\"" ROOM2 "\","),
                  "not both rooms:\n%s", c->out.data ? c->out.data : "");
    stop_tail(c, SIGINT);
}
END_TEST

START_TEST(test_pretty_prints_sent_time_user_and_text)
{
    fakeserver *fs = start_server(chat_scenario);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--pretty", "--stream-url", url, "--api-url", url, ROOM, NULL};
    const char *env[] = {TZ_ENV, NULL};
    struct child *c = spawn_tail(args, TOKEN, env);
    await_lines(c, 2);
    for (size_t i = 0; i < 2; i++) {
        char *line = line_at(&c->out, i);
        ck_assert_msg(matches(line, "^[0-2][0-9]:[0-5][0-9]:[0-6][0-9] fakeuser: hello world "
                                    "[0-9]+$"),
                      "%s", line);
        ck_assert_int_le(clock_distance(line, 0), 10);
        free(line);
    }
    stop_tail(c, SIGTERM);
}
END_TEST

START_TEST(test_pretty_uses_receive_time_and_question_mark_without_sent_or_user)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n"
                                  "  conn default stream inject 0 raw "
                                  "\"{\\\"id\\\":\\\"0123456789abcdef0123ffff\\\","
                                  "\\\"text\\\":\\\"no\\\\ttime\\\"}\\n\"\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--pretty", "--stream-url", url, "--api-url", url, ROOM, NULL};
    const char *env[] = {TZ_ENV, NULL};
    struct child *c = spawn_tail(args, TOKEN, env);
    await_lines(c, 1);
    char *line = line_at(&c->out, 0);
    ck_assert_msg(matches(line, "^[0-2][0-9]:[0-5][0-9]:[0-6][0-9] \\?: no time$"), "%s", line);
    ck_assert_int_le(clock_distance(line, TZ_OFFSET), 10);
    free(line);
    stop_tail(c, SIGTERM);
}
END_TEST

START_TEST(test_events_subscribes_to_the_events_resource)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM " events\n  post 3000 every 50\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--events", "--stream-url", url, "--api-url", url, ROOM, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 1);
    char *line = line_at(&c->out, 0);
    ck_assert_msg(strstr(line, "\"text\":\"event "), "%s", line);
    free(line);
    stop_tail(c, SIGTERM);
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tGET\t/v1/rooms/" ROOM "/events\t"), 1);
    ck_assert_uint_eq(fakeserver_log_count(fs, "/chatMessages"), 0);
}
END_TEST

START_TEST(test_pretty_events_are_tagged)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM " events\n  post 3000 every 50\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--events",  "--pretty", "--stream-url", url,
                          "--api-url", url,        ROOM,           NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 1);
    char *line = line_at(&c->out, 0);
    ck_assert_msg(matches(line, "^[0-2][0-9]:[0-5][0-9]:[0-6][0-9] \\[event\\] event [0-9]+$"),
                  "%s", line);
    free(line);
    stop_tail(c, SIGTERM);
}
END_TEST

START_TEST(test_uri_is_resolved_through_post_rooms)
{
    fakeserver *fs = start_server(chat_scenario);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, "fake/room", NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 2);
    char *line = line_at(&c->out, 1);
    ck_assert_msg(strncmp(line, LINE_PREFIX, strlen(LINE_PREFIX)) == 0, "%s", line);
    free(line);
    stop_tail(c, SIGTERM);
    char *log = fakeserver_read_log(fs);
    ck_assert_ptr_nonnull(log);
    const char *post = strstr(log, "\tPOST\t/v1/rooms\t");
    const char *get = strstr(log, "\tGET\t/v1/rooms/" ROOM "/chatMessages\t");
    ck_assert_msg(post && get && post < get, "no POST before the stream:\n%s", log);
    char *post_line = strndup(post, strcspn(post, "\n"));
    ck_assert_msg(strstr(post_line, "\tcontent-type: application/json") &&
                      strstr(post_line, "\taccept: application/json") &&
                      strstr(post_line, "\tauthorization: Bearer " TOKEN),
                  "%s", post_line);
    free(post_line);
    free(log);
    ck_assert_int_eq(c->status, 0);
}
END_TEST

static void assert_token_hidden(struct child *c, const char *token)
{
    ck_assert_msg(!c->out.data || !strstr(c->out.data, token), "token on stdout");
    ck_assert_msg(!c->err.data || !strstr(c->err.data, token), "token on stderr");
}

/* The command line of a running process is readable by every user: the token is not there. */
static void assert_token_not_in_cmdline(pid_t pid, const char *token)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        buf[i] = buf[i] ? buf[i] : ' ';
    buf[n] = '\0';
    ck_assert_msg(strstr(buf, token) == NULL, "token in argv: %s", buf);
}

/* The resolving POST and the stream's GET both carry it. */
static void assert_every_request_has_token(const fakeserver *fs, const char *token)
{
    char needle[256];
    snprintf(needle, sizeof needle, "\tauthorization: Bearer %s", token);
    size_t posts = fakeserver_log_count(fs, "\tPOST\t"), gets = fakeserver_log_count(fs, "\tGET\t");
    ck_assert_uint_eq(posts, 1);
    ck_assert_uint_ge(gets, 1);
    ck_assert_uint_eq(fakeserver_log_count(fs, needle), posts + gets);
}

START_TEST(test_token_from_environment_is_sent_as_bearer_and_never_shown)
{
    fakeserver *fs = start_server(chat_scenario);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, "fake/room", NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 1);
    assert_token_not_in_cmdline(c->pid, TOKEN);
    stop_tail(c, SIGTERM);
    assert_token_hidden(c, TOKEN);
    assert_every_request_has_token(fs, TOKEN);
}
END_TEST

START_TEST(test_token_file_first_line_is_sent_as_bearer_and_never_shown)
{
    fakeserver *fs = start_server(chat_scenario);
    strcpy(token_path, "/tmp/tail-token-XXXXXX");
    int fd = mkstemp(token_path);
    ck_assert_int_ge(fd, 0);
    const char content[] = TOKEN "\nsecond line\n";
    ck_assert_int_eq(write(fd, content, sizeof content - 1), (ssize_t)(sizeof content - 1));
    close(fd);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--token-file", token_path, "--stream-url", url,
                          "--api-url",    url,        "fake/room",    NULL};
    /* the file wins over the environment */
    struct child *c = spawn_tail(args, "wrong-token", NULL);
    await_lines(c, 1);
    assert_token_not_in_cmdline(c->pid, TOKEN);
    stop_tail(c, SIGTERM);
    assert_token_hidden(c, TOKEN);
    assert_every_request_has_token(fs, TOKEN);
    ck_assert_uint_eq(fakeserver_log_count(fs, "second line"), 0);
    ck_assert_uint_eq(fakeserver_log_count(fs, "wrong-token"), 0);
}
END_TEST

START_TEST(test_sigterm_stops_with_status_0)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_stderr(c, ROOM ": streaming\n");
    stop_tail(c, SIGTERM);
}
END_TEST

START_TEST(test_sigint_stops_with_status_0)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_stderr(c, ROOM ": streaming\n");
    stop_tail(c, SIGINT);
}
END_TEST

START_TEST(test_unknown_room_stops_with_status_1_and_an_error_line)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM2, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    ck_assert_int_eq(await_exit(c), 1);
    ck_assert_msg(matches(c->err.data ? c->err.data : "",
                          "(^|\n)gitterstream-tail: " ROOM2 ": error: [^\n]*\\(HTTP 404\\)[^\n]*; "
                          "stopped\n"),
                  "%s", c->err.data ? c->err.data : "");
    ck_assert_uint_eq(c->out.len, 0);
}
END_TEST

START_TEST(test_retried_error_line_gives_the_delay_and_streaming_resumes)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n"
                                  "  post 3000 every 50\n"
                                  "  conn 1 status 502\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 1);
    ck_assert_msg(matches(c->err.data, "(^|\n)gitterstream-tail: " ROOM
                                       ": error: [^\n]*\\(HTTP 502\\)[^\n]*; retrying in "
                                       "[1-9][0-9]* ms\n"),
                  "%s", c->err.data);
    ck_assert_ptr_nonnull(stderr_line(c, ROOM ": waiting\n"));
    stop_tail(c, SIGTERM);
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tGET\t/v1/rooms/" ROOM "/chatMessages\t"), 2);
}
END_TEST

START_TEST(test_bad_token_stops_with_status_1)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, NULL};
    struct child *c = spawn_tail(args, "not-the-token", NULL);
    ck_assert_int_eq(await_exit(c), 1);
    ck_assert_msg(strstr(c->err.data ? c->err.data : "", "(HTTP 401)"), "%s",
                  c->err.data ? c->err.data : "");
    assert_token_hidden(c, "not-the-token");
}
END_TEST

START_TEST(test_unresolvable_uri_exits_2_before_streaming)
{
    fakeserver *fs = start_server(chat_scenario);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, "nobody/nowhere", NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    ck_assert_int_eq(await_exit(c), 2);
    ck_assert_msg(strstr(c->err.data ? c->err.data : "", "nobody/nowhere"), "%s",
                  c->err.data ? c->err.data : "");
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tPOST\t/v1/rooms\t"), 1);
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tGET\t"), 0);
    ck_assert_uint_eq(c->out.len, 0);
}
END_TEST

/* A self-signed certificate for 127.0.0.1, made by the openssl program in a temporary folder. */
static void make_cert(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(cert_dir, sizeof cert_dir, "%s/tail-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(cert_dir));
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", cert_dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", cert_dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        execlp("openssl", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
               "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key_path, "-out", cert_path,
               (char *)NULL);
        fprintf(stderr, "cannot run openssl: %s\n", strerror(errno));
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "openssl req failed");
}

static fakeserver *start_tls_server(const char *scenario)
{
    make_cert();
    const char *extra[] = {"--tls-cert", cert_path, "--tls-key", key_path, NULL};
    running_server = fakeserver_start(server_binary, scenario, extra);
    ck_assert_msg(running_server != NULL, "the fake server did not start");
    return running_server;
}

START_TEST(test_ca_file_verifies_tls_for_resolving_and_streaming)
{
    fakeserver *fs = start_tls_server(chat_scenario);
    const char *url = fakeserver_url(fs);
    ck_assert_msg(strncmp(url, "https://", 8) == 0, "%s", url);
    const char *args[] = {"--ca-file", cert_path, "--stream-url", url,
                          "--api-url", url,       "fake/room",    NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 1);
    char *line = line_at(&c->out, 0);
    ck_assert_msg(strncmp(line, LINE_PREFIX, strlen(LINE_PREFIX)) == 0, "%s", line);
    free(line);
    stop_tail(c, SIGTERM);
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tPOST\t/v1/rooms\t"), 1);
}
END_TEST

START_TEST(test_untrusted_tls_certificate_stops_resolving_with_status_2)
{
    fakeserver *fs = start_tls_server(chat_scenario);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, "fake/room", NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    ck_assert_int_eq(await_exit(c), 2);
    ck_assert_msg(strstr(c->err.data ? c->err.data : "", "fake/room: cannot resolve"), "%s",
                  c->err.data ? c->err.data : "");
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tPOST\t"), 0);
}
END_TEST

/* Whether the library then retries or stops (SPEC 5 counts TLS failures among the network errors
 * that are retried), no request may reach the server and nothing may be printed. */
START_TEST(test_untrusted_tls_certificate_never_streams)
{
    fakeserver *fs = start_tls_server(chat_scenario);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--stream-url", url, "--api-url", url, ROOM, NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_stderr(c, ROOM ": error: network error");
    const char *line = stderr_line(c, ROOM ": error: network error");
    if (strncmp(strchr(line, '\n') - 9, "; stopped", 9) == 0)
        ck_assert_int_eq(await_exit(c), 1);
    else
        stop_tail(c, SIGTERM);
    ck_assert_uint_eq(c->out.len, 0);
    ck_assert_uint_eq(fakeserver_log_count(fs, "\tGET\t"), 0);
}
END_TEST

static struct child *run_without_server(const char *const *args, const char *token)
{
    struct child *c = spawn_tail(args, token, NULL);
    await_exit(c);
    return c;
}

START_TEST(test_no_room_exits_2_with_usage)
{
    const char *args[] = {"--pretty", NULL};
    struct child *c = run_without_server(args, TOKEN);
    ck_assert_int_eq(c->status, 2);
    ck_assert_ptr_nonnull(strstr(c->err.data, "Usage: gitterstream-tail"));
    ck_assert_uint_eq(c->out.len, 0);
}
END_TEST

START_TEST(test_unknown_option_exits_2_with_usage)
{
    const char *args[] = {"--follow", ROOM, NULL};
    struct child *c = run_without_server(args, TOKEN);
    ck_assert_int_eq(c->status, 2);
    ck_assert_ptr_nonnull(strstr(c->err.data, "Usage: gitterstream-tail"));
}
END_TEST

START_TEST(test_token_as_argument_is_refused)
{
    const char *args[] = {"--token", TOKEN, ROOM, NULL};
    struct child *c = run_without_server(args, TOKEN);
    ck_assert_int_eq(c->status, 2);
}
END_TEST

START_TEST(test_missing_token_exits_2)
{
    const char *args[] = {"--stream-url", "http://127.0.0.1:9", ROOM, NULL};
    struct child *c = run_without_server(args, NULL);
    ck_assert_int_eq(c->status, 2);
    ck_assert_ptr_nonnull(strstr(c->err.data, "GITTER_TOKEN"));
}
END_TEST

START_TEST(test_help_prints_usage_and_exit_statuses)
{
    const char *args[] = {"--help", NULL};
    struct child *c = run_without_server(args, NULL);
    ck_assert_int_eq(c->status, 0);
    ck_assert_ptr_nonnull(strstr(c->out.data, "Usage: gitterstream-tail"));
    ck_assert_ptr_nonnull(strstr(c->out.data, "Exit status"));
    ck_assert_uint_eq(c->err.len, 0);
}
END_TEST

START_TEST(test_version_prints_the_version)
{
    const char *args[] = {"--version", NULL};
    struct child *c = run_without_server(args, NULL);
    ck_assert_int_eq(c->status, 0);
    ck_assert_msg(matches(c->out.data, "^gitterstream-tail [0-9]+\\.[0-9]+\\.[0-9]+"), "%s",
                  c->out.data);
}
END_TEST

/* ---- --checkpoint ---- */

/* A temporary folder for the checkpoint file, which does not exist yet; content, if not NULL,
 * is written to it. */
static const char *make_checkpoint(const char *content)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(cp_dir, sizeof cp_dir, "%s/tail-cp-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(cp_dir));
    snprintf(cp_path, sizeof cp_path, "%s/checkpoint", cp_dir);
    snprintf(cp_tmp_path, sizeof cp_tmp_path, "%s.tmp", cp_path);
    if (content) {
        FILE *f = fopen(cp_path, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(content, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
    }
    return cp_path;
}

/* The checkpoint file's content, "" if it does not exist; the caller frees it. */
static char *read_checkpoint(void)
{
    struct text t = {0};
    text_add(&t, "", 0);
    FILE *f = fopen(cp_path, "r");
    if (!f) {
        ck_assert_int_eq(errno, ENOENT);
        return t.data;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        text_add(&t, buf, n);
    fclose(f);
    return t.data;
}

/* The items printed as NDJSON lines of ROOM: their ids, in order, and whether each was flagged
 * as back-filled. */
struct printed {
    char **id;
    int *backfill;
    size_t n;
};

static void free_printed(struct printed *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->id[i]);
    free(p->id);
    free(p->backfill);
    memset(p, 0, sizeof *p);
}

static struct printed parse_printed(const struct text *t)
{
    struct printed p = {0};
    size_t lines = count_lines(t);
    p.id = calloc(lines + 1, sizeof *p.id);
    p.backfill = calloc(lines + 1, sizeof *p.backfill);
    ck_assert(p.id && p.backfill);
    static const char *const id_path[] = {"item", "id", NULL};
    static const char *const backfill_path[] = {"backfill", NULL};
    for (; p.n < lines; p.n++) {
        char *line = line_at(t, p.n), err[256];
        ck_assert_msg(strncmp(line, "{\"room\":\"" ROOM "\",", strlen(ROOM) + 10) == 0, "%s", line);
        yajl_val root = yajl_tree_parse(line, err, sizeof err);
        ck_assert_msg(root != NULL, "%s: %s", err, line);
        yajl_val id = yajl_tree_get(root, (const char **)id_path, yajl_t_string);
        yajl_val backfill = yajl_tree_get(root, (const char **)backfill_path, yajl_t_any);
        ck_assert_msg(id != NULL, "no item.id: %s", line);
        ck_assert_msg(!backfill || YAJL_IS_TRUE(backfill), "%s", line);
        p.id[p.n] = strdup(id->u.string); /* a string, as yajl_tree_get() was asked */
        p.backfill[p.n] = backfill != NULL;
        yajl_tree_free(root);
        free(line);
    }
    return p;
}

/* The ids of ROOM's messages the server posted so far, in order; the caller frees them. */
static char **posted_ids(const fakeserver *fs, size_t *n)
{
    char *all = fakeserver_posted_ids(fs, ROOM);
    ck_assert_ptr_nonnull(all);
    struct text t = {.data = all, .len = strlen(all)};
    *n = count_lines(&t);
    char **ids = calloc(*n + 1, sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t i = 0; i < *n; i++)
        ids[i] = line_at(&t, i);
    free(all);
    return ids;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static size_t index_of(char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return i;
    ck_abort_msg("%s was never posted", id);
    return 0;
}

static const char checkpoint_scenario[] = "token " TOKEN "\nroom " ROOM "\n  post 3000 every 20\n";

/* A run with --checkpoint that prints at least n messages and is stopped by SIGTERM. */
static struct printed run_until_sigterm(fakeserver *fs, size_t n)
{
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--checkpoint", cp_path, "--stream-url", url,
                          "--api-url",    url,     ROOM,           NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, n);
    stop_tail(c, SIGTERM);
    struct printed p = parse_printed(&c->out);
    free_child(c);
    running_child = NULL;
    ck_assert_uint_ge(p.n, n);
    return p;
}

START_TEST(test_checkpoint_names_the_last_id_printed_after_sigterm)
{
    fakeserver *fs = start_server(checkpoint_scenario);
    /* a room not followed in this run keeps its line */
    make_checkpoint(ROOM2 " 89abcdef0123c00000000007\n");
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--checkpoint", cp_path, "--stream-url", url,
                          "--api-url",    url,     ROOM,           NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 3);
    /* kept current while it runs: the file soon names a message that was printed */
    long long deadline = mono_ms() + WAIT_MS;
    char *content = NULL, *running_id = NULL;
    while (!running_id && mono_ms() < deadline && pump(c, 100)) {
        free(content);
        content = read_checkpoint();
        const char *at = strstr(content, "\n" ROOM " ");
        if (at)
            running_id = strndup(at + strlen(ROOM) + 2, strcspn(at + strlen(ROOM) + 2, "\n"));
    }
    ck_assert_msg(running_id != NULL, "no line for the room while running: \"%s\"", content);
    /* printed before it was recorded, so on its way through the pipe */
    while (!strstr(c->out.data, running_id) && mono_ms() < deadline && pump(c, 100))
        ;
    ck_assert_msg(strstr(c->out.data, running_id), "%s was not printed", running_id);
    free(running_id);
    free(content);

    stop_tail(c, SIGTERM);
    struct printed p = parse_printed(&c->out);
    char expected[256];
    snprintf(expected, sizeof expected, ROOM2 " 89abcdef0123c00000000007\n" ROOM " %s\n",
             p.id[p.n - 1]);
    content = read_checkpoint();
    ck_assert_str_eq(content, expected);
    ck_assert_int_eq(access(cp_tmp_path, F_OK), -1);
    free(content);
    free_printed(&p);
}
END_TEST

START_TEST(test_second_run_backfills_exactly_the_missed_messages)
{
    fakeserver *fs = start_server(checkpoint_scenario);
    make_checkpoint(NULL); /* a missing file: no checkpoint yet */
    struct printed first = run_until_sigterm(fs, 5);
    for (size_t i = 0; i < first.n; i++)
        ck_assert_int_eq(first.backfill[i], 0);
    char *content = read_checkpoint(), expected[256];
    snprintf(expected, sizeof expected, ROOM " %s\n", first.id[first.n - 1]);
    ck_assert_str_eq(content, expected);
    free(content);

    /* more than one page of REST answers (100) is missed meanwhile */
    size_t nposted;
    char **posted = posted_ids(fs, &nposted);
    size_t last = index_of(posted, nposted, first.id[first.n - 1]);
    long long deadline = mono_ms() + WAIT_MS;
    while (nposted < last + 1 + 120 && mono_ms() < deadline) {
        free_ids(posted, nposted);
        poll(NULL, 0, 20);
        posted = posted_ids(fs, &nposted);
    }
    ck_assert_uint_ge(nposted, last + 1 + 120);
    size_t missed = nposted - (last + 1);
    free_ids(posted, nposted);

    const char *url = fakeserver_url(fs);
    const char *args[] = {"--checkpoint", cp_path, "--stream-url", url,
                          "--api-url",    url,     ROOM,           NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    /* until three live messages came after the back-filled ones */
    struct printed second = {0};
    deadline = mono_ms() + WAIT_MS;
    for (size_t live = 0; live < 3 && mono_ms() < deadline && pump(c, 100);) {
        free_printed(&second);
        second = parse_printed(&c->out);
        live = 0;
        for (size_t i = 0; i < second.n; i++)
            live += !second.backfill[i];
    }
    stop_tail(c, SIGTERM);
    free_printed(&second);
    second = parse_printed(&c->out);

    /* the missed messages, flagged, then only live ones */
    ck_assert_uint_ge(second.n, missed + 3);
    size_t nbackfill = 0;
    while (nbackfill < second.n && second.backfill[nbackfill])
        nbackfill++;
    ck_assert_uint_ge(nbackfill, missed);
    for (size_t i = nbackfill; i < second.n; i++)
        ck_assert_msg(!second.backfill[i], "line %zu is back-filled after live ones", i);
    ck_assert_uint_ge(second.n - nbackfill, 3);

    /* across both runs: each message posted from the first printed on, once, in order */
    posted = posted_ids(fs, &nposted);
    size_t from = index_of(posted, nposted, first.id[0]);
    ck_assert_uint_ge(nposted - from, first.n + second.n);
    for (size_t i = 0; i < first.n + second.n; i++) {
        const char *got = i < first.n ? first.id[i] : second.id[i - first.n];
        ck_assert_msg(strcmp(got, posted[from + i]) == 0, "printed #%zu is %s, posted %s", i, got,
                      posted[from + i]);
    }
    ck_assert_uint_ge(fakeserver_log_count(fs, "afterId="), 2);
    content = read_checkpoint();
    snprintf(expected, sizeof expected, ROOM " %s\n", second.id[second.n - 1]);
    ck_assert_str_eq(content, expected);
    free(content);
    free_ids(posted, nposted);
    free_printed(&first);
    free_printed(&second);
}
END_TEST

START_TEST(test_pretty_marks_backfilled_messages)
{
    fakeserver *fs = start_server("token " TOKEN "\nroom " ROOM "\n  history 3\n");
    size_t n;
    char **posted = posted_ids(fs, &n);
    ck_assert_uint_eq(n, 3);
    char content[128];
    snprintf(content, sizeof content, ROOM " %s\n", posted[0]);
    free_ids(posted, n);
    make_checkpoint(content);
    const char *url = fakeserver_url(fs);
    const char *args[] = {"--pretty", "--checkpoint", cp_path, "--stream-url", url, "--api-url",
                          url,        ROOM,           NULL};
    struct child *c = spawn_tail(args, TOKEN, NULL);
    await_lines(c, 2);
    for (size_t i = 0; i < 2; i++) {
        char *line = line_at(&c->out, i), expected[64];
        snprintf(expected, sizeof expected, " fakeuser: message %zu (backfill)", i + 2);
        ck_assert_msg(strlen(line) > 8 && strcmp(line + 8, expected) == 0, "%s", line);
        free(line);
    }
    stop_tail(c, SIGTERM);
    ck_assert_uint_eq(count_lines(&c->out), 2);
}
END_TEST

START_TEST(test_malformed_checkpoint_exits_2)
{
    static const char *const bad[] = {
        ROOM "\n",                                                             /* no message id */
        ROOM " 0123456789abcdefc0000001 x\n",                                  /* a third field */
        ROOM "  0123456789abcdefc0000001\n",                                   /* two blanks */
        "fake/room 0123456789abcdefc0000001\n",                                /* not a room id */
        ROOM " 0123456789abcdefc0000001\n" ROOM " 0123456789abcdefc0000002\n", /* twice */
        "\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        make_checkpoint(bad[i]);
        const char *args[] = {"--checkpoint",       cp_path, "--stream-url",
                              "http://127.0.0.1:9", ROOM,    NULL};
        struct child *c = run_without_server(args, TOKEN);
        ck_assert_msg(c->status == 2, "%s: status %d", bad[i], c->status);
        ck_assert_msg(strstr(c->err.data ? c->err.data : "", "checkpoint:"), "%s: %s", bad[i],
                      c->err.data ? c->err.data : "");
        ck_assert_uint_eq(c->out.len, 0);
        free_child(c);
        running_child = NULL;
        remove_checkpoint();
    }
}
END_TEST

START_TEST(test_checkpoint_with_events_exits_2)
{
    const char *args[] = {"--events", "--checkpoint", "unused", ROOM, NULL};
    struct child *c = run_without_server(args, TOKEN);
    ck_assert_int_eq(c->status, 2);
    ck_assert_ptr_nonnull(strstr(c->err.data, "--checkpoint"));
}
END_TEST

static Suite *tail_suite(void)
{
    const struct {
        const char *name;
        const TTest *test;
    } cases[] = {
#define CASE(name) {#name, name}
        CASE(test_prints_one_ndjson_line_per_message_with_the_room),
        CASE(test_prints_items_of_several_rooms),
        CASE(test_pretty_prints_sent_time_user_and_text),
        CASE(test_pretty_uses_receive_time_and_question_mark_without_sent_or_user),
        CASE(test_events_subscribes_to_the_events_resource),
        CASE(test_pretty_events_are_tagged),
        CASE(test_uri_is_resolved_through_post_rooms),
        CASE(test_token_from_environment_is_sent_as_bearer_and_never_shown),
        CASE(test_token_file_first_line_is_sent_as_bearer_and_never_shown),
        CASE(test_sigterm_stops_with_status_0),
        CASE(test_sigint_stops_with_status_0),
        CASE(test_unknown_room_stops_with_status_1_and_an_error_line),
        CASE(test_retried_error_line_gives_the_delay_and_streaming_resumes),
        CASE(test_bad_token_stops_with_status_1),
        CASE(test_unresolvable_uri_exits_2_before_streaming),
        CASE(test_ca_file_verifies_tls_for_resolving_and_streaming),
        CASE(test_untrusted_tls_certificate_stops_resolving_with_status_2),
        CASE(test_untrusted_tls_certificate_never_streams),
        CASE(test_no_room_exits_2_with_usage),
        CASE(test_unknown_option_exits_2_with_usage),
        CASE(test_token_as_argument_is_refused),
        CASE(test_missing_token_exits_2),
        CASE(test_help_prints_usage_and_exit_statuses),
        CASE(test_version_prints_the_version),
        CASE(test_checkpoint_names_the_last_id_printed_after_sigterm),
        CASE(test_second_run_backfills_exactly_the_missed_messages),
        CASE(test_pretty_marks_backfilled_messages),
        CASE(test_malformed_checkpoint_exits_2),
        CASE(test_checkpoint_with_events_exits_2),
#undef CASE
    };
    Suite *s = suite_create("tail");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* "test_" dropped: meson names its tests after the cases, as "tail-<case>" */
        TCase *tc = tcase_create(cases[i].name + 5);
        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_set_timeout(tc, 100);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s TAIL_BINARY FAKESERVER_BINARY\n", argv[0]);
        return 2;
    }
    tail_binary = argv[1];
    server_binary = argv[2];
    SRunner *sr = srunner_create(tail_suite());
    srunner_run_all(sr, CK_NORMAL);
    /* a CK_RUN_CASE that names no case would otherwise pass without running anything */
    int failed = srunner_ntests_failed(sr) || srunner_ntests_run(sr) == 0;
    srunner_free(sr);
    return failed ? 1 : 0;
}
