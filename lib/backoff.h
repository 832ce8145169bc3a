/* backoff.h: the reconnect policy, as arithmetic: which errors are retried,
 * after how long. No clock and no I/O: the caller says what failed and what
 * the server asked for, and gets the delay. */
#ifndef GS_BACKOFF_H
#define GS_BACKOFF_H

typedef enum gs_failure {
    GS_FAIL_TRANSIENT, /* network error, stall, the server ending the stream */
    GS_FAIL_SERVER,    /* 5xx and other unexpected statuses */
    GS_FAIL_RATE,      /* 429 */
    GS_FAIL_FATAL      /* 400, 401, 403, 404: never retried */
} gs_failure;

typedef struct gs_backoff {
    unsigned long long rng; /* jitter state */
    int attempts;           /* failed attempts since the last healthy connection */
} gs_backoff;

void gs_backoff_init(gs_backoff *b, unsigned long long seed);

/* A connection stayed healthy long enough: count attempts from zero again. */
void gs_backoff_healthy(gs_backoff *b);

/* Count one more failed attempt and return the delay before the next one in
 * ms, or -1 when there is none. server_ms is the wait the server named
 * (Retry-After or X-RateLimit-Reset) or -1; it is honoured for 429, clamped
 * to [1 s, 15 min], and not shortened by jitter. */
long gs_backoff_next(gs_backoff *b, gs_failure failure, long server_ms);

/* The class of a failure with this error code. */
gs_failure gs_failure_of(int code);

#endif
