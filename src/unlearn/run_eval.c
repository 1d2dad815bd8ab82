/* unlearn/run_eval.c: evaluation while training, best-so-far selection and early stopping (see
 * run_eval.h). Each evaluation is lethe_eval_scores, the function `lethe eval` scores with; under
 * data parallelism its work is split over the ranks, rank 0's scores are broadcast so that every
 * rank takes the same selection and early-stopping decisions, and rank 0 alone writes. */
#include "unlearn/run_eval.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval_scores.h"
#include "io/safetensors.h"
#include "lethe/util.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/jsonl.h"
#include "util/rng.h"

/* A documents file is checked by loading it (missing, empty, not JSONL: one message naming it). */
static lethe_status check_docs(const char *path) {
  lethe_rowset d;
  LETHE_TRY(lethe_docs_load(path, &d));
  lethe_rowset_free(&d);
  return LETHE_OK;
}

/* Keeps a fixed, seeded subset of `limit` test questions of each subject (in file order): the same
 * questions in every evaluation and every run, whatever the run's seed. */
static lethe_status mmlu_subset(lethe_mmlu_set *set, size_t limit) {
  for (size_t si = 0; si < set->n_subjects; si++) {
    lethe_mmlu_subject *sub = &set->subjects[si];
    if (sub->n_test <= limit) continue;
    int n = (int)sub->n_test, *idx = malloc(sizeof(int) * (size_t)n);
    unsigned char *keep = calloc((size_t)n, 1);
    if (!idx || !keep) {
      free(idx);
      free(keep);
      return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) idx[i] = i;
    lethe_rng r;
    lethe_rng_seed(&r, 0x6d6d6c75ull + si); /* fixed: "mmlu" + the subject's place */
    lethe_rng_shuffle(&r, idx, n);
    for (size_t k = 0; k < limit; k++) keep[idx[k]] = 1;
    size_t w = 0;
    for (int i = 0; i < n; i++) {
      if (keep[i])
        sub->test[w++] = sub->test[i];
      else {
        free(sub->test[i].question);
        for (int c = 0; c < 4; c++) free(sub->test[i].choices[c]);
      }
    }
    sub->n_test = w;
    free(idx);
    free(keep);
  }
  return LETHE_OK;
}

