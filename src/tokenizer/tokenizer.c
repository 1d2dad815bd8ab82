/* tokenizer/tokenizer.c: the public tokenizer API (lethe/tokenizer.h): loading (telling a
 * tokenizer.json from a llama2.c file, reading BOS and EOS from tokenizer_config.json beside it),
 * encoding with UTF-8 validation, decoding, and the vocabulary queries. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/tokenizer.h"
#include "tokenizer/tok_internal.h"
#include "util/error.h"
#include "util/fileio.h"

#define MAX_TOKENIZER_FILE ((size_t)1 << 30)

static lethe_tokenizer *tok_new(const char *name) {
  lethe_tokenizer *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->name = strdup(name ? name : "tokenizer");
  if (!t->name) {
    free(t);
    return NULL;
  }
  t->bos = t->eos = -1;
  t->post.bos = t->post.eos = -1;
  return t;
}

void lethe_tokenizer_free(lethe_tokenizer *t) {
  if (!t) return;
  tok_added_free(&t->added);
  tok_normalizer_free(&t->norm);
  tok_pretokenizer_free(&t->pre);
  tok_bpe_free(&t->bpe);
  tok_post_free(&t->post);
  tok_decoder_free(&t->dec);
  free(t->special);
  tok_l2c_free(t->l2c);
  free(t->name);
  free(t);
}

int lethe_tokenizer_token_to_id(const lethe_tokenizer *t, const char *token) {
  if (!t || !token) return -1;
  size_t n = strlen(token);
  if (t->kind == TOK_L2C) return tok_l2c_token_to_id(t->l2c, token, n);
  int32_t id = tok_strmap_get(&t->added.map, token, n);
  return id >= 0 ? id : tok_strmap_get(&t->bpe.vocab, token, n);
}

/* BOS / EOS without a tokenizer_config.json: what the post-processor's template puts around the
 * sequence, else a well-known token name. */
static void infer_bos_eos(lethe_tokenizer *t) {
  static const char *const BOS[] = {"<|begin_of_text|>", "<s>", "<|bos|>", "<bos>", "<|startoftext|>"};
  static const char *const EOS[] = {"<|end_of_text|>", "</s>", "<|endoftext|>", "<|eos|>", "<eos>"};
  if (t->bos < 0) t->bos = t->post.bos;
  if (t->eos < 0) t->eos = t->post.eos;
  for (size_t i = 0; t->bos < 0 && i < sizeof BOS / sizeof *BOS; i++) t->bos = lethe_tokenizer_token_to_id(t, BOS[i]);
  for (size_t i = 0; t->eos < 0 && i < sizeof EOS / sizeof *EOS; i++) t->eos = lethe_tokenizer_token_to_id(t, EOS[i]);
}

lethe_status lethe_tokenizer_load_json(const char *json, size_t len, const char *name, lethe_tokenizer **out) {
  if (!out) return lethe_fail(LETHE_ERR_INVALID, "tokenizer: load_json: out is NULL");
  *out = NULL;
  if (!json && len) return lethe_fail(LETHE_ERR_INVALID, "tokenizer: load_json: json is NULL");
  lethe_tokenizer *t = tok_new(name);
  if (!t) return tok_nomem("tokenizer");
  t->kind = TOK_HF;
  lethe_status st = tok_hf_build(t, json ? json : "", len);
  if (st != LETHE_OK) {
    lethe_tokenizer_free(t);
    return st;
  }
  infer_bos_eos(t);
  *out = t;
  return LETHE_OK;
}

/* bos_token / eos_token of tokenizer_config.json: a string or {"content": ...}. */
static lethe_status config_token(lethe_tokenizer *t, const json_t *cfg, const char *key, const char *path, int *id) {
  json_t *v = json_object_get(cfg, key);
  if (!v || json_is_null(v)) return LETHE_OK;
  if (json_is_object(v)) v = json_object_get(v, "content");
  if (!json_is_string(v))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: expected a string or {\"content\": string}", path, key);
  int k = lethe_tokenizer_token_to_id(t, json_string_value(v));
  if (k < 0)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s: \"%.80s\" is not a token of %s", path, key, json_string_value(v), t->name);
  *id = k;
  return LETHE_OK;
}

static lethe_status read_config(lethe_tokenizer *t, const char *json_path) {
  const char *slash = strrchr(json_path, '/');
  size_t dlen = slash ? (size_t)(slash - json_path) : 1;
  char *dir = tok_strndup(slash ? json_path : ".", dlen);
  if (!dir) return tok_nomem("tokenizer");
  char *cfg_path = lethe_path_join(dir, "tokenizer_config.json");
  free(dir);
  if (!cfg_path) return tok_nomem("tokenizer");
  lethe_status st = LETHE_OK;
  if (lethe_file_exists(cfg_path)) {
    json_error_t err;
    json_t *cfg = json_load_file(cfg_path, JSON_DECODE_INT_AS_REAL, &err);
    if (!cfg) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: line %d, column %d: %s", cfg_path, err.line, err.column, err.text);
    } else if (!json_is_object(cfg)) {
      st = lethe_fail(LETHE_ERR_FORMAT, "%s: expected a JSON object", cfg_path);
    } else {
      st = config_token(t, cfg, "bos_token", cfg_path, &t->bos);
      if (st == LETHE_OK) st = config_token(t, cfg, "eos_token", cfg_path, &t->eos);
    }
    json_decref(cfg);
  }
  free(cfg_path);
  return st;
}

