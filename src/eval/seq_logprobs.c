/* eval/seq_logprobs.c: the log-probability of every scored token of a tokenised set (the answer
 * tokens of rows, every token after the first of documents), batched: what `lethe score` writes. */
#include "eval/seq_logprobs.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

lethe_status lethe_seq_logprobs(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, float *logp, int *ids) {
  if (d->n == 0) return LETHE_OK;
  if (batch > d->n) batch = d->n;
  if (batch < 1) batch = 1;
  lethe_workspace *ws = NULL;
  lethe_packed pb;
  memset(&pb, 0, sizeof pb);
  int *idx = malloc(sizeof(int) * (size_t)batch);
  lethe_status s = idx ? lethe_workspace_create(m, lora, batch * d->max_len, batch, 0, &ws)
                       : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (!s) s = lethe_packed_init(&pb, batch * d->max_len, batch);
  size_t at = 0; /* scored tokens written so far, in sequence order */
  for (int first = 0; first < d->n && !s; first += batch) {
    int k = d->n - first < batch ? d->n - first : batch;
    for (int i = 0; i < k; i++) idx[i] = first + i;
    if ((s = lethe_packed_fill(&pb, d, idx, k))) break;
    lethe_batch b = {
        .n_seq = k, .n_tokens = pb.n_tokens, .tokens = pb.tokens, .targets = pb.targets, .start = pb.start};
    if ((s = lethe_forward(m, lora, ws, &b))) break;
    if ((s = lethe_head(m, ws, &b, NULL, 0))) break;
    /* ws->logp holds the scored rows in batch order, which is sequence order */
    int r = 0;
    for (int t = 0; t < pb.n_tokens; t++)
      if (pb.targets[t] >= 0) {
        ids[at] = pb.targets[t];
        logp[at++] = ws->logp[r++];
      }
  }
  free(idx);
  lethe_packed_free(&pb);
  lethe_workspace_free(ws);
  return s;
}
