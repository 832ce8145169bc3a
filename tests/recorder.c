/* recorder.c: see recorder.h. */
#include "recorder.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append(recorder *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->log = realloc(r->log, r->cap);
        ck_assert_ptr_nonnull(r->log);
    }
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}

static void on_item(const gitterstream_msg *m, void *ud)
{
    recorder *r = ud;
    size_t n;
    const char *json = gitterstream_msg_json(m, &n);
    ck_assert_uint_eq(strlen(json), n);
    append(r, "I ", 2);
    append(r, json, n);
    append(r, "\n", 1);
    r->items++;
}

static void on_keepalive(void *ud)
{
    recorder *r = ud;
    append(r, "K\n", 2);
    r->keepalives++;
}

static void on_error(const gitterstream_error *e, void *ud)
{
    recorder *r = ud;
    char line[32];
    r->last_code = gitterstream_error_code(e);
    snprintf(r->last_text, sizeof r->last_text, "%s", gitterstream_error_text(e));
    snprintf(line, sizeof line, "E %d\n", r->last_code);
    append(r, line, strlen(line));
    r->errors++;
}

void recorder_attach(recorder *r, gitterstream_parser *p)
{
    memset(r, 0, sizeof *r);
    append(r, "", 0);
    gitterstream_parser_on_item(p, on_item, r);
    gitterstream_parser_on_keepalive(p, on_keepalive, r);
    gitterstream_parser_on_error(p, on_error, r);
}

gitterstream_parser *recorder_parser(recorder *r)
{
    gitterstream_parser *p = gitterstream_parser_new();
    ck_assert_ptr_nonnull(p);
    recorder_attach(r, p);
    return p;
}

void recorder_clear(recorder *r)
{
    free(r->log);
    memset(r, 0, sizeof *r);
}

char *decode_in_pieces(const char *s, size_t len, size_t piece)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    for (size_t i = 0; i < len; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        ck_assert_int_eq(gitterstream_parser_feed(p, s + i, n), GITTERSTREAM_OK);
    }
    gitterstream_parser_free(p);
    return r.log;
}

char *decode_split_at(const char *s, size_t len, size_t k)
{
    recorder r;
    gitterstream_parser *p = recorder_parser(&r);
    ck_assert_int_eq(gitterstream_parser_feed(p, s, k), GITTERSTREAM_OK);
    ck_assert_int_eq(gitterstream_parser_feed(p, s + k, len - k), GITTERSTREAM_OK);
    gitterstream_parser_free(p);
    return r.log;
}

char *decode(const char *s)
{
    size_t n = strlen(s);
    return decode_in_pieces(s, n, n ? n : 1);
}

char *without_keepalives(char *log)
{
    char *out = log;
    for (const char *in = log; *in;) {
        const char *eol = strchr(in, '\n');
        size_t n = eol ? (size_t)(eol - in) + 1 : strlen(in);
        int keepalive = n == 2 && strncmp(in, "K\n", 2) == 0; /* records start lines */
        if (!keepalive) {
            memmove(out, in, n);
            out += n;
        }
        in += n;
    }
    *out = '\0';
    return log;
}

char *read_data_file(const char *name, size_t *len)
{
    const char *dir = getenv("TEST_DATA_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}
