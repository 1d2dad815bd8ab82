/* tests/cli/test_cli_args.c: the CLI rejects unknown commands, flags and devices with one clear
 * message; `lethe bench plan` answers from a config alone (no GPU needed for a cuda plan). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

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
  char *cfg = tu_src_path("tests/fixtures/models/olmo_tiny/config.json"), *dir = tu_src_path("tests/fixtures/models/olmo_tiny");
  char *out, *err;
  int rc = tu_run_lethe(NULL, &out, &err, "bench", "plan", "--config", cfg, "--batch", "2", "--seq", "16", "--device", "cuda",
                        "--recompute", NULL);
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_command),
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_devices_and_plan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
