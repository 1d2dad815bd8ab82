/* tests/cli/test_data_dir_cli.c: `lethe unlearn --data-dir` and `lethe train --data-dir` on a
 * directory laid out as the task's data (forget_train-00000-of-00001.parquet, retain_train.jsonl,
 * mia/{member,nonmember}.jsonl). unlearn --data-dir gives a byte-identical adapter to --forget and
 * --retain on the same files; train --data-dir learns the forget rows then the retain rows, a
 * byte-identical adapter to --data on one JSONL file holding those rows in that order, and its
 * evaluations score them as forget and retain sets with the directory's MIA documents. A directory's
 * MIA documents do not turn a run without an evaluation schedule into an error. Bad input (no
 * forget rows for unlearn, --data-dir with --forget / --retain / --data, documents) is one clear
 * error, a non-zero exit and no output directory. Model: the committed stories260K
 * (tests/fixtures/unlearn/stories260K), 1 epoch, so the program needs no ../shared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/util.h"
#include "testutil.h"

static char *M, *TOK, *WORK, *DATA, *FORGET, *RETAIN, *DOCS;

static char *src(const char *rel) { return tu_src_path(rel); }

static char *slurp(const char *path, size_t *n) {
  char *buf = NULL;
  if (lethe_read_file(path, 1 << 26, &buf, n) != LETHE_OK) fail_msg("%s", lethe_last_error());
  return buf;
}

static void copy(const char *from, const char *dir, const char *name) {
  size_t n;
  char *buf = slurp(from, &n), *to = lethe_path_join(dir, name);
  FILE *f = fopen(to, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
  free(to);
  free(buf);
}

static void assert_same_file(const char *dir_a, const char *dir_b, const char *rel) {
  char *a = lethe_path_join(dir_a, rel), *b = lethe_path_join(dir_b, rel);
  size_t na, nb;
  char *ta = slurp(a, &na), *tb = slurp(b, &nb);
  if (na != nb || memcmp(ta, tb, na) != 0) fail_msg("%s and %s differ (%zu and %zu bytes)", a, b, na, nb);
  free(ta);
  free(tb);
  free(a);
  free(b);
}

static int setup(void **state) {
  (void)state;
  M = src("tests/fixtures/unlearn/stories260K/stories260K.bin");
  TOK = src("tests/fixtures/unlearn/stories260K/tok512.bin");
  FORGET = src("tests/fixtures/parquet/rows_none_v1_plain.parquet"); /* = rows.jsonl, uncompressed */
  RETAIN = src("tests/fixtures/unlearn/stories_retain.jsonl");
  DOCS = src("tests/fixtures/parquet/docs.jsonl");
  WORK = tu_fresh_dir("data-dir-cli");
  /* the task's layout: a Hugging Face shard name for forget, JSONL for retain, mia/ documents */
  DATA = lethe_path_join(WORK, "data");
  char *mia = lethe_path_join(DATA, "mia");
  assert_int_equal(lethe_make_dirs(mia), LETHE_OK);
  copy(FORGET, DATA, "forget_train-00000-of-00001.parquet");
  copy(RETAIN, DATA, "retain_train.jsonl");
  copy(DOCS, mia, "member.jsonl");
  copy(DOCS, mia, "nonmember.jsonl");
  free(mia);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  lethe_remove_tree(WORK);
  free(M);
  free(TOK);
  free(FORGET);
  free(RETAIN);
  free(DOCS);
  free(DATA);
  free(WORK);
  return 0;
}

static char *out_dir(const char *name) { return lethe_path_join(WORK, name); }

#define RUN_FLAGS "--model", M, "--tokenizer", TOK, "--epochs", "1", "--batch", "4", "--max-len", "64", "--threads", "1"

