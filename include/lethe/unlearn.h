/* lethe/unlearn.h: training. `lethe unlearn` trains a LoRA adapter with Low-Rank NPO (or a
 * baseline) on a forget set regularised on a retain set; `lethe train` is plain supervised training
 * (full-parameter or LoRA) that makes a model learn data. Both share one trainer with Adam(W),
 * schedules, gradient accumulation and clipping, checkpoints and exact resume. */
#ifndef LETHE_UNLEARN_H
#define LETHE_UNLEARN_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "lethe/comm.h"
#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The forget-set loss (l_t = log p_theta(y_t | y_<t), p_t = exp(l_t), r_t the reference's l_t, F the
 * forget answer tokens of a batch, sg() a stop-gradient). */
typedef enum {
  LETHE_FORGET_NPO = 0,     /* token-level NPO (the paper): (2/beta) mean_F softplus(beta (l_t - r_t)) */
  LETHE_FORGET_NPO_SEQ = 1, /* sequence-level NPO (original NPO) */
  LETHE_FORGET_SIMNPO = 2,
  LETHE_FORGET_GA = 3, /* gradient ascent: mean_F l_t */
  LETHE_FORGET_NONE = 4,
  LETHE_FORGET_WGA = 5,    /* weighted gradient ascent: mean_F sg(p_t^beta) l_t */
  LETHE_FORGET_SATIMP = 6, /* mean_F sg(p_t^b1 (1 - p_t)^b2) l_t */
  LETHE_FORGET_UNDIAL = 7, /* mean_F CE(softmax(z_ref - beta onehot(y)), softmax(z)) */
  LETHE_FORGET_CEU = 8,    /* mean_F CE(softmax(sg(z) with the gold logit removed), softmax(z)) */
  LETHE_FORGET_RMU = 9     /* mean_seq mean_t mean_d (h_l - c u)^2 on the forget answer tokens, and
                              w_retain times the same against the reference's h_l on retain rows */
} lethe_forget_loss;

typedef enum { LETHE_KL_GOLD = 0, LETHE_KL_FULL = 1 } lethe_kl_kind;

typedef struct {
  lethe_forget_loss forget;
  double beta;      /* NPO / SimNPO temperature (0.5), WGA exponent, UNDIAL logit penalty */
  double delta;     /* SimNPO margin (0) */
  double w_forget;  /* 1 */
  double w_retain;  /* 1 */
  double w_kl;      /* 0.5 */
  lethe_kl_kind kl; /* gold-token KL (the paper) or full vocabulary */
  double sat_beta1; /* SatImp weight exponents: p^b1 (1 - p)^b2 (5, 1) */
  double sat_beta2;
  int skip_first;      /* CE-U: the first N answer tokens of each forget row are not trained (1) */
  int adaptive_retain; /* gd-adaptive (SHA256): the retain weight follows the retain loss (see
                          unlearn/objective.h) */
  int rmu_layer;       /* RMU: the layer whose output h_l is steered (7) */
  double rmu_coeff;    /* RMU: the steering coefficient c (|c u| = c; 300) */
} lethe_objective;

/* The order of the training data. shuffle: every row once per epoch, reshuffled each epoch (seeded).
 * sequential (AILS-NTUA's data chunking): the forget rows in their order, in chunks of forget_chunk;
 * each forget row followed by retain_per_forget retain rows taken cyclically in their order; every
 * chunk is trained for all epochs before the next one. Both are deterministic and resumable. */
typedef enum { LETHE_DATA_SHUFFLE = 0, LETHE_DATA_SEQUENTIAL = 1 } lethe_data_schedule;

/* One table of methods: the CLI's --method choices, `lethe unlearn --help`, the presets and the
 * objective code all read it. lr and epochs are the authors' (0: lethe's defaults, 1e-4 and 20). */
typedef struct {
  const char *name;
  lethe_objective obj;
  double lr;
  int epochs;
  const char *formula; /* the loss, one line */
  const char *source;  /* paper / code it follows */
  /* what trains (NULL layers: a LoRA adapter): full parameters of these layers ("A-B", "-N": the
   * last N) and modules ("mlp", "attn", "all") */
  const char *train_layers, *train_modules;
  lethe_data_schedule schedule_data;
  int forget_chunk, retain_per_forget;
  int batch; /* 0: lethe's default (4) */
} lethe_method;

/* Every method, in table order (*n of them). */
const lethe_method *lethe_methods(int *n);
/* The method called `name`, or NULL. */
const lethe_method *lethe_method_find(const char *name);
/* Method presets by name (the table's obj). Returns 0 on an unknown name. */
int lethe_objective_preset(const char *method, lethe_objective *o);

/* --select: AUTO is BEST when anything is evaluated, else LAST. */
typedef enum { LETHE_SELECT_AUTO = 0, LETHE_SELECT_BEST = 1, LETHE_SELECT_LAST = 2 } lethe_select;

typedef enum { LETHE_SCHED_CONSTANT = 0, LETHE_SCHED_LINEAR = 1, LETHE_SCHED_COSINE = 2 } lethe_schedule;

