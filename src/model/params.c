/* model/params.c: the parameter layout. Every weight of a model lives in one fp32 allocation, in a
 * fixed order with q/k/v and gate/up stacked so that each pair of projections is one GEMM; a
 * table maps Hugging Face tensor names to places. Also the RoPE tables and random init. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"
#include "util/say.h"
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
  t->doff = tb->off;
  tb->off += t->numel;
  return 0;
}

static void free_model_arrays(lethe_model *m) {
  if (m->dparams && m->dparams != m->params) m->ops->release(m->dparams);
  if (m->dw16) m->ops->release(m->dw16);
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
  return t && !t->bf16 ? m->dparams + t->doff : NULL;
}

static const uint16_t *ptr16(lethe_model *m, const char *name) {
  const lethe_tensor *t = lethe_model_find(m, name);
  return t && t->bf16 ? m->dw16 + t->doff : NULL;
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

/* The tensor table of a (validated) config, in HF names and the host layout; nonzero when out of
 * memory. */
static int build_table(const lethe_config *c, table *out) {
  int64_t d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), F = c->hidden_dim;
  table tb = {0};
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

static int is_projection(const char *name);

lethe_status lethe_config_count_params(const lethe_config *c, size_t *total, size_t *projections) {
  LETHE_TRY(lethe_config_validate(c, "model config"));
  table tb;
  int bad = build_table(c, &tb);
  size_t proj = 0;
  for (int i = 0; i < tb.n && !bad; i++)
    if (is_projection(tb.t[i].name)) proj += tb.t[i].numel;
  *total = tb.off;
  if (projections) *projections = proj;
  free(tb.t);
  return bad ? lethe_fail(LETHE_ERR_NOMEM, "out of memory building the tensor table") : LETHE_OK;
}

lethe_status lethe_model_alloc(const lethe_config *cfg, lethe_model **out) {
  *out = NULL;
  LETHE_TRY(lethe_config_validate(cfg, "model config"));
  const lethe_config *c = cfg;
  table tb;
  int bad = build_table(c, &tb);
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
  m->n_dparams = tb.off;
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
  lethe_status s =
      lethe_model_rope_reserve(m, c->max_seq_len < LETHE_ROPE_INITIAL ? c->max_seq_len : LETHE_ROPE_INITIAL);
  if (s) {
    lethe_model_free(m);
    return s;
  }
  *out = m;
  return LETHE_OK;
}

lethe_status lethe_model_enable_grads(lethe_model *m) {
  if (m->grads) return LETHE_OK;
  if (m->wbf16)
    return lethe_fail(LETHE_ERR_INVALID, "full-parameter training needs fp32 weights (use --device cuda:fp32)");
  m->grads = m->ops->alloc(m->n_params * sizeof(float));
  if (!m->grads)
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for gradients", m->n_params * sizeof(float));
  m->n_grads = m->n_params;
  m->grad_lo_layer = 0;
  return LETHE_OK;
}

/* The selection group of a layer tensor's name after "model.layers.L." (0: none). */
static unsigned tensor_group(const char *rest) {
  if (!strncmp(rest, "self_attn.", 10)) return strstr(rest, "norm") ? LETHE_TRAIN_NORMS : LETHE_TRAIN_ATTN;
  if (!strncmp(rest, "mlp.", 4)) return LETHE_TRAIN_MLP;
  if (strstr(rest, "norm")) return LETHE_TRAIN_NORMS;
  return 0;
}

/* Is tensor `name` in layers [lo, hi] and one of the modules? */
static int tensor_selected(const char *name, int lo, int hi, unsigned modules) {
  int layer, used = 0;
  if (sscanf(name, "model.layers.%d.%n", &layer, &used) != 1 || used == 0) return 0;
  return layer >= lo && layer <= hi && (tensor_group(name + used) & modules);
}

lethe_status lethe_config_count_selected(const lethe_config *c, int lo, int hi, unsigned modules, size_t *n) {
  LETHE_TRY(lethe_config_validate(c, "model config"));
  table tb;
  int bad = build_table(c, &tb);
  *n = 0;
  for (int i = 0; i < tb.n && !bad; i++)
    if (tensor_selected(tb.t[i].name, lo, hi, modules)) *n += tb.t[i].numel;
  free(tb.t);
  return bad ? lethe_fail(LETHE_ERR_NOMEM, "out of memory building the tensor table") : LETHE_OK;
}

static int span_cmp(const void *a, const void *b) {
  size_t x = ((const lethe_grad_span *)a)->off, y = ((const lethe_grad_span *)b)->off;
  return x < y ? -1 : x > y;
}

