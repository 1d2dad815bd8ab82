/* tests/unlearn/test_methods_cli.c: every method of the method table runs from `lethe unlearn
 * --method NAME` (stories260K from ../shared, a few steps), records its name in run.json and
 * raises the forget answer NLL; `--help` lists every method with its formula and source; an
 * unknown method is one clear usage error naming the choices. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/unlearn.h"
#include "testutil.h"
#include "util/fileio.h"

static char *M, *TOK, *WORK;

static int setup(void **state) {
  (void)state;
  M = tu_shared_path("models/stories260K/stories260K.bin");
  TOK = tu_shared_path("models/stories260K/tok512.bin");
  WORK = tu_tmp_path("methods-cli");
  lethe_remove_tree(WORK);
  lethe_make_dirs(WORK);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  lethe_remove_tree(WORK);
  free(M);
  free(TOK);
  free(WORK);
  return 0;
}

static void test_every_method_runs(void **state) {
  (void)state;
  TU_REQUIRE_SHARED(M, "models/stories260K");
  TU_REQUIRE_SHARED(TOK, "models/stories260K/tok512.bin");
  char *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"), *r = tu_src_path("tests/fixtures/unlearn/stories_retain.jsonl");
  int n;
  const lethe_method *ms = lethe_methods(&n);
  assert_true(n >= 12);
  for (int i = 0; i < n; i++) {
    char *out = lethe_path_join(WORK, ms[i].name), *err;
    /* full-parameter methods: layers that exist in stories260K (5 layers), the method's modules */
    const char *layers = ms[i].train_layers ? "2-4" : "all";
    int rc = ms[i].train_layers
                 ? tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--out",
                                out, "--method", ms[i].name, "--lr", "1e-3", "--epochs", "2", "--train-layers", layers,
                                "--threads", "2", "--quiet", NULL)
                 : tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--out",
                                out, "--method", ms[i].name, "--lr", "1e-2", "--epochs", "3", "--batch", "4", "--lora-rank", "4",
                                "--threads", "2", "--quiet", NULL);
    if (rc) print_error("%s: %s", ms[i].name, err);
    assert_int_equal(rc, 0);
    char *rp = lethe_path_join(out, "run.json");
    json_error_t je;
    json_t *run = json_load_file(rp, 0, &je);
    assert_non_null(run);
    assert_string_equal(json_string_value(json_object_get(run, "method")), ms[i].name);
    const json_t *nll = json_object_get(run, "answer_nll");
    double f0 = json_real_value(json_object_get(nll, "forget_before")), f1 = json_real_value(json_object_get(nll, "forget_after"));
    print_message("%-8s forget answer NLL %.4f -> %.4f\n", ms[i].name, f0, f1);
    assert_true(isfinite(f0) && isfinite(f1));
    assert_true(f1 > f0);
    /* full-parameter methods write the model; LoRA ones the adapter */
    char *res = lethe_path_join(out, ms[i].train_layers ? "model/config.json" : "adapter/adapter_config.json");
    assert_true(lethe_file_exists(res));
    free(res);
    json_decref(run);
    free(rp);
    free(err);
    free(out);
  }
  free(f);
  free(r);
}

static void test_help_and_bad_method(void **state) {
  (void)state;
  char *out, *err;
  assert_int_equal(tu_run_lethe(NULL, &out, &err, "unlearn", "--help", NULL), 0);
  int n;
  const lethe_method *ms = lethe_methods(&n);
  for (int i = 0; i < n; i++) {
    char *text = strstr(out, ms[i].formula) ? out : err;
    assert_non_null(strstr(text, ms[i].formula));
    assert_non_null(strstr(text, ms[i].source));
  }
  free(out);
  free(err);
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--out", "o", "--method", "bogus", NULL), 2);
  assert_non_null(strstr(err, "'bogus' is not one of npo|"));
  assert_non_null(strstr(err, "ce-u"));
  free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help_and_bad_method),
      cmocka_unit_test(test_every_method_runs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
