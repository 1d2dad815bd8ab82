/* io/gguf.c: GGUF model files (placeholder until the GGUF reader lands). */
#include "io/io.h"
#include "util/error.h"

lethe_status lethe_gguf_load(const char *path, lethe_model **out) {
  *out = NULL;
  return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: GGUF files are not supported yet", path);
}
