/* tests/eval/test_eval_mmlu.c: MMLU data: the real hendrycks CSVs of ../shared (57 subjects,
 * 285 dev and 14042 test questions, every k = 5 prompt compared through hashes with run_mmlu.py's
 * prompts), exact prompts of a committed mini directory, bad CSVs, and the accuracy tally. */
#include <math.h>

#include "eval/eval_fixture.h"
#include "lethe/eval_score.h"
#include "lethe/eval_mmlu.h"
#include "lethe/eval_print.h"

static uint64_t prompts_hash(const lethe_mmlu_subject *s, size_t k) {
  uint64_t h = EF_FNV_INIT;
  for (size_t i = 0; i < s->n_test; i++) {
    char *p;
    assert_int_equal(lethe_mmlu_prompt(s, i, k, &p), LETHE_OK);
    if (i) h = ef_fnv64(h, "", 1);
    h = ef_fnv64(h, p, strlen(p));
    free(p);
  }
  return h;
}

static void test_real_data(void **state) {
  (void)state;
  char *dir = tu_shared_path("data/mmlu");
  TU_REQUIRE_SHARED(dir, "MMLU (data/mmlu)");
  char *text = ef_read("mmlu_real.txt", NULL), *cur = text;
  char *line = ef_line(&cur);
  size_t want_sub, want_dev, want_test;
  unsigned long long want_first;
  assert_int_equal(
      sscanf(line, "# subjects %zu dev %zu test %zu first_prompt %llx", &want_sub, &want_dev, &want_test, &want_first),
      4);
  assert_int_equal(want_sub, 57);
  assert_int_equal(want_dev, 285);
  assert_int_equal(want_test, 14042);

  typedef struct {
    char name[128];
    size_t d, t;
    unsigned long long h[2]; /* pandas, literal */
  } subject_line;
  subject_line *want = calloc(want_sub, sizeof *want);
  for (size_t i = 0; i < want_sub; i++) {
    line = ef_line(&cur);
    assert_non_null(line);
    assert_int_equal(
        sscanf(line, "%127s %zu %zu %llx %llx", want[i].name, &want[i].d, &want[i].t, &want[i].h[0], &want[i].h[1]), 5);
  }
  for (int literal = 0; literal <= 1; literal++) {
    lethe_mmlu_opts opt = {0, literal};
    lethe_mmlu_set set;
    lethe_status st = lethe_mmlu_load(dir, &opt, &set);
    if (st != LETHE_OK) print_message("%s\n", lethe_last_error());
    assert_int_equal(st, LETHE_OK);
    assert_int_equal(set.n_subjects, want_sub);
    size_t n_dev = 0, n_test = 0;
    for (size_t i = 0; i < set.n_subjects; i++) {
      const lethe_mmlu_subject *s = &set.subjects[i];
      assert_string_equal(s->name, want[i].name);
      assert_int_equal(s->n_dev, want[i].d);
      assert_int_equal(s->n_test, want[i].t);
      uint64_t h = prompts_hash(s, 5);
      if (h != (uint64_t)want[i].h[literal])
        print_message("%s: prompts differ from run_mmlu.py's (literal %d)\n", s->name, literal);
      assert_true(h == (uint64_t)want[i].h[literal]);
      n_dev += s->n_dev;
      n_test += s->n_test;
    }
    assert_int_equal(n_dev, want_dev);
    assert_int_equal(n_test, want_test);

    /* One prompt: the header with hendrycks' two spaces, 5 examples, the question. */
    char *p;
    assert_int_equal(lethe_mmlu_prompt(&set.subjects[0], 0, 5, &p), LETHE_OK);
    assert_string_equal(set.subjects[0].name, "abstract_algebra");
    const char head[] = "The following are multiple choice questions (with answers) about  abstract "
                        "algebra.\n\nFind all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\n"
                        "B. 1\nC. 2\nD. 3\nAnswer: B\n\n";
    assert_memory_equal(p, head, sizeof head - 1);
    assert_true(ef_fnv64(EF_FNV_INIT, p, strlen(p)) == (uint64_t)want_first);
    size_t pl = strlen(p);
    assert_string_equal(p + pl - 8, "\nAnswer:");
    free(p);

    /* --limit. */
    lethe_mmlu_free(&set);
    if (literal) {
      lethe_mmlu_opts lim = {3, 0};
      assert_int_equal(lethe_mmlu_load(dir, &lim, &set), LETHE_OK);
      for (size_t i = 0; i < set.n_subjects; i++) assert_int_equal(set.subjects[i].n_test, 3);
      lethe_mmlu_free(&set);
    }
  }
  free(want);
  free(text);
  free(dir);
}

