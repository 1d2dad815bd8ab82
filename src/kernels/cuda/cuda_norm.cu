/* kernels/cuda/cuda_norm.cu: LayerNorm without affine parameters (OLMo) and RMSNorm (Llama
 * family), forward and backward: one block per row, statistics by block reductions; the RMSNorm
 * weight gradient by one thread per column down the rows. */
#include <math.h>

#include "kernels/cuda/cuda_common.cuh"

#define T 256

__global__ static void k_layernorm(float *y, float *mean, float *rstd, const float *x, int d, float eps) {
  __shared__ float sh[32];
  const float *xr = x + (size_t)blockIdx.x * d;
  float *yr = y + (size_t)blockIdx.x * d;
  float s = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) s += xr[i];
  float mu = block_sum(s, sh) / d;
  float v = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) v += (xr[i] - mu) * (xr[i] - mu);
  float r = rsqrtf(block_sum(v, sh) / d + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = (xr[i] - mu) * r;
  if (threadIdx.x == 0) {
    if (mean) mean[blockIdx.x] = mu;
    rstd[blockIdx.x] = r;
  }
}
extern "C" void cu_layernorm(float *y, float *mean, float *rstd, const float *x, int N, int d, float eps) {
  if (N <= 0) return;
  k_layernorm<<<N, T>>>(y, mean, rstd, x, d, eps);
  CK_LAUNCH();
}

__global__ static void k_layernorm_bwd(float *dx, const float *dy, const float *y, const float *rstd, int d) {
  __shared__ float sh[32];
  size_t o = (size_t)blockIdx.x * d;
  float sg = 0.0f, sgy = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) {
    sg += dy[o + i];
    sgy += dy[o + i] * y[o + i];
  }
  float mg = block_sum(sg, sh) / d, mgy = block_sum(sgy, sh) / d, r = rstd[blockIdx.x];
  for (int i = threadIdx.x; i < d; i += blockDim.x) dx[o + i] += r * (dy[o + i] - mg - y[o + i] * mgy);
}
extern "C" void cu_layernorm_backward(float *dx, const float *dy, const float *y, const float *rstd, int N, int d) {
  if (N <= 0) return;
  k_layernorm_bwd<<<N, T>>>(dx, dy, y, rstd, d);
  CK_LAUNCH();
}

__global__ static void k_rmsnorm(float *y, float *rstd, const float *x, const float *w, int d, float eps) {
  __shared__ float sh[32];
  size_t o = (size_t)blockIdx.x * d;
  float s = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) s += x[o + i] * x[o + i];
  float r = rsqrtf(block_sum(s, sh) / d + eps);
  for (int i = threadIdx.x; i < d; i += blockDim.x) y[o + i] = w[i] * (x[o + i] * r);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
}
extern "C" void cu_rmsnorm(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps) {
  if (N <= 0) return;
  k_rmsnorm<<<N, T>>>(y, rstd, x, w, d, eps);
  CK_LAUNCH();
}

__global__ static void k_rmsnorm_bwd(float *dx, const float *dy, const float *x, const float *w, const float *rstd, int d) {
  __shared__ float sh[32];
  size_t o = (size_t)blockIdx.x * d;
  float r = rstd[blockIdx.x], s = 0.0f;
  for (int i = threadIdx.x; i < d; i += blockDim.x) s += dy[o + i] * w[i] * x[o + i];
  float m = block_sum(s, sh) / d * r * r;
  for (int i = threadIdx.x; i < d; i += blockDim.x) dx[o + i] += r * (dy[o + i] * w[i] - x[o + i] * m);
}

__global__ static void k_rmsnorm_dw(float *dw, const float *dy, const float *x, const float *rstd, int N, int d) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= d) return;
  float s = 0.0f;
  for (int t = 0; t < N; t++) s += dy[(size_t)t * d + c] * x[(size_t)t * d + c] * rstd[t];
  dw[c] += s;
}

extern "C" void cu_rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd,
                                    int N, int d) {
  if (N <= 0) return;
  k_rmsnorm_bwd<<<N, T>>>(dx, dy, x, w, rstd, d);
  CK_LAUNCH();
  if (dw) {
    k_rmsnorm_dw<<<(d + T - 1) / T, T>>>(dw, dy, x, rstd, N, d);
    CK_LAUNCH();
  }
}
