/* tests/util/test_util.c: util/ on its own. The typed JSON field getters (util/json.h: required
 * and optional fields, wrong types, ranges, non-finite numbers, each error naming the file and the
 * field, in the wording of each place: file, JSONL file:line, tokenizer.json path); the JSONL
 * walker (util/jsonl.h: blank lines, line numbers, non-objects, a callback's error stopping the
 * walk); whole-file reads and atomic writes (size limit, not a regular file, no temporary file left
 * behind), paths and directories; lethe_strndup (util/str.h: embedded NULs, empty input); the
 * string buffer (util/sbuf.h: NULs, formatting, growth, sticky out-of-memory); the growable array
 * (util/array.h: growth, overflow refusal). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util/array.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/jsonl.h"
#include "util/sbuf.h"
#include "util/str.h"

static void expect_error(lethe_status s, const char *a, const char *b) {
  const char *m = lethe_last_error();
  print_message("%s\n", m);
  assert_int_not_equal(s, LETHE_OK);
  if (a) assert_non_null(strstr(m, a));
  if (b) assert_non_null(strstr(m, b));
}

static void test_json_fields(void **st) {
  (void)st;
  json_t *o;
  const char *text = "{\"n\": 7, \"big\": 100000, \"x\": 1.5, \"b\": true, \"s\": \"hi\", \"nul\": null}";
  assert_int_equal(lethe_json_parse(text, strlen(text), "cfg.json", &o), LETHE_OK);
  int64_t i = -1;
  int present = -1;
  assert_int_equal(lethe_json_int(o, "n", 1, 0, 10, "cfg.json", &i, &present), LETHE_OK);
  assert_int_equal(i, 7);
  assert_int_equal(present, 1);
  /* a missing or null optional field leaves the value alone */
  i = 42;
  assert_int_equal(lethe_json_int(o, "nul", 0, 0, 10, "cfg.json", &i, &present), LETHE_OK);
  assert_int_equal(i, 42);
  assert_int_equal(present, 0);
  assert_int_equal(lethe_json_int(o, "absent", 0, 0, 10, "cfg.json", &i, NULL), LETHE_OK);
  assert_int_equal(i, 42);
  expect_error(lethe_json_int(o, "absent", 1, 0, 10, "cfg.json", &i, NULL), "cfg.json", "'absent'");
  expect_error(lethe_json_int(o, "big", 1, 0, 10, "cfg.json", &i, NULL), "'big' is 100000", "outside [0, 10]");
  expect_error(lethe_json_int(o, "x", 1, 0, 10, "cfg.json", &i, NULL), "'x' must be an integer", NULL);
  expect_error(lethe_json_int(o, "s", 1, 0, 10, "cfg.json", &i, NULL), "cfg.json", "'s'");
  double d = 0;
  assert_int_equal(lethe_json_num(o, "x", 1, "cfg.json", &d, NULL), LETHE_OK);
  assert_true(d == 1.5);
  assert_int_equal(lethe_json_num(o, "n", 1, "cfg.json", &d, NULL), LETHE_OK); /* an integer is a number */
  assert_true(d == 7.0);
  expect_error(lethe_json_num(o, "s", 1, "cfg.json", &d, NULL), "'s' must be a number", NULL);
  int b = -1;
  assert_int_equal(lethe_json_bool(o, "b", "cfg.json", &b), LETHE_OK);
  assert_int_equal(b, 1);
  expect_error(lethe_json_bool(o, "n", "cfg.json", &b), "'n' must be true or false", NULL);
  const char *s = NULL;
  assert_int_equal(lethe_json_str(o, "s", 1, "cfg.json", &s), LETHE_OK);
  assert_string_equal(s, "hi");
  expect_error(lethe_json_str(o, "n", 1, "cfg.json", &s), "'n' must be a string", NULL);
  json_decref(o);
  /* syntax errors name the place; duplicate keys are rejected */
  expect_error(lethe_json_parse("{\"a\": }", 7, "bad.json", &o), "bad.json: line 1", "invalid JSON");
  assert_null(o);
  expect_error(lethe_json_parse("{\"a\": 1, \"a\": 2}", 16, "dup.json", &o), "dup.json", "invalid JSON");
  /* non-finite numbers (jansson reads 1e999 as inf) are refused */
  const char *inf = "{\"x\": 1e999}";
  if (lethe_json_parse(inf, strlen(inf), "inf.json", &o) == LETHE_OK) {
    expect_error(lethe_json_num(o, "x", 1, "inf.json", &d, NULL), "'x' is not finite", NULL);
    json_decref(o);
  }
}

/* One getter, three places: a JSONL record names file:line, a nested object its path, and every
 * wrong type says what was expected (and, for a path, what was found). */
