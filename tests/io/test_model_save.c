/* tests/io/test_model_save.c: writing Hugging Face model directories and reading them back:
 * float32 exactly; bfloat16 and float16 within their rounding; sharded output (several
 * model-NNNNN-of-MMMMM.safetensors and an index) loads back identical, and a shard missing from the
 * directory is a clear error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"

static lethe_model *fixture(void) {
  char *p = tu_src_path("tests/fixtures/models/qwen2_tiny");
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  free(p);
  return m;
}

static void test_roundtrip_dtypes(void **state) {
  (void)state;
  lethe_model *m = fixture();
  const char *dtypes[3] = {"float32", "bfloat16", "float16"};
  const double tol[3] = {0, 4e-3, 5e-4};
  for (int i = 0; i < 3; i++) {
    char *dir = tu_tmp_path(dtypes[i]);
    assert_int_equal(lethe_model_save(m, dir, dtypes[i], 0), LETHE_OK);
    lethe_model *b;
    assert_int_equal(lethe_model_load(dir, &b), LETHE_OK);
    assert_string_equal(b->cfg.dtype, dtypes[i]);
    assert_int_equal(b->n_params, m->n_params);
    if (tol[i] == 0)
      assert_memory_equal(b->params, m->params, sizeof(float) * m->n_params);
    else
      tu_assert_close(dtypes[i], b->params, m->params, m->n_params, tol[i]);
    lethe_model_free(b);
    lethe_remove_tree(dir);
    free(dir);
  }
  lethe_model_free(m);
}

static void test_sharded(void **state) {
  (void)state;
  lethe_model *m = fixture();
  char *dir = tu_tmp_path("sharded");
  /* ~90 KB of weights in shards of at most 20 KB: several files and an index. */
  assert_int_equal(lethe_model_save(m, dir, "float32", 20000), LETHE_OK);
  char *idx = lethe_path_join(dir, "model.safetensors.index.json"), *single = lethe_path_join(dir, "model.safetensors");
  assert_true(lethe_file_exists(idx));
  assert_false(lethe_file_exists(single));
  int shards = 0;
  char name[64];
  for (int k = 1; k < 100; k++) {
    snprintf(name, sizeof name, "model-%05d-of-", k);
    char *probe = NULL;
    for (int total = 2; total < 100 && !probe; total++) {
      char full[96];
      snprintf(full, sizeof full, "%s%05d.safetensors", name, total);
      char *p = lethe_path_join(dir, full);
      if (lethe_file_exists(p))
        probe = p;
      else
        free(p);
    }
    if (!probe) break;
    shards++;
    free(probe);
  }
  print_message("%d shards\n", shards);
  assert_true(shards >= 3);
  lethe_model *b;
  assert_int_equal(lethe_model_load(dir, &b), LETHE_OK);
  assert_memory_equal(b->params, m->params, sizeof(float) * m->n_params);
  lethe_model_free(b);
  /* A shard named by the index but not on disk. */
  snprintf(name, sizeof name, "model-00002-of-%05d.safetensors", shards);
  char *gone = lethe_path_join(dir, name);
  assert_int_equal(unlink(gone), 0);
  lethe_status s = lethe_model_load(dir, &b);
  assert_int_equal(s, LETHE_ERR_IO);
  print_message("%s\n", lethe_last_error());
  assert_non_null(strstr(lethe_last_error(), name));
  lethe_remove_tree(dir);
  free(gone);
  free(idx);
  free(single);
  free(dir);
  lethe_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_dtypes),
      cmocka_unit_test(test_sharded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
