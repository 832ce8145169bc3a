/* errors.h: the error object handed to on_error callbacks. */
#ifndef GS_ERRORS_H
#define GS_ERRORS_H

#include "common.h"

struct gitterstream_error {
    int code;
    long http_status;
    long retry_ms;
    const char *text;
};

/* The code's name without prefix ("PARSE"), or NULL for an unknown code. */
const char *gs_error_name(int code);

#endif
