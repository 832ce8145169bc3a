/* header-alone.c: the public header compiles on its own as strict C99,
 * with no curl or yajl header behind it. */
#include <gitterstream.h>

#ifdef CURLINC_CURL_H
#error "gitterstream.h must not include curl"
#endif
#ifdef __YAJL_PARSE_H__
#error "gitterstream.h must not include yajl"
#endif

int main(void)
{
    return gitterstream_version() == NULL;
}
