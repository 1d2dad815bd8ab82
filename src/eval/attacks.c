/* eval/attacks.c: the attack scores and memorisation metrics of eval/attacks.h from per-token
 * statistics, their AUCs, and mia_attacks.json. */
#include "eval/attacks.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/pyjson.h"
#include "lethe/eval_mia.h"
#include "lethe/util.h"
#include "util/error.h"

#ifdef LETHE_WITH_ZLIB
#include <zlib.h>
#endif

const char *lethe_attack_name(lethe_attack a) {
  static const char *names[LETHE_ATK_COUNT] = {"loss", "zlib", "min_k", "min_k_plus_plus", "reference"};
  return a >= 0 && a < LETHE_ATK_COUNT ? names[a] : "?";
}

void lethe_row_stats(const float *z, int V, int target, double *logp, double *mu, double *var, int *argmax) {
  int best = 0;
  for (int j = 1; j < V; j++)
    if (z[j] > z[best]) best = j;
  /* One exp per entry: with y = z - max, e = exp(y), S = sum e, log p = y - log S, so
   * E[log p] = sum(e y)/S - log S and E[(log p)^2] = sum(e y^2)/S - 2 log S sum(e y)/S + log^2 S. */
  double mx = z[best], S = 0, Sy = 0, Syy = 0;
  for (int j = 0; j < V; j++) {
    double y = (double)z[j] - mx, e = exp(y);
    S += e;
    Sy += e * y;
    Syy += e * y * y;
  }
  double ls = log(S), m1 = Sy / S - ls, m2 = Syy / S - 2 * ls * (Sy / S) + ls * ls;
  *logp = (double)z[target] - mx - ls;
  *mu = m1;
  *var = m2 - m1 * m1;
  *argmax = best;
}

double lethe_score_loss(const double *logp, int n) {
  if (n <= 0) return NAN;
  double s = 0;
  for (int i = 0; i < n; i++) s -= logp[i];
  return s / n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* -mean of the lowest max(1, int(n k)) values of v (sorted in place). */
static double low_mean(double *v, int n, double k) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  int nk = (int)(n * k);
  if (nk < 1) nk = 1;
  double s = 0;
  for (int i = 0; i < nk; i++) s += v[i];
  return -s / nk;
}

double lethe_score_mink(const double *logp, int n, double k) {
  if (n <= 0) return NAN;
  double *v = malloc(sizeof *v * (size_t)n);
  if (!v) return NAN;
  memcpy(v, logp, sizeof *v * (size_t)n);
  double r = low_mean(v, n, k);
  free(v);
  return r;
}

double lethe_score_minkpp(const double *logp, const double *mu, const double *var, int n, double k) {
  if (n <= 0) return NAN;
  double *v = malloc(sizeof *v * (size_t)n);
  if (!v) return NAN;
  for (int i = 0; i < n; i++) v[i] = (logp[i] - mu[i]) / sqrt(var[i] < 1e-6 ? 1e-6 : var[i]);
  double r = low_mean(v, n, k);
  free(v);
  return r;
}

double lethe_exact_memorization(const unsigned char *hit, int n) {
  if (n <= 0) return NAN;
  int c = 0;
  for (int i = 0; i < n; i++) c += hit[i] != 0;
  return (double)c / n;
}

double lethe_extraction_strength(const unsigned char *hit, int n) {
  if (n <= 0) return NAN;
  /* The first k whose suffix hit[k..n) is all predicted; k stays n - 1 when none is. */
  int k = n;
  while (k > 0 && hit[k - 1]) k--;
  if (k == n) k = n - 1;
  return 1.0 - (double)k / n;
}

lethe_status lethe_zlib_length(const char *text, size_t n, size_t *out) {
#ifdef LETHE_WITH_ZLIB
  uLongf cap = compressBound((uLong)n);
  Bytef *buf = malloc(cap ? cap : 1);
  if (!buf) return lethe_fail(LETHE_ERR_NOMEM, "zlib: out of memory");
  int rc = compress2(buf, &cap, (const Bytef *)text, (uLong)n, 6);
  free(buf);
  if (rc != Z_OK) return lethe_fail(LETHE_ERR_NOMEM, "zlib: compress failed (%d)", rc);
  *out = (size_t)cap;
  return LETHE_OK;
#else
  (void)text;
  (void)n;
  *out = 0;
  return lethe_fail(LETHE_ERR_UNSUPPORTED, "the ZLib attack needs zlib (this lethe was built without zlib1g-dev)");
#endif
}

