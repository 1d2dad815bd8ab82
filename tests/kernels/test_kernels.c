/* tests/kernels/test_kernels.c: every CPU kernel of kernels/ops.h against a plain reference written
 * here in double precision, on fresh random inputs (never zeros), with shapes that reach the edge
 * cases: tiles of attention crossed by long sequences, GQA, sliding windows, repeated tokens in
 * the embedding backward, clamped values, every classifier coefficient kind. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/vmath.h"
#include "testutil.h"
#include "util/rng.h"

static lethe_rng R;

static float *rnd(size_t n, float scale) {
  float *x = malloc(sizeof(float) * (n ? n : 1));
  for (size_t i = 0; i < n; i++) x[i] = (float)(scale * (2 * lethe_rng_uniform(&R) - 1));
  return x;
}

static void close_d(const char *what, const float *got, const double *want, size_t n, double tol) {
  float *w = malloc(sizeof(float) * n);
  for (size_t i = 0; i < n; i++) w[i] = (float)want[i];
  tu_assert_close(what, got, w, n, tol);
  free(w);
}

static void test_expf(void **state) {
  (void)state;
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.001953125f) {
    double rel = fabs((double)lethe_expf(x) - exp((double)x)) / exp((double)x);
    worst = fmax(worst, rel);
  }
  print_message("lethe_expf: worst relative error %.3g (%.2f ulp)\n", worst, worst / 5.96e-8);
  assert_true(worst < 2.5e-7);
  assert_true(isnan(lethe_expf(NAN)));
  assert_true(lethe_expf(0.0f) == 1.0f);
  assert_true(lethe_expf(-200.0f) < 1e-37f);
}

static void test_gemm(void **state) {
  (void)state;
  int M = 37, N = 29, K = 41;
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      float *A = rnd((size_t)M * K, 1), *B = rnd((size_t)K * N, 1), *C = rnd((size_t)M * N, 1);
      double *want = malloc(sizeof(double) * M * N);
      for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
          double s = 0;
          for (int k = 0; k < K; k++)
            s += (double)(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
          want[i * N + j] = 0.5 * s + 2.0 * C[i * N + j];
        }
      cpu_gemm(ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 2.0f, C, N);
      close_d("gemm", C, want, (size_t)M * N, 1e-6);
      free(A);
      free(B);
      free(C);
      free(want);
    }
}

static void test_embed(void **state) {
  (void)state;
  int V = 11, d = 70, N = 40;
  float *emb = rnd((size_t)V * d, 1), *x = malloc(sizeof(float) * N * d), *dx = rnd((size_t)N * d, 1);
  int tok[40];
  for (int t = 0; t < N; t++) tok[t] = (int)lethe_rng_below(&R, (uint64_t)V); /* many repeats */
  cpu_embed(x, emb, tok, N, d);
  for (int t = 0; t < N; t++) assert_memory_equal(x + t * d, emb + tok[t] * d, sizeof(float) * d);
  float *g = rnd((size_t)V * d, 1);
  double *want = malloc(sizeof(double) * V * d);
  for (int i = 0; i < V * d; i++) want[i] = g[i];
  for (int t = 0; t < N; t++)
    for (int c = 0; c < d; c++) want[tok[t] * d + c] += dx[t * d + c];
  cpu_embed_backward(g, dx, tok, N, d, V);
  close_d("embed_backward", g, want, (size_t)V * d, 1e-6);
  free(emb);
  free(x);
  free(dx);
  free(g);
  free(want);
}

