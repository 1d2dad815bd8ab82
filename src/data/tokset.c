/* data/tokset.c: tokenising rows into training sequences with the prompt masked, and packing
 * sequences into batches without padding. */
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "util/error.h"
#include "util/rng.h"

typedef struct {
  int *ids;
  int n, n_prompt;
  lethe_status s;
} encoded;

static lethe_status encode_row(const lethe_tokenizer *tok, const lethe_row *r, encoded *e) {
  int *p_ids = NULL, np = 0;
  LETHE_TRY(lethe_tokenizer_encode(tok, r->input, r->input_len, 1, &p_ids, &np));
  free(p_ids);
  char *both = malloc(r->input_len + r->output_len + 1);
  if (!both) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  memcpy(both, r->input, r->input_len);
  memcpy(both + r->input_len, r->output, r->output_len);
  lethe_status s = lethe_tokenizer_encode(tok, both, r->input_len + r->output_len, 1, &e->ids, &e->n);
  free(both);
  e->n_prompt = np;
  return s;
}

int lethe_tokset_answer_count(const lethe_tokset *t, int i) {
  int first = t->n_prompt[i] > 0 ? t->n_prompt[i] - 1 : 0;
  int c = lethe_tokset_len(t, i) - 1 - first;
  return c > 0 ? c : 0;
}

void lethe_tokset_free(lethe_tokset *t) {
  free(t->offset);
  free(t->tokens);
  free(t->n_prompt);
  free(t->split);
  free(t->row);
  memset(t, 0, sizeof *t);
}

lethe_status lethe_tokset_build(const lethe_tokenizer *tok, const lethe_rowset *forget, const lethe_rowset *retain,
    int max_len, int eos_id, lethe_tokset *out) {
  memset(out, 0, sizeof *out);
  if (max_len < 2) return lethe_fail(LETHE_ERR_INVALID, "max-len %d is too short (at least 2)", max_len);
  const lethe_rowset *sets[2] = {forget, retain};
  int total = (forget ? forget->n : 0) + (retain ? retain->n : 0);
  encoded *enc = calloc((size_t)(total ? total : 1), sizeof *enc);
  if (!enc) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
#pragma omp parallel for schedule(dynamic, 8)
  for (int k = 0; k < total; k++) {
    int which = (forget && k < forget->n) ? 0 : 1;
    int i = which == 0 ? k : k - (forget ? forget->n : 0);
    enc[k].s = encode_row(tok, &sets[which]->rows[i], &enc[k]);
    if (!enc[k].s && eos_id >= 0) {
      int *grown = realloc(enc[k].ids, sizeof(int) * (size_t)(enc[k].n + 1));
      if (grown) {
        grown[enc[k].n++] = eos_id;
        enc[k].ids = grown;
      } else {
        enc[k].s = LETHE_ERR_NOMEM;
      }
    }
  }
  lethe_status s = LETHE_OK;
  for (int k = 0; k < total && !s; k++) {
    if (!enc[k].s) continue;
    /* Re-run on this thread: the message of a failure lives in the failing thread. */
    int which = (forget && k < forget->n) ? 0 : 1;
    int i = which == 0 ? k : k - (forget ? forget->n : 0);
    free(enc[k].ids);
    enc[k].ids = NULL;
    s = encode_row(tok, &sets[which]->rows[i], &enc[k]);
    if (!s) s = lethe_fail(LETHE_ERR_INVALID, "tokenizer failed");
    lethe_fail_context(s, "%s:%d", sets[which]->path ? sets[which]->path : "rows", sets[which]->rows[i].line);
  }
  size_t ntok = 0;
  for (int k = 0; k < total && !s; k++) ntok += (size_t)(enc[k].n < max_len ? enc[k].n : max_len);
  if (!s) {
    out->offset = malloc(sizeof(int) * (size_t)(total + 1));
    out->tokens = malloc(sizeof(int) * (ntok ? ntok : 1));
    out->n_prompt = malloc(sizeof(int) * (size_t)(total ? total : 1));
    out->split = malloc((size_t)(total ? total : 1));
    out->row = malloc(sizeof(int) * (size_t)(total ? total : 1));
    if (!out->offset || !out->tokens || !out->n_prompt || !out->split || !out->row)
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
  }
  if (!s) {
    out->offset[0] = 0;
    for (int k = 0; k < total; k++) {
      int which = (forget && k < forget->n) ? 0 : 1;
      int i = which == 0 ? k : k - (forget ? forget->n : 0);
      int len = enc[k].n;
      if (len > max_len) {
        len = max_len;
        out->n_truncated++;
      }
      int np = enc[k].n_prompt < len ? enc[k].n_prompt : len;
      int first = np > 0 ? np - 1 : 0;
      if (len - 1 - first <= 0) {
        out->n_skipped++;
        continue;
      }
      int j = out->n;
      memcpy(out->tokens + out->offset[j], enc[k].ids, sizeof(int) * (size_t)len);
      out->offset[j + 1] = out->offset[j] + len;
      out->n_prompt[j] = np;
      out->split[j] = (unsigned char)(which == 0 ? LETHE_SPLIT_FORGET : LETHE_SPLIT_RETAIN);
      out->row[j] = i;
      out->n_answer_tokens += len - 1 - first;
      if (len > out->max_len) out->max_len = len;
      out->n++;
    }
  }
  for (int k = 0; k < total; k++) free(enc[k].ids);
  free(enc);
  if (s) lethe_tokset_free(out);
  return s;
}

