/* unlearn/run.h: the three stages of `lethe unlearn` / `lethe train` (lethe_train_run, run.c)
 * and the state they pass along: setup (run_setup.c: options, model, data, adapter, trainer,
 * resume), the step loop (run_steps.c: steps, train_log.jsonl, progress, evaluation points,
 * checkpoints, stopping) and the results (run_results.c: selection, the after NLL, the saved
 * adapter or model, run.json). A sweep's shared model and reference cache are run_shared.c's. */
#ifndef LETHE_UNLEARN_RUN_H
#define LETHE_UNLEARN_RUN_H

#include <stdint.h>
#include <stdio.h>

#include "data/data.h"
#include "lethe/tokenizer.h"
#include "lethe/unlearn.h"
#include "unlearn/run_eval.h"
#include "unlearn/trainer.h"

struct lethe_train_shared {
  char *model_key; /* model, tokenizer, device */
  lethe_model *m;
  lethe_tokenizer *tok;
  char *ref_key; /* model_key, the data files, max_len, batch, eos, line limit, threads */
  float *ref;    /* (ref_n) */
  int ref_n;
  int model_loads, ref_builds;
};

/* A malloc'ed printf string (NULL when out of memory): the keys of a shared model or cache. */
char *lethe_shared_key(const char *fmt, ...);

typedef struct {
  /* setup (lethe_run_setup) */
  lethe_train_opts o;     /* the caller's options, progress NULL off rank 0 */
  lethe_train_shared *sh; /* the sweep's shared model and cache, or NULL */
  int rank0, world;       /* under data parallelism only rank 0 prints and writes */
  double t0;              /* when the run began */
  lethe_model *m;
  lethe_tokenizer *tok;
  lethe_rowset forget, retain;
  lethe_tokset data;
  int n_forget; /* forget sequences in data */
  lethe_lora *lora;
  lethe_trainer *tr;
  char *fp; /* the resume fingerprint (JSON) */
  char *log_path;
  FILE *log; /* OUT/train_log.jsonl, rank 0 */
  lethe_run_eval ev;
  int borrowed; /* m and tok belong to a lethe_train_shared */
  int model_reused, ref_reused;
  double nll_f0, nll_r0; /* answer NLL before training (NAN: not measured) */
  double lr;             /* the learning rate (the one --lr auto chose) */
  double elapsed0;       /* training seconds before the resumed checkpoint */
  int resumed;           /* from a checkpoint */
  /* the step loop (lethe_run_steps) */
  double train_s; /* training seconds in this process, evaluations excluded */
  int early_stopped;
} lethe_run_state;

/* Checks the options, loads the model, tokenizer and data, creates the adapter and the trainer,
 * resumes from a checkpoint and opens the training log. */
lethe_status lethe_run_setup(lethe_run_state *r, const lethe_train_opts *o, lethe_train_shared *sh);
/* Runs the steps to the end, an early stop, the caller's stop flag (a checkpoint, then
 * LETHE_ERR_INTERRUPTED) or a NaN (LETHE_ERR_NUMERIC, the last good checkpoint kept). */
lethe_status lethe_run_steps(lethe_run_state *r);
/* Selects the best evaluation's parameters, measures the answer NLL after, saves the adapter or
 * the model and writes run.json (rank 0). */
lethe_status lethe_run_results(lethe_run_state *r);
void lethe_run_state_free(lethe_run_state *r);

#endif
