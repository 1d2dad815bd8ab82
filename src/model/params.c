/* model/params.c: the parameter layout. Every weight of a model lives in one fp32 allocation, in a
 * fixed order with q/k/v and gate/up stacked so that each pair of projections is one GEMM; a
 * table maps Hugging Face tensor names to places. Also the RoPE tables and random init. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"
#include "util/rng.h"

typedef struct {
  lethe_tensor *t;
  int n, cap;
  size_t off;
} table;

static int add(table *tb, const char *name, int64_t d0, int64_t d1) {
  if (tb->n == tb->cap) {
    int cap = tb->cap ? tb->cap * 2 : 64;
    lethe_tensor *t = realloc(tb->t, sizeof *t * (size_t)cap);
    if (!t) return -1;
    tb->t = t;
    tb->cap = cap;
  }
  lethe_tensor *t = &tb->t[tb->n++];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->ndim = d1 > 0 ? 2 : 1;
  t->shape[0] = d0;
  t->shape[1] = d1 > 0 ? d1 : 0;
  t->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
  t->offset = tb->off;
  tb->off += t->numel;
  return 0;
}

static void free_model_arrays(lethe_model *m) {
  if (m->dparams && m->dparams != m->params) m->ops->release(m->dparams);
  free(m->params);
  if (m->grads) m->ops->release(m->grads);
  free(m->tensors);
  free(m->layers);
  if (m->rope_cos) m->ops->release(m->rope_cos);
  if (m->rope_sin) m->ops->release(m->rope_sin);
}

void lethe_model_free(lethe_model *m) {
  if (!m) return;
  free_model_arrays(m);
  free(m);
}

const lethe_config *lethe_model_config(const lethe_model *m) { return &m->cfg; }

const lethe_tensor *lethe_model_find(const lethe_model *m, const char *name) {
  for (int i = 0; i < m->n_tensors; i++)
    if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
  return NULL;
}

static float *ptr(lethe_model *m, const char *name) {
  const lethe_tensor *t = lethe_model_find(m, name);
  return t ? m->dparams + t->offset : NULL;
}

/* Points the per-layer weight pointers into the compute copy of the parameters. */
static void bind(lethe_model *m) {
  char nm[96];
  for (int l = 0; l < m->cfg.n_layers; l++) {
    lethe_layer_weights *w = &m->layers[l];
#define P(suffix) (snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix), ptr(m, nm))
    w->attn_norm = P("input_layernorm.weight");
    w->wqkv = P("self_attn.q_proj.weight");
    w->bqkv = P("self_attn.q_proj.bias");
    w->wo = P("self_attn.o_proj.weight");
    w->bo = P("self_attn.o_proj.bias");
    w->mlp_norm = P("post_attention_layernorm.weight");
    w->wgu = P("mlp.gate_proj.weight");
    w->wdown = P("mlp.down_proj.weight");
#undef P
  }
  m->embed = ptr(m, "model.embed_tokens.weight");
  m->final_norm = ptr(m, "model.norm.weight");
  m->head = m->cfg.tie_embeddings ? m->embed : ptr(m, "lm_head.weight");
}

lethe_status lethe_model_alloc(const lethe_config *cfg, lethe_model **out) {
  *out = NULL;
  LETHE_TRY(lethe_config_validate(cfg, "model config"));
  const lethe_config *c = cfg;
  int64_t d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), F = c->hidden_dim;
  table tb = {0};
  char nm[96];
  int bad = 0;
  for (int l = 0; l < c->n_layers; l++) {
#define ADD(suffix, d0, d1)                                                                        \
  do {                                                                                             \
    snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix);                                      \
    bad |= add(&tb, nm, d0, d1);                                                                   \
  } while (0)
    if (c->arch == LETHE_ARCH_LLAMA) ADD("input_layernorm.weight", d, 0);
    ADD("self_attn.q_proj.weight", q, d);
    ADD("self_attn.k_proj.weight", kv, d);
    ADD("self_attn.v_proj.weight", kv, d);
    if (c->qkv_bias) {
      ADD("self_attn.q_proj.bias", q, 0);
      ADD("self_attn.k_proj.bias", kv, 0);
      ADD("self_attn.v_proj.bias", kv, 0);
    }
    ADD("self_attn.o_proj.weight", d, q);
    if (c->o_bias) ADD("self_attn.o_proj.bias", d, 0);
    if (c->arch == LETHE_ARCH_LLAMA) ADD("post_attention_layernorm.weight", d, 0);
    ADD("mlp.gate_proj.weight", F, d);
    ADD("mlp.up_proj.weight", F, d);
    ADD("mlp.down_proj.weight", d, F);
#undef ADD
  }
  bad |= add(&tb, "model.embed_tokens.weight", c->vocab_size, d);
  if (c->arch == LETHE_ARCH_LLAMA) bad |= add(&tb, "model.norm.weight", d, 0);
  if (!c->tie_embeddings) bad |= add(&tb, "lm_head.weight", c->vocab_size, d);

  lethe_model *m = calloc(1, sizeof *m);
  if (bad || !m) {
    free(tb.t);
    free(m);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory building the tensor table");
  }
  m->cfg = *c;
  m->ops = lethe_cpu_ops();
  m->tensors = tb.t;
  m->n_tensors = tb.n;
  m->n_params = tb.off;
  m->params = aligned_alloc(64, ((m->n_params * sizeof(float)) + 63) / 64 * 64);
  m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
  if (!m->params || !m->layers) {
    size_t bytes = m->n_params * sizeof(float);
    lethe_model_free(m);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for the model's parameters", bytes);
  }
  memset(m->params, 0, m->n_params * sizeof(float));
  m->dparams = m->params; /* the CPU computes on the host copy itself */
  bind(m);
  lethe_status s = lethe_model_rope_reserve(m, c->max_seq_len < 4096 ? c->max_seq_len : 4096);
  if (s) {
    lethe_model_free(m);
    return s;
  }
  *out = m;
  return LETHE_OK;
}

