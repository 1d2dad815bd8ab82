/* kernels/cuda/cuda_classifier.cu: the fused classifier on the GPU, as kernels/cpu/classifier.c:
 * chunks of answer rows, logits by cuBLAS, one block per row for the log-softmax, the gold
 * log-prob, the objective's coefficient and the logit gradient written over the logits, then
 * dX = G W (and dW += G^T X) by cuBLAS. */
#include <math.h>
#include <string.h>

#include "kernels/cuda/cuda_common.cuh"

#define T 256

__global__ static void k_rows(float *z, float *zr, float *l, float *lse, float *kl_out, const int *y, int r0, int V,
                              lethe_head_coef coef, int use_kl, int want_grad) {
  __shared__ float sh[32];
  int i = blockIdx.x, r = r0 + i;
  float *zi = z + (size_t)i * V;
  float m = -INFINITY;
  for (int v = threadIdx.x; v < V; v += blockDim.x) m = fmaxf(m, zi[v]);
  m = block_max(m, sh);
  float s = 0.0f;
  for (int v = threadIdx.x; v < V; v += blockDim.x) s += expf(zi[v] - m);
  float li = m + logf(block_sum(s, sh));
  int gold = y[r];
  float lt = gold >= 0 ? zi[gold] - li : 0.0f;
  float lq = 0.0f, kw = 0.0f;
  int mode = LETHE_TGT_REF;
  const float *zq = NULL; /* the target's logits: the reference row, or zi without its gold entry */
  if (use_kl) {
    mode = coef.tgt ? coef.tgt[r] : LETHE_TGT_REF;
    int skip = mode == LETHE_TGT_SELF ? gold : -1;
    if (mode == LETHE_TGT_SELF) {
      zq = zi;
    } else {
      float *zri = zr + (size_t)i * V;
      __syncthreads();
      if (mode == LETHE_TGT_REF_SHIFT && gold >= 0 && threadIdx.x == 0) zri[gold] -= coef.tgt_shift;
      __syncthreads();
      zq = zri;
    }
    float mr = -INFINITY;
    for (int v = threadIdx.x; v < V; v += blockDim.x)
      if (v != skip) mr = fmaxf(mr, zq[v]);
    mr = block_max(mr, sh);
    float sr = 0.0f;
    for (int v = threadIdx.x; v < V; v += blockDim.x)
      if (v != skip) sr += expf(zq[v] - mr);
    lq = mr + logf(block_sum(sr, sh));
    kw = coef.kl[r];
    if (kl_out) {
      float ce = 0.0f, ent = 0.0f;
      for (int v = threadIdx.x; v < V; v += blockDim.x) {
        if (v == skip) continue;
        float lpq = zq[v] - lq, q = expf(lpq);
        ce -= q * (zi[v] - li);
        ent -= q * lpq;
      }
      ce = block_sum(ce, sh);
      ent = block_sum(ent, sh);
      if (threadIdx.x == 0) kl_out[r] = mode == LETHE_TGT_REF ? ce - ent : ce;
    }
  } else if (kl_out && threadIdx.x == 0) {
    kl_out[r] = 0.0f;
  }
  if (threadIdx.x == 0) {
    l[r] = lt;
    if (lse) lse[r] = li;
  }
  if (!want_grad) return;
  float a = 0.0f;
  if (coef.fixed) a += coef.fixed[r];
  if (coef.sig) a += coef.sig[r] / (1.0f + expf(-coef.beta * (lt - coef.ref[r])));
  if (coef.pw && gold >= 0) {
    float p = expf(lt);
    a += coef.pw[r] * powf(p, coef.pw_b1) * powf(1.0f - p, coef.pw_b2);
  }
  __syncthreads(); /* every thread has read zi[gold] before it is overwritten */
  for (int v = threadIdx.x; v < V; v += blockDim.x) {
    float p = expf(zi[v] - li);
    float g = -a * p;
    if (use_kl && kw != 0.0f) {
      float q = (mode == LETHE_TGT_SELF && v == gold) ? 0.0f : expf(zq[v] - lq);
      g += kw * (p - q);
    }
    if (v == gold) g += a;
    zi[v] = g;
  }
}

extern "C" void cu_classifier(float *l, float *lse, float *kl_out, float *dx, float *dw, const float *x, const float *w,
                              const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk) {
  lethe_head_coef c;
  memset(&c, 0, sizeof c);
  if (coef) c = *coef;
  int use_kl = coef && coef->kl;
  int have_ref = use_kl && coef->ref_hidden;
  float *z = scratch, *zr = scratch + (size_t)chunk * V;
  for (int r0 = 0; r0 < n; r0 += chunk) {
    int k = n - r0 < chunk ? n - r0 : chunk;
    cu_gemm(0, 1, k, V, d, 1.0f, x + (size_t)r0 * d, d, w, d, 0.0f, z, V);
    if (have_ref) cu_gemm(0, 1, k, V, d, 1.0f, coef->ref_hidden + (size_t)r0 * d, d, w, d, 0.0f, zr, V);
    k_rows<<<k, T>>>(z, zr, l, lse, kl_out, y, r0, V, c, use_kl, dx != NULL);
    CK_LAUNCH();
    if (dx) cu_gemm(0, 0, k, d, V, 1.0f, z, V, w, d, 0.0f, dx + (size_t)r0 * d, d);
    if (dx && dw) cu_gemm(1, 0, V, d, k, 1.0f, z, V, x + (size_t)r0 * d, d, 1.0f, dw, d);
  }
}
