/* eval/pytext.h: Python 3.11's str semantics on UTF-8 bytes, as the official scorer relies on
 * them: code point decoding, str.isspace / str.strip, and str.lower (full lower-casing with
 * U+0130 -> "i\u0307" and the final-sigma rule, from tables generated out of Python itself).
 * An invalid UTF-8 byte decodes to LETHE_PY_BYTE_BASE + byte: not a space, lower-cases to itself,
 * encodes back to the byte. */
#ifndef LETHE_EVAL_PYTEXT_H
#define LETHE_EVAL_PYTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/status.h"

#define LETHE_PY_BYTE_BASE 0x200000u

typedef struct {
  uint32_t lo, hi;
  int32_t delta;
  uint32_t stride;
} lethe_py_lower_run;

typedef struct {
  uint32_t lo, hi;
} lethe_py_range;

/* Generated tables (unicode_tables.c). */
extern const lethe_py_lower_run lethe_py_lower_runs[];
extern const size_t lethe_py_lower_nruns;
extern const lethe_py_range lethe_py_case_ignorable[];
extern const size_t lethe_py_ncase_ignorable;
extern const lethe_py_range lethe_py_cased[];
extern const size_t lethe_py_ncased;

/* Decodes the code point at s[0..n) (n >= 1), setting *adv to the bytes it takes. */
uint32_t lethe_py_decode(const uint8_t *s, size_t n, size_t *adv);
/* Encodes cp (or an invalid byte's stand-in) into out, returning the byte count (1..4). */
size_t lethe_py_encode(uint32_t cp, uint8_t out[4]);

int lethe_py_isspace(uint32_t cp);
/* The one-to-one lower-case mapping (str.lower of a single character, except U+0130, which
 * this returns unchanged, and U+03A3, which this maps to U+03C3). */
uint32_t lethe_py_lower1(uint32_t cp);
/* 1: cased and not case-ignorable; 2: case-ignorable; 0: neither. */
int lethe_py_case_class(uint32_t cp);

/* The byte range [*start, *end) of s.strip(). */
void lethe_py_strip(const char *s, size_t n, size_t *start, size_t *end);

/* Lower-cases s[0..n) code point by code point, as str.lower does. */
typedef struct {
  const uint8_t *s;
  size_t n;
  size_t pos;
  int prev_cased;   /* the last non-case-ignorable code point so far was cased */
  uint32_t pending; /* second code point of U+0130's expansion, 0 when none */
} lethe_py_lower_iter;

void lethe_py_lower_begin(lethe_py_lower_iter *it, const char *s, size_t n);
/* Next lower-cased code point, or -1 at the end. */
int64_t lethe_py_lower_next(lethe_py_lower_iter *it);

/* s.lower() as a malloc'ed, NUL-terminated UTF-8 string. */
lethe_status lethe_py_lower(const char *s, size_t n, char **out, size_t *out_len);

#endif
