/* gitterstream-tail: follow Gitter rooms with libgitterstream and print what arrives, as NDJSON
 * or as lines for people. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_parse.h>

#include <gitterstream.h>

#include "tail.h"

enum { EXIT_STOPPED = 1, EXIT_USAGE = 2 };

struct tail {
    int pretty;
    int output_failed;
    struct checkpoint *cp; /* NULL without --checkpoint */
};

/* Set while the handle lives, for the signal handler and for stopping when output fails. */
static gitterstream *volatile signal_gs;
static volatile sig_atomic_t got_signal;

static const char usage_text[] =
    "Usage: " PROG " [OPTIONS] ROOM...\n"
    "\n"
    "Follow Gitter rooms through the Streaming API and print each item as it arrives.\n"
    "ROOM is a room id, or an OWNER/NAME uri that is resolved through the REST API first.\n"
    "The access token comes from the environment variable GITTER_TOKEN or --token-file.\n"
    "\n"
    "Options:\n"
    "  --token-file FILE  read the access token from the first line of FILE\n"
    "  --events           follow the rooms' events instead of their chat messages\n"
    "  --pretty           print \"HH:MM:SS user: text\" lines instead of NDJSON\n"
    "  --checkpoint FILE  resume each room after the last message printed, as FILE records\n"
    "                     (\"ROOM_ID MESSAGE_ID\" lines, kept current); not with --events\n"
    "  --stream-url URL   base URL of the Streaming API (default https://stream.gitter.im)\n"
    "  --api-url URL      base URL of the REST API (default " DEFAULT_API_URL ")\n"
    "  --ca-file FILE     verify servers with the CA certificates (PEM) in FILE\n"
    "  --help             print this text and exit\n"
    "  --version          print the version and exit\n"
    "\n"
    "Output: one line per item on standard output, {\"room\":ROOM_ID,\"item\":ITEM}, with\n"
    "\"backfill\":true before \"item\" for messages fetched from the REST API to fill a gap\n"
    "(--pretty: \" (backfill)\" at the end); connection states and errors on standard error.\n"
    "\n"
    "Exit status: 0 stopped by SIGINT or SIGTERM; 1 every room stopped on an error\n"
    "(such as 401 or 404), output failed, or the checkpoint could not be written at exit;\n"
    "2 usage or setup error (bad option, no token, a uri that cannot be resolved, an\n"
    "unreadable or malformed checkpoint file, --checkpoint with --events).\n";

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
    gitterstream_break(signal_gs);
}

/* The token must not outlive its use in freed memory, where a core dump could show it. */
void wipe(char *s)
{
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
}

