/* eval/tok_stats.c: per-token statistics (log p of the target, mean and variance of log p over
 * the vocabulary, the greedy hit) of every scored position, from one forward pass per batch and
 * the classifier over head_chunk rows at a time (a (head_chunk, V) buffer, never (B, T, V)); and
 * each MIA document's attack scores from them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/attacks.h"
#include "eval/seq_pass.h"
#include "util/error.h"

void lethe_tok_stats_free(lethe_tok_stats *s) {
  free(s->off);
  free(s->logp);
  free(s->mu);
  free(s->var);
  free(s->hit);
  memset(s, 0, sizeof *s);
}

/* Sizes out's arrays for set d. */
static lethe_status stats_alloc(const lethe_tokset *d, lethe_tok_stats *out) {
  memset(out, 0, sizeof *out);
  out->n_seq = d->n;
  out->off = calloc((size_t)d->n + 1, sizeof *out->off);
  if (!out->off) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  for (int i = 0; i < d->n; i++) out->off[i + 1] = out->off[i] + lethe_tokset_answer_count(d, i);
  size_t total = (size_t)out->off[d->n];
  out->logp = malloc(sizeof(double) * (total ? total : 1));
  out->mu = malloc(sizeof(double) * (total ? total : 1));
  out->var = malloc(sizeof(double) * (total ? total : 1));
  out->hit = malloc(total ? total : 1);
  if (!out->logp || !out->mu || !out->var || !out->hit) {
    lethe_tok_stats_free(out);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  return LETHE_OK;
}

typedef struct {
  lethe_model *m;
  lethe_tok_stats *out; /* (sets) */
  int *rows, *tgt;      /* (largest batch's tokens) */
  float *z;             /* (head_chunk, V) logits, allocated with the first batch */
} stats_pass;

/* One forwarded batch: the classifier over its scored rows, head_chunk rows at a time. */
static lethe_status keep_stats(void *ctx, const lethe_seq_batch *b) {
  stats_pass *p = ctx;
  lethe_tok_stats *out = &p->out[b->set];
  int V = lethe_model_config(p->m)->vocab_size, chunk = b->ws->head_chunk;
  if (!p->z && !(p->z = malloc(sizeof(float) * (size_t)chunk * (size_t)V)))
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  const lethe_packed *pb = b->pb;
  int n = lethe_batch_scored_rows(b->batch, p->rows, p->tgt);
  if (n != pb->answer_off[b->n] || n != out->off[b->first + b->n] - out->off[b->first])
    return lethe_fail(LETHE_ERR_INVALID, "internal: %d scored rows, the batch says %d", n, pb->answer_off[b->n]);
  size_t base = (size_t)out->off[b->first]; /* the batch's rows are consecutive in `out` */
  for (int r0 = 0; r0 < n; r0 += chunk) {
    int kk = n - r0 < chunk ? n - r0 : chunk;
    LETHE_TRY(lethe_logits_rows(p->m, b->ws, p->rows + r0, kk, p->z));
    const float *z = p->z;
    const int *tgt = p->tgt + r0;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < kk; r++) {
      int am;
      size_t o = base + (size_t)(r0 + r);
      lethe_row_stats(z + (size_t)r * V, V, tgt[r], &out->logp[o], &out->mu[o], &out->var[o], &am);
      out->hit[o] = am == tgt[r];
    }
  }
  return LETHE_OK;
}

lethe_status lethe_tok_stats_compute_sets(lethe_model *m, const lethe_lora *lora, const lethe_tokset *const *sets,
    int n_sets, int batch, lethe_tok_stats *out) {
  for (int j = 0; j < n_sets; j++) memset(&out[j], 0, sizeof out[j]);
  if (batch < 1) batch = 1;
  size_t cap = 1;
  lethe_status s = LETHE_OK;
  for (int j = 0; j < n_sets && !s; j++) {
    s = stats_alloc(sets[j], &out[j]);
    int k = sets[j]->n < batch ? sets[j]->n : batch;
    if ((size_t)k * (size_t)sets[j]->max_len > cap) cap = (size_t)k * (size_t)sets[j]->max_len;
  }
  stats_pass p = {.m = m, .out = out, .rows = malloc(sizeof(int) * cap), .tgt = malloc(sizeof(int) * cap)};
  if (!s && (!p.rows || !p.tgt)) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (!s) s = lethe_seq_pass(m, lora, sets, n_sets, batch, 0, keep_stats, &p);
  free(p.z);
  free(p.rows);
  free(p.tgt);
  if (s)
    for (int j = 0; j < n_sets; j++) lethe_tok_stats_free(&out[j]);
  return s;
}

lethe_status lethe_tok_stats_compute(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, lethe_tok_stats *out) {
  return lethe_tok_stats_compute_sets(m, lora, &d, 1, batch, out);
}

lethe_status lethe_doc_scores_from(const lethe_tok_stats *ts, const lethe_tokset *d, const lethe_rowset *docs, double k,
    const double *base_sum, const int *base_cnt, lethe_doc_scores *out) {
  memset(out, 0, sizeof *out);
  int ref = base_sum != NULL; /* the Reference attack: the adapter-off model's loss beside */
  size_t n = (size_t)d->n;
  out->n = n;
  lethe_status s = LETHE_OK;
  for (int a = 0; a < LETHE_ATK_COUNT && !s; a++) {
#ifndef LETHE_WITH_ZLIB
    if (a == LETHE_ATK_ZLIB) continue;
#endif
    if (a == LETHE_ATK_REF && !ref) continue;
    if (!(out->score[a] = malloc(sizeof(double) * (n ? n : 1)))) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n && !s; i++) {
    int o = ts->off[i], len = ts->off[i + 1] - ts->off[i];
    double loss = lethe_score_loss(ts->logp + o, len);
    out->score[LETHE_ATK_LOSS][i] = loss;
    out->score[LETHE_ATK_MINK][i] = lethe_score_mink(ts->logp + o, len, k);
    out->score[LETHE_ATK_MINKPP][i] = lethe_score_minkpp(ts->logp + o, ts->mu + o, ts->var + o, len, k);
    if (out->score[LETHE_ATK_ZLIB]) {
      const lethe_row *r = &docs->rows[d->row[i]];
      size_t zl = 0;
      s = lethe_zlib_length(r->output, r->output_len, &zl);
      out->score[LETHE_ATK_ZLIB][i] = loss / (double)zl;
    }
    if (ref) out->score[LETHE_ATK_REF][i] = loss - (base_cnt[i] > 0 ? base_sum[i] / base_cnt[i] : NAN);
  }
  if (s) lethe_doc_scores_free(out);
  return s;
}

void lethe_seq_nll_mem(const lethe_tok_stats *ts, double *nll, double *em, double *es) {
  for (int i = 0; i < ts->n_seq; i++) {
    int o = ts->off[i], len = ts->off[i + 1] - ts->off[i];
    nll[i] = lethe_score_loss(ts->logp + o, len);
    em[i] = lethe_exact_memorization(ts->hit + o, len);
    es[i] = lethe_extraction_strength(ts->hit + o, len);
  }
}
