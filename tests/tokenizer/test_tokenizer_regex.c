/* tests/tokenizer/test_tok_regex.c: the regex layer under the pre-tokenizers: for every Unicode
 * code point, lethe's translated \s, \p{L}, \p{N}, \w and \d (on the PCRE2 this build links) match
 * exactly the sets the Oniguruma inside tokenizers matches (tests/fixtures/tokenizer/
 * onig_classes.txt, from make_tokenizer_fixtures.py --unicode-tables), inside and outside
 * brackets; and the iteration over matches follows onig's find_iter, empty matches included. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tokenizer/tok_internal.h"

#define NCP 0x110000

/* Reads the line of onig_classes.txt for `name` into a bitmap. */
static unsigned char *onig_set(const char *name) {
  char *path = tu_src_path("tests/fixtures/tokenizer/onig_classes.txt");
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  unsigned char *bits = calloc(NCP, 1);
  char *line = NULL;
  size_t cap = 0;
  int found = 0;
  while (getline(&line, &cap, fp) > 0) {
    size_t nl = strlen(name);
    if (strncmp(line, name, nl) || line[nl] != ' ') continue;
    found = 1;
    char *p = line + nl;
    unsigned a, b;
    int used;
    while (sscanf(p, " %X-%X%n", &a, &b, &used) == 2) {
      for (unsigned c = a; c <= b && c < NCP; c++) bits[c] = 1;
      p += used;
    }
  }
  free(line);
  fclose(fp);
  free(path);
  assert_true(found);
  return bits;
}

static int matches_cp(const tok_regex *re, pcre2_match_data *md, uint32_t cp) {
  char buf[4];
  size_t n = tok_utf8_encode(cp, buf);
  int rc = pcre2_match(re->code, (PCRE2_SPTR)buf, n, 0, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, NULL);
  return rc >= 0 && pcre2_get_ovector_pointer(md)[1] == n;
}

static void check_class(const char *pattern, const unsigned char *want, int negate) {
  tok_regex *re = NULL;
  assert_int_equal(tok_regex_compile(pattern, strlen(pattern), 0, "test", &re), LETHE_OK);
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  int bad = 0;
  for (uint32_t cp = 0; cp < NCP; cp++) {
    if (cp >= 0xD800 && cp < 0xE000) continue;
    int got = matches_cp(re, md, cp), w = negate ? !want[cp] : want[cp];
    if (got != w && bad++ < 10)
      print_error("%s: U+%04X: lethe %s, Oniguruma %s\n", pattern, cp, got ? "matches" : "does not",
          w ? "matches" : "does not");
  }
  pcre2_match_data_free(md);
  tok_regex_free(re);
  if (bad) print_error("%s: %d code points differ\n", pattern, bad);
  assert_int_equal(bad, 0);
}

static void test_classes(void **st) {
  (void)st;
  unsigned char *s = onig_set("space"), *L = onig_set("L"), *N = onig_set("N"), *w = onig_set("w"), *d = onig_set("d");
  check_class("\\s", s, 0);
  check_class("\\S", s, 1);
  check_class("[\\s]", s, 0);
  check_class("\\p{L}", L, 0);
  check_class("\\pL", L, 0);
  check_class("\\P{L}", L, 1);
  check_class("[\\p{L}]", L, 0);
  check_class("\\p{N}", N, 0);
  check_class("\\w", w, 0);
  check_class("\\W", w, 1);
  check_class("\\d", d, 0);
  /* the GPT-2 class [^\s\p{L}\p{N}]: none of the three */
  unsigned char *u = calloc(NCP, 1);
  for (int c = 0; c < NCP; c++) u[c] = s[c] | L[c] | N[c];
  check_class("[^\\s\\p{L}\\p{N}]", u, 1);
  for (int c = 0; c < NCP; c++) u[c] = !(c == '\r' || c == '\n' || L[c] || N[c]);
  check_class("[^\\r\\n\\p{L}\\p{N}]", u, 0);
  free(u);
  free(s);
  free(L);
  free(N);
  free(w);
  free(d);
}

static void expect_matches(const char *pattern, const char *subject, const size_t *want, size_t nwant) {
  tok_regex *re = NULL;
  assert_int_equal(tok_regex_compile(pattern, strlen(pattern), 0, "test", &re), LETHE_OK);
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  tok_zvec m = {0};
  assert_int_equal(tok_regex_find_all(re, md, subject, strlen(subject), &m), LETHE_OK);
  int ok = m.n == nwant && !memcmp(m.p, want, nwant * sizeof *want);
  if (!ok) {
    print_error("/%s/ on \"%s\":", pattern, subject);
    for (size_t i = 0; i < m.n; i += 2) print_error(" (%zu,%zu)", m.p[i], m.p[i + 1]);
    print_error("\n");
  }
  tok_zvec_free(&m);
  pcre2_match_data_free(md);
  tok_regex_free(re);
  assert_true(ok);
}

static void test_find_all(void **st) {
  (void)st;
  const size_t a[] = {0, 0, 1, 1, 2, 4, 5, 5};
  expect_matches("x*", "abxxc", a, 8);
  const size_t b[] = {0, 1, 2, 3};
  expect_matches("^a", "a\na", b, 4); /* ^ is a line anchor, as in Ruby syntax */
  const size_t c2[] = {1, 2};
  expect_matches("\\h", "z1", c2, 2); /* \h is a hex digit in Oniguruma */
  const size_t d[] = {0, 3};
  expect_matches("\\u00e9x", "\xC3\xA9x", d, 2);
  const size_t e[] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 6}; /* "\s+(?!\S)" leaves one space */
  expect_matches("\\s+(?!\\S)|\\s+|\\S+", "a  b\n\n", e, 10);
  const size_t f[] = {0, 2};
  expect_matches("(?i:'S)", "'s", f, 2);
  /* caseless matching folds as Oniguruma does: long s (U+017F) matches s, Kelvin (U+212A) k */
  const size_t g[] = {1, 4};
  expect_matches("(?i:'s)", "x'\xC5\xBFy", g, 2);
  const size_t h[] = {1, 4};
  expect_matches("(?i:k)", "x\xE2\x84\xAAy", h, 2);
}

static void test_translate_errors(void **st) {
  (void)st;
  tok_regex *re = NULL;
  assert_int_equal(tok_regex_compile("[a", 2, 0, "w", &re), LETHE_ERR_FORMAT);
  assert_int_equal(tok_regex_compile("a\\", 2, 0, "w", &re), LETHE_ERR_FORMAT);
  assert_int_equal(tok_regex_compile("[a&&b]", 6, 0, "w", &re), LETHE_ERR_UNSUPPORTED);
  assert_int_equal(tok_regex_compile("\\u12", 4, 0, "w", &re), LETHE_ERR_FORMAT);
  assert_int_equal(tok_regex_compile("[[:alpha:]]", 11, 0, "w", &re), LETHE_OK);
  tok_regex_free(re);
  assert_int_equal(tok_regex_compile("a.b(", 4, 1, "w", &re), LETHE_OK); /* literal */
  pcre2_match_data *md = pcre2_match_data_create(1, NULL);
  tok_zvec m = {0};
  assert_int_equal(tok_regex_find_all(re, md, "xa.b(y", 6, &m), LETHE_OK);
  assert_int_equal(m.n, 2);
  assert_int_equal(m.p[0], 1);
  tok_zvec_free(&m);
  pcre2_match_data_free(md);
  tok_regex_free(re);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classes),
      cmocka_unit_test(test_find_all),
      cmocka_unit_test(test_translate_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
