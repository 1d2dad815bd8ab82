/* eval/seq_nll.c: per-sequence answer NLLs of a tokenised set. */
#include "eval/seq_nll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/seq_pass.h"
#include "util/error.h"

typedef struct {
  double *const *sum;
  int *const *count;
} nll_out;

static lethe_status keep_nll(void *ctx, const lethe_seq_batch *b) {
  const nll_out *o = ctx;
  /* ws->logp: the scored rows in sequence order, lethe_tokset_answer_count of each */
  const float *lp = b->ws->logp;
  for (int i = b->first; i < b->first + b->n; i++) {
    double acc = 0;
    int n = lethe_tokset_answer_count(b->d, i);
    for (int k = 0; k < n; k++) acc -= *lp++;
    o->sum[b->set][i] = acc;
    o->count[b->set][i] = n;
  }
  return LETHE_OK;
}

lethe_status lethe_seq_nll_sets(lethe_model *m, const lethe_lora *lora, const lethe_tokset *const *sets, int n_sets,
    int batch, double *const *sum, int *const *count) {
  nll_out o = {sum, count};
  return lethe_seq_pass(m, lora, sets, n_sets, batch, 1, keep_nll, &o);
}

lethe_status lethe_seq_nll(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, double *sum, int *count) {
  return lethe_seq_nll_sets(m, lora, &d, 1, batch, &sum, &count);
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
