/* io/peft.c: LoRA adapters in Hugging Face PEFT's format. adapter_config.json carries r,
 * lora_alpha, target_modules, use_rslora and friends; adapter_model.safetensors holds
 * base_model.model.model.layers.L.{self_attn,mlp}.PROJ.lora_{A,B}.weight with A [r, in] and
 * B [out, r]. Also W += s B A (merging). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io/io.h"
#include "io/safetensors.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

static const char *proj_group(int p) { return p <= LETHE_PROJ_O ? "self_attn" : "mlp"; }

lethe_status lethe_lora_peft_slot(const lethe_lora *l, const char *key, float **dst, int *is_b, int *proj, int *layer) {
  const char *k = key;
  const char *prefix = "base_model.model.";
  if (!strncmp(k, prefix, strlen(prefix))) k += strlen(prefix);
  long long lay = -1;
  int used = 0;
  char group[16], pname[16], ab[4], tail[24];
  /* the layer read as digits into a 64-bit value: "layers.99999999999" is that number, not a wrapped int */
  const char *lp = !strncmp(k, "model.layers.", 13) ? k + 13 : NULL;
  if (lp && (*lp < '0' || *lp > '9' || strspn(lp, "0123456789") > 18)) lp = NULL;
  if (!lp || sscanf(k, "model.layers.%lld.%15[a-z_].%15[a-z_].lora_%1[AB]%n", &lay, group, pname, ab, &used) != 4)
    return lethe_fail(LETHE_ERR_FORMAT, "tensor '%s' is not a LoRA weight of a decoder layer", key);
  snprintf(tail, sizeof tail, "%s", k + used);
  if (strcmp(tail, ".weight") != 0 && strcmp(tail, ".default.weight") != 0)
    return lethe_fail(LETHE_ERR_FORMAT, "tensor '%s' is not a LoRA weight of a decoder layer", key);
  int p = -1;
  for (int i = 0; i < LETHE_NPROJ; i++)
    if (!strcmp(pname, LETHE_PROJ_NAMES[i]) && !strcmp(group, proj_group(i))) p = i;
  if (p < 0) return lethe_fail(LETHE_ERR_FORMAT, "tensor '%s' adapts an unknown module %s.%s", key, group, pname);
  if (lay < 0 || lay >= l->n_layers)
    return lethe_fail(
        LETHE_ERR_FORMAT, "tensor '%s' is for layer %lld; the model has %d layers", key, lay, l->n_layers);
  if (!(l->layer_targets[lay] & (1u << p)))
    return lethe_fail(
        LETHE_ERR_FORMAT, "tensor '%s' adapts %s of layer %lld, which target_modules does not select", key, pname, lay);
  *is_b = ab[0] == 'B';
  *proj = p;
  *layer = (int)lay;
  *dst = lethe_lora_host_of(l, *is_b ? lethe_lora_B(l, p, lay) : lethe_lora_A(l, p, lay));
  return LETHE_OK;
}

/* A JSON string or list of strings (field `key`) as a spec's (regex | names, n). */
static lethe_status str_or_list(
    const json_t *root, const char *key, const char *path, const char **one, const char ***list, int *n) {
  const json_t *v = json_object_get(root, key);
  *one = NULL;
  *list = NULL;
  *n = 0;
  if (!v || json_is_null(v)) return LETHE_OK;
  if (json_is_string(v)) {
    *one = json_string_value(v);
    return LETHE_OK;
  }
  if (!json_is_array(v)) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s must be a string or a list of strings", path, key);
  *list = calloc(json_array_size(v) + 1, sizeof **list);
  if (!*list) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  size_t i;
  const json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_string(e)) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s[%zu] is not a string", path, key, i);
    (*list)[(*n)++] = json_string_value(e);
  }
  return LETHE_OK;
}

/* 1 when a JSON value is PEFT's "not used": null, false, an empty object, list or string. */
static int unused(const json_t *v) {
  return !v || json_is_null(v) || json_is_false(v) || (json_is_object(v) && json_object_size(v) == 0) ||
         (json_is_array(v) && json_array_size(v) == 0) || (json_is_string(v) && !*json_string_value(v));
}

