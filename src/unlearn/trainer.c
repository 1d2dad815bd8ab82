/* unlearn/trainer.c: the trainer. Per micro-batch: pack sequences, look up the cached reference
 * log-probs (adapter off), forward with the adapter, the fused classifier with the objective's
 * coefficients, backward. Per optimizer step: gradient norm, clipping, schedule, Adam. Every
 * buffer is sized at creation; a step allocates nothing. */
#include "unlearn/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/seq_pass.h"
#include "lethe/util.h"
#include "util/error.h"
#include "util/rng.h"

/* Sequences each rank forwards at most per micro-batch: its slice of the global batch. */
static int local_batch(const lethe_trainer *t) {
  int W = lethe_comm_size(t->cfg.comm);
  return (t->cfg.batch + W - 1) / W;
}

void lethe_trainer_free(lethe_trainer *t) {
  if (!t) return;
  lethe_workspace_free(t->ws);
  lethe_workspace_free(t->ws_ref);
  lethe_packed_free(&t->pb);
  if (!t->lora && t->m->grad_spans && t->params) t->m->ops->release(t->params);
  if (t->adam_m) t->m->ops->release(t->adam_m);
  if (t->adam_v) t->m->ops->release(t->adam_v);
  if (t->frozen) t->m->ops->release(t->frozen);
  free(t->ref_cache);
  free(t->ref_off);
  free(t->fixed);
  free(t->sig);
  free(t->klw);
  free(t->pw);
  free(t->tgt);
  free(t->ref_rows);
  free(t->split);
  free(t->order);
  free(t->fidx);
  free(t->ridx);
  free(t->rmu_u);
  free(t->rmu_h);
  free(t->rmu_href);
  free(t->rmu_dh);
  free(t->gather_counts);
  free(t->gather_displs);
  free(t);
}

static lethe_status keep_ref(void *ctx, const lethe_seq_batch *b) {
  lethe_trainer *t = ctx;
  memcpy(t->ref_cache + t->ref_off[b->first], b->ws->logp, sizeof(float) * (size_t)b->ws->n_rows);
  return LETHE_OK;
}

/* Reference log-probs of every answer token with the adapter off, computed once: each rank its
 * contiguous slice of the sequences, then all-gathered. */
static lethe_status build_ref_cache(lethe_trainer *t) {
  const lethe_tokset *d = t->data;
  const lethe_comm *c = t->cfg.comm;
  int lo, hi;
  lethe_comm_slice(c, d->n, &lo, &hi);
  lethe_status s = lethe_seq_pass_range(t->m, NULL, t->ws, &t->pb, d, 0, lo, hi, local_batch(t), 1, keep_ref, t);
  int W = lethe_comm_size(c);
  if (W > 1) {
    /* a rank whose forward failed returns its error without joining the gather: the program
     * reports it and aborts the job (MPI_Abort), which ends the other ranks' wait */
    for (int r = 0; r < W; r++) {
      lethe_comm rr = *c;
      rr.rank = r;
      int a, b;
      lethe_comm_slice(&rr, d->n, &a, &b);
      t->gather_displs[r] = t->ref_off[a];
      t->gather_counts[r] = t->ref_off[b] - t->ref_off[a];
    }
    if (s) return s;
    s = lethe_comm_allgatherv_f32(c, t->ref_cache, t->gather_counts, t->gather_displs);
  }
  return s;
}

/* Sequences in epoch e of the schedule (and, with order != NULL, their order). */
static int epoch_order(const lethe_trainer *t, int e, int *order) {
  const lethe_trainer_cfg *c = &t->cfg;
  if (c->schedule_data != LETHE_DATA_SEQUENTIAL) {
    if (order) lethe_epoch_order(c->seed, e, t->data->n, order);
    return t->data->n;
  }
  int E = t->chunk_epochs, N = c->forget_chunk, K = t->n_ridx > 0 ? c->retain_per_forget : 0;
  int chunk = e / E, rep = e % E;
  int first = chunk * N, fc = t->n_fidx - first < N ? t->n_fidx - first : N;
  if (order) {
    /* retain rows continue cyclically from what earlier epochs took */
    int64_t cur = ((int64_t)E * chunk * N + (int64_t)rep * fc) * K;
    int k = 0;
    for (int j = 0; j < fc; j++) {
      order[k++] = t->fidx[first + j];
      for (int q = 0; q < K; q++) order[k++] = t->ridx[(cur++) % t->n_ridx];
    }
  }
  return fc * (1 + K);
}

