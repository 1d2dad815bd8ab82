/* eval/seq_pass.h: the one loop over the batches of tokenised sets, in order: pack `batch`
 * sequences, forward (with an adapter or without), the head without coefficients when asked; what
 * is kept of each batch is the caller's callback. The answer log-probs (seq_logprobs.c), the token
 * statistics of the attacks (tok_stats.c) and the trainer's reference cache (unlearn/trainer.c)
 * are each a callback on it. */
#ifndef LETHE_EVAL_SEQ_PASS_H
#define LETHE_EVAL_SEQ_PASS_H

#include "data/data.h"
#include "model/model.h"

/* One batch of a pass, after its forward (and head). */
typedef struct {
  int set;                  /* which of the pass's sets (0 for lethe_seq_pass_range) */
  const lethe_tokset *d;    /* that set */
  int first, n;             /* the batch: sequences first .. first + n - 1 of d */
  const lethe_packed *pb;   /* the packed batch: pb->targets[t] >= 0 on its scored rows */
  const lethe_batch *batch; /* the batch the model ran, over pb's buffers */
  lethe_workspace *ws;      /* after the forward; with the head, ws->logp (ws->n_rows): the log-prob of each
                               scored row, in row order, which is sequence order */
} lethe_seq_batch;

typedef lethe_status (*lethe_seq_batch_fn)(void *ctx, const lethe_seq_batch *b);

/* Sequences [lo, hi) of d, `batch` at a time (the last batch smaller), in the caller's workspace
 * and packed buffers (room for `batch` sequences of d->max_len tokens): packed, forwarded with
 * lora (NULL: the base model), with `head` the head without coefficients, then fn(ctx, batch).
 * `set` is passed through to fn. Allocates only the batch's index list. */
lethe_status lethe_seq_pass_range(lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, lethe_packed *pb,
    const lethe_tokset *d, int set, int lo, int hi, int batch, int head, lethe_seq_batch_fn fn, void *ctx);

/* Every sequence of sets[0..n_sets), one set after the other, through one workspace and one packed
 * buffer sized for the largest batch. A batch never holds sequences of two sets: each sequence is
 * forwarded in the batch a pass over its set alone would put it in, so its numbers are the same. */
lethe_status lethe_seq_pass(lethe_model *m, const lethe_lora *lora, const lethe_tokset *const *sets, int n_sets,
    int batch, int head, lethe_seq_batch_fn fn, void *ctx);

#endif
