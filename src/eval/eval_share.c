/* eval/eval_share.c: the split of evaluation work over ranks and the gathers (see eval_share.h). */
#include "eval/eval_share.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

void lethe_eval_share(const lethe_comm *c, int rank, int n, int batch, int *lo, int *hi) {
  int W = lethe_comm_size(c);
  if (batch < 1) batch = 1;
  int nb = (n + batch - 1) / batch, q = nb / W, rem = nb % W;
  int b0 = rank * q + (rank < rem ? rank : rem), b1 = b0 + q + (rank < rem);
  *lo = b0 * batch < n ? b0 * batch : n;
  *hi = b1 * batch < n ? b1 * batch : n;
}

/* counts[r], displs[r]: rank r's share in bytes of records of `size` bytes (lens: per-record
 * multipliers of size, NULL: one each). */
static lethe_status layout(
    const lethe_comm *c, int n, int batch, size_t size, const int *lens, int **counts, int **displs) {
  int W = lethe_comm_size(c);
  *counts = malloc(sizeof(int) * (size_t)W);
  *displs = malloc(sizeof(int) * (size_t)W);
  if (!*counts || !*displs) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  size_t at = 0;
  for (int r = 0; r < W; r++) {
    int lo, hi;
    lethe_eval_share(c, r, n, batch, &lo, &hi);
    size_t k = 0;
    for (int i = lo; i < hi; i++) k += lens ? (size_t)lens[i] : 1;
    if ((at + k) * size > (size_t)INT_MAX)
      return lethe_fail(LETHE_ERR_UNSUPPORTED, "evaluation results of more than 2 GiB cannot be gathered over MPI");
    (*counts)[r] = (int)(k * size);
    (*displs)[r] = (int)(at * size);
    at += k;
  }
  return LETHE_OK;
}

lethe_status lethe_eval_gather(const lethe_comm *c, int n, int batch, void *x, size_t size) {
  if (lethe_comm_size(c) <= 1 || n == 0) return LETHE_OK;
  int *counts = NULL, *displs = NULL;
  lethe_status s = layout(c, n, batch, size, NULL, &counts, &displs);
  if (!s) s = lethe_comm_allgatherv_bytes(c, x, counts, displs);
  free(counts);
  free(displs);
  return s;
}

lethe_status lethe_eval_gather_ids(const lethe_comm *c, int n, int batch, int **ids, int *lens) {
  if (lethe_comm_size(c) <= 1 || n == 0) return LETHE_OK;
  LETHE_TRY(lethe_eval_gather(c, n, batch, lens, sizeof *lens));
  int *counts = NULL, *displs = NULL, lo, hi;
  lethe_eval_share(c, lethe_comm_rank(c), n, batch, &lo, &hi);
  size_t total = 0;
  for (int i = 0; i < n; i++) total += (size_t)lens[i];
  int *flat = malloc(sizeof(int) * (total ? total : 1));
  lethe_status s =
      flat ? layout(c, n, batch, sizeof(int), lens, &counts, &displs) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  size_t at = 0;
  for (int i = 0; i < n && !s; i++) {
    if (i >= lo && i < hi) memcpy(flat + at, ids[i], sizeof(int) * (size_t)lens[i]);
    at += (size_t)lens[i];
  }
  if (!s) s = lethe_comm_allgatherv_bytes(c, flat, counts, displs);
  at = 0;
  for (int i = 0; i < n && !s; i++) { /* the other ranks' rows, as copies of their ids */
    if (i < lo || i >= hi) {
      free(ids[i]);
      if (!(ids[i] = malloc(sizeof(int) * (size_t)(lens[i] ? lens[i] : 1)))) {
        s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
        break;
      }
      memcpy(ids[i], flat + at, sizeof(int) * (size_t)lens[i]);
    }
    at += (size_t)lens[i];
  }
  free(flat);
  free(counts);
  free(displs);
  return s;
}

void lethe_tokset_view(const lethe_tokset *d, int lo, int hi, lethe_tokset *v) {
  memset(v, 0, sizeof *v);
  v->n = hi - lo;
  v->offset = d->offset + lo; /* offsets index d->tokens, which the view shares */
  v->tokens = d->tokens;
  v->n_prompt = d->n_prompt + lo;
  v->split = d->split + lo;
  v->row = d->row + lo;
  v->max_len = d->max_len;
  for (int i = 0; i < v->n; i++) v->n_answer_tokens += lethe_tokset_answer_count(v, i);
}

lethe_status lethe_eval_same_inputs(const lethe_comm *c, const double *vals, const char *const *what, int n) {
  if (lethe_comm_size(c) <= 1) return LETHE_OK;
  double r0[16];
  if (n > 16) n = 16;
  memcpy(r0, vals, sizeof(double) * (size_t)n);
  LETHE_TRY(lethe_comm_bcast(c, r0, sizeof(double) * (size_t)n, 0));
  for (int i = 0; i < n; i++)
    if (r0[i] != vals[i])
      return lethe_fail(LETHE_ERR_INVALID,
          "rank %d reads %.0f %s where rank 0 reads %.0f: every rank must read the same evaluation inputs",
          lethe_comm_rank(c), vals[i], what[i], r0[i]);
  return LETHE_OK;
}
