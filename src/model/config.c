/* model/config.c: Hugging Face config.json <-> lethe_config for the OLMo v1 and Llama families
 * (model_type olmo, llama, mistral, qwen2), with the defaults of transformers' config classes and
 * a validation that names the field at fault. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/model.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"

#define MAX_DIM (1 << 20)

static lethe_status read_id_list(const json_t *root, const char *key, const char *name, int *ids, int *n, int cap) {
  const json_t *v = json_object_get(root, key);
  *n = 0;
  if (!v || json_is_null(v)) return LETHE_OK;
  if (json_is_integer(v)) {
    json_int_t x = json_integer_value(v);
    if (x < -1 || x > INT32_MAX)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: field '%s' is %lld, outside [-1, %d]", name, key, (long long)x, INT32_MAX);
    ids[0] = (int)x;
    *n = 1;
    return LETHE_OK;
  }
  if (!json_is_array(v))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' must be an integer or a list of integers", name, key);
  size_t i;
  const json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_integer(e))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s'[%zu] must be an integer", name, key, i);
    json_int_t x = json_integer_value(e);
    if (x < -1 || x > INT32_MAX)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: field '%s'[%zu] is %lld, outside [-1, %d]", name, key, i, (long long)x, INT32_MAX);
    if (*n < cap) ids[(*n)++] = (int)x;
  }
  return LETHE_OK;
}

static lethe_status get_int(
    const json_t *root, const char *key, int required, int64_t lo, int64_t hi, const char *name, int *out) {
  int64_t x = *out;
  LETHE_TRY(lethe_json_int(root, key, required, lo, hi, name, &x, NULL));
  *out = (int)x;
  return LETHE_OK;
}

static lethe_status get_float(const json_t *root, const char *key, const char *name, double *out) {
  return lethe_json_num(root, key, 0, name, out, NULL);
}

/* RoPE scaling: transformers 4 writes "rope_scaling" (null or an object) beside "rope_theta";
 * transformers 5 writes one "rope_parameters" object holding rope_type, rope_theta and the
 * scaling fields. Both are read. */
static lethe_status parse_rope_scaling(const json_t *root, const char *name, lethe_config *c) {
  const char *key = "rope_scaling";
  const json_t *rs = json_object_get(root, key);
  if (!rs || json_is_null(rs)) {
    key = "rope_parameters";
    rs = json_object_get(root, key);
  }
  c->rope_type = LETHE_ROPE_DEFAULT;
  if (!rs || json_is_null(rs)) return LETHE_OK;
  if (!json_is_object(rs)) return lethe_fail(LETHE_ERR_FORMAT, "%s: field '%s' must be an object or null", name, key);
  if (!strcmp(key, "rope_parameters")) {
    char sub0[64];
    snprintf(sub0, sizeof sub0, "%s: rope_parameters", name);
    LETHE_TRY(lethe_json_num(rs, "rope_theta", 0, sub0, &c->rope_theta, NULL));
  }
  const char *type = NULL;
  char sub[64];
  snprintf(sub, sizeof sub, "%s: %s", name, key);
  LETHE_TRY(lethe_json_str(rs, "rope_type", 0, sub, &type));
  if (!type) LETHE_TRY(lethe_json_str(rs, "type", 0, sub, &type));
  if (!type) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s has no 'rope_type'", name, key);
  if (!strcmp(type, "default")) return LETHE_OK;
  double f = 0;
  LETHE_TRY(lethe_json_num(rs, "factor", 1, sub, &f, NULL));
  if (!(f >= 1.0)) return lethe_fail(LETHE_ERR_FORMAT, "%s: rope_scaling factor must be >= 1", name);
  c->rope_factor = f;
  if (!strcmp(type, "linear")) {
    c->rope_type = LETHE_ROPE_LINEAR;
    return LETHE_OK;
  }
  if (!strcmp(type, "llama3")) {
    double lo = 0, hi = 0;
    int64_t orig = 0;
    LETHE_TRY(lethe_json_num(rs, "low_freq_factor", 1, sub, &lo, NULL));
    LETHE_TRY(lethe_json_num(rs, "high_freq_factor", 1, sub, &hi, NULL));
    LETHE_TRY(lethe_json_int(rs, "original_max_position_embeddings", 1, 1, (int64_t)MAX_DIM * 64, sub, &orig, NULL));
    if (!(hi > lo) || !(lo > 0))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: rope_scaling needs 0 < low_freq_factor < high_freq_factor", name);
    c->rope_type = LETHE_ROPE_LLAMA3;
    c->rope_low_freq_factor = lo;
    c->rope_high_freq_factor = hi;
    c->rope_original_max_pos = (int)orig;
    return LETHE_OK;
  }
  return lethe_fail(
      LETHE_ERR_UNSUPPORTED, "%s: rope_scaling type '%s' is not supported (default, linear, llama3 are)", name, type);
}

