/* fuzz-parser.c: libFuzzer target for the decode-only parser.
 *
 * Beyond "no crash, no leak", it checks that decoding does not depend on how
 * bytes are split into feeds: the whole input, two feeds split at a point the
 * input chooses, and one byte at a time must give the same items and errors
 * (keep-alives are counted per feed, so they are left out), and every item
 * must be a NUL-terminated object whose length the library reports. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gitterstream.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct trace {
    unsigned char *bytes;
    size_t len, cap;
} trace;

static void record(trace *t, char kind, const char *s, size_t n)
{
    if (t->len + n + 2 > t->cap) {
        t->cap = (t->len + n + 2) * 2;
        t->bytes = realloc(t->bytes, t->cap);
        if (!t->bytes)
            abort();
    }
    t->bytes[t->len++] = (unsigned char)kind;
    memcpy(t->bytes + t->len, s, n);
    t->len += n;
    t->bytes[t->len++] = 0;
}

static void on_item(const gitterstream_msg *m, void *ud)
{
    size_t n;
    const char *json = gitterstream_msg_json(m, &n);
    if (n == 0 || json[0] != '{' || json[n - 1] != '}' || json[n] != '\0')
        abort();
    gitterstream_msg_str(m, "fromUser.username"); /* the walker must cope too */
    long long v;
    gitterstream_msg_int(m, "mentions.0.v", &v);
    record(ud, 'I', json, n);
}

static void on_error(const gitterstream_error *e, void *ud)
{
    const char *text = gitterstream_error_text(e);
    int code = gitterstream_error_code(e);
    if (code != GITTERSTREAM_E_PARSE && code != GITTERSTREAM_E_TOO_LARGE)
        abort();
    char c = (char)('0' - code);
    record(ud, 'E', &c, 1);
    (void)text;
}

/* Decode in feeds of piece bytes or, when piece is 0, in two feeds split at
 * byte split. */
static void decode(const uint8_t *data, size_t size, size_t piece, size_t split, trace *t)
{
    gitterstream_parser *p = gitterstream_parser_new();
    if (!p)
        abort();
    gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_MESSAGE_BYTES, 4096);
    gitterstream_parser_set_int(p, GITTERSTREAM_OPT_MAX_DEPTH, 16);
    gitterstream_parser_on_item(p, on_item, t);
    gitterstream_parser_on_error(p, on_error, t);
    const char *s = (const char *)data;
    if (piece == 0) {
        if (gitterstream_parser_feed(p, s, split) ||
            gitterstream_parser_feed(p, s + split, size - split))
            abort();
    } else {
        for (size_t i = 0; i < size; i += piece)
            if (gitterstream_parser_feed(p, s + i, size - i < piece ? size - i : piece))
                abort();
    }
    gitterstream_parser_free(p);
}

static int same(const trace *a, const trace *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace whole = {0}, split = {0}, bytewise = {0};
    decode(data, size, size ? size : 1, 0, &whole);
    size_t at = size ? (data[0] * 257u + (size > 1 ? data[1] : 0)) % size : 0;
    decode(data, size, 0, at, &split);
    decode(data, size, 1, 0, &bytewise);
    if (!same(&whole, &split) || !same(&whole, &bytewise))
        abort();
    free(whole.bytes);
    free(split.bytes);
    free(bytewise.bytes);
    return 0;
}
