/* unlearn/run_shared.c: what the runs of a sweep share (lethe_train_run_shared): the loaded model
 * and tokenizer, and the reference cache of its data, each under a key of what made it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lethe/tokenizer.h"
#include "unlearn/run.h"

lethe_train_shared *lethe_train_shared_new(void) { return calloc(1, sizeof(lethe_train_shared)); }

void lethe_train_shared_free(lethe_train_shared *sh) {
  if (!sh) return;
  free(sh->model_key);
  free(sh->ref_key);
  free(sh->ref);
  lethe_tokenizer_free(sh->tok);
  lethe_model_free(sh->m);
  free(sh);
}

void lethe_train_shared_counts(const lethe_train_shared *sh, int *model_loads, int *ref_builds) {
  *model_loads = sh ? sh->model_loads : 0;
  *ref_builds = sh ? sh->ref_builds : 0;
}

char *lethe_shared_key(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *k = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (!k) return NULL;
  va_start(ap, fmt);
  vsnprintf(k, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return k;
}
