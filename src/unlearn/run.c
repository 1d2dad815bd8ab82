/* unlearn/run.c: `lethe unlearn` and `lethe train`: the options' defaults, lethe_train_run (setup,
 * then the step loop of run_steps.c, then the results of run_results.c; see run.h) and the setup:
 * check the options, load the model, tokenizer and data (or borrow a sweep's), create the adapter
 * and the trainer, build the resume fingerprint, resume from a checkpoint, open the training log.
 */
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "eval/seq_nll.h"
#include "lethe/lora.h"
#include "lethe/tokenizer.h"
#include "lethe/unlearn.h"
#include "unlearn/lr_search.h"
#include "eval/train_log.h"
#include "unlearn/run.h"
#include "unlearn/run_eval.h"
#include "unlearn/trainer.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/say.h"

void lethe_train_opts_default(lethe_train_opts *o, int unlearn) {
  memset(o, 0, sizeof *o);
  o->max_len = 512;
  o->lora_rank = 5;
  o->lora_alpha = 5.0;
  o->lora_targets = "q_proj,v_proj";
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->adam_eps = 1e-8;
  o->schedule = LETHE_SCHED_CONSTANT;
  o->seed = 42;
  o->progress = stderr;
  o->save_dtype = "float32";
  if (unlearn) {
    o->method = "npo";
    lethe_objective_preset("npo", &o->obj);
    o->epochs = 20;
    o->batch = 4;
    o->grad_accum = 1;
    o->lr = 1e-4;
  } else {
    o->method = "sft";
    memset(&o->obj, 0, sizeof o->obj);
    o->obj.forget = LETHE_FORGET_NONE;
    o->obj.w_retain = 1.0;
    o->obj.beta = 0.5;
    o->epochs = 10;
    o->batch = 8;
    o->append_eos = 1;
    o->grad_accum = 1;
    o->lr = 1e-3;
  }
}