lethe_status lethe_packed_init(lethe_packed *p, int cap_tokens, int cap_seqs) {
  memset(p, 0, sizeof *p);
  p->cap_tokens = cap_tokens;
  p->cap_seqs = cap_seqs;
  p->tokens = malloc(sizeof(int) * (size_t)cap_tokens);
  p->targets = malloc(sizeof(int) * (size_t)cap_tokens);
  p->start = malloc(sizeof(int) * (size_t)(cap_seqs + 1));
  p->seq = malloc(sizeof(int) * (size_t)cap_seqs);
  p->answer_off = malloc(sizeof(int) * (size_t)(cap_seqs + 1));
  if (!p->tokens || !p->targets || !p->start || !p->seq || !p->answer_off) {
    lethe_packed_free(p);
    return lethe_fail(LETHE_ERR_NOMEM, "out of memory for a batch of %d tokens", cap_tokens);
  }
  return LETHE_OK;
}

void lethe_packed_free(lethe_packed *p) {
  free(p->tokens);
  free(p->targets);
  free(p->start);
  free(p->seq);
  free(p->answer_off);
  memset(p, 0, sizeof *p);
}

lethe_status lethe_packed_fill(lethe_packed *p, const lethe_tokset *t, const int *idx, int n) {
  if (n < 1 || n > p->cap_seqs)
    return lethe_fail(LETHE_ERR_INVALID, "batch of %d sequences (room for %d)", n, p->cap_seqs);
  int N = 0, A = 0;
  p->start[0] = 0;
  p->answer_off[0] = 0;
  for (int s = 0; s < n; s++) {
    int i = idx[s], len = lethe_tokset_len(t, i);
    if (N + len > p->cap_tokens) return lethe_fail(LETHE_ERR_INVALID, "batch of more than %d tokens", p->cap_tokens);
    const int *src = t->tokens + t->offset[i];
    int first = t->n_prompt[i] > 0 ? t->n_prompt[i] - 1 : 0;
    for (int k = 0; k < len; k++) {
      p->tokens[N + k] = src[k];
      p->targets[N + k] = (k >= first && k + 1 < len) ? src[k + 1] : -1;
    }
    N += len;
    A += lethe_tokset_answer_count(t, i);
    p->start[s + 1] = N;
    p->answer_off[s + 1] = A;
    p->seq[s] = i;
  }
  p->n_seq = n;
  p->n_tokens = N;
  return LETHE_OK;
}

void lethe_epoch_order(uint64_t seed, int epoch, int n, int *order) {
  lethe_rng r;
  lethe_rng_seed(&r, seed * 0x9E3779B97F4A7C15ULL + (uint64_t)epoch * 0xD1B54A32D192ED03ULL + 1);
  for (int i = 0; i < n; i++) order[i] = i;
  lethe_rng_shuffle(&r, order, n);
}

int lethe_tokset_first_outside(const lethe_tokset *t, int vocab, int *seq) {
  for (int i = 0; i < t->n; i++)
    for (int k = t->offset[i]; k < t->offset[i + 1]; k++)
      if (t->tokens[k] < 0 || t->tokens[k] >= vocab) {
        if (seq) *seq = i;
        return t->tokens[k];
      }
  return -1;
}
