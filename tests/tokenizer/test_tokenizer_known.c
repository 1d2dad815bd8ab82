/* tests/tokenizer/test_tok_known.c: known answers (OLMo, GPT-2, Llama-3, Mistral, llama2.c
 * tok512, the built-in tokenizer), BOS / EOS / vocabulary sizes / special ids, format detection,
 * invalid UTF-8, ids out of range, encoding from several threads at once, and words long enough
 * that a quadratic merge would not finish. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok_fixture_util.h"
#include "util/fileio.h"

static lethe_tokenizer *load_shared(const char *rel) {
  char *p = tu_shared_path(rel);
  if (!p) return NULL;
  lethe_tokenizer *t = tf_load(p);
  free(p);
  return t;
}

#define LOAD_OR_SKIP(t, rel)                                                                                           \
  lethe_tokenizer *t = load_shared(rel);                                                                               \
  TU_REQUIRE_SHARED(t, rel)

static void expect_ids(lethe_tokenizer *t, const char *text, int add_special, const int *want, int nwant) {
  int *ids = NULL, n = 0;
  assert_int_equal(lethe_tokenizer_encode(t, text, strlen(text), add_special, &ids, &n), LETHE_OK);
  if (n != nwant || memcmp(ids, want, (size_t)n * sizeof *ids)) {
    print_error("\"%s\" (add_special=%d): got", text, add_special);
    for (int i = 0; i < n; i++) print_error(" %d", ids[i]);
    print_error("\n");
    fail();
  }
  free(ids);
}

static void expect_decode(lethe_tokenizer *t, const int *ids, int n, int skip, const char *want) {
  char *s = NULL;
  size_t len = 0;
  assert_int_equal(lethe_tokenizer_decode(t, ids, n, skip, &s, &len), LETHE_OK);
  assert_string_equal(s, want);
  assert_int_equal(len, strlen(want));
  free(s);
}

static void test_olmo(void **st) {
  (void)st;
  LOAD_OR_SKIP(t, "tokenizers/olmo-0724/tokenizer.json");
  const int want[] = {1552, 310, 247, 3389, 342, 642, 747, 8737, 15};
  expect_ids(t, "This is a document with no newlines.", 0, want, 9);
  expect_ids(t, "This is a document with no newlines.", 1, want, 9);
  expect_decode(t, want, 9, 1, "This is a document with no newlines.");
  assert_int_equal(lethe_tokenizer_vocab_size(t), 50280);
  assert_int_equal(lethe_tokenizer_eos_id(t), 50279);
  assert_int_equal(lethe_tokenizer_bos_id(t), -1);
  assert_int_equal(lethe_tokenizer_token_to_id(t, "<|padding|>"), 1);
  assert_true(lethe_tokenizer_is_special(t, 50279));
  assert_true(lethe_tokenizer_is_special(t, 1));
  assert_false(lethe_tokenizer_is_special(t, 0)); /* |||IP_ADDRESS||| is added, not special */
  assert_false(lethe_tokenizer_is_special(t, 1552));
  lethe_tokenizer_free(t);
}

static void test_gpt2(void **st) {
  (void)st;
  LOAD_OR_SKIP(t, "tokenizers/gpt2/tokenizer.json");
  const int want[] = {15496, 995};
  expect_ids(t, "Hello world", 0, want, 2);
  expect_ids(t, "Hello world", 1, want, 2);
  expect_decode(t, want, 2, 0, "Hello world");
  assert_int_equal(lethe_tokenizer_vocab_size(t), 50257);
  assert_int_equal(lethe_tokenizer_eos_id(t), 50256);
  lethe_tokenizer_free(t);
}

static void test_llama3(void **st) {
  (void)st;
  LOAD_OR_SKIP(t, "tokenizers/llama3/tokenizer.json");
  const int want[] = {9906, 1917};
  expect_ids(t, "Hello world", 0, want, 2);
  /* This tokenizer.json's post-processor is ByteLevel (Meta's file uses TemplateProcessing), so
   * add_special adds nothing, exactly as tokenizers and transformers do with this file. */
  expect_ids(t, "Hello world", 1, want, 2);
  assert_int_equal(lethe_tokenizer_bos_id(t), 128000); /* from tokenizer_config.json */
  assert_int_equal(lethe_tokenizer_eos_id(t), 128001);
  assert_int_equal(lethe_tokenizer_vocab_size(t), 128256);
  const int with_bos[] = {128000, 9906, 1917};
  expect_ids(t, "<|begin_of_text|>Hello world", 0, with_bos, 3);
  expect_decode(t, with_bos, 3, 0, "<|begin_of_text|>Hello world");
  expect_decode(t, with_bos, 3, 1, "Hello world");
  lethe_tokenizer_free(t);
}