/* Fields that change nothing once an adapter is trained (identity, initialisation, runtime), and
 * the fields parse_config reads itself. Every other field must be unused (see `unused`). */
static const char *const IGNORED_FIELDS[] = {"peft_type", "task_type", "auto_mapping", "peft_version",
    "base_model_name_or_path", "revision", "inference_mode", "r", "lora_alpha", "target_modules", "exclude_modules",
    "layers_to_transform", "layers_pattern", "use_rslora", "bias", "lora_dropout", "init_lora_weights", "loftq_config",
    "eva_config", "corda_config", "lora_ga_config", "megatron_core", "qalora_group_size", "runtime_config",
    "ensure_weight_tying"};

static lethe_status parse_config(const char *text, size_t len, const char *path, const lethe_config *mc,
    lethe_lora_config *lc, unsigned *layer_targets) {
  json_t *root;
  LETHE_TRY(lethe_json_parse(text, len, path, &root));
  lethe_status s = LETHE_OK;
  memset(lc, 0, sizeof *lc);
  const char *pt = NULL, *bias = NULL, *task = NULL;
  const char **names = NULL, **excl = NULL, **lpat = NULL;
  long *lsel = NULL;
  int64_t r = 0;
  double alpha = 0;
  lethe_lora_target_spec spec = {.n_layers_sel = -1};
  if (!json_is_object(root)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: not a JSON object", path);
    goto done;
  }
  if ((s = lethe_json_str(root, "peft_type", 1, path, &pt))) goto done;
  if (strcmp(pt, "LORA") != 0) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: peft_type '%s' is not supported (LORA is)", path, pt);
    goto done;
  }
  if ((s = lethe_json_str(root, "task_type", 0, path, &task))) goto done;
  if (task && strcmp(task, "CAUSAL_LM") != 0) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: task_type '%s' is not supported (CAUSAL_LM is)", path, task);
    goto done;
  }
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    int ignored = 0;
    for (size_t i = 0; i < sizeof IGNORED_FIELDS / sizeof *IGNORED_FIELDS; i++)
      ignored |= !strcmp(key, IGNORED_FIELDS[i]);
    if (!ignored && !unused(val)) {
      char *v = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
      s = lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: %s = %.60s is not supported by lethe (it implements plain LoRA; the field must be absent, "
          "null, false or empty)",
          path, key, v ? v : "?");
      free(v);
      goto done;
    }
  }
  /* initialisations that PEFT runs again on loading, changing the base weights (PiSSA, OLoRA,
   * CorDA, LoftQ, LoRA-GA): PEFT's model is then not W + s B A. Those that set A and B only
   * (true, gaussian, orthogonal, eva, mica) are overwritten by the saved weights. */
  const json_t *init = json_object_get(root, "init_lora_weights");
  if (json_is_string(init)) {
    const char *v = json_string_value(init);
    static const char *const harmless[] = {"gaussian", "orthogonal", "eva", "mica"};
    int ok = 0;
    for (size_t i = 0; i < sizeof harmless / sizeof *harmless; i++) ok |= !strcasecmp(v, harmless[i]);
    if (!ok) {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: init_lora_weights '%.40s' is not supported: PEFT applies it again on loading and changes the base "
          "weights; save the adapter converted to plain LoRA (save_pretrained(..., "
          "path_initial_model_for_weight_conversion=...))",
          path, v);
      goto done;
    }
  } else if (init && !json_is_boolean(init) && !json_is_null(init)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: init_lora_weights must be a boolean or a string", path);
    goto done;
  }
  if ((s = lethe_json_int(root, "r", 1, 1, 4096, path, &r, NULL))) goto done;
  if ((s = lethe_json_num(root, "lora_alpha", 1, path, &alpha, NULL))) goto done;
  if (!(alpha > 0)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: lora_alpha must be positive", path);
    goto done;
  }
  lc->rank = (int)r;
  lc->alpha = alpha;
  if ((s = lethe_json_bool(root, "use_rslora", path, &lc->rslora))) goto done;
  if ((s = lethe_json_num(root, "lora_dropout", 0, path, &lc->dropout, NULL))) goto done;
  if ((s = lethe_json_str(root, "bias", 0, path, &bias))) goto done;
  if (bias && strcmp(bias, "none") != 0) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: bias '%s' is not supported (none is)", path, bias);
    goto done;
  }
  if ((s = str_or_list(root, "target_modules", path, &spec.regex, &names, &spec.n_names))) goto done;
  spec.names = names;
  if (!spec.regex && !spec.n_names) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: target_modules must be a string or a non-empty list", path);
    goto done;
  }
  if ((s = str_or_list(root, "exclude_modules", path, &spec.exclude_regex, &excl, &spec.n_exclude))) goto done;
  spec.exclude = excl;
  const char *one_pat = NULL;
  if ((s = str_or_list(root, "layers_pattern", path, &one_pat, &lpat, &spec.n_layers_pattern))) goto done;
  if (one_pat && *one_pat) {
    spec.layers_pattern = &one_pat;
    spec.n_layers_pattern = 1;
  } else {
    spec.layers_pattern = lpat;
  }
  const json_t *lt = json_object_get(root, "layers_to_transform");
  if (json_is_integer(lt) || (json_is_array(lt) && json_array_size(lt) > 0)) {
    size_t n = json_is_integer(lt) ? 1 : json_array_size(lt);
    lsel = calloc(n, sizeof *lsel);
    if (!lsel) {
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      const json_t *e = json_is_integer(lt) ? lt : json_array_get(lt, i);
      if (!json_is_integer(e)) {
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: layers_to_transform must be an integer or a list of integers", path);
        goto done;
      }
      lsel[i] = (long)json_integer_value(e);
    }
    spec.layers_sel = lsel;
    spec.n_layers_sel = (int)n;
  } else if (lt && !json_is_null(lt) && !json_is_array(lt)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: layers_to_transform must be an integer or a list of integers", path);
    goto done;
  }
  if ((s = lethe_lora_resolve_targets(mc, &spec, path, layer_targets))) goto done;
  lc->layer_targets = layer_targets;