static int epoch_steps(const lethe_trainer *t, int e) {
  int L = epoch_order(t, e, NULL), B = t->cfg.batch;
  int micro = (L + B - 1) / B;
  return (micro + t->cfg.grad_accum - 1) / t->cfg.grad_accum;
}

lethe_status lethe_trainer_create(
    lethe_model *m, lethe_lora *lora, const lethe_tokset *data, const lethe_trainer_cfg *cfg, lethe_trainer **out) {
  *out = NULL;
  if (data->n < 1) return lethe_fail(LETHE_ERR_INVALID, "no training sequences");
  if (cfg->batch < 1 || cfg->grad_accum < 1 || cfg->epochs < 1)
    return lethe_fail(LETHE_ERR_INVALID, "batch, gradient accumulation and epochs must be at least 1");
  if (!(cfg->lr >= 0) || !(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1) ||
      !(cfg->eps > 0))
    return lethe_fail(LETHE_ERR_INVALID, "invalid optimizer settings (lr >= 0, 0 <= betas < 1, eps > 0)");
  if (data->max_len > m->cfg.max_seq_len)
    return lethe_fail(LETHE_ERR_INVALID, "sequences of %d tokens exceed the model's context of %d (lower --max-len)",
        data->max_len, m->cfg.max_seq_len);
  lethe_trainer *t = calloc(1, sizeof *t);
  if (!t) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  t->m = m;
  t->lora = lora;
  t->data = data;
  t->cfg = *cfg;
  int B = cfg->batch < data->n ? cfg->batch : data->n;
  t->cfg.batch = B;
  int W = lethe_comm_size(cfg->comm);
  if (W > 1 && (cfg->obj.forget == LETHE_FORGET_RMU || cfg->obj.adaptive_retain)) {
    free(t);
    return lethe_fail(
        LETHE_ERR_UNSUPPORTED, "RMU and the adaptive retain weight are not data-parallel yet: run them in one process");
  }
  if (W > 1 && strcmp(m->ops->name, "cpu") != 0) {
    free(t);
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "data parallelism over MPI runs on the CPU backend (the NCCL path for %s is not built)", m->ops->name);
  }
  B = local_batch(t); /* the buffers hold this rank's slice */
  int cap_tokens = B * data->max_len;
  lethe_status s =
      lethe_workspace_create(m, lora, cap_tokens, B, cfg->recompute ? LETHE_WS_RECOMPUTE : LETHE_WS_TRAIN, &t->ws);
  int rmu = cfg->obj.forget == LETHE_FORGET_RMU;
  if (rmu && (cfg->obj.rmu_layer < 0 || cfg->obj.rmu_layer >= m->cfg.n_layers))
    s = lethe_fail(
        LETHE_ERR_INVALID, "--rmu-layer %d: the model has layers 0-%d", cfg->obj.rmu_layer, m->cfg.n_layers - 1);
  /* RMU reads the reference's layer output, which only a training workspace keeps */
  if (!s && lethe_obj_needs_ref_hidden(&cfg->obj))
    s = lethe_workspace_create(m, NULL, cap_tokens, B, rmu ? LETHE_WS_TRAIN : LETHE_WS_INFER, &t->ws_ref);
  if (!s) s = lethe_packed_init(&t->pb, cap_tokens, B);
  if (s) {
    lethe_trainer_free(t);
    return s;
  }
  if (lora) {
    t->params = lora->params;
    t->grads = lora->grads;
    t->n_params = lora->n_params;
  } else {
    int ref_pass = lethe_obj_needs_ref_hidden(&cfg->obj) || (lethe_obj_needs_ref(&cfg->obj) && cfg->no_ref_cache);
    if (ref_pass && !cfg->train_modules) {
      lethe_trainer_free(t);
      return lethe_fail(LETHE_ERR_UNSUPPORTED,
          "full-parameter training of the whole model keeps no frozen reference for this objective "
          "(full-vocabulary KL, UNDIAL, RMU, or --no-ref-cache): select the trained layers "
          "(--train-layers), whose frozen copy is the reference, or train a LoRA adapter");
    }
    s = cfg->train_modules ? lethe_model_enable_grads_subset(m, cfg->train_lo, cfg->train_hi, cfg->train_modules)
                           : lethe_model_enable_grads(m);
    if (s) {
      lethe_trainer_free(t);
      return s;
    }
    t->grads = m->grads;
    t->n_params = m->n_grads;
    if (m->grad_spans) {
      t->params = m->ops->alloc(t->n_params * sizeof(float));
      if (!t->params) {
        lethe_trainer_free(t);
        return lethe_fail(LETHE_ERR_NOMEM, "out of memory for the trained tensors (%zu parameters)", t->n_params);
      }
      for (int i = 0; i < m->n_grad_spans; i++)
        m->ops->copy(t->params + m->grad_spans[i].goff, m->dev.params + m->grad_spans[i].off, m->grad_spans[i].len);
      if (ref_pass) { /* the reference: the trained tensors only, as loaded (before any checkpoint) */
        t->frozen = m->ops->alloc(t->n_params * sizeof(float));
        if (!t->frozen) {
          lethe_trainer_free(t);
          return lethe_fail(LETHE_ERR_NOMEM,
              "out of memory for the frozen copy of the trained tensors (%zu parameters)", t->n_params);
        }
        m->ops->copy(t->frozen, t->params, t->n_params);
      }
    } else {
      t->params = m->dev.params;
    }
  }
  t->adam_m = m->ops->alloc(t->n_params * sizeof(float));
  t->adam_v = m->ops->alloc(t->n_params * sizeof(float));
  t->ref_off = malloc(sizeof(int) * (size_t)(data->n + 1));
  t->fixed = malloc(sizeof(float) * (size_t)cap_tokens);
  t->sig = malloc(sizeof(float) * (size_t)cap_tokens);
  t->klw = malloc(sizeof(float) * (size_t)cap_tokens);
  t->pw = malloc(sizeof(float) * (size_t)cap_tokens);
  t->tgt = malloc(sizeof(int) * (size_t)cap_tokens);
  t->ref_rows = malloc(sizeof(float) * (size_t)cap_tokens);
  t->split = malloc((size_t)B);
  if (rmu) {
    int d = m->cfg.dim;
    t->rmu_u = malloc(sizeof(float) * (size_t)d);
    t->rmu_h = malloc(sizeof(float) * (size_t)cap_tokens * d);
    t->rmu_href = malloc(sizeof(float) * (size_t)cap_tokens * d);
    t->rmu_dh = malloc(sizeof(float) * (size_t)cap_tokens * d);
    if (!t->rmu_u || !t->rmu_h || !t->rmu_href || !t->rmu_dh) {
      lethe_trainer_free(t);
      return lethe_fail(LETHE_ERR_NOMEM, "out of memory for RMU's hidden states");
    }
    lethe_rng r;
    lethe_rng_seed(&r, cfg->seed ^ 0x524d55u); /* "RMU" */
    double nrm = 0;
    for (int j = 0; j < d; j++) {
      t->rmu_u[j] = (float)lethe_rng_uniform(&r);
      nrm += (double)t->rmu_u[j] * t->rmu_u[j];
    }
    for (int j = 0; j < d; j++) t->rmu_u[j] = (float)(t->rmu_u[j] / sqrt(nrm) * cfg->obj.rmu_coeff);
  }
  t->gather_counts = malloc(sizeof(int) * (size_t)W);
  t->gather_displs = malloc(sizeof(int) * (size_t)W);
  t->fidx = malloc(sizeof(int) * (size_t)data->n);
  t->ridx = malloc(sizeof(int) * (size_t)data->n);
  for (int i = 0; t->fidx && t->ridx && i < data->n; i++) {
    if (data->split[i] == LETHE_SPLIT_FORGET)
      t->fidx[t->n_fidx++] = i;
    else
      t->ridx[t->n_ridx++] = i;
  }
  t->n_order = data->n;
  t->n_epochs = cfg->epochs;
  t->chunk_epochs = cfg->epochs;
  if (cfg->schedule_data == LETHE_DATA_SEQUENTIAL) {
    if (cfg->forget_chunk < 1 || cfg->retain_per_forget < 0 || t->n_fidx == 0) {
      lethe_trainer_free(t);
      return lethe_fail(LETHE_ERR_INVALID,
          "the sequential schedule needs forget rows, --forget-chunk >= 1 and --retain-per-forget >= 0");
    }
    int chunks = (t->n_fidx + cfg->forget_chunk - 1) / cfg->forget_chunk;
    t->n_epochs = chunks * cfg->epochs;
    int per = (t->n_fidx < cfg->forget_chunk ? t->n_fidx : cfg->forget_chunk);
    t->n_order = per * (1 + (t->n_ridx > 0 ? cfg->retain_per_forget : 0));
  }
  t->order = malloc(sizeof(int) * (size_t)(t->n_order > 0 ? t->n_order : 1));
  if (!t->adam_m || !t->adam_v || !t->ref_off || !t->fixed || !t->sig || !t->klw || !t->pw || !t->tgt || !t->ref_rows ||
      !t->split || !t->order || !t->fidx || !t->ridx || !t->gather_counts || !t->gather_displs) {
    lethe_trainer_free(t);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory for the optimizer state (%zu parameters)", t->n_params);
  }
  m->ops->zero(t->grads, t->n_params);
  t->ref_off[0] = 0;
  for (int i = 0; i < data->n; i++) t->ref_off[i + 1] = t->ref_off[i] + lethe_tokset_answer_count(data, i);
  B = t->cfg.batch; /* the schedule counts global batches */
  t->micro_per_epoch = (t->n_order + B - 1) / B;
  t->steps_per_epoch = (t->micro_per_epoch + cfg->grad_accum - 1) / cfg->grad_accum;
  t->total_steps = 0;
  for (int e = 0; e < t->n_epochs; e++) t->total_steps += epoch_steps(t, e);
  t->cfg.epochs = t->n_epochs; /* the schedule's epochs from here on (checkpoint positions too) */
  if (cfg->max_steps > 0 && cfg->max_steps < t->total_steps) t->total_steps = cfg->max_steps;
  t->order_epoch = -1;
  if (lethe_obj_needs_ref(&cfg->obj) && !cfg->no_ref_cache) {
    t->ref_cache = malloc(sizeof(float) * (size_t)(t->ref_off[data->n] ? t->ref_off[data->n] : 1));
    if (t->ref_cache && cfg->ref_cache_in)
      memcpy(t->ref_cache, cfg->ref_cache_in, sizeof(float) * (size_t)t->ref_off[data->n]);
    else
      s = t->ref_cache ? build_ref_cache(t) : lethe_fail(LETHE_ERR_NOMEM, "out of memory for the reference cache");
    if (s) {
      lethe_trainer_free(t);
      return s;
    }
  }
  *out = t;
  return LETHE_OK;
}

