/* tests/unlearn/test_resources.c: a run is refused before it allocates what the machine does not
 * have (issue 13): the memory plan of a batch that cannot fit names the plan's bytes and the
 * machine's; a JSONL line beyond the bound is one error naming file:line and both sizes, and
 * --max-line-bytes raises the bound. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "unlearn/trainer.h"
#include "util/fileio.h"

static void test_batch_beyond_memory(void **state) {
  (void)state;
  char *path = tu_shared_path("models/stories260K/stories260K.bin");
  TU_REQUIRE_SHARED(path, "models/stories260K");
  lethe_model *m;
  assert_int_equal(lethe_model_load(path, &m), LETHE_OK);
  size_t machine = lethe_machine_memory_bytes();
  assert_true(machine > 0);
  /* --batch 65536 of 512-token rows: hundreds of GiB of activations */
  lethe_tokset big = {.n = 65536, .max_len = 512};
  assert_int_equal(lethe_train_memory_check(m, NULL, 0, &big, 65536, 0, 1, machine), LETHE_ERR_NOMEM);
  const char *e = lethe_last_error();
  print_message("%s\n", e);
  char want[64];
  snprintf(want, sizeof want, "this machine has %zu bytes", machine);
  assert_non_null(strstr(e, want));
  assert_non_null(strstr(e, "activations of batch 65536 x 512 tokens"));
  /* the batch is what the data holds: 4 rows of 64 tokens fit any machine */
  lethe_tokset small = {.n = 4, .max_len = 64};
  assert_int_equal(lethe_train_memory_check(m, NULL, 0, &small, 65536, 0, 1, machine), LETHE_OK);
  /* and are refused by a machine of 1 MiB */
  assert_int_equal(lethe_train_memory_check(m, NULL, 0, &small, 4, 0, 1, 1 << 20), LETHE_ERR_NOMEM);
  assert_non_null(strstr(lethe_last_error(), "this machine has 1048576 bytes"));
  lethe_model_free(m);
  free(path);
}

static void test_jsonl_line_bound(void **state) {
  (void)state;
  char *m = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin");
  if (!m || !tok) {
    free(m);
    free(tok);
    TU_REQUIRE_SHARED(NULL, "models/stories260K");
  }
  char *dir = tu_fresh_dir("resources");
  char *f = lethe_path_join(dir, "forget.jsonl"), *out = lethe_path_join(dir, "out");
  FILE *fp = fopen(f, "wb");
  fprintf(fp, "{\"id\": \"a\", \"input\": \"Once upon a time\", \"output\": \" there was a cat.\"}\n{\"id\": \"b\", "
              "\"input\": \"");
  for (int i = 0; i < 3000; i++) fputc('x', fp);
  fprintf(fp, "\", \"output\": \" y\"}\n");
  fclose(fp);
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", m, "--tokenizer", tok, "--forget", f, "--out", out,
      "--epochs", "1", "--max-line-bytes", "1000", "--quiet", NULL);
  assert_int_equal(rc, 1);
  print_message("%s", err);
  char want[512];
  snprintf(want, sizeof want,
      "%s:2: the line is 3040 bytes, longer than the 1000 allowed (raise it with --max-line-bytes)", f);
  assert_non_null(strstr(err, want));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "unlearn", "--model", m, "--tokenizer", tok, "--forget", f, "--out", out,
      "--epochs", "1", "--max-line-bytes", "4000", "--max-len", "64", "--quiet", NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  lethe_remove_tree(dir);
  free(dir);
  free(f);
  free(out);
  free(m);
  free(tok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_beyond_memory),
      cmocka_unit_test(test_jsonl_line_bound),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
