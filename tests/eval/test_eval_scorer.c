/* tests/eval/test_eval_scorer.c: the whole scorer (--score-only) against the official formulas
 * (tools/reference/make_eval_fixtures.py re-implements evaluate_generations.py's compute_metrics
 * on committed synthetic generations): every per-row score, evaluation_results.json key by key
 * to 1e-9, the literal-text option, the per-row JSONL round trip, the table, and bad inputs. */
#include <math.h>

#include "eval/eval_fixture.h"
#include "lethe/eval_rows.h"
#include "lethe/eval_mia.h"
#include "lethe/eval_score.h"
#include "lethe/eval_print.h"

/* Same structure (keys in the same order, same types) and numbers within tol. */
static int json_close(const json_t *a, const json_t *b, double tol, const char *where) {
  if (json_is_number(a) && json_is_number(b)) {
    if (json_is_integer(a) != json_is_integer(b)) {
      print_message("%s: integer vs real\n", where);
      return 0;
    }
    double x = json_number_value(a), y = json_number_value(b);
    if (!(fabs(x - y) <= tol)) {
      print_message("%s: %.17g vs %.17g\n", where, x, y);
      return 0;
    }
    return 1;
  }
  if (json_typeof(a) != json_typeof(b)) {
    print_message("%s: different types (%d vs %d)\n", where, json_typeof(a), json_typeof(b));
    return 0;
  }
  char path[512];
  if (json_is_object(a)) {
    if (json_object_size(a) != json_object_size(b)) {
      print_message("%s: %zu vs %zu keys\n", where, json_object_size(a), json_object_size(b));
      return 0;
    }
    void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
    for (; ia && ib; ia = json_object_iter_next((json_t *)a, ia), ib = json_object_iter_next((json_t *)b, ib)) {
      const char *ka = json_object_iter_key(ia), *kb = json_object_iter_key(ib);
      if (strcmp(ka, kb) != 0) {
        print_message("%s: key \"%s\" where \"%s\" was expected\n", where, ka, kb);
        return 0;
      }
      snprintf(path, sizeof path, "%s.%s", where, ka);
      if (!json_close(json_object_iter_value(ia), json_object_iter_value(ib), tol, path)) return 0;
    }
    return 1;
  }
  if (json_is_array(a)) {
    if (json_array_size(a) != json_array_size(b)) {
      print_message("%s: %zu vs %zu items\n", where, json_array_size(a), json_array_size(b));
      return 0;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
      snprintf(path, sizeof path, "%s[%zu]", where, i);
      if (!json_close(json_array_get(a, i), json_array_get(b, i), tol, path)) return 0;
    }
    return 1;
  }
  return json_equal((json_t *)a, (json_t *)b);
}

static char *case_path(const char *c, const char *file) {
  char rel[256];
  snprintf(rel, sizeof rel, "tests/fixtures/eval/scorer/%s/%s", c, file);
  return tu_src_path(rel);
}