lethe_status lethe_config_parse(const char *text, size_t len, const char *name, lethe_config *c) {
  json_t *root;
  LETHE_TRY(lethe_json_parse(text, len, name, &root));
  lethe_status s = LETHE_OK;
  memset(c, 0, sizeof *c);
  if (!json_is_object(root)) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: top level must be a JSON object", name);
    goto done;
  }
  const char *mt = NULL;
  if ((s = lethe_json_str(root, "model_type", 1, name, &mt))) goto done;
  if (!strcmp(mt, "olmo"))
    c->arch = LETHE_ARCH_OLMO;
  else if (!strcmp(mt, "llama") || !strcmp(mt, "mistral") || !strcmp(mt, "qwen2"))
    c->arch = LETHE_ARCH_LLAMA;
  else {
    s = lethe_fail(
        LETHE_ERR_UNSUPPORTED, "%s: model_type '%s' is not supported (olmo, llama, mistral, qwen2 are)", name, mt);
    goto done;
  }
  snprintf(c->model_type, sizeof c->model_type, "%s", mt);
  int is_qwen2 = !strcmp(mt, "qwen2"), is_mistral = !strcmp(mt, "mistral");

  const char *act = NULL;
  if ((s = lethe_json_str(root, "hidden_act", 0, name, &act))) goto done;
  if (act && strcmp(act, "silu") != 0) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: hidden_act '%s' is not supported (silu is)", name, act);
    goto done;
  }
  if ((s = get_int(root, "vocab_size", 1, 1, 1 << 24, name, &c->vocab_size))) goto done;
  if ((s = get_int(root, "hidden_size", 1, 1, MAX_DIM, name, &c->dim))) goto done;
  if ((s = get_int(root, "num_hidden_layers", 1, 1, 4096, name, &c->n_layers))) goto done;
  if ((s = get_int(root, "num_attention_heads", 1, 1, 4096, name, &c->n_heads))) goto done;
  if ((s = get_int(root, "intermediate_size", 1, 1, MAX_DIM, name, &c->hidden_dim))) goto done;
  c->n_kv_heads = c->n_heads;
  if ((s = get_int(root, "num_key_value_heads", 0, 1, 4096, name, &c->n_kv_heads))) goto done;
  c->head_dim = 0;
  if ((s = get_int(root, "head_dim", 0, 1, 4096, name, &c->head_dim))) goto done;
  if (c->head_dim == 0) {
    if (c->dim % c->n_heads != 0) {
      s = lethe_fail(
          LETHE_ERR_FORMAT, "%s: hidden_size %d is not divisible by num_attention_heads %d", name, c->dim, c->n_heads);
      goto done;
    }
    c->head_dim = c->dim / c->n_heads;
  }
  c->max_seq_len = c->arch == LETHE_ARCH_OLMO ? 2048 : is_qwen2 ? 32768 : is_mistral ? 131072 : 2048;
  if ((s = get_int(root, "max_position_embeddings", 0, 1, 1 << 24, name, &c->max_seq_len))) goto done;
  if (c->arch == LETHE_ARCH_OLMO) {
    c->norm_eps = 1e-5; /* OlmoLayerNorm's eps is fixed */
  } else {
    c->norm_eps = 1e-6;
    if ((s = get_float(root, "rms_norm_eps", name, &c->norm_eps))) goto done;
  }
  c->rope_theta = 10000.0;
  if ((s = get_float(root, "rope_theta", name, &c->rope_theta))) goto done;
  if ((s = parse_rope_scaling(root, name, c))) goto done;
  if (c->arch == LETHE_ARCH_OLMO) {
    if ((s = get_float(root, "clip_qkv", name, &c->clip_qkv))) goto done;
    if (c->clip_qkv < 0) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: field 'clip_qkv' must be positive", name);
      goto done;
    }
  }
  c->tie_embeddings = 0;
  if ((s = lethe_json_bool(root, "tie_word_embeddings", name, &c->tie_embeddings))) goto done;
  int attn_bias = 0;
  if ((s = lethe_json_bool(root, "attention_bias", name, &attn_bias))) goto done;
  c->qkv_bias = is_qwen2 || attn_bias;
  c->o_bias = !is_qwen2 && attn_bias;
  int mlp_bias = 0;
  if ((s = lethe_json_bool(root, "mlp_bias", name, &mlp_bias))) goto done;
  if (mlp_bias) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: mlp_bias true is not supported", name);
    goto done;
  }
  if (is_mistral || is_qwen2) {
    int use_sw = is_mistral;
    if (is_qwen2 && (s = lethe_json_bool(root, "use_sliding_window", name, &use_sw))) goto done;
    if (use_sw && (s = get_int(root, "sliding_window", 0, 0, 1 << 24, name, &c->sliding_window))) goto done;
    if (is_qwen2 && use_sw) {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: qwen2 use_sliding_window is not supported", name);
      goto done;
    }
  }
  c->bos_id = -1;
  c->pad_id = -1;
  if ((s = get_int(root, "bos_token_id", 0, 0, 1 << 24, name, &c->bos_id))) goto done;
  if ((s = get_int(root, "pad_token_id", 0, 0, 1 << 24, name, &c->pad_id))) goto done;
  if ((s = read_id_list(root, "eos_token_id", name, c->eos_ids, &c->n_eos, LETHE_MAX_EOS))) goto done;
  const char *dt = NULL;
  if ((s = lethe_json_str(root, "torch_dtype", 0, name, &dt))) goto done;
  if (!dt && (s = lethe_json_str(root, "dtype", 0, name, &dt))) goto done;
  snprintf(c->dtype, sizeof c->dtype, "%s", dt ? dt : "float32");
  s = lethe_config_validate(c, name);
