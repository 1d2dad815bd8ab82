/* cli/process.c: threads, the stop trap and test hooks (see process.h). */
#include "cli/process.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>

void cli_set_threads(int n, int blas) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  if (blas) openblas_set_num_threads(n);
}

static volatile sig_atomic_t g_stop = 0;
static void (*g_old_int)(int) = SIG_DFL, (*g_old_term)(int) = SIG_DFL;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

volatile sig_atomic_t *cli_stop_trap(void) {
  g_stop = 0;
  g_old_int = signal(SIGINT, on_signal);
  g_old_term = signal(SIGTERM, on_signal);
  return &g_stop;
}

void cli_stop_untrap(void) {
  signal(SIGINT, g_old_int);
  signal(SIGTERM, g_old_term);
}

int64_t cli_fault_nan_step(void) {
  const char *fault = getenv("LETHE_FAULT_NAN_STEP");
  return fault ? atoll(fault) : 0;
}
