/* tests/kernels/test_gemm_bf16.c: the products with bf16 weights (kernels/cpu/bf16.c and the
 * AVX512_BF16 engine of kernels/cpu/gemm_bf16.c) against a reference in double of the bf16-rounded
 * operands (so the only error allowed is fp32 summation), on fresh random inputs, over shapes that
 * cross every edge of the engine: rows that are not a multiple of its 12-row tile, columns that end
 * inside a 32-column panel, odd K and K across its 256-value blocks, a row stride wider than K, both
 * W and W^T, beta 0 and not, and the few-row (decoding) path. The engine's part is Skipped on a CPU
 * without AVX512_BF16, where only the plain loops run (the program then exits 77: ctest says Skipped). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "testutil.h"
#include "util/bf16.h"
#include "util/rng.h"

static lethe_rng R;

static float *rnd(size_t n) {
  float *x = malloc(sizeof(float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++) x[i] = (float)(2 * lethe_rng_uniform(&R) - 1);
  return x;
}

typedef void (*gemm_fn)(int, int, int, int, float, const float *, int, const uint16_t *, int, float, float *, int);

/* One shape through fn; every entry within the fp32 summation bound of the double reference. */
static void check(gemm_fn fn, const char *name, int tw, int M, int N, int K, float beta) {
  int lda = K + 5, ldw = tw ? K + 3 : N + 7, ldc = N + 2;
  float *A = rnd((size_t)M * lda), *C = rnd((size_t)M * ldc);
  size_t wn = tw ? (size_t)N * ldw : (size_t)K * ldw;
  float *W32 = rnd(wn);
  uint16_t *W = malloc(sizeof(uint16_t) * wn);
  for (size_t i = 0; i < wn; i++) W[i] = lethe_f32_bf16(W32[i]);
  double *want = malloc(sizeof(double) * M * N), *bound = malloc(sizeof(double) * M * N);
  const float alpha = 0.75f;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0, sa = 0;
      for (int k = 0; k < K; k++) {
        double t = (double)lethe_bf16_round(A[(size_t)i * lda + k]) *
                   lethe_bf16_f32(tw ? W[(size_t)j * ldw + k] : W[(size_t)k * ldw + j]);
        s += t;
        sa += fabs(t);
      }
      double c = C[(size_t)i * ldc + j];
      want[(size_t)i * N + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * c);
      /* K fp32 additions, the alpha scaling and the beta term: each at most half an ulp */
      bound[(size_t)i * N + j] = (K + 4) * 6e-8 * (alpha * sa + fabs(beta * c)) + 1e-30;
    }
  /* columns beyond N in C (the padding of ldc) must stay untouched */
  float guard = C[N];
  fn(tw, M, N, K, alpha, A, lda, W, ldw, beta, C, ldc);
  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double e = fabs(C[(size_t)i * ldc + j] - want[(size_t)i * N + j]) / bound[(size_t)i * N + j];
      worst = e > worst ? e : worst;
    }
  if (worst > 1.0 || C[N] != guard)
    fail_msg("%s tw=%d M=%d N=%d K=%d beta=%g: error %.2f times the fp32 summation bound (guard %s)", name, tw, M, N, K,
        beta, worst, C[N] == guard ? "kept" : "overwritten");
  free(A), free(C), free(W32), free(W), free(want), free(bound);
}

static const int SHAPES[][3] = {
    {1, 1, 1},
    {1, 37, 64},
    {3, 100, 33},
    {16, 70, 300},
    {17, 33, 31},
    {12, 32, 256},
    {13, 31, 257},
    {100, 65, 2},
    {130, 600, 129},
    {97, 96, 600},
    {250, 1030, 40},
    {64, 513, 1},
};

static void test_reference(void **state) {
  (void)state;
  for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
    for (int tw = 0; tw < 2; tw++)
      check(cpu_gemm_bf16w_ref, "reference", tw, SHAPES[s][0] < 40 ? SHAPES[s][0] : 40,
          SHAPES[s][1] < 100 ? SHAPES[s][1] : 100, SHAPES[s][2], s % 2 ? 0.5f : 0.0f);
}

static void test_engine(void **state) {
  (void)state;
  if (!cpu_bf16_native())
    tu_skip_case("the VDPBF16PS engine cannot run: this CPU has no AVX512_BF16 (or this build left the engine out)");
  assert_int_equal(cpu_gemm_bf16_reserve((size_t)300 * 700), LETHE_OK);
  for (size_t s = 0; s < sizeof SHAPES / sizeof *SHAPES; s++)
    for (int tw = 0; tw < 2; tw++)
      for (int b = 0; b < 2; b++) {
        assert_true(cpu_gemm_bf16_ready(SHAPES[s][0], SHAPES[s][2]));
        check(cpu_gemm_bf16_fast, "engine", tw, SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], b ? -1.25f : 0.0f);
      }
  /* the dispatcher takes the engine for a reserved shape */
  check(cpu_gemm_bf16w, "dispatch", 1, 40, 50, 60, 0.0f);
}

static void test_no_engine(void **state) {
  (void)state;
  if (cpu_bf16_native()) {
    print_message("AVX512_BF16 present: the engine is tested above\n");
    return;
  }
  /* without the instructions the dispatcher runs the plain loops and the answer is still right */
  check(cpu_gemm_bf16w, "dispatch", 0, 20, 30, 40, 0.5f);
}

int main(void) {
  lethe_rng_seed(&R, 20261202);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference), cmocka_unit_test(test_engine), cmocka_unit_test(test_no_engine)};
  return tu_run_group_tests(tests, NULL, NULL);
}
