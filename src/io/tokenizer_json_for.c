/* io/tokenizer_json_for.c: the tokenizer.json text that goes with a model being converted: from
 * --tokenizer (a tokenizer.json, a directory holding one, a GGUF file, or a llama2.c tokenizer),
 * else from the model itself (a GGUF file's metadata, a directory's tokenizer.json). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/convert.h"
#include "lethe/tokenizer.h"
#include "util/error.h"
#include "util/fileio.h"

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
  if (n == 4 && !memcmp(b, "GGUF", 4))
    *k = SRC_GGUF;
  else if (i < n && b[i] == '{')
    *k = SRC_JSON;
  else
    *k = SRC_OTHER;
  return LETHE_OK;
}

lethe_status lethe_tokenizer_json_for(
    const char *model, const char *tok, char **json, const char **why, int *model_is_gguf) {
  *json = NULL;
  *why = NULL;
  const char *src = tok ? tok : model;
  src_kind mk, k;
  LETHE_TRY(kind_of(model, &mk));
  if (model_is_gguf) *model_is_gguf = mk == SRC_GGUF;
  k = mk;
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
