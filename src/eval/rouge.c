/* eval/rouge.c: ROUGE-L as rouge-score 0.1.2 computes it with use_stemmer=True: its default
 * tokenizer (str.lower, non-[a-z0-9] runs as separators, Porter stems of tokens longer than 3
 * characters) and the longest common subsequence of the two token lists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eval/pytext.h"
#include "lethe/eval_text.h"
#include "util/error.h"

static int is_token_char(int64_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'); }

lethe_status lethe_rouge_tokenize(const char *text, size_t len, int stem, lethe_rouge_tokens *out) {
  memset(out, 0, sizeof *out);
  /* Every token character comes from at least one input byte, and every token is followed by a
   * NUL that at least one separator byte (or the end) accounts for: 2 len + 1 bytes suffice. */
  char *buf = malloc(2 * len + 1);
  if (!buf) return lethe_fail(LETHE_ERR_NOMEM, "tokenizing %zu bytes: out of memory", len);
  size_t k = 0, n_tok = 0;
  int in_tok = 0;
  lethe_py_lower_iter it;
  lethe_py_lower_begin(&it, text, len);
  for (;;) {
    int64_t cp = lethe_py_lower_next(&it);
    if (cp >= 0 && is_token_char(cp)) {
      buf[k++] = (char)cp;
      in_tok = 1;
      continue;
    }
    if (in_tok) {
      buf[k++] = 0;
      n_tok++;
      in_tok = 0;
    }
    if (cp < 0) break;
  }
  char **tokens = malloc((n_tok ? n_tok : 1) * sizeof *tokens);
  if (!tokens) {
    free(buf);
    return lethe_fail(LETHE_ERR_NOMEM, "tokenizing %zu bytes: out of memory", len);
  }
  size_t pos = 0;
  for (size_t t = 0; t < n_tok; t++) {
    char *tok = buf + pos;
    size_t tl = strlen(tok);
    pos += tl + 1;
    /* rouge-score stems only tokens longer than 3 characters; a stem is never longer than its
     * word, so it is written in place. */
    if (stem && tl > 3) lethe_porter_stem(tok, tl, tok);
    tokens[t] = tok;
  }
  out->tokens = tokens;
  out->n = n_tok;
  out->buf_ = buf;
  return LETHE_OK;
}

void lethe_rouge_tokens_free(lethe_rouge_tokens *t) {
  free(t->tokens);
  free(t->buf_);
  memset(t, 0, sizeof *t);
}

/* Interns token strings to small integers so that the LCS compares integers. */
typedef struct {
  const char **keys;
  uint32_t *ids;
  size_t cap;
  uint32_t next;
} interner;

static uint64_t hash_str(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
  return h;
}

static uint32_t intern(interner *in, const char *s) {
  size_t i = (size_t)hash_str(s) & (in->cap - 1);
  while (in->keys[i]) {
    if (strcmp(in->keys[i], s) == 0) return in->ids[i];
    i = (i + 1) & (in->cap - 1);
  }
  in->keys[i] = s;
  in->ids[i] = in->next;
  return in->next++;
}

/* Length of the longest common subsequence of a[0..n) and b[0..m), in O(min(n, m)) memory. */
static size_t lcs_length(const uint32_t *a, size_t n, const uint32_t *b, size_t m, uint32_t *row) {
  if (m > n) { /* keep the row over the shorter list */
    const uint32_t *t = a;
    a = b;
    b = t;
    size_t tn = n;
    n = m;
    m = tn;
  }
  memset(row, 0, (m + 1) * sizeof *row);
  for (size_t i = 1; i <= n; i++) {
    uint32_t diag = 0; /* row[j - 1] of the previous i */
    for (size_t j = 1; j <= m; j++) {
      uint32_t up = row[j];
      if (a[i - 1] == b[j - 1])
        row[j] = diag + 1;
      else if (row[j - 1] > up)
        row[j] = row[j - 1];
      diag = up;
    }
  }
  return row[m];
}

lethe_status lethe_rouge_l(
    const char *target, size_t target_len, const char *prediction, size_t prediction_len, lethe_rouge_score *out) {
  out->precision = out->recall = out->fmeasure = 0.0;
  lethe_rouge_tokens t, p;
  LETHE_TRY(lethe_rouge_tokenize(target, target_len, 1, &t));
  lethe_status st = lethe_rouge_tokenize(prediction, prediction_len, 1, &p);
  if (st != LETHE_OK) {
    lethe_rouge_tokens_free(&t);
    return st;
  }
  if (t.n == 0 || p.n == 0) {
    lethe_rouge_tokens_free(&t);
    lethe_rouge_tokens_free(&p);
    return LETHE_OK;
  }
  size_t total = t.n + p.n, cap = 16;
  while (cap < 2 * total) cap *= 2;
  interner in = {calloc(cap, sizeof(const char *)), malloc(cap * sizeof(uint32_t)), cap, 0};
  uint32_t *ids = malloc(total * sizeof *ids);
  size_t mn = t.n < p.n ? t.n : p.n;
  uint32_t *row = malloc((mn + 1) * sizeof *row);
  if (!in.keys || !in.ids || !ids || !row) {
    st = lethe_fail(LETHE_ERR_NOMEM, "ROUGE-L of %zu x %zu tokens: out of memory", t.n, p.n);
  } else {
    for (size_t i = 0; i < t.n; i++) ids[i] = intern(&in, t.tokens[i]);
    for (size_t i = 0; i < p.n; i++) ids[t.n + i] = intern(&in, p.tokens[i]);
    size_t lcs = lcs_length(ids, t.n, ids + t.n, p.n, row);
    double precision = (double)lcs / (double)p.n;
    double recall = (double)lcs / (double)t.n;
    out->precision = precision;
    out->recall = recall;
    /* rouge_score.scoring.fmeasure, with Python's evaluation order. */
    out->fmeasure = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
  }
  free(in.keys);
  free(in.ids);
  free(ids);
  free(row);
  lethe_rouge_tokens_free(&t);
  lethe_rouge_tokens_free(&p);
  return st;
}
