/* model/forward_bf16.c: compute as transformers runs a model loaded with torch_dtype=torch.bfloat16
 * on the CPU (lethe_model_set_dtype "bf16", for eval and generate): every weight rounded to bf16
 * (nearest, ties to even), and every tensor the torch model holds in bf16 rounded where torch
 * rounds it. Per block (Llama, Qwen2, Mistral; OLMo where it differs):
 *   n   = bf(w * bf(x * rsqrt(mean(x^2) + eps)))         RMSNorm in fp32, cast, then the bf16 weight
 *       = bf(layer_norm_fp32(x))                        OLMo's LayerNorm
 *   qkv = bf(n W^T + b)                                 a bf16 linear: fp32 sums, one rounding
 *         LoRA (PEFT keeps the adapter in fp32): bf(qkv + s B(A n)) in fp32
 *   q   = bf(bf(q c) + bf(rot(q) s)), c = bf(cos)       Llama's rotary casts cos/sin to bf16
 *       = bf(q cos + rot(q) sin)                        OLMo's stays fp32 and casts once
 *   att = bf(sum_j bf(e_j) v_j / sum_j e_j),            SDPA's CPU flash kernel: scores q.k * scale,
 *         e_j = exp(score_j - max)                      exp and sums in fp32, the weights bf16 for P V
 *   x   = bf(x + bf(att Wo^T))                          residual adds in bf16
 *   h   = bf(bf(silu(bf(g))) * bf(u)),  x = bf(x + bf(h Wd^T))
 * and the head's logits bf(lnf W^T), read in fp32 (.float() before the loss, generate's argmax).
 * The products run on the backend's GEMMs: operands are exact bf16 values, so fp32 sgemm and the
 * AVX512_BF16 engine (bf16 storage) give the same sums up to their order. CPU only (host memory). */
#include <math.h>
#include <string.h>

#include "model/model.h"
#include "util/bf16.h"
#include "util/error.h"

#define LETHE_BF16_MAX_HD 512 /* head size the bf16 attention holds on the stack */

void lethe_round_bf16(float *x, size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; i++) x[i] = lethe_bf16_round(x[i]);
}

/* y (N, d) = the norm of x (N, d) as the torch bf16 module computes it; rstd (N) */
static void norm_bf16(const lethe_model *m, float *y, float *rstd, const float *x, const float *w, int N) {
  const lethe_config *c = &m->cfg;
  int d = c->dim;
  if (c->arch == LETHE_ARCH_OLMO) {
    m->ops->layernorm(y, NULL, rstd, x, N, d, (float)c->norm_eps);
    lethe_round_bf16(y, (size_t)N * d);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int t = 0; t < N; t++) {
    const float *xr = x + (size_t)t * d;
    float *yr = y + (size_t)t * d;
    double ss = 0;
    for (int i = 0; i < d; i++) ss += (double)xr[i] * xr[i];
    float r = 1.0f / sqrtf((float)(ss / d) + (float)c->norm_eps);
    rstd[t] = r;
    for (int i = 0; i < d; i++) yr[i] = lethe_bf16_round(w[i] * lethe_bf16_round(xr[i] * r));
  }
}

/* y (N, out; stride ldy) = bf(y + s B(A x)) in fp32 (PEFT's fp32 adapter on a bf16 layer) */
static void lora_bf16(const lethe_ops *o, const lethe_lora *lora, int p, int layer, const float *x, int ldx, float *y,
    int ldy, float *u, int N) {
  int r = lora->cfg.rank, in = lora->in_dim[p], out = lora->out_dim[p];
  o->gemm(0, 1, N, r, in, 1.0f, x, ldx, lethe_lora_A(lora, p, layer), in, 0.0f, u, r);
  o->gemm(0, 1, N, out, r, lora->scale, u, r, lethe_lora_B(lora, p, layer), r, 1.0f, y, ldy);
  for (int t = 0; t < N; t++)
    for (int j = 0; j < out; j++) y[(size_t)t * ldy + j] = lethe_bf16_round(y[(size_t)t * ldy + j]);
}

static inline int adapted(const lethe_lora *lora, int p) { return lora && (lora->cfg.targets & (1u << p)); }