/* Scores fixture case `c`; checks every row against "ref_score" and the JSON against `expected`. */
static void check_case(const char *c, const char *expected, int literal) {
  lethe_eval_score_only_opts a = {0};
  char *rows_path = case_path(c, "rows.jsonl");
  char *mem = case_path(c, "member.jsonl"), *non = case_path(c, "nonmember.jsonl");
  char *args_path = case_path(c, "args.json"), *exp_path = case_path(c, "expected.json");
  if (strcmp(expected, "expected.json") != 0) {
    free(exp_path);
    exp_path = case_path(c, expected);
  }
  a.rows_path = rows_path;
  if (lethe_file_exists(mem)) a.member_nll_path = mem, a.nonmember_nll_path = non;
  json_t *args = json_load_file(args_path, 0, NULL);
  assert_non_null(args);
  if (json_object_get(args, "mmlu")) a.has_mmlu = 1, a.mmlu = json_number_value(json_object_get(args, "mmlu"));
  a.compute.literal_text = literal;

  lethe_eval_rows rows;
  lethe_eval_results r;
  lethe_status st = lethe_eval_score_only(&a, &rows, &r);
  if (st != LETHE_OK) print_message("%s\n", lethe_last_error());
  assert_int_equal(st, LETHE_OK);

  /* Per-row scores (the rows keep the file's order). */
  if (!literal) {
    char *text;
    assert_int_equal(lethe_read_file(rows_path, 1 << 26, &text, NULL), LETHE_OK);
    char *cur = text, *line;
    size_t i = 0, n_other = 0;
    while ((line = ef_line(&cur)) != NULL) {
      json_t *j = ef_json(line);
      const json_t *ref = json_object_get(j, "ref_score");
      assert_true(i < rows.n);
      assert_string_equal(rows.rows[i].id, json_string_value(json_object_get(j, "id")));
      if (json_is_null(ref)) {
        assert_int_equal(rows.rows[i].kind, LETHE_ROW_OTHER);
        assert_true(isnan(rows.rows[i].score));
        n_other++;
      } else {
        if (fabs(rows.rows[i].score - json_number_value(ref)) > 1e-9)
          print_message("%s row %zu (%s): %.17g, official %.17g\n", c, i, rows.rows[i].id, rows.rows[i].score,
              json_number_value(ref));
        assert_true(fabs(rows.rows[i].score - json_number_value(ref)) <= 1e-9);
      }
      json_decref(j);
      i++;
    }
    free(text);
    assert_int_equal(i, rows.n);
    assert_int_equal(r.n_unclassified, n_other);
    assert_int_equal(r.n_rows, rows.n);
  }

  /* evaluation_results.json, key by key. */
  char *js;
  assert_int_equal(lethe_eval_results_to_json(&r, &js, NULL), LETHE_OK);
  json_error_t err;
  json_t *got = json_loads(js, 0, &err);
  if (!got) print_message("lethe's JSON does not parse: %s\n%s\n", err.text, js);
  assert_non_null(got);
  json_t *want = json_load_file(exp_path, 0, &err);
  assert_non_null(want);
  if (!json_close(got, want, 1e-9, c)) print_message("lethe wrote:\n%s\n", js);
  assert_true(json_close(got, want, 1e-9, c));

  /* The file writer writes the same text. */
  char *out = tu_tmp_path("evaluation_results.json");
  assert_int_equal(lethe_eval_results_write_json(&r, out), LETHE_OK);
  char *back;
  assert_int_equal(lethe_read_file(out, 1 << 20, &back, NULL), LETHE_OK);
  assert_string_equal(back, js);
  remove(out);
  free(out);
  free(back);

  json_decref(got);
  json_decref(want);
  json_decref(args);
  free(js);
  lethe_eval_results_free(&r);
  lethe_eval_rows_free(&rows);
  free(rows_path);
  free(mem);
  free(non);
  free(args_path);
  free(exp_path);
}

static void test_case_main(void **state) {
  (void)state;
  check_case("main", "expected.json", 0);
}
static void test_case_main_literal(void **state) {
  (void)state;
  check_case("main", "expected_literal.json", 1);
}
static void test_case_partial(void **state) {
  (void)state;
  check_case("partial", "expected.json", 0);
}
static void test_case_mia_only(void **state) {
  (void)state;
  check_case("mia_only", "expected.json", 0);
}
static void test_case_mmlu_only(void **state) {
  (void)state;
  check_case("mmlu_only", "expected.json", 0);
}

/* lethe eval writes the per-row JSONL; reading it back scores the same. */
static void test_rows_roundtrip(void **state) {
  (void)state;
  lethe_eval_score_only_opts a = {0};
  char *rows_path = case_path("main", "rows.jsonl");
  a.rows_path = rows_path;
  a.has_mmlu = 1;
  a.mmlu = 0.5;
  lethe_eval_rows rows, rows2;
  lethe_eval_results r, r2;
  assert_int_equal(lethe_eval_score_only(&a, &rows, &r), LETHE_OK);
  char *tmp = tu_tmp_path("rows_roundtrip.jsonl");
  assert_int_equal(lethe_eval_rows_write_jsonl(&rows, tmp), LETHE_OK);
  a.rows_path = tmp;
  assert_int_equal(lethe_eval_score_only(&a, &rows2, &r2), LETHE_OK);
  assert_int_equal(rows.n, rows2.n);
  for (size_t i = 0; i < rows.n; i++) {
    assert_string_equal(rows.rows[i].id, rows2.rows[i].id);
    assert_string_equal(rows.rows[i].task, rows2.rows[i].task);
    assert_int_equal(rows.rows[i].split, rows2.rows[i].split);
    assert_int_equal(rows.rows[i].expected_len, rows2.rows[i].expected_len);
    assert_memory_equal(rows.rows[i].expected, rows2.rows[i].expected, rows.rows[i].expected_len);
    assert_int_equal(rows.rows[i].generated_len, rows2.rows[i].generated_len);
    assert_memory_equal(rows.rows[i].generated, rows2.rows[i].generated, rows.rows[i].generated_len);
    assert_true(rows.rows[i].nll == rows2.rows[i].nll || (isnan(rows.rows[i].nll) && isnan(rows2.rows[i].nll)));
    assert_true(rows.rows[i].score == rows2.rows[i].score || (isnan(rows.rows[i].score) && isnan(rows2.rows[i].score)));
  }
  char *j1, *j2;
  assert_int_equal(lethe_eval_results_to_json(&r, &j1, NULL), LETHE_OK);
  assert_int_equal(lethe_eval_results_to_json(&r2, &j2, NULL), LETHE_OK);
  assert_string_equal(j1, j2);
  assert_non_null(strstr(j1, "\"aggregate-score\": -1")); /* MMLU without MIA */
  assert_null(strstr(j1, "mia_final_score"));
  free(j1);
  free(j2);
  remove(tmp);
  free(tmp);
  free(rows_path);
  lethe_eval_rows_free(&rows);
  lethe_eval_rows_free(&rows2);
  lethe_eval_results_free(&r);
  lethe_eval_results_free(&r2);
}

