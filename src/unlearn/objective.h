/* unlearn/objective.h: the unlearning objectives of DESIGN.md as per-row coefficients of the fused
 * classifier, plus their loss values. l_t = log p_theta(y_t | y_<t) on an answer token, r_t the
 * same with the adapter off, F / R the forget / retain answer rows of a batch:
 *   NPO (token level)   (2/beta) mean_F softplus(beta (l_t - r_t))
 *   NPO (sequence)      (2/beta) mean_s softplus(beta D_s), D_s = sum_{t in s} (l_t - r_t)
 *   SimNPO              (2/beta) mean_s softplus(beta mean_{t in s} l_t + delta)
 *   gradient ascent     mean_F l_t
 *   retain NLL          -mean_R l_t
 *   KL (gold token)     mean_R exp(r_t) (r_t - l_t)
 *   KL (full vocab.)    mean_R sum_v p_ref(v) (log p_ref(v) - log p_theta(v))
 *   WGA                 mean_F sg(p_t^beta) l_t                     (p_t = exp(l_t))
 *   SatImp              mean_F sg(p_t^b1 (1 - p_t)^b2) l_t
 *   UNDIAL              mean_F CE(softmax(z_ref,t - beta onehot(y_t)), softmax(z_t))
 *   CE-U                mean_F' CE(softmax(sg(z_t) without y_t), softmax(z_t)), F' = F less the
 *                       first skip_first answer tokens of each row
 *   RMU                 not through the classifier: the trainer's own step (unlearn/trainer.c) on
 *                       the residual stream after layer rmu_layer
 * total = w_forget L_forget + m w_retain L_retain + w_kl L_kl; a term with no rows in a batch is 0.
 * m is 1 except for adaptive_retain (gd-adaptive, SHA256 at SemEval-2025 Task 4): m = 1.2 in the
 * first epoch, whose mean retain loss per retain row avg_1 it records; later, for a batch whose
 * retain NLL L_r exceeds avg_1, m = clamp(round(0.3 * 6^(L_r - avg_1) + 0.8, 1 decimal), 1.2, 2.3),
 * else 1.2 (m is a constant of the step: no gradient flows through it). */
#ifndef LETHE_UNLEARN_OBJECTIVE_H
#define LETHE_UNLEARN_OBJECTIVE_H

#include "kernels/ops.h"
#include "lethe/unlearn.h"

typedef struct {
  double total, forget, retain, kl;
  int n_forget, n_retain; /* answer rows */
  int n_forget_seq;
} lethe_loss_terms;

/* Rows of a batch as the objective sees them (gathered order: sequence by sequence). */
typedef struct {
  int n_rows;
  int n_seq;
  const int *row_off;         /* (n_seq + 1) first row of each sequence */
  const unsigned char *split; /* (n_seq) lethe_split of each sequence */
  const float *ref;           /* (n_rows) r_t, or NULL when the objective needs none */
  double retain_mult;         /* m (1 unless adaptive_retain) */
  const int *global;          /* (LETHE_OBJ_NCOUNTS) the counts of the whole (global) batch the
                                 normalisations use, summed over ranks; NULL: this batch's own */
} lethe_obj_rows;

/* The counts the objectives normalise by, in this order: forget answer rows, forget rows trained
 * (CE-U skips some), retain answer rows, forget sequences with an answer row. */
enum { LETHE_OBJ_NCOUNTS = 4 };
void lethe_obj_counts(const lethe_objective *o, const lethe_obj_rows *r, int out[LETHE_OBJ_NCOUNTS]);

/* adaptive_retain: the retain NLL of a batch (its retain rows' mean -l_t, from a first head pass)
 * and its retain sequences; 0 sequences: no retain rows. */
void lethe_obj_retain_nll(const lethe_obj_rows *r, const float *logp, double *nll, int *n_seq);
/* m for a batch: epoch 0 accumulates (sum, count) of the batch NLLs and retain sequences and gives
 * 1.2; a later epoch compares with sum / count. */
double lethe_obj_adaptive_mult(int epoch, double nll, int n_seq, double *sum, double *count);

/* Does the objective need reference log-probs r_t / an adapter-off forward per step (the
 * reference's full distribution: full-vocabulary KL, UNDIAL) / two head passes (sequence-level
 * terms need every l_t before any gradient)? */
int lethe_obj_needs_ref(const lethe_objective *o);
int lethe_obj_needs_ref_hidden(const lethe_objective *o);
int lethe_obj_two_pass(const lethe_objective *o);

/* Host buffers of the per-row coefficients, each (max rows). */
typedef struct {
  float *fixed, *sig, *kl, *pw;
  int *tgt;
} lethe_obj_bufs;

/* Fills the classifier coefficients for one batch, scaled by `scale` (1 / accumulation steps).
 * logp (n_rows) is needed only for two-pass objectives. coef->ref_hidden is left NULL. */
void lethe_obj_coefs(const lethe_objective *o, const lethe_obj_rows *r, const float *logp, float scale,
    const lethe_obj_bufs *buf, lethe_head_coef *coef);

/* Loss terms from the head's outputs: logp (n_rows) and, when the head formed target
 * distributions (full-vocabulary KL, UNDIAL, CE-U), kl_rows (n_rows). */
void lethe_obj_loss(
    const lethe_objective *o, const lethe_obj_rows *r, const float *logp, const float *kl_rows, lethe_loss_terms *out);

#endif
