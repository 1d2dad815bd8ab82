/* tests/io/test_gguf_tokenizer.c: the tokenizer.json lethe derives from tokenizer metadata, loaded
 * by lethe's own tokenizer, against the reference encoders:
 *  - llama_mixed.gguf (gpt2 byte-level BPE with merges) and olmo_mixed.gguf (llama SentencePiece
 *    BPE with scores only, byte fallback, BOS): llama.cpp's ids (tests/fixtures/gguf/tokenize_cases.json)
 *  - stories260K's tok512.bin (llama2.c): a faithful port of llama2.c's encode()
 *    (tests/fixtures/gguf/llama2c_tok512_encode.json); the four strings where the two cannot agree
 *    by design are listed in KNOWN_DIFF (literal "<s>", "</s>", "<unk>" are special tokens in
 *    tokenizer.json; a literal "▁" is a space there). Skipped when ../shared is absent. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "lethe/tokenizer.h"
#include "testutil.h"

static lethe_tokenizer *tok_from_json(char *json, const char *name) {
  lethe_tokenizer *t = NULL;
  lethe_status s = lethe_tokenizer_load_json(json, strlen(json), name, &t);
  if (s) print_error("%s: %s\n", name, lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  free(json);
  return t;
}

/* Encodes every case; returns the number that differ (printing them), skipping known ones. */
static int run_cases(const lethe_tokenizer *t, const json_t *cases, const char *const *known, int *n_known) {
  int bad = 0;
  *n_known = 0;
  size_t i;
  json_t *c;
  json_array_foreach(cases, i, c) {
    const char *text = json_string_value(json_object_get(c, "text"));
    size_t len = json_string_length(json_object_get(c, "text"));
    json_t *want = json_object_get(c, "ids");
    int *ids = NULL, n = 0;
    lethe_status s = lethe_tokenizer_encode(t, text, len, 1, &ids, &n);
    int same = s == LETHE_OK && (size_t)n == json_array_size(want);
    for (int k = 0; same && k < n; k++) same = ids[k] == json_integer_value(json_array_get(want, (size_t)k));
    int is_known = 0;
    for (const char *const *q = known; q && *q && !is_known; q++) is_known = !strcmp(*q, text);
    if (is_known) {
      (*n_known)++;
    } else if (!same) {
      bad++;
      print_error("differs: \"%s\" (%s): lethe", text, s ? lethe_last_error() : "ok");
      for (int k = 0; k < n; k++) print_error(" %d", ids[k]);
      print_error("\n");
    }
    free(ids);
  }
  return bad;
}

static void check_gguf(const char *name) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/fixtures/gguf/%s.gguf", name);
  char *p = tu_src_path(rel);
  char *json = NULL;
  lethe_status s = lethe_gguf_tokenizer_json(p, &json);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  lethe_tokenizer *t = tok_from_json(json, p);
  json_t *all = tu_load_json("tests/fixtures/gguf/tokenize_cases.json");
  json_t *cases = json_object_get(all, name);
  assert_non_null(cases);
  int nk, bad = run_cases(t, cases, NULL, &nk);
  print_message("%s: %zu of %zu strings encode as llama.cpp does\n", name, json_array_size(cases) - (size_t)bad,
      json_array_size(cases));
  assert_int_equal(bad, 0);
  json_decref(all);
  lethe_tokenizer_free(t);
  free(p);
}

static void test_gguf_gpt2(void **state) {
  (void)state;
  check_gguf("llama_mixed");
}

static void test_gguf_spm(void **state) {
  (void)state;
  check_gguf("olmo_mixed");
}

static void test_llama2c_tok512(void **state) {
  (void)state;
  char *tok = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(tok, "models/stories260K/tok512.bin");
  char *json = NULL;
  lethe_status s = lethe_llama2c_tokenizer_json(tok, &json);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  lethe_tokenizer *t = tok_from_json(json, tok);
  assert_int_equal(lethe_tokenizer_vocab_size(t), 512);
  assert_int_equal(lethe_tokenizer_bos_id(t), 1);
  assert_int_equal(lethe_tokenizer_eos_id(t), 2);
  json_t *all = tu_load_json("tests/fixtures/gguf/llama2c_tok512_encode.json");
  json_t *cases = json_object_get(all, "cases");
  static const char *const KNOWN_DIFF[] = {"\xe2\x96\x81"
                                           "already"
                                           "\xe2\x96\x81"
                                           "a"
                                           "\xe2\x96\x81"
                                           "metaspace",
      "<s>", "</s>", "<unk>", NULL};
  int nk, bad = run_cases(t, cases, KNOWN_DIFF, &nk);
  print_message("tok512: %zu of %zu strings encode as llama2.c's encode() does (%d known differences skipped)\n",
      json_array_size(cases) - (size_t)bad - (size_t)nk, json_array_size(cases) - (size_t)nk, nk);
  assert_int_equal(bad, 0);
  /* decoding drops BOS and restores spaces */
  int *ids = NULL, n = 0;
  assert_int_equal(lethe_tokenizer_encode(t, "Once upon a time", 16, 1, &ids, &n), LETHE_OK);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(lethe_tokenizer_decode(t, ids, n, 1, &text, &len), LETHE_OK);
  assert_string_equal(text, "Once upon a time");
  free(text);
  free(ids);
  json_decref(all);
  lethe_tokenizer_free(t);
  free(tok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gguf_gpt2),
      cmocka_unit_test(test_gguf_spm),
      cmocka_unit_test(test_llama2c_tok512),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
