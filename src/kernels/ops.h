/* kernels/ops.h: the narrow set of operations the model calls, behind one backend interface.
 * kernels/cpu implements it with OpenBLAS and OpenMP; kernels/cuda implements the same table.
 * Nothing above kernels/ knows which backend runs.
 *
 * Conventions: row-major; a token-major activation (N, C) has row stride C unless a stride is
 * given; weights are [out, in] as in PyTorch. "acc" means the result is added to the output. */
#ifndef LETHE_KERNELS_OPS_H
#define LETHE_KERNELS_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/status.h"

/* Every pointer given to an operation is backend memory (from alloc), except where a comment
 * says host. Per-row coefficients of the fused classifier, shared by every objective (DESIGN.md,
 * "Objectives"). For an answer row t with gold id y_t and logits z_t:
 *   l_t   = z_t[y_t] - logsumexp(z_t),  p_t = exp(l_t)         (gold log-prob)
 *   a_t   = fixed[t] + sig[t] * sigmoid(beta * (l_t - ref[t]))
 *           + pw[t] * p_t^pw_b1 * (1 - p_t)^pw_b2                (dL/dl_t; the weight is a constant)
 *   dL/dz = a_t * (onehot(y_t) - softmax(z_t)) + kl[t] * (softmax(z_t) - q_t)
 * where the target distribution q_t of row t is (tgt[t], all LETHE_TGT_REF when tgt is NULL):
 *   LETHE_TGT_REF        softmax(zr_t), zr_t = ref_hidden_t W^T; kl_out gets KL(q || p)
 *   LETHE_TGT_REF_SHIFT  softmax(zr_t - tgt_shift onehot(y_t)); kl_out gets CE(q, p)
 *   LETHE_TGT_SELF       softmax(z_t with the gold logit removed), held constant; kl_out gets CE(q, p)
 * q_t is only formed when kl != NULL; ref_hidden is needed when a row's target is REF or REF_SHIFT. */
typedef enum { LETHE_TGT_REF = 0, LETHE_TGT_REF_SHIFT = 1, LETHE_TGT_SELF = 2 } lethe_tgt_kind; /* int in tgt arrays */

typedef struct {
  const float *fixed; /* (n) or NULL (0) */
  const float *sig;   /* (n) or NULL (0) */
  const float *ref;   /* (n) reference gold log-probs, needed when sig != NULL */
  float beta;
  const float *pw; /* (n) probability-weighted terms (WGA, SatImp), or NULL */
  float pw_b1, pw_b2;
  const float *kl;         /* (n) weights of the target-distribution term, or NULL */
  const float *ref_hidden; /* (n, d) adapter-off final hidden rows (REF, REF_SHIFT targets) */
  const int *tgt;          /* (n) LETHE_TGT_* per row, or NULL (all REF) */
  float tgt_shift;         /* REF_SHIFT: lowered gold logit of the target */
} lethe_head_coef;

/* Per-thread scratch for kernels that work in tiles (attention): `threads` slices of
 * `per_thread` floats. Sized once by the workspace; a kernel never allocates. */
typedef struct {
  float *buf;
  size_t per_thread;
  int threads;
} lethe_scratch;

/* Query rows per attention tile; the attention scratch needs 2 * LETHE_ATTN_BLOCK * (longest
 * sequence) floats per thread. */
#define LETHE_ATTN_BLOCK 64

