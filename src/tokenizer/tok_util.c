/* tokenizer/tok_util.c: growable byte and integer buffers for the tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

lethe_status tok_nomem(const char *where) { return lethe_fail(LETHE_ERR_NOMEM, "tokenizer: %s: out of memory", where); }

static size_t grow(size_t cap, size_t need) {
  size_t c = cap ? cap : 64;
  while (c < need) c = c * 2;
  return c;
}

lethe_status tok_ivec_reserve(tok_ivec *v, size_t extra) {
  if (extra > SIZE_MAX / 8 - v->n) return tok_nomem("id buffer");
  size_t need = v->n + extra;
  if (need <= v->cap) return LETHE_OK;
  size_t cap = grow(v->cap, need);
  int *p = realloc(v->p, cap * sizeof *p);
  if (!p) return tok_nomem("id buffer");
  v->p = p;
  v->cap = cap;
  return LETHE_OK;
}

lethe_status tok_ivec_push(tok_ivec *v, int x) {
  if (v->n == v->cap) LETHE_TRY(tok_ivec_reserve(v, 1));
  v->p[v->n++] = x;
  return LETHE_OK;
}

void tok_ivec_free(tok_ivec *v) {
  free(v->p);
  v->p = NULL;
  v->n = v->cap = 0;
}

lethe_status tok_zvec_push(tok_zvec *v, size_t x) {
  if (v->n == v->cap) {
    size_t cap = grow(v->cap, v->n + 1);
    size_t *p = realloc(v->p, cap * sizeof *p);
    if (!p) return tok_nomem("offset buffer");
    v->p = p;
    v->cap = cap;
  }
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
