/* model/forward.c: the forward pass of one decoder block and of the whole model, for packed
 * training batches (attention within each sequence) and for inference against a KV cache.
 * Per block: x += o(attn(rope(q(n1 x)), rope(k(n1 x)), v(n1 x))), then x += down(silu(gate(n2 x))
 * * up(n2 x)); LoRA terms s * B(A x) are added to the adapted projections. */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"

typedef struct {
  /* training: packed sequences */
  const int *start;
  int n_seq;
  /* inference: KV cache (NULL in training) */
  lethe_kv_cache *cache;
  const int *slot;
  /* a prefill of fresh slots (each slot's rows are contiguous and start at position 0): the keys
   * are exactly the new rows, so the tiled attention of the training path applies */
  int fresh;
} attn_ctx;

/* y (N, out; stride ldy) += s * (x A^T) B^T with u (N, r) = x A^T kept for the backward pass. */
static void lora_forward(const lethe_ops *o, const lethe_lora *lora, int p, int layer, const float *x, int ldx,
    float *y, int ldy, float *u, int N) {
  int r = lora->cfg.rank, in = lora->in_dim[p], out = lora->out_dim[p];
  o->gemm(0, 1, N, r, in, 1.0f, x, ldx, lethe_lora_A(lora, p, layer), in, 0.0f, u, r);
  o->gemm(0, 1, N, out, r, lora->scale, u, r, lethe_lora_B(lora, p, layer), r, 1.0f, y, ldy);
}

/* x (N, d) = the embedding rows of tokens, from the fp32 or the bf16 table */
static void embed(const lethe_model *m, float *x, const int *tokens, int N) {
  if (m->embed16)
    m->ops->embed_bf16(x, m->embed16, tokens, N, m->cfg.dim);
  else
    m->ops->embed(x, m->embed, tokens, N, m->cfg.dim);
}

static void norm_forward(const lethe_model *m, float *y, float *rstd, const float *x, const float *w, int N) {
  const lethe_config *c = &m->cfg;
  if (c->arch == LETHE_ARCH_OLMO)
    m->ops->layernorm(y, NULL, rstd, x, N, c->dim, (float)c->norm_eps);
  else
    m->ops->rmsnorm(y, rstd, x, w, N, c->dim, (float)c->norm_eps);
}

