/* kernels/cpu/rope.c: rotary position embedding with rotate-half pairing (HF convention):
 * out[i] = x[i] cos - x[i + hd/2] sin, out[i + hd/2] = x[i + hd/2] cos + x[i] sin. */
#include "kernels/cpu/cpu.h"

void cpu_rope(
    float *x, int N, int n_heads, int hd, int ld, const int *pos, const float *cos, const float *sin, int inverse) {
  int half = hd / 2;
  float sgn = inverse ? -1.0f : 1.0f;
#pragma omp parallel for if ((size_t)N * n_heads * hd > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const float *c = cos + (size_t)pos[t] * half, *s = sin + (size_t)pos[t] * half;
    for (int h = 0; h < n_heads; h++) {
      float *a = x + (size_t)t * ld + (size_t)h * hd, *b = a + half;
#pragma omp simd
      for (int i = 0; i < half; i++) {
        float x1 = a[i], x2 = b[i], si = sgn * s[i];
        a[i] = x1 * c[i] - x2 * si;
        b[i] = x2 * c[i] + x1 * si;
      }
    }
  }
}
