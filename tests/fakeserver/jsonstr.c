/* JSON string literals for the fake server: strict decoding, "{n}" substitution, escaping. */
#include "jsonstr.h"

#include <ctype.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0. */
static size_t utf8_valid_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (avail < len)
        return 0;
    unsigned cp = c & (0xffu >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void put_utf8(struct buf *out, unsigned cp)
{
    char b[4];
    if (cp < 0x80) {
        buf_addc(out, (char)cp);
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        buf_add(out, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        buf_add(out, b, 3);
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        buf_add(out, b, 4);
    }
}

static int hex4(const char *s, size_t avail, unsigned *out)
{
    if (avail < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)s[i];
        if (!isxdigit(c))
            return -1;
        v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    *out = v;
    return 0;
}

int json_string_decode(const char *s, size_t len, unsigned long n, struct buf *out)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (n && c == '{' && len - i >= 3 && s[i + 1] == 'n' && s[i + 2] == '}') {
            buf_addf(out, "%lu", n);
            i += 3;
        } else if (c == '"' || c < 0x20) {
            return -1;
        } else if (c == '\\') {
            if (i + 1 >= len)
                return -1;
            char e = s[i + 1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                buf_addc(out, map[simple - "\"\\/bfnrt"]);
                i += 2;
                continue;
            }
            unsigned cp, lo;
            if (e != 'u' || hex4(s + i + 2, len - i - 2, &cp) != 0)
                return -1;
            i += 6;
            if (cp >= 0xd800 && cp <= 0xdbff && len - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' &&
                hex4(s + i + 2, len - i - 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            put_utf8(out, cp);
        } else {
            size_t l = utf8_valid_len((const unsigned char *)s + i, len - i);
            if (!l)
                return -1;
            buf_add(out, s + i, l);
            i += l;
        }
    }
    return 0;
}

void json_string_subst(const char *s, size_t len, unsigned long n, struct buf *out)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] == '\\' && i + 1 < len) {
            buf_add(out, s + i, 2);
            i += 2;
        } else if (s[i] == '{' && len - i >= 3 && s[i + 1] == 'n' && s[i + 2] == '}') {
            buf_addf(out, "%lu", n);
            i += 3;
        } else {
            buf_addc(out, s[i++]);
        }
    }
}

int is_room_id(const char *s, size_t len)
{
    if (len != 24)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

void json_escape(struct buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            buf_adds(out, "\\\"");
            break;
        case '\\':
            buf_adds(out, "\\\\");
            break;
        case '\n':
            buf_adds(out, "\\n");
            break;
        case '\r':
            buf_adds(out, "\\r");
            break;
        case '\t':
            buf_adds(out, "\\t");
            break;
        default:
            if (c < 0x20)
                buf_addf(out, "\\u%04x", c);
            else
                buf_addc(out, (char)c);
        }
    }
}
