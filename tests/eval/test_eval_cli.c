/* tests/eval/test_eval_cli.c: `lethe eval` from the command line. --score-only on the committed
 * scorer fixtures reproduces the official script's evaluation_results.json (values to 1e-9, the
 * same keys); a model evaluation on stories260K writes every output and scores what it printed;
 * bad inputs (missing fields, unclassified ids, a bad MMLU CSV, an empty MIA file) give one clear
 * error or a counted warning. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/lora.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"

/* Same keys (recursively) and numbers within tol (relative), other values equal. */
static int json_close(const json_t *a, const json_t *b, double tol, const char *where) {
  if (json_is_number(a) && json_is_number(b)) {
    double x = json_number_value(a), y = json_number_value(b);
    if (fabs(x - y) <= tol * fmax(1.0, fabs(y))) return 1;
    print_error("%s: %.17g != %.17g\n", where, x, y);
    return 0;
  }
  if (json_is_object(a) && json_is_object(b)) {
    if (json_object_size(a) != json_object_size(b)) {
      print_error("%s: %zu keys != %zu keys\n", where, json_object_size(a), json_object_size(b));
      return 0;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) {
      char w[256];
      snprintf(w, sizeof w, "%s.%s", where, k);
      const json_t *u = json_object_get(b, k);
      if (!u) {
        print_error("%s missing\n", w);
        return 0;
      }
      if (!json_close(v, u, tol, w)) return 0;
    }
    return 1;
  }
  if (json_is_array(a) && json_is_array(b)) {
    if (json_array_size(a) != json_array_size(b)) return 0;
    for (size_t i = 0; i < json_array_size(a); i++)
      if (!json_close(json_array_get(a, i), json_array_get(b, i), tol, where)) return 0;
    return 1;
  }
  if (json_equal(a, b)) return 1;
  print_error("%s: values differ\n", where);
  return 0;
}

