/* tests/kernels/test_backend_parity.c: a device backend against the CPU backend, op by op on random
 * inputs and end to end on the fixture models (Low-Rank NPO steps, the adapter, answer NLLs, greedy
 * decoding with and without the KV cache, a checkpoint written from backend memory and resumed with
 * per-block activation recomputation; the newer objectives and full-parameter training of a
 * subset). Usage: test_backend_parity [BACKEND [fp32|bf16]]; ctest runs
 *   test_backend_parity              "cpu-shadow": the CPU kernels behind a table that says its memory
 *                                    is not the host's, so every upload, download and host copy the
 *                                    model, LoRA, trainer and checkpoint code make for a GPU is
 *                                    exercised here (results must be identical);
 *   test_backend_parity_bf16         the same with the block projections stored in bf16, against the
 *                                    CPU with the same bf16 weights (and a check that they differ
 *                                    from fp32 by a bf16-sized amount);
 *   test_backend_parity_cuda[_bf16]  the CUDA backend; exit code 77 (ctest: Skipped) without a GPU.
 * Tolerances: fp32 with different summation orders, relative error <= 1e-4 (adapter 2e-4); bf16 on
 * another device 2e-3 (adapter 2e-2): see test_model_step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "model/model.h"
#include "testutil.h"
#include "eval/seq_nll.h"
#include "lethe/generate.h"
#include "unlearn/trainer.h"
#include "util/bf16.h"
#include "util/rng.h"

static const lethe_ops *G;
static lethe_rng R;
static lethe_ops SHADOW;
static int BF16;     /* the model's projections stored in bf16 on both sides */
static int SHADOWED; /* G runs the CPU's own kernels: results must be identical */

static int setup(void **state) {
  (void)state;
  lethe_rng_seed(&R, 4242);
  return 0;
}

