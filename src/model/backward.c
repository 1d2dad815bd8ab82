/* model/backward.c: the backward pass. Frozen weights get no weight gradient: backward through
 * them is dx = dy W only. LoRA factors always get theirs; with a model gradient buffer (full-
 * parameter training) every selected weight does (all of them, or a subset of layers and modules),
 * and the pass stops at the lowest trained layer: nothing below it needs dx. */
#include "model/model.h"
#include "util/error.h"

static inline float *gradof(const lethe_model *m, const float *w) { return lethe_model_grad_of(m, w); }

/* Backward of y += s (x A^T) B^T: dB += s dy^T u, du = s dy B, dA += du^T x, dx += du A. */
static void lora_backward(const lethe_ops *o, const lethe_lora *lora, int p, int l, const float *x, int ldx,
    const float *dy, int ldy, const float *u, float *du, float *dx, int lddx, int N) {
  int r = lora->cfg.rank, in = lora->in_dim[p], out = lora->out_dim[p];
  float s = lora->scale;
  o->gemm(1, 0, out, r, N, s, dy, ldy, u, r, 1.0f, lethe_lora_gB(lora, p, l), r);
  o->gemm(0, 0, N, r, out, s, dy, ldy, lethe_lora_B(lora, p, l), r, 0.0f, du, r);
  o->gemm(1, 0, r, in, N, 1.0f, du, r, x, ldx, 1.0f, lethe_lora_gA(lora, p, l), in);
  o->gemm(0, 0, N, in, r, 1.0f, du, r, lethe_lora_A(lora, p, l), in, 1.0f, dx, lddx);
}

/* dx += d(norm)/dx applied to dy. */
static void norm_backward(const lethe_model *m, float *dx, const float *dy, const float *x, const float *y,
    const float *w, const float *rstd, int N) {
  const lethe_config *c = &m->cfg;
  if (c->arch == LETHE_ARCH_OLMO)
    m->ops->layernorm_backward(dx, dy, y, rstd, N, c->dim);
  else
    m->ops->rmsnorm_backward(dx, gradof(m, w), dy, x, w, rstd, N, c->dim);
}

