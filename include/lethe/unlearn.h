/* lethe/unlearn.h: training. `lethe unlearn` trains a LoRA adapter with Low-Rank NPO (or a
 * baseline) on a forget set regularised on a retain set; `lethe train` is plain supervised training
 * (full-parameter or LoRA) that makes a model learn data. Both share one trainer with Adam(W),
 * schedules, gradient accumulation and clipping, checkpoints and exact resume. */
#ifndef LETHE_UNLEARN_H
#define LETHE_UNLEARN_H

#include <stdint.h>
#include <stdio.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The forget-set loss. */
typedef enum {
  LETHE_FORGET_NPO = 0,     /* token-level NPO (the paper) */
  LETHE_FORGET_NPO_SEQ = 1, /* sequence-level NPO (original NPO) */
  LETHE_FORGET_SIMNPO = 2,
  LETHE_FORGET_GA = 3,      /* gradient ascent */
  LETHE_FORGET_NONE = 4
} lethe_forget_loss;

typedef enum { LETHE_KL_GOLD = 0, LETHE_KL_FULL = 1 } lethe_kl_kind;

typedef struct {
  lethe_forget_loss forget;
  double beta;      /* NPO / SimNPO temperature (0.5) */
  double delta;     /* SimNPO margin (0) */
  double w_forget;  /* 1 */
  double w_retain;  /* 1 */
  double w_kl;      /* 0.5 */
  lethe_kl_kind kl; /* gold-token KL (the paper) or full vocabulary */
} lethe_objective;

/* Method presets: npo (paper: NPO + retain NLL + gold KL), npo-seq, simnpo, ga (ascent alone),
 * gd (ascent + retain NLL), kl (ascent + KL on retain). Returns 0 on an unknown name. */
int lethe_objective_preset(const char *method, lethe_objective *o);
#define LETHE_METHODS "npo|npo-seq|simnpo|ga|gd|kl"

/* --select: AUTO is BEST when anything is evaluated, else LAST. */
typedef enum { LETHE_SELECT_AUTO = 0, LETHE_SELECT_BEST = 1, LETHE_SELECT_LAST = 2 } lethe_select;

typedef enum { LETHE_SCHED_CONSTANT = 0, LETHE_SCHED_LINEAR = 1, LETHE_SCHED_COSINE = 2 } lethe_schedule;

typedef struct {
  /* what */
  const char *model;        /* model path (HF directory, llama2.c .bin, GGUF) */
  const char *tokenizer;    /* default: the model directory's tokenizer.json */
  const char *forget;       /* unlearn: forget rows (JSONL) */
  const char *retain;       /* unlearn: retain rows; train: NULL */
  const char *data;         /* train: the data to learn */
  int data_docs;            /* train: data are documents (loss on every token), not rows */
  const char *out;          /* output directory */
  const char *resume;       /* continue from this run directory's checkpoint */
  int max_len;              /* tokens per sequence (longer rows are cut, counted) */
  int append_eos;           /* append the end-of-sequence id to each row (train: on, unlearn: off) */
  /* objective */
  lethe_objective obj;
  const char *method;       /* preset name, for the record */
  /* adapter */
  int full;                 /* train every parameter instead of an adapter (train only) */
  int lora_rank;            /* 5 */
  double lora_alpha;        /* 5 */
  const char *lora_targets; /* "q_proj,v_proj" */
  int rslora;
  int lora_init_kaiming;    /* PEFT's default init instead of the paper's xavier-normal */
  double lora_dropout;      /* recorded only; must be 0 */
  /* optimisation */
  int epochs;               /* 20 */
  int batch;                /* 4 */
  int grad_accum;           /* 1 */
  double lr;                /* 1e-4 */
  int lr_auto;              /* --lr auto: a short search over log-spaced rates first (needs evaluation) */
  double weight_decay;      /* 0 */
  int adamw;                /* decoupled weight decay */
  double beta1, beta2, adam_eps;
  double max_grad_norm;     /* 0: no clipping */
  lethe_schedule schedule;
  int warmup_steps;
  uint64_t seed;
  int max_steps;            /* stop after this many optimizer steps (0: all epochs) */
  /* run */
  int checkpoint_steps;     /* checkpoint every N optimizer steps (0: off) */
  double checkpoint_minutes;/* and every M minutes (0: off) */
  int no_ref_cache;         /* recompute reference log-probs every step (a check of the cache) */
  int recompute;            /* activation recomputation: keep only each block's input, redo the block
                               in the backward pass (about 1/3 more compute, far less memory) */
  int merge;                /* also write the merged model */
  int threads;              /* 0: OpenMP's default */
  const char *device;       /* "cpu" (default) or "cuda" */
  FILE *progress;           /* progress lines (NULL: silent) */
  const char *save_dtype;   /* full training: dtype of the saved model ("float32") */
  /* evaluation while training (the scores of `lethe eval`), selection, early stopping */
  int eval_every;           /* evaluate every K epochs (0: off) */
  int eval_every_steps;     /* or every K optimizer steps (0: off) */
  const char *eval_forget;  /* forget rows to evaluate (default: the training forget rows) */
  const char *eval_retain;  /* retain rows to evaluate (default: the training retain rows / train data) */
  const char *mia_members;  /* MIA documents (both or neither) */
  const char *mia_nonmembers;
  const char *mmlu_dir;     /* hendrycks CSV directory (may be NULL) */
  int mmlu_limit;           /* MMLU questions per subject, a fixed seeded subset (0: all) */
  int eval_max_new;         /* new tokens per generation (0: 256) */
  int eval_batch;           /* prompts generated together (0: 16) */
  lethe_select select;      /* which adapter is the run's result */
  int early_stop;           /* stop after N evaluations without improvement (0: never) */
} lethe_train_opts;

/* Paper defaults (unlearn != 0) or plain-training defaults (lr 1e-3, 10 epochs, batch 8). */
void lethe_train_opts_default(lethe_train_opts *o, int unlearn);

/* Runs `lethe unlearn` (o->forget set) or `lethe train` (o->data set) end to end: loads the model,
 * tokenizer and data, trains with checkpoints, and writes the adapter / model, the JSONL log and
 * run.json into o->out. */
lethe_status lethe_train_run(const lethe_train_opts *o);

#ifdef __cplusplus
}
#endif
#endif