static float *rnd(size_t n, float scale) {
  float *x = malloc(sizeof(float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++) x[i] = (float)(scale * (2 * lethe_rng_uniform(&R) - 1));
  return x;
}
static void *up(const void *h, size_t bytes) {
  void *d = G->alloc(bytes);
  G->upload(d, h, bytes);
  return d;
}
static float *down(const float *d, size_t n) {
  float *h = malloc(sizeof(float) * n);
  G->download(h, d, sizeof(float) * n);
  return h;
}
static void same(const char *what, const float *dev, const float *host, size_t n, double tol) {
  float *h = down(dev, n);
  assert_int_equal(G->check(), LETHE_OK);
  tu_assert_close(what, h, host, n, tol);
  print_message("%-28s rel. err %.2e\n", what, tu_rel_err(h, host, n));
  free(h);
}

static void test_ops(void **state) {
  (void)state;
  /* GEMM, all four transpositions */
  int M = 67, N = 45, K = 129;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      float *A = rnd((size_t)M * K, 1), *B = rnd((size_t)K * N, 1), *C = rnd((size_t)M * N, 1);
      float *dA = up(A, sizeof(float) * M * K), *dB = up(B, sizeof(float) * K * N), *dC = up(C, sizeof(float) * M * N);
      cpu_gemm(ta, tb, M, N, K, 0.7f, A, ta ? M : K, B, tb ? K : N, 0.3f, C, N);
      G->gemm(ta, tb, M, N, K, 0.7f, dA, ta ? M : K, dB, tb ? K : N, 0.3f, dC, N);
      same("gemm", dC, C, (size_t)M * N, 1e-5);
      G->release(dA), G->release(dB), G->release(dC), free(A), free(B), free(C);
    }
  /* GEMM with bf16 weights: the CPU reference against sums in double of the rounded operands,
   * then the backend against the CPU (A with a row stride wider than K) */
  for (int tw = 0; tw < 2; tw++) {
    int lda = K + 3;
    float *A = rnd((size_t)M * lda, 1), *W32 = rnd((size_t)K * N, 1), *C = rnd((size_t)M * N, 1),
          *C0 = malloc(sizeof(float) * M * N);
    memcpy(C0, C, sizeof(float) * M * N);
    uint16_t *W = malloc(sizeof(uint16_t) * K * N);
    for (int i = 0; i < K * N; i++) W[i] = lethe_f32_bf16(W32[i]);
    int ldw = tw ? K : N;
    float *ref = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        double s = 0;
        for (int k = 0; k < K; k++)
          s += (double)lethe_bf16_round(A[(size_t)i * lda + k]) *
               lethe_bf16_f32(tw ? W[(size_t)j * ldw + k] : W[(size_t)k * ldw + j]);
        ref[(size_t)i * N + j] = (float)(0.7 * s + 0.3 * C[(size_t)i * N + j]);
      }
    cpu_gemm_bf16w(tw, M, N, K, 0.7f, A, lda, W, ldw, 0.3f, C, N);
    tu_assert_close("gemm_bf16w cpu vs double", C, ref, (size_t)M * N, 1e-5);
    float *dA = up(A, sizeof(float) * M * lda), *dC = up(C0, sizeof(float) * M * N);
    uint16_t *dW = G->alloc(sizeof(uint16_t) * K * N);
    G->upload_bf16(dW, W32, (size_t)K * N); /* the backend's own rounding of the fp32 weights */
    assert_int_equal(G->reserve_bf16((size_t)M * K), LETHE_OK);
    G->gemm_bf16w(tw, M, N, K, 0.7f, dA, lda, dW, ldw, 0.3f, dC, N);
    same("gemm_bf16w", dC, C, (size_t)M * N, 1e-5);
    G->release(dA), G->release(dW), G->release(dC), free(A), free(W32), free(W), free(C), free(C0), free(ref);
  }
  /* norms */
  int R_ = 13, d = 200;
  float *x = rnd((size_t)R_ * d, 2), *w = rnd(d, 1), *dy = rnd((size_t)R_ * d, 1);
  float *y = malloc(sizeof(float) * R_ * d), rstd[13], *dx = calloc((size_t)R_ * d, sizeof(float)), dw[200] = {0};
  float *gx = up(x, sizeof(float) * R_ * d), *gw = up(w, sizeof(float) * d), *gdy = up(dy, sizeof(float) * R_ * d);
  float *gy = G->alloc(sizeof(float) * R_ * d), *gr = G->alloc(sizeof(float) * R_),
        *gdx = G->alloc(sizeof(float) * R_ * d), *gdw = G->alloc(sizeof(float) * d);
  cpu_layernorm(y, NULL, rstd, x, R_, d, 1e-5f);
  G->layernorm(gy, NULL, gr, gx, R_, d, 1e-5f);
  same("layernorm", gy, y, (size_t)R_ * d, 1e-5);
  cpu_layernorm_backward(dx, dy, y, rstd, R_, d);
  G->layernorm_backward(gdx, gdy, gy, gr, R_, d);
  same("layernorm_backward", gdx, dx, (size_t)R_ * d, 1e-5);
  memset(dx, 0, sizeof(float) * R_ * d);
  G->zero(gdx, (size_t)R_ * d);
  cpu_rmsnorm(y, rstd, x, w, R_, d, 1e-6f);
  G->rmsnorm(gy, gr, gx, gw, R_, d, 1e-6f);
  same("rmsnorm", gy, y, (size_t)R_ * d, 1e-5);
  cpu_rmsnorm_backward(dx, dw, dy, x, w, rstd, R_, d);
  G->rmsnorm_backward(gdx, gdw, gdy, gx, gw, gr, R_, d);
  same("rmsnorm_backward dx", gdx, dx, (size_t)R_ * d, 1e-5);
  same("rmsnorm_backward dw", gdw, dw, (size_t)d, 1e-5);
  /* SwiGLU, clip, rope, Adam, sums of squares */
  int F = d / 2;
  float *h = malloc(sizeof(float) * R_ * F), *gh = G->alloc(sizeof(float) * R_ * F);
  cpu_swiglu(h, x, R_, F);
  G->swiglu(gh, gx, R_, F);
  same("swiglu", gh, h, (size_t)R_ * F, 1e-5);
  cpu_swiglu_backward(dx, dy, x, R_, F);
  G->swiglu_backward(gdx, gdy, gx, R_, F);
  same("swiglu_backward", gdx, dx, (size_t)R_ * 2 * F, 1e-5);
  double ss = cpu_sumsq(x, (size_t)R_ * d), gs = G->sumsq(gx, (size_t)R_ * d);
  assert_true(fabs(ss - gs) <= 1e-5 * ss);
  float *m = rnd((size_t)R_ * d, 0.1f), *v = rnd((size_t)R_ * d, 0.1f);
  for (int i = 0; i < R_ * d; i++) v[i] = fabsf(v[i]);
  float *gm = up(m, sizeof(float) * R_ * d), *gv = up(v, sizeof(float) * R_ * d);
  cpu_adam(x, dy, m, v, (size_t)R_ * d, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 1, 0.271f, 0.003f);
  G->adam(gx, gdy, gm, gv, (size_t)R_ * d, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 1, 0.271f, 0.003f);
  same("adam", gx, x, (size_t)R_ * d, 1e-6);
  G->release(gx), G->release(gw), G->release(gdy), G->release(gy), G->release(gr), G->release(gdx), G->release(gdw),
      G->release(gh), G->release(gm), G->release(gv);
  free(x), free(w), free(dy), free(y), free(dx), free(h), free(m), free(v);
}

