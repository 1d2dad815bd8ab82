/* eval/eval_share.h: an evaluation's work over the ranks of a data-parallel job (lethe/comm.h).
 * Items (rows, documents) go in whole batches of `batch`, rank r a contiguous run of batches, so
 * that every batch is the batch one process computes (same sequences, same order): the gathered
 * results are bit-identical to one process's. NULL or one rank: everything is rank 0's. */
#ifndef LETHE_EVAL_SHARE_H
#define LETHE_EVAL_SHARE_H

#include <stddef.h>

#include "data/data.h"
#include "lethe/comm.h"

/* Rank `rank`'s items [*lo, *hi) of n (batches of `batch`, split in nearly equal runs). */
void lethe_eval_share(const lethe_comm *c, int rank, int n, int batch, int *lo, int *hi);
/* x: (n) records of `size` bytes with this rank's share filled; on return every rank holds all. */
lethe_status lethe_eval_gather(const lethe_comm *c, int n, int batch, void *x, size_t size);
/* ids[i] (lens[i] ints) filled for this rank's share; on return every rank holds all (malloc'ed). */
lethe_status lethe_eval_gather_ids(const lethe_comm *c, int n, int batch, int **ids, int *lens);
/* The sequences [lo, hi) of d as a tokenised set that borrows d's arrays (never freed). */
void lethe_tokset_view(const lethe_tokset *d, int lo, int hi, lethe_tokset *v);
/* Every rank must read the same inputs: each compares its counts with rank 0's (one message,
 * from the rank that differs). what[i] names vals[i]. */
lethe_status lethe_eval_same_inputs(const lethe_comm *c, const double *vals, const char *const *what, int n);

#endif
