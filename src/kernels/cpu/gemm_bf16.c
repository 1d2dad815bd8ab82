/* kernels/cpu/gemm_bf16.c: the fast product with frozen weights stored in bf16, on CPUs with
 * AVX512_BF16 (VDPBF16PS: two bf16 products added to an fp32 lane per instruction, twice the
 * multiply rate of fp32 FMA). Compiled with a target attribute, so the portable build keeps working;
 * kernels/cpu/bf16.c calls it only when the CPU says it has the instructions.
 *
 * C (M, N) = alpha * bf16(A) op(W) + beta * C, with B = op(W) (K, N):
 *   - A (M, K) fp32 is rounded to bf16 once per call into the reserved buffer, row stride Kp (K
 *     rounded up to even, padded with 0), so that A[m][2p], A[m][2p+1] form one 32-bit word that
 *     the micro-kernel broadcasts;
 *   - each thread owns blocks of columns: it packs its block of B, LETHE_BF16_KC rows at a time,
 *     into panels of 32 columns (Bp[pair][32][2]: the two k of a pair side by side, as VDPBF16PS
 *     wants them), zero-padded at the edges;
 *   - the micro-kernel keeps a 12 x 32 tile of C in 24 zmm accumulators (fp32) and runs over the
 *     block's pairs of k.
 * For a few rows (decoding) with W^T, no packing: each row of W is dotted with every row of A. */
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "util/error.h"

/* Clang 14 cannot build OpenMP regions inside functions with a target attribute (it refuses the
 * vectors there or crashes in code generation) unless the whole file targets the instructions; such
 * a build (the clang fuzzing build) leaves the engine out, and the plain loops of bf16.c run. */
#if defined(__clang__) && !defined(__AVX512BF16__)
#define LETHE_BF16_ENGINE 0
#else
#define LETHE_BF16_ENGINE 1
#endif

#if LETHE_BF16_ENGINE
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define MR 12
#define NP 32 /* columns per panel */

/* The reserved scratch: A in bf16 and one B block per thread. */
static uint16_t *g_a;
static size_t g_a_cap; /* bf16 values */
static uint16_t *g_b;
static int g_b_threads;

#define B_BLOCK ((size_t)LETHE_BF16_KC * LETHE_BF16_MAX_PANELS * NP)

lethe_status cpu_gemm_bf16_reserve(size_t n) {
  /* rounding K up to even adds at most one value per row; room for n + 4096 covers it */
  size_t need = n + 4096;
  int threads = omp_get_max_threads();
  if (need > g_a_cap) {
    uint16_t *a = aligned_alloc(64, (need * sizeof(uint16_t) + 63) / 64 * 64);
    if (!a) return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for the bf16 GEMM operand", need * 2);
    free(g_a);
    g_a = a;
    g_a_cap = need;
  }
  if (threads > g_b_threads) {
    uint16_t *b = aligned_alloc(64, B_BLOCK * sizeof(uint16_t) * (size_t)threads);
    if (!b) return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate the bf16 GEMM packing blocks");
    free(g_b);
    g_b = b;
    g_b_threads = threads;
  }
  return LETHE_OK;
}

int cpu_gemm_bf16_ready(int M, int K) { return g_b && (size_t)M * (size_t)((K + 1) & ~1) <= g_a_cap; }

/* A (M, K) fp32, stride lda -> g_a (M, Kp) bf16, round to nearest even. */
TGT static void convert_rows(const float *A, int lda, int m0, int m1, int K, int Kp) {
  for (int i = m0; i < m1; i++) {
    const float *a = A + (size_t)i * lda;
    uint16_t *o = g_a + (size_t)i * Kp;
    int k = 0;
    for (; k + 32 <= K; k += 32) {
      __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(a + k + 16), _mm512_loadu_ps(a + k));
      _mm512_storeu_si512(o + k, (__m512i)v);
    }
    if (k < Kp) {
      int rest = K - k;
      __mmask16 lo = rest >= 16 ? 0xffff : (__mmask16)((1u << rest) - 1);
      __mmask16 hi = rest <= 16 ? 0 : (__mmask16)((1u << (rest - 16)) - 1);
      __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, a + k + 16), _mm512_maskz_loadu_ps(lo, a + k));
      __mmask32 m = (__mmask32)(((uint64_t)1 << (Kp - k)) - 1);
      _mm512_mask_storeu_epi16(o + k, m, (__m512i)v);
    }
  }
}

static inline uint16_t wat(const uint16_t *W, int ldw, int trans_w, int K, int N, int k, int n) {
  if (k >= K || n >= N) return 0;
  return trans_w ? W[(size_t)n * ldw + k] : W[(size_t)k * ldw + n];
}

/* Packs rows [k0, k0 + kn) of B = op(W), columns [n0, n0 + panels * 32), into dst: panel by
 * panel, Bp[pair][32][2]. */
