/* version.c: the run-time version. */
#include "common.h"

GITTERSTREAM_EXPORT const char *gitterstream_version(void)
{
    return GITTERSTREAM_VERSION;
}
