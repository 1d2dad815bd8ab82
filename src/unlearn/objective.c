/* unlearn/objective.c: coefficients dL/dl_t (and target-distribution weights) of every objective
 * for the fused classifier, and the loss values, computed in double. The presets are the method
 * table's (unlearn/methods.c). */
#include "unlearn/objective.h"

#include <math.h>
#include <string.h>

#include "data/data.h"

static double softplus(double x) { return x > 30 ? x : (x < -30 ? exp(x) : log1p(exp(x))); }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* Forget losses whose gradient is a target distribution in the classifier (kl weights). */
static int forget_is_target(const lethe_objective *o) {
  return o->w_forget != 0 && (o->forget == LETHE_FORGET_UNDIAL || o->forget == LETHE_FORGET_CEU);
}

int lethe_obj_needs_ref(const lethe_objective *o) {
  int forget = o->w_forget != 0 && (o->forget == LETHE_FORGET_NPO || o->forget == LETHE_FORGET_NPO_SEQ);
  return forget || (o->w_kl != 0 && o->kl == LETHE_KL_GOLD);
}

int lethe_obj_needs_ref_hidden(const lethe_objective *o) {
  return (o->w_kl != 0 && o->kl == LETHE_KL_FULL) || (o->w_forget != 0 && o->forget == LETHE_FORGET_UNDIAL) ||
         (o->forget == LETHE_FORGET_RMU && o->w_retain != 0);
}

int lethe_obj_two_pass(const lethe_objective *o) {
  return (o->w_forget != 0 && (o->forget == LETHE_FORGET_NPO_SEQ || o->forget == LETHE_FORGET_SIMNPO)) ||
         o->adaptive_retain;
}

void lethe_obj_retain_nll(const lethe_obj_rows *r, const float *logp, double *nll, int *n_seq) {
  double s = 0;
  int rows = 0;
  *n_seq = 0;
  for (int q = 0; q < r->n_seq; q++) {
    if (r->split[q] == LETHE_SPLIT_FORGET) continue;
    int a = r->row_off[q], b = r->row_off[q + 1];
    for (int t = a; t < b; t++) s -= logp[t];
    rows += b - a;
    *n_seq += 1;
  }
  *nll = rows ? s / rows : 0.0;
  if (!rows) *n_seq = 0;
}

double lethe_obj_adaptive_mult(int epoch, double nll, int n_seq, double *sum, double *count) {
  if (n_seq <= 0) return 1.2;
  if (epoch == 0) {
    *sum += nll;
    *count += n_seq;
    return 1.2;
  }
  double avg = *count > 0 ? *sum / *count : 0.0;
  if (!(nll > avg)) return 1.2;
  double m = round((0.3 * pow(6.0, nll - avg) + 0.8) * 10.0) / 10.0;
  return m < 1.2 ? 1.2 : (m > 2.3 ? 2.3 : m);
}

/* First trained row of a forget sequence [a, b): CE-U skips the first skip_first answer tokens. */
static int first_trained(const lethe_objective *o, int a, int b) {
  if (o->forget != LETHE_FORGET_CEU || o->skip_first <= 0) return a;
  return a + o->skip_first < b ? a + o->skip_first : b;
}

/* nF: forget answer rows (nFt of them trained), nR: retain answer rows, sF: forget sequences with
 * an answer row. */
static void local_counts(const lethe_objective *o, const lethe_obj_rows *r, int *nF, int *nFt, int *nR, int *sF) {
  *nF = *nFt = *nR = *sF = 0;
  for (int s = 0; s < r->n_seq; s++) {
    int a = r->row_off[s], b = r->row_off[s + 1];
    if (r->split[s] == LETHE_SPLIT_FORGET) {
      *nF += b - a;
      *nFt += b - first_trained(o, a, b);
      *sF += b > a;
    } else {
      *nR += b - a;
    }
  }
}

void lethe_obj_counts(const lethe_objective *o, const lethe_obj_rows *r, int out[LETHE_OBJ_NCOUNTS]) {
  local_counts(o, r, &out[0], &out[1], &out[2], &out[3]);
}

