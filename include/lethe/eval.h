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
 * whitespace and lower-cases to itself.
 *
 * This header includes the scorer's stages, each in its own header: text metrics (eval_text.h),
 * rows (eval_rows.h), AUC and MIA (eval_mia.h), scoring, aggregation and the official JSON
 * (eval_score.h), MMLU (eval_mmlu.h) and printing (eval_print.h). Code includes the ones it uses. */
#ifndef LETHE_EVAL_H
#define LETHE_EVAL_H

#include "lethe/eval_mia.h"
#include "lethe/eval_mmlu.h"
#include "lethe/eval_print.h"
#include "lethe/eval_rows.h"
#include "lethe/eval_score.h"
#include "lethe/eval_text.h"

#endif
