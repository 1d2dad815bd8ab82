/* lethe/comm.h: the collectives a data-parallel run needs, as a table of functions the caller
 * provides. The library never initialises MPI (or any process-wide state): the program (the CLI)
 * does, fills a lethe_comm and passes it in the options. NULL or lethe_comm_single() is one rank.
 * Every collective must be called by every rank in the same order (MPI's rule). */
#ifndef LETHE_COMM_H
#define LETHE_COMM_H

#include <stddef.h>

#include "lethe/status.h"

typedef struct lethe_comm lethe_comm;
struct lethe_comm {
  int rank, size;
  void *ctx; /* the implementation's (an MPI communicator) */
  /* in place, every rank ends with the element-wise sum */
  lethe_status (*allreduce_f32)(const lethe_comm *c, float *x, size_t n);  /* x: (n) */
  lethe_status (*allreduce_f64)(const lethe_comm *c, double *x, size_t n); /* x: (n) */
  /* in place: rank r's counts[r] floats at buf + displs[r] reach every rank; buf: (sum counts) */
  lethe_status (*allgatherv_f32)(const lethe_comm *c, float *buf, const int *counts, const int *displs);
  /* root's `bytes` bytes at buf reach every rank */
  lethe_status (*bcast)(const lethe_comm *c, void *buf, size_t bytes, int root);
  /* seconds spent in the collectives so far (for lethe bench) */
  double *comm_seconds;
  /* as allgatherv_f32 for bytes (records of any type): counts and displs in bytes; buf: (sum counts) */
  lethe_status (*allgatherv_bytes)(const lethe_comm *c, void *buf, const int *counts, const int *displs);
};

/* The single-rank communicator: rank 0 of 1, every collective a no-op. */
const lethe_comm *lethe_comm_single(void);

/* Helpers that treat NULL as the single rank. */
int lethe_comm_rank(const lethe_comm *c);
int lethe_comm_size(const lethe_comm *c);
lethe_status lethe_comm_allreduce_f32(const lethe_comm *c, float *x, size_t n);
lethe_status lethe_comm_allreduce_f64(const lethe_comm *c, double *x, size_t n);
lethe_status lethe_comm_allgatherv_f32(const lethe_comm *c, float *buf, const int *counts, const int *displs);
lethe_status lethe_comm_allgatherv_bytes(const lethe_comm *c, void *buf, const int *counts, const int *displs);
lethe_status lethe_comm_bcast(const lethe_comm *c, void *buf, size_t bytes, int root);
/* Rank r's share [*lo, *hi) of n items split in contiguous, nearly equal slices (the first n % size
 * ranks get one more). */
void lethe_comm_slice(const lethe_comm *c, int n, int *lo, int *hi);

#endif