TGT static void pack_b(
    uint16_t *dst, int trans_w, const uint16_t *W, int ldw, int K, int N, int k0, int kn, int n0, int panels) {
  int pairs = (kn + 1) / 2;
  const __m512i lo_idx = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38, 6,
      37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
  const __m512i hi_idx = _mm512_set_epi16(63, 31, 62, 30, 61, 29, 60, 28, 59, 27, 58, 26, 57, 25, 56, 24, 55, 23, 54,
      22, 53, 21, 52, 20, 51, 19, 50, 18, 49, 17, 48, 16);
  for (int pn = 0; pn < panels; pn++) {
    uint16_t *o = dst + (size_t)pn * pairs * 2 * NP;
    int nb = n0 + pn * NP;
    int full_n = nb + NP <= N;
    for (int p = 0; p < pairs; p++) {
      int k = k0 + 2 * p;
      uint16_t *op = o + (size_t)p * 2 * NP;
      if (full_n && k + 1 < K) {
        if (trans_w) {
          /* the pair is two adjacent values of row n of W */
          uint32_t *o32 = (uint32_t *)op;
          for (int j = 0; j < NP; j++) {
            uint32_t w;
            memcpy(&w, W + (size_t)(nb + j) * ldw + k, 4);
            o32[j] = w;
          }
        } else {
          /* interleave rows k and k + 1 of W */
          __m512i r0 = _mm512_loadu_si512(W + (size_t)k * ldw + nb),
                  r1 = _mm512_loadu_si512(W + (size_t)(k + 1) * ldw + nb);
          _mm512_storeu_si512(op, _mm512_permutex2var_epi16(r0, lo_idx, r1));
          _mm512_storeu_si512(op + NP, _mm512_permutex2var_epi16(r0, hi_idx, r1));
        }
      } else {
        for (int j = 0; j < NP; j++) {
          op[(ptrdiff_t)2 * j] = wat(W, ldw, trans_w, K, N, k, nb + j);
          op[(ptrdiff_t)2 * j + 1] = wat(W, ldw, trans_w, K, N, k + 1, nb + j);
        }
      }
    }
  }
}

/* C tile (mr, 32 or fewer columns by the masks) over `pairs` pairs of k. a: g_a rows as 32-bit
 * words (stride lda32); b: one packed panel. first: this block applies beta, otherwise it adds. */
TGT static inline __attribute__((always_inline)) void micro(const int mr, int pairs, const uint32_t *a, size_t lda32,
    const uint16_t *b, float *c, size_t ldc, __mmask16 m0, __mmask16 m1, float alpha, float beta, int first) {
  __m512 acc0[MR], acc1[MR];
  for (int r = 0; r < mr; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();
  for (int p = 0; p < pairs; p++) {
    __m512bh b0 = (__m512bh)_mm512_load_si512(b + (size_t)p * 64);
    __m512bh b1 = (__m512bh)_mm512_load_si512(b + (size_t)p * 64 + 32);
    for (int r = 0; r < mr; r++) {
      __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[(size_t)r * lda32 + p]);
      acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
      acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
    }
  }
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int r = 0; r < mr; r++) {
    float *cr = c + (size_t)r * ldc;
    __m512 x0 = _mm512_mul_ps(va, acc0[r]), x1 = _mm512_mul_ps(va, acc1[r]);
    if (!first || beta != 0.0f) {
      __m512 c0 = _mm512_maskz_loadu_ps(m0, cr), c1 = _mm512_maskz_loadu_ps(m1, cr + 16);
      if (first) {
        c0 = _mm512_mul_ps(vb, c0);
        c1 = _mm512_mul_ps(vb, c1);
      }
      x0 = _mm512_add_ps(x0, c0);
      x1 = _mm512_add_ps(x1, c1);
    }
    _mm512_mask_storeu_ps(cr, m0, x0);
    _mm512_mask_storeu_ps(cr + 16, m1, x1);
  }
}

/* one case per row count, on one line */
// clang-format off
TGT static void micro_any(int mr, int pairs, const uint32_t *a, size_t lda32, const uint16_t *b, float *c, size_t ldc,
                          __mmask16 m0, __mmask16 m1, float alpha, float beta, int first) {
  switch (mr) {
#define CASE(n) case n: micro(n, pairs, a, lda32, b, c, ldc, m0, m1, alpha, beta, first); break;
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11) CASE(12)
#undef CASE
  default: break;
  }
}
// clang-format on

