/* tail-resolve.c: gitterstream-tail's lookup of a room id from its owner/name, through
 * POST {api_url}/v1/rooms, before streaming starts. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_parse.h>

#include "tail.h"

/* Resolving OWNER/NAME: yajl events are followed just far enough to take the top-level "id". */
struct resolve {
    yajl_handle yajl;
    int depth, want_id;
    size_t received;
    char *id;
};

/* Only a string right after the key "id" in the outermost object counts; other values need no
 * callback, as the next key or the end of the object comes before any string that could count. */
static int rs_string(void *ctx, const unsigned char *s, size_t len)
{
    struct resolve *r = ctx;
    if (r->want_id && r->depth == 1 && !r->id) {
        r->id = malloc(len + 1);
        if (!r->id)
            return 0;
        memcpy(r->id, s, len);
        r->id[len] = '\0';
    }
    r->want_id = 0;
    return 1;
}

static int rs_open(void *ctx)
{
    ((struct resolve *)ctx)->depth++;
    return 1;
}

static int rs_close(void *ctx)
{
    ((struct resolve *)ctx)->depth--;
    return 1;
}

static int rs_key(void *ctx, const unsigned char *key, size_t len)
{
    struct resolve *r = ctx;
    r->want_id = r->depth == 1 && len == 2 && memcmp(key, "id", 2) == 0;
    return 1;
}

static const yajl_callbacks resolve_callbacks = {
    NULL, NULL, NULL, NULL, NULL, rs_string, rs_open, rs_key, rs_close, rs_open, rs_close,
};

static size_t rs_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct resolve *r = ud;
    size_t len = size * nmemb;
    r->received += len;
    if (r->received > MAX_ANSWER)
        return 0;
    if (yajl_parse(r->yajl, (const unsigned char *)data, len) != yajl_status_ok)
        return 0;
    return len;
}

char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s) {
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* POST {api_url}/v1/rooms {"uri":...}: returns the room's id (owned by the caller) or NULL after
 * saying why on stderr. */
char *resolve_uri(const char *uri, const char *token, const char *api_url, const char *ca_file)
{
    int base_len = (int)strlen(api_url);
    while (base_len > 0 && api_url[base_len - 1] == '/')
        base_len--;
    char *url = format("%.*s/v1/rooms", base_len, api_url);
    /* The uri goes into the JSON body as it is: main() let no quote, backslash or control
     * character through. */
    char *body = format("{\"uri\":\"%s\"}", uri);
    char *auth = format("Authorization: Bearer %s", token);
    struct resolve r = {0};
    r.yajl = yajl_alloc(&resolve_callbacks, NULL, &r);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    char *id = NULL;
    if (!url || !body || !auth || !r.yajl || !curl) {
        fprintf(stderr, PROG ": %s: out of memory\n", uri);
        goto out;
    }
    struct curl_slist *h = NULL;
    const char *lines[] = {auth, "Accept: application/json", "Content-Type: application/json",
                           "User-Agent: " PROG "/" GITTERSTREAM_VERSION};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        h = curl_slist_append(headers, lines[i]);
        if (!h) {
            fprintf(stderr, PROG ": %s: out of memory\n", uri);
            goto out;
        }
        headers = h;
    }

    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, rs_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    if (ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && status >= 300)) {
        fprintf(stderr, PROG ": %s: cannot resolve: %s\n", uri,
                r.received > MAX_ANSWER   ? "answer too large"
                : rc == CURLE_WRITE_ERROR ? "malformed answer"
                : errbuf[0]               ? errbuf
                                          : curl_easy_strerror(rc));
    } else if (status != 200) {
        fprintf(stderr, PROG ": %s: cannot resolve: HTTP %ld\n", uri, status);
    } else if (yajl_complete_parse(r.yajl) != yajl_status_ok || !r.id) {
        fprintf(stderr, PROG ": %s: cannot resolve: the answer has no room id\n", uri);
    } else {
        id = r.id;
        r.id = NULL;
    }
out:
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    if (r.yajl)
        yajl_free(r.yajl);
    free(r.id);
    wipe(auth);
    free(auth);
    free(body);
    free(url);
    return id;
}