lethe_status lethe_model_enable_grads_subset(lethe_model *m, int lo, int hi, unsigned modules) {
  if (m->grads) return lethe_fail(LETHE_ERR_INVALID, "the model already has gradients");
  if (m->wbf16)
    return lethe_fail(LETHE_ERR_INVALID, "full-parameter training needs fp32 weights (use --device cuda:fp32)");
  if (lo < 0 || hi >= m->cfg.n_layers || lo > hi)
    return lethe_fail(
        LETHE_ERR_INVALID, "trained layers %d-%d are outside the model's %d layers", lo, hi, m->cfg.n_layers);
  if (!(modules & LETHE_TRAIN_LAYER)) return lethe_fail(LETHE_ERR_INVALID, "no modules selected for training");
  lethe_grad_span *sp = calloc((size_t)m->n_tensors + 1, sizeof *sp);
  if (!sp) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  int n = 0;
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    if (!tensor_selected(t->name, lo, hi, modules)) continue;
    sp[n++] = (lethe_grad_span){.off = t->doff, .len = t->numel};
  }
  if (n == 0) {
    free(sp);
    return lethe_fail(LETHE_ERR_INVALID, "layers %d-%d have no tensor of the selected modules", lo, hi);
  }
  qsort(sp, (size_t)n, sizeof *sp, span_cmp);
  int k = 0;
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    if (k > 0 && sp[k - 1].off + sp[k - 1].len == sp[i].off) {
      sp[k - 1].len += sp[i].len;
    } else {
      sp[k] = sp[i];
      sp[k].goff = total;
      k++;
    }
    total += sp[i].len;
  }
  m->grads = m->ops->alloc(total * sizeof(float));
  if (!m->grads) {
    free(sp);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes for gradients", total * sizeof(float));
  }
  m->grad_spans = sp;
  m->n_grad_spans = k;
  m->n_grads = total;
  m->grad_lo_layer = lo;
  return LETHE_OK;
}

unsigned lethe_train_modules_parse(const char *s) {
  return !s || !strcmp(s, "all") ? LETHE_TRAIN_LAYER
         : !strcmp(s, "mlp")     ? LETHE_TRAIN_MLP
         : !strcmp(s, "attn")    ? LETHE_TRAIN_ATTN
                                 : 0;
}

lethe_status lethe_train_layers_parse(const char *spec, int n_layers, int *lo, int *hi) {
  int a, b, used = 0;
  if (!spec || !strcmp(spec, "all")) {
    *lo = 0;
    *hi = n_layers - 1;
    return LETHE_OK;
  }
  if (sscanf(spec, "-%d%n", &a, &used) == 1 && spec[used] == 0 && a >= 1) {
    *lo = a < n_layers ? n_layers - a : 0; /* the last N: all of them when the model has fewer */
    *hi = n_layers - 1;
    return LETHE_OK;
  }
  used = 0;
  if (sscanf(spec, "%d-%d%n", &a, &b, &used) == 2 && spec[used] == 0) {
  } else if ((used = 0, sscanf(spec, "%d%n", &a, &used) == 1) && spec[used] == 0) {
    b = a;
  } else {
    return lethe_fail(LETHE_ERR_INVALID, "--train-layers '%s': expected A-B, A, -N (the last N) or all", spec);
  }
  if (a < 0 || b >= n_layers || a > b)
    return lethe_fail(LETHE_ERR_INVALID, "--train-layers '%s': the model has layers 0-%d", spec, n_layers - 1);
  *lo = a;
  *hi = b;
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

/* The block projections: what bf16 storage applies to. */
static int is_projection(const char *name) { return strstr(name, "_proj.weight") != NULL; }

/* The head (lm_head, or the tied embedding) goes to bf16 with the projections on a backend that
 * has the bf16 classifier. */
static int is_bf16_head(const lethe_model *m, const lethe_ops *ops, const char *name) {
  if (!ops->classifier_bf16w || !ops->logits_bf16w || !ops->embed_bf16) return 0;
  return m->cfg.tie_embeddings ? !strcmp(name, "model.embed_tokens.weight") : !strcmp(name, "lm_head.weight");
}

/* Places every tensor in the backend copy: one fp32 buffer in the host layout, or with bf16
 * projections two compact buffers, each tensor after the previous one of its kind (so q, k, v and
 * gate, up stay stacked). */
static void plan_layout(lethe_model *m, const lethe_ops *ops, int bf16) {
  size_t n32 = 0, n16 = 0;
  for (int i = 0; i < m->n_tensors; i++) {
    lethe_tensor *t = &m->tensors[i];
    t->bf16 = bf16 && (is_projection(t->name) || is_bf16_head(m, ops, t->name));
    if (!bf16)
      t->doff = t->offset;
    else if (t->bf16)
      t->doff = n16, n16 += t->numel;
    else
      t->doff = n32, n32 += t->numel;
  }
  m->n_dparams = bf16 ? n32 : m->n_params;
  m->n_dw16 = n16;
}

static void upload_all(lethe_model *m) {
  const lethe_ops *o = m->ops;
  if (!m->wbf16) {
    if (m->dparams != m->params) o->upload(m->dparams, m->params, m->n_params * sizeof(float));
    return;
  }
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    if (t->bf16)
      o->upload_bf16(m->dw16 + t->doff, m->params + t->offset, t->numel);
    else
      o->upload(m->dparams + t->doff, m->params + t->offset, t->numel * sizeof(float));
  }
}

