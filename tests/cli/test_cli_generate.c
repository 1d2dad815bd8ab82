/* tests/cli/test_cli_generate.c: `lethe generate` on real weights (stories260K from ../shared),
 * KV cache against full recomputation, and the CLI's handling of bad model inputs: each one clear
 * message on stderr, a non-zero exit, no crash (the sanitizer build runs these too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/fileio.h"

static const char *EXPECT =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

static void test_stories_greedy(void **state) {
  (void)state;
  char *model = tu_shared_path("models/stories260K/stories260K.bin");
  char *tok = tu_shared_path("models/stories260K/tok512.bin");
  TU_REQUIRE_SHARED(model, "models/stories260K");
  TU_REQUIRE_SHARED(tok, "models/stories260K/tok512.bin");
  char *out, *err;
  int rc = tu_run_lethe(NULL, &out, &err, "generate", "--model", model, "--tokenizer", tok, "--prompt",
      "Once upon a time", "--max-new", "40", NULL);
  print_message("%s", out);
  assert_int_equal(rc, 0);
  assert_true(strncmp(out, EXPECT, strlen(EXPECT)) == 0);
  char *out2;
  rc = tu_run_lethe(NULL, &out2, NULL, "generate", "--model", model, "--tokenizer", tok, "--prompt", "Once upon a time",
      "--max-new", "40", "--no-cache", NULL);
  assert_int_equal(rc, 0);
  assert_string_equal(out, out2);
  free(out);
  free(out2);
  free(err);
  free(model);
  free(tok);
}

static void test_model_without_tokenizer(void **state) {
  (void)state;
  /* A model directory without tokenizer.json, and no --tokenizer: a clear error. */
  char *model = tu_src_path("tests/fixtures/models/olmo_tiny");
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "generate", "--model", model, "--prompt", "hi", NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "no tokenizer.json"));
  free(err);
  free(model);
}

/* Runs generate on a bad model path; expects exit 1 and `needle` in a one-line message. */
static void expect_cli_error(const char *model, const char *needle) {
  char *out, *err;
  int rc =
      tu_run_lethe(NULL, &out, &err, "generate", "--model", model, "--tokenizer", "/dev/null", "--prompt", "x", NULL);
  print_message("exit %d: %s", rc, err);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, needle));
  assert_int_equal(out[0], 0);
  int lines = 0;
  for (char *c = err; *c; c++) lines += *c == '\n';
  assert_int_equal(lines, 1);
  free(out);
  free(err);
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  if (n) assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

static void test_bad_models(void **state) {
  (void)state;
  char *dir = tu_fresh_dir("cli-bad");
  expect_cli_error("/nonexistent/model", "cannot open");
  /* A directory with a config whose hidden size is not divisible by the heads. */
  char *cfg = lethe_path_join(dir, "config.json");
  const char *bad_cfg = "{\"model_type\": \"olmo\", \"vocab_size\": 64, \"hidden_size\": 30, \"num_hidden_layers\": 1, "
                        "\"num_attention_heads\": 4, \"intermediate_size\": 8}";
  write_file(cfg, bad_cfg, strlen(bad_cfg));
  expect_cli_error(dir, "not divisible");
  /* A valid config with a truncated safetensors file. */
  char *src = tu_src_path("tests/fixtures/models/olmo_tiny/config.json");
  assert_int_equal(lethe_copy_file(src, cfg), LETHE_OK);
  char *w = lethe_path_join(dir, "model.safetensors");
  char *wsrc = tu_src_path("tests/fixtures/models/olmo_tiny/model.safetensors");
  lethe_mapped_file m;
  assert_int_equal(lethe_map_file(wsrc, &m), LETHE_OK);
  write_file(w, m.data, m.size - 100);
  expect_cli_error(dir, "past the end");
  /* A header offset past the end of the file. */
  unsigned char hdr[128] = {0};
  const char *h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,4096]}}";
  size_t hl = strlen(h);
  hdr[0] = (unsigned char)hl;
  memcpy(hdr + 8, h, hl);
  write_file(w, hdr, 8 + hl);
  expect_cli_error(dir, "past the end");
  /* A wrong dtype. */
  const char *h2 = "{\"x\":{\"dtype\":\"I1024\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  unsigned char hdr2[128] = {0};
  hl = strlen(h2);
  hdr2[0] = (unsigned char)hl;
  memcpy(hdr2 + 8, h2, hl);
  write_file(w, hdr2, 8 + hl + 4);
  expect_cli_error(dir, "unknown dtype");
  /* A missing tensor (the weights of another, smaller model). */
  char *other = tu_src_path("tests/fixtures/models/llama_tiny/model.safetensors");
  assert_int_equal(lethe_copy_file(other, w), LETHE_OK);
  expect_cli_error(dir, "unexpected tensor");
  lethe_unmap_file(&m);
  lethe_remove_tree(dir);
  free(other);
  free(wsrc);
  free(w);
  free(src);
  free(cfg);
  free(dir);
}

static void test_bad_flags(void **state) {
  (void)state;
  char *err;
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "generate", "--model", "x", NULL), 2);
  assert_non_null(strstr(err, "give one of --prompt and --prompt-ids"));
  free(err);
  assert_int_equal(
      tu_run_lethe(NULL, NULL, &err, "generate", "--model", "x", "--prompt", "y", "--max-new", "ten", NULL), 2);
  assert_non_null(strstr(err, "not an integer"));
  free(err);
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "generate", "--bogus", NULL), 2);
  assert_non_null(strstr(err, "unknown option --bogus"));
  free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stories_greedy),
      cmocka_unit_test(test_model_without_tokenizer),
      cmocka_unit_test(test_bad_models),
      cmocka_unit_test(test_bad_flags),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
