/* kernels/cpu/bf16.c: products with weights stored in bf16 on the CPU. This is the reference the
 * CUDA backend's bf16 path is tested against (and what lets the CPU check a bf16 model's numbers):
 * the activation is rounded to bf16 as the GPU does before its tensor-core product, every product
 * of two bf16 values is exact in fp32, and the sums are fp32. Plain loops, not tuned: the CPU runs
 * fp32 weights through OpenBLAS. */
#include "kernels/cpu/cpu.h"
#include "util/bf16.h"

void cpu_gemm_bf16w(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
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

void cpu_upload_bf16(uint16_t *dst, const float *src, size_t n) {
#pragma omp parallel for schedule(static) if (n > LETHE_CPU_PAR_MIN)
  for (size_t i = 0; i < n; i++) dst[i] = lethe_f32_bf16(src[i]);
}

lethe_status cpu_reserve_bf16(size_t n) {
  (void)n; /* rounding happens on the fly: no scratch */
  return LETHE_OK;
}
