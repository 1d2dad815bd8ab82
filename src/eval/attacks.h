/* eval/attacks.h: the membership-inference attacks and memorisation metrics unlearning papers
 * report, with open-unlearning's definitions (every score signed so that higher = less likely a
 * member, as theirs): LOSS (mean token NLL), ZLib (LOSS / zlib-compressed length of the text in
 * bytes; the document's text as given, where open-unlearning decodes the scored tokens), Min-K% (minus the mean of the
 * lowest k% token log-probs), Min-K%++ (the same over (log p(x_t) - mu_t) / sigma_t, mu and sigma^2 of log p over the
 * vocabulary under p, sigma^2 clamped at 1e-6), Reference (LOSS minus the adapter-off model's LOSS); exact memorisation
 * (the fraction of answer tokens the model predicts greedily under teacher forcing) and extraction strength (1 - k/n
 * for the first k whose suffix is all predicted; k ends at n - 1 when none is, as open-unlearning's loop leaves it).
 * Token statistics come from the chunked classifier pass (head_chunk rows of logits at a time), never a B x T x V
 * tensor. */
#ifndef LETHE_EVAL_ATTACKS_H
#define LETHE_EVAL_ATTACKS_H

#include <stddef.h>
#include <stdio.h>

#include "data/data.h"
#include "lethe/status.h"
#include "model/model.h"

typedef enum {
  LETHE_ATK_LOSS,
  LETHE_ATK_ZLIB,
  LETHE_ATK_MINK,
  LETHE_ATK_MINKPP,
  LETHE_ATK_REF,
  LETHE_ATK_COUNT
} lethe_attack;
/* "loss", "zlib", "min_k", "min_k_plus_plus", "reference" */
const char *lethe_attack_name(lethe_attack a);

/* Statistics of one classifier row: logits z (V) and the target. */
void lethe_row_stats(const float *z, int V, int target, double *logp, double *mu, double *var, int *argmax);

/* Per-token statistics of every scored position of a tokset (sequence i owns [off[i], off[i+1])). */
typedef struct {
  int n_seq;
  int *off;           /* (n_seq + 1) */
  double *logp;       /* (off[n_seq]) log p(target) */
  double *mu;         /* (off[n_seq]) E_p[log p] */
  double *var;        /* (off[n_seq]) E_p[(log p)^2] - mu^2 */
  unsigned char *hit; /* (off[n_seq]) greedy prediction == target */
} lethe_tok_stats;

lethe_status lethe_tok_stats_compute(
    lethe_model *m, const lethe_lora *lora, const lethe_tokset *d, int batch, lethe_tok_stats *out);
/* The same for n_sets sets in one pass over the model (lethe_seq_pass): out[j] for sets[j]. */
lethe_status lethe_tok_stats_compute_sets(lethe_model *m, const lethe_lora *lora, const lethe_tokset *const *sets,
    int n_sets, int batch, lethe_tok_stats *out);
void lethe_tok_stats_free(lethe_tok_stats *s);

/* Mean answer NLL (nll[i], NAN without answer tokens), exact memorisation and extraction strength
 * of every sequence of a tokset, from its token statistics (ts->n_seq values each). */
void lethe_seq_nll_mem(const lethe_tok_stats *ts, double *nll, double *em, double *es);

/* Scores of one sequence of n tokens (NAN when n == 0). k in (0, 1]: the fraction for Min-K. */
double lethe_score_loss(const double *logp, int n);
double lethe_score_mink(const double *logp, int n, double k);
double lethe_score_minkpp(const double *logp, const double *mu, const double *var, int n, double k);
double lethe_exact_memorization(const unsigned char *hit, int n);
double lethe_extraction_strength(const unsigned char *hit, int n);
/* len(zlib.compress(text)) (level 6, as Python's default); an error when built without zlib. */
lethe_status lethe_zlib_length(const char *text, size_t n, size_t *out);

/* Every attack's score of each document of a MIA set. score[a] is (n) or NULL when the attack
 * does not apply (Reference without an adapter; ZLib without zlib). nll[i] = the LOSS score. */
typedef struct {
  double *score[LETHE_ATK_COUNT];
  size_t n;
} lethe_doc_scores;

/* Scores `docs` (tokenised as lethe_tokset_build does, every token scored) from their token
 * statistics ts (of d, with the evaluated model); base_sum / base_cnt: the adapter-off
 * model's per-document NLL sums and counts (lethe_seq_nll) for the Reference attack, NULL: none. */
lethe_status lethe_doc_scores_from(const lethe_tok_stats *ts, const lethe_tokset *d, const lethe_rowset *docs, double k,
    const double *base_sum, const int *base_cnt, lethe_doc_scores *out);
void lethe_doc_scores_free(lethe_doc_scores *s);

/* The AUC of every attack (members are the positives of -score, as lethe_mia_auc), NAN where an
 * attack has no scores. */
typedef struct {
  double k;
  double auc[LETHE_ATK_COUNT];
  /* Memorisation per split (LETHE_SPLIT_FORGET, LETHE_SPLIT_RETAIN): mean over rows; NAN when
   * the split was not evaluated. */
  double exact_mem[2], extraction[2];
} lethe_attack_results;

void lethe_attack_results_init(lethe_attack_results *r, double k);
/* Sets split's memorisation means from per-row values (rows with NAN are left out). */
void lethe_attack_mem_means(lethe_attack_results *r, int split, const double *em, const double *es, int n);
lethe_status lethe_attack_aucs(
    const lethe_doc_scores *member, const lethe_doc_scores *nonmember, lethe_attack_results *r);
/* mia_attacks.json: {"k": .., "auc": {"loss": .., ...}, "exact_memorization": {"forget": ..,
 * "retain": ..}, "extraction_strength": {...}} (nulls for what is missing), written atomically. */
lethe_status lethe_attack_results_write_json(const lethe_attack_results *r, const char *path);
/* A table of the AUCs and the memorisation metrics (before may be NULL). */
void lethe_attack_print(FILE *fp, const lethe_attack_results *before, const lethe_attack_results *after);
/* The report's section: a table of DIR/mia_attacks.json of each evaluation directory (NULL
 * entries and directories without the file are left out; nothing when none has it). */
void lethe_attack_html(FILE *h, const char *const *dirs, const char *const *names, int n);
/* Reads it back (what the report shows). */
lethe_status lethe_attack_results_read_json(const char *path, lethe_attack_results *r);

#endif
