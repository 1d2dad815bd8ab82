/* tests/eval/test_eval_datadir.c: `lethe eval --data-dir` on a directory laid out as the task's
 * Hugging Face data (forget_train-00000-of-00001.parquet, retain_train-..., mia/member.parquet, ...) gives
 * byte-identical results to the same rows given as JSONL flags; a directory without the task's
 * files is one error naming it. Model: stories260K from ../shared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/util.h"
#include "testutil.h"

static char *fix(const char *name) {
  char rel[256];
  snprintf(rel, sizeof rel, "tests/fixtures/parquet/%s", name);
  return tu_src_path(rel);
}

static void copy(const char *from, const char *dir, const char *name) {
  char *buf;
  size_t n;
  assert_int_equal(lethe_read_file(from, 1 << 24, &buf, &n), LETHE_OK);
  char *to = lethe_path_join(dir, name);
  FILE *f = fopen(to, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, n, f), n);
  fclose(f);
  free(to);
  free(buf);
}

static char *slurp(const char *dir, const char *name) {
  char *p = lethe_path_join(dir, name), *buf = NULL;
  size_t n;
  if (lethe_read_file(p, 1 << 26, &buf, &n) != LETHE_OK) fail_msg("%s", lethe_last_error());
  free(p);
  return buf;
}

static void test_data_dir_equals_jsonl(void **state) {
  (void)state;
#if !defined(LETHE_WITH_SNAPPY) || !defined(LETHE_WITH_ZSTD)
  print_message("SKIP: built without snappy or zstd\n");
  skip();
#endif
  char *model = tu_shared_path("models/stories260K/stories260K.bin"), *tok = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(model, "models/stories260K");
  TU_REQUIRE_SHARED(tok, "models/stories260K/tok512.bin");
  char *dir = tu_tmp_path("datadir");
  lethe_remove_tree(dir);
  char *data = lethe_path_join(dir, "data"), *mia = lethe_path_join(data, "mia"), *o1 = lethe_path_join(dir, "o1"),
       *o2 = lethe_path_join(dir, "o2"), *empty = lethe_path_join(dir, "empty");
  assert_int_equal(lethe_make_dirs(mia), LETHE_OK);
  assert_int_equal(lethe_make_dirs(empty), LETHE_OK);
  char *f = fix("rows_snappy_v2_dict.parquet"), *r = fix("rows_zstd_v1_dict.parquet"), *m = fix("docs_snappy_v1_dict.parquet"),
       *nm = fix("docs_zstd_v2_plain.parquet"), *rows = fix("rows.jsonl"), *docs = fix("docs.jsonl");
  copy(f, data, "forget_train-00000-of-00001.parquet");
  copy(r, data, "retain_train-00000-of-00001.parquet");
  copy(m, mia, "member.parquet");
  copy(nm, mia, "nonmember.parquet");
  char *err = NULL;
  int rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--data-dir", data, "--out", o1,
                        "--max-new", "6", "--batch", "8", NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "forget_train-00000-of-00001.parquet"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--forget", rows, "--retain", rows,
                    "--mia-members", docs, "--mia-nonmembers", docs, "--out", o2, "--max-new", "6", "--batch", "8", NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  free(err);
  const char *files[] = {"evaluation_results.json", "rows.jsonl"};
  for (int i = 0; i < 2; i++) {
    char *a = slurp(o1, files[i]), *b = slurp(o2, files[i]);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  /* No task files: one error naming the directory. */
  rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--data-dir", empty, "--out", o1, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, empty));
  assert_non_null(strstr(err, "no forget or retain rows"));
  free(err);
  /* Two shards of one set: refused, not silently half-read. */
  copy(f, data, "forget_train-00001-of-00002.parquet");
  rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--data-dir", data, "--out", o1, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "several shards"));
  free(err);
  lethe_remove_tree(dir);
  free(f);
  free(r);
  free(m);
  free(nm);
  free(rows);
  free(docs);
  free(data);
  free(mia);
  free(o1);
  free(o2);
  free(empty);
  free(dir);
  free(model);
  free(tok);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_data_dir_equals_jsonl)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
