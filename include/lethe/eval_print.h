/* lethe/eval_print.h: the scorer's terminal output: the official MMLU warning, the results table
 * (one column per result set) and the MMLU per-subject table. */
#ifndef LETHE_EVAL_PRINT_H
#define LETHE_EVAL_PRINT_H

#include <stdio.h>

#include "lethe/eval_mmlu.h"
#include "lethe/eval_score.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The official script's warning, printed when both MIA and MMLU are present and the MMLU average is
 * below 0.371 (75% of the base model's): "[WARNING] The MMLU average for the provided checkpoint is
 * below threshold. ..." */
void lethe_eval_print_mmlu_warning(FILE *fp);

/* A text table of the results: one column per result set; before may be NULL (one column). */
void lethe_eval_print_table(FILE *fp, const lethe_eval_results *before, const lethe_eval_results *after);
/* A table: one line per subject (accuracy, correct, total), then the micro-average. */
void lethe_mmlu_print_table(FILE *fp, const lethe_mmlu_set *set, const lethe_mmlu_tally *t);

#ifdef __cplusplus
}
#endif
#endif