static void test_norms(void **state) {
  (void)state;
  int N = 9, d = 300;
  float *x = rnd((size_t)N * d, 3), *w = rnd(d, 1), *dy = rnd((size_t)N * d, 1);
  for (int i = 0; i < N * d; i++) x[i] += 0.7f; /* non-zero mean */
  float *y = malloc(sizeof(float) * N * d), rstd[9], mean[9];
  double *yw = malloc(sizeof(double) * N * d), *dxw = malloc(sizeof(double) * N * d), dww[300] = {0};
  /* LayerNorm, no affine: y = (x - mu) / sqrt(var + eps); dx = (dy - mean dy - y mean(dy y)) / sigma */
  cpu_layernorm(y, mean, rstd, x, N, d, 1e-5f);
  for (int t = 0; t < N; t++) {
    double mu = 0, var = 0, sg = 0, sgy = 0;
    for (int i = 0; i < d; i++) mu += x[t * d + i];
    mu /= d;
    for (int i = 0; i < d; i++) var += (x[t * d + i] - mu) * (x[t * d + i] - mu);
    var /= d;
    double sd = sqrt(var + 1e-5);
    for (int i = 0; i < d; i++) yw[t * d + i] = (x[t * d + i] - mu) / sd;
    for (int i = 0; i < d; i++) {
      sg += dy[t * d + i];
      sgy += dy[t * d + i] * yw[t * d + i];
    }
    for (int i = 0; i < d; i++) dxw[t * d + i] = (dy[t * d + i] - sg / d - yw[t * d + i] * sgy / d) / sd;
  }
  close_d("layernorm", y, yw, (size_t)N * d, 1e-6);
  float *dx = calloc((size_t)N * d, sizeof(float));
  cpu_layernorm_backward(dx, dy, y, rstd, N, d);
  close_d("layernorm_backward", dx, dxw, (size_t)N * d, 1e-5);
  /* RMSNorm: y = w x / rms; dx = w dy / rms - x sum(w dy x) / (d rms^3); dw = sum dy x / rms */
  cpu_rmsnorm(y, rstd, x, w, N, d, 1e-6f);
  for (int t = 0; t < N; t++) {
    double ss = 0, s = 0;
    for (int i = 0; i < d; i++) ss += (double)x[t * d + i] * x[t * d + i];
    double rms = sqrt(ss / d + 1e-6);
    for (int i = 0; i < d; i++) {
      yw[t * d + i] = w[i] * x[t * d + i] / rms;
      s += (double)w[i] * dy[t * d + i] * x[t * d + i];
      dww[i] += dy[t * d + i] * x[t * d + i] / rms;
    }
    for (int i = 0; i < d; i++) dxw[t * d + i] = w[i] * dy[t * d + i] / rms - x[t * d + i] * s / (d * rms * rms * rms);
  }
  close_d("rmsnorm", y, yw, (size_t)N * d, 1e-6);
  memset(dx, 0, sizeof(float) * N * d);
  float dw[300] = {0};
  cpu_rmsnorm_backward(dx, dw, dy, x, w, rstd, N, d);
  close_d("rmsnorm_backward dx", dx, dxw, (size_t)N * d, 1e-5);
  close_d("rmsnorm_backward dw", dw, dww, (size_t)d, 1e-5);
  free(x);
  free(w);
  free(dy);
  free(y);
  free(yw);
  free(dxw);
  free(dx);
}

static void test_elementwise(void **state) {
  (void)state;
  int N = 13, C = 50, ld = 64;
  float *x = rnd((size_t)N * ld, 2), *b = rnd(C, 1);
  float *x0 = malloc(sizeof(float) * N * ld);
  memcpy(x0, x, sizeof(float) * N * ld);
  cpu_add_bias(x, b, N, C, ld);
  for (int t = 0; t < N; t++)
    for (int c = 0; c < ld; c++) assert_true(x[t * ld + c] == (c < C ? x0[t * ld + c] + b[c] : x0[t * ld + c]));
  float db[50] = {0};
  double dbw[50] = {0};
  for (int t = 0; t < N; t++)
    for (int c = 0; c < C; c++) dbw[c] += x0[t * ld + c];
  cpu_bias_backward(db, x0, N, C, ld);
  close_d("bias_backward", db, dbw, (size_t)C, 1e-6);
  /* clip */
  uint8_t mask[13 * 50];
  memcpy(x, x0, sizeof(float) * N * ld);
  cpu_clip(x, mask, N, C, ld, 1.0f);
  int clipped = 0;
  for (int t = 0; t < N; t++)
    for (int c = 0; c < C; c++) {
      float v = x0[t * ld + c];
      assert_true(x[t * ld + c] == fminf(1.0f, fmaxf(-1.0f, v)));
      assert_int_equal(mask[t * C + c], fabsf(v) <= 1.0f);
      clipped += fabsf(v) > 1.0f;
    }
  assert_true(clipped > 50);
  float *g = rnd((size_t)N * ld, 1), *g0 = malloc(sizeof(float) * N * ld);
  memcpy(g0, g, sizeof(float) * N * ld);
  cpu_clip_backward(g, mask, N, C, ld);
  for (int t = 0; t < N; t++)
    for (int c = 0; c < C; c++) assert_true(g[t * ld + c] == (mask[t * C + c] ? g0[t * ld + c] : 0.0f));
  /* SwiGLU */
  int F = 37;
  float *gu = rnd((size_t)N * 2 * F, 4), *h = malloc(sizeof(float) * N * F), *dh = rnd((size_t)N * F, 1),
        *dgu = malloc(sizeof(float) * N * 2 * F);
  double *hw = malloc(sizeof(double) * N * F), *dgw = malloc(sizeof(double) * N * 2 * F);
  for (int t = 0; t < N; t++)
    for (int i = 0; i < F; i++) {
      double gg = gu[t * 2 * F + i], uu = gu[t * 2 * F + F + i], s = 1 / (1 + exp(-gg));
      hw[t * F + i] = gg * s * uu;
      dgw[t * 2 * F + F + i] = dh[t * F + i] * gg * s;
      dgw[t * 2 * F + i] = dh[t * F + i] * uu * (s + gg * s * (1 - s));
    }
  cpu_swiglu(h, gu, N, F);
  close_d("swiglu", h, hw, (size_t)N * F, 1e-6);
  cpu_swiglu_backward(dgu, dh, gu, N, F);
  close_d("swiglu_backward", dgu, dgw, (size_t)N * 2 * F, 1e-6);
  free(x);
  free(x0);
  free(b);
  free(g);
  free(g0);
  free(gu);
  free(h);
  free(dh);
  free(dgu);
  free(hw);
  free(dgw);
}