static int ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

lethe_status lethe_tokenizer_load(const char *path, lethe_tokenizer **out) {
  if (!out) return lethe_fail(LETHE_ERR_INVALID, "tokenizer: load: out is NULL");
  *out = NULL;
  if (!path || !*path) return lethe_fail(LETHE_ERR_INVALID, "tokenizer: load: no path given");
  char *file = lethe_is_dir(path) ? lethe_path_join(path, "tokenizer.json") : strdup(path);
  if (!file) return tok_nomem("tokenizer");
  char *data = NULL;
  size_t len = 0;
  lethe_status st = lethe_read_file(file, MAX_TOKENIZER_FILE, &data, &len);
  if (st != LETHE_OK) {
    free(file);
    return st;
  }
  /* .json, .bin, else the first byte: a JSON document starts with '{' (after blanks) */
  int is_json;
  if (ends_with(file, ".json")) {
    is_json = 1;
  } else if (ends_with(file, ".bin")) {
    is_json = 0;
  } else {
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r')) i++;
    is_json = i < len && data[i] == '{';
  }
  if (is_json) {
    st = lethe_tokenizer_load_json(data, len, file, out);
    if (st == LETHE_OK) {
      (*out)->bos = (*out)->eos = -1;
      st = read_config(*out, file);
      if (st == LETHE_OK)
        infer_bos_eos(*out);
      else {
        lethe_tokenizer_free(*out);
        *out = NULL;
      }
    }
  } else {
    lethe_tokenizer *t = tok_new(file);
    if (!t) {
      st = tok_nomem("tokenizer");
    } else {
      t->kind = TOK_L2C;
      st = tok_l2c_load((const uint8_t *)data, len, file, &t->l2c);
      if (st == LETHE_OK) {
        t->vocab_size = tok_l2c_vocab_size(t->l2c);
        t->bos = 1;
        t->eos = 2;
        *out = t;
      } else {
        lethe_tokenizer_free(t);
      }
    }
  }
  free(data);
  free(file);
  return st;
}

lethe_status lethe_tokenizer_builtin(lethe_tokenizer **out) {
  char *json = lethe_tokenizer_builtin_json();
  if (!json) return tok_nomem("built-in tokenizer");
  lethe_status st = lethe_tokenizer_load_json(json, strlen(json), "built-in tokenizer", out);
  free(json);
  return st;
}

lethe_status lethe_tokenizer_encode(
    const lethe_tokenizer *t, const char *text, size_t len, int add_special, int **ids, int *n) {
  if (!t || !ids || !n || (!text && len)) return lethe_fail(LETHE_ERR_INVALID, "tokenizer: encode: NULL argument");
  *ids = NULL;
  *n = 0;
  size_t bad = tok_utf8_invalid_at(text, len);
  if (bad != len)
    return lethe_fail(LETHE_ERR_INVALID, "%s: encode: the text is not valid UTF-8 (byte 0x%02X at byte offset %zu)",
        t->name, (unsigned char)text[bad], bad);
  tok_ivec out = {0};
  lethe_status st;
  if (t->kind == TOK_L2C) {
    st = tok_l2c_encode(t->l2c, text, len, add_special, &out);
  } else {
    st = tok_hf_encode(t, text ? text : "", len, &out);
    if (st == LETHE_OK && add_special) st = tok_post_apply(&t->post, &out);
  }
  if (st == LETHE_OK && out.n > INT_MAX)
    st = lethe_fail(LETHE_ERR_INVALID, "%s: encode: more than INT_MAX tokens", t->name);
  if (st != LETHE_OK) {
    tok_ivec_free(&out);
    return st;
  }
  if (out.n == 0) tok_ivec_free(&out);
  *ids = out.p;
  *n = (int)out.n;
  return LETHE_OK;
}

lethe_status lethe_tokenizer_decode(
    const lethe_tokenizer *t, const int *ids, int n, int skip_special, char **text, size_t *len) {
  if (!t || !text || (!ids && n > 0) || n < 0) return lethe_fail(LETHE_ERR_INVALID, "tokenizer: decode: bad arguments");
  *text = NULL;
  if (len) *len = 0;
  lethe_sbuf out = {0};
  lethe_status st = t->kind == TOK_L2C ? tok_l2c_decode(t->l2c, ids, n, skip_special, &out)
                                       : tok_hf_decode(t, ids, n, skip_special, &out);
  if (st == LETHE_OK) st = lethe_sbuf_reserve(&out, 0); /* a NUL-terminated buffer even when empty */
  if (st != LETHE_OK) {
    lethe_sbuf_free(&out);
    return st;
  }
  out.p[out.n] = 0;
  *text = out.p;
  if (len) *len = out.n;
  return LETHE_OK;
}

int lethe_tokenizer_vocab_size(const lethe_tokenizer *t) { return t ? t->vocab_size : 0; }
int lethe_tokenizer_bos_id(const lethe_tokenizer *t) { return t ? t->bos : -1; }
int lethe_tokenizer_eos_id(const lethe_tokenizer *t) { return t ? t->eos : -1; }

int lethe_tokenizer_is_special(const lethe_tokenizer *t, int id) {
  if (!t || id < 0 || id >= t->vocab_size) return 0;
  if (t->kind == TOK_L2C) return id <= 2;
  return t->special[id];
}
