/* gitterstream-fakeserver: the command line, and the help text that documents the scenario
 * format (README.md carries the same text; the self-test checks that they agree). */
#include "buf.h"
#include "scenario.h"
#include "server.h"
#include "tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *const help_lines[] = {
    "Usage: gitterstream-fakeserver [OPTIONS] SCENARIO_FILE\n",
    "\n",
    "A fake Gitter server for tests: the Streaming API and the REST calls a streaming client "
    "needs,\n",
    "over real HTTP/1.1 on 127.0.0.1, misbehaving on command. SCENARIO_FILE (\"-\" for standard "
    "input)\n",
    "says what the rooms contain and what each connection gets.\n",
    "\n",
    "Options:\n",
    "  --port N             listen on 127.0.0.1:N (default 0: any free port)\n",
    "  --time-limit SECONDS stop after this long (default 60, at most 3600)\n",
    "  --tls-cert FILE      speak TLS with this PEM certificate (chain) ...\n",
    "  --tls-key FILE       ... and this PEM private key\n",
    "  --log FILE           append one line per request and per posted message, flushed at once\n",
    "  --clock-start MS     start the scenario clock at MS instead of 0 (see Restarts)\n",
    "  --help               print this text\n",
    "\n",
    "Once listening it prints \"PORT <n>\" on standard output. It stops after the time limit or "
    "on\n",
    "SIGTERM or SIGINT, prints \"STOP <ms>\" (the scenario time it had posted up to) and exits "
    "0.\n",
    "A bad option or scenario is reported on standard error, with its line number, and exits 2.\n",
    "\n",
    "THE MODEL\n",
    "\n",
    "Time is in milliseconds since the server started listening. Each room has two resources,\n",
    "chatMessages and events, each with a timeline of messages posted at given times. A stream\n",
    "connection gets only what is posted after it connected, like the real service; the REST API\n",
    "serves everything posted so far. Message ids are 24 hex digits increasing in posting order\n",
    "within a resource (a prefix derived from the room id, \"c\" or \"e\" for the resource, a "
    "counter).\n",
    "Message n of a resource (n counts from 1, history included) has the text \"message <n>\" "
    "(events:\n",
    "\"event <n>\") unless the scenario gives one.\n",
    "\n",
    "SCENARIO FORMAT\n",
    "\n",
    "One directive per line; words are separated by blanks; \"#\" starts a comment; blank lines "
    "are\n",
    "ignored. STRING is a JSON string literal in double quotes: the escapes \\\" \\\\ \\/ \\b \\f "
    "\\n \\r \\t\n",
    "and \\uXXXX, and raw UTF-8. A message text is sent on the wire exactly as written, so a "
    "text\n",
    "written with \\u escapes arrives with \\u escapes; the html field carries the decoded text,\n",
    "HTML-escaped, as raw UTF-8. In a text, {n} stands for the message's number.\n",
    "\n",
    "  token SECRET\n",
    "      Every request must carry \"Authorization: Bearer SECRET\", else 401 "
    "{\"error\":\"Unauthorized\"}.\n",
    "\n",
    "  room ROOM_ID [chatMessages|events]\n",
    "      Starts (or goes back to) the room with this id (24 lowercase hex digits) and selects\n",
    "      which of its resources the following history, post and conn lines are about\n",
    "      (default chatMessages).\n",
    "\n",
    "  uri OWNER/NAME\n",
    "      The room's name for POST /v1/rooms.\n",
    "\n",
    "  history COUNT [text STRING]\n",
    "      COUNT messages that existed before the server started (one a second, the last one a\n",
    "      second before time 0): REST serves them, no stream sends them.\n",
    "\n",
    "  post COUNT [every MS] [start MS] [text STRING]\n",
    "      COUNT messages, the first at time \"start\" (default 0; \"at\" is the same word), then "
    "one\n",
    "      every MS (default 0: all at once). Lines may interleave; equal times keep line order.\n",
    "\n",
    "  conn SELECTOR ACTION [OPTIONS]\n",
    "      What stream request number N to this resource gets (N counts from 1, in this run).\n",
    "      SELECTOR is N, N-M, N- (N and after) or default. The first matching line wins, then\n",
    "      the default line; with neither, a plain stream (every option at its default).\n",
    "\n",
    "  rest SELECTOR ACTION\n",
    "      The same for GET chatMessages REST requests to this room, counted separately. ACTION "
    "is\n",
    "      ok (the normal answer, the default), status, close or hang.\n",
    "\n",
    "Actions:\n",
    "  stream [STREAM OPTIONS]   200 with Transfer-Encoding: chunked, held open\n",
    "  status CODE [STATUS OPTIONS]\n",
    "                            a complete reply with that status instead of a stream\n",
    "  close                     read the request, then close the socket without a reply\n",
    "  hang                      read the request, never answer, keep the socket open\n",
    "\n",
    "Status options (the canned bodies: 400 {\"error\":\"Bad Request\"}, 401 "
    "{\"error\":\"Unauthorized\"},\n",
    "403 {\"error\":\"Forbidden\"}, 404 {\"error\":\"Not Found\"}, 429 {\"error\":\"Too Many "
    "Requests\"},\n",
    "other codes {\"error\":\"<reason>\"}, all application/json; 502, 503 and 504 are nginx HTML "
    "pages,\n",
    "text/html, e.g. <html><head><title>502 Bad Gateway</title></head>...):\n",
    "  retry-after SECONDS          a Retry-After header\n",
    "  ratelimit-limit N            X-RateLimit-Limit: N\n",
    "  ratelimit-remaining N        X-RateLimit-Remaining: N\n",
    "  ratelimit-reset MS           X-RateLimit-Reset: now + MS, in epoch milliseconds\n",
    "  body STRING                  this body instead of the canned one\n",
    "  content-type STRING          this Content-Type instead of the canned one\n",
    "\n",
    "Stream options:\n",
    "  dialect cr|lf|crlf|pretty    how items are delimited (default lf): \"\\r\", \"\\n\", "
    "\"\\r\\n\", or\n",
    "                               \"pretty\": items pretty-printed over several lines (raw "
    "\"\\n\"\n",
    "                               inside), each followed by \"\\r\"\n",
    "  keepalive MS                 send keep-alive bytes every MS ms (default: none)\n",
    "  keepalive-bytes STRING       the keep-alive bytes (default \" \\n\")\n",
    "  chunking item                one chunk per item and per keep-alive (default)\n",
    "  chunking drip                one byte per chunk\n",
    "  chunking merge N             N items, and the keep-alives and injected frames that came\n",
    "                               between them, in one chunk; what is pending goes out when "
    "the\n",
    "                               timeline has no more messages, or at end-after, stall-after "
    "or\n",
    "                               a cut; a keep-alive with nothing pending is a chunk of its "
    "own\n",
    "  chunking split-utf8          a chunk boundary right after the first byte of every "
    "multi-byte\n",
    "                               UTF-8 character (use a text with non-ASCII characters)\n",
    "  chunking random SEED         chunks of 1 to 48 bytes, sizes drawn from SEED (the same on\n",
    "                               every connection)\n",
    "  chunk-delay MS               at least MS ms between two chunks (default 0: as they come)\n",
    "  end-after N                  after N items, the terminating 0-size chunk; the connection\n",
    "                               then serves another request if the client keeps it alive\n",
    "  cut-after N                  send half of item N+1 (its chunk header announcing the whole\n",
    "                               chunk), then close: no terminating chunk\n",
    "  cut-at-byte B                close once B bytes of the body (chunk framing not counted)\n",
    "                               are sent, in the middle of a chunk if B falls there\n",
    "  stall-after N                after N items send nothing more (no keep-alives either) and\n",
    "                               keep the socket open\n",
    "  inject POS KIND              after POS items (0: right after the headers), send a bad "
    "frame,\n",
    "                               followed by the dialect's delimiter; several may be given.\n",
    "                               Injected frames do not count as items. KIND is one of:\n",
    "      invalid-json                {\"text\" \"invalid json\"}\n",
    "      invalid-utf8 [VARIANT]      {\"text\":\"bad <bytes> utf8\"} with VARIANT byte (FF, "
    "the\n",
    "                                  default), overlong (C0 AF), surrogate (ED A0 80), "
    "above-max\n",
    "                                  (F4 90 80 80) or truncated (E2 82)\n",
    "      array                       a top-level array holding one message-like object\n",
    "      trailing                    {\"text\":\"trailing garbage\"} x\n",
    "      oversize SIZE               a valid object of exactly SIZE bytes (11 to 16777216)\n",
    "      deep DEPTH                  objects nested DEPTH deep: {\"a\":{\"a\":...{}...}}\n",
    "      raw STRING                  the decoded bytes of STRING, with no delimiter added\n",
    "\n",
    "REQUESTS SERVED\n",
    "\n",
    "  GET /v1/rooms/ROOM_ID/chatMessages, GET /v1/rooms/ROOM_ID/events\n",
    "      The stream, as the conn lines say. A malformed room id is a 400, an unknown room or\n",
    "      resource a 404 {\"error\":\"Not Found\"}.\n",
    "  GET /api/v1/rooms/ROOM_ID/chatMessages[?afterId=&beforeId=&limit=&skip=]\n",
    "      REST: the room's chatMessages posted so far, a JSON array, oldest first. The stream "
    "and\n",
    "      REST share one listener: under /api, or with any of these four query parameters, a\n",
    "      request is REST. limit: default 50, 0 means 50, over 100 means 100. skip over 5000, a\n",
    "      malformed id or number: 400. With afterId: the oldest \"limit\" messages after it "
    "(skip\n",
    "      drops the oldest first). With beforeId: the newest \"limit\" before it. With both: "
    "the\n",
    "      messages between them, oldest \"limit\". With neither: the newest \"limit\" (skip drops "
    "the\n",
    "      newest first).\n",
    "  POST /v1/rooms (or /api/v1/rooms) with body {\"uri\":\"OWNER/NAME\"}\n",
    "      The room object {\"id\":...,\"name\":...,\"uri\":...,...} of the room with that uri, "
    "else 404.\n",
    "  Anything else: 404. Requests may use absolute-form targets (as sent to a proxy).\n",
    "\n",
    "Connections are persistent (HTTP/1.1 keep-alive) unless the client says otherwise.\n",
    "\n",
    "THE LOG (--log)\n",
    "\n",
    "  <conn>\\t<METHOD>\\t<target>\\t<header-name: value>\\t...\n",
    "      One line per request, as it arrives: conn is the connection's number in accept order,\n",
    "      header names are lower-cased, control characters become spaces.\n",
    "  POSTED\\t<ROOM_ID>\\t<MESSAGE_ID>\n",
    "      One line per message of either resource as it is posted (history at start), in order.\n",
    "\n",
    "RESTARTS\n",
    "\n",
    "A run started with --clock-start MS takes everything scheduled up to MS as already posted\n",
    "(served by REST, not streamed, not logged again) and carries on from there. To restart a "
    "server\n",
    "where it stopped, pass the number its \"STOP <ms>\" line gave; request numbers start again at "
    "1.\n",
    "\n",
    "EXAMPLE\n",
    "\n",
    "  token s3cret\n",
    "  room 0123456789abcdef01234567\n",
    "    uri fake/room\n",
    "    history 120\n",
    "    post 50 every 20 start 300\n",
    "    post 1 at 500 text \"caf\\u00e9 \\\"quoted\\\" \\\\ \\ud83d\\ude00 na\\u00efve ü {n}\"\n",
    "    conn 1 status 429 retry-after 1 ratelimit-limit 100 ratelimit-remaining 0 ratelimit-reset "
    "1000\n",
    "    conn 2 stream dialect cr keepalive 50 cut-after 3\n",
    "    conn 3 stream dialect pretty chunking drip inject 1 invalid-utf8 overlong stall-after 5\n",
    "    conn default stream keepalive 100 keepalive-bytes \"\\n\"\n",
    "    rest 1 status 502\n",
    "  room 0123456789abcdef01234567 events\n",
    "    post 5 every 100\n",
    "\n",
    "  $ gitterstream-fakeserver --log requests.log scenario.txt\n",
    "  PORT 40123\n",
    "  $ curl -sN -H 'Authorization: Bearer s3cret' \\\n",
    "      http://127.0.0.1:40123/v1/rooms/0123456789abcdef01234567/chatMessages\n",
};

