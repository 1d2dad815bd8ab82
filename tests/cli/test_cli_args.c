/* tests/cli/test_cli_args.c: the CLI rejects unknown commands and flags with one clear message. */
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_command),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
