/* io/hf_model.c: loading a Hugging Face model directory (config.json + model.safetensors, or
 * shards listed by model.safetensors.index.json) into one fp32 parameter allocation, and writing
 * one back (config.json + safetensors in a chosen dtype, sharded when large), atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

static int ignorable(const lethe_model *m, const char *name) {
  size_t n = strlen(name);
  const char *suffix = "rotary_emb.inv_freq";
  size_t k = strlen(suffix);
  if (n >= k && !strcmp(name + n - k, suffix)) return 1;
  return m->cfg.tie_embeddings && !strcmp(name, "lm_head.weight");
}

static lethe_status load_shard(lethe_model *m, const char *path, unsigned char *loaded) {
  lethe_safetensors st;
  LETHE_TRY(lethe_st_open(path, &st));
  lethe_status s = LETHE_OK;
  for (int i = 0; i < st.n && !s; i++) {
    const lethe_st_tensor *t = &st.tensors[i];
    const lethe_tensor *mt = lethe_model_find(m, t->name);
    if (!mt) {
      if (ignorable(m, t->name)) continue;
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: unexpected tensor '%s' (not part of a model of type %s with this config)",
          path, t->name, m->cfg.model_type);
      break;
    }
    int same = t->ndim == mt->ndim;
    for (int k = 0; same && k < t->ndim; k++) same = t->shape[k] == mt->shape[k];
    if (!same) {
      char got[160], want[64];
      int k = snprintf(got, sizeof got, "[");
      for (int d = 0; d < t->ndim && k < (int)sizeof got - 24; d++)
        k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
      snprintf(got + k, sizeof got - (size_t)k, "]");
      if (mt->ndim > 1)
        snprintf(want, sizeof want, "[%lld, %lld]", (long long)mt->shape[0], (long long)mt->shape[1]);
      else
        snprintf(want, sizeof want, "[%lld]", (long long)mt->shape[0]);
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' has shape %s in the file, %s expected from config.json", path,
          t->name, got, want);
      break;
    }
    size_t idx = (size_t)(mt - m->tensors);
    if (loaded[idx]) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' appears twice", path, t->name);
      break;
    }
    s = lethe_st_to_f32(&st, t, m->params + mt->offset, mt->numel);
    loaded[idx] = 1;
  }
  lethe_st_close(&st);
  return s;
}

/* A shard name from an index must be a plain file name inside the directory. */
static int safe_name(const char *s) { return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, ".."); }

lethe_status lethe_hf_load(const char *dir, lethe_model **out) {
  *out = NULL;
  char *cfg_path = lethe_path_join(dir, "config.json");
  char *index_path = lethe_path_join(dir, "model.safetensors.index.json");
  char *single_path = lethe_path_join(dir, "model.safetensors");
  lethe_status s = LETHE_OK;
  lethe_model *m = NULL;
  unsigned char *loaded = NULL;
  json_t *index = NULL;
  if (!cfg_path || !index_path || !single_path) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  lethe_config cfg;
  if ((s = lethe_config_load(cfg_path, &cfg))) goto done;
  if ((s = lethe_model_alloc(&cfg, &m))) goto done;
  loaded = calloc((size_t)m->n_tensors, 1);
  if (!loaded) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  if (lethe_file_exists(index_path)) {
    if ((s = lethe_json_load(index_path, 64u << 20, &index))) goto done;
    const json_t *wm = json_object_get(index, "weight_map");
    if (!json_is_object(wm)) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: missing 'weight_map' object", index_path);
      goto done;
    }
    /* Load each distinct shard once, in the order first named. */
    const char **shards = calloc(json_object_size(wm) + 1, sizeof *shards);
    if (!shards) {
      s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", index_path);
      goto done;
    }
    int ns = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)wm, key, v) {
      if (!json_is_string(v) || !safe_name(json_string_value(v))) {
        s = lethe_fail(
            LETHE_ERR_FORMAT, "%s: weight_map['%s'] must be a file name in the model directory", index_path, key);
        break;
      }
      int seen = 0;
      for (int i = 0; i < ns; i++) seen |= !strcmp(shards[i], json_string_value(v));
      if (!seen) shards[ns++] = json_string_value(v);
    }
    for (int i = 0; i < ns && !s; i++) {
      char *p = lethe_path_join(dir, shards[i]);
      s = load_shard(m, p, loaded);
      free(p);
    }
    free(shards);
    if (s) goto done;
  } else if (lethe_file_exists(single_path)) {
    if ((s = load_shard(m, single_path, loaded))) goto done;
  } else {
    s = lethe_fail(LETHE_ERR_IO,
        "%s: no model.safetensors or model.safetensors.index.json (PyTorch .bin checkpoints must be "
        "converted to safetensors)",
        dir);
    goto done;
  }
  for (int i = 0; i < m->n_tensors; i++)
    if (!loaded[i]) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' is missing from the weights", dir, m->tensors[i].name);
      goto done;
    }
done:
  json_decref(index);
  free(loaded);
  free(cfg_path);
  free(index_path);
  free(single_path);
  if (s)
    lethe_model_free(m);
  else
    *out = m;
  return s;
}

