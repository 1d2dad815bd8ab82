/* kernels/cuda/cuda_elementwise.cu: embeddings, bias, clip_qkv, RoPE, SwiGLU, copies, row
 * gather/scatter, KV-cache stores, sums of squares, scaling and Adam on the GPU. */
#include <math.h>

#include "kernels/cuda/cuda_common.cuh"

#define T 256

__global__ static void k_embed(float *x, const float *emb, const int *tok, int N, int d) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * d;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) x[i] = emb[(size_t)tok[i / d] * d + i % d];
}
extern "C" void cu_embed(float *x, const float *emb, const int *tokens, int N, int d) {
  k_embed<<<blocks_for((size_t)N * d, T), T>>>(x, emb, tokens, N, d);
  CK_LAUNCH();
}

__global__ static void k_embed_bwd(float *demb, const float *dx, const int *tok, int N, int d) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * d;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) atomicAdd(&demb[(size_t)tok[i / d] * d + i % d], dx[i]);
}
extern "C" void cu_embed_backward(float *demb, const float *dx, const int *tokens, int N, int d, int vocab) {
  (void)vocab;
  k_embed_bwd<<<blocks_for((size_t)N * d, T), T>>>(demb, dx, tokens, N, d);
  CK_LAUNCH();
}

__global__ static void k_add_bias(float *x, const float *b, int N, int C, int ld) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * C;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) x[(i / C) * ld + i % C] += b[i % C];
}
extern "C" void cu_add_bias(float *x, const float *b, int N, int C, int ldx) {
  k_add_bias<<<blocks_for((size_t)N * C, T), T>>>(x, b, N, C, ldx);
  CK_LAUNCH();
}

/* One thread per column, down the rows (coalesced across the threads of a warp). */
__global__ static void k_bias_bwd(float *db, const float *dy, int N, int C, int ld) {
  int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float s = 0.0f;
  for (int t = 0; t < N; t++) s += dy[(size_t)t * ld + c];
  db[c] += s;
}
extern "C" void cu_bias_backward(float *db, const float *dy, int N, int C, int ldy) {
  k_bias_bwd<<<(C + T - 1) / T, T>>>(db, dy, N, C, ldy);
  CK_LAUNCH();
}

__global__ static void k_clip(float *x, uint8_t *mask, int N, int C, int ld, float c) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * C;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) {
    float *p = &x[(i / C) * ld + i % C];
    float v = *p;
    if (mask) mask[i] = (uint8_t)(v >= -c && v <= c);
    *p = v < -c ? -c : (v > c ? c : v);
  }
}
extern "C" void cu_clip(float *x, uint8_t *mask, int N, int C, int ld, float c) {
  k_clip<<<blocks_for((size_t)N * C, T), T>>>(x, mask, N, C, ld, c);
  CK_LAUNCH();
}

__global__ static void k_clip_bwd(float *dx, const uint8_t *mask, int N, int C, int ld) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * C;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x)
    if (!mask[i]) dx[(i / C) * ld + i % C] = 0.0f;
}
extern "C" void cu_clip_backward(float *dx, const uint8_t *mask, int N, int C, int ld) {
  k_clip_bwd<<<blocks_for((size_t)N * C, T), T>>>(dx, mask, N, C, ld);
  CK_LAUNCH();
}

__global__ static void k_rope(float *x, int N, int H, int hd, int ld, const int *pos, const float *cs, const float *sn, float sgn) {
  int half = hd / 2;
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * H * half;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) {
    int t = (int)(i / ((size_t)H * half)), h = (int)(i / half % H), j = (int)(i % half);
    float *a = x + (size_t)t * ld + (size_t)h * hd;
    float c = cs[(size_t)pos[t] * half + j], s = sgn * sn[(size_t)pos[t] * half + j];
    float x1 = a[j], x2 = a[j + half];
    a[j] = x1 * c - x2 * s;
    a[j + half] = x2 * c + x1 * s;
  }
}
extern "C" void cu_rope(float *x, int N, int n_heads, int hd, int ld, const int *pos, const float *cos, const float *sin,
                        int inverse) {
  k_rope<<<blocks_for((size_t)N * n_heads * (hd / 2), T), T>>>(x, N, n_heads, hd, ld, pos, cos, sin, inverse ? -1.0f : 1.0f);
  CK_LAUNCH();
}

__global__ static void k_swiglu(float *h, const float *gu, int N, int F) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * F;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) {
    size_t t = i / F, j = i % F;
    float g = gu[t * 2 * F + j], u = gu[t * 2 * F + F + j];
    h[i] = g / (1.0f + expf(-g)) * u;
  }
}
extern "C" void cu_swiglu(float *h, const float *gu, int N, int F) {
  k_swiglu<<<blocks_for((size_t)N * F, T), T>>>(h, gu, N, F);
  CK_LAUNCH();
}

