/* cli/common.c: steps several subcommands share. */
#include "cli/common.h"

#include <stdlib.h>

#include "util/error.h"
#include "util/fileio.h"

lethe_status cli_load_tokenizer(const char *model_path, const char *tok_path, lethe_tokenizer **out) {
  *out = NULL;
  if (tok_path) return lethe_tokenizer_load(tok_path, out);
  if (!lethe_is_dir(model_path))
    return lethe_fail(LETHE_ERR_INVALID, "%s: a model file carries no tokenizer here; give --tokenizer", model_path);
  char *p = lethe_path_join(model_path, "tokenizer.json");
  if (!p) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  lethe_status s = lethe_file_exists(p) ? lethe_tokenizer_load(p, out)
                                        : lethe_fail(LETHE_ERR_IO, "%s: no tokenizer.json in the model directory; give --tokenizer", model_path);
  free(p);
  return s;
}
