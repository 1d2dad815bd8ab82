/* tests/tokenizer/test_tok_errors.c: bad tokenizer files get one clear error (the status, the
 * file, the place, the problem) and never a crash: truncated or non-JSON documents, wrong types,
 * unknown or unsupported components, merges naming unknown tokens, bad regexes, malformed
 * llama2.c files (refused alike by the tokenizer.json importer, which shares the reader), missing
 * files. */
#include <stdlib.h>
#include <string.h>

#include "tok_fixture_util.h"
#include "util/fileio.h"

/* A small valid tokenizer.json with one part replaced: `field` (a top-level key, or "model.X")
 * set to the JSON text `value` (NULL: removed). */
static char *variant(const char *field, const char *value) {
  char *base = lethe_tokenizer_builtin_json();
  json_t *root = json_loads(base, 0, NULL);
  free(base);
  json_t *obj = root;
  const char *key = field;
  if (!strncmp(field, "model.", 6)) {
    obj = json_object_get(root, "model");
    key = field + 6;
  }
  if (value) {
    json_error_t err;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &err);
    if (!v) {
      print_error("bad test value %s: %s\n", value, err.text);
      fail();
    }
    json_object_set_new(obj, key, v);
  } else {
    json_object_del(obj, key);
  }
  char *s = json_dumps(root, 0);
  json_decref(root);
  return s;
}

static void expect_json_error(const char *json, lethe_status want, const char *msg1, const char *msg2) {
  lethe_tokenizer *t = (lethe_tokenizer *)1;
  lethe_status st = lethe_tokenizer_load_json(json, strlen(json), "bad.json", &t);
  const char *m = lethe_last_error();
  if (st != want || t != NULL || !strstr(m, "bad.json") || (msg1 && !strstr(m, msg1)) || (msg2 && !strstr(m, msg2))) {
    print_error("status %d (want %d), message \"%s\" (want \"%s\", \"%s\")\n", (int)st, (int)want, m, msg1 ? msg1 : "",
        msg2 ? msg2 : "");
    fail();
  }
  print_message("ok: %s\n", m);
}

static void expect_variant(
    const char *field, const char *value, lethe_status want, const char *msg1, const char *msg2) {
  char *j = variant(field, value);
  expect_json_error(j, want, msg1, msg2);
  free(j);
}

static void test_not_json(void **st) {
  (void)st;
  char *j = lethe_tokenizer_builtin_json();
  j[strlen(j) / 2] = 0; /* truncated */
  expect_json_error(j, LETHE_ERR_FORMAT, "line", "column");
  free(j);
  expect_json_error("", LETHE_ERR_FORMAT, "line", NULL);
  expect_json_error("hello", LETHE_ERR_FORMAT, "line", NULL);
  expect_json_error("[1, 2]", LETHE_ERR_FORMAT, "not a tokenizer object", NULL);
  expect_json_error("{\"model\": 3}", LETHE_ERR_FORMAT, "model", "expected an object");
  expect_json_error("{}", LETHE_ERR_FORMAT, "model", "expected an object");
}

