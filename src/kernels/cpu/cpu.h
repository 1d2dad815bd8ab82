/* kernels/cpu/cpu.h: the CPU implementations of the operations in kernels/ops.h. */
#ifndef LETHE_KERNELS_CPU_H
#define LETHE_KERNELS_CPU_H

#include "kernels/ops.h"

/* Loops with fewer than this many elements run on one thread (a parallel region costs more). */
#define LETHE_CPU_PAR_MIN 16384

void *cpu_alloc(size_t bytes);
void cpu_release(void *p);
void cpu_upload(void *dst, const void *src, size_t bytes);
void cpu_download(void *dst, const void *src, size_t bytes);
double cpu_sumsq(const float *x, size_t n);
void cpu_scale(float *x, size_t n, float a);
void cpu_gemm(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
    int ldb, float beta, float *C, int ldc);
void cpu_embed(float *x, const float *emb, const int *tokens, int N, int d);
void cpu_embed_backward(float *demb, const float *dx, const int *tokens, int N, int d, int vocab);
void cpu_layernorm(float *y, float *mean, float *rstd, const float *x, int N, int d, float eps);
void cpu_layernorm_backward(float *dx, const float *dy, const float *y, const float *rstd, int N, int d);
void cpu_rmsnorm(float *y, float *rstd, const float *x, const float *w, int N, int d, float eps);
void cpu_rmsnorm_backward(
    float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int N, int d);
void cpu_add_bias(float *x, const float *b, int N, int C, int ldx);
void cpu_bias_backward(float *db, const float *dy, int N, int C, int ldy);
void cpu_clip(float *x, uint8_t *mask, int N, int C, int ld, float c);
void cpu_clip_backward(float *dx, const uint8_t *mask, int N, int C, int ld);
void cpu_rope(
    float *x, int N, int n_heads, int hd, int ld, const int *pos, const float *cos, const float *sin, int inverse);
void cpu_attention(float *out, float *lse, const float *q, const float *k, const float *v, int ldq, int ldkv,
    const int *start, int n_seq, int N, int H, int KV, int hd, int window, const lethe_scratch *scratch);
void cpu_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
    const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start, int n_seq, int N, int H,
    int KV, int hd, int window, const lethe_scratch *scratch);
void cpu_attention_cached(float *out, const float *q, int ldq, const float *kc, const float *vc, const int *slot,
    const int *pos, int N, int max_pos, int H, int KV, int hd, int window);
void cpu_swiglu(float *h, const float *gu, int N, int F);
void cpu_swiglu_backward(float *dgu, const float *dh, const float *gu, int N, int F);
void cpu_add(float *y, const float *x, size_t n);
void cpu_copy(float *y, const float *x, size_t n);
void cpu_zero(float *y, size_t n);
void cpu_gather_rows(float *dst, const float *src, const int *rows, int n, int d);
void cpu_scatter_rows(float *dst, const float *src, const int *rows, int n, int N, int d);
void cpu_kv_store(float *kc, float *vc, const float *qkv, int ld, int koff, int kvdim, const int *slot, const int *pos,
    int N, int max_pos);
void cpu_classifier(float *l, float *lse, float *kl_out, float *dx, float *dw, const float *x, const float *w,
    const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk);
void cpu_logits(float *z, const float *x, const float *w, int n, int d, int V);
void cpu_classifier_bf16w(float *l, float *lse, float *kl_out, float *dx, const float *x, const uint16_t *w16,
    const int *y, int n, int d, int V, const lethe_head_coef *coef, float *scratch, int chunk);
void cpu_logits_bf16w(float *z, const float *x, const uint16_t *w16, int n, int d, int V);
void cpu_embed_bf16(float *x, const uint16_t *emb16, const int *tokens, int N, int d);
void cpu_gemm_bf16w(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W, int ldw,
    float beta, float *C, int ldc);
void cpu_upload_bf16(uint16_t *dst, const float *src, size_t n);
/* The exact reference of cpu_gemm_bf16w (plain loops), which it falls back to. */
void cpu_gemm_bf16w_ref(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
    int ldw, float beta, float *C, int ldc);
/* The AVX512_BF16 engine (kernels/cpu/gemm_bf16.c): only where cpu_bf16_native() and, for the
 * shape, cpu_gemm_bf16_ready() say so; cpu_gemm_bf16_reserve(n) makes room for A of n values. */
#define LETHE_BF16_KC 256        /* k values per packed block of B */
#define LETHE_BF16_MC 96         /* rows of A per pass over a packed block */
#define LETHE_BF16_MAX_PANELS 16 /* 32-column panels per thread's block of B */
int cpu_bf16_native(void);
lethe_status cpu_gemm_bf16_reserve(size_t n);
int cpu_gemm_bf16_ready(int M, int K);
void cpu_gemm_bf16_fast(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
    int ldw, float beta, float *C, int ldc);
lethe_status cpu_reserve_bf16(size_t n);
void cpu_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2, float eps,
    float wd, int decoupled, float b1c, float b2c);

#endif
