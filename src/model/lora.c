/* model/lora.c: LoRA adapters. For an adapted projection with frozen W [out, in]:
 * y = W x + s B (A x), A [r, in], B [out, r], s = alpha / r (alpha / sqrt(r) with rsLoRA).
 * All A and B of an adapter live in one allocation, their gradients in a second one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"
#include "util/rng.h"

const char *const LETHE_PROJ_NAMES[LETHE_NPROJ] = {
    "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

lethe_status lethe_lora_parse_targets(const char *list, unsigned *targets) {
  *targets = 0;
  if (!list || !*list) return lethe_fail(LETHE_ERR_INVALID, "empty LoRA target list");
  if (!strcmp(list, "all") || !strcmp(list, "all-linear")) {
    *targets = (1u << LETHE_NPROJ) - 1;
    return LETHE_OK;
  }
  const char *p = list;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    int found = -1;
    for (int k = 0; k < LETHE_NPROJ; k++) {
      const char *full = LETHE_PROJ_NAMES[k];
      size_t short_len = strchr(full, '_') - full;
      if ((n == strlen(full) && !strncmp(p, full, n)) || (n == short_len && !strncmp(p, full, n))) found = k;
    }
    if (found < 0)
      return lethe_fail(LETHE_ERR_INVALID,
          "unknown LoRA target '%.*s' (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, or all)", (int)n,
          p);
    *targets |= 1u << found;
    if (!comma) break;
    p = comma + 1;
  }
  if (!*targets) return lethe_fail(LETHE_ERR_INVALID, "empty LoRA target list");
  return LETHE_OK;
}

void lethe_lora_free(lethe_lora *l) {
  if (!l) return;
  if (l->host != l->params) {
    free(l->host);
    if (l->params) l->ops->release(l->params);
    if (l->grads) l->ops->release(l->grads);
  } else {
    free(l->params);
    free(l->grads);
  }
  free(l->layer_targets);
  free(l);
}

void lethe_lora_sync_host(lethe_lora *l) {
  if (l->host != l->params) l->ops->download(l->host, l->params, sizeof(float) * l->n_params);
}

/* Points A and B, which point into `from`, into `to` at the same offsets. */
static void rebase(lethe_lora *l, const float *from, float *to) {
  for (int k = 0; k < LETHE_NPROJ; k++) {
    if (l->A[k]) l->A[k] = to + (l->A[k] - from);
    if (l->B[k]) l->B[k] = to + (l->B[k] - from);
  }
}

lethe_status lethe_lora_use_backend(lethe_lora *l, const lethe_ops *ops) {
  if (ops == l->ops) return LETHE_OK;
  size_t bytes = sizeof(float) * l->n_params;
  if (l->host != l->params) {
    /* on a device: back to the host copy first (gradients are per-step scratch, zeroed) */
    float *g = calloc(l->n_params ? l->n_params : 1, sizeof(float));
    if (!g) return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate the adapter's gradients");
    lethe_lora_sync_host(l);
    rebase(l, l->params, l->host);
    l->ops->release(l->params);
    l->ops->release(l->grads);
    l->params = l->host;
    l->grads = g;
    l->ops = lethe_cpu_ops();
  }
  if (ops->host_visible) {
    l->ops = ops;
    return LETHE_OK;
  }
  float *p = ops->alloc(bytes), *g = ops->alloc(bytes);
  if (!p || !g) {
    if (p) ops->release(p);
    if (g) ops->release(g);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate the adapter on the %s backend", ops->name);
  }
  ops->upload(p, l->params, bytes);
  rebase(l, l->params, p);
  free(l->grads);
  l->host = l->params;
  l->params = p;
  l->grads = g;
  l->ops = ops;
  return LETHE_OK;
}