typedef struct {
  /* what */
  const char *model;     /* model path (HF directory, llama2.c .bin, GGUF) */
  const char *tokenizer; /* default: the model directory's tokenizer.json */
  const char *forget;    /* unlearn: forget rows (JSONL) */
  const char *retain;    /* unlearn: retain rows; train: more rows learned after data's (or NULL) */
  const char *data;      /* train: the data to learn */
  int data_docs;         /* train: data are documents (loss on every token), not rows */
  const char *out;       /* output directory */
  const char *resume;    /* continue from this run directory's checkpoint */
  int max_len;           /* tokens per sequence (longer rows are cut, counted) */
  int append_eos;        /* append the end-of-sequence id to each row (train: on, unlearn: off) */
  /* objective */
  lethe_objective obj;
  const char *method; /* preset name, for the record */
  /* adapter */
  int full;                  /* train every parameter instead of an adapter (train only) */
  const char *train_layers;  /* full-parameter training of a subset (unlearn --train full): layers
                                "A-B", "-N" (the last N) or "all"; NULL: every parameter */
  const char *train_modules; /* "mlp", "attn" or "all" (with train_layers) */
  lethe_data_schedule schedule_data;
  int forget_chunk;         /* sequential: forget rows per chunk (32) */
  int retain_per_forget;    /* sequential: retain rows after each forget row (7) */
  int lora_rank;            /* 5 */
  double lora_alpha;        /* 5 */
  const char *lora_targets; /* "q_proj,v_proj" */
  int rslora;
  int lora_init_kaiming; /* PEFT's default init instead of the paper's xavier-normal */
  double lora_dropout;   /* recorded only; must be 0 */
  /* optimisation */
  int epochs;          /* 20 */
  int batch;           /* 4 */
  int grad_accum;      /* 1 */
  double lr;           /* 1e-4 */
  int lr_auto;         /* --lr auto: a short search over log-spaced rates first (needs evaluation) */
  double weight_decay; /* 0 */
  int adamw;           /* decoupled weight decay */
  double beta1, beta2, adam_eps;
  double max_grad_norm; /* 0: no clipping */
  lethe_schedule schedule;
  int warmup_steps;
  uint64_t seed;
  int max_steps; /* stop after this many optimizer steps (0: all epochs) */
  /* run */
  int checkpoint_steps;        /* checkpoint every N optimizer steps (0: off) */
  double checkpoint_minutes;   /* and every M minutes (0: off) */
  int no_ref_cache;            /* recompute reference log-probs every step (a check of the cache) */
  int recompute;               /* activation recomputation: keep only each block's input, redo the block
                                  in the backward pass (about 1/3 more compute, far less memory) */
  int merge;                   /* also write the merged model */
  int threads;                 /* the OpenMP thread count the caller set (the CLI sets it; the library
                                  never does, it records omp_get_max_threads() in the checkpoint) */
  volatile sig_atomic_t *stop; /* raised (by the CLI's SIGINT/SIGTERM trap): checkpoint and stop at
                               the next step (NULL: never) */
  int64_t fault_nan_step;      /* tests only: poison this (1-based) step's gradient (0: never) */
  int64_t max_line_bytes;      /* longest JSONL line accepted in the data (0: 64 MiB) */
  const char *device;          /* "cpu" (default) or "cuda" */
  FILE *progress;              /* progress lines (NULL: silent) */
  const char *save_dtype;      /* full training: dtype of the saved model ("float32") */
  /* evaluation while training (the scores of `lethe eval`), selection, early stopping */
  int eval_every;          /* evaluate every K epochs (0: off) */
  int eval_every_steps;    /* or every K optimizer steps (0: off) */
  const char *eval_forget; /* forget rows to evaluate (default: the training forget rows) */
  const char *eval_retain; /* retain rows to evaluate (default: the training retain rows / train data) */
  const char *mia_members; /* MIA documents (both or neither) */
  const char *mia_nonmembers;
  const char *mmlu_dir; /* hendrycks CSV directory (may be NULL) */
  int mmlu_limit;       /* MMLU questions per subject, a fixed seeded subset (0: all) */
  int eval_max_new;     /* new tokens per generation (0: 256) */
  int eval_batch;       /* prompts generated together (0: 16) */
  lethe_select select;  /* which adapter is the run's result */
  int early_stop;       /* stop after N evaluations without improvement (0: never) */
  /* data parallelism (the program initialises MPI and fills it; NULL: one process): every rank
   * runs lethe_train_run with the same options, batch is the global batch, only rank 0 writes */
  const lethe_comm *comm;
} lethe_train_opts;

/* Paper defaults (unlearn != 0) or plain-training defaults (lr 1e-3, 10 epochs, batch 8). */
void lethe_train_opts_default(lethe_train_opts *o, int unlearn);

/* Runs `lethe unlearn` (o->forget set) or `lethe train` (o->data set) end to end: loads the model,
 * tokenizer and data, trains with checkpoints, and writes the adapter / model, the JSONL log and
 * run.json into o->out. */
lethe_status lethe_train_run(const lethe_train_opts *o);

/* What one process keeps between unlearning runs (lethe sweep): the loaded model and tokenizer
 * (reused while the model, tokenizer and device are the same) and the reference log-prob cache
 * (reused while the model, data files, --max-len, --batch, EOS and line limit are the same: it
 * depends on nothing else). Full-parameter and --merge runs change the model and do not share. */
typedef struct lethe_train_shared lethe_train_shared;
lethe_train_shared *lethe_train_shared_new(void);
void lethe_train_shared_free(lethe_train_shared *sh);
/* How many times the model was loaded and the reference cache built through sh. */
void lethe_train_shared_counts(const lethe_train_shared *sh, int *model_loads, int *ref_builds);
/* lethe_train_run, reusing and filling sh (NULL: lethe_train_run). */
lethe_status lethe_train_run_shared(const lethe_train_opts *o, lethe_train_shared *sh);

#ifdef __cplusplus
}
#endif
#endif