static void test_score_only_matches_official(void **state) {
  (void)state;
  const char *cases[] = {"main", "partial", "mia_only", "mmlu_only"};
  for (int c = 0; c < 4; c++) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/eval/scorer/%s", cases[c]);
    char *dir = tu_src_path(rel);
    char *rows = lethe_path_join(dir, "rows.jsonl"), *mem = lethe_path_join(dir, "member.jsonl"),
         *non = lethe_path_join(dir, "nonmember.jsonl"), *args = lethe_path_join(dir, "args.json"),
         *exp = lethe_path_join(dir, "expected.json");
    json_error_t je;
    json_t *a = json_load_file(args, 0, &je);
    assert_non_null(a);
    char *out = tu_tmp_path(cases[c]);
    char *argv[16];
    int n = 0;
    argv[n++] = "eval";
    argv[n++] = "--score-only";
    argv[n++] = "--rows";
    argv[n++] = rows;
    argv[n++] = "--out";
    argv[n++] = out;
    char mm[64];
    if (json_object_get(a, "mmlu")) {
      snprintf(mm, sizeof mm, "%.17g", json_number_value(json_object_get(a, "mmlu")));
      argv[n++] = "--mmlu-average";
      argv[n++] = mm;
    }
    if (lethe_file_exists(mem)) {
      argv[n++] = "--member-nll";
      argv[n++] = mem;
      argv[n++] = "--nonmember-nll";
      argv[n++] = non;
    }
    argv[n] = NULL;
    char *err;
    int rc = tu_run_lethe_argv(NULL, NULL, &err, argv);
    if (rc) print_error("%s\n", err);
    assert_int_equal(rc, 0);
    char *got_path = lethe_path_join(out, "evaluation_results.json");
    json_t *got = json_load_file(got_path, 0, &je), *want = json_load_file(exp, 0, &je);
    assert_non_null(got);
    assert_non_null(want);
    assert_true(json_close(got, want, 1e-9, cases[c]));
    print_message("%s: evaluation_results.json matches the official formulas\n", cases[c]);
    json_decref(got);
    json_decref(want);
    json_decref(a);
    lethe_remove_tree(out);
    free(got_path);
    free(err);
    free(out);
    free(rows);
    free(mem);
    free(non);
    free(args);
    free(exp);
    free(dir);
  }
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_model_eval_and_bad_inputs(void **state) {
  (void)state;
  char *model = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(model, "models/stories260K");
  TU_REQUIRE_SHARED(tok, "models/stories260K/tok512.bin");
  char *dir = tu_fresh_dir("evalcli");
  char *rows = lethe_path_join(dir, "rows.jsonl"), *mem = lethe_path_join(dir, "mem.jsonl"),
       *non = lethe_path_join(dir, "non.jsonl"), *out = lethe_path_join(dir, "out");
  write_text(rows, "{\"id\": \"a\\\"1\\\"sc1\", \"input\": \"Once upon a time\", \"output\": \", there was a little "
                   "girl named Lily.\", \"task\": \"Task1\"}\n"
                   "{\"id\": \"b1qa0\", \"input\": \"Lily liked to\", \"output\": \" play\", \"task\": \"Task1\"}\n"
                   "{\"id\": \"odd-id\", \"input\": \"The dog\", \"output\": \" ran\", \"task\": \"Task1\"}\n");
  write_text(mem, "{\"id\": \"m1\", \"document\": \"Once upon a time, there was a little girl named Lily.\"}\n"
                  "{\"id\": \"m2\", \"document\": \"She loved to play outside in the park.\"}\n");
  write_text(non, "{\"id\": \"n1\", \"document\": \"Quantum chromodynamics describes the strong interaction.\"}\n"
                  "{\"id\": \"n2\", \"document\": \"The stock market fell sharply on Tuesday.\"}\n");
  char *err, *outs;
  int rc = tu_run_lethe(NULL, &outs, &err, "eval", "--model", model, "--tokenizer", tok, "--forget", rows, "--retain",
      rows, "--mia-members", mem, "--mia-nonmembers", non, "--out", out, "--max-new", "24", NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  print_message("%s", outs);
  assert_non_null(strstr(err, "2 rows have ids that are neither sc nor qa"));
  char *res = lethe_path_join(out, "evaluation_results.json"), *rj = lethe_path_join(out, "rows.jsonl");
  json_error_t je;
  json_t *r = json_load_file(res, 0, &je);
  assert_non_null(r);
  /* The greedy continuation of "Once upon a time" is the memorised sentence: recall 1. */
  double reg = json_number_value(json_object_get(json_object_get(r, "retain-set"), "overall-regurgitation-score"));
  assert_true(reg > 0.99);
  double forget_reg =
      json_number_value(json_object_get(json_object_get(r, "forget-set"), "overall-regurgitation-score"));
  assert_true(fabs(forget_reg - reg) < 1e-12);
  double auc = json_number_value(json_object_get(r, "mia_loss_acc"));
  assert_true(auc == 1.0); /* the model knows its stories better than physics */
  assert_true(lethe_file_exists(rj));
  json_decref(r);
  free(outs);
  free(err);
  /* Bad inputs. */
  write_text(mem, "");
  rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--forget", rows, "--mia-members",
      mem, "--mia-nonmembers", non, "--out", out, "--max-new", "4", NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "no rows"));
  free(err);
  write_text(rows, "{\"id\": \"x1sc1\", \"input\": \"a\"}\n");
  rc = tu_run_lethe(
      NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--forget", rows, "--out", out, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, ":1: missing field \"output\""));
  free(err);
  char *mmlu = lethe_path_join(dir, "mmlu");
  char *mdev = lethe_path_join(mmlu, "dev"), *mtest = lethe_path_join(mmlu, "test");
  lethe_make_dirs(mdev);
  lethe_make_dirs(mtest);
  char *f1 = lethe_path_join(mdev, "toy_dev.csv"), *f2 = lethe_path_join(mtest, "toy_test.csv");
  write_text(f1, "q1,a,b,c,d,A\n");
  write_text(f2, "q2,a,b,c,d,E\n");
  write_text(rows, "{\"id\": \"x1sc1\", \"input\": \"Once\", \"output\": \" upon\", \"task\": \"T\"}\n");
  rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--forget", rows, "--mmlu", mmlu,
      "--out", out, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "toy_test.csv"));
  free(err);
  rc = tu_run_lethe(NULL, NULL, &err, "eval", "--model", model, "--tokenizer", tok, "--forget", rows, "--mia-members",
      mem, "--out", out, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "both --mia-members and --mia-nonmembers"));
  free(err);
  lethe_remove_tree(dir);
  free(f1);
  free(f2);
  free(mdev);
  free(mtest);
  free(mmlu);
  free(res);
  free(rj);
  free(rows);
  free(mem);
  free(non);
  free(out);
  free(dir);
  free(model);
  free(tok);
}

