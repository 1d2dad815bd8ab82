/* unlearn/run_results.c: the results of a run (lethe_run_results, see run.h): with --select best the
 * best evaluation's parameters (the last ones saved as adapter-last/), the answer NLL after, the
 * adapter and/or the (merged) model with its tokenizer files, and run.json, written by rank 0. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/seq_nll.h"
#include "lethe/lora.h"
#include "unlearn/run.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/say.h"

static json_t *num_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* The tokenizer files to copy into a saved model directory: the given tokenizer.json (and its
 * tokenizer_config.json), else the model directory's. */
static int tokenizer_files(const char *tok_path, const char *model_path, char **files) {
  char *dir = NULL;
  int n = 0;
  if (tok_path) {
    size_t len = strlen(tok_path);
    if (len < 5 || strcmp(tok_path + len - 5, ".json") != 0) return 0; /* not a tokenizer.json */
    files[n++] = strdup(tok_path);
    const char *slash = strrchr(tok_path, '/');
    dir = slash ? strndup(tok_path, (size_t)(slash - tok_path)) : strdup(".");
  } else if (lethe_is_dir(model_path)) {
    dir = strdup(model_path);
    files[n++] = lethe_path_join(dir, "tokenizer.json");
  }
  if (dir) files[n++] = lethe_path_join(dir, "tokenizer_config.json");
  free(dir);
  return n;
}

#define say(o, ...) lethe_say((o)->progress, __VA_ARGS__)

lethe_status lethe_run_results(lethe_run_state *r) {
  const lethe_train_opts *o = &r->o;
  lethe_train_shared *sh = r->sh;
  const double elapsed0 = r->elapsed0, train_s = r->train_s;
  lethe_status s = LETHE_OK;
  /* Results: with --select best, the last parameters are saved as adapter-last/ and the best
   * evaluation's become the run's. */
  if (r->ev.on && r->ev.select_best) {
    if (r->lora && r->rank0) {
      char *ad = lethe_path_join(o->out, "adapter-last");
      s = lethe_lora_save(r->lora, o->model, ad);
      free(ad);
      if (s) return s;
    }
    lethe_run_eval_restore_best(&r->ev, r->tr);
    say(o, "selected: epoch %.4g, step %lld (final %.4f; last: epoch %.4g, final %.4f)\n", r->ev.best.epoch,
        (long long)r->ev.best.step, r->ev.best.final, r->ev.last.epoch, r->ev.last.final);
  }
  double nll_f1 = NAN, nll_r1 = NAN;
  if (!r->rank0) return LETHE_OK; /* the results are rank 0's to write */
  if (o->forget) {
    double mean[LETHE_SPLIT_COUNT];
    if ((s = lethe_split_mean_nll(r->m, r->lora, &r->data, o->batch, mean))) return s;
    nll_f1 = mean[LETHE_SPLIT_FORGET];
    nll_r1 = mean[LETHE_SPLIT_RETAIN];
    say(o, "after:  forget answer NLL %.4f, retain answer NLL %.4f\n", nll_f1, nll_r1);
  }
  if (r->lora) {
    char *ad = lethe_path_join(o->out, "adapter");
    s = lethe_lora_save(r->lora, o->model, ad);
    if (!s) say(o, "adapter: %s\n", ad);
    free(ad);
    if (s) return s;
  }
  if (o->full || o->merge) {
    if (r->lora && (s = lethe_lora_merge(r->m, r->lora))) return s;
    char *md = lethe_path_join(o->out, o->full ? "model" : "merged");
    char *files[2] = {NULL, NULL};
    int nf = tokenizer_files(o->tokenizer, o->model, files);
    s = lethe_model_save_with(r->m, md, o->save_dtype, (size_t)4 << 30, (const char *const *)files, nf);
    free(files[0]);
    free(files[1]);
    if (!s) say(o, "model: %s\n", md);
    free(md);
    if (s) return s;
  }
  json_t *run = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s, s:o, s:{s:i, s:i, s:i, s:i, s:i}, s:{s:I, s:f, s:f}}",
      "command", o->forget ? "unlearn" : "train", "model", o->model, "forget", o->forget, "retain", o->retain, "data",
      o->data, "method", o->method ? o->method : "", "options", json_loads(r->fp, 0, NULL), "data_stats", "sequences",
      r->data.n, "forget_sequences", r->n_forget, "answer_tokens", r->data.n_answer_tokens, "truncated",
      r->data.n_truncated, "skipped", r->data.n_skipped, "training", "steps", (json_int_t)r->tr->step, "seconds",
      elapsed0 + train_s, "total_seconds", lethe_now_s() - r->t0);
  /* how it ran; not in the resume fingerprint: recomputation gives the same numbers, and a run may
   * continue on another device (which changes only the rounding) */
  json_object_set_new(run, "device", json_string(o->device ? o->device : "cpu"));
  json_object_set_new(run, "recompute", json_boolean(o->recompute));
  json_object_set_new(run, "world_size", json_integer(r->world));
  json_object_set_new(run, "global_batch", json_integer(o->batch));
  if (o->forget)
    json_object_set_new(run, "answer_nll",
        json_pack("{s:o, s:o, s:o, s:o}", "forget_before", num_or_null(r->nll_f0), "forget_after", num_or_null(nll_f1),
            "retain_before", num_or_null(r->nll_r0), "retain_after", num_or_null(nll_r1)));
  if (o->lr_auto)
    json_object_set_new(run, "lr_auto", json_pack("{s:f, s:s}", "chosen_lr", r->lr, "search", "lr_search.json"));
  if (r->ev.on) json_object_set_new(run, "evaluation", lethe_run_eval_json(&r->ev, r->early_stopped, train_s));
  if (sh)
    json_object_set_new(run, "shared",
        json_pack("{s:b, s:b, s:i, s:i}", "model_reused", r->model_reused, "reference_cache_reused", r->ref_reused,
            "model_loads", sh->model_loads, "reference_cache_builds", sh->ref_builds));
  char *rj = json_dumps(run, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(run);
  char *rp = lethe_path_join(o->out, "run.json");
  s = rj && rp ? lethe_write_file_atomic(rp, rj, strlen(rj))
               : lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory writing run.json", o->out);
  free(rp);
  free(rj);
  if (!s) lethe_run_dir_finish(o->out);
  return s;
}
