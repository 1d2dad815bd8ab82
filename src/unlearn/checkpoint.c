/* unlearn/checkpoint.c: training checkpoints. DIR/checkpoint holds state.json (position, step,
 * the options and input hashes a resume must share) and params.safetensors (the trained weights
 * and both Adam moments, exact fp32). The directory is built as checkpoint.tmp.PID (every file
 * fsynced, the .lethe-output marker written last) and published over the old one by
 * lethe_dir_publish (old moved to checkpoint.old.PID, new renamed in, old removed). Whenever the
 * process dies, one complete checkpoint exists: `checkpoint` itself, or (between the two renames)
 * the complete checkpoint.tmp.PID / checkpoint.old.PID, which resume recognises by the marker and
 * takes the newer of. */
#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include "io/safetensors.h"
#include "unlearn/trainer.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

lethe_status lethe_checkpoint_save(
    const lethe_trainer *t, const char *dir, const char *fingerprint_json, double elapsed_s) {
  char *final_dir = lethe_path_join(dir, "checkpoint");
  char *tmp = NULL;
  if (!final_dir) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_status s = lethe_dir_begin(final_dir, &tmp);
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
  if (!text || !p) {
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory writing the checkpoint's state.json", final_dir);
    goto done;
  }
  if ((s = lethe_write_file_atomic(p, text, strlen(text)))) goto done;
  s = lethe_dir_publish(tmp, final_dir, "checkpoint");
done:
  if (s && tmp) lethe_remove_tree(tmp);
  free(host);
  json_decref(state);
  free(text);
  free(p);
  free(tmp);
  free(final_dir);
  return s;
}

/* A complete checkpoint directory: it carries the marker (written last), or it is the published
 * `checkpoint` itself with its state.json (checkpoints written before the marker existed). */
static int complete(const char *d, int published) {
  char kind[32];
  if (lethe_dir_kind(d, kind, sizeof kind)) return !strcmp(kind, "checkpoint");
  if (!published) return 0;
  char *sp = lethe_path_join(d, "state.json");
  int ok = sp && lethe_file_exists(sp);
  free(sp);
  return ok;
}

static int64_t step_of(const char *d) {
  char *sp = lethe_path_join(d, "state.json");
  json_t *st = NULL;
  int64_t step = -1;
  if (sp && !lethe_json_load(sp, 1 << 20, &st)) lethe_json_int(st, "step", 1, 0, INT64_MAX, sp, &step, NULL);
  json_decref(st);
  free(sp);
  return step;
}

/* Finds DIR's complete checkpoint: `checkpoint` when it is whole, else the newest complete
 * checkpoint.tmp.PID / checkpoint.old.PID left by a run killed between its two renames, which is
 * renamed to `checkpoint`. Every other temporary in DIR is stale and removed. *found = 0 when none. */
static lethe_status recover(const char *dir, const char *cdir, int *found) {
  *found = 0;
  if (lethe_is_dir(cdir)) {
    if (!complete(cdir, 1)) return lethe_fail(LETHE_ERR_FORMAT, "%s: not a complete checkpoint (no state.json)", cdir);
    *found = 1;
  } else {
    DIR *d = opendir(dir);
    char *best = NULL;
    int64_t best_step = -1;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      if (strncmp(e->d_name, "checkpoint.", 11) != 0 || !lethe_is_temp_name(e->d_name)) continue;
      char *p = lethe_path_join(dir, e->d_name);
      int64_t st = p && complete(p, 0) ? step_of(p) : -1;
      if (st > best_step) {
        free(best);
        best = p;
        best_step = st;
      } else
        free(p);
    }
    if (d) closedir(d);
    if (best) {
      int bad = rename(best, cdir) != 0;
      lethe_status s = bad ? lethe_fail(LETHE_ERR_IO, "%s: cannot recover the complete checkpoint %s: %s", cdir, best,
                                 strerror(errno))
                           : lethe_fsync_dir(dir);
      free(best);
      if (s) return s;
      *found = 1;
    }
  }
  lethe_remove_temporaries(dir);
  return LETHE_OK;
}

