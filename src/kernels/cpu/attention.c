/* kernels/cpu/attention.c: causal multi-head attention (GQA) over packed sequences.
 * Training path: per (sequence, head), query tiles of LETHE_ATTN_BLOCK rows; scores of a tile
 * against its causal key range by one GEMM into per-thread scratch, a row softmax (only each row's
 * log-sum-exp is kept), then P V by a second GEMM. The backward recomputes P from the log-sum-exp
 * (flash-attention style) and forms dQ, dK, dV by GEMMs; tasks are (sequence, kv head) so GQA
 * heads that share K and V never race. No (T, T) matrix of a whole sequence is ever held.
 * Decoding path: one row at a time against a KV cache with an online softmax. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath.h"

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

/* Key range [j0, j1] of query row i (sequence-relative) under the causal mask and the window. */
static inline int key_begin(int i, int window) { return (window > 0 && i - window + 1 > 0) ? i - window + 1 : 0; }

void cpu_attention(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
    const int *start, int n_seq, int N, int H, int KV, int hd, int window, const lethe_scratch *scratch) {
  int group = H / KV, ldo = H * hd;
  float scale = 1.0f / sqrtf((float)hd);
  int tasks = n_seq * H;
#pragma omp parallel for schedule(dynamic, 1) num_threads(scratch->threads)
  for (int task = 0; task < tasks; task++) {
    int s = task / H, h = task % H, kvh = h / group;
    int a = start[s], L = start[s + 1] - a;
    float *S = scratch->buf + (size_t)omp_get_thread_num() * scratch->per_thread; /* (BQ, L) */
    const float *Q = q + (size_t)a * ldq + (size_t)h * hd;
    const float *K = k + (size_t)a * ldkv + (size_t)kvh * hd;
    const float *V = v + (size_t)a * ldkv + (size_t)kvh * hd;
    float *O = out + (size_t)a * ldo + (size_t)h * hd;
    for (int qb = 0; qb < L; qb += LETHE_ATTN_BLOCK) {
      int nq = L - qb < LETHE_ATTN_BLOCK ? L - qb : LETHE_ATTN_BLOCK;
      int k0 = key_begin(qb, window), k1 = qb + nq; /* keys [k0, k1) cover every row of the tile */
      int nk = k1 - k0;
      cpu_gemm(0, 1, nq, nk, hd, scale, Q + (size_t)qb * ldq, ldq, K + (size_t)k0 * ldkv, ldkv, 0.0f, S, nk);
      for (int r = 0; r < nq; r++) {
        int i = qb + r, lo = key_begin(i, window) - k0, hi = i - k0; /* valid columns [lo, hi] */
        float *row = S + (size_t)r * nk;
        float m = -INFINITY;
        for (int j = lo; j <= hi; j++) m = row[j] > m ? row[j] : m;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = lo; j <= hi; j++) {
          row[j] = lethe_expf(row[j] - m);
          sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < lo; j++) row[j] = 0.0f;
#pragma omp simd
        for (int j = lo; j <= hi; j++) row[j] *= inv;
        for (int j = hi + 1; j < nk; j++) row[j] = 0.0f;
        lse[(size_t)(a + i) * H + h] = m + logf(sum);
      }
      cpu_gemm(0, 0, nq, hd, nk, 1.0f, S, nk, V + (size_t)k0 * ldkv, ldkv, 0.0f, O + (size_t)qb * ldo, ldo);
    }
  }
}

