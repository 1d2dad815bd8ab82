/* eval/official.h: the files of the official SemEval-2025 Task 4 script (evaluate_generations.py),
 * written beside lethe's own with `--layout official`: {forget,retain}_0.csv (pandas to_csv of
 * id, task, input, expected_output, model_output, nll; index=False), mia_results/{member,
 * nonmember}_0.csv (id, nll) and evaluation_results.jsonl (json.dumps of the results: one line);
 * lethe's per-document MIA file mia.jsonl; and the script's MMLU warning. */
#ifndef LETHE_EVAL_OFFICIAL_H
#define LETHE_EVAL_OFFICIAL_H

#include <stdio.h>

#include "data/data.h"
#include "eval/attacks.h"
#include "eval/pyjson.h"
#include "lethe/eval_rows.h"
#include "lethe/eval_score.h"

/* What one evaluation gathers of its MIA documents: mia.jsonl lines ({"id", "set", "nll", then
 * every attack score}) and the official CSVs' bodies ([0] member, [1] non-member). */
typedef struct {
  lethe_sbuf jsonl;
  lethe_sbuf csv[2];
} lethe_mia_out;

void lethe_mia_out_free(lethe_mia_out *mo);
/* Appends the documents of one MIA set (member != 0: the members). */
void lethe_mia_out_add(
    lethe_mia_out *mo, int member, const lethe_rowset *docs, const lethe_tokset *d, const lethe_doc_scores *sc);
/* One CSV field as Python's csv module writes it (QUOTE_MINIMAL). */
void lethe_csv_field(lethe_sbuf *b, const char *s, size_t n);
/* The indented JSON of lethe_eval_results_to_json as json.dumps without indent writes it. */
lethe_status lethe_json_one_line(const char *in, size_t n, lethe_sbuf *out);
/* Writes the official files into dir. forget / retain are the evaluated row sets (rows holds
 * their rows in order, forget's first); mo may be NULL (no MIA). */
lethe_status lethe_eval_write_official(const char *dir, const lethe_eval_rows *rows, const lethe_rowset *forget,
    const lethe_rowset *retain, const lethe_eval_results *res, const lethe_mia_out *mo);

#endif