static void test_mini_prompts(void **state) {
  (void)state;
  char *dir = tu_src_path("tests/fixtures/eval/mmlu_mini");
  lethe_mmlu_set sets[2];
  for (int literal = 0; literal <= 1; literal++) {
    lethe_mmlu_opts opt = {0, literal};
    assert_int_equal(lethe_mmlu_load(dir, &opt, &sets[literal]), LETHE_OK);
    assert_int_equal(sets[literal].n_subjects, 2);
    assert_string_equal(sets[literal].subjects[0].name, "another_one");
    assert_int_equal(sets[literal].subjects[1].n_dev, 6);
    assert_int_equal(sets[literal].subjects[1].n_test, 3);
  }
  char *text = ef_read("mmlu_mini_prompts.jsonl", NULL), *cur = text, *line;
  size_t n = 0;
  while ((line = ef_line(&cur)) != NULL) {
    json_t *j = ef_json(line);
    const char *sub = ef_str(j, "subject", NULL);
    int literal = (int)ef_num(j, "literal");
    const lethe_mmlu_set *set = &sets[literal];
    const lethe_mmlu_subject *s = strcmp(set->subjects[0].name, sub) == 0 ? &set->subjects[0] : &set->subjects[1];
    assert_string_equal(s->name, sub);
    char *p;
    assert_int_equal(lethe_mmlu_prompt(s, (size_t)ef_num(j, "index"), (size_t)ef_num(j, "k"), &p), LETHE_OK);
    const char *want = ef_str(j, "prompt", NULL);
    if (strcmp(p, want) != 0) print_message("got:\n%s\nwant:\n%s\n", p, want);
    assert_string_equal(p, want);
    free(p);
    json_decref(j);
    n++;
  }
  assert_int_equal(n, 30);
  /* Line numbers point at where a record starts (records 2 and 4 span two lines). */
  assert_int_equal(sets[1].subjects[1].dev[2].line, 4);
  assert_int_equal(sets[1].subjects[1].dev[4].line, 7);
  char *p;
  assert_int_equal(lethe_mmlu_prompt(&sets[0].subjects[0], 2, 5, &p), LETHE_ERR_INVALID);
  free(text);
  lethe_mmlu_free(&sets[0]);
  lethe_mmlu_free(&sets[1]);
  free(dir);
}

static void expect_csv_error(const char *name, const char *content, const char *needle) {
  char *path = ef_tmp_file(name, content, strlen(content));
  lethe_mmlu_item *items = NULL;
  size_t n = 0;
  assert_int_equal(lethe_mmlu_read_csv(path, NULL, &items, &n), LETHE_ERR_FORMAT);
  if (!strstr(lethe_last_error(), needle)) print_message("error: %s\n", lethe_last_error());
  assert_non_null(strstr(lethe_last_error(), needle));
  assert_non_null(strstr(lethe_last_error(), path));
  assert_null(items);
  remove(path);
  free(path);
}

