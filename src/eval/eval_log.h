/* eval/eval_log.h: the evaluations made while training: one record per evaluation (its position,
 * the task's scores and the selection score), written as OUT/eval_log.jsonl by `lethe unlearn` /
 * `lethe train` and read back by the report, the sweep and a resumed run. */
#ifndef LETHE_EVAL_EVAL_LOG_H
#define LETHE_EVAL_EVAL_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "lethe/eval_score.h"

typedef struct {
  int64_t step; /* optimizer steps taken when evaluated (0: before training) */
  double epoch; /* epochs done (fractional with --eval-every-steps) */
  double forget_regurgitation, forget_knowledge, retain_regurgitation, retain_knowledge; /* NAN: absent */
  double task_aggregate, mia_auc, mia_score, mmlu;                                       /* NAN: absent */
  double final;   /* lethe_eval_selection_score */
  double seconds; /* time the evaluation took */
} lethe_eval_point;

/* The scores of a record, in the log's order (forget_regurgitation .. final): their JSON keys, and
 * the field of p each names. Every writer and reader of a record (eval_log.jsonl, the selection
 * state, run.json) walks this one table. */
enum { LETHE_EVAL_POINT_NSCORES = 9 };
extern const char *const lethe_eval_point_keys[LETHE_EVAL_POINT_NSCORES];
double *lethe_eval_point_score(lethe_eval_point *p, int k);

/* The score a run selects on: the mean of what was measured among the task aggregate, the MIA
 * score and MMLU (the official final score when all three are present). NAN when none is. */
double lethe_eval_selection_score(const lethe_eval_results *r);

/* Fills a record from results (every field but step, epoch and seconds). */
void lethe_eval_point_from(const lethe_eval_results *r, lethe_eval_point *p);

/* Appends one JSON line {"step": ..., "epoch": ..., scores (null when absent), "final", "seconds"}
 * and flushes. */
lethe_status lethe_eval_log_append(FILE *fp, const char *path, const lethe_eval_point *p);

/* Reads every record of an eval_log.jsonl; a missing file is zero records. *pts is malloc'ed. */
lethe_status lethe_eval_log_read(const char *path, lethe_eval_point **pts, int *n);

#endif