static void add(
    lethe_eval_rows *rows, const char *id, const char *task, lethe_split split, const char *exp, const char *gen) {
  assert_int_equal(lethe_eval_rows_add(rows, id, task, split, exp, strlen(exp), gen, strlen(gen), NAN), LETHE_OK);
}

static void test_harmonic_zero_and_final(void **state) {
  (void)state;
  lethe_eval_rows rows = {0};
  add(&rows, "d1sc1", "Task1", LETHE_SPLIT_FORGET, "a b c", "a b c"); /* recall 1 -> term 0 */
  add(&rows, "d1qa0", "Task1", LETHE_SPLIT_FORGET, "Paris", "Rome");
  add(&rows, "d2sc1", "Task1", LETHE_SPLIT_RETAIN, "a b c d", "a b");
  add(&rows, "d2qa0", "Task1", LETHE_SPLIT_RETAIN, "Paris", " paris ");
  add(&rows, "odd-id", "Task1", LETHE_SPLIT_RETAIN, "x", "x");
  const double mem[3] = {1, 2, 3}, non[3] = {1.5, 2.5, 3.5};
  lethe_eval_mia_input mia = {mem, 3, non, 3};
  double mmlu = 0.6;
  lethe_eval_results r;
  assert_int_equal(lethe_eval_compute(&rows, NULL, &mia, &mmlu, &r), LETHE_OK);
  assert_int_equal(r.n_terms, 4);
  assert_true(r.terms[0] == 0.0 && r.terms[1] == 1.0 && r.terms[2] == 0.5 && r.terms[3] == 1.0);
  assert_true(r.task_aggregate == 0.0);
  assert_int_equal(r.n_unclassified, 1);
  assert_true(fabs(r.mia_auc - 6.0 / 9.0) < 1e-15);
  assert_true(fabs(r.final_score - (0.0 + 0.6 + (1 - 2 * (6.0 / 9.0 - 0.5))) / 3) < 1e-15);

  /* The table shows every line, before and after. */
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  lethe_eval_print_table(fp, &r, &r);
  fclose(fp);
  assert_non_null(strstr(buf, "before"));
  assert_non_null(strstr(buf, "forget Task1 regurgitation"));
  assert_non_null(strstr(buf, "final score"));
  assert_non_null(strstr(buf, "0.6000"));
  free(buf);
  fp = open_memstream(&buf, &len);
  lethe_eval_print_table(fp, NULL, &r);
  fclose(fp);
  assert_null(strstr(buf, "before"));
  free(buf);

  double bad = 45.2;
  lethe_eval_results r2;
  assert_int_equal(lethe_eval_compute(&rows, NULL, NULL, &bad, &r2), LETHE_ERR_INVALID);
  lethe_eval_results_free(&r);
  lethe_eval_rows_free(&rows);
  lethe_eval_rows empty = {0};
  assert_int_equal(lethe_eval_compute(&empty, NULL, NULL, NULL, &r2), LETHE_ERR_INVALID);
}

static void test_row_kinds(void **state) {
  (void)state;
  assert_int_equal(lethe_eval_row_kind("abcsc1", 6), LETHE_ROW_SC);
  assert_int_equal(lethe_eval_row_kind("\"x\"qa4", 6), LETHE_ROW_QA);
  assert_int_equal(lethe_eval_row_kind("abcsc", 5), LETHE_ROW_OTHER);
  assert_int_equal(lethe_eval_row_kind("sc1", 3), LETHE_ROW_SC);
  assert_int_equal(lethe_eval_row_kind("sc", 2), LETHE_ROW_OTHER);
  assert_int_equal(lethe_eval_row_kind("", 0), LETHE_ROW_OTHER);
  assert_int_equal(lethe_eval_row_kind("abcsc\xC3\xA9", 7), LETHE_ROW_SC); /* last char 'é' */
  assert_int_equal(lethe_eval_row_kind("abcqa\xF0\x9F\x98\x80", 9), LETHE_ROW_QA);
}