void cpu_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
    const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start, int n_seq, int N, int H,
    int KV, int hd, int window, const lethe_scratch *scratch) {
  int group = H / KV, ldo = H * hd;
  float scale = 1.0f / sqrtf((float)hd);
  int tasks = n_seq * KV;
#pragma omp parallel for schedule(dynamic, 1) num_threads(scratch->threads)
  for (int task = 0; task < tasks; task++) {
    int s = task / KV, kvh = task % KV;
    int a = start[s], L = start[s + 1] - a;
    float *P = scratch->buf + (size_t)omp_get_thread_num() * scratch->per_thread; /* (BQ, L) */
    float *dP = P + (size_t)LETHE_ATTN_BLOCK * L;                                 /* (BQ, L) */
    const float *K = k + (size_t)a * ldkv + (size_t)kvh * hd;
    const float *V = v + (size_t)a * ldkv + (size_t)kvh * hd;
    float *dK = dk + (size_t)a * ldkv + (size_t)kvh * hd, *dV = dv + (size_t)a * ldkv + (size_t)kvh * hd;
    for (int j = 0; j < L; j++) {
      memset(dK + (size_t)j * ldkv, 0, sizeof(float) * hd);
      memset(dV + (size_t)j * ldkv, 0, sizeof(float) * hd);
    }
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
      const float *Q = q + (size_t)a * ldq + (size_t)h * hd;
      const float *dO = dout + (size_t)a * ldo + (size_t)h * hd, *O = out + (size_t)a * ldo + (size_t)h * hd;
      float *dQ = dq + (size_t)a * ldq + (size_t)h * hd;
      for (int qb = 0; qb < L; qb += LETHE_ATTN_BLOCK) {
        int nq = L - qb < LETHE_ATTN_BLOCK ? L - qb : LETHE_ATTN_BLOCK;
        int k0 = key_begin(qb, window), k1 = qb + nq, nk = k1 - k0;
        cpu_gemm(0, 1, nq, nk, hd, scale, Q + (size_t)qb * ldq, ldq, K + (size_t)k0 * ldkv, ldkv, 0.0f, P, nk);
        cpu_gemm(0, 1, nq, nk, hd, 1.0f, dO + (size_t)qb * ldo, ldo, V + (size_t)k0 * ldkv, ldkv, 0.0f, dP, nk);
        for (int r = 0; r < nq; r++) {
          int i = qb + r, lo = key_begin(i, window) - k0, hi = i - k0;
          float l = lse[(size_t)(a + i) * H + h];
          float D = dotf(dO + (size_t)i * ldo, O + (size_t)i * ldo, hd);
          float *pr = P + (size_t)r * nk, *dr = dP + (size_t)r * nk;
          for (int j = 0; j < lo; j++) pr[j] = dr[j] = 0.0f;
#pragma omp simd
          for (int j = lo; j <= hi; j++) {
            pr[j] = lethe_expf(pr[j] - l);
            dr[j] = pr[j] * (dr[j] - D);
          }
          for (int j = hi + 1; j < nk; j++) pr[j] = dr[j] = 0.0f;
        }
        /* dQ = scale dS K; dK += scale dS^T Q; dV += P^T dO */
        cpu_gemm(0, 0, nq, hd, nk, scale, dP, nk, K + (size_t)k0 * ldkv, ldkv, 0.0f, dQ + (size_t)qb * ldq, ldq);
        cpu_gemm(1, 0, nk, hd, nq, scale, dP, nk, Q + (size_t)qb * ldq, ldq, 1.0f, dK + (size_t)k0 * ldkv, ldkv);
        cpu_gemm(1, 0, nk, hd, nq, 1.0f, P, nk, dO + (size_t)qb * ldo, ldo, 1.0f, dV + (size_t)k0 * ldkv, ldkv);
      }
    }
  }
}

/* One query row against keys j0..j1 (inclusive) with an online softmax. */
static inline void attend_row(
    float *o, const float *qr, const float *k0, const float *v0, size_t ld, int j0, int j1, int hd, float scale) {
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
}

void cpu_attention_cached(float *out, const float *q, int ldq, const float *kc, const float *vc, const int *slot,
    const int *pos, int N, int max_pos, int H, int KV, int hd, int window) {
  int group = H / KV;
  float scale = 1.0f / sqrtf((float)hd);
  size_t ld = (size_t)KV * hd;
  long total = (long)N * H;
#pragma omp parallel for schedule(dynamic, 4) if (total * hd > 4096)
  for (long idx = 0; idx < total; idx++) {
    int t = (int)(idx / H), h = (int)(idx % H), kvh = h / group;
    int p = pos[t];
    size_t base = (size_t)slot[t] * max_pos * ld + (size_t)kvh * hd;
    attend_row(out + (size_t)t * H * hd + (size_t)h * hd, q + (size_t)t * ldq + (size_t)h * hd, kc + base, vc + base,
        ld, key_begin(p, window), p, hd, scale);
  }
}