static void test_json_places(void **st) {
  (void)st;
  json_t *o;
  const char *text = "{\"n\": 7, \"r\": 4.0, \"h\": 2.5, \"b\": true, \"s\": \"a\\u0000b\", \"nul\": null}";
  assert_non_null(o = json_loadb(text, strlen(text), JSON_ALLOW_NUL, NULL)); /* JSONL strings may hold NULs */
  const lethe_json_at rec = {"rows.jsonl", 3, NULL}, nest = {"tokenizer.json", 0, "model"};
  int64_t i = -1;
  assert_int_equal(lethe_json_int_at(o, "r", 1, 0, 10, &nest, &i, NULL), LETHE_OK); /* 4.0 is an integer */
  assert_int_equal(i, 4);
  expect_error(lethe_json_int_at(o, "h", 1, 0, 10, &nest, &i, NULL), "tokenizer.json: model.h: expected an integer",
      "found a number");
  expect_error(lethe_json_int_at(o, "n", 1, 0, 5, &nest, &i, NULL), "model.n: 7 is out of range [0, 5]", NULL);
  expect_error(
      lethe_json_int_at(o, "n", 1, 0, 5, &rec, &i, NULL), "rows.jsonl:3: field \"n\" is 7, outside [0, 5]", NULL);
  expect_error(
      lethe_json_bool_at(o, "n", 0, &nest, &(int){0}, NULL), "model.n: expected true or false", "found an integer");
  expect_error(
      lethe_json_bool_at(o, "s", 0, &rec, &(int){0}, NULL), "rows.jsonl:3: field \"s\" must be true or false", NULL);
  const char *s = NULL;
  size_t len = 0;
  expect_error(
      lethe_json_str_at(o, "absent", 1, &nest, &s, &len), "tokenizer.json: model: missing string field", "\"absent\"");
  expect_error(lethe_json_str_at(o, "nul", 1, &rec, &s, &len), "rows.jsonl:3: missing field \"nul\"", NULL);
  expect_error(lethe_json_str_at(o, "b", 1, &nest, &s, &len), "model.b: expected a string", "found a boolean");
  assert_null(s); /* failures leave the output alone */
  assert_int_equal(lethe_json_str_at(o, "absent", 0, &rec, &s, &len), LETHE_OK);
  assert_null(s);
  assert_int_equal(lethe_json_str_at(o, "s", 1, &rec, &s, &len), LETHE_OK);
  assert_int_equal(len, 3); /* an embedded NUL counts */
  assert_memory_equal(s, "a\0b", 3);
  int present = 1;
  double d = -1;
  assert_int_equal(lethe_json_num_at(o, "nul", 0, &rec, &d, &present), LETHE_OK);
  assert_int_equal(present, 0);
  assert_true(d == -1);
  assert_string_equal(lethe_json_type_name(NULL), "nothing");
  assert_string_equal(lethe_json_type_name(json_object_get(o, "nul")), "null");
  json_decref(o);
}

/* The string buffer: appends keep it NUL-terminated and may hold NULs, printf formats into it,
 * and a failed append is sticky (checked once at the end). */
static void test_sbuf(void **st) {
  (void)st;
  lethe_sbuf b = {0};
  assert_int_equal(lethe_sbuf_status(&b, "empty"), LETHE_OK);
  assert_int_equal(lethe_sbuf_puts(&b, ""), LETHE_OK);
  assert_non_null(b.p); /* even an empty append gives a string */
  assert_string_equal(b.p, "");
  assert_int_equal(lethe_sbuf_put(&b, "a\0b", 3), LETHE_OK);
  assert_int_equal(b.n, 3);
  assert_memory_equal(b.p, "a\0b", 4); /* and the terminator */
  assert_int_equal(lethe_sbuf_printf(&b, "[%d|%5.2f|%s]", -7, 3.14159, "x"), LETHE_OK);
  assert_int_equal(b.n, 3 + strlen("[-7| 3.14|x]"));
  assert_string_equal(b.p + 3, "[-7| 3.14|x]");
  /* growth across many appends keeps every byte */
  for (int i = 0; i < 1000; i++) assert_int_equal(lethe_sbuf_printf(&b, "%03d", i), LETHE_OK);
  assert_int_equal(b.n, 3 + 12 + 3000);
  assert_true(b.cap > b.n);
  assert_memory_equal(b.p + 15, "000001002", 9);
  assert_string_equal(b.p + b.n - 3, "999");
  /* a size that cannot fit is refused, sets oom, and later appends are refused too */
  size_t n = b.n;
  expect_error(lethe_sbuf_reserve(&b, SIZE_MAX - 1), "string buffer", "do not fit");
  assert_int_equal(b.oom, 1);
  assert_int_equal(b.n, n);
  assert_int_not_equal(lethe_sbuf_puts(&b, "more"), LETHE_OK);
  assert_int_equal(b.n, n);
  expect_error(lethe_sbuf_status(&b, "results.json"), "results.json: out of memory", NULL);
  lethe_sbuf_free(&b);
  assert_null(b.p);
  assert_int_equal(b.n + b.cap + (size_t)b.oom, 0);
}

