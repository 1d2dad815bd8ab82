/* tokenizer/tok_util.c: the tokenizer's id and offset arrays (on util/array.h) and its out-of-memory message. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/array.h"
#include "util/error.h"

lethe_status tok_nomem(const char *where) { return lethe_fail(LETHE_ERR_NOMEM, "tokenizer: %s: out of memory", where); }

lethe_status tok_ivec_reserve(tok_ivec *v, size_t extra) {
  if (extra > SIZE_MAX / 8 - v->n) return tok_nomem("id buffer");
  return LETHE_ARRAY_GROW(v->p, v->cap, v->n + extra, "tokenizer: id buffer");
}

lethe_status tok_ivec_push(tok_ivec *v, int x) {
  LETHE_TRY(LETHE_ARRAY_RESERVE1(v->p, v->n, v->cap, "tokenizer: id buffer"));
  v->p[v->n++] = x;
  return LETHE_OK;
}

void tok_ivec_free(tok_ivec *v) {
  free(v->p);
  v->p = NULL;
  v->n = v->cap = 0;
}

lethe_status tok_zvec_push(tok_zvec *v, size_t x) {
  LETHE_TRY(LETHE_ARRAY_RESERVE1(v->p, v->n, v->cap, "tokenizer: offset buffer"));
  v->p[v->n++] = x;
  return LETHE_OK;
}
void tok_zvec_free(tok_zvec *v) {
  free(v->p);
  v->p = NULL;
  v->n = v->cap = 0;
}

char *tok_strndup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}
