/* lethe/eval_mmlu.h: the MMLU data: hendrycks CSVs, a subject set, the k-shot prompt of
 * evaluate.py, per-subject tallies of answers and the metrics.json of run_mmlu.py. */
#ifndef LETHE_EVAL_MMLU_H
#define LETHE_EVAL_MMLU_H

#include <stddef.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  char *question;
  char *choices[4];
  int answer;  /* 0..3 for A..D */
  size_t line; /* 1-based line where the record starts, for messages */
} lethe_mmlu_item;

typedef struct {
  char *name; /* "abstract_algebra" */
  lethe_mmlu_item *dev;
  size_t n_dev;
  lethe_mmlu_item *test;
  size_t n_test;
} lethe_mmlu_subject;

typedef struct {
  lethe_mmlu_subject *subjects; /* sorted by name */
  size_t n_subjects;
} lethe_mmlu_set;

typedef struct {
  size_t limit; /* at most this many test questions per subject (the first ones); 0 = all */
  /* literal_text == 0 (the default): fields equal to a pandas NA string read as "nan", as the
   * official run_mmlu.py (pandas.read_csv) shows them; 1: fields as written. */
  int literal_text;
} lethe_mmlu_opts;

/* Reads one hendrycks CSV (no header; question, A, B, C, D, answer letter; RFC 4180 quoting,
 * fields may hold commas, doubled quotes and newlines; blank lines are skipped). A wrong field
 * count, an unterminated quote or an answer other than A..D is an error naming file and line. */
lethe_status lethe_mmlu_read_csv(const char *path, const lethe_mmlu_opts *opt, lethe_mmlu_item **items, size_t *n);
void lethe_mmlu_items_free(lethe_mmlu_item *items, size_t n);

/* Loads DIR/test/SUBJECT_test.csv for every subject (sorted) and DIR/dev/SUBJECT_dev.csv. */
lethe_status lethe_mmlu_load(const char *dir, const lethe_mmlu_opts *opt, lethe_mmlu_set *out);
void lethe_mmlu_free(lethe_mmlu_set *set);

/* The k-shot prompt for test question `index` of `subject`, exactly as hendrycks' evaluate.py
 * (and the task's run_mmlu.py) build it:
 *   "The following are multiple choice questions (with answers) about  abstract algebra.\n\n"
 * (format_subject puts a space before every word, hence two spaces after "about"), then k dev
 * examples "QUESTION\nA. a\nB. b\nC. c\nD. d\nAnswer: X\n\n", then the test question formatted
 * the same way and ending in "\nAnswer:". k is capped at n_dev. *out is malloc'ed. */
lethe_status lethe_mmlu_prompt(const lethe_mmlu_subject *subject, size_t index, size_t k, char **out);

/* Per-subject tallies of MMLU answers: the model side adds one (subject, correct) per question. */
typedef struct {
  size_t *n_correct; /* [n_subjects] */
  size_t *n_total;
  size_t n_subjects;
} lethe_mmlu_tally;

lethe_status lethe_mmlu_tally_init(lethe_mmlu_tally *t, size_t n_subjects);
void lethe_mmlu_tally_add(lethe_mmlu_tally *t, size_t subject, int correct);
void lethe_mmlu_tally_free(lethe_mmlu_tally *t);
/* Micro-average: all correct answers over all questions (run_mmlu.py's average_acc); NAN when
 * no question was answered. */
double lethe_mmlu_micro_average(const lethe_mmlu_tally *t);
/* A metrics.json with "average_acc" (as run_mmlu.py names it; readable by
 * lethe_eval_read_mmlu_metrics) and "subject_acc" {subject: accuracy}, written atomically. */
lethe_status lethe_mmlu_write_metrics(const lethe_mmlu_set *set, const lethe_mmlu_tally *t, const char *path);

#ifdef __cplusplus
}
#endif
#endif
