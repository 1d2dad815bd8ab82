/* tests/eval/test_eval_datadir.c: `lethe eval --data-dir` on a directory laid out as the task's
 * Hugging Face data (forget_train-00000-of-00001.parquet, retain_train-..., mia/member.parquet, ...) gives
 * byte-identical results to the same rows given as JSONL flags; a directory without the task's
 * files is one error naming it. `--layout official` writes the official script's files, mia.jsonl
 * feeds --score-only --mia to the same results, and the MMLU < 0.371 warning is printed as the
 * script prints it. Model: stories260K from ../shared. */
#include <jansson.h>
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
  char *model = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(model, "models/stories260K");
  TU_REQUIRE_SHARED(tok, "models/stories260K/tok512.bin");
  char *dir = tu_tmp_path("datadir");
  lethe_remove_tree(dir);
  char *data = lethe_path_join(dir, "data"), *mia = lethe_path_join(data, "mia"), *o1 = lethe_path_join(dir, "o1"),
       *o2 = lethe_path_join(dir, "o2"), *empty = lethe_path_join(dir, "empty");
  assert_int_equal(lethe_make_dirs(mia), LETHE_OK);
  assert_int_equal(lethe_make_dirs(empty), LETHE_OK);
  char *f = fix("rows_snappy_v2_dict.parquet"), *r = fix("rows_zstd_v1_dict.parquet"),
       *m = fix("docs_snappy_v1_dict.parquet"), *nm = fix("docs_zstd_v2_plain.parquet"), *rows = fix("rows.jsonl"),
       *docs = fix("docs.jsonl");
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
  rc = tu_run_lethe(
      NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--data-dir", empty, "--out", o1, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, empty));
  assert_non_null(strstr(err, "no forget or retain rows"));
  free(err);
  /* Two shards of one set: refused, not silently half-read. */
  copy(f, data, "forget_train-00001-of-00002.parquet");
  rc = tu_run_lethe(
      NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--data-dir", data, "--out", o1, NULL);
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

static void test_official_layout_and_score_only(void **state) {
  (void)state;
  char *model = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(model, "models/stories260K");
  TU_REQUIRE_SHARED(tok, "models/stories260K/tok512.bin");
  char *dir = tu_fresh_dir("official");
  char *rows = fix("rows.jsonl"), *docs = fix("docs.jsonl"), *out = lethe_path_join(dir, "out"),
       *non = lethe_path_join(dir, "non.jsonl");
  FILE *f = fopen(non, "wb");
  fputs("{\"id\": \"n1\", \"document\": \"Once upon a time, there was a little girl named Lily.\"}\n"
        "{\"id\": 7, \"document\": \"The stock market fell sharply on Tuesday, analysts said.\"}\n",
      f);
  fclose(f);
  char *err = NULL, *outs = NULL;
  int rc =
      tu_run_lethe(NULL, &outs, &err, "eval", "--model", model, "--tokenizer", tok, "--forget", rows, "--retain", rows,
          "--mia-members", docs, "--mia-nonmembers", non, "--out", out, "--max-new", "6", "--layout", "official", NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(outs, "min_k_plus_plus"));
  assert_non_null(strstr(outs, "extraction strength (forget)"));
  free(err);
  free(outs);
  /* The one-line JSON is the indented one. */
  char *one = slurp(out, "evaluation_results.jsonl"), *ind = slurp(out, "evaluation_results.json");
  assert_null(strchr(one, '\n'));
  json_t *a = json_loads(one, 0, NULL), *b = json_loads(ind, 0, NULL);
  assert_non_null(a);
  assert_true(json_equal(a, b));
  json_decref(a);
  json_decref(b);
  free(one);
  free(ind);
  char *csv = slurp(out, "forget_0.csv");
  const char *head = "id,task,input,expected_output,model_output,nll\n\"\"\"0000-abcd-0000\"\"sc1\",Task1,";
  assert_true(strncmp(csv, head, strlen(head)) == 0);
  free(csv);
  char *mcsv = slurp(out, "mia_results/nonmember_0.csv");
  assert_true(strncmp(mcsv, "id,nll\nn1,", 10) == 0);
  assert_non_null(strstr(mcsv, "\n7,"));
  free(mcsv);
  char *atk = slurp(out, "mia_attacks.json");
  assert_non_null(strstr(atk, "\"zlib\": 0."));
  free(atk);
  /* --score-only with mia.jsonl gives the same results. */
  char *rj = lethe_path_join(out, "rows.jsonl"), *mj = lethe_path_join(out, "mia.jsonl");
  rc = tu_run_lethe(NULL, &outs, &err, "eval", "--score-only", "--rows", rj, "--mia", mj, NULL);
  assert_int_equal(rc, 0);
  a = json_loads(outs, 0, NULL);
  ind = slurp(out, "evaluation_results.json");
  b = json_loads(ind, 0, NULL);
  assert_non_null(a);
  assert_true(json_equal(a, b));
  json_decref(a);
  json_decref(b);
  free(ind);
  free(outs);
  free(err);
  /* The official MMLU warning, below 0.371 only. */
  rc =
      tu_run_lethe(NULL, &outs, &err, "eval", "--score-only", "--rows", rj, "--mia", mj, "--mmlu-average", "0.3", NULL);
  assert_int_equal(rc, 0);
  assert_non_null(
      strstr(outs, "[WARNING] The MMLU average for the provided checkpoint is below threshold. If this happens "
                   "your model may not be considered in final challenge ranking.\n"));
  free(outs);
  free(err);
  rc =
      tu_run_lethe(NULL, &outs, &err, "eval", "--score-only", "--rows", rj, "--mia", mj, "--mmlu-average", "0.4", NULL);
  assert_int_equal(rc, 0);
  assert_null(strstr(outs, "[WARNING]"));
  free(outs);
  free(err);
  /* A bad mia.jsonl: one error naming the file and line. */
  f = fopen(non, "wb");
  fputs("{\"id\": 1, \"set\": \"member\", \"nll\": 1.5}\n{\"id\": 2, \"set\": \"other\", \"nll\": 2}\n", f);
  fclose(f);
  rc = tu_run_lethe(NULL, &outs, &err, "eval", "--score-only", "--rows", rj, "--mia", non, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, ":2: field \"set\" must be"));
  assert_non_null(strstr(err, non));
  free(outs);
  free(err);
  rc = tu_run_lethe(
      NULL, &outs, &err, "eval", "--model", model, "--forget", rows, "--out", out, "--layout", "pandas", NULL);
  assert_int_equal(rc, 2);
  free(outs);
  free(err);
  lethe_remove_tree(dir);
  free(rj);
  free(mj);
  free(rows);
  free(docs);
  free(out);
  free(non);
  free(dir);
  free(model);
  free(tok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_data_dir_equals_jsonl), cmocka_unit_test(test_official_layout_and_score_only)};
  return tu_run_group_tests(tests, NULL, NULL);
}
