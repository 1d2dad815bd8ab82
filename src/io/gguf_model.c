/* io/gguf_model.c: a parsed GGUF file of architecture `llama` or `olmo` as a lethe model. The
 * hyperparameters come from the {arch}.* keys, the weights from llama.cpp's tensor names
 * (token_embd, blk.N.attn_q, ..., output_norm, output; `output` absent means a tied head), mapped
 * to Hugging Face names. GGUF lists dimensions innermost first, so a GGUF [in, out] matrix has
 * exactly the memory layout of a PyTorch [out, in] one. llama.cpp's converter permutes the rows
 * of q_proj and k_proj within each head from Hugging Face's rotate-half pairing (i, i + hd/2) to
 * interleaved pairs (2i, 2i+1), for llama and for olmo alike; the rows are permuted back here.
 * RoPE scaling: linear from {arch}.rope.scaling.*, Llama 3's from rope_freqs.weight (gguf_rope.c).
 * Every tensor's presence, type and shape is checked before the model is allocated, so a lying
 * header cannot cause a large allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "io/io.h"
#include "model/model.h"
#include "util/array.h"
#include "util/error.h"

typedef struct {
  char gguf[64];
  char hf[96];
  int64_t rows, cols; /* expected PyTorch shape [rows, cols]; cols == 0 for a vector */
  int rope_heads;     /* > 0: undo the interleaved RoPE permutation with this many heads */
  int optional;
} tmap;

typedef struct {
  tmap *t;
  int n;
  size_t cap;
} tlist;

static int push(tlist *l, const char *gg, const char *hf, int64_t rows, int64_t cols, int rope_heads, int optional) {
  if (LETHE_ARRAY_GROW(l->t, l->cap, (size_t)l->n + 1, "GGUF tensor map") != LETHE_OK) return 1;
  tmap *e = &l->t[l->n++];
  snprintf(e->gguf, sizeof e->gguf, "%s", gg);
  snprintf(e->hf, sizeof e->hf, "%s", hf);
  e->rows = rows;
  e->cols = cols;
  e->rope_heads = rope_heads;
  e->optional = optional;
  return 0;
}

/* The tensors a model of config c has, with their GGUF names. */
static lethe_status build_map(const lethe_config *c, tlist *l) {
  int64_t d = c->dim, q = lethe_qdim(c), kv = lethe_kvdim(c), F = c->hidden_dim, V = c->vocab_size;
  int llama = c->arch == LETHE_ARCH_LLAMA, bad = 0;
  char g[64], h[96];
  bad |= push(l, "token_embd.weight", "model.embed_tokens.weight", V, d, 0, 0);
  if (llama) bad |= push(l, "output_norm.weight", "model.norm.weight", d, 0, 0, 0);
  if (!c->tie_embeddings) bad |= push(l, "output.weight", "lm_head.weight", V, d, 0, 0);
  for (int i = 0; i < c->n_layers && !bad; i++) {
#define T(gs, hs, r, cc, rh)                                                                                           \
  do {                                                                                                                 \
    snprintf(g, sizeof g, "blk.%d.%s", i, gs);                                                                         \
    snprintf(h, sizeof h, "model.layers.%d.%s", i, hs);                                                                \
    bad |= push(l, g, h, r, cc, rh, 0);                                                                                \
  } while (0)
    if (llama) T("attn_norm.weight", "input_layernorm.weight", d, 0, 0);
    T("attn_q.weight", "self_attn.q_proj.weight", q, d, c->n_heads);
    T("attn_k.weight", "self_attn.k_proj.weight", kv, d, c->n_kv_heads);
    T("attn_v.weight", "self_attn.v_proj.weight", kv, d, 0);
    if (c->qkv_bias) {
      T("attn_q.bias", "self_attn.q_proj.bias", q, 0, c->n_heads);
      T("attn_k.bias", "self_attn.k_proj.bias", kv, 0, c->n_kv_heads);
      T("attn_v.bias", "self_attn.v_proj.bias", kv, 0, 0);
    }
    T("attn_output.weight", "self_attn.o_proj.weight", d, q, 0);
    if (c->o_bias) T("attn_output.bias", "self_attn.o_proj.bias", d, 0, 0);
    if (llama) T("ffn_norm.weight", "post_attention_layernorm.weight", d, 0, 0);
    T("ffn_gate.weight", "mlp.gate_proj.weight", F, d, 0);
    T("ffn_up.weight", "mlp.up_proj.weight", F, d, 0);
    T("ffn_down.weight", "mlp.down_proj.weight", d, F, 0);
#undef T
  }
  if (bad) return lethe_fail(LETHE_ERR_NOMEM, "out of memory building the GGUF tensor map");
  return LETHE_OK;
}

