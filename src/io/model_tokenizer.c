/* io/model_tokenizer.c: finding the tokenizer that goes with a model path: an explicit
 * --tokenizer (tokenizer.json, llama2.c, or a GGUF file's), else the model directory's
 * tokenizer.json, else the tokenizer a GGUF file carries in its metadata. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/io.h"

#include "lethe/model.h"
#include "lethe/tokenizer.h"
#include "util/error.h"
#include "util/fileio.h"

/* A regular file starting with the GGUF magic (a FIFO is never opened here). */
static int regular_gguf(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && lethe_file_is_gguf(path);
}

lethe_status lethe_model_tokenizer(const char *model_path, const char *tok_path, lethe_tokenizer **out) {
  *out = NULL;
  if (tok_path && !regular_gguf(tok_path)) return lethe_tokenizer_load(tok_path, out);
  if (tok_path) model_path = tok_path; /* a GGUF file given as the tokenizer */
  if (model_path && regular_gguf(model_path)) {
    char *json = NULL;
    LETHE_TRY(lethe_gguf_tokenizer_json(model_path, &json));
    lethe_status s = lethe_tokenizer_load_json(json, strlen(json), model_path, out);
    free(json);
    return s;
  }
  if (!model_path || !lethe_is_dir(model_path))
    return lethe_fail(LETHE_ERR_INVALID, "%s: a model file carries no tokenizer here; give --tokenizer",
        model_path ? model_path : "model");
  char *p = lethe_path_join(model_path, "tokenizer.json");
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_status s =
      lethe_file_exists(p)
          ? lethe_tokenizer_load(p, out)
          : lethe_fail(LETHE_ERR_IO, "%s: no tokenizer.json in the model directory; give --tokenizer", model_path);
  free(p);
  return s;
}