/* A bad file gets one error naming the file and the line. */
static void expect_rows_error(const char *name, const char *content, const char *needle) {
  char *path = ef_tmp_file(name, content, strlen(content));
  lethe_eval_rows rows = {0};
  lethe_status st = lethe_eval_rows_read_jsonl(path, &rows);
  assert_int_not_equal(st, LETHE_OK);
  char where[512];
  snprintf(where, sizeof where, "%s:", path);
  if (!strstr(lethe_last_error(), needle) || !strstr(lethe_last_error(), where))
    print_message("error: %s (want %s)\n", lethe_last_error(), needle);
  assert_non_null(strstr(lethe_last_error(), where));
  assert_non_null(strstr(lethe_last_error(), needle));
  lethe_eval_rows_free(&rows);
  remove(path);
  free(path);
}

static const char k_good[] = "{\"id\": \"a\\\"b\\\"sc1\", \"task\": \"T\", \"split\": \"forget\", \"expected\": \"x\", "
                             "\"generated\": \"x\", \"extra\": [1, 2]}\n";

static void test_bad_rows(void **state) {
  (void)state;
  char buf[1024];
  snprintf(
      buf, sizeof buf, "%s\n{\"id\": \"x\", \"task\": \"T\", \"split\": \"forget\", \"expected\": \"x\"}\n", k_good);
  expect_rows_error("missing.jsonl", buf, ":3: missing field \"generated\"");
  snprintf(buf, sizeof buf,
      "%s{\"id\": \"x\", \"task\": \"T\", \"split\": \"forget\", \"expected\": \"x\", \"generated\": \n", k_good);
  expect_rows_error("invalid.jsonl", buf, ":2: invalid JSON");
  snprintf(buf, sizeof buf,
      "%s{\"id\": 7, \"task\": \"T\", \"split\": \"forget\", \"expected\": \"x\", \"generated\": \"y\"}\n", k_good);
  expect_rows_error("type.jsonl", buf, ":2: field \"id\" must be a string");
  snprintf(buf, sizeof buf,
      "%s{\"id\": \"x\", \"task\": \"T\", \"split\": \"forget\", \"expected\": \"x\", \"generated\": \"y\", "
      "\"nll\": \"1\"}\n",
      k_good);
  expect_rows_error("nll.jsonl", buf, ":2: field \"nll\" must be a number");
  snprintf(buf, sizeof buf,
      "%s{\"id\": \"x\", \"task\": \"T\", \"split\": \"train\", \"expected\": \"x\", \"generated\": \"y\"}\n", k_good);
  expect_rows_error("split.jsonl", buf, ":2: field \"split\" must be \"forget\" or \"retain\"");
  expect_rows_error("array.jsonl", "[1, 2]\n", ":1: expected a JSON object");
  snprintf(buf, sizeof buf,
      "{\"id\": \"a\\u0000b\", \"task\": \"T\", \"split\": \"forget\", \"expected\": \"x\", \"generated\": \"y\"}\n");
  expect_rows_error("nul.jsonl", buf, ":1: field \"id\" contains a NUL");

  /* A good file: blank lines and unknown fields are fine, ids keep their quotes, NULs in the
   * texts are kept. */
  snprintf(buf, sizeof buf,
      "\n%s\r\n{\"id\": \"q\", \"task\": \"T\", \"split\": \"retain\", \"expected\": \"a\\u0000b\", "
      "\"generated\": \"a\", \"nll\": null, \"score\": 1}\n",
      k_good);
  char *path = ef_tmp_file("good.jsonl", buf, strlen(buf));
  lethe_eval_rows rows = {0};
  assert_int_equal(lethe_eval_rows_read_jsonl(path, &rows), LETHE_OK);
  assert_int_equal(rows.n, 2);
  assert_string_equal(rows.rows[0].id, "a\"b\"sc1");
  assert_int_equal(rows.rows[0].kind, LETHE_ROW_SC);
  assert_int_equal(rows.rows[1].expected_len, 3);
  assert_true(isnan(rows.rows[1].nll));
  lethe_eval_results r;
  assert_int_equal(lethe_eval_compute(&rows, NULL, NULL, NULL, &r), LETHE_OK);
  assert_int_equal(r.n_unclassified, 1);
  assert_true(r.final_score == -1);
  lethe_eval_results_free(&r);
  lethe_eval_rows_free(&rows);
  remove(path);
  free(path);
}

