/* io/gguf_tokenizer.c: the tokenizer a GGUF file carries, as Hugging Face tokenizer.json text.
 * This file only reads GGUF's tokenizer.ggml.* metadata into the plain arrays of tokenizer/'s
 * importer (tok_import.h), which builds the document. tokenizer.ggml.model "gpt2" is byte-level
 * BPE (tokens, merges, and the pre-tokenizer named by tokenizer.ggml.pre); "llama" is SentencePiece
 * BPE with byte fallback (tokens, scores, and merges from the file or derived from the scores).
 * Token types mark control and user-defined tokens (added tokens); bos/eos/unknown/padding ids and
 * add_bos_token / add_eos_token / add_space_prefix default as llama.cpp defaults them. */
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "io/io.h"
#include "tokenizer/tok_import.h"
#include "util/error.h"

static lethe_status str_array(const lethe_gguf *g, const char *key, int required, const lethe_gguf_kv **out) {
  *out = NULL;
  const lethe_gguf_kv *kv = lethe_gguf_find_kv(g, key);
  if (!kv) {
    if (required) return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is missing", g->name, key);
    return LETHE_OK;
  }
  if (kv->type != GGUF_ARRAY || kv->arr_type != GGUF_STRING)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is not an array of strings", g->name, key);
  if (kv->arr_n > INT32_MAX)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' has too many entries", g->name, key);
  *out = kv;
  return LETHE_OK;
}

/* A numeric array of exactly n entries (or absent). */
static lethe_status num_array(const lethe_gguf *g, const char *key, uint64_t n, const lethe_gguf_kv **out) {
  *out = NULL;
  const lethe_gguf_kv *kv = lethe_gguf_find_kv(g, key);
  if (!kv) return LETHE_OK;
  if (kv->type != GGUF_ARRAY || !lethe_gguf_type_is_number(kv->arr_type))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' is not an array of numbers", g->name, key);
  if (kv->arr_n != n)
    return lethe_fail(LETHE_ERR_FORMAT, "%s: metadata key '%s' has %llu entries, the vocabulary %llu", g->name, key,
        (unsigned long long)kv->arr_n, (unsigned long long)n);
  *out = kv;
  return LETHE_OK;
}

static lethe_status id_key(const lethe_gguf *g, const char *key, int n, int *out) {
  int64_t v;
  int pr = 0;
  *out = -1;
  LETHE_TRY(lethe_gguf_get_int(g, key, 0, -1, INT32_MAX, &v, &pr));
  if (pr && v >= n)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s %lld is outside the vocabulary (%d tokens)", g->name, key, (long long)v, n);
  if (pr) *out = (int)v;
  return LETHE_OK;
}