/* A trained subset: the compact params into the model's tensors. */
static void scatter_params(lethe_trainer *t) {
  const lethe_model *m = t->m;
  for (int i = 0; m->grad_spans && i < m->n_grad_spans; i++)
    m->ops->copy(m->dev.params + m->grad_spans[i].off, t->params + m->grad_spans[i].goff, m->grad_spans[i].len);
  t->synced_step = t->step;
}

/* The reference pass of a trained subset: its frozen copy into the model's tensors (ref_end puts
 * the trained values back). Without a frozen copy (LoRA: the pass runs with the adapter off) both
 * do nothing. */
static void ref_begin(lethe_trainer *t) {
  const lethe_model *m = t->m;
  for (int i = 0; t->frozen && i < m->n_grad_spans; i++)
    m->ops->copy(m->dev.params + m->grad_spans[i].off, t->frozen + m->grad_spans[i].goff, m->grad_spans[i].len);
}

static void ref_end(lethe_trainer *t) {
  if (t->frozen) scatter_params(t);
}

/* RMU (Li et al. 2024, as open-unlearning computes it): per sequence the mean over its answer
 * tokens of mean_d (h_l - target)^2, target c u on forget rows and the reference's h_l on retain
 * rows; each split's mean over its sequences; the gradient enters at layer l's output. */
