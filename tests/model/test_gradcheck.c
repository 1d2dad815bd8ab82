/* tests/model/test_gradcheck.c: finite-difference checks of the backward pass on tiny random models
 * of both families: every LoRA factor (sampled entries and a directional derivative over the
 * whole adapter), every base tensor in full-parameter mode (sampled entries), and the gradient at
 * the model's input activations, and full-parameter training of a subset (layers and modules:
 * only the selected tensors have gradients, equal to the whole model's, and each matches finite
 * differences; the pass stops at the lowest trained layer). The loss mixes every coefficient kind the fused classifier
 * knows (fixed weights, the NPO sigmoid term, full-vocabulary KL), so the objectives' gradients are covered too.
 *
 * Tolerance: central differences in fp32 with eps = 1e-2 (1e-3 where clip_qkv is on, so that a
 * step rarely crosses a clamp's kink; the test asserts the clamp is active), loss summed in
 * double; directional derivative with eps = 3e-4. Sampled
 * entries: |fd - analytic| <= 2e-2 * max|analytic| + 2e-4; directional derivative relative error
 * <= 1e-2. A wrong sign, a missing term or a transposed GEMM misses these by orders of magnitude. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "testutil.h"
#include "util/rng.h"

#define NSEQ 3
static const int LENS[NSEQ] = {5, 7, 4};

typedef struct {
  lethe_model *m;
  lethe_lora *lora;
  lethe_workspace *ws, *ws_ref;
  lethe_batch b;
  int tokens[16], targets[16], start[NSEQ + 1];
  float fixed[16], sig[16], ref[16], kl[16];
  float ref_rows[16 * 64];
  lethe_head_coef coef;
  float beta;
} fixture;

static lethe_config tiny_config(lethe_arch arch) {
  lethe_config c;
  memset(&c, 0, sizeof c);
  c.arch = arch;
  snprintf(c.model_type, sizeof c.model_type, "%s", arch == LETHE_ARCH_OLMO ? "olmo" : "qwen2");
  c.vocab_size = 37;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = arch == LETHE_ARCH_OLMO ? 4 : 2;
  c.head_dim = 4;
  c.hidden_dim = 24;
  c.max_seq_len = 64;
  c.norm_eps = arch == LETHE_ARCH_OLMO ? 1e-5 : 1e-6;
  c.rope_theta = 10000.0;
  c.clip_qkv = arch == LETHE_ARCH_OLMO ? 2.0 : 0.0;
  c.tie_embeddings = arch == LETHE_ARCH_LLAMA;
  c.qkv_bias = arch == LETHE_ARCH_LLAMA;
  c.bos_id = -1;
  c.pad_id = -1;
  snprintf(c.dtype, sizeof c.dtype, "float32");
  return c;
}

static void setup(fixture *f, lethe_arch arch, int with_lora, int full) {
  memset(f, 0, sizeof *f);
  lethe_config c = tiny_config(arch);
  assert_int_equal(lethe_model_create(&c, 11 + arch, 0.35f, &f->m), LETHE_OK);
  /* Norm weights away from 1 so their gradients are exercised. */
  lethe_rng r;
  lethe_rng_seed(&r, 99);
  for (int i = 0; i < f->m->n_tensors; i++)
    if (strstr(f->m->tensors[i].name, "norm.weight"))
      for (size_t k = 0; k < f->m->tensors[i].numel; k++)
        f->m->params[f->m->tensors[i].offset + k] = 0.7f + 0.6f * (float)lethe_rng_uniform(&r);
  if (with_lora) {
    lethe_lora_config lc = {
        .rank = 3, .alpha = 6.0, .rslora = 0, .targets = (1u << LETHE_NPROJ) - 1, .init = LETHE_LORA_INIT_XAVIER};
    assert_int_equal(lethe_lora_create(&c, &lc, 5, &f->lora), LETHE_OK);
    for (size_t i = 0; i < f->lora->n_params; i++)
      if (f->lora->params[i] == 0.0f) f->lora->params[i] = 0.1f * (float)lethe_rng_normal(&r);
  }
  if (full) assert_int_equal(lethe_model_enable_grads(f->m), LETHE_OK);
  int N = 0;
  f->start[0] = 0;
  for (int s = 0; s < NSEQ; s++) f->start[s + 1] = f->start[s] + LENS[s];
  N = f->start[NSEQ];
  for (int t = 0; t < N; t++) {
    f->tokens[t] = (int)lethe_rng_below(&r, (uint64_t)c.vocab_size);
    f->targets[t] = lethe_rng_uniform(&r) < 0.7 ? (int)lethe_rng_below(&r, (uint64_t)c.vocab_size) : -1;
  }
  f->b = (lethe_batch){.n_seq = NSEQ, .n_tokens = N, .tokens = f->tokens, .targets = f->targets, .start = f->start};
  assert_int_equal(lethe_workspace_create(f->m, f->lora, 32, 8, 1, &f->ws), LETHE_OK);
  assert_int_equal(lethe_workspace_create(f->m, NULL, 32, 8, 0, &f->ws_ref), LETHE_OK);
  /* Reference rows for the KL term: the base model's head inputs (held fixed). */
  assert_int_equal(lethe_forward(f->m, NULL, f->ws_ref, &f->b), LETHE_OK);
  assert_int_equal(lethe_head(f->m, f->ws_ref, &f->b, NULL, 0), LETHE_OK);
  int n = f->ws_ref->n_rows;
  memcpy(f->ref_rows, f->ws_ref->xrows, sizeof(float) * (size_t)n * c.dim);
  for (int i = 0; i < n; i++) {
    f->fixed[i] = (float)(lethe_rng_uniform(&r) - 0.5);
    f->sig[i] = (i % 2) ? (float)lethe_rng_uniform(&r) : 0.0f;
    f->ref[i] = f->ws_ref->logp[i] + (float)(0.5 * lethe_rng_normal(&r));
    f->kl[i] = (i % 3 == 0) ? (float)lethe_rng_uniform(&r) : 0.0f;
  }
  f->beta = 0.5f;
  f->coef = (lethe_head_coef){
      .fixed = f->fixed, .sig = f->sig, .ref = f->ref, .beta = f->beta, .kl = f->kl, .ref_hidden = f->ref_rows};
}

