/* kernels/cpu/norm.c: LayerNorm without affine parameters (OLMo) and RMSNorm (Llama family),
 * forward and backward. Statistics are accumulated in double for accuracy. */
#include <math.h>

#include "kernels/cpu/cpu.h"

void cpu_layernorm(float *y, float *mean, float *rstd, const float *x, int N, int d, float eps) {
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const float *xr = x + (size_t)t * d;
    float *yr = y + (size_t)t * d;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < d; i++) s += xr[i];
    float mu = (float)(s / d);
    double v = 0;
#pragma omp simd reduction(+ : v)
    for (int i = 0; i < d; i++) {
      double c = (double)xr[i] - mu;
      v += c * c;
    }
    float r = (float)(1.0 / sqrt(v / d + eps));
    for (int i = 0; i < d; i++) yr[i] = (xr[i] - mu) * r;
    if (mean) mean[t] = mu;
    rstd[t] = r;
  }
}

void cpu_layernorm_backward(float *dx, const float *dy, const float *y, const float *rstd, int N, int d) {
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const float *g = dy + (size_t)t * d, *yr = y + (size_t)t * d;
    float *o = dx + (size_t)t * d;
    double sg = 0, sgy = 0;
#pragma omp simd reduction(+ : sg, sgy)
    for (int i = 0; i < d; i++) {
      sg += g[i];
      sgy += (double)g[i] * yr[i];
    }
    float mg = (float)(sg / d), mgy = (float)(sgy / d), r = rstd[t];
    for (int i = 0; i < d; i++) o[i] += r * (g[i] - mg - yr[i] * mgy);
  }
}

void cpu_rmsnorm(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps) {
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const float *xr = x + (size_t)t * d;
    float *yr = y + (size_t)t * d;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < d; i++) s += (double)xr[i] * xr[i];
    float r = (float)(1.0 / sqrt(s / d + eps));
    for (int i = 0; i < d; i++) yr[i] = w[i] * (xr[i] * r);
    rstd[t] = r;
  }
}

void cpu_rmsnorm_backward(
    float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int N, int d) {
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const float *g = dy + (size_t)t * d, *xr = x + (size_t)t * d;
    float *o = dx + (size_t)t * d;
    float r = rstd[t];
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < d; i++) s += (double)g[i] * w[i] * xr[i];
    float m = (float)(s / d) * r * r;
    for (int i = 0; i < d; i++) o[i] += r * (g[i] * w[i] - xr[i] * m);
  }
  if (dw) {
    /* Column sums: threads own column blocks. */
    const int block = 64;
    int nblocks = (d + block - 1) / block;
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
    for (int b = 0; b < nblocks; b++) {
      int c0 = b * block, c1 = c0 + block < d ? c0 + block : d;
      for (int t = 0; t < N; t++) {
        const float *g = dy + (size_t)t * d, *xr = x + (size_t)t * d;
        float r = rstd[t];
        for (int c = c0; c < c1; c++) dw[c] += g[c] * xr[c] * r;
      }
    }
  }
}
