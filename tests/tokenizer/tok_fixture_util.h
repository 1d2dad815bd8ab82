/* tests/tokenizer/tok_fixture_util.h: helpers the tokenizer tests share (header-only: every
 * test_*.c is its own program): reading JSONL fixtures, comparing ids and texts with readable
 * reports, the FNV-1a hashes the fixture generator uses. */
#ifndef LETHE_TEST_TOK_FIXTURE_UTIL_H
#define LETHE_TEST_TOK_FIXTURE_UTIL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/tokenizer.h"
#include "testutil.h"

/* Calls fn on every JSON line of a file; returns the number of lines, -1 when unreadable. */
static inline int tf_each_line(const char *path, void (*fn)(json_t *rec, void *arg), void *arg) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return -1;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int count = 0;
  while ((n = getline(&line, &cap, fp)) > 0) {
    json_error_t err;
    json_t *rec = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &err);
    if (!rec) {
      print_error("%s:%d: bad fixture line: %s\n", path, count + 1, err.text);
      fail();
    }
    fn(rec, arg);
    json_decref(rec);
    count++;
  }
  free(line);
  fclose(fp);
  return count;
}

static inline uint64_t tf_fnv_ids(const int *ids, int n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (int i = 0; i < n; i++) {
    uint32_t v = (uint32_t)ids[i];
    for (int b = 0; b < 4; b++) {
      h ^= (v >> (8 * b)) & 0xFF;
      h *= 0x100000001B3ull;
    }
  }
  return h;
}

static inline uint64_t tf_fnv_bytes(const char *s, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

/* A short printable rendering of a text for failure messages. */
static inline void tf_show(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 8 < cap; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n')
      o += (size_t)snprintf(out + o, cap - o, "\\n");
    else if (c < 0x20 || c == 0x7f)
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    else
      out[o++] = (char)c;
  }
  if (n && o + 8 >= cap) o += (size_t)snprintf(out + o, cap - o, "...");
  out[o] = 0;
}

/* 1 when ids equal the JSON array; prints both otherwise. */
static inline int tf_ids_equal(
    const char *what, const char *text, size_t tlen, const int *ids, int n, const json_t *want) {
  size_t m = json_array_size(want);
  int ok = (size_t)n == m;
  for (size_t i = 0; ok && i < m; i++)
    if (json_integer_value(json_array_get(want, i)) != ids[i]) ok = 0;
  if (ok) return 1;
  char shown[400];
  tf_show(text, tlen, shown, sizeof shown);
  print_error("%s: \"%s\"\n  want (%zu):", what, shown, m);
  for (size_t i = 0; i < m && i < 60; i++) print_error(" %lld", (long long)json_integer_value(json_array_get(want, i)));
  print_error("\n  got  (%d):", n);
  for (int i = 0; i < n && i < 60; i++) print_error(" %d", ids[i]);
  print_error("\n");
  return 0;
}

static inline int tf_text_equal(
    const char *what, const char *text, size_t tlen, const char *got, size_t glen, const char *want, size_t wlen) {
  if (glen == wlen && !memcmp(got, want, wlen)) return 1;
  char a[300], b[300], c[300];
  tf_show(text, tlen, a, sizeof a);
  tf_show(want, wlen, b, sizeof b);
  tf_show(got, glen, c, sizeof c);
  print_error("%s: text \"%s\"\n  want \"%s\"\n  got  \"%s\"\n", what, a, b, c);
  return 0;
}

/* Loads a tokenizer from ../shared (NULL path: skip). */
static inline lethe_tokenizer *tf_load(const char *path) {
  lethe_tokenizer *t = NULL;
  lethe_status st = lethe_tokenizer_load(path, &t);
  if (st != LETHE_OK) {
    print_error("loading %s: %s\n", path, lethe_last_error());
    fail();
  }
  return t;
}

#endif
