/* util/str.c: small string helpers (see str.h). */
#include "util/str.h"

#include <stdlib.h>
#include <string.h>

char *lethe_strndup(const void *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}