/* RoPE on n_heads heads of x (N, ld), rotate-half pairing; cos/sin (rope_len, hd/2) */
static void rope_bf16(const lethe_model *m, float *x, int N, int n_heads, int ld, const int *pos) {
  int hd = m->cfg.head_dim, half = hd / 2, olmo = m->cfg.arch == LETHE_ARCH_OLMO;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < N; t++)
    for (int h = 0; h < n_heads; h++) {
      float *v = x + (size_t)t * ld + (size_t)h * hd;
      const float *cs = m->rope_cos + (size_t)pos[t] * half, *sn = m->rope_sin + (size_t)pos[t] * half;
      for (int i = 0; i < half; i++) {
        float x1 = v[i], x2 = v[i + half];
        if (olmo) {
          v[i] = lethe_bf16_round(x1 * cs[i] - x2 * sn[i]);
          v[i + half] = lethe_bf16_round(x2 * cs[i] + x1 * sn[i]);
        } else {
          float c = lethe_bf16_round(cs[i]), s = lethe_bf16_round(sn[i]);
          v[i] = lethe_bf16_round(lethe_bf16_round(x1 * c) - lethe_bf16_round(x2 * s));
          v[i + half] = lethe_bf16_round(lethe_bf16_round(x2 * c) + lethe_bf16_round(x1 * s));
        }
      }
    }
}

/* y (n) = bf(x + r): a residual add of two bf16 tensors (y may be x: an inference workspace shares
 * one residual buffer) */
static void residual_bf16(float *y, const float *x, const float *r, size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; i++) y[i] = lethe_bf16_round(x[i] + r[i]);
}

/* out (H*hd) = attention of one query row q (H*hd) over n keys/values at k, v (row stride ld, KV
 * heads) as SDPA's CPU flash kernel computes it in bf16 (two passes: max, then exp, sum and P V) */
static void attn_row_bf16(
    float *out, const float *qr, const float *k, const float *v, size_t ld, int n, int H, int KV, int hd) {
  float scale = 1.0f / sqrtf((float)hd), acc[LETHE_BF16_MAX_HD];
  for (int h = 0; h < H; h++) {
    const float *qh = qr + (size_t)h * hd;
    int g = h / (H / KV);
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
      const float *kj = k + (size_t)j * ld + (size_t)g * hd;
      float sdot = 0;
      for (int i = 0; i < hd; i++) sdot += qh[i] * kj[i];
      sdot *= scale;
      mx = sdot > mx ? sdot : mx;
    }
    float sum = 0;
    for (int i = 0; i < hd; i++) acc[i] = 0;
    for (int j = 0; j < n; j++) {
      const float *kj = k + (size_t)j * ld + (size_t)g * hd, *vj = v + (size_t)j * ld + (size_t)g * hd;
      float sdot = 0;
      for (int i = 0; i < hd; i++) sdot += qh[i] * kj[i];
      float e = expf(sdot * scale - mx), eb = lethe_bf16_round(e);
      sum += e;
      for (int i = 0; i < hd; i++) acc[i] += eb * vj[i];
    }
    for (int i = 0; i < hd; i++) out[(size_t)h * hd + i] = lethe_bf16_round(acc[i] / sum);
  }
}

/* att (N, H*hd) for packed sequences (start, n_seq; keys are the rows' own k, v in qkv) or against
 * a KV cache (slot, pos); window > 0 keeps the last `window` positions */
static void attention_bf16(const lethe_model *m, float *att, const float *qkv, int ldq, const int *start, int n_seq,
    const lethe_kv_cache *cache, const float *kl, const float *vl, const int *slot, const int *pos, int N) {
  const lethe_config *c = &m->cfg;
  int q = lethe_qdim(c), kv = lethe_kvdim(c), H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim,
      win = c->sliding_window;
  (void)n_seq;
#pragma omp parallel for schedule(dynamic, 4)
  for (int t = 0; t < N; t++) {
    const float *k, *v;
    size_t ld;
    int n;
    if (cache) {
      size_t base = (size_t)slot[t] * cache->max_pos * kv;
      k = kl + base, v = vl + base, ld = (size_t)kv, n = pos[t] + 1;
    } else {
      int s = 0;
      while (start[s + 1] <= t) s++;
      k = qkv + (size_t)start[s] * ldq + q, v = k + kv, ld = (size_t)ldq, n = t - start[s] + 1;
    }
    int first = win > 0 && n > win ? n - win : 0;
    attn_row_bf16(att + (size_t)t * q, qkv + (size_t)t * ldq, k + first * ld, v + first * ld, ld, n - first, H, KV, hd);
  }
}