done:
  json_decref(root);
  return s;
}

lethe_status lethe_config_load(const char *path, lethe_config *cfg) {
  char *buf;
  size_t n;
  LETHE_TRY(lethe_read_file(path, 16 << 20, &buf, &n));
  lethe_status s = lethe_config_parse(buf, n, path, cfg);
  free(buf);
  return s;
}

lethe_status lethe_config_validate(const lethe_config *c, const char *name) {
  if (c->vocab_size < 1 || c->dim < 1 || c->n_layers < 1 || c->n_heads < 1 || c->n_kv_heads < 1 || c->head_dim < 1 ||
      c->hidden_dim < 1 || c->max_seq_len < 1)
    return lethe_fail(LETHE_ERR_INVALID, "%s: every size must be positive", name);
  if (c->n_heads % c->n_kv_heads != 0)
    return lethe_fail(LETHE_ERR_INVALID, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", name,
        c->n_heads, c->n_kv_heads);
  if (c->head_dim % 2 != 0 || c->head_dim > 512)
    return lethe_fail(LETHE_ERR_INVALID, "%s: head dimension %d must be even and at most 512", name, c->head_dim);
  if (!(c->norm_eps > 0) || !(c->rope_theta > 0))
    return lethe_fail(LETHE_ERR_INVALID, "%s: rms_norm_eps and rope_theta must be positive", name);
  if (!(c->clip_qkv >= 0)) return lethe_fail(LETHE_ERR_INVALID, "%s: clip_qkv must be positive", name);
  if (c->bos_id >= c->vocab_size)
    return lethe_fail(
        LETHE_ERR_INVALID, "%s: bos_token_id %d is outside the vocabulary (%d)", name, c->bos_id, c->vocab_size);
  if (c->pad_id >= c->vocab_size)
    return lethe_fail(
        LETHE_ERR_INVALID, "%s: pad_token_id %d is outside the vocabulary (%d)", name, c->pad_id, c->vocab_size);
  for (int i = 0; i < c->n_eos; i++)
    if (c->eos_ids[i] < 0 || c->eos_ids[i] >= c->vocab_size)
      return lethe_fail(
          LETHE_ERR_INVALID, "%s: eos_token_id %d is outside the vocabulary (%d)", name, c->eos_ids[i], c->vocab_size);
  if (lethe_config_param_count(c) > ((int64_t)1 << 40))
    return lethe_fail(LETHE_ERR_INVALID, "%s: the model is implausibly large", name);
  return LETHE_OK;
}

