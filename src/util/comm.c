/* util/comm.c: the single-rank communicator and the NULL-tolerant helpers of lethe/comm.h. The
 * MPI implementation lives in the program (cli/mpi_comm.c): the library never links MPI. */
#include "lethe/comm.h"

static lethe_status single_f32(const lethe_comm *c, float *x, size_t n) { return LETHE_OK; }
static lethe_status single_f64(const lethe_comm *c, double *x, size_t n) { return LETHE_OK; }
static lethe_status single_gather(const lethe_comm *c, float *buf, const int *counts, const int *displs) {
  return LETHE_OK;
}
static lethe_status single_bytes(const lethe_comm *c, void *buf, const int *counts, const int *displs) {
  return LETHE_OK;
}
static lethe_status single_bcast(const lethe_comm *c, void *buf, size_t bytes, int root) { return LETHE_OK; }

static const lethe_comm SINGLE = {.rank = 0,
    .size = 1,
    .ctx = NULL,
    .allreduce_f32 = single_f32,
    .allreduce_f64 = single_f64,
    .allgatherv_f32 = single_gather,
    .bcast = single_bcast,
    .comm_seconds = NULL,
    .allgatherv_bytes = single_bytes};

const lethe_comm *lethe_comm_single(void) { return &SINGLE; }

int lethe_comm_rank(const lethe_comm *c) { return c ? c->rank : 0; }
int lethe_comm_size(const lethe_comm *c) { return c ? c->size : 1; }

lethe_status lethe_comm_allreduce_f32(const lethe_comm *c, float *x, size_t n) {
  return c && c->size > 1 ? c->allreduce_f32(c, x, n) : LETHE_OK;
}
lethe_status lethe_comm_allreduce_f64(const lethe_comm *c, double *x, size_t n) {
  return c && c->size > 1 ? c->allreduce_f64(c, x, n) : LETHE_OK;
}
lethe_status lethe_comm_allgatherv_f32(const lethe_comm *c, float *buf, const int *counts, const int *displs) {
  return c && c->size > 1 ? c->allgatherv_f32(c, buf, counts, displs) : LETHE_OK;
}
lethe_status lethe_comm_allgatherv_bytes(const lethe_comm *c, void *buf, const int *counts, const int *displs) {
  return c && c->size > 1 ? c->allgatherv_bytes(c, buf, counts, displs) : LETHE_OK;
}
lethe_status lethe_comm_bcast(const lethe_comm *c, void *buf, size_t bytes, int root) {
  return c && c->size > 1 ? c->bcast(c, buf, bytes, root) : LETHE_OK;
}

void lethe_comm_slice(const lethe_comm *c, int n, int *lo, int *hi) {
  int W = lethe_comm_size(c), r = lethe_comm_rank(c), q = n / W, rem = n % W;
  *lo = r * q + (r < rem ? r : rem);
  *hi = *lo + q + (r < rem);
}
