/* bench-decode: decode throughput of the parser against yajl alone.
 *
 *   bench-decode [MEGABYTES [RUNS]]     (default 50 MB, 5 runs)
 *
 * Generates a stream of realistic chat messages delimited by '\r' with
 * " \n" keep-alives, then times, on the same bytes in the same 64 KiB
 * feeds: yajl_parse with empty callbacks (the baseline), the parser with
 * an empty item callback, and the parser reading three fields per item.
 * Prints medians, the ratio to the baseline, and allocations per item in
 * steady state. Exits 1 unless every generated item is decoded, with no
 * error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_parse.h>

#include "counting-alloc.h"
#include <gitterstream.h>

#define FEED 65536

static const char *const words[] = {"hello",
                                    "stream",
                                    "gitter",
                                    "reconnect",
                                    "backfill",
                                    "caf\xc3\xa9",
                                    "\xe6\xbc\xa2\xe5\xad\x97",
                                    "\\\"quoted\\\"",
                                    "emoji \xf0\x9f\x98\x80",
                                    "line\\nbreak",
                                    "\\u00e9t\\u00e9"};

static char *generate(size_t target, size_t *len, unsigned long *items)
{
    char *s = malloc(target + 4096);
    size_t n = 0;
    unsigned long i = 0;
    unsigned seed = 12345;
    while (n < target) {
        seed = seed * 1103515245 + 12345;
        int nwords = 3 + (int)(seed >> 16) % 60;
        char text[2048];
        size_t t = 0;
        for (int w = 0; w < nwords; w++) {
            seed = seed * 1103515245 + 12345;
            t += (size_t)sprintf(text + t, "%s%s", w ? " " : "",
                                 words[(seed >> 16) % (sizeof words / sizeof *words)]);
        }
        n += (size_t)sprintf(
            s + n,
            "{\"id\":\"5f1a%020lx\",\"text\":\"%s\",\"html\":\"%s\",\"sent\":"
            "\"2026-12-04T16:00:00.%03luZ\",\"readBy\":%lu,\"urls\":[],\"mentions\":[],"
            "\"issues\":[],\"meta\":[],\"v\":1,\"fromUser\":{\"id\":\"5563e1c5e4b0b8f2a0b1c2d3\","
            "\"username\":\"user%lu\",\"displayName\":\"User %lu\",\"url\":\"/user%lu\","
            "\"avatarUrl\":\"https://avatars.example/u%lu\",\"v\":3,\"gv\":\"4\"}}\r",
            i, text, text, i % 1000, i % 7, i % 97, i % 97, i % 97, i % 97);
        if (i % 50 == 49)
            n += (size_t)sprintf(s + n, " \n");
        i++;
    }
    *len = n;
    *items = i;
    return s;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The baseline: yajl on its own, every callback present and empty. */
static int y_null(void *ctx)
{
    return 1;
}
static int y_bool(void *ctx, int b)
{
    return 1;
}
static int y_number(void *ctx, const char *s, size_t n)
{
    return 1;
}
static int y_string(void *ctx, const unsigned char *s, size_t n)
{
    return 1;
}
static const yajl_callbacks empty_callbacks = {y_null, y_bool,   NULL,   NULL,   y_number, y_string,
                                               y_null, y_string, y_null, y_null, y_null};

static double run_yajl(const char *s, size_t len)
{
    yajl_handle h = yajl_alloc(&empty_callbacks, NULL, NULL);
    yajl_config(h, yajl_allow_multiple_values, 1);
    double t0 = now();
    for (size_t i = 0; i < len; i += FEED)
        if (yajl_parse(h, (const unsigned char *)s + i, len - i < FEED ? len - i : FEED) !=
            yajl_status_ok) {
            fprintf(stderr, "yajl rejected the stream\n");
            exit(1);
        }
    double t = now() - t0;
    yajl_free(h);
    return t;
}

struct tally {
    unsigned long items, errors;
    int read_fields;
};

static void on_item(const gitterstream_msg *m, void *ud)
{
    struct tally *t = ud;
    if (t->read_fields) {
        long long v;
        if (!gitterstream_msg_str(m, "id") || !gitterstream_msg_str(m, "fromUser.username") ||
            gitterstream_msg_int(m, "readBy", &v) != 0)
            t->errors++;
    }
    t->items++;
}

static void on_error(const gitterstream_error *e, void *ud)
{
    ((struct tally *)ud)->errors++;
}

static double run_parser(const char *s, size_t len, struct tally *t)
{
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_on_item(p, on_item, t);
    gitterstream_parser_on_error(p, on_error, t);
    double t0 = now();
    for (size_t i = 0; i < len; i += FEED)
        gitterstream_parser_feed(p, s + i, len - i < FEED ? len - i : FEED);
    double elapsed = now() - t0;
    gitterstream_parser_free(p);
    return elapsed;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 50;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (mb == 0 || runs <= 0 || runs > 100) {
        fprintf(stderr, "usage: bench-decode [MEGABYTES [RUNS]]\n");
        return 2;
    }
    size_t len;
    unsigned long expected;
    char *s = generate(mb * 1000 * 1000, &len, &expected);
    double mbytes = (double)len / 1e6;
    printf("stream: %.1f MB, %lu items, feeds of %d bytes, %d runs\n", mbytes, expected, FEED,
           runs);

    double ty[100], tp[100], tf[100];
    int ok = 1;
    for (int r = 0; r < runs; r++) { /* interleaved, so drift hits all alike */
        ty[r] = run_yajl(s, len);
        struct tally plain = {0, 0, 0}, fields = {0, 0, 1};
        tp[r] = run_parser(s, len, &plain);
        tf[r] = run_parser(s, len, &fields);
        if (plain.items != expected || plain.errors || fields.items != expected || fields.errors) {
            fprintf(stderr, "run %d: %lu/%lu items, %lu errors; expected %lu items, 0 errors\n", r,
                    plain.items, fields.items, plain.errors + fields.errors, expected);
            ok = 0;
        }
    }
    double my = median(ty, runs), mp = median(tp, runs), mf = median(tf, runs);
    printf("yajl alone, empty callbacks:  median %7.1f MB/s\n", mbytes / my);
    printf("parser, empty item callback:  median %7.1f MB/s  (%.2fx yajl)\n", mbytes / mp, my / mp);
    printf("parser, reading 3 fields:     median %7.1f MB/s  (%.2fx yajl)\n", mbytes / mf, my / mf);

    /* Allocations: all of them, the parser's and yajl's, over a second pass
     * after one warm-up pass, per item. */
    counting_start(1);
    struct tally warm = {0, 0, 1};
    gitterstream_parser *p = gitterstream_parser_new();
    gitterstream_parser_on_item(p, on_item, &warm);
    for (size_t i = 0; i < len; i += FEED)
        gitterstream_parser_feed(p, s + i, len - i < FEED ? len - i : FEED);
    unsigned long long before = counted.calls;
    for (size_t i = 0; i < len; i += FEED)
        gitterstream_parser_feed(p, s + i, len - i < FEED ? len - i : FEED);
    unsigned long long steady = counted.calls - before;
    size_t peak = counted.peak;
    gitterstream_parser_free(p);
    counting_stop();
    printf("allocations in steady state: %llu for %lu items (%.4f per item); peak %zu bytes\n",
           steady, expected, (double)steady / (double)expected, peak);
    free(s);
    return ok ? 0 : 1;
}
