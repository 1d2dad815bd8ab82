/* eval/results_json.c: evaluation_results.json, laid out as the official script's
 * json.dumps(results, indent=4): the same keys in the same order, Python's number format. */
#include <string.h>

#include "eval/pyjson.h"
#include "lethe/eval_score.h"
#include "util/error.h"

static void indent(lethe_sbuf *b, int level) {
  for (int i = 0; i < level; i++) lethe_sbuf_puts(b, "    ");
}

/* Starts the member "key": at `level`; `first` says whether a comma is due before it. */
static void key(lethe_sbuf *b, int level, int *first, const char *k) {
  lethe_sbuf_puts(b, *first ? "\n" : ",\n");
  *first = 0;
  indent(b, level);
  lethe_pyjson_string(b, k, strlen(k));
  lethe_sbuf_puts(b, ": ");
}

static void split_object(lethe_sbuf *b, const lethe_eval_split_score *s) {
  int first = 1;
  lethe_sbuf_puts(b, "{");
  key(b, 2, &first, "overall-regurgitation-score");
  lethe_pyjson_float(b, s->regurgitation);
  key(b, 2, &first, "overall-knowledge-score");
  lethe_pyjson_float(b, s->knowledge);
  for (size_t t = 0; t < s->n_tasks; t++) {
    int first_inner = 1;
    key(b, 2, &first, s->tasks[t].task);
    lethe_sbuf_puts(b, "{");
    key(b, 3, &first_inner, "regurgitation-score");
    lethe_pyjson_float(b, s->tasks[t].regurgitation);
    key(b, 3, &first_inner, "knowledge-score");
    lethe_pyjson_float(b, s->tasks[t].knowledge);
    lethe_sbuf_puts(b, "\n");
    indent(b, 2);
    lethe_sbuf_puts(b, "}");
  }
  lethe_sbuf_puts(b, "\n");
  indent(b, 1);
  lethe_sbuf_puts(b, "}");
}

static void build(lethe_sbuf *b, const lethe_eval_results *r) {
  int first = 1;
  lethe_sbuf_puts(b, "{");
  key(b, 1, &first, "forget-set");
  split_object(b, &r->split[LETHE_SPLIT_FORGET]);
  key(b, 1, &first, "retain-set");
  split_object(b, &r->split[LETHE_SPLIT_RETAIN]);
  if (r->has_mia) {
    key(b, 1, &first, "mia_loss_acc");
    lethe_pyjson_float(b, r->mia_auc);
  }
  if (r->has_mmlu) {
    key(b, 1, &first, "mmlu_average");
    lethe_pyjson_float(b, r->mmlu);
  }
  key(b, 1, &first, "aggregated-terms");
  if (r->n_terms == 0) {
    lethe_sbuf_puts(b, "[]");
  } else {
    lethe_sbuf_puts(b, "[");
    for (size_t i = 0; i < r->n_terms; i++) {
      lethe_sbuf_puts(b, i ? ",\n" : "\n");
      indent(b, 2);
      lethe_pyjson_float(b, r->terms[i]);
    }
    lethe_sbuf_puts(b, "\n");
    indent(b, 1);
    lethe_sbuf_puts(b, "]");
  }
  key(b, 1, &first, "harmonic-mean-task-aggregate");
  if (r->n_terms > 1 && r->task_aggregate == 0)
    lethe_sbuf_puts(b, "0"); /* statistics.harmonic_mean returns the int 0 when a value is 0 */
  else
    lethe_pyjson_float(b, r->task_aggregate);
  key(b, 1, &first, "aggregate-score");
  if (r->has_mia && r->has_mmlu) {
    lethe_pyjson_float(b, r->final_score);
    key(b, 1, &first, "mia_final_score");
    lethe_pyjson_float(b, r->mia_score);
  } else {
    lethe_sbuf_puts(b, "-1"); /* the official script's int -1 */
  }
  lethe_sbuf_puts(b, "\n}");
}

lethe_status lethe_eval_results_to_json(const lethe_eval_results *r, char **out, size_t *len) {
  lethe_sbuf b = {0};
  build(&b, r);
  if (b.oom) {
    lethe_sbuf_free(&b);
    return lethe_fail(LETHE_ERR_NOMEM, "formatting evaluation_results.json: out of memory");
  }
  *out = b.p;
  if (len) *len = b.n;
  return LETHE_OK;
}

lethe_status lethe_eval_results_write_json(const lethe_eval_results *r, const char *path) {
  lethe_sbuf b = {0};
  build(&b, r);
  lethe_status st = lethe_sbuf_write_file(&b, path);
  lethe_sbuf_free(&b);
  return st;
}