lethe_status lethe_run_eval_open(lethe_run_eval *e, const lethe_train_opts *o) {
  memset(e, 0, sizeof *e);
  int any_set = o->eval_forget || o->eval_retain || o->mia_members || o->mia_nonmembers || o->mmlu_dir;
  if (o->eval_every < 0 || o->eval_every_steps < 0)
    return lethe_fail(LETHE_ERR_INVALID, "--eval-every and --eval-every-steps must be at least 1");
  if (o->eval_every && o->eval_every_steps)
    return lethe_fail(LETHE_ERR_INVALID, "give --eval-every (epochs) or --eval-every-steps, not both");
  int every = o->eval_every || o->eval_every_steps;
  if (o->lr_auto && !every) every = 1; /* --lr auto evaluates every epoch unless told otherwise */
  if (!every && any_set)
    return lethe_fail(LETHE_ERR_INVALID,
        "evaluation sets were given but no schedule: add --eval-every K (epochs) or --eval-every-steps K");
  if (!every && o->select == LETHE_SELECT_BEST)
    return lethe_fail(LETHE_ERR_INVALID,
        "--select best needs something to evaluate on: add --eval-every K (and the evaluation sets)");
  if (!every && o->early_stop)
    return lethe_fail(LETHE_ERR_INVALID, "--early-stop needs evaluation: add --eval-every K");
  if (o->early_stop < 0) return lethe_fail(LETHE_ERR_INVALID, "--early-stop must be >= 0");
  if (o->early_stop && o->select == LETHE_SELECT_LAST)
    return lethe_fail(
        LETHE_ERR_INVALID, "--early-stop stops at the best evaluation's patience; it needs --select best");
  if ((o->mia_members == NULL) != (o->mia_nonmembers == NULL))
    return lethe_fail(LETHE_ERR_INVALID, "MIA needs both --mia-members and --mia-nonmembers");
  if (o->mmlu_limit < 0 || o->eval_max_new < 0 || o->eval_batch < 0)
    return lethe_fail(LETHE_ERR_INVALID, "--mmlu-limit, --eval-max-new and --eval-batch must be >= 0");
  if (!every) return LETHE_OK;
  e->on = 1;
  e->every_epochs = o->eval_every || o->eval_every_steps ? o->eval_every : 1;
  e->every_steps = o->eval_every_steps;
  e->select_best = o->select != LETHE_SELECT_LAST;
  e->early_stop = o->early_stop;
  lethe_eval_opts_default(&e->eo);
  e->eo.progress = NULL; /* one line per evaluation, printed here */
  e->eo.table = NULL;
  if (o->eval_max_new) e->eo.max_new = o->eval_max_new;
  if (o->eval_batch) e->eo.batch = o->eval_batch;
  e->eo.mia_members = o->mia_members;
  e->eo.mia_nonmembers = o->mia_nonmembers;
  e->eo.model = o->model; /* its generation_config.json stops generation where lethe eval does */
  e->eo.comm = o->comm;   /* every rank evaluates its share */
  /* default sets: what the run trains on (rows only: documents have no answers to generate) */
  const char *f = o->eval_forget ? o->eval_forget : o->forget;
  const char *r = o->eval_retain ? o->eval_retain : o->forget ? o->retain : (o->data_docs ? NULL : o->data);
  lethe_status s = LETHE_OK;
  if (f) {
    s = lethe_rows_load(f, &e->forget);
    if (s) return lethe_fail_context(s, "evaluation forget rows");
    e->has_forget = 1;
  }
  if (r) {
    s = lethe_rows_load(r, &e->retain);
    if (s) {
      lethe_run_eval_free(e);
      return lethe_fail_context(s, "evaluation retain rows");
    }
    e->has_retain = 1;
  }
  if (!f && !r) {
    lethe_run_eval_free(e);
    return lethe_fail(
        LETHE_ERR_INVALID, "nothing to evaluate on: training documents have no answers; give --eval-retain rows");
  }
  if (o->mia_members && ((s = check_docs(o->mia_members)) || (s = check_docs(o->mia_nonmembers)))) {
    lethe_run_eval_free(e);
    return s;
  }
  if (o->mmlu_dir) {
    lethe_mmlu_opts mo = {.limit = 0, .literal_text = 0};
    if ((s = lethe_mmlu_load(o->mmlu_dir, &mo, &e->mmlu))) {
      lethe_run_eval_free(e);
      return s;
    }
    e->has_mmlu = 1;
    if (o->mmlu_limit > 0 && (s = mmlu_subset(&e->mmlu, (size_t)o->mmlu_limit))) {
      lethe_run_eval_free(e);
      return s;
    }
  }
  return LETHE_OK;
}

lethe_status lethe_run_eval_start(lethe_run_eval *e, const char *out, size_t n_params, int resuming, int64_t step) {
  if (!e->on) return LETHE_OK;
  e->n_params = n_params;
  if (e->select_best) {
    e->best_params = malloc(sizeof(float) * (n_params ? n_params : 1));
    if (!e->best_params)
      return lethe_fail(LETHE_ERR_NOMEM, "out of memory for a copy of the best parameters (%zu floats)", n_params);
  }
  e->log_path = lethe_path_join(out, "eval_log.jsonl");
  if (lethe_comm_rank(e->eo.comm) != 0) return LETHE_OK; /* rank 0 writes the log */
  if (resuming) LETHE_TRY(lethe_jsonl_keep_steps(e->log_path, step));
  e->log = fopen(e->log_path, resuming ? "a" : "w");
  if (!e->log) return lethe_fail(LETHE_ERR_IO, "%s: cannot write the evaluation log", e->log_path);
  return LETHE_OK;
}

int lethe_run_eval_due(const lethe_run_eval *e, const lethe_trainer *t, int finished) {
  if (!e->on) return 0;
  if (finished) return 1;
  if (e->every_steps) return t->step % e->every_steps == 0;
  return t->step_in_epoch == 0 && t->epoch % e->every_epochs == 0;
}

static void fmt(char *b, size_t n, double v, const char *f) {
  if (isfinite(v))
    snprintf(b, n, f, v);
  else
    snprintf(b, n, "-");
}

