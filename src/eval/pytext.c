/* eval/pytext.c: Python 3.11's str.isspace, str.strip and str.lower on UTF-8 bytes. */
#include "eval/pytext.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

uint32_t lethe_py_decode(const uint8_t *s, size_t n, size_t *adv) {
  uint8_t b = s[0];
  *adv = 1;
  if (b < 0x80) return b;
  size_t need;
  uint32_t cp, min;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1, cp = b & 0x1F, min = 0x80;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2, cp = b & 0x0F, min = 0x800;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3, cp = b & 0x07, min = 0x10000;
  } else {
    return LETHE_PY_BYTE_BASE + b;
  }
  if (n < need + 1) return LETHE_PY_BYTE_BASE + b;
  for (size_t i = 1; i <= need; i++) {
    if ((s[i] & 0xC0) != 0x80) return LETHE_PY_BYTE_BASE + b;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return LETHE_PY_BYTE_BASE + b;
  *adv = need + 1;
  return cp;
}

size_t lethe_py_encode(uint32_t cp, uint8_t out[4]) {
  if (cp >= LETHE_PY_BYTE_BASE) {
    out[0] = (uint8_t)(cp - LETHE_PY_BYTE_BASE);
    return 1;
  }
  if (cp < 0x80) {
    out[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (uint8_t)(0xC0 | (cp >> 6));
    out[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | (cp >> 18));
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* Python's str.isspace: bidirectional class WS, B or S, or category Zs (checked exhaustively
 * against Python by tests/eval/test_eval_pytext.c). */
int lethe_py_isspace(uint32_t cp) {
  if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
  switch (cp) {
  case 0x85:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000: return 1;
  default: return cp >= 0x2000 && cp <= 0x200A;
  }
}

uint32_t lethe_py_lower1(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  size_t lo = 0, hi = lethe_py_lower_nruns;
  while (lo < hi) { /* first run with run.hi >= cp */
    size_t mid = lo + (hi - lo) / 2;
    if (lethe_py_lower_runs[mid].hi < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < lethe_py_lower_nruns) {
    const lethe_py_lower_run *r = &lethe_py_lower_runs[lo];
    if (cp >= r->lo && (cp - r->lo) % r->stride == 0) return (uint32_t)((int64_t)cp + r->delta);
  }
  return cp;
}

static int in_ranges(const lethe_py_range *r, size_t n, uint32_t cp) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r[mid].hi < cp)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && cp >= r[lo].lo;
}

int lethe_py_case_class(uint32_t cp) {
  if (in_ranges(lethe_py_case_ignorable, lethe_py_ncase_ignorable, cp)) return 2;
  if (in_ranges(lethe_py_cased, lethe_py_ncased, cp)) return 1;
  return 0;
}

void lethe_py_strip(const char *s, size_t n, size_t *start, size_t *end) {
  const uint8_t *u = (const uint8_t *)s;
  size_t i = 0, first = n, last = 0;
  while (i < n) {
    size_t adv;
    uint32_t cp = lethe_py_decode(u + i, n - i, &adv);
    if (!lethe_py_isspace(cp)) {
      if (first == n) first = i;
      last = i + adv;
    }
    i += adv;
  }
  if (first == n) first = last = 0;
  *start = first;
  *end = last;
}

void lethe_py_lower_begin(lethe_py_lower_iter *it, const char *s, size_t n) {
  it->s = (const uint8_t *)s;
  it->n = n;
  it->pos = 0;
  it->prev_cased = 0;
  it->pending = 0;
}

/* U+03A3 at the iterator's position (already consumed, next code point at it->pos): final
 * when the last non-case-ignorable code point before it is cased and none after it, skipping
 * case-ignorable ones, is cased (Python's handle_capital_sigma). */
static int final_sigma(const lethe_py_lower_iter *it) {
  if (!it->prev_cased) return 0;
  size_t i = it->pos;
  while (i < it->n) {
    size_t adv;
    uint32_t cp = lethe_py_decode(it->s + i, it->n - i, &adv);
    int cls = lethe_py_case_class(cp);
    if (cls != 2) return cls != 1;
    i += adv;
  }
  return 1;
}

int64_t lethe_py_lower_next(lethe_py_lower_iter *it) {
  if (it->pending) {
    uint32_t p = it->pending;
    it->pending = 0;
    return p;
  }
  if (it->pos >= it->n) return -1;
  size_t adv;
  uint32_t cp = lethe_py_decode(it->s + it->pos, it->n - it->pos, &adv);
  it->pos += adv;
  uint32_t out;
  if (cp == 0x130) {
    out = 'i';
    it->pending = 0x307;
  } else if (cp == 0x3A3) {
    out = final_sigma(it) ? 0x3C2 : 0x3C3;
  } else {
    out = lethe_py_lower1(cp);
  }
  int cls = lethe_py_case_class(cp);
  if (cls != 2) it->prev_cased = cls == 1;
  return out;
}

lethe_status lethe_py_lower(const char *s, size_t n, char **out, size_t *out_len) {
  /* A 1-byte character stays 1 byte (ASCII maps to ASCII, an invalid byte to itself) and no
   * character becomes more than 4 bytes (U+0130's 2 become 3), so 2n + 1 bytes suffice. */
  uint8_t *buf = malloc(2 * n + 1);
  if (!buf) return lethe_fail(LETHE_ERR_NOMEM, "lower-casing %zu bytes: out of memory", n);
  lethe_py_lower_iter it;
  lethe_py_lower_begin(&it, s, n);
  size_t k = 0;
  int64_t cp;
  while ((cp = lethe_py_lower_next(&it)) >= 0) k += lethe_py_encode((uint32_t)cp, buf + k);
  buf[k] = 0;
  *out = (char *)buf;
  if (out_len) *out_len = k;
  return LETHE_OK;
}
