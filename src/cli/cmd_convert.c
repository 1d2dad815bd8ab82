/* cli/cmd_convert.c: `lethe convert`: a model lethe can read (a llama2.c checkpoint, a GGUF file, a
 * Hugging Face directory) to a complete Hugging Face model directory: config.json, safetensors in
 * the chosen dtype, and tokenizer.json. The tokenizer comes from --tokenizer (a tokenizer.json, a
 * directory holding one, a GGUF file, or a llama2.c tokenizer .bin), else from the model itself (a
 * GGUF file's metadata, a directory's tokenizer.json). Everything is written into a temporary
 * directory that replaces --out only when complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "io/io.h"
#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "util/error.h"
#include "util/fileio.h"

static const char *CMD = "convert";

/* What a path is, from its first bytes. */
typedef enum { SRC_DIR, SRC_GGUF, SRC_JSON, SRC_OTHER } src_kind;

static lethe_status kind_of(const char *path, src_kind *k) {
  if (lethe_is_dir(path)) {
    *k = SRC_DIR;
    return LETHE_OK;
  }
  FILE *fp = fopen(path, "rb");
  if (!fp) return lethe_fail(LETHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  unsigned char b[4] = {0};
  size_t n = fread(b, 1, 4, fp), i = 0;
  fclose(fp);
  while (i < n && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t')) i++;
  if (n == 4 && !memcmp(b, "GGUF", 4)) *k = SRC_GGUF;
  else if (i < n && b[i] == '{') *k = SRC_JSON;
  else *k = SRC_OTHER;
  return LETHE_OK;
}

/* The tokenizer.json text for the output, or NULL (*why says why there is none). */
static lethe_status tokenizer_json(const char *model, src_kind mk, const char *tok, char **json, const char **why) {
  *json = NULL;
  *why = NULL;
  const char *src = tok ? tok : model;
  src_kind k = mk;
  if (tok) LETHE_TRY(kind_of(tok, &k));
  if (k == SRC_GGUF) return lethe_gguf_tokenizer_json(src, json);
  if (k == SRC_JSON || k == SRC_DIR) {
    char *p = k == SRC_DIR ? lethe_path_join(src, "tokenizer.json") : strdup(src);
    if (!p) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    if (k == SRC_DIR && !lethe_file_exists(p)) {
      free(p);
      if (tok) return lethe_fail(LETHE_ERR_IO, "%s: no tokenizer.json in this directory", tok);
      *why = "the model directory has no tokenizer.json";
      return LETHE_OK;
    }
    size_t n;
    lethe_status s = lethe_read_file(p, (size_t)1 << 30, json, &n);
    free(p);
    return s;
  }
  if (tok) return lethe_llama2c_tokenizer_json(tok, json);
  *why = "a llama2.c checkpoint carries no tokenizer (give its tokenizer with --tokenizer, e.g. tok512.bin)";
  return LETHE_OK;
}

int cmd_convert(int argc, char **argv) {
  const char *model = NULL, *out = NULL, *tok = NULL;
  int dtype = 0, no_tok = 0;
  static const char *const DTYPES[] = {"float32", "bfloat16", "float16"};
  const cli_arg defs[] = {
      {"model", ARG_STR, &model, "the model: a llama2.c checkpoint (.bin), a GGUF file, or a Hugging Face directory", 1, 0, 0,
       NULL},
      {"out", ARG_STR, &out, "the Hugging Face model directory to write (replaced when complete)", 1, 0, 0, NULL},
      {"dtype", ARG_CHOICE, &dtype, "dtype of the written weights (default float32: GGUF weights dequantised exactly)", 0, 0,
       0, "float32|bfloat16|float16"},
      {"tokenizer", ARG_STR, &tok,
       "tokenizer to write as tokenizer.json: a llama2.c tokenizer (.bin), a tokenizer.json, a directory holding one, or a GGUF "
       "file (default: the model's own, when it has one)",
       0, 0, 0, NULL},
      {"no-tokenizer", ARG_FLAG, &no_tok, "write no tokenizer.json", 0, 0, 0, NULL},
  };
  int rc = cli_parse(CMD, "convert a model (llama2.c, GGUF, Hugging Face) to a Hugging Face model directory", argc, argv, defs,
                     (int)(sizeof defs / sizeof defs[0]));
  if (rc) return rc == 1 ? 0 : rc;
  if (no_tok && tok) {
    fprintf(stderr, "lethe %s: --tokenizer and --no-tokenizer exclude each other\n", CMD);
    return 2;
  }
  /* never replace what is not a model directory (a file, a home directory, ...) */
  if (lethe_file_exists(out) || lethe_is_dir(out)) {
    char *cfg = lethe_path_join(out, "config.json");
    int ok = lethe_is_dir(out) && cfg && lethe_file_exists(cfg);
    free(cfg);
    if (!ok) {
      fprintf(stderr, "lethe %s: %s exists and is not a model directory (no config.json): choose a new --out\n", CMD, out);
      return 1;
    }
  }
  src_kind mk;
  if (kind_of(model, &mk)) return cli_report(CMD);
  lethe_model *m = NULL;
  if (lethe_model_load(model, &m)) return cli_report(CMD);

  /* the tokenizer first: a bad one stops the conversion before anything is written */
  char *json = NULL;
  const char *why = NULL;
  if (!no_tok) {
    lethe_status s = tokenizer_json(model, mk, tok, &json, &why);
    if (s && !tok && mk == SRC_GGUF) {
      /* a GGUF file without (usable) tokenizer metadata: say so, and go on without one */
      fprintf(stderr, "lethe %s: note: no tokenizer.json written: %s\n", CMD, lethe_last_error());
      s = LETHE_OK;
    }
    if (s) {
      lethe_model_free(m);
      return cli_report(CMD);
    }
    if (json) {
      lethe_tokenizer *t = NULL;
      if (lethe_tokenizer_load_json(json, strlen(json), tok ? tok : model, &t)) {
        lethe_fail_context(LETHE_ERR_FORMAT, "the tokenizer does not load");
        free(json);
        lethe_model_free(m);
        return cli_report(CMD);
      }
      int tv = lethe_tokenizer_vocab_size(t);
      lethe_tokenizer_free(t);
      if (tv > lethe_model_config(m)->vocab_size)
        fprintf(stderr, "lethe %s: warning: the tokenizer has %d ids, the model's vocabulary %d\n", CMD, tv,
                lethe_model_config(m)->vocab_size);
    } else if (why) {
      fprintf(stderr, "lethe %s: note: no tokenizer.json written: %s\n", CMD, why);
    }
  }

  /* the temporary directory sits beside --out (same filesystem), named after it without its
   * trailing slashes */
  size_t ol = strlen(out), tl = ol + 64;
  while (ol > 1 && out[ol - 1] == '/') ol--;
  char *tmp = malloc(tl);
  if (!tmp) {
    free(json);
    lethe_model_free(m);
    fprintf(stderr, "lethe %s: out of memory\n", CMD);
    return 1;
  }
  snprintf(tmp, tl, "%.*s.convert.%ld", (int)ol, out, (long)getpid());
  lethe_remove_tree(tmp);
  lethe_status s = lethe_model_save(m, tmp, DTYPES[dtype], 0);
  if (!s && json) {
    char *p = lethe_path_join(tmp, "tokenizer.json");
    s = p ? lethe_write_file_atomic(p, json, strlen(json)) : lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    free(p);
  }
  if (!s) s = lethe_replace_dir(tmp, out);
  if (s) {
    lethe_remove_tree(tmp);
    free(tmp);
    free(json);
    lethe_model_free(m);
    return cli_report(CMD);
  }
  const lethe_config *c = lethe_model_config(m);
  printf("%s: %s model, %lld parameters, %d layers, vocabulary %d, %s weights%s\n", out, c->model_type,
         (long long)lethe_config_param_count(c), c->n_layers, c->vocab_size, DTYPES[dtype],
         json ? ", tokenizer.json" : ", no tokenizer");
  free(tmp);
  free(json);
  lethe_model_free(m);
  return 0;
}