/* MMLU through a real model (a small slice of ../shared/data/mmlu), and --compare of the base
 * model with an adapter: both evaluations are written and the table shows both columns. */
static void test_mmlu_and_compare(void **state) {
  (void)state;
  char *model = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin"), *mmlu = tu_shared_path("data/mmlu");
  TU_REQUIRE_SHARED(model, "models/stories260K");
  TU_REQUIRE_SHARED(tok, "models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(mmlu, "data/mmlu");
  char *dir = tu_fresh_dir("evalmmlu");
  char *rows = lethe_path_join(dir, "rows.jsonl"), *out = lethe_path_join(dir, "out"),
       *ad = lethe_path_join(dir, "adapter");
  write_text(rows,
      "{\"id\": \"a1sc1\", \"input\": \"Once upon a time\", \"output\": \", there was a girl.\", \"task\": \"T\"}\n"
      "{\"id\": \"a1qa0\", \"input\": \"Lily liked to\", \"output\": \" play\", \"task\": \"T\"}\n");
  /* An adapter for stories260K: q_proj and v_proj, random. */
  lethe_model *m;
  assert_int_equal(lethe_model_load(model, &m), LETHE_OK);
  lethe_lora_config lc = {.rank = 2, .alpha = 4, .targets = (1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_V)};
  lethe_lora *l;
  assert_int_equal(lethe_lora_create(&m->cfg, &lc, 3, &l), LETHE_OK);
  for (size_t i = 0; i < l->n_params; i++)
    if (l->params[i] == 0.0f) l->params[i] = 0.05f;
  assert_int_equal(lethe_lora_save(l, model, ad), LETHE_OK);
  lethe_lora_free(l);
  lethe_model_free(m);
  char *outs, *err;
  int rc = tu_run_lethe(NULL, &outs, &err, "eval", "--model", model, "--tokenizer", tok, "--adapter", ad, "--compare",
      "--forget", rows, "--retain", rows, "--mmlu", mmlu, "--limit", "2", "--shots", "1", "--out", out, "--max-new",
      "16", NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  print_message("%s", outs);
  assert_non_null(strstr(outs, "before"));
  assert_non_null(strstr(outs, "after"));
  const char *files[] = {"evaluation_results.json", "rows.jsonl", "mmlu_metrics.json", "base/evaluation_results.json",
      "base/mmlu_metrics.json"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char *p = lethe_path_join(out, files[i]);
    assert_true(lethe_file_exists(p));
    free(p);
  }
  char *mp = lethe_path_join(out, "mmlu_metrics.json");
  json_error_t je;
  json_t *mj = json_load_file(mp, 0, &je);
  assert_non_null(mj);
  double acc = json_number_value(json_object_get(mj, "average_acc"));
  assert_true(acc >= 0 && acc <= 1);
  assert_int_equal(json_object_size(json_object_get(mj, "subject_acc")), 57);
  json_decref(mj);
  char *rp = lethe_path_join(out, "evaluation_results.json");
  json_t *r = json_load_file(rp, 0, &je);
  assert_true(fabs(json_number_value(json_object_get(r, "mmlu_average")) - acc) < 1e-12);
  json_decref(r);
  assert_non_null(strstr(err, "mmlu: 114 questions"));
  free(rp);
  free(mp);
  free(outs);
  free(err);
  lethe_remove_tree(dir);
  free(rows);
  free(out);
  free(ad);
  free(dir);
  free(model);
  free(tok);
  free(mmlu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_score_only_matches_official),
      cmocka_unit_test(test_model_eval_and_bad_inputs),
      cmocka_unit_test(test_mmlu_and_compare),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