static void test_rope(void **state) {
  (void)state;
  int N = 10, H = 3, hd = 8, ld = 30, half = 4, P = 16;
  float *cs = malloc(sizeof(float) * P * half), *sn = malloc(sizeof(float) * P * half);
  for (int p = 0; p < P; p++)
    for (int i = 0; i < half; i++) {
      double a = p * pow(10000.0, -2.0 * i / hd);
      cs[p * half + i] = (float)cos(a);
      sn[p * half + i] = (float)sin(a);
    }
  int pos[10];
  for (int t = 0; t < N; t++) pos[t] = (int)lethe_rng_below(&R, P);
  float *x = rnd((size_t)N * ld, 1), *x0 = malloc(sizeof(float) * N * ld);
  memcpy(x0, x, sizeof(float) * N * ld);
  cpu_rope(x, N, H, hd, ld, pos, cs, sn, 0);
  double *want = malloc(sizeof(double) * N * ld);
  for (int i = 0; i < N * ld; i++) want[i] = x0[i];
  for (int t = 0; t < N; t++)
    for (int h = 0; h < H; h++)
      for (int i = 0; i < half; i++) {
        double a = pos[t] * pow(10000.0, -2.0 * i / hd), x1 = x0[t * ld + h * hd + i],
               x2 = x0[t * ld + h * hd + i + half];
        want[t * ld + h * hd + i] = x1 * cos(a) - x2 * sin(a);
        want[t * ld + h * hd + i + half] = x2 * cos(a) + x1 * sin(a);
      }
  close_d("rope", x, want, (size_t)N * ld, 1e-6);
  cpu_rope(x, N, H, hd, ld, pos, cs, sn, 1);
  tu_assert_close("rope inverse", x, x0, (size_t)N * ld, 1e-6);
  free(cs);
  free(sn);
  free(x);
  free(x0);
  free(want);
}

