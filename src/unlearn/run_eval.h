/* unlearn/run_eval.h: evaluation while training: the evaluation sets (loaded and checked before
 * the model), one evaluation through `lethe eval`'s code with its terminal line and eval_log.jsonl
 * record, the best-so-far selection (a copy of the trained parameters), early stopping, and the
 * selection's state beside each checkpoint so that a resumed run selects exactly as an
 * uninterrupted one. */
#ifndef LETHE_UNLEARN_RUN_EVAL_H
#define LETHE_UNLEARN_RUN_EVAL_H

#include <jansson.h>
#include <stdio.h>

#include "data/data.h"
#include "eval/eval_log.h"
#include "lethe/eval_mmlu.h"
#include "lethe/evaluate.h"
#include "lethe/tokenizer.h"
#include "lethe/unlearn.h"
#include "unlearn/trainer.h"

typedef struct {
  int on;          /* anything to evaluate */
  int select_best; /* the run's result is the best evaluation's parameters */
  int early_stop;  /* evaluations without improvement before stopping (0: never) */
  int every_epochs, every_steps;
  lethe_eval_opts eo; /* carries max_new, batch, shots, the MIA paths */
  lethe_rowset forget, retain;
  int has_forget, has_retain;
  lethe_mmlu_set mmlu;
  int has_mmlu;
  char *log_path;
  FILE *log;
  /* selection state (saved beside each checkpoint) */
  int n_evals, has_best, since_best;
  lethe_eval_point best, last;
  float *best_params; /* (n_params) host copy of the best evaluation's parameters */
  size_t n_params;
  double seconds; /* evaluation time in this process */
} lethe_run_eval;

/* Checks the evaluation options and loads the evaluation sets (before any model is loaded):
 * every error is one message naming the flag or the file. e->on is 0 when nothing is evaluated. */
lethe_status lethe_run_eval_open(lethe_run_eval *e, const lethe_train_opts *o);
/* Sizes the parameter copy and opens OUT/eval_log.jsonl (truncated to the lines of steps <= step
 * when resuming at `step`, else emptied). */
lethe_status lethe_run_eval_start(lethe_run_eval *e, const char *out, size_t n_params, int resuming, int64_t step);
/* Whether the trainer's position (after a step; `finished` at the end) is an evaluation point. */
int lethe_run_eval_due(const lethe_run_eval *e, const lethe_trainer *t, int finished);
/* The scores of the trainer's current parameters (no state changes but the time spent). */
lethe_status lethe_run_eval_measure(
    lethe_run_eval *e, lethe_trainer *t, const lethe_tokenizer *tok, lethe_eval_point *p);
/* Evaluates the trainer's current parameters, prints one line, logs the record, updates the best;
 * *stop is set when early stopping says so. */
lethe_status lethe_run_eval_now(
    lethe_run_eval *e, lethe_trainer *t, const lethe_tokenizer *tok, FILE *progress, int *stop);
/* The selection state at checkpoint step `step`: OUT/selection/step-N.{safetensors,json}, written
 * before the checkpoint (prune removes the other steps' files once the checkpoint is in place). */
lethe_status lethe_run_eval_save(const lethe_run_eval *e, const char *out, int64_t step);
void lethe_run_eval_prune(const char *out, int64_t keep_step);
lethe_status lethe_run_eval_load(lethe_run_eval *e, const char *out, int64_t step);
/* Copies the best parameters into the trainer's (the model's or the adapter's) buffers. */
void lethe_run_eval_restore_best(const lethe_run_eval *e, lethe_trainer *t);
/* The run.json "evaluation" object (selection, best and last scores, counts, times). */
json_t *lethe_run_eval_json(const lethe_run_eval *e, int early_stopped, double train_seconds);
void lethe_run_eval_free(lethe_run_eval *e);

#endif