void lethe_doc_scores_free(lethe_doc_scores *s) {
  for (int a = 0; a < LETHE_ATK_COUNT; a++) free(s->score[a]);
  memset(s, 0, sizeof *s);
}

void lethe_attack_results_init(lethe_attack_results *r, double k) {
  r->k = k;
  for (int a = 0; a < LETHE_ATK_COUNT; a++) r->auc[a] = NAN;
  for (int s = 0; s < 2; s++) r->exact_mem[s] = r->extraction[s] = NAN;
}

lethe_status lethe_attack_aucs(const lethe_doc_scores *mem, const lethe_doc_scores *non, lethe_attack_results *r) {
  for (int a = 0; a < LETHE_ATK_COUNT; a++) {
    r->auc[a] = NAN;
    if (!mem->score[a] || !non->score[a]) continue;
    /* Members are the positives of -score: the same AUC as open-unlearning's non-member-positive
     * roc_auc_score of score. */
    LETHE_TRY(lethe_mia_auc(mem->score[a], mem->n, non->score[a], non->n, &r->auc[a]));
  }
  return LETHE_OK;
}

static void num(lethe_sbuf *b, double x) {
  if (isnan(x))
    lethe_sbuf_puts(b, "null");
  else
    lethe_pyjson_float(b, x);
}

lethe_status lethe_attack_results_write_json(const lethe_attack_results *r, const char *path) {
  lethe_sbuf b = {0};
  lethe_sbuf_puts(&b, "{\n    \"k\": ");
  num(&b, r->k);
  lethe_sbuf_puts(&b, ",\n    \"auc\": {");
  for (int a = 0; a < LETHE_ATK_COUNT; a++) {
    lethe_sbuf_puts(&b, a ? ", \"" : "\"");
    lethe_sbuf_puts(&b, lethe_attack_name((lethe_attack)a));
    lethe_sbuf_puts(&b, "\": ");
    num(&b, r->auc[a]);
  }
  const char *keys[2] = {"exact_memorization", "extraction_strength"};
  const double *vals[2] = {r->exact_mem, r->extraction};
  for (int k = 0; k < 2; k++) {
    lethe_sbuf_puts(&b, "},\n    \"");
    lethe_sbuf_puts(&b, keys[k]);
    lethe_sbuf_puts(&b, "\": {\"forget\": ");
    num(&b, vals[k][0]);
    lethe_sbuf_puts(&b, ", \"retain\": ");
    num(&b, vals[k][1]);
  }
  lethe_sbuf_puts(&b, "}\n}\n");
  lethe_status s = lethe_sbuf_write_file(&b, path);
  lethe_sbuf_free(&b);
  return s;
}

static double get_num(const json_t *o, const char *k) {
  const json_t *v = o ? json_object_get(o, k) : NULL;
  return v && json_is_number(v) ? json_number_value(v) : NAN;
}

lethe_status lethe_attack_results_read_json(const char *path, lethe_attack_results *r) {
  json_error_t err;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if (!root) return lethe_fail(LETHE_ERR_FORMAT, "%s:%d: %s", path, err.line, err.text);
  lethe_status s = LETHE_OK;
  if (!json_is_object(root) || !json_is_object(json_object_get(root, "auc"))) {
    s = lethe_fail(LETHE_ERR_FORMAT, "%s: expected an object with \"auc\"", path);
  } else {
    lethe_attack_results_init(r, get_num(root, "k"));
    const json_t *auc = json_object_get(root, "auc");
    for (int a = 0; a < LETHE_ATK_COUNT; a++) r->auc[a] = get_num(auc, lethe_attack_name((lethe_attack)a));
    const json_t *em = json_object_get(root, "exact_memorization"), *es = json_object_get(root, "extraction_strength");
    r->exact_mem[0] = get_num(em, "forget");
    r->exact_mem[1] = get_num(em, "retain");
    r->extraction[0] = get_num(es, "forget");
    r->extraction[1] = get_num(es, "retain");
  }
  json_decref(root);
  return s;
}

