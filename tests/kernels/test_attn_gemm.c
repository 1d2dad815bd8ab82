/* tests/kernels/test_attn_gemm.c: the attention-as-GEMMs plan of kernels/attn_gemm.c, run on CPU
 * callbacks (cblas column-major GEMMs, plain loops for the three row kernels: what the CUDA backend
 * does with cuBLAS and its kernels), against the CPU backend's attention (itself tested against a
 * double-precision reference in test_kernels.c): forward output and log-sum-exp, and dq, dk, dv;
 * GQA (3 query heads per kv head), padded row strides, packed sequences of 70, 1, 33 and 12 rows,
 * with and without a sliding window, with all kv heads in one batch and one at a time. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attn_gemm.h"
#include "kernels/cpu/cpu.h"
#include "testutil.h"
#include "util/rng.h"

static lethe_rng R;

static float *rnd(size_t n) {
  float *x = malloc(sizeof(float) * n);
  for (size_t i = 0; i < n; i++) x[i] = (float)(2 * lethe_rng_uniform(&R) - 1);
  return x;
}

/* ---- CPU callbacks -------------------------------------------------------------------------- */

static void g_gemm(void *ctx, int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda, long long sA,
    const float *B, int ldb, long long sB, float beta, float *C, int ldc, long long sC, int batch) {
  (void)ctx;
  for (int b = 0; b < batch; b++)
    cblas_sgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
        A + b * sA, lda, B + b * sB, ldb, beta, C + b * sC, ldc);
}

static int kept(int i, int j, int window) { return j <= i && (window <= 0 || j > i - window); }

static void g_softmax(
    void *ctx, float *S, float *lse, long long lse_sb, long long lse_si, int L, int batch, int window) {
  (void)ctx;
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < L; i++) {
      float *row = S + (size_t)b * L * L + (size_t)i * L;
      float m = -INFINITY;
      for (int j = 0; j < L; j++)
        if (kept(i, j, window) && row[j] > m) m = row[j];
      double sum = 0;
      for (int j = 0; j < L; j++) {
        row[j] = kept(i, j, window) ? expf(row[j] - m) : 0.0f;
        sum += row[j];
      }
      for (int j = 0; j < L; j++) row[j] = (float)(row[j] / sum);
      lse[b * lse_sb + i * lse_si] = m + (float)log(sum);
    }
}

static void g_probs(
    void *ctx, float *S, const float *lse, long long lse_sb, long long lse_si, int L, int batch, int window) {
  (void)ctx;
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < L; i++) {
      float *row = S + (size_t)b * L * L + (size_t)i * L, l = lse[b * lse_sb + i * lse_si];
      for (int j = 0; j < L; j++) row[j] = kept(i, j, window) ? expf(row[j] - l) : 0.0f;
    }
}

static void g_dscores(void *ctx, float *dP, const float *P, const float *dO, const float *O, long long so_b,
    long long so_i, int hd, int L, int batch) {
  (void)ctx;
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < L; i++) {
      const float *d = dO + b * so_b + i * so_i, *o = O + b * so_b + i * so_i;
      float D = 0;
      for (int c = 0; c < hd; c++) D += d[c] * o[c];
      float *dp = dP + (size_t)b * L * L + (size_t)i * L;
      const float *p = P + (size_t)b * L * L + (size_t)i * L;
      for (int j = 0; j < L; j++) dp[j] = p[j] * (dp[j] - D);
    }
}

static const lethe_attn_gemm_ops CPU_PLAN = {NULL, g_gemm, g_softmax, g_probs, g_dscores};

/* the head columns of a strided (N, ld) buffer */
static float *cols(const float *x, int N, int ld, int c) {
  float *y = malloc(sizeof(float) * N * c);
  for (int t = 0; t < N; t++) memcpy(y + (size_t)t * c, x + (size_t)t * ld, sizeof(float) * c);
  return y;
}

static void check(int window, int one_kv_head_at_a_time) {
  int H = 6, KV = 2, hd = 16, n_seq = 4, start[5] = {0, 70, 71, 104, 116};
  int N = start[n_seq], longest = 70, ldq = (H + 2 * KV) * hd + 5, ldkv = ldq;
  float *qkv = rnd((size_t)N * ldq), *dout = rnd((size_t)N * H * hd);
  const float *q = qkv, *k = qkv + H * hd, *v = qkv + (H + KV) * hd;
  /* the CPU backend's attention */
  int threads = omp_get_max_threads();
  lethe_scratch sc = {.per_thread = (size_t)2 * LETHE_ATTN_BLOCK * longest, .threads = threads};
  sc.buf = malloc(sizeof(float) * sc.per_thread * threads);
  float *out0 = malloc(sizeof(float) * N * H * hd), *lse0 = malloc(sizeof(float) * N * H);
  float *dqkv0 = rnd((size_t)N * ldq);
  cpu_attention(out0, lse0, q, k, v, ldq, ldkv, start, n_seq, N, H, KV, hd, window, &sc);
  cpu_attention_backward(dqkv0, dqkv0 + H * hd, dqkv0 + (H + KV) * hd, dout, out0, lse0, q, k, v, ldq, ldkv, start,
      n_seq, N, H, KV, hd, window, &sc);
  /* the GEMM plan */
  size_t cap = one_kv_head_at_a_time ? (size_t)2 * longest * longest : 0;
  size_t sf = lethe_attn_gemm_scratch(longest, KV, cap);
  assert_int_equal(sf, (size_t)2 * longest * longest * (one_kv_head_at_a_time ? 1 : KV));
  float *scratch = malloc(sizeof(float) * sf);
  float *out1 = malloc(sizeof(float) * N * H * hd), *lse1 = malloc(sizeof(float) * N * H);
  float *dqkv1 = rnd((size_t)N * ldq);
  lethe_attn_gemm_forward(&CPU_PLAN, out1, lse1, q, k, v, ldq, ldkv, start, n_seq, H, KV, hd, window, scratch, sf);
  tu_assert_close("out", out1, out0, (size_t)N * H * hd, 1e-5);
  tu_assert_close("lse", lse1, lse0, (size_t)N * H, 1e-6);
  lethe_attn_gemm_backward(&CPU_PLAN, dqkv1, dqkv1 + H * hd, dqkv1 + (H + KV) * hd, dout, out1, lse1, q, k, v, ldq,
      ldkv, start, n_seq, H, KV, hd, window, scratch, sf);
  float *a = cols(dqkv0, N, ldq, (H + 2 * KV) * hd), *b = cols(dqkv1, N, ldq, (H + 2 * KV) * hd);
  tu_assert_close("dq, dk, dv", b, a, (size_t)N * (H + 2 * KV) * hd, 1e-5);
  print_message("window %d, %s: out %.1e, lse %.1e, dqkv %.1e\n", window,
      one_kv_head_at_a_time ? "one kv head a batch" : "all kv heads", tu_rel_err(out1, out0, (size_t)N * H * hd),
      tu_rel_err(lse1, lse0, (size_t)N * H), tu_rel_err(b, a, (size_t)N * (H + 2 * KV) * hd));
  free(a), free(b), free(qkv), free(dout), free(sc.buf), free(out0), free(lse0), free(dqkv0), free(scratch), free(out1),
      free(lse1), free(dqkv1);
}

static void test_causal(void **s) {
  (void)s;
  check(0, 0);
  check(0, 1);
}
static void test_window(void **s) {
  (void)s;
  check(9, 0);
  check(9, 1);
}

int main(void) {
  lethe_rng_seed(&R, 77);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_causal), cmocka_unit_test(test_window)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