static lethe_status rmu_micro(lethe_trainer *t, const lethe_batch *b, int n, float scale, lethe_loss_terms *loss) {
  const lethe_objective *o = &t->cfg.obj;
  const lethe_packed *p = &t->pb;
  const lethe_ops *ops = t->m->ops;
  int d = t->m->cfg.dim, N = b->n_tokens, L = o->rmu_layer;
  size_t nb = sizeof(float) * (size_t)N * d;
  LETHE_TRY(lethe_forward(t->m, t->lora, t->ws, b));
  ops->download(t->rmu_h, lethe_ws_layer_output(t->m, t->ws, L), nb);
  int nF = 0, nR = 0, posF = 0, posR = 0;
  for (int s = 0; s < n; s++) {
    int np = t->data->n_prompt[p->seq[s]], first = p->start[s] + (np > 1 ? np : 1), cnt = p->start[s + 1] - first;
    if (cnt <= 0) continue;
    if (t->split[s] == LETHE_SPLIT_FORGET)
      nF++, posF += cnt;
    else
      nR++, posR += cnt;
  }
  if (nR > 0 && t->ws_ref) {
    ref_begin(t);
    lethe_status s = lethe_forward(t->m, NULL, t->ws_ref, b);
    ref_end(t);
    LETHE_TRY(s);
    ops->download(t->rmu_href, lethe_ws_layer_output(t->m, t->ws_ref, L), nb);
  }
  memset(t->rmu_dh, 0, nb);
  double forget = 0, retain = 0;
  for (int s = 0; s < n; s++) {
    int np = t->data->n_prompt[p->seq[s]], first = p->start[s] + (np > 1 ? np : 1), cnt = p->start[s + 1] - first;
    if (cnt <= 0) continue;
    int is_f = t->split[s] == LETHE_SPLIT_FORGET;
    if (!is_f && !t->ws_ref) continue; /* no retain term */
    double w = is_f ? o->w_forget / nF : o->w_retain / nR, seq = 0;
    for (int r = first; r < first + cnt; r++) {
      const float *h = t->rmu_h + (size_t)r * d, *tg = is_f ? t->rmu_u : t->rmu_href + (size_t)r * d;
      float *g = t->rmu_dh + (size_t)r * d;
      for (int j = 0; j < d; j++) {
        double e = (double)h[j] - tg[j];
        seq += e * e;
        g[j] = (float)(scale * w * 2.0 * e / ((double)d * cnt));
      }
    }
    seq /= (double)d * cnt;
    if (is_f)
      forget += seq / nF;
    else
      retain += seq / nR;
  }
  ops->upload(t->ws->dx, t->rmu_dh, nb);
  LETHE_TRY(lethe_backward_from_layer(t->m, t->lora, t->ws, b, L));
  memset(loss, 0, sizeof *loss);
  loss->forget = forget;
  loss->retain = retain;
  loss->total = o->w_forget * forget + (t->ws_ref ? o->w_retain * retain : 0);
  loss->n_forget = posF;
  loss->n_retain = posR;
  loss->n_forget_seq = nF;
  return LETHE_OK;
}

