/* tests/eval/test_train_log.c: OUT/train_log.jsonl has one owner (eval/train_log.c): a record
 * written is read back field for field (absent terms as null / NaN), trimming keeps the records up
 * to a step, and a damaged file is one error naming the file and the line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/train_log.h"
#include "testutil.h"
#include "util/error.h"
#include "util/fileio.h"

TU_WORK_DIR("train-log")

static double urand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (double)(*s >> 8) / (double)(1u << 24);
}

static char *log_path(const char *name) {
  size_t n = strlen(WORK) + strlen(name) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", WORK, name);
  return p;
}

/* Records with fresh random values: every 3rd has no forget term, every 4th no KL. */
static void make(lethe_train_log_rec *r, int n, unsigned seed) {
  for (int i = 0; i < n; i++) {
    r[i] = (lethe_train_log_rec){.step = i + 1,
        .epoch = 1 + i / 3,
        .loss = urand(&seed) * 4 - 2,
        .forget = i % 3 ? urand(&seed) * 5 : NAN,
        .retain = urand(&seed),
        .kl = i % 4 ? urand(&seed) * 1e-3 : NAN,
        .grad_norm = urand(&seed) * 10,
        .lr = 1e-4 * (1 + urand(&seed)),
        .tokens = 1 + (int)(urand(&seed) * 500),
        .tokens_per_s = urand(&seed) * 1e4,
        .elapsed_s = i * 1.5};
  }
}

static int close9(double a, double b) { /* %.9g keeps 9 significant digits */
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return fabs(a - b) <= 1e-8 * fmax(1, fabs(a));
}

static void test_round_trip_and_trim(void **state) {
  (void)state;
  enum { N = 11 };
  lethe_train_log_rec w[N];
  make(w, N, (unsigned)time(NULL));
  char *p = log_path("train_log.jsonl");
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  for (int i = 0; i < N; i++) assert_int_equal(lethe_train_log_write(f, p, &w[i]), LETHE_OK);
  fclose(f);
  lethe_train_log log;
  assert_int_equal(lethe_train_log_read(p, &log), LETHE_OK);
  assert_int_equal(log.n, N);
  for (int i = 0; i < N; i++) {
    const lethe_train_log_rec *a = &w[i], *b = &log.r[i];
    assert_true(a->step == b->step && a->epoch == b->epoch && a->tokens == b->tokens);
    assert_true(close9(a->loss, b->loss) && close9(a->forget, b->forget) && close9(a->retain, b->retain));
    assert_true(close9(a->kl, b->kl) && close9(a->grad_norm, b->grad_norm) && close9(a->lr, b->lr));
    assert_true(fabs(a->elapsed_s - b->elapsed_s) < 1e-3);
  }
  lethe_train_log_free(&log);
  /* an absent term is written as null, the format lethe report and users' scripts read */
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(lethe_read_file(p, 1 << 20, &text, &len), LETHE_OK);
  assert_non_null(strstr(text, "{\"step\": 1, \"epoch\": 1, \"loss\": "));
  assert_non_null(strstr(text, "\"forget\": null"));
  free(text);
  assert_int_equal(lethe_train_log_trim(p, 7), LETHE_OK);
  assert_int_equal(lethe_train_log_read(p, &log), LETHE_OK);
  assert_int_equal(log.n, 7);
  assert_int_equal(log.r[6].step, 7);
  lethe_train_log_free(&log);
  char *missing = log_path("none.jsonl");
  assert_int_equal(lethe_train_log_trim(missing, 3), LETHE_OK); /* a missing file stays missing */
  assert_false(lethe_file_exists(missing));
  free(missing);
  free(p);
}

static void expect_bad(const char *text, const char *msg) {
  char *p = log_path("bad.jsonl");
  tu_write_text(p, text);
  lethe_train_log log;
  assert_int_equal(lethe_train_log_read(p, &log), LETHE_ERR_FORMAT);
  const char *e = lethe_last_error();
  if (!strstr(e, msg) || !strstr(e, p)) fail_msg("error \"%s\" lacks \"%s\" or the path", e, msg);
  assert_null(log.r);
  free(p);
}

static void test_bad_records(void **state) {
  (void)state;
  expect_bad("{\"step\": 1, \"loss\": 1}\n[1]\n", "bad.jsonl:2: not a JSON object");
  expect_bad("{\"step\": 2, \"loss\": 1}\n{\"step\": 2, \"loss\": 1}\n",
      ":2: 'step' must be an integer above the previous line's 2");
  expect_bad("{\"step\": 1.5, \"loss\": 1}\n", ":1: 'step' must be an integer");
  expect_bad("{\"step\": 1, \"loss\": \"x\"}\n", ":1: 'loss' must be a number");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_and_trim),
      cmocka_unit_test(test_bad_records),
  };
  return tu_run_group_tests(tests, setup, teardown);
}
