/* io/finite.c: weight checks at the borders: a model or adapter holding NaN/Inf is refused at load
 * (naming the tensor and the first bad index), and a model is not written in a dtype that cannot
 * hold its values (naming the tensor and its largest magnitude). */
#include <math.h>
#include <stdio.h>

#include "io/io.h"
#include "model/model.h"
#include "util/error.h"

/* The first non-finite index of x[0..n), or -1. */
static long long first_bad(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return (long long)i;
  return -1;
}

lethe_status lethe_model_check_finite(const lethe_model *m, const char *source) {
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    const float *x = m->params + t->offset;
    long long k = first_bad(x, t->numel);
    if (k >= 0)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' holds a non-finite value (%g) at flat index %lld of %zu",
          source, t->name, (double)x[k], k, t->numel);
  }
  return LETHE_OK;
}

lethe_status lethe_model_check_writable(const lethe_model *m, lethe_dtype dt) {
  double limit = dt == LETHE_DT_F16 ? 65504.0 : dt == LETHE_DT_BF16 ? 3.3895313892515355e38 : INFINITY;
  const char *name = dt == LETHE_DT_F16 ? "float16" : dt == LETHE_DT_BF16 ? "bfloat16" : "float32";
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    const float *x = m->params + t->offset;
    long long k = first_bad(x, t->numel);
    if (k >= 0)
      return lethe_fail(LETHE_ERR_NUMERIC,
          "tensor '%s' holds a non-finite value (%g) at flat index %lld: refusing to write it", t->name, (double)x[k],
          k);
    double big = 0;
    for (size_t j = 0; j < t->numel; j++) big = fmax(big, fabs((double)x[j]));
    if (big > limit)
      return lethe_fail(LETHE_ERR_NUMERIC,
          "tensor '%s' holds a value of magnitude %.9g, beyond %s's largest finite %.9g: refusing to write it "
          "(choose a wider --dtype)",
          t->name, big, name, limit);
  }
  return LETHE_OK;
}

lethe_status lethe_lora_check_finite(const lethe_lora *l, const char *source) {
  for (int p = 0; p < LETHE_NPROJ; p++) {
    if (!(l->cfg.targets & (1u << p))) continue;
    for (int lay = 0; lay < l->n_layers; lay++)
      for (int b = 0; b < 2; b++) {
        const float *x = lethe_lora_host_of(l, b ? lethe_lora_B(l, p, lay) : lethe_lora_A(l, p, lay));
        size_t n = (size_t)l->cfg.rank * (size_t)(b ? l->out_dim[p] : l->in_dim[p]);
        long long k = first_bad(x, n);
        if (k >= 0)
          return lethe_fail(LETHE_ERR_NUMERIC,
              "%s: tensor 'base_model.model.model.layers.%d.%s.%s.lora_%c.weight' holds a non-finite value (%g) at "
              "flat index %lld of %zu",
              source, lay, p <= LETHE_PROJ_O ? "self_attn" : "mlp", LETHE_PROJ_NAMES[p], b ? 'B' : 'A', (double)x[k], k,
              n);
      }
  }
  return LETHE_OK;
}
