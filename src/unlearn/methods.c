/* unlearn/methods.c: the one table of unlearning methods (name, objective preset, the authors'
 * learning rate and epochs, formula, source). The CLI's --method, `lethe unlearn --help`, the
 * presets and the demo read it; the objective code implements each forget loss kind it names. */
#include <string.h>

#include "lethe/unlearn.h"

/* forget loss, beta, forget / retain / KL weights, KL kind; SatImp's exponents 5, 1 and CE-U's one
 * skipped token are the same for every row of the table (they matter only to their method). */
#define OBJ(kind, b, wf, wr, wk, klk)                                                                                  \
  {                                                                                                                    \
    .forget = (kind), .beta = (b), .w_forget = (wf), .w_retain = (wr), .w_kl = (wk), .kl = (klk), .sat_beta1 = 5.0,    \
    .sat_beta2 = 1.0, .skip_first = 1, .rmu_layer = 7, .rmu_coeff = 300                                                \
  }
/* name, objective, lr, epochs, formula, source: a LoRA method with lethe's data order (o is a braced
 * initializer, which parentheses would break) */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define M(n, o, lr_, ep, f, src)                                                                                       \
  { .name = (n), .obj = o, .lr = (lr_), .epochs = (ep), .formula = (f), .source = (src) }
// NOLINTEND(bugprone-macro-parentheses)

static const lethe_method METHODS[] = {
    M("npo", OBJ(LETHE_FORGET_NPO, 0.5, 1, 1, 0.5, LETHE_KL_GOLD), 0, 0,
        "(2/beta) mean_F softplus(beta (l - l_ref)) + retain NLL + 0.5 gold-token KL; beta 0.5",
        "Bronec & Helcl, SemEval-2025 Task 4 (Low-Rank NPO)"),
    M("npo-seq", OBJ(LETHE_FORGET_NPO_SEQ, 0.5, 1, 1, 0.5, LETHE_KL_GOLD), 0, 0,
        "(2/beta) mean_seq softplus(beta sum_t (l - l_ref)) + retain NLL + 0.5 KL",
        "Zhang et al. 2024, Negative Preference Optimization (arXiv 2404.05868)"),
    M("simnpo", OBJ(LETHE_FORGET_SIMNPO, 2.5, 1, 1, 0, LETHE_KL_GOLD), 0, 0,
        "(2/beta) mean_seq softplus(beta mean_t l + delta) + retain NLL; beta 2.5, delta 0",
        "Fan et al. 2024, Simplicity Prevails (arXiv 2410.07163)"),
    M("ga", OBJ(LETHE_FORGET_GA, 0.5, 1, 0, 0, LETHE_KL_GOLD), 0, 0, "mean_F l (gradient ascent on the forget answers)",
        "Maini et al. 2024, TOFU baselines"),
    M("gd", OBJ(LETHE_FORGET_GA, 0.5, 1, 1, 0, LETHE_KL_GOLD), 0, 0, "mean_F l + retain NLL (gradient difference)",
        "Maini et al. 2024, TOFU baselines"),
    M("kl", OBJ(LETHE_FORGET_GA, 0.5, 1, 0, 1, LETHE_KL_FULL), 0, 0,
        "mean_F l + full-vocabulary KL(p_ref || p) on retain", "Maini et al. 2024, TOFU baselines"),
    M("wga", OBJ(LETHE_FORGET_WGA, 1.0, 1, 1, 0, LETHE_KL_GOLD), 1e-5, 5,
        "mean_F sg(p^beta) l + retain NLL; beta 1 (forget weight gamma 1, retain alpha 1)",
        "Wang et al. 2025, weighted gradient ascent (ICLR 2025; open-unlearning WGA)"),
    M("satimp", OBJ(LETHE_FORGET_SATIMP, 0.5, 0.1, 1, 0, LETHE_KL_GOLD), 1e-5, 5,
        "0.1 mean_F sg(p^b1 (1-p)^b2) l + retain NLL; b1 5, b2 1",
        "Yang et al. 2025, Exploring Criteria of Loss Reweighting (ICML 2025; open-unlearning SatImp)"),
    M("undial", OBJ(LETHE_FORGET_UNDIAL, 10.0, 1, 0, 0, LETHE_KL_GOLD), 1e-4, 10,
        "mean_F CE(softmax(z_ref - beta onehot(y)), softmax(z)); beta 10, no retain term",
        "Dong et al. 2024, UNDIAL (arXiv 2402.10052; open-unlearning UNDIAL)"),
    M("ce-u", OBJ(LETHE_FORGET_CEU, 0.5, 1, 0, 0, LETHE_KL_GOLD), 0, 0,
        "mean_F CE(softmax(sg(z) without the gold logit), softmax(z)); the first answer token skipped",
        "Yang 2025, CE-U: Cross Entropy Unlearning (arXiv 2503.01224; open-unlearning CEU)"),
    M("rmu", OBJ(LETHE_FORGET_RMU, 0.5, 1, 1000, 0, LETHE_KL_GOLD), 0, 0,
        "mean_F (h_l - c u)^2 + 1000 mean_R (h_l - h_l,ref)^2 at layer l (7), |u| = 1 random, c 300 (answer tokens, "
        "mean "
        "per row)",
        "Li et al. 2024, WMDP / RMU (arXiv 2403.03218; open-unlearning RMU)"),
    /* full-parameter methods of the SemEval-2025 Task 4 winners */
    {.name = "sugd",
        .obj = OBJ(LETHE_FORGET_GA, 0.5, 1, 0.5, 0, LETHE_KL_GOLD),
        .lr = 1e-5,
        .epochs = 7,
        .formula = "mean_F l + 0.5 retain NLL, batch 1, the last 8 layers' full parameters, sequential chunks of 32 "
                   "forget rows "
                   "each followed by 7 retain rows",
        .source = "Premptis et al., AILS-NTUA at SemEval-2025 Task 4 (1st; arXiv 2503.02443)",
        .train_layers = "-8",
        .train_modules = "all",
        .schedule_data = LETHE_DATA_SEQUENTIAL,
        .forget_chunk = 32,
        .retain_per_forget = 7,
        .batch = 1},
    {.name = "gd-adaptive",
        .obj = {.forget = LETHE_FORGET_GA,
            .beta = 0.5,
            .w_forget = 1,
            .w_retain = 1,
            .kl = LETHE_KL_GOLD,
            .sat_beta1 = 5.0,
            .sat_beta2 = 1.0,
            .skip_first = 1,
            .adaptive_retain = 1,
            .rmu_layer = 7,
            .rmu_coeff = 300},
        .lr = 1.5e-5,
        .epochs = 8,
        .formula =
            "mean_F l + a NLL_retain, a = 1.2, after epoch 1 clamp(round(0.3 6^(NLL_r - avg_1) + 0.8, 1), 1.2, 2.3) "
            "while NLL_r > avg_1 (epoch 1's mean); MLPs of layers 0-5, full parameters",
        .source = "Agrawal & Huang, SHA256 at SemEval-2025 Task 4 (2nd on 1B; arXiv 2504.12996)",
        .train_layers = "0-5",
        .train_modules = "mlp"},
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
