/* tests/cli/test_cli_args.c: the CLI rejects unknown commands, flags and devices with one clear
 * message; `lethe bench plan` answers from a config alone (no GPU needed for a cuda plan). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/fileio.h"

static void test_unknown_command(void **state) {
  (void)state;
  char *out, *err;
  int rc = tu_run_lethe(NULL, &out, &err, "frobnicate", NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "unknown command 'frobnicate'"));
  free(out);
  free(err);
}

static void test_help(void **state) {
  (void)state;
  char *out, *err;
  int rc = tu_run_lethe(NULL, &out, &err, "--help", NULL);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "generate"));
  free(out);
  free(err);
}

static void test_devices_and_plan(void **state) {
  (void)state;
  char *cfg = tu_src_path("tests/fixtures/models/olmo_tiny/config.json"),
       *dir = tu_src_path("tests/fixtures/models/olmo_tiny");
  char *out, *err;
  int rc = tu_run_lethe(NULL, &out, &err, "bench", "plan", "--config", cfg, "--batch", "2", "--seq", "16", "--device",
      "cuda", "--recompute", NULL);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "weights=bf16 recompute=1"));
  free(out), free(err);
  rc = tu_run_lethe(NULL, &out, &err, "bench", "plan", "--config", cfg, "--seq", "16", "--device", "cuda:fp8", NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "unknown device 'cuda:fp8'"));
  free(out), free(err);
  rc = tu_run_lethe(NULL, &out, &err, "bench", "plan", "--config", "/nonexistent/config.json", NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "/nonexistent/config.json"));
  free(out), free(err);
  rc = tu_run_lethe(NULL, &out, &err, "generate", "--model", dir, "--prompt", "x", "--device", "tpu", NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "unknown device 'tpu'"));
  free(out), free(err);
  free(cfg), free(dir);
}

/* A flag that takes a value never takes the next flag; numbers out of range say so, with the
 * range, whatever their size (issue 13). */
static void test_values_and_ranges(void **state) {
  (void)state;
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--out", "--rslora", NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "option --out needs a value, but the next argument is the option --rslora"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--epochs", "99999999999", NULL);
  assert_int_equal(rc, 2);
  print_message("%s", err);
  assert_non_null(strstr(err, "option --epochs: 99999999999 is out of range [1, 1048576]"));
  free(err);
  rc = tu_run_lethe(
      NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--seed", "99999999999999999999999", NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "99999999999999999999999 is out of range [-9223372036854775808, 9223372036854775807]"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--lr", "1e999", NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "out of range"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--adam-beta1", "2", NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "option --adam-beta1: 2 is out of range [0, 0.999999]"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", "m", "--forget", "f", "--epochs", "12x", NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "'12x' is not an integer"));
  free(err);
  /* demo's --dim rule is the one the model needs, checked before anything is written */
  char *out = tu_tmp_path("demo_dim");
  rc = tu_run_lethe(NULL, NULL, &err, "demo", "--dim", "12", "--out", out, NULL);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "--dim 12 must be a multiple of 8"));
  assert_false(lethe_is_dir(out));
  free(err);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_command),
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_devices_and_plan),
      cmocka_unit_test(test_values_and_ranges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