void lethe_block_forward_bf16(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, int l,
    const lethe_layer_acts *a, float *xout, const int *pos, int N, const int *start, int n_seq, lethe_kv_cache *cache,
    const int *slot, int fresh) {
  const lethe_config *c = &m->cfg;
  const lethe_ops *o = m->ops;
  const lethe_layer_weights *w = &m->layers[l];
  int d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), qkv = lethe_qkvdim(c), F = c->hidden_dim;
  int H = c->n_heads, KV = c->n_kv_heads;

  norm_bf16(m, a->ln1, a->rstd1, a->x_in, w->attn_norm, N);
  lethe_wgemm(o, 1, N, qkv, d, 1.0f, a->ln1, d, w->wqkv, w->wqkv16, d, 0.0f, a->qkv, qkv);
  if (w->bqkv) o->add_bias(a->qkv, w->bqkv, N, qkv, qkv);
  lethe_round_bf16(a->qkv, (size_t)N * qkv);
  if (adapted(lora, LETHE_PROJ_Q)) lora_bf16(o, lora, LETHE_PROJ_Q, l, a->ln1, d, a->qkv, qkv, a->u[LETHE_PROJ_Q], N);
  if (adapted(lora, LETHE_PROJ_K))
    lora_bf16(o, lora, LETHE_PROJ_K, l, a->ln1, d, a->qkv + q, qkv, a->u[LETHE_PROJ_K], N);
  if (adapted(lora, LETHE_PROJ_V))
    lora_bf16(o, lora, LETHE_PROJ_V, l, a->ln1, d, a->qkv + q + kv, qkv, a->u[LETHE_PROJ_V], N);
  /* clamp_ to a Python float on a bf16 tensor clamps to that number rounded to bf16 */
  if (c->clip_qkv > 0) o->clip(a->qkv, a->clip_mask, N, qkv, qkv, lethe_bf16_round((float)c->clip_qkv));
  rope_bf16(m, a->qkv, N, H, qkv, pos);
  rope_bf16(m, a->qkv + q, N, KV, qkv, pos);
  if (cache) {
    size_t per_layer = (size_t)cache->slots * cache->max_pos * cache->kvdim;
    float *kl = cache->k + (size_t)l * per_layer, *vl = cache->v + (size_t)l * per_layer;
    o->kv_store(kl, vl, a->qkv, qkv, q, kv, slot, pos, N, cache->max_pos);
    attention_bf16(m, a->att, a->qkv, qkv, start, n_seq, cache, kl, vl, slot, pos, N);
  } else {
    attention_bf16(m, a->att, a->qkv, qkv, start, n_seq, NULL, NULL, NULL, NULL, NULL, N);
  }
  lethe_round_bf16(a->att, (size_t)N * q);
  /* o_proj's output goes to ln1 (read for the last time above): x_in, x_mid and xout may be one
   * buffer */
  float *po = a->ln1; /* (N, d) */
  lethe_wgemm(o, 1, N, d, q, 1.0f, a->att, q, w->wo, w->wo16, q, 0.0f, po, d);
  if (w->bo) o->add_bias(po, w->bo, N, d, d);
  lethe_round_bf16(po, (size_t)N * d);
  if (adapted(lora, LETHE_PROJ_O)) lora_bf16(o, lora, LETHE_PROJ_O, l, a->att, q, po, d, a->u[LETHE_PROJ_O], N);
  residual_bf16(a->x_mid, a->x_in, po, (size_t)N * d);

  norm_bf16(m, a->ln2, a->rstd2, a->x_mid, w->mlp_norm, N);
  lethe_wgemm(o, 1, N, 2 * F, d, 1.0f, a->ln2, d, w->wgu, w->wgu16, d, 0.0f, a->gu, 2 * F);
  lethe_round_bf16(a->gu, (size_t)N * 2 * F);
  if (adapted(lora, LETHE_PROJ_GATE))
    lora_bf16(o, lora, LETHE_PROJ_GATE, l, a->ln2, d, a->gu, 2 * F, a->u[LETHE_PROJ_GATE], N);
  if (adapted(lora, LETHE_PROJ_UP))
    lora_bf16(o, lora, LETHE_PROJ_UP, l, a->ln2, d, a->gu + F, 2 * F, a->u[LETHE_PROJ_UP], N);
    /* h (N, F) = bf(bf(silu(g)) * u) */