static void test_model(void **st) {
  (void)st;
  expect_variant("model.type", "\"WordPiece\"", LETHE_ERR_UNSUPPORTED, "WordPiece", "only BPE");
  expect_variant("model.type", "\"Unigram\"", LETHE_ERR_UNSUPPORTED, "Unigram", NULL);
  expect_variant("model.type", "7", LETHE_ERR_FORMAT, "model.type", "expected a string");
  expect_variant("model.vocab", "[\"a\"]", LETHE_ERR_FORMAT, "model.vocab", "expected an object");
  expect_variant("model.vocab", "{\"a\": -1}", LETHE_ERR_FORMAT, "model.vocab[\"a\"]", NULL);
  expect_variant("model.vocab", "{\"a\": 1.5}", LETHE_ERR_FORMAT, "model.vocab[\"a\"]", NULL);
  expect_variant("model.merges", "{}", LETHE_ERR_FORMAT, "model.merges", "expected an array");
  expect_variant("model.merges", "[3]", LETHE_ERR_FORMAT, "model.merges[0]", NULL);
  expect_variant("model.merges", "[[\"a\"]]", LETHE_ERR_FORMAT, "model.merges[0]", NULL);
  expect_variant("model.merges", "[\"a b\"]", LETHE_ERR_FORMAT, "model.merges[0]", "not in the vocabulary");
  expect_variant("model.merges", "[\"ab\"]", LETHE_ERR_FORMAT, "model.merges[0]", "one space");
  expect_variant("model.merges", "[[\"a\", \"b\"]]", LETHE_ERR_FORMAT, "model.merges[0]", "merged token \"ab\"");
  expect_variant(
      "model.merges", "[[\"a\", \"zz\"]]", LETHE_ERR_FORMAT, "model.merges[0]", "\"zz\" is not in the vocabulary");
  expect_variant("model.dropout", "0.1", LETHE_ERR_UNSUPPORTED, "dropout", NULL);
  expect_variant("model.dropout", "\"x\"", LETHE_ERR_FORMAT, "dropout", NULL);
  expect_variant("model.byte_fallback", "\"yes\"", LETHE_ERR_FORMAT, "model.byte_fallback", "true or false");
  expect_variant("model.unk_token", "5", LETHE_ERR_FORMAT, "model.unk_token", "expected a string");
  expect_variant("version", "\"2.0\"", LETHE_ERR_UNSUPPORTED, "version", NULL);
}

static void test_components(void **st) {
  (void)st;
  expect_variant("normalizer", "{\"type\": \"BertNormalizer\"}", LETHE_ERR_UNSUPPORTED, "normalizer", "BertNormalizer");
  expect_variant("normalizer", "\"NFC\"", LETHE_ERR_FORMAT, "normalizer", "expected an object");
  expect_variant("normalizer", "{\"kind\": \"NFC\"}", LETHE_ERR_FORMAT, "normalizer", "type");
  expect_variant("normalizer",
      "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, "
      "{\"type\": \"Precompiled\"}]}",
      LETHE_ERR_UNSUPPORTED, "normalizer.normalizers[1]", "Precompiled");
  expect_variant("normalizer",
      "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(\"}, "
      "\"content\": \"x\"}",
      LETHE_ERR_FORMAT, "bad regex", NULL);
  expect_variant("normalizer", "{\"type\": \"Replace\", \"pattern\": \"a\", \"content\": \"x\"}", LETHE_ERR_FORMAT,
      "normalizer.pattern", NULL);
  expect_variant("pre_tokenizer", "{\"type\": \"BertPreTokenizer\"}", LETHE_ERR_UNSUPPORTED, "pre-tokenizer type",
      "BertPreTokenizer");
  expect_variant("pre_tokenizer", "{\"type\": \"Split\", \"behavior\": \"Isolated\"}", LETHE_ERR_FORMAT,
      "pre_tokenizer", "pattern");
  expect_variant("pre_tokenizer",
      "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"[a[b]]\"}, "
      "\"behavior\": \"Isolated\"}",
      LETHE_ERR_UNSUPPORTED, "nested", NULL);
  expect_variant("pre_tokenizer",
      "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, "
      "\"behavior\": 3}",
      LETHE_ERR_FORMAT, "behavior", NULL);
  expect_variant("pre_tokenizer", "{\"type\": \"Metaspace\", \"replacement\": \"ab\"}", LETHE_ERR_FORMAT, "replacement",
      "one character");
  expect_variant("pre_tokenizer", "{\"type\": \"Metaspace\", \"prepend_scheme\": \"sometimes\"}", LETHE_ERR_FORMAT,
      "prepend_scheme", NULL);
  expect_variant("pre_tokenizer", "{\"type\": \"Sequence\", \"pretokenizers\": {}}", LETHE_ERR_FORMAT, "pretokenizers",
      "expected an array");
  expect_variant("decoder", "{\"type\": \"WordPiece\"}", LETHE_ERR_UNSUPPORTED, "decoder type", "WordPiece");
  expect_variant(
      "decoder", "{\"type\": \"Strip\", \"content\": \" \", \"start\": -1}", LETHE_ERR_FORMAT, "decoder.start", NULL);
  expect_variant("post_processor", "{\"type\": \"Weird\"}", LETHE_ERR_UNSUPPORTED, "post-processor type", "Weird");
  expect_variant("post_processor",
      "{\"type\": \"TemplateProcessing\", \"single\": "
      "[{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}], \"special_tokens\": {}}",
      LETHE_ERR_FORMAT, "<s>", "special_tokens");
  expect_variant("post_processor",
      "{\"type\": \"TemplateProcessing\", \"single\": "
      "[{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}], \"special_tokens\": "
      "{\"<s>\": {\"id\": \"<s>\", \"ids\": [999], \"tokens\": [\"<s>\"]}}}",
      LETHE_ERR_FORMAT, "999", "outside the vocabulary");
  expect_variant(
      "post_processor", "{\"type\": \"BertProcessing\", \"sep\": \"x\"}", LETHE_ERR_FORMAT, "post_processor.cls", NULL);
  expect_variant("added_tokens", "{}", LETHE_ERR_FORMAT, "added_tokens", "expected an array");
  expect_variant("added_tokens", "[{\"id\": 300}]", LETHE_ERR_FORMAT, "added_tokens[0]", "content");
  expect_variant("added_tokens", "[{\"id\": 300, \"content\": \"x\", \"special\": \"yes\"}]", LETHE_ERR_FORMAT,
      "added_tokens[0].special", NULL);
  expect_variant("added_tokens", "[3]", LETHE_ERR_FORMAT, "added_tokens[0]", "expected an object");
  /* deeply nested sequences */
  char deep[8192] = "";
  for (int i = 0; i < 40; i++) strcat(deep, "{\"type\": \"Sequence\", \"normalizers\": [");
  strcat(deep, "{\"type\": \"NFC\"}");
  for (int i = 0; i < 40; i++) strcat(deep, "]}");
  expect_variant("normalizer", deep, LETHE_ERR_FORMAT, "nested too deeply", NULL);
}

