/* model/workspace.c: the activation arena. Every buffer a forward and backward pass touches is
 * carved out of one allocation whose size is computed once from the config, the adapter and the
 * largest batch; nothing is allocated inside a step. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/error.h"

typedef struct {
  char *base; /* NULL while only counting */
  size_t off;
} carver;

static void *take(carver *cv, size_t bytes) {
  size_t at = (cv->off + 63) & ~(size_t)63;
  cv->off = at + bytes;
  return cv->base ? cv->base + at : NULL;
}
#define TAKE_F(cv, n) ((float *)take(cv, sizeof(float) * (size_t)(n)))
#define TAKE_I(cv, n) ((int *)take(cv, sizeof(int) * (size_t)(n)))

static int head_chunk_for(const lethe_config *c, int max_tokens) {
  /* At most ~16M floats (64 MB) of logits per buffer (GEMMs of a few hundred rows run near the
   * sgemm peak; fewer rows do not), never fewer than 8 rows. */
  long chunk = (16L << 20) / c->vocab_size;
  if (chunk < 8) chunk = 8;
  if (chunk > max_tokens) chunk = max_tokens;
  return (int)chunk;
}

/* Floats of attention scratch each thread needs: two tiles of LETHE_ATTN_BLOCK rows against the
 * longest possible sequence. */
static size_t attn_per_thread(const lethe_config *c, int N) {
  int longest = N < c->max_seq_len ? N : c->max_seq_len;
  return (size_t)2 * LETHE_ATTN_BLOCK * (size_t)longest;
}

