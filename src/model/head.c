/* model/head.c: the classifier over the rows that carry a target. Rows are gathered (prompt
 * positions never reach the head), the fused classifier computes gold log-probs and, for training,
 * the gradient at the head's input, which is scattered back to its rows. */
#include "model/model.h"
#include "util/error.h"

lethe_status lethe_head(const lethe_model *m, lethe_workspace *ws, const lethe_batch *b,
                        const lethe_head_coef *coef, int grad) {
  const lethe_config *c = &m->cfg;
  const lethe_ops *o = m->ops;
  if (!b->targets) return lethe_fail(LETHE_ERR_INVALID, "the batch has no targets");
  if (grad && !ws->keep) return lethe_fail(LETHE_ERR_INVALID, "gradients need a training workspace");
  int n = 0;
  for (int t = 0; t < b->n_tokens; t++)
    if (b->targets[t] >= 0) {
      ws->rows[n] = t;
      ws->row_target[n] = b->targets[t];
      n++;
    }
  ws->n_rows = n;
  if (grad) o->zero(ws->dlnf, (size_t)b->n_tokens * c->dim);
  if (n == 0) return LETHE_OK;
  if (coef && coef->kl && !coef->ref_hidden) return lethe_fail(LETHE_ERR_INVALID, "full-vocabulary KL needs reference hidden rows");
  o->gather_rows(ws->xrows, ws->lnf, ws->rows, n, c->dim);
  float *dw = (grad && m->grads) ? m->grads + (m->head - m->params) : NULL;
  o->classifier(ws->logp, ws->lse_rows, ws->kl_rows, grad ? ws->dxrows : NULL, dw, ws->xrows, m->head,
                ws->row_target, n, c->dim, c->vocab_size, coef, ws->head_scratch, ws->head_chunk);
  if (grad) o->scatter_rows(ws->dlnf, ws->dxrows, ws->rows, n, b->n_tokens, c->dim);
  return LETHE_OK;
}

lethe_status lethe_batch_nll(const lethe_model *m, const lethe_lora *lora, lethe_workspace *ws,
                             const lethe_batch *b, double *nll_sum, int *count) {
  LETHE_TRY(lethe_forward(m, lora, ws, b));
  LETHE_TRY(lethe_head(m, ws, b, NULL, 0));
  double s = 0;
  for (int i = 0; i < ws->n_rows; i++) s -= ws->logp[i];
  *nll_sum = s;
  *count = ws->n_rows;
  return LETHE_OK;
}