static void test_mistral(void **st) {
  (void)st;
  LOAD_OR_SKIP(t, "tokenizers/mistral/tokenizer.json");
  const int want[] = {22557, 1526}, bos[] = {1, 22557, 1526};
  expect_ids(t, "Hello world", 0, want, 2);
  expect_ids(t, "Hello world", 1, bos, 3);
  expect_decode(t, bos, 3, 1, "Hello world");
  expect_decode(t, bos, 3, 0, "<s> Hello world");
  assert_int_equal(lethe_tokenizer_bos_id(t), 1);
  assert_int_equal(lethe_tokenizer_eos_id(t), 2);
  assert_int_equal(lethe_tokenizer_vocab_size(t), 32000);
  lethe_tokenizer_free(t);
}

static void test_mistral_dir(void **st) {
  (void)st;
  char *p = tu_shared_path("tokenizers/mistral");
  TU_REQUIRE_SHARED(p, "tokenizers/mistral");
  lethe_tokenizer *t = tf_load(p); /* a directory means DIR/tokenizer.json */
  assert_int_equal(lethe_tokenizer_vocab_size(t), 32000);
  lethe_tokenizer_free(t);
  free(p);
}

static void test_tok512(void **st) {
  (void)st;
  LOAD_OR_SKIP(t, "models/stories260K/tok512.bin");
  assert_int_equal(lethe_tokenizer_vocab_size(t), 512);
  assert_int_equal(lethe_tokenizer_bos_id(t), 1);
  assert_int_equal(lethe_tokenizer_eos_id(t), 2);
  /* llama2.c's encode("Once upon a time", bos=1): BOS, then merged pieces of " Once upon a time" */
  const int want[] = {1, 403, 407, 261, 378};
  expect_ids(t, "Once upon a time", 1, want, 5);
  expect_decode(t, want, 5, 0, "\n<s>\nOnce upon a time");
  expect_decode(t, want, 5, 1, "Once upon a time");
  expect_ids(t, "", 1, want, 1); /* empty text: BOS only (no dummy prefix) */
  int *ids = NULL, n = -1;
  assert_int_equal(lethe_tokenizer_encode(t, "", 0, 0, &ids, &n), LETHE_OK);
  assert_int_equal(n, 0);
  assert_null(ids);
  /* byte fallback: a character outside the vocabulary is its UTF-8 bytes + 3 (410 is " ") */
  const int emoji[] = {1, 410, 243, 162, 155, 131};
  expect_ids(t, "\xF0\x9F\x98\x80", 1, emoji, 6);
  expect_decode(t, emoji, 6, 1, "\xF0\x9F\x98\x80"); /* the space after BOS is dropped */
  expect_decode(t, emoji + 1, 5, 1, " \xF0\x9F\x98\x80");
  assert_true(lethe_tokenizer_is_special(t, 1));
  assert_false(lethe_tokenizer_is_special(t, 3));
  lethe_tokenizer_free(t);
}

