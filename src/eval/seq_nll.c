/* eval/seq_nll.c: per-sequence answer NLLs of a tokenised set. */
#include "eval/seq_nll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

lethe_status lethe_seq_nll(lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, double *sum,
                           int *count) {
  if (d->n == 0) return LETHE_OK;
  if (batch > d->n) batch = d->n;
  if (batch < 1) batch = 1;
  lethe_workspace *ws = NULL;
  lethe_packed pb;
  memset(&pb, 0, sizeof pb);
  int *idx = malloc(sizeof(int) * (size_t)batch);
  lethe_status s = idx ? lethe_workspace_create(m, lora, batch * d->max_len, batch, 0, &ws) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (!s) s = lethe_packed_init(&pb, batch * d->max_len, batch);
  for (int first = 0; first < d->n && !s; first += batch) {
    int k = d->n - first < batch ? d->n - first : batch;
    for (int i = 0; i < k; i++) idx[i] = first + i;
    if ((s = lethe_packed_fill(&pb, d, idx, k))) break;
    lethe_batch b = {.n_seq = k, .n_tokens = pb.n_tokens, .tokens = pb.tokens, .targets = pb.targets, .start = pb.start};
    if ((s = lethe_forward(m, lora, ws, &b))) break;
    if ((s = lethe_head(m, ws, &b, NULL, 0))) break;
    for (int i = 0; i < k; i++) {
      double acc = 0;
      for (int t = pb.answer_off[i]; t < pb.answer_off[i + 1]; t++) acc -= ws->logp[t];
      sum[first + i] = acc;
      count[first + i] = pb.answer_off[i + 1] - pb.answer_off[i];
    }
  }
  free(idx);
  lethe_packed_free(&pb);
  lethe_workspace_free(ws);
  return s;
}

lethe_status lethe_split_mean_nll(lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch,
                                  double mean[LETHE_SPLIT_COUNT]) {
  for (int k = 0; k < LETHE_SPLIT_COUNT; k++) mean[k] = NAN;
  if (d->n == 0) return LETHE_OK;
  double *sum = malloc(sizeof(double) * (size_t)d->n);
  int *count = malloc(sizeof(int) * (size_t)d->n);
  lethe_status s = sum && count ? lethe_seq_nll(m, lora, d, batch, sum, count) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
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