/* One option's mismatch, said as what changed. */
static lethe_status mismatch(const char *cdir, const char *key, const json_t *now, const json_t *then) {
  char *a = json_dumps(now, JSON_ENCODE_ANY), *b = then ? json_dumps(then, JSON_ENCODE_ANY) : strdup("(absent)");
  lethe_status s;
  if (!strcmp(key, "threads"))
    s = lethe_fail(LETHE_ERR_INVALID,
        "%s: cannot resume: --threads is %s now but was %s in the checkpointed run (results depend on the thread "
        "count; resume with --threads %s)",
        cdir, a ? a : "?", b ? b : "?", b ? b : "?");
  else
    s = lethe_fail(LETHE_ERR_INVALID, "%s: cannot resume: option %s is %s now but was %s in the checkpointed run", cdir,
        key, a ? a : "?", b ? b : "?");
  free(a);
  free(b);
  return s;
}

static lethe_status compare_inputs(const char *cdir, const json_t *want, const json_t *have) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)want, key, v) {
    const json_t *h = json_is_object(have) ? json_object_get(have, key) : NULL;
    const char *now = json_string_value(json_object_get(v, "hash")),
               *path = json_string_value(json_object_get(v, "path"));
    const char *then = json_string_value(json_object_get(h, "hash"));
    if (!then || !now || strcmp(now, then) != 0)
      return lethe_fail(LETHE_ERR_INVALID,
          "%s: cannot resume: the %s (%s) is not the one the checkpoint was trained on (content hash %s now, %s then)",
          cdir, key, path ? path : "?", now ? now : "?", then ? then : "(none recorded)");
  }
  return LETHE_OK;
}

lethe_status lethe_checkpoint_recover(const char *dir, int *found) {
  *found = 0;
  if (!lethe_is_dir(dir)) return lethe_fail(LETHE_ERR_IO, "%s: no such run directory to resume", dir);
  char *cdir = lethe_path_join(dir, "checkpoint");
  if (!cdir) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_status s = recover(dir, cdir, found);
  free(cdir);
  return s;
}

