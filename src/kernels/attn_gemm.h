/* kernels/attn_gemm.h: causal attention (GQA, sliding window, packed sequences) written as batched
 * matrix products plus three row-wise kernels, for backends whose GEMMs are far faster than
 * anything hand-written (the CUDA backend, through cuBLAS). The plan (which products, in which
 * layout, with which strides) is this file's C code; a backend supplies the products and the three
 * row kernels as callbacks. tests/kernels/test_attn_gemm.c runs the plan on CPU callbacks against
 * the CPU backend's attention, so the layouts are proven here and the GPU adds only its kernels.
 *
 * Per sequence of L rows and per member gi of a query-head group, batched over the kv heads g
 * (query head h = g * group + gi), with S, P, dP, dS (L, L) row-major (row i: query, column j: key):
 *   forward   S = scale Q K^T;  P = softmax(mask(S)), lse;  O = P V
 *   backward  S again, P = exp(mask(S) - lse);  dP = dO V^T;  dV (+)= P^T dO;
 *             dS = P (dP - rowsum(dO O));  dQ = scale dS K;  dK (+)= scale dS^T Q
 * The mask keeps key j for query i when j <= i and (window <= 0 or j > i - window). */
#ifndef LETHE_KERNELS_ATTN_GEMM_H
#define LETHE_KERNELS_ATTN_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most scratch (floats) a backend reserves for the plan: 256 MB. */
#define LETHE_ATTN_GEMM_CAP ((size_t)64 << 20)

typedef struct {
  void *ctx;
  /* Column-major strided-batched GEMM, exactly as cublasSgemmStridedBatched: for b < batch,
   * C_b (m, n) = alpha op(A_b) op(B_b) + beta C_b with X_b = X + b * sX; ta/tb nonzero: transpose. */
  void (*gemm)(void *ctx, int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda, long long sA,
      const float *B, int ldb, long long sB, float beta, float *C, int ldc, long long sC, int batch);
  /* For b < batch, rows i < L of S_b = S + b L L (row-major (L, L)): masked softmax in place (masked
   * entries become 0), lse[b * lse_sb + i * lse_si] = log-sum-exp of the kept entries. */
  void (*softmax)(void *ctx, float *S, float *lse, long long lse_sb, long long lse_si, int L, int batch, int window);
  /* The same rows: P = exp(S - lse) where kept, else 0 (the backward's recomputation). */
  void (*probs)(
      void *ctx, float *S, const float *lse, long long lse_sb, long long lse_si, int L, int batch, int window);
  /* dS_b (in place of dP_b) = P_b (dP_b - D), D_i = sum_c dO_b[i][c] O_b[i][c] over hd columns;
   * dO_b = dO + b * so_b, row i at + i * so_i (O likewise). */
  void (*dscores)(void *ctx, float *dP, const float *P, const float *dO, const float *O, long long so_b, long long so_i,
      int hd, int L, int batch);
} lethe_attn_gemm_ops;

/* Scratch floats the plan needs for sequences of at most `longest` rows with `kv_heads` kv heads:
 * two (L, L) matrices per kv head, kv heads taken in chunks when `cap` (floats, 0: no cap) is
 * smaller. Returns the floats it will use. */
size_t lethe_attn_gemm_scratch(int longest, int kv_heads, size_t cap);

/* What a backend reserves for sequences of up to `longest` rows: the plan's scratch, at most
 * LETHE_ATTN_GEMM_CAP floats (a sequence whose two score matrices do not fit then needs another
 * attention). */
size_t lethe_attn_gemm_reserve(int longest, int kv_heads);

/* Forward. Host: start (n_seq + 1). Backend memory: out (N, H*hd), lse (N, H), q (ld ldq), k, v
 * (ld ldkv), scratch (scratch_floats). */
void lethe_attn_gemm_forward(const lethe_attn_gemm_ops *o, float *out, float *lse, const float *q, const float *k,
    const float *v, int ldq, int ldkv, const int *start, int n_seq, int H, int KV, int hd, int window, float *scratch,
    size_t scratch_floats);

/* Backward: dq (ld ldq), dk, dv (ld ldkv) overwritten. */
void lethe_attn_gemm_backward(const lethe_attn_gemm_ops *o, float *dq, float *dk, float *dv, const float *dout,
    const float *out, const float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
    const int *start, int n_seq, int H, int KV, int hd, int window, float *scratch, size_t scratch_floats);

#ifdef __cplusplus
}
#endif
#endif
