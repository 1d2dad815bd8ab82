/* util/say.c: progress messages to an optional stream. */
#include "util/say.h"

#include <stdarg.h>

void lethe_say(FILE *fp, const char *fmt, ...) {
  if (!fp) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(fp, fmt, ap);
  va_end(ap);
  fflush(fp);
}