done:
  free(names);
  free(excl);
  free(lpat);
  free(lsel);
  json_decref(root);
  return s;
}

lethe_status lethe_lora_load_parts(const char *cfg_text, size_t cfg_len, const char *cfg_name, const uint8_t *st_data,
    size_t st_size, const char *st_name, const lethe_model *model, lethe_lora **out) {
  *out = NULL;
  lethe_lora *l = NULL;
  lethe_safetensors st;
  int st_open = 0;
  unsigned char *seen = NULL;
  lethe_lora_config lc;
  unsigned *layer_targets = calloc((size_t)model->cfg.n_layers, sizeof *layer_targets);
  if (!layer_targets) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_status s = parse_config(cfg_text, cfg_len, cfg_name, &model->cfg, &lc, layer_targets);
  if (s) goto done;
  if ((s = lethe_lora_create(&model->cfg, &lc, 0, &l))) goto done;
  memset(l->params, 0, sizeof(float) * l->n_params);
  if ((s = lethe_st_parse(st_data, st_size, st_name, &st))) goto done;
  st_open = 1;
  seen = calloc((size_t)LETHE_NPROJ * l->n_layers * 2, 1);
  if (!seen) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < st.n && !s; i++) {
    const lethe_st_tensor *t = &st.tensors[i];
    float *dst;
    int is_b, p, lay;
    if ((s = lethe_lora_peft_slot(l, t->name, &dst, &is_b, &p, &lay))) {
      lethe_fail_context(s, "%s", st_name);
      break;
    }
    int64_t want0 = is_b ? l->out_dim[p] : l->cfg.rank, want1 = is_b ? l->cfg.rank : l->in_dim[p];
    if (t->ndim != 2 || t->shape[0] != want0 || t->shape[1] != want1) {
      s = lethe_fail(LETHE_ERR_FORMAT,
          "%s: tensor '%s' has shape [%lld, %lld]; this model and r=%d need [%lld, %lld] (an adapter for "
          "another model?)",
          st_name, t->name, (long long)t->shape[0], t->ndim > 1 ? (long long)t->shape[1] : 0LL, l->cfg.rank,
          (long long)want0, (long long)want1);
      break;
    }
    size_t k = ((size_t)p * l->n_layers + lay) * 2 + is_b;
    if (seen[k]) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' appears twice", st_name, t->name);
      break;
    }
    seen[k] = 1;
    s = lethe_st_to_f32(&st, t, dst, t->numel);
  }
  for (int p = 0; p < LETHE_NPROJ && !s; p++) {
    if (!(l->cfg.targets & (1u << p))) continue;
    for (int lay = 0; lay < l->n_layers && !s; lay++)
      for (int b = 0; b < 2 && !s; b++)
        if ((l->layer_targets[lay] & (1u << p)) && !seen[((size_t)p * l->n_layers + lay) * 2 + b])
          s = lethe_fail(LETHE_ERR_FORMAT, "%s: missing base_model.model.model.layers.%d.%s.%s.lora_%c.weight", st_name,
              lay, proj_group(p), LETHE_PROJ_NAMES[p], b ? 'B' : 'A');
  }
  if (!s) s = lethe_lora_check_finite(l, st_name);
