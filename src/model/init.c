/* model/init.c: a new model of a config with random weights (normal, norms at 1), from a seed. */
#include <string.h>

#include "model/model.h"
#include "util/error.h"
#include "util/rng.h"

lethe_status lethe_model_create(const lethe_config *cfg, uint64_t seed, float init_std, lethe_model **out) {
  LETHE_TRY(lethe_model_alloc(cfg, out));
  lethe_model *m = *out;
  lethe_rng r;
  lethe_rng_seed(&r, seed);
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    float *p = m->params + t->offset;
    int is_norm = strstr(t->name, "norm.weight") != NULL;
    for (size_t k = 0; k < t->numel; k++) p[k] = is_norm ? 1.0f : (float)(init_std * lethe_rng_normal(&r));
  }
  return LETHE_OK;
}
