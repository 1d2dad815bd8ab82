/* cli/comm.h: the program's side of data parallelism. Under a launcher (mpirun, srun) and in a
 * build with MPI, main() initialises MPI and every subcommand that runs in parallel passes
 * cli_comm() into its options; the library only sees the lethe_comm table. Without MPI (or not
 * launched) cli_comm() is the single rank. */
#ifndef LETHE_CLI_COMM_H
#define LETHE_CLI_COMM_H

#include "lethe/comm.h"

/* Initialises MPI when the build has it and a launcher started this process; returns 0, or
 * non-zero after printing why MPI could not start. */
int cli_comm_init(int *argc, char ***argv);
const lethe_comm *cli_comm(void);
/* The end of the program: rc 0 finalises MPI; a failure aborts the whole job (MPI_Abort) so that
 * no rank waits forever for one that stopped. Returns rc. */
int cli_comm_end(int rc);
/* Before a failing rank prints its message: a rank other than 0 waits briefly, so that a failure
 * every rank sees (bad input) is reported once, by rank 0, whose abort ends the others first. */
void cli_comm_before_report(void);

#endif
