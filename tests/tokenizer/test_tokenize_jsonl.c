/* tests/tokenizer/test_tokenize_jsonl.c: `lethe tokenize --jsonl` (many texts in one process) gives
 * for each line the ids `lethe tokenize` gives that text alone, keeps the other fields, decodes
 * back; `--tokenizer` takes a GGUF model (tests/fixtures/gguf/llama_mixed.gguf carries one); bad
 * lines are one error naming stdin's line, with nothing written to stdout. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char *TEXTS[] = {
    "Hello world", "  two  spaces\tand a tab", "caf\xc3\xa9 \xe2\x82\xac 1234", "", "line\nbreak"};

static void roundtrip(const char *tok) {
  size_t nt = sizeof TEXTS / sizeof *TEXTS;
  char in[2048] = "";
  for (size_t i = 0; i < nt; i++) {
    json_t *j = json_pack("{s:i, s:s}", "n", (int)i, "text", TEXTS[i]);
    char *s = json_dumps(j, JSON_COMPACT);
    strcat(in, s);
    strcat(in, "\n");
    free(s);
    json_decref(j);
  }
  char *out, *err;
  int rc = tu_run_lethe(in, &out, &err, "tokenize", "--tokenizer", tok, "--jsonl", NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  free(err);
  /* each line: the ids of the text alone */
  char *p = out;
  char dec_in[8192] = "";
  for (size_t i = 0; i < nt; i++) {
    char *nl = strchr(p, '\n');
    assert_non_null(nl);
    json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "n")), (json_int_t)i);
    char *one, *e1;
    assert_int_equal(tu_run_lethe(TEXTS[i], &one, &e1, "tokenize", "--tokenizer", tok, NULL), 0);
    const json_t *ids = json_object_get(j, "ids");
    char want[4096] = "";
    for (size_t k = 0; k < json_array_size(ids); k++)
      sprintf(want + strlen(want), k ? " %lld" : "%lld", (long long)json_integer_value(json_array_get(ids, k)));
    strcat(want, "\n");
    assert_string_equal(one, want);
    free(one);
    free(e1);
    json_t *d = json_pack("{s:O}", "ids", ids);
    char *s = json_dumps(d, JSON_COMPACT);
    strcat(dec_in, s);
    strcat(dec_in, "\n");
    free(s);
    json_decref(d);
    json_decref(j);
    p = nl + 1;
  }
  assert_int_equal(*p, 0);
  print_message("%s: %zu texts in one process, each as alone\n", tok, nt);
  /* and back */
  char *back;
  assert_int_equal(tu_run_lethe(dec_in, &back, NULL, "tokenize", "--tokenizer", tok, "--jsonl", "--decode", NULL), 0);
  p = back;
  for (size_t i = 0; i < nt; i++) {
    char *nl = strchr(p, '\n');
    json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
    assert_non_null(j);
    if (strcmp(json_string_value(json_object_get(j, "text")), TEXTS[i]) != 0)
      print_message("decode of %zu: '%s' (a lossy tokenizer?)\n", i, json_string_value(json_object_get(j, "text")));
    if (!strcmp(tok, "builtin")) assert_string_equal(json_string_value(json_object_get(j, "text")), TEXTS[i]);
    json_decref(j);
    p = nl + 1;
  }
  free(back);
  free(out);
}

static void test_builtin(void **s) {
  (void)s;
  roundtrip("builtin");
}

static void test_gguf_tokenizer(void **s) {
  (void)s;
  char *g = tu_src_path("tests/fixtures/gguf/llama_mixed.gguf");
  roundtrip(g);
  free(g);
}

static void test_bad_lines(void **state) {
  (void)state;
  const char *bad[] = {"{\"text\": \"a\"}\n{\"text\": 5}\n", "{\"text\": \"a\"}\nnot json\n", "[1]\n",
      "{\"text\": \"a\xff\"}\n", "{\"text\": \"a\", \"text\": \"b\"}\n"};
  int line[] = {2, 2, 1, 1, 1};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *out, *err;
    int rc = tu_run_lethe(bad[i], &out, &err, "tokenize", "--tokenizer", "builtin", "--jsonl", NULL);
    print_message("%s", err);
    assert_int_equal(rc, 1);
    char needle[32];
    snprintf(needle, sizeof needle, "stdin:%d:", line[i]);
    assert_non_null(strstr(err, needle));
    assert_int_equal(out[0], 0);
    free(out);
    free(err);
  }
  const char *bad_dec[] = {"{\"ids\": [1, \"x\"]}\n", "{\"ids\": -1}\n", "{\"ids\": [99999999999]}\n"};
  for (size_t i = 0; i < sizeof bad_dec / sizeof *bad_dec; i++) {
    char *out, *err;
    int rc = tu_run_lethe(bad_dec[i], &out, &err, "tokenize", "--tokenizer", "builtin", "--jsonl", "--decode", NULL);
    print_message("%s", err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "stdin:1:"));
    assert_int_equal(out[0], 0);
    free(out);
    free(err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtin),
      cmocka_unit_test(test_gguf_tokenizer),
      cmocka_unit_test(test_bad_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
