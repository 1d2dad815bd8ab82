/* lethe/eval_mia.h: ROC AUC as scikit-learn computes it, the official membership-inference (MIA)
 * AUC and score, and the files of per-document NLLs they read. */
#ifndef LETHE_EVAL_MIA_H
#define LETHE_EVAL_MIA_H

#include <stddef.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif
#endif