#pragma omp parallel for schedule(static)
  for (int t = 0; t < N; t++) {
    const float *g = a->gu + (size_t)t * 2 * F, *u = g + F;
    float *h = ws->h + (size_t)t * F;
    for (int j = 0; j < F; j++) h[j] = lethe_bf16_round(lethe_bf16_round(g[j] / (1.0f + expf(-g[j]))) * u[j]);
  }
  /* down_proj's output goes to ln2 (read for the last time above) */
  float *pd = a->ln2; /* (N, d) */
  lethe_wgemm(o, 1, N, d, F, 1.0f, ws->h, F, w->wdown, w->wdown16, F, 0.0f, pd, d);
  lethe_round_bf16(pd, (size_t)N * d);
  if (adapted(lora, LETHE_PROJ_DOWN)) lora_bf16(o, lora, LETHE_PROJ_DOWN, l, ws->h, F, pd, d, a->u[LETHE_PROJ_DOWN], N);
  residual_bf16(xout, a->x_mid, pd, (size_t)N * d);
}

void lethe_final_norm_bf16(const lethe_model *m, lethe_workspace *ws, int N) {
  norm_bf16(m, ws->lnf, ws->rstdf, ws->x_final, m->final_norm, N);
}

lethe_status lethe_head_bf16(const lethe_model *m, lethe_workspace *ws, const lethe_batch *b) {
  const lethe_config *c = &m->cfg;
  const lethe_ops *o = m->ops;
  int V = c->vocab_size, n = ws->n_rows = lethe_batch_scored_rows(b, ws->rows, ws->row_target);
  for (int r0 = 0; r0 < n; r0 += ws->head_chunk) {
    int k = n - r0 < ws->head_chunk ? n - r0 : ws->head_chunk;
    o->gather_rows(ws->xrows, ws->lnf, ws->rows + r0, k, c->dim);
    /* the bf16 logits, then cross-entropy in fp32 on logits.float() */
    if (m->head16)
      o->logits_bf16w(ws->head_scratch, ws->xrows, m->head16, k, c->dim, V);
    else
      o->logits(ws->head_scratch, ws->xrows, m->head, k, c->dim, V);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < k; i++) {
      float *z = ws->head_scratch + (size_t)i * V;
      float mx = -INFINITY;
      for (int v = 0; v < V; v++) z[v] = lethe_bf16_round(z[v]), mx = z[v] > mx ? z[v] : mx;
      double s = 0;
      for (int v = 0; v < V; v++) s += exp((double)z[v] - mx);
      float lse = mx + (float)log(s);
      ws->lse_rows[r0 + i] = lse;
      ws->logp[r0 + i] = z[ws->row_target[r0 + i]] - lse;
      ws->kl_rows[r0 + i] = 0;
    }
  }
  return o->check();
}

lethe_status lethe_model_set_dtype(lethe_model *m, const char *dtype) {
  if (!strcmp(dtype, "fp32") || !strcmp(dtype, "float32")) {
    if (m->act_bf16)
      return lethe_fail(LETHE_ERR_INVALID, "the model already computes in bf16 (its weights are rounded)");
    return LETHE_OK;
  }
  if (strcmp(dtype, "bf16") && strcmp(dtype, "bfloat16"))
    return lethe_fail(LETHE_ERR_INVALID, "unknown dtype '%s' (fp32 or bf16)", dtype);
  if (m->act_bf16) return LETHE_OK;
  if (!m->ops->host_visible)
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "--dtype bf16 runs on the CPU (the %s backend has its own bf16 mode: --device %s)", m->ops->name, m->ops->name);
  if (m->cfg.head_dim > LETHE_BF16_MAX_HD)
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "--dtype bf16 supports heads of up to %d values, the model's have %d",
        LETHE_BF16_MAX_HD, m->cfg.head_dim);
  if (m->grads)
    return lethe_fail(LETHE_ERR_INVALID, "--dtype bf16 is for evaluation and generation, not full-parameter training");
  /* every weight, norms included, as torch_dtype=torch.bfloat16 loads it */
  lethe_round_bf16(m->params, m->n_params);
  if (m->ops == lethe_cpu_ops() && !m->wbf16 && lethe_cpu_bf16_engine()) {
    /* the AVX512_BF16 engine: the same sums (its operands are already bf16), twice the rate */
    LETHE_TRY(lethe_model_use_backend_ex(m, m->ops, 1));
  } else if (m->dev.params != m->params || m->wbf16) {
    LETHE_TRY(lethe_model_refresh_device(m));
  }
  m->act_bf16 = 1;
  return LETHE_OK;
}
