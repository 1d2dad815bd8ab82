/* eval/auc.c: ROC AUC as scikit-learn's roc_curve + auc compute it (the trapezoid over the
 * distinct score thresholds, so tied scores count one half), and the official MIA score. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lethe/eval_mia.h"
#include "util/error.h"

typedef struct {
  double score;
  unsigned char positive;
} scored;

static int by_score_desc(const void *a, const void *b) {
  double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
  return (x < y) - (x > y);
}

lethe_status lethe_roc_auc(const double *scores, const unsigned char *labels, size_t n, double *auc) {
  *auc = NAN;
  if (n == 0) return lethe_fail(LETHE_ERR_INVALID, "ROC AUC: no samples");
  if (n > ((size_t)1 << 30)) return lethe_fail(LETHE_ERR_INVALID, "ROC AUC: %zu samples is too many", n);
  scored *v = malloc(n * sizeof *v);
  if (!v) return lethe_fail(LETHE_ERR_NOMEM, "ROC AUC of %zu samples: out of memory", n);
  uint64_t pos = 0, neg = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(scores[i])) {
      free(v);
      return lethe_fail(LETHE_ERR_NUMERIC, "ROC AUC: score %zu is %g (not finite)", i, scores[i]);
    }
    v[i].score = scores[i];
    v[i].positive = labels[i] != 0;
    if (v[i].positive)
      pos++;
    else
      neg++;
  }
  if (pos == 0 || neg == 0) {
    free(v);
    return lethe_fail(LETHE_ERR_INVALID, "ROC AUC: needs both classes (%llu positive, %llu negative samples)",
        (unsigned long long)pos, (unsigned long long)neg);
  }
  qsort(v, n, sizeof *v, by_score_desc);
  /* Walk the thresholds from the highest score down; each group of equal scores moves the ROC
   * point from (fp, tp) to (fp + dfp, tp + dtp). Twice the area under the count-scaled curve is
   * an exact integer: sum of dfp * (2 tp + dtp). */
  uint64_t tp = 0;
  uint64_t area2 = 0; /* <= 2 n^2, and n <= 2^30 */
  size_t i = 0;
  while (i < n) {
    uint64_t dtp = 0, dfp = 0;
    size_t j = i;
    while (j < n && v[j].score == v[i].score) {
      if (v[j].positive)
        dtp++;
      else
        dfp++;
      j++;
    }
    area2 += dfp * (2 * tp + dtp);
    tp += dtp;
    i = j;
  }
  free(v);
  *auc = (double)area2 / (2.0 * (double)pos * (double)neg);
  return LETHE_OK;
}

lethe_status lethe_mia_auc(
    const double *member_nll, size_t n_member, const double *nonmember_nll, size_t n_nonmember, double *auc) {
  *auc = NAN;
  size_t n = n_member + n_nonmember;
  if (n_member == 0 || n_nonmember == 0)
    return lethe_fail(
        LETHE_ERR_INVALID, "MIA: needs member and non-member NLLs (%zu and %zu given)", n_member, n_nonmember);
  double *s = malloc(n * sizeof *s);
  unsigned char *l = malloc(n);
  if (!s || !l) {
    free(s);
    free(l);
    return lethe_fail(LETHE_ERR_NOMEM, "MIA AUC of %zu documents: out of memory", n);
  }
  /* The official compute_auc: scores = -1 * (member + nonmember losses), members labelled 1. */
  for (size_t i = 0; i < n_member; i++) s[i] = -member_nll[i], l[i] = 1;
  for (size_t i = 0; i < n_nonmember; i++) s[n_member + i] = -nonmember_nll[i], l[n_member + i] = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(s[i])) {
      free(s);
      free(l);
      return lethe_fail(LETHE_ERR_NUMERIC, "MIA: the NLL of %s document %zu is NaN",
          i < n_member ? "member" : "non-member", i < n_member ? i + 1 : i - n_member + 1);
    }
  }
  lethe_status st = lethe_roc_auc(s, l, n, auc);
  free(s);
  free(l);
  return st;
}

double lethe_mia_score(double auc) { return 1.0 - fabs(auc - 0.5) * 2.0; }