done:
  if (st_open) lethe_st_close(&st);
  free(seen);
  free(layer_targets);
  if (s)
    lethe_lora_free(l);
  else
    *out = l;
  return s;
}

lethe_status lethe_lora_load(const char *dir, const lethe_model *model, lethe_lora **out) {
  *out = NULL;
  char *cfg_path = lethe_path_join(dir, "adapter_config.json");
  char *w_path = lethe_path_join(dir, "adapter_model.safetensors");
  char *cfg = NULL;
  size_t cfg_len = 0;
  lethe_mapped_file mf;
  memset(&mf, 0, sizeof mf);
  lethe_status s = lethe_read_file(cfg_path, 1 << 20, &cfg, &cfg_len);
  if (!s && !lethe_file_exists(w_path)) {
    char *bin = lethe_path_join(dir, "adapter_model.bin");
    if (bin && lethe_file_exists(bin))
      s = lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: lethe reads adapter_model.safetensors only; adapter_model.bin is a pickle, which cannot be read "
          "safely (unpickling runs code). Convert it where you trust it: PeftModel.from_pretrained(model, dir)"
          ".save_pretrained(dir, safe_serialization=True)",
          bin);
    free(bin);
  }
  if (!s) s = lethe_map_file(w_path, &mf);
  if (!s) s = lethe_lora_load_parts(cfg, cfg_len, cfg_path, mf.data, mf.size, w_path, model, out);
  lethe_unmap_file(&mf);
  free(cfg);
  free(cfg_path);
  free(w_path);
  return s;
}

lethe_status lethe_lora_save(const lethe_lora *l, const char *base_model, const char *dir) {
  lethe_lora_sync_host((lethe_lora *)l); /* the host copy caches the backend's */
  LETHE_TRY(lethe_out_check(dir, "adapter"));
  LETHE_TRY(lethe_lora_check_finite(l, dir));
  char *tmp;
  LETHE_TRY(lethe_dir_begin(dir, &tmp));
  lethe_status s = LETHE_OK;
  json_t *cfg = NULL;
  char *text = NULL, *p = NULL;
  lethe_st_entry *e = NULL;
  char(*names)[128] = NULL;
  if (s) goto done;
  /* target_modules: the projection names when every layer adapts the same ones, else the full
   * module names (as PEFT writes them for all-linear or a layer subset) */
  json_t *targets = json_array();
  char *desc = lethe_lora_targets_describe(l->layer_targets, l->n_layers);
  if (!desc) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    json_decref(targets);
    goto done;
  }
  for (char *tok = strtok(desc, ","); tok; tok = strtok(NULL, ",")) json_array_append_new(targets, json_string(tok));
  free(desc);
  /* a local base model is recorded by its absolute path, so that the adapter resolves elsewhere */
  char *abs_base = base_model ? realpath(base_model, NULL) : NULL;
  if (abs_base) base_model = abs_base;
  cfg = json_pack("{s:s, s:s, s:s?, s:i, s:f, s:o, s:f, s:s, s:b, s:b, s:b, s:b, s:n, s:n, s:{}, s:{}, s:b}",
      "peft_type", "LORA", "task_type", "CAUSAL_LM", "base_model_name_or_path", base_model, "r", l->cfg.rank,
      "lora_alpha", l->cfg.alpha, "target_modules", targets, "lora_dropout", l->cfg.dropout, "bias", "none",
      "use_rslora", l->cfg.rslora, "fan_in_fan_out", 0, "inference_mode", 1, "init_lora_weights", 1, "modules_to_save",
      "layers_to_transform", "rank_pattern", "alpha_pattern", "use_dora", 0);
  free(abs_base);
  text = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  p = lethe_path_join(tmp, "adapter_config.json");
  if ((s = lethe_write_file_atomic(p, text, strlen(text)))) goto done;
  free(p);
  p = NULL;
  int n = 0, cap = LETHE_NPROJ * l->n_layers * 2;
  e = calloc((size_t)cap, sizeof *e);
  names = calloc((size_t)cap, sizeof *names);
  if (!e || !names) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int lay = 0; lay < l->n_layers; lay++)
    for (int k = 0; k < LETHE_NPROJ; k++) {
      if (!(l->layer_targets[lay] & (1u << k))) continue;
      for (int b = 0; b < 2; b++) {
        snprintf(names[n], sizeof names[n], "base_model.model.model.layers.%d.%s.%s.lora_%c.weight", lay, proj_group(k),
            LETHE_PROJ_NAMES[k], b ? 'B' : 'A');
        e[n].name = names[n];
        e[n].dtype = LETHE_DT_F32;
        e[n].ndim = 2;
        e[n].shape[0] = b ? l->out_dim[k] : l->cfg.rank;
        e[n].shape[1] = b ? l->cfg.rank : l->in_dim[k];
        e[n].src = lethe_lora_host_of(l, b ? lethe_lora_B(l, k, lay) : lethe_lora_A(l, k, lay));
        n++;
      }
    }
  p = lethe_path_join(tmp, "adapter_model.safetensors");
  if ((s = lethe_st_write(p, e, n, "{\"format\": \"pt\"}"))) goto done;
  s = lethe_dir_publish(tmp, dir, "adapter");
