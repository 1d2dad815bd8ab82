/* lethe/eval.h: the model-independent half of the SemEval-2025 Task 4 scorer: ROUGE-L as
 * rouge-score computes it, exact match, ROC AUC and the MIA score, the per-task aggregation and the
 * official evaluation_results.json, the per-row JSONL that `lethe eval` writes and `--score-only`
 * reads, and the MMLU data (hendrycks CSVs, k-shot prompts, accuracy tables).
 *
 * Every number here follows the official scorer, evaluate_generations.py of the task's data
 * release, and the libraries it calls (rouge-score 0.1.2 with nltk's PorterStemmer, scikit-learn's
 * roc_curve + auc, Python 3.11 str.strip / str.lower, pandas' CSV round trip); where lethe differs
 * (missing values) the comment says so. Texts are UTF-8 with explicit lengths, so they may hold NUL
 * bytes; an invalid byte behaves as a character of its own that is neither a letter, a digit nor
 * whitespace and lower-cases to itself. */
#ifndef LETHE_EVAL_H
#define LETHE_EVAL_H

#include <stddef.h>
#include <stdio.h>

#include "lethe/split.h"
#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ */
/* Text metrics                                                                               */

/* nltk's PorterStemmer() (mode NLTK_EXTENSIONS, the default, as rouge-score uses it)
 * .stem(word): writes the stem to out (room for len + 1 bytes; the stem is never longer than the
 * word) NUL-terminated and returns its length. Defined for ASCII words (ASCII letters are
 * lower-cased first); rouge-score only passes it [a-z0-9]+ tokens longer than 3 characters. */
size_t lethe_porter_stem(const char *word, size_t len, char *out);

/* rouge-score's default tokenizer: Python str.lower(), every run of characters other than
 * [a-z0-9] becomes a separator, and with stem != 0 each token longer than 3 characters goes
 * through lethe_porter_stem. tokens[i] are NUL-terminated strings inside one allocation. */
typedef struct {
  char **tokens;
  size_t n;
  char *buf_; /* owns the token text */
} lethe_rouge_tokens;

lethe_status lethe_rouge_tokenize(const char *text, size_t len, int stem, lethe_rouge_tokens *out);
void lethe_rouge_tokens_free(lethe_rouge_tokens *t);

typedef struct {
  double precision; /* LCS / prediction tokens */
  double recall;    /* LCS / target tokens: the task's regurgitation score */
  double fmeasure;  /* 2 p r / (p + r), 0 when p + r == 0 */
} lethe_rouge_score;

/* ROUGE-L exactly as rouge_scorer.RougeScorer(['rougeL'], use_stemmer=True)
 * .score(target=target, prediction=prediction)['rougeL']: all three are 0 when either side has
 * no token. */
lethe_status lethe_rouge_l(
    const char *target, size_t target_len, const char *prediction, size_t prediction_len, lethe_rouge_score *out);

/* The official knowledge score: 1 when a.strip().lower() == b.strip().lower() in Python 3.11
 * (Unicode whitespace as str.isspace, full lower-casing: U+0130 -> "i\u0307", final sigma, the
 * Unicode 14 tables Python 3.11 uses), else 0. */
int lethe_exact_match(const char *a, size_t alen, const char *b, size_t blen);

/* The official script writes the rows to CSV with pandas and reads them back, so a text equal to
 * one of pandas' default NA strings ("", "NA", "N/A", "NULL", "None", "NaN", "nan", "null",
 * "n/a", "<NA>", "#N/A", "#NA", "#N/A N/A", "-NaN", "-nan", "1.#IND", "1.#QNAN", "-1.#IND",
 * "-1.#QNAN") is scored as the string "nan". Non-zero when `s` is one of them. */
int lethe_eval_pandas_na(const char *s, size_t len);

/* ------------------------------------------------------------------------------------------ */
/* Rows                                                                                       */

/* Which metric a row gets (lethe_row_kind, in lethe/split.h), from its id as the official script
 * decides it: id[:-1] (the id without its last character) ending in "sc" is regurgitation, in "qa"
 * knowledge; anything else is scored by neither (counted in the results, not an error). */
lethe_row_kind lethe_eval_row_kind(const char *id, size_t len);

/* "forget" / "retain" (lethe_split is in lethe/split.h) */
const char *lethe_split_name(lethe_split s);

/* One evaluated row. The per-row JSONL holds one object per line with these fields:
 *   "id"        string, the LUME id (may contain '"')                          required
 *   "task"      string, e.g. "Task1"                                           required
 *   "split"     "forget" or "retain"                                           required
 *   "expected"  string, the reference output                                   required
 *   "generated" string, the model's greedy generation                          required
 *   "score"     number or null: ROUGE-L recall (sc), exact match 0/1 (qa),
 *               null (neither); written by lethe, ignored when read           optional
 *   "nll"       number or null: mean NLL of the expected output given the
 *               input (informational)                                          optional
 * Other fields are ignored (a key given twice in one object is an error). Blank lines are
 * skipped; any other bad line (invalid JSON, not an object, a missing field, a wrong type, an
 * unknown split) is an error naming the file and the line. */
typedef struct {
  char *id;
  char *task;
  lethe_split split;
  char *expected; /* NUL-terminated, expected_len bytes (may hold NULs) */
  size_t expected_len;
  char *generated;
  size_t generated_len;
  double nll;   /* NAN when absent */
  double score; /* set by lethe_eval_compute; NAN for rows of kind LETHE_ROW_OTHER */
  lethe_row_kind kind;
} lethe_eval_row;