static void test_builtin(void **st) {
  (void)st;
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_builtin(&t), LETHE_OK);
  assert_int_equal(lethe_tokenizer_vocab_size(t), 259);
  assert_int_equal(lethe_tokenizer_bos_id(t), 257);
  assert_int_equal(lethe_tokenizer_eos_id(t), 258);
  assert_int_equal(lethe_tokenizer_token_to_id(t, "<|pad|>"), 256);
  for (int id = 0; id < 259; id++) assert_int_equal(lethe_tokenizer_is_special(t, id), id >= 256);
  const int want[] = {72, 105, 32, 0xC3, 0xA9, 258, 10};
  int *ids = NULL, n = 0;
  const char text[] = "Hi \xC3\xA9<|endoftext|>\n";
  assert_int_equal(lethe_tokenizer_encode(t, text, strlen(text), 1, &ids, &n), LETHE_OK);
  assert_int_equal(n, 7); /* no post-processor: add_special adds nothing */
  assert_memory_equal(ids, want, sizeof want);
  free(ids);
  expect_decode(t, want, 7, 0, text);
  expect_decode(t, want, 7, 1, "Hi \xC3\xA9\n");
  /* a lone byte that is not UTF-8 on its own decodes to U+FFFD */
  const int lone[] = {0xC3, 65};
  expect_decode(t, lone, 2, 0,
      "\xEF\xBF\xBD"
      "A");
  lethe_tokenizer_free(t);
}

/* The built-in tokenizer's JSON is the one the fixtures were made from (by tokenizers). */
static void test_builtin_json(void **st) {
  (void)st;
  char *j = lethe_tokenizer_builtin_json();
  assert_non_null(j);
  char *path = tu_src_path("tests/fixtures/tokenizer/builtin.tokenizer.json");
  json_error_t err;
  json_t *want = json_load_file(path, 0, &err), *got = json_loads(j, 0, &err);
  assert_non_null(want);
  assert_non_null(got);
  assert_true(json_equal(want, got));
  assert_int_equal(json_array_size(json_object_get(json_object_get(got, "model"), "merges")), 0);
  assert_int_equal(json_object_size(json_object_get(json_object_get(got, "model"), "vocab")), 256);
  json_decref(want);
  json_decref(got);
  free(path);
  free(j);
}

static void test_invalid_utf8(void **st) {
  (void)st;
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_builtin(&t), LETHE_OK);
  struct {
    const char *s;
    size_t len, off;
  } bad[] = {
      {"ab\xFF"
       "cd",
          5, 2},                    /* not a lead byte */
      {"\x80", 1, 0},               /* lone continuation */
      {"abc\xC3", 4, 3},            /* truncated */
      {"\xC0\xAF", 2, 0},           /* overlong */
      {"x\xE0\x80\xAF", 4, 1},      /* overlong, 3 bytes */
      {"\xED\xA0\x80", 3, 0},       /* a surrogate */
      {"ok\xF4\x90\x80\x80", 6, 2}, /* above U+10FFFF */
      {"\xF5\x80\x80\x80", 4, 0},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int *ids = (int *)1, n = -1;
    assert_int_equal(lethe_tokenizer_encode(t, bad[i].s, bad[i].len, 0, &ids, &n), LETHE_ERR_INVALID);
    assert_null(ids);
    assert_int_equal(n, 0);
    char want[64];
    snprintf(want, sizeof want, "byte offset %zu", bad[i].off);
    if (!strstr(lethe_last_error(), want)) {
      print_error("message \"%s\" lacks \"%s\"\n", lethe_last_error(), want);
      fail();
    }
  }
  /* NUL is valid UTF-8 */
  int *ids = NULL, n = 0;
  assert_int_equal(lethe_tokenizer_encode(t, "a\0b", 3, 0, &ids, &n), LETHE_OK);
  assert_int_equal(n, 3);
  assert_int_equal(ids[1], 0);
  free(ids);
  lethe_tokenizer_free(t);
  char *p = tu_shared_path("models/stories260K/tok512.bin");
  if (p) {
    t = tf_load(p);
    assert_int_equal(lethe_tokenizer_encode(t, "\xFF", 1, 0, &ids, &n), LETHE_ERR_INVALID);
    assert_non_null(strstr(lethe_last_error(), "byte offset 0"));
    lethe_tokenizer_free(t);
    free(p);
  } else {
    tu_note_skip("invalid UTF-8 through tok512: models/stories260K/tok512.bin not found under LETHE_SHARED");
  }
}