/* last != 0: the lowest layer the pass reaches (dx at its input is not needed). */
static void block_backward(
    lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, int l, const lethe_batch *b, int last) {
  const lethe_config *c = &m->cfg;
  const lethe_ops *o = m->ops;
  const lethe_layer_weights *w = &m->layers[l];
  const lethe_layer_acts *a = &ws->layers[l];
  int N = b->n_tokens;
  int d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), qkv = lethe_qkvdim(c), F = c->hidden_dim;
  int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
  float *dx = ws->dx;
  if (ws->kind == LETHE_WS_RECOMPUTE) lethe_block_recompute(m, lora, ws, l, b);

  /* MLP: xout = x_mid + down(h), h = silu(gate) * up */
  if (lethe_lora_adapted(lora, LETHE_PROJ_DOWN) || m->grads)
    o->swiglu(ws->h, a->gu, N, F); /* h: down's input, only for its gradients */
  lethe_wgemm(o, 0, N, F, d, 1.0f, dx, d, w->wdown, w->wdown16, F, 0.0f, ws->dh, F);
  if (lethe_lora_adapted(lora, LETHE_PROJ_DOWN))
    lora_backward(o, lora, LETHE_PROJ_DOWN, l, ws->h, F, dx, d, a->u[LETHE_PROJ_DOWN], ws->du, ws->dh, F, N);
  float *g;
  if ((g = gradof(m, w->wdown))) o->gemm(1, 0, d, F, N, 1.0f, dx, d, ws->h, F, 1.0f, g, F);
  o->swiglu_backward(ws->dgu, ws->dh, a->gu, N, F);
  lethe_wgemm(o, 0, N, d, 2 * F, 1.0f, ws->dgu, 2 * F, w->wgu, w->wgu16, d, 0.0f, ws->dln, d);
  if (lethe_lora_adapted(lora, LETHE_PROJ_GATE))
    lora_backward(o, lora, LETHE_PROJ_GATE, l, a->ln2, d, ws->dgu, 2 * F, a->u[LETHE_PROJ_GATE], ws->du, ws->dln, d, N);
  if (lethe_lora_adapted(lora, LETHE_PROJ_UP))
    lora_backward(o, lora, LETHE_PROJ_UP, l, a->ln2, d, ws->dgu + F, 2 * F, a->u[LETHE_PROJ_UP], ws->du, ws->dln, d, N);
  if ((g = gradof(m, w->wgu))) o->gemm(1, 0, 2 * F, d, N, 1.0f, ws->dgu, 2 * F, a->ln2, d, 1.0f, g, d);
  norm_backward(m, dx, ws->dln, a->x_mid, a->ln2, w->mlp_norm, a->rstd2, N);
  /* The lowest layer reached, with nothing of its attention trained: done. */
  if (last && !lora && !gradof(m, w->wqkv) && !gradof(m, w->wo) && !gradof(m, w->attn_norm) && !gradof(m, w->bqkv) &&
      !gradof(m, w->bo))
    return;

  /* attention: x_mid = x_in + o(att) */
  lethe_wgemm(o, 0, N, q, d, 1.0f, dx, d, w->wo, w->wo16, q, 0.0f, ws->datt, q);
  if (lethe_lora_adapted(lora, LETHE_PROJ_O))
    lora_backward(o, lora, LETHE_PROJ_O, l, a->att, q, dx, d, a->u[LETHE_PROJ_O], ws->du, ws->datt, q, N);
  if ((g = gradof(m, w->wo))) o->gemm(1, 0, d, q, N, 1.0f, dx, d, a->att, q, 1.0f, g, q);
  if ((g = gradof(m, w->bo))) o->bias_backward(g, dx, N, d, d);
  o->attention_backward(ws->dqkv, ws->dqkv + q, ws->dqkv + q + kv, ws->datt, a->att, a->lse, a->qkv, a->qkv + q,
      a->qkv + q + kv, qkv, qkv, ws->dev.start, b->n_seq, N, H, KV, hd, c->sliding_window, &ws->attn);
  o->rope(ws->dqkv, N, H, hd, qkv, ws->dev.pos, m->rope_cos, m->rope_sin, 1);
  o->rope(ws->dqkv + q, N, KV, hd, qkv, ws->dev.pos, m->rope_cos, m->rope_sin, 1);
  if (c->clip_qkv > 0) o->clip_backward(ws->dqkv, a->clip_mask, N, qkv, qkv);
  lethe_wgemm(o, 0, N, d, qkv, 1.0f, ws->dqkv, qkv, w->wqkv, w->wqkv16, d, 0.0f, ws->dln, d);
  if (lethe_lora_adapted(lora, LETHE_PROJ_Q))
    lora_backward(o, lora, LETHE_PROJ_Q, l, a->ln1, d, ws->dqkv, qkv, a->u[LETHE_PROJ_Q], ws->du, ws->dln, d, N);
  if (lethe_lora_adapted(lora, LETHE_PROJ_K))
    lora_backward(o, lora, LETHE_PROJ_K, l, a->ln1, d, ws->dqkv + q, qkv, a->u[LETHE_PROJ_K], ws->du, ws->dln, d, N);
  if (lethe_lora_adapted(lora, LETHE_PROJ_V))
    lora_backward(
        o, lora, LETHE_PROJ_V, l, a->ln1, d, ws->dqkv + q + kv, qkv, a->u[LETHE_PROJ_V], ws->du, ws->dln, d, N);
  if ((g = gradof(m, w->wqkv))) o->gemm(1, 0, qkv, d, N, 1.0f, ws->dqkv, qkv, a->ln1, d, 1.0f, g, d);
  if ((g = gradof(m, w->bqkv))) o->bias_backward(g, ws->dqkv, N, qkv, qkv);
  norm_backward(m, dx, ws->dln, a->x_in, a->ln1, w->attn_norm, a->rstd1, N);
}

lethe_status lethe_backward(lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, const lethe_batch *b) {
  if (ws->kind == LETHE_WS_INFER) return lethe_fail(LETHE_ERR_INVALID, "backward needs a training workspace");
  const lethe_config *c = &m->cfg;
  int N = b->n_tokens;
  m->ops->zero(ws->dx, (size_t)N * c->dim);
  norm_backward(m, ws->dx, ws->dlnf, ws->x_final, ws->lnf, m->final_norm, ws->rstdf, N);
  int lo = (m->grads && !lora) ? m->grad_lo_layer : 0;
  for (int l = c->n_layers - 1; l >= lo; l--) block_backward(m, lora, ws, l, b, l == lo);
  float *ge = gradof(m, m->embed);
  if (ge) m->ops->embed_backward(ge, ws->dx, ws->dev.tokens, N, c->dim, c->vocab_size);
  return m->ops->check();
}

lethe_status lethe_backward_from_layer(
    lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, const lethe_batch *b, int layer) {
  if (ws->kind == LETHE_WS_INFER) return lethe_fail(LETHE_ERR_INVALID, "backward needs a training workspace");
  if (layer < 0 || layer >= m->cfg.n_layers)
    return lethe_fail(LETHE_ERR_INVALID, "layer %d is not in the model", layer);
  int lo = (m->grads && !lora) ? m->grad_lo_layer : 0;
  for (int l = layer; l >= lo; l--) block_backward(m, lora, ws, l, b, l == lo);
  float *ge = gradof(m, m->embed);
  if (ge && lo == 0) m->ops->embed_backward(ge, ws->dx, ws->dev.tokens, b->n_tokens, m->cfg.dim, m->cfg.vocab_size);
  return m->ops->check();
}
