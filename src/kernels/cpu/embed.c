/* kernels/cpu/embed.c: token embedding lookup and its scatter-add backward. */
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "util/bf16.h"

void cpu_embed(float *x, const float *emb, const int *tokens, int N, int d) {
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) memcpy(x + (size_t)t * d, emb + (size_t)tokens[t] * d, sizeof(float) * d);
}

void cpu_embed_bf16(float *x, const uint16_t *emb16, const int *tokens, int N, int d) {
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
  for (int t = 0; t < N; t++) {
    const uint16_t *e = emb16 + (size_t)tokens[t] * d;
    float *o = x + (size_t)t * d;
    for (int i = 0; i < d; i++) o[i] = lethe_bf16_f32(e[i]);
  }
}

void cpu_embed_backward(float *demb, const float *dx, const int *tokens, int N, int d, int vocab) {
  (void)vocab;
  /* Threads own disjoint column blocks, so repeated tokens never race. */
  const int block = 64;
  int nblocks = (d + block - 1) / block;
#pragma omp parallel for if ((size_t)N * d > LETHE_CPU_PAR_MIN)
  for (int b = 0; b < nblocks; b++) {
    int c0 = b * block, c1 = c0 + block < d ? c0 + block : d;
    for (int t = 0; t < N; t++) {
      float *dst = demb + (size_t)tokens[t] * d;
      const float *src = dx + (size_t)t * d;
      for (int c = c0; c < c1; c++) dst[c] += src[c];
    }
  }
}
