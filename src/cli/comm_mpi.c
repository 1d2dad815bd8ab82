/* cli/comm_mpi.c: lethe_comm over MPI (MPI_COMM_WORLD, errors returned, not fatal, so that a
 * failed collective becomes one message and an abort). Built only when CMake finds MPI
 * (LETHE_WITH_MPI); otherwise the single-rank stubs at the end. */
#include "cli/comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lethe/util.h"
#include "util/error.h"

#ifdef LETHE_WITH_MPI
#include <mpi.h>

static lethe_comm g_comm;
static double g_comm_s;
static int g_mpi_on;

static lethe_status mpi_check(int rc, const char *what) {
  if (rc == MPI_SUCCESS) return LETHE_OK;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return lethe_fail(LETHE_ERR_IO, "rank %d: MPI %s failed: %s", g_comm.rank, what, msg);
}

static lethe_status mpi_allreduce_f32(const lethe_comm *c, float *x, size_t n) {
  double t0 = lethe_now_s();
  int rc = MPI_SUCCESS;
  for (size_t off = 0; off < n && rc == MPI_SUCCESS; off += (size_t)1 << 30) { /* int counts */
    size_t k = n - off < ((size_t)1 << 30) ? n - off : ((size_t)1 << 30);
    rc = MPI_Allreduce(MPI_IN_PLACE, x + off, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  g_comm_s += lethe_now_s() - t0;
  return mpi_check(rc, "all-reduce (float)");
}

static lethe_status mpi_allreduce_f64(const lethe_comm *c, double *x, size_t n) {
  double t0 = lethe_now_s();
  int rc = MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  g_comm_s += lethe_now_s() - t0;
  return mpi_check(rc, "all-reduce (double)");
}

static lethe_status mpi_allgatherv_f32(const lethe_comm *c, float *buf, const int *counts, const int *displs) {
  double t0 = lethe_now_s();
  int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_FLOAT, MPI_COMM_WORLD);
  g_comm_s += lethe_now_s() - t0;
  return mpi_check(rc, "all-gather");
}

static lethe_status mpi_allgatherv_bytes(const lethe_comm *c, void *buf, const int *counts, const int *displs) {
  double t0 = lethe_now_s();
  int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_BYTE, MPI_COMM_WORLD);
  g_comm_s += lethe_now_s() - t0;
  return mpi_check(rc, "all-gather (bytes)");
}

static lethe_status mpi_bcast(const lethe_comm *c, void *buf, size_t bytes, int root) {
  double t0 = lethe_now_s();
  int rc = MPI_SUCCESS;
  for (size_t off = 0; off < bytes && rc == MPI_SUCCESS; off += (size_t)1 << 30) {
    size_t k = bytes - off < ((size_t)1 << 30) ? bytes - off : ((size_t)1 << 30);
    rc = MPI_Bcast((char *)buf + off, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
  }
  g_comm_s += lethe_now_s() - t0;
  return mpi_check(rc, "broadcast");
}

/* Started by a launcher? (mpirun's, PMIx's, PMI's or Slurm's variables) */
static int launched(void) {
  static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

int cli_comm_init(int *argc, char ***argv) {
  g_comm = *lethe_comm_single();
  if (!launched()) return 0;
  if (MPI_Init(argc, argv) != MPI_SUCCESS) {
    fprintf(stderr, "lethe: MPI_Init failed\n");
    return 1;
  }
  g_mpi_on = 1;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_comm.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_comm.size);
  g_comm.allreduce_f32 = mpi_allreduce_f32;
  g_comm.allreduce_f64 = mpi_allreduce_f64;
  g_comm.allgatherv_f32 = mpi_allgatherv_f32;
  g_comm.bcast = mpi_bcast;
  g_comm.allgatherv_bytes = mpi_allgatherv_bytes;
  g_comm.comm_seconds = &g_comm_s;
  return 0;
}

const lethe_comm *cli_comm(void) { return &g_comm; }

void cli_comm_before_report(void) {
  if (!g_mpi_on || g_comm.size <= 1 || g_comm.rank == 0) return;
  struct timespec ts = {2, 0};
  nanosleep(&ts, NULL);
}

int cli_comm_end(int rc) {
  if (!g_mpi_on) return rc;
  if (rc != 0 && g_comm.size > 1) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, rc);
  }
  MPI_Finalize();
  return rc;
}

#else /* no MPI in this build: one process */

int cli_comm_init(int *argc, char ***argv) { return 0; }
const lethe_comm *cli_comm(void) { return lethe_comm_single(); }
void cli_comm_before_report(void) {}
int cli_comm_end(int rc) { return rc; }

#endif
