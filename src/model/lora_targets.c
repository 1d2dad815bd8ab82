/* model/lora_targets.c: which projections of which layers a LoRA adapter adapts, resolved as PEFT
 * resolves target_modules (peft.tuners.tuners_utils.check_target_module_exists) against the
 * module names of the Hugging Face model (model.layers.L.self_attn.q_proj, ..., lm_head):
 *  - target_modules a string: re.fullmatch(pattern, name); "all-linear" (any case): every Linear
 *    module but the output head, i.e. the seven projections of every layer;
 *  - a list: a name in the list, or a name ending in "." + an entry; only in the suffix case are
 *    layers_to_transform (+ layers_pattern) applied, with PEFT's layer-index expressions;
 *  - exclude_modules (string: fullmatch; list: exact or "."-suffix) removes matches first.
 * A match on a module lethe does not adapt (lm_head, embed_tokens, a norm, a container) is refused,
 * as is a spec that matches nothing (PEFT raises for both). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "model/model.h"
#include "util/error.h"

/* Compiles a Python regular expression for re.fullmatch / re.match; NULL with an error set. */
static pcre2_code *compile(const char *pattern, const char *where, const char *field) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
  if (!re) {
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(err, msg, sizeof msg);
    lethe_fail(LETHE_ERR_FORMAT, "%s: %s '%s' is not a regular expression lethe can read (offset %zu: %s)", where,
        field, pattern, (size_t)off, (const char *)msg);
  }
  return re;
}

/* 1 when re matches at the start of s (anchored; with `full`, to its end too); the first capture
 * group's value goes to *group when group != NULL (-1 when absent). */
static int re_match(pcre2_code *re, const char *s, int full, long *group) {
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
  if (!md) return 0;
  /* a bound on backtracking: a pathological pattern fails to match instead of running for minutes */
  pcre2_match_context *mc = pcre2_match_context_create(NULL);
  if (mc) pcre2_set_match_limit(mc, 1000000);
  int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, PCRE2_ANCHORED | (full ? PCRE2_ENDANCHORED : 0), md, mc);
  pcre2_match_context_free(mc);
  if (rc > 1 && group) {
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *group = ov[2] == PCRE2_UNSET ? -1 : strtol(s + ov[2], NULL, 10);
  } else if (group) {
    *group = -1;
  }
  pcre2_match_data_free(md);
  return rc > 0;
}

static int ends_with_dot(const char *key, const char *suffix) {
  size_t k = strlen(key), n = strlen(suffix);
  return k > n && key[k - n - 1] == '.' && !strcmp(key + k - n, suffix);
}

static int list_match(const char *key, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(key, names[i]) || ends_with_dot(key, names[i])) return 1;
  return 0;
}

/* The Hugging Face module names of a decoder of n layers (what named_modules() lists, less the
 * root), each with the projection it is (-1: a module lethe does not adapt) and its layer. */
typedef struct {
  char name[96];
  int proj, layer;
} module_name;

static module_name *module_names(int n_layers, int *count) {
  static const char *const top[] = {
      "model", "model.embed_tokens", "model.layers", "model.norm", "model.rotary_emb", "lm_head"};
  static const char *const per_layer[] = {
      "self_attn", "mlp", "mlp.act_fn", "input_layernorm", "post_attention_layernorm"};
  int ntop = (int)(sizeof top / sizeof *top), nper = (int)(sizeof per_layer / sizeof *per_layer);
  int n = ntop + n_layers * (1 + nper + LETHE_NPROJ);
  module_name *m = calloc((size_t)n, sizeof *m);
  if (!m) return NULL;
  int k = 0;
  for (int i = 0; i < ntop; i++, k++) {
    snprintf(m[k].name, sizeof m[k].name, "%s", top[i]);
    m[k].proj = m[k].layer = -1;
  }
  for (int l = 0; l < n_layers; l++) {
    snprintf(m[k].name, sizeof m[k].name, "model.layers.%d", l);
    m[k].proj = -1;
    m[k++].layer = l;
    for (int i = 0; i < nper; i++, k++) {
      snprintf(m[k].name, sizeof m[k].name, "model.layers.%d.%s", l, per_layer[i]);
      m[k].proj = -1;
      m[k].layer = l;
    }
    for (int p = 0; p < LETHE_NPROJ; p++, k++) {
      snprintf(m[k].name, sizeof m[k].name, "model.layers.%d.%s.%s", l, p <= LETHE_PROJ_O ? "self_attn" : "mlp",
          LETHE_PROJ_NAMES[p]);
      m[k].proj = p;
      m[k].layer = l;
    }
  }
  *count = k;
  return m;
}

void lethe_lora_module_name(int layer, int proj, char *buf, size_t n) {
  snprintf(buf, n, "model.layers.%d.%s.%s", layer, proj <= LETHE_PROJ_O ? "self_attn" : "mlp", LETHE_PROJ_NAMES[proj]);
}

/* Layer index of a key as PEFT finds it for layers_to_transform; -1: none. */
static lethe_status layer_index(const lethe_lora_target_spec *t, const char *key, const char *where, long *idx) {
  *idx = -1;
  char pat[320];
  int np = t->n_layers_pattern > 0 ? t->n_layers_pattern : 1;
  for (int i = 0; i < np && *idx < 0; i++) {
    if (t->n_layers_pattern > 0)
      snprintf(pat, sizeof pat, ".*?\\.%s\\.(\\d+)\\.", t->layers_pattern[i]);
    else
      snprintf(pat, sizeof pat, ".*?\\.[^.]*\\.(\\d+)\\.");
    pcre2_code *re = compile(pat, where, "layers_pattern");
    if (!re) return LETHE_ERR_FORMAT;
    re_match(re, key, 0, idx);
    pcre2_code_free(re);
  }
  return LETHE_OK;
}