int64_t lethe_config_param_count(const lethe_config *c) {
  int64_t d = c->dim, hd = c->head_dim, q = (int64_t)c->n_heads * hd, kv = (int64_t)c->n_kv_heads * hd;
  int64_t per = q * d + 2 * kv * d + d * q + 3 * (int64_t)c->hidden_dim * d;
  if (c->qkv_bias) per += q + 2 * kv;
  if (c->o_bias) per += d;
  if (c->arch == LETHE_ARCH_LLAMA) per += 2 * d;
  int64_t total = per * c->n_layers + (int64_t)c->vocab_size * d;
  if (!c->tie_embeddings) total += (int64_t)c->vocab_size * d;
  if (c->arch == LETHE_ARCH_LLAMA) total += d;
  return total;
}

static const char *arch_class(const lethe_config *c) {
  if (!strcmp(c->model_type, "olmo")) return "OlmoForCausalLM";
  if (!strcmp(c->model_type, "mistral")) return "MistralForCausalLM";
  if (!strcmp(c->model_type, "qwen2")) return "Qwen2ForCausalLM";
  return "LlamaForCausalLM";
}

char *lethe_config_to_json(const lethe_config *c) {
  json_t *o = json_object();
  json_object_set_new(o, "architectures", json_pack("[s]", arch_class(c)));
  json_object_set_new(o, "model_type", json_string(c->model_type));
  json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
  json_object_set_new(o, "hidden_size", json_integer(c->dim));
  json_object_set_new(o, "num_hidden_layers", json_integer(c->n_layers));
  json_object_set_new(o, "num_attention_heads", json_integer(c->n_heads));
  json_object_set_new(o, "num_key_value_heads", json_integer(c->n_kv_heads));
  if (c->head_dim != c->dim / c->n_heads || c->dim % c->n_heads != 0)
    json_object_set_new(o, "head_dim", json_integer(c->head_dim));
  json_object_set_new(o, "intermediate_size", json_integer(c->hidden_dim));
  json_object_set_new(o, "max_position_embeddings", json_integer(c->max_seq_len));
  json_object_set_new(o, "hidden_act", json_string("silu"));
  if (c->arch == LETHE_ARCH_LLAMA) json_object_set_new(o, "rms_norm_eps", json_real(c->norm_eps));
  json_object_set_new(o, "rope_theta", json_real(c->rope_theta));
  if (c->rope_type == LETHE_ROPE_LINEAR) {
    json_object_set_new(o, "rope_scaling", json_pack("{s:s, s:f}", "rope_type", "linear", "factor", c->rope_factor));
  } else if (c->rope_type == LETHE_ROPE_LLAMA3) {
    json_object_set_new(o, "rope_scaling",
        json_pack("{s:s, s:f, s:f, s:f, s:i}", "rope_type", "llama3", "factor", c->rope_factor, "low_freq_factor",
            c->rope_low_freq_factor, "high_freq_factor", c->rope_high_freq_factor, "original_max_position_embeddings",
            c->rope_original_max_pos));
  } else {
    json_object_set_new(o, "rope_scaling", json_null());
  }
  if (c->arch == LETHE_ARCH_OLMO)
    json_object_set_new(o, "clip_qkv", c->clip_qkv > 0 ? json_real(c->clip_qkv) : json_null());
  if (strcmp(c->model_type, "qwen2") != 0)
    json_object_set_new(o, "attention_bias", json_boolean(c->qkv_bias || c->o_bias));
  if (!strcmp(c->model_type, "mistral"))
    json_object_set_new(o, "sliding_window", c->sliding_window > 0 ? json_integer(c->sliding_window) : json_null());
  if (!strcmp(c->model_type, "qwen2")) json_object_set_new(o, "use_sliding_window", json_false());
  json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_embeddings));
  json_object_set_new(o, "bos_token_id", c->bos_id >= 0 ? json_integer(c->bos_id) : json_null());
  json_object_set_new(o, "pad_token_id", c->pad_id >= 0 ? json_integer(c->pad_id) : json_null());
  if (c->n_eos == 0)
    json_object_set_new(o, "eos_token_id", json_null());
  else if (c->n_eos == 1)
    json_object_set_new(o, "eos_token_id", json_integer(c->eos_ids[0]));
  else {
    json_t *a = json_array();
    for (int i = 0; i < c->n_eos; i++) json_array_append_new(a, json_integer(c->eos_ids[i]));
    json_object_set_new(o, "eos_token_id", a);
  }
  json_object_set_new(o, "torch_dtype", json_string(c->dtype[0] ? c->dtype : "float32"));
  json_object_set_new(o, "use_cache", json_true());
  char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
  json_decref(o);
  return s;
}
