/* util/sbuf.h: the growable string buffer of the tree (the tokenizer's pieces, the JSON and chat
 * text lethe writes). Appends keep the text NUL-terminated (it may also hold NULs: n counts). A
 * failed append returns LETHE_ERR_NOMEM and also sets the sticky `oom`, so a writer may append
 * freely and check once at the end (lethe_sbuf_status). */
#ifndef LETHE_UTIL_SBUF_H
#define LETHE_UTIL_SBUF_H

#include <stddef.h>

#include "lethe/status.h"
#include "util/error.h"

typedef struct lethe_sbuf {
  char *p; /* NULL until the first append; then p[n] == 0 */
  size_t n, cap;
  int oom; /* an append failed: the contents are incomplete */
} lethe_sbuf;

/* Room for `extra` more bytes and the terminator (contents unchanged). */
lethe_status lethe_sbuf_reserve(lethe_sbuf *b, size_t extra);
/* Appends n bytes (a no-op once oom is set). */
lethe_status lethe_sbuf_put(lethe_sbuf *b, const void *s, size_t n);
lethe_status lethe_sbuf_puts(lethe_sbuf *b, const char *s);
/* Appends printf-formatted text. */
lethe_status lethe_sbuf_printf(lethe_sbuf *b, const char *fmt, ...) LETHE_PRINTF(2, 3);
/* LETHE_OK, or the out-of-memory error naming `what` when an append failed. */
lethe_status lethe_sbuf_status(const lethe_sbuf *b, const char *what);
/* Frees the text and empties the buffer (it may be reused). */
void lethe_sbuf_free(lethe_sbuf *b);

#endif