static void test_decode_range(void **st) {
  (void)st;
  lethe_tokenizer *t = NULL;
  assert_int_equal(lethe_tokenizer_builtin(&t), LETHE_OK);
  char *s = NULL;
  const int bad1[] = {65, 259}, bad2[] = {-1};
  assert_int_equal(lethe_tokenizer_decode(t, bad1, 2, 0, &s, NULL), LETHE_ERR_INVALID);
  assert_non_null(strstr(lethe_last_error(), "id 259 at position 1"));
  assert_int_equal(lethe_tokenizer_decode(t, bad2, 1, 0, &s, NULL), LETHE_ERR_INVALID);
  assert_null(s);
  expect_decode(t, NULL, 0, 0, "");
  lethe_tokenizer_free(t);
  char *p = tu_shared_path("models/stories260K/tok512.bin");
  if (p) {
    t = tf_load(p);
    const int big[] = {512};
    assert_int_equal(lethe_tokenizer_decode(t, big, 1, 0, &s, NULL), LETHE_ERR_INVALID);
    lethe_tokenizer_free(t);
    free(p);
  } else {
    tu_note_skip("decode range through tok512: models/stories260K/tok512.bin not found under LETHE_SHARED");
  }
}

/* ---- threads ---- */

typedef struct {
  const lethe_tokenizer *t;
  const char **texts;
  int ntexts;
  int **ids;
  int *n;
  int bad;
} job;

static void *encode_all(void *arg) {
  job *j = arg;
  for (int rep = 0; rep < 3; rep++)
    for (int i = 0; i < j->ntexts; i++) {
      int *ids = NULL, n = 0;
      if (lethe_tokenizer_encode(j->t, j->texts[i], strlen(j->texts[i]), 0, &ids, &n) != LETHE_OK || n != j->n[i] ||
          (n && memcmp(ids, j->ids[i], (size_t)n * sizeof *ids)))
        j->bad++;
      free(ids);
    }
  return NULL;
}

static void collect_text(json_t *rec, void *arg) {
  json_t *arr = arg;
  json_array_append(arr, json_object_get(rec, "text"));
}

static void test_threads(void **st) {
  (void)st;
  LOAD_OR_SKIP(t, "tokenizers/olmo-0724/tokenizer.json");
  char *fx = tu_src_path("tests/fixtures/tokenizer/olmo-0724.jsonl");
  json_t *arr = json_array();
  tf_each_line(fx, collect_text, arr);
  int nt = (int)json_array_size(arr);
  const char **texts = malloc((size_t)nt * sizeof *texts);
  int **ids = malloc((size_t)nt * sizeof *ids), *n = malloc((size_t)nt * sizeof *n);
  for (int i = 0; i < nt; i++) {
    texts[i] = json_string_value(json_array_get(arr, (size_t)i));
    if (memchr(texts[i], 0, json_string_length(json_array_get(arr, (size_t)i)))) texts[i] = "";
    assert_int_equal(lethe_tokenizer_encode(t, texts[i], strlen(texts[i]), 0, &ids[i], &n[i]), LETHE_OK);
  }
  enum { NT = 4 };
  pthread_t th[NT];
  job jobs[NT];
  for (int k = 0; k < NT; k++) {
    jobs[k] = (job){t, texts, nt, ids, n, 0};
    pthread_create(&th[k], NULL, encode_all, &jobs[k]);
  }
  for (int k = 0; k < NT; k++) {
    pthread_join(th[k], NULL);
    assert_int_equal(jobs[k].bad, 0);
  }
  for (int i = 0; i < nt; i++) free(ids[i]);
  free(ids);
  free(n);
  free(texts);
  json_decref(arr);
  free(fx);
  lethe_tokenizer_free(t);
}