static void block_forward(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, int l,
    const lethe_layer_acts *a, float *xout, const int *pos, int N, const attn_ctx *ac) {
  const lethe_config *c = &m->cfg;
  const lethe_ops *o = m->ops;
  const lethe_layer_weights *w = &m->layers[l];
  int d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), qkv = lethe_qkvdim(c), F = c->hidden_dim;
  int H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
  if (m->act_bf16) {
    lethe_block_forward_bf16(m, lora, ws, l, a, xout, pos, N, ac->start, ac->n_seq, ac->cache, ac->slot, ac->fresh);
    return;
  }

  norm_forward(m, a->ln1, a->rstd1, a->x_in, w->attn_norm, N);
  lethe_wgemm(o, 1, N, qkv, d, 1.0f, a->ln1, d, w->wqkv, w->wqkv16, d, 0.0f, a->qkv, qkv);
  if (w->bqkv) o->add_bias(a->qkv, w->bqkv, N, qkv, qkv);
  if (lethe_lora_adapted(lora, LETHE_PROJ_Q))
    lora_forward(o, lora, LETHE_PROJ_Q, l, a->ln1, d, a->qkv, qkv, a->u[LETHE_PROJ_Q], N);
  if (lethe_lora_adapted(lora, LETHE_PROJ_K))
    lora_forward(o, lora, LETHE_PROJ_K, l, a->ln1, d, a->qkv + q, qkv, a->u[LETHE_PROJ_K], N);
  if (lethe_lora_adapted(lora, LETHE_PROJ_V))
    lora_forward(o, lora, LETHE_PROJ_V, l, a->ln1, d, a->qkv + q + kv, qkv, a->u[LETHE_PROJ_V], N);
  if (c->clip_qkv > 0) o->clip(a->qkv, a->clip_mask, N, qkv, qkv, (float)c->clip_qkv);
  o->rope(a->qkv, N, H, hd, qkv, pos, m->rope_cos, m->rope_sin, 0);
  o->rope(a->qkv + q, N, KV, hd, qkv, pos, m->rope_cos, m->rope_sin, 0);
  if (ac->cache) {
    lethe_kv_cache *kc = ac->cache;
    size_t per_layer = (size_t)kc->slots * kc->max_pos * kc->kvdim;
    float *kl = kc->k + (size_t)l * per_layer, *vl = kc->v + (size_t)l * per_layer;
    o->kv_store(kl, vl, a->qkv, qkv, q, kv, ac->slot, pos, N, kc->max_pos);
    if (ac->fresh)
      o->attention(a->att, a->lse, a->qkv, a->qkv + q, a->qkv + q + kv, qkv, qkv, ac->start, ac->n_seq, N, H, KV, hd,
          c->sliding_window, &ws->attn);
    else
      o->attention_cached(a->att, a->qkv, qkv, kl, vl, ac->slot, pos, N, kc->max_pos, H, KV, hd, c->sliding_window);
  } else {
    o->attention(a->att, a->lse, a->qkv, a->qkv + q, a->qkv + q + kv, qkv, qkv, ac->start, ac->n_seq, N, H, KV, hd,
        c->sliding_window, &ws->attn);
  }
  o->copy(a->x_mid, a->x_in, (size_t)N * d);
  lethe_wgemm(o, 1, N, d, q, 1.0f, a->att, q, w->wo, w->wo16, q, 1.0f, a->x_mid, d);
  if (w->bo) o->add_bias(a->x_mid, w->bo, N, d, d);
  if (lethe_lora_adapted(lora, LETHE_PROJ_O))
    lora_forward(o, lora, LETHE_PROJ_O, l, a->att, q, a->x_mid, d, a->u[LETHE_PROJ_O], N);

  norm_forward(m, a->ln2, a->rstd2, a->x_mid, w->mlp_norm, N);
  lethe_wgemm(o, 1, N, 2 * F, d, 1.0f, a->ln2, d, w->wgu, w->wgu16, d, 0.0f, a->gu, 2 * F);
  if (lethe_lora_adapted(lora, LETHE_PROJ_GATE))
    lora_forward(o, lora, LETHE_PROJ_GATE, l, a->ln2, d, a->gu, 2 * F, a->u[LETHE_PROJ_GATE], N);
  if (lethe_lora_adapted(lora, LETHE_PROJ_UP))
    lora_forward(o, lora, LETHE_PROJ_UP, l, a->ln2, d, a->gu + F, 2 * F, a->u[LETHE_PROJ_UP], N);
  o->swiglu(ws->h, a->gu, N, F);
  o->copy(xout, a->x_mid, (size_t)N * d);
  lethe_wgemm(o, 1, N, d, F, 1.0f, ws->h, F, w->wdown, w->wdown16, F, 1.0f, xout, d);
  if (lethe_lora_adapted(lora, LETHE_PROJ_DOWN))
    lora_forward(o, lora, LETHE_PROJ_DOWN, l, ws->h, F, xout, d, a->u[LETHE_PROJ_DOWN], N);
}

static lethe_status check_lora(const lethe_model *m, const lethe_lora *lora, const lethe_workspace *ws) {
  if (!lora) return LETHE_OK;
  if (lora->n_layers != m->cfg.n_layers)
    return lethe_fail(LETHE_ERR_INVALID, "adapter has %d layers, model %d", lora->n_layers, m->cfg.n_layers);
  for (int p = 0; p < LETHE_NPROJ; p++)
    if ((lora->cfg.targets & (1u << p)) && !ws->layers[0].u[p])
      return lethe_fail(LETHE_ERR_INVALID, "workspace was not sized for an adapter on %s", LETHE_PROJ_NAMES[p]);
  return LETHE_OK;
}

static void final_norm(const lethe_model *m, lethe_workspace *ws, int N) {
  if (m->act_bf16) {
    lethe_final_norm_bf16(m, ws, N);
    return;
  }
  norm_forward(m, ws->lnf, ws->rstdf, ws->x_final, m->final_norm, N);
}

