/* unlearn/checkpoint.c: training checkpoints. DIR/checkpoint holds state.json (position, step,
 * the options a resume must share) and params.safetensors (the trained weights and both Adam
 * moments, exact fp32). The directory is written under a temporary name and renamed over the old
 * one, so a checkpoint on disk is always whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "unlearn/trainer.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

lethe_status lethe_checkpoint_save(const lethe_trainer *t, const char *dir, const char *fingerprint_json,
                                   double elapsed_s) {
  char *final_dir = lethe_path_join(dir, "checkpoint");
  size_t n = strlen(final_dir) + 32;
  char *tmp = malloc(n);
  if (!final_dir || !tmp) {
    free(final_dir);
    free(tmp);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  snprintf(tmp, n, "%s.tmp.%ld", final_dir, (long)getpid());
  lethe_remove_tree(tmp);
  lethe_status s = lethe_make_dirs(tmp);
  char *p = NULL, *text = NULL;
  float *host = NULL;
  json_t *state = NULL;
  if (s) goto done;
  /* The weights and moments, brought to the host (copies on a device backend). */
  const lethe_ops *o = t->m->ops;
  size_t nb = sizeof(float) * t->n_params;
  host = o->host_visible ? NULL : malloc(3 * nb);
  if (!o->host_visible && !host) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory for a checkpoint");
    goto done;
  }
  const float *src[3] = {t->params, t->adam_m, t->adam_v};
  for (int i = 0; host && i < 3; i++) {
    o->download(host + i * t->n_params, src[i], nb);
    src[i] = host + i * t->n_params;
  }
  lethe_st_entry e[3] = {
      {.name = "params", .dtype = LETHE_DT_F32, .ndim = 1, .shape = {(int64_t)t->n_params}, .src = src[0]},
      {.name = "adam_m", .dtype = LETHE_DT_F32, .ndim = 1, .shape = {(int64_t)t->n_params}, .src = src[1]},
      {.name = "adam_v", .dtype = LETHE_DT_F32, .ndim = 1, .shape = {(int64_t)t->n_params}, .src = src[2]},
  };
  p = lethe_path_join(tmp, "params.safetensors");
  if ((s = lethe_st_write(p, e, 3, NULL))) goto done;
  free(p);
  json_error_t je;
  json_t *fp = json_loads(fingerprint_json, 0, &je);
  state = json_pack("{s:I, s:i, s:i, s:I, s:f, s:o}", "step", (json_int_t)t->step, "epoch", t->epoch, "step_in_epoch",
                    t->step_in_epoch, "n_params", (json_int_t)t->n_params, "elapsed_s", elapsed_s, "options",
                    fp ? fp : json_object());
  /* gd-adaptive: what the first epoch recorded of the retain loss (exact: %.17g round-trips) */
  if (t->cfg.obj.adaptive_retain)
    json_object_set_new(state, "adaptive_retain", json_pack("[f, f]", t->adapt_sum, t->adapt_count));
  text = json_dumps(state, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  p = lethe_path_join(tmp, "state.json");
  if ((s = lethe_write_file_atomic(p, text, strlen(text)))) goto done;
  s = lethe_replace_dir(tmp, final_dir);
done:
  if (s) lethe_remove_tree(tmp);
  free(host);
  json_decref(state);
  free(text);
  free(p);
  free(tmp);
  free(final_dir);
  return s;
}