/* The normalisers: the global batch's counts when given (data parallelism), else this batch's. */
static void counts(const lethe_objective *o, const lethe_obj_rows *r, int *nF, int *nFt, int *nR, int *sF) {
  if (!r->global) {
    local_counts(o, r, nF, nFt, nR, sF);
    return;
  }
  *nF = r->global[0];
  *nFt = r->global[1];
  *nR = r->global[2];
  *sF = r->global[3];
}

void lethe_obj_coefs(const lethe_objective *o, const lethe_obj_rows *r, const float *logp, float scale,
    const lethe_obj_bufs *buf, lethe_head_coef *coef) {
  int nF, nFt, nR, sF;
  counts(o, r, &nF, &nFt, &nR, &sF);
  double beta = o->beta;
  float *fixed = buf->fixed, *sig = buf->sig, *kl = buf->kl, *pw = buf->pw;
  int *tgt = buf->tgt;
  int full_kl = o->w_kl != 0 && o->kl == LETHE_KL_FULL;
  for (int s = 0; s < r->n_seq; s++) {
    int a = r->row_off[s], b = r->row_off[s + 1];
    if (r->split[s] == LETHE_SPLIT_FORGET) {
      double seq_coef = 0;
      if (o->forget == LETHE_FORGET_NPO_SEQ && b > a) {
        double D = 0;
        for (int t = a; t < b; t++) D += (double)logp[t] - r->ref[t];
        seq_coef = o->w_forget * 2.0 / sF * sigmoid(beta * D);
      } else if (o->forget == LETHE_FORGET_SIMNPO && b > a) {
        double m = 0;
        for (int t = a; t < b; t++) m += logp[t];
        m /= (b - a);
        seq_coef = o->w_forget * 2.0 / sF * sigmoid(beta * m + o->delta) / (b - a);
      }
      int t0 = first_trained(o, a, b);
      for (int t = a; t < b; t++) {
        fixed[t] = sig[t] = kl[t] = pw[t] = 0;
        tgt[t] = LETHE_TGT_SELF; /* no target term unless set below (needs no reference) */
        switch (o->forget) {
        case LETHE_FORGET_NPO: sig[t] = (float)(scale * o->w_forget * 2.0 / nF); break;
        case LETHE_FORGET_NPO_SEQ:
        case LETHE_FORGET_SIMNPO: fixed[t] = (float)(scale * seq_coef); break;
        case LETHE_FORGET_GA: fixed[t] = (float)(scale * o->w_forget / nF); break;
        case LETHE_FORGET_WGA:
        case LETHE_FORGET_SATIMP: pw[t] = (float)(scale * o->w_forget / nF); break;
        case LETHE_FORGET_UNDIAL:
          kl[t] = (float)(scale * o->w_forget / nF);
          tgt[t] = LETHE_TGT_REF_SHIFT;
          break;
        case LETHE_FORGET_CEU:
          if (t >= t0) kl[t] = (float)(scale * o->w_forget / nFt);
          break;
        case LETHE_FORGET_NONE:
        case LETHE_FORGET_RMU: break;
        }
      }
    } else {
      for (int t = a; t < b; t++) {
        double f = -o->w_retain * r->retain_mult / nR;
        sig[t] = kl[t] = pw[t] = 0;
        tgt[t] = full_kl ? LETHE_TGT_REF : LETHE_TGT_SELF;
        if (o->w_kl != 0) {
          if (o->kl == LETHE_KL_GOLD)
            f -= o->w_kl * exp((double)r->ref[t]) / nR;
          else
            kl[t] = (float)(scale * o->w_kl / nR);
        }
        fixed[t] = (float)(scale * f);
      }
    }
  }
  memset(coef, 0, sizeof *coef);
  coef->fixed = fixed;
  if (o->forget == LETHE_FORGET_NPO && o->w_forget != 0 && nF > 0) {
    coef->sig = sig;
    coef->ref = r->ref;
    coef->beta = (float)beta;
  }
  if ((o->forget == LETHE_FORGET_WGA || o->forget == LETHE_FORGET_SATIMP) && o->w_forget != 0 && nF > 0) {
    coef->pw = pw;
    coef->pw_b1 = (float)(o->forget == LETHE_FORGET_WGA ? beta : o->sat_beta1);
    coef->pw_b2 = (float)(o->forget == LETHE_FORGET_WGA ? 0.0 : o->sat_beta2);
  }
  int forget_tgt = forget_is_target(o) && (o->forget == LETHE_FORGET_CEU ? nFt : nF) > 0;
  if ((full_kl && nR > 0) || forget_tgt) {
    coef->kl = kl;
    coef->tgt = tgt;
    coef->tgt_shift = (float)beta;
  }
}