void lethe_trainer_sync_model(lethe_trainer *t) {
  if (!t->lora && t->m->grad_spans) scatter_params(t);
}

/* Data parallelism: the objective's counts of the global micro-batch (this rank's summed over
 * ranks), the normalisers of every rank's coefficients. */
static lethe_status sum_counts(const lethe_trainer *t, int gc[LETHE_OBJ_NCOUNTS]) {
  double g[LETHE_OBJ_NCOUNTS];
  for (int i = 0; i < LETHE_OBJ_NCOUNTS; i++) g[i] = gc[i];
  LETHE_TRY(lethe_comm_allreduce_f64(t->cfg.comm, g, LETHE_OBJ_NCOUNTS));
  for (int i = 0; i < LETHE_OBJ_NCOUNTS; i++) gc[i] = (int)llround(g[i]);
  return LETHE_OK;
}

/* The loss terms (each rank's share, already divided by the global counts) summed over ranks. */
static lethe_status sum_loss(const lethe_trainer *t, lethe_loss_terms *loss) {
  double v[4] = {loss->total, loss->forget, loss->retain, loss->kl};
  LETHE_TRY(lethe_comm_allreduce_f64(t->cfg.comm, v, 4));
  loss->total = v[0];
  loss->forget = v[1];
  loss->retain = v[2];
  loss->kl = v[3];
  return LETHE_OK;
}