typedef struct {
  lethe_eval_row *rows;
  size_t n;
  size_t cap_;
} lethe_eval_rows;

/* Appends a copy of a row (nll may be NAN); score is NAN until lethe_eval_compute. */
lethe_status lethe_eval_rows_add(lethe_eval_rows *set, const char *id, const char *task, lethe_split split,
    const char *expected, size_t expected_len, const char *generated, size_t generated_len, double nll);
/* Appends the rows of a per-row JSONL file. */
lethe_status lethe_eval_rows_read_jsonl(const char *path, lethe_eval_rows *set);
/* Writes the rows as per-row JSONL (atomically: temporary name, then rename). */
lethe_status lethe_eval_rows_write_jsonl(const lethe_eval_rows *set, const char *path);
void lethe_eval_rows_free(lethe_eval_rows *set);

/* ------------------------------------------------------------------------------------------ */
/* AUC and MIA                                                                                */

/* ROC AUC of `scores` (higher = more positive) against labels (non-zero = positive), as
 * sklearn.metrics.auc(*roc_curve(labels, scores)[:2]) (= roc_auc_score): the trapezoid over the
 * distinct thresholds, so ties count one half. Errors: n == 0, no positive or no negative label,
 * a non-finite score. */
lethe_status lethe_roc_auc(const double *scores, const unsigned char *labels, size_t n, double *auc);

/* The official MIA AUC (the JSON's mia_loss_acc): scores are -NLL of each document (the mean
 * token NLL of the whole document), members are the positives. */
lethe_status lethe_mia_auc(
    const double *member_nll, size_t n_member, const double *nonmember_nll, size_t n_nonmember, double *auc);
/* mia_final_score = 1 - 2 |auc - 0.5| (1 is best: members and non-members look alike). */
double lethe_mia_score(double auc);

/* Per-document NLLs of one MIA file: JSONL, one object per line with "nll" (number, required)
 * and optionally "id" (string or number, used in messages only); other fields are ignored. An
 * empty file (no object) is an error. *nll is malloc'ed. */
lethe_status lethe_eval_read_nll_jsonl(const char *path, double **nll, size_t *n);
/* lethe's mia.jsonl (what `lethe eval` writes): one object per document with "set" ("member" or
 * "nonmember") and "nll"; other fields are ignored. Both sets must be present. */
lethe_status lethe_eval_read_mia_jsonl(
    const char *path, double **member, size_t *n_member, double **nonmember, size_t *n_nonmember);

/* ------------------------------------------------------------------------------------------ */
/* Aggregation and the official JSON                                                          */

typedef struct {
  /* literal_text == 0 (the default): score the texts as the official script sees them after
   * its pandas CSV round trip (lethe_eval_pandas_na texts become "nan"); 1: score them as
   * given. */
  int literal_text;
} lethe_eval_options;

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
lethe_status lethe_eval_compute(lethe_eval_rows *rows, const lethe_eval_options *opt, const lethe_eval_mia_input *mia,
    const double *mmlu, lethe_eval_results *out);
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
  const char *mmlu_metrics_path; /* or read average_acc from this metrics.json (may be NULL) */
  lethe_eval_options options;
  const char *mia_path; /* or lethe's mia.jsonl (instead of the two NLL files) */
} lethe_eval_score_only_args;

/* Reads the inputs, scores them and aggregates. rows_out (may be NULL) receives the scored rows
 * (free with lethe_eval_rows_free). */
lethe_status lethe_eval_score_only(
    const lethe_eval_score_only_args *args, lethe_eval_rows *rows_out, lethe_eval_results *out);

/* The official script's warning, printed when both MIA and MMLU are present and the MMLU average is
 * below 0.371 (75% of the base model's): "[WARNING] The MMLU average for the provided checkpoint is
 * below threshold. ..." */
void lethe_eval_print_mmlu_warning(FILE *fp);

/* A text table of the results: one column per result set; before may be NULL (one column). */
void lethe_eval_print_table(FILE *fp, const lethe_eval_results *before, const lethe_eval_results *after);

/* ------------------------------------------------------------------------------------------ */
/* MMLU data                                                                                  */

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
} lethe_mmlu_options;

/* Reads one hendrycks CSV (no header; question, A, B, C, D, answer letter; RFC 4180 quoting,
 * fields may hold commas, doubled quotes and newlines; blank lines are skipped). A wrong field
 * count, an unterminated quote or an answer other than A..D is an error naming file and line. */
lethe_status lethe_mmlu_read_csv(const char *path, const lethe_mmlu_options *opt, lethe_mmlu_item **items, size_t *n);
void lethe_mmlu_items_free(lethe_mmlu_item *items, size_t n);

/* Loads DIR/test/SUBJECT_test.csv for every subject (sorted) and DIR/dev/SUBJECT_dev.csv. */
lethe_status lethe_mmlu_load(const char *dir, const lethe_mmlu_options *opt, lethe_mmlu_set *out);
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
/* A table: one line per subject (accuracy, correct, total), then the micro-average. */
void lethe_mmlu_print_table(FILE *fp, const lethe_mmlu_set *set, const lethe_mmlu_tally *t);
/* A metrics.json with "average_acc" (as run_mmlu.py names it; readable by
 * lethe_eval_read_mmlu_metrics) and "subject_acc" {subject: accuracy}, written atomically. */
lethe_status lethe_mmlu_write_metrics(const lethe_mmlu_set *set, const lethe_mmlu_tally *t, const char *path);

#ifdef __cplusplus
}
#endif
#endif