__global__ static void k_swiglu_bwd(float *dgu, const float *dh, const float *gu, int N, int F) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * F;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) {
    size_t t = i / F, j = i % F;
    float g = gu[t * 2 * F + j], u = gu[t * 2 * F + F + j], d = dh[i];
    float s = 1.0f / (1.0f + expf(-g));
    dgu[t * 2 * F + F + j] = d * g * s;
    dgu[t * 2 * F + j] = d * u * s * (1.0f + g * (1.0f - s));
  }
}
extern "C" void cu_swiglu_backward(float *dgu, const float *dh, const float *gu, int N, int F) {
  k_swiglu_bwd<<<blocks_for((size_t)N * F, T), T>>>(dgu, dh, gu, N, F);
  CK_LAUNCH();
}

__global__ static void k_add(float *y, const float *x, size_t n) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) y[i] += x[i];
}
extern "C" void cu_add(float *y, const float *x, size_t n) {
  if (!n) return;
  k_add<<<blocks_for(n, T), T>>>(y, x, n);
  CK_LAUNCH();
}

extern "C" void cu_copy(float *y, const float *x, size_t n) {
  if (y != x && n) CK(cudaMemcpy(y, x, sizeof(float) * n, cudaMemcpyDeviceToDevice));
}

extern "C" void cu_zero(float *y, size_t n) {
  if (n) CK(cudaMemset(y, 0, sizeof(float) * n));
}

__global__ static void k_gather(float *dst, const float *src, const int *rows, int n, int d) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, m = (size_t)n * d;
  for (; i < m; i += (size_t)gridDim.x * blockDim.x) dst[i] = src[(size_t)rows[i / d] * d + i % d];
}
extern "C" void cu_gather_rows(float *dst, const float *src, const int *rows, int n, int d) {
  if (n <= 0) return;
  k_gather<<<blocks_for((size_t)n * d, T), T>>>(dst, src, rows, n, d);
  CK_LAUNCH();
}

__global__ static void k_scatter(float *dst, const float *src, const int *rows, int n, int d) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, m = (size_t)n * d;
  for (; i < m; i += (size_t)gridDim.x * blockDim.x) dst[(size_t)rows[i / d] * d + i % d] = src[i];
}
extern "C" void cu_scatter_rows(float *dst, const float *src, const int *rows, int n, int N, int d) {
  cu_zero(dst, (size_t)N * d);
  if (n <= 0) return;
  k_scatter<<<blocks_for((size_t)n * d, T), T>>>(dst, src, rows, n, d);
  CK_LAUNCH();
}

__global__ static void k_kv_store(float *kc, float *vc, const float *qkv, int ld, int koff, int kvdim, const int *slot,
                                  const int *pos, int N, int max_pos) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)N * kvdim;
  for (; i < n; i += (size_t)gridDim.x * blockDim.x) {
    size_t t = i / kvdim, c = i % kvdim, at = ((size_t)slot[t] * max_pos + pos[t]) * kvdim + c;
    kc[at] = qkv[t * ld + koff + c];
    vc[at] = qkv[t * ld + koff + kvdim + c];
  }
}
extern "C" void cu_kv_store(float *kc, float *vc, const float *qkv, int ld, int koff, int kvdim, const int *slot, const int *pos,
                            int N, int max_pos) {
  k_kv_store<<<blocks_for((size_t)N * kvdim, T), T>>>(kc, vc, qkv, ld, koff, kvdim, slot, pos, N, max_pos);
  CK_LAUNCH();
}

__global__ static void k_sumsq(const float *x, size_t n, double *out) {
  __shared__ float sh[32];
  float s = 0.0f;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) s += x[i] * x[i];
  s = block_sum(s, sh);
  if (threadIdx.x == 0) atomicAdd(out, (double)s);
}
extern "C" double cu_sumsq(const float *x, size_t n) {
  static double *d; /* one accumulator for the life of the process: no allocation per step */
  double h = 0;
  if (!d) CK(cudaMalloc(&d, sizeof(double)));
  if (!d) return NAN;
  CK(cudaMemset(d, 0, sizeof(double)));
  unsigned b = blocks_for(n, T);
  k_sumsq<<<b < 1024 ? b : 1024, T>>>(x, n, d);
  CK_LAUNCH();
  CK(cudaMemcpy(&h, d, sizeof(double), cudaMemcpyDeviceToHost));
  return h;
}

__global__ static void k_scale(float *x, size_t n, float a) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) x[i] *= a;
}
extern "C" void cu_scale(float *x, size_t n, float a) {
  if (!n) return;
  k_scale<<<blocks_for(n, T), T>>>(x, n, a);
  CK_LAUNCH();
}

/* Adam(W) as torch computes it (see kernels/cpu/adam.c). */
__global__ static void k_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2, float eps,
                              float wd, int decoupled, float b1c, float b2c) {
  float sb2 = sqrtf(b2c), step = lr / b1c;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    float gi = g[i];
    if (wd != 0.0f) {
      if (decoupled) p[i] *= 1.0f - lr * wd;
      else gi += wd * p[i];
    }
    m[i] += (1.0f - b1) * (gi - m[i]);
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    p[i] -= step * m[i] / (sqrtf(v[i]) / sb2 + eps);
  }
}
extern "C" void cu_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2, float eps,
                        float wd, int decoupled, float b1c, float b2c) {
  if (!n) return;
  k_adam<<<blocks_for(n, T), T>>>(p, g, m, v, n, lr, beta1, beta2, eps, wd, decoupled, b1c, b2c);
  CK_LAUNCH();
}
