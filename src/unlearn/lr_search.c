/* unlearn/lr_search.c: `--lr auto` (see lr_search.h). Under data parallelism every rank runs the
 * same probes (the steps and evaluations are collective, their results identical on every rank);
 * rank 0 reads and writes lr_search.json and broadcasts a resumed choice. */
#include "unlearn/lr_search.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/util.h"
#include "util/error.h"
#include "util/json.h"

int lethe_lr_probe_epochs(int epochs) { return epochs / 4 > 1 ? epochs / 4 : 1; }

static void reset(lethe_trainer *t, const float *init, double lr, int64_t total) {
  const lethe_ops *o = t->m->ops;
  size_t nb = sizeof(float) * t->n_params;
  if (o->host_visible)
    memcpy(t->params, init, nb);
  else
    o->upload(t->params, init, nb);
  o->zero(t->adam_m, t->n_params);
  o->zero(t->adam_v, t->n_params);
  o->zero(t->grads, t->n_params);
  t->step = 0;
  t->epoch = 0;
  t->step_in_epoch = 0;
  t->order_epoch = -1;
  t->cfg.lr = lr;
  t->total_steps = total;
  t->adapt_sum = t->adapt_count = 0;
  lethe_trainer_sync_model(t);
}

static lethe_status read_choice(const char *path, double *lr) {
  json_t *j = NULL;
  LETHE_TRY(lethe_json_load(path, 1 << 20, &j));
  lethe_status s = lethe_json_num(j, "chosen_lr", 1, path, lr, NULL);
  if (!s && !(*lr > 0)) s = lethe_fail(LETHE_ERR_FORMAT, "%s: chosen_lr must be > 0", path);
  json_decref(j);
  return s;
}

lethe_status lethe_lr_search(lethe_trainer *t, lethe_run_eval *e, const lethe_tokenizer *tok, const char *out,
    int resuming, FILE *progress, double *lr) {
  char *path = lethe_path_join(out, "lr_search.json");
  lethe_status s = LETHE_OK;
  const lethe_comm *comm = t->cfg.comm;
  int rank0 = lethe_comm_rank(comm) == 0;
  if (resuming) {
    double found[2] = {0, 0}; /* the file was there, its chosen rate */
    if (rank0 && lethe_file_exists(path)) {
      found[0] = 1;
      s = read_choice(path, &found[1]);
    }
    if (!s) s = lethe_comm_bcast(comm, found, sizeof found, 0);
    if (s || found[0]) {
      if (!s) t->cfg.lr = *lr = found[1];
      free(path);
      return s;
    }
  }
  static const double cand[] = LETHE_LR_CANDIDATES;
  enum { NC = sizeof cand / sizeof *cand };
  int probe = lethe_lr_probe_epochs(t->cfg.epochs);
  int64_t total = t->total_steps, probe_steps = (int64_t)probe * t->steps_per_epoch;
  if (probe_steps > total) probe_steps = total;
  const lethe_ops *o = t->m->ops;
  float *init = malloc(sizeof(float) * (t->n_params ? t->n_params : 1));
  if (!init) {
    free(path);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory for --lr auto (%zu parameters)", t->n_params);
  }
  if (o->host_visible)
    memcpy(init, t->params, sizeof(float) * t->n_params);
  else
    o->download(init, t->params, sizeof(float) * t->n_params);
  double t0 = lethe_now_s();
  double score[NC];
  int best = -1;
  json_t *rows = json_array();
  if (progress)
    fprintf(progress, "lr auto: %d candidates, %lld steps (%d epochs) each, evaluated after every epoch\n", NC,
        (long long)probe_steps, probe);
  for (int c = 0; c < NC && !s; c++) {
    reset(t, init, cand[c], probe_steps);
    score[c] = -INFINITY;
    int finished = 0, best_epoch = 0;
    while (!finished && !s) {
      lethe_step_stats st;
      s = lethe_trainer_next(t, &st, &finished);
      if (s == LETHE_ERR_NUMERIC) { /* a rate that diverges is not a candidate */
        s = LETHE_OK;
        score[c] = -INFINITY;
        break;
      }
      if (!s && (t->step_in_epoch == 0 || finished)) {
        lethe_eval_point p;
        s = lethe_run_eval_measure(e, t, tok, &p);
        if (!s && isfinite(p.final) && p.final > score[c]) score[c] = p.final, best_epoch = t->epoch;
      }
    }
    if (s) break;
    if (progress) fprintf(progress, "lr auto: lr %g: best final %.4f (epoch %d)\n", cand[c], score[c], best_epoch);
    json_array_append_new(rows, json_pack("{s:f, s:o, s:i}", "lr", cand[c], "best_final",
                                    isfinite(score[c]) ? json_real(score[c]) : json_null(), "best_epoch", best_epoch));
    if (isfinite(score[c]) && (best < 0 || score[c] > score[best])) best = c;
  }
  if (!s && best < 0) s = lethe_fail(LETHE_ERR_NUMERIC, "--lr auto: every candidate learning rate diverged");
  if (!s) {
    *lr = cand[best];
    reset(t, init, *lr, total);
    double secs = lethe_now_s() - t0;
    if (progress)
      fprintf(
          progress, "lr auto: chose lr %g (search: %lld steps in %.1f s)\n", *lr, (long long)probe_steps * NC, secs);
    json_t *j = json_pack("{s:f, s:i, s:I, s:I, s:f, s:o}", "chosen_lr", *lr, "probe_epochs", probe, "probe_steps",
        (json_int_t)probe_steps, "total_steps", (json_int_t)probe_steps * NC, "seconds", secs, "candidates", rows);
    rows = NULL;
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(j);
    s = rank0 ? lethe_write_file_atomic(path, text, strlen(text)) : LETHE_OK;
    free(text);
  }
  json_decref(rows);
  free(init);
  free(path);
  return s;
}
