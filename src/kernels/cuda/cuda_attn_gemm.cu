/* kernels/cuda/cuda_attn_gemm.cu: attention on the GPU as batched cuBLAS products (the plan of
 * kernels/attn_gemm.c, proven on the CPU by tests/kernels/test_attn_gemm.c) plus this file's three
 * row kernels: masked softmax, probabilities from the log-sum-exp, and dS = P (dP - D). Scores live
 * in a scratch of the backend reserved when a workspace is made (at most LETHE_ATTN_GEMM_CAP
 * floats); a call whose longest sequence does not fit there falls back to the plain kernels of
 * cuda_attention.cu. */
#include <cublas_v2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_common.cuh"

extern "C" {
#include "kernels/attn_gemm.h"
#include "util/error.h"
}

cublasHandle_t lethe_cu_blas_fp32(void); /* cuda_gemm.cu */

#define RT 256 /* threads per row kernel */

static void *g_scratch; /* scores and probabilities */
static size_t g_bytes;

extern "C" lethe_status cu_reserve_attention(int longest, int kv_heads) {
  /* longer sequences than the cap allows take the plain kernels */
  return lethe_cuda_reserve(&g_scratch, &g_bytes, sizeof(float) * lethe_attn_gemm_reserve(longest, kv_heads), "attention scratch");
}

__device__ static inline bool kept(int i, int j, int window) { return j <= i && (window <= 0 || j > i - window); }

__global__ static void k_softmax(float *S, float *lse, long long sb, long long si, int L, int window) {
  __shared__ float sh[32];
  int i = blockIdx.x, b = blockIdx.y;
  float *row = S + ((size_t)b * L + i) * L;
  float m = -INFINITY;
  for (int j = threadIdx.x; j < L; j += blockDim.x)
    if (kept(i, j, window)) m = fmaxf(m, row[j]);
  m = block_max(m, sh);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < L; j += blockDim.x) {
    float p = kept(i, j, window) ? expf(row[j] - m) : 0.0f;
    row[j] = p;
    sum += p;
  }
  sum = block_sum(sum, sh);
  float inv = 1.0f / sum;
  for (int j = threadIdx.x; j < L; j += blockDim.x) row[j] *= inv;
  if (threadIdx.x == 0) lse[b * sb + i * si] = m + logf(sum);
}

__global__ static void k_probs(float *S, const float *lse, long long sb, long long si, int L, int window) {
  int i = blockIdx.x, b = blockIdx.y;
  float *row = S + ((size_t)b * L + i) * L, l = lse[b * sb + i * si];
  for (int j = threadIdx.x; j < L; j += blockDim.x) row[j] = kept(i, j, window) ? expf(row[j] - l) : 0.0f;
}

__global__ static void k_dscores(float *dP, const float *P, const float *dO, const float *O, long long so_b, long long so_i,
                                 int hd, int L) {
  __shared__ float sh[32];
  int i = blockIdx.x, b = blockIdx.y;
  const float *d = dO + b * so_b + i * so_i, *o = O + b * so_b + i * so_i;
  float part = 0.0f;
  for (int c = threadIdx.x; c < hd; c += blockDim.x) part += d[c] * o[c];
  float D = block_sum(part, sh);
  size_t r = ((size_t)b * L + i) * L;
  for (int j = threadIdx.x; j < L; j += blockDim.x) dP[r + j] = P[r + j] * (dP[r + j] - D);
}

static void g_gemm(void *ctx, int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda, long long sA,
                   const float *B, int ldb, long long sB, float beta, float *C, int ldc, long long sC, int batch) {
  (void)ctx;
  cublasHandle_t h = lethe_cu_blas_fp32();
  if (!h) return;
  if (cublasSgemmStridedBatched(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, A, lda, sA, B,
                                ldb, sB, &beta, C, ldc, sC, batch) != CUBLAS_STATUS_SUCCESS)
    lethe_cuda_fail("cublasSgemmStridedBatched (attention)", "failed");
}

static void g_softmax(void *ctx, float *S, float *lse, long long sb, long long si, int L, int batch, int window) {
  (void)ctx;
  k_softmax<<<dim3(L, batch), RT>>>(S, lse, sb, si, L, window);
  CK_LAUNCH();
}

static void g_probs(void *ctx, float *S, const float *lse, long long sb, long long si, int L, int batch, int window) {
  (void)ctx;
  k_probs<<<dim3(L, batch), RT>>>(S, lse, sb, si, L, window);
  CK_LAUNCH();
}

static void g_dscores(void *ctx, float *dP, const float *P, const float *dO, const float *O, long long so_b, long long so_i, int hd,
                      int L, int batch) {
  (void)ctx;
  k_dscores<<<dim3(L, batch), RT>>>(dP, P, dO, O, so_b, so_i, hd, L);
  CK_LAUNCH();
}

static const lethe_attn_gemm_ops PLAN = {NULL, g_gemm, g_softmax, g_probs, g_dscores};

/* The host copy of the sequence starts when every sequence fits the scratch (the caller frees
 * it), else NULL: the plain kernels then run. LETHE_CUDA_ATTENTION=plain forces them. */
static int *plan_starts(const int *start, int n_seq) {
  static int forced = -1;
  if (forced < 0) {
    const char *e = getenv("LETHE_CUDA_ATTENTION");
    forced = e && !strcmp(e, "plain");
  }
  if (forced || !g_scratch || n_seq < 1) return NULL;
  int *h = (int *)malloc(sizeof(int) * (size_t)(n_seq + 1));
  if (!h) return NULL;
  if (cudaMemcpy(h, start, sizeof(int) * (size_t)(n_seq + 1), cudaMemcpyDeviceToHost) != cudaSuccess) {
    free(h);
    return NULL;
  }
  for (int s = 0; s < n_seq; s++) {
    size_t L = (size_t)(h[s + 1] - h[s]);
    if (2 * L * L > g_bytes / sizeof(float)) {
      free(h);
      return NULL;
    }
  }
  return h;
}

extern "C" int cu_attention_gemm(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
                                 const int *start, int n_seq, int H, int KV, int hd, int window) {
  int *h = plan_starts(start, n_seq);
  if (!h) return 0;
  lethe_attn_gemm_forward(&PLAN, out, lse, q, k, v, ldq, ldkv, h, n_seq, H, KV, hd, window, (float *)g_scratch,
                          g_bytes / sizeof(float));
  free(h);
  return 1;
}

extern "C" int cu_attention_gemm_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                                          const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start,
                                          int n_seq, int H, int KV, int hd, int window) {
  int *h = plan_starts(start, n_seq);
  if (!h) return 0;
  lethe_attn_gemm_backward(&PLAN, dq, dk, dv, dout, out, lse, q, k, v, ldq, ldkv, h, n_seq, H, KV, hd, window,
                           (float *)g_scratch, g_bytes / sizeof(float));
  free(h);
  return 1;
}
