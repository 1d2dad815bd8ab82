/* tests/eval/test_publish.c: eval and report publish all or nothing (issue 13).
 *  - when writing rows.jsonl fails (here: the name is taken by a directory), eval exits non-zero
 *    and leaves no evaluation_results.json (a script would take it for success);
 *  - report refuses a broken run.json, a train_log.jsonl whose steps go backwards and an
 *    evaluation_results.json that is not an object of results, naming the file (and line), and
 *    writes no report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fileio.h"

TU_WORK_DIR("publish")

static void test_eval_all_or_nothing(void **state) {
  (void)state;
  char *m = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin");
  if (!m || !tok) {
    free(m);
    free(tok);
    TU_REQUIRE_SHARED(NULL, "models/stories260K");
  }
  char *f = tu_src_path("tests/fixtures/unlearn/stories_forget.jsonl"), *out = lethe_path_join(WORK, "eval");
  char *res = lethe_path_join(out, "evaluation_results.json"), *rows = lethe_path_join(out, "rows.jsonl");
  char *argv[] = {"eval", "--model", m, "--tokenizer", tok, "--forget", f, "--out", out, "--max-new", "4", NULL};
  char *err;
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, NULL, argv), 0);
  assert_true(lethe_file_exists(res));
  /* rows.jsonl cannot be written: no results either (the previous ones are gone too) */
  unlink(rows);
  assert_int_equal(lethe_make_dirs(rows), LETHE_OK);
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, "rows.jsonl"));
  assert_false(lethe_file_exists(res));
  free(err);
  /* an eval --out that is a user's directory is refused and left alone */
  char *user = lethe_path_join(WORK, "user"), *notes = lethe_path_join(WORK, "user/rows.jsonl");
  assert_int_equal(lethe_make_dirs(user), LETHE_OK);
  tu_write_text(notes, "mine\n");
  argv[8] = user;
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  assert_non_null(strstr(err, "is not an eval lethe wrote"));
  free(err);
  char *text;
  size_t n;
  assert_int_equal(lethe_read_file(notes, 100, &text, &n), LETHE_OK);
  assert_string_equal(text, "mine\n");
  free(text);
  free(user);
  free(notes);
  free(res);
  free(rows);
  free(out);
  free(f);
  free(m);
  free(tok);
}

/* A copy of the npo report fixture with one file replaced; returns the run dir. */
static char *run_with(const char *name, const char *file, const char *text) {
  char *run = lethe_path_join(WORK, name), *src = tu_src_path("tests/fixtures/report/npo");
  char *ev = lethe_path_join(run, "eval");
  assert_int_equal(lethe_make_dirs(ev), LETHE_OK);
  const char *files[] = {"run.json", "train_log.jsonl", "eval/evaluation_results.json", "eval/rows.jsonl"};
  for (int i = 0; i < 4; i++) {
    char *a = lethe_path_join(src, files[i]), *b = lethe_path_join(run, files[i]);
    if (lethe_file_exists(a)) assert_int_equal(lethe_copy_file(a, b), LETHE_OK);
    free(a);
    free(b);
  }
  char *p = lethe_path_join(run, file);
  tu_write_text(p, text);
  free(p);
  free(ev);
  free(src);
  return run;
}

static void expect_report_error(const char *run, const char *want) {
  char *out = lethe_path_join(WORK, "report.html"), *err;
  unlink(out);
  char *argv[] = {"report", "--run", (char *)run, "--out", out, NULL};
  assert_int_equal(tu_run_lethe_argv(NULL, NULL, &err, argv), 1);
  print_message("%s", err);
  assert_non_null(strstr(err, want));
  assert_false(lethe_file_exists(out));
  free(err);
  free(out);
}

static void test_report_validates(void **state) {
  (void)state;
  char *r = run_with("bad_runjson", "run.json", "{\"command\": \"unlearn\", \"training\": [1]}");
  expect_report_error(r, "run.json: field 'training' must be an object");
  free(r);
  r = run_with("bad_runjson2", "run.json", "[1, 2");
  expect_report_error(r, "run.json");
  free(r);
  r = run_with("bad_log", "train_log.jsonl", "{\"step\": 1, \"loss\": 1.0}\n{\"step\": 1, \"loss\": 0.5}\n");
  expect_report_error(r, "train_log.jsonl:2: 'step' must be an integer above the previous line's 1");
  free(r);
  r = run_with("bad_results", "eval/evaluation_results.json", "[]");
  expect_report_error(r, "evaluation_results.json: not a JSON object of results");
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eval_all_or_nothing),
      cmocka_unit_test(test_report_validates),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
