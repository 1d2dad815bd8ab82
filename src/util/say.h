/* util/say.h: progress messages of long-running library calls, to a stream the caller chose (NULL:
 * silent), flushed at once so that a watching user sees them. */
#ifndef LETHE_UTIL_SAY_H
#define LETHE_UTIL_SAY_H

#include <stdio.h>

#include "util/error.h" /* LETHE_PRINTF */

void lethe_say(FILE *fp, const char *fmt, ...) LETHE_PRINTF(2, 3);

#endif