static lethe_status check_shape(const lethe_gguf *g, const lethe_gguf_tensor *t, const tmap *e) {
  if (!lethe_ggml_type_supported(t->type)) {
    const char *tn = lethe_ggml_type_name(t->type);
    return lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: tensor '%s': unsupported tensor type %s (lethe reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)",
        g->name, t->name, tn ? tn : "?");
  }
  int64_t want0 = e->cols ? e->cols : e->rows, want1 = e->cols ? e->rows : 1;
  if (t->ne[0] == want0 && t->ne[1] == want1 && t->ne[2] == 1 && t->ne[3] == 1) return LETHE_OK;
  char got[96], want[64];
  int k = 0;
  for (int i = 0; i < t->n_dims; i++)
    k += snprintf(got + k, sizeof got - (size_t)k, "%s%lld", i ? ", " : "", (long long)t->ne[i]);
  if (e->cols)
    snprintf(want, sizeof want, "%lld, %lld", (long long)want0, (long long)want1);
  else
    snprintf(want, sizeof want, "%lld", (long long)want0);
  return lethe_fail(LETHE_ERR_FORMAT,
      "%s: tensor '%s' has dimensions [%s], the metadata implies [%s] (innermost first)", g->name, t->name, got, want);
}

/* Reads {prefix}.{key} as an int in [lo, hi]. */
static lethe_status arch_int(const lethe_gguf *g, const char *arch, const char *key, int required, int64_t lo,
    int64_t hi, int *out, int *present) {
  char k[128];
  snprintf(k, sizeof k, "%s.%s", arch, key);
  int64_t v;
  int pr = 0;
  LETHE_TRY(lethe_gguf_get_int(g, k, required, lo, hi, &v, &pr));
  if (pr) *out = (int)v;
  if (present) *present = pr;
  return LETHE_OK;
}

static lethe_status arch_float(const lethe_gguf *g, const char *arch, const char *key, double *out, int *present) {
  char k[128];
  snprintf(k, sizeof k, "%s.%s", arch, key);
  return lethe_gguf_get_float(g, k, 0, out, present);
}

static lethe_status token_id(const lethe_gguf *g, const char *key, int *out) {
  int64_t v;
  int pr = 0;
  LETHE_TRY(lethe_gguf_get_int(g, key, 0, -1, INT32_MAX, &v, &pr));
  if (pr) *out = (int)v;
  return LETHE_OK;
}

