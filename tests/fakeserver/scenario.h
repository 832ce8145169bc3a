/* The scenario: what the fake server's rooms contain and how each connection to them behaves,
 * parsed from the line-based format that --help documents. Everything here is read-only once
 * parsed, except the per-resource counters that the server advances as it runs. */
#ifndef FAKESERVER_SCENARIO_H
#define FAKESERVER_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

enum resource_kind { RES_CHAT = 0, RES_EVENTS = 1 };

enum dialect { DIALECT_CR, DIALECT_LF, DIALECT_CRLF, DIALECT_PRETTY };

enum chunking { CHUNK_ITEM, CHUNK_DRIP, CHUNK_MERGE, CHUNK_SPLIT_UTF8, CHUNK_RANDOM };

enum action_kind { ACTION_OK, ACTION_STREAM, ACTION_STATUS, ACTION_CLOSE, ACTION_HANG };

enum inject_kind {
    INJECT_INVALID_JSON,
    INJECT_INVALID_UTF8,
    INJECT_ARRAY,
    INJECT_OVERSIZE,
    INJECT_DEEP,
    INJECT_TRAILING,
    INJECT_RAW,
};

struct inject {
    unsigned long pos; /* number of timeline items sent on the connection before this frame */
    enum inject_kind kind;
    unsigned long arg; /* oversize: bytes; deep: depth; invalid-utf8: variant index */
    char *raw;         /* raw: the bytes, as decoded from the scenario string */
    size_t raw_len;
};

struct status_spec {
    int code;
    long long retry_after;  /* seconds, -1: no Retry-After header */
    long long rl_limit;     /* -1: no X-RateLimit-Limit */
    long long rl_remaining; /* -1: no X-RateLimit-Remaining */
    long long rl_reset;     /* ms from now; meaningful when has_rl_reset */
    int has_rl_reset;
    char *body; /* NULL: the canned body for the code */
    size_t body_len;
    char *content_type; /* NULL: the canned type for the code */
};

struct stream_spec {
    enum dialect dialect;
    long long keepalive_ms; /* 0: none */
    char *keepalive;
    size_t keepalive_len;
    enum chunking chunking;
    unsigned long merge_items;
    uint64_t seed;
    long long chunk_delay_ms;
    long long end_after;   /* items; -1: never */
    long long cut_after;   /* items; -1: never */
    long long stall_after; /* items; -1: never */
    long long cut_at_byte; /* payload offset; -1: never */
    struct inject *injects;
    size_t n_injects;
};

struct rule {
    unsigned long from, to; /* request numbers, inclusive */
    int is_default;
    enum action_kind action;
    struct status_spec status;
    struct stream_spec stream;
};

struct message {
    long long time_ms; /* scenario clock; history is negative */
    unsigned long seq; /* 1-based position in the resource's timeline */
    const char
        *text; /* scenario string literal as written, "{n}" not yet replaced; NULL: default */
    char id[25];
};

struct resource {
    struct message *msgs; /* sorted by time, so ids increase in posting order */
    size_t n_msgs;
    size_t n_posted; /* msgs[0 .. n_posted) have been posted */
    struct rule *rules;
    size_t n_rules;
    unsigned long requests; /* stream requests seen so far */
};

struct room {
    char id[25];
    char *uri;
    struct resource res[2];
    struct rule *rest_rules;
    size_t n_rest_rules;
    unsigned long rest_requests;
};

struct scenario {
    char *token;
    struct room *rooms;
    size_t n_rooms;
    char **texts; /* storage for the message text literals */
    size_t n_texts;
};

/* Parses text; on error returns -1 and writes "line N: reason" to err. */
int scenario_parse(struct scenario *sc, const char *text, size_t len, char *err, size_t errlen);
void scenario_free(struct scenario *sc);

struct room *scenario_room(const struct scenario *sc, const char *id, size_t id_len);
struct room *scenario_room_by_uri(const struct scenario *sc, const char *uri, size_t uri_len);

/* A rule with every option at its documented default (a plain stream, or an ok REST reply). */
void rule_defaults(struct rule *r);

/* The first rule matching request number n, else the default rule, else NULL. */
const struct rule *rule_for(const struct rule *rules, size_t n_rules, unsigned long n);

#endif
