/* io/gguf_features.c: what a GGUF file cannot say about the model it came from. llama.cpp writes
 * Mistral models as architecture llama and, for that architecture, no sliding window: a model
 * read back from such a file attends over the whole context. lethe reads the window when the
 * file stores one (llama.attention.sliding_window); when general.name / basename names a Mistral
 * model and the file stores none, conversion says so instead of dropping it silently. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/gguf.h"
#include "io/io.h"
#include "lethe/convert.h"
#include "util/error.h"

static int names_mistral(const char *s) {
  for (; s && *s; s++)
    if (!strncasecmp(s, "mistral", 7)) return 1;
  return 0;
}

lethe_status lethe_gguf_conversion_note(const char *path, char **note) {
  *note = NULL;
  if (!lethe_file_is_gguf(path)) return LETHE_OK; /* not a GGUF file: nothing to say */
  lethe_gguf g;
  LETHE_TRY(lethe_gguf_open(path, &g));
  char *arch = NULL, *name = NULL, *base = NULL;
  lethe_status s = lethe_gguf_get_str(&g, "general.architecture", 1, &arch);
  if (!s) s = lethe_gguf_get_str(&g, "general.name", 0, &name);
  if (!s) s = lethe_gguf_get_str(&g, "general.basename", 0, &base);
  if (!s && !strcmp(arch, "llama") && (names_mistral(name) || names_mistral(base))) {
    char key[96];
    snprintf(key, sizeof key, "%s.attention.sliding_window", arch);
    if (!lethe_gguf_find_kv(&g, key)) {
      size_t n = 512;
      *note = malloc(n);
      if (!*note)
        s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      else
        snprintf(*note, n,
            "%s is '%s', a Mistral model, but the file stores no sliding window (GGUF architecture llama has none): "
            "the model is read with full attention over its context; if it used a window (Mistral-7B-v0.1: 4096), "
            "set \"model_type\": \"mistral\" and \"sliding_window\" in the written config.json",
            path, name ? name : base);
    }
  }
  free(arch);
  free(name);
  free(base);
  lethe_gguf_close(&g);
  return s;
}
