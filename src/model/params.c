/* model/params.c: the parameter layout. Every weight of a model lives in one fp32 allocation, in a
 * fixed order with q/k/v and gate/up stacked so that each pair of projections is one GEMM; a
 * table maps Hugging Face tensor names to places (layout.h). Allocating and freeing a model. The
 * other jobs on the parameters: RoPE tables (rope.c), random init (init.c), gradients and trained
 * subsets (grads.c), the backend copy (backend_copy.c), device strings (device.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/layout.h"
#include "model/model.h"
#include "util/array.h"
#include "util/error.h"

static int add(lethe_tensor_table *tb, const char *name, int64_t d0, int64_t d1) {
  if (LETHE_ARRAY_GROW(tb->t, tb->cap, (size_t)tb->n + 1, "parameter table") != LETHE_OK) return -1;
  lethe_tensor *t = &tb->t[tb->n++];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->ndim = d1 > 0 ? 2 : 1;
  t->shape[0] = d0;
  t->shape[1] = d1 > 0 ? d1 : 0;
  t->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
  t->offset = tb->off;
  t->dev_off = tb->off;
  tb->off += t->numel;
  return 0;
}

static void free_model_arrays(lethe_model *m) {
  if (m->dev.params && m->dev.params != m->params) m->ops->release(m->dev.params);
  if (m->dev.w16) m->ops->release(m->dev.w16);
  free(m->params);
  if (m->grads) m->ops->release(m->grads);
  free(m->grad_spans);
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
  return t && !t->bf16 ? m->dev.params + t->dev_off : NULL;
}

static const uint16_t *ptr16(lethe_model *m, const char *name) {
  const lethe_tensor *t = lethe_model_find(m, name);
  return t && t->bf16 ? m->dev.w16 + t->dev_off : NULL;
}

void lethe_model_bind(lethe_model *m) {
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
#define P16(suffix) (snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix), ptr16(m, nm))
    w->wqkv16 = P16("self_attn.q_proj.weight");
    w->wo16 = P16("self_attn.o_proj.weight");
    w->wgu16 = P16("mlp.gate_proj.weight");
    w->wdown16 = P16("mlp.down_proj.weight");
#undef P16
  }
  m->embed = ptr(m, "model.embed_tokens.weight");
  m->final_norm = ptr(m, "model.norm.weight");
  m->head = m->cfg.tie_embeddings ? m->embed : ptr(m, "lm_head.weight");
  m->embed16 = ptr16(m, "model.embed_tokens.weight");
  m->head16 = m->cfg.tie_embeddings ? m->embed16 : ptr16(m, "lm_head.weight");
}

int lethe_tensor_table_build(const lethe_config *c, lethe_tensor_table *out) {
  int64_t d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), F = c->hidden_dim;
  lethe_tensor_table tb = {0};
  char nm[96];
  int bad = 0;
  for (int l = 0; l < c->n_layers; l++) {
#define ADD(suffix, d0, d1)                                                                                            \
  do {                                                                                                                 \
    snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix);                                                          \
    bad |= add(&tb, nm, d0, d1);                                                                                       \
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
  *out = tb;
  return bad;
}

int lethe_tensor_is_projection(const char *name) { return strstr(name, "_proj.weight") != NULL; }

lethe_status lethe_config_count_params(const lethe_config *c, size_t *total, size_t *projections) {
  LETHE_TRY(lethe_config_validate(c, "model config"));
  lethe_tensor_table tb;
  int bad = lethe_tensor_table_build(c, &tb);
  size_t proj = 0;
  for (int i = 0; i < tb.n && !bad; i++)
    if (lethe_tensor_is_projection(tb.t[i].name)) proj += tb.t[i].numel;
  *total = tb.off;
  if (projections) *projections = proj;
  free(tb.t);
  return bad ? lethe_fail(LETHE_ERR_NOMEM, "out of memory building the tensor table") : LETHE_OK;
}

lethe_status lethe_model_alloc(const lethe_config *cfg, lethe_model **out) {
  *out = NULL;
  LETHE_TRY(lethe_config_validate(cfg, "model config"));
  const lethe_config *c = cfg;
  lethe_tensor_table tb;
  int bad = lethe_tensor_table_build(c, &tb);
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
  m->dev.n_params = tb.off;
  m->params = aligned_alloc(64, ((m->n_params * sizeof(float)) + 63) / 64 * 64);
  m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
  if (!m->params || !m->layers) {
    size_t bytes = m->n_params * sizeof(float);
    lethe_model_free(m);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for the model's parameters", bytes);
  }
  memset(m->params, 0, m->n_params * sizeof(float));
  m->dev.params = m->params; /* the CPU computes on the host copy itself */
  lethe_model_bind(m);
  lethe_status s =
      lethe_model_rope_reserve(m, c->max_seq_len < LETHE_ROPE_INITIAL ? c->max_seq_len : LETHE_ROPE_INITIAL);
  if (s) {
    lethe_model_free(m);
    return s;
  }
  *out = m;
  return LETHE_OK;
}

float *lethe_model_host_proj(lethe_model *m, int layer, int p) {
  char nm[96];
  snprintf(nm, sizeof nm, "model.layers.%d.%s.%s.weight", layer, p <= LETHE_PROJ_O ? "self_attn" : "mlp",
      LETHE_PROJ_NAMES[p]);
  const lethe_tensor *t = lethe_model_find(m, nm);
  return t ? m->params + t->offset : NULL;
}