typedef struct lethe_ops {
  const char *name;
  /* 1 when the backend computes on host memory (the CPU): its buffers are host pointers and
   * upload/download are plain copies. */
  int host_visible;

  /* Memory of the backend: zeroed allocations, and copies between host and backend memory. */
  void *(*alloc)(size_t bytes);
  void (*release)(void *p);
  void (*upload)(void *dst, const void *host_src, size_t bytes);
  void (*download)(void *host_dst, const void *src, size_t bytes);

  /* The first failure the backend met since the last call (kernel launches report errors
   * asynchronously), as a status with a message; LETHE_OK when none. */
  lethe_status (*check)(void);

  /* sum of x[i]^2 (n), returned to the host in double */
  double (*sumsq)(const float *x, size_t n);
  /* x *= a (n) */
  void (*scale)(float *x, size_t n, float a);

  /* C (M, N) = alpha * op(A) op(B) + beta * C; op(A) is (M, K), op(B) is (K, N). */
  void (*gemm)(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
      int ldb, float beta, float *C, int ldc);

  /* x (N, d) = emb[tokens[t]] */
  void (*embed)(float *x, const float *emb, const int *tokens, int N, int d);
  /* demb[tokens[t]] += dx (N, d)  (scatter-add, race-free) */
  void (*embed_backward)(float *demb, const float *dx, const int *tokens, int N, int d, int vocab);

  /* LayerNorm without affine parameters (OLMo): y = (x - mean) * rstd. mean, rstd: (N). */
  void (*layernorm)(float *y, float *mean, float *rstd, const float *x, int N, int d, float eps);
  /* dx (N, d) += d(LayerNorm)/dx applied to dy, from y = xhat. */
  void (*layernorm_backward)(float *dx, const float *dy, const float *y, const float *rstd, int N, int d);
  /* RMSNorm with weight w (d): y = x * rstd * w, rstd (N). */
  void (*rmsnorm)(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps);
  /* dx (N, d) += d(RMSNorm)/dx applied to dy; dw (d) += sum_t dy * x * rstd (dw may be NULL). */
  void (*rmsnorm_backward)(
      float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int N, int d);

  /* x[t, c] += b[c] for t < N, c < C, with row stride ldx. */
  void (*add_bias)(float *x, const float *b, int N, int C, int ldx);
  /* db (C) += sum_t dy[t, c], row stride ldy. */
  void (*bias_backward)(float *db, const float *dy, int N, int C, int ldy);

  /* Clamp x[t, 0..C) to [-c, c] in place (row stride ld); mask (N, C) gets 1 where the value
   * was inside the range (gradient passes), 0 where clamped. */
  void (*clip)(float *x, uint8_t *mask, int N, int C, int ld, float c);
  /* dx[t, c] = 0 where mask is 0. */
  void (*clip_backward)(float *dx, const uint8_t *mask, int N, int C, int ld);

  /* Rotary embedding, rotate-half pairing (i, i + hd/2), in place on `n_heads` heads of hd
   * values per row (row stride ld). cos/sin: (max_pos, hd/2). inverse != 0 rotates by -angle
   * (the backward pass). */
  void (*rope)(
      float *x, int N, int n_heads, int hd, int ld, const int *pos, const float *cos, const float *sin, int inverse);

  /* Causal attention over packed sequences: sequence s holds rows [start[s], start[s+1]), N =
   * start[n_seq] rows in all (given so that a device backend need not read start back).
   * q (N, H*hd) stride ldq, k and v (N, KV*hd) stride ldkv; out (N, H*hd) stride H*hd;
   * lse (N, H) gets each row's log-sum-exp of scaled scores. window > 0 limits attention to the
   * last `window` positions. */
  void (*attention)(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
      const int *start, int n_seq, int N, int H, int KV, int hd, int window, const lethe_scratch *scratch);
  /* Backward of attention: dq (stride ldq), dk, dv (stride ldkv) are overwritten. */
  void (*attention_backward)(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
      const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start, int n_seq, int N, int H,
      int KV, int hd, int window, const lethe_scratch *scratch);
  /* Attention of new rows against a KV cache: row t (position pos[t] of cache slot slot[t])
   * attends to cache positions 0..pos[t] of its slot. kc/vc: (slots, max_pos, KV*hd). */
  void (*attention_cached)(float *out, const float *q, int ldq, const float *kc, const float *vc, const int *slot,
      const int *pos, int N, int max_pos, int H, int KV, int hd, int window);

  /* h (N, F) = silu(g) * u where gu (N, 2F) holds g in columns [0, F) and u in [F, 2F). */
  void (*swiglu)(float *h, const float *gu, int N, int F);
  /* dgu (N, 2F) from dh (N, F). */
  void (*swiglu_backward)(float *dgu, const float *dh, const float *gu, int N, int F);

  /* y += x (n) */
  void (*add)(float *y, const float *x, size_t n);
  /* y = x (n) */
  void (*copy)(float *y, const float *x, size_t n);
  /* y = 0 (n) */
  void (*zero)(float *y, size_t n);
  /* dst (n, d) = src[rows[i]] */
  void (*gather_rows)(float *dst, const float *src, const int *rows, int n, int d);
  /* dst (N, d) = 0, then dst[rows[i]] = src (n, d) */
  void (*scatter_rows)(float *dst, const float *src, const int *rows, int n, int N, int d);
  /* Stores rows of k and v (columns [koff, koff + kvdim) and [koff + kvdim, koff + 2 kvdim) of
   * qkv, row stride ld) into the caches kc, vc (slots, max_pos, kvdim) at (slot[t], pos[t]). */
  void (*kv_store)(float *kc, float *vc, const float *qkv, int ld, int koff, int kvdim, const int *slot, const int *pos,
      int N, int max_pos);

  /* Fused classifier over n answer rows: x (n, d) final hidden rows, w (V, d) the head, y (n)
   * gold ids. Writes l (n) gold log-probs, lse (n), and, when dx != NULL, the gradient
   * dx (n, d) = G w where G (n, V) is dL/dz from `coef` (see lethe_head_coef); when dw != NULL
   * also dw (V, d) += G^T x. kl_out (n, may be NULL) gets sum_v p_ref (log p_ref - log p).
   * Never holds more than `chunk` rows of logits: scratch holds chunk * V * (1 + (kl != NULL))
   * floats. */
  void (*classifier)(float *l, float *lse, float *kl_out, float *dx, float *dw, const float *x, const float *w,
      const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk);

  /* Logits of n rows: z (n, V) = x (n, d) w^T. */
  void (*logits)(float *z, const float *x, const float *w, int n, int d, int V);

  /* One Adam(W) step on n parameters: m, v moments; bias corrections b1c = 1 - beta1^t,
   * b2c = 1 - beta2^t; weight decay wd added to the gradient (Adam, decoupled == 0) or applied
   * to the parameters (AdamW, decoupled != 0). */
  void (*adam)(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2, float eps,
      float wd, int decoupled, float b1c, float b2c);

  /* Bytes of device memory in use now (CUDA: total - free as the driver reports it, the context
   * included); 0 for a backend on host memory (its memory is the process's RSS). */
  size_t (*mem_in_use)(void);

  /* Frozen weights stored in bf16 (uint16_t: the upper half of an fp32, see util/bf16.h):
   * C (M, N) = alpha * bf16(A) op(W) + beta * C, A (M, K) fp32 rounded to bf16 (nearest even),
   * op(W) = W^T for W (N, K) when trans_w, else W (K, N); products exact, sums in fp32. */
  void (*gemm_bf16w)(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W, int ldw,
      float beta, float *C, int ldc);
  /* dst (n, bf16, backend memory) = bf16(host_src (n, fp32, host)) */
  void (*upload_bf16)(uint16_t *dst, const float *host_src, size_t n);
  /* Makes room for gemm_bf16w's bf16 copy of A up to n values, so that no step allocates; called
   * when a workspace is made. */
  lethe_status (*reserve_bf16)(size_t n);
  /* Optional (NULL where a backend has none; the model then keeps its head and embedding in fp32):
   * the classifier, the logits and the embedding lookup with the head / embedding table w16 (V, d)
   * stored in bf16, otherwise as classifier, logits and embed above (products as in gemm_bf16w). */
  void (*classifier_bf16w)(float *l, float *lse, float *kl_out, float *dx, const float *x, const uint16_t *w16,
      const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk);
  void (*logits_bf16w)(float *z, const float *x, const uint16_t *w16, int n, int d, int V);
  void (*embed_bf16)(float *x, const uint16_t *emb16, const int *tokens, int N, int d);
  /* Makes room for the backend's own attention scratch, if it keeps one, for sequences of up to
   * `longest` rows with `kv_heads` kv heads; called when a workspace is made. */
  lethe_status (*reserve_attention)(int longest, int kv_heads);
} lethe_ops;

/* The CPU backend. */
const lethe_ops *lethe_cpu_ops(void);
/* 1 when this CPU runs the CPU backend's bf16-weight products on AVX512_BF16 (kernels/cpu/gemm_bf16.c),
 * 0 when they fall back to exact plain loops. */
int lethe_cpu_bf16_engine(void);
/* A backend by name: "cpu", or "cuda" in a build with CUDA (see LETHE_CUDA). Unknown or
 * unavailable names are an error saying why. */
lethe_status lethe_backend(const char *name, const lethe_ops **out);

#endif
