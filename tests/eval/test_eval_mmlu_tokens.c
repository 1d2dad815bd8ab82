/* tests/eval/test_eval_mmlu_tokens.c: lethe's MMLU prompts are open-instruct run_eval.py's token for
 * token (tests/fixtures/eval/mmlu_tokens.jsonl, mmlu_real_tokens.txt from
 * tools/reference/make_mmlu_token_fixtures.py, OLMo tokenizer): the same k after the 2048-token
 * loop (and smaller limits), the same ids with special tokens, the same " A".." D" candidate ids;
 * on the real MMLU of ../shared the first three questions of every subject (k < 5 for the long
 * history prompts) by length and hash. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/mmlu_prompt.h"
#include "testutil.h"

static lethe_tokenizer *olmo(void) {
  char *p = tu_shared_path("tokenizers/olmo-0724/tokenizer.json");
  if (!p) return NULL;
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_load(p, &t), LETHE_OK);
  free(p);
  return t;
}

static const lethe_mmlu_subject *find(const lethe_mmlu_set *set, const char *name) {
  for (size_t i = 0; i < set->n_subjects; i++)
    if (strcmp(set->subjects[i].name, name) == 0) return &set->subjects[i];
  fail_msg("no subject %s", name);
  return NULL;
}

static void test_mini_token_for_token(void **state) {
  (void)state;
  lethe_tokenizer *tok = olmo();
  TU_REQUIRE_SHARED(tok, "tokenizers/olmo-0724");
  char *dir = tu_src_path("tests/fixtures/eval/mmlu_mini"), *fx = tu_src_path("tests/fixtures/eval/mmlu_tokens.jsonl");
  lethe_mmlu_opts mo = {0};
  lethe_mmlu_set set;
  assert_int_equal(lethe_mmlu_load(dir, &mo, &set), LETHE_OK);
  FILE *f = fopen(fx, "rb");
  assert_non_null(f);
  char line[65536];
  int cases = 0;
  while (fgets(line, sizeof line, f)) {
    json_t *j = json_loads(line, 0, NULL);
    assert_non_null(j);
    const json_t *ch = json_object_get(j, "choice_ids");
    if (ch) {
      const char *letters[4] = {" A", " B", " C", " D"};
      for (int c = 0; c < 4; c++) {
        int *ids = NULL, n = 0;
        assert_int_equal(lethe_tokenizer_encode(tok, letters[c], 2, 0, &ids, &n), LETHE_OK);
        assert_int_equal(ids[n - 1], (int)json_integer_value(json_array_get(ch, (size_t)c)));
        free(ids);
      }
      json_decref(j);
      continue;
    }
    const lethe_mmlu_subject *sub = find(&set, json_string_value(json_object_get(j, "subject")));
    int *ids = NULL, n = 0, k = -1;
    int limit = (int)json_integer_value(json_object_get(j, "limit"));
    assert_int_equal(
        lethe_mmlu_encode(tok, sub, (size_t)json_integer_value(json_object_get(j, "index")), 5, limit, &ids, &n, &k),
        LETHE_OK);
    const json_t *want = json_object_get(j, "ids");
    assert_int_equal(k, (int)json_integer_value(json_object_get(j, "k")));
    assert_int_equal(n, (int)json_array_size(want));
    for (int i = 0; i < n; i++) assert_int_equal(ids[i], (int)json_integer_value(json_array_get(want, (size_t)i)));
    free(ids);
    json_decref(j);
    cases++;
  }
  fclose(f);
  assert_true(cases >= 15);
  lethe_mmlu_free(&set);
  lethe_tokenizer_free(tok);
  free(dir);
  free(fx);
}

static void test_real_mmlu_by_hash(void **state) {
  (void)state;
  lethe_tokenizer *tok = olmo();
  TU_REQUIRE_SHARED(tok, "tokenizers/olmo-0724");
  char *dir = tu_shared_path("data/mmlu");
  TU_REQUIRE_SHARED(dir, "data/mmlu");
  char *fx = tu_src_path("tests/fixtures/eval/mmlu_real_tokens.txt");
  lethe_mmlu_opts mo = {.limit = 3};
  lethe_mmlu_set set;
  assert_int_equal(lethe_mmlu_load(dir, &mo, &set), LETHE_OK);
  FILE *f = fopen(fx, "rb");
  assert_non_null(f);
  char line[512], name[256];
  int cases = 0, fewer = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    int index, k, n;
    unsigned long long h;
    assert_int_equal(sscanf(line, "%255s %d %d %d %llx", name, &index, &k, &n, &h), 5);
    int *ids = NULL, got_n = 0, got_k = -1;
    assert_int_equal(
        lethe_mmlu_encode(tok, find(&set, name), (size_t)index, 5, LETHE_MMLU_TOKEN_LIMIT, &ids, &got_n, &got_k),
        LETHE_OK);
    unsigned long long g = 0xcbf29ce484222325ull;
    for (int i = 0; i < got_n; i++)
      for (int b = 0; b < 4; b++) g = (g ^ (((unsigned)ids[i] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
    if (got_k != k || got_n != n || g != h)
      fail_msg(
          "%s %d: k %d n %d, want k %d n %d (hash %s)", name, index, got_k, got_n, k, n, g == h ? "same" : "differs");
    fewer += k < 5;
    free(ids);
    cases++;
  }
  fclose(f);
  print_message("%d real prompts equal, %d of them with k < 5\n", cases, fewer);
  assert_true(cases == 171 && fewer > 0);
  lethe_mmlu_free(&set);
  lethe_tokenizer_free(tok);
  free(dir);
  free(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mini_token_for_token), cmocka_unit_test(test_real_mmlu_by_hash)};
  return tu_run_group_tests(tests, NULL, NULL);
}
