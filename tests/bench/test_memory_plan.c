/* tests/bench/test_memory_plan.c: `lethe bench plan` computes, from the config alone, the memory that
 * `lethe bench step` then allocates: the plan must equal the step's own account of its buffers
 * (with every activation kept and with recomputation), and the bf16 weight plan must equal the
 * layout a model really gets with bf16 projections; full-parameter training of a subset too. Fixture: the tiny OLMo
 * (clip_qkv) and Qwen2 (GQA, biases) models; the Llama one (tied head). */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/bench.h"
#include "model/model.h"
#include "testutil.h"

static void check(const char *name) {
  char rel[160];
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s/config.json", name);
  char *cfg = tu_src_path(rel);
  size_t keep_total = 0;
  for (int rc = 0; rc < 2; rc++) {
    lethe_bench_step_opts o = {
        .config = cfg, .batch = 3, .seq = 40, .steps = 1, .warmup = 0, .threads = 2, .seed = 5, .recompute = rc};
    lethe_bench_plan_result p;
    lethe_bench_step_result r;
    assert_int_equal(lethe_bench_plan(&o, &p), LETHE_OK);
    if (lethe_bench_step(&o, &r) != LETHE_OK) fail_msg("%s", lethe_last_error());
    print_message("%s recompute=%d: plan %zu bytes (weights %zu, activations %zu, adapter %zu, other %zu), step %zu\n",
        name, rc, p.total, p.weights, p.activations, p.adapter, p.other, r.design_bytes);
    assert_int_equal(p.total, r.design_bytes);
    assert_int_equal(p.weights_bf16, 0);
    assert_int_equal(p.weights, p.n_params * sizeof(float));
    if (rc)
      assert_true(p.total < keep_total); /* recomputation keeps less */
    else
      keep_total = p.total;
  }
  /* full parameters of a subset instead of LoRA: the plan covers the selected tensors' copy,
   * gradients and moments and the workspace without adapter buffers */
  const char *layers[] = {"1-1", "-1", "0-1"}, *modules[] = {"mlp", "attn", "all"};
  for (int k = 0; k < 3; k++) {
    lethe_bench_step_opts o = {.config = cfg,
        .batch = 3,
        .seq = 40,
        .steps = 1,
        .warmup = 0,
        .threads = 2,
        .seed = 5,
        .train_layers = layers[k],
        .train_modules = modules[k]};
    lethe_bench_plan_result p;
    lethe_bench_step_result r;
    assert_int_equal(lethe_bench_plan(&o, &p), LETHE_OK);
    if (lethe_bench_step(&o, &r) != LETHE_OK) fail_msg("%s", lethe_last_error());
    print_message("%s layers %s %s: plan %zu bytes (trained %zu), step %zu\n", name, layers[k], modules[k], p.total,
        p.adapter, r.design_bytes);
    assert_int_equal(p.total, r.design_bytes);
    assert_true(p.adapter > 0 && p.adapter < p.n_params * sizeof(float) * 4);
    assert_int_equal(p.frozen, 0);
    /* a method that needs the reference's distribution: the frozen copy of the trained tensors
     * (one fp32 copy, never the whole model) and the reference's inference workspace */
    o.method = "undial";
    lethe_bench_plan_result q;
    assert_int_equal(lethe_bench_plan(&o, &q), LETHE_OK);
    assert_int_equal(q.frozen, p.adapter / 4);
    assert_true(q.frozen < p.n_params * sizeof(float));
    assert_true(q.activations > p.activations);
    assert_int_equal(q.total, p.total + q.frozen + (q.activations - p.activations));
    o.method = "no-such-method";
    assert_int_not_equal(lethe_bench_plan(&o, &q), LETHE_OK);
  }
  {
    lethe_bench_step_opts o = {.config = cfg, .batch = 3, .seq = 40, .threads = 2, .method = "undial"};
    lethe_bench_plan_result q;
    assert_int_equal(lethe_bench_plan(&o, &q), LETHE_OK);
    assert_int_equal(q.frozen, 0); /* LoRA: the reference is the adapter switched off */
  }
  /* bf16 projections: the plan for "cuda" (no GPU needed) against a model laid out that way */
  lethe_bench_step_opts o = {.config = cfg, .batch = 3, .seq = 40, .threads = 2, .device = "cuda"};
  lethe_bench_plan_result p;
  assert_int_equal(lethe_bench_plan(&o, &p), LETHE_OK);
  assert_int_equal(p.weights_bf16, 1);
  snprintf(rel, sizeof rel, "tests/fixtures/models/%s", name);
  char *dir = tu_src_path(rel);
  lethe_model *m;
  assert_int_equal(lethe_model_load(dir, &m), LETHE_OK);
  assert_int_equal(lethe_model_use_backend_ex(m, lethe_cpu_ops(), 1), LETHE_OK);
  size_t total, proj;
  assert_int_equal(lethe_config_count_params(&m->cfg, &total, &proj), LETHE_OK);
  assert_int_equal(p.weights, proj * sizeof(uint16_t) + (total - proj) * sizeof(float));
  assert_true(p.weights < p.n_params * sizeof(float));
  /* the CPU with bf16 weights (projections and the head): the plan is the model's own layout */
  o.device = "cpu:bf16";
  assert_int_equal(lethe_bench_plan(&o, &p), LETHE_OK);
  assert_int_equal(p.weights_bf16, 1);
  assert_int_equal(lethe_model_device_bytes(m), p.weights);
  o.device = "cuda:fp32";
  assert_int_equal(lethe_bench_plan(&o, &p), LETHE_OK);
  assert_int_equal(p.weights_bf16, 0);
  o.device = "cuda:fp8";
  assert_int_not_equal(lethe_bench_plan(&o, &p), LETHE_OK);
  lethe_model_free(m);
  free(dir);
  free(cfg);
}

static void test_olmo(void **s) {
  (void)s;
  check("olmo_tiny");
}
static void test_qwen2(void **s) {
  (void)s;
  check("qwen2_tiny");
}
static void test_llama(void **s) {
  (void)s;
  check("llama_tiny");
}

int main(void) {
  /* the thread count the options name (.threads = 2): the caller sets it, the library never does */
  omp_set_num_threads(2);
  openblas_set_num_threads(2);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_olmo), cmocka_unit_test(test_qwen2), cmocka_unit_test(test_llama)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
