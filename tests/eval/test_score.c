/* tests/eval/test_score.c: `lethe score` against transformers (tests/fixtures/score, made by
 * tools/reference/make_score_fixtures.py on models/llama_tiny, alone and with the PEFT adapter
 * peft/llama_tiny_peft): the scored ids equal, every log-probability within 1e-5, the means are the
 * means, whatever the batch size; --out is written whole or not at all; bad data files are
 * one clear error naming the file. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fileio.h"

static char *MODEL, *TOK, *ADAPTER;

static int setup(void **state) {
  (void)state;
  MODEL = tu_src_path("tests/fixtures/models/llama_tiny");
  TOK = tu_src_path("tests/fixtures/score/tokenizer.json");
  ADAPTER = tu_src_path("tests/fixtures/peft/llama_tiny_peft");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(MODEL);
  free(TOK);
  free(ADAPTER);
  return 0;
}

/* Runs score; returns stdout. */
static char *score(const char *data_rel, int adapter, const char *batch) {
  char *data = tu_src_path(data_rel), *out, *err;
  int rc = adapter ? tu_run_lethe(NULL, &out, &err, "score", "--model", MODEL, "--tokenizer", TOK, "--adapter", ADAPTER,
                         "--data", data, "--batch", batch, NULL)
                   : tu_run_lethe(NULL, &out, &err, "score", "--model", MODEL, "--tokenizer", TOK, "--data", data,
                         "--batch", batch, NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  free(data);
  return out;
}

static void compare(const char *out, const json_t *want, const char *what) {
  const char *p = out;
  size_t i = 0;
  double max_err = 0;
  for (; *p; i++) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl);
    json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
    assert_non_null(j);
    assert_true(i < json_array_size(want));
    const json_t *w = json_array_get(want, i);
    assert_int_equal(json_integer_value(json_object_get(j, "line")), (json_int_t)i + 1);
    assert_int_equal(
        json_integer_value(json_object_get(j, "n_prompt")), json_integer_value(json_object_get(w, "n_prompt")));
    const json_t *ids = json_object_get(j, "ids"), *lp = json_object_get(j, "logprobs"),
                 *wids = json_object_get(w, "scored"), *wlp = json_object_get(w, "logprobs");
    assert_int_equal(json_array_size(ids), json_array_size(wids));
    assert_int_equal(json_array_size(lp), json_array_size(wlp));
    double sum = 0;
    for (size_t k = 0; k < json_array_size(ids); k++) {
      assert_int_equal(json_integer_value(json_array_get(ids, k)), json_integer_value(json_array_get(wids, k)));
      double a = json_number_value(json_array_get(lp, k)), b = json_number_value(json_array_get(wlp, k));
      max_err = fmax(max_err, fabs(a - b));
      assert_true(fabs(a - b) <= 1e-5);
      sum += b;
    }
    size_t n = json_array_size(wlp);
    assert_true(fabs(json_number_value(json_object_get(j, "sum_logprob")) - sum) <= 1e-5 * (double)n);
    assert_true(fabs(json_number_value(json_object_get(j, "mean_logprob")) - sum / (double)n) <= 1e-5);
    json_decref(j);
    p = nl + 1;
  }
  assert_int_equal(i, json_array_size(want));
  print_message("%s: %zu rows, max |logprob - transformers| %.2e\n", what, i, max_err);
}

static void test_against_transformers(void **state) {
  (void)state;
  char *ep = tu_src_path("tests/fixtures/score/expected.json");
  json_t *exp = json_load_file(ep, 0, NULL);
  assert_non_null(exp);
  char *o = score("tests/fixtures/score/rows.jsonl", 0, "3");
  compare(o, json_object_get(exp, "base_rows"), "rows");
  char *o1 = score("tests/fixtures/score/rows.jsonl", 0, "1");
  compare(o1, json_object_get(exp, "base_rows"), "rows, one per batch"); /* batching changes only rounding */
  free(o);
  free(o1);
  o = score("tests/fixtures/score/docs.jsonl", 0, "8");
  compare(o, json_object_get(exp, "base_docs"), "documents");
  free(o);
  o = score("tests/fixtures/score/rows.jsonl", 1, "2");
  compare(o, json_object_get(exp, "adapter_rows"), "rows with the PEFT adapter");
  free(o);
  o = score("tests/fixtures/score/docs.jsonl", 1, "2");
  compare(o, json_object_get(exp, "adapter_docs"), "documents with the PEFT adapter");
  free(o);
  json_decref(exp);
  free(ep);
}

static void write_bytes(const char *path, const char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fwrite(b, 1, n, f);
  fclose(f);
}

static void test_out_and_bad_data(void **state) {
  (void)state;
  char *dir = tu_fresh_dir("score");
  char *outp = lethe_path_join(dir, "scores.jsonl"), *bad = lethe_path_join(dir, "bad.jsonl");
  char *rows = tu_src_path("tests/fixtures/score/rows.jsonl"), *out, *err;
  assert_int_equal(tu_run_lethe(NULL, &out, &err, "score", "--model", MODEL, "--tokenizer", TOK, "--data", rows,
                       "--out", outp, NULL),
      0);
  assert_int_equal(out[0], 0);
  char *text;
  size_t len;
  assert_int_equal(lethe_read_file(outp, 1 << 20, &text, &len), LETHE_OK);
  int lines = 0;
  for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
  assert_int_equal(lines, 4);
  free(text);
  free(out);
  free(err);
  unlink(outp);
  struct {
    const char *bytes;
    size_t n;
    const char *needle;
  } cases[] = {
      {"{\"input\": \"a\", \"output\": \"b\"}\n{\"input\": \"a\", \"outp", 48, "bad.jsonl"},
      {"{\"input\": \"a\", \"output\": 5}\n", 29, "bad.jsonl"},
      {"{\"input\": \"a\xff\", \"output\": \"b\"}\n", 32, "bad.jsonl"},
      {"", 0, "bad.jsonl"},
      {"[1, 2]\n", 7, "bad.jsonl"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    write_bytes(bad, cases[c].bytes, cases[c].n);
    int rc = tu_run_lethe(
        NULL, &out, &err, "score", "--model", MODEL, "--tokenizer", TOK, "--data", bad, "--out", outp, NULL);
    print_message("case %zu: exit %d: %s", c, rc, err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, cases[c].needle));
    assert_false(lethe_file_exists(outp));
    free(out);
    free(err);
  }
  /* a FIFO and a missing file */
  unlink(bad);
  assert_int_equal(mkfifo(bad, 0600), 0);
  int rc = tu_run_lethe(NULL, &out, &err, "score", "--model", MODEL, "--tokenizer", TOK, "--data", bad, NULL);
  print_message("fifo: exit %d: %s", rc, err);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "bad.jsonl"));
  free(out);
  free(err);
  unlink(bad);
  rc = tu_run_lethe(NULL, &out, &err, "score", "--model", MODEL, "--tokenizer", TOK, "--data", bad, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "bad.jsonl"));
  assert_int_equal(out[0], 0);
  free(out);
  free(err);
  lethe_remove_tree(dir);
  free(rows);
  free(outp);
  free(bad);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_transformers),
      cmocka_unit_test(test_out_and_bad_data),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
