/* util/error.h: setting the thread's error message and returning the status in one step. */
#ifndef LETHE_UTIL_ERROR_H
#define LETHE_UTIL_ERROR_H

#include "lethe/status.h"

#if defined(__GNUC__)
#define LETHE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LETHE_PRINTF(a, b)
#endif

/* Formats the message, stores it as this thread's last error and returns `s`. */
lethe_status lethe_fail(lethe_status s, const char *fmt, ...) LETHE_PRINTF(2, 3);

/* Prefixes the current message with "prefix: " (adds context while unwinding). Returns `s`. */
lethe_status lethe_fail_context(lethe_status s, const char *fmt, ...) LETHE_PRINTF(2, 3);

#define LETHE_TRY(expr)                                                                                                \
  do {                                                                                                                 \
    lethe_status lethe_try_s_ = (expr);                                                                                \
    if (lethe_try_s_ != LETHE_OK) return lethe_try_s_;                                                                 \
  } while (0)

#endif
