/* tests/io/test_gguf_window.c: a Mistral model's sliding window through GGUF
 * (tests/fixtures/gguf/mistral_{sw,nosw}.gguf, made by tools/reference/make_gguf_mistral_fixtures.py):
 * a window the file stores is read and written to config.json; a Mistral model stored without one
 * gets a warning from `lethe convert` rather than a silent loss; a plain Llama file gets neither. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/model.h"
#include "testutil.h"
#include "util/fileio.h"

static void convert(const char *name, const char *want_warning, int want_window) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/fixtures/gguf/%s.gguf", name);
  char *src = tu_src_path(rel), *out = tu_tmp_path(name), *err;
  lethe_remove_tree(out);
  int rc = tu_run_lethe(NULL, NULL, &err, "convert", "--model", src, "--out", out, "--no-tokenizer", NULL);
  print_message("%s: %s", name, err);
  assert_int_equal(rc, 0);
  if (want_warning)
    assert_non_null(strstr(err, want_warning));
  else
    assert_null(strstr(err, "warning"));
  lethe_model *m;
  assert_int_equal(lethe_model_load(out, &m), LETHE_OK);
  assert_int_equal(lethe_model_config(m)->sliding_window, want_window);
  lethe_model_free(m);
  lethe_remove_tree(out);
  free(err);
  free(out);
  free(src);
}

static void test_window_stored(void **s) {
  (void)s;
  convert("mistral_sw", NULL, 16);
}
static void test_window_lost(void **s) {
  (void)s;
  convert("mistral_nosw", "a Mistral model, but the file stores no sliding window", 0);
}
static void test_plain_llama(void **s) {
  (void)s;
  convert("llama_tiny_f32", NULL, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window_stored),
      cmocka_unit_test(test_window_lost),
      cmocka_unit_test(test_plain_llama),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
