/* kernels/attn_gemm.c: the plan of attention as batched matrix products (see attn_gemm.h for the
 * formulas). Column-major GEMM views of the row-major tensors: a row-major (L, hd) block with row
 * stride ld is the column-major (hd, L) matrix with leading dimension ld; a row-major (L, L) score
 * matrix S is the column-major matrix whose (j, i) entry is S[i][j]. */
#include "kernels/attn_gemm.h"

#include <math.h>

size_t lethe_attn_gemm_scratch(int longest, int kv_heads, size_t cap) {
  size_t per = (size_t)longest * (size_t)longest, chunk = (size_t)kv_heads;
  if (cap && 2 * per * chunk > cap) chunk = cap / (2 * per) ? cap / (2 * per) : 1;
  return 2 * per * chunk;
}

size_t lethe_attn_gemm_reserve(int longest, int kv_heads) {
  size_t n = lethe_attn_gemm_scratch(longest, kv_heads, LETHE_ATTN_GEMM_CAP);
  return n < LETHE_ATTN_GEMM_CAP ? n : LETHE_ATTN_GEMM_CAP;
}

/* kv heads per batch that fit in the scratch for sequences of L rows (0: none) */
static int chunk_for(int L, int KV, size_t scratch_floats) {
  size_t per = (size_t)L * (size_t)L, c = scratch_floats / (2 * per);
  return c > (size_t)KV ? KV : (int)c;
}

void lethe_attn_gemm_forward(const lethe_attn_gemm_ops *o, float *out, float *lse, const float *q, const float *k,
    const float *v, int ldq, int ldkv, const int *start, int n_seq, int H, int KV, int hd, int window, float *scratch,
    size_t scratch_floats) {
  int group = H / KV, ldo = H * hd;
  float scale = 1.0f / sqrtf((float)hd);
  for (int s = 0; s < n_seq; s++) {
    int r0 = start[s], L = start[s + 1] - r0, chunk = chunk_for(L, KV, scratch_floats);
    if (L <= 0 || chunk <= 0) continue;
    long long per = (long long)L * L;
    for (int gi = 0; gi < group; gi++)
      for (int g0 = 0; g0 < KV; g0 += chunk) {
        int nb = KV - g0 < chunk ? KV - g0 : chunk, h0 = g0 * group + gi;
        const float *Q = q + (size_t)r0 * ldq + (size_t)h0 * hd;  /* (L, hd) per head, heads group*hd apart */
        const float *K = k + (size_t)r0 * ldkv + (size_t)g0 * hd; /* (L, hd) per kv head, hd apart */
        const float *V = v + (size_t)r0 * ldkv + (size_t)g0 * hd;
        float *S = scratch; /* (nb, L, L) */
        /* S[i][j] = scale q_i . k_j: column-major S^T = K Q^T */
        o->gemm(o->ctx, 1, 0, L, L, hd, scale, K, ldkv, hd, Q, ldq, (long long)group * hd, 0.0f, S, L, per, nb);
        o->softmax(o->ctx, S, lse + (size_t)r0 * H + h0, group, H, L, nb, window);
        /* O[i] = sum_j P[i][j] v_j: column-major O^T = V^T P^T */
        o->gemm(o->ctx, 0, 0, hd, L, L, 1.0f, V, ldkv, hd, S, L, per, 0.0f, out + (size_t)r0 * ldo + (size_t)h0 * hd,
            ldo, (long long)group * hd, nb);
      }
  }
}

void lethe_attn_gemm_backward(const lethe_attn_gemm_ops *o, float *dq, float *dk, float *dv, const float *dout,
    const float *out, const float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
    const int *start, int n_seq, int H, int KV, int hd, int window, float *scratch, size_t scratch_floats) {
  int group = H / KV, ldo = H * hd;
  float scale = 1.0f / sqrtf((float)hd);
  for (int s = 0; s < n_seq; s++) {
    int r0 = start[s], L = start[s + 1] - r0, chunk = chunk_for(L, KV, scratch_floats);
    if (L <= 0 || chunk <= 0) continue;
    long long per = (long long)L * L, sh = (long long)group * hd;
    for (int gi = 0; gi < group; gi++)
      for (int g0 = 0; g0 < KV; g0 += chunk) {
        int nb = KV - g0 < chunk ? KV - g0 : chunk, h0 = g0 * group + gi;
        size_t qo = (size_t)r0 * ldq + (size_t)h0 * hd, ko = (size_t)r0 * ldkv + (size_t)g0 * hd,
               oo = (size_t)r0 * ldo + (size_t)h0 * hd;
        float *P = scratch, *dS = scratch + (size_t)chunk * per; /* (nb, L, L) each */
        float beta = gi ? 1.0f : 0.0f; /* the heads of a group add into their kv head's dK, dV */
        o->gemm(o->ctx, 1, 0, L, L, hd, scale, k + ko, ldkv, hd, q + qo, ldq, sh, 0.0f, P, L, per, nb);
        o->probs(o->ctx, P, lse + (size_t)r0 * H + h0, group, H, L, nb, window);
        /* dP[i][j] = dO_i . v_j */
        o->gemm(o->ctx, 1, 0, L, L, hd, 1.0f, v + ko, ldkv, hd, dout + oo, ldo, sh, 0.0f, dS, L, per, nb);
        /* dV[j] (+)= sum_i P[i][j] dO_i: column-major dV^T = dO^T P */
        o->gemm(o->ctx, 0, 1, hd, L, L, 1.0f, dout + oo, ldo, sh, P, L, per, beta, dv + ko, ldkv, hd, nb);
        o->dscores(o->ctx, dS, P, dout + oo, out + oo, sh, ldo, hd, L, nb);
        /* dQ[i] = scale sum_j dS[i][j] k_j: column-major dQ^T = K^T dS^T */
        o->gemm(o->ctx, 0, 0, hd, L, L, scale, k + ko, ldkv, hd, dS, L, per, 0.0f, dq + qo, ldq, sh, nb);
        /* dK[j] (+)= scale sum_i dS[i][j] q_i: column-major dK^T = Q^T dS */
        o->gemm(o->ctx, 0, 1, hd, L, L, scale, q + qo, ldq, sh, dS, L, per, beta, dk + ko, ldkv, hd, nb);
      }
  }
}
