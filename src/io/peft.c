/* io/peft.c: LoRA adapters in Hugging Face PEFT's format. adapter_config.json carries r,
 * lora_alpha, target_modules, use_rslora and friends; adapter_model.safetensors holds
 * base_model.model.model.layers.L.{self_attn,mlp}.PROJ.lora_{A,B}.weight with A [r, in] and
 * B [out, r]. Also W += s B A (merging). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "io/safetensors.h"
#include "lethe/lora.h"
#include "model/model.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

static const char *proj_group(int p) { return p <= LETHE_PROJ_O ? "self_attn" : "mlp"; }

lethe_status lethe_lora_peft_slot(const lethe_lora *l, const char *key, float **dst, int *is_b, int *proj,
                                  int *layer) {
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
    return lethe_fail(LETHE_ERR_FORMAT, "tensor '%s' is for layer %lld; the model has %d layers", key, lay, l->n_layers);
  if (!(l->cfg.targets & (1u << p)))
    return lethe_fail(LETHE_ERR_FORMAT, "tensor '%s' adapts %s, which is not in target_modules", key, pname);
  *is_b = ab[0] == 'B';
  *proj = p;
  *layer = (int)lay;
  *dst = lethe_lora_host_of(l, *is_b ? lethe_lora_B(l, p, lay) : lethe_lora_A(l, p, lay));
  return LETHE_OK;
}

static lethe_status parse_config(const char *text, size_t len, const char *path, const lethe_config *mc,
                                 lethe_lora_config *lc) {
  json_t *root;
  LETHE_TRY(lethe_json_parse(text, len, path, &root));
  lethe_status s = LETHE_OK;
  memset(lc, 0, sizeof *lc);
  const char *pt = NULL, *bias = NULL;
  int64_t r = 0;
  double alpha = 0;
  const json_t *tm = json_object_get(root, "target_modules");
  if (!json_is_object(root)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: not a JSON object", path);
    goto done;
  }
  if ((s = lethe_json_str(root, "peft_type", 1, path, &pt))) goto done;
  if (strcmp(pt, "LORA") != 0) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: peft_type '%s' is not supported (LORA is)", path, pt);
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
  static const char *const must_be_false[] = {"fan_in_fan_out", "use_dora", "lora_bias", "use_qalora"};
  for (size_t i = 0; i < sizeof must_be_false / sizeof *must_be_false; i++) {
    int v = 0;
    if ((s = lethe_json_bool(root, must_be_false[i], path, &v))) goto done;
    if (v) {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: %s true is not supported", path, must_be_false[i]);
      goto done;
    }
  }
  static const char *const must_be_empty[] = {"rank_pattern", "alpha_pattern", "modules_to_save", "layers_to_transform",
                                              "layer_replication", "trainable_token_indices", "target_parameters"};
  for (size_t i = 0; i < sizeof must_be_empty / sizeof *must_be_empty; i++) {
    const json_t *v = json_object_get(root, must_be_empty[i]);
    if (v && !json_is_null(v) && !((json_is_object(v) && json_object_size(v) == 0) || (json_is_array(v) && json_array_size(v) == 0))) {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: %s is not supported", path, must_be_empty[i]);
      goto done;
    }
  }
  if (json_is_string(tm)) {
    if (!strcmp(json_string_value(tm), "all-linear")) lc->targets = (1u << LETHE_NPROJ) - 1;
    else {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: target_modules as a regular expression ('%s') is not supported; list the modules", path,
                     json_string_value(tm));
      goto done;
    }
  } else if (json_is_array(tm) && json_array_size(tm) > 0) {
    size_t i;
    const json_t *e;
    json_array_foreach(tm, i, e) {
      if (!json_is_string(e)) {
        s = lethe_fail(LETHE_ERR_FORMAT, "%s: target_modules[%zu] is not a string", path, i);
        goto done;
      }
      unsigned t = 0;
      const char *name = json_string_value(e);
      for (int p = 0; p < LETHE_NPROJ; p++)
        if (!strcmp(name, LETHE_PROJ_NAMES[p])) t = 1u << p;
      if (!t) {
        s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: target module '%s' is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
                       path, name);
        goto done;
      }
      lc->targets |= t;
    }
  } else {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: target_modules must be a non-empty list", path);
    goto done;
  }
  (void)mc;
done:
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
  lethe_status s = parse_config(cfg_text, cfg_len, cfg_name, &model->cfg, &lc);
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
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' has shape [%lld, %lld]; this model and r=%d need [%lld, %lld] (an adapter for another model?)",
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
        if (!seen[((size_t)p * l->n_layers + lay) * 2 + b])
          s = lethe_fail(LETHE_ERR_FORMAT, "%s: missing base_model.model.model.layers.%d.%s.%s.lora_%c.weight", st_name, lay,
                         proj_group(p), LETHE_PROJ_NAMES[p], b ? 'B' : 'A');
  }
  if (!s) s = lethe_lora_check_finite(l, st_name);
done:
  if (st_open) lethe_st_close(&st);
  free(seen);
  if (s) lethe_lora_free(l);
  else *out = l;
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
  char (*names)[128] = NULL;
  if (s) goto done;
  json_t *targets = json_array();
  for (int k = 0; k < LETHE_NPROJ; k++)
    if (l->cfg.targets & (1u << k)) json_array_append_new(targets, json_string(LETHE_PROJ_NAMES[k]));
  cfg = json_pack("{s:s, s:s, s:s?, s:i, s:f, s:o, s:f, s:s, s:b, s:b, s:b, s:b, s:n, s:n, s:{}, s:{}, s:b}", "peft_type", "LORA",
                  "task_type", "CAUSAL_LM", "base_model_name_or_path", base_model, "r", l->cfg.rank, "lora_alpha",
                  l->cfg.alpha, "target_modules", targets, "lora_dropout", l->cfg.dropout, "bias", "none", "use_rslora",
                  l->cfg.rslora, "fan_in_fan_out", 0, "inference_mode", 1, "init_lora_weights", 1, "modules_to_save",
                  "layers_to_transform", "rank_pattern", "alpha_pattern", "use_dora", 0);
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
      if (!(l->cfg.targets & (1u << k))) continue;
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
  if (l->n_layers != c->n_layers) return lethe_fail(LETHE_ERR_INVALID, "adapter has %d layers, the model %d", l->n_layers, c->n_layers);
  if (m->wbf16) {
    /* bf16 weights on the backend: merge into the exact fp32 host copy, then upload it again */
    lethe_lora_sync_host((lethe_lora *)l);
    const lethe_ops *cpu = lethe_cpu_ops();
    for (int lay = 0; lay < c->n_layers; lay++)
      for (int p = 0; p < LETHE_NPROJ; p++) {
        if (!(l->cfg.targets & (1u << p))) continue;
        cpu->gemm(0, 0, l->out_dim[p], l->in_dim[p], l->cfg.rank, l->scale, lethe_lora_host_of(l, lethe_lora_B(l, p, lay)),
                  l->cfg.rank, lethe_lora_host_of(l, lethe_lora_A(l, p, lay)), l->in_dim[p], 1.0f,
                  lethe_model_host_proj(m, lay, p), l->in_dim[p]);
      }
    return lethe_model_refresh_device(m);
  }
  int d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), F = c->hidden_dim;
  for (int lay = 0; lay < c->n_layers; lay++) {
    lethe_layer_weights *w = &m->layers[lay];
    float *W[LETHE_NPROJ] = {w->wqkv, w->wqkv + (size_t)q * d, w->wqkv + (size_t)(q + kv) * d, w->wo, w->wgu,
                             w->wgu + (size_t)F * d, w->wdown};
    for (int p = 0; p < LETHE_NPROJ; p++) {
      if (!(l->cfg.targets & (1u << p))) continue;
      /* W (out, in) += s * B (out, r) A (r, in) */
      m->ops->gemm(0, 0, l->out_dim[p], l->in_dim[p], l->cfg.rank, l->scale, lethe_lora_B(l, p, lay), l->cfg.rank,
                   lethe_lora_A(l, p, lay), l->in_dim[p], 1.0f, W[p], l->in_dim[p]);
    }
  }
  return LETHE_OK;
}
