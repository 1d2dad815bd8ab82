/* tokenizer/tok_utf8.c: UTF-8 validation (Rust's str rules), decoding, encoding, the lossy
 * conversion Rust's String::from_utf8_lossy does, and Unicode White_Space. */
#include <string.h>

#include "tokenizer/tok_internal.h"

/* Length of the valid character at s, or minus the length of the maximal invalid subpart. */
static long step(const unsigned char *s, size_t n) {
  unsigned b0 = s[0];
  if (b0 < 0x80) return 1;
  size_t need;
  unsigned lo = 0x80, hi = 0xBF;
  if (b0 < 0xC2) return -1;
  if (b0 < 0xE0) {
    need = 2;
  } else if (b0 < 0xF0) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 < 0xF5) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  if (n < 2 || s[1] < lo || s[1] > hi) return -1;
  for (size_t i = 2; i < need; i++)
    if (i >= n || (s[i] & 0xC0) != 0x80) return -(long)i;
  return (long)need;
}

size_t tok_utf8_invalid_at(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    /* ASCII runs, 8 bytes at a time */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, u + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    long k = step(u + i, n - i);
    if (k < 0) return i;
    i += (size_t)k;
  }
  return n;
}

size_t tok_utf8_decode(const char *s, uint32_t *cp) {
  const unsigned char *u = (const unsigned char *)s;
  if (u[0] < 0x80) {
    *cp = u[0];
    return 1;
  }
  if (u[0] < 0xE0) {
    *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
    return 2;
  }
  if (u[0] < 0xF0) {
    *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
    return 3;
  }
  *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) | ((uint32_t)(u[2] & 0x3F) << 6) |
        (u[3] & 0x3F);
  return 4;
}

size_t tok_utf8_encode(uint32_t cp, char *out) {
  unsigned char *o = (unsigned char *)out;
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xC0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

lethe_status tok_utf8_lossy(const char *s, size_t n, lethe_sbuf *out) {
  const unsigned char *u = (const unsigned char *)s;
  static const char fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
  size_t i = 0, run = 0;
  while (i < n) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    long k = step(u + i, n - i);
    if (k > 0) {
      i += (size_t)k;
      continue;
    }
    lethe_status st = lethe_sbuf_put(out, s + run, i - run);
    if (st == LETHE_OK) st = lethe_sbuf_put(out, fffd, 3);
    if (st != LETHE_OK) return st;
    i += (size_t)(-k);
    run = i;
  }
  return lethe_sbuf_put(out, s + run, n - run);
}

int tok_is_whitespace(uint32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  if (c < 0x85) return 0;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}
