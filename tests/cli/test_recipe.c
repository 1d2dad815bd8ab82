/* tests/cli/test_recipe.c: `lethe recipe zjuklab` on the committed tiny Llama (byte tokenizer) and
 * the stories rows: both LoRA runs train with the recipe's settings (npo-seq beta 0.1, full KL,
 * weights 0.4/0.4/0.2 and 0.3/0.3/0.4, r 32, alpha 32, all linear layers, lr 1e-4, max length 256),
 * and OUT/model is a model that differs from the base and equals, byte for byte, `lethe merge
 * --combine ties --density 0.8 --weights 1,1` of the two adapters; a missing flag is a usage error. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/model.h"
#include "lethe/util.h"
#include "model/model.h"
#include "util/fileio.h"
#include "testutil.h"

static void check_run(const char *out, const char *run, double wf, double wk, double wr) {
  char rel[64];
  snprintf(rel, sizeof rel, "%s/run.json", run);
  char *p = lethe_path_join(out, rel);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  if (!j) fail_msg("%s: %s", p, je.text);
  assert_string_equal(json_string_value(json_object_get(j, "method")), "npo-seq");
  const json_t *o = json_object_get(j, "options");
  assert_true(fabs(json_number_value(json_object_get(o, "w_forget")) - wf) < 1e-12);
  assert_true(fabs(json_number_value(json_object_get(o, "w_kl")) - wk) < 1e-12);
  assert_true(fabs(json_number_value(json_object_get(o, "w_retain")) - wr) < 1e-12);
  assert_int_equal(json_integer_value(json_object_get(o, "kl")), 1); /* full vocabulary */
  assert_true(fabs(json_number_value(json_object_get(o, "beta")) - 0.1) < 1e-12);
  assert_true(fabs(json_number_value(json_object_get(o, "lr")) - 1e-4) < 1e-15);
  assert_int_equal(json_integer_value(json_object_get(o, "lora_rank")), 32);
  assert_true(json_number_value(json_object_get(o, "lora_alpha")) == 32.0);
  assert_int_equal(json_integer_value(json_object_get(o, "max_len")), 256);
  assert_int_equal(json_array_size(json_object_get(o, "lora_targets")), 7); /* q k v o gate up down */
  json_decref(j);
  free(p);
}

static void test_zjuklab(void **state) {
  (void)state;
  char *m = tu_src_path("tests/fixtures/unlearn/tiny_llama"),
       *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"),
       *r = tu_src_path("tests/fixtures/unlearn/stories_retain.jsonl"), *out = tu_fresh_dir("recipe-zjuklab"),
       *err = NULL, *so = NULL;
  lethe_remove_tree(out);
  int rc = tu_run_lethe(NULL, &so, &err, "recipe", "zjuklab", "--model", m, "--forget", f, "--retain", r, "--out", out,
      "--epochs", "1", "--threads", "2", "--quiet", NULL);
  if (rc) print_error("exit %d: %s\n", rc, err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(so, "lethe merge --model"));
  free(so);
  free(err);
  check_run(out, "run-a", 0.4, 0.4, 0.2);
  check_run(out, "run-b", 0.3, 0.3, 0.4);
  /* the merged model: TIES of the two adapters, as lethe merge makes it */
  char *a = lethe_path_join(out, "run-a/adapter"), *b = lethe_path_join(out, "run-b/adapter"),
       *merged = lethe_path_join(out, "model"), *again = tu_tmp_path("recipe-zjuklab-merge");
  lethe_remove_tree(again);
  rc = tu_run_lethe(NULL, NULL, &err, "merge", "--model", m, "--adapter", a, "--adapter", b, "--combine", "ties",
      "--density", "0.8", "--weights", "1,1", "--out", again, NULL);
  if (rc) print_error("merge: exit %d: %s\n", rc, err);
  assert_int_equal(rc, 0);
  free(err);
  char *ma = lethe_path_join(merged, "model.safetensors"), *mb = lethe_path_join(again, "model.safetensors");
  assert_true(tu_same_file(ma, mb));
  lethe_model *base, *got;
  assert_int_equal(lethe_model_load(m, &base), LETHE_OK);
  assert_int_equal(lethe_model_load(merged, &got), LETHE_OK);
  assert_int_equal(base->n_params, got->n_params);
  size_t changed = 0;
  for (size_t i = 0; i < base->n_params; i++) changed += base->params[i] != got->params[i];
  print_message("the merge changed %zu of %zu parameters\n", changed, base->n_params);
  assert_true(changed > 0);
  lethe_model_free(base);
  lethe_model_free(got);
  /* a missing required flag: usage error, nothing written */
  char *out2 = tu_tmp_path("recipe-zjuklab-bad");
  lethe_remove_tree(out2);
  rc = tu_run_lethe(NULL, NULL, &err, "recipe", "zjuklab", "--model", m, "--forget", f, "--out", out2, NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "--retain"));
  assert_false(lethe_is_dir(out2));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "recipe", "nope", NULL);
  assert_int_equal(rc, 2);
  free(err);
  lethe_remove_tree(out);
  lethe_remove_tree(again);
  free(out2);
  free(ma);
  free(mb);
  free(a);
  free(b);
  free(merged);
  free(again);
  free(m);
  free(f);
  free(r);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_zjuklab)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
