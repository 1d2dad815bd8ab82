/* eval/seq_pass.c: the batches of tokenised sets in order, forward then head (see seq_pass.h). */
#include "eval/seq_pass.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

lethe_status lethe_seq_pass_range(lethe_model *m, const lethe_lora *lora, lethe_workspace *ws, lethe_packed *pb,
    const lethe_tokset *d, int set, int lo, int hi, int batch, int head, lethe_seq_batch_fn fn, void *ctx) {
  if (batch < 1) batch = 1;
  int *ip = malloc(sizeof(int) * (size_t)batch);
  if (!ip) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_status s = LETHE_OK;
  for (int first = lo; first < hi && !s; first += batch) {
    int n = hi - first < batch ? hi - first : batch;
    for (int i = 0; i < n; i++) ip[i] = first + i;
    if ((s = lethe_packed_fill(pb, d, ip, n))) break;
    lethe_batch b = {
        .n_seq = n, .n_tokens = pb->n_tokens, .tokens = pb->tokens, .targets = pb->targets, .start = pb->start};
    if ((s = lethe_forward(m, lora, ws, &b))) break;
    if (head && (s = lethe_head(m, ws, &b, NULL, 0))) break;
    lethe_seq_batch sb = {.set = set, .d = d, .first = first, .n = n, .pb = pb, .batch = &b, .ws = ws};
    s = fn(ctx, &sb);
  }
  free(ip);
  return s;
}

lethe_status lethe_seq_pass(lethe_model *m, const lethe_lora *lora, const lethe_tokset *const *sets, int n_sets,
    int batch, int head, lethe_seq_batch_fn fn, void *ctx) {
  if (batch < 1) batch = 1;
  /* room for the largest batch of any set (a set smaller than `batch` needs only its own size) */
  int seqs = 0, tokens = 0;
  for (int j = 0; j < n_sets; j++) {
    int k = sets[j]->n < batch ? sets[j]->n : batch;
    if (k > seqs) seqs = k;
    if (k * sets[j]->max_len > tokens) tokens = k * sets[j]->max_len;
  }
  if (seqs == 0) return LETHE_OK;
  lethe_workspace *ws = NULL;
  lethe_packed pb;
  memset(&pb, 0, sizeof pb);
  lethe_status s = lethe_workspace_create(m, lora, tokens, seqs, 0, &ws);
  if (!s) s = lethe_packed_init(&pb, tokens, seqs);
  for (int j = 0; j < n_sets && !s; j++)
    s = lethe_seq_pass_range(m, lora, ws, &pb, sets[j], j, 0, sets[j]->n, batch, head, fn, ctx);
  lethe_packed_free(&pb);
  lethe_workspace_free(ws);
  return s;
}