/* A few rows against W^T (N, K): C[i][j] = alpha * sum_k bf16(A)[i][k] W[j][k] + beta C[i][j]. */
TGT static void few_rows(
    int M, int N, int K, int Kp, float alpha, const uint16_t *W, int ldw, float beta, float *C, int ldc) {
#pragma omp parallel for schedule(static) if ((size_t)N * K > 65536)
  for (int j = 0; j < N; j++) {
    const uint16_t *w = W + (size_t)j * ldw;
    __m512 acc[16];
    for (int i = 0; i < M; i++) acc[i] = _mm512_setzero_ps();
    for (int k = 0; k < K; k += 32) {
      __mmask32 m = K - k >= 32 ? 0xffffffffu : (__mmask32)(((uint64_t)1 << (K - k)) - 1);
      __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, w + k);
      for (int i = 0; i < M; i++) {
        __m512bh av = (__m512bh)_mm512_maskz_loadu_epi16(m, g_a + (size_t)i * Kp + k);
        acc[i] = _mm512_dpbf16_ps(acc[i], av, wv);
      }
    }
    for (int i = 0; i < M; i++) {
      float s = alpha * _mm512_reduce_add_ps(acc[i]);
      float *c = C + (size_t)i * ldc + j;
      *c = beta == 0.0f ? s : s + beta * *c;
    }
  }
}

TGT void cpu_gemm_bf16_fast(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
    int ldw, float beta, float *C, int ldc) {
  int Kp = (K + 1) & ~1;
  int threads = omp_get_max_threads();
  if (threads > g_b_threads) threads = g_b_threads;
  if (M <= 16 && trans_w) {
#pragma omp parallel for schedule(static) num_threads(threads) if ((size_t)M * K > 65536)
    for (int i = 0; i < M; i++) convert_rows(A, lda, i, i + 1, K, Kp);
    few_rows(M, N, K, Kp, alpha, W, ldw, beta, C, ldc);
    return;
  }
  int panels = (N + NP - 1) / NP;
  /* column blocks: a multiple of the thread count, each of at most LETHE_BF16_MAX_PANELS panels */
  int per = threads * LETHE_BF16_MAX_PANELS;
  int nblocks = threads * ((panels + per - 1) / per);
  if (nblocks > panels) nblocks = panels;
  int ppb = (panels + nblocks - 1) / nblocks;
  nblocks = (panels + ppb - 1) / ppb;
  size_t lda32 = (size_t)Kp / 2;
  const uint32_t *a32 = (const uint32_t *)g_a;
#pragma omp parallel num_threads(threads)
  {
    int nt = omp_get_num_threads(), tid = omp_get_thread_num();
    int chunk = (M + nt - 1) / nt, m0 = tid * chunk, m1 = m0 + chunk < M ? m0 + chunk : M;
    if (m0 < m1) convert_rows(A, lda, m0, m1, K, Kp);
#pragma omp barrier
    uint16_t *bb = g_b + B_BLOCK * (size_t)tid;
#pragma omp for schedule(static, 1)
    for (int blk = 0; blk < nblocks; blk++) {
      int p0 = blk * ppb, np = panels - p0 < ppb ? panels - p0 : ppb;
      for (int k0 = 0; k0 < K; k0 += LETHE_BF16_KC) {
        int kn = K - k0 < LETHE_BF16_KC ? K - k0 : LETHE_BF16_KC;
        int pairs = (kn + 1) / 2;
        pack_b(bb, trans_w, W, ldw, K, N, k0, kn, p0 * NP, np);
        for (int mb = 0; mb < M; mb += LETHE_BF16_MC) {
          int me = mb + LETHE_BF16_MC < M ? mb + LETHE_BF16_MC : M;
          for (int pn = 0; pn < np; pn++) {
            int n = (p0 + pn) * NP, left = N - n;
            __mmask16 mk0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            __mmask16 mk1 = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
            const uint16_t *bp = bb + (size_t)pn * pairs * 2 * NP;
            for (int i = mb; i < me; i += MR) {
              int mr = me - i < MR ? me - i : MR;
              const uint32_t *ar = a32 + (size_t)i * lda32 + k0 / 2;
              float *cr = C + (size_t)i * ldc + n;
              if (mr == MR)
                micro(MR, pairs, ar, lda32, bp, cr, (size_t)ldc, mk0, mk1, alpha, beta, k0 == 0);
              else
                micro_any(mr, pairs, ar, lda32, bp, cr, (size_t)ldc, mk0, mk1, alpha, beta, k0 == 0);
            }
          }
        }
      }
    }
  }
}

#else /* no engine in this build: cpu_bf16_native() says 0, so nothing below is called */
lethe_status cpu_gemm_bf16_reserve(size_t n) {
  (void)n;
  return LETHE_OK;
}
int cpu_gemm_bf16_ready(int M, int K) {
  (void)M;
  (void)K;
  return 0;
}
void cpu_gemm_bf16_fast(int trans_w, int M, int N, int K, float alpha, const float *A, int lda, const uint16_t *W,
    int ldw, float beta, float *C, int ldc) {
  (void)trans_w, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)W, (void)ldw, (void)beta, (void)C,
      (void)ldc;
}
#endif

int cpu_bf16_native(void) {
  static int known = -1;
  if (!LETHE_BF16_ENGINE) return 0;
  if (known < 0) {
    __builtin_cpu_init();
    known = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
  }
  return known;
}
