/* unlearn/objective.c: coefficients dL/dl_t of every objective for the fused classifier, and the
 * loss values, computed in double. */
#include "unlearn/objective.h"

#include <math.h>
#include <string.h>

#include "data/data.h"

static double softplus(double x) { return x > 30 ? x : (x < -30 ? exp(x) : log1p(exp(x))); }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

int lethe_objective_preset(const char *method, lethe_objective *o) {
  memset(o, 0, sizeof *o);
  o->beta = 0.5;
  o->delta = 0.0;
  o->w_forget = 1.0;
  o->kl = LETHE_KL_GOLD;
  if (!strcmp(method, "npo")) {
    o->forget = LETHE_FORGET_NPO;
    o->w_retain = 1.0;
    o->w_kl = 0.5;
  } else if (!strcmp(method, "npo-seq")) {
    o->forget = LETHE_FORGET_NPO_SEQ;
    o->w_retain = 1.0;
    o->w_kl = 0.5;
  } else if (!strcmp(method, "simnpo")) {
    o->forget = LETHE_FORGET_SIMNPO;
    o->beta = 2.5;
    o->w_retain = 1.0;
    o->w_kl = 0.0;
  } else if (!strcmp(method, "ga")) {
    o->forget = LETHE_FORGET_GA;
  } else if (!strcmp(method, "gd")) {
    o->forget = LETHE_FORGET_GA;
    o->w_retain = 1.0;
  } else if (!strcmp(method, "kl")) {
    o->forget = LETHE_FORGET_GA;
    o->w_kl = 1.0;
    o->kl = LETHE_KL_FULL;
  } else {
    return 0;
  }
  return 1;
}

int lethe_obj_needs_ref(const lethe_objective *o) {
  int forget = o->w_forget != 0 && (o->forget == LETHE_FORGET_NPO || o->forget == LETHE_FORGET_NPO_SEQ);
  return forget || (o->w_kl != 0 && o->kl == LETHE_KL_GOLD);
}

int lethe_obj_needs_ref_hidden(const lethe_objective *o) { return o->w_kl != 0 && o->kl == LETHE_KL_FULL; }

int lethe_obj_two_pass(const lethe_objective *o) {
  return o->w_forget != 0 && (o->forget == LETHE_FORGET_NPO_SEQ || o->forget == LETHE_FORGET_SIMNPO);
}

static void counts(const lethe_obj_rows *r, int *nF, int *nR, int *sF) {
  *nF = *nR = *sF = 0;
  for (int s = 0; s < r->n_seq; s++) {
    int n = r->row_off[s + 1] - r->row_off[s];
    if (r->split[s] == LETHE_SPLIT_FORGET) {
      *nF += n;
      *sF += n > 0;
    } else {
      *nR += n;
    }
  }
}

void lethe_obj_coefs(const lethe_objective *o, const lethe_obj_rows *r, const float *logp, float scale,
                     float *fixed, float *sig, float *kl, lethe_head_coef *coef) {
  int nF, nR, sF;
  counts(r, &nF, &nR, &sF);
  double beta = o->beta;
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
      for (int t = a; t < b; t++) {
        fixed[t] = 0;
        sig[t] = 0;
        kl[t] = 0;
        switch (o->forget) {
        case LETHE_FORGET_NPO: sig[t] = (float)(scale * o->w_forget * 2.0 / nF); break;
        case LETHE_FORGET_NPO_SEQ:
        case LETHE_FORGET_SIMNPO: fixed[t] = (float)(scale * seq_coef); break;
        case LETHE_FORGET_GA: fixed[t] = (float)(scale * o->w_forget / nF); break;
        case LETHE_FORGET_NONE: break;
        }
      }
    } else {
      for (int t = a; t < b; t++) {
        double f = -o->w_retain / nR;
        sig[t] = 0;
        kl[t] = 0;
        if (o->w_kl != 0) {
          if (o->kl == LETHE_KL_GOLD) f -= o->w_kl * exp((double)r->ref[t]) / nR;
          else kl[t] = (float)(scale * o->w_kl / nR);
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
  if (lethe_obj_needs_ref_hidden(o) && nR > 0) coef->kl = kl;
}

void lethe_obj_loss(const lethe_objective *o, const lethe_obj_rows *r, const float *logp, const float *kl_rows,
                    lethe_loss_terms *out) {
  memset(out, 0, sizeof *out);
  int nF, nR, sF;
  counts(r, &nF, &nR, &sF);
  out->n_forget = nF;
  out->n_retain = nR;
  out->n_forget_seq = sF;
  double beta = o->beta, forget = 0, retain = 0, kl = 0;
  for (int s = 0; s < r->n_seq; s++) {
    int a = r->row_off[s], b = r->row_off[s + 1];
    if (b <= a) continue;
    if (r->split[s] == LETHE_SPLIT_FORGET) {
      if (o->forget == LETHE_FORGET_NPO) {
        for (int t = a; t < b; t++) forget += 2.0 / beta * softplus(beta * ((double)logp[t] - r->ref[t])) / nF;
      } else if (o->forget == LETHE_FORGET_NPO_SEQ) {
        double D = 0;
        for (int t = a; t < b; t++) D += (double)logp[t] - r->ref[t];
        forget += 2.0 / beta * softplus(beta * D) / sF;
      } else if (o->forget == LETHE_FORGET_SIMNPO) {
        double m = 0;
        for (int t = a; t < b; t++) m += logp[t];
        forget += 2.0 / beta * softplus(beta * m / (b - a) + o->delta) / sF;
      } else if (o->forget == LETHE_FORGET_GA) {
        for (int t = a; t < b; t++) forget += (double)logp[t] / nF;
      }
    } else {
      for (int t = a; t < b; t++) {
        retain -= (double)logp[t] / nR;
        if (o->w_kl != 0 && o->kl == LETHE_KL_GOLD && r->ref) kl += exp((double)r->ref[t]) * ((double)r->ref[t] - logp[t]) / nR;
        if (o->w_kl != 0 && o->kl == LETHE_KL_FULL && kl_rows) kl += (double)kl_rows[t] / nR;
      }
    }
  }
  out->forget = forget;
  out->retain = retain;
  out->kl = kl;
  out->total = o->w_forget * forget + o->w_retain * retain + o->w_kl * kl;
}
