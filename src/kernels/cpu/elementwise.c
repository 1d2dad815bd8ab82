/* kernels/cpu/elementwise.c: bias, clip_qkv clamp, residual add and SwiGLU, forward and backward. */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath.h"

void cpu_add_bias(float *x, const float *b, int N, int C, int ldx) {
#pragma omp parallel for if ((size_t)N * C > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    float *r = x + (size_t)t * ldx;
#pragma omp simd
    for (int c = 0; c < C; c++) r[c] += b[c];
  }
}

void cpu_bias_backward(float *db, const float *dy, int N, int C, int ldy) {
  const int block = 64;
  int nblocks = (C + block - 1) / block;
#pragma omp parallel for if ((size_t)N * C > LETHE_CPU_PAR_MIN)
  for (int b = 0; b < nblocks; b++) {
    int c0 = b * block, c1 = c0 + block < C ? c0 + block : C;
    for (int t = 0; t < N; t++) {
      const float *r = dy + (size_t)t * ldy;
      for (int c = c0; c < c1; c++) db[c] += r[c];
    }
  }
}

void cpu_clip(float *x, uint8_t *mask, int N, int C, int ld, float c) {
#pragma omp parallel for if ((size_t)N * C > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    float *r = x + (size_t)t * ld;
    uint8_t *m = mask ? mask + (size_t)t * C : NULL;
    for (int i = 0; i < C; i++) {
      float v = r[i];
      /* torch.clamp passes the gradient where -c <= v <= c. */
      int inside = v >= -c && v <= c;
      r[i] = v < -c ? -c : (v > c ? c : v);
      if (m) m[i] = (uint8_t)inside;
    }
  }
}

void cpu_clip_backward(float *dx, const uint8_t *mask, int N, int C, int ld) {
#pragma omp parallel for if ((size_t)N * C > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    float *r = dx + (size_t)t * ld;
    const uint8_t *m = mask + (size_t)t * C;
    for (int i = 0; i < C; i++)
      if (!m[i]) r[i] = 0.0f;
  }
}

void cpu_add(float *y, const float *x, size_t n) {
#pragma omp parallel for simd if (n > LETHE_CPU_PAR_MIN)
  for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void cpu_swiglu(float *h, const float *gu, int N, int F) {
#pragma omp parallel for if ((size_t)N * F > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const float *g = gu + (size_t)t * 2 * F, *u = g + F;
    float *o = h + (size_t)t * F;
#pragma omp simd
    for (int i = 0; i < F; i++) o[i] = g[i] / (1.0f + lethe_expf(-g[i])) * u[i];
  }
}

void cpu_swiglu_backward(float *dgu, const float *dh, const float *gu, int N, int F) {
#pragma omp parallel for if ((size_t)N * F > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const float *g = gu + (size_t)t * 2 * F, *u = g + F, *d = dh + (size_t)t * F;
    float *dg = dgu + (size_t)t * 2 * F, *du = dg + F;
#pragma omp simd
    for (int i = 0; i < F; i++) {
      float s = 1.0f / (1.0f + lethe_expf(-g[i]));
      float silu = g[i] * s;
      du[i] = d[i] * silu;
      dg[i] = d[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
    }
  }
}
