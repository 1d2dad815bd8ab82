/* tests/eval/test_eval_pytext.c: Python's str.lower / str.isspace / str.strip and the exact-match
 * rule, against Python itself: every code point, random strings of many scripts, the
 * special-casing characters and final sigma; pandas' NA strings; Python's float repr. */
#include <math.h>

#include "eval/eval_fixture.h"
#include "eval/pyjson.h"
#include "eval/pytext.h"
#include "lethe/eval_text.h"

#define MAXCP 0x110000u

static void test_every_code_point(void **state) {
  (void)state;
  uint32_t *lower = malloc(MAXCP * sizeof *lower);
  unsigned char *space = calloc(MAXCP, 1), *cls = calloc(MAXCP, 1);
  assert_non_null(lower);
  for (uint32_t c = 0; c < MAXCP; c++) lower[c] = c;
  char *text = ef_read("unicode_python.txt", NULL), *cur = text, *line;
  size_t n_lower = 0, n_space = 0;
  while ((line = ef_line(&cur)) != NULL) {
    unsigned a, b;
    if (sscanf(line, "L %x %x", &a, &b) == 2)
      lower[a] = b, n_lower++;
    else if (sscanf(line, "S %x", &a) == 1)
      space[a] = 1, n_space++;
    else if (sscanf(line, "I %x %x", &a, &b) == 2)
      memset(cls + a, 2, b - a + 1);
    else if (sscanf(line, "C %x %x", &a, &b) == 2)
      memset(cls + a, 1, b - a + 1);
  }
  free(text);
  assert_true(n_lower > 1400);
  assert_int_equal(n_space, 29);
  size_t bad = 0;
  for (uint32_t c = 0; c < MAXCP; c++) {
    if (c >= 0xD800 && c < 0xE000) continue;
    uint32_t want = c == 0x130 ? 0x130 : lower[c]; /* U+0130 expands: checked below */
    if (lethe_py_lower1(c) != want || lethe_py_isspace(c) != space[c] || lethe_py_case_class(c) != cls[c]) {
      if (bad++ < 10)
        print_message("U+%04X: lower %X/%X space %d/%d class %d/%d\n", c, lethe_py_lower1(c), want, lethe_py_isspace(c),
            space[c], lethe_py_case_class(c), cls[c]);
    }
  }
  assert_int_equal(bad, 0);
  free(lower);
  free(space);
  free(cls);
}

static void test_lower_and_strip_strings(void **state) {
  (void)state;
  char *text = ef_read("pytext_strings.jsonl", NULL), *cur = text, *line;
  size_t n = 0;
  while ((line = ef_line(&cur)) != NULL) {
    json_t *j = ef_json(line);
    size_t sl, ll, tl;
    const char *s = ef_str(j, "s", &sl), *low = ef_str(j, "lower", &ll), *st = ef_str(j, "strip", &tl);
    char *got;
    size_t gl;
    assert_int_equal(lethe_py_lower(s, sl, &got, &gl), LETHE_OK);
    if (gl != ll || memcmp(got, low, ll) != 0) print_message("lower(%s) = %s, want %s\n", s, got, low);
    assert_int_equal(gl, ll);
    assert_memory_equal(got, low, ll);
    free(got);
    size_t a, b;
    lethe_py_strip(s, sl, &a, &b);
    assert_int_equal(b - a, tl);
    assert_memory_equal(s + a, st, tl);
    json_decref(j);
    n++;
  }
  free(text);
  assert_true(n >= 2000);
}

static void test_exact_match_pairs(void **state) {
  (void)state;
  char *text = ef_read("exact_match_pairs.jsonl", NULL), *cur = text, *line;
  size_t n = 0, matches = 0;
  while ((line = ef_line(&cur)) != NULL) {
    json_t *j = ef_json(line);
    size_t al, bl;
    const char *a = ef_str(j, "a", &al), *b = ef_str(j, "b", &bl);
    int want = (int)ef_num(j, "match");
    int got = lethe_exact_match(a, al, b, bl);
    if (got != want) print_message("exact_match(\"%s\", \"%s\") = %d, want %d\n", a, b, got, want);
    assert_int_equal(got, want);
    matches += (size_t)want;
    json_decref(j);
    n++;
  }
  free(text);
  assert_true(n > 2000);
  assert_true(matches > 200 && matches < n);
}