lethe_status lethe_checkpoint_load(lethe_trainer *t, const char *dir, const char *fingerprint_json, double *elapsed_s) {
  char *cdir = lethe_path_join(dir, "checkpoint");
  char *sp = lethe_path_join(cdir, "state.json"), *pp = lethe_path_join(cdir, "params.safetensors");
  json_t *state = NULL, *want = NULL;
  lethe_safetensors st;
  int st_open = 0;
  lethe_status s = LETHE_OK;
  int found = 0;
  if ((s = lethe_checkpoint_recover(dir, &found))) goto done;
  if (!found) {
    s = lethe_fail(LETHE_ERR_IO, "%s: no checkpoint to resume from", cdir);
    goto done;
  }
  if ((s = lethe_json_load(sp, 1 << 20, &state))) goto done;
  int64_t step = 0, epoch = 0, sie = 0, np = 0;
  if ((s = lethe_json_int(state, "step", 1, 0, t->total_steps, sp, &step, NULL)) ||
      (s = lethe_json_int(state, "epoch", 1, 0, t->cfg.epochs, sp, &epoch, NULL)) ||
      (s = lethe_json_int(state, "step_in_epoch", 1, 0, t->steps_per_epoch - 1, sp, &sie, NULL)) ||
      (s = lethe_json_int(state, "n_params", 1, 0, INT64_MAX, sp, &np, NULL)))
    goto done;
  double el = 0;
  if ((s = lethe_json_num(state, "elapsed_s", 0, sp, &el, NULL))) goto done;
  if (!isfinite(el) || el < 0 || el > 1e12) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: elapsed_s %g is outside [0, 1e12]", sp, el);
    goto done;
  }
  json_error_t je;
  want = json_loads(fingerprint_json, 0, &je);
  const json_t *have = json_object_get(state, "options");
  const char *key;
  json_t *v;
  json_object_foreach(want, key, v) {
    const json_t *h = json_is_object(have) ? json_object_get(have, key) : NULL;
    if (!strcmp(key, "inputs")) {
      if ((s = compare_inputs(cdir, v, h))) goto done;
    } else if (!h || !json_equal(h, v)) {
      s = mismatch(cdir, key, v, h);
      goto done;
    }
  }
  if ((size_t)np != t->n_params) {
    s = lethe_fail(LETHE_ERR_INVALID, "%s: checkpoint holds %lld parameters, this run trains %zu", cdir, (long long)np,
        t->n_params);
    goto done;
  }
  if (step != epoch * (int64_t)t->steps_per_epoch + sie || (epoch == t->cfg.epochs && sie != 0)) {
    s = lethe_fail(LETHE_ERR_FORMAT,
        "%s: position (step %lld, epoch %lld, step in epoch %lld) is inconsistent for %d steps per epoch", sp,
        (long long)step, (long long)epoch, (long long)sie, t->steps_per_epoch);
    goto done;
  }
  if ((s = lethe_st_open(pp, &st))) goto done;
  st_open = 1;
  const char *names[3] = {"params", "adam_m", "adam_v"};
  float *dst[3] = {t->params, t->adam_m, t->adam_v};
  const lethe_ops *o = t->m->ops;
  float *host = malloc(sizeof(float) * t->n_params);
  if (!host) s = lethe_fail(LETHE_ERR_NOMEM, "out of memory reading a checkpoint");
  for (int i = 0; i < 3 && !s; i++) {
    const lethe_st_tensor *x = lethe_st_find(&st, names[i]);
    if (!x)
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: missing tensor '%s'", pp, names[i]);
    else if (x->numel != t->n_params)
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' holds %zu values, %zu expected", pp, names[i], (size_t)x->numel,
          t->n_params);
    else
      s = lethe_st_to_f32(&st, x, host, t->n_params);
    for (size_t k = 0; !s && k < t->n_params; k++)
      if (!isfinite(host[k]) || (i == 2 && host[k] < 0))
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' holds an invalid value (%g) at index %zu", pp, names[i],
            (double)host[k], k);
    if (!s) {
      if (o->host_visible)
        memcpy(dst[i], host, sizeof(float) * t->n_params);
      else
        o->upload(dst[i], host, sizeof(float) * t->n_params);
    }
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
    double sum = json_number_value(json_array_get(ar, 0)), count = json_number_value(json_array_get(ar, 1));
    if (!isfinite(sum) || !isfinite(count) || count < 0 || count > 1e15) {
      s = lethe_fail(LETHE_ERR_FORMAT,
          "%s: \"adaptive_retain\" [%g, %g] is out of range (a finite sum, a count in [0, 1e15])", sp, sum, count);
      goto done;
    }
    t->adapt_sum = sum;
    t->adapt_count = count;
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

/* ---- the run directory ---- */

lethe_status lethe_run_dir_open(const lethe_train_opts *o) {
  const char *out = o->out;
  int resume = o->resume != NULL;
  /* no output lethe writes in OUT may be, hold or lie inside an input */
  const char *inputs[] = {o->model, o->tokenizer, o->forget, o->retain, o->data};
  static const char *const outputs[] = {"adapter", "merged", "model", "checkpoint", "run.json", "train_log.jsonl"};
  for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++) {
    char *p = lethe_path_join(out, outputs[i]);
    lethe_status s = p ? lethe_out_apart(p, "run's output", inputs, 5) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    free(p);
    if (s) return s;
  }
  LETHE_TRY(lethe_out_dir_prepare(out, "run"));
  if (resume) {
    /* the complete checkpoint a killed run left is recovered first; every other temporary is stale */
    int found;
    LETHE_TRY(lethe_checkpoint_recover(o->resume, &found));
    lethe_remove_temporaries(out);
  }
  return LETHE_OK;
}

