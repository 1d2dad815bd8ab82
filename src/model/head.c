/* model/head.c: the classifier over the rows that carry a target. Rows are gathered (prompt
 * positions never reach the head), the fused classifier computes gold log-probs and, for training,
 * the gradient at the head's input, which is scattered back to its rows. Index arrays and
 * coefficients are built on the host and uploaded; the per-row results come back to the host. */
#include "model/model.h"
#include "util/error.h"

int lethe_batch_scored_rows(const lethe_batch *b, int *rows, int *targets) {
  int n = 0;
  for (int t = 0; t < b->n_tokens; t++)
    if (b->targets[t] >= 0) {
      rows[n] = t;
      targets[n++] = b->targets[t];
    }
  return n;
}

lethe_status lethe_head(
    const lethe_model *m, lethe_workspace *ws, const lethe_batch *b, const lethe_head_coef *coef, int grad) {
  const lethe_config *c = &m->cfg;
  const lethe_ops *o = m->ops;
  if (!b->targets) return lethe_fail(LETHE_ERR_INVALID, "the batch has no targets");
  if (grad && ws->kind == LETHE_WS_INFER) return lethe_fail(LETHE_ERR_INVALID, "gradients need a training workspace");
  if (m->act_bf16 && (grad || coef))
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "a bf16-compute model (--dtype bf16) evaluates; it does not train");
  if (m->act_bf16) return lethe_head_bf16(m, ws, b);
  int n = ws->n_rows = lethe_batch_scored_rows(b, ws->rows, ws->row_target);
  if (grad) o->zero(ws->dlnf, (size_t)b->n_tokens * c->dim);
  if (n == 0) return LETHE_OK;
  if (coef && coef->kl && !coef->ref_hidden)
    for (int i = 0; i < n; i++)
      if (!coef->tgt || coef->tgt[i] != LETHE_TGT_SELF)
        return lethe_fail(LETHE_ERR_INVALID, "a reference target distribution needs reference hidden rows");
  size_t nb = sizeof(float) * (size_t)n;
  o->upload(ws->dev.rows, ws->rows, sizeof(int) * (size_t)n);
  o->upload(ws->dev.row_target, ws->row_target, sizeof(int) * (size_t)n);
  /* The coefficients on the backend. */
  lethe_head_coef dev_coef, *dev_coefp = NULL;
  if (coef) {
    dev_coef = *coef;
    if (coef->fixed) o->upload(ws->dev.fixed, coef->fixed, nb), dev_coef.fixed = ws->dev.fixed;
    if (coef->sig) o->upload(ws->dev.sig, coef->sig, nb), dev_coef.sig = ws->dev.sig;
    if (coef->ref) o->upload(ws->dev.ref, coef->ref, nb), dev_coef.ref = ws->dev.ref;
    if (coef->kl) o->upload(ws->dev.klw, coef->kl, nb), dev_coef.kl = ws->dev.klw;
    if (coef->pw) o->upload(ws->dev.pw, coef->pw, nb), dev_coef.pw = ws->dev.pw;
    if (coef->tgt) o->upload(ws->dev.tgt, coef->tgt, sizeof(int) * (size_t)n), dev_coef.tgt = ws->dev.tgt;
    dev_coefp = &dev_coef;
  }
  o->gather_rows(ws->xrows, ws->lnf, ws->dev.rows, n, c->dim);
  float *dw = grad ? lethe_model_grad_of(m, m->head) : NULL;
  if (m->head16)
    o->classifier_bf16w(ws->dev.logp, ws->dev.lse, ws->dev.kl, grad ? ws->dxrows : NULL, ws->xrows, m->head16,
        ws->dev.row_target, n, c->dim, c->vocab_size, dev_coefp, ws->head_scratch, ws->head_chunk);
  else
    o->classifier(ws->dev.logp, ws->dev.lse, ws->dev.kl, grad ? ws->dxrows : NULL, dw, ws->xrows, m->head,
        ws->dev.row_target, n, c->dim, c->vocab_size, dev_coefp, ws->head_scratch, ws->head_chunk);
  o->download(ws->logp, ws->dev.logp, nb);
  o->download(ws->lse_rows, ws->dev.lse, nb);
  o->download(ws->kl_rows, ws->dev.kl, nb);
  if (grad) o->scatter_rows(ws->dlnf, ws->dxrows, ws->dev.rows, n, b->n_tokens, c->dim);
  return o->check();
}

lethe_status lethe_logits_rows(const lethe_model *m, lethe_workspace *ws, const int *rows, int n, float *logits) {
  const lethe_config *c = &m->cfg;
  const lethe_ops *o = m->ops;
  if (n > ws->max_tokens) return lethe_fail(LETHE_ERR_INVALID, "%d rows, workspace room for %d", n, ws->max_tokens);
  for (int r0 = 0; r0 < n; r0 += ws->head_chunk) {
    int k = n - r0 < ws->head_chunk ? n - r0 : ws->head_chunk;
    o->upload(ws->dev.rows, rows + r0, sizeof(int) * (size_t)k);
    o->gather_rows(ws->xrows, ws->lnf, ws->dev.rows, k, c->dim);
    if (m->head16)
      o->logits_bf16w(ws->head_scratch, ws->xrows, m->head16, k, c->dim, c->vocab_size);
    else
      o->logits(ws->head_scratch, ws->xrows, m->head, k, c->dim, c->vocab_size);
    o->download(logits + (size_t)r0 * c->vocab_size, ws->head_scratch, sizeof(float) * (size_t)k * c->vocab_size);
  }
  if (m->act_bf16) lethe_round_bf16(logits, (size_t)n * c->vocab_size); /* torch's bf16 logits, read as fp32 */
  return o->check();
}
