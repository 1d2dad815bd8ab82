/* tests/io/test_convert.c: `lethe convert` end to end.
 *  - stories260K (llama2.c, ../shared) with its tok512.bin tokenizer: the converted directory loaded
 *    back gives the same greedy token ids as the original checkpoint, and its tokenizer.json encodes
 *    the prompt as the llama2.c tokenizer does (skipped when ../shared is absent);
 *  - a GGUF file (llama_mixed.gguf): the weights come back bit-identical in float32, the
 *    tokenizer.json is the one derived from the GGUF metadata, and --dtype bfloat16 is recorded;
 *  - errors: an --out that is not a model directory is refused and left alone, a bad model or
 *    tokenizer is one clear message and no output.
 * Skipped with a message while the lethe program has no convert command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"
#include "lethe/generate.h"
#include "lethe/tokenizer.h"
#include "model/model.h"
#include "testutil.h"
#include "util/fileio.h"

static int run(char **out, char **err, const char *a1, const char *a2, const char *a3, const char *a4, const char *a5,
    const char *a6, const char *a7, const char *a8) {
  char *argv[] = {
      "convert", (char *)a1, (char *)a2, (char *)a3, (char *)a4, (char *)a5, (char *)a6, (char *)a7, (char *)a8, NULL};
  return tu_run_lethe_argv(NULL, out, err, argv);
}

#define REQUIRE_CONVERT()                                                                                              \
  do {                                                                                                                 \
    char *e_ = NULL;                                                                                                   \
    int rc_ = run(NULL, &e_, "--help", NULL, NULL, NULL, NULL, NULL, NULL, NULL);                                      \
    if (rc_ != 0) {                                                                                                    \
      print_message("lethe convert --help failed (rc %d: %s)\n", rc_, e_ ? e_ : "");                                   \
      free(e_);                                                                                                        \
      fail();                                                                                                          \
    }                                                                                                                  \
    free(e_);                                                                                                          \
  } while (0)

static void test_stories260k(void **state) {
  (void)state;
  REQUIRE_CONVERT();
  char *bin = tu_shared_path("models/stories260K/stories260K.bin"),
       *tok = tu_shared_path("models/stories260K/tok512.bin");
  if (!bin || !tok) {
    free(bin);
    free(tok);
    TU_REQUIRE_SHARED(NULL, "models/stories260K/stories260K.bin and tok512.bin");
  }
  char *dir = tu_tmp_path("convert_s260");
  char *err = NULL;
  int rc = run(NULL, &err, "--model", bin, "--tokenizer", tok, "--out", dir, NULL, NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  free(err);
  lethe_model *a = NULL, *b = NULL;
  assert_int_equal(lethe_model_load(bin, &a), LETHE_OK);
  lethe_status s = lethe_model_load(dir, &b);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  assert_int_equal(a->n_params, b->n_params);
  assert_memory_equal(a->params, b->params, sizeof(float) * a->n_params);
  lethe_tokenizer *ta = NULL, *tb = NULL;
  assert_int_equal(lethe_tokenizer_load(tok, &ta), LETHE_OK);
  s = lethe_tokenizer_load(dir, &tb);
  if (s) print_error("%s\n", lethe_last_error());
  assert_int_equal(s, LETHE_OK);
  const char *prompt = "Once upon a time";
  int *pa = NULL, *pb = NULL, na = 0, nb = 0;
  assert_int_equal(lethe_tokenizer_encode(ta, prompt, strlen(prompt), 1, &pa, &na), LETHE_OK);
  assert_int_equal(lethe_tokenizer_encode(tb, prompt, strlen(prompt), 1, &pb, &nb), LETHE_OK);
  assert_int_equal(na, nb);
  assert_memory_equal(pa, pb, sizeof(int) * (size_t)na);
  lethe_gen_opts o;
  lethe_gen_opts_default(&o);
  o.max_new = 40;
  const int *pr[1] = {pa};
  int *ga = NULL, *gb = NULL, nga = 0, ngb = 0;
  assert_int_equal(lethe_generate(a, NULL, pr, &na, 1, &o, &ga, &nga), LETHE_OK);
  assert_int_equal(lethe_generate(b, NULL, pr, &na, 1, &o, &gb, &ngb), LETHE_OK);
  assert_int_equal(nga, ngb);
  assert_memory_equal(ga, gb, sizeof(int) * (size_t)nga);
  char *text = NULL;
  size_t tl = 0;
  assert_int_equal(lethe_tokenizer_decode(tb, gb, ngb, 1, &text, &tl), LETHE_OK);
  print_message("stories260K converted: %d greedy tokens identical to the .bin: \"%s%s\"\n", ngb, prompt, text);
  assert_non_null(strstr(text, "there was a little girl named Lily"));
  free(text);
  free(pa);
  free(pb);
  free(ga);
  free(gb);
  lethe_tokenizer_free(ta);
  lethe_tokenizer_free(tb);
  lethe_model_free(a);
  lethe_model_free(b);
  lethe_remove_tree(dir);
  free(dir);
  free(bin);
  free(tok);
}

static char *slurp(const char *dir, const char *name) {
  char *p = lethe_path_join(dir, name), *text = NULL;
  size_t n;
  assert_int_equal(lethe_read_file(p, 1 << 26, &text, &n), LETHE_OK);
  free(p);
  return text;
}

static void test_gguf(void **state) {
  (void)state;
  REQUIRE_CONVERT();
  char *gguf = tu_src_path("tests/fixtures/gguf/llama_mixed.gguf"), *dir = tu_tmp_path("convert_gguf");
  char *err = NULL;
  int rc = run(NULL, &err, "--model", gguf, "--out", dir, NULL, NULL, NULL, NULL);
  if (rc) print_error("%s\n", err);
  assert_int_equal(rc, 0);
  free(err);
  lethe_model *a = NULL, *b = NULL;
  assert_int_equal(lethe_model_load(gguf, &a), LETHE_OK);
  assert_int_equal(lethe_model_load(dir, &b), LETHE_OK);
  assert_int_equal(a->n_params, b->n_params);
  assert_memory_equal(a->params, b->params, sizeof(float) * a->n_params);
  assert_int_equal(b->cfg.tie_embeddings, 0);
  char *want = NULL, *got = slurp(dir, "tokenizer.json");
  assert_int_equal(lethe_gguf_tokenizer_json(gguf, &want), LETHE_OK);
  assert_string_equal(got, want);
  free(got);
  free(want);
  /* again over the same directory, in bfloat16 */
  rc = run(NULL, &err, "--model", gguf, "--out", dir, "--dtype", "bfloat16", NULL, NULL);
  assert_int_equal(rc, 0);
  free(err);
  char *cfg = slurp(dir, "config.json");
  assert_non_null(strstr(cfg, "\"bfloat16\""));
  free(cfg);
  print_message(
      "GGUF converted: %zu parameters bit-identical in float32; tokenizer.json from the GGUF metadata\n", a->n_params);
  lethe_model_free(a);
  lethe_model_free(b);
  lethe_remove_tree(dir);
  free(dir);
  free(gguf);
}

