/* kernels/cpu/classifier.c: the fused classifier. For a chunk of answer rows at a time: logits by
 * one GEMM, log-softmax, gold log-probs, the objective's per-row coefficients, the logit gradient
 * written over the logits in place, then dx = G W (and dW += G^T x). The (n, V) logits tensor is
 * never formed: at most `chunk` rows of it exist at once. */
#include <math.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath.h"

static void row_lse(const float *z, int V, float *lse_out) {
  float m = -INFINITY;
  for (int v = 0; v < V; v++) m = z[v] > m ? z[v] : m;
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int v = 0; v < V; v++) s += lethe_expf(z[v] - m);
  *lse_out = m + (float)log(s);
}

void cpu_logits(float *z, const float *x, const float *w, int n, int d, int V) {
  cpu_gemm(0, 1, n, V, d, 1.0f, x, d, w, d, 0.0f, z, V);
}

void cpu_logits_bf16w(float *z, const float *x, const uint16_t *w16, int n, int d, int V) {
  cpu_gemm_bf16w(1, n, V, d, 1.0f, x, d, w16, d, 0.0f, z, V);
}

/* C (M, N) = A op(W) with the head W (V, d) in fp32 (w) or bf16 (w16): op(W) = W^T when trans_w. */
static void head_gemm(int trans_w, int M, int N, int K, const float *A, int lda, const float *w, const uint16_t *w16,
    int ldw, float *C, int ldc) {
  if (w16)
    cpu_gemm_bf16w(trans_w, M, N, K, 1.0f, A, lda, w16, ldw, 0.0f, C, ldc);
  else
    cpu_gemm(0, trans_w, M, N, K, 1.0f, A, lda, w, ldw, 0.0f, C, ldc);
}

/* The target distribution q of a row (see lethe_head_coef): its log-normaliser over the row's
 * target logits q_logits (the own logits zi for LETHE_TGT_SELF, without the gold entry). */
static float target_lse(const float *q_logits, int V, lethe_tgt_kind mode, int gold) {
  if (mode != LETHE_TGT_SELF || gold < 0) {
    float lq;
    row_lse(q_logits, V, &lq);
    return lq;
  }
  float m = -INFINITY;
  for (int v = 0; v < V; v++)
    if (v != gold) m = q_logits[v] > m ? q_logits[v] : m;
  double s = 0;
  for (int v = 0; v < V; v++)
    if (v != gold) s += lethe_expf(q_logits[v] - m);
  return m + (float)log(s);
}

static void classifier(float *l, float *lse, float *kl_out, float *dx, float *dw, const float *x, const float *w,
    const uint16_t *w16, const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk) {
  const int use_kl = coef && coef->kl;
  const int have_ref = use_kl && coef->ref_hidden;
  float *z = scratch;                      /* (chunk, V) logits, then dL/dz */
  float *zr = scratch + (size_t)chunk * V; /* (chunk, V) reference logits, when have_ref */
  for (int r0 = 0; r0 < n; r0 += chunk) {
    int c = n - r0 < chunk ? n - r0 : chunk;
    head_gemm(1, c, V, d, x + (size_t)r0 * d, d, w, w16, d, z, V);
    if (have_ref) head_gemm(1, c, V, d, coef->ref_hidden + (size_t)r0 * d, d, w, w16, d, zr, V);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < c; i++) {
      int r = r0 + i;
      float *zi = z + (size_t)i * V;
      float li;
      row_lse(zi, V, &li);
      int gold = y[r];
      float lt = gold >= 0 ? zi[gold] - li : 0.0f;
      float zgold = gold >= 0 ? zi[gold] : 0.0f;
      l[r] = lt;
      if (lse) lse[r] = li;
      float kw = 0.0f, lq = 0.0f;
      lethe_tgt_kind mode = LETHE_TGT_REF;
      const float *zq = NULL; /* (V) the target's logits: zr row, or zi itself (gold excluded) */
      if (use_kl) {
        mode = coef->tgt ? (lethe_tgt_kind)coef->tgt[r] : LETHE_TGT_REF;
        if (mode == LETHE_TGT_SELF) {
          zq = zi;
        } else {
          float *zri = zr + (size_t)i * V;
          if (mode == LETHE_TGT_REF_SHIFT && gold >= 0) zri[gold] -= coef->tgt_shift;
          zq = zri;
        }
        lq = target_lse(zq, V, mode, gold);
        kw = coef->kl[r];
        if (kl_out) {
          double ce = 0, ent = 0;
          for (int v = 0; v < V; v++) {
            if (mode == LETHE_TGT_SELF && v == gold) continue;
            float lpq = zq[v] - lq;
            double q = lethe_expf(lpq);
            ce -= q * (double)(zi[v] - li);
            ent -= q * (double)lpq;
          }
          kl_out[r] = (float)(mode == LETHE_TGT_REF ? ce - ent : ce);
        }
      } else if (kl_out) {
        kl_out[r] = 0.0f;
      }
      if (!dx) continue;
      float a = 0.0f;
      if (coef) {
        if (coef->fixed) a += coef->fixed[r];
        if (coef->sig) {
          float u = coef->beta * (lt - coef->ref[r]);
          a += coef->sig[r] / (1.0f + expf(-u));
        }
        if (coef->pw && gold >= 0) {
          float p = expf(lt);
          a += coef->pw[r] * powf(p, coef->pw_b1) * powf(1.0f - p, coef->pw_b2);
        }
      }
      if (use_kl && kw != 0.0f) {
        for (int v = 0; v < V; v++) {
          float p = lethe_expf(zi[v] - li), q = lethe_expf(zq[v] - lq);
          zi[v] = -a * p + kw * (p - q);
        }
        /* LETHE_TGT_SELF: q has no mass on the gold token */
        if (mode == LETHE_TGT_SELF && gold >= 0) zi[gold] = (kw - a) * lethe_expf(zgold - li);
      } else {
#pragma omp simd
        for (int v = 0; v < V; v++) zi[v] = -a * lethe_expf(zi[v] - li);
      }
      if (gold >= 0) zi[gold] += a;
    }
    if (dx) head_gemm(0, c, d, V, z, V, w, w16, d, dx + (size_t)r0 * d, d);
    if (dx && dw) cpu_gemm(1, 0, V, d, c, 1.0f, z, V, x + (size_t)r0 * d, d, 1.0f, dw, d);
  }
}

void cpu_classifier(float *l, float *lse, float *kl_out, float *dx, float *dw, const float *x, const float *w,
    const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk) {
  classifier(l, lse, kl_out, dx, dw, x, w, NULL, y, n, d, V, coef, scratch, chunk);
}

void cpu_classifier_bf16w(float *l, float *lse, float *kl_out, float *dx, const float *x, const uint16_t *w16,
    const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk) {
  classifier(l, lse, kl_out, dx, NULL, x, NULL, w16, y, n, d, V, coef, scratch, chunk);
}
