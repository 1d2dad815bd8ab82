/* eval/pyjson.c: Python-style JSON output (repr floats, ensure_ascii strings). */
#include "eval/pyjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/pytext.h"
#include "util/error.h"
#include "util/fileio.h"

void lethe_pyjson_float(lethe_sbuf *b, double x) {
  if (!isfinite(x)) {
    lethe_sbuf_puts(b, "null");
    return;
  }
  if (x == 0) {
    lethe_sbuf_puts(b, signbit(x) ? "-0.0" : "0.0");
    return;
  }
  /* Shortest "%.*e" that reads back as x. */
  char e[40];
  for (int prec = 0; prec < 17; prec++) {
    snprintf(e, sizeof e, "%.*e", prec, x);
    if (strtod(e, NULL) == x) break;
  }
  /* e = [-]d[.ddd]e(+|-)XX -> digits and decimal exponent. */
  const char *p = e;
  int neg = 0;
  if (*p == '-') neg = 1, p++;
  char digits[24];
  size_t nd = 0;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  int exp10 = atoi(p + 1);
  int decpt = exp10 + 1; /* x = 0.DIGITS * 10^decpt */
  char out[64];
  size_t k = 0;
  if (neg) out[k++] = '-';
  if (decpt <= -4 || decpt > 16) { /* Python's repr switches to exponent notation here */
    out[k++] = digits[0];
    if (nd > 1) {
      out[k++] = '.';
      memcpy(out + k, digits + 1, nd - 1);
      k += nd - 1;
    }
    k += (size_t)snprintf(out + k, sizeof out - k, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
  } else if (decpt <= 0) {
    out[k++] = '0';
    out[k++] = '.';
    for (int i = 0; i < -decpt; i++) out[k++] = '0';
    memcpy(out + k, digits, nd);
    k += nd;
  } else if ((size_t)decpt >= nd) {
    memcpy(out + k, digits, nd);
    k += nd;
    for (size_t i = nd; i < (size_t)decpt; i++) out[k++] = '0';
    out[k++] = '.';
    out[k++] = '0';
  } else {
    memcpy(out + k, digits, (size_t)decpt);
    k += (size_t)decpt;
    out[k++] = '.';
    memcpy(out + k, digits + decpt, nd - (size_t)decpt);
    k += nd - (size_t)decpt;
  }
  lethe_sbuf_put(b, out, k);
}

static void put_u(lethe_sbuf *b, unsigned v) {
  char t[8];
  snprintf(t, sizeof t, "\\u%04x", v);
  lethe_sbuf_put(b, t, 6);
}

void lethe_pyjson_string(lethe_sbuf *b, const char *s, size_t n) {
  const uint8_t *u = (const uint8_t *)s;
  lethe_sbuf_put(b, "\"", 1);
  size_t i = 0;
  while (i < n) {
    size_t adv;
    uint32_t cp = lethe_py_decode(u + i, n - i, &adv);
    i += adv;
    switch (cp) {
    case '"': lethe_sbuf_put(b, "\\\"", 2); continue;
    case '\\': lethe_sbuf_put(b, "\\\\", 2); continue;
    case '\n': lethe_sbuf_put(b, "\\n", 2); continue;
    case '\r': lethe_sbuf_put(b, "\\r", 2); continue;
    case '\t': lethe_sbuf_put(b, "\\t", 2); continue;
    case '\b': lethe_sbuf_put(b, "\\b", 2); continue;
    case '\f': lethe_sbuf_put(b, "\\f", 2); continue;
    default: break;
    }
    if (cp >= 0x20 && cp < 0x7F) {
      char c = (char)cp;
      lethe_sbuf_put(b, &c, 1);
    } else if (cp >= LETHE_PY_BYTE_BASE) {
      put_u(b, 0xFFFD);
    } else if (cp < 0x10000) {
      put_u(b, cp);
    } else {
      uint32_t v = cp - 0x10000;
      put_u(b, 0xD800 + (v >> 10));
      put_u(b, 0xDC00 + (v & 0x3FF));
    }
  }
  lethe_sbuf_put(b, "\"", 1);
}

lethe_status lethe_sbuf_write_file(const lethe_sbuf *b, const char *path) {
  if (b->oom) return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory while formatting", path);
  return lethe_write_file_atomic(path, b->p ? b->p : "", b->n);
}