static void teardown(fixture *f) {
  lethe_workspace_free(f->ws);
  lethe_workspace_free(f->ws_ref);
  lethe_lora_free(f->lora);
  lethe_model_free(f->m);
}

/* L = sum_t fixed l + (sig / beta) softplus(beta (l - ref)) + kl KL_t, in double. */
static double loss(fixture *f) {
  assert_int_equal(lethe_forward(f->m, f->lora, f->ws, &f->b), LETHE_OK);
  assert_int_equal(lethe_head(f->m, f->ws, &f->b, &f->coef, 0), LETHE_OK);
  double L = 0;
  for (int i = 0; i < f->ws->n_rows; i++) {
    double l = f->ws->logp[i];
    double u = f->beta * (l - f->ref[i]);
    double sp = u > 30 ? u : log1p(exp(u));
    L += f->fixed[i] * l + f->sig[i] / f->beta * sp + f->kl[i] * (double)f->ws->kl_rows[i];
  }
  return L;
}

/* Number of q/k/v values the clamp cut in the last forward (all layers). */
static long clipped(const fixture *f) {
  long n = 0;
  if (f->m->cfg.clip_qkv <= 0) return 0;
  for (int l = 0; l < f->m->cfg.n_layers; l++)
    for (long i = 0; i < (long)f->b.n_tokens * lethe_qkvdim(&f->m->cfg); i++) n += !f->ws->layers[l].clip_mask[i];
  return n;
}

static void analytic(fixture *f) {
  if (f->lora) memset(f->lora->grads, 0, sizeof(float) * f->lora->n_params);
  if (f->m->grads) memset(f->m->grads, 0, sizeof(float) * f->m->n_grads);
  assert_int_equal(lethe_forward(f->m, f->lora, f->ws, &f->b), LETHE_OK);
  assert_int_equal(lethe_head(f->m, f->ws, &f->b, &f->coef, 1), LETHE_OK);
  assert_int_equal(lethe_backward(f->m, f->lora, f->ws, &f->b), LETHE_OK);
  if (f->m->cfg.clip_qkv > 0) {
    long n = clipped(f);
    print_message("clip_qkv %.2f cut %ld values\n", f->m->cfg.clip_qkv, n);
    assert_true(n > 0);
  }
}

