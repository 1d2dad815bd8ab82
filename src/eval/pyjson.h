/* eval/pyjson.h: writing JSON the way Python's json module writes it (ensure_ascii strings,
 * floats as repr), into util/sbuf.h's buffer, so that lethe's JSON reads like the official
 * scorer's. */
#ifndef LETHE_EVAL_PYJSON_H
#define LETHE_EVAL_PYJSON_H

#include <stddef.h>

#include "lethe/status.h"
#include "util/sbuf.h"

/* Python's repr(float) (shortest round-trip digits; "0.5", "1.0", "1e-05", "1.5e+16");
 * non-finite values are written as null. */
void lethe_pyjson_float(lethe_sbuf *b, double x);
/* json.dumps(str) with ensure_ascii: "\"", "\\", \n \r \t \b \f, \u00XX for other controls and
 * DEL, \uXXXX (surrogate pairs above U+FFFF) for non-ASCII; an invalid UTF-8 byte as \ufffd. */
void lethe_pyjson_string(lethe_sbuf *b, const char *s, size_t n);

/* Writes the buffer to `path` atomically; an out-of-memory buffer is an error. */
lethe_status lethe_sbuf_write_file(const lethe_sbuf *b, const char *path);

#endif
