/* kernels/cuda/cuda_gemm.cu: row-major GEMMs through cuBLAS: fp32 (no TF32: the same numbers as
 * the CPU backend within fp32 rounding), and with bf16 frozen weights (tensor cores, fp32 sums).
 * cuBLAS is column-major, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T. */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <stdlib.h>

#include "kernels/cuda/cuda_common.cuh"

extern "C" {
#include "util/bf16.h"
#include "util/error.h"
}

/* A cuBLAS handle made on first use with the given math mode (NULL, with the error recorded, when
 * it cannot be made). */
static cublasHandle_t lazy_handle(cublasHandle_t *h, int *made, cublasMath_t mode) {
  if (!*made) {
    if (cublasCreate(h) != CUBLAS_STATUS_SUCCESS) {
      lethe_cuda_fail("cublasCreate", "cannot create a cuBLAS handle");
      return NULL;
    }
    cublasSetMathMode(*h, mode);
    *made = 1;
  }
  return *h;
}

/* The pedantic fp32 handle, shared with the attention products (cuda_attn_gemm.cu). */
cublasHandle_t lethe_cu_blas_fp32(void) {
  static cublasHandle_t h;
  static int made;
  return lazy_handle(&h, &made, CUBLAS_PEDANTIC_MATH);
}

static cublasHandle_t handle(void) { return lethe_cu_blas_fp32(); }

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

/* ---- frozen weights in bf16 ------------------------------------------------------------------
 * The activation operand is rounded to bf16 into a scratch buffer (sized by reserve_bf16 when a
 * workspace is made), then cublasGemmEx multiplies bf16 x bf16 with fp32 accumulation and an fp32
 * output on the tensor cores (cuBLAS runs it through cuBLASLt). This handle keeps the default math
 * mode: the fp32 handle above is pedantic. */

static cublasHandle_t handle16(void) {
  static cublasHandle_t h;
  static int made;
  return lazy_handle(&h, &made, CUBLAS_DEFAULT_MATH);
}

static void *g_a16;      /* bf16 copy of a GEMM's activation operand */
static size_t g_a16_bytes;

extern "C" lethe_status cu_reserve_bf16(size_t n) {
  return lethe_cuda_reserve(&g_a16, &g_a16_bytes, sizeof(__nv_bfloat16) * n, "bf16 scratch");
}

/* dst (M, K) contiguous = bf16(src (M, K; row stride lda)) */
__global__ static void round_rows_bf16(__nv_bfloat16 *dst, const float *src, int M, int K, int lda) {
  size_t n = (size_t)M * K;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    size_t r = i / (size_t)K, k = i - r * (size_t)K;
    dst[i] = __float2bfloat16_rn(src[r * (size_t)lda + k]);
  }
}

extern "C" void cu_gemm_bf16w(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W, int ldw,
                              float beta, float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { /* only C = beta C */
    cu_gemm(0, trans_w, M, N, 0, alpha, A, lda, NULL, ldw, beta, C, ldc);
    return;
  }
  cublasHandle_t h = handle16();
  if (!h) return;
  size_t n = (size_t)M * K;
  if (cu_reserve_bf16(n) != LETHE_OK) { /* reserved with the workspace; grows only for a larger one */
    lethe_cuda_fail("gemm_bf16w", "cannot allocate the bf16 scratch");
    return;
  }
  __nv_bfloat16 *a16 = (__nv_bfloat16 *)g_a16;
  round_rows_bf16<<<blocks_for(n, 256), 256>>>(a16, A, M, K, lda);
  CK_LAUNCH();
  /* row-major C = A op(W) is column-major C^T = op(W)^T A^T */
  cublasStatus_t st = cublasGemmEx(h, trans_w ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &alpha, W, CUDA_R_16BF, ldw,
                                   a16, CUDA_R_16BF, K, &beta, C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (st != CUBLAS_STATUS_SUCCESS) lethe_cuda_fail("cublasGemmEx (bf16)", "failed");
}

extern "C" void cu_upload_bf16(uint16_t *dst, const float *src, size_t n) {
  /* converted on the host in chunks (setup time, not step time) */
  enum { CHUNK = 1 << 22 };
  uint16_t *tmp = (uint16_t *)malloc(sizeof(uint16_t) * (n < CHUNK ? (n ? n : 1) : CHUNK));
  if (!tmp) {
    lethe_cuda_fail("upload_bf16", "out of host memory");
    return;
  }
  for (size_t o = 0; o < n; o += CHUNK) {
    size_t m = n - o < CHUNK ? n - o : CHUNK;
    for (size_t i = 0; i < m; i++) tmp[i] = lethe_f32_bf16(src[o + i]);
    CK(cudaMemcpy(dst + o, tmp, sizeof(uint16_t) * m, cudaMemcpyHostToDevice));
  }
  free(tmp);
}
