/* lethe/evaluate.h: `lethe eval`: the SemEval-2025 Task 4 evaluation of a model (optionally with a
 * LoRA adapter, or base and adapter side by side): greedy generations of the forget and retain
 * rows scored by regurgitation and knowledge, membership inference from document NLLs, MMLU, and
 * the official evaluation_results.json. */
#ifndef LETHE_EVALUATE_H
#define LETHE_EVALUATE_H

#include <stdio.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *model;          /* model path */
  const char *adapter;        /* PEFT adapter directory (may be NULL) */
  const char *tokenizer;      /* default: the model directory's tokenizer.json */
  const char *forget, *retain;/* LUME rows (either may be NULL, not both unless only MIA/MMLU) */
  const char *mia_members;    /* documents JSONL ({"id", "document"}) */
  const char *mia_nonmembers;
  const char *mmlu_dir;       /* hendrycks CSV directory */
  int shots;                  /* MMLU k (5) */
  int mmlu_limit;             /* questions per subject (0: all) */
  const char *out;            /* output directory */
  int max_new;                /* new tokens per generation (256) */
  int batch;                  /* prompts generated together (16) */
  int compare;                /* evaluate the base model and the adapter, side by side */
  int threads;                /* 0: OpenMP's default */
  const char *device;         /* "cpu" (default) or "cuda" */
  int literal_text;           /* score texts as given instead of after the official CSV round trip */
  FILE *progress;             /* progress lines (NULL: silent) */
  FILE *table;                /* the results table (NULL: not printed) */
} lethe_eval_opts;

void lethe_eval_opts_default(lethe_eval_opts *o);

/* Runs the evaluation and writes OUT/evaluation_results.json, OUT/rows.jsonl (one object per row:
 * id, task, split, expected, generated, score, nll) and, with MMLU, OUT/mmlu_metrics.json. With
 * compare, the base model's files go to OUT/base/ and the adapter's to OUT/. */
lethe_status lethe_eval_run(const lethe_eval_opts *o);

#ifdef __cplusplus
}
#endif
#endif