/* The growable array: doubling growth keeps the contents; sizes that overflow size_t are refused
 * with a message naming the array, leaving it as it was. */
static void test_array(void **st) {
  (void)st;
  int *v = NULL;
  size_t n = 0, cap = 0;
  assert_int_equal(LETHE_ARRAY_GROW(v, cap, 0, "ids"), LETHE_OK); /* nothing needed: nothing done */
  assert_null(v);
  assert_int_equal(cap, 0);
  size_t grew = 0, last = 0;
  for (int i = 0; i < 10000; i++) {
    assert_int_equal(LETHE_ARRAY_RESERVE1(v, n, cap, "ids"), LETHE_OK);
    if (cap != last) grew++, last = cap;
    v[n++] = i * 3;
  }
  assert_true(cap >= n && cap < 2 * n + 8);
  assert_true(grew <= 12); /* doubling from 8: 8, 16, ... 16384 */
  for (int i = 0; i < 10000; i++) assert_int_equal(v[i], i * 3);
  /* a larger need than twice the capacity is met in one step */
  assert_int_equal(LETHE_ARRAY_GROW(v, cap, 100000, "ids"), LETHE_OK);
  assert_int_equal(cap, 100000);
  assert_int_equal(v[9999], 9999 * 3);
  /* overflow: need * elem beyond SIZE_MAX, refused before any allocation, array untouched */
  int *before = v;
  expect_error(LETHE_ARRAY_GROW(v, cap, SIZE_MAX / 2, "ids"), "ids:", "do not fit in memory");
  assert_ptr_equal(v, before);
  assert_int_equal(cap, 100000);
  expect_error(lethe_array_grow(&v, &cap, cap + 1, SIZE_MAX / 8, "huge"), "huge:", "do not fit");
  assert_int_equal(cap, 100000);
  free(v);
}

static char *write_tmp(const char *name, const char *text, size_t len) {
  char *p = tu_tmp_path(name);
  assert_int_equal(lethe_write_file_atomic(p, text, len), LETHE_OK);
  return p;
}

typedef struct {
  size_t lines[8];
  int n, stop_at;
} walk;

static lethe_status on_obj(const json_t *obj, const char *path, size_t line, void *ctx) {
  walk *w = ctx;
  if (w->n < 8) w->lines[w->n] = line;
  w->n++;
  if (w->stop_at && w->n == w->stop_at) return lethe_fail(LETHE_ERR_INVALID, "%s:%zu: stop here", path, line);
  const char *s;
  size_t len;
  return lethe_json_str_at(obj, "k", 1, &(lethe_json_at){path, line, NULL}, &s, &len);
}

static void test_jsonl(void **st) {
  (void)st;
  const char text[] = "{\"k\": \"a\"}\n\n  \t\r\n{\"k\": \"b\\u0000c\"}\r\n{\"k\": \"d\"}";
  char *p = write_tmp("walk.jsonl", text, sizeof text - 1);
  walk w = {{0}, 0, 0};
  size_t n = 0;
  assert_int_equal(lethe_jsonl_each(p, on_obj, &w, &n), LETHE_OK);
  assert_int_equal(n, 3);
  assert_int_equal(w.n, 3);
  assert_int_equal(w.lines[0], 1);
  assert_int_equal(w.lines[1], 4); /* blank lines count */
  assert_int_equal(w.lines[2], 5); /* the last line needs no newline */
  /* a callback's error stops the walk and comes back unchanged */
  walk w2 = {{0}, 0, 2};
  expect_error(lethe_jsonl_each(p, on_obj, &w2, &n), ":4: stop here", NULL);
  assert_int_equal(w2.n, 2);
  unlink(p);
  free(p);
  const char bad[] = "{\"k\": \"a\"}\n[1, 2]\n";
  p = write_tmp("walk_bad.jsonl", bad, sizeof bad - 1);
  walk w3 = {{0}, 0, 0};
  expect_error(lethe_jsonl_each(p, on_obj, &w3, NULL), ":2: expected a JSON object", p);
  unlink(p);
  free(p);
  const char wrong[] = "{\"k\": 1}\n";
  p = write_tmp("walk_type.jsonl", wrong, sizeof wrong - 1);
  walk w4 = {{0}, 0, 0};
  expect_error(lethe_jsonl_each(p, on_obj, &w4, NULL), ":1: field \"k\" must be a string", NULL);
  unlink(p);
  free(p);
  /* numbers: optional, null counts as absent */
  json_t *o = json_loads("{\"x\": 2.5, \"y\": null, \"z\": \"no\"}", 0, NULL);
  const lethe_json_at at = {"f", 1, NULL};
  double v = NAN;
  int present;
  assert_int_equal(lethe_json_num_at(o, "x", 0, &at, &v, &present), LETHE_OK);
  assert_true(present && v == 2.5);
  v = NAN;
  assert_int_equal(lethe_json_num_at(o, "y", 0, &at, &v, &present), LETHE_OK);
  assert_true(!present && isnan(v));
  expect_error(lethe_json_num_at(o, "z", 0, &at, &v, &present), "f:1: field \"z\" must be a number", NULL);
  json_decref(o);
  expect_error(lethe_jsonl_each("/nonexistent/x.jsonl", on_obj, &w, NULL), "/nonexistent/x.jsonl", "cannot open");
}

