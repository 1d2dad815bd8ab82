/* tests/model/test_bf16_hf.c: --dtype bf16 against transformers with torch_dtype=torch.bfloat16 on
 * the CPU (tests/fixtures/bf16, tools/reference/make_bf16_fixtures.py): on the llama_tiny and olmo_tiny
 * fixture models and stories260K (skipped without ../shared), lethe's bf16 mode gives at least a
 * stated number of transformers' bf16 greedy generations token for token and its per-row answer
 * NLLs within a stated bound, and is closer to them than lethe's exact fp32 mode (which matches
 * transformers' fp32 run to 1e-4): at least as many identical generations and under half the mean
 * NLL difference, so the test fails if the bf16 mode stops tracking bf16. Also: --dtype's bad
 * values, and that a bf16-compute model refuses to train. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/generate.h"
#include "model/model.h"
#include "testutil.h"

typedef struct {
  int same_gen;    /* generations identical to the reference's */
  double max_dnll; /* max |NLL - reference NLL| over rows */
  double mean_dnll;
} score;

static int *ids_of(const json_t *a, int *n) {
  *n = (int)json_array_size(a);
  int *x = malloc(sizeof(int) * (size_t)(*n > 0 ? *n : 1));
  for (int i = 0; i < *n; i++) x[i] = (int)json_integer_value(json_array_get(a, (size_t)i));
  return x;
}

/* The official script's row NLL: mean over answer tokens of -log p, the prompt masked. */
static double row_nll(lethe_model *m, lethe_workspace *ws, const int *p, int np, const int *a, int na) {
  int n = np + na, tok[256], tgt[256], start[2] = {0, n};
  assert_true(n <= 256);
  memcpy(tok, p, sizeof(int) * (size_t)np);
  memcpy(tok + np, a, sizeof(int) * (size_t)na);
  for (int t = 0; t < n; t++) tgt[t] = t >= np - 1 && t < n - 1 ? tok[t + 1] : -1;
  lethe_batch b = {.n_seq = 1, .n_tokens = n, .tokens = tok, .targets = tgt, .start = start};
  assert_int_equal(lethe_forward(m, NULL, ws, &b), LETHE_OK);
  assert_int_equal(lethe_head(m, ws, &b, NULL, 0), LETHE_OK);
  double s = 0;
  for (int i = 0; i < ws->n_rows; i++) s -= ws->logp[i];
  return s / ws->n_rows;
}

/* lethe's generations and NLLs on the fixture's prompts, scored against reference `ref` */
static score run(lethe_model *m, const json_t *fx, const char *ref) {
  const json_t *prompts = json_object_get(fx, "prompts"), *answers = json_object_get(fx, "answers");
  const json_t *r = json_object_get(fx, ref);
  int n = (int)json_array_size(prompts), max_new = (int)json_integer_value(json_object_get(fx, "max_new"));
  lethe_workspace *ws;
  assert_int_equal(lethe_workspace_create(m, NULL, 256, 1, LETHE_WS_INFER, &ws), LETHE_OK);
  score sc = {0, 0, 0};
  for (int i = 0; i < n; i++) {
    int np, na, nw;
    int *p = ids_of(json_array_get(prompts, (size_t)i), &np), *a = ids_of(json_array_get(answers, (size_t)i), &na);
    int *want = ids_of(json_array_get(json_object_get(r, "generations"), (size_t)i), &nw);
    lethe_gen_opts o;
    lethe_gen_opts_default(&o);
    o.max_new = max_new;
    o.stop_ids = (const int[]){-1};
    o.n_stop = 1;
    const int *pp[1] = {p};
    int *out, nout;
    assert_int_equal(lethe_generate(m, NULL, pp, &np, 1, &o, &out, &nout), LETHE_OK);
    sc.same_gen += nout == nw && !memcmp(out, want, sizeof(int) * (size_t)nw);
    double d =
        fabs(row_nll(m, ws, p, np, a, na) - json_number_value(json_array_get(json_object_get(r, "nll"), (size_t)i)));
    sc.max_dnll = d > sc.max_dnll ? d : sc.max_dnll;
    sc.mean_dnll += d / n;
    free(out);
    free(want);
    free(p);
    free(a);
  }
  lethe_workspace_free(ws);
  return sc;
}

