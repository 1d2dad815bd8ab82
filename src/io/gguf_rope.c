/* io/gguf_rope.c: Llama-3 RoPE scaling from a GGUF file. llama.cpp's converter does not store the
 * rope_scaling parameters of rope_type "llama3"; it stores their effect, a tensor rope_freqs.weight
 * of head_dim/2 factors (each frequency is divided by its factor): 1 for wavelengths below
 * old_ctx / high_freq_factor, `factor` above old_ctx / low_freq_factor, and in between
 * 1 / ((1 - s) / factor + s) with s = (old_ctx / wavelength - low) / (high - low). Here the
 * parameters are recovered: factor is the largest factor; s is linear in 1 / wavelength, s = A x - B,
 * and only A and B matter, so low = 1, high = 1 + 1 / B, old_ctx = A / B (which must be an integer).
 * The recovered parameters are accepted only if they reproduce every stored factor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "util/error.h"

/* The factor of frequency `freq` under (factor, low, high, old). */
static double llama3_factor(double freq, double factor, double low, double high, double old) {
  double wl = 2 * M_PI / freq;
  if (wl < old / high) return 1.0;
  if (wl > old / low) return factor;
  double s = (old / wl - low) / (high - low);
  return 1.0 / ((1 - s) / factor + s);
}

static int reproduces(const float *f, const double *freq, int n, double factor, double low, double high, double old) {
  for (int i = 0; i < n; i++) {
    double want = llama3_factor(freq[i], factor, low, high, old);
    if (fabs(f[i] - want) > 1e-4 * want) return 0;
  }
  return 1;
}

/* The shortest decimal (up to 6 digits) of x. */
static double tidy(double x) {
  char b[32];
  snprintf(b, sizeof b, "%.6g", x);
  return strtod(b, NULL);
}

lethe_status lethe_gguf_llama3_rope(const lethe_gguf *g, const lethe_gguf_tensor *t, lethe_config *c) {
  int n = c->head_dim / 2;
  if (t->n_dims != 1 || t->ne[0] != n)
    return lethe_fail(LETHE_ERR_FORMAT,
        "%s: tensor 'rope_freqs.weight' has %lld entries, the head dimension %d implies %d", g->name,
        (long long)t->ne[0], c->head_dim, n);
  float *f = malloc(sizeof(float) * (size_t)n);
  double *freq = malloc(sizeof(double) * (size_t)n);
  if (!f || !freq) {
    free(f);
    free(freq);
    return lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", g->name);
  }
  lethe_status s = lethe_gguf_tensor_f32(g, t, f);
  double factor = 0;
  for (int i = 0; i < n && !s; i++) {
    if (!(f[i] >= 1.0f) || !isfinite(f[i]))
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: rope_freqs.weight[%d] = %g is not a scaling factor >= 1", g->name, i, f[i]);
    freq[i] = 1.0 / pow(c->rope_theta, (double)(2 * i) / c->head_dim);
    factor = fmax(factor, f[i]);
  }
  if (s || factor == 1.0) goto done; /* all ones: no scaling */
  /* least squares of s_i = A x_i - B over the factors strictly between 1 and factor; with one such
   * factor, high = 4 (Llama 3's value) fixes B; with none, any thresholds between the two groups do */
  double sx = 0, sy = 0, sxx = 0, sxy = 0, max_wl_one = 0;
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (f[i] <= 1.0 + 1e-6) max_wl_one = fmax(max_wl_one, 2 * M_PI / freq[i]);
    if (!(f[i] > 1.0 + 1e-6 && f[i] < factor * (1 - 1e-6))) continue;
    double y = (1.0 / f[i] - 1.0 / factor) / (1.0 - 1.0 / factor), x = freq[i] / (2 * M_PI);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    m++;
  }
  double A = 0, B = 0;
  if (m >= 2 && m * sxx - sx * sx > 0) {
    A = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    B = (A * sx - sy) / m;
  } else if (m == 1) {
    B = 1.0 / 3.0;
    A = (sy + B) / sx;
  }
  factor = tidy(factor);
  double cand[3][2] = {
      {A > 0 && B > 0 ? round(A / B) : 0, B > 0 ? tidy(1 + 1 / B) : 4}, {8192, 4}, {ceil(4 * max_wl_one) + 1, 4}};
  double old = 0, high = 0;
  for (int k = 0; k < 3 && !old; k++)
    if (cand[k][0] >= 1 && cand[k][0] <= (1 << 30) && reproduces(f, freq, n, factor, 1.0, cand[k][1], cand[k][0])) {
      old = cand[k][0];
      high = cand[k][1];
    }
  if (!old) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: rope_freqs.weight does not follow Llama 3's RoPE scaling rule; these RoPE factors are not supported",
        g->name);
    goto done;
  }
  c->rope_type = LETHE_ROPE_LLAMA3;
  c->rope_factor = factor;
  c->rope_low_freq_factor = 1.0;
  c->rope_high_freq_factor = high;
  c->rope_original_max_pos = (int)old;
done:
  free(f);
  free(freq);
  return s;
}