static void expect_nll_error(const char *name, const char *content, const char *needle) {
  char *path = ef_tmp_file(name, content, strlen(content));
  double *v = NULL;
  size_t n = 0;
  assert_int_not_equal(lethe_eval_read_nll_jsonl(path, &v, &n), LETHE_OK);
  if (!strstr(lethe_last_error(), needle)) print_message("error: %s\n", lethe_last_error());
  assert_non_null(strstr(lethe_last_error(), needle));
  assert_non_null(strstr(lethe_last_error(), path));
  assert_null(v);
  remove(path);
  free(path);
}

static void test_bad_mia_and_mmlu_files(void **state) {
  (void)state;
  expect_nll_error("empty.jsonl", "", "no NLL records");
  expect_nll_error("blank.jsonl", "\n\n", "no NLL records");
  expect_nll_error("nonll.jsonl", "{\"id\": \"a\", \"nll\": 1.5}\n{\"id\": \"b\"}\n", ":2: missing field \"nll\"");
  expect_nll_error("badid.jsonl", "{\"id\": [1], \"nll\": 1.5}\n", ":1: field \"id\" must be");
  expect_nll_error("nan.jsonl", "{\"nll\": NaN}\n", ":1: invalid JSON");

  const char ok[] = "{\"id\": \"a\", \"nll\": 1.5}\n{\"id\": 3, \"nll\": 2, \"document\": \"x\"}\n";
  char *path = ef_tmp_file("ok.jsonl", ok, strlen(ok));
  double *v;
  size_t n;
  assert_int_equal(lethe_eval_read_nll_jsonl(path, &v, &n), LETHE_OK);
  assert_int_equal(n, 2);
  assert_true(v[0] == 1.5 && v[1] == 2.0);
  free(v);

  /* --score-only with an empty MIA file fails with that file's name. */
  lethe_eval_score_only_opts a = {0};
  char *rows_path = case_path("main", "rows.jsonl");
  char *empty = ef_tmp_file("empty_mia.jsonl", "", 0);
  a.rows_path = rows_path;
  a.member_nll_path = path;
  a.nonmember_nll_path = empty;
  lethe_eval_results r;
  assert_int_not_equal(lethe_eval_score_only(&a, NULL, &r), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), empty));
  a.nonmember_nll_path = NULL;
  assert_int_equal(lethe_eval_score_only(&a, NULL, &r), LETHE_ERR_INVALID);

  /* run_mmlu.py's metrics.json. */
  const char metrics[] = "{\"average_acc\": 0.4321, \"subcat_acc\": {}}";
  char *mpath = ef_tmp_file("metrics.json", metrics, strlen(metrics));
  double acc = 0;
  assert_int_equal(lethe_eval_read_mmlu_metrics(mpath, &acc), LETHE_OK);
  assert_true(acc == 0.4321);
  a.nonmember_nll_path = path;
  a.mmlu_metrics_path = mpath;
  assert_int_equal(lethe_eval_score_only(&a, NULL, &r), LETHE_OK);
  assert_true(r.has_mmlu && r.mmlu == 0.4321 && r.has_mia && r.final_score >= 0);
  lethe_eval_results_free(&r);
  const char nokey[] = "{\"acc\": 0.4}";
  char *npath = ef_tmp_file("metrics_nokey.json", nokey, strlen(nokey));
  assert_int_equal(lethe_eval_read_mmlu_metrics(npath, &acc), LETHE_ERR_FORMAT);
  assert_non_null(strstr(lethe_last_error(), "average_acc"));
  remove(path);
  remove(empty);
  remove(mpath);
  remove(npath);
  free(path);
  free(empty);
  free(mpath);
  free(npath);
  free(rows_path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_case_main),
      cmocka_unit_test(test_case_main_literal),
      cmocka_unit_test(test_case_partial),
      cmocka_unit_test(test_case_mia_only),
      cmocka_unit_test(test_case_mmlu_only),
      cmocka_unit_test(test_rows_roundtrip),
      cmocka_unit_test(test_harmonic_zero_and_final),
      cmocka_unit_test(test_row_kinds),
      cmocka_unit_test(test_bad_rows),
      cmocka_unit_test(test_bad_mia_and_mmlu_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
