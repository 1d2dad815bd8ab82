/* lethe/eval_score.h: scoring and aggregation as the official script does them: per-row scores, the
 * per-task and per-split means, the harmonic-mean task aggregate, the final score, the official
 * evaluation_results.json, and `--score-only` (scoring a per-row JSONL without a model). */
#ifndef LETHE_EVAL_SCORE_H
#define LETHE_EVAL_SCORE_H

#include <stddef.h>

#include "lethe/eval_rows.h"
#include "lethe/split.h"
#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  /* literal_text == 0 (the default): score the texts as the official script sees them after
   * its pandas CSV round trip (lethe_eval_pandas_na texts become "nan"); 1: score them as
   * given. */
  int literal_text;
} lethe_eval_compute_opts;

typedef struct {
  char *task;
  double regurgitation; /* mean ROUGE-L recall of the task's sc rows; NAN when there are none */
  double knowledge;     /* mean exact match of the task's qa rows; NAN when there are none */
  size_t n_sc, n_qa, n_other;
} lethe_eval_task_score;

typedef struct {
  double regurgitation; /* mean over all sc rows of the split (overall-regurgitation-score) */
  double knowledge;     /* mean over all qa rows of the split (overall-knowledge-score) */
  size_t n_sc, n_qa, n_other;
  /* Every task with at least one row in this split, sorted by name (bytewise = code point order,
   * as pandas' groupby sorts). */
  lethe_eval_task_score *tasks;
  size_t n_tasks;
} lethe_eval_split_score;

typedef struct {
  lethe_eval_split_score split[LETHE_SPLIT_COUNT]; /* [LETHE_SPLIT_FORGET], [LETHE_SPLIT_RETAIN] */
  /* aggregated-terms in the official order: forget tasks (sorted), each regurgitation then
   * knowledge, as 1 - x; then the retain tasks' x. A missing mean (NAN) is left out (the official
   * script would carry a NaN through to the harmonic mean). */
  double *terms;
  size_t n_terms;
  double task_aggregate; /* harmonic mean of the terms (0 if any is 0); NAN when there are none */
  int has_mia;
  double mia_auc;   /* mia_loss_acc */
  double mia_score; /* 1 - 2 |auc - 0.5| */
  size_t n_member, n_nonmember;
  int has_mmlu;
  double mmlu; /* mmlu_average */
  /* mean(task_aggregate, mmlu, mia_score) when both MIA and MMLU are present; -1 otherwise, as
   * the official script writes it. */
  double final_score;
  size_t n_rows;
  size_t n_unclassified; /* rows whose id is neither sc nor qa: a warning count */
} lethe_eval_results;

/* MIA inputs: the per-document NLLs of the members and the non-members. */
typedef struct {
  const double *member_nll;
  size_t n_member;
  const double *nonmember_nll;
  size_t n_nonmember;
} lethe_eval_mia_input;

/* Scores every row (row->kind, row->score) and aggregates. mia and mmlu may be NULL (missing;
 * then aggregate-score is -1 as in the official script); *mmlu must lie in [0, 1]; opt may be
 * NULL (defaults). An empty row set is an error. */
lethe_status lethe_eval_compute(lethe_eval_rows *rows, const lethe_eval_compute_opts *opt,
    const lethe_eval_mia_input *mia, const double *mmlu, lethe_eval_results *out);
void lethe_eval_results_free(lethe_eval_results *r);

/* evaluation_results.json as the official script writes it (json.dumps(results, indent=4)):
 * keys "forget-set" and "retain-set" ({"overall-regurgitation-score", "overall-knowledge-score",
 * then one {"regurgitation-score", "knowledge-score"} per task}), "mia_loss_acc" (when MIA),
 * "mmlu_average" (when MMLU), "aggregated-terms", "harmonic-mean-task-aggregate",
 * "aggregate-score" (-1 unless both MIA and MMLU are present) and "mia_final_score" (only when
 * both are). Numbers are written as Python's repr writes them (and a harmonic mean that a zero
 * term made 0 as the int 0, as statistics.harmonic_mean returns it); a missing value (NAN) is
 * written as null where Python would write the non-JSON NaN. */
lethe_status lethe_eval_results_to_json(const lethe_eval_results *r, char **out, size_t *len);
/* Writes that JSON to `path` atomically (temporary name, then rename). */
lethe_status lethe_eval_results_write_json(const lethe_eval_results *r, const char *path);

/* The official run_mmlu.py metrics.json: reads its "average_acc" number. */
lethe_status lethe_eval_read_mmlu_metrics(const char *path, double *average_acc);

/* --score-only: scores a per-row JSONL without a model. */
typedef struct {
  const char *rows_path;       /* per-row JSONL (required) */
  const char *member_nll_path; /* MIA NLL JSONL files: both or neither */
  const char *nonmember_nll_path;
  int has_mmlu; /* use `mmlu` as the MMLU average */
  double mmlu;
  const char *mmlu_metrics_path;   /* or read average_acc from this metrics.json (may be NULL) */
  lethe_eval_compute_opts compute; /* how lethe_eval_compute scores the rows */
  const char *mia_path;            /* or lethe's mia.jsonl (instead of the two NLL files) */
} lethe_eval_score_only_opts;

/* Reads the inputs, scores them and aggregates. rows_out (may be NULL) receives the scored rows
 * (free with lethe_eval_rows_free). */
lethe_status lethe_eval_score_only(
    const lethe_eval_score_only_opts *opts, lethe_eval_rows *rows_out, lethe_eval_results *out);

#ifdef __cplusplus
}
#endif
#endif