/* Naive attention in double: returns out and lse; and the backward given dout. */
static void naive_attention(const float *q, const float *k, const float *v, int ldq, int ldkv, const int *start,
    int n_seq, int H, int KV, int hd, int window, const float *dout, double *out, double *lse, double *dq, double *dk,
    double *dv) {
  int N = start[n_seq], group = H / KV;
  double scale = 1 / sqrt((double)hd);
  memset(dq, 0, sizeof(double) * N * ldq);
  memset(dk, 0, sizeof(double) * N * ldkv);
  memset(dv, 0, sizeof(double) * N * ldkv);
  double *p = malloc(sizeof(double) * N);
  for (int s = 0; s < n_seq; s++)
    for (int h = 0; h < H; h++) {
      int g = h / group;
      for (int i = start[s]; i < start[s + 1]; i++) {
        int j0 = start[s];
        if (window > 0 && i - window + 1 > j0) j0 = i - window + 1;
        double m = -INFINITY, sum = 0;
        for (int j = j0; j <= i; j++) {
          double sc = 0;
          for (int c = 0; c < hd; c++) sc += (double)q[i * ldq + h * hd + c] * k[j * ldkv + g * hd + c];
          p[j] = sc * scale;
          m = fmax(m, p[j]);
        }
        for (int j = j0; j <= i; j++) sum += exp(p[j] - m);
        lse[i * H + h] = m + log(sum);
        for (int j = j0; j <= i; j++) p[j] = exp(p[j] - lse[i * H + h]);
        for (int c = 0; c < hd; c++) {
          double o = 0;
          for (int j = j0; j <= i; j++) o += p[j] * v[j * ldkv + g * hd + c];
          out[i * H * hd + h * hd + c] = o;
        }
        double D = 0;
        for (int c = 0; c < hd; c++) D += (double)dout[i * H * hd + h * hd + c] * out[i * H * hd + h * hd + c];
        for (int j = j0; j <= i; j++) {
          double dp = 0;
          for (int c = 0; c < hd; c++) dp += (double)dout[i * H * hd + h * hd + c] * v[j * ldkv + g * hd + c];
          double ds = p[j] * (dp - D);
          for (int c = 0; c < hd; c++) {
            dq[i * ldq + h * hd + c] += ds * scale * k[j * ldkv + g * hd + c];
            dk[j * ldkv + g * hd + c] += ds * scale * q[i * ldq + h * hd + c];
            dv[j * ldkv + g * hd + c] += p[j] * dout[i * H * hd + h * hd + c];
          }
        }
      }
    }
  free(p);
}

static void check_attention(int window) {
  int H = 4, KV = 2, hd = 16, n_seq = 3;
  int start[4] = {0, 150, 157, 230}; /* 150 crosses three tiles; 7; 73 */
  int N = start[n_seq], ldq = H * hd + 8, ldkv = KV * hd + 4;
  float *q = rnd((size_t)N * ldq, 1), *k = rnd((size_t)N * ldkv, 1), *v = rnd((size_t)N * ldkv, 1),
        *dout = rnd((size_t)N * H * hd, 1);
  float *out = malloc(sizeof(float) * N * H * hd), *lse = malloc(sizeof(float) * N * H);
  float *dq = rnd((size_t)N * ldq, 1), *dk = rnd((size_t)N * ldkv, 1), *dv = rnd((size_t)N * ldkv, 1);
  double *ow = malloc(sizeof(double) * N * H * hd), *lw = malloc(sizeof(double) * N * H),
         *dqw = malloc(sizeof(double) * N * ldq), *dkw = malloc(sizeof(double) * N * ldkv),
         *dvw = malloc(sizeof(double) * N * ldkv);
  naive_attention(q, k, v, ldq, ldkv, start, n_seq, H, KV, hd, window, dout, ow, lw, dqw, dkw, dvw);
  int threads = omp_get_max_threads();
  lethe_scratch sc = {.per_thread = (size_t)2 * LETHE_ATTN_BLOCK * 150, .threads = threads};
  sc.buf = malloc(sizeof(float) * sc.per_thread * threads);
  cpu_attention(out, lse, q, k, v, ldq, ldkv, start, n_seq, N, H, KV, hd, window, &sc);
  close_d("attention out", out, ow, (size_t)N * H * hd, 1e-5);
  close_d("attention lse", lse, lw, (size_t)N * H, 1e-6);
  cpu_attention_backward(dq, dk, dv, dout, out, lse, q, k, v, ldq, ldkv, start, n_seq, N, H, KV, hd, window, &sc);
  /* Compare the head columns only (the padding of ldq / ldkv is not written). */
  int cols[3] = {H * hd, KV * hd, KV * hd}, lds[3] = {ldq, ldkv, ldkv};
  const float *got[3] = {dq, dk, dv};
  const double *want[3] = {dqw, dkw, dvw};
  const char *names[3] = {"attention dq", "attention dk", "attention dv"};
  for (int m = 0; m < 3; m++) {
    float *g = malloc(sizeof(float) * N * cols[m]);
    double *w = malloc(sizeof(double) * N * cols[m]);
    for (int t = 0; t < N; t++)
      for (int c = 0; c < cols[m]; c++) {
        g[t * cols[m] + c] = got[m][t * lds[m] + c];
        w[t * cols[m] + c] = want[m][t * lds[m] + c];
      }
    close_d(names[m], g, w, (size_t)N * cols[m], 1e-5);
    free(g);
    free(w);
  }
  /* The cached path: each sequence in its own slot, every row attends to its prefix. */
  int max_pos = 150, kvdim = KV * hd;
  float *kc = malloc(sizeof(float) * n_seq * max_pos * kvdim), *vc = malloc(sizeof(float) * n_seq * max_pos * kvdim);
  int *slot = malloc(sizeof(int) * N), *pos = malloc(sizeof(int) * N);
  float *qkv = malloc(sizeof(float) * N * (kvdim * 2));
  for (int s = 0; s < n_seq; s++)
    for (int t = start[s]; t < start[s + 1]; t++) {
      slot[t] = s;
      pos[t] = t - start[s];
      memcpy(qkv + t * 2 * kvdim, k + t * ldkv, sizeof(float) * kvdim);
      memcpy(qkv + t * 2 * kvdim + kvdim, v + t * ldkv, sizeof(float) * kvdim);
    }
  cpu_kv_store(kc, vc, qkv, 2 * kvdim, 0, kvdim, slot, pos, N, max_pos);
  float *oc = malloc(sizeof(float) * N * H * hd);
  cpu_attention_cached(oc, q, ldq, kc, vc, slot, pos, N, max_pos, H, KV, hd, window);
  close_d("attention_cached", oc, ow, (size_t)N * H * hd, 1e-5);
  free(kc);
  free(vc);
  free(slot);
  free(pos);
  free(qkv);
  free(oc);
  free(sc.buf);
  free(q);
  free(k);
  free(v);
  free(dout);
  free(out);
  free(lse);
  free(dq);
  free(dk);
  free(dv);
  free(ow);
  free(lw);
  free(dqw);
  free(dkw);
  free(dvw);
}

