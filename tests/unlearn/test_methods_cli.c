/* tests/unlearn/test_methods_cli.c: every method of the method table runs from `lethe unlearn
 * --method NAME` (stories260K from ../shared, a few steps), records its name in run.json and
 * raises the forget answer NLL; the full-parameter methods (and UNDIAL / KL under --train full) resume
 * byte-identically; `--help` lists every method with its formula and source; an unknown method is one clear usage error
 * naming the choices. */
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
  WORK = tu_fresh_dir("methods-cli");
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
  char *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"),
       *r = tu_src_path("tests/fixtures/unlearn/stories_retain.jsonl");
  int n;
  const lethe_method *ms = lethe_methods(&n);
  assert_true(n >= 13);
  for (int i = 0; i < n; i++) {
    char *out = lethe_path_join(WORK, ms[i].name), *err;
    /* full-parameter methods: layers that exist in stories260K (5 layers), the method's modules */
    const char *layers = ms[i].train_layers ? "2-4" : "all";
    char *argv[40] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--out", out,
        "--method", (char *)ms[i].name, "--threads", "2", "--quiet"};
    int k = 16;
#define ADD(...)                                                                                                       \
  do {                                                                                                                 \
    const char *more[] = {__VA_ARGS__};                                                                                \
    for (size_t q = 0; q < sizeof more / sizeof *more; q++) argv[k++] = (char *)more[q];                               \
  } while (0)
    if (ms[i].train_layers)
      ADD("--lr", "1e-3", "--epochs", "2", "--train-layers", layers);
    else
      ADD("--lr", "1e-2", "--epochs", "3", "--batch", "4", "--lora-rank", "4");
    /* RMU on a middle layer of the 5, steered to a point of this model's scale */
    if (ms[i].obj.forget == LETHE_FORGET_RMU) ADD("--rmu-layer", "2", "--rmu-coeff", "20", "--retain-weight", "1");
#undef ADD
    argv[k] = NULL;
    int rc = tu_run_lethe_argv(NULL, NULL, &err, argv);
    if (rc) print_error("%s: %s", ms[i].name, err);
    assert_int_equal(rc, 0);
    char *rp = lethe_path_join(out, "run.json");
    json_error_t je;
    json_t *run = json_load_file(rp, 0, &je);
    assert_non_null(run);
    assert_string_equal(json_string_value(json_object_get(run, "method")), ms[i].name);
    const json_t *nll = json_object_get(run, "answer_nll");
    double f0 = json_real_value(json_object_get(nll, "forget_before")),
           f1 = json_real_value(json_object_get(nll, "forget_after"));
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

/* Whole files equal, byte for byte. */
/* The full-parameter methods stop at a poisoned step (the NaN guard keeps the last checkpoint)
 * and resume: the model equals an uninterrupted run's byte for byte (the sequential order and the
 * adaptive retain weight's first-epoch record are restored with the weights and Adam's moments). */