void lethe_attack_print(FILE *fp, const lethe_attack_results *before, const lethe_attack_results *after) {
  if (!fp) return;
  fprintf(fp, "\nMIA attacks (AUC, 0.5 = members look like non-members; k = %g)%s\n", after->k,
      before ? "        base      adapter" : "");
  for (int a = 0; a < LETHE_ATK_COUNT; a++) {
    if (isnan(after->auc[a]) && (!before || isnan(before->auc[a]))) continue;
    fprintf(fp, "  %-28s", lethe_attack_name((lethe_attack)a));
    if (before) fprintf(fp, "  %9.4f", before->auc[a]);
    fprintf(fp, "  %9.4f\n", after->auc[a]);
  }
  const char *split[2] = {"forget", "retain"};
  for (int s = 0; s < 2; s++) {
    if (isnan(after->exact_mem[s])) continue;
    fprintf(fp, "  exact memorisation (%s)%*s", split[s], 8 - (int)strlen(split[s]), "");
    if (before) fprintf(fp, "  %9.4f", before->exact_mem[s]);
    fprintf(fp, "  %9.4f\n", after->exact_mem[s]);
    fprintf(fp, "  extraction strength (%s)%*s", split[s], 7 - (int)strlen(split[s]), "");
    if (before) fprintf(fp, "  %9.4f", before->extraction[s]);
    fprintf(fp, "  %9.4f\n", after->extraction[s]);
  }
}

void lethe_attack_mem_means(lethe_attack_results *r, int split, const double *em, const double *es, int n) {
  double a = 0, b = 0;
  int c = 0;
  for (int i = 0; i < n; i++)
    if (!isnan(em[i])) {
      a += em[i];
      b += es[i];
      c++;
    }
  if (split < 0 || split > 1) return;
  r->exact_mem[split] = c ? a / c : NAN;
  r->extraction[split] = c ? b / c : NAN;
}

void lethe_attack_html(FILE *h, const char *const *dirs, const char *const *names, int n) {
  lethe_attack_results r[8];
  const char *nm[8];
  int k = 0;
  for (int i = 0; i < n && k < 8; i++) {
    if (!dirs[i]) continue;
    char *p = lethe_path_join(dirs[i], "mia_attacks.json");
    if (p && lethe_file_exists(p) && lethe_attack_results_read_json(p, &r[k]) == LETHE_OK) nm[k++] = names[i];
    free(p);
  }
  if (k == 0) return;
  fprintf(h,
      "<section id=\"mia-attacks\"><h2>Membership inference and memorisation</h2>\n<p>AUC of each attack "
      "(0.5: members look like non-members; Min-K%% k = %g), exact memorisation and extraction strength per "
      "split.</p>\n<table id=\"mia-table\"><tr><th>metric</th>",
      r[k - 1].k);
  for (int i = 0; i < k; i++) fprintf(h, "<th>%s</th>", nm[i]);
  fputs("</tr>\n", h);
  for (int a = 0; a < LETHE_ATK_COUNT + 4; a++) {
    const char *label[4] = {"exact memorisation (forget)", "exact memorisation (retain)",
        "extraction strength (forget)", "extraction strength (retain)"};
    int any = 0;
    double v[8];
    for (int i = 0; i < k; i++) {
      v[i] = a < LETHE_ATK_COUNT       ? r[i].auc[a]
             : a - LETHE_ATK_COUNT < 2 ? r[i].exact_mem[a - LETHE_ATK_COUNT]
                                       : r[i].extraction[a - LETHE_ATK_COUNT - 2];
      any |= !isnan(v[i]);
    }
    if (!any) continue;
    fprintf(h, "<tr><td>%s%s</td>", a < LETHE_ATK_COUNT ? "MIA AUC " : "",
        a < LETHE_ATK_COUNT ? lethe_attack_name((lethe_attack)a) : label[a - LETHE_ATK_COUNT]);
    for (int i = 0; i < k; i++) {
      if (isnan(v[i]))
        fputs("<td>-</td>", h);
      else
        fprintf(h, "<td>%.4f</td>", v[i]);
    }
    fputs("</tr>\n", h);
  }
  fputs("</table></section>\n", h);
}