lethe_status lethe_batch_check(const lethe_model *m, const lethe_workspace *ws, const lethe_batch *b) {
  const lethe_config *c = &m->cfg;
  if (b->n_seq < 1 || b->n_seq > ws->max_seqs)
    return lethe_fail(LETHE_ERR_INVALID, "batch has %d sequences, workspace room for %d", b->n_seq, ws->max_seqs);
  if (b->start[0] != 0 || b->start[b->n_seq] != b->n_tokens)
    return lethe_fail(LETHE_ERR_INVALID, "batch offsets do not cover its %d tokens", b->n_tokens);
  if (b->n_tokens < 1 || b->n_tokens > ws->max_tokens)
    return lethe_fail(LETHE_ERR_INVALID, "batch has %d tokens, workspace room for %d", b->n_tokens, ws->max_tokens);
  for (int s = 0; s < b->n_seq; s++) {
    int len = b->start[s + 1] - b->start[s];
    if (len < 1) return lethe_fail(LETHE_ERR_INVALID, "batch sequence %d is empty", s);
    if (len > m->rope_len)
      return lethe_fail(LETHE_ERR_INVALID, "batch sequence %d has %d tokens, more than the %d positions prepared", s,
          len, m->rope_len);
  }
  for (int t = 0; t < b->n_tokens; t++) {
    if (b->tokens[t] < 0 || b->tokens[t] >= c->vocab_size)
      return lethe_fail(
          LETHE_ERR_INVALID, "token id %d at row %d is outside the vocabulary (%d)", b->tokens[t], t, c->vocab_size);
    if (b->targets && (b->targets[t] < -1 || b->targets[t] >= c->vocab_size))
      return lethe_fail(LETHE_ERR_INVALID, "target id %d at row %d is outside the vocabulary", b->targets[t], t);
  }
  return LETHE_OK;
}

lethe_status lethe_forward(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, const lethe_batch *b) {
  LETHE_TRY(lethe_batch_check(m, ws, b));
  LETHE_TRY(check_lora(m, lora, ws));
  const lethe_config *c = &m->cfg;
  int N = b->n_tokens;
  for (int s = 0; s < b->n_seq; s++)
    for (int t = b->start[s]; t < b->start[s + 1]; t++) ws->pos[t] = t - b->start[s];
  const lethe_ops *o = m->ops;
  o->upload(ws->dev.tokens, b->tokens, sizeof(int) * (size_t)N);
  o->upload(ws->dev.pos, ws->pos, sizeof(int) * (size_t)N);
  o->upload(ws->dev.start, b->start, sizeof(int) * (size_t)(b->n_seq + 1));
  attn_ctx ac = {.start = ws->dev.start, .n_seq = b->n_seq, .cache = NULL, .slot = NULL};
  embed(m, ws->layers[0].x_in, ws->dev.tokens, N);
  for (int l = 0; l < c->n_layers; l++) {
    float *xout = l + 1 < c->n_layers ? ws->layers[l + 1].x_in : ws->x_final;
    block_forward(m, lora, ws, l, &ws->layers[l], xout, ws->dev.pos, N, &ac);
  }
  final_norm(m, ws, N);
  return m->ops->check();
}

void lethe_block_recompute(
    const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, int l, const lethe_batch *b) {
  /* dev.pos and dev.start still hold the batch; the block's output is not needed again, so it goes to
   * dln, which the backward pass overwrites before reading. */
  attn_ctx ac = {.start = ws->dev.start, .n_seq = b->n_seq, .cache = NULL, .slot = NULL};
  block_forward(m, lora, ws, l, &ws->layers[l], ws->dln, ws->dev.pos, b->n_tokens, &ac);
}

