/* tests/tokenizer/test_tok_cli.c: `lethe tokenize`: text to ids and back through the CLI (HF
 * tokenizer.json, llama2.c, the built-in tokenizer), --special in both directions, and bad input
 * (missing or malformed tokenizer, non-integer or out-of-range ids, invalid UTF-8, bad flags):
 * one clear message and a non-zero exit. */
#include <stdlib.h>
#include <string.h>

#include "tok_fixture_util.h"
#include "util/fileio.h"

static void run_ok(const char *in, const char *want, char *const *argv) {
  char *out = NULL, *err = NULL;
  int rc = tu_run_lethe_argv(in, &out, &err, argv);
  if (rc != 0 || strcmp(out, want)) {
    print_error("lethe tokenize: rc %d, stdout \"%s\" (want \"%s\"), stderr \"%s\"\n", rc, out, want, err);
    fail();
  }
  free(out);
  free(err);
}

static void run_fail(const char *in, int want_rc, const char *msg, char *const *argv) {
  char *out = NULL, *err = NULL;
  int rc = tu_run_lethe_argv(in, &out, &err, argv);
  /* one line on stderr, nothing on stdout */
  int lines = 0;
  for (const char *p = err; *p; p++) lines += *p == '\n';
  if (rc != want_rc || !strstr(err, msg) || lines != 1 || *out) {
    print_error("rc %d (want %d), stderr \"%s\" (want \"%s\"), stdout \"%s\"\n", rc, want_rc, err, msg, out);
    fail();
  }
  print_message("ok (%d): %s", rc, err);
  free(out);
  free(err);
}

static void test_mistral(void **st) {
  (void)st;
  char *p = tu_shared_path("tokenizers/mistral/tokenizer.json");
  TU_REQUIRE_SHARED(p, "tokenizers/mistral/tokenizer.json");
  run_ok("Hello world", "22557 1526\n", (char *[]){"tokenize", "--tokenizer", p, NULL});
  run_ok("Hello world", "1 22557 1526\n", (char *[]){"tokenize", "--tokenizer", p, "--special", NULL});
  run_ok("1 22557 1526", "Hello world", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  run_ok(
      " 1\n22557\t1526 \n", "<s> Hello world", (char *[]){"tokenize", "--tokenizer", p, "--decode", "--special", NULL});
  run_ok("", "\n", (char *[]){"tokenize", "--tokenizer", p, NULL});
  run_ok("", "", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  run_fail("1 2 40000", 1, "id 40000 at position 2", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  run_fail(
      "1 two 3", 1, "item 2, 'two', is not an integer", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  run_fail("1 99999999999", 1, "not an integer", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  run_fail("1 2x", 1, "'2x'", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  run_fail("ok \xFF\xFE", 1, "byte offset 3", (char *[]){"tokenize", "--tokenizer", p, NULL});
  free(p);
}

static void test_olmo_roundtrip(void **st) {
  (void)st;
  char *p = tu_shared_path("tokenizers/olmo-0724/tokenizer.json");
  TU_REQUIRE_SHARED(p, "tokenizers/olmo-0724/tokenizer.json");
  run_ok("This is a document with no newlines.", "1552 310 247 3389 342 642 747 8737 15\n",
      (char *[]){"tokenize", "--tokenizer", p, NULL});
  const char *text = "Déjà vu — 東京 🙂\n\tcode(x) <|endoftext|> end";
  char *ids = NULL;
  assert_int_equal(tu_run_lethe(text, &ids, NULL, "tokenize", "--tokenizer", p, NULL), 0);
  run_ok(ids, text, (char *[]){"tokenize", "--tokenizer", p, "--decode", "--special", NULL});
  run_ok(ids, "Déjà vu — 東京 🙂\n\tcode(x)  end", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  free(ids);
  free(p);
}

static void test_llama2c(void **st) {
  (void)st;
  char *p = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(p, "models/stories260K/tok512.bin");
  run_ok("Once upon a time", "1 403 407 261 378\n", (char *[]){"tokenize", "--tokenizer", p, "--special", NULL});
  run_ok("1 403 407 261 378", "Once upon a time", (char *[]){"tokenize", "--tokenizer", p, "--decode", NULL});
  free(p);
}

static void test_builtin(void **st) {
  (void)st;
  run_ok("Hi\n", "72 105 10\n", (char *[]){"tokenize", "--tokenizer", "builtin", NULL});
  run_ok("72 105 257 258", "Hi<|bos|><|endoftext|>",
      (char *[]){"tokenize", "--tokenizer", "builtin", "--decode", "--special", NULL});
  run_ok("72 105 257 258", "Hi", (char *[]){"tokenize", "--tokenizer", "builtin", "--decode", NULL});
  char *json = lethe_tokenizer_builtin_json();
  run_ok("", json, (char *[]){"tokenize", "--builtin-json", NULL});
  free(json);
}

static void test_bad(void **st) {
  (void)st;
  run_fail("x", 2, "missing required option --tokenizer", (char *[]){"tokenize", NULL});
  run_fail("x", 2, "unknown option --frob", (char *[]){"tokenize", "--frob", NULL});
  run_fail("x", 2, "needs a value", (char *[]){"tokenize", "--tokenizer", NULL});
  char *dir = tu_tmp_path("tokcli");
  assert_int_equal(lethe_make_dirs(dir), LETHE_OK);
  char *missing = lethe_path_join(dir, "missing.json");
  run_fail("x", 1, "missing.json", (char *[]){"tokenize", "--tokenizer", missing, NULL});
  char *bad = lethe_path_join(dir, "bad.json");
  assert_int_equal(lethe_write_file_atomic(bad, "{\"model\": [", 11), LETHE_OK);
  run_fail("x", 1, "bad.json: line 1", (char *[]){"tokenize", "--tokenizer", bad, NULL});
  assert_int_equal(lethe_write_file_atomic(bad, "{\"model\": {\"type\": \"WordPiece\"}}", 32), LETHE_OK);
  run_fail("x", 1, "WordPiece", (char *[]){"tokenize", "--tokenizer", bad, NULL});
  char *bin = lethe_path_join(dir, "bad.bin");
  assert_int_equal(lethe_write_file_atomic(bin, "\x07\0\0\0\0\0", 6), LETHE_OK);
  run_fail("x", 1, "truncated", (char *[]){"tokenize", "--tokenizer", bin, NULL});
  run_fail("1 2 300", 1, "id 300 at position 2", (char *[]){"tokenize", "--tokenizer", "builtin", "--decode", NULL});
  run_fail("-1", 1, "id -1 at position 0", (char *[]){"tokenize", "--tokenizer", "builtin", "--decode", NULL});
  lethe_remove_tree(dir);
  free(bin);
  free(bad);
  free(missing);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mistral),
      cmocka_unit_test(test_olmo_roundtrip),
      cmocka_unit_test(test_llama2c),
      cmocka_unit_test(test_builtin),
      cmocka_unit_test(test_bad),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
