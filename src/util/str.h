/* util/str.h: small string helpers shared by the library. */
#ifndef LETHE_UTIL_STR_H
#define LETHE_UTIL_STR_H

#include <stddef.h>

/* A NUL-terminated malloc'ed copy of the n bytes at s (which may hold NULs and need not end in
 * one); NULL when out of memory. */
char *lethe_strndup(const void *s, size_t n);

#endif
