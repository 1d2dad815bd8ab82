/* kernels/cuda/cuda_gemm.cu: row-major GEMMs through cuBLAS (fp32, no TF32: the same numbers as
 * the CPU backend within fp32 rounding). cuBLAS is column-major, so C = op(A) op(B) is computed as
 * C^T = op(B)^T op(A)^T. */
#include <cublas_v2.h>

#include "kernels/cuda/cuda_common.cuh"

static cublasHandle_t handle(void) {
  static cublasHandle_t h;
  static int made;
  if (!made) {
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
      lethe_cuda_fail("cublasCreate", "cannot create a cuBLAS handle");
      return NULL;
    }
    cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH);
    made = 1;
  }
  return h;
}

extern "C" void cu_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                        float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  cublasHandle_t h = handle();
  if (!h) return;
  if (K <= 0) { /* only C = beta C (as BLAS: beta == 0 clears C, NaNs included) */
    if (beta == 0.0f) {
      CK(cudaMemset2D(C, sizeof(float) * ldc, 0, sizeof(float) * N, M));
    } else if (beta != 1.0f) {
      const float zero = 0.0f;
      if (cublasSgeam(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, &beta, C, ldc, &zero, C, ldc, C, ldc) != CUBLAS_STATUS_SUCCESS)
        lethe_cuda_fail("cublasSgeam", "failed");
    }
    return;
  }
  cublasStatus_t st = cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, A,
                                  lda, &beta, C, ldc);
  if (st != CUBLAS_STATUS_SUCCESS) lethe_cuda_fail("cublasSgemm", "failed");
}

extern "C" void cu_logits(float *z, const float *x, const float *w, int n, int d, int V) {
  cu_gemm(0, 1, n, V, d, 1.0f, x, d, w, d, 0.0f, z, V);
}
