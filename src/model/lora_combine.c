/* model/lora_combine.c: several LoRA adapters merged into one model: a weighted sum of their
 * deltas s B A, or TIES-merging (trim each delta to its largest entries, elect a sign per entry by
 * summed weighted mass, average the entries that agree), tensor by tensor on the host copy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/lora.h"
#include "model/model.h"
#include "util/error.h"

static int cmp_desc(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? 1 : (x > y ? -1 : 0);
}

/* Zeroes the entries of d (n) below its k-th largest magnitude (k >= 1); ties at it are kept. */
static void trim(float *d, size_t n, size_t k, float *scratch) {
  for (size_t i = 0; i < n; i++) scratch[i] = fabsf(d[i]);
  qsort(scratch, n, sizeof *scratch, cmp_desc);
  float thr = scratch[k - 1];
  for (size_t i = 0; i < n; i++)
    if (fabsf(d[i]) < thr) d[i] = 0.0f;
}

lethe_status lethe_lora_combine(lethe_model *m, const lethe_lora *const *ad, const double *w, int n, lethe_combine how,
                                double density) {
  const lethe_config *c = &m->cfg;
  if (n < 1) return lethe_fail(LETHE_ERR_INVALID, "no adapters to combine");
  if (how == LETHE_COMBINE_TIES && !(density > 0 && density <= 1))
    return lethe_fail(LETHE_ERR_INVALID, "TIES density %g must be in (0, 1]", density);
  if (m->wbf16) return lethe_fail(LETHE_ERR_UNSUPPORTED, "combining adapters needs the model's fp32 weights");
  for (int i = 0; i < n; i++)
    if (ad[i]->n_layers != c->n_layers)
      return lethe_fail(LETHE_ERR_INVALID, "adapter %d has %d layers, the model %d", i + 1, ad[i]->n_layers, c->n_layers);
  size_t most = 0;
  for (int p = 0; p < LETHE_NPROJ; p++) {
    size_t sz = (size_t)ad[0]->out_dim[p] * ad[0]->in_dim[p];
    if (sz > most) most = sz;
  }
  /* deltas (n, out, in) of one tensor, and a sort buffer */
  float *delta = malloc(sizeof(float) * most * (size_t)(n + 1));
  if (!delta) return lethe_fail(LETHE_ERR_NOMEM, "out of memory for %d deltas of %zu values", n, most);
  float *scratch = delta + most * (size_t)n;
  const lethe_ops *cpu = lethe_cpu_ops();
  for (int lay = 0; lay < c->n_layers; lay++)
    for (int p = 0; p < LETHE_NPROJ; p++) {
      int any = 0;
      for (int i = 0; i < n; i++) any |= (ad[i]->cfg.targets >> p) & 1u;
      if (!any) continue;
      int out = ad[0]->out_dim[p], in = ad[0]->in_dim[p];
      size_t sz = (size_t)out * in;
      for (int i = 0; i < n; i++) {
        float *D = delta + sz * (size_t)i; /* (out, in) */
        const lethe_lora *l = ad[i];
        if (!((l->cfg.targets >> p) & 1u)) {
          memset(D, 0, sizeof(float) * sz);
          continue;
        }
        lethe_lora_sync_host((lethe_lora *)l);
        cpu->gemm(0, 0, out, in, l->cfg.rank, l->scale, lethe_lora_host_of(l, lethe_lora_B(l, p, lay)), l->cfg.rank,
                  lethe_lora_host_of(l, lethe_lora_A(l, p, lay)), in, 0.0f, D, in);
        if (how == LETHE_COMBINE_TIES) {
          size_t k = (size_t)llround(density * (double)sz);
          if (k == 0) memset(D, 0, sizeof(float) * sz);
          else if (k < sz) trim(D, sz, k, scratch);
        }
      }
      float *W = lethe_model_host_proj(m, lay, p); /* (out, in) */
      for (size_t e = 0; e < sz; e++) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += w[i] * delta[sz * (size_t)i + e];
        if (how == LETHE_COMBINE_LINEAR) {
          W[e] += (float)sum;
          continue;
        }
        if (sum == 0) continue;
        double num = 0, den = 0;
        for (int i = 0; i < n; i++) {
          float d = delta[sz * (size_t)i + e];
          if (d != 0 && (d > 0) == (sum > 0)) {
            num += w[i] * d;
            den += w[i];
          }
        }
        if (den != 0) W[e] += (float)(num / den);
      }
    }
  free(delta);
  return lethe_model_refresh_device(m);
}
