/* unlearn/trainer.h: the training loop's pieces: one micro-batch (forward, objective, backward),
 * one optimizer update (clipping, schedule, Adam), the reference cache, checkpoints. */
#ifndef LETHE_UNLEARN_TRAINER_H
#define LETHE_UNLEARN_TRAINER_H

#include <stdint.h>

#include "data/data.h"
#include "lethe/comm.h"
#include "lethe/unlearn.h"
#include "model/model.h"
#include "unlearn/objective.h"

typedef struct {
  lethe_objective obj;
  int batch, grad_accum, epochs, max_steps;
  double lr, weight_decay, beta1, beta2, eps, max_grad_norm;
  int adamw;
  lethe_schedule schedule;
  int warmup_steps;
  uint64_t seed;
  int no_ref_cache;
  const float *ref_cache_in; /* (answer tokens of data) a reference cache built before for the same
                                model, data and batch (lethe sweep), copied instead of built; NULL: build */
  int recompute;             /* recompute each block's activations in the backward pass (less memory) */
  /* full-parameter training (lora == NULL) of a subset: layers [train_lo, train_hi], the
   * LETHE_TRAIN_* modules of each; train_modules 0 trains every parameter */
  int train_lo, train_hi;
  unsigned train_modules;
  lethe_data_schedule schedule_data;
  int forget_chunk, retain_per_forget; /* sequential */
  /* data parallelism: batch is the global batch; each rank forwards its slice of every
   * micro-batch, counts and losses are summed over ranks, gradients all-reduced before the update
   * (NULL: one process) */
  const lethe_comm *comm;
} lethe_trainer_cfg;

typedef struct {
  lethe_loss_terms loss; /* averaged over the step's micro-batches */
  double grad_norm;      /* before clipping */
  double lr;
  int tokens;       /* tokens forwarded in the step, over every rank */
  int tokens_local; /* by this rank */
  double comm_s;    /* seconds in the gradient all-reduce */
} lethe_step_stats;

typedef struct lethe_trainer {
  lethe_model *m;
  lethe_lora *lora; /* NULL: full-parameter training */
  const lethe_tokset *data;
  lethe_trainer_cfg cfg;
  lethe_workspace *ws;     /* training (keeps activations) */
  lethe_workspace *ws_ref; /* adapter-off forward for full-vocabulary KL, or NULL */
  lethe_packed pb;
  float *params, *grads; /* what trains: the adapter's or the model's buffers; a subset of the
                            model trains in a compact copy (n_params) scattered into the model
                            after every update */
  int64_t synced_step;   /* subset: the step whose params the model holds */
  float *frozen;         /* (n_params) subset with a reference pass: the trained tensors as
                            they were before training (the reference = the model with these
                            swapped back in), or NULL */
  size_t n_params;
  float *adam_m, *adam_v;
  int64_t step;                         /* optimizer steps taken */
  int epoch, step_in_epoch;             /* where the next step starts; with the sequential schedule an
                                           "epoch" is one pass over one chunk (chunk epoch / epochs) */
  int n_epochs;                         /* epochs of the schedule: cfg.epochs, or chunks x cfg.epochs */
  int chunk_epochs;                     /* sequential: the epochs of each chunk (the configured epochs) */
  int micro_per_epoch, steps_per_epoch; /* the largest epoch's */
  int *fidx, *ridx;                     /* sequential: the forget and the retain sequences, in data order */
  int n_fidx, n_ridx;
  double adapt_sum, adapt_count;    /* adaptive_retain: the first epoch's retain NLLs and sequences */
  float *rmu_u;                     /* (d) RMU: c u, u uniform in [0, 1)^d from the seed, normalised */
  float *rmu_h, *rmu_href, *rmu_dh; /* (max rows, d) host copies of h_l, the reference's, dL/dh_l */
  int64_t total_steps;
  float *ref_cache;                         /* (answer tokens) r_t of every sequence, adapter off */
  int *ref_off;                             /* (n + 1) */
  float *fixed, *sig, *klw, *pw, *ref_rows; /* (max rows) per-batch coefficients */
  int *tgt;                                 /* (max rows) target kinds of the classifier (LETHE_TGT_*) */
  unsigned char *split;                     /* (batch) */
  int *order;                               /* (n_order) this epoch's order */
  int n_order;
  int order_epoch;
  int *gather_counts, *gather_displs; /* (world size) the reference cache's all-gather */
  int64_t fault_nan_step;             /* testing: poison the gradient of this (1-based) step; 0: never */
} lethe_trainer;