lethe_status lethe_run_eval_measure(
    lethe_run_eval *e, lethe_trainer *t, const lethe_tokenizer *tok, lethe_eval_point *p) {
  double t0 = lethe_now_s();
  lethe_eval_rows rows;
  lethe_mmlu_tally tally;
  lethe_eval_results res;
  LETHE_TRY(lethe_eval_scores(&e->eo, t->m, t->lora, tok, e->has_forget ? &e->forget : NULL,
      e->has_retain ? &e->retain : NULL, e->has_mmlu ? &e->mmlu : NULL, &rows, &tally, &res, NULL));
  memset(p, 0, sizeof *p);
  lethe_eval_point_from(&res, p);
  lethe_eval_results_free(&res);
  lethe_mmlu_tally_free(&tally);
  lethe_eval_rows_free(&rows);
  p->step = t->step;
  p->epoch = t->epoch + (double)t->step_in_epoch / t->steps_per_epoch;
  p->seconds = lethe_now_s() - t0;
  /* every rank holds the same gathered results; rank 0's point is everyone's, so the decisions
   * taken from it cannot differ */
  LETHE_TRY(lethe_comm_bcast(e->eo.comm, p, sizeof *p, 0));
  e->seconds += p->seconds;
  return LETHE_OK;
}

lethe_status lethe_run_eval_now(
    lethe_run_eval *e, lethe_trainer *t, const lethe_tokenizer *tok, FILE *progress, int *stop) {
  lethe_eval_point p;
  LETHE_TRY(lethe_run_eval_measure(e, t, tok, &p));
  e->n_evals++;
  e->last = p;
  int better = !e->has_best || (isfinite(p.final) && !(p.final <= e->best.final));
  if (better) {
    e->best = p;
    e->has_best = 1;
    e->since_best = 0;
    if (e->best_params) {
      const lethe_ops *o = t->m->ops;
      if (o->host_visible)
        memcpy(e->best_params, t->params, sizeof(float) * t->n_params);
      else
        o->download(e->best_params, t->params, sizeof(float) * t->n_params);
    }
  } else {
    e->since_best++;
  }
  if (e->log) LETHE_TRY(lethe_eval_log_append(e->log, e->log_path, &p));
  if (progress) {
    char fr[16], fk[16], rr[16], rk[16], ag[16], au[16], ms[16], mm[16], fi[16];
    fmt(fr, sizeof fr, p.forget_regurgitation, "%.3f");
    fmt(fk, sizeof fk, p.forget_knowledge, "%.3f");
    fmt(rr, sizeof rr, p.retain_regurgitation, "%.3f");
    fmt(rk, sizeof rk, p.retain_knowledge, "%.3f");
    fmt(ag, sizeof ag, p.task_aggregate, "%.4f");
    fmt(au, sizeof au, p.mia_auc, "%.3f");
    fmt(ms, sizeof ms, p.mia_score, "%.3f");
    fmt(mm, sizeof mm, p.mmlu, "%.3f");
    fmt(fi, sizeof fi, p.final, "%.4f");
    fprintf(progress,
        "eval epoch %.4g step %" PRId64 " | forget %s/%s retain %s/%s | aggregate %s | MIA AUC %s score %s", p.epoch,
        p.step, fr, fk, rr, rk, ag, au, ms);
    if (e->has_mmlu) fprintf(progress, " | MMLU %s", mm);
    fprintf(progress, " | final %s%s | %.1fs\n", fi, better && e->select_best ? " (best)" : "", p.seconds);
    fflush(progress);
  }
  *stop = e->early_stop > 0 && e->since_best >= e->early_stop;
  return LETHE_OK;
}

static char *sel_path(const char *out, int64_t step, const char *ext) {
  char name[64];
  snprintf(name, sizeof name, "selection/step-%" PRId64 ".%s", step, ext);
  return lethe_path_join(out, name);
}