/* The first line of the file, or else $GITTER_TOKEN: never an argument, which others can see. */
static char *load_token(const char *path)
{
    if (!path) {
        const char *env = getenv("GITTER_TOKEN");
        if (!env || !env[0]) {
            fprintf(stderr, PROG ": no token: set GITTER_TOKEN or use --token-file\n");
            return NULL;
        }
        char *token = strdup(env);
        if (!token)
            fprintf(stderr, PROG ": out of memory\n");
        return token;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    int failed = ferror(f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (failed || n <= 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, failed ? "read error" : "no token in the file");
        wipe(line);
        free(line);
        return NULL;
    }
    return line;
}

static void print_line(struct tail *t, const char *s, size_t len)
{
    if (t->output_failed)
        return;
    fwrite(s, 1, len, stdout);
    if (putchar('\n') == EOF || fflush(stdout) != 0) {
        t->output_failed = 1;
        /* every id delivered so far was printed, but not the one whose callback this is */
        if (t->cp) {
            cp_sync(t->cp, 0);
            t->cp->frozen = 1;
        }
        fprintf(stderr, PROG ": standard output: %s\n", strerror(errno));
        gitterstream_break(signal_gs);
    }
}

/* "sent" gives the time the item was posted: HH:MM:SS as written there, without conversion. */
static void item_time(const gitterstream_msg *m, char out[9])
{
    const char *s = gitterstream_msg_str(m, "sent");
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    int ok = s != NULL && strlen(s) >= sizeof shape - 1;
    for (size_t i = 0; ok && i < sizeof shape - 1; i++)
        ok = shape[i] == 'd' ? s[i] >= '0' && s[i] <= '9' : s[i] == shape[i];
    if (ok && (s[11] - '0') * 10 + (s[12] - '0') < 24 && s[14] < '6' && s[17] < '7') {
        memcpy(out, s + 11, 8);
        out[8] = '\0';
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    if (!localtime_r(&now, &tm) || strftime(out, 9, "%H:%M:%S", &tm) != 8)
        strcpy(out, "??:??:??");
}

static void print_pretty(struct tail *t, gitterstream_sub *sub, const gitterstream_msg *m)
{
    char when[9];
    item_time(m, when);
    const char *user = gitterstream_msg_str(m, "fromUser.username");
    const char *text = gitterstream_msg_str(m, "text");
    if (!text)
        text = "";
    int events = gitterstream_sub_resource(sub) == GITTERSTREAM_EVENTS;
    size_t cap = strlen(text) + (user ? strlen(user) : 1) + 48;
    char *line = malloc(cap);
    if (!line) {
        fprintf(stderr, PROG ": out of memory\n");
        return;
    }
    int n = snprintf(line, cap, "%s %s%s%s%s", when,
                     events ? "[event]"
                     : user ? user
                            : "?",
                     events ? " " : ": ", text,
                     gitterstream_msg_is_backfill(m) == 1 ? " (backfill)" : "");
    /* Control characters would break the line or drive the terminal. */
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = ' ';
    print_line(t, line, (size_t)n);
    free(line);
}

static void print_item(gitterstream_sub *sub, const gitterstream_msg *m, void *ud)
{
    struct tail *t = ud;
    if (t->pretty) {
        print_pretty(t, sub, m);
        return;
    }
    size_t len;
    const char *json = gitterstream_msg_json(m, &len);
    const char *room = gitterstream_sub_room(sub);
    char *line = malloc(len + strlen(room) + sizeof "{\"room\":\"\",\"backfill\":true,\"item\":}");
    if (!line) {
        fprintf(stderr, PROG ": out of memory\n");
        return;
    }
    int head = sprintf(line, "{\"room\":\"%s\",%s\"item\":", room,
                       gitterstream_msg_is_backfill(m) == 1 ? "\"backfill\":true," : "");
    /* Raw newlines in an item can only be whitespace between tokens: as spaces, the JSON stays
     * valid and on one line. */
    for (size_t i = 0; i < len; i++)
        line[head + i] = json[i] == '\n' || json[i] == '\r' ? ' ' : json[i];
    line[head + len] = '}';
    print_line(t, line, head + len + 1);
    free(line);
}

static const char *sub_label(gitterstream_sub *sub)
{
    const char *label = gitterstream_sub_userdata(sub);
    return label ? label : gitterstream_sub_room(sub);
}

static void print_state(gitterstream_sub *sub, gitterstream_state state, void *ud)
{
    static const char *const names[] = {"connecting", "streaming", "backfilling", "waiting",
                                        "stopped"};
    (void)ud;
    if ((unsigned)state < sizeof names / sizeof names[0])
        fprintf(stderr, PROG ": %s: %s\n", sub_label(sub), names[state]);
}

static void print_error(gitterstream_sub *sub, const gitterstream_error *e, void *ud)
{
    (void)ud;
    char status[32] = "", retry[48];
    long http = gitterstream_error_http_status(e);
    if (http)
        snprintf(status, sizeof status, " (HTTP %ld)", http);
    long ms = gitterstream_error_retry_ms(e);
    if (ms < 0)
        strcpy(retry, "stopped");
    else if (ms == 0)
        strcpy(retry, "skipped");
    else
        snprintf(retry, sizeof retry, "retrying in %ld ms", ms);
    const char *text = gitterstream_error_text(e);
    fprintf(stderr, PROG ": %s%serror: %s%s%s%s%s%s\n", sub ? sub_label(sub) : "", sub ? ": " : "",
            gitterstream_strerror(gitterstream_error_code(e)), status, text[0] ? ": " : "", text,
            sub ? "; " : "", sub ? retry : "");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    const char **values[] = {NULL,        &o->token_file, &o->stream_url,
                             &o->api_url, &o->ca_file,    &o->checkpoint};
    const struct option longopts[] = {
        {"token-file", required_argument, NULL, 1}, {"stream-url", required_argument, NULL, 2},
        {"api-url", required_argument, NULL, 3},    {"ca-file", required_argument, NULL, 4},
        {"checkpoint", required_argument, NULL, 5}, {"events", no_argument, &o->events, 1},
        {"pretty", no_argument, &o->pretty, 1},     {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c > 0 && c <= 5) {
            *values[c] = optarg;
        } else if (c == 'h') {
            fputs(usage_text, stdout);
            return 0;
        } else if (c == 'V') {
            printf(PROG " %s (libgitterstream %s)\n", GITTERSTREAM_VERSION, gitterstream_version());
            return 0;
        } else if (c != 0) {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, PROG ": no ROOM given\n");
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (o->checkpoint && o->events) {
        fprintf(stderr, PROG ": --checkpoint applies to chat messages only, not --events\n");
        return EXIT_USAGE;
    }
    return -1;
}

static int configure(gitterstream *gs, const struct options *o, const char *token)
{
    const struct {
        gitterstream_option opt;
        const char *value, *what;
    } settings[] = {
        {GITTERSTREAM_OPT_TOKEN, token, "the token"},
        {GITTERSTREAM_OPT_STREAM_URL, o->stream_url, "--stream-url"},
        {GITTERSTREAM_OPT_API_URL, o->api_url, "--api-url"},
        {GITTERSTREAM_OPT_CA_FILE, o->ca_file, "--ca-file"},
        {GITTERSTREAM_OPT_USER_AGENT, PROG "/" GITTERSTREAM_VERSION, "the user agent"},
    };
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        if (!settings[i].value)
            continue;
        int rc = gitterstream_set_str(gs, settings[i].opt, settings[i].value);
        if (rc != GITTERSTREAM_OK) {
            fprintf(stderr, PROG ": %s: %s\n", settings[i].what, gitterstream_strerror(rc));
            return -1;
        }
    }
    return 0;
}

static int subscribe_all(gitterstream *gs, const struct options *o, const char *token, int nrooms,
                         char **rooms, char **ids, struct checkpoint *cp)
{
    const char *api_url = o->api_url ? o->api_url : DEFAULT_API_URL;
    for (int i = 0; i < nrooms; i++) {
        const char *id = rooms[i];
        for (const char *c = rooms[i]; *c; c++) {
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) {
                fprintf(stderr, PROG ": %s: not a room id or uri\n", rooms[i]);
                return -1;
            }
        }
        if (strchr(rooms[i], '/')) {
            ids[i] = resolve_uri(rooms[i], token, api_url, o->ca_file);
            if (!ids[i])
                return -1;
            id = ids[i];
        }
        gitterstream_sub *sub;
        int rc = gitterstream_subscribe(
            gs, id, o->events ? GITTERSTREAM_EVENTS : GITTERSTREAM_CHAT_MESSAGES, &sub);
        if (rc != GITTERSTREAM_OK) {
            fprintf(stderr, PROG ": %s: %s\n", rooms[i],
                    rc == GITTERSTREAM_E_INVALID ? "not a room id" : gitterstream_strerror(rc));
            return -1;
        }
        gitterstream_sub_set_userdata(sub, rooms[i]);
        if (cp && cp_attach(cp, sub, rooms[i]) != 0)
            return -1;
    }
    return 0;
}

/* gitterstream_run(), or with a checkpoint the same loop turn by turn, to keep the file current
 * even when no message comes. */
static int run(gitterstream *gs, struct tail *t)
{
    if (!t->cp)
        return got_signal ? GITTERSTREAM_OK : gitterstream_run(gs);
    for (;;) {
        long long wait = cp_sync(t->cp, 0);
        int active = 0;
        for (size_t i = 0; i < t->cp->n; i++)
            active |=
                t->cp->e[i].sub && gitterstream_sub_state(t->cp->e[i].sub) != GITTERSTREAM_STOPPED;
        if (got_signal || t->output_failed || !active)
            return GITTERSTREAM_OK;
        int rc = gitterstream_poll(gs, (int)wait);
        if (rc != GITTERSTREAM_OK)
            return rc;
    }
}

int main(int argc, char **argv)
{
    struct options o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    int nrooms = argc - optind;
    char **rooms = argv + optind;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, PROG ": cannot initialise libcurl\n");
        return EXIT_USAGE;
    }
    struct checkpoint cp = {.path = o.checkpoint};
    struct tail t = {.pretty = o.pretty, .cp = o.checkpoint ? &cp : NULL};
    char *token = !t.cp || cp_load(&cp) == 0 ? load_token(o.token_file) : NULL;
    char **ids = calloc((size_t)nrooms, sizeof *ids);
    gitterstream *gs = token && ids ? gitterstream_new() : NULL;
    rc = EXIT_USAGE;
    if (token && !gs)
        fprintf(stderr, PROG ": out of memory\n");
    if (!gs || configure(gs, &o, token) != 0 ||
        subscribe_all(gs, &o, token, nrooms, rooms, ids, t.cp) != 0)
        goto out;
    wipe(token);

    gitterstream_on_message(gs, print_item, &t);
    gitterstream_on_event(gs, print_item, &t);
    gitterstream_on_error(gs, print_error, &t);
    gitterstream_on_state(gs, print_state, &t);

    signal_gs = gs;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int run_rc = run(gs, &t);
    /* A signal after this point must not reach a freed handle; blocked, it is simply dropped at
     * exit. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    signal_gs = NULL;
    if (run_rc != GITTERSTREAM_OK)
        fprintf(stderr, PROG ": %s\n", gitterstream_strerror(run_rc));
    /* every id delivered is final now: a clean stop leaves the exact last one */
    if (t.cp)
        cp_sync(t.cp, 1);
    rc =
        got_signal && run_rc == GITTERSTREAM_OK && !t.output_failed && !cp.dirty ? 0 : EXIT_STOPPED;
out:
    gitterstream_free(gs);
    for (int i = 0; ids && i < nrooms; i++)
        free(ids[i]);
    free(ids);
    wipe(token);
    free(token);
    free(cp.e);
    free(cp.tmp);
    curl_global_cleanup();
    return rc;
}