/* min_same: generations of the bf16 mode that must equal transformers' bf16 ones; nll_bound: the
 * largest NLL difference allowed to the bf16 reference; gain: how many times smaller the mean NLL
 * difference must be than the fp32 mode's (on stories260K the logits' own rounding to bf16, spacing
 * 1/32 to 1/16 at its logit sizes, dominates both: the smallest hidden difference lands a logit on
 * another bf16 value) */
static void check(const char *name, lethe_model *m, int min_same, double nll_bound, double gain) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/fixtures/bf16/%s.json", name);
  json_t *fx = tu_load_json(rel);
  int n = (int)json_array_size(json_object_get(fx, "prompts"));
  score f32 = run(m, fx, "fp32"), f32b = run(m, fx, "bf16");
  assert_int_equal(lethe_model_set_dtype(m, "bf16"), LETHE_OK);
  score b16 = run(m, fx, "bf16");
  print_message("%s: --dtype bf16 vs transformers bf16: %d of %d generations identical, NLL |diff| max %.2e mean %.2e\n"
                "%s: fp32 (exact) vs transformers bf16: %d of %d identical, NLL |diff| max %.2e mean %.2e"
                " (vs transformers fp32: %d of %d, max %.2e)\n",
      name, b16.same_gen, n, b16.max_dnll, b16.mean_dnll, name, f32b.same_gen, n, f32b.max_dnll, f32b.mean_dnll,
      f32.same_gen, n, f32.max_dnll);
  /* the fp32 mode is transformers' fp32 run (random tiny models have near-ties that fp32 summation
   * order flips: the NLLs are the check) */
  assert_true(f32.max_dnll <= 1e-4);
  /* the bf16 mode is transformers' bf16 run, and closer to it than fp32 is */
  assert_true(b16.same_gen >= min_same);
  assert_true(b16.max_dnll <= nll_bound);
  assert_true(b16.mean_dnll * gain < f32b.mean_dnll);
  assert_true(b16.same_gen >= f32b.same_gen);
  /* the mode cannot be undone: the weights are rounded */
  assert_int_equal(lethe_model_set_dtype(m, "fp32"), LETHE_ERR_INVALID);
  json_decref(fx);
}

static void fixture_model(const char *name, int min_same, double nll_bound, double gain) {
  char rel[128];
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s", name);
  char *p = tu_src_path(rel);
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  check(name, m, min_same, nll_bound, gain);
  lethe_model_free(m);
  free(p);
}

static void test_llama(void **s) {
  (void)s;
  fixture_model("llama_tiny", 31, 5e-3, 2);
}
static void test_olmo(void **s) {
  (void)s;
  fixture_model("olmo_tiny", 29, 4e-3, 2);
}

static void test_stories(void **state) {
  (void)state;
  char *p = tu_shared_path("models/stories260K/stories260K.bin");
  TU_REQUIRE_SHARED(p, "models/stories260K");
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  check("stories260K", m, 39, 2.5e-2, 1.1);
  lethe_model_free(m);
  free(p);
}

static void test_bad_dtype(void **state) {
  (void)state;
  char *p = tu_src_path("tests/fixtures/models/llama_tiny");
  lethe_model *m;
  assert_int_equal(lethe_model_load(p, &m), LETHE_OK);
  assert_int_equal(lethe_model_set_dtype(m, "fp16"), LETHE_ERR_INVALID);
  assert_int_equal(lethe_model_set_dtype(m, "fp32"), LETHE_OK);
  assert_int_equal(lethe_model_set_dtype(m, "bf16"), LETHE_OK);
  assert_int_equal(lethe_model_set_dtype(m, "bfloat16"), LETHE_OK);
  /* a bf16-compute model does not train */
  lethe_workspace *ws;
  assert_int_equal(lethe_workspace_create(m, NULL, 8, 1, LETHE_WS_TRAIN, &ws), LETHE_OK);
  int tok[3] = {1, 2, 3}, tgt[3] = {2, 3, -1}, start[2] = {0, 3};
  lethe_batch b = {.n_seq = 1, .n_tokens = 3, .tokens = tok, .targets = tgt, .start = start};
  assert_int_equal(lethe_forward(m, NULL, ws, &b), LETHE_OK);
  assert_int_equal(lethe_head(m, ws, &b, NULL, 1), LETHE_ERR_UNSUPPORTED);
  lethe_workspace_free(ws);
  lethe_model_free(m);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_llama),
      cmocka_unit_test(test_olmo),
      cmocka_unit_test(test_stories),
      cmocka_unit_test(test_bad_dtype),
  };
  return tu_run_group_tests(tests, NULL, NULL);
}