static char *fingerprint(
    const lethe_train_opts *o, const lethe_tokset *d, const char *targets, const lethe_run_eval *ev) {
  json_t *f = json_pack("{s:s, s:i, s:f, s:f, s:f, s:f, s:f, s:i, s:i, s:i, s:f, s:f, s:b, s:f, s:f, s:f, s:f, s:i, "
                        "s:i, s:I, s:b, s:i, s:i, s:i}",
      "mode", o->forget ? "unlearn" : "train", "forget_loss", (int)o->obj.forget, "beta", o->obj.beta, "delta",
      o->obj.delta, "w_forget", o->obj.w_forget, "w_retain", o->obj.w_retain, "w_kl", o->obj.w_kl, "kl", (int)o->obj.kl,
      "batch", o->batch, "grad_accum", o->grad_accum, "lr", o->lr, "weight_decay", o->weight_decay, "adamw", o->adamw,
      "beta1", o->beta1, "beta2", o->beta2, "adam_eps", o->adam_eps, "max_grad_norm", o->max_grad_norm, "schedule",
      (int)o->schedule, "warmup_steps", o->warmup_steps, "seed", (json_int_t)o->seed, "full", o->full, "n_sequences",
      d->n, "answer_tokens", d->n_answer_tokens, "max_len", o->max_len);
  json_object_set_new(f, "append_eos", json_boolean(o->append_eos));
  if (o->obj.forget == LETHE_FORGET_SATIMP) {
    json_object_set_new(f, "sat_beta1", json_real(o->obj.sat_beta1));
    json_object_set_new(f, "sat_beta2", json_real(o->obj.sat_beta2));
  }
  if (o->obj.forget == LETHE_FORGET_CEU) json_object_set_new(f, "skip_first", json_integer(o->obj.skip_first));
  if (o->obj.adaptive_retain) json_object_set_new(f, "adaptive_retain", json_true());
  if (o->obj.forget == LETHE_FORGET_RMU) {
    json_object_set_new(f, "rmu_layer", json_integer(o->obj.rmu_layer));
    json_object_set_new(f, "rmu_coeff", json_real(o->obj.rmu_coeff));
  }
  if (o->full && o->train_layers) {
    json_object_set_new(f, "train_layers", json_string(o->train_layers));
    json_object_set_new(f, "train_modules", json_string(o->train_modules ? o->train_modules : "all"));
  }
  if (o->schedule_data == LETHE_DATA_SEQUENTIAL) {
    json_object_set_new(f, "schedule_data", json_string("sequential"));
    json_object_set_new(f, "forget_chunk", json_integer(o->forget_chunk));
    json_object_set_new(f, "retain_per_forget", json_integer(o->retain_per_forget));
  }
  if (!o->full) {
    json_object_set_new(f, "lora_rank", json_integer(o->lora_rank));
    json_object_set_new(f, "lora_alpha", json_real(o->lora_alpha));
    /* the adapted modules by name: q_proj,... or PEFT's full module names when layers differ */
    json_t *names = json_array();
    char *t = targets ? strdup(targets) : NULL, *save = NULL;
    for (char *tok = t ? strtok_r(t, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
      json_array_append_new(names, json_string(tok));
    free(t);
    json_object_set_new(f, "lora_targets", names);
    json_object_set_new(f, "rslora", json_boolean(o->rslora));
  }
  if (o->schedule != LETHE_SCHED_CONSTANT || o->max_steps) {
    json_object_set_new(f, "epochs", json_integer(o->epochs));
    json_object_set_new(f, "max_steps", json_integer(o->max_steps));
  }
  if (ev->on) { /* what a resumed run must evaluate and select the same way */
    json_object_set_new(f, "eval_every", json_integer(ev->every_epochs));
    json_object_set_new(f, "eval_every_steps", json_integer(ev->every_steps));
    json_object_set_new(f, "select_best", json_boolean(ev->select_best));
    json_object_set_new(f, "early_stop", json_integer(ev->early_stop));
    json_object_set_new(f, "eval_rows", json_integer((json_int_t)ev->forget.n + (json_int_t)ev->retain.n));
    json_object_set_new(f, "eval_max_new", json_integer(ev->eo.max_new));
  }
  char *s = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(f);
  return s;
}

void lethe_run_state_free(lethe_run_state *r) {
  lethe_run_eval_free(&r->ev);
  if (r->log) fclose(r->log);
  free(r->log_path);
  free(r->fp);
  lethe_trainer_free(r->tr);
  lethe_lora_free(r->lora);
  lethe_tokset_free(&r->data);
  lethe_rowset_free(&r->forget);
  lethe_rowset_free(&r->retain);
  if (!r->borrowed) {
    lethe_tokenizer_free(r->tok);
    lethe_model_free(r->m);
  }
}

/* The end-of-sequence id appended to each row when o->append_eos: the model's first eos id, else
 * the tokenizer's; -1 when neither has one or the option is off. */
static int eos_for(const lethe_train_opts *o, const lethe_model *m, const lethe_tokenizer *tok) {
  if (!o->append_eos) return -1;
  const lethe_config *c = lethe_model_config(m);
  if (c->n_eos > 0) return c->eos_ids[0];
  return lethe_tokenizer_eos_id(tok);
}

static lethe_status validate(const lethe_train_opts *o) {
  if (!o->model) return lethe_fail(LETHE_ERR_INVALID, "no model given");
  if (!o->out) return lethe_fail(LETHE_ERR_INVALID, "no output directory given");
  if (!o->forget && !o->data)
    return lethe_fail(LETHE_ERR_INVALID, "no data given (--forget for unlearn, --data for train)");
  if (o->epochs < 1 || o->batch < 1 || o->grad_accum < 1)
    return lethe_fail(LETHE_ERR_INVALID, "epochs, batch and grad-accum must be at least 1");
  if (o->max_len < 2) return lethe_fail(LETHE_ERR_INVALID, "max-len must be at least 2");
  if (o->lr_auto && o->full)
    return lethe_fail(
        LETHE_ERR_INVALID, "--lr auto searches an adapter's learning rate; not with full-parameter training");
  if (!(o->lr >= 0) || !(o->obj.beta > 0)) return lethe_fail(LETHE_ERR_INVALID, "lr must be >= 0 and beta > 0");
  if (o->lora_dropout != 0)
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "LoRA dropout is not supported in training (use 0)");
  if (o->train_layers && !o->full)
    return lethe_fail(LETHE_ERR_INVALID, "--train-layers selects full-parameter training (--train full)");
  return LETHE_OK;
}

/* Data parallelism: rank 0 read the checkpoint (or found none); every rank gets its state. */
static lethe_status share_resume(const lethe_comm *c, lethe_trainer *t, int *found, double *elapsed) {
  if (lethe_comm_size(c) <= 1) return LETHE_OK;
  double pos[7] = {(double)*found, *elapsed, (double)t->step, (double)t->epoch, (double)t->step_in_epoch, t->adapt_sum,
      t->adapt_count};
  LETHE_TRY(lethe_comm_bcast(c, pos, sizeof pos, 0));
  *found = (int)pos[0];
  if (!*found) return LETHE_OK;
  *elapsed = pos[1];
  t->step = (int64_t)pos[2];
  t->epoch = (int)pos[3];
  t->step_in_epoch = (int)pos[4];
  t->adapt_sum = pos[5];
  t->adapt_count = pos[6];
  float *bufs[3] = {t->params, t->adam_m, t->adam_v};
  for (int i = 0; i < 3; i++) LETHE_TRY(lethe_comm_bcast(c, bufs[i], sizeof(float) * t->n_params, 0));
  t->synced_step = -1; /* a trained subset is scattered into the model before the next step */
  return LETHE_OK;
}

#define say(o, ...) lethe_say((o)->progress, __VA_ARGS__)

lethe_status lethe_train_run(const lethe_train_opts *o) { return lethe_train_run_shared(o, NULL); }

/* A run: setup (below), the step loop (run_steps.c), the results (run_results.c). */
lethe_status lethe_train_run_shared(const lethe_train_opts *o, lethe_train_shared *sh) {
  lethe_run_state r;
  memset(&r, 0, sizeof r);
  lethe_status s = lethe_run_setup(&r, o, sh);
  if (!s) s = lethe_run_steps(&r);
  if (!s) s = lethe_run_results(&r);
  lethe_run_state_free(&r);
  return s;
}

lethe_status lethe_run_setup(lethe_run_state *r, const lethe_train_opts *o_in, lethe_train_shared *sh) {
  LETHE_TRY(validate(o_in));
  /* under data parallelism only rank 0 prints and writes */
  const int rank0 = lethe_comm_rank(o_in->comm) == 0, world = lethe_comm_size(o_in->comm);
  r->rank0 = rank0, r->world = world;
  r->o = *o_in;
  if (!rank0) r->o.progress = NULL;
  const lethe_train_opts *o = &r->o;
  /* full-parameter and merged runs change the model's weights: they load their own */
  if (!o->forget || o->full || o->merge) sh = NULL;
  r->sh = sh;
  r->nll_f0 = r->nll_r0 = NAN;
  lethe_status s = LETHE_OK;
  r->t0 = lethe_now_s();
  r->log_path = lethe_path_join(o->out, "train_log.jsonl");
  char *targets = NULL; /* the adapted modules' names, for run.json */
  char *mkey = NULL, *rkey = NULL;
  if ((s = lethe_run_eval_open(&r->ev, o))) goto done;
  if (rank0 && (s = lethe_run_dir_open(o))) goto done;
  if (sh && !(mkey = lethe_shared_key(
                  "%s\n%s\n%s", o->model, o->tokenizer ? o->tokenizer : "", o->device ? o->device : "cpu"))) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  if (sh && sh->m && !strcmp(sh->model_key, mkey)) {
    r->m = sh->m, r->tok = sh->tok, r->borrowed = r->model_reused = 1;
  } else {
    if ((s = lethe_model_load(o->model, &r->m))) goto done;
    if (o->device && (s = lethe_model_to_device(r->m, o->device))) goto done;
    if ((s = lethe_model_tokenizer(o->model, o->tokenizer, &r->tok))) goto done;
    if (sh) { /* the shared model from now on; a reference cache of another model is dropped */
      lethe_tokenizer_free(sh->tok);
      lethe_model_free(sh->m);
      free(sh->model_key);
      free(sh->ref_key);
      sh->ref_key = NULL;
      sh->m = r->m, sh->tok = r->tok, sh->model_key = mkey, mkey = NULL;
      sh->model_loads++;
      r->borrowed = 1;
    }
  }
  if (o->forget) {
    if ((s = lethe_rowset_load_max(o->forget, 0, (size_t)o->max_line_bytes, &r->forget))) goto done;
    if (o->retain && (s = lethe_rowset_load_max(o->retain, 0, (size_t)o->max_line_bytes, &r->retain))) goto done;
    s = lethe_tokset_build(
        r->tok, &r->forget, o->retain ? &r->retain : NULL, o->max_len, eos_for(o, r->m, r->tok), &r->data);
  } else {
    s = lethe_rowset_load_max(o->data, o->data_docs, (size_t)o->max_line_bytes, &r->retain);
    if (!s && o->retain) { /* train: more rows learned with data (lethe train --data-dir: forget + retain) */
      lethe_rowset more;
      s = lethe_rowset_load_max(o->retain, o->data_docs, (size_t)o->max_line_bytes, &more);
      if (!s) {
        s = lethe_rowset_append(&r->retain, &more);
        lethe_rowset_free(&more);
      }
    }
    if (!s) s = lethe_tokset_build(r->tok, NULL, &r->retain, o->max_len, eos_for(o, r->m, r->tok), &r->data);
  }
  if (s) goto done;
  for (int i = 0; i < r->data.n; i++) r->n_forget += r->data.split[i] == LETHE_SPLIT_FORGET;
  say(o, "data: %d sequences (%d forget, %d retain), %d answer tokens, longest %d tokens\n", r->data.n, r->n_forget,
      r->data.n - r->n_forget, r->data.n_answer_tokens, r->data.max_len);
  if (r->data.n_truncated)
    say(o, "warning: %d rows longer than --max-len %d were cut\n", r->data.n_truncated, o->max_len);
  if (r->data.n_skipped) say(o, "warning: %d rows have no answer token left and were skipped\n", r->data.n_skipped);
  if (o->forget && r->n_forget == 0) {
    s = lethe_fail(LETHE_ERR_INVALID, "%s: no forget row has an answer token to train on", o->forget);
    goto done;
  }
  int bad_seq = 0, bad_id = lethe_tokset_first_outside(&r->data, r->m->cfg.vocab_size, &bad_seq);
  if (bad_id >= 0) {
    const lethe_rowset *rs = r->data.split[bad_seq] == LETHE_SPLIT_FORGET ? &r->forget : &r->retain;
    s = lethe_fail(LETHE_ERR_INVALID,
        "%s, row %d: the tokenizer %s gives token id %d, outside the vocabulary of the model %s (%d ids): "
        "is it the model's tokenizer?",
        rs->path ? rs->path : "data", r->data.row[bad_seq] + 1, o->tokenizer ? o->tokenizer : "(the model's)", bad_id,
        o->model, r->m->cfg.vocab_size);
    goto done;
  }
  if (r->data.max_len > r->m->cfg.max_seq_len) {
    s = lethe_fail(LETHE_ERR_INVALID, "rows of %d tokens exceed the model's context of %d; use --max-len %d",
        r->data.max_len, r->m->cfg.max_seq_len, r->m->cfg.max_seq_len);
    goto done;
  }
  if (!o->full) {
    unsigned *lt = calloc((size_t)r->m->cfg.n_layers, sizeof *lt);
    if (!lt) {
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      goto done;
    }
    if (!(s = lethe_lora_targets_from_list(o->lora_targets, &r->m->cfg, lt)) &&
        !(targets = lethe_lora_targets_describe(lt, r->m->cfg.n_layers)))
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    lethe_lora_config lc = {.rank = o->lora_rank,
        .alpha = o->lora_alpha,
        .rslora = o->rslora,
        .layer_targets = lt,
        .init = o->lora_init_kaiming ? LETHE_LORA_INIT_KAIMING : LETHE_LORA_INIT_XAVIER,
        .dropout = 0};
    if (!s) s = lethe_lora_create(&r->m->cfg, &lc, o->seed, &r->lora);
    free(lt);
    if (s) goto done;
    if ((s = lethe_lora_to_device(r->lora, r->m))) goto done;
  }
  size_t n_subset = 0; /* parameters of a trained subset (its frozen copy is in the plan) */
  if (o->full && o->train_layers) {
    int lo, hi;
    unsigned mods = lethe_train_modules_parse(o->train_modules ? o->train_modules : "all");
    if (mods && !lethe_train_layers_parse(o->train_layers, r->m->cfg.n_layers, &lo, &hi) &&
        lethe_config_count_selected(&r->m->cfg, lo, hi, mods, &n_subset))
      n_subset = 0; /* the selection's own errors come below */
    lethe_clear_error();
  }
  if ((!o->device || !strncmp(o->device, "cpu", 3)) &&
      (s = lethe_train_memory_check(r->m, r->lora, n_subset, &r->data, o->batch, o->recompute,
           lethe_obj_needs_ref_hidden(&o->obj) || (lethe_obj_needs_ref(&o->obj) && o->no_ref_cache),
           lethe_machine_memory_bytes())))
    goto done;
  if (o->forget && rank0) {
    double mean[LETHE_SPLIT_COUNT];
    if ((s = lethe_split_mean_nll(r->m, NULL, &r->data, o->batch, mean))) goto done;
    r->nll_f0 = mean[LETHE_SPLIT_FORGET];
    r->nll_r0 = mean[LETHE_SPLIT_RETAIN];
    say(o, "before: forget answer NLL %.4f, retain answer NLL %.4f\n", r->nll_f0, r->nll_r0);
  }
  lethe_trainer_cfg tc = {.obj = o->obj,
      .batch = o->batch,
      .grad_accum = o->grad_accum,
      .epochs = o->epochs,
      .max_steps = o->max_steps,
      .lr = o->lr,
      .weight_decay = o->weight_decay,
      .beta1 = o->beta1,
      .beta2 = o->beta2,
      .eps = o->adam_eps,
      .max_grad_norm = o->max_grad_norm,
      .adamw = o->adamw,
      .schedule = o->schedule,
      .warmup_steps = o->warmup_steps,
      .seed = o->seed,
      .no_ref_cache = o->no_ref_cache,
      .recompute = o->recompute,
      .schedule_data = o->schedule_data,
      .forget_chunk = o->forget_chunk,
      .retain_per_forget = o->retain_per_forget,
      .comm = o->comm};
  if (o->full && o->train_layers) {
    const char *mods = o->train_modules ? o->train_modules : "all";
    tc.train_modules = lethe_train_modules_parse(mods);
    if (!tc.train_modules) {
      s = lethe_fail(LETHE_ERR_INVALID, "--train-modules '%s': expected mlp, attn or all", mods);
      goto done;
    }
    if ((s = lethe_train_layers_parse(o->train_layers, r->m->cfg.n_layers, &tc.train_lo, &tc.train_hi))) goto done;
    say(o, "training the full parameters of layers %d-%d (%s)\n", tc.train_lo, tc.train_hi, mods);
  }
  int n_answer = 0;
  for (int i = 0; i < r->data.n; i++) n_answer += lethe_tokset_answer_count(&r->data, i);
  if (sh) {
    rkey = lethe_shared_key("%s\n%s\n%s\n%d %d %d %lld %d", sh->model_key, o->forget, o->retain ? o->retain : "",
        o->max_len, o->batch, eos_for(o, r->m, r->tok), (long long)o->max_line_bytes, omp_get_max_threads());
    if (!rkey) {
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      goto done;
    }
    if (sh->ref_key && !strcmp(sh->ref_key, rkey) && sh->ref_n == n_answer)
      tc.ref_cache_in = sh->ref, r->ref_reused = 1;
  }
  double tc0 = lethe_now_s();
  if ((s = lethe_trainer_create(r->m, r->lora, &r->data, &tc, &r->tr))) goto done;
  if (world > 1)
    say(o, "data parallel: %d ranks, global batch %d (%d per rank at most)\n", world, o->batch,
        (o->batch + world - 1) / world);
  r->tr->cfg.ref_cache_in = NULL;
  if (r->tr->ref_cache)
    say(o, "reference cache: %d answer tokens %s in %.1fs (adapter off)\n", r->tr->ref_off[r->data.n],
        r->ref_reused ? "reused from the previous run" : "computed", lethe_now_s() - tc0);
  if (sh && r->tr->ref_cache && !r->ref_reused) { /* kept for the next run of the sweep */
    float *keep = malloc(sizeof(float) * (size_t)(n_answer ? n_answer : 1));
    if (keep) {
      memcpy(keep, r->tr->ref_cache, sizeof(float) * (size_t)n_answer);
      free(sh->ref);
      free(sh->ref_key);
      sh->ref = keep, sh->ref_n = n_answer, sh->ref_key = rkey, rkey = NULL;
      sh->ref_builds++;
    }
  }
  r->tr->fault_nan_step = o->fault_nan_step;
  lethe_train_opts oo = *o; /* with the rate --lr auto chose */
  if (o->lr_auto) {
    if (!r->lora) {
      s = lethe_fail(LETHE_ERR_INVALID, "--lr auto needs an adapter");
      goto done;
    }
    if ((s = lethe_lr_search(r->tr, &r->ev, r->tok, o->out, o->resume != NULL, o->progress, &oo.lr))) goto done;
    r->ev.seconds = 0; /* the search's evaluations are in its own time (lr_search.json) */
  }
  r->lr = oo.lr;
  r->fp = fingerprint(&oo, &r->data, targets, &r->ev);
  if (!r->fp) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory building the run's fingerprint");
    goto done;
  }
  free(targets);
  targets = NULL;
  if ((s = lethe_checkpoint_fingerprint_inputs(
           &r->fp, o->model, o->tokenizer, o->forget, o->retain, o->data, omp_get_max_threads())))
    goto done;
  if (o->resume) {
    int found = 0;
    if (rank0 && (s = lethe_checkpoint_recover(o->resume, &found))) goto done;
    if (rank0 && found && (s = lethe_checkpoint_load(r->tr, o->resume, r->fp, &r->elapsed0))) goto done;
    if ((s = share_resume(o->comm, r->tr, &found, &r->elapsed0))) goto done;
    if (found)
      say(o, "resumed from %s/checkpoint at step %lld (epoch %d)\n", o->resume, (long long)r->tr->step,
          r->tr->epoch + 1);
    else
      say(o, "%s has no checkpoint yet: starting the run from the beginning\n", o->resume);
    if (rank0 && (s = lethe_train_log_trim(r->log_path, r->tr->step))) goto done;
    r->resumed = found;
  }
  if ((s = lethe_run_eval_start(&r->ev, o->out, r->tr->n_params, r->resumed, r->tr->step))) goto done;
  if (r->resumed && (s = lethe_run_eval_load(&r->ev, o->out, r->tr->step))) goto done;
  r->log = rank0 ? fopen(r->log_path, o->resume ? "a" : "w") : NULL;
  if (rank0 && !r->log) {
    s = lethe_fail(LETHE_ERR_IO, "%s: cannot write the training log", r->log_path);
    goto done;
  }
done:
  free(targets);
  free(mkey);
  free(rkey);
  return s;
}
