/* util/error.c: the thread-local error message behind lethe_last_error(). */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LETHE_ERR_CAP 2048
static _Thread_local char g_err[LETHE_ERR_CAP];

const char *lethe_status_name(lethe_status s) {
  switch (s) {
  case LETHE_OK: return "ok";
  case LETHE_ERR_IO: return "i/o error";
  case LETHE_ERR_FORMAT: return "format error";
  case LETHE_ERR_INVALID: return "invalid argument";
  case LETHE_ERR_UNSUPPORTED: return "unsupported";
  case LETHE_ERR_NOMEM: return "out of memory";
  case LETHE_ERR_NUMERIC: return "numeric error";
  case LETHE_ERR_INTERRUPTED: return "interrupted";
  case LETHE_ERR_DEVICE: return "device error";
  }
  return "unknown error";
}

const char *lethe_last_error(void) { return g_err; }

void lethe_clear_error(void) { g_err[0] = 0; }

lethe_status lethe_fail(lethe_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_err, sizeof g_err, fmt, ap);
  va_end(ap);
  return s;
}

lethe_status lethe_fail_context(lethe_status s, const char *fmt, ...) {
  char prefix[512];
  char old[LETHE_ERR_CAP];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, g_err, sizeof old);
  size_t n = strlen(prefix);
  if (n > sizeof g_err - 3) n = sizeof g_err - 3;
  memcpy(g_err, prefix, n);
  g_err[n] = ':';
  g_err[n + 1] = ' ';
  size_t rest = sizeof g_err - n - 3;
  size_t m = strnlen(old, rest);
  memcpy(g_err + n + 2, old, m);
  g_err[n + 2 + m] = 0;
  return s;
}