/* The selection state's point: [step, epoch, the scores of lethe_eval_point_keys..., seconds]. */
static json_t *point_json(const lethe_eval_point *p) {
  lethe_eval_point c = *p;
  json_t *a = json_array();
  json_array_append_new(a, json_real((double)c.step));
  json_array_append_new(a, isfinite(c.epoch) ? json_real(c.epoch) : json_null());
  for (int k = 0; k < LETHE_EVAL_POINT_NSCORES; k++) {
    double v = *lethe_eval_point_score(&c, k);
    json_array_append_new(a, isfinite(v) ? json_real(v) : json_null());
  }
  json_array_append_new(a, isfinite(c.seconds) ? json_real(c.seconds) : json_null());
  return a;
}

static lethe_status point_read(const json_t *a, const char *path, lethe_eval_point *p) {
  size_t n = 3 + LETHE_EVAL_POINT_NSCORES;
  if (!json_is_array(a) || json_array_size(a) != n)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: a point must be an array of %zu numbers", path, n);
  for (size_t i = 0; i < n; i++) {
    json_t *x = json_array_get(a, i);
    if (!json_is_number(x) && !json_is_null(x))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: a point holds a non-number", path);
    double d = json_is_null(x) ? NAN : json_number_value(x);
    if (i == 0)
      p->step = (int64_t)d;
    else if (i == 1)
      p->epoch = d;
    else if (i == n - 1)
      p->seconds = d;
    else
      *lethe_eval_point_score(p, (int)i - 2) = d;
  }
  return LETHE_OK;
}

lethe_status lethe_run_eval_save(const lethe_run_eval *e, const char *out, int64_t step) {
  if (!e->on) return LETHE_OK;
  char *dir = lethe_path_join(out, "selection"), *sp = sel_path(out, step, "safetensors"),
       *jp = sel_path(out, step, "json");
  lethe_status s = lethe_make_dirs(dir);
  if (!s && e->best_params && e->has_best) {
    lethe_st_entry en = {
        .name = "best", .dtype = LETHE_DT_F32, .ndim = 1, .shape = {(int64_t)e->n_params}, .src = e->best_params};
    s = lethe_st_write(sp, &en, 1, NULL);
  }
  if (!s) {
    json_t *j =
        json_pack("{s:I, s:i, s:b, s:i, s:o, s:o}", "step", (json_int_t)step, "evaluations", e->n_evals, "has_best",
            e->has_best, "since_best", e->since_best, "best", point_json(&e->best), "last", point_json(&e->last));
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j);
    s = text ? lethe_write_file_atomic(jp, text, strlen(text)) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    free(text);
  }
  free(dir);
  free(sp);
  free(jp);
  return s;
}

void lethe_run_eval_prune(const char *out, int64_t keep_step) {
  char *dir = lethe_path_join(out, "selection");
  DIR *d = dir ? opendir(dir) : NULL;
  struct dirent *de;
  while (d && (de = readdir(d))) {
    long long st = -1;
    char ext[16];
    if (sscanf(de->d_name, "step-%lld.%15s", &st, ext) != 2 || st == keep_step) continue;
    char *p = lethe_path_join(dir, de->d_name);
    if (p) remove(p);
    free(p);
  }
  if (d) closedir(d);
  free(dir);
}

static lethe_status eval_load(lethe_run_eval *e, const char *out, int64_t step);

/* Rank 0 reads the selection state and every rank gets it (the ranks need not share a disk). */
lethe_status lethe_run_eval_load(lethe_run_eval *e, const char *out, int64_t step) {
  if (!e->on) return LETHE_OK;
  const lethe_comm *c = e->eo.comm;
  if (lethe_comm_rank(c) == 0) LETHE_TRY(eval_load(e, out, step));
  if (lethe_comm_size(c) <= 1) return LETHE_OK;
  double v[3] = {e->n_evals, e->since_best, e->has_best};
  LETHE_TRY(lethe_comm_bcast(c, v, sizeof v, 0));
  e->n_evals = (int)v[0];
  e->since_best = (int)v[1];
  e->has_best = (int)v[2];
  LETHE_TRY(lethe_comm_bcast(c, &e->best, sizeof e->best, 0));
  LETHE_TRY(lethe_comm_bcast(c, &e->last, sizeof e->last, 0));
  if (e->best_params && e->has_best) LETHE_TRY(lethe_comm_bcast(c, e->best_params, sizeof(float) * e->n_params, 0));
  return LETHE_OK;
}

