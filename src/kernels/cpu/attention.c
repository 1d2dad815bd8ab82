/* kernels/cpu/attention.c: causal multi-head attention (GQA) over packed sequences, with an
 * online softmax so that no (T, T) score matrix is ever held: the forward keeps only each row's
 * log-sum-exp, and the backward recomputes probabilities from it (flash-attention style). */
#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu.h"

#define LETHE_MAX_HEAD_DIM 512

static inline float dotf(const float *a, const float *b, int n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

static inline void axpyf(float *y, float a, const float *x, int n) {
#pragma omp simd
  for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* Index of the sequence holding row t (start is increasing, start[0] == 0). */
static inline int seq_of(const int *start, int n_seq, int t) {
  int lo = 0, hi = n_seq - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (start[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* One query row against keys j0..j1 (inclusive) with key/value row pointers at stride ld. */
static inline void attend_row(float *o, float *lse_out, const float *qr, const float *k0,
                              const float *v0, size_t ld, int j0, int j1, int hd, float scale) {
  float acc[LETHE_MAX_HEAD_DIM];
  memset(acc, 0, sizeof(float) * hd);
  float m = -INFINITY, l = 0.0f;
  for (int j = j0; j <= j1; j++) {
    float s = dotf(qr, k0 + (size_t)j * ld, hd) * scale;
    if (s > m) {
      float c = expf(m - s);
      l *= c;
      for (int i = 0; i < hd; i++) acc[i] *= c;
      m = s;
    }
    float p = expf(s - m);
    l += p;
    axpyf(acc, p, v0 + (size_t)j * ld, hd);
  }
  float inv = 1.0f / l;
  for (int i = 0; i < hd; i++) o[i] = acc[i] * inv;
  if (lse_out) *lse_out = m + logf(l);
}

void cpu_attention(float *out, float *lse, const float *q, const float *k, const float *v, int ldq,
                   int ldkv, const int *start, int n_seq, int H, int KV, int hd, int window) {
  int N = start[n_seq];
  int group = H / KV;
  float scale = 1.0f / sqrtf((float)hd);
  long total = (long)N * H;
#pragma omp parallel for schedule(dynamic, 16) if (total * hd > 4096)
  for (long idx = 0; idx < total; idx++) {
    int t = (int)(idx / H), h = (int)(idx % H), kvh = h / group;
    int s0 = start[seq_of(start, n_seq, t)];
    int j0 = s0;
    if (window > 0 && t - window + 1 > j0) j0 = t - window + 1;
    attend_row(out + (size_t)t * H * hd + (size_t)h * hd, lse + (size_t)t * H + h,
               q + (size_t)t * ldq + (size_t)h * hd, k + (size_t)kvh * hd, v + (size_t)kvh * hd,
               (size_t)ldkv, j0, t, hd, scale);
  }
}

void cpu_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out,
                            const float *lse, const float *q, const float *k, const float *v,
                            int ldq, int ldkv, const int *start, int n_seq, int H, int KV, int hd,
                            int window) {
  int group = H / KV;
  float scale = 1.0f / sqrtf((float)hd);
  int ldo = H * hd;
  /* One task per (sequence, kv head): it owns dk and dv of its rows, so nothing races. */
#pragma omp parallel for schedule(dynamic, 1)
  for (int task = 0; task < n_seq * KV; task++) {
    int s = task / KV, kvh = task % KV;
    int a = start[s], b = start[s + 1];
    for (int j = a; j < b; j++) {
      memset(dk + (size_t)j * ldkv + (size_t)kvh * hd, 0, sizeof(float) * hd);
      memset(dv + (size_t)j * ldkv + (size_t)kvh * hd, 0, sizeof(float) * hd);
    }
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
      for (int i = a; i < b; i++) {
        const float *qi = q + (size_t)i * ldq + (size_t)h * hd;
        const float *doi = dout + (size_t)i * ldo + (size_t)h * hd;
        const float *oi = out + (size_t)i * ldo + (size_t)h * hd;
        float Di = dotf(doi, oi, hd), li = lse[(size_t)i * H + h];
        float dqa[LETHE_MAX_HEAD_DIM];
        memset(dqa, 0, sizeof(float) * hd);
        int j0 = a;
        if (window > 0 && i - window + 1 > j0) j0 = i - window + 1;
        for (int j = j0; j <= i; j++) {
          const float *kj = k + (size_t)j * ldkv + (size_t)kvh * hd;
          const float *vj = v + (size_t)j * ldkv + (size_t)kvh * hd;
          float p = expf(dotf(qi, kj, hd) * scale - li);
          float ds = p * (dotf(doi, vj, hd) - Di);
          axpyf(dqa, ds, kj, hd);
          axpyf(dk + (size_t)j * ldkv + (size_t)kvh * hd, ds * scale, qi, hd);
          axpyf(dv + (size_t)j * ldkv + (size_t)kvh * hd, p, doi, hd);
        }
        float *dqi = dq + (size_t)i * ldq + (size_t)h * hd;
        for (int c = 0; c < hd; c++) dqi[c] = dqa[c] * scale;
      }
    }
  }
}

void cpu_attention_cached(float *out, const float *q, int ldq, const float *kc, const float *vc,
                          const int *slot, const int *pos, int N, int max_pos, int H, int KV, int hd,
                          int window) {
  int group = H / KV;
  float scale = 1.0f / sqrtf((float)hd);
  size_t ld = (size_t)KV * hd;
  long total = (long)N * H;
#pragma omp parallel for schedule(dynamic, 4) if (total * hd > 4096)
  for (long idx = 0; idx < total; idx++) {
    int t = (int)(idx / H), h = (int)(idx % H), kvh = h / group;
    int p = pos[t];
    int j0 = 0;
    if (window > 0 && p - window + 1 > j0) j0 = p - window + 1;
    size_t base = (size_t)slot[t] * max_pos * ld + (size_t)kvh * hd;
    attend_row(out + (size_t)t * H * hd + (size_t)h * hd, NULL, q + (size_t)t * ldq + (size_t)h * hd,
               kc + base, vc + base, ld, j0, p, hd, scale);
  }
}