static void test_errors(void **state) {
  (void)state;
  REQUIRE_CONVERT();
  char *gguf = tu_src_path("tests/fixtures/gguf/llama_mixed.gguf");
  /* an existing file as --out is refused and left as it was */
  char *file = tu_tmp_path("convert_notadir");
  assert_int_equal(lethe_write_file_atomic(file, "keep", 4), LETHE_OK);
  char *err = NULL;
  int rc = run(NULL, &err, "--model", gguf, "--out", file, NULL, NULL, NULL, NULL);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err, "not a model directory"));
  free(err);
  char *keep = NULL;
  size_t n;
  assert_int_equal(lethe_read_file(file, 100, &keep, &n), LETHE_OK);
  assert_string_equal(keep, "keep");
  free(keep);
  /* a model that is not one */
  char *dir = tu_tmp_path("convert_bad");
  rc = run(NULL, &err, "--model", file, "--out", dir, NULL, NULL, NULL, NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, file));
  print_message("bad model: %s", err);
  free(err);
  struct stat st;
  assert_int_not_equal(stat(dir, &st), 0);
  /* a tokenizer that is not one: nothing written */
  rc = run(NULL, &err, "--model", gguf, "--tokenizer", file, "--out", dir, NULL, NULL);
  assert_int_equal(rc, 1);
  print_message("bad tokenizer: %s", err);
  free(err);
  assert_int_not_equal(stat(dir, &st), 0);
  /* usage errors */
  rc = run(NULL, &err, "--model", gguf, NULL, NULL, NULL, NULL, NULL, NULL);
  assert_int_equal(rc, 2);
  free(err);
  rc = run(NULL, &err, "--model", gguf, "--out", dir, "--dtype", "int8", NULL, NULL);
  assert_int_equal(rc, 2);
  free(err);
  remove(file);
  free(file);
  free(dir);
  free(gguf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stories260k),
      cmocka_unit_test(test_gguf),
      cmocka_unit_test(test_errors),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