lethe_status lethe_forward_cached(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws,
    lethe_kv_cache *cache, const int *tokens, const int *slot, const int *pos, int N) {
  const lethe_config *c = &m->cfg;
  if (ws->kind != LETHE_WS_INFER) return lethe_fail(LETHE_ERR_INVALID, "cached forward needs an inference workspace");
  if (N < 1 || N > ws->max_tokens)
    return lethe_fail(LETHE_ERR_INVALID, "%d rows, workspace room for %d", N, ws->max_tokens);
  LETHE_TRY(check_lora(m, lora, ws));
  for (int t = 0; t < N; t++) {
    if (tokens[t] < 0 || tokens[t] >= c->vocab_size)
      return lethe_fail(LETHE_ERR_INVALID, "token id %d is outside the vocabulary (%d)", tokens[t], c->vocab_size);
    if (slot[t] < 0 || slot[t] >= cache->slots)
      return lethe_fail(LETHE_ERR_INVALID, "cache slot %d out of range", slot[t]);
    if (pos[t] < 0 || pos[t] >= cache->max_pos || pos[t] >= m->rope_len)
      return lethe_fail(LETHE_ERR_INVALID, "position %d is beyond the cache (%d)", pos[t], cache->max_pos);
  }
  const lethe_ops *o = m->ops;
  attn_ctx ac = {.start = NULL, .n_seq = 0, .cache = cache, .slot = ws->dev.slot, .fresh = 1};
  /* Fresh prefill: rows grouped by slot, positions 0, 1, 2, ... within each group. */
  int ns = 0;
  for (int t = 0; t < N && ac.fresh; t++) {
    if (pos[t] == 0) {
      for (int u = 0; u < ns && ac.fresh; u++) ac.fresh = slot[ws->seq_start[u]] != slot[t];
      ws->seq_start[ns++] = t;
    } else {
      ac.fresh = t > 0 && slot[t] == slot[t - 1] && pos[t] == pos[t - 1] + 1;
    }
  }
  if (ac.fresh) {
    ws->seq_start[ns] = N;
    o->upload(ws->dev.start, ws->seq_start, sizeof(int) * (size_t)(ns + 1));
    ac.start = ws->dev.start;
    ac.n_seq = ns;
    int longest = 0;
    for (int u = 0; u < ns; u++)
      longest = ws->seq_start[u + 1] - ws->seq_start[u] > longest ? ws->seq_start[u + 1] - ws->seq_start[u] : longest;
    /* the tiles need scratch for the longest run */
    ac.fresh = (size_t)2 * LETHE_ATTN_BLOCK * (size_t)longest <= ws->attn.per_thread;
  }
  o->upload(ws->dev.tokens, tokens, sizeof(int) * (size_t)N);
  o->upload(ws->dev.slot, slot, sizeof(int) * (size_t)N);
  o->upload(ws->dev.pos, pos, sizeof(int) * (size_t)N);
  embed(m, ws->layers[0].x_in, ws->dev.tokens, N);
  for (int l = 0; l < c->n_layers; l++) block_forward(m, lora, ws, l, &ws->layers[l], ws->x_final, ws->dev.pos, N, &ac);
  final_norm(m, ws, N);
  return m->ops->check();
}

lethe_status lethe_kv_cache_create(const lethe_model *m, int slots, int max_pos, lethe_kv_cache **out) {
  *out = NULL;
  if (slots < 1 || max_pos < 1) return lethe_fail(LETHE_ERR_INVALID, "KV cache needs at least one slot and position");
  if (max_pos > m->rope_len)
    return lethe_fail(LETHE_ERR_INVALID, "KV cache of %d positions exceeds the %d prepared", max_pos, m->rope_len);
  lethe_kv_cache *c = calloc(1, sizeof *c);
  if (!c) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  c->slots = slots;
  c->max_pos = max_pos;
  c->kvdim = lethe_kvdim(&m->cfg);
  c->n_layers = m->cfg.n_layers;
  size_t n = (size_t)c->n_layers * slots * max_pos * c->kvdim;
  c->ops = m->ops;
  c->k = m->ops->alloc(sizeof(float) * n * 2);
  if (!c->k) {
    free(c);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate a KV cache of %zu bytes", sizeof(float) * n * 2);
  }
  c->v = c->k + n;
  *out = c;
  return LETHE_OK;
}

void lethe_kv_cache_free(lethe_kv_cache *c) {
  if (!c) return;
  if (c->k) c->ops->release(c->k);
  free(c);
}
