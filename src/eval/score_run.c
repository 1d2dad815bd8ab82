/* eval/score_run.c: `lethe score`: rows or documents tokenised as training does (prompt masked,
 * no eos appended), batched forward passes, and one JSON line of token ids and log-probabilities
 * per row. */
#include "lethe/score.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data.h"
#include "eval/seq_logprobs.h"
#include "lethe/lora.h"
#include "lethe/tokenizer.h"
#include "model/model.h"
#include "util/error.h"
#include "util/fileio.h"

/* Documents when the first object has "document" or "text" and no "input"; rows otherwise. */
static lethe_status is_docs(const char *path, int *docs) {
  *docs = 0;
  struct stat st;
  if (stat(path, &st) != 0) return lethe_fail(LETHE_ERR_IO, "%s: cannot open", path);
  if (!S_ISREG(st.st_mode)) return lethe_fail(LETHE_ERR_IO, "%s: not a regular file (a FIFO or device?)", path);
  FILE *f = fopen(path, "rb");
  if (!f) return lethe_fail(LETHE_ERR_IO, "%s: cannot open", path);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    size_t i = 0;
    while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) i++;
    if (i == (size_t)n) continue;
    json_t *j = json_loadb(line, (size_t)n, 0, NULL);
    if (json_is_object(j) && !json_object_get(j, "input") &&
        (json_object_get(j, "document") || json_object_get(j, "text")))
      *docs = 1;
    json_decref(j);
    break;
  }
  free(line);
  fclose(f);
  return LETHE_OK; /* the loaders report a malformed file */
}

lethe_status lethe_score_run(const lethe_score_opts *o, int *n_rows, int *n_skipped) {
  if (n_rows) *n_rows = 0;
  if (n_skipped) *n_skipped = 0;
  if (!o->model || !o->data) return lethe_fail(LETHE_ERR_INVALID, "score needs a model and data");
  lethe_model *m = NULL;
  lethe_lora *lora = NULL;
  lethe_tokenizer *tok = NULL;
  lethe_rowset rows;
  lethe_tokset d;
  memset(&rows, 0, sizeof rows);
  memset(&d, 0, sizeof d);
  float *lp = NULL;
  int *ids = NULL, docs = 0;
  lethe_atomic_file af = {0};
  FILE *out = stdout;
  lethe_status s = is_docs(o->data, &docs);
  if (!s) s = docs ? lethe_docs_load(o->data, &rows) : lethe_rows_load(o->data, &rows);
  if (!s) s = lethe_model_load(o->model, &m);
  if (!s && o->device) s = lethe_model_to_device(m, o->device);
  if (!s) s = lethe_model_tokenizer(o->model, o->tokenizer, &tok);
  if (!s && o->adapter) s = lethe_lora_load(o->adapter, m, &lora);
  if (!s && lora) s = lethe_lora_to_device(lora, m);
  int max_len = o->max_len > 0 ? o->max_len : m ? m->cfg.max_seq_len : 0;
  if (!s && max_len > m->cfg.max_seq_len)
    s = lethe_fail(LETHE_ERR_INVALID, "max-len %d exceeds the model's context of %d", max_len, m->cfg.max_seq_len);
  if (!s) s = lethe_tokset_build(tok, NULL, &rows, max_len, -1, &d);
  if (s) goto done;
  lp = malloc(sizeof(float) * (size_t)(d.n_answer_tokens + 1));
  ids = malloc(sizeof(int) * (size_t)(d.n_answer_tokens + 1));
  if (!lp || !ids) {
    s = lethe_fail(LETHE_ERR_NOMEM, "out of memory for %d scored tokens", d.n_answer_tokens);
    goto done;
  }
  if ((s = lethe_seq_logprobs(m, lora, &d, o->batch > 0 ? o->batch : 8, lp, ids))) goto done;
  if (o->out) {
    if ((s = lethe_atomic_open(&af, o->out))) goto done;
    out = af.fp;
  }
  size_t at = 0;
  for (int i = 0; i < d.n; i++) {
    const lethe_row *r = &rows.rows[d.row[i]];
    int n = lethe_tokset_answer_count(&d, i);
    json_t *j = json_object(), *ja = json_array(), *la = json_array();
    double sum = 0;
    for (int k = 0; k < n; k++, at++) {
      json_array_append_new(ja, json_integer(ids[at]));
      json_array_append_new(la, json_real(lp[at]));
      sum += lp[at];
    }
    json_object_set_new(j, "line", json_integer(r->line));
    json_object_set_new(j, "id", r->id ? json_string(r->id) : json_null());
    json_object_set_new(j, "n_prompt", json_integer(d.n_prompt[i]));
    json_object_set_new(j, "ids", ja);
    json_object_set_new(j, "logprobs", la);
    json_object_set_new(j, "sum_logprob", json_real(sum));
    json_object_set_new(j, "mean_logprob", json_real(n ? sum / n : 0));
    char *line = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(9));
    json_decref(j);
    if (!line) {
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
      goto done;
    }
    fputs(line, out);
    fputc('\n', out);
    free(line);
  }
  if (o->out)
    s = lethe_atomic_commit(&af);
  else if (fflush(stdout) || ferror(stdout))
    s = lethe_fail(LETHE_ERR_IO, "writing stdout failed");
  if (!s && n_rows) *n_rows = d.n;
  if (!s && n_skipped) *n_skipped = d.n_skipped;
done:
  if (o->out) lethe_atomic_abort(&af);
  free(lp);
  free(ids);
  lethe_tokset_free(&d);
  lethe_rowset_free(&rows);
  lethe_tokenizer_free(tok);
  lethe_lora_free(lora);
  lethe_model_free(m);
  return s;
}
