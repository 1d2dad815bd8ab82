/* tests/model/test_generate.c: greedy decoding with the KV cache gives the same tokens as
 * recomputing the whole prefix at every step, for a batch of prompts of different lengths on every
 * fixture model (with and without a LoRA adapter), and on stories260K when ../shared is present.
 * Also: generation stops at eos and honours max_new. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/generate.h"
#include "model/model.h"
#include "testutil.h"
#include "util/rng.h"

static void compare_cache(lethe_model *m, const lethe_lora *lora, int n, int max_new, uint64_t seed) {
  lethe_rng r;
  lethe_rng_seed(&r, seed);
  int **prompts = calloc((size_t)n, sizeof *prompts), *lens = calloc((size_t)n, sizeof *lens);
  for (int i = 0; i < n; i++) {
    lens[i] = 1 + (int)lethe_rng_below(&r, 9);
    prompts[i] = malloc(sizeof(int) * (size_t)lens[i]);
    for (int k = 0; k < lens[i]; k++) prompts[i][k] = (int)lethe_rng_below(&r, (uint64_t)m->cfg.vocab_size);
  }
  lethe_gen_opts o;
  lethe_gen_opts_default(&o);
  o.max_new = max_new;
  o.stop_ids = (const int[]){-1};
  o.n_stop = 1; /* no stop token: compare full-length continuations */
  o.max_batch = 3;
  int **a = calloc((size_t)n, sizeof *a), *al = calloc((size_t)n, sizeof *al);
  int **b = calloc((size_t)n, sizeof *b), *bl = calloc((size_t)n, sizeof *bl);
  assert_int_equal(lethe_generate(m, lora, (const int *const *)prompts, lens, n, &o, a, al), LETHE_OK);
  o.no_cache = 1;
  assert_int_equal(lethe_generate(m, lora, (const int *const *)prompts, lens, n, &o, b, bl), LETHE_OK);
  for (int i = 0; i < n; i++) {
    assert_int_equal(al[i], max_new);
    assert_int_equal(bl[i], al[i]);
    assert_memory_equal(a[i], b[i], sizeof(int) * (size_t)al[i]);
    free(a[i]);
    free(b[i]);
    free(prompts[i]);
  }
  free(a);
  free(b);
  free(al);
  free(bl);
  free(prompts);
  free(lens);
}

static void check_model(const char *name) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s", name);
  char *p = tu_src_path(rel);
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  compare_cache(m, NULL, 7, 12, 3);
  lethe_lora_config lc = {.rank = 4, .alpha = 8, .targets = (1u << LETHE_NPROJ) - 1};
  lethe_lora *lora;
  assert_int_equal(lethe_lora_create(&m->cfg, &lc, 1, &lora), LETHE_OK);
  for (size_t i = 0; i < lora->n_params; i++)
    if (lora->params[i] == 0) lora->params[i] = 0.05f * (float)((int)(i % 7) - 3);
  compare_cache(m, lora, 5, 10, 4);
  lethe_lora_free(lora);
  free(p);
  lethe_model_free(m);
}

static void test_olmo(void **s) {
  (void)s;
  check_model("olmo_tiny");
}
static void test_llama(void **s) {
  (void)s;
  check_model("llama_tiny");
}
static void test_qwen2(void **s) {
  (void)s;
  check_model("qwen2_tiny");
}

static void test_stories(void **state) {
  (void)state;
  char *p = tu_shared_path("models/stories260K/stories260K.bin");
  TU_REQUIRE_SHARED(p, "models/stories260K");
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  compare_cache(m, NULL, 6, 40, 9);
  lethe_model_free(m);
  free(p);
}

static void test_stop_and_limits(void **state) {
  (void)state;
  char *p = tu_src_path("tests/fixtures/models/olmo_tiny");
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  int prompt[3] = {5, 6, 7};
  const int *pp[1] = {prompt};
  int len = 3, *out, n;
  lethe_gen_opts o;
  lethe_gen_opts_default(&o);
  o.max_new = 8;
  o.stop_ids = (const int[]){-1};
  o.n_stop = 1;
  assert_int_equal(lethe_generate(m, NULL, pp, &len, 1, &o, &out, &n), LETHE_OK);
  assert_int_equal(n, 8);
  /* Stopping at the third generated token: it is not returned. */
  int stop = out[2];
  int first_stop = 0;
  while (out[first_stop] != stop) first_stop++;
  o.stop_ids = &stop;
  int *out2, n2;
  assert_int_equal(lethe_generate(m, NULL, pp, &len, 1, &o, &out2, &n2), LETHE_OK);
  assert_int_equal(n2, first_stop);
  assert_memory_equal(out2, out, sizeof(int) * (size_t)n2);
  /* An empty prompt and a prompt as long as the context are errors. */
  int zero = 0;
  int *o3, n3;
  assert_int_equal(lethe_generate(m, NULL, pp, &zero, 1, &o, &o3, &n3), LETHE_ERR_INVALID);
  free(out);
  free(out2);
  lethe_model_free(m);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_olmo),
      cmocka_unit_test(test_llama),
      cmocka_unit_test(test_qwen2),
      cmocka_unit_test(test_stories),
      cmocka_unit_test(test_stop_and_limits),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
