/* HTTP/1.1 request parsing and response writing for the fake server. */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int span_is(struct span s, const char *text)
{
    return s.n == strlen(text) && strncasecmp(s.p, text, s.n) == 0;
}

static int is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Finds the blank line ending the head; returns the offset just past it, or 0. */
static size_t head_end(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n')
            continue;
        if (i + 1 < len && data[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Next line of the head, without its CR LF or LF. */
static struct span next_line(const char **p, const char *end)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        nl = end;
    struct span s = {*p, (size_t)(nl - *p)};
    if (s.n && s.p[s.n - 1] == '\r')
        s.n--;
    *p = nl < end ? nl + 1 : end;
    return s;
}

static struct span trim(struct span s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

static int parse_request_line(struct span line, struct request *req)
{
    const char *sp1 = memchr(line.p, ' ', line.n);
    if (!sp1 || sp1 == line.p)
        return -1;
    const char *rest = sp1 + 1, *end = line.p + line.n;
    const char *sp2 = memchr(rest, ' ', (size_t)(end - rest));
    if (!sp2 || sp2 == rest)
        return -1;
    req->method = (struct span){line.p, (size_t)(sp1 - line.p)};
    req->target = (struct span){rest, (size_t)(sp2 - rest)};
    struct span version = {sp2 + 1, (size_t)(end - sp2 - 1)};
    if (version.n != 8 || memcmp(version.p, "HTTP/1.", 7) != 0 ||
        !isdigit((unsigned char)version.p[7]))
        return -1;
    req->minor = version.p[7] - '0';
    for (size_t i = 0; i < req->method.n; i++)
        if (!is_tchar((unsigned char)req->method.p[i]))
            return -1;
    for (size_t i = 0; i < req->target.n; i++)
        if ((unsigned char)req->target.p[i] <= 0x20 || req->target.p[i] == 0x7f)
            return -1;

    /* absolute-form, as a client sends it to a proxy: keep only the path and query */
    struct span t = req->target;
    size_t scheme = t.n > 7 && strncasecmp(t.p, "http://", 7) == 0    ? 7
                    : t.n > 8 && strncasecmp(t.p, "https://", 8) == 0 ? 8
                                                                      : 0;
    if (scheme) {
        const char *auth = t.p + scheme, *tend = t.p + t.n;
        const char *slash = memchr(auth, '/', (size_t)(tend - auth));
        t = slash ? (struct span){slash, (size_t)(tend - slash)} : (struct span){"/", 1};
    }
    const char *q = memchr(t.p, '?', t.n);
    req->path = (struct span){t.p, q ? (size_t)(q - t.p) : t.n};
    req->query = q ? (struct span){q + 1, (size_t)(t.p + t.n - q - 1)} : (struct span){"", 0};
    return 0;
}

static int has_token(struct span list, const char *token)
{
    const char *p = list.p, *end = list.p + list.n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        struct span item = trim((struct span){p, (size_t)((comma ? comma : end) - p)});
        if (span_is(item, token))
            return 1;
        p = comma ? comma + 1 : end;
    }
    return 0;
}

int http_parse(const char *data, size_t len, struct request *req, int *status)
{
    memset(req, 0, sizeof *req);
    size_t lead = 0; /* RFC 9112 2.2: ignore empty lines before the request line */
    while (lead < len && (data[lead] == '\r' || data[lead] == '\n'))
        lead++;
    size_t hend = head_end(data + lead, len - lead);
    if (!hend) {
        if (len - lead > HTTP_MAX_HEAD) {
            *status = 400;
            return -1;
        }
        return 0;
    }
    *status = 400;
    if (hend > HTTP_MAX_HEAD)
        return -1;
    const char *p = data + lead, *end = data + lead + hend;
    if (parse_request_line(next_line(&p, end), req))
        return -1;
    long long content_length = 0;
    for (;;) {
        struct span line = next_line(&p, end);
        if (line.n == 0)
            break;
        if (line.p[0] == ' ' || line.p[0] == '\t') /* obsolete line folding */
            return -1;
        const char *colon = memchr(line.p, ':', line.n);
        if (!colon || colon == line.p || req->n_headers == HTTP_MAX_HEADERS)
            return -1;
        struct http_header *h = &req->headers[req->n_headers++];
        h->name = (struct span){line.p, (size_t)(colon - line.p)};
        h->value = trim((struct span){colon + 1, (size_t)(line.p + line.n - colon - 1)});
        for (size_t i = 0; i < h->name.n; i++)
            if (!is_tchar((unsigned char)h->name.p[i]))
                return -1;
        if (span_is(h->name, "content-length")) {
            if (h->value.n == 0 || h->value.n > 12)
                return -1;
            content_length = 0;
            for (size_t i = 0; i < h->value.n; i++) {
                if (!isdigit((unsigned char)h->value.p[i]))
                    return -1;
                content_length = content_length * 10 + (h->value.p[i] - '0');
            }
        } else if (span_is(h->name, "transfer-encoding")) {
            return -1; /* no client of this server sends a chunked request body */
        }
    }
    if (content_length > HTTP_MAX_BODY) {
        *status = 413;
        return -1;
    }
    size_t body_at = lead + hend;
    if (len - body_at < (size_t)content_length)
        return 0;
    req->body = (struct span){data + body_at, (size_t)content_length};
    req->total = body_at + (size_t)content_length;
    const struct span *conn = http_header(req, "connection");
    req->keep_alive = req->minor >= 1 ? !(conn && has_token(*conn, "close"))
                                      : (conn && has_token(*conn, "keep-alive"));
    return 1;
}

const struct span *http_header(const struct request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (span_is(req->headers[i].name, name))
            return &req->headers[i].value;
    return NULL;
}

const char *http_reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Temporarily Unavailable";
    case 504:
        return "Gateway Time-out";
    default:
        return code < 400 ? "OK" : code < 500 ? "Client Error" : "Server Error";
    }
}