static void test_full_methods_resume_exactly(void **state) {
  (void)state;
  TU_REQUIRE_SHARED(M, "models/stories260K");
  TU_REQUIRE_SHARED(TOK, "models/stories260K/tok512.bin");
  char *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"),
       *r = tu_src_path("tests/fixtures/unlearn/stories_retain.jsonl");
  const char *methods[] = {"sugd", "gd-adaptive", "undial", "kl"};
  /* sugd: 48 steps an epoch (batch 1, 6 forget rows each with 7 retain rows); gd-adaptive: 3 an
   * epoch, stopped in the second one, whose retain weight needs the first one's record; undial and
   * kl under --train full: the reference is the frozen copy of layers 3-4, which a resumed run
   * takes from the model as loaded, not from the checkpoint's trained values */
  const char *fault_step[] = {"61", "5", "5", "5"}, *every[] = {"5", "2", "2", "2"};
  const char *extra[] = {NULL, NULL, "--train=full", "--train=full"};
  for (int i = 0; i < 4; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s-once", methods[i]);
    char *once = lethe_path_join(WORK, name);
    snprintf(name, sizeof name, "%s-resumed", methods[i]);
    char *twice = lethe_path_join(WORK, name);
    char *a1[] = {"unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r, "--out", once, "--method",
        (char *)methods[i], "--train-layers", "3-4", "--epochs", "2", "--lr", "1e-3", "--checkpoint-every",
        (char *)every[i], "--threads", "2", "--quiet", (char *)extra[i], NULL};
    assert_int_equal(tu_run_lethe_argv(NULL, NULL, NULL, a1), 0);
    a1[10] = twice;
    setenv("LETHE_FAULT_NAN_STEP", fault_step[i], 1);
    char *err;
    int rc = tu_run_lethe_argv(NULL, NULL, &err, a1);
    unsetenv("LETHE_FAULT_NAN_STEP");
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "the last good checkpoint is kept in"));
    free(err);
    a1[9] = "--resume";
    assert_int_equal(tu_run_lethe_argv(NULL, NULL, NULL, a1), 0);
    char *ma = lethe_path_join(once, "model/model.safetensors"),
         *mb = lethe_path_join(twice, "model/model.safetensors");
    assert_true(lethe_file_exists(ma));
    if (!tu_same_file(ma, mb)) print_error("%s: the resumed model differs from the uninterrupted one\n", methods[i]);
    assert_true(tu_same_file(ma, mb));
    free(ma);
    free(mb);
    free(once);
    free(twice);
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
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--out", "o", "--method",
                       "bogus", NULL),
      2);
  assert_non_null(strstr(err, "'bogus' is not one of npo|"));
  assert_non_null(strstr(err, "ce-u"));
  free(err);
}

/* Bad selections of what trains: one clear error each, no output. */
static void test_bad_train_flags(void **state) {
  (void)state;
  TU_REQUIRE_SHARED(M, "models/stories260K");
  TU_REQUIRE_SHARED(TOK, "models/stories260K/tok512.bin");
  char *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"),
       *r = tu_src_path("tests/fixtures/unlearn/stories_retain.jsonl");
  char *out = lethe_path_join(WORK, "bad-train");
  struct {
    const char *flag, *value, *extra, *want;
    int rc;
  } bad[] = {
      {"--train-layers", "9-12", "--train=full", "the model has layers 0-4", 1},
      {"--train-layers", "3-x", "--train=full", "expected A-B", 1},
      {"--train-layers", "4-2", "--train=full", "the model has layers 0-4", 1},
      {"--train-modules", "ffn", "--train=full", "expected mlp, attn or all", 1},
      {"--train-layers", "1-2", "--train=lora", "select full-parameter training", 2},
      {"--forget-chunk", "0", "--schedule-data=sequential", "--forget-chunk", 2},
      {"--method", "undial", "--train=full", "select the trained layers (--train-layers)", 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *err;
    lethe_remove_tree(out);
    int rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", M, "--tokenizer", TOK, "--forget", f, "--retain", r,
        "--out", out, "--epochs", "1", bad[i].extra, bad[i].flag, bad[i].value, "--quiet", NULL);
    if (rc != bad[i].rc || !strstr(err, bad[i].want))
      print_error("%s %s: exit %d: %s\n", bad[i].flag, bad[i].value, rc, err);
    assert_int_equal(rc, bad[i].rc);
    assert_non_null(strstr(err, bad[i].want));
    char *model = lethe_path_join(out, "model");
    assert_false(lethe_is_dir(model));
    free(model);
    free(err);
  }
  lethe_remove_tree(out);
  free(out);
  free(f);
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help_and_bad_method),
      cmocka_unit_test(test_every_method_runs),
      cmocka_unit_test(test_full_methods_resume_exactly),
      cmocka_unit_test(test_bad_train_flags),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
