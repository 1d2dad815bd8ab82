/* eval/scorer.c: the official aggregation of evaluate_generations.py (compute_metrics): per
 * split and task the mean regurgitation (ROUGE-L recall of sc rows) and knowledge (exact match of
 * qa rows); the forget means as 1 - x; their harmonic mean; the MIA score; and the final mean of
 * the task aggregate, MMLU and the MIA score.
 *
 * Where the official script would carry a NaN (a task with no sc or no qa rows in a split), lethe
 * leaves the value out of the aggregated terms and reports it as missing (null in the JSON). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/eval_text.h"
#include "lethe/eval_rows.h"
#include "lethe/eval_mia.h"
#include "lethe/eval_score.h"
#include "util/error.h"

static const char k_nan_text[] = "nan"; /* str(float('nan')) */

static lethe_status score_row(lethe_eval_row *r, int literal) {
  const char *exp = r->expected, *gen = r->generated;
  size_t exp_len = r->expected_len, gen_len = r->generated_len;
  if (!literal) { /* the official CSV round trip turns pandas' NA strings into NaN, str() "nan" */
    if (lethe_eval_pandas_na(exp, exp_len)) exp = k_nan_text, exp_len = 3;
    if (lethe_eval_pandas_na(gen, gen_len)) gen = k_nan_text, gen_len = 3;
  }
  r->kind = lethe_eval_row_kind(r->id, strlen(r->id));
  if (r->kind == LETHE_ROW_SC) {
    lethe_rouge_score s;
    lethe_status st = lethe_rouge_l(exp, exp_len, gen, gen_len, &s);
    if (st != LETHE_OK) return lethe_fail_context(st, "row %s", r->id);
    r->score = s.recall;
  } else if (r->kind == LETHE_ROW_QA) {
    r->score = lethe_exact_match(exp, exp_len, gen, gen_len);
  } else {
    r->score = NAN;
  }
  return LETHE_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Sums for one (split, task) group or one split. */
typedef struct {
  double sum_sc, sum_qa;
  size_t n_sc, n_qa, n_other;
} acc_t;

static void acc_add(acc_t *a, const lethe_eval_row *r) {
  if (r->kind == LETHE_ROW_SC)
    a->sum_sc += r->score, a->n_sc++;
  else if (r->kind == LETHE_ROW_QA)
    a->sum_qa += r->score, a->n_qa++;
  else
    a->n_other++;
}

static double mean_or_nan(double sum, size_t n) { return n ? sum / (double)n : NAN; }

static lethe_status aggregate_split(const lethe_eval_rows *rows, lethe_split split, lethe_eval_split_score *out) {
  memset(out, 0, sizeof *out);
  /* The distinct task names of this split, sorted. */
  const char **names = malloc((rows->n ? rows->n : 1) * sizeof *names);
  if (!names) return lethe_fail(LETHE_ERR_NOMEM, "aggregating %zu rows: out of memory", rows->n);
  size_t n_names = 0;
  for (size_t i = 0; i < rows->n; i++)
    if (rows->rows[i].split == split) names[n_names++] = rows->rows[i].task;
  qsort(names, n_names, sizeof *names, cmp_str);
  size_t n_tasks = 0;
  for (size_t i = 0; i < n_names; i++)
    if (n_tasks == 0 || strcmp(names[n_tasks - 1], names[i]) != 0) names[n_tasks++] = names[i];
  acc_t *acc = calloc(n_tasks ? n_tasks : 1, sizeof *acc);
  out->tasks = calloc(n_tasks ? n_tasks : 1, sizeof *out->tasks);
  if (!acc || !out->tasks) {
    free(names);
    free(acc);
    free(out->tasks);
    out->tasks = NULL;
    return lethe_fail(LETHE_ERR_NOMEM, "aggregating %zu rows: out of memory", rows->n);
  }
  acc_t all = {0};
  for (size_t i = 0; i < rows->n; i++) {
    const lethe_eval_row *r = &rows->rows[i];
    if (r->split != split) continue;
    const char *key = r->task;
    const char **hit = bsearch(&key, names, n_tasks, sizeof *names, cmp_str);
    acc_add(&acc[hit - names], r);
    acc_add(&all, r);
  }
  lethe_status st = LETHE_OK;
  out->n_tasks = n_tasks;
  for (size_t t = 0; t < n_tasks; t++) {
    lethe_eval_task_score *ts = &out->tasks[t];
    ts->task = strdup(names[t]);
    if (!ts->task) st = lethe_fail(LETHE_ERR_NOMEM, "aggregating: out of memory");
    ts->regurgitation = mean_or_nan(acc[t].sum_sc, acc[t].n_sc);
    ts->knowledge = mean_or_nan(acc[t].sum_qa, acc[t].n_qa);
    ts->n_sc = acc[t].n_sc;
    ts->n_qa = acc[t].n_qa;
    ts->n_other = acc[t].n_other;
  }
  out->regurgitation = mean_or_nan(all.sum_sc, all.n_sc);
  out->knowledge = mean_or_nan(all.sum_qa, all.n_qa);
  out->n_sc = all.n_sc;
  out->n_qa = all.n_qa;
  out->n_other = all.n_other;
  free(names);
  free(acc);
  return st;
}

/* statistics.harmonic_mean: 0 when any value is 0; a single value is returned as it is. */
static double harmonic_mean(const double *x, size_t n) {
  if (n == 0) return NAN;
  if (n == 1) return x[0];
  double inv = 0;
  for (size_t i = 0; i < n; i++) {
    if (x[i] == 0) return 0.0;
    inv += 1.0 / x[i];
  }
  return (double)n / inv;
}

void lethe_eval_results_free(lethe_eval_results *r) {
  for (int s = 0; s < LETHE_SPLIT_COUNT; s++) {
    for (size_t t = 0; t < r->split[s].n_tasks; t++) free(r->split[s].tasks[t].task);
    free(r->split[s].tasks);
  }
  free(r->terms);
  memset(r, 0, sizeof *r);
}

lethe_status lethe_eval_compute(lethe_eval_rows *rows, const lethe_eval_compute_opts *opt,
    const lethe_eval_mia_input *mia, const double *mmlu, lethe_eval_results *out) {
  memset(out, 0, sizeof *out);
  out->task_aggregate = out->mia_auc = out->mia_score = out->mmlu = NAN;
  out->final_score = -1;
  if (rows->n == 0) return lethe_fail(LETHE_ERR_INVALID, "evaluation: no rows to score");
  if (mmlu && !(*mmlu >= 0 && *mmlu <= 1))
    return lethe_fail(LETHE_ERR_INVALID, "evaluation: the MMLU average %g is not in [0, 1]", *mmlu);
  int literal = opt ? opt->literal_text : 0;
  for (size_t i = 0; i < rows->n; i++) LETHE_TRY(score_row(&rows->rows[i], literal));

  lethe_status st = LETHE_OK;
  for (int s = 0; s < LETHE_SPLIT_COUNT && st == LETHE_OK; s++)
    st = aggregate_split(rows, (lethe_split)s, &out->split[s]);
  if (st != LETHE_OK) {
    lethe_eval_results_free(out);
    return st;
  }
  out->n_rows = rows->n;
  out->n_unclassified = out->split[0].n_other + out->split[1].n_other;

  size_t max_terms = 2 * (out->split[0].n_tasks + out->split[1].n_tasks);
  out->terms = malloc((max_terms ? max_terms : 1) * sizeof *out->terms);
  if (!out->terms) {
    lethe_eval_results_free(out);
    return lethe_fail(LETHE_ERR_NOMEM, "evaluation: out of memory");
  }
  for (int s = 0; s < LETHE_SPLIT_COUNT; s++) {
    for (size_t t = 0; t < out->split[s].n_tasks; t++) {
      double v[2] = {out->split[s].tasks[t].regurgitation, out->split[s].tasks[t].knowledge};
      for (int k = 0; k < 2; k++) {
        if (isnan(v[k])) continue;
        out->terms[out->n_terms++] = s == LETHE_SPLIT_FORGET ? 1 - v[k] : v[k];
      }
    }
  }
  out->task_aggregate = harmonic_mean(out->terms, out->n_terms);

  if (mia) {
    st = lethe_mia_auc(mia->member_nll, mia->n_member, mia->nonmember_nll, mia->n_nonmember, &out->mia_auc);
    if (st != LETHE_OK) {
      lethe_eval_results_free(out);
      return st;
    }
    out->has_mia = 1;
    out->mia_score = lethe_mia_score(out->mia_auc);
    out->n_member = mia->n_member;
    out->n_nonmember = mia->n_nonmember;
  }
  if (mmlu) {
    out->has_mmlu = 1;
    out->mmlu = *mmlu;
  }
  if (out->has_mia && out->has_mmlu) out->final_score = (out->task_aggregate + out->mmlu + out->mia_score) / 3.0;
  return LETHE_OK;
}