static void test_unk_missing(void **st) {
  (void)st;
  /* an unk_token that is not in the vocabulary: loading works, encoding an unknown character
   * fails (as in tokenizers) */
  const char *j = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [], "
                  "\"unk_token\": \"<unk>\"}}";
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_load_json(j, strlen(j), "unk.json", &t), LETHE_OK);
  int *ids = NULL, n = 0;
  assert_int_equal(lethe_tokenizer_encode(t, "a", 1, 0, &ids, &n), LETHE_OK);
  assert_int_equal(n, 1);
  free(ids);
  assert_int_not_equal(lethe_tokenizer_encode(t, "b", 1, 0, &ids, &n), LETHE_OK);
  assert_non_null(strstr(lethe_last_error(), "<unk>"));
  lethe_tokenizer_free(t);
}

static void write_bytes(const char *path, const void *p, size_t n) {
  assert_int_equal(lethe_write_file_atomic(path, p, n), LETHE_OK);
}

static void expect_file_error(const char *path, lethe_status want, const char *msg) {
  lethe_tokenizer *t = (lethe_tokenizer *)1;
  lethe_status st = lethe_tokenizer_load(path, &t);
  const char *m = lethe_last_error();
  if (st != want || t || !strstr(m, path) || (msg && !strstr(m, msg))) {
    print_error("%s: status %d (want %d), message \"%s\" (want \"%s\")\n", path, (int)st, (int)want, m, msg ? msg : "");
    fail();
  }
  print_message("ok: %s\n", m);
  size_t pl = strlen(path);
  if (pl < 4 || strcmp(path + pl - 4, ".bin")) return;
  /* a llama2.c file has one reader: the tokenizer.json importer refuses it the same way */
  char *want_msg = strdup(m), *json = (char *)1;
  assert_non_null(want_msg);
  st = lethe_llama2c_tokenizer_json(path, &json);
  if (st != want || json || strcmp(lethe_last_error(), want_msg)) {
    print_error("%s: importer: status %d (want %d), message \"%s\" (want \"%s\")\n", path, (int)st, (int)want,
        lethe_last_error(), want_msg);
    fail();
  }
  free(want_msg);
}

static void put_i32(unsigned char *p, int32_t v) { memcpy(p, &v, 4); }