lethe_status lethe_model_enable_grads(lethe_model *m) {
  if (m->grads) return LETHE_OK;
  m->grads = m->ops->alloc(m->n_params * sizeof(float));
  if (!m->grads) return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for gradients", m->n_params * sizeof(float));
  return LETHE_OK;
}

/* Inverse frequencies as transformers computes them in fp32, with rope_scaling applied. */
static void inv_freqs(const lethe_config *c, float *inv) {
  int half = c->head_dim / 2;
  for (int i = 0; i < half; i++) {
    float expo = (float)(2 * i) / (float)c->head_dim;
    inv[i] = 1.0f / powf((float)c->rope_theta, expo);
  }
  if (c->rope_type == LETHE_ROPE_LINEAR) {
    for (int i = 0; i < half; i++) inv[i] = inv[i] / (float)c->rope_factor;
  } else if (c->rope_type == LETHE_ROPE_LLAMA3) {
    double factor = c->rope_factor, lo = c->rope_low_freq_factor, hi = c->rope_high_freq_factor;
    double old = c->rope_original_max_pos;
    double low_wl = old / lo, high_wl = old / hi;
    for (int i = 0; i < half; i++) {
      float f = inv[i];
      float wl = (float)(2.0 * M_PI) / f;
      float scaled = wl > low_wl ? f / (float)factor : f;
      if (!(wl < high_wl) && !(wl > low_wl)) {
        float smooth = (float)((old / wl - lo) / (hi - lo));
        scaled = (1.0f - smooth) * scaled / (float)factor + smooth * scaled;
      }
      inv[i] = scaled;
    }
  }
}

lethe_status lethe_model_rope_reserve(lethe_model *m, int len) {
  if (len <= m->rope_len) return LETHE_OK;
  if (len > m->cfg.max_seq_len)
    return lethe_fail(LETHE_ERR_INVALID, "%d positions requested, the model supports %d", len, m->cfg.max_seq_len);
  int half = m->cfg.head_dim / 2;
  float *cs = malloc(sizeof(float) * (size_t)len * half), *sn = malloc(sizeof(float) * (size_t)len * half);
  float *inv = malloc(sizeof(float) * half);
  if (!cs || !sn || !inv) {
    free(cs);
    free(sn);
    free(inv);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate RoPE tables for %d positions", len);
  }
  inv_freqs(&m->cfg, inv);
  for (int p = 0; p < len; p++)
    for (int i = 0; i < half; i++) {
      float angle = (float)p * inv[i];
      cs[(size_t)p * half + i] = (float)cos((double)angle);
      sn[(size_t)p * half + i] = (float)sin((double)angle);
    }
  free(inv);
  size_t bytes = sizeof(float) * (size_t)len * half;
  float *dcs = m->ops->alloc(bytes), *dsn = m->ops->alloc(bytes);
  if (!dcs || !dsn) {
    if (dcs) m->ops->release(dcs);
    if (dsn) m->ops->release(dsn);
    free(cs);
    free(sn);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate RoPE tables for %d positions", len);
  }
  m->ops->upload(dcs, cs, bytes);
  m->ops->upload(dsn, sn, bytes);
  free(cs);
  free(sn);
  if (m->rope_cos) m->ops->release(m->rope_cos);
  if (m->rope_sin) m->ops->release(m->rope_sin);
  m->rope_cos = dcs;
  m->rope_sin = dsn;
  m->rope_len = len;
  return LETHE_OK;
}

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

lethe_status lethe_model_use_backend(lethe_model *m, const lethe_ops *ops) {
  if (ops == m->ops) return LETHE_OK;
  if (m->grads) return lethe_fail(LETHE_ERR_INVALID, "move the model to its backend before enabling gradients");
  lethe_model_sync_host(m);
  size_t bytes = m->n_params * sizeof(float);
  float *d = ops->host_visible ? m->params : ops->alloc(bytes);
  if (!d) return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for the model on the %s backend", bytes, ops->name);
  if (d != m->params) ops->upload(d, m->params, bytes);
  if (m->dparams != m->params) m->ops->release(m->dparams);
  if (m->rope_cos) m->ops->release(m->rope_cos);
  if (m->rope_sin) m->ops->release(m->rope_sin);
  m->rope_cos = m->rope_sin = NULL;
  int len = m->rope_len;
  m->rope_len = 0;
  m->ops = ops;
  m->dparams = d;
  bind(m);
  return lethe_model_rope_reserve(m, len);
}

void lethe_model_sync_host(lethe_model *m) {
  if (m->dparams != m->params) m->ops->download(m->params, m->dparams, m->n_params * sizeof(float));
}

lethe_status lethe_model_to_device(lethe_model *m, const char *device) {
  const lethe_ops *ops;
  LETHE_TRY(lethe_backend(device, &ops));
  return lethe_model_use_backend(m, ops);
}