void lethe_run_dir_finish(const char *out) { lethe_remove_temporaries(out); }

/* ---- what a resume must find unchanged ---- */

/* FNV-1a over 64-bit words (then the tail bytes), with the length mixed in. */
static uint64_t fnv1a64(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  const uint64_t prime = 0x100000001b3ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    h = (h ^ w) * prime;
  }
  for (; i < n; i++) h = (h ^ p[i]) * prime;
  return (h ^ (uint64_t)n) * prime;
}

static lethe_status hash_file(const char *path, uint64_t *h) {
  lethe_mapped_file m;
  LETHE_TRY(lethe_map_file(path, &m));
  *h = (*h ^ fnv1a64(m.data, m.size)) * 0x100000001b3ull;
  lethe_unmap_file(&m);
  return LETHE_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A model's content hash: the file, or a directory's config.json, index and *.safetensors in name
 * order. */
static lethe_status hash_model(const char *path, uint64_t *h) {
  if (!lethe_is_dir(path)) return hash_file(path, h);
  DIR *d = opendir(path);
  if (!d) return lethe_fail(LETHE_ERR_IO, "%s: cannot list: %s", path, strerror(errno));
  char *names[4096];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 4096) {
    size_t k = strlen(e->d_name);
    if (e->d_name[0] == '.' || lethe_is_temp_name(e->d_name)) continue;
    if (!strcmp(e->d_name, "config.json") || (k > 12 && !strcmp(e->d_name + k - 12, ".safetensors")) ||
        !strcmp(e->d_name, "model.safetensors.index.json"))
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  // cppcheck-suppress uninitvar ; names[0..n) are set in the loop above
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  lethe_status s = LETHE_OK;
  for (int i = 0; i < n; i++) {
    char *p = names[i] ? lethe_path_join(path, names[i]) : NULL;
    if (!s) s = p ? hash_file(p, h) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    free(p);
    free(names[i]);
  }
  return s;
}

static lethe_status add_input(json_t *inputs, const char *what, const char *path, int model) {
  if (!path) return LETHE_OK;
  uint64_t h = 0x84222325cbf29ce4ull;
  LETHE_TRY(model ? hash_model(path, &h) : hash_file(path, &h));
  char hex[32];
  snprintf(hex, sizeof hex, "%016" PRIx64, h);
  json_object_set_new(inputs, what, json_pack("{s:s, s:s}", "path", path, "hash", hex));
  return LETHE_OK;
}

lethe_status lethe_checkpoint_fingerprint_inputs(char **fp, const char *model, const char *tokenizer,
    const char *forget, const char *retain, const char *data, int threads) {
  json_error_t je;
  json_t *f = json_loads(*fp, 0, &je), *in = json_object();
  if (!f || !in) {
    json_decref(f);
    json_decref(in);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  char *tok_in_model = !tokenizer && lethe_is_dir(model) ? lethe_path_join(model, "tokenizer.json") : NULL;
  if (tok_in_model && !lethe_file_exists(tok_in_model)) {
    free(tok_in_model);
    tok_in_model = NULL;
  }
  lethe_status s = add_input(in, "model", model, 1);
  if (!s) s = add_input(in, "tokenizer", tokenizer ? tokenizer : tok_in_model, 0);
  if (!s) s = add_input(in, "forget data", forget, 0);
  if (!s) s = add_input(in, "retain data", retain, 0);
  if (!s) s = add_input(in, "training data", data, 0);
  free(tok_in_model);
  json_object_set_new(f, "inputs", in);
  json_object_set_new(f, "threads", json_integer(threads));
  if (!s) {
    char *text = json_dumps(f, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    else {
      free(*fp);
      *fp = text;
    }
  }
  json_decref(f);
  return s;
}