static void test_files(void **st) {
  (void)st;
  char *dir = tu_tmp_path("tokerr");
  assert_int_equal(lethe_make_dirs(dir), LETHE_OK);
  char *missing = lethe_path_join(dir, "nope.json");
  expect_file_error(missing, LETHE_ERR_IO, NULL);
  char *badjson = lethe_path_join(dir, "tokenizer.json");
  write_bytes(badjson, "{\"model\": {\"type\": ", 19);
  expect_file_error(badjson, LETHE_ERR_FORMAT, "line 1");
  lethe_tokenizer *t = (lethe_tokenizer *)1;
  assert_int_equal(lethe_tokenizer_load(dir, &t), LETHE_ERR_FORMAT); /* DIR/tokenizer.json */
  assert_null(t);
  /* llama2.c files */
  char *bin = lethe_path_join(dir, "t.bin");
  unsigned char buf[64];
  write_bytes(bin, "ab", 2);
  expect_file_error(bin, LETHE_ERR_FORMAT, "too short");
  put_i32(buf, 0);
  write_bytes(bin, buf, 4);
  expect_file_error(bin, LETHE_ERR_FORMAT, "max_token_length");
  /* max 4, three tokens "a", "b", then a truncated entry */
  size_t n = 0;
  put_i32(buf + n, 4);
  n += 4;
  for (int k = 0; k < 3; k++) {
    float sc = 0;
    memcpy(buf + n, &sc, 4);
    put_i32(buf + n + 4, 1);
    buf[n + 8] = (unsigned char)('a' + k);
    n += 9;
  }
  write_bytes(bin, buf, n);
  t = tf_load(bin);
  assert_int_equal(lethe_tokenizer_vocab_size(t), 3);
  /* byte fallback needs ids up to 258: a clear error, not an id out of range */
  int *ids = NULL, k = 0;
  assert_int_equal(lethe_tokenizer_encode(t, "z", 1, 0, &ids, &k), LETHE_ERR_INVALID);
  assert_non_null(strstr(lethe_last_error(), "byte fallback"));
  lethe_tokenizer_free(t);
  write_bytes(bin, buf, n - 3);
  expect_file_error(bin, LETHE_ERR_FORMAT, "truncated");
  write_bytes(bin, buf, 4 + 9 + 5);
  expect_file_error(bin, LETHE_ERR_FORMAT, "truncated");
  write_bytes(bin, buf, 4 + 9 + 9);
  expect_file_error(bin, LETHE_ERR_FORMAT, "2 tokens");
  put_i32(buf + 4 + 4, -5);
  write_bytes(bin, buf, n);
  expect_file_error(bin, LETHE_ERR_FORMAT, "length -5");
  put_i32(buf + 4 + 4, 9);
  write_bytes(bin, buf, n);
  expect_file_error(bin, LETHE_ERR_FORMAT, "max_token_length");
  lethe_remove_tree(dir);
  free(bin);
  free(badjson);
  free(missing);
  free(dir);
}

static void test_null_args(void **st) {
  (void)st;
  assert_int_equal(lethe_tokenizer_load(NULL, NULL), LETHE_ERR_INVALID);
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_load("", &t), LETHE_ERR_INVALID);
  assert_int_equal(lethe_tokenizer_builtin(&t), LETHE_OK);
  int *ids;
  int n;
  assert_int_equal(lethe_tokenizer_encode(t, NULL, 3, 0, &ids, &n), LETHE_ERR_INVALID);
  assert_int_equal(lethe_tokenizer_encode(t, NULL, 0, 0, &ids, &n), LETHE_OK);
  assert_int_equal(n, 0);
  char *s;
  assert_int_equal(lethe_tokenizer_decode(t, NULL, 2, 0, &s, NULL), LETHE_ERR_INVALID);
  assert_int_equal(lethe_tokenizer_token_to_id(t, NULL), -1);
  assert_int_equal(lethe_tokenizer_token_to_id(t, "nope"), -1);
  assert_int_equal(lethe_tokenizer_is_special(t, -3), 0);
  assert_int_equal(lethe_tokenizer_is_special(t, 100000), 0);
  lethe_tokenizer_free(t);
  lethe_tokenizer_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_not_json),
      cmocka_unit_test(test_model),
      cmocka_unit_test(test_components),
      cmocka_unit_test(test_unk_missing),
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_null_args),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
