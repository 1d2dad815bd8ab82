/* eval/seq_nll.c: per-sequence answer NLLs of a tokenised set. */
#include "eval/seq_nll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/seq_logprobs.h"
#include "util/error.h"

lethe_status lethe_seq_nll(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, double *sum, int *count) {
  if (d->n == 0) return LETHE_OK;
  /* the per-token log-probs (one batching loop, in seq_logprobs.c), summed per sequence */
  float *lp = malloc(sizeof(float) * (size_t)(d->n_answer_tokens + 1));
  int *ids = malloc(sizeof(int) * (size_t)(d->n_answer_tokens + 1));
  lethe_status s =
      lp && ids ? lethe_seq_logprobs(m, lora, d, batch, lp, ids) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  size_t at = 0;
  for (int i = 0; i < d->n && !s; i++) {
    double acc = 0;
    int n = lethe_tokset_answer_count(d, i);
    for (int k = 0; k < n; k++) acc -= lp[at++];
    sum[i] = acc;
    count[i] = n;
  }
  free(lp);
  free(ids);
  return s;
}

lethe_status lethe_split_mean_nll(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, double mean[LETHE_SPLIT_COUNT]) {
  for (int k = 0; k < LETHE_SPLIT_COUNT; k++) mean[k] = NAN;
  if (d->n == 0) return LETHE_OK;
  double *sum = malloc(sizeof(double) * (size_t)d->n);
  int *count = malloc(sizeof(int) * (size_t)d->n);
  lethe_status s =
      sum && count ? lethe_seq_nll(m, lora, d, batch, sum, count) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (!s) {
    double total[LETHE_SPLIT_COUNT] = {0};
    long n[LETHE_SPLIT_COUNT] = {0};
    for (int i = 0; i < d->n; i++)
      if (d->split[i] < LETHE_SPLIT_COUNT) {
        total[d->split[i]] += sum[i];
        n[d->split[i]] += count[i];
      }
    for (int k = 0; k < LETHE_SPLIT_COUNT; k++)
      if (n[k] > 0) mean[k] = total[k] / (double)n[k];
  }
  free(sum);
  free(count);
  return s;
}
