/* lethe/evaluate.h: `lethe eval`: the SemEval-2025 Task 4 evaluation of a model (optionally with a
 * LoRA adapter, or base and adapter side by side): greedy generations of the forget and retain
 * rows scored by regurgitation and knowledge, membership inference from document NLLs, MMLU, and
 * the official evaluation_results.json. */
#ifndef LETHE_EVALUATE_H
#define LETHE_EVALUATE_H

#include <stdio.h>

#include "lethe/comm.h"
#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char *model;           /* model path */
  const char *adapter;         /* PEFT adapter directory (may be NULL) */
  const char *tokenizer;       /* default: the model directory's tokenizer.json */
  const char *forget, *retain; /* LUME rows (either may be NULL, not both unless only MIA/MMLU) */
  const char *mia_members;     /* documents JSONL ({"id", "document"}) */
  const char *mia_nonmembers;
  const char *mmlu_dir; /* hendrycks CSV directory */
  int shots;            /* MMLU k (5) */
  int mmlu_limit;       /* questions per subject (0: all) */
  const char *out;      /* output directory */
  int max_new;          /* new tokens per generation (256) */
  int batch;            /* prompts generated together (16) */
  int compare;          /* evaluate the base model and the adapter, side by side */
  int threads;          /* the OpenMP thread count the caller set (the CLI sets it; the library never does) */
  const char *device;   /* "cpu" (default) or "cuda" */
  const char *dtype;    /* NULL / "fp32" (exact) or "bf16" (as transformers' bf16 model, CPU) */
  int literal_text;     /* score texts as given instead of after the official CSV round trip */
  double mink_k;        /* Min-K% / Min-K%++ fraction (0: 0.2) */
  int layout_official;  /* also write the official script's files (official.h) */
  FILE *progress;       /* progress lines (NULL: silent) */
  FILE *table;          /* the results table (NULL: not printed) */
  /* data parallelism (NULL: one process): rows, documents and MMLU questions are split over the
   * ranks in whole batches and gathered, so every rank holds the results one process computes;
   * only rank 0 prints and writes */
  const lethe_comm *comm;
} lethe_eval_opts;

void lethe_eval_opts_default(lethe_eval_opts *o);

/* Runs the evaluation and writes OUT/evaluation_results.json, OUT/rows.jsonl (one object per row:
 * id, task, split, expected, generated, score, nll), OUT/mia_attacks.json (the AUC of every MIA
 * attack, exact memorisation and extraction strength per split), with MIA OUT/mia.jsonl (one
 * object per document: id, set, nll and every attack's score), with MMLU OUT/mmlu_metrics.json;
 * with layout_official also {forget,retain}_0.csv, mia_results/{member,nonmember}_0.csv and
 * evaluation_results.jsonl as the official script writes them. With
 * compare, the base model's files go to OUT/base/ and the adapter's to OUT/. */
lethe_status lethe_eval_run(const lethe_eval_opts *o);

#ifdef __cplusplus
}
#endif
#endif
