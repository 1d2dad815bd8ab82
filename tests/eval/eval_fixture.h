/* tests/eval/eval_fixture.h: reading the scorer's committed fixtures (tests/fixtures/eval/,
 * written by tools/reference/make_eval_fixtures.py) line by line. Header-only, for the
 * tests/eval programs. */
#ifndef LETHE_TESTS_EVAL_FIXTURE_H
#define LETHE_TESTS_EVAL_FIXTURE_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/status.h"
#include "testutil.h"
#include "util/fileio.h"

/* The whole fixture tests/fixtures/eval/<name>, NUL-terminated (fails the test when absent). */
/* noinline: inlined, gcc 12 mistakes the returned buffer for a pointer to a local. */
__attribute__((unused, noinline)) static char *ef_read(const char *name, size_t *len) {
  char rel[512];
  snprintf(rel, sizeof rel, "tests/fixtures/eval/%s", name);
  char *path = tu_src_path(rel);
  char *text = NULL;
  size_t n = 0;
  lethe_status st = lethe_read_file(path, (size_t)1 << 30, &text, &n);
  if (st != LETHE_OK) print_message("%s\n", lethe_last_error());
  assert_int_equal(st, LETHE_OK);
  free(path);
  if (len) *len = n;
  return text;
}

/* Next line of a buffer (the newline is replaced by NUL); NULL at the end. */
static inline char *ef_line(char **cursor) {
  char *s = *cursor;
  if (!s || !*s) return NULL;
  char *nl = strchr(s, '\n');
  if (nl) {
    *nl = 0;
    *cursor = nl + 1;
  } else {
    *cursor = s + strlen(s);
  }
  return s;
}

static inline json_t *ef_json(const char *line) {
  json_error_t err;
  json_t *j = json_loads(line, JSON_ALLOW_NUL, &err);
  if (!j) print_message("fixture line: %s\n", err.text);
  assert_non_null(j);
  return j;
}

static inline const char *ef_str(const json_t *obj, const char *key, size_t *len) {
  const json_t *v = json_object_get(obj, key);
  assert_non_null(v);
  assert_true(json_is_string(v));
  if (len) *len = json_string_length(v);
  return json_string_value(v);
}

static inline double ef_num(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  assert_non_null(v);
  assert_true(json_is_number(v));
  return json_number_value(v);
}

static inline uint64_t ef_fnv64(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
#define EF_FNV_INIT 0xcbf29ce484222325ull

/* Writes `text` to a fresh scratch file and returns its path (malloc'ed). */
static inline char *ef_tmp_file(const char *name, const char *text, size_t len) {
  char *path = tu_tmp_path(name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  if (len) assert_int_equal(fwrite(text, 1, len, fp), len);
  fclose(fp);
  return path;
}

#endif
