/* recorder.h: records a parser's callbacks as one text log, so tests can
 * compare whole decodings: "I <json>\n" per item, "K\n" per keep-alive,
 * "E <code>\n" per error. */
#ifndef TEST_RECORDER_H
#define TEST_RECORDER_H

#include <stddef.h>

#include <gitterstream.h>

typedef struct recorder {
    char *log;
    size_t len, cap;
    int items, keepalives, errors;
    int last_code;
    char last_text[256];
} recorder;

/* Make p's callbacks append to r, which starts empty. */
void recorder_attach(recorder *r, gitterstream_parser *p);
/* A new parser attached to r. */
gitterstream_parser *recorder_parser(recorder *r);
void recorder_clear(recorder *r);

/* Decode the whole of s in feeds of at most piece bytes; returns the log,
 * owned by the caller. */
char *decode_in_pieces(const char *s, size_t len, size_t piece);
/* Decode s in two feeds, split at byte k. */
char *decode_split_at(const char *s, size_t len, size_t k);
/* Decode a NUL-terminated string in one feed. */
char *decode(const char *s);

/* Remove the keep-alive records from a log, in place, and return it: how
 * keep-alives count depends on how bytes were split into feeds, items do
 * not. (A bare "K" line cannot be part of a JSON item.) */
char *without_keepalives(char *log);

/* The contents of a file in tests/data, NUL-terminated; *len gets its size. */
char *read_data_file(const char *name, size_t *len);

#endif
