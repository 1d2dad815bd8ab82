/* kernels/cpu/gemm.c: matrix products through OpenBLAS (row-major sgemm), with a direct path for
 * products of a few activation rows by a weight matrix (decoding). */
#include <cblas.h>

#include "kernels/cpu/cpu.h"

/* C = alpha A B^T + beta C for a few rows of A (decoding: one row per sequence). OpenBLAS would
 * pack all of B first, which for a weight matrix costs more than the product itself; here every
 * row of B is read once and used for all rows of A while it sits in L1. */
static void few_rows_nt(
    int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
#pragma omp parallel for schedule(static) if ((size_t)N * K > 65536)
  for (int j = 0; j < N; j++) {
    const float *b = B + (size_t)j * ldb;
    float acc[16];
    int i = 0;
    /* Four rows at a time: four independent accumulators hide the add latency. */
    for (; i + 4 <= M; i += 4) {
      const float *a0 = A + (size_t)i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (int k = 0; k < K; k++) {
        float bk = b[k];
        s0 += a0[k] * bk;
        s1 += a1[k] * bk;
        s2 += a2[k] * bk;
        s3 += a3[k] * bk;
      }
      acc[i] = s0;
      acc[i + 1] = s1;
      acc[i + 2] = s2;
      acc[i + 3] = s3;
    }
    for (; i < M; i++) {
      const float *a = A + (size_t)i * lda;
      float s0 = 0.0f;
#pragma omp simd reduction(+ : s0)
      for (int k = 0; k < K; k++) s0 += a[k] * b[k];
      acc[i] = s0;
    }
    for (i = 0; i < M; i++) {
      float *c = C + (size_t)i * ldc + j;
      *c = beta == 0.0f ? alpha * acc[i] : alpha * acc[i] + beta * *c;
    }
  }
}

void cpu_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
    int ldb, float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (!trans_a && trans_b && M <= 16 && K > 0) {
    few_rows_nt(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (K <= 0) {
    /* sgemm with K == 0 only scales C; do it here to avoid relying on BLAS edge cases. */
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha,
      A, lda, B, ldb, beta, C, ldc);
}
