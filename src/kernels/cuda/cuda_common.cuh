/* kernels/cuda/cuda_common.cuh: what every CUDA kernel file shares: the C interface of the ops
 * table, the sticky error of the backend (kernel launches report asynchronously; the model code
 * asks ops->check() at the end of each pass), launch sizes and block reductions. */
#ifndef LETHE_KERNELS_CUDA_COMMON_CUH
#define LETHE_KERNELS_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "kernels/ops.h"
}

/* Grows a scratch buffer of the backend to at least `bytes` (*have: its size now); nothing happens
 * when it is large enough. */
lethe_status lethe_cuda_reserve(void **buf, size_t *have, size_t bytes, const char *what);

/* Records the first failure (file:line: call: message); later ones are dropped until check(). */
void lethe_cuda_fail(const char *where, const char *what);
#define LETHE_CUDA_STR2(x) #x
#define LETHE_CUDA_STR(x) LETHE_CUDA_STR2(x)
#define CK(call)                                                                                    \
  do {                                                                                              \
    cudaError_t e_ = (call);                                                                        \
    if (e_ != cudaSuccess) lethe_cuda_fail(__FILE__ ":" LETHE_CUDA_STR(__LINE__) ": " #call, cudaGetErrorString(e_)); \
  } while (0)
/* After a launch: a bad configuration shows at once. */
#define CK_LAUNCH() CK(cudaGetLastError())

static inline unsigned blocks_for(size_t n, unsigned threads) {
  size_t b = (n + threads - 1) / threads;
  return (unsigned)(b < 65535u * 32u ? (b ? b : 1) : 65535u * 32u);
}

/* Sum and max over a block of `blockDim.x` threads (a multiple of 32, at most 1024), through
 * shared memory; every thread gets the result. */
__device__ static inline float block_sum(float v, float *sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = threadIdx.x < (unsigned)nw ? sh[threadIdx.x] : 0.0f;
  if (w == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if (threadIdx.x == 0) sh[0] = v;
  __syncthreads();
  return sh[0];
}

__device__ static inline float block_max(float v, float *sh) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  int nw = blockDim.x >> 5;
  v = threadIdx.x < (unsigned)nw ? sh[threadIdx.x] : -INFINITY;
  if (w == 0)
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  if (threadIdx.x == 0) sh[0] = v;
  __syncthreads();
  return sh[0];
}

/* The functions of the table, one group per file. */
extern "C" {
void cu_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
             float *C, int ldc);
void cu_embed(float *x, const float *emb, const int *tokens, int N, int d);
void cu_embed_backward(float *demb, const float *dx, const int *tokens, int N, int d, int vocab);
void cu_layernorm(float *y, float *mean, float *rstd, const float *x, int N, int d, float eps);
void cu_layernorm_backward(float *dx, const float *dy, const float *y, const float *rstd, int N, int d);
void cu_rmsnorm(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps);
void cu_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int N, int d);
void cu_add_bias(float *x, const float *b, int N, int C, int ldx);
void cu_bias_backward(float *db, const float *dy, int N, int C, int ldy);
void cu_clip(float *x, uint8_t *mask, int N, int C, int ld, float c);
void cu_clip_backward(float *dx, const uint8_t *mask, int N, int C, int ld);
void cu_rope(float *x, int N, int n_heads, int hd, int ld, const int *pos, const float *cos, const float *sin, int inverse);
void cu_attention(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start,
                  int n_seq, int N, int H, int KV, int hd, int window, const lethe_scratch *scratch);
void cu_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse, const float *q,
                           const float *k, const float *v, int ldq, int ldkv, const int *start, int n_seq, int N, int H, int KV,
                           int hd, int window, const lethe_scratch *scratch);
void cu_attention_cached(float *out, const float *q, int ldq, const float *kc, const float *vc, const int *slot, const int *pos,
                         int N, int max_pos, int H, int KV, int hd, int window);
void cu_swiglu(float *h, const float *gu, int N, int F);
void cu_swiglu_backward(float *dgu, const float *dh, const float *gu, int N, int F);
void cu_add(float *y, const float *x, size_t n);
void cu_copy(float *y, const float *x, size_t n);
void cu_zero(float *y, size_t n);
void cu_gather_rows(float *dst, const float *src, const int *rows, int n, int d);
void cu_scatter_rows(float *dst, const float *src, const int *rows, int n, int N, int d);
void cu_kv_store(float *kc, float *vc, const float *qkv, int ld, int koff, int kvdim, const int *slot, const int *pos, int N,
                 int max_pos);
void cu_classifier(float *l, float *lse, float *kl_out, float *dx, float *dw, const float *x, const float *w, const int *y, int n,
                   int d, int V, const lethe_head_coef *coef, float *scratch, int chunk);
void cu_logits(float *z, const float *x, const float *w, int n, int d, int V);
void cu_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2, float eps, float wd,
             int decoupled, float b1c, float b2c);
double cu_sumsq(const float *x, size_t n);
void cu_scale(float *x, size_t n, float a);
void cu_gemm_bf16w(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W, int ldw, float beta,
                   float *C, int ldc);
void cu_upload_bf16(uint16_t *dst, const float *src, size_t n);
lethe_status cu_reserve_bf16(size_t n);
lethe_status cu_reserve_attention(int longest, int kv_heads);
/* attention through cuBLAS (cuda_attn_gemm.cu); 0 when the call must take the plain kernels */
int cu_attention_gemm(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start,
                      int n_seq, int H, int KV, int hd, int window);
int cu_attention_gemm_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                               const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start, int n_seq,
                               int H, int KV, int hd, int window);
}

#endif
