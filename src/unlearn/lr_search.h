/* unlearn/lr_search.h: `--lr auto`: a short learning-rate search before the run. Log-spaced
 * candidates each train from the same initial parameters for a bounded number of epochs on the
 * trainer that already holds the reference cache, evaluated after each of those epochs with the
 * run's evaluation; the candidate with the best final score (ties: the smaller rate) is the
 * run's learning rate. */
#ifndef LETHE_UNLEARN_LR_SEARCH_H
#define LETHE_UNLEARN_LR_SEARCH_H

#include <stdio.h>

#include "unlearn/run_eval.h"
#include "unlearn/trainer.h"

#define LETHE_LR_CANDIDATES                                                                                            \
  { 1e-4, 3e-4, 1e-3, 3e-3, 1e-2 }

/* Probe epochs per candidate for a run of `epochs`: a quarter, at least 1. */
int lethe_lr_probe_epochs(int epochs);

/* Runs the search (progress lines to `progress`), writes OUT/lr_search.json atomically and sets
 * *lr. The trainer is back at its initial state afterwards (parameters, Adam, position), with
 * cfg.lr = *lr. When OUT/lr_search.json exists and `resuming`, its choice is read instead. */
lethe_status lethe_lr_search(lethe_trainer *t, lethe_run_eval *e, const lethe_tokenizer *tok, const char *out,
    int resuming, FILE *progress, double *lr);

#endif
