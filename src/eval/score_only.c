/* eval/score_only.c: `lethe eval --score-only`: the scorer on files, without a model. */
#include <stdlib.h>
#include <string.h>

#include "lethe/eval_rows.h"
#include "lethe/eval_mia.h"
#include "lethe/eval_score.h"
#include "util/error.h"

lethe_status lethe_eval_score_only(
    const lethe_eval_score_only_opts *a, lethe_eval_rows *rows_out, lethe_eval_results *out) {
  memset(out, 0, sizeof *out);
  if (rows_out) memset(rows_out, 0, sizeof *rows_out);
  if (!a->rows_path) return lethe_fail(LETHE_ERR_INVALID, "score-only: no per-row JSONL given");
  if (!a->member_nll_path != !a->nonmember_nll_path)
    return lethe_fail(LETHE_ERR_INVALID, "score-only: MIA needs both the member and the non-member NLL files");
  if (a->mia_path && a->member_nll_path)
    return lethe_fail(LETHE_ERR_INVALID, "score-only: give mia.jsonl or the two NLL files, not both");
  if (a->has_mmlu && a->mmlu_metrics_path)
    return lethe_fail(LETHE_ERR_INVALID, "score-only: give the MMLU average or a metrics file, not both");
  lethe_eval_rows rows = {0};
  double *member = NULL, *nonmember = NULL;
  size_t n_member = 0, n_nonmember = 0;
  double mmlu = a->mmlu;
  lethe_status st = lethe_eval_rows_read_jsonl(a->rows_path, &rows);
  if (st == LETHE_OK && rows.n == 0) st = lethe_fail(LETHE_ERR_FORMAT, "%s: no rows to score", a->rows_path);
  if (st == LETHE_OK && a->member_nll_path) st = lethe_eval_read_nll_jsonl(a->member_nll_path, &member, &n_member);
  if (st == LETHE_OK && a->nonmember_nll_path)
    st = lethe_eval_read_nll_jsonl(a->nonmember_nll_path, &nonmember, &n_nonmember);
  if (st == LETHE_OK && a->mia_path)
    st = lethe_eval_read_mia_jsonl(a->mia_path, &member, &n_member, &nonmember, &n_nonmember);
  if (st == LETHE_OK && a->mmlu_metrics_path) st = lethe_eval_read_mmlu_metrics(a->mmlu_metrics_path, &mmlu);
  if (st == LETHE_OK) {
    lethe_eval_mia_input mia = {member, n_member, nonmember, n_nonmember};
    int has_mmlu = a->has_mmlu || a->mmlu_metrics_path;
    st = lethe_eval_compute(&rows, &a->compute, member ? &mia : NULL, has_mmlu ? &mmlu : NULL, out);
  }
  free(member);
  free(nonmember);
  if (st == LETHE_OK && rows_out)
    *rows_out = rows;
  else
    lethe_eval_rows_free(&rows);
  return st;
}