done:
  if (s) lethe_remove_tree(tmp);
  json_decref(cfg);
  free(text);
  free(p);
  free(e);
  free(names);
  free(tmp);
  return s;
}

lethe_status lethe_lora_merge(lethe_model *m, const lethe_lora *l) {
  const lethe_config *c = &m->cfg;
  if (l->n_layers != c->n_layers)
    return lethe_fail(LETHE_ERR_INVALID, "adapter has %d layers, the model %d", l->n_layers, c->n_layers);
  if (m->wbf16) {
    /* bf16 weights on the backend: merge into the exact fp32 host copy, then upload it again */
    lethe_lora_sync_host((lethe_lora *)l);
    const lethe_ops *cpu = lethe_cpu_ops();
    for (int lay = 0; lay < c->n_layers; lay++)
      for (int p = 0; p < LETHE_NPROJ; p++) {
        if (!(l->layer_targets[lay] & (1u << p))) continue;
        cpu->gemm(0, 0, l->out_dim[p], l->in_dim[p], l->cfg.rank, l->scale,
            lethe_lora_host_of(l, lethe_lora_B(l, p, lay)), l->cfg.rank, lethe_lora_host_of(l, lethe_lora_A(l, p, lay)),
            l->in_dim[p], 1.0f, lethe_model_host_proj(m, lay, p), l->in_dim[p]);
      }
    return lethe_model_refresh_device(m);
  }
  int d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), F = c->hidden_dim;
  for (int lay = 0; lay < c->n_layers; lay++) {
    lethe_layer_weights *w = &m->layers[lay];
    float *W[LETHE_NPROJ] = {w->wqkv, w->wqkv + (size_t)q * d, w->wqkv + (size_t)(q + kv) * d, w->wo, w->wgu,
        w->wgu + (size_t)F * d, w->wdown};
    for (int p = 0; p < LETHE_NPROJ; p++) {
      if (!(l->layer_targets[lay] & (1u << p))) continue;
      /* W (out, in) += s * B (out, r) A (r, in) */
      m->ops->gemm(0, 0, l->out_dim[p], l->in_dim[p], l->cfg.rank, l->scale, lethe_lora_B(l, p, lay), l->cfg.rank,
          lethe_lora_A(l, p, lay), l->in_dim[p], 1.0f, W[p], l->in_dim[p]);
    }
  }
  return LETHE_OK;
}
