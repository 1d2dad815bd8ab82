/* util/array.h: the growable array. An array is a pointer, a count and a capacity the caller keeps
 * (`T *p; size_t n, cap;`); lethe_array_grow makes room, doubling, with every size checked. */
#ifndef LETHE_UTIL_ARRAY_H
#define LETHE_UTIL_ARRAY_H

#include <stddef.h>

#include "lethe/status.h"

/* Makes *(T **)pp hold at least `need` elements of `elem` bytes: when *cap < need, reallocates to
 * the larger of `need` and twice *cap (at least 8) and updates *cap. A size in bytes that does not
 * fit in size_t, or a failed allocation, is a LETHE_ERR_NOMEM naming `what` and leaves the array
 * (pointer, contents, capacity) unchanged. */
lethe_status lethe_array_grow(void *pp, size_t *cap, size_t need, size_t elem, const char *what);

/* LETHE_ARRAY_GROW(p, cap, need, what) for `T *p; size_t cap;`. */
#define LETHE_ARRAY_GROW(p, cap, need, what) lethe_array_grow(&(p), &(cap), (need), sizeof *(p), (what))

/* Room for one more element after the n already there. */
#define LETHE_ARRAY_RESERVE1(p, n, cap, what)                                                                          \
  ((n) < (cap) ? LETHE_OK : lethe_array_grow(&(p), &(cap), (n) + 1, sizeof *(p), (what)))

#endif