static void test_attention(void **s) {
  (void)s;
  check_attention(0);
}
static void test_attention_window(void **s) {
  (void)s;
  check_attention(40);
}

static void test_classifier(void **state) {
  (void)state;
  int n = 23, d = 17, V = 301;
  float *x = rnd((size_t)n * d, 1), *w = rnd((size_t)V * d, 1), *xr = rnd((size_t)n * d, 1);
  int y[23];
  float fixed[23], sig[23], ref[23], kl[23];
  for (int i = 0; i < n; i++) {
    y[i] = (int)lethe_rng_below(&R, V);
    fixed[i] = (float)(lethe_rng_uniform(&R) - 0.5);
    sig[i] = (float)lethe_rng_uniform(&R);
    ref[i] = (float)(-5 * lethe_rng_uniform(&R));
    kl[i] = (float)lethe_rng_uniform(&R);
  }
  lethe_head_coef coef = {.fixed = fixed, .sig = sig, .ref = ref, .beta = 0.7f, .kl = kl, .ref_hidden = xr};
  double *lw = malloc(sizeof(double) * n), *lsew = malloc(sizeof(double) * n), *klw = malloc(sizeof(double) * n),
         *dxw = calloc((size_t)n * d, sizeof(double)), *dww = calloc((size_t)V * d, sizeof(double));
  double *z = malloc(sizeof(double) * V), *zr = malloc(sizeof(double) * V);
  for (int i = 0; i < n; i++) {
    double m = -INFINITY, mr = -INFINITY, s = 0, sr = 0;
    for (int v = 0; v < V; v++) {
      z[v] = zr[v] = 0;
      for (int c = 0; c < d; c++) {
        z[v] += (double)x[i * d + c] * w[v * d + c];
        zr[v] += (double)xr[i * d + c] * w[v * d + c];
      }
      m = fmax(m, z[v]);
      mr = fmax(mr, zr[v]);
    }
    for (int v = 0; v < V; v++) {
      s += exp(z[v] - m);
      sr += exp(zr[v] - mr);
    }
    double lse = m + log(s), lser = mr + log(sr);
    lsew[i] = lse;
    lw[i] = z[y[i]] - lse;
    double a = fixed[i] + sig[i] / (1 + exp(-0.7 * (lw[i] - ref[i])));
    klw[i] = 0;
    for (int v = 0; v < V; v++) {
      double p = exp(z[v] - lse), pr = exp(zr[v] - lser);
      klw[i] += pr * ((zr[v] - lser) - (z[v] - lse));
      double g = a * ((v == y[i]) - p) + kl[i] * (p - pr);
      for (int c = 0; c < d; c++) {
        dxw[i * d + c] += g * w[v * d + c];
        dww[v * d + c] += g * x[i * d + c];
      }
    }
  }
  float *l = malloc(sizeof(float) * n), *lse = malloc(sizeof(float) * n), *klo = malloc(sizeof(float) * n),
        *dx = malloc(sizeof(float) * n * d), *dw = calloc((size_t)V * d, sizeof(float));
  float *scratch = malloc(sizeof(float) * 8 * V * 2);
  cpu_classifier(l, lse, klo, dx, dw, x, w, y, n, d, V, &coef, scratch, 8); /* chunks of 8 rows: 3 chunks */
  close_d("classifier logp", l, lw, (size_t)n, 1e-6);
  close_d("classifier lse", lse, lsew, (size_t)n, 1e-6);
  close_d("classifier kl", klo, klw, (size_t)n, 1e-4);
  close_d("classifier dx", dx, dxw, (size_t)n * d, 1e-5);
  close_d("classifier dw", dw, dww, (size_t)V * d, 1e-5);
  float *zl = malloc(sizeof(float) * n * V);
  cpu_logits(zl, x, w, n, d, V);
  for (int i = 0; i < n; i++) assert_true(fabs(zl[i * V + y[i]] - lse[i] - l[i]) < 1e-4);
  free(zl);
  free(x);
  free(w);
  free(xr);
  free(lw);
  free(lsew);
  free(klw);
  free(dxw);
  free(dww);
  free(z);
  free(zr);
  free(l);
  free(lse);
  free(klo);
  free(dx);
  free(dw);
  free(scratch);
}

