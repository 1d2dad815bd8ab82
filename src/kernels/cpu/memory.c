/* kernels/cpu/memory.c: memory and data movement: allocation, host copies, copies, zeroing,
 * row gather/scatter, KV-cache stores, sums of squares, scaling. */
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"

void *cpu_alloc(size_t bytes) {
  size_t n = (bytes + 63) / 64 * 64;
  void *p = aligned_alloc(64, n ? n : 64);
  if (p) memset(p, 0, n ? n : 64);
  return p;
}

void cpu_release(void *p) { free(p); }

void cpu_upload(void *dst, const void *src, size_t bytes) {
  if (dst != src && bytes) memcpy(dst, src, bytes);
}

void cpu_download(void *dst, const void *src, size_t bytes) {
  if (dst != src && bytes) memcpy(dst, src, bytes);
}

double cpu_sumsq(const float *x, size_t n) {
  double ss = 0;
#pragma omp parallel for reduction(+ : ss) schedule(static) if (n > LETHE_CPU_PAR_MIN)
  for (size_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
  return ss;
}

void cpu_scale(float *x, size_t n, float a) {
#pragma omp parallel for simd if (n > LETHE_CPU_PAR_MIN)
  for (size_t i = 0; i < n; i++) x[i] *= a;
}

void cpu_copy(float *y, const float *x, size_t n) {
  if (y != x) memcpy(y, x, sizeof(float) * n);
}

void cpu_zero(float *y, size_t n) { memset(y, 0, sizeof(float) * n); }

void cpu_gather_rows(float *dst, const float *src, const int *rows, int n, int d) {
#pragma omp parallel for if ((size_t)n * d > LETHE_CPU_PAR_MIN)
  for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * d, src + (size_t)rows[i] * d, sizeof(float) * d);
}

void cpu_scatter_rows(float *dst, const float *src, const int *rows, int n, int N, int d) {
  memset(dst, 0, sizeof(float) * (size_t)N * d);
  for (int i = 0; i < n; i++) memcpy(dst + (size_t)rows[i] * d, src + (size_t)i * d, sizeof(float) * d);
}

void cpu_kv_store(float *kc, float *vc, const float *qkv, int ld, int koff, int kvdim, const int *slot, const int *pos,
    int N, int max_pos) {
  for (int t = 0; t < N; t++) {
    size_t at = ((size_t)slot[t] * max_pos + pos[t]) * kvdim;
    memcpy(kc + at, qkv + (size_t)t * ld + koff, sizeof(float) * kvdim);
    memcpy(vc + at, qkv + (size_t)t * ld + koff + kvdim, sizeof(float) * kvdim);
  }
}
