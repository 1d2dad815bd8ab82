/* model/backend_copy.c: the backend copy of the weights the model computes on: its layout (one fp32
 * buffer, or fp32 and bf16 buffers with bf16 projections), moving it to another backend, uploading
 * the host copy to it and bringing the host copy up to date from it. */
#include <stdint.h>
#include <string.h>

#include "model/layout.h"
#include "model/model.h"
#include "util/error.h"

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
    t->bf16 = bf16 && (lethe_tensor_is_projection(t->name) || is_bf16_head(m, ops, t->name));
    if (!bf16)
      t->dev_off = t->offset;
    else if (t->bf16)
      t->dev_off = n16, n16 += t->numel;
    else
      t->dev_off = n32, n32 += t->numel;
  }
  m->dev.n_params = bf16 ? n32 : m->n_params;
  m->dev.n_w16 = n16;
}

static void upload_all(lethe_model *m) {
  const lethe_ops *o = m->ops;
  if (!m->wbf16) {
    if (m->dev.params != m->params) o->upload(m->dev.params, m->params, m->n_params * sizeof(float));
    return;
  }
  for (int i = 0; i < m->n_tensors; i++) {
    const lethe_tensor *t = &m->tensors[i];
    if (t->bf16)
      o->upload_bf16(m->dev.w16 + t->dev_off, m->params + t->offset, t->numel);
    else
      o->upload(m->dev.params + t->dev_off, m->params + t->offset, t->numel * sizeof(float));
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
  if (m->dev.params != m->params) m->ops->release(m->dev.params);
  if (m->dev.w16) m->ops->release(m->dev.w16);
  m->dev.params = NULL;
  m->dev.w16 = NULL;
  if (m->rope_cos) m->ops->release(m->rope_cos);
  if (m->rope_sin) m->ops->release(m->rope_sin);
  m->rope_cos = m->rope_sin = NULL;
  int len = m->rope_len;
  m->rope_len = 0;
  plan_layout(m, ops, bf16);
  m->ops = ops;
  m->wbf16 = bf16;
  size_t b32 = m->dev.n_params * sizeof(float), b16 = m->dev.n_w16 * sizeof(uint16_t);
  m->dev.params = (ops->host_visible && !bf16) ? m->params : ops->alloc(b32);
  if (bf16) m->dev.w16 = ops->alloc(b16);
  if (!m->dev.params || (bf16 && !m->dev.w16)) {
    /* fall back to the host: the model stays usable on the CPU */
    if (m->dev.params && m->dev.params != m->params) ops->release(m->dev.params);
    if (m->dev.w16) ops->release(m->dev.w16);
    m->dev.w16 = NULL;
    m->ops = lethe_cpu_ops();
    m->wbf16 = 0;
    plan_layout(m, lethe_cpu_ops(), 0);
    m->dev.params = m->params;
    lethe_model_bind(m);
    LETHE_TRY(lethe_model_rope_reserve(m, len));
    return lethe_fail(
        LETHE_ERR_NOMEM, "cannot allocate %zu bytes for the model on the %s backend", b32 + b16, ops->name);
  }
  upload_all(m);
  lethe_model_bind(m);
  return lethe_model_rope_reserve(m, len);
}

lethe_status lethe_model_refresh_device(lethe_model *m) {
  upload_all(m);
  return m->ops->check();
}

size_t lethe_model_device_bytes(const lethe_model *m) {
  return m->dev.n_params * sizeof(float) + m->dev.n_w16 * sizeof(uint16_t);
}

void lethe_model_sync_host(lethe_model *m) {
  /* with bf16 weights the host copy is the exact one (no training changes the base then) */
  if (!m->wbf16 && m->dev.params != m->params) m->ops->download(m->params, m->dev.params, m->n_params * sizeof(float));
}
