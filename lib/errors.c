/* errors.c: error descriptions and the error accessors, all from the one
 * list in GITTERSTREAM_ERRNO_MAP. */
#include "errors.h"

#define GS_ERROR_CASE(name, value, text)                                                           \
    case value:                                                                                    \
        return text;

GITTERSTREAM_EXPORT const char *gitterstream_strerror(int code)
{
    switch (code) {
    case GITTERSTREAM_OK:
        return "success";
        GITTERSTREAM_ERRNO_MAP(GS_ERROR_CASE)
    default:
        return "unknown error";
    }
}

#define GS_ERROR_NAME_CASE(name, value, text)                                                      \
    case value:                                                                                    \
        return #name;

const char *gs_error_name(int code)
{
    switch (code) {
        GITTERSTREAM_ERRNO_MAP(GS_ERROR_NAME_CASE)
    default:
        return NULL;
    }
}

GITTERSTREAM_EXPORT int gitterstream_error_code(const gitterstream_error *e)
{
    return e ? e->code : GITTERSTREAM_E_INVALID;
}

GITTERSTREAM_EXPORT long gitterstream_error_http_status(const gitterstream_error *e)
{
    return e ? e->http_status : 0;
}

GITTERSTREAM_EXPORT const char *gitterstream_error_text(const gitterstream_error *e)
{
    return e && e->text ? e->text : "";
}

GITTERSTREAM_EXPORT long gitterstream_error_retry_ms(const gitterstream_error *e)
{
    return e ? e->retry_ms : -1;
}