lethe_status lethe_model_use_backend_ex(lethe_model *m, const lethe_ops *ops, int bf16) {
  bf16 = bf16 != 0;
  if (ops == m->ops && bf16 == m->wbf16) return LETHE_OK;
  if (m->grads) return lethe_fail(LETHE_ERR_INVALID, "move the model to its backend before enabling gradients");
  if (bf16 && (!ops->gemm_bf16w || !ops->upload_bf16))
    return lethe_fail(LETHE_ERR_INVALID, "the %s backend cannot store weights in bf16", ops->name);
  lethe_model_sync_host(m);
  /* release the old backend copy first: a GPU may not hold two */
  if (m->dparams != m->params) m->ops->release(m->dparams);
  if (m->dw16) m->ops->release(m->dw16);
  m->dparams = NULL;
  m->dw16 = NULL;
  if (m->rope_cos) m->ops->release(m->rope_cos);
  if (m->rope_sin) m->ops->release(m->rope_sin);
  m->rope_cos = m->rope_sin = NULL;
  int len = m->rope_len;
  m->rope_len = 0;
  plan_layout(m, ops, bf16);
  m->ops = ops;
  m->wbf16 = bf16;
  size_t b32 = m->n_dparams * sizeof(float), b16 = m->n_dw16 * sizeof(uint16_t);
  m->dparams = (ops->host_visible && !bf16) ? m->params : ops->alloc(b32);
  if (bf16) m->dw16 = ops->alloc(b16);
  if (!m->dparams || (bf16 && !m->dw16)) {
    /* fall back to the host: the model stays usable on the CPU */
    if (m->dparams && m->dparams != m->params) ops->release(m->dparams);
    if (m->dw16) ops->release(m->dw16);
    m->dw16 = NULL;
    m->ops = lethe_cpu_ops();
    m->wbf16 = 0;
    plan_layout(m, lethe_cpu_ops(), 0);
    m->dparams = m->params;
    bind(m);
    LETHE_TRY(lethe_model_rope_reserve(m, len));
    return lethe_fail(
        LETHE_ERR_NOMEM, "cannot allocate %zu bytes for the model on the %s backend", b32 + b16, ops->name);
  }
  upload_all(m);
  bind(m);
  return lethe_model_rope_reserve(m, len);
}

lethe_status lethe_model_refresh_device(lethe_model *m) {
  upload_all(m);
  return m->ops->check();
}

float *lethe_model_host_proj(lethe_model *m, int layer, int p) {
  char nm[96];
  snprintf(nm, sizeof nm, "model.layers.%d.%s.%s.weight", layer, p <= LETHE_PROJ_O ? "self_attn" : "mlp",
      LETHE_PROJ_NAMES[p]);
  const lethe_tensor *t = lethe_model_find(m, nm);
  return t ? m->params + t->offset : NULL;
}

size_t lethe_model_device_bytes(const lethe_model *m) {
  return m->n_dparams * sizeof(float) + m->n_dw16 * sizeof(uint16_t);
}

void lethe_model_sync_host(lethe_model *m) {
  /* with bf16 weights the host copy is the exact one (no training changes the base then) */
  if (!m->wbf16 && m->dparams != m->params) m->ops->download(m->params, m->dparams, m->n_params * sizeof(float));
}

lethe_status lethe_device_parse(const char *device, char name[32], int *bf16) {
  /* "NAME" or "NAME:fp32" / "NAME:bf16"; CUDA stores the projections in bf16 unless told fp32, the
   * CPU keeps fp32 (exact) unless told bf16 */
  const char *colon = strchr(device, ':');
  size_t n = colon ? (size_t)(colon - device) : strlen(device);
  if (n == 0 || n >= 32)
    return lethe_fail(LETHE_ERR_INVALID, "unknown device '%s' (cpu, cpu:bf16, cuda, cuda:fp32)", device);
  memcpy(name, device, n);
  name[n] = 0;
  *bf16 = !strcmp(name, "cuda");
  if (colon) {
    if (!strcmp(colon + 1, "fp32"))
      *bf16 = 0;
    else if (!strcmp(colon + 1, "bf16") && (!strcmp(name, "cuda") || !strcmp(name, "cpu")))
      *bf16 = 1;
    else
      return lethe_fail(LETHE_ERR_INVALID, "unknown device '%s' (cpu, cpu:bf16, cuda, cuda:fp32)", device);
  }
  return LETHE_OK;
}

lethe_status lethe_model_to_device(lethe_model *m, const char *device) {
  char name[32];
  int bf16 = 0;
  LETHE_TRY(lethe_device_parse(device, name, &bf16));
  const lethe_ops *ops;
  LETHE_TRY(lethe_backend(name, &ops));
  if (bf16 && ops == lethe_cpu_ops() && !lethe_cpu_bf16_engine()) {
    /* bf16 weights without the instructions would run on plain loops: slower than fp32 */
    static int told;
    if (!told++) lethe_say(stderr, "notice: this CPU has no AVX512_BF16; --device %s runs with fp32 weights\n", device);
    bf16 = 0;
  }
  return lethe_model_use_backend_ex(m, ops, bf16);
}
