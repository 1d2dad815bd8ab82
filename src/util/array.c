/* util/array.c: checked, doubling growth of caller-held arrays (see array.h). */
#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

lethe_status lethe_array_grow(void *pp, size_t *cap, size_t need, size_t elem, const char *what) {
  if (need <= *cap) return LETHE_OK;
  if (elem == 0 || need > SIZE_MAX / elem)
    return lethe_fail(LETHE_ERR_NOMEM, "%s: %zu elements of %zu bytes do not fit in memory", what, need, elem);
  size_t c = *cap > SIZE_MAX / 2 ? SIZE_MAX : 2 * *cap;
  if (c < 8) c = 8;
  if (c < need) c = need;
  if (c > SIZE_MAX / elem) c = need; /* doubling would overflow: take just what is needed */
  void *old;
  memcpy(&old, pp, sizeof old);
  void *p = realloc(old, c * elem);
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory (%zu elements of %zu bytes)", what, c, elem);
  memcpy(pp, &p, sizeof p); /* the caller's T * now owns p (memcpy: pp may point at any T *) */
  *cap = c;
  // cppcheck-suppress memleak ; p was stored through pp above
  return LETHE_OK;
}
