/* The test helper that runs gitterstream-fakeserver as a child process. */
#include "fakeserver-client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  5000

struct fakeserver {
    char *binary;
    char **extra; /* NULL-terminated */
    int tls;
    char dir[4096];
    char scenario_path[4200];
    char log_path[4200];
    char url[64];
    pid_t pid; /* 0: not running */
    int out_fd;
    int port;
    long long clock_ms; /* where the last run's scenario clock stopped */
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one line from fd into line, waiting up to timeout_ms. 0 on success. */
static int read_line(int fd, char *line, size_t size, int timeout_ms)
{
    size_t n = 0;
    long long deadline = mono_ms() + timeout_ms;
    while (n + 1 < size) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t r = read(fd, line + n, 1); /* byte by byte: nothing after the line is taken */
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (line[n] == '\n') {
            line[n] = '\0';
            return 0;
        }
        n++;
    }
    return -1;
}

static int spawn(fakeserver *fs, int port)
{
    char port_arg[16], clock_arg[32];
    snprintf(port_arg, sizeof port_arg, "%d", port);
    snprintf(clock_arg, sizeof clock_arg, "%lld", fs->clock_ms);
    size_t n_extra = 0;
    while (fs->extra[n_extra])
        n_extra++;
    const char **argv = calloc(n_extra + 12, sizeof *argv);
    if (!argv)
        return -1;
    size_t a = 0;
    argv[a++] = fs->binary;
    argv[a++] = "--port";
    argv[a++] = port_arg;
    argv[a++] = "--log";
    argv[a++] = fs->log_path;
    argv[a++] = "--clock-start";
    argv[a++] = clock_arg;
    for (size_t i = 0; i < n_extra; i++)
        argv[a++] = fs->extra[i];
    argv[a++] = fs->scenario_path;
    argv[a] = NULL;

    int pipefd[2];
    if (pipe(pipefd) != 0) {
        free(argv);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        free(argv);
        return -1;
    }
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execv(fs->binary, (char *const *)argv);
        fprintf(stderr, "fakeserver: cannot run %s: %s\n", fs->binary, strerror(errno));
        _exit(127);
    }
    free(argv);
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFD, FD_CLOEXEC);
    fs->pid = pid;
    fs->out_fd = pipefd[0];
    char line[128];
    if (read_line(fs->out_fd, line, sizeof line, START_TIMEOUT_MS) != 0 ||
        sscanf(line, "PORT %d", &fs->port) != 1) {
        fakeserver_halt(fs);
        return -1;
    }
    snprintf(fs->url, sizeof fs->url, "%s://127.0.0.1:%d", fs->tls ? "https" : "http", fs->port);
    return 0;
}

static void remove_files(fakeserver *fs)
{
    unlink(fs->scenario_path);
    unlink(fs->log_path);
    rmdir(fs->dir);
}

static void release(fakeserver *fs)
{
    for (size_t i = 0; fs->extra && fs->extra[i]; i++)
        free(fs->extra[i]);
    free(fs->extra);
    free(fs->binary);
    free(fs);
}

