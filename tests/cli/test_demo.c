/* tests/cli/test_demo.c: `lethe demo --quick` end to end, and the outcome the demo exists to show.
 * Before unlearning the model regurgitates its biographies (forget and retain regurgitation, i.e.
 * ROUGE-L recall, >= 0.8); after Low-Rank NPO the forget regurgitation is <= 0.2 and the forget
 * knowledge (exact match) <= 0.1, while retain regurgitation and knowledge stay >= 90% of their
 * values before. The unlearning is evaluated after every epoch and the best epoch kept (--select
 * best): the curve and the chosen epoch are printed and drawn in the report. The report, the
 * adapter and the gradient-ascent comparison are written. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/fileio.h"

static double score(const char *dir, const char *split, const char *key) {
  char *p = lethe_path_join(dir, "evaluation_results.json");
  json_error_t je;
  json_t *r = json_load_file(p, 0, &je);
  free(p);
  assert_non_null(r);
  double v = json_number_value(json_object_get(json_object_get(r, split), key));
  json_decref(r);
  return v;
}

static void test_quick_demo(void **state) {
  (void)state;
  char *out = tu_tmp_path("demo");
  lethe_remove_tree(out);
  char *stdout_text, *err;
  int rc = tu_run_lethe(NULL, &stdout_text, &err, "demo", "--quick", "--out", out, NULL);
  print_message("%s", stdout_text);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  char *base = lethe_path_join(out, "eval-base"), *after = lethe_path_join(out, "npo/eval");
  const char *R = "overall-regurgitation-score", *K = "overall-knowledge-score";
  double fr0 = score(base, "forget-set", R), fk0 = score(base, "forget-set", K), rr0 = score(base, "retain-set", R),
         rk0 = score(base, "retain-set", K);
  double fr1 = score(after, "forget-set", R), fk1 = score(after, "forget-set", K), rr1 = score(after, "retain-set", R),
         rk1 = score(after, "retain-set", K);
  print_message("forget regurgitation %.3f -> %.3f, knowledge %.3f -> %.3f; retain regurgitation %.3f -> %.3f, "
                "knowledge %.3f -> %.3f\n",
      fr0, fr1, fk0, fk1, rr0, rr1, rk0, rk1);
  assert_true(fr0 >= 0.8 && rr0 >= 0.8);
  assert_true(fr1 <= 0.2);
  assert_true(fk1 <= 0.1);
  assert_true(rr1 >= 0.9 * rr0);
  assert_true(rk1 >= 0.9 * rk0);
  const char *files[] = {"report.html", "npo/eval_log.jsonl", "npo/adapter-last/adapter_model.safetensors",
      "npo/adapter/adapter_model.safetensors", "npo/adapter/adapter_config.json", "ga/eval/evaluation_results.json",
      "npo/train_log.jsonl", "memorised/model/tokenizer.json"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char *p = lethe_path_join(out, files[i]);
    if (!lethe_file_exists(p)) {
      print_error("missing %s\n", p);
      fail();
    }
    free(p);
  }
  assert_non_null(strstr(stdout_text, "[6/6] before and after"));
  /* evaluated after every epoch: the curve, the chosen epoch in the table and the report */
  assert_non_null(strstr(stdout_text, "<- chosen"));
  assert_non_null(strstr(stdout_text, "NPO ep "));
  char *rp = lethe_path_join(out, "report.html"), *html;
  size_t hl;
  assert_int_equal(lethe_read_file(rp, 1 << 24, &html, &hl), LETHE_OK);
  assert_non_null(strstr(html, "id=\"eval-chart\""));
  assert_non_null(strstr(html, "class=\"chosen\""));
  free(html);
  free(rp);
  lethe_remove_tree(out);
  free(base);
  free(after);
  free(stdout_text);
  free(err);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_quick_demo)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