static double fd(fixture *f, float *p, double eps) {
  float keep = *p;
  *p = keep + (float)eps;
  double lp = loss(f);
  *p = keep - (float)eps;
  double lm = loss(f);
  *p = keep;
  return (lp - lm) / (2 * eps);
}

/* Checks `count` sampled entries of params[0..n) against grads[0..n). */
static void check_entries(
    fixture *f, const char *what, float *params, const float *grads, size_t n, int count, uint64_t seed) {
  lethe_rng r;
  lethe_rng_seed(&r, seed);
  double gmax = 0;
  for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(grads[i]));
  for (int k = 0; k < count; k++) {
    size_t i = (size_t)lethe_rng_below(&r, n);
    double num = fd(f, &params[i], f->m->cfg.clip_qkv > 0 ? 1e-3 : 1e-2), an = grads[i];
    double tol = 2e-2 * gmax + 2e-4;
    if (fabs(num - an) > tol) {
      print_error("%s[%zu]: finite difference %.6g, analytic %.6g (tol %.3g)\n", what, i, num, an, tol);
      fail();
    }
  }
}

static void gradcheck_lora(lethe_arch arch) {
  fixture f;
  setup(&f, arch, 1, 0);
  analytic(&f);
  float *g = malloc(sizeof(float) * f.lora->n_params);
  memcpy(g, f.lora->grads, sizeof(float) * f.lora->n_params);
  for (int p = 0; p < LETHE_NPROJ; p++) {
    for (int l = 0; l < f.m->cfg.n_layers; l++) {
      char what[64];
      size_t nA = (size_t)f.lora->cfg.rank * f.lora->in_dim[p], nB = (size_t)f.lora->out_dim[p] * f.lora->cfg.rank;
      snprintf(what, sizeof what, "layer %d %s lora_A", l, LETHE_PROJ_NAMES[p]);
      float *A = lethe_lora_A(f.lora, p, l);
      check_entries(&f, what, A, g + (A - f.lora->params), nA, 6, 100 + p * 10 + l);
      snprintf(what, sizeof what, "layer %d %s lora_B", l, LETHE_PROJ_NAMES[p]);
      float *B = lethe_lora_B(f.lora, p, l);
      check_entries(&f, what, B, g + (B - f.lora->params), nB, 6, 200 + p * 10 + l);
    }
  }
  /* Directional derivative along a random direction over the whole adapter. */
  lethe_rng r;
  lethe_rng_seed(&r, 7);
  size_t n = f.lora->n_params;
  float *dir = malloc(sizeof(float) * n), *base = malloc(sizeof(float) * n);
  memcpy(base, f.lora->params, sizeof(float) * n);
  double gd = 0;
  for (size_t i = 0; i < n; i++) {
    dir[i] = (float)lethe_rng_normal(&r);
    gd += (double)dir[i] * g[i];
  }
  double eps = 3e-4;
  for (size_t i = 0; i < n; i++) f.lora->params[i] = base[i] + (float)eps * dir[i];
  double lp = loss(&f);
  for (size_t i = 0; i < n; i++) f.lora->params[i] = base[i] - (float)eps * dir[i];
  double lm = loss(&f);
  memcpy(f.lora->params, base, sizeof(float) * n);
  double num = (lp - lm) / (2 * eps);
  print_message("directional derivative: finite difference %.8g, analytic %.8g\n", num, gd);
  assert_true(fabs(num - gd) <= 1e-2 * fabs(gd) + 1e-4);
  free(dir);
  free(base);
  free(g);
  teardown(&f);
}