fakeserver *fakeserver_start(const char *binary, const char *scenario,
                             const char *const *extra_args)
{
    if (!binary || !scenario)
        return NULL;
    fakeserver *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->out_fd = -1;
    size_t n_extra = 0;
    while (extra_args && extra_args[n_extra])
        n_extra++;
    fs->binary = strdup(binary);
    fs->extra = calloc(n_extra + 1, sizeof *fs->extra);
    if (!fs->binary || !fs->extra) {
        release(fs);
        return NULL;
    }
    for (size_t i = 0; i < n_extra; i++) {
        if (!(fs->extra[i] = strdup(extra_args[i]))) {
            release(fs);
            return NULL;
        }
        if (strcmp(extra_args[i], "--tls-cert") == 0 ||
            strncmp(extra_args[i], "--tls-cert=", 11) == 0)
            fs->tls = 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(fs->dir, sizeof fs->dir, "%s/fakeserver-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fs->dir)) {
        release(fs);
        return NULL;
    }
    snprintf(fs->scenario_path, sizeof fs->scenario_path, "%s/scenario.txt", fs->dir);
    snprintf(fs->log_path, sizeof fs->log_path, "%s/requests.log", fs->dir);
    FILE *f = fopen(fs->scenario_path, "w");
    int ok = f && fputs(scenario, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || spawn(fs, 0) != 0) {
        remove_files(fs);
        release(fs);
        return NULL;
    }
    return fs;
}

int fakeserver_port(const fakeserver *fs)
{
    return fs ? fs->port : -1;
}

const char *fakeserver_url(const fakeserver *fs)
{
    return fs ? fs->url : NULL;
}

const char *fakeserver_log_path(const fakeserver *fs)
{
    return fs ? fs->log_path : NULL;
}

char *fakeserver_read_log(const fakeserver *fs)
{
    if (!fs)
        return NULL;
    FILE *f = fopen(fs->log_path, "rb");
    if (!f)
        return NULL;
    size_t len = 0, cap = 4096;
    char *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(data, cap * 2);
            if (!bigger) {
                free(data);
                data = NULL;
            }
            data = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (data)
        data[len] = '\0';
    return data;
}

size_t fakeserver_log_count(const fakeserver *fs, const char *needle)
{
    char *log = fakeserver_read_log(fs);
    size_t count = 0;
    for (char *line = log; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strstr(line, needle))
            count++;
        line = nl ? nl + 1 : line + strlen(line);
    }
    free(log);
    return count;
}

char *fakeserver_posted_ids(const fakeserver *fs, const char *room_id)
{
    char *log = fakeserver_read_log(fs);
    if (!log || !room_id)
        return log;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "POSTED\t%s\t", room_id);
    size_t plen = strlen(prefix), out = 0;
    for (char *line = log; *line;) {
        char *nl = strchr(line, '\n');
        size_t llen = nl ? (size_t)(nl - line) : strlen(line);
        if (llen > plen && strncmp(line, prefix, plen) == 0) {
            /* ids are copied over the log itself: the output never outgrows the input */
            memmove(log + out, line + plen, llen - plen);
            out += llen - plen;
            log[out++] = '\n';
        }
        line += llen + (nl != NULL);
    }
    log[out] = '\0';
    return log;
}

/* Reads the server's standard output until it closes, which happens only when the server exits,
 * keeping the clock of its "STOP <ms>" line. 1 if it closed within timeout_ms, else 0. */
static int await_exit(fakeserver *fs, int timeout_ms)
{
    char out[256];
    size_t len = 0;
    long long deadline = mono_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fs->out_fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return 0;
        if (len == sizeof out - 1) { /* more than a STOP line: keep the tail */
            memmove(out, out + len / 2, len - len / 2);
            len -= len / 2;
        }
        ssize_t r = read(fs->out_fd, out + len, sizeof out - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return 0;
        if (r == 0)
            break;
        len += (size_t)r;
    }
    out[len] = '\0';
    long long clock;
    for (const char *line = out; line;) {
        if (sscanf(line, "STOP %lld", &clock) == 1)
            fs->clock_ms = clock;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return 1;
}

/* Reaps the exited (or killed) server; 0 if it had exited with status 0. */
static int reap(fakeserver *fs)
{
    int status = 0;
    pid_t r;
    while ((r = waitpid(fs->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    close(fs->out_fd);
    fs->out_fd = -1;
    fs->pid = 0;
    return r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int fakeserver_wait_exit(fakeserver *fs, int timeout_ms)
{
    if (!fs || fs->pid <= 0 || !await_exit(fs, timeout_ms))
        return -1;
    return reap(fs);
}

int fakeserver_halt(fakeserver *fs)
{
    if (!fs || fs->pid <= 0)
        return 0;
    kill(fs->pid, SIGTERM);
    if (!await_exit(fs, STOP_TIMEOUT_MS)) {
        kill(fs->pid, SIGKILL);
        reap(fs);
        return -1;
    }
    return reap(fs);
}

int fakeserver_restart(fakeserver *fs)
{
    if (!fs)
        return -1;
    fakeserver_halt(fs);
    return spawn(fs, fs->port);
}

void fakeserver_stop(fakeserver *fs)
{
    if (!fs)
        return;
    fakeserver_halt(fs);
    remove_files(fs);
    release(fs);
}
