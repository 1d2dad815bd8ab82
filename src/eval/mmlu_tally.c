/* eval/mmlu_tally.c: MMLU accuracy from (subject, correct) answers: the micro-average that
 * run_mmlu.py reports as average_acc, a per-subject table and a metrics.json. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/pyjson.h"
#include "lethe/eval_mmlu.h"
#include "lethe/eval_print.h"
#include "util/error.h"

lethe_status lethe_mmlu_tally_init(lethe_mmlu_tally *t, size_t n_subjects) {
  memset(t, 0, sizeof *t);
  size_t n = n_subjects ? n_subjects : 1;
  t->n_correct = calloc(n, sizeof *t->n_correct);
  t->n_total = calloc(n, sizeof *t->n_total);
  if (!t->n_correct || !t->n_total) {
    lethe_mmlu_tally_free(t);
    return lethe_fail(LETHE_ERR_NOMEM, "MMLU tally: out of memory");
  }
  t->n_subjects = n_subjects;
  return LETHE_OK;
}

void lethe_mmlu_tally_add(lethe_mmlu_tally *t, size_t subject, int correct) {
  if (subject >= t->n_subjects) return;
  t->n_total[subject]++;
  if (correct) t->n_correct[subject]++;
}

void lethe_mmlu_tally_free(lethe_mmlu_tally *t) {
  free(t->n_correct);
  free(t->n_total);
  memset(t, 0, sizeof *t);
}

double lethe_mmlu_micro_average(const lethe_mmlu_tally *t) {
  size_t c = 0, n = 0;
  for (size_t i = 0; i < t->n_subjects; i++) c += t->n_correct[i], n += t->n_total[i];
  return n ? (double)c / (double)n : NAN;
}

void lethe_mmlu_print_table(FILE *fp, const lethe_mmlu_set *set, const lethe_mmlu_tally *t) {
  fprintf(fp, "%-40s %8s %8s %8s\n", "subject", "accuracy", "correct", "total");
  size_t c = 0, n = 0;
  for (size_t i = 0; i < t->n_subjects; i++) {
    if (!t->n_total[i]) continue;
    const char *name = set && i < set->n_subjects ? set->subjects[i].name : "?";
    fprintf(fp, "%-40s %8.4f %8zu %8zu\n", name, (double)t->n_correct[i] / (double)t->n_total[i], t->n_correct[i],
        t->n_total[i]);
    c += t->n_correct[i];
    n += t->n_total[i];
  }
  if (n)
    fprintf(fp, "%-40s %8.4f %8zu %8zu\n", "average (micro)", (double)c / (double)n, c, n);
  else
    fprintf(fp, "%-40s %8s %8zu %8zu\n", "average (micro)", "-", c, n);
}

lethe_status lethe_mmlu_write_metrics(const lethe_mmlu_set *set, const lethe_mmlu_tally *t, const char *path) {
  lethe_sbuf b = {0};
  lethe_sbuf_puts(&b, "{\"average_acc\": ");
  lethe_pyjson_float(&b, lethe_mmlu_micro_average(t));
  lethe_sbuf_puts(&b, ", \"subject_acc\": {");
  int first = 1;
  for (size_t i = 0; i < t->n_subjects; i++) {
    if (!t->n_total[i]) continue;
    const char *name = set && i < set->n_subjects ? set->subjects[i].name : "?";
    lethe_sbuf_puts(&b, first ? "" : ", ");
    first = 0;
    lethe_pyjson_string(&b, name, strlen(name));
    lethe_sbuf_puts(&b, ": ");
    lethe_pyjson_float(&b, (double)t->n_correct[i] / (double)t->n_total[i]);
  }
  lethe_sbuf_puts(&b, "}}\n");
  lethe_status st = lethe_sbuf_write_file(&b, path);
  lethe_sbuf_free(&b);
  return st;
}