/* Fills the config from the metadata (vocabulary size from token_embd). */
static lethe_status read_config(const lethe_gguf *g, lethe_config *c) {
  memset(c, 0, sizeof *c);
  char *arch = NULL;
  LETHE_TRY(lethe_gguf_get_str(g, "general.architecture", 1, &arch));
  lethe_status s = LETHE_OK;
  if (!strcmp(arch, "llama"))
    c->arch = LETHE_ARCH_LLAMA;
  else if (!strcmp(arch, "olmo"))
    c->arch = LETHE_ARCH_OLMO;
  else
    s = lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: architecture '%.64s' is not supported (lethe reads GGUF models of architecture llama and olmo)", g->name,
        arch);
  if (s) {
    free(arch);
    return s;
  }
  snprintf(c->model_type, sizeof c->model_type, "%s", arch);
  int pr;
  const int64_t BIG = 1 << 20;
  if (!s) s = arch_int(g, arch, "context_length", 1, 1, 1 << 24, &c->max_seq_len, NULL);
  if (!s) s = arch_int(g, arch, "embedding_length", 1, 1, BIG, &c->dim, NULL);
  if (!s) s = arch_int(g, arch, "block_count", 1, 1, 4096, &c->n_layers, NULL);
  if (!s) s = arch_int(g, arch, "feed_forward_length", 1, 1, BIG, &c->hidden_dim, NULL);
  if (!s) s = arch_int(g, arch, "attention.head_count", 1, 1, 4096, &c->n_heads, NULL);
  c->n_kv_heads = c->n_heads;
  if (!s) s = arch_int(g, arch, "attention.head_count_kv", 0, 1, 4096, &c->n_kv_heads, NULL);
  if (s) goto done;
  c->head_dim = c->dim / c->n_heads;
  int kl = 0, vl = 0, klp = 0, vlp = 0, rd = 0;
  if ((s = arch_int(g, arch, "attention.key_length", 0, 1, 4096, &kl, &klp))) goto done;
  if ((s = arch_int(g, arch, "attention.value_length", 0, 1, 4096, &vl, &vlp))) goto done;
  if (klp) c->head_dim = kl;
  if (vlp && vl != c->head_dim) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: %s.attention.value_length %d differs from the key length %d", g->name,
        arch, vl, c->head_dim);
    goto done;
  }
  if (!klp && c->dim % c->n_heads) {
    s = lethe_fail(
        LETHE_ERR_FORMAT, "%s: embedding_length %d is not a multiple of head_count %d", g->name, c->dim, c->n_heads);
    goto done;
  }
  if ((s = arch_int(g, arch, "rope.dimension_count", 0, 1, 4096, &rd, &pr))) goto done;
  if (pr && rd != c->head_dim) {
    s = lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: %s.rope.dimension_count %d differs from the head dimension %d (partial RoPE is not supported)", g->name,
        arch, rd, c->head_dim);
    goto done;
  }
  c->rope_theta = 10000.0;
  if ((s = arch_float(g, arch, "rope.freq_base", &c->rope_theta, NULL))) goto done;
  if (c->arch == LETHE_ARCH_LLAMA) {
    c->norm_eps = 1e-5;
    if ((s = arch_float(g, arch, "attention.layer_norm_rms_epsilon", &c->norm_eps, NULL))) goto done;
  } else {
    c->norm_eps = 1e-5;
    if ((s = arch_float(g, arch, "attention.layer_norm_epsilon", &c->norm_eps, NULL))) goto done;
    if ((s = arch_float(g, arch, "attention.clamp_kqv", &c->clip_qkv, NULL))) goto done;
  }
  /* RoPE scaling: linear is expressible in config.json; YaRN and LongRoPE are not supported. */
  char key[128], *rtype = NULL;
  snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
  if ((s = lethe_gguf_get_str(g, key, 0, &rtype))) goto done;
  double factor = 1.0;
  int fpr = 0;
  if ((s = arch_float(g, arch, "rope.scaling.factor", &factor, &fpr))) goto done_r;
  if (!fpr && (s = arch_float(g, arch, "rope.scale_linear", &factor, &fpr))) goto done_r;
  if (rtype && strcmp(rtype, "none") && strcmp(rtype, "linear")) {
    s = lethe_fail(
        LETHE_ERR_UNSUPPORTED, "%s: RoPE scaling type '%.32s' is not supported (none and linear are)", g->name, rtype);
    goto done_r;
  }
  if ((!rtype || !strcmp(rtype, "linear")) && fpr && factor != 1.0) {
    if (!(factor > 0)) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: RoPE scaling factor %g is not positive", g->name, factor);
      goto done_r;
    }
    c->rope_type = LETHE_ROPE_LINEAR;
    c->rope_factor = factor;
  }
  const lethe_gguf_tensor *rf = lethe_gguf_find_tensor(g, "rope_freqs.weight");
  if (rf) {
    if (c->rope_type != LETHE_ROPE_DEFAULT) {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: rope_freqs.weight together with RoPE scaling type '%s' is not supported", g->name,
          rtype ? rtype : "linear");
      goto done_r;
    }
    if ((s = lethe_gguf_llama3_rope(g, rf, c))) goto done_r;
  }
  /* vocabulary: the rows of token_embd */
  const lethe_gguf_tensor *te = lethe_gguf_find_tensor(g, "token_embd.weight");
  if (!te) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor 'token_embd.weight' is missing", g->name);
    goto done_r;
  }
  if (te->n_dims != 2 || te->ne[1] > (1 << 24)) {
    s = lethe_fail(
        LETHE_ERR_FORMAT, "%s: tensor 'token_embd.weight' is not a [embedding_length, vocab] matrix", g->name);
    goto done_r;
  }
  c->vocab_size = (int)te->ne[1];
  c->tie_embeddings = lethe_gguf_find_tensor(g, "output.weight") == NULL;
  c->qkv_bias = lethe_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
  c->o_bias = lethe_gguf_find_tensor(g, "blk.0.attn_output.bias") != NULL;
  c->bos_id = -1;
  c->pad_id = -1;
  int eos = -1, eot = -1;
  if ((s = token_id(g, "tokenizer.ggml.bos_token_id", &c->bos_id))) goto done_r;
  if ((s = token_id(g, "tokenizer.ggml.eos_token_id", &eos))) goto done_r;
  if ((s = token_id(g, "tokenizer.ggml.eot_token_id", &eot))) goto done_r;
  if ((s = token_id(g, "tokenizer.ggml.padding_token_id", &c->pad_id))) goto done_r;
  if (eos >= 0) c->eos_ids[c->n_eos++] = eos;
  if (eot >= 0 && eot != eos) c->eos_ids[c->n_eos++] = eot;
  snprintf(c->dtype, sizeof c->dtype, "float32");
  /* a sliding window, where the writer stored one (llama.cpp does for some architectures) */
  if ((s = arch_int(g, arch, "attention.sliding_window", 0, 0, 1 << 24, &c->sliding_window, NULL))) goto done_r;
  if (c->sliding_window && !strcmp(arch, "llama")) snprintf(c->model_type, sizeof c->model_type, "mistral");
  s = lethe_config_validate(c, g->name);
