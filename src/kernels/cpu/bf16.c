/* kernels/cpu/bf16.c: products with weights stored in bf16 on the CPU. The activation is rounded
 * to bf16 (nearest even), every product of two bf16 values is exact in fp32, and the sums are fp32.
 * On a CPU with AVX512_BF16 the work goes to the packed engine of kernels/cpu/gemm_bf16.c; the plain
 * loops here are its exact reference and the path of every other CPU (and the reference the CUDA
 * backend's bf16 path is tested against). */
#include "kernels/cpu/cpu.h"
#include "util/bf16.h"

void cpu_gemm_bf16w_ref(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
    int ldw, float beta, float *C, int ldc) {
#pragma omp parallel for schedule(static) if ((size_t)M * N * K > 65536)
  for (int i = 0; i < M; i++) {
    const float *a = A + (size_t)i * lda;
    float *c = C + (size_t)i * ldc;
    for (int j = 0; j < N; j++) {
      float s = 0.0f;
      if (trans_w) {
        const uint16_t *w = W + (size_t)j * ldw; /* row j of W (N, K) */
        for (int k = 0; k < K; k++) s += lethe_bf16_round(a[k]) * lethe_bf16_f32(w[k]);
      } else {
        for (int k = 0; k < K; k++) s += lethe_bf16_round(a[k]) * lethe_bf16_f32(W[(size_t)k * ldw + j]);
      }
      c[j] = alpha * s + (beta == 0.0f ? 0.0f : beta * c[j]);
    }
  }
}

void cpu_gemm_bf16w(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W, int ldw,
    float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K > 0 && cpu_bf16_native() && cpu_gemm_bf16_ready(M, K))
    cpu_gemm_bf16_fast(trans_w, M, N, K, alpha, A, lda, W, ldw, beta, C, ldc);
  else
    cpu_gemm_bf16w_ref(trans_w, M, N, K, alpha, A, lda, W, ldw, beta, C, ldc);
}

void cpu_upload_bf16(uint16_t *dst, const float *src, size_t n) {
#pragma omp parallel for schedule(static) if (n > LETHE_CPU_PAR_MIN)
  for (size_t i = 0; i < n; i++) dst[i] = lethe_f32_bf16(src[i]);
}

lethe_status cpu_reserve_bf16(size_t n) {
  /* the engine's bf16 copy of A and packing blocks; the plain loops round on the fly */
  return cpu_bf16_native() ? cpu_gemm_bf16_reserve(n) : LETHE_OK;
}