static void test_files(void **st) {
  (void)st;
  char *dir = tu_tmp_path("utilfiles");
  lethe_remove_tree(dir);
  char *deep = lethe_path_join(dir, "a/b/c");
  assert_int_equal(lethe_make_dirs(deep), LETHE_OK);
  assert_true(lethe_is_dir(deep));
  assert_int_equal(lethe_make_dirs(deep), LETHE_OK); /* again: fine */
  /* path_join adds one separator, never two */
  char *j1 = lethe_path_join("x", "y"), *j2 = lethe_path_join("x/", "y");
  assert_string_equal(j1, "x/y");
  assert_string_equal(j2, "x/y");
  free(j1);
  free(j2);
  /* an atomic write replaces the file whole and leaves no temporary name behind */
  char *f = lethe_path_join(deep, "f.bin");
  const char data[] = "one\0two";
  assert_int_equal(lethe_write_file_atomic(f, data, sizeof data), LETHE_OK);
  assert_int_equal(lethe_write_file_atomic(f, "new", 3), LETHE_OK);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(lethe_read_file(f, 100, &text, &len), LETHE_OK);
  assert_int_equal(len, 3);
  assert_string_equal(text, "new"); /* NUL-terminated */
  free(text);
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -v '^f.bin$' | wc -l", deep);
  FILE *ls = popen(cmd, "r");
  int others = -1;
  assert_int_equal(fscanf(ls, "%d", &others), 1);
  pclose(ls);
  assert_int_equal(others, 0);
  /* limits and the wrong kind of file */
  expect_error(lethe_read_file(f, 2, &text, &len), "f.bin", "larger than the 2 allowed");
  expect_error(lethe_read_file(deep, 100, &text, &len), deep, "not a regular file");
  char *missing = lethe_path_join(dir, "missing");
  expect_error(lethe_read_file(missing, 100, &text, &len), missing, "cannot open");
  assert_false(lethe_file_exists(missing));
  /* a file where a directory should be */
  char *under = lethe_path_join(f, "sub");
  expect_error(lethe_make_dirs(under), NULL, NULL);
  /* writing into a missing directory fails, naming the place */
  char *nowhere = lethe_path_join(missing, "out.txt");
  expect_error(lethe_write_file_atomic(nowhere, "x", 1), missing, NULL);
  assert_false(lethe_file_exists(nowhere));
  /* an empty file maps to no data */
  char *empty = lethe_path_join(dir, "empty");
  assert_int_equal(lethe_write_file_atomic(empty, "", 0), LETHE_OK);
  lethe_mapped_file m;
  assert_int_equal(lethe_map_file(empty, &m), LETHE_OK);
  assert_int_equal(m.size, 0);
  lethe_unmap_file(&m);
  lethe_remove_tree(dir);
  assert_false(lethe_is_dir(dir));
  free(empty);
  free(nowhere);
  free(under);
  free(missing);
  free(f);
  free(deep);
  free(dir);
}

static void test_strndup(void **st) {
  (void)st;
  char *p = lethe_strndup("abc\0def", 7); /* the n bytes, NULs and all, then one NUL */
  assert_non_null(p);
  assert_memory_equal(p, "abc\0def", 8);
  free(p);
  p = lethe_strndup("xyz", 2);
  assert_string_equal(p, "xy");
  free(p);
  p = lethe_strndup(NULL, 0); /* empty: "" */
  assert_non_null(p);
  assert_string_equal(p, "");
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_fields),
      cmocka_unit_test(test_json_places),
      cmocka_unit_test(test_sbuf),
      cmocka_unit_test(test_array),
      cmocka_unit_test(test_jsonl),
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_strndup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
