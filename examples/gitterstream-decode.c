/* gitterstream-decode: decode a Gitter stream body from a file (or standard
 * input) with the decode-only parser and print one NDJSON line per item.
 * Malformed items are reported on standard error and skipped.
 *
 *   gitterstream-decode [FILE]
 *
 * Exit status: 0 when every item was valid, 1 when some were skipped, 2 on
 * a usage or I/O error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gitterstream.h>

struct counts {
    unsigned long items, errors;
};

static void print_item(const gitterstream_msg *m, void *ud)
{
    struct counts *c = ud;
    size_t len;
    const char *json = gitterstream_msg_json(m, &len);
    /* Raw newlines in an item can only be whitespace between tokens, so
     * turning them into spaces keeps the JSON valid and on one line. */
    for (size_t i = 0; i < len; i++)
        putchar(json[i] == '\n' || json[i] == '\r' ? ' ' : json[i]);
    putchar('\n');
    c->items++;
}

static void print_error(const gitterstream_error *e, void *ud)
{
    struct counts *c = ud;
    fprintf(stderr, "gitterstream-decode: skipped an item: %s (%s)\n",
            gitterstream_strerror(gitterstream_error_code(e)), gitterstream_error_text(e));
    c->errors++;
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--help") == 0)) {
        fprintf(argc > 2 ? stderr : stdout, "usage: gitterstream-decode [FILE]\n");
        return argc > 2 ? 2 : 0;
    }
    FILE *in = argc == 2 ? fopen(argv[1], "rb") : stdin;
    if (!in) {
        fprintf(stderr, "gitterstream-decode: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    struct counts counts = {0, 0};
    gitterstream_parser *p = gitterstream_parser_new();
    if (!p) {
        fprintf(stderr, "gitterstream-decode: out of memory\n");
        return 2;
    }
    gitterstream_parser_on_item(p, print_item, &counts);
    gitterstream_parser_on_error(p, print_error, &counts);

    char buf[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = gitterstream_parser_feed(p, buf, n);
    int failed = ferror(in) || rc != 0;
    if (failed)
        fprintf(stderr, "gitterstream-decode: %s\n", rc ? gitterstream_strerror(rc) : "read error");
    gitterstream_parser_free(p);
    if (in != stdin)
        fclose(in);
    if (fflush(stdout) != 0)
        failed = 1;
    return failed ? 2 : counts.errors ? 1 : 0;
}