static void gradcheck_full(lethe_arch arch) {
  fixture f;
  setup(&f, arch, 0, 1);
  analytic(&f);
  float *g = malloc(sizeof(float) * f.m->n_params);
  memcpy(g, f.m->grads, sizeof(float) * f.m->n_params);
  /* Input activations: dL/d(embedding output) equals the embedding row's gradient for a token
   * that occurs once (and, untied, does not also feed the head). */
  float *dx0 = malloc(sizeof(float) * (size_t)f.b.n_tokens * f.m->cfg.dim);
  memcpy(dx0, f.ws->dx, sizeof(float) * (size_t)f.b.n_tokens * f.m->cfg.dim);
  for (int i = 0; i < f.m->n_tensors; i++) {
    const lethe_tensor *t = &f.m->tensors[i];
    check_entries(&f, t->name, f.m->params + t->offset, g + t->offset, t->numel, 4, 300 + i);
  }
  if (!f.m->cfg.tie_embeddings) {
    int checked = 0;
    for (int t = 0; t < f.b.n_tokens && checked < 4; t++) {
      int count = 0;
      for (int u = 0; u < f.b.n_tokens; u++) count += f.tokens[u] == f.tokens[t];
      if (count != 1) continue;
      for (int col = 0; col < f.m->cfg.dim; col += 5) {
        float *p = f.m->embed + (size_t)f.tokens[t] * f.m->cfg.dim + col;
        double num = fd(&f, p, f.m->cfg.clip_qkv > 0 ? 1e-3 : 1e-2), an = dx0[(size_t)t * f.m->cfg.dim + col];
        if (fabs(num - an) > 2e-2 * fabs(an) + 5e-4) {
          print_error("input activation row %d col %d: fd %.6g analytic %.6g\n", t, col, num, an);
          fail();
        }
      }
      checked++;
    }
    assert_true(checked > 0);
  }
  free(dx0);
  free(g);
  teardown(&f);
}

/* Full-parameter training of layer 1's `modules` only. */
static void gradcheck_subset(lethe_arch arch, unsigned modules) {
  fixture whole;
  setup(&whole, arch, 0, 1);
  analytic(&whole);
  fixture f;
  setup(&f, arch, 0, 0);
  assert_int_equal(lethe_model_enable_grads_subset(f.m, 1, 1, modules), LETHE_OK);
  assert_int_equal(f.m->grad_lo_layer, 1);
  analytic(&f);
  size_t selected = 0;
  int checked = 0;
  for (int i = 0; i < f.m->n_tensors; i++) {
    const lethe_tensor *t = &f.m->tensors[i];
    float *g = lethe_model_grad_of(f.m, f.m->dev.params + t->dev_off);
    int layer = -1, used = 0;
    int in_layer = sscanf(t->name, "model.layers.%d.%n", &layer, &used) == 1 && layer == 1;
    const char *rest = t->name + used;
    int want =
        in_layer && (((modules & LETHE_TRAIN_ATTN) && !strncmp(rest, "self_attn.", 10) && !strstr(rest, "norm")) ||
                        ((modules & LETHE_TRAIN_MLP) && !strncmp(rest, "mlp.", 4)) ||
                        ((modules & LETHE_TRAIN_NORMS) && strstr(rest, "norm")));
    if (!want) {
      if (g) print_error("%s has a gradient but is not selected\n", t->name);
      assert_null(g);
      continue;
    }
    assert_non_null(g);
    selected += t->numel;
    /* the same gradient as the whole model's backward */
    tu_assert_close(t->name, g, whole.m->grads + t->offset, t->numel, 1e-5);
    check_entries(&f, t->name, f.m->params + t->offset, g, t->numel, 4, 500 + i);
    checked++;
  }
  assert_true(checked > 0);
  assert_int_equal(selected, f.m->n_grads);
  teardown(&f);
  teardown(&whole);
}

static void test_subset_mlp_olmo(void **s) {
  (void)s;
  gradcheck_subset(LETHE_ARCH_OLMO, LETHE_TRAIN_MLP);
}
static void test_subset_attn_llama(void **s) {
  (void)s;
  gradcheck_subset(LETHE_ARCH_LLAMA, LETHE_TRAIN_ATTN);
}
static void test_subset_layer_llama(void **s) {
  (void)s;
  gradcheck_subset(LETHE_ARCH_LLAMA, LETHE_TRAIN_LAYER);
}

static void test_lora_olmo(void **s) {
  (void)s;
  gradcheck_lora(LETHE_ARCH_OLMO);
}
static void test_lora_llama(void **s) {
  (void)s;
  gradcheck_lora(LETHE_ARCH_LLAMA);
}
static void test_full_olmo(void **s) {
  (void)s;
  gradcheck_full(LETHE_ARCH_OLMO);
}
static void test_full_llama(void **s) {
  (void)s;
  gradcheck_full(LETHE_ARCH_LLAMA);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lora_olmo),
      cmocka_unit_test(test_lora_llama),
      cmocka_unit_test(test_full_olmo),
      cmocka_unit_test(test_full_llama),
      cmocka_unit_test(test_subset_mlp_olmo),
      cmocka_unit_test(test_subset_attn_llama),
      cmocka_unit_test(test_subset_layer_llama),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