lethe_status lethe_checkpoint_load(lethe_trainer *t, const char *dir, const char *fingerprint_json,
                                   double *elapsed_s) {
  char *cdir = lethe_path_join(dir, "checkpoint");
  char *sp = lethe_path_join(cdir, "state.json"), *pp = lethe_path_join(cdir, "params.safetensors");
  json_t *state = NULL, *want = NULL;
  lethe_safetensors st;
  int st_open = 0;
  lethe_status s = LETHE_OK;
  if (!lethe_is_dir(cdir)) {
    s = lethe_fail(LETHE_ERR_IO, "%s: no checkpoint to resume from", cdir);
    goto done;
  }
  if ((s = lethe_json_load(sp, 1 << 20, &state))) goto done;
  int64_t step = 0, epoch = 0, sie = 0, np = 0;
  if ((s = lethe_json_int(state, "step", 1, 0, INT64_MAX, sp, &step, NULL)) ||
      (s = lethe_json_int(state, "epoch", 1, 0, 1 << 30, sp, &epoch, NULL)) ||
      (s = lethe_json_int(state, "step_in_epoch", 1, 0, 1 << 30, sp, &sie, NULL)) ||
      (s = lethe_json_int(state, "n_params", 1, 0, INT64_MAX, sp, &np, NULL)))
    goto done;
  double el = 0;
  if ((s = lethe_json_num(state, "elapsed_s", 0, sp, &el, NULL))) goto done;
  json_error_t je;
  want = json_loads(fingerprint_json, 0, &je);
  const json_t *have = json_object_get(state, "options");
  const char *key;
  json_t *v;
  json_object_foreach(want, key, v) {
    const json_t *h = json_is_object(have) ? json_object_get(have, key) : NULL;
    if (!h || !json_equal(h, v)) {
      char *a = json_dumps(v, JSON_ENCODE_ANY), *b = h ? json_dumps(h, JSON_ENCODE_ANY) : strdup("(absent)");
      s = lethe_fail(LETHE_ERR_INVALID, "%s: cannot resume: option %s is %s now but was %s in the checkpointed run", cdir, key,
                     a ? a : "?", b ? b : "?");
      free(a);
      free(b);
      goto done;
    }
  }
  if ((size_t)np != t->n_params) {
    s = lethe_fail(LETHE_ERR_INVALID, "%s: checkpoint holds %lld parameters, this run trains %zu", cdir, (long long)np, t->n_params);
    goto done;
  }
  if (epoch > t->cfg.epochs || sie >= t->steps_per_epoch) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: position (epoch %lld, step %lld) is outside this run", sp, (long long)epoch, (long long)sie);
    goto done;
  }
  if ((s = lethe_st_open(pp, &st))) goto done;
  st_open = 1;
  const char *names[3] = {"params", "adam_m", "adam_v"};
  float *dst[3] = {t->params, t->adam_m, t->adam_v};
  const lethe_ops *o = t->m->ops;
  float *host = o->host_visible ? NULL : malloc(sizeof(float) * t->n_params);
  if (!o->host_visible && !host) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory reading a checkpoint");
  for (int i = 0; i < 3 && !s; i++) {
    const lethe_st_tensor *x = lethe_st_find(&st, names[i]);
    if (!x) s = lethe_fail(LETHE_ERR_FORMAT, "%s: missing tensor '%s'", pp, names[i]);
    else s = lethe_st_to_f32(&st, x, host ? host : dst[i], t->n_params);
    if (!s && host) o->upload(dst[i], host, sizeof(float) * t->n_params);
  }
  free(host);
  if (s) goto done;
  if (t->cfg.obj.adaptive_retain) {
    const json_t *ar = json_object_get(state, "adaptive_retain");
    if (!json_is_array(ar) || json_array_size(ar) != 2 || !json_is_number(json_array_get(ar, 0)) ||
        !json_is_number(json_array_get(ar, 1))) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: \"adaptive_retain\" must be an array of two numbers", sp);
      goto done;
    }
    t->adapt_sum = json_number_value(json_array_get(ar, 0));
    t->adapt_count = json_number_value(json_array_get(ar, 1));
  }
  t->step = step;
  t->epoch = (int)epoch;
  t->step_in_epoch = (int)sie;
  t->order_epoch = -1;
  o->zero(t->grads, t->n_params);
  if (elapsed_s) *elapsed_s = el;
done:
  if (st_open) lethe_st_close(&st);
  json_decref(state);
  json_decref(want);
  free(cdir);
  free(sp);
  free(pp);
  return s;
}
