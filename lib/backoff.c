/* backoff.c: the reconnect policy of SPEC §5.
 *
 * The n-th failed attempt since the subscription was last healthy, whatever
 * the class of the earlier ones, waits a delay d computed from n and the
 * class of the failure at hand, randomised within [d/2, d] so that clients
 * cut off together do not come back together:
 *   transient (network, stall, stream ended): 250 ms * n, at most 16 s;
 *   server (5xx, unexpected status): 5 s * 2^(n-1), at most 320 s;
 *   rate limited (429): the server's own figure, clamped to [1 s, 15 min],
 *     else 60 s * 2^(n-1), at most 15 min;
 *   fatal (400, 401, 403, 404): no retry. */
#include "backoff.h"

#include "common.h"

#define TRANSIENT_STEP_MS 250L
#define TRANSIENT_CAP_MS  16000L
#define SERVER_BASE_MS    5000L
#define SERVER_CAP_MS     320000L
#define RATE_BASE_MS      60000L
#define RATE_CAP_MS       900000L
#define RATE_MIN_MS       1000L

void gs_backoff_init(gs_backoff *b, unsigned long long seed)
{
    b->rng = seed;
    b->attempts = 0;
}

void gs_backoff_healthy(gs_backoff *b)
{
    b->attempts = 0;
}

/* splitmix64: small, fast, and every seed gives a good sequence */
static unsigned long long next_random(gs_backoff *b)
{
    unsigned long long z = (b->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static long doubling(long base, int n, long cap)
{
    long d = base;
    for (int i = 1; i < n && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

static long jitter(gs_backoff *b, long d)
{
    long half = d / 2;
    return half + (long)(next_random(b) % (unsigned long long)(d - half + 1));
}

long gs_backoff_next(gs_backoff *b, gs_failure failure, long server_ms)
{
    int n = ++b->attempts;
    switch (failure) {
    case GS_FAIL_TRANSIENT: {
        long d =
            n >= TRANSIENT_CAP_MS / TRANSIENT_STEP_MS ? TRANSIENT_CAP_MS : TRANSIENT_STEP_MS * n;
        return jitter(b, d);
    }
    case GS_FAIL_SERVER:
        return jitter(b, doubling(SERVER_BASE_MS, n, SERVER_CAP_MS));
    case GS_FAIL_RATE:
        if (server_ms >= 0)
            return server_ms < RATE_MIN_MS   ? RATE_MIN_MS
                   : server_ms > RATE_CAP_MS ? RATE_CAP_MS
                                             : server_ms;
        return jitter(b, doubling(RATE_BASE_MS, n, RATE_CAP_MS));
    case GS_FAIL_FATAL:
    default:
        return -1;
    }
}

gs_failure gs_failure_of(int code)
{
    switch (code) {
    case GITTERSTREAM_E_AUTH:
    case GITTERSTREAM_E_NOT_FOUND:
        return GS_FAIL_FATAL;
    case GITTERSTREAM_E_RATE_LIMITED:
        return GS_FAIL_RATE;
    case GITTERSTREAM_E_HTTP:
        return GS_FAIL_SERVER;
    default:
        return GS_FAIL_TRANSIENT;
    }
}
