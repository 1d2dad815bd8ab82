/* eval/eval_scores.h: the scores of one evaluation of a loaded model (+ adapter) and tokenizer:
 * what `lethe eval` computes (generations, answer NLLs, MIA document NLLs, MMLU, the task's
 * aggregation), shared by `lethe eval` and the evaluations during `lethe unlearn` / `lethe train`. */
#ifndef LETHE_EVAL_EVAL_SCORES_H
#define LETHE_EVAL_EVAL_SCORES_H

#include "data/data.h"
#include "eval/attacks.h"
#include "eval/official.h"
#include "lethe/eval_rows.h"
#include "lethe/eval_score.h"
#include "lethe/eval_mmlu.h"
#include "lethe/evaluate.h"
#include "lethe/tokenizer.h"
#include "model/model.h"

/* What `lethe eval` keeps beside the scores: every MIA attack's AUC and the memorisation metrics,
 * the per-document scores, and mia.jsonl's rows (has_mia: both MIA sets were scored). */
typedef struct {
  lethe_attack_results atk;
  lethe_doc_scores mem, non;
  lethe_mia_out mia;
  int has_mia;
} lethe_eval_attacks;

void lethe_eval_attacks_init(lethe_eval_attacks *x, double k);
void lethe_eval_attacks_free(lethe_eval_attacks *x);

/* Evaluates (m, lora) on forget / retain rows (either may be NULL), o->mia_members and
 * o->mia_nonmembers (when both are set) and mmlu (may be NULL), with o->max_new, o->batch,
 * o->shots, o->literal_text and o->progress. On success *rows holds the scored rows, *tally the
 * MMLU answers (empty without MMLU) and *res the aggregate; the caller frees all three. On error
 * nothing is left to free. x (may be NULL) receives the attacks (made with lethe_eval_attacks_init;
 * the caller frees it either way). */
lethe_status lethe_eval_scores(const lethe_eval_opts *o, lethe_model *m, const lethe_lora *lora,
    const lethe_tokenizer *tok, const lethe_rowset *forget, const lethe_rowset *retain, const lethe_mmlu_set *mmlu,
    lethe_eval_rows *rows, lethe_mmlu_tally *tally, lethe_eval_results *res, lethe_eval_attacks *x);

#endif