static lethe_status micro_local(lethe_trainer *t, const int *idx, int n, float scale, lethe_loss_terms *loss);

lethe_status lethe_trainer_micro(lethe_trainer *t, const int *idx, int n, float scale, lethe_loss_terms *loss) {
  if (!t->lora && t->m->grad_spans && t->synced_step != t->step) scatter_params(t); /* e.g. after a checkpoint load */
  if (lethe_comm_size(t->cfg.comm) <= 1) return micro_local(t, idx, n, scale, loss);
  int lo, hi;
  lethe_comm_slice(t->cfg.comm, n, &lo, &hi);
  if (hi > lo) return micro_local(t, idx + lo, hi - lo, scale, loss);
  /* an empty slice (a last micro-batch smaller than the ranks): only the collectives */
  int gc[LETHE_OBJ_NCOUNTS] = {0, 0, 0, 0};
  LETHE_TRY(sum_counts(t, gc));
  memset(loss, 0, sizeof *loss);
  loss->n_forget = gc[0];
  loss->n_retain = gc[2];
  loss->n_forget_seq = gc[3];
  t->pb.n_tokens = 0;
  return sum_loss(t, loss);
}

/* This rank's sequences idx[0..n) of the micro-batch. */
static lethe_status micro_local(lethe_trainer *t, const int *idx, int n, float scale, lethe_loss_terms *loss) {
  int parallel = lethe_comm_size(t->cfg.comm) > 1;
  LETHE_TRY(lethe_packed_fill(&t->pb, t->data, idx, n));
  lethe_packed *p = &t->pb;
  lethe_batch b = {.n_seq = n, .n_tokens = p->n_tokens, .tokens = p->tokens, .targets = p->targets, .start = p->start};
  const lethe_objective *o = &t->cfg.obj;
  for (int s = 0; s < n; s++) t->split[s] = t->data->split[p->seq[s]];
  if (o->forget == LETHE_FORGET_RMU) return rmu_micro(t, &b, n, scale, loss);
  lethe_obj_rows rows = {.n_rows = p->answer_off[n],
      .n_seq = n,
      .row_off = p->answer_off,
      .split = t->split,
      .ref = NULL,
      .retain_mult = 1.0};
  int gc[LETHE_OBJ_NCOUNTS];
  if (parallel) {
    lethe_obj_counts(o, &rows, gc);
    LETHE_TRY(sum_counts(t, gc));
    rows.global = gc;
  }
  if (lethe_obj_needs_ref(o)) {
    if (t->ref_cache) {
      for (int s = 0; s < n; s++)
        memcpy(t->ref_rows + p->answer_off[s], t->ref_cache + t->ref_off[p->seq[s]],
            sizeof(float) * (size_t)(p->answer_off[s + 1] - p->answer_off[s]));
    } else {
      ref_begin(t);
      lethe_status s = lethe_forward(t->m, NULL, t->ws, &b);
      if (!s) s = lethe_head(t->m, t->ws, &b, NULL, 0);
      ref_end(t);
      LETHE_TRY(s);
      memcpy(t->ref_rows, t->ws->logp, sizeof(float) * (size_t)rows.n_rows);
    }
    rows.ref = t->ref_rows;
  }
  const float *ref_hidden = NULL;
  if (t->ws_ref) {
    ref_begin(t);
    lethe_status s = lethe_forward(t->m, NULL, t->ws_ref, &b);
    if (!s) s = lethe_head(t->m, t->ws_ref, &b, NULL, 0);
    ref_end(t);
    LETHE_TRY(s);
    ref_hidden = t->ws_ref->xrows;
  }
  LETHE_TRY(lethe_forward(t->m, t->lora, t->ws, &b));
  const float *logp = NULL;
  if (lethe_obj_two_pass(o)) {
    LETHE_TRY(lethe_head(t->m, t->ws, &b, NULL, 0));
    logp = t->ws->logp;
    if (o->adaptive_retain) {
      double nll;
      int ns;
      lethe_obj_retain_nll(&rows, logp, &nll, &ns);
      rows.retain_mult = lethe_obj_adaptive_mult(t->epoch, nll, ns, &t->adapt_sum, &t->adapt_count);
    }
  }
  lethe_head_coef coef;
  lethe_obj_bufs bufs = {.fixed = t->fixed, .sig = t->sig, .kl = t->klw, .pw = t->pw, .tgt = t->tgt};
  lethe_obj_coefs(o, &rows, logp, scale, &bufs, &coef);
  coef.ref_hidden = ref_hidden;
  LETHE_TRY(lethe_head(t->m, t->ws, &b, &coef, 1));
  LETHE_TRY(lethe_backward(t->m, t->lora, t->ws, &b));
  lethe_obj_loss(o, &rows, t->ws->logp, coef.kl ? t->ws->kl_rows : NULL, loss);
  return parallel ? sum_loss(t, loss) : LETHE_OK;
}