lethe_status lethe_lora_resolve_targets(
    const lethe_config *mc, const lethe_lora_target_spec *t, const char *where, unsigned *layer_targets) {
  memset(layer_targets, 0, sizeof(unsigned) * (size_t)mc->n_layers);
  int all_linear = t->regex && !strcasecmp(t->regex, "all-linear");
  if (!t->regex && t->n_names <= 0) return lethe_fail(LETHE_ERR_FORMAT, "%s: target_modules is empty", where);
  for (int i = 0; i < t->n_names; i++)
    if (!t->names[i][0]) return lethe_fail(LETHE_ERR_FORMAT, "%s: target_modules holds an empty name", where);
  int n = 0;
  module_name *mods = module_names(mc->n_layers, &n);
  pcre2_code *tre = NULL, *xre = NULL;
  lethe_status s = LETHE_OK;
  if (!mods) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  if (t->regex && !all_linear && !(tre = compile(t->regex, where, "target_modules"))) s = LETHE_ERR_FORMAT;
  if (!s && t->exclude_regex && !(xre = compile(t->exclude_regex, where, "exclude_modules"))) s = LETHE_ERR_FORMAT;
  int found = 0;
  for (int k = 0; k < n && !s; k++) {
    const char *key = mods[k].name;
    if (xre ? re_match(xre, key, 1, NULL) : list_match(key, t->exclude, t->n_exclude)) continue;
    int hit;
    if (all_linear)
      hit = mods[k].proj >= 0; /* PEFT drops the output embedding (lm_head) */
    else if (tre)
      hit = re_match(tre, key, 1, NULL);
    else if (list_match(key, t->names, t->n_names)) {
      hit = 1;
      int exact = 0;
      for (int i = 0; i < t->n_names; i++) exact |= !strcmp(key, t->names[i]);
      if (!exact && t->n_layers_sel >= 0) {
        long idx;
        if ((s = layer_index(t, key, where, &idx))) break;
        hit = 0;
        for (int i = 0; i < t->n_layers_sel && idx >= 0; i++) hit |= t->layers_sel[i] == idx;
      }
    } else
      hit = 0;
    if (!hit) continue;
    if (mods[k].proj < 0) {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: target_modules selects module '%s'; lethe adapts only the decoder's q_proj, k_proj, v_proj, o_proj, "
          "gate_proj, up_proj and down_proj",
          where, key);
      break;
    }
    layer_targets[mods[k].layer] |= 1u << mods[k].proj;
    found++;
  }
  if (!s && !found)
    s = lethe_fail(
        LETHE_ERR_FORMAT, "%s: target_modules selects no module of this %d-layer model", where, mc->n_layers);
  pcre2_code_free(tre);
  pcre2_code_free(xre);
  free(mods);
  return s;
}

lethe_status lethe_lora_targets_from_list(const char *list, const lethe_config *mc, unsigned *layer_targets) {
  if (!list || !*list) return lethe_fail(LETHE_ERR_INVALID, "empty LoRA target list");
  lethe_lora_target_spec t = {.n_layers_sel = -1};
  if (!strcmp(list, "all") || !strcasecmp(list, "all-linear")) {
    t.regex = "all-linear";
    return lethe_lora_resolve_targets(mc, &t, "--lora-targets", layer_targets);
  }
  size_t len = strlen(list);
  char *buf = malloc(len + 1);
  const char **names = calloc(len / 2 + 2, sizeof *names);
  if (!buf || !names) {
    free(buf);
    free(names);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  memcpy(buf, list, len + 1);
  lethe_status s = LETHE_OK;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    const char *name = tok;
    for (int p = 0; p < LETHE_NPROJ; p++) {
      size_t short_len = (size_t)(strchr(LETHE_PROJ_NAMES[p], '_') - LETHE_PROJ_NAMES[p]);
      if (strlen(tok) == short_len && !strncmp(tok, LETHE_PROJ_NAMES[p], short_len)) name = LETHE_PROJ_NAMES[p];
    }
    names[t.n_names++] = name;
  }
  t.names = names;
  if (t.n_names == 0) s = lethe_fail(LETHE_ERR_INVALID, "empty LoRA target list");
  if (!s) {
    s = lethe_lora_resolve_targets(mc, &t, "--lora-targets", layer_targets);
    if (s)
      lethe_fail_context(s, "LoRA targets are PEFT module names or suffixes (q_proj, self_attn.v_proj, "
                            "model.layers.0.mlp.down_proj), q/k/v/o/gate/up/down, or all-linear");
  }
  free(names);
  free(buf);
  return s;
}

char *lethe_lora_targets_describe(const unsigned *layer_targets, int n_layers) {
  unsigned all = 0;
  int uniform = 1;
  for (int l = 0; l < n_layers; l++) all |= layer_targets[l];
  for (int l = 0; l < n_layers; l++) uniform &= layer_targets[l] == all;
  size_t cap = 16 + (size_t)(uniform ? 1 : n_layers) * LETHE_NPROJ * 48;
  char *out = malloc(cap), *w = out;
  if (!out) return NULL;
  *w = 0;
  for (int l = 0; l < (uniform ? 1 : n_layers); l++)
    for (int p = 0; p < LETHE_NPROJ; p++) {
      if (!((uniform ? all : layer_targets[l]) & (1u << p))) continue;
      if (w != out) *w++ = ',';
      if (uniform)
        w += sprintf(w, "%s", LETHE_PROJ_NAMES[p]);
      else {
        lethe_lora_module_name(l, p, w, 96);
        w += strlen(w);
      }
    }
  return out;
}