static void test_exact_match_examples(void **state) {
  (void)state;
  assert_true(lethe_exact_match(" Paris\n", 7, "paris", 5));
  assert_true(lethe_exact_match("\xC4\xB0stanbul", 9, "i\xCC\x87stanbul", 10)); /* U+0130 */
  assert_false(lethe_exact_match("\xC4\xB0stanbul", 9, "istanbul", 8));
  assert_true(lethe_exact_match("\xE2\x84\xAA", 3, "k", 1));              /* KELVIN SIGN */
  assert_true(lethe_exact_match("\xC2\xA0yes\xE3\x80\x80", 8, "YES", 3)); /* NBSP, ideographic */
  assert_false(lethe_exact_match("a\0b", 3, "a", 1));
  assert_true(lethe_exact_match("", 0, " \t", 2));
  /* Invalid UTF-8 bytes are characters of their own. */
  assert_true(lethe_exact_match("\xFF"
                                "A",
      2,
      "\xFF"
      "a",
      2));
  assert_false(lethe_exact_match("\xFF", 1, "\xFE", 1));
}

static void test_pandas_na(void **state) {
  (void)state;
  char *text = ef_read("pandas_na.json", NULL);
  json_t *j = ef_json(text);
  const json_t *na = json_object_get(j, "na");
  assert_true(json_is_array(na));
  assert_int_equal(json_array_size(na), 19);
  size_t i;
  const json_t *v;
  json_array_foreach(na, i, v) { assert_true(lethe_eval_pandas_na(json_string_value(v), json_string_length(v))); }
  assert_false(lethe_eval_pandas_na("none", 4));
  assert_false(lethe_eval_pandas_na(" NA", 3));
  assert_false(lethe_eval_pandas_na("nan ", 4));
  assert_false(lethe_eval_pandas_na("0", 1));
  json_decref(j);
  free(text);
}

static void test_float_repr(void **state) {
  (void)state;
  char *text = ef_read("float_repr.jsonl", NULL), *cur = text, *line;
  size_t n = 0;
  while ((line = ef_line(&cur)) != NULL) {
    json_t *j = ef_json(line);
    double x = ef_num(j, "x");
    const char *want = ef_str(j, "repr", NULL);
    lethe_sbuf b = {0};
    lethe_pyjson_float(&b, x);
    if (strcmp(b.p, want) != 0) print_message("repr %.17g: %s, want %s\n", x, b.p, want);
    assert_string_equal(b.p, want);
    lethe_sbuf_free(&b);
    json_decref(j);
    n++;
  }
  free(text);
  assert_true(n > 1500);
  lethe_sbuf b = {0};
  lethe_pyjson_float(&b, NAN);
  assert_string_equal(b.p, "null");
  lethe_sbuf_free(&b);
}

static void test_json_string_escapes(void **state) {
  (void)state;
  lethe_sbuf b = {0};
  const char s[] = "a\"b\\c\n\t\x01\x7f\xC3\xA9\xF0\x9F\x98\x80\xFF";
  lethe_pyjson_string(&b, s, sizeof s - 1);
  assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\\u00e9\\ud83d\\ude00\\ufffd\"");
  lethe_sbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_code_point),
      cmocka_unit_test(test_lower_and_strip_strings),
      cmocka_unit_test(test_exact_match_pairs),
      cmocka_unit_test(test_exact_match_examples),
      cmocka_unit_test(test_pandas_na),
      cmocka_unit_test(test_float_repr),
      cmocka_unit_test(test_json_string_escapes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
