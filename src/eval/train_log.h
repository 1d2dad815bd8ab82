/* eval/train_log.h: OUT/train_log.jsonl, one record per optimizer step of an unlearn or train run.
 * This module alone knows the format: the step loop writes a record through it
 * (unlearn/run_steps.c), a resumed run drops the records after its checkpoint's step through it
 * (unlearn/run.c), and `lethe report` checks and reads the file back through it. */
#ifndef LETHE_EVAL_TRAIN_LOG_H
#define LETHE_EVAL_TRAIN_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lethe/status.h"

typedef struct {
  int64_t step;              /* optimizer steps done, from 1 */
  int epoch;                 /* the epoch the step belongs to, from 1 */
  double loss;               /* the objective's total */
  double forget, retain, kl; /* its terms; NaN when a term had no rows in the step (written null) */
  double grad_norm, lr;
  int tokens; /* tokens in the step */
  double tokens_per_s, elapsed_s;
} lethe_train_log_rec;

typedef struct {
  lethe_train_log_rec *r; /* (n) */
  size_t n, cap;
} lethe_train_log;

/* Appends one record as one line and flushes it. */
lethe_status lethe_train_log_write(FILE *f, const char *path, const lethe_train_log_rec *r);
/* Keeps the records with step <= upto (a resumed run redoes the later ones); a missing file is
 * left missing. The file is replaced atomically. */
lethe_status lethe_train_log_trim(const char *path, int64_t upto);
/* Reads and checks every record: each non-blank line a JSON object whose "step" is an integer
 * above the previous line's and whose "loss" is a number (or null); a bad one is one error naming
 * the file and the line. Fields other than step and loss read as NaN (0 for epoch, tokens) when
 * absent or null. */
lethe_status lethe_train_log_read(const char *path, lethe_train_log *out);
void lethe_train_log_free(lethe_train_log *l);

#endif