static void test_bad_csv(void **state) {
  (void)state;
  expect_csv_error("bad_letter.csv", "q,a,b,c,d,A\nq2,a,b,c,d,E\n", ":2: answer \"E\" is not one of A, B, C, D");
  expect_csv_error("lower_letter.csv", "q,a,b,c,d,a\n", ":1: answer \"a\"");
  expect_csv_error("fields.csv", "q,a,b,c,d,A\n\"q, with comma\",a,b,c,A\n", ":2: 5 fields, expected 6");
  expect_csv_error("many.csv", "q,a,b,c,d,A,extra\n", ":1: 7 fields");
  expect_csv_error("unterminated.csv", "q,a,b,c,d,A\n\"open quote,a,b,c,d,A\nmore\n", ":2: unterminated quoted field");
  expect_csv_error("after_quote.csv", "\"q\"x,a,b,c,d,A\n", ":1: unexpected character 'x'");
  expect_csv_error("empty.csv", "", "no questions");

  /* CRLF, a blank line, a quote inside an unquoted field, no final newline: all fine. */
  const char ok[] = "q 5\" long,a,b,c,d,D\r\n\r\n\"multi\nline\",\"x\"\"y\",b,c,d,B";
  char *path = ef_tmp_file("ok.csv", ok, strlen(ok));
  lethe_mmlu_item *items;
  size_t n;
  assert_int_equal(lethe_mmlu_read_csv(path, NULL, &items, &n), LETHE_OK);
  assert_int_equal(n, 2);
  assert_string_equal(items[0].question, "q 5\" long");
  assert_int_equal(items[0].answer, 3);
  assert_string_equal(items[1].question, "multi\nline");
  assert_string_equal(items[1].choices[0], "x\"y");
  assert_int_equal(items[1].line, 3);
  lethe_mmlu_items_free(items, n);
  remove(path);
  free(path);

  lethe_mmlu_set set;
  char *missing = tu_tmp_path("no_such_mmlu_dir");
  assert_int_equal(lethe_mmlu_load(missing, NULL, &set), LETHE_ERR_IO);
  assert_non_null(strstr(lethe_last_error(), "no_such_mmlu_dir"));
  free(missing);
}

static void test_tally(void **state) {
  (void)state;
  lethe_mmlu_tally t;
  assert_int_equal(lethe_mmlu_tally_init(&t, 3), LETHE_OK);
  assert_true(isnan(lethe_mmlu_micro_average(&t)));
  for (int i = 0; i < 10; i++) lethe_mmlu_tally_add(&t, 0, i < 7);
  for (int i = 0; i < 4; i++) lethe_mmlu_tally_add(&t, 2, i < 1);
  lethe_mmlu_tally_add(&t, 9, 1); /* out of range: ignored */
  assert_true(lethe_mmlu_micro_average(&t) == 8.0 / 14.0);

  lethe_mmlu_subject subs[3] = {{.name = "alpha"}, {.name = "beta"}, {.name = "gamma"}};
  lethe_mmlu_set set = {subs, 3};
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  lethe_mmlu_print_table(fp, &set, &t);
  fclose(fp);
  assert_non_null(strstr(buf, "alpha"));
  assert_null(strstr(buf, "beta")); /* no answers */
  assert_non_null(strstr(buf, "0.5714"));
  free(buf);

  char *path = tu_tmp_path("mmlu_metrics.json");
  assert_int_equal(lethe_mmlu_write_metrics(&set, &t, path), LETHE_OK);
  double acc;
  assert_int_equal(lethe_eval_read_mmlu_metrics(path, &acc), LETHE_OK);
  assert_true(acc == 8.0 / 14.0);
  json_t *j = json_load_file(path, 0, NULL);
  assert_non_null(j);
  assert_true(json_real_value(json_object_get(json_object_get(j, "subject_acc"), "gamma")) == 0.25);
  json_decref(j);
  remove(path);
  free(path);
  lethe_mmlu_tally_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_real_data),
      cmocka_unit_test(test_mini_prompts),
      cmocka_unit_test(test_bad_csv),
      cmocka_unit_test(test_tally),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