/* The gateway errors come from the nginx in front of the real service, as HTML. */
static int is_nginx_page(int code)
{
    return code == 502 || code == 503 || code == 504;
}

static void canned_body(struct buf *body, int code)
{
    if (is_nginx_page(code))
        buf_addf(body,
                 "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
                 "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n"
                 "</body>\r\n</html>\r\n",
                 code, http_reason(code), code, http_reason(code));
    else
        buf_addf(body, "{\"error\":\"%s\"}", http_reason(code));
}

static void reply_head(struct buf *out, int code, const char *content_type, size_t len,
                       int keep_alive)
{
    buf_addf(out, "HTTP/1.1 %d %s\r\n", code, http_reason(code));
    if (is_nginx_page(code))
        buf_adds(out, "Server: nginx\r\n");
    buf_addf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type, len);
    buf_adds(out, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
}

void http_reply(struct buf *out, int code, const char *content_type, const char *body, size_t len,
                int keep_alive)
{
    reply_head(out, code, content_type, len, keep_alive);
    buf_adds(out, "\r\n");
    buf_add(out, body, len);
}

void http_error_reply(struct buf *out, int code, int keep_alive)
{
    struct buf body = {0};
    canned_body(&body, code);
    http_reply(out, code, is_nginx_page(code) ? "text/html" : "application/json", body.data,
               body.len, keep_alive);
    buf_free(&body);
}

void http_status_reply(struct buf *out, const struct status_spec *st, long long now_epoch_ms,
                       int keep_alive)
{
    struct buf body = {0};
    if (st->body)
        buf_add(&body, st->body, st->body_len);
    else
        canned_body(&body, st->code);
    const char *type = st->content_type                         ? st->content_type
                       : (is_nginx_page(st->code) && !st->body) ? "text/html"
                                                                : "application/json";
    reply_head(out, st->code, type, body.len, keep_alive);
    if (st->retry_after >= 0)
        buf_addf(out, "Retry-After: %lld\r\n", st->retry_after);
    if (st->rl_limit >= 0)
        buf_addf(out, "X-RateLimit-Limit: %lld\r\n", st->rl_limit);
    if (st->rl_remaining >= 0)
        buf_addf(out, "X-RateLimit-Remaining: %lld\r\n", st->rl_remaining);
    if (st->has_rl_reset)
        buf_addf(out, "X-RateLimit-Reset: %lld\r\n", now_epoch_ms + st->rl_reset);
    buf_adds(out, "\r\n");
    buf_add(out, body.data, body.len);
    buf_free(&body);
}

void http_stream_head(struct buf *out)
{
    buf_adds(out, "HTTP/1.1 200 OK\r\n"
                  "Content-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n"
                  "Cache-Control: no-cache\r\n"
                  "Connection: keep-alive\r\n"
                  "\r\n");
}

void http_chunk(struct buf *out, const char *data, size_t len, size_t send)
{
    if (len == 0)
        return; /* a zero-size chunk would end the body */
    buf_addf(out, "%zx\r\n", len);
    buf_add(out, data, send < len ? send : len);
    if (send >= len)
        buf_adds(out, "\r\n");
}

void http_last_chunk(struct buf *out)
{
    buf_adds(out, "0\r\n\r\n");
}