static void test_adam(void **state) {
  (void)state;
  size_t n = 1000;
  for (int dec = 0; dec < 2; dec++) {
    float *p = rnd(n, 1), *m = rnd(n, 0.1f), *v = rnd(n, 0.1f);
    for (size_t i = 0; i < n; i++) v[i] = fabsf(v[i]);
    float *g = rnd(n, 1);
    double *pw = malloc(sizeof(double) * n);
    double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    int t = 3;
    double b1c = 1 - pow(b1, t), b2c = 1 - pow(b2, t);
    for (size_t i = 0; i < n; i++) {
      double pp = p[i], gg = g[i];
      if (dec)
        pp *= 1 - lr * wd;
      else
        gg += wd * pp;
      double mm = b1 * m[i] + (1 - b1) * gg, vv = b2 * v[i] + (1 - b2) * gg * gg;
      pw[i] = pp - lr * (mm / b1c) / (sqrt(vv / b2c) + eps);
    }
    cpu_adam(p, g, m, v, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, dec, (float)b1c, (float)b2c);
    close_d(dec ? "adamw" : "adam", p, pw, n, 1e-6);
    free(p);
    free(m);
    free(v);
    free(g);
    free(pw);
  }
}

static void test_rows(void **state) {
  (void)state;
  int N = 12, d = 9, rows[4] = {7, 0, 11, 3};
  float *src = rnd((size_t)N * d, 1), *dst = malloc(sizeof(float) * 4 * d), *back = rnd((size_t)N * d, 1);
  cpu_gather_rows(dst, src, rows, 4, d);
  for (int i = 0; i < 4; i++) assert_memory_equal(dst + i * d, src + rows[i] * d, sizeof(float) * d);
  cpu_scatter_rows(back, dst, rows, 4, N, d);
  for (int t = 0; t < N; t++) {
    int r = -1;
    for (int i = 0; i < 4; i++)
      if (rows[i] == t) r = i;
    for (int c = 0; c < d; c++) assert_true(back[t * d + c] == (r >= 0 ? dst[r * d + c] : 0.0f));
  }
  free(src);
  free(dst);
  free(back);
}

int main(void) {
  lethe_rng_seed(&R, 20261127);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expf),
      cmocka_unit_test(test_gemm),
      cmocka_unit_test(test_embed),
      cmocka_unit_test(test_norms),
      cmocka_unit_test(test_elementwise),
      cmocka_unit_test(test_rope),
      cmocka_unit_test(test_attention),
      cmocka_unit_test(test_attention_window),
      cmocka_unit_test(test_classifier),
      cmocka_unit_test(test_adam),
      cmocka_unit_test(test_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