double lethe_trainer_lr(const lethe_trainer *t, int64_t step) {
  double lr = t->cfg.lr;
  int64_t W = t->cfg.warmup_steps, T = t->total_steps;
  if (W > 0 && step < W) return lr * (double)step / (double)W;
  switch (t->cfg.schedule) {
  case LETHE_SCHED_CONSTANT: return lr;
  case LETHE_SCHED_LINEAR: return T > W ? lr * fmax(0.0, (double)(T - step) / (double)(T - W)) : lr;
  case LETHE_SCHED_COSINE: {
    double prog = T > W ? (double)(step - W) / (double)(T - W) : 0.0;
    return lr * fmax(0.0, 0.5 * (1.0 + cos(M_PI * prog)));
  }
  }
  return lr;
}

lethe_status lethe_trainer_update(lethe_trainer *t, lethe_step_stats *st) {
  const lethe_ops *o = t->m->ops;
  st->comm_s = 0;
  if (lethe_comm_size(t->cfg.comm) > 1) { /* the summed gradient on every rank: identical updates */
    double c0 = lethe_now_s();
    LETHE_TRY(lethe_comm_allreduce_f32(t->cfg.comm, t->grads, t->n_params));
    st->comm_s = lethe_now_s() - c0;
  }
  double norm = sqrt(o->sumsq(t->grads, t->n_params));
  st->grad_norm = norm;
  if (!isfinite(norm)) {
    o->zero(t->grads, t->n_params);
    return lethe_fail(
        LETHE_ERR_NUMERIC, "step %lld: the gradient is not finite (norm %g)", (long long)t->step + 1, norm);
  }
  if (t->cfg.max_grad_norm > 0) {
    /* torch.nn.utils.clip_grad_norm_: coefficient max_norm / (norm + 1e-6), at most 1 */
    double c = t->cfg.max_grad_norm / (norm + 1e-6);
    if (c < 1.0) o->scale(t->grads, t->n_params, (float)c);
  }
  double lr = lethe_trainer_lr(t, t->step);
  st->lr = lr;
  int64_t k = t->step + 1;
  float b1c = (float)(1.0 - pow(t->cfg.beta1, (double)k)), b2c = (float)(1.0 - pow(t->cfg.beta2, (double)k));
  o->adam(t->params, t->grads, t->adam_m, t->adam_v, t->n_params, (float)lr, (float)t->cfg.beta1, (float)t->cfg.beta2,
      (float)t->cfg.eps, (float)t->cfg.weight_decay, t->cfg.adamw, b1c, b2c);
  o->zero(t->grads, t->n_params);
  t->step++;
  if (!t->lora && t->m->grad_spans) scatter_params(t);
  return o->check();
}