lethe_status lethe_lora_create(const lethe_config *mc, const lethe_lora_config *lc, uint64_t seed, lethe_lora **out) {
  *out = NULL;
  if (lc->rank < 1 || lc->rank > 4096)
    return lethe_fail(LETHE_ERR_INVALID, "LoRA rank %d must be in [1, 4096]", lc->rank);
  if (!(lc->alpha > 0) || !isfinite(lc->alpha)) return lethe_fail(LETHE_ERR_INVALID, "LoRA alpha must be positive");
  unsigned targets = lc->targets;
  if (lc->layer_targets) {
    targets = 0;
    for (int i = 0; i < mc->n_layers; i++) targets |= lc->layer_targets[i];
  }
  if (!targets || targets >= (1u << LETHE_NPROJ))
    return lethe_fail(LETHE_ERR_INVALID, "LoRA needs at least one target");
  lethe_lora *l = calloc(1, sizeof *l);
  if (!l) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  l->cfg = *lc;
  l->cfg.targets = targets;
  l->layer_targets = malloc(sizeof(unsigned) * (size_t)mc->n_layers);
  if (!l->layer_targets) {
    free(l);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  for (int i = 0; i < mc->n_layers; i++) l->layer_targets[i] = lc->layer_targets ? lc->layer_targets[i] : targets;
  l->cfg.layer_targets = l->layer_targets;
  lc = &l->cfg;
  l->n_layers = mc->n_layers;
  l->scale = (float)(lc->rslora ? lc->alpha / sqrt((double)lc->rank) : lc->alpha / lc->rank);
  int d = mc->dim, q = lethe_qdim(mc), kv = lethe_kvdim(mc), F = mc->hidden_dim;
  const int in[LETHE_NPROJ] = {d, d, d, q, d, d, F};
  const int outd[LETHE_NPROJ] = {q, kv, kv, d, F, F, d};
  size_t total = 0, offA[LETHE_NPROJ], offB[LETHE_NPROJ];
  for (int p = 0; p < LETHE_NPROJ; p++) {
    l->in_dim[p] = in[p];
    l->out_dim[p] = outd[p];
    if (!(lc->targets & (1u << p))) continue;
    offA[p] = total;
    total += (size_t)l->n_layers * lc->rank * in[p];
    offB[p] = total;
    total += (size_t)l->n_layers * outd[p] * lc->rank;
  }
  l->n_params = total;
  l->ops = lethe_cpu_ops();
  l->params = calloc(total ? total : 1, sizeof(float));
  l->grads = calloc(total ? total : 1, sizeof(float));
  l->host = l->params;
  if (!l->params || !l->grads) {
    lethe_lora_free(l);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate the LoRA adapter (%zu parameters)", total);
  }
  lethe_rng r;
  lethe_rng_seed(&r, seed);
  for (int p = 0; p < LETHE_NPROJ; p++) {
    if (!(lc->targets & (1u << p))) continue;
    l->A[p] = l->params + offA[p];
    l->B[p] = l->params + offB[p];
    size_t nA = (size_t)l->n_layers * lc->rank * in[p];
    if (lc->init == LETHE_LORA_INIT_XAVIER) {
      /* torch.nn.init.xavier_normal_: std = sqrt(2 / (fan_in + fan_out)), fan_in = in, fan_out = r */
      double std = sqrt(2.0 / (double)(in[p] + lc->rank));
      for (size_t i = 0; i < nA; i++) l->A[p][i] = (float)(std * lethe_rng_normal(&r));
    } else {
      /* PEFT's default: kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)) */
      double bound = 1.0 / sqrt((double)in[p]);
      for (size_t i = 0; i < nA; i++) l->A[p][i] = (float)(bound * (2.0 * lethe_rng_uniform(&r) - 1.0));
    }
    /* a layer that does not adapt p: A = 0 (B is 0), a fixed point of training */
    for (int lay = 0; lay < l->n_layers; lay++)
      if (!(l->layer_targets[lay] & (1u << p)))
        memset(l->A[p] + (size_t)lay * lc->rank * in[p], 0, sizeof(float) * (size_t)lc->rank * in[p]);
  }
  *out = l;
  return LETHE_OK;
}

lethe_status lethe_lora_to_device(lethe_lora *l, const lethe_model *m) { return lethe_lora_use_backend(l, m->ops); }
