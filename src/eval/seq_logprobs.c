/* eval/seq_logprobs.c: the log-probability of every scored token of a tokenised set (the answer
 * tokens of rows, every token after the first of documents), batched: what `lethe score` writes. */
#include "eval/seq_logprobs.h"

#include "eval/seq_pass.h"

typedef struct {
  float *logp;
  int *ids;
  size_t at; /* scored tokens written so far, in sequence order */
} logprobs_out;

static lethe_status keep_logprobs(void *ctx, const lethe_seq_batch *b) {
  logprobs_out *o = ctx;
  /* ws->logp holds the scored rows in batch order, which is sequence order */
  int r = 0;
  for (int t = 0; t < b->pb->n_tokens; t++)
    if (b->pb->targets[t] >= 0) {
      o->ids[o->at] = b->pb->targets[t];
      o->logp[o->at++] = b->ws->logp[r++];
    }
  return LETHE_OK;
}

lethe_status lethe_seq_logprobs(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, float *logp, int *ids) {
  logprobs_out o = {logp, ids, 0};
  return lethe_seq_pass(m, lora, &d, 1, batch, 1, keep_logprobs, &o);
}
