/* eval/seq_nll.h: the answer NLL of every sequence of a tokenised set (forward and head only,
 * batched), and means over a split: what `lethe eval` reports per row and `lethe unlearn` before and
 * after training. */
#ifndef LETHE_EVAL_SEQ_NLL_H
#define LETHE_EVAL_SEQ_NLL_H

#include "data/data.h"
#include "model/model.h"

/* sum[i] (summed NLL of sequence i's answer tokens) and count[i] (their number), for every
 * sequence of `d`, `batch` sequences at a time. lora may be NULL (the base model). */
lethe_status lethe_seq_nll(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, double *sum, int *count);
/* The same for n_sets sets in one pass (lethe_seq_pass): sum[j] and count[j] for sets[j]. */
lethe_status lethe_seq_nll_sets(lethe_model *m, const lethe_lora *lora, const lethe_tokset *const *sets, int n_sets,
    int batch, double *const *sum, int *const *count);

/* Token-weighted mean answer NLL of each split, from one pass over the set: mean[s] is the summed
 * NLL of split s's answer tokens over their number (s: LETHE_SPLIT_FORGET, LETHE_SPLIT_RETAIN), so
 * long answers weigh more than short ones; NAN for a split without answer tokens. */
lethe_status lethe_split_mean_nll(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, double mean[LETHE_SPLIT_COUNT]);

#endif
