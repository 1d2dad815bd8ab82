/* eval/table.c: the results as a text table, one column per result set (before / after), for
 * the CLI. Missing values print as "-". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lethe/eval_rows.h"
#include "lethe/eval_score.h"
#include "lethe/eval_print.h"

#define LABEL_W 40

static void cell(FILE *fp, double v) {
  if (isnan(v))
    fprintf(fp, " %10s", "-");
  else
    fprintf(fp, " %10.4f", v);
}

static void line(FILE *fp, const char *label, const lethe_eval_results *before, double vb, double va) {
  fprintf(fp, "%-*s", LABEL_W, label);
  if (before) cell(fp, vb);
  cell(fp, va);
  fputc('\n', fp);
}

static const lethe_eval_task_score *find_task(const lethe_eval_results *r, int split, const char *task) {
  if (!r) return NULL;
  for (size_t t = 0; t < r->split[split].n_tasks; t++)
    if (strcmp(r->split[split].tasks[t].task, task) == 0) return &r->split[split].tasks[t];
  return NULL;
}

void lethe_eval_print_table(FILE *fp, const lethe_eval_results *before, const lethe_eval_results *after) {
  char label[256];
  fprintf(fp, "%-*s", LABEL_W, "metric");
  if (before) fprintf(fp, " %10s", "before");
  fprintf(fp, " %10s\n", before ? "after" : "value");
  for (int s = 0; s < LETHE_SPLIT_COUNT; s++) {
    const char *sn = lethe_split_name((lethe_split)s);
    snprintf(label, sizeof label, "%s regurgitation (ROUGE-L recall)", sn);
    line(fp, label, before, before ? before->split[s].regurgitation : NAN, after->split[s].regurgitation);
    snprintf(label, sizeof label, "%s knowledge (exact match)", sn);
    line(fp, label, before, before ? before->split[s].knowledge : NAN, after->split[s].knowledge);
    for (size_t t = 0; t < after->split[s].n_tasks; t++) {
      const lethe_eval_task_score *ta = &after->split[s].tasks[t];
      const lethe_eval_task_score *tb = find_task(before, s, ta->task);
      snprintf(label, sizeof label, "  %s %.20s regurgitation", sn, ta->task);
      line(fp, label, before, tb ? tb->regurgitation : NAN, ta->regurgitation);
      snprintf(label, sizeof label, "  %s %.20s knowledge", sn, ta->task);
      line(fp, label, before, tb ? tb->knowledge : NAN, ta->knowledge);
    }
  }
  line(fp, "task aggregate (harmonic mean)", before, before ? before->task_aggregate : NAN, after->task_aggregate);
  line(fp, "MIA AUC (mia_loss_acc)", before, before && before->has_mia ? before->mia_auc : NAN,
      after->has_mia ? after->mia_auc : NAN);
  line(fp, "MIA score (1 - 2|AUC - 0.5|)", before, before && before->has_mia ? before->mia_score : NAN,
      after->has_mia ? after->mia_score : NAN);
  line(
      fp, "MMLU average", before, before && before->has_mmlu ? before->mmlu : NAN, after->has_mmlu ? after->mmlu : NAN);
  double fb = before && before->has_mia && before->has_mmlu ? before->final_score : NAN;
  double fa = after->has_mia && after->has_mmlu ? after->final_score : NAN;
  line(fp, "final score (mean of the three)", before, fb, fa);
  fprintf(fp, "%-*s", LABEL_W, "rows (unclassified ids)");
  if (before) fprintf(fp, " %5zu (%2zu)", before->n_rows, before->n_unclassified);
  fprintf(fp, " %5zu (%2zu)\n", after->n_rows, after->n_unclassified);
}
