/* eval/eval_log.c: OUT/eval_log.jsonl, the evaluations made while training (see eval_log.h). */
#include "eval/eval_log.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/json.h"
#include "util/jsonl.h"
#include "util/error.h"
#include "util/fileio.h"

double lethe_eval_selection_score(const lethe_eval_results *r) {
  double sum = 0;
  int n = 0;
  if (isfinite(r->task_aggregate)) sum += r->task_aggregate, n++;
  if (r->has_mia && isfinite(r->mia_score)) sum += r->mia_score, n++;
  if (r->has_mmlu && isfinite(r->mmlu)) sum += r->mmlu, n++;
  return n ? sum / n : NAN;
}

void lethe_eval_point_from(const lethe_eval_results *r, lethe_eval_point *p) {
  const lethe_eval_split_score *f = &r->split[LETHE_SPLIT_FORGET], *t = &r->split[LETHE_SPLIT_RETAIN];
  p->forget_regurgitation = f->n_sc ? f->regurgitation : NAN;
  p->forget_knowledge = f->n_qa ? f->knowledge : NAN;
  p->retain_regurgitation = t->n_sc ? t->regurgitation : NAN;
  p->retain_knowledge = t->n_qa ? t->knowledge : NAN;
  p->task_aggregate = r->task_aggregate;
  p->mia_auc = r->has_mia ? r->mia_auc : NAN;
  p->mia_score = r->has_mia ? r->mia_score : NAN;
  p->mmlu = r->has_mmlu ? r->mmlu : NAN;
  p->final = lethe_eval_selection_score(r);
}

const char *const lethe_eval_point_keys[LETHE_EVAL_POINT_NSCORES] = {"forget_regurgitation", "forget_knowledge",
    "retain_regurgitation", "retain_knowledge", "task_aggregate", "mia_auc", "mia_score", "mmlu", "final"};

double *lethe_eval_point_score(lethe_eval_point *p, int k) {
  double *f[LETHE_EVAL_POINT_NSCORES] = {&p->forget_regurgitation, &p->forget_knowledge, &p->retain_regurgitation,
      &p->retain_knowledge, &p->task_aggregate, &p->mia_auc, &p->mia_score, &p->mmlu, &p->final};
  return f[k];
}

lethe_status lethe_eval_log_append(FILE *fp, const char *path, const lethe_eval_point *p) {
  lethe_eval_point c = *p;
  /* "step" first: a resumed run keeps the lines of steps up to its checkpoint by that prefix */
  fprintf(fp, "{\"step\": %lld, \"epoch\": %.6g", (long long)c.step, c.epoch);
  for (int k = 0; k < LETHE_EVAL_POINT_NSCORES; k++) {
    double v = *lethe_eval_point_score(&c, k);
    if (isfinite(v))
      fprintf(fp, ", \"%s\": %.9g", lethe_eval_point_keys[k], v);
    else
      fprintf(fp, ", \"%s\": null", lethe_eval_point_keys[k]);
  }
  fprintf(fp, ", \"seconds\": %.3f}\n", c.seconds);
  if (fflush(fp) || ferror(fp)) return lethe_fail(LETHE_ERR_IO, "%s: cannot write the evaluation log", path);
  return LETHE_OK;
}

typedef struct {
  lethe_eval_point *p;
  int n;
  size_t cap;
} reader;

static lethe_status one(const json_t *obj, const char *path, size_t line, void *ctx) {
  reader *r = ctx;
  LETHE_TRY(LETHE_ARRAY_GROW(r->p, r->cap, (size_t)r->n + 1, path));
  lethe_eval_point *p = &r->p[r->n];
  memset(p, 0, sizeof *p);
  const lethe_json_at at = {path, line, NULL};
  double step = NAN;
  int has = 0;
  LETHE_TRY(lethe_json_num_at(obj, "step", 0, &at, &step, &has));
  if (!has || !(step >= 0)) return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: \"step\" must be a number >= 0", path, line);
  p->step = (int64_t)step;
  p->epoch = p->seconds = NAN; /* absent fields read as NaN */
  LETHE_TRY(lethe_json_num_at(obj, "epoch", 0, &at, &p->epoch, NULL));
  LETHE_TRY(lethe_json_num_at(obj, "seconds", 0, &at, &p->seconds, NULL));
  for (int k = 0; k < LETHE_EVAL_POINT_NSCORES; k++) {
    *lethe_eval_point_score(p, k) = NAN;
    LETHE_TRY(lethe_json_num_at(obj, lethe_eval_point_keys[k], 0, &at, lethe_eval_point_score(p, k), NULL));
  }
  r->n++;
  return LETHE_OK;
}

lethe_status lethe_eval_log_read(const char *path, lethe_eval_point **pts, int *n) {
  *pts = NULL;
  *n = 0;
  if (!lethe_file_exists(path)) return LETHE_OK;
  reader r = {0};
  lethe_status s = lethe_jsonl_each(path, one, &r, NULL);
  if (s) {
    free(r.p);
    return s;
  }
  *pts = r.p;
  *n = r.n;
  return LETHE_OK;
}
