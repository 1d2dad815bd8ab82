/* bench/profile_ops.c: a backend that runs another (the CPU's) and times its operations by part of
 * the step, for `lethe bench step --profile`: wall seconds and process CPU seconds (every thread's),
 * the second being what a loaded machine distorts least. A frozen-weight product is one through
 * gemm_bf16w, or any other fp32 gemm; a LoRA product is an fp32 gemm whose N or K (or M, when A is
 * transposed: dA = du^T x) is at most 64, the rank (so models with a hidden size of 64 or less are
 * not told apart). Attention runs its own GEMMs inside the attention operations. */
#include <string.h>
#include <time.h>

#include "bench/profile_ops.h"
#include "lethe/util.h"

static const lethe_ops *BASE;
static lethe_ops PROF;
static double WALL[LETHE_PART_N], CPU[LETHE_PART_N];

const char *const LETHE_PART_NAMES[LETHE_PART_N] = {
    "frozen GEMMs", "LoRA", "attention", "norms", "RoPE", "classifier", "SwiGLU", "Adam", "embedding"};

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define TIMED(part, call)                                                                                              \
  do {                                                                                                                 \
    double w0 = lethe_now_s(), c0 = cpu_now();                                                                         \
    call;                                                                                                              \
    WALL[part] += lethe_now_s() - w0;                                                                                  \
    CPU[part] += cpu_now() - c0;                                                                                       \
  } while (0)

static void p_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
    float beta, float *C, int ldc) {
  int lora = N <= 64 || K <= 64 || (ta && M <= 64); /* the rank is N, K, or M of dA = du^T x */
  TIMED(lora ? LETHE_PART_LORA : LETHE_PART_GEMM, BASE->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
}
static void p_gemm_bf16w(int tw, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W, int ldw,
    float beta, float *C, int ldc) {
  TIMED(LETHE_PART_GEMM, BASE->gemm_bf16w(tw, M, N, K, alpha, A, lda, W, ldw, beta, C, ldc));
}
static void p_attention(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
    const int *start, int n_seq, int N, int H, int KV, int hd, int window, const lethe_scratch *s) {
  TIMED(LETHE_PART_ATTN, BASE->attention(out, lse, q, k, v, ldq, ldkv, start, n_seq, N, H, KV, hd, window, s));
}
static void p_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
    const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start, int n_seq, int N, int H,
    int KV, int hd, int window, const lethe_scratch *s) {
  TIMED(LETHE_PART_ATTN,
      BASE->attention_backward(dq, dk, dv, dout, out, lse, q, k, v, ldq, ldkv, start, n_seq, N, H, KV, hd, window, s));
}
static void p_layernorm(float *y, float *mean, float *rstd, const float *x, int N, int d, float eps) {
  TIMED(LETHE_PART_NORM, BASE->layernorm(y, mean, rstd, x, N, d, eps));
}
static void p_layernorm_backward(float *dx, const float *dy, const float *y, const float *rstd, int N, int d) {
  TIMED(LETHE_PART_NORM, BASE->layernorm_backward(dx, dy, y, rstd, N, d));
}
static void p_rmsnorm(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps) {
  TIMED(LETHE_PART_NORM, BASE->rmsnorm(y, rstd, x, w, N, d, eps));
}
static void p_rmsnorm_backward(
    float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int N, int d) {
  TIMED(LETHE_PART_NORM, BASE->rmsnorm_backward(dx, dw, dy, x, w, rstd, N, d));
}
static void p_rope(
    float *x, int N, int nh, int hd, int ld, const int *pos, const float *cos, const float *sin, int inv) {
  TIMED(LETHE_PART_ROPE, BASE->rope(x, N, nh, hd, ld, pos, cos, sin, inv));
}
static void p_classifier(float *l, float *lse, float *kl_out, float *dx, float *dw, const float *x, const float *w,
    const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk) {
  TIMED(LETHE_PART_CLASSIFIER, BASE->classifier(l, lse, kl_out, dx, dw, x, w, y, n, d, V, coef, scratch, chunk));
}
static void p_classifier_bf16w(float *l, float *lse, float *kl_out, float *dx, const float *x, const uint16_t *w16,
    const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk) {
  TIMED(LETHE_PART_CLASSIFIER, BASE->classifier_bf16w(l, lse, kl_out, dx, x, w16, y, n, d, V, coef, scratch, chunk));
}
static void p_swiglu(float *h, const float *gu, int N, int F) { TIMED(LETHE_PART_SWIGLU, BASE->swiglu(h, gu, N, F)); }
static void p_swiglu_backward(float *dgu, const float *dh, const float *gu, int N, int F) {
  TIMED(LETHE_PART_SWIGLU, BASE->swiglu_backward(dgu, dh, gu, N, F));
}
static void p_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
    float wd, int dec, float b1c, float b2c) {
  TIMED(LETHE_PART_ADAM, BASE->adam(p, g, m, v, n, lr, b1, b2, eps, wd, dec, b1c, b2c));
}
static void p_embed(float *x, const float *emb, const int *tokens, int N, int d) {
  TIMED(LETHE_PART_EMBED, BASE->embed(x, emb, tokens, N, d));
}
static void p_embed_bf16(float *x, const uint16_t *emb, const int *tokens, int N, int d) {
  TIMED(LETHE_PART_EMBED, BASE->embed_bf16(x, emb, tokens, N, d));
}

const lethe_ops *lethe_profile_ops(const lethe_ops *base) {
  BASE = base;
  PROF = *base;
  PROF.name = "cpu-profiled";
  PROF.gemm = p_gemm;
  if (base->gemm_bf16w) PROF.gemm_bf16w = p_gemm_bf16w;
  PROF.attention = p_attention;
  PROF.attention_backward = p_attention_backward;
  PROF.layernorm = p_layernorm;
  PROF.layernorm_backward = p_layernorm_backward;
  PROF.rmsnorm = p_rmsnorm;
  PROF.rmsnorm_backward = p_rmsnorm_backward;
  PROF.rope = p_rope;
  PROF.classifier = p_classifier;
  if (base->classifier_bf16w) PROF.classifier_bf16w = p_classifier_bf16w;
  PROF.swiglu = p_swiglu;
  PROF.swiglu_backward = p_swiglu_backward;
  PROF.adam = p_adam;
  PROF.embed = p_embed;
  if (base->embed_bf16) PROF.embed_bf16 = p_embed_bf16;
  lethe_profile_reset();
  return &PROF;
}

void lethe_profile_reset(void) {
  memset(WALL, 0, sizeof WALL);
  memset(CPU, 0, sizeof CPU);
}

void lethe_profile_read(double wall[LETHE_PART_N], double cpu[LETHE_PART_N]) {
  memcpy(wall, WALL, sizeof WALL);
  memcpy(cpu, CPU, sizeof CPU);
}

double lethe_process_cpu_s(void) { return cpu_now(); }