static void carve(lethe_workspace *ws, const lethe_config *c, const lethe_lora *lora, int N, lethe_ws_kind kind,
    int chunk, int threads, carver *cv) {
  int d = c->dim, q = lethe_qdim(c), qkv = lethe_qkvdim(c), F = c->hidden_dim, H = c->n_heads;
  int r = lora ? lora->cfg.rank : 0;
  int full = kind == LETHE_WS_TRAIN, recompute = kind == LETHE_WS_RECOMPUTE;
  int sets = full ? c->n_layers : 1;
  float *shared_x = kind != LETHE_WS_INFER ? NULL : TAKE_F(cv, (size_t)N * d);
  float *x_ins = recompute ? TAKE_F(cv, (size_t)c->n_layers * N * d) : NULL; /* (L, N, d) block inputs */
  for (int l = 0; l < sets; l++) {
    lethe_layer_acts a;
    memset(&a, 0, sizeof a);
    a.x_in = full ? TAKE_F(cv, (size_t)N * d) : shared_x;
    a.ln1 = TAKE_F(cv, (size_t)N * d);
    a.rstd1 = TAKE_F(cv, N);
    a.qkv = TAKE_F(cv, (size_t)N * qkv);
    a.clip_mask = c->clip_qkv > 0 ? (uint8_t *)take(cv, (size_t)N * qkv) : NULL;
    a.att = TAKE_F(cv, (size_t)N * q);
    a.lse = TAKE_F(cv, (size_t)N * H);
    a.x_mid = kind != LETHE_WS_INFER ? TAKE_F(cv, (size_t)N * d) : shared_x;
    a.ln2 = TAKE_F(cv, (size_t)N * d);
    a.rstd2 = TAKE_F(cv, N);
    a.gu = TAKE_F(cv, (size_t)N * 2 * F);
    for (int p = 0; p < LETHE_NPROJ; p++)
      if (lora && (lora->cfg.targets & (1u << p))) a.u[p] = TAKE_F(cv, (size_t)N * r);
    if (ws) ws->layers[l] = a;
  }
  if (ws && !full)
    for (int l = 1; l < c->n_layers; l++) ws->layers[l] = ws->layers[0];
  if (ws && recompute)
    for (int l = 0; l < c->n_layers; l++) ws->layers[l].x_in = x_ins + (size_t)l * N * d;
  float *x_final = kind != LETHE_WS_INFER ? TAKE_F(cv, (size_t)N * d) : shared_x;
  float *lnf = TAKE_F(cv, (size_t)N * d);
  float *rstdf = TAKE_F(cv, N);
  float *h = TAKE_F(cv, (size_t)N * F);
  float *xrows = TAKE_F(cv, (size_t)N * d);
  float *head_scratch = TAKE_F(cv, (size_t)chunk * c->vocab_size * 2);
  size_t apt = attn_per_thread(c, N);
  float *attn = TAKE_F(cv, apt * (size_t)threads);
  lethe_ws_dev dev;
  dev.tokens = TAKE_I(cv, N), dev.pos = TAKE_I(cv, N), dev.slot = TAKE_I(cv, N), dev.rows = TAKE_I(cv, N);
  dev.row_target = TAKE_I(cv, N), dev.start = TAKE_I(cv, (size_t)N + 1);
  dev.logp = TAKE_F(cv, N), dev.lse = TAKE_F(cv, N), dev.kl = TAKE_F(cv, N);
  dev.fixed = TAKE_F(cv, N), dev.sig = TAKE_F(cv, N), dev.ref = TAKE_F(cv, N), dev.klw = TAKE_F(cv, N);
  dev.pw = TAKE_F(cv, N);
  dev.tgt = TAKE_I(cv, N);
  float *dx = NULL, *dln = NULL, *dqkv = NULL, *datt = NULL, *dgu = NULL, *dh = NULL, *du = NULL, *dlnf = NULL,
        *dxrows = NULL;
  if (kind != LETHE_WS_INFER) {
    dx = TAKE_F(cv, (size_t)N * d);
    dln = TAKE_F(cv, (size_t)N * d);
    dqkv = TAKE_F(cv, (size_t)N * qkv);
    datt = TAKE_F(cv, (size_t)N * q);
    dgu = TAKE_F(cv, (size_t)N * 2 * F);
    dh = TAKE_F(cv, (size_t)N * F);
    du = r ? TAKE_F(cv, (size_t)N * r) : NULL;
    dlnf = TAKE_F(cv, (size_t)N * d);
    dxrows = TAKE_F(cv, (size_t)N * d);
  }
  if (!ws) return;
  ws->x_final = x_final;
  ws->lnf = lnf;
  ws->rstdf = rstdf;
  ws->h = h;
  ws->xrows = xrows;
  ws->head_scratch = head_scratch;
  ws->head_chunk = chunk;
  ws->attn.buf = attn;
  ws->attn.per_thread = apt;
  ws->attn.threads = threads;
  ws->dev = dev;
  ws->dx = dx;
  ws->dln = dln;
  ws->dqkv = dqkv;
  ws->datt = datt;
  ws->dgu = dgu;
  ws->dh = dh;
  ws->du = du;
  ws->dlnf = dlnf;
  ws->dxrows = dxrows;
}

/* The host side: index arrays built on the host and per-row values read back. */
static void carve_host(lethe_workspace *ws, int N, carver *cv) {
  int *pos = TAKE_I(cv, N), *seq_start = TAKE_I(cv, (size_t)N + 1), *rows = TAKE_I(cv, N), *row_target = TAKE_I(cv, N);
  float *logp = TAKE_F(cv, N), *lse = TAKE_F(cv, N), *kl = TAKE_F(cv, N);
  if (!ws) return;
  ws->pos = pos;
  ws->seq_start = seq_start;
  ws->rows = rows;
  ws->row_target = row_target;
  ws->logp = logp;
  ws->lse_rows = lse;
  ws->kl_rows = kl;
}

size_t lethe_workspace_bytes(
    const lethe_config *c, const lethe_lora *lora, int max_tokens, lethe_ws_kind kind, int head_chunk, int threads) {
  carver cv = {NULL, 0};
  carve(NULL, c, lora, max_tokens, kind, head_chunk, threads, &cv);
  return cv.off;
}

