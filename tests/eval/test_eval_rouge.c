/* tests/eval/test_eval_rouge.c: ROUGE-L against rouge-score (RougeScorer(['rougeL'],
 * use_stemmer=True)) on ~1000 committed pairs (punctuation, digits, many scripts, the characters
 * that lower-case to ASCII, empty and long texts, repeated and inflected words), and its
 * tokenizer on every code point. */
#include <math.h>

#include "eval/eval_fixture.h"
#include "eval/pytext.h"
#include "lethe/eval_text.h"

static void check_tokens(const json_t *want, const lethe_rouge_tokens *got, const char *text) {
  if (!want) return;
  if (json_array_size(want) != got->n)
    print_message("tokens of \"%.200s\": %zu, want %zu\n", text, got->n, json_array_size(want));
  assert_int_equal(json_array_size(want), got->n);
  for (size_t i = 0; i < got->n; i++) assert_string_equal(got->tokens[i], json_string_value(json_array_get(want, i)));
}

static void test_pairs(void **state) {
  (void)state;
  char *text = ef_read("rouge_pairs.jsonl", NULL), *cur = text, *line;
  size_t n = 0, n_tok = 0, n_nonzero = 0;
  double worst = 0;
  while ((line = ef_line(&cur)) != NULL) {
    json_t *j = ef_json(line);
    size_t tl, pl;
    const char *t = ef_str(j, "target", &tl), *p = ef_str(j, "prediction", &pl);
    lethe_rouge_score s;
    assert_int_equal(lethe_rouge_l(t, tl, p, pl, &s), LETHE_OK);
    double dr = fabs(s.recall - ef_num(j, "r")), dp = fabs(s.precision - ef_num(j, "p"));
    double df = fabs(s.fmeasure - ef_num(j, "f"));
    double d = fmax(dr, fmax(dp, df));
    if (d > 1e-9)
      print_message("pair %zu: r %.17g/%.17g p %.17g/%.17g f %.17g/%.17g\n", n, s.recall, ef_num(j, "r"), s.precision,
          ef_num(j, "p"), s.fmeasure, ef_num(j, "f"));
    assert_true(d <= 1e-9);
    if (d > worst) worst = d;
    if (s.recall > 0) n_nonzero++;
    const json_t *tt = json_object_get(j, "tt");
    if (tt) {
      lethe_rouge_tokens a, b;
      assert_int_equal(lethe_rouge_tokenize(t, tl, 1, &a), LETHE_OK);
      assert_int_equal(lethe_rouge_tokenize(p, pl, 1, &b), LETHE_OK);
      check_tokens(tt, &a, t);
      check_tokens(json_object_get(j, "pt"), &b, p);
      lethe_rouge_tokens_free(&a);
      lethe_rouge_tokens_free(&b);
      n_tok++;
    }
    json_decref(j);
    n++;
  }
  free(text);
  print_message("%zu pairs (%zu with token lists, %zu with recall > 0), max |diff| %.3g\n", n, n_tok, n_nonzero, worst);
  assert_true(n >= 1000);
  assert_true(n_nonzero > n / 2);
}

/* rouge-score's tokenizer on "x" + c + "x" for every code point c: ["x", "x"] except for the
 * committed list (digits, ASCII letters, U+0130 and U+212A). */
static void test_every_code_point(void **state) {
  (void)state;
  char *text = ef_read("rouge_codepoints.txt", NULL), *cur = text, *line;
  unsigned cps[128];
  char *toks[128];
  size_t n_exc = 0;
  while ((line = ef_line(&cur)) != NULL) {
    char *sp = strchr(line, ' ');
    assert_non_null(sp);
    *sp = 0;
    assert_true(n_exc < 128);
    cps[n_exc] = (unsigned)strtoul(line, NULL, 16);
    toks[n_exc] = sp + 1;
    n_exc++;
  }
  assert_int_equal(n_exc, 64);
  size_t e = 0, bad = 0;
  for (unsigned c = 0; c < 0x110000; c++) {
    if (c >= 0xD800 && c < 0xE000) continue;
    unsigned char buf[8] = {'x'};
    size_t k = 1 + lethe_py_encode(c, buf + 1);
    buf[k++] = 'x';
    lethe_rouge_tokens t;
    assert_int_equal(lethe_rouge_tokenize((const char *)buf, k, 0, &t), LETHE_OK);
    char joined[64] = "";
    for (size_t i = 0; i < t.n && strlen(joined) < 40; i++) {
      if (i) strcat(joined, " ");
      strcat(joined, t.tokens[i]);
    }
    lethe_rouge_tokens_free(&t);
    const char *want = "x x";
    if (e < n_exc && cps[e] == c) want = toks[e++];
    if (strcmp(joined, want) != 0 && bad++ < 10)
      print_message("U+%04X: tokens \"%s\", rouge-score \"%s\"\n", c, joined, want);
  }
  free(text);
  assert_int_equal(bad, 0);
  assert_int_equal(e, n_exc);
}

static void test_examples(void **state) {
  (void)state;
  lethe_rouge_score s;
  const char *t = "The cats were running quickly", *p = "the cat runs";
  assert_int_equal(lethe_rouge_l(t, strlen(t), p, strlen(p), &s), LETHE_OK);
  assert_true(fabs(s.recall - 3.0 / 5.0) < 1e-15); /* the, cat, run */
  assert_true(fabs(s.precision - 1.0) < 1e-15);
  assert_int_equal(lethe_rouge_l("", 0, p, strlen(p), &s), LETHE_OK);
  assert_true(s.recall == 0 && s.precision == 0 && s.fmeasure == 0);
  assert_int_equal(lethe_rouge_l("...", 3, "!!!", 3, &s), LETHE_OK);
  assert_true(s.recall == 0);
  /* Invalid UTF-8 separates tokens. */
  assert_int_equal(lethe_rouge_l("ab\xFF"
                                 "cd",
                       5, "ab cd", 5, &s),
      LETHE_OK);
  assert_true(s.recall == 1.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pairs),
      cmocka_unit_test(test_every_code_point),
      cmocka_unit_test(test_examples),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
