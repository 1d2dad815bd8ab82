/* cli/process.h: the process-wide state the library never touches, set by the CLI: the OpenMP and
 * OpenBLAS thread counts, the SIGINT/SIGTERM trap that asks a run to stop, and the test hooks read
 * from the environment. The library receives each through its options structs. */
#ifndef LETHE_CLI_PROCESS_H
#define LETHE_CLI_PROCESS_H

#include <signal.h>
#include <stdint.h>

/* Sets OpenMP's thread count to n, and OpenBLAS's too when blas != 0 (n <= 0: leaves the
 * defaults). */
void cli_set_threads(int n, int blas);

/* Traps SIGINT and SIGTERM until cli_stop_untrap: they set the returned flag (cleared here) instead
 * of ending the process; a training run given the flag checkpoints and stops at its next step. */
volatile sig_atomic_t *cli_stop_trap(void);
/* Restores the handlers cli_stop_trap replaced. */
void cli_stop_untrap(void);

/* LETHE_FAULT_NAN_STEP=N (tests only): the step whose gradient a run poisons, to exercise the NaN
 * stop; 0 when unset. */
int64_t cli_fault_nan_step(void);

#endif