size_t lethe_workspace_bf16_operand(const lethe_config *c, int max_tokens) {
  /* (N, K) with K the widest input of a projection, forward or backward: d, qkv (dq, dk, dv into
   * the stacked weight) or 2F (d gate, d up) */
  int K = lethe_qkvdim(c);
  if (2 * c->hidden_dim > K) K = 2 * c->hidden_dim;
  if (c->dim > K) K = c->dim;
  return (size_t)max_tokens * K;
}

/* The sizes depend on the rows only (sequence starts are (N + 1)), not on the sequence count. */
size_t lethe_workspace_plan(const lethe_config *c, const lethe_lora *lora, int max_tokens, lethe_ws_kind kind) {
  return lethe_workspace_bytes(c, lora, max_tokens, kind, head_chunk_for(c, max_tokens), omp_get_max_threads());
}

lethe_status lethe_workspace_create(
    lethe_model *m, const lethe_lora *lora, int max_tokens, int max_seqs, lethe_ws_kind kind, lethe_workspace **out) {
  *out = NULL;
  const lethe_config *c = &m->cfg;
  if ((int)kind < LETHE_WS_INFER || kind > LETHE_WS_RECOMPUTE)
    return lethe_fail(LETHE_ERR_INVALID, "unknown workspace kind %d", (int)kind);
  if (max_tokens < 1 || max_seqs < 1 || max_seqs > max_tokens)
    return lethe_fail(LETHE_ERR_INVALID, "workspace needs 1 <= sequences (%d) <= tokens (%d)", max_seqs, max_tokens);
  int max_pos = max_tokens < c->max_seq_len ? max_tokens : c->max_seq_len;
  LETHE_TRY(lethe_model_rope_reserve(m, max_pos));
  int chunk = head_chunk_for(c, max_tokens);
  int threads = omp_get_max_threads();
  size_t bytes = lethe_workspace_bytes(c, lora, max_tokens, kind, chunk, threads);
  carver hc = {NULL, 0};
  carve_host(NULL, max_tokens, &hc);
  lethe_workspace *ws = calloc(1, sizeof *ws);
  if (!ws) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  ws->ops = m->ops;
  ws->layers = calloc((size_t)c->n_layers, sizeof *ws->layers);
  ws->arena = m->ops->alloc(bytes);
  ws->host = calloc(1, hc.off + 64);
  if (!ws->layers || !ws->arena || !ws->host) {
    lethe_workspace_free(ws);
    return lethe_fail(LETHE_ERR_NOMEM, "cannot allocate %zu bytes of activations (%d tokens)", bytes, max_tokens);
  }
  ws->arena_bytes = bytes;
  /* the backend's own scratch, made now so that no step allocates */
  lethe_status rs = m->ops->reserve_attention(max_pos, c->n_kv_heads);
  if (!rs && m->wbf16) {
    size_t n = lethe_workspace_bf16_operand(c, max_tokens);
    /* a bf16 head's dX = G W rounds G (chunk, V) */
    if (m->head16 && (size_t)chunk * c->vocab_size > n) n = (size_t)chunk * c->vocab_size;
    rs = m->ops->reserve_bf16(n);
  }
  if (rs) {
    lethe_workspace_free(ws);
    return rs;
  }
  ws->max_tokens = max_tokens;
  ws->max_seqs = max_seqs;
  ws->kind = kind;
  carver cv = {ws->arena, 0};
  carve(ws, c, lora, max_tokens, kind, chunk, threads, &cv);
  carver hv = {ws->host, 0};
  carve_host(ws, max_tokens, &hv);
  *out = ws;
  return LETHE_OK;
}

void lethe_workspace_free(lethe_workspace *ws) {
  if (!ws) return;
  if (ws->arena) ws->ops->release(ws->arena);
  free(ws->host);
  free(ws->layers);
  free(ws);
}
