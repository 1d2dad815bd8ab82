/* unlearn/methods.c: the one table of unlearning methods (name, objective preset, the authors'
 * learning rate and epochs, formula, source). The CLI's --method, `lethe unlearn --help`, the
 * presets and the demo read it; the objective code implements each forget loss kind it names. */
#include <string.h>

#include "lethe/unlearn.h"

/* forget loss, beta, forget / retain / KL weights, KL kind; SatImp's exponents 5, 1 and CE-U's one
 * skipped token are the same for every row of the table (they matter only to their method). */
#define OBJ(kind, b, wf, wr, wk, klk) \
  {.forget = (kind), .beta = (b), .w_forget = (wf), .w_retain = (wr), .w_kl = (wk), .kl = (klk), .sat_beta1 = 5.0, .sat_beta2 = 1.0, .skip_first = 1}

static const lethe_method METHODS[] = {
    {"npo", OBJ(LETHE_FORGET_NPO, 0.5, 1, 1, 0.5, LETHE_KL_GOLD), 0, 0,
     "(2/beta) mean_F softplus(beta (l - l_ref)) + retain NLL + 0.5 gold-token KL; beta 0.5",
     "Bronec & Helcl, SemEval-2025 Task 4 (Low-Rank NPO)"},
    {"npo-seq", OBJ(LETHE_FORGET_NPO_SEQ, 0.5, 1, 1, 0.5, LETHE_KL_GOLD), 0, 0,
     "(2/beta) mean_seq softplus(beta sum_t (l - l_ref)) + retain NLL + 0.5 KL",
     "Zhang et al. 2024, Negative Preference Optimization (arXiv 2404.05868)"},
    {"simnpo", OBJ(LETHE_FORGET_SIMNPO, 2.5, 1, 1, 0, LETHE_KL_GOLD), 0, 0,
     "(2/beta) mean_seq softplus(beta mean_t l + delta) + retain NLL; beta 2.5, delta 0",
     "Fan et al. 2024, Simplicity Prevails (arXiv 2410.07163)"},
    {"ga", OBJ(LETHE_FORGET_GA, 0.5, 1, 0, 0, LETHE_KL_GOLD), 0, 0, "mean_F l (gradient ascent on the forget answers)",
     "Maini et al. 2024, TOFU baselines"},
    {"gd", OBJ(LETHE_FORGET_GA, 0.5, 1, 1, 0, LETHE_KL_GOLD), 0, 0, "mean_F l + retain NLL (gradient difference)",
     "Maini et al. 2024, TOFU baselines"},
    {"kl", OBJ(LETHE_FORGET_GA, 0.5, 1, 0, 1, LETHE_KL_FULL), 0, 0,
     "mean_F l + full-vocabulary KL(p_ref || p) on retain", "Maini et al. 2024, TOFU baselines"},
    {"wga", OBJ(LETHE_FORGET_WGA, 1.0, 1, 1, 0, LETHE_KL_GOLD), 1e-5, 5,
     "mean_F sg(p^beta) l + retain NLL; beta 1 (forget weight gamma 1, retain alpha 1)",
     "Wang et al. 2025, weighted gradient ascent (ICLR 2025; open-unlearning WGA)"},
    {"satimp", OBJ(LETHE_FORGET_SATIMP, 0.5, 0.1, 1, 0, LETHE_KL_GOLD), 1e-5, 5,
     "0.1 mean_F sg(p^b1 (1-p)^b2) l + retain NLL; b1 5, b2 1",
     "Yang et al. 2025, Exploring Criteria of Loss Reweighting (ICML 2025; open-unlearning SatImp)"},
    {"undial", OBJ(LETHE_FORGET_UNDIAL, 10.0, 1, 0, 0, LETHE_KL_GOLD), 1e-4, 10,
     "mean_F CE(softmax(z_ref - beta onehot(y)), softmax(z)); beta 10, no retain term",
     "Dong et al. 2024, UNDIAL (arXiv 2402.10052; open-unlearning UNDIAL)"},
    {"ce-u", OBJ(LETHE_FORGET_CEU, 0.5, 1, 0, 0, LETHE_KL_GOLD), 0, 0,
     "mean_F CE(softmax(sg(z) without the gold logit), softmax(z)); the first answer token skipped",
     "Yang 2025, CE-U: Cross Entropy Unlearning (arXiv 2503.01224; open-unlearning CEU)"},
};

const lethe_method *lethe_methods(int *n) {
  *n = (int)(sizeof METHODS / sizeof *METHODS);
  return METHODS;
}

const lethe_method *lethe_method_find(const char *name) {
  for (size_t i = 0; name && i < sizeof METHODS / sizeof *METHODS; i++)
    if (!strcmp(METHODS[i].name, name)) return &METHODS[i];
  return NULL;
}

int lethe_objective_preset(const char *method, lethe_objective *o) {
  const lethe_method *m = lethe_method_find(method);
  if (!m) {
    memset(o, 0, sizeof *o);
    return 0;
  }
  *o = m->obj;
  return 1;
}
