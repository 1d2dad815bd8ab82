/* util/sbuf.c: the growable string buffer (see sbuf.h), grown by util/array.h. */
#include "util/sbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"

lethe_status lethe_sbuf_reserve(lethe_sbuf *b, size_t extra) {
  if (b->oom) return lethe_fail(LETHE_ERR_NOMEM, "string buffer: out of memory");
  if (extra > SIZE_MAX - 1 - b->n) {
    b->oom = 1;
    return lethe_fail(LETHE_ERR_NOMEM, "string buffer: %zu + %zu bytes do not fit in memory", b->n, extra);
  }
  lethe_status st = LETHE_ARRAY_GROW(b->p, b->cap, b->n + extra + 1, "string buffer");
  if (st != LETHE_OK) b->oom = 1;
  return st;
}

lethe_status lethe_sbuf_put(lethe_sbuf *b, const void *s, size_t n) {
  LETHE_TRY(lethe_sbuf_reserve(b, n));
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
  return LETHE_OK;
}

lethe_status lethe_sbuf_puts(lethe_sbuf *b, const char *s) { return lethe_sbuf_put(b, s, strlen(s)); }

lethe_status lethe_sbuf_printf(lethe_sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (k < 0) return lethe_fail(LETHE_ERR_INVALID, "string buffer: cannot format \"%s\"", fmt);
  LETHE_TRY(lethe_sbuf_reserve(b, (size_t)k));
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)k;
  return LETHE_OK;
}

lethe_status lethe_sbuf_status(const lethe_sbuf *b, const char *what) {
  return b->oom ? lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", what) : LETHE_OK;
}

void lethe_sbuf_free(lethe_sbuf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}