/* Sizes everything once (workspaces, Adam state, batch buffers) and computes the reference cache
 * when the objective needs r_t (unless cfg->no_ref_cache). */
lethe_status lethe_trainer_create(
    lethe_model *m, lethe_lora *lora, const lethe_tokset *data, const lethe_trainer_cfg *cfg, lethe_trainer **out);
void lethe_trainer_free(lethe_trainer *t);
/* After t->params were replaced from outside (the selected best copy): a trained subset's compact
 * parameters are written into the model's tensors (a no-op for an adapter or the whole model). */
void lethe_trainer_sync_model(lethe_trainer *t);

/* One micro-batch of sequences idx[0..n) (the global micro-batch: this rank takes its slice, the
 * objective's counts and the loss terms are summed over ranks; every rank must call it): gradients are accumulated with
 * weight `scale`; the batch's loss terms are returned. */
lethe_status lethe_trainer_micro(lethe_trainer *t, const int *idx, int n, float scale, lethe_loss_terms *loss);
/* One optimizer update from the accumulated gradients (all-reduced over ranks first, then norm, clipping, NaN check,
 * Adam), then the gradients are zeroed. A non-finite gradient norm is LETHE_ERR_NUMERIC and leaves the weights
 * untouched. */
lethe_status lethe_trainer_update(lethe_trainer *t, lethe_step_stats *st);
/* The next optimizer step of the schedule of epochs: its micro-batches, then the update. Sets
 * *finished when every epoch (or max_steps) is done. */
lethe_status lethe_trainer_next(lethe_trainer *t, lethe_step_stats *st, int *finished);
/* The learning rate of optimizer step `step` (0-based) as transformers' schedulers give it. */
double lethe_trainer_lr(const lethe_trainer *t, int64_t step);

/* Checkpoints: OUT/checkpoint/{state.json, params.safetensors} (weights, Adam moments, position),
 * written to a temporary directory and published by lethe_dir_publish. fingerprint is a JSON
 * object of the options a resumed run must share. Load recovers the complete checkpoint a run
 * killed mid-publish left, removes stale temporaries and range-checks every field. */
lethe_status lethe_checkpoint_save(
    const lethe_trainer *t, const char *dir, const char *fingerprint_json, double elapsed_s);
lethe_status lethe_checkpoint_load(lethe_trainer *t, const char *dir, const char *fingerprint_json, double *elapsed_s);
/* Makes DIR/checkpoint the complete checkpoint a run left (see above); *found = 0 when none. */
lethe_status lethe_checkpoint_recover(const char *dir, int *found);
/* Adds to the fingerprint *fp (replaced) the content hashes of the model, tokenizer and data files
 * (NULL ones skipped) and the thread count, which the results depend on. */
lethe_status lethe_checkpoint_fingerprint_inputs(char **fp, const char *model, const char *tokenizer,
    const char *forget, const char *retain, const char *data, int threads);
/* A run's output directory: created, or reused when it is lethe's own run directory (or empty but
 * for lethe temporaries); anything else (a user's directory, a file, a link) is refused. Marked
 * with .lethe-output; stale temporaries are removed on resume. */
lethe_status lethe_run_dir_open(const lethe_train_opts *o);
/* The machine's physical memory in bytes (0 when unknown). */
size_t lethe_machine_memory_bytes(void);
/* Refuses, before any allocation, a step whose memory plan (weights, activations of the batch,
 * trained parameters with gradient and Adam moments, and with a reference pass the reference's
 * workspace and, for a trained subset of n_subset parameters (0: LoRA or the whole model), the
 * subset's frozen copy) exceeds `machine_bytes`, naming both. */
lethe_status lethe_train_memory_check(const lethe_model *m, const lethe_lora *lora, size_t n_subset,
    const lethe_tokset *d, int batch, int recompute, int needs_ref, size_t machine_bytes);
/* After a successful run: removes every temporary left in the run directory. */
void lethe_run_dir_finish(const char *out);

#endif