void lethe_obj_loss(
    const lethe_objective *o, const lethe_obj_rows *r, const float *logp, const float *kl_rows, lethe_loss_terms *out) {
  memset(out, 0, sizeof *out);
  int nF, nFt, nR, sF;
  counts(o, r, &nF, &nFt, &nR, &sF);
  out->n_forget = nF;
  out->n_retain = nR;
  out->n_forget_seq = sF;
  double beta = o->beta, forget = 0, retain = 0, kl = 0;
  for (int s = 0; s < r->n_seq; s++) {
    int a = r->row_off[s], b = r->row_off[s + 1];
    if (b <= a) continue;
    if (r->split[s] == LETHE_SPLIT_FORGET) {
      switch (o->forget) {
      case LETHE_FORGET_NPO:
        for (int t = a; t < b; t++) forget += 2.0 / beta * softplus(beta * ((double)logp[t] - r->ref[t])) / nF;
        break;
      case LETHE_FORGET_NPO_SEQ: {
        double D = 0;
        for (int t = a; t < b; t++) D += (double)logp[t] - r->ref[t];
        forget += 2.0 / beta * softplus(beta * D) / sF;
        break;
      }
      case LETHE_FORGET_SIMNPO: {
        double m = 0;
        for (int t = a; t < b; t++) m += logp[t];
        forget += 2.0 / beta * softplus(beta * m / (b - a) + o->delta) / sF;
        break;
      }
      case LETHE_FORGET_GA:
        for (int t = a; t < b; t++) forget += (double)logp[t] / nF;
        break;
      case LETHE_FORGET_WGA:
      case LETHE_FORGET_SATIMP: {
        double b1 = o->forget == LETHE_FORGET_WGA ? beta : o->sat_beta1;
        double b2 = o->forget == LETHE_FORGET_WGA ? 0.0 : o->sat_beta2;
        for (int t = a; t < b; t++) {
          double p = exp((double)logp[t]);
          forget += pow(p, b1) * pow(1.0 - p, b2) * logp[t] / nF;
        }
        break;
      }
      case LETHE_FORGET_UNDIAL:
        for (int t = a; kl_rows && t < b; t++) forget += (double)kl_rows[t] / nF;
        break;
      case LETHE_FORGET_CEU:
        for (int t = first_trained(o, a, b); kl_rows && t < b; t++) forget += (double)kl_rows[t] / nFt;
        break;
      case LETHE_FORGET_NONE:
      case LETHE_FORGET_RMU: break;
      }
    } else {
      for (int t = a; t < b; t++) {
        retain -= (double)logp[t] / nR;
        if (o->w_kl != 0 && o->kl == LETHE_KL_GOLD && r->ref)
          kl += exp((double)r->ref[t]) * ((double)r->ref[t] - logp[t]) / nR;
        if (o->w_kl != 0 && o->kl == LETHE_KL_FULL && kl_rows) kl += (double)kl_rows[t] / nR;
      }
    }
  }
  out->forget = forget;
  out->retain = retain;
  out->kl = kl;
  out->total = o->w_forget * forget + o->w_retain * r->retain_mult * retain + o->w_kl * kl;
}