/* The whole model: CPU and device give the same logits, loss terms and LoRA after NPO steps. */
/* 8 random sequences (alternately forget and retain) of 40 to 61 tokens. */
static void make_data(lethe_tokset *dp) {
  lethe_tokset d;
  memset(&d, 0, sizeof d);
  d.n = 8;
  d.offset = malloc(sizeof(int) * 9);
  d.tokens = malloc(sizeof(int) * 8 * 100);
  d.n_prompt = malloc(sizeof(int) * 8);
  d.split = malloc(8);
  d.row = calloc(8, sizeof(int));
  d.offset[0] = 0;
  for (int i = 0; i < 8; i++) {
    int len = 40 + 3 * i; /* up to 61 of the fixtures' 64 positions; a batch packs ~200 rows */
    for (int t = 0; t < len; t++) d.tokens[d.offset[i] + t] = 3 + (int)lethe_rng_below(&R, 90);
    d.offset[i + 1] = d.offset[i] + len;
    d.n_prompt[i] = 1 + i % 4;
    d.split[i] = (unsigned char)(i % 2);
    d.max_len = len > d.max_len ? len : d.max_len;
    d.n_answer_tokens += lethe_tokset_answer_count(&d, i);
  }
  *dp = d;
}

static void test_model_step(void **state) {
  (void)state;
  const char *names[2] = {"olmo_tiny", "qwen2_tiny"};
  for (int k = 0; k < 2; k++) {
    char rel[128];
    snprintf(rel, sizeof rel, "tests/fixtures/models/%s", names[k]);
    char *p = tu_src_path(rel);
    lethe_model *mc, *mg;
    assert_int_equal(lethe_model_load(p, &mc), LETHE_OK);
    assert_int_equal(lethe_model_load(p, &mg), LETHE_OK);
    /* with BF16 the reference is the CPU with the same bf16 weights */
    assert_int_equal(lethe_model_use_backend_ex(mc, lethe_cpu_ops(), BF16), LETHE_OK);
    assert_int_equal(lethe_model_use_backend_ex(mg, G, BF16), LETHE_OK);
    assert_int_equal(mg->wbf16, BF16);
    lethe_tokset d;
    make_data(&d);
    lethe_trainer_cfg c;
    memset(&c, 0, sizeof c);
    c.obj.forget = LETHE_FORGET_NPO;
    c.obj.beta = 0.5;
    c.obj.w_forget = c.obj.w_retain = 1;
    c.obj.w_kl = 0.5;
    c.batch = 4;
    c.grad_accum = 1;
    c.epochs = 2; /* step 3 (after the resume) is a real step of epoch 2 */
    c.lr = 1e-2;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    lethe_lora_config lc = {.rank = 5, .alpha = 5, .targets = (1u << LETHE_PROJ_Q) | (1u << LETHE_PROJ_V)};
    lethe_lora *lcpu, *lgpu;
    assert_int_equal(lethe_lora_create(&mc->cfg, &lc, 3, &lcpu), LETHE_OK);
    assert_int_equal(lethe_lora_create(&mg->cfg, &lc, 3, &lgpu), LETHE_OK);
    assert_int_equal(lethe_lora_use_backend(lgpu, G), LETHE_OK);
    /* fp32: 1e-4 (summation order); bf16 on another device: an activation that lands near a
     * rounding midpoint can round the other way, so 2e-3; the shadow backend is exact */
    double tol = SHADOWED ? 1e-6 : BF16 ? 2e-3 : 1e-4, atol = SHADOWED ? 1e-6 : BF16 ? 2e-2 : 2e-4;
    if (BF16) {
      /* bf16 storage is really in use: the base model's NLLs move, by a bf16-sized amount */
      lethe_model *mf;
      assert_int_equal(lethe_model_load(p, &mf), LETHE_OK);
      double s32[8], s16[8];
      int c32[8], c16[8];
      assert_int_equal(lethe_seq_nll(mf, NULL, &d, 4, s32, c32), LETHE_OK);
      assert_int_equal(lethe_seq_nll(mg, NULL, &d, 4, s16, c16), LETHE_OK);
      double worst = 0;
      for (int i = 0; i < 8; i++) {
        double e = fabs(s16[i] - s32[i]) / fabs(s32[i]);
        worst = e > worst ? e : worst;
      }
      print_message("%s: answer NLL, bf16 weights against fp32: worst relative difference %.2e\n", names[k], worst);
      assert_true(worst > 1e-7);
      assert_true(worst < 2e-2);
      lethe_model_free(mf);
    }
    lethe_trainer *tc, *tg;
    if (lethe_trainer_create(mc, lcpu, &d, &c, &tc) != LETHE_OK) fail_msg("%s", lethe_last_error());
    assert_int_equal(lethe_trainer_create(mg, lgpu, &d, &c, &tg), LETHE_OK);
    for (int step = 0; step < 2; step++) {
      lethe_step_stats a, b;
      int fa, fb;
      assert_int_equal(lethe_trainer_next(tc, &a, &fa), LETHE_OK);
      assert_int_equal(lethe_trainer_next(tg, &b, &fb), LETHE_OK);
      print_message("%s step %d: loss cpu %.7f device %.7f\n", names[k], step + 1, a.loss.total, b.loss.total);
      assert_true(fabs(a.loss.total - b.loss.total) <= tol * fabs(a.loss.total));
    }
    lethe_lora_sync_host(lgpu);
    tu_assert_close("adapter after two steps", lgpu->host, lcpu->params, lcpu->n_params, atol);
    /* Evaluation paths with the trained adapter: per-sequence answer NLL, and greedy decoding with
     * the KV cache (batched prompts of different lengths) and without it. */
    double sc[8], sg[8];
    int cc[8], cg[8];
    assert_int_equal(lethe_seq_nll(mc, lcpu, &d, 3, sc, cc), LETHE_OK);
    assert_int_equal(lethe_seq_nll(mg, lgpu, &d, 3, sg, cg), LETHE_OK);
    for (int i = 0; i < 8; i++) {
      assert_int_equal(cc[i], cg[i]);
      assert_true(cc[i] > 0);
      assert_true(fabs(sc[i] - sg[i]) <= tol * fabs(sc[i]));
    }
    const int *prompts[3] = {d.tokens + d.offset[0], d.tokens + d.offset[3], d.tokens + d.offset[5]};
    int plen[3] = {5, 11, 2};
    lethe_gen_opts go;
    lethe_gen_opts_default(&go);
    go.max_new = 12;
    int none = -1;
    go.stop_ids = &none; /* no stop id: every prompt gets all 12 tokens */
    go.n_stop = 1;
    /* greedy tokens must be identical; bf16 on another device may flip a near tie, so there the
     * NLLs above are the check */
    for (int nc = 0; nc < 2 && (SHADOWED || !BF16); nc++) {
      go.no_cache = nc;
      int *oc[3], *og[3], lc_[3], lg_[3];
      assert_int_equal(lethe_generate(mc, lcpu, prompts, plen, 3, &go, oc, lc_), LETHE_OK);
      assert_int_equal(lethe_generate(mg, lgpu, prompts, plen, 3, &go, og, lg_), LETHE_OK);
      for (int i = 0; i < 3; i++) {
        assert_int_equal(lc_[i], 12);
        assert_int_equal(lg_[i], lc_[i]);
        assert_memory_equal(oc[i], og[i], sizeof(int) * 12);
        free(oc[i]), free(og[i]);
      }
    }
    /* A checkpoint written from backend memory resumes, on the backend, the same run as the CPU. */
    char *ck = tu_tmp_path(k ? "backend_parity_ck1" : "backend_parity_ck0");
    assert_int_equal(lethe_checkpoint_save(tg, ck, "{}", 1.0), LETHE_OK);
    lethe_lora *lres;
    lethe_trainer *tr;
    assert_int_equal(lethe_lora_create(&mg->cfg, &lc, 99, &lres), LETHE_OK);
    assert_int_equal(lethe_lora_use_backend(lres, G), LETHE_OK);
    lethe_trainer_cfg crec = c;
    crec.recompute = 1; /* the resumed run recomputes activations per block: same numbers */
    assert_int_equal(lethe_trainer_create(mg, lres, &d, &crec, &tr), LETHE_OK);
    assert_int_equal(tr->ws->kind, LETHE_WS_RECOMPUTE);
    double el = 0;
    assert_int_equal(lethe_checkpoint_load(tr, ck, "{}", &el), LETHE_OK);
    lethe_step_stats a3, b3;
    int f3a, f3b;
    assert_int_equal(lethe_trainer_next(tc, &a3, &f3a), LETHE_OK);
    assert_int_equal(lethe_trainer_next(tr, &b3, &f3b), LETHE_OK);
    print_message("%s step 3 after resume: loss cpu %.7f device %.7f\n", names[k], a3.loss.total, b3.loss.total);
    assert_true(fabs(a3.loss.total - b3.loss.total) <= tol * fabs(a3.loss.total));
    assert_int_equal(f3a, f3b);
    assert_false(f3a);
    assert_true(a3.loss.total != 0.0);
    lethe_lora_sync_host(lres);
    tu_assert_close("adapter after resume", lres->host, lcpu->params, lcpu->n_params, atol);
    if (BF16) {
      /* merging into a model whose backend copy is bf16 merges into the fp32 host copy (equal to an
       * fp32 merge) and uploads it again (the merged base alone now scores like base + adapter) */
      double sa[8], sm[8], s0[8];
      int ca[8], cm[8], c0[8];
      assert_int_equal(lethe_seq_nll(mg, lgpu, &d, 4, sa, ca), LETHE_OK);
      assert_int_equal(lethe_seq_nll(mg, NULL, &d, 4, s0, c0), LETHE_OK);
      lethe_model *mf;
      assert_int_equal(lethe_model_load(p, &mf), LETHE_OK);
      lethe_lora_sync_host(lgpu);
      lethe_lora *lh;
      assert_int_equal(lethe_lora_create(&mf->cfg, &lc, 3, &lh), LETHE_OK);
      memcpy(lh->params, lgpu->host, sizeof(float) * lh->n_params);
      assert_int_equal(lethe_lora_merge(mf, lh), LETHE_OK);
      assert_int_equal(lethe_lora_merge(mg, lgpu), LETHE_OK);
      tu_assert_close("bf16 merge: host weights", mg->params, mf->params, mf->n_params, 1e-6);
      assert_int_equal(lethe_seq_nll(mg, NULL, &d, 4, sm, cm), LETHE_OK);
      double moved = 0, off = 0;
      for (int i = 0; i < 8; i++) moved += fabs(sa[i] - s0[i]), off += fabs(sm[i] - sa[i]);
      print_message(
          "bf16 merge: the adapter moves the NLLs by %.4f, the merged base is %.4f from base + adapter\n", moved, off);
      assert_true(off < 0.25 * moved);
      lethe_lora_free(lh);
      lethe_model_free(mf);
    }
    lethe_trainer_free(tr);
    lethe_lora_free(lres);
    free(ck);
    lethe_trainer_free(tc);
    lethe_trainer_free(tg);
    /* an adapter on the backend comes back to the CPU with its trained values: on the CPU model
     * it scores the answers as the CPU's own adapter did after the same two steps (sc) */
    assert_int_equal(lethe_lora_use_backend(lgpu, lethe_cpu_ops()), LETHE_OK);
    assert_ptr_equal(lgpu->params, lgpu->host);
    double sb[8];
    int cb[8];
    assert_int_equal(lethe_seq_nll(mc, lgpu, &d, 3, sb, cb), LETHE_OK);
    for (int i = 0; i < 8; i++) assert_true(fabs(sb[i] - sc[i]) <= tol * fabs(sc[i]));
    lethe_lora_free(lcpu);
    lethe_lora_free(lgpu);
    lethe_tokset_free(&d);
    lethe_model_free(mc);
    lethe_model_free(mg);
    free(p);
  }
}