static lethe_status eval_load(lethe_run_eval *e, const char *out, int64_t step) {
  char *sp = sel_path(out, step, "safetensors"), *jp = sel_path(out, step, "json");
  json_t *j = NULL;
  lethe_safetensors st;
  int st_open = 0;
  lethe_status s = LETHE_OK;
  if (!lethe_file_exists(jp)) {
    s = lethe_fail(LETHE_ERR_IO,
        "%s: missing: the checkpoint at step %" PRId64
        " has no evaluation state (was the run started with the same --eval-every?)",
        jp, step);
    goto done;
  }
  if ((s = lethe_json_load(jp, 1 << 20, &j))) goto done;
  int64_t n = 0, since = 0;
  int hb = 0;
  if ((s = lethe_json_int(j, "evaluations", 1, 0, INT32_MAX, jp, &n, NULL)) ||
      (s = lethe_json_int(j, "since_best", 1, 0, INT32_MAX, jp, &since, NULL)) ||
      (s = lethe_json_bool(j, "has_best", jp, &hb)))
    goto done;
  if ((s = point_read(json_object_get(j, "best"), jp, &e->best)) ||
      (s = point_read(json_object_get(j, "last"), jp, &e->last)))
    goto done;
  e->n_evals = (int)n;
  e->since_best = (int)since;
  e->has_best = hb;
  if (e->best_params && e->has_best) {
    if ((s = lethe_st_open(sp, &st))) goto done;
    st_open = 1;
    const lethe_st_tensor *tt = lethe_st_find(&st, "best");
    if (!tt || tt->numel != e->n_params) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: no tensor \"best\" of %zu values", sp, e->n_params);
      goto done;
    }
    s = lethe_st_to_f32(&st, tt, e->best_params, e->n_params);
  }
done:
  if (st_open) lethe_st_close(&st);
  json_decref(j);
  free(sp);
  free(jp);
  return s;
}

void lethe_run_eval_restore_best(const lethe_run_eval *e, lethe_trainer *t) {
  if (!e->best_params || !e->has_best) return;
  const lethe_ops *o = t->m->ops;
  if (o->host_visible)
    memcpy(t->params, e->best_params, sizeof(float) * t->n_params);
  else
    o->upload(t->params, e->best_params, sizeof(float) * t->n_params);
  lethe_trainer_sync_model(t);
}

static json_t *point_obj(const lethe_eval_point *p) {
  lethe_eval_point c = *p;
  json_t *o = json_object();
  json_object_set_new(o, "step", json_integer((json_int_t)c.step));
  json_object_set_new(o, "epoch", json_real(c.epoch));
  for (int k = 0; k < LETHE_EVAL_POINT_NSCORES; k++) {
    double v = *lethe_eval_point_score(&c, k);
    json_object_set_new(o, lethe_eval_point_keys[k], isfinite(v) ? json_real(v) : json_null());
  }
  return o;
}

json_t *lethe_run_eval_json(const lethe_run_eval *e, int early_stopped, double train_seconds) {
  json_t *j = json_object();
  json_object_set_new(j, "select", json_string(e->select_best ? "best" : "last"));
  json_object_set_new(j, "evaluations", json_integer(e->n_evals));
  json_object_set_new(j, "chosen", point_obj(e->select_best ? &e->best : &e->last));
  json_object_set_new(j, "best", point_obj(&e->best));
  json_object_set_new(j, "last", point_obj(&e->last));
  json_object_set_new(j, "early_stopped", json_boolean(early_stopped));
  json_object_set_new(j, "eval_seconds", json_real(e->seconds));
  json_object_set_new(j, "eval_fraction_of_training", json_real(train_seconds > 0 ? e->seconds / train_seconds : 0));
  return j;
}

void lethe_run_eval_free(lethe_run_eval *e) {
  if (e->log) fclose(e->log);
  free(e->log_path);
  free(e->best_params);
  if (e->has_forget) lethe_rowset_free(&e->forget);
  if (e->has_retain) lethe_rowset_free(&e->retain);
  if (e->has_mmlu) lethe_mmlu_free(&e->mmlu);
  memset(e, 0, sizeof *e);
}
