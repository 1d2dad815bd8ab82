/* kernels/cpu/memory.c: data movement: copies, zeroing, row gather/scatter, KV-cache stores. */
#include <string.h>

#include "kernels/cpu/cpu.h"

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

void cpu_kv_store(float *kc, float *vc, const float *qkv, int ld, int koff, int kvdim,
                  const int *slot, const int *pos, int N, int max_pos) {
  for (int t = 0; t < N; t++) {
    size_t at = ((size_t)slot[t] * max_pos + pos[t]) * kvdim;
    memcpy(kc + at, qkv + (size_t)t * ld + koff, sizeof(float) * kvdim);
    memcpy(vc + at, qkv + (size_t)t * ld + koff + kvdim, sizeof(float) * kvdim);
  }
}