lethe_status lethe_gguf_tokenizer_json_from(const lethe_gguf *g, char **json_out) {
  *json_out = NULL;
  char *model = NULL, *pre = NULL;
  LETHE_TRY(lethe_gguf_get_str(g, "tokenizer.ggml.model", 1, &model));
  tok_import_spec sp;
  memset(&sp, 0, sizeof sp);
  sp.name = g->name;
  lethe_status s = LETHE_OK;
  const char **tok = NULL, **mer = NULL;
  size_t *len = NULL, *mlen = NULL;
  float *scores = NULL;
  int *type = NULL;
  if (!strcmp(model, "gpt2"))
    sp.kind = TOK_IMPORT_BYTELEVEL;
  else if (!strcmp(model, "llama"))
    sp.kind = TOK_IMPORT_SPM;
  else {
    s = lethe_fail(
        LETHE_ERR_UNSUPPORTED, "%s: tokenizer model '%.64s' is not supported (gpt2 and llama are)", g->name, model);
    goto done;
  }
  const lethe_gguf_kv *tk, *mk, *sk, *yk;
  if ((s = str_array(g, "tokenizer.ggml.tokens", 1, &tk))) goto done;
  if ((s = str_array(g, "tokenizer.ggml.merges", 0, &mk))) goto done;
  if ((s = num_array(g, "tokenizer.ggml.scores", tk->arr_n, &sk))) goto done;
  if ((s = num_array(g, "tokenizer.ggml.token_type", tk->arr_n, &yk))) goto done;
  sp.n = (int)tk->arr_n;
  if (sp.n < 1) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: tokenizer.ggml.tokens is empty", g->name);
    goto done;
  }
  tok = malloc(sizeof *tok * (size_t)sp.n);
  len = malloc(sizeof *len * (size_t)sp.n);
  if (sk) scores = malloc(sizeof *scores * (size_t)sp.n);
  if (yk) type = malloc(sizeof *type * (size_t)sp.n);
  if (!tok || !len || (sk && !scores) || (yk && !type)) {
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", g->name);
    goto done;
  }
  for (int i = 0; i < sp.n; i++) {
    tok[i] = tk->strs[i].ptr;
    len[i] = tk->strs[i].len;
    if (scores) scores[i] = (float)lethe_gguf_arr_f64(sk, (uint64_t)i);
    if (type) type[i] = (int)lethe_gguf_arr_i64(yk, (uint64_t)i);
  }
  sp.tok = tok;
  sp.len = len;
  sp.scores = scores;
  sp.type = type;
  if (mk) {
    sp.n_merges = (int)mk->arr_n;
    mer = malloc(sizeof *mer * (mk->arr_n ? mk->arr_n : 1));
    mlen = malloc(sizeof *mlen * (mk->arr_n ? mk->arr_n : 1));
    if (!mer || !mlen) {
      s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", g->name);
      goto done;
    }
    for (uint64_t i = 0; i < mk->arr_n; i++) {
      mer[i] = mk->strs[i].ptr;
      mlen[i] = mk->strs[i].len;
    }
    sp.merge = mer;
    sp.merge_len = mlen;
  } else if (sp.kind == TOK_IMPORT_BYTELEVEL) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: a gpt2 tokenizer needs tokenizer.ggml.merges", g->name);
    goto done;
  } else if (!scores) {
    s = lethe_fail(
        LETHE_ERR_FORMAT, "%s: a llama tokenizer needs tokenizer.ggml.scores or tokenizer.ggml.merges", g->name);
    goto done;
  }
  if ((s = lethe_gguf_get_str(g, "tokenizer.ggml.pre", 0, &pre))) goto done;
  sp.pre = pre;
  if ((s = id_key(g, "tokenizer.ggml.bos_token_id", sp.n, &sp.bos))) goto done;
  if ((s = id_key(g, "tokenizer.ggml.eos_token_id", sp.n, &sp.eos))) goto done;
  if ((s = id_key(g, "tokenizer.ggml.unknown_token_id", sp.n, &sp.unk))) goto done;
  if ((s = id_key(g, "tokenizer.ggml.padding_token_id", sp.n, &sp.pad))) goto done;
  /* llama.cpp's defaults: SentencePiece adds BOS and a space prefix; BPE adds BOS only for the
   * llama3 pre-tokenizers; the file's keys override both. */
  if (sp.kind == TOK_IMPORT_SPM) {
    sp.add_bos = 1;
    sp.add_space_prefix = 1;
    if ((s = lethe_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &sp.add_space_prefix, NULL))) goto done;
  } else {
    sp.add_bos = tok_import_pre_adds_bos(pre);
  }
  if ((s = lethe_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &sp.add_bos, NULL))) goto done;
  if ((s = lethe_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &sp.add_eos, NULL))) goto done;
  s = tok_import_json(&sp, json_out);
done:
  free(model);
  free(pre);
  free(tok);
  free(len);
  free(scores);
  free(type);
  free(mer);
  free(mlen);
  return s;
}

lethe_status lethe_gguf_tokenizer_json(const char *gguf_path, char **json_out) {
  *json_out = NULL;
  lethe_gguf g;
  LETHE_TRY(lethe_gguf_open(gguf_path, &g));
  lethe_status s = lethe_gguf_tokenizer_json_from(&g, json_out);
  lethe_gguf_close(&g);
  return s;
}