/* The newer objectives' classifier terms (probability weights, target distributions with and
 * without the reference), RMU's layer-output step and full-parameter training of a subset, on the
 * backend against the CPU: four steps each, loss and trained weights. */
static void test_objectives_step(void **state) {
  (void)state;
  if (BF16) skip(); /* the projections train in fp32 here; bf16 storage is test_model_step's */
  const char *methods[] = {"wga", "satimp", "undial", "ce-u", "rmu", "gd-adaptive"};
  char *p = tu_src_path("tests/fixtures/models/olmo_tiny");
  for (int k = 0; k < 6; k++) {
    lethe_model *mc, *mg;
    assert_int_equal(lethe_model_load(p, &mc), LETHE_OK);
    assert_int_equal(lethe_model_load(p, &mg), LETHE_OK);
    assert_int_equal(lethe_model_use_backend_ex(mc, lethe_cpu_ops(), 0), LETHE_OK);
    assert_int_equal(lethe_model_use_backend_ex(mg, G, 0), LETHE_OK);
    lethe_tokset d;
    make_data(&d);
    lethe_trainer_cfg c;
    memset(&c, 0, sizeof c);
    assert_true(lethe_objective_preset(methods[k], &c.obj));
    if (c.obj.forget ==
        LETHE_FORGET_UNDIAL) { /* with a full-vocabulary retain KL: both reference targets in one batch */
      c.obj.w_retain = 1;
      c.obj.w_kl = 0.5;
      c.obj.kl = LETHE_KL_FULL;
    }
    if (c.obj.forget == LETHE_FORGET_RMU) { /* layer 0 of the 2, the reference's layer output downloaded */
      c.obj.rmu_layer = 0;
      c.obj.rmu_coeff = 4;
      c.obj.w_retain = 10;
    }
    c.batch = 4;
    c.grad_accum = 1;
    c.epochs = 2;
    c.lr = 1e-2;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-3;
    int full = !strcmp(methods[k], "gd-adaptive");
    lethe_lora *lc = NULL, *lg = NULL;
    if (full) {
      c.train_lo = c.train_hi = 1;
      c.train_modules = LETHE_TRAIN_MLP;
    } else {
      lethe_lora_config cfg = {.rank = 4, .alpha = 4, .targets = (1u << LETHE_NPROJ) - 1};
      assert_int_equal(lethe_lora_create(&mc->cfg, &cfg, 3, &lc), LETHE_OK);
      assert_int_equal(lethe_lora_create(&mg->cfg, &cfg, 3, &lg), LETHE_OK);
      assert_int_equal(lethe_lora_use_backend(lg, G), LETHE_OK);
    }
    double tol = SHADOWED ? 1e-6 : 1e-4, atol = SHADOWED ? 1e-6 : 2e-4;
    lethe_trainer *tc, *tg;
    if (lethe_trainer_create(mc, lc, &d, &c, &tc) != LETHE_OK) fail_msg("%s", lethe_last_error());
    assert_int_equal(lethe_trainer_create(mg, lg, &d, &c, &tg), LETHE_OK);
    for (int step = 0; step < 4; step++) { /* two epochs: gd-adaptive's retain weight adapts in the second */
      lethe_step_stats a, b;
      int fa, fb;
      assert_int_equal(lethe_trainer_next(tc, &a, &fa), LETHE_OK);
      assert_int_equal(lethe_trainer_next(tg, &b, &fb), LETHE_OK);
      print_message("%s step %d: loss cpu %.7f device %.7f\n", methods[k], step + 1, a.loss.total, b.loss.total);
      assert_true(fabs(a.loss.total - b.loss.total) <= tol * fabs(a.loss.total) + 1e-7);
    }
    if (full) {
      float *h = malloc(sizeof(float) * tg->n_params);
      G->download(h, tg->params, sizeof(float) * tg->n_params);
      tu_assert_close("trained tensors after four steps", h, tc->params, tc->n_params, atol);
      free(h);
    } else {
      lethe_lora_sync_host(lg);
      tu_assert_close("adapter after four steps", lg->host, lc->params, lc->n_params, atol);
    }
    lethe_trainer_free(tc);
    lethe_trainer_free(tg);
    lethe_lora_free(lc);
    lethe_lora_free(lg);
    lethe_tokset_free(&d);
    lethe_model_free(mc);
    lethe_model_free(mg);
  }
  free(p);
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "cpu-shadow";
  BF16 = argc > 2 && !strcmp(argv[2], "bf16");
  if (!strcmp(name, "cpu-shadow")) {
    SHADOW = *lethe_cpu_ops();
    SHADOW.name = "cpu-shadow";
    SHADOW.host_visible = 0;
    G = &SHADOW;
    SHADOWED = 1;
  } else if (lethe_backend(name, &G) != LETHE_OK) {
    /* ctest reports 77 as Skipped (SKIP_RETURN_CODE): a machine without a GPU never shows this
     * check as passed. */
    printf("SKIP: backend '%s' unavailable here: %s\n", name, lethe_last_error());
    return 77;
  }
  printf("backend under test: %s, weights %s\n", G->name, BF16 ? "bf16" : "fp32");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ops),
      cmocka_unit_test(test_model_step),
      cmocka_unit_test(test_objectives_step),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