/* ---- long words: the merges must not be quadratic ---- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void roundtrip_long(lethe_tokenizer *t, const char *s, size_t n, double limit) {
  double t0 = now();
  int *ids = NULL, k = 0;
  assert_int_equal(lethe_tokenizer_encode(t, s, n, 0, &ids, &k), LETHE_OK);
  double dt = now() - t0;
  char *back = NULL;
  size_t blen = 0;
  assert_int_equal(lethe_tokenizer_decode(t, ids, k, 0, &back, &blen), LETHE_OK);
  assert_int_equal(blen, n);
  assert_memory_equal(back, s, n);
  print_message("%zu bytes -> %d ids in %.3f s\n", n, k, dt);
  assert_true(dt < limit);
  free(ids);
  free(back);
}

static void test_long_words(void **st) {
  (void)st;
  LOAD_OR_SKIP(t, "tokenizers/gpt2/tokenizer.json");
  size_t n = 200000;
  char *s = malloc(n + 1);
  for (size_t i = 0; i < n; i++) s[i] = 'a';
  roundtrip_long(t, s, n, 30.0); /* one 200000-letter pre-token */
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = (char)('a' + (int)(x % 26));
  }
  roundtrip_long(t, s, n, 30.0);
  lethe_tokenizer_free(t);
  lethe_tokenizer *l = load_shared("models/stories260K/tok512.bin");
  if (l) { /* llama2.c merges over the whole text */
    for (size_t i = 0; i < n; i++)
      if (i % 7 == 3) s[i] = ' ';
    int *ids = NULL, k = 0;
    double t0 = now();
    assert_int_equal(lethe_tokenizer_encode(l, s, n, 0, &ids, &k), LETHE_OK);
    double dt = now() - t0;
    print_message("llama2.c: %zu bytes -> %d ids in %.3f s\n", n, k, dt);
    assert_true(dt < 30.0);
    free(ids);
    lethe_tokenizer_free(l);
  }
  free(s);
}

/* ---- file format detection ---- */

static void test_detection(void **st) {
  (void)st;
  char *bin = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(bin, "models/stories260K/tok512.bin");
  char *dir = tu_tmp_path("tokdetect");
  assert_int_equal(lethe_make_dirs(dir), LETHE_OK);
  /* a llama2.c file without the .bin extension: sniffed (its first byte is not '{') */
  char *noext = lethe_path_join(dir, "vocab");
  assert_int_equal(lethe_copy_file(bin, noext), LETHE_OK);
  lethe_tokenizer *t = tf_load(noext);
  assert_int_equal(lethe_tokenizer_vocab_size(t), 512);
  lethe_tokenizer_free(t);
  /* tokenizer.json without the extension */
  char *j = lethe_tokenizer_builtin_json();
  char *jpath = lethe_path_join(dir, "tok");
  assert_int_equal(lethe_write_file_atomic(jpath, j, strlen(j)), LETHE_OK);
  t = tf_load(jpath);
  assert_int_equal(lethe_tokenizer_vocab_size(t), 259);
  lethe_tokenizer_free(t);
  /* a directory: DIR/tokenizer.json, with tokenizer_config.json beside it */
  char *tj = lethe_path_join(dir, "tokenizer.json");
  assert_int_equal(lethe_write_file_atomic(tj, j, strlen(j)), LETHE_OK);
  char *cfg = lethe_path_join(dir, "tokenizer_config.json");
  const char *c = "{\"bos_token\": {\"content\": \"<|pad|>\"}, \"eos_token\": \"<|bos|>\", "
                  "\"model_max_length\": 1000000000000000019884624838656}";
  assert_int_equal(lethe_write_file_atomic(cfg, c, strlen(c)), LETHE_OK);
  t = tf_load(dir);
  assert_int_equal(lethe_tokenizer_bos_id(t), 256);
  assert_int_equal(lethe_tokenizer_eos_id(t), 257);
  lethe_tokenizer_free(t);
  /* a config naming a token the tokenizer lacks is an error naming the config file */
  c = "{\"bos_token\": \"<nope>\"}";
  assert_int_equal(lethe_write_file_atomic(cfg, c, strlen(c)), LETHE_OK);
  assert_int_equal(lethe_tokenizer_load(dir, &t), LETHE_ERR_FORMAT);
  assert_non_null(strstr(lethe_last_error(), "tokenizer_config.json"));
  assert_non_null(strstr(lethe_last_error(), "<nope>"));
  lethe_remove_tree(dir);
  free(j);
  free(jpath);
  free(tj);
  free(cfg);
  free(noext);
  free(dir);
  free(bin);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_olmo),
      cmocka_unit_test(test_gpt2),
      cmocka_unit_test(test_llama3),
      cmocka_unit_test(test_mistral),
      cmocka_unit_test(test_mistral_dir),
      cmocka_unit_test(test_tok512),
      cmocka_unit_test(test_builtin),
      cmocka_unit_test(test_builtin_json),
      cmocka_unit_test(test_invalid_utf8),
      cmocka_unit_test(test_decode_range),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_long_words),
      cmocka_unit_test(test_detection),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
