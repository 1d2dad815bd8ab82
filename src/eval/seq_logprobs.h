/* eval/seq_logprobs.h: per-token log-probabilities of a tokenised set (see seq_logprobs.c). */
#ifndef LETHE_EVAL_SEQ_LOGPROBS_H
#define LETHE_EVAL_SEQ_LOGPROBS_H

#include "data/data.h"
#include "model/model.h"

/* For every sequence of d in order, each scored token's id (ids) and log-probability under the
 * model (logp), d->n_answer_tokens of each; sequence i's are the lethe_tokset_answer_count(d, i)
 * after those of sequences before it. `batch` sequences per forward pass. lora may be NULL. */
lethe_status lethe_seq_logprobs(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, float *logp, int *ids);

#endif