done_r:
  free(rtype);
done:
  free(arch);
  return s;
}

/* dst row (h, c * hd/2 + i) <- src row (h, 2 i + c): interleaved pairs back to halves. */
static void unpermute_rows(float *dst, const float *src, int n_heads, int64_t rows, int64_t cols) {
  int64_t hd = rows / n_heads, half = hd / 2;
  for (int64_t h = 0; h < n_heads; h++)
    for (int64_t c = 0; c < 2; c++)
      for (int64_t i = 0; i < half; i++)
        memcpy(dst + (h * hd + c * half + i) * cols, src + (h * hd + 2 * i + c) * cols, sizeof(float) * (size_t)cols);
}

lethe_status lethe_gguf_model(const lethe_gguf *g, lethe_model **out) {
  *out = NULL;
  lethe_config c;
  LETHE_TRY(read_config(g, &c));
  tlist l = {0};
  lethe_status s = build_map(&c, &l);
  /* every tensor present with the right shape and a supported type, and no tensor left over */
  for (int i = 0; i < l.n && !s; i++) {
    const lethe_gguf_tensor *t = lethe_gguf_find_tensor(g, l.t[i].gguf);
    if (!t)
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' is missing", g->name, l.t[i].gguf);
    else
      s = check_shape(g, t, &l.t[i]);
  }
  for (size_t i = 0; i < g->n_tensors && !s; i++) {
    int used = !strcmp(g->tensors[i].name, "rope_freqs.weight"); /* read into the config */
    for (int j = 0; j < l.n && !used; j++) used = !strcmp(g->tensors[i].name, l.t[j].gguf);
    if (!used)
      s = lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: tensor '%s' is not part of a %s model as lethe reads it", g->name,
          g->tensors[i].name, c.model_type);
  }
  lethe_model *m = NULL;
  float *tmp = NULL;
  if (!s) s = lethe_model_alloc(&c, &m);
  for (int i = 0; i < l.n && !s; i++) {
    const lethe_gguf_tensor *t = lethe_gguf_find_tensor(g, l.t[i].gguf);
    const lethe_tensor *mt = lethe_model_find(m, l.t[i].hf);
    if (!mt || mt->numel != t->numel) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: tensor '%s' does not match the model's '%s'", g->name, t->name, l.t[i].hf);
      break;
    }
    float *dst = m->params + mt->offset;
    if (!l.t[i].rope_heads) {
      s = lethe_gguf_tensor_f32(g, t, dst);
      continue;
    }
    free(tmp);
    tmp = malloc(sizeof(float) * t->numel);
    if (!tmp) {
      s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", g->name);
      break;
    }
    s = lethe_gguf_tensor_f32(g, t, tmp);
    if (!s) unpermute_rows(dst, tmp, l.t[i].rope_heads, l.t[i].rows, l.t[i].cols ? l.t[i].cols : 1);
  }
  free(tmp);
  free(l.t);
  if (s) {
    lethe_model_free(m);
    return s;
  }
  *out = m;
  return LETHE_OK;
}

lethe_status lethe_gguf_load(const char *path, lethe_model **out) {
  *out = NULL;
  lethe_gguf g;
  LETHE_TRY(lethe_gguf_open(path, &g));
  lethe_status s = lethe_gguf_model(&g, out);
  lethe_gguf_close(&g);
  return s;
}