/* Writes the tensors [first, last) of the model as one safetensors file. */
static lethe_status write_shard(const lethe_model *m, const char *path, int first, int last, lethe_dtype dt) {
  lethe_st_entry *e = calloc((size_t)(last - first), sizeof *e);
  if (!e) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  for (int i = first; i < last; i++) {
    const lethe_tensor *t = &m->tensors[i];
    lethe_st_entry *x = &e[i - first];
    x->name = t->name;
    x->dtype = dt;
    x->ndim = t->ndim;
    x->shape[0] = t->shape[0];
    x->shape[1] = t->shape[1];
    x->src = m->params + t->offset;
  }
  lethe_status s = lethe_st_write(path, e, last - first, "{\"format\": \"pt\"}");
  free(e);
  return s;
}

lethe_status lethe_model_save(const lethe_model *m, const char *dir, const char *dtype, size_t shard_bytes) {
  /* The host copy is a cache of the compute copy: refresh it (a no-op on the CPU). */
  lethe_model_sync_host((lethe_model *)m);
  int dt = lethe_dtype_parse(dtype ? dtype : "float32");
  if (dt != LETHE_DT_F32 && dt != LETHE_DT_BF16 && dt != LETHE_DT_F16)
    return lethe_fail(LETHE_ERR_INVALID, "cannot save a model in dtype '%s' (float32, bfloat16, float16)", dtype);
  LETHE_TRY(lethe_out_check(dir, "model")); /* before the work: never over a user's directory */
  LETHE_TRY(lethe_model_check_writable(m, (lethe_dtype)dt));
  char *tmp;
  LETHE_TRY(lethe_dir_begin(dir, &tmp));
  lethe_status s = LETHE_OK;
  lethe_config cfg = m->cfg;
  snprintf(cfg.dtype, sizeof cfg.dtype, "%s",
      dt == LETHE_DT_F32    ? "float32"
      : dt == LETHE_DT_BF16 ? "bfloat16"
                            : "float16");
  char *cj = lethe_config_to_json(&cfg);
  char *p = lethe_path_join(tmp, "config.json");
  s = cj ? lethe_write_file_atomic(p, cj, strlen(cj)) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  free(p);
  free(cj);
  size_t esize = lethe_dtype_size((lethe_dtype)dt);
  size_t total = 0;
  for (int i = 0; i < m->n_tensors; i++) total += m->tensors[i].numel * esize;
  if (!s && (shard_bytes == 0 || total <= shard_bytes)) {
    p = lethe_path_join(tmp, "model.safetensors");
    s = write_shard(m, p, 0, m->n_tensors, (lethe_dtype)dt);
    free(p);
  } else if (!s) {
    /* Greedy shards of at most shard_bytes (a tensor larger than that gets a shard of its own). */
    int nshards = 0, first = 0;
    int *bounds = calloc((size_t)m->n_tensors + 1, sizeof *bounds);
    if (!bounds) s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", dir);
    size_t acc = 0;
    for (int i = 0; bounds && i < m->n_tensors; i++) {
      size_t b = m->tensors[i].numel * esize;
      if (acc > 0 && acc + b > shard_bytes) {
        bounds[nshards++] = i;
        acc = 0;
      }
      acc += b;
    }
    if (bounds) bounds[nshards++] = m->n_tensors;
    json_t *wm = json_object();
    for (int k = 0; k < nshards && !s; k++) {
      char name[64];
      snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k + 1, nshards);
      p = lethe_path_join(tmp, name);
      s = write_shard(m, p, first, bounds[k], (lethe_dtype)dt);
      free(p);
      for (int i = first; i < bounds[k]; i++) json_object_set_new(wm, m->tensors[i].name, json_string(name));
      first = bounds[k];
    }
    json_t *idx = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)total, "weight_map", wm);
    char *is = json_dumps(idx, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(idx);
    free(bounds);
    if (!s) {
      p = lethe_path_join(tmp, "model.safetensors.index.json");
      s = is ? lethe_write_file_atomic(p, is, strlen(is)) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      free(p);
    }
    free(is);
  }
  if (!s) s = lethe_dir_publish(tmp, dir, "model");
  if (s) lethe_remove_tree(tmp);
  free(tmp);
  return s;
}

lethe_status lethe_model_save_with(const lethe_model *m, const char *dir, const char *dtype, size_t shard_bytes,
    const char *const *files, int n_files) {
  LETHE_TRY(lethe_out_check(dir, "model"));
  char *tmp;
  LETHE_TRY(lethe_dir_begin(dir, &tmp));
  lethe_status s = lethe_model_save(m, tmp, dtype, shard_bytes);
  for (int i = 0; i < n_files && !s; i++) {
    if (!files[i] || !lethe_file_exists(files[i])) continue;
    const char *base = strrchr(files[i], '/');
    char *dst = lethe_path_join(tmp, base ? base + 1 : files[i]);
    s = dst ? lethe_copy_file(files[i], dst) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    free(dst);
  }
  if (!s) s = lethe_dir_publish(tmp, dir, "model");
  if (s) lethe_remove_tree(tmp);
  free(tmp);
  return s;
}