static void usage(FILE *f)
{
    for (size_t i = 0; i < sizeof help_lines / sizeof help_lines[0]; i++)
        fputs(help_lines[i], f);
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gitterstream-fakeserver: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nTry 'gitterstream-fakeserver --help'.\n", stderr);
    va_end(ap);
    return 2;
}

static int parse_number(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static char *read_all(FILE *f, size_t *len)
{
    struct buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    if (ferror(f)) {
        buf_free(&b);
        return NULL;
    }
    buf_reserve(&b, 0);
    *len = b.len;
    return b.data;
}

/* 200 subscriptions at once need more descriptors than the usual soft limit of 1024 leaves. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    struct server_config cfg = {.time_limit_ms = 60 * 1000};
    const char *cert = NULL, *key = NULL, *scenario_path = NULL;
    long long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        static const char *const with_value[] = {
            "--port", "--time-limit", "--tls-cert", "--tls-key", "--log", "--clock-start", NULL};
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (scenario_path)
                return bad_usage("more than one scenario file ('%s')", a);
            scenario_path = a;
            continue;
        }
        size_t k;
        for (k = 0; with_value[k]; k++) {
            size_t n = strlen(with_value[k]);
            if (strncmp(a, with_value[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
                break;
            }
        }
        if (!with_value[k])
            return bad_usage("unknown option '%s'", a);
        if (!val)
            return bad_usage("option '%s' needs a value", a);
        if (k == 0) {
            if (parse_number(val, 0, 65535, &v))
                return bad_usage("bad port '%s'", val);
            cfg.port = (int)v;
        } else if (k == 1) {
            if (parse_number(val, 1, 3600, &v))
                return bad_usage("bad time limit '%s' (1 to 3600 seconds)", val);
            cfg.time_limit_ms = v * 1000;
        } else if (k == 2) {
            cert = val;
        } else if (k == 3) {
            key = val;
        } else if (k == 4) {
            cfg.log_path = val;
        } else {
            if (parse_number(val, 0, 86400000LL * 365, &v))
                return bad_usage("bad clock start '%s'", val);
            cfg.clock_start_ms = v;
        }
    }
    if (!scenario_path)
        return bad_usage("no scenario file");
    if ((cert == NULL) != (key == NULL))
        return bad_usage("--tls-cert and --tls-key go together");

    FILE *f = strcmp(scenario_path, "-") == 0 ? stdin : fopen(scenario_path, "rb");
    if (!f) {
        fprintf(stderr, "gitterstream-fakeserver: cannot open %s: %s\n", scenario_path,
                strerror(errno));
        return 2;
    }
    size_t len;
    char *text = read_all(f, &len);
    if (f != stdin)
        fclose(f);
    if (!text) {
        fprintf(stderr, "gitterstream-fakeserver: cannot read %s\n", scenario_path);
        return 2;
    }
    struct scenario sc;
    char err[512];
    int rc = scenario_parse(&sc, text, len, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "gitterstream-fakeserver: %s:%s\n",
                strcmp(scenario_path, "-") == 0 ? "<stdin>" : scenario_path, err + 5);
        return 2;
    }
    if (cert && !(cfg.tls = tls_context(cert, key))) {
        scenario_free(&sc);
        return 2;
    }
    raise_fd_limit();
    rc = server_run(&sc, &cfg);
    if (cfg.tls)
        tls_context_free(cfg.tls);
    scenario_free(&sc);
    return rc;
}