lethe_status lethe_trainer_next(lethe_trainer *t, lethe_step_stats *st, int *finished) {
  memset(st, 0, sizeof *st);
  *finished = 0;
  if (t->step >= t->total_steps || t->epoch >= t->cfg.epochs) {
    *finished = 1;
    return LETHE_OK;
  }
  int B = t->cfg.batch, K = t->cfg.grad_accum;
  int L = epoch_order(t, t->epoch, NULL);
  if (t->order_epoch != t->epoch) {
    epoch_order(t, t->epoch, t->order);
    t->order_epoch = t->epoch;
  }
  int micro = (L + B - 1) / B, steps = (micro + K - 1) / K;
  int mb0 = t->step_in_epoch * K, mb1 = mb0 + K < micro ? mb0 + K : micro;
  float scale = 1.0f / (float)(mb1 - mb0);
  lethe_loss_terms acc;
  memset(&acc, 0, sizeof acc);
  for (int mb = mb0; mb < mb1; mb++) {
    int first = mb * B, n = L - first < B ? L - first : B;
    lethe_loss_terms l;
    LETHE_TRY(lethe_trainer_micro(t, t->order + first, n, scale, &l));
    acc.total += l.total * scale;
    acc.forget += l.forget * scale;
    acc.retain += l.retain * scale;
    acc.kl += l.kl * scale;
    acc.n_forget += l.n_forget;
    acc.n_retain += l.n_retain;
    acc.n_forget_seq += l.n_forget_seq;
    st->tokens_local += t->pb.n_tokens;
  }
  st->tokens = st->tokens_local;
  if (lethe_comm_size(t->cfg.comm) > 1) {
    double tok = st->tokens_local;
    LETHE_TRY(lethe_comm_allreduce_f64(t->cfg.comm, &tok, 1));
    st->tokens = (int)llround(tok);
  }
  st->loss = acc;
  if (t->fault_nan_step == t->step + 1) { /* fault injection for the tests */
    const float nan = NAN;
    t->m->ops->upload(t->grads, &nan, sizeof nan);
  }
  if (!isfinite(acc.total)) {
    t->m->ops->zero(t->grads, t->n_params);
    return lethe_fail(LETHE_ERR_NUMERIC, "step %lld: the loss is not finite (%g)", (long long)t->step + 1, acc.total);
  }
  LETHE_TRY(lethe_trainer_update(t, st));
  if (++t->step_in_epoch >= steps) {
    t->step_in_epoch = 0;
    t->epoch++;
  }
  *finished = t->step >= t->total_steps || t->epoch >= t->cfg.epochs;
  return LETHE_OK;
}
