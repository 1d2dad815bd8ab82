/* tests/eval/test_eval_auc.c: ROC AUC against scikit-learn (random, heavily tied, all-equal,
 * tiny and imbalanced cases), the official MIA AUC and score, and bad inputs. */
#include <math.h>

#include "eval/eval_fixture.h"
#include "lethe/eval_mia.h"

static double *num_array(const json_t *a, size_t *n) {
  *n = json_array_size(a);
  double *v = malloc((*n ? *n : 1) * sizeof *v);
  for (size_t i = 0; i < *n; i++) v[i] = json_number_value(json_array_get(a, i));
  return v;
}

static void test_sklearn_cases(void **state) {
  (void)state;
  char *text = ef_read("auc_cases.jsonl", NULL), *cur = text, *line;
  size_t n_auc = 0, n_mia = 0;
  while ((line = ef_line(&cur)) != NULL) {
    json_t *j = ef_json(line);
    double got;
    if (json_object_get(j, "scores")) {
      size_t n, nl;
      double *s = num_array(json_object_get(j, "scores"), &n);
      double *lf = num_array(json_object_get(j, "labels"), &nl);
      assert_int_equal(n, nl);
      unsigned char *l = malloc(n);
      for (size_t i = 0; i < n; i++) l[i] = lf[i] != 0;
      assert_int_equal(lethe_roc_auc(s, l, n, &got), LETHE_OK);
      double want = ef_num(j, "auc");
      if (fabs(got - want) > 1e-12) print_message("case %zu: %.17g, sklearn %.17g\n", n_auc, got, want);
      assert_true(fabs(got - want) <= 1e-12);
      assert_true(fabs(got - ef_num(j, "roc_auc_score")) <= 1e-12);
      free(s);
      free(lf);
      free(l);
      n_auc++;
    } else {
      size_t nm, nn;
      double *m = num_array(json_object_get(j, "member"), &nm);
      double *nm_ = num_array(json_object_get(j, "nonmember"), &nn);
      assert_int_equal(lethe_mia_auc(m, nm, nm_, nn, &got), LETHE_OK);
      assert_true(fabs(got - ef_num(j, "mia_auc")) <= 1e-12);
      free(m);
      free(nm_);
      n_mia++;
    }
    json_decref(j);
  }
  free(text);
  assert_true(n_auc >= 90);
  assert_true(n_mia >= 10);
}

static void test_examples(void **state) {
  (void)state;
  double auc;
  const double s[4] = {0.1, 0.4, 0.35, 0.8};
  const unsigned char l[4] = {0, 0, 1, 1};
  assert_int_equal(lethe_roc_auc(s, l, 4, &auc), LETHE_OK);
  assert_true(auc == 0.75); /* sklearn's documented example */
  const double tie[2] = {1, 1};
  const unsigned char l2[2] = {1, 0};
  assert_int_equal(lethe_roc_auc(tie, l2, 2, &auc), LETHE_OK);
  assert_true(auc == 0.5);
  /* Members with lower NLL are detected: AUC 1, MIA score 0; indistinguishable: score 1. */
  const double mem[2] = {1.0, 1.5}, non[2] = {2.0, 3.0};
  assert_int_equal(lethe_mia_auc(mem, 2, non, 2, &auc), LETHE_OK);
  assert_true(auc == 1.0);
  assert_true(lethe_mia_score(auc) == 0.0);
  assert_true(lethe_mia_score(0.5) == 1.0);
  assert_true(fabs(lethe_mia_score(0.3) - 0.6) < 1e-15);
}

static void test_bad_inputs(void **state) {
  (void)state;
  double auc;
  const double s[3] = {1, 2, NAN};
  const unsigned char pos[3] = {1, 1, 1}, mixed[3] = {1, 0, 1};
  assert_int_equal(lethe_roc_auc(s, pos, 2, &auc), LETHE_ERR_INVALID);
  assert_non_null(strstr(lethe_last_error(), "both classes"));
  assert_int_equal(lethe_roc_auc(s, mixed, 3, &auc), LETHE_ERR_NUMERIC);
  assert_int_equal(lethe_roc_auc(s, mixed, 0, &auc), LETHE_ERR_INVALID);
  assert_int_equal(lethe_mia_auc(s, 2, NULL, 0, &auc), LETHE_ERR_INVALID);
  const double inf[1] = {INFINITY};
  assert_int_equal(lethe_mia_auc(s, 1, inf, 1, &auc), LETHE_ERR_NUMERIC);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sklearn_cases),
      cmocka_unit_test(test_examples),
      cmocka_unit_test(test_bad_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