static void test_unlearn_data_dir_same_adapter(void **state) {
  (void)state;
  char *a = out_dir("unlearn-dir"), *b = out_dir("unlearn-flags"), *err = NULL;
  int rc = tu_run_lethe(NULL, NULL, &err, "unlearn", RUN_FLAGS, "--data-dir", DATA, "--out", a, NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  /* the files it found are named */
  assert_non_null(strstr(err, "forget_train-00000-of-00001.parquet"));
  assert_non_null(strstr(err, "retain_train.jsonl"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "unlearn", RUN_FLAGS, "--forget", FORGET, "--retain", RETAIN, "--out", b, NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  free(err);
  assert_same_file(a, b, "adapter/adapter_model.safetensors");
  assert_same_file(a, b, "adapter/adapter_config.json");
  free(a);
  free(b);
}

static void test_train_data_dir_same_adapter(void **state) {
  (void)state;
  /* --data on one file: the forget rows (rows.jsonl is the Parquet file's rows), then the retain rows */
  char *rows = src("tests/fixtures/parquet/rows.jsonl"), *all = out_dir("all.jsonl");
  size_t n1, n2;
  char *t1 = slurp(rows, &n1), *t2 = slurp(RETAIN, &n2);
  FILE *f = fopen(all, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(t1, 1, n1, f), n1);
  assert_int_equal(fwrite(t2, 1, n2, f), n2);
  assert_int_equal(fclose(f), 0);
  free(t1);
  free(t2);
  char *a = out_dir("train-dir"), *b = out_dir("train-flags"), *c = out_dir("train-eval"), *err = NULL;
  int rc = tu_run_lethe(NULL, NULL, &err, "train", RUN_FLAGS, "--data-dir", DATA, "--out", a, NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "forget_train-00000-of-00001.parquet"));
  /* every row of both files is learned (30 + 6, less the fixture's one row without an answer) */
  const char *line = strstr(err, "\ndata: ");
  assert_non_null(line);
  char seen[128];
  snprintf(seen, sizeof seen, "%.*s", (int)strcspn(line + 1, "\n"), line + 1);
  assert_non_null(strstr(seen, "data: 35 sequences (0 forget, 35 retain)"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "train", RUN_FLAGS, "--data", all, "--out", b, NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, seen));
  free(err);
  assert_same_file(a, b, "adapter/adapter_model.safetensors");
  /* evaluating: the directory's forget and retain sets and MIA documents */
  rc = tu_run_lethe(NULL, NULL, &err, "train", RUN_FLAGS, "--data-dir", DATA, "--out", c, "--eval-every", "1",
      "--eval-max-new", "4", NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  const char *ev = strstr(err, "eval epoch 1 ");
  if (!ev) fail_msg("no evaluation after epoch 1 in:\n%s", err);
  assert_null(strstr(ev, "forget -/-"));
  assert_null(strstr(ev, "retain -/-"));
  assert_null(strstr(ev, "MIA AUC -"));
  free(err);
  free(a);
  free(b);
  free(c);
  free(all);
  free(rows);
}

/* One run that must fail: exit code `want`, `msg` in its error, no output directory left. */
static void refused(int want, const char *msg, char *const *argv) {
  char *err = NULL;
  int rc = tu_run_lethe_argv(NULL, NULL, &err, argv);
  if (rc != want || !strstr(err, msg)) fail_msg("exit %d (want %d), stderr:\n%s\n(want \"%s\")", rc, want, err, msg);
  free(err);
}

static void test_bad_input(void **state) {
  (void)state;
  char *out = out_dir("refused"), *only_retain = out_dir("only-retain"), *empty = out_dir("empty");
  assert_int_equal(lethe_make_dirs(only_retain), LETHE_OK);
  assert_int_equal(lethe_make_dirs(empty), LETHE_OK);
  copy(RETAIN, only_retain, "retain_train.jsonl");
  char *no_forget[] = {"unlearn", RUN_FLAGS, "--data-dir", only_retain, "--out", out, NULL};
  refused(1, "no forget rows", no_forget);
  assert_false(lethe_file_exists(out));
  char *nothing[] = {"train", RUN_FLAGS, "--data-dir", empty, "--out", out, NULL};
  refused(1, "no forget or retain rows", nothing);
  assert_false(lethe_file_exists(out));
  char *with_forget[] = {"unlearn", RUN_FLAGS, "--data-dir", DATA, "--forget", FORGET, "--out", out, NULL};
  refused(2, "--data-dir", with_forget);
  refused(2, "give one or the other", with_forget);
  assert_false(lethe_file_exists(out));
  char *with_retain[] = {"unlearn", RUN_FLAGS, "--data-dir", DATA, "--retain", RETAIN, "--out", out, NULL};
  refused(2, "give one or the other", with_retain);
  assert_false(lethe_file_exists(out));
  char *with_data[] = {"train", RUN_FLAGS, "--data-dir", DATA, "--data", RETAIN, "--out", out, NULL};
  refused(2, "give one or the other", with_data);
  assert_false(lethe_file_exists(out));
  char *docs[] = {"train", RUN_FLAGS, "--data-dir", DATA, "--data-kind", "docs", "--out", out, NULL};
  refused(2, "--data-dir holds rows", docs);
  assert_false(lethe_file_exists(out));
  char *neither[] = {"train", RUN_FLAGS, "--out", out, NULL};
  refused(2, "give --data or --data-dir", neither);
  assert_false(lethe_file_exists(out));
  char *split[] = {"unlearn", RUN_FLAGS, "--data-dir", DATA, "--data-split", "test", "--out", out, NULL};
  refused(1, "expected train or validation", split);
  assert_false(lethe_file_exists(out));
  free(out);
  free(only_retain);
  free(empty);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_unlearn_data_dir_same_adapter),
      cmocka_unit_test(test_train_data_dir_same_adapter),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
